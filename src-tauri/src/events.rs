//! What the app pushes to the webview, and the [`EventSink`] it goes through.
//!
//! Every event names the saved room it concerns (`room_id`) and is either a
//! room-protocol event, forwarded as is (`hearth_proto::StreamEvent`: the
//! same `{"event", "data"}` JSON the web client sees), or an event of the app
//! itself ([`LocalEvent`]: connection state, unread count, outbox progress):
//!
//! ```json
//! {"room_id": "5b0c…", "event": "message", "data": {"id": "…", "room": "general", …}}
//! {"room_id": "5b0c…", "event": "connection", "data": {"state": "reconnecting", "attempt": 2, "retry_in_ms": 1900, "reason": "…"}}
//! {"room_id": "5b0c…", "event": "connection", "data": {"state": "offline", "reason": "…", "kind": "unauthorized"}}
//! {"room_id": "5b0c…", "event": "unread", "data": {"count": 3, "total": 5}}
//! {"room_id": "5b0c…", "event": "outbox", "data": {"client_id": "…", "state": "queued", "wait_reason": "network", "retry_at_ms": 1764990000000}}
//! {"room_id": "5b0c…", "event": "outbox", "data": {"client_id": "…", "state": "sending", "files": [{"name": "cat.png", "size": 52000, "type": "image/png", "sent": 16384}]}}
//! {"room_id": "5b0c…", "event": "outbox", "data": {"client_id": "…", "state": "sent", "message_id": "…"}}
//! {"room_id": "5b0c…", "event": "ended", "data": {"reason": "banned", "error": "you are banned until …", "until": "2026-12-06T09:00:00Z"}}
//! ```
//!
//! `ended` is the server's last word on the connection's session (the
//! stream's `event: ended`, or a reconnect refused `403` `banned`): sent
//! once per room of the connection, before its `offline` state; the app
//! does not reconnect with that session.
//!
//! The same events go to the home screen's channel (`follow_rooms`: every
//! room) and to the chat view's (`open_view`: the rooms it follows, after
//! each one's catch-up; see `rooms::hub`).
//!
//! [`EventSink`] is implemented for `tauri::ipc::Channel` (the app) and for
//! tokio mpsc senders (tests), so the forwarding logic runs without Tauri.

use hearth_proto::{Message, StreamEnded, StreamEvent};
use serde::Serialize;

use crate::error::ErrorKind;

/// One event for the webview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoomEvent {
    /// The saved room's id.
    pub room_id: String,
    #[serde(flatten)]
    pub event: AppEvent,
}

/// A protocol event or one of the app's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum AppEvent {
    /// Forwarded from the room's event stream.
    Stream(StreamEvent),
    /// Made by the app.
    Local(LocalEvent),
}

/// The app's own events.
// A message (with protocol v1.1's fields) makes the outbox variant large;
// these are sent once each, so boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum LocalEvent {
    /// The room's connection changed state.
    Connection(ConnectionState),
    /// Messages arrived that the person has not seen.
    Unread {
        /// Unread in this room.
        count: u32,
        /// Of those, the ones that mention the person (their nick, or
        /// `@here`): the UI's separate badge.
        mentions: u32,
        /// Unread in all rooms (the tray's marker).
        total: u32,
    },
    /// A queued message moved on.
    Outbox(OutboxUpdate),
    /// The server ended the connection's session (banned, signed out,
    /// superseded); the app does not reconnect with it.
    Ended(StreamEnded),
}

/// The state of a room's connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConnectionState {
    /// The first attempt is under way.
    Connecting,
    /// The event stream is open.
    Connected,
    /// The stream dropped; the app retries after `retry_in_ms`.
    Reconnecting {
        attempt: u32,
        retry_in_ms: u64,
        reason: String,
    },
    /// Not trying: hosting stopped, or the server refused for a reason
    /// retrying cannot fix (the `reason` says which, for a person; `kind`
    /// says which for the UI: `unauthorized` means the session ended).
    Offline { reason: String, kind: ErrorKind },
}

impl ConnectionState {
    /// The state's name, as in the JSON.
    pub fn name(&self) -> &'static str {
        match self {
            ConnectionState::Connecting => "connecting",
            ConnectionState::Connected => "connected",
            ConnectionState::Reconnecting { .. } => "reconnecting",
            ConnectionState::Offline { .. } => "offline",
        }
    }
}

/// Progress of one queued message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxUpdate {
    pub client_id: String,
    #[serde(flatten)]
    pub state: OutboxState,
}

