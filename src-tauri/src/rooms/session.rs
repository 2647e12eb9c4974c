//! Sessions: signing a connection in (again), and keeping its token and
//! password in the OS keychain, one entry per saved room
//! (`<room URL> <nick>`).

use hearth_client::Client;
use hearth_proto::{CertFingerprint, Nick, SessionResponse};
use serde::Serialize;
use url::Url;

use super::address::{check_len, client_at, client_error};
use super::{ConnKey, Rooms};
use crate::error::CommandError;
use crate::secrets::{self, RoomSecret};

/// A session, as the UI's `signIn` answers it.
#[derive(Debug, Clone, Serialize)]
pub struct SignedIn {
    pub nick: String,
    /// When the session ends (RFC 3339), if the server says.
    pub expires_at: Option<String>,
}

/// A new session and a client that uses it.
pub(super) struct Session {
    pub token: String,
    pub expires_at: Option<String>,
    pub client: Client,
}

/// Signs `nick` in at `base`.
pub(super) async fn sign_in(
    base: &Url,
    pin: Option<CertFingerprint>,
    nick: &Nick,
    password: Option<&str>,
) -> Result<Session, CommandError> {
    let mut client = client_at(base, pin)?;
    match client.sign_in(nick.as_str(), password).await {
        Ok(SessionResponse {
            token, expires_at, ..
        }) => Ok(Session {
            token,
            expires_at,
            client,
        }),
        Err(e) if e.status().map(|s| s.as_u16()) == Some(401) && password.is_none() => {
            Err(CommandError::PasswordRequired)
        }
        Err(e) => Err(client_error(base, e)),
    }
}

impl Rooms {
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
        let session = self.renew(key, password.as_deref(), None).await?;
        if let Some(conn) = self.shared.conns().get_mut(key) {
            conn.client = Some(session.client.clone());
        }
        tracing::info!(server = key.label(), nick = %key.nick, "signed in again");
        Ok(session.client)
    }

    /// Signs the connection of `room_id` in again with the password a
    /// person typed (its session ended, or the password changed); the
    /// password is kept in the keychain as joining keeps it, and the
    /// connection restarts with the new session.
    pub async fn sign_in_again(
        &self,
        room_id: &str,
        password: Option<&str>,
    ) -> Result<SignedIn, CommandError> {
        let saved = self.saved_room(room_id)?;
        let key = ConnKey::of(&saved);
        let password = password.filter(|p| !p.is_empty());
        if let Some(p) = password {
            check_len(p, "password")?;
        }
        let session = self.renew(&key, password, Some(room_id)).await?;
        self.restart(&key, true);
        Ok(SignedIn {
            nick: key.nick.to_string(),
            expires_at: session.expires_at,
        })
    }

    /// Signs in, then keeps the token for every room of the connection.
    async fn renew(
        &self,
        key: &ConnKey,
        password: Option<&str>,
        room_id: Option<&str>,
    ) -> Result<Session, CommandError> {
        let base = self.shared.base_of(key).ok_or(CommandError::NotHosting)?;
        let pin = self.shared.pin_of(key);
        let session = sign_in(&base, pin, &key.nick, password).await?;
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
