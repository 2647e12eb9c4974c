//! Sessions: signing a connection in (again), and keeping its token and
//! password in the OS keychain, one entry per saved room
//! (`<room URL> <nick>`).
//!
//! Protected nicks (protocol v1.1 "nicks"): on a server that has them, the
//! app signs every nick in with a nick password of its own, made once per
//! server and nick ([`secrets::new_nick_password`]) and kept in the
//! keychain ([`secrets::nick_account`]) before it is first sent, so a
//! person never types it and a restart signs in with nothing typed. With
//! none kept, the app first signs in without one (so a nick someone else
//! protected is refused without a wrong guess that would make the address
//! wait), then with a new one, which protects the nick; [`Rooms::nick_password`] shows
//! it, to sign in elsewhere. A nick someone else protected is refused
//! ([`CommandError::NickProtected`]); a nick password typed by the person
//! (theirs from another device) replaces the kept one once it works. A
//! session kept from before (unprotected) is protected when the app starts
//! ([`Rooms::protect_if_needed`]).

use hearth_client::Client;
use hearth_proto::{CertFingerprint, SessionResponse};
use serde::Serialize;
use url::Url;

use super::address::{check_len, client_at, client_error};
use super::{ConnKey, Rooms};
use crate::error::CommandError;
use crate::secrets::{self, RoomSecret};

/// A session, as the UI's `signIn` and `whoAmI` answer it.
#[derive(Debug, Clone, Serialize)]
pub struct SignedIn {
    pub nick: String,
    /// When the session ends (RFC 3339), if the server says.
    pub expires_at: Option<String>,
    /// Whether the nick is protected (signed in with its nick password).
    pub protected: bool,
    /// Whether the session may moderate (an admin nick of the server).
    pub admin: bool,
}

/// A new session and a client that uses it.
pub(super) struct Session {
    pub token: String,
    pub expires_at: Option<String>,
    pub protected: bool,
    pub admin: bool,
    pub client: Client,
}

impl Session {
    fn of(session: SessionResponse, client: Client) -> Self {
        Self {
            token: session.token,
            expires_at: session.expires_at,
            protected: session.protected,
            admin: session.admin,
            client,
        }
    }
}

/// What the keychain had for a sign-in's nick password.
enum Found {
    Password(String, NickPasswordFrom),
    /// Nothing kept for this server and nick.
    Nothing,
    /// The keychain could not be read.
    Unreadable,
}

/// Where the nick password of a sign-in came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NickPasswordFrom {
    /// The person typed it (theirs, from another device).
    Typed,
    /// The keychain had it.
    Kept,
    /// Made just now (and kept) for a nick nobody protects yet.
    Made,
}

/// Whether the server at `client` has protected nicks (`"nicks"` in its
/// features; servers before v1.1 get no nick password).
async fn has_nicks(client: &Client, base: &Url) -> Result<bool, CommandError> {
    let info = client.info().await.map_err(|e| client_error(base, e))?;
    Ok(info.features.iter().any(|f| f == "nicks"))
}

impl Rooms {
    /// Signs the connection's nick in at `base`: with the server password
    /// `password` if any, and, on a server with protected nicks, with a
    /// nick password: `typed` if the person gave one, else the one the
    /// keychain keeps for this server and nick, else a new one (kept
    /// first). The typed one is kept once the server takes it.
    pub(super) async fn sign_in(
        &self,
        key: &ConnKey,
        base: &Url,
        pin: Option<CertFingerprint>,
        password: Option<&str>,
        typed: Option<&str>,
    ) -> Result<Session, CommandError> {
        let mut client = client_at(base, pin)?;
        let nick = key.nick.as_str();
        let account = secrets::nick_account(key.server.as_deref(), nick);
        let nick_password = if has_nicks(&client, base).await? {
            match self.given_or_kept(&account, typed).await {
                Found::Password(p, from) => Some((p, from)),
                Found::Unreadable => None,
                Found::Nothing => {
                    // Nothing kept: first sign in without one, which says
                    // whether the nick is someone else's (a made-up
                    // password on a protected nick would count as a wrong
                    // guess and make every sign-in from this address
                    // wait); then protect it with a new one.
                    let probe = client.sign_in_protected(nick, password, None).await;
                    let probe = match probe {
                        Ok(probe) => probe,
                        Err(e) => return Err(self.refusal(e, None, key, base, password).await),
                    };
                    match self.make_nick_password(&account).await {
                        Some(made) => Some((made, NickPasswordFrom::Made)),
                        // The keychain cannot keep one: stay unprotected.
                        None => return Ok(Session::of(probe, client)),
                    }
                }
            }
        } else {
            None
        };
        let result = client
            .sign_in_protected(
                nick,
                password,
                nick_password.as_ref().map(|(p, _)| p.as_str()),
            )
            .await;
        match result {
            Ok(session) => {
                if let Some((typed, NickPasswordFrom::Typed)) = &nick_password
                    && let Err(e) = secrets::set(&self.shared.secrets, &account, typed).await
                {
                    tracing::warn!(cause = %e, "cannot keep the nick password in the keychain");
                }
                Ok(Session::of(session, client))
            }
            Err(e) => {
                let from = nick_password.map(|(_, from)| from);
                Err(self.refusal(e, from, key, base, password).await)
            }
        }
    }

