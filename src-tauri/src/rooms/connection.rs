//! Each connection's follow task: starting, restarting and running it.
//!
//! [`Rooms::restart`] (re)spawns a connection's task with its current
//! rooms, resuming each from its last seen message. `Follow::run` reads
//! `hearth_client::Client::follow` (which reconnects with jittered backoff
//! and resumes with the last cursor) until cancelled, and for every item:
//!
//! - `Connected`: tells the hub the rooms are connected, wakes the outbox,
//!   and, for a room resumed after an app restart that the hub has no
//!   messages of, reads its newest messages up to the resume point first
//!   (so a view's catch-up has them, in order);
//! - `Reconnecting`: the rooms' state, with the retry delay;
//! - an event: records a message's id as the room's last seen (settings,
//!   saved shortly after) and hands the event to the hub. A `ready` that
//!   says messages were missed is passed on as is, except after a restart
//!   the app made on purpose (a room joined or forgotten): nothing could be
//!   missed then, so it says `resumed`;
//! - `Failed`: a refused token is renewed once by signing in again with the
//!   kept password; a session the server ended (`event: ended`, or a
//!   reconnect refused `403` `banned`) is announced to the webview as
//!   `ended` and never reconnected; anything else leaves the rooms offline
//!   with the reason.

use std::collections::{BTreeMap, HashSet};

use futures::StreamExt;
use hearth_client::{Client, ClientError, Followed, StreamTarget};
use hearth_proto::{Cursor, MessageId, RoomName, StreamEnded, StreamEvent};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::address::client_error;
use super::hub::PAGE_SIZE;
use super::{Conn, ConnKey, Rooms};
use crate::error::{CommandError, ErrorKind, stream_drop_sentence};
use crate::events::ConnectionState;

impl Rooms {
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
        for room in settings.rooms.iter().filter(|r| r.dm.is_some()) {
            self.shared.hub.set_dm(&room.id, true);
        }
        for key in keys {
            let token = self.stored_token(&key).await;
            let signed_in = token.is_some();
            self.shared.conns().insert(key.clone(), Conn::new(token));
            self.restart(&key, false);
            if signed_in && key.server.is_some() {
                // A session from before the app protected nicks gets protected.
                let rooms = self.clone();
                tokio::spawn(async move { rooms.protect_if_needed(key).await });
            }
        }
    }

    /// Closes every connection.
    pub fn stop_all(&self) {
        for (_, conn) in self.shared.conns().drain() {
            conn.cancel.cancel();
        }
    }

    /// Where the hosted server is now (and its certificate, over HTTPS);
    /// `None` when hosting stopped. The hosted connections restart there
    /// (or wait, offline).
    pub fn set_hosted_base(&self, base: Option<(Url, Option<hearth_proto::CertFingerprint>)>) {
        *self.shared.hosted_base() = base;
        let keys: Vec<ConnKey> = self
            .shared
            .conns()
            .keys()
            .filter(|k| k.server.is_none())
            .cloned()
            .collect();
        for key in keys {
            self.restart(&key, false);
        }
    }

    /// The server of `room_id`'s connection answered a request (the outbox
    /// posted to it): if its stream is waiting out a backoff, it reconnects
    /// now. Nothing else changes.
    pub fn server_answered(&self, room_id: &str) {
        let Ok(saved) = self.saved_room(room_id) else {
            return;
        };
        let key = ConnKey::of(&saved);
        if let Some(conn) = self.shared.conns().get(&key) {
            conn.retry.notify_waiters();
        }
    }

    /// "Retry now" on a room: its connection reconnects at once, whether
    /// it waits out a backoff or stopped (offline, not retrying by itself).
    pub fn retry_now(&self, room_id: &str) -> Result<(), CommandError> {
        let saved = self.saved_room(room_id)?;
        let key = ConnKey::of(&saved);
        let state = self.shared.hub.connection_state(room_id);
        match state {
            ConnectionState::Offline { .. } => self.restart(&key, false),
            _ => {
                if let Some(conn) = self.shared.conns().get(&key) {
                    conn.retry.notify_waiters();
                }
            }
        }
        Ok(())
    }

    /// (Re)starts the connection's follow task with its current rooms,
    /// resuming each room from its last seen message. `planned`: the app
    /// restarts it on purpose (its rooms changed), so nothing is missed if
    /// the stream was up.
    pub(super) fn restart(&self, key: &ConnKey, planned: bool) {
        let rooms = self.shared.rooms_of(key);
        let hub = &self.shared.hub;
        // On purpose, and from a stream that was up: a stream that was down
        // may have missed messages, whatever made the app restart it.
        let planned = planned
            && rooms
                .iter()
                .filter(|r| hub.has_ready(&r.id))
                .all(|r| hub.connection_state(&r.id) == ConnectionState::Connected);
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
        let offline = |reason: String, kind: ErrorKind| {
            for room in &rooms {
                hub.set_state(
                    &room.id,
                    ConnectionState::Offline {
                        reason: reason.clone(),
                        kind,
                    },
                );
            }
        };
        let Some(base) = self.shared.base_of(key) else {
            let err = CommandError::NotHosting;
            offline(err.to_string(), err.kind());
            return;
        };
        let client = match Client::new_pinned(base.as_str(), self.shared.pin_of(key)) {
            Ok(client) => client,
            Err(e) => {
                let err = client_error(&base, e);
                offline(err.to_string(), err.kind());
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
                resumed.push((room.room.clone(), seen));
            }
            hub.set_state(&room.id, ConnectionState::Connecting);
        }
        let cursor = (!resumed.is_empty()).then(|| cursor.to_string());
        let follow = Follow {
            rooms: self.clone(),
            key: key.clone(),
            client,
            ids,
            cursor,
            resumed,
            planned,
            cancel: conn.cancel.clone(),
            retry: conn.retry.clone(),
        };
        drop(conns);
        tokio::spawn(follow.run());
    }
}

