//! Joined rooms, local or remote, and their connections.
//!
//! A saved room ([`crate::settings::SavedRoom`]) is a room on a server, as a
//! nick. Rooms on the same server as the same nick share a *connection*
//! ([`ConnKey`]): one `hearth_client::Client` (one session token) and one
//! multi-room event stream, followed in Rust by [`connection`] and forwarded
//! to the webview by the [`hub`]. A hosted room is reached on loopback while
//! this app hosts; its connection waits, offline, while hosting is stopped.
//!
//! [`Rooms`] probes addresses, joins (signs in, saves the room, stores the
//! token and password in the keychain), forgets, and relays the REST calls
//! (room list, history) with the room's session, signing in again once when
//! a token is refused.

pub mod commands;
pub mod connection;
pub mod hub;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use hearth_client::{Client, ClientError, RetryPolicy};
use hearth_proto::{
    AuthMode, CertFingerprint, Cursor, Message, MessageId, Nick, RoomName, RoomSummary, ServerInfo,
};
use serde::Serialize;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::error::CommandError;
use crate::events::ConnectionState;
use crate::secrets::{self, RoomSecret, SecretStore};
use crate::settings::{SavedRoom, SettingsStore};
use hub::Hub;

/// The longest address, nick or password input accepted.
const MAX_INPUT: usize = 2048;

/// One connection: a server (or this app's hosted server) and a nick.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnKey {
    /// The server's base URL; `None` for the server this app hosts.
    pub server: Option<String>,
    pub nick: Nick,
}

impl ConnKey {
    /// The connection a saved room uses.
    pub fn of(room: &SavedRoom) -> Self {
        Self {
            server: (!room.hosted).then(|| room.server.clone()),
            nick: room.nick.clone(),
        }
    }

    fn label(&self) -> &str {
        self.server.as_deref().unwrap_or("the room you host")
    }
}

/// A live connection.
struct Conn {
    /// The session token, once signed in.
    token: Option<String>,
    /// The connection's client (with the token), shared by every request
    /// of its rooms; `None` while its server cannot be reached (hosting
    /// stopped).
    client: Option<Client>,
    /// Ends the current follow task.
    cancel: CancellationToken,
}

/// What `probe_server` answers.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    /// The server's base URL, normalized (`http://host:port/`).
    pub server: String,
    /// The room the pasted link named (`/r/{room}`), if any.
    pub room: Option<RoomName>,
    /// `GET /api/info`: name, auth (`"none"` or `"password"`), rooms…
    pub info: ServerInfo,
}

/// A saved room, as the UI lists it.
#[derive(Debug, Clone, Serialize)]
pub struct RoomView {
    pub id: String,
    /// `http://host:port/r/{room}`.
    pub url: String,
    pub server: String,
    pub room: RoomName,
    pub nick: Nick,
    pub hosted: bool,
    pub connection: ConnectionState,
    pub unread: u32,
}

/// What joining answers: the room, and a warning if it could be joined but
/// its secrets could not be kept (no keychain).
#[derive(Debug, Clone, Serialize)]
pub struct Joined {
    #[serde(flatten)]
    pub room: RoomView,
    pub warning: Option<String>,
}

/// What a caller needs to act in a room with its session.
#[derive(Debug, Clone)]
pub struct RoomTarget {
    pub key: ConnKey,
    pub room: RoomName,
    pub client: Client,
}

/// The rooms and their connections. Cheap to clone.
#[derive(Clone)]
pub struct Rooms {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    settings: Arc<SettingsStore>,
    secrets: Arc<dyn SecretStore>,
    hub: Arc<Hub>,
    /// Rung when a connection opens, so the outbox sends what waited.
    outbox_wake: Arc<Notify>,
    conns: Mutex<HashMap<ConnKey, Conn>>,
    /// The loopback URL of the server this app hosts, while it runs, and
    /// its certificate's fingerprint when it serves HTTPS.
    hosted_base: Mutex<Option<(Url, Option<CertFingerprint>)>>,
    /// Reconnect backoff for event streams.
    follow_policy: RetryPolicy,
}