    /// A refused sign-in as the app says it; a password made for it that
    /// protects nothing (the nick was someone else's) is not kept.
    async fn refusal(
        &self,
        e: hearth_client::ClientError,
        from: Option<NickPasswordFrom>,
        key: &ConnKey,
        base: &Url,
        password: Option<&str>,
    ) -> CommandError {
        let nick = key.nick.to_string();
        if e.reason() == Some("nick_protected") {
            return match from {
                Some(NickPasswordFrom::Typed) => CommandError::WrongNickPassword { nick },
                made_or_kept => {
                    if made_or_kept == Some(NickPasswordFrom::Made) {
                        let account = secrets::nick_account(key.server.as_deref(), &nick);
                        let _ = secrets::delete(&self.shared.secrets, &account).await;
                    }
                    CommandError::NickProtected { nick }
                }
            };
        }
        if e.status().map(|s| s.as_u16()) == Some(401) && password.is_none() {
            return CommandError::PasswordRequired;
        }
        client_error(base, e)
    }

    /// The nick password the person typed, else the one the keychain keeps.
    async fn given_or_kept(&self, account: &str, typed: Option<&str>) -> Found {
        if let Some(typed) = typed.filter(|t| !t.is_empty()) {
            return Found::Password(typed.to_owned(), NickPasswordFrom::Typed);
        }
        match secrets::get(&self.shared.secrets, account).await {
            Ok(Some(kept)) => Found::Password(kept, NickPasswordFrom::Kept),
            Ok(None) => Found::Nothing,
            Err(e) => {
                tracing::warn!(cause = %e, %account, "cannot read the nick password; signing in unprotected");
                Found::Unreadable
            }
        }
    }

    /// A new nick password, kept in the keychain before it is ever sent;
    /// `None` when the keychain cannot keep it (the nick then stays
    /// unprotected rather than protected with a password nobody keeps).
    async fn make_nick_password(&self, account: &str) -> Option<String> {
        let made = secrets::new_nick_password();
        match secrets::set(&self.shared.secrets, account, &made).await {
            Ok(()) => Some(made),
            Err(e) => {
                tracing::warn!(cause = %e, %account, "cannot keep a nick password; signing in unprotected");
                None
            }
        }
    }

    /// Protects the connection's nick when its kept session is not
    /// protected (a room joined before the app protected nicks, or while
    /// the keychain failed): on a server with protected nicks, signs in
    /// again with the nick password (kept, or made now) and restarts the
    /// connection with the new session. Best effort: a failure is logged,
    /// and the connection goes on as it was.
    pub(super) async fn protect_if_needed(&self, key: ConnKey) {
        let client = self.shared.conns().get(&key).and_then(|c| c.client.clone());
        let (Some(client), Some(base)) = (client, self.shared.base_of(&key)) else {
            return;
        };
        if client.token().is_none() || !matches!(has_nicks(&client, &base).await, Ok(true)) {
            return;
        }
        match client.current_session().await {
            Ok(current) if !current.protected => {}
            _ => return, // protected already, or the follow task deals with it
        }
        let password = self.kept_password(&key).await;
        match self.renew(&key, password.as_deref(), None, None).await {
            Ok(_) => {
                tracing::info!(server = key.label(), nick = %key.nick, "nick protected");
                self.restart(&key, true);
            }
            Err(e) => {
                tracing::warn!(cause = %e, server = key.label(), nick = %key.nick, "could not protect the nick");
            }
        }
    }

    /// The nick password the app keeps for the connection of `room_id`
    /// (to sign in elsewhere, e.g. in a browser); `None` if it keeps none.
    pub async fn nick_password(&self, room_id: &str) -> Result<Option<String>, CommandError> {
        let saved = self.saved_room(room_id)?;
        let key = ConnKey::of(&saved);
        let account = secrets::nick_account(key.server.as_deref(), key.nick.as_str());
        Ok(secrets::get(&self.shared.secrets, &account).await?)
    }

    /// `GET /api/session` with the connection of `room_id`: who it is
    /// signed in as, whether protected, whether an admin.
    pub async fn who_am_i(&self, room_id: &str) -> Result<SignedIn, CommandError> {
        let current = self
            .with_session(room_id, |client, _| async move {
                client.current_session().await
            })
            .await?;
        Ok(SignedIn {
            nick: current.nick,
            expires_at: current.expires_at,
            protected: current.protected,
            admin: current.admin,
        })
    }

