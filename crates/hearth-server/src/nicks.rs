//! Protected nicks: who may sign in as a nick, and which tokens of a nick
//! still count.
//!
//! - A nick is known by its **key**: the UTS #39 skeleton of its lower case
//!   ([`key`]), so look-alikes ("ana", "Ana", "аna" with a Cyrillic "а") are
//!   one nick for protection.
//! - A **claim** ([`NickClaim`]) holds the argon2 hash of the nick password,
//!   the nick's **generation** and when it was last signed in to. Protecting
//!   a nick (one nobody protects, or whose protection lapsed) bumps the
//!   generation. Every token carries the generation it was issued under
//!   ([`crate::auth::Claims::gen`]) and the [`crate::auth::Session`]
//!   extractor compares it with the stored one on every request, so the
//!   earlier tokens of a nick answer `401` on every node at once. There is
//!   no cache: the comparison is one lookup (in memory on the embedded
//!   backend, one Redis round trip, together with the revocation check, on
//!   Redis).
//! - A protection nobody signed in to for `Config::nick_lapse` (90 days by
//!   default) **lapses**: the nick signs in without a password again, until
//!   someone protects it anew (a new generation).
//! - **Revoked sessions**: sign-out records the session id until its token
//!   would have expired, so the token answers `401` everywhere.
//!
//! - **Bans** ([`BanRecord`]): an admin bans a nick key until a time; the
//!   standing of every session of the nick says so, so every request of it
//!   is refused (`403`) on every node until the ban ends or is lifted.
//! - **Ended sessions** ([`SessionEnd`]): a sign-out, a protection or a ban
//!   is announced to every node ([`Nicks::announce`]), and each node's open
//!   streams of the sessions it ends close with an `ended` event.
//!
//! The storage is a [`NickStore`] per backend: the embedded one
//! (`broker::embedded::nicks`, a table in `hearth.db`) and the Redis one
//! (`broker::redis::nicks`, a hash per nick shared by every node).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use hearth_proto::{Nick, StreamEnded};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::broker::BrokerError;
use crate::config::LimitsClock;

/// Nick passwords are 8 to 128 characters.
pub const NICK_PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 8..=128;

/// The key a nick is protected under: the UTS #39 skeleton of its lower
/// case. Two nicks with the same key are the same nick for protection.
pub fn key(nick: &Nick) -> String {
    fold(nick.as_str())
}

/// Text as [`key`] compares nicks: the skeleton of its lower case. Mentions
/// compare a text and the nicks this way, so a look-alike of a nick
/// mentions it.
pub fn fold(text: &str) -> String {
    let lower = text.to_lowercase();
    unicode_security::confusable_detection::skeleton(&lower).collect()
}

/// What is stored about a nick that has been protected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NickClaim {
    /// Bumped by every protection; tokens of another generation are void.
    pub generation: u64,
    /// The argon2 hash (PHC string) of the nick password.
    pub phc: String,
    /// The nick as it was protected.
    pub nick: String,
    /// The last sign-in with the password (or the protection), ms since
    /// the Unix epoch.
    pub used_ms: i64,
}

impl NickClaim {
    /// Whether the protection still holds at `now_ms`.
    pub fn in_force(&self, now_ms: i64, lapse: Duration) -> bool {
        now_ms.saturating_sub(self.used_ms) < lapse.as_millis() as i64
    }
}

/// What a request's token is checked against: the nick's generation now (0
/// when it was never protected), whether the session was signed out, and
/// the nick's ban, if one was stored (it may have ended: see
/// [`BanRecord::in_force`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStanding {
    pub generation: u64,
    pub revoked: bool,
    pub ban: Option<BanRecord>,
}

/// A ban of a nick key by an admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanRecord {
    /// The banned nick's [`key`].
    pub key: String,
    /// The nick as the admin named it.
    pub nick: String,
    /// When it ends, ms since the Unix epoch.
    pub until_ms: i64,
    /// The admin's nick.
    pub by: String,
    pub reason: Option<String>,
}

impl BanRecord {
    /// Whether the ban still holds at `now_ms`.
    pub fn in_force(&self, now_ms: i64) -> bool {
        now_ms < self.until_ms
    }

    /// When it ends, RFC 3339.
    pub fn until(&self) -> String {
        DateTime::<Utc>::from_timestamp_millis(self.until_ms)
            .unwrap_or_default()
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// What a refused request of the banned nick says.
    pub fn sentence(&self) -> String {
        match &self.reason {
            Some(reason) => format!("you are banned until {}: {reason}", self.until()),
            None => format!("you are banned until {}", self.until()),
        }
    }

    /// The wire form (`POST /api/bans`, `GET /api/bans`).
    pub fn to_wire(&self) -> hearth_proto::Ban {
        hearth_proto::Ban {
            nick: self.nick.clone(),
            until: self.until(),
            by: self.by.clone(),
            reason: self.reason.clone(),
        }
    }
}

/// Sessions that stopped counting, announced to every node so that their
/// open streams end ([`Nicks::announce`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SessionEnd {
    /// Every session of the nick `key`.
    Banned(BanRecord),
    /// One session.
    SignedOut { sid: String },
    /// Every session of the nick `key` from before `generation`.
    Superseded { key: String, generation: u64 },
}

impl SessionEnd {
    /// Whether this ends the session of `claims`.
    pub fn ends(&self, claims: &crate::auth::Claims) -> bool {
        match self {
            SessionEnd::Banned(ban) => key(&claims.nick) == ban.key,
            SessionEnd::SignedOut { sid } => claims.sid == *sid,
            SessionEnd::Superseded {
                key: nick_key,
                generation,
            } => claims.generation < *generation && key(&claims.nick) == *nick_key,
        }
    }