impl Rooms {
    /// The registry, with no connection open yet (see [`Rooms::start`]).
    pub fn new(
        settings: Arc<SettingsStore>,
        secrets: Arc<dyn SecretStore>,
        hub: Arc<Hub>,
        outbox_wake: Arc<Notify>,
        follow_policy: RetryPolicy,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                settings,
                secrets,
                hub,
                outbox_wake,
                conns: Mutex::new(HashMap::new()),
                hosted_base: Mutex::new(None),
                follow_policy,
            }),
        }
    }

    /// Opens a connection for every saved room's server and nick, with the
    /// tokens the keychain has.
    pub async fn start(&self) {
        let settings = self.shared.settings.get();
        let mut keys: Vec<ConnKey> = Vec::new();
        for room in &settings.rooms {
            let key = ConnKey::of(room);
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        for key in keys {
            let token = self.stored_token(&key).await;
            self.shared.conns().insert(
                key.clone(),
                Conn {
                    token,
                    client: None,
                    cancel: CancellationToken::new(),
                },
            );
            self.restart(&key);
        }
    }

    /// Closes every connection.
    pub fn stop_all(&self) {
        for (_, conn) in self.shared.conns().drain() {
            conn.cancel.cancel();
        }
    }

    /// The first token the keychain has for one of the connection's rooms.
    async fn stored_token(&self, key: &ConnKey) -> Option<String> {
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

    /// `GET /api/info` on a pasted address.
    pub async fn probe(&self, address: &str) -> Result<Probe, CommandError> {
        self.probe_pinned(address, None).await
    }

    /// [`Rooms::probe`] trusting exactly the certificate `pin` names (the
    /// fingerprint a self-signed `https://` host gave).
    pub async fn probe_pinned(
        &self,
        address: &str,
        pin: Option<&str>,
    ) -> Result<Probe, CommandError> {
        let (server, room) = parse_address(address)?;
        let pin = parse_pin(pin)?;
        let client = client_at(&server, pin)?;
        let info = client.info().await.map_err(|e| client_error(&server, e))?;
        Ok(Probe {
            server: server.to_string(),
            room,
            info,
        })
    }

    /// Joins a room on a remote server: `address` as pasted (a `/r/{room}`
    /// link names the room; `room` overrides it; else the server's default
    /// room), as `nick`, with `password` if the server has one.
    pub async fn join(
        &self,
        address: &str,
        nick: &str,
        password: Option<&str>,
        room: Option<&str>,
    ) -> Result<Joined, CommandError> {
        self.join_pinned(address, nick, password, room, None).await
    }

    /// [`Rooms::join`] trusting exactly the certificate `pin` names (a
    /// self-signed `https://` host); the pin is saved with the room.
    pub async fn join_pinned(
        &self,
        address: &str,
        nick: &str,
        password: Option<&str>,
        room: Option<&str>,
        pin: Option<&str>,
    ) -> Result<Joined, CommandError> {
        let (server, link_room) = parse_address(address)?;
        let pin = parse_pin(pin)?;
        let nick = Nick::parse(check_len(nick, "nick")?)?;
        let password = password.filter(|p| !p.is_empty());
        if let Some(p) = password {
            check_len(p, "password")?;
        }
        let room = match room.map(str::trim).filter(|r| !r.is_empty()) {
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
        self.join_at(key, server, room, password, info.auth, pin)
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
        self.join_at(key, base, room, password, auth, pin).await
    }

    async fn join_at(
        &self,
        key: ConnKey,
        base: Url,
        room: RoomName,
        password: Option<&str>,
        auth: AuthMode,
        pin: Option<CertFingerprint>,
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
        // A password already kept for this connection, if none was given.
        let mut kept_password = None;
        for other in &existing {
            if let Ok(Some(secret)) =
                secrets::get_room(&self.shared.secrets, &other.account()).await
                && secret.password.is_some()
            {
                kept_password = secret.password;
                break;
            }
        }
        let password = password.map(str::to_owned).or(kept_password);
        let current_token = self.shared.conns().get(&key).and_then(|c| c.token.clone());
        let token = match current_token {
            // Another room of this connection is signed in: share its session.
            Some(token) if same.is_none() => token,
            _ => {
                if auth == AuthMode::Password && password.is_none() {
                    return Err(CommandError::PasswordRequired);
                }
                sign_in(&base, pin, &key.nick, password.as_deref()).await?.0
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
            };
            s.rooms.push(saved.clone());
            saved
        })?;

        // Every room of the connection shares the token now.
        let warning = self
            .store_session(&key, &token, password.as_deref(), Some(&saved.id))
            .await;
        {
            let mut conns = self.shared.conns();
            let conn = conns.entry(key.clone()).or_insert_with(|| Conn {
                token: None,
                client: None,
                cancel: CancellationToken::new(),
            });
            conn.token = Some(token);
        }
        self.restart(&key);
        Ok(Joined {
            room: self.view(&saved),
            warning,
        })
    }

    /// Writes `token` (and `password`) into the keychain entries of the
    /// connection's rooms (`password` only into `new_room`'s and those that
    /// had one). Returns a warning for the person if the keychain failed.
    async fn store_session(
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
                failure = Some(e);
            }
        }
        failure.map(|e| {
            format!("Joined, but the system keychain could not keep your session ({e}): you will have to join again after a restart.")
        })
    }

    /// Signs the connection in again (its token was refused), with the
    /// password the keychain keeps; every room of it gets the new token.
    pub async fn reauth(&self, key: &ConnKey) -> Result<Client, CommandError> {
        let base = self.shared.base_of(key).ok_or(CommandError::NotHosting)?;
        let mut password = None;
        for room in self.shared.rooms_of(key) {
            if let Ok(Some(secret)) = secrets::get_room(&self.shared.secrets, &room.account()).await
                && secret.password.is_some()
            {
                password = secret.password;
                break;
            }
        }
        let pin = self.shared.pin_of(key);
        let (token, client) = sign_in(&base, pin, &key.nick, password.as_deref()).await?;
        if let Some(warning) = self.store_session(key, &token, None, None).await {
            tracing::warn!(%warning, "session not kept");
        }
        if let Some(conn) = self.shared.conns().get_mut(key) {
            conn.token = Some(token);
            conn.client = Some(client.clone());
        }
        tracing::info!(server = key.label(), nick = %key.nick, "signed in again");
        Ok(client)
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
            self.restart(&key);
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

    /// Every saved room.
    pub fn saved(&self) -> Vec<RoomView> {
        self.shared
            .settings
            .get()
            .rooms
            .iter()
            .map(|r| self.view(r))
            .collect()
    }

    /// One saved room.
    pub fn saved_room(&self, room_id: &str) -> Result<SavedRoom, CommandError> {
        self.shared
            .settings
            .get()
            .rooms
            .into_iter()
            .find(|r| r.id == room_id)
            .ok_or(CommandError::UnknownRoom)
    }

    fn view(&self, room: &SavedRoom) -> RoomView {
        RoomView {
            id: room.id.clone(),
            url: room.url(),
            server: room.server.clone(),
            room: room.room.clone(),
            nick: room.nick.clone(),
            hosted: room.hosted,
            connection: self.shared.hub.connection_state(&room.id),
            unread: self.shared.hub.unread(&room.id),
        }
    }

    /// The session and room of a saved room.
    pub fn target(&self, room_id: &str) -> Result<RoomTarget, CommandError> {
        let saved = self.saved_room(room_id)?;
        let key = ConnKey::of(&saved);
        let client = self.shared.conns().get(&key).and_then(|c| c.client.clone());
        let client = client.ok_or_else(|| {
            if key.server.is_none() {
                CommandError::NotHosting
            } else {
                CommandError::Offline(format!("{} cannot be reached right now.", key.label()))
            }
        })?;
        Ok(RoomTarget {
            key,
            room: saved.room,
            client,
        })
    }

    /// Runs a call with the room's session; if the token is refused, signs
    /// in again once and repeats it.
    async fn with_session<T, F, Fut>(&self, room_id: &str, call: F) -> Result<T, CommandError>
    where
        F: Fn(Client, RoomName) -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        let target = self.target(room_id)?;
        let label = target.key.label().to_owned();
        match call(target.client, target.room.clone()).await {
            Err(e) if e.status().map(|s| s.as_u16()) == Some(401) => {
                let client = self.reauth(&target.key).await?;
                call(client, target.room)
                    .await
                    .map_err(|e| CommandError::from_client(&label, e))
            }
            other => other.map_err(|e| CommandError::from_client(&label, e)),
        }
    }

    /// `GET /api/rooms` on the room's server.
    pub async fn list(&self, room_id: &str) -> Result<Vec<RoomSummary>, CommandError> {
        self.with_session(room_id, |client, _| async move { client.rooms().await })
            .await
    }

    /// `GET /api/rooms/{room}/messages`: up to `limit` messages before
    /// `before` (or the newest), oldest first.
    pub async fn history(
        &self,
        room_id: &str,
        before: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<Message>, CommandError> {
        let before = before
            .map(|b| {
                b.parse::<MessageId>()
                    .map_err(|_| CommandError::BadInput(format!("{b:?} is not a message id.")))
            })
            .transpose()?;
        if let Some(limit) = limit
            && !(1..=hearth_proto::MAX_HISTORY_LIMIT).contains(&limit)
        {
            return Err(CommandError::BadInput(format!(
                "Ask for 1 to {} messages at a time.",
                hearth_proto::MAX_HISTORY_LIMIT
            )));
        }
        self.with_session(room_id, |client, room| async move {
            client.history(&room, before, limit).await
        })
        .await
    }

    /// Sets (or clears) the hosted server's loopback URL and reopens the
    /// hosted rooms' connections there (or leaves them offline).
    /// Where the hosted server is now (and its certificate, over HTTPS);
    /// `None` when hosting stopped. Hosted connections restart.
    pub fn set_hosted_base(&self, base: Option<(Url, Option<CertFingerprint>)>) {
        *self.shared.hosted_base() = base;
        let keys: Vec<ConnKey> = self
            .shared
            .conns()
            .keys()
            .filter(|k| k.server.is_none())
            .cloned()
            .collect();
        for key in keys {
            self.restart(&key);
        }
    }

    /// (Re)starts the connection's follow task with its current rooms,
    /// resuming each room from its last seen message.
    fn restart(&self, key: &ConnKey) {
        let rooms = self.shared.rooms_of(key);
        let mut conns = self.shared.conns();
        let Some(conn) = conns.get_mut(key) else {
            return;
        };
        conn.cancel.cancel();
        conn.cancel = CancellationToken::new();
        conn.client = None;
        if rooms.is_empty() {
            return;
        }
        let Some(base) = self.shared.base_of(key) else {
            for room in &rooms {
                self.shared.hub.set_state(
                    &room.id,
                    ConnectionState::Offline {
                        reason: not_hosting(),
                    },
                );
            }
            return;
        };
        let client = match Client::new_pinned(base.as_str(), self.shared.pin_of(key)) {
            Ok(client) => client,
            Err(e) => {
                let reason = client_error(&base, e).to_string();
                for room in &rooms {
                    self.shared.hub.set_state(
                        &room.id,
                        ConnectionState::Offline {
                            reason: reason.clone(),
                        },
                    );
                }
                return;
            }
        };
        let client = match &conn.token {
            Some(token) => client.with_token(token.clone()),
            None => client,
        };
        conn.client = Some(client.clone());
        let mut cursor = Cursor::new();
        let mut resumed = Vec::new();
        let mut ids = BTreeMap::new();
        for room in &rooms {
            ids.insert(room.room.clone(), room.id.clone());
            if let Some(seen) = room.last_seen {
                cursor.set(room.room.clone(), seen);
                resumed.push(room.room.clone());
            }
            self.shared
                .hub
                .set_state(&room.id, ConnectionState::Connecting);
        }
        let cursor = (!resumed.is_empty()).then(|| cursor.to_string());
        let follow = connection::Follow {
            rooms: self.clone(),
            key: key.clone(),
            client,
            ids,
            cursor,
            resumed,
            cancel: conn.cancel.clone(),
        };
        drop(conns);
        tokio::spawn(follow.run());
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }
}