    /// The first token the keychain has for one of the connection's rooms.
    pub(super) async fn stored_token(&self, key: &ConnKey) -> Option<String> {
        for room in self.shared.rooms_of(key) {
            match secrets::get_room(&self.shared.secrets, &room.account()).await {
                Ok(Some(RoomSecret {
                    token: Some(token), ..
                })) => return Some(token),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(cause = %e, room = %room.url(), "cannot read the keychain");
                    return None;
                }
            }
        }
        None
    }

    /// A password the keychain keeps for one of the connection's rooms.
    pub(super) async fn kept_password(&self, key: &ConnKey) -> Option<String> {
        for room in self.shared.rooms_of(key) {
            if let Ok(Some(RoomSecret {
                password: Some(password),
                ..
            })) = secrets::get_room(&self.shared.secrets, &room.account()).await
            {
                return Some(password);
            }
        }
        None
    }

    /// Writes `token` (and `password`) into the keychain entries of the
    /// connection's rooms (`password` only into `new_room`'s and those that
    /// had one). Returns the keychain's failure, if any.
    pub(super) async fn store_session(
        &self,
        key: &ConnKey,
        token: &str,
        password: Option<&str>,
        new_room: Option<&str>,
    ) -> Option<String> {
        let mut failure = None;
        for room in self.shared.rooms_of(key) {
            let account = room.account();
            let old = secrets::get_room(&self.shared.secrets, &account)
                .await
                .ok()
                .flatten()
                .unwrap_or_default();
            let keep_password = new_room == Some(room.id.as_str()) || old.password.is_some();
            let secret = RoomSecret {
                token: Some(token.to_owned()),
                password: if keep_password {
                    password.map(str::to_owned).or(old.password)
                } else {
                    None
                },
            };
            if let Err(e) = secrets::set_room(&self.shared.secrets, &account, &secret).await {
                tracing::warn!(cause = %e, room = %room.url(), "cannot store the session in the keychain");
                failure = Some(e.to_string());
            }
        }
        failure
    }

    /// Signs the connection in again (its token was refused), with the
    /// password the keychain keeps; every room of it gets the new token.
    pub async fn reauth(&self, key: &ConnKey) -> Result<Client, CommandError> {
        let password = self.kept_password(key).await;
        let session = self.renew(key, password.as_deref(), None, None).await?;
        if let Some(conn) = self.shared.conns().get_mut(key) {
            conn.client = Some(session.client.clone());
        }
        tracing::info!(server = key.label(), nick = %key.nick, "signed in again");
        Ok(session.client)
    }

    /// Signs the connection of `room_id` in again with the password a
    /// person typed (its session ended, or the password changed) and, if
    /// they typed one, the nick's password (theirs from another device;
    /// else the kept one); the passwords are kept in the keychain as
    /// joining keeps them, and the connection restarts with the new
    /// session.
    pub async fn sign_in_again(
        &self,
        room_id: &str,
        password: Option<&str>,
        nick_password: Option<&str>,
    ) -> Result<SignedIn, CommandError> {
        let saved = self.saved_room(room_id)?;
        let key = ConnKey::of(&saved);
        let password = password.filter(|p| !p.is_empty());
        if let Some(p) = password {
            check_len(p, "password")?;
        }
        let nick_password = nick_password.filter(|p| !p.is_empty());
        if let Some(p) = nick_password {
            check_len(p, "nick password")?;
        }
        let password = match password {
            Some(p) => Some(p.to_owned()),
            None => self.kept_password(&key).await,
        };
        let session = self
            .renew(&key, password.as_deref(), Some(room_id), nick_password)
            .await?;
        self.restart(&key, true);
        Ok(SignedIn {
            nick: key.nick.to_string(),
            expires_at: session.expires_at,
            protected: session.protected,
            admin: session.admin,
        })
    }

    /// Signs in, then keeps the token for every room of the connection.
    async fn renew(
        &self,
        key: &ConnKey,
        password: Option<&str>,
        room_id: Option<&str>,
        nick_password: Option<&str>,
    ) -> Result<Session, CommandError> {
        let base = self.shared.base_of(key).ok_or(CommandError::NotHosting)?;
        let pin = self.shared.pin_of(key);
        let _renewing = self.shared.renewing.lock().await;
        let session = self
            .sign_in(key, &base, pin, password, nick_password)
            .await?;
        if let Some(failure) = self
            .store_session(key, &session.token, password, room_id)
            .await
        {
            tracing::warn!(%failure, "session not kept");
        }
        if let Some(conn) = self.shared.conns().get_mut(key) {
            conn.token = Some(session.token.clone());
        }
        Ok(session)
    }
}
