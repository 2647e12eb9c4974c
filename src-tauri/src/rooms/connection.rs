//! Following one connection's multi-room event stream.
//!
//! `Follow::run` reads `hearth_client::Client::follow` (which reconnects
//! with jittered backoff and resumes with the last cursor) until cancelled,
//! and for every item:
//!
//! - `Connected` / `Reconnecting`: tells the hub the connection state of
//!   each room, and wakes the outbox when the stream opens;
//! - an event: records a message's id as the room's last seen (settings,
//!   saved shortly after) and hands the event to the hub;
//! - `Failed`: a refused token is renewed once by signing in again with the
//!   kept password; anything else leaves the rooms offline with the reason.

use std::collections::{BTreeMap, HashSet};

use futures::StreamExt;
use hearth_client::{Client, Followed, StreamTarget};
use hearth_proto::{RoomName, StreamEvent};
use tokio_util::sync::CancellationToken;

use super::{ConnKey, Rooms};
use crate::error::CommandError;
use crate::events::ConnectionState;

/// One run of a connection's follow task.
pub(crate) struct Follow {
    pub rooms: Rooms,
    pub key: ConnKey,
    pub client: Client,
    /// Room name → saved room id, for the rooms of this connection.
    pub ids: BTreeMap<RoomName, String>,
    /// Where to resume (`Last-Event-ID`), if any room has been seen before.
    pub cursor: Option<String>,
    /// Rooms resumed from a last seen id: what they replay was missed.
    pub resumed: Vec<RoomName>,
    pub cancel: CancellationToken,
}

impl Follow {
    pub async fn run(self) {
        let Follow {
            rooms,
            key,
            mut client,
            ids,
            mut cursor,
            resumed,
            cancel,
        } = self;
        let shared = rooms.shared();
        let hub = shared.hub();
        let names: Vec<RoomName> = ids.keys().cloned().collect();
        // Rooms whose messages are news (not the replay of a fresh start).
        let mut live: HashSet<RoomName> = resumed.into_iter().collect();
        let mut signed_in_again = false;
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
            let failure = loop {
                let item = tokio::select! {
                    biased;
                    _ = cancel.cancelled() => return,
                    item = stream.next() => item,
                };
                match item {
                    Some(Followed::Connected) => {
                        signed_in_again = false;
                        set_all(ConnectionState::Connected);
                        shared.outbox_wake().notify_one();
                    }
                    Some(Followed::Event(received)) => {
                        if let Some(id) = received.last_event_id {
                            cursor = Some(id);
                        }
                        let event = received.event;
                        let room = room_of(&event);
                        let Some(room_id) = ids.get(room) else {
                            continue;
                        };
                        match &event {
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
                                live.insert(ready.room.clone());
                            }
                            _ => {}
                        }
                        let is_live = live.contains(room);
                        hub.stream_event(room_id, key.nick.as_str(), event, is_live);
                    }
                    Some(Followed::Reconnecting {
                        attempt,
                        delay,
                        reason,
                    }) => {
                        tracing::debug!(server = ?key.server, attempt, %reason, "stream dropped");
                        set_all(ConnectionState::Reconnecting {
                            attempt,
                            retry_in_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                            reason,
                        });
                    }
                    Some(Followed::Failed(e)) => break Some(e),
                    None => break None,
                }
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
                        });
                        return;
                    }
                }
            }
            let reason = match failure {
                Some(e) => {
                    CommandError::from_client(key.server.as_deref().unwrap_or("this app"), e)
                        .to_string()
                }
                None => "The event stream ended.".to_owned(),
            };
            tracing::warn!(server = ?key.server, %reason, "following stopped");
            set_all(ConnectionState::Offline { reason });
            return;
        }
    }
}

/// The room an event belongs to.
fn room_of(event: &StreamEvent) -> &RoomName {
    match event {
        StreamEvent::Message(m) => &m.room,
        StreamEvent::Ready(r) => &r.room,
        StreamEvent::Presence(p) => &p.room,
        StreamEvent::Join(c) | StreamEvent::Leave(c) => &c.room,
    }
}
