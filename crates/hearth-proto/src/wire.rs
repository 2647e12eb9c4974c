//! Request and response bodies, and the events of a room stream.
//!
//! Field names are the protocol's (snake_case). Request bodies keep raw
//! strings so that the server can answer a rule violation with the rule's own
//! message (see [`crate::validate`]); everything the server sends is typed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{MessageId, RoomName};

/// `POST /api/session` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRequest {
    pub nick: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// The nick's own password (8 to 128 characters): protects a nick
    /// nobody protects, and is required for one that is protected. v1.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick_password: Option<String>,
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
    /// Whether the nick is protected (a session for it needs its nick
    /// password). v1.1; absent from older servers.
    #[serde(default)]
    pub protected: bool,
    /// Whether this session may moderate: an admin nick of the server,
    /// signed in with its nick password. v1.1; absent from older servers.
    #[serde(default)]
    pub admin: bool,
}

/// `POST /api/rooms/{room}/messages` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PostRequest {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The id of the message (of the same room) this one answers. v1.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// Ids of the session's uploads this message shares (1 to 10; `text`
    /// may then be empty). v1.1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}

/// `PATCH /api/rooms/{room}/messages/{id}` body. v1.1.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EditRequest {
    pub text: String,
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
    /// The message this one answers, as it was when the reply was posted.
    /// v1.1; absent otherwise, so v1 clients see the v1 shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<ReplyTo>,
    /// When the author last changed the text (RFC 3339). v1.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_ts: Option<String>,
    /// Emoji → the nicks that reacted with it, in the order they did. v1.1.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reactions: BTreeMap<String, Vec<String>>,
    /// The nicks the text mentions, and `"@here"` (see
    /// [`crate::log::mentions`]). v1.1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<String>,
    /// The uploads the message shares. v1.1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileInfo>,
}

/// An upload, as `POST /api/files` answers it and messages carry it. v1.1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    pub id: String,
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// The type decided from the bytes: `image/png`, `image/jpeg`,
    /// `image/gif`, `image/webp`, or another well-known type, else
    /// `application/octet-stream`.
    #[serde(rename = "type")]
    pub content_type: String,
    /// Where the bytes are (relative to the server).
    pub url: String,
    /// Pixels, for a PNG, JPEG, GIF or WebP image that is not a
    /// decompression bomb.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// A thumbnail at most [`crate::THUMB_MAX_SIDE`] px on its longer side,
    /// when `width` and `height` are present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb_url: Option<String>,
}

impl FileInfo {
    /// The path of an upload's bytes.
    pub fn url_for(id: &str) -> String {
        format!("/api/files/{id}")
    }

    /// The path of an image upload's thumbnail.
    pub fn thumb_url_for(id: &str) -> String {
        format!("/api/files/{id}/thumb")
    }

    /// Whether the upload is an image shown inline (it has a thumbnail).
    pub fn is_image(&self) -> bool {
        self.thumb_url.is_some()
    }
}

impl Message {
    /// A new message with none of the v1.1 extras.
    pub fn new(
        id: MessageId,
        room: RoomName,
        nick: String,
        text: String,
        client_id: Option<String>,
    ) -> Self {
        Message {
            id,
            room,
            nick,
            text,
            ts: id.ts(),
            client_id,
            reply_to: None,
            edited_ts: None,
            reactions: BTreeMap::new(),
            mentions: Vec::new(),
            files: Vec::new(),
        }
    }
}

/// `reply_to` of a message: the message it answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyTo {
    pub id: MessageId,
    pub nick: String,
    /// The first [`crate::REPLY_QUOTE_CHARS`] characters of its text.
    pub text: String,
}

/// `event: delete`: a message was deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted {
    pub room: RoomName,
    /// The deleted message's id.
    pub id: MessageId,
}

/// `event: reaction`: a nick added or removed a reaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    pub room: RoomName,
    /// The message's id.
    pub id: MessageId,
    pub emoji: String,
    pub nick: String,
    pub added: bool,
}