impl Shared {
    fn conns(&self) -> MutexGuard<'_, HashMap<ConnKey, Conn>> {
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn hosted_base(&self) -> MutexGuard<'_, Option<(Url, Option<CertFingerprint>)>> {
        self.hosted_base.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The saved rooms of a connection, in saved order.
    fn rooms_of(&self, key: &ConnKey) -> Vec<SavedRoom> {
        self.settings
            .get()
            .rooms
            .into_iter()
            .filter(|r| &ConnKey::of(r) == key)
            .collect()
    }

    /// Where the connection's server is now.
    fn base_of(&self, key: &ConnKey) -> Option<Url> {
        match &key.server {
            Some(server) => Url::parse(server).ok(),
            None => self.hosted_base().as_ref().map(|(base, _)| base.clone()),
        }
    }

    /// The certificate the connection's server must present, when pinned
    /// (a self-signed host; the hosted server over HTTPS).
    fn pin_of(&self, key: &ConnKey) -> Option<CertFingerprint> {
        match &key.server {
            Some(_) => self.rooms_of(key).iter().find_map(|r| r.pin),
            None => self.hosted_base().as_ref().and_then(|(_, pin)| *pin),
        }
    }

    pub(crate) fn hub(&self) -> &Hub {
        &self.hub
    }

