//! Request and response bodies, and the events of a room stream.
//!
//! Field names are the protocol's (snake_case). Request bodies keep raw
//! strings so that the server can answer a rule violation with the rule's own
//! message (see [`crate::validate`]); everything the server sends is typed.

use serde::{Deserialize, Serialize};

use crate::{MessageId, RoomName};

/// `POST /api/session` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRequest {
    pub nick: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// `POST /api/session` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionResponse {
    /// Opaque to clients; sent back as `Authorization: Bearer <token>`.
    pub token: String,
    /// The nick as stored (trimmed).
    pub nick: String,
    /// When the token stops being accepted (RFC 3339). An extension of v1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// `POST /api/rooms/{room}/messages` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PostRequest {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// A stored message, as every endpoint and stream returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub room: RoomName,
    pub nick: String,
    pub text: String,
    /// RFC 3339, UTC, millisecond precision.
    pub ts: String,
    /// The poster's idempotency key, so its own client can match its outbox.
    #[serde(default)]
    pub client_id: Option<String>,
}

/// Whether the server wants a password for a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    None,
    Password,
}

/// `GET /api/info` answer: what a client probes a URL with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    pub name: String,
    pub version: String,
    pub auth: AuthMode,
    pub rooms: Vec<RoomName>,
    pub default_room: RoomName,
    /// Extension: the text limit, for a composer's counter.
    #[serde(default = "default_max_text_chars")]
    pub max_text_chars: usize,
}

fn default_max_text_chars() -> usize {
    crate::MAX_TEXT_CHARS
}

/// One row of `GET /api/rooms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSummary {
    pub room: RoomName,
    /// Distinct nicks with at least one open stream on the room.
    pub online: usize,
    pub last_id: Option<MessageId>,
}

/// The body of every error answer: `{"error": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

/// `event: ready`: the end of the replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ready {
    pub room: RoomName,
    /// True when the requested id was found and nothing after it is missing.
    pub resumed: bool,
    /// The newest message id the client now has, or `None`.
    pub last_id: Option<MessageId>,
}

/// `event: presence`: who is online in a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    pub room: RoomName,
    pub online: Vec<String>,
}

/// `event: join` / `event: leave`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceChange {
    pub room: RoomName,
    pub nick: String,
}

/// One event of a room stream, as a client sees it. Serialized as
/// `{"event": "message", "data": {...}}` for the desktop app's IPC channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum StreamEvent {
    Message(Message),
    Ready(Ready),
    Presence(Presence),
    Join(PresenceChange),
    Leave(PresenceChange),
}

impl StreamEvent {
    /// The SSE event name of this event.
    pub fn name(&self) -> &'static str {
        match self {
            StreamEvent::Message(_) => "message",
            StreamEvent::Ready(_) => "ready",
            StreamEvent::Presence(_) => "presence",
            StreamEvent::Join(_) => "join",
            StreamEvent::Leave(_) => "leave",
        }
    }

    /// The event's data as one line of JSON (what follows `data: `).
    pub fn data_json(&self) -> String {
        let result = match self {
            StreamEvent::Message(m) => serde_json::to_string(m),
            StreamEvent::Ready(r) => serde_json::to_string(r),
            StreamEvent::Presence(p) => serde_json::to_string(p),
            StreamEvent::Join(c) | StreamEvent::Leave(c) => serde_json::to_string(c),
        };
        result.expect("wire types always serialize")
    }

    /// Reads an event from its SSE name and data. `Ok(None)` for an event
    /// name this version does not know (servers may add events).
    pub fn from_sse(event: &str, data: &str) -> Result<Option<Self>, serde_json::Error> {
        Ok(Some(match event {
            "message" | "" => StreamEvent::Message(serde_json::from_str(data)?),
            "ready" => StreamEvent::Ready(serde_json::from_str(data)?),
            "presence" => StreamEvent::Presence(serde_json::from_str(data)?),
            "join" => StreamEvent::Join(serde_json::from_str(data)?),
            "leave" => StreamEvent::Leave(serde_json::from_str(data)?),
            _ => return Ok(None),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Message {
        Message {
            id: MessageId::new(1732500000000, 3),
            room: RoomName::default_room(),
            nick: "ana".into(),
            text: "line one\nline two".into(),
            ts: "2026-11-24T06:00:00.000Z".into(),
            client_id: Some("c1".into()),
        }
    }

    #[test]
    fn message_json_matches_the_protocol() {
        let json: serde_json::Value = serde_json::to_value(sample()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id": "1732500000000-3", "room": "general", "nick": "ana",
                "text": "line one\nline two", "ts": "2026-11-24T06:00:00.000Z", "client_id": "c1"})
        );
    }

    #[test]
    fn events_round_trip_through_their_sse_form() {
        let event = StreamEvent::Message(sample());
        let data = event.data_json();
        assert!(!data.contains('\n'));
        assert_eq!(
            StreamEvent::from_sse(event.name(), &data).unwrap(),
            Some(event)
        );
        assert_eq!(StreamEvent::from_sse("typing", "{}").unwrap(), None);
    }

    #[test]
    fn ipc_form_is_tagged() {
        let event = StreamEvent::Join(PresenceChange {
            room: RoomName::default_room(),
            nick: "bo".into(),
        });
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            serde_json::json!({"event": "join", "data": {"room": "general", "nick": "bo"}})
        );
    }
}
