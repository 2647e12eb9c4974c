//! Joined rooms, local or remote, and their connections.
//!
//! A saved room ([`crate::settings::SavedRoom`]) is a room on a server, as a
//! nick. Rooms on the same server as the same nick share a *connection*
//! ([`ConnKey`]): one `hearth_client::Client` (one session token) and one
//! multi-room event stream, followed in Rust by [`connection`] and forwarded
//! to the webview by the [`hub`]. A hosted room is reached on loopback while
//! this app hosts; its connection waits, offline, while hosting is stopped.
//!
//! This file owns the registry: [`Rooms`] (a cheap handle), the live
//! connections, and what the UI lists ([`RoomView`]). The rest, by concern:
//!
//! - [`address`]: reading pasted addresses and fingerprints, probing a
//!   server (`GET /api/info`);
//! - [`join`]: joining (remote or hosted, one [`JoinRequest`]) and
//!   forgetting rooms;
//! - [`session`]: signing in, signing in again, tokens and passwords in the
//!   keychain;
//! - [`relay`]: the REST calls made for the UI with a room's session
//!   (room list, history, one post);
//! - [`search`]: search and the history after a message, relayed the same
//!   way;
//! - [`people`]: direct messages, bans, who the session is, and the nick
//!   password the app keeps (protocol v1.1 "nicks", "dm");
//! - [`connection`]: starting, restarting and running each connection's
//!   follow task (and "Retry now");
//! - [`links`]: links in messages, opened in the system browser;
//! - [`hub`]: where events meet on their way to the webview (catch-up,
//!   unread counts, notifications); `live.rs`: what it keeps of each room;
//! - [`commands`]: the Tauri commands.

pub mod address;
pub mod commands;
pub mod connection;
pub mod hub;
pub mod join;
pub mod links;
mod live;
pub mod people;
pub mod relay;
pub mod search;
pub mod session;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use hearth_client::{Client, RetryPolicy};
use hearth_proto::{CertFingerprint, Nick, RoomName};
use serde::Serialize;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::error::CommandError;
use crate::events::ConnectionState;
use crate::secrets::SecretStore;
use crate::settings::{SavedRoom, SettingsStore};
use hub::Hub;

pub use address::Probe;
pub use join::{JoinRequest, Joined};

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

    /// A stable name of the connection, for the UI to group rooms by
    /// (`hosted <nick>`, `<server> <nick>`).
    pub fn id(&self) -> String {
        match &self.server {
            Some(server) => format!("{server} {}", self.nick),
            None => format!("hosted {}", self.nick),
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
    /// Rung when the connection's server answered some other request (the
    /// outbox delivered, the person asked to retry): a follow task waiting
    /// out its backoff reconnects at once.
    retry: Arc<Notify>,
}

impl Conn {
    fn new(token: Option<String>) -> Self {
        Self {
            token,
            client: None,
            cancel: CancellationToken::new(),
            retry: Arc::new(Notify::new()),
        }
    }
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
    /// The connection it shares with the other rooms of its server and
    /// nick ([`ConnKey::id`]).
    pub connection_key: String,
    pub connection: ConnectionState,
    pub unread: u32,
    /// For a direct-message room: the other person's nick.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dm: Option<String>,
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
    /// Held while a connection signs in again and takes its new token, so
    /// a follow task whose stream the server ended meanwhile (protecting a
    /// nick ends its earlier sessions) can tell that the app renewed it.
    renewing: tokio::sync::Mutex<()>,
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
                renewing: tokio::sync::Mutex::new(()),
            }),
        }
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
            connection_key: ConnKey::of(room).id(),
            connection: self.shared.hub.connection_state(&room.id),
            unread: self.shared.hub.unread(&room.id),
            dm: room.dm.clone(),
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

/// A new random id (a UUID v4, the same generator as client ids).
pub(crate) fn uuid_v4() -> String {
    hearth_client::new_client_id()
}