/// One run of a connection's follow task.
struct Follow {
    rooms: Rooms,
    key: ConnKey,
    client: Client,
    /// Room name → saved room id, for the rooms of this connection.
    ids: BTreeMap<RoomName, String>,
    /// Where to resume (`Last-Event-ID`), if any room has been seen before.
    cursor: Option<String>,
    /// Rooms resumed from a last seen id: what they replay was missed.
    resumed: Vec<(RoomName, MessageId)>,
    /// Started on purpose by the app (see [`Rooms::restart`]).
    planned: bool,
    cancel: CancellationToken,
    /// Ends a backoff wait early (see [`Rooms::server_answered`]).
    retry: std::sync::Arc<tokio::sync::Notify>,
}

impl Follow {
    async fn run(self) {
        let Follow {
            rooms,
            key,
            mut client,
            ids,
            mut cursor,
            resumed,
            planned,
            cancel,
            retry,
        } = self;
        let shared = rooms.shared();
        let hub = shared.hub();
        let names: Vec<RoomName> = ids.keys().cloned().collect();
        // Rooms whose messages are news (not the replay of a fresh start).
        let mut live: HashSet<RoomName> = resumed.iter().map(|(r, _)| r.clone()).collect();
        // Resumed rooms the hub has no messages of (the app just started):
        // their messages up to the resume point are read once connected.
        let mut backfill: Vec<(RoomName, MessageId)> = resumed
            .into_iter()
            .filter(|(room, _)| ids.get(room).is_some_and(|id| !hub.has_messages(id)))
            .collect();
        // Whether the stream dropped since this task started (a `ready`
        // then says what it says).
        let mut dropped = !planned;
        let mut signed_in_again = false;
        let all: Vec<&String> = ids.values().collect();
        let set_all = |state: ConnectionState| {
            for id in ids.values() {
                hub.set_state(id, state.clone());
            }
        };
        loop {
            let stream = client.follow(
                StreamTarget::Rooms(names.clone()),
                cursor.clone(),
                shared.follow_policy().clone(),
            );
            let mut stream = std::pin::pin!(stream);
            // Between a drop and the next attempt (the client's backoff).
            let mut waiting = false;
            let failure = loop {
                let item = tokio::select! {
                    biased;
                    _ = cancel.cancelled() => return,
                    _ = retry.notified(), if waiting => None,
                    item = stream.next() => Some(item),
                };
                // The server answered meanwhile: a new stream, right now,
                // from the same cursor (the backoff's sleep is dropped).
                let Some(item) = item else {
                    tracing::debug!(server = ?key.server, "reconnecting now, before the backoff ends");
                    break Retry::Now;
                };
                waiting = matches!(item, Some(Followed::Reconnecting { .. }));
                match item {
                    Some(Followed::Connected) => {
                        signed_in_again = false;
                        hub.stream_opened(&all);
                        set_all(ConnectionState::Connected);
                        shared.outbox_wake().notify_one();
                        if !backfill.is_empty() {
                            tokio::select! {
                                biased;
                                _ = cancel.cancelled() => return,
                                _ = read_back(&client, &ids, hub, &mut backfill) => {}
                            }
                        }
                    }
                    Some(Followed::Event(received)) => {
                        if let Some(id) = received.last_event_id {
                            cursor = Some(id);
                        }
                        let mut event = received.event;
                        let room = room_of(&event).clone();
                        let Some(room_id) = ids.get(&room) else {
                            continue;
                        };
                        match &mut event {
                            StreamEvent::Message(m) => {
                                let id = m.id;
                                shared.settings().update_later(|s| {
                                    if let Some(saved) =
                                        s.rooms.iter_mut().find(|r| &r.id == room_id)
                                    {
                                        saved.last_seen = Some(id);
                                    }
                                });
                            }
                            StreamEvent::Ready(ready) => {
                                if !ready.resumed && !dropped && hub.has_ready(room_id) {
                                    // The app restarted the stream itself.
                                    ready.resumed = true;
                                }
                                live.insert(ready.room.clone());
                            }
                            _ => {}
                        }
                        let is_live = live.contains(&room);
                        hub.stream_event(room_id, key.nick.as_str(), event, is_live);
                    }
                    Some(Followed::Reconnecting {
                        attempt,
                        delay,
                        reason,
                    }) => {
                        dropped = true;
                        tracing::debug!(server = ?key.server, attempt, %reason, "stream dropped");
                        set_all(ConnectionState::Reconnecting {
                            attempt,
                            retry_in_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                            reason: stream_drop_sentence(client.base_url().as_str(), &reason),
                        });
                    }
                    Some(Followed::Failed(e)) => break Retry::No(Some(e)),
                    None => break Retry::No(None),
                }
            };
            dropped = true;
            let failure = match failure {
                Retry::Now => continue,
                Retry::No(failure) => failure,
            };
            let refused = failure
                .as_ref()
                .and_then(|e| e.status())
                .is_some_and(|s| s.as_u16() == 401);
            if refused && !signed_in_again {
                signed_in_again = true;
                let renewed = tokio::select! {
                    biased;
                    _ = cancel.cancelled() => return,
                    renewed = rooms.reauth(&key) => renewed,
                };
                match renewed {
                    Ok(renewed) => {
                        client = renewed;
                        continue;
                    }
                    Err(e) => {
                        set_all(ConnectionState::Offline {
                            reason: e.to_string(),
                            kind: e.kind(),
                        });
                        return;
                    }
                }
            }
            // The app signed the connection in again meanwhile (protecting
            // its nick ends the session this task used): the restart that
            // follows uses the new one, so this end is no news.
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return,
                _ = shared.renewing.lock() => {}
            }
            let current = shared.conns().get(&key).and_then(|c| c.token.clone());
            if current.is_some() && current.as_deref() != client.token() {
                tracing::debug!(server = ?key.server, "the session was renewed; this stream ends quietly");
                return;
            }
            if let Some(ended) = failure.as_ref().and_then(ended_by) {
                tracing::info!(server = ?key.server, reason = %ended.reason, "the server ended the session");
                for id in ids.values() {
                    hub.ended(id, ended.clone());
                }
            }
            let (reason, kind) = match failure {
                Some(e) => {
                    let err =
                        CommandError::from_client(key.server.as_deref().unwrap_or("this app"), e);
                    (err.to_string(), err.kind())
                }
                None => ("The event stream ended.".to_owned(), ErrorKind::Network),
            };
            tracing::warn!(server = ?key.server, %reason, "following stopped");
            set_all(ConnectionState::Offline { reason, kind });
            return;
        }
    }
}