    pub(crate) fn settings(&self) -> &SettingsStore {
        &self.settings
    }

    pub(crate) fn outbox_wake(&self) -> &Notify {
        &self.outbox_wake
    }

    pub(crate) fn follow_policy(&self) -> &RetryPolicy {
        &self.follow_policy
    }
}

/// A client of the server at `base`, trusting only `pin` when given.
fn client_at(base: &Url, pin: Option<CertFingerprint>) -> Result<Client, CommandError> {
    Client::new_pinned(base.as_str(), pin).map_err(|e| client_error(base, e))
}

/// A certificate fingerprint as typed (empty: none).
fn parse_pin(pin: Option<&str>) -> Result<Option<CertFingerprint>, CommandError> {
    match pin.map(str::trim).filter(|p| !p.is_empty()) {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|e| {
            CommandError::BadInput(format!("That certificate fingerprint is not right: {e}."))
        }),
    }
}

/// Signs `nick` in at `base`: the token and a client that uses it.
async fn sign_in(
    base: &Url,
    pin: Option<CertFingerprint>,
    nick: &Nick,
    password: Option<&str>,
) -> Result<(String, Client), CommandError> {
    let mut client = client_at(base, pin)?;
    match client.sign_in(nick.as_str(), password).await {
        Ok(session) => Ok((session.token, client)),
        Err(e) if e.status().map(|s| s.as_u16()) == Some(401) && password.is_none() => {
            Err(CommandError::PasswordRequired)
        }
        Err(e) => Err(client_error(base, e)),
    }
}