/// `event: typing`: a nick is typing in a room (never stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Typing {
    pub room: RoomName,
    pub nick: String,
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
    /// The protocol version the server speaks (`"1.1"`); absent from v1
    /// servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The v1.1 parts the server has (`"log"`, `"files"`, …).
    #[serde(default)]
    pub features: Vec<String>,
    /// The largest upload accepted, in bytes (with the `files` feature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_file_bytes: Option<u64>,
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
    /// For a direct-message room: the other person's nick. v1.1 "dm".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dm: Option<String>,
}

/// `POST /api/dm` body: whom to talk to. v1.1 "dm".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmRequest {
    pub nick: String,
}

/// `POST /api/dm` answer: the pair's room (the same whoever asks) and the
/// other person's nick as they protected it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmResponse {
    pub room: RoomName,
    pub nick: String,
}

/// `POST /api/bans` body (admins only): ban `nick` for `minutes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanRequest {
    pub nick: String,
    pub minutes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A ban in force: the `POST /api/bans` answer and the items of
/// `GET /api/bans`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ban {
    pub nick: String,
    /// When it ends (RFC 3339).
    pub until: String,
    /// The admin who banned.
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The data of the `ended` event: the last event of a stream whose session
/// no longer counts (`reason`: `banned`, `signed_out` or `superseded`).
/// A client should not reconnect with the same session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamEnded {
    pub reason: String,
    pub error: String,
    /// For a ban: when it ends (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
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
    /// A log entry: the message after its author changed the text.
    Edit(Message),
    /// A log entry: a message was deleted.
    Delete(Deleted),
    /// A log entry: a reaction was added or removed.
    Reaction(Reaction),
    /// Someone is typing (no id, never stored).
    Typing(Typing),
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
            StreamEvent::Edit(_) => "edit",
            StreamEvent::Delete(_) => "delete",
            StreamEvent::Reaction(_) => "reaction",
            StreamEvent::Typing(_) => "typing",
        }
    }

    /// The room the event belongs to.
    pub fn room(&self) -> &RoomName {
        match self {
            StreamEvent::Message(m) | StreamEvent::Edit(m) => &m.room,
            StreamEvent::Ready(r) => &r.room,
            StreamEvent::Presence(p) => &p.room,
            StreamEvent::Join(c) | StreamEvent::Leave(c) => &c.room,
            StreamEvent::Delete(d) => &d.room,
            StreamEvent::Reaction(r) => &r.room,
            StreamEvent::Typing(t) => &t.room,
        }
    }

    /// The event's data as one line of JSON (what follows `data: `).
    pub fn data_json(&self) -> String {
        let result = match self {
            StreamEvent::Message(m) | StreamEvent::Edit(m) => serde_json::to_string(m),
            StreamEvent::Ready(r) => serde_json::to_string(r),
            StreamEvent::Presence(p) => serde_json::to_string(p),
            StreamEvent::Join(c) | StreamEvent::Leave(c) => serde_json::to_string(c),
            StreamEvent::Delete(d) => serde_json::to_string(d),
            StreamEvent::Reaction(r) => serde_json::to_string(r),
            StreamEvent::Typing(t) => serde_json::to_string(t),
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
            "edit" => StreamEvent::Edit(serde_json::from_str(data)?),
            "delete" => StreamEvent::Delete(serde_json::from_str(data)?),
            "reaction" => StreamEvent::Reaction(serde_json::from_str(data)?),
            "typing" => StreamEvent::Typing(serde_json::from_str(data)?),
            _ => return Ok(None),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Message {
        Message::new(
            MessageId::new(1764568800000, 3),
            RoomName::default_room(),
            "ana".into(),
            "line one\nline two".into(),
            Some("c1".into()),
        )
    }

    #[test]
    fn message_json_matches_the_protocol() {
        let json: serde_json::Value = serde_json::to_value(sample()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id": "1764568800000-3", "room": "general", "nick": "ana",
                "text": "line one\nline two", "ts": "2025-12-01T06:00:00.000Z", "client_id": "c1"})
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
        assert_eq!(StreamEvent::from_sse("someday", "{}").unwrap(), None);
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