/// How a stream's run ended.
enum Retry {
    /// Asked to reconnect before the backoff ended.
    Now,
    /// The stream failed for good (or ended).
    No(Option<ClientError>),
}

/// Reads the newest messages up to each room's resume point into the hub;
/// the rooms that could not be read stay in `pending` (tried again at the
/// next connect).
async fn read_back(
    client: &Client,
    ids: &BTreeMap<RoomName, String>,
    hub: &super::hub::Hub,
    pending: &mut Vec<(RoomName, MessageId)>,
) {
    let mut failed = Vec::new();
    for (room, seen) in pending.drain(..) {
        let Some(room_id) = ids.get(&room) else {
            continue;
        };
        match client
            .history(&room, seen.successor(), Some(PAGE_SIZE))
            .await
        {
            Ok(messages) => hub.backfill(room_id, messages),
            Err(e) => {
                tracing::debug!(cause = %e, %room, "reading the room's recent messages failed");
                failed.push((room, seen));
            }
        }
    }
    *pending = failed;
}

/// The session's end, when the server ended it: the stream's `ended`
/// event, or a stream refused `403` `banned` (its `until` kept).
fn ended_by(failure: &ClientError) -> Option<StreamEnded> {
    match failure {
        ClientError::Ended(ended) => Some(ended.clone()),
        ClientError::Status {
            status,
            message,
            reason: Some(reason),
            until,
            ..
        } if status.as_u16() == 403 && reason == "banned" => Some(StreamEnded {
            reason: reason.clone(),
            error: message.clone(),
            until: until.clone(),
        }),
        _ => None,
    }
}

/// The room an event belongs to.
fn room_of(event: &StreamEvent) -> &RoomName {
    event.room()
}
