//! [`SharedEvent`]: one fan-out event with its SSE frame encoded once.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Local, Utc};
use hearth_proto::{Message, MessageId, PresenceChange, RoomName, StreamEvent, sse};

/// What a shared event is.
#[derive(Debug, Clone)]
pub enum SharedKind {
    Message {
        id: MessageId,
        /// The whole frame with its `id: <message id>` line, for single-room
        /// streams (whose ids are the message ids).
        framed: Bytes,
        /// `data: [HH:MM:SS] nick: text\n\n`, for the original `/stream`
        /// (default room only).
        legacy: Option<Bytes>,
    },
    Join {
        nick: Arc<str>,
    },
    Leave {
        nick: Arc<str>,
    },
}

/// An event for every subscriber of a room, encoded once.
#[derive(Debug, Clone)]
pub struct SharedEvent {
    pub room: RoomName,
    pub kind: SharedKind,
    /// `event: ...\ndata: ...\n\n`: the frame without its `id:` line.
    pub body: Bytes,
}

impl SharedEvent {
    /// Encodes a stored message. `legacy` adds the original chat room's
    /// one-line form.
    pub fn message(message: &Message, legacy: bool) -> Self {
        let event = StreamEvent::Message(message.clone());
        let mut body = String::with_capacity(message.text.len() + 160);
        sse::encode_body(&mut body, Some(event.name()), &event.data_json());
        let mut framed = String::with_capacity(body.len() + 32);
        sse::encode_id(&mut framed, &message.id.to_string());
        framed.push_str(&body);
        SharedEvent {
            room: message.room.clone(),
            kind: SharedKind::Message {
                id: message.id,
                framed: Bytes::from(framed),
                legacy: legacy.then(|| Bytes::from(legacy_frame(message))),
            },
            body: Bytes::from(body),
        }
    }

    /// A `join` (or `leave`) of `nick` in `room`.
    pub fn presence_change(room: &RoomName, nick: &str, join: bool) -> Self {
        let change = PresenceChange {
            room: room.clone(),
            nick: nick.to_owned(),
        };
        let (event, kind) = if join {
            (
                StreamEvent::Join(change),
                SharedKind::Join { nick: nick.into() },
            )
        } else {
            (
                StreamEvent::Leave(change),
                SharedKind::Leave { nick: nick.into() },
            )
        };
        let mut body = String::with_capacity(96);
        sse::encode_body(&mut body, Some(event.name()), &event.data_json());
        SharedEvent {
            room: room.clone(),
            kind,
            body: Bytes::from(body),
        }
    }

    /// The message id, for message events.
    pub fn message_id(&self) -> Option<MessageId> {
        match self.kind {
            SharedKind::Message { id, .. } => Some(id),
            _ => None,
        }
    }
}

/// `data: [HH:MM:SS] nick: text\n\n`, in the server's local time, with the
/// text's newlines written as spaces so a message is one `data:` line.
fn legacy_frame(message: &Message) -> String {
    let time = DateTime::parse_from_rfc3339(&message.ts)
        .map(|t| t.with_timezone(&Local).format("%H:%M:%S").to_string())
        .unwrap_or_else(|_| {
            Utc::now()
                .with_timezone(&Local)
                .format("%H:%M:%S")
                .to_string()
        });
    let line = format!("[{time}] {}: {}", message.nick, message.text);
    let one_line: String = line
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    sse::encode_event(None, None, &one_line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_frames_are_one_data_line() {
        let message = Message {
            id: MessageId::new(1, 0),
            room: RoomName::default_room(),
            nick: "ana".into(),
            text: "two\nlines".into(),
            ts: "2026-11-24T06:00:00.000Z".into(),
            client_id: None,
        };
        let frame = legacy_frame(&message);
        assert!(frame.starts_with("data: ["), "{frame}");
        assert!(frame.ends_with("] ana: two lines\n\n"), "{frame}");
        assert_eq!(frame.matches('\n').count(), 2);
    }
}
