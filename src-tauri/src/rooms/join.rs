//! Joining a room (signing in, saving it, keeping its session in the
//! keychain, following it) and forgetting one.
//!
//! Two ways in, one path: [`Rooms::join`] takes what a person typed
//! ([`JoinRequest`]) for a remote server; [`Rooms::join_hosted`] is the
//! app's own client joining the room it hosts. Both end in `join_at`.

use hearth_proto::{AuthMode, CertFingerprint, Nick, RoomName};
use serde::Serialize;
use url::Url;

use super::address::{check_len, client_at, client_error, parse_address, parse_pin};
use super::{Conn, ConnKey, RoomView, Rooms, uuid_v4};
use crate::error::CommandError;
use crate::secrets;
use crate::settings::SavedRoom;

/// What joining a remote room takes, as typed.
#[derive(Debug, Clone, Default)]
pub struct JoinRequest {
    /// The address as pasted: `host:port`, `http://host:port`, or a
    /// `/r/{room}` link (which names the room).
    pub address: String,
    pub nick: String,
    /// Needed when the server has a password and this connection keeps
    /// none yet.
    pub password: Option<String>,
    /// The room; overrides the link's; default: the server's default room.
    pub room: Option<String>,
    /// Trust exactly this certificate (a self-signed `https://` host); it
    /// is saved with the room.
    pub fingerprint: Option<String>,
    /// The nick's password, when the person has one (the nick is theirs,
    /// protected from another device); default: the one the app keeps, or
    /// a new one (see [`super::session`]).
    pub nick_password: Option<String>,
}

impl JoinRequest {
    /// Joining `address` as `nick`, nothing else given.
    pub fn new(address: impl Into<String>, nick: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            nick: nick.into(),
            ..Self::default()
        }
    }
}

/// What joining answers: the room, and a warning if it could be joined but
/// its secrets could not be kept (no keychain).
#[derive(Debug, Clone, Serialize)]
pub struct Joined {
    #[serde(flatten)]
    pub room: RoomView,
    pub warning: Option<String>,
}

impl Rooms {
    /// Joins a room on a remote server (see [`JoinRequest`]).
    pub async fn join(&self, request: JoinRequest) -> Result<Joined, CommandError> {
        let (server, link_room) = parse_address(&request.address)?;
        let pin = parse_pin(request.fingerprint.as_deref())?;
        let nick = Nick::parse(check_len(&request.nick, "nick")?)?;
        let password = request.password.as_deref().filter(|p| !p.is_empty());
        if let Some(p) = password {
            check_len(p, "password")?;
        }
        let nick_password = request.nick_password.as_deref().filter(|p| !p.is_empty());
        if let Some(p) = nick_password {
            check_len(p, "nick password")?;
        }
        let room = match request
            .room
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
        {
            Some(room) => Some(RoomName::parse(room)?),
            None => link_room,
        };
        let client = client_at(&server, pin)?;
        let info = client.info().await.map_err(|e| client_error(&server, e))?;
        let room = room.unwrap_or(info.default_room);
        let key = ConnKey {
            server: Some(server.to_string()),
            nick,
        };
        self.join_at(key, server, room, password, info.auth, pin, nick_password)
            .await
    }

    /// Joins a room of the server this app hosts (at `base`, on loopback).
    pub async fn join_hosted(
        &self,
        base: Url,
        nick: Nick,
        room: RoomName,
        password: Option<&str>,
    ) -> Result<Joined, CommandError> {
        let key = ConnKey { server: None, nick };
        let auth = if password.is_some() {
            AuthMode::Password
        } else {
            AuthMode::None
        };
        let pin = self.shared.pin_of(&key);
        self.join_at(key, base, room, password, auth, pin, None)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn join_at(
        &self,
        key: ConnKey,
        base: Url,
        room: RoomName,
        password: Option<&str>,
        auth: AuthMode,
        pin: Option<CertFingerprint>,
        nick_password: Option<&str>,
    ) -> Result<Joined, CommandError> {
        let existing = self.shared.rooms_of(&key);
        let same = existing.iter().find(|r| r.room == room).cloned();
        if same.is_none() && existing.len() >= hearth_proto::MAX_STREAM_ROOMS {
            return Err(CommandError::BadInput(format!(
                "You already follow {} rooms on {}: forget one first.",
                existing.len(),
                key.label()
            )));
        }
        let password = match password {
            Some(p) => Some(p.to_owned()),
            None => self.kept_password(&key).await,
        };
        // Until the connection has its token (see `Shared::renewing`).
        let renewing = self.shared.renewing.lock().await;
        let current_token = self.shared.conns().get(&key).and_then(|c| c.token.clone());
        let token = match current_token {
            // Another room of this connection is signed in: share its
            // session (unless the person typed a nick password to use).
            Some(token) if same.is_none() && nick_password.is_none() => token,
            _ => {
                if auth == AuthMode::Password && password.is_none() {
                    return Err(CommandError::PasswordRequired);
                }
                self.sign_in(&key, &base, pin, password.as_deref(), nick_password)
                    .await?
                    .token
            }
        };

        let server = base.to_string();
        let saved = self.shared.settings.update(|s| {
            if let Some(found) = s
                .rooms
                .iter_mut()
                .find(|r| ConnKey::of(r) == key && r.room == room)
            {
                found.server = server.clone();
                if !found.hosted {
                    found.pin = pin;
                }
                return found.clone();
            }
            let saved = SavedRoom {
                id: uuid_v4(),
                server: server.clone(),
                room: room.clone(),
                nick: key.nick.clone(),
                hosted: key.server.is_none(),
                last_seen: None,
                pin: pin.filter(|_| key.server.is_some()),
                dm: None,
            };
            s.rooms.push(saved.clone());
            saved
        })?;

        // Every room of the connection shares the token now.
        let warning = self
            .store_session(&key, &token, password.as_deref(), Some(&saved.id))
            .await
            .map(|e| {
                format!("Joined, but the system keychain could not keep your session ({e}): you will have to join again after a restart.")
            });
        self.shared
            .conns()
            .entry(key.clone())
            .or_insert_with(|| Conn::new(None))
            .token = Some(token);
        drop(renewing);
        self.restart(&key, true);
        Ok(Joined {
            room: self.view(&saved),
            warning,
        })
    }

    /// Forgets a room: removes it from the settings, closes it, and deletes
    /// its keychain entry.
    pub async fn forget(&self, room_id: &str) -> Result<SavedRoom, CommandError> {
        let removed = self.shared.settings.update(|s| {
            let at = s.rooms.iter().position(|r| r.id == room_id)?;
            Some(s.rooms.remove(at))
        })?;
        let removed = removed.ok_or(CommandError::UnknownRoom)?;
        self.shared.hub.remove_room(room_id);
        let key = ConnKey::of(&removed);
        if self.shared.rooms_of(&key).is_empty() {
            if let Some(conn) = self.shared.conns().remove(&key) {
                conn.cancel.cancel();
            }
        } else {
            self.restart(&key, true);
        }
        secrets::delete(&self.shared.secrets, &removed.account())
            .await
            .map_err(|e| {
                CommandError::Keychain(format!(
                    "the room was forgotten, but its entry (service \"{}\", account \"{}\") could not be deleted: {e}",
                    secrets::SERVICE,
                    removed.account()
                ))
            })?;
        Ok(removed)
    }
}