    /// The data of the stream's last event.
    pub fn notice(&self) -> StreamEnded {
        match self {
            SessionEnd::Banned(ban) => StreamEnded {
                reason: "banned".into(),
                error: ban.sentence(),
                until: Some(ban.until()),
            },
            SessionEnd::SignedOut { .. } => StreamEnded {
                reason: "signed_out".into(),
                error: crate::auth::Voided::SignedOut.to_string(),
                until: None,
            },
            SessionEnd::Superseded { .. } => StreamEnded {
                reason: "superseded".into(),
                error: crate::auth::Voided::Superseded.to_string(),
                until: None,
            },
        }
    }
}

/// Where claims and revoked sessions are kept, one per backend.
#[async_trait]
pub trait NickStore: Send + Sync + 'static {
    /// The claim stored under `key`, lapsed or not.
    async fn claim(&self, key: &str) -> Result<Option<NickClaim>, BrokerError>;

    /// Stores `claim` under `key` if the stored generation is still
    /// `claim.generation - 1` (0: none stored); `false` when another
    /// sign-in changed it first.
    async fn protect(&self, key: &str, claim: NickClaim) -> Result<bool, BrokerError>;

    /// Records a sign-in with the password of generation `generation`.
    async fn touch(&self, key: &str, generation: u64, now_ms: i64) -> Result<(), BrokerError>;

    /// Voids session `sid` until `exp` (seconds since the Unix epoch).
    async fn revoke(&self, sid: &str, exp: u64) -> Result<(), BrokerError>;

    /// The standing of session `sid` of the nick with key `key`.
    async fn standing(&self, key: &str, sid: &str) -> Result<SessionStanding, BrokerError>;

    /// Stores `ban` (replacing an earlier ban of the same key).
    async fn ban(&self, ban: BanRecord) -> Result<(), BrokerError>;

    /// Lifts the ban of `key`; `false` when there was none.
    async fn unban(&self, key: &str) -> Result<bool, BrokerError>;

    /// Every stored ban (ended ones may be among them).
    async fn bans(&self) -> Result<Vec<BanRecord>, BrokerError>;

    /// Tells the other nodes that `end` happened (they pass it to their
    /// own [`Nicks::ends`]). Nothing to do for a single node.
    async fn announce(&self, _end: &SessionEnd) -> Result<(), BrokerError> {
        Ok(())
    }
}

/// The server's view of protected nicks: the store, the lapse and the
/// clock. Cheap to clone.
#[derive(Clone)]
pub struct Nicks {
    pub store: Arc<dyn NickStore>,
    pub lapse: Duration,
    /// A test hook: the wall clock plus this clock's offset.
    pub clock: LimitsClock,
    /// Ended sessions, for this node's open streams: fed by
    /// [`Nicks::announce`] here and by the store's listener from other nodes.
    pub ends: broadcast::Sender<SessionEnd>,
}

impl Nicks {
    /// Now, in ms since the Unix epoch, as lapses are measured.
    pub fn now_ms(&self) -> i64 {
        let now = SystemTime::now() + self.clock.offset();
        now.duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }

    /// Ends the open streams of the sessions `end` names, on this node at
    /// once and on the others through the store. A failure to tell the
    /// others is logged: their streams then end when they next reconnect
    /// (every request checks the session's standing).
    pub async fn announce(&self, end: SessionEnd) {
        let _ = self.ends.send(end.clone());
        if let Err(cause) = self.store.announce(&end).await {
            tracing::warn!(%cause, "could not tell the other nodes that sessions ended");
        }
    }
}

/// How many announced ends a slow stream may fall behind by before it
/// misses some (it then checks its standing on its next request).
pub const ENDS_CAPACITY: usize = 256;

/// Hashes a nick password with argon2, off the async runtime.
pub async fn hash(password: String) -> Result<String, BrokerError> {
    tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let salt_bytes: [u8; 16] = rand::random();
        let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| e.to_string())?;
        argon2::Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| BrokerError::Internal(format!("hashing panicked: {e}")))?
    .map_err(|e| BrokerError::Internal(format!("hashing a nick password failed: {e}")))
}

/// Checks `candidate` against a PHC string, off the async runtime.
pub async fn verify(phc: String, candidate: String) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn k(nick: &str) -> String {
        key(&Nick::parse(nick).unwrap())
    }

    #[test]
    fn look_alikes_share_a_key() {
        assert_eq!(k("ana"), k("\u{0430}na"), "Cyrillic а");
        assert_eq!(k("ana"), k("Ana"));
        assert_eq!(k("paypal"), k("paypa1"));
        assert_ne!(k("ana"), k("bo"));
        assert_ne!(k("ana"), k("anna"));
    }

    #[test]
    fn a_look_alike_of_a_nick_mentions_it() {
        let known = ["ana", "bo"];
        let m = |text: &str| hearth_proto::log::mentions_folded(text, known, fold);
        assert_eq!(m("hi @\u{0430}na"), vec!["ana"], "Cyrillic а");
        assert_eq!(m("@ANA and @bo"), vec!["ana", "bo"]);
        assert_eq!(m("@anabel"), Vec::<String>::new());
        assert_eq!(m("mail@bo.example"), vec!["bo"]);
    }

    #[test]
    fn a_protection_lapses_after_the_lapse() {
        let day = 24 * 3600 * 1000;
        let claim = NickClaim {
            generation: 1,
            phc: String::new(),
            nick: "ana".into(),
            used_ms: 0,
        };
        let lapse = Duration::from_secs(90 * 24 * 3600);
        assert!(claim.in_force(89 * day, lapse));
        assert!(!claim.in_force(90 * day, lapse));
    }
}
