//! Sessions: the signing secret, signed tokens, the server password, and the
//! [`Session`] extractor that finds a token on a request.
//!
//! A token is `base64url(claims JSON) . base64url(HMAC-SHA256(first part))`.
//! Its claims carry a random session id (the key of idempotency and of the
//! per-session rate limit), the nick, an expiry, and the nick's generation
//! (see [`crate::nicks`]). Every node that shares the secret accepts it,
//! unless the session was signed out or the nick was protected since (the
//! [`Session`] extractor asks the nick store on every request). Tokens are
//! never logged.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hearth_proto::Nick;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::config::PasswordSetting;
use crate::error::ApiError;
use crate::state::AppState;

/// The cookie the web client (and the original chat room's pages) use.
pub const SESSION_COOKIE: &str = "hearth_session";

/// The secret's file name in the data dir, when no other file is configured.
pub const SECRET_FILE: &str = "secret.key";
const SECRET_LEN: usize = 32;

/// Signs and checks tokens.
#[derive(Clone)]
pub struct TokenSigner {
    key: Hmac<Sha256>,
    ttl: Duration,
}

/// What a valid token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Random session id.
    pub sid: String,
    pub nick: Nick,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// The nick's generation when the token was issued (0: never
    /// protected; tokens from before protected nicks have none).
    #[serde(default, rename = "gen", skip_serializing_if = "is_zero")]
    pub generation: u64,
    /// Issued to the owner of a protected nick (with its nick password).
    #[serde(default, rename = "prot", skip_serializing_if = "std::ops::Not::not")]
    pub protected: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Claims {
    /// Who owns what this session posts and uploads: for a protected nick
    /// the nick itself (`nick:<key>`: only its owner holds sessions, so a
    /// retry under a new session is still recognized), else the session.
    /// Idempotency keys and upload ownership use it.
    pub fn owner(&self) -> String {
        if self.protected {
            format!("nick:{}", crate::nicks::key(&self.nick))
        } else {
            self.sid.clone()
        }
    }
}

/// Why a token was refused. The text is what a `401` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("sign in first: this needs a session token (POST /api/session)")]
    Missing,
    #[error("invalid session token: sign in again")]
    Invalid,
    #[error("session expired: sign in again")]
    Expired,
}

/// Why a validly signed token no longer counts (decided by the nick store,
/// see [`crate::nicks`]). The text is what a `401` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Voided {
    #[error("this session was signed out: sign in again")]
    SignedOut,
    #[error(
        "this nick was protected after this session began: sign in again with its nick password"
    )]
    Superseded,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl TokenSigner {
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        Self {
            key: Hmac::new_from_slice(secret).expect("HMAC takes keys of any length"),
            ttl,
        }
    }

    /// A new session for `nick`, never protected: its token and claims.
    pub fn issue(&self, nick: Nick) -> (String, Claims) {
        self.issue_for(nick, 0, false)
    }

    /// A new session for `nick` under its `generation`; `protected` when
    /// it was opened with the nick password.
    pub fn issue_for(&self, nick: Nick, generation: u64, protected: bool) -> (String, Claims) {
        let sid_bytes: [u8; 16] = rand::random();
        let claims = Claims {
            sid: URL_SAFE_NO_PAD.encode(sid_bytes),
            nick,
            exp: now_secs() + self.ttl.as_secs(),
            generation,
            protected,
        };
        (self.sign(&claims), claims)
    }

    fn sign(&self, claims: &Claims) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialize"));
        let mut mac = self.key.clone();
        mac.update(payload.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{payload}.{tag}")
    }

    /// Checks the signature (in constant time), then the expiry.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let (payload, tag) = token.split_once('.').ok_or(TokenError::Invalid)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| TokenError::Invalid)?;
        let mut mac = self.key.clone();
        mac.update(payload.as_bytes());
        mac.verify_slice(&tag).map_err(|_| TokenError::Invalid)?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Invalid)?;
        let claims: Claims = serde_json::from_slice(&json).map_err(|_| TokenError::Invalid)?;
        if claims.exp <= now_secs() {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

/// Reads the signing secret from `path` (`data_dir/secret.key` by default),
/// creating it (random, mode 0600) on first start. A file readable by others
/// is tightened. Creation is atomic (written aside, then linked into
/// place), so nodes starting together on one shared file agree on it.
pub fn load_or_create_secret(path: &Path) -> std::io::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.len() >= SECRET_LEN => {
            restrict_permissions(path)?;
            Ok(bytes)
        }
        Ok(_) => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} is shorter than {SECRET_LEN} bytes", path.display()),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret: [u8; SECRET_LEN] = rand::random();
            let aside = path.with_extension(format!("new-{:016x}", rand::random::<u64>()));
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let written = options.open(&aside).and_then(|mut file| {
                file.write_all(&secret)?;
                file.sync_all()
            });
            let linked = written.and_then(|()| std::fs::hard_link(&aside, path));
            let _ = std::fs::remove_file(&aside);
            match linked {
                Ok(()) => Ok(secret.to_vec()),
                // Another process created it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    load_or_create_secret(path)
                }
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// The server password, kept only as an argon2 hash.
#[derive(Clone)]
pub struct PasswordCheck {
    phc: String,
}