/// Where a queued message stands.
// `Sent` carries a whole message; see `LocalEvent`.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OutboxState {
    /// Written to the outbox file; not sent yet. After a round that could
    /// not send it: why it waits, and when the next round is due at the
    /// latest (ms since the Unix epoch; a connection that opens is sooner).
    Queued {
        #[serde(skip_serializing_if = "Option::is_none")]
        wait_reason: Option<WaitReason>,
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_at_ms: Option<u64>,
    },
    /// Its files are being uploaded: each one's bytes sent so far (`sent`
    /// = `size` once uploaded, with its `file_id`).
    Sending { files: Vec<FileProgress> },
    /// The server stored it (`message_id`; `message` is the stored
    /// message, for a view whose stream has not shown it); it left the
    /// outbox.
    Sent {
        message_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<Message>,
    },
    /// The server refused it for good; it stays until discarded.
    Failed { error: String },
}

/// How far one file of a queued message got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileProgress {
    pub name: String,
    pub size: u64,
    #[serde(rename = "type")]
    pub content_type: String,
    /// Bytes uploaded so far.
    pub sent: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
}

/// Why a queued message waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitReason {
    /// No answer, or the server is unavailable for now.
    Network,
    /// The server asked to slow down (429).
    Slow,
}

/// The webview went away (or the test stopped listening).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the event sink is closed")]
pub struct SinkClosed;

/// Where events go.
pub trait EventSink: Send + Sync + 'static {
    fn send(&self, event: RoomEvent) -> Result<(), SinkClosed>;
}

impl EventSink for tauri::ipc::Channel<RoomEvent> {
    fn send(&self, event: RoomEvent) -> Result<(), SinkClosed> {
        tauri::ipc::Channel::send(self, event).map_err(|e| {
            tracing::debug!(cause = %e, "channel send failed");
            SinkClosed
        })
    }
}

impl EventSink for tokio::sync::mpsc::UnboundedSender<RoomEvent> {
    fn send(&self, event: RoomEvent) -> Result<(), SinkClosed> {
        tokio::sync::mpsc::UnboundedSender::send(self, event).map_err(|_| SinkClosed)
    }
}

impl EventSink for tokio::sync::mpsc::Sender<RoomEvent> {
    fn send(&self, event: RoomEvent) -> Result<(), SinkClosed> {
        self.try_send(event).map_err(|_| SinkClosed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_proto::{PresenceChange, RoomName};
    use serde_json::json;

    #[test]
    fn events_have_the_documented_json_shape() {
        let join = RoomEvent {
            room_id: "r1".into(),
            event: AppEvent::Stream(StreamEvent::Join(PresenceChange {
                room: RoomName::default_room(),
                nick: "bo".into(),
            })),
        };
        assert_eq!(
            serde_json::to_value(&join).unwrap(),
            json!({"room_id": "r1", "event": "join", "data": {"room": "general", "nick": "bo"}})
        );
        let state = RoomEvent {
            room_id: "r1".into(),
            event: AppEvent::Local(LocalEvent::Connection(ConnectionState::Reconnecting {
                attempt: 2,
                retry_in_ms: 1500,
                reason: "gone".into(),
            })),
        };
        assert_eq!(
            serde_json::to_value(&state).unwrap(),
            json!({"room_id": "r1", "event": "connection",
                   "data": {"state": "reconnecting", "attempt": 2, "retry_in_ms": 1500, "reason": "gone"}})
        );
        let unread = RoomEvent {
            room_id: "r1".into(),
            event: AppEvent::Local(LocalEvent::Unread {
                count: 1,
                mentions: 1,
                total: 4,
            }),
        };
        assert_eq!(
            serde_json::to_value(&unread).unwrap(),
            json!({"room_id": "r1", "event": "unread", "data": {"count": 1, "mentions": 1, "total": 4}})
        );
        let sent = RoomEvent {
            room_id: "r1".into(),
            event: AppEvent::Local(LocalEvent::Outbox(OutboxUpdate {
                client_id: "c1".into(),
                state: OutboxState::Sent {
                    message_id: "5-0".into(),
                    message: None,
                },
            })),
        };
        assert_eq!(
            serde_json::to_value(&sent).unwrap(),
            json!({"room_id": "r1", "event": "outbox",
                   "data": {"client_id": "c1", "state": "sent", "message_id": "5-0"}})
        );
        let ended = RoomEvent {
            room_id: "r1".into(),
            event: AppEvent::Local(LocalEvent::Ended(StreamEnded {
                reason: "banned".into(),
                error: "you are banned".into(),
                until: Some("2026-12-06T09:00:00Z".into()),
            })),
        };
        assert_eq!(
            serde_json::to_value(&ended).unwrap(),
            json!({"room_id": "r1", "event": "ended",
                   "data": {"reason": "banned", "error": "you are banned", "until": "2026-12-06T09:00:00Z"}})
        );
    }
}