fn client_error(server: &Url, e: ClientError) -> CommandError {
    CommandError::from_client(server.as_str(), e)
}

fn not_hosting() -> String {
    CommandError::NotHosting.to_string()
}

fn check_len<'a>(input: &'a str, what: &str) -> Result<&'a str, CommandError> {
    if input.len() > MAX_INPUT {
        return Err(CommandError::BadInput(format!("That {what} is too long.")));
    }
    Ok(input)
}

/// Reads a pasted address (see `hearth_client::parse_server_address`).
fn parse_address(address: &str) -> Result<(Url, Option<RoomName>), CommandError> {
    let address = check_len(address, "address")?.trim();
    if address.is_empty() {
        return Err(CommandError::BadInput(
            "Paste the address of a Hearth room, like http://192.168.1.20:8989/r/general.".into(),
        ));
    }
    hearth_client::parse_server_address(address).map_err(|e| match e {
        ClientError::InvalidUrl(detail) => CommandError::Address(detail),
        other => CommandError::Address(other.to_string()),
    })
}

/// A new random id (a UUID v4, the same generator as client ids).
pub(crate) fn uuid_v4() -> String {
    hearth_client::new_client_id()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_before_any_request() {
        assert!(matches!(
            parse_address("  "),
            Err(CommandError::BadInput(_))
        ));
        assert!(matches!(
            parse_address("ftp://x"),
            Err(CommandError::Address(_))
        ));
        let (url, room) = parse_address("http://10.0.0.2:8989/r/dev").unwrap();
        assert_eq!(url.as_str(), "http://10.0.0.2:8989/");
        assert_eq!(room.unwrap().as_str(), "dev");
        assert!(check_len(&"x".repeat(MAX_INPUT + 1), "address").is_err());
    }
}