impl PasswordCheck {
    pub fn from_setting(setting: &PasswordSetting) -> anyhow::Result<Self> {
        use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
        let phc = match setting {
            PasswordSetting::Plain(plain) => {
                anyhow::ensure!(!plain.is_empty(), "the server password must not be empty");
                let salt_bytes: [u8; 16] = rand::random();
                let salt = SaltString::encode_b64(&salt_bytes)
                    .map_err(|e| anyhow::anyhow!("making a salt failed: {e}"))?;
                argon2::Argon2::default()
                    .hash_password(plain.as_bytes(), &salt)
                    .map_err(|e| anyhow::anyhow!("hashing the password failed: {e}"))?
                    .to_string()
            }
            PasswordSetting::Hash(phc) => {
                PasswordHash::new(phc)
                    .map_err(|e| anyhow::anyhow!("--password-hash is not a PHC string: {e}"))?;
                phc.clone()
            }
        };
        Ok(Self { phc })
    }

    /// Verifies `candidate` off the async runtime (argon2 is slow on purpose).
    pub async fn verify(&self, candidate: String) -> bool {
        let phc = self.phc.clone();
        tokio::task::spawn_blocking(move || {
            use argon2::password_hash::{PasswordHash, PasswordVerifier};
            PasswordHash::new(&phc).is_ok_and(|hash| {
                argon2::Argon2::default()
                    .verify_password(candidate.as_bytes(), &hash)
                    .is_ok()
            })
        })
        .await
        .unwrap_or(false)
    }
}

/// Hashes a password for `--password-hash` (used by `hearth hash-password`).
pub fn hash_password(plain: &str) -> anyhow::Result<String> {
    let check = PasswordCheck::from_setting(&PasswordSetting::Plain(plain.to_owned()))?;
    Ok(check.phc)
}

/// Where a request carried its token.
fn find_token(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        return value
            .strip_prefix("Bearer ")
            .map(|t| t.trim().to_owned())
            .or(Some(String::new()));
    }
    if let Some(query) = parts.uri.query()
        && let Some((_, token)) =
            form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "token")
    {
        return Some(token.into_owned());
    }
    cookie_value(parts, SESSION_COOKIE)
}

/// The value of cookie `name`, if the request has one.
pub fn cookie_value(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
}

/// A request's verified session. Extracting it answers `401` when the
/// request has no valid token.
#[derive(Debug, Clone)]
pub struct Session(pub Claims);

impl<S> FromRequestParts<S> for Session
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = find_token(parts).ok_or(TokenError::Missing);
        let claims = token
            .and_then(|t| state.tokens.verify(&t))
            .map_err(|e| ApiError::Unauthorized(e.to_string()))?;
        // Signed, but maybe void since: asked of the store every time, so
        // a sign-out or a protection on any node holds on this one too.
        let standing = state
            .nicks
            .store
            .standing(&crate::nicks::key(&claims.nick), &claims.sid)
            .await?;
        if standing.revoked {
            return Err(ApiError::Unauthorized(Voided::SignedOut.to_string()));
        }
        if standing.generation != claims.generation {
            return Err(ApiError::Unauthorized(Voided::Superseded.to_string()));
        }
        if let Some(ban) = standing.ban.filter(|b| b.in_force(state.nicks.now_ms())) {
            return Err(ApiError::banned(&ban));
        }
        Ok(Session(claims))
    }
}

/// Like [`Session`], but a request without a valid token is `None` rather
/// than an error: the original chat room's routes allow anonymous use, and a
/// stale cookie (say, after the data dir was reset) must not lock a user out
/// of that. A banned nick's session is still refused (`403`): a ban is not
/// a stale cookie.
#[derive(Debug, Clone)]
pub struct MaybeSession(pub Option<Claims>);

impl<S> FromRequestParts<S> for MaybeSession
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Session::from_request_parts(parts, state).await {
            Ok(Session(claims)) => Ok(MaybeSession(Some(claims))),
            Err(banned @ ApiError::Banned { .. }) => Err(banned),
            Err(_) => Ok(MaybeSession(None)),
        }
    }
}

/// The `Set-Cookie` value that stores a session token for the web client.
pub fn session_cookie(token: &str, ttl: Duration) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict",
        ttl.as_secs()
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_session_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> TokenSigner {
        TokenSigner::new(b"0123456789abcdef0123456789abcdef", Duration::from_secs(60))
    }

    #[test]
    fn a_token_verifies_and_carries_its_nick() {
        let (token, claims) = signer().issue(Nick::parse("ana").unwrap());
        let back = signer().verify(&token).unwrap();
        assert_eq!(back.nick.as_str(), "ana");
        assert_eq!(back.sid, claims.sid);
    }

    #[test]
    fn tokens_carry_the_generation_and_older_tokens_read_as_generation_zero() {
        let s = signer();
        let (token, _) = s.issue_for(Nick::parse("ana").unwrap(), 3, true);
        let back = s.verify(&token).unwrap();
        assert_eq!((back.generation, back.protected), (3, true));
        assert!(back.owner().starts_with("nick:"));
        // A token from before protected nicks: no `gen`, no `prot`.
        let old = serde_json::json!({"sid": "abc", "nick": "bo", "exp": now_secs() + 60});
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&old).unwrap());
        let mut mac = s.key.clone();
        mac.update(payload.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        let back = s.verify(&format!("{payload}.{tag}")).unwrap();
        assert_eq!((back.generation, back.protected), (0, false));
        assert_eq!(back.owner(), "abc");
    }

    #[test]
    fn edited_forged_and_expired_tokens_are_refused() {
        let s = signer();
        let (token, mut claims) = s.issue(Nick::parse("ana").unwrap());
        // Edited: a different nick under the old signature.
        claims.nick = Nick::parse("admin").unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
        let tag = token.split_once('.').unwrap().1;
        assert_eq!(
            s.verify(&format!("{forged_payload}.{tag}")).unwrap_err(),
            TokenError::Invalid
        );
        // Signed with another secret.
        let other = TokenSigner::new(b"another secret entirely, 32 byte", Duration::from_secs(60));
        assert_eq!(
            s.verify(&other.sign(&claims)).unwrap_err(),
            TokenError::Invalid
        );
        // Expired.
        claims.exp = now_secs() - 1;
        assert_eq!(s.verify(&s.sign(&claims)).unwrap_err(), TokenError::Expired);
        assert_eq!(s.verify("garbage").unwrap_err(), TokenError::Invalid);
    }

    #[test]
    fn the_secret_file_is_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SECRET_FILE);
        let first = load_or_create_secret(&path).unwrap();
        let second = load_or_create_secret(&path).unwrap();
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SECRET_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn nodes_starting_together_on_one_secret_file_agree_on_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.key");
        let secrets: Vec<Vec<u8>> = std::thread::scope(|scope| {
            let starts: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| load_or_create_secret(&path).unwrap()))
                .collect();
            starts.into_iter().map(|s| s.join().unwrap()).collect()
        });
        assert!(secrets.iter().all(|s| *s == secrets[0]));
        assert_eq!(std::fs::read(&path).unwrap(), secrets[0]);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary files left behind");
    }
}
