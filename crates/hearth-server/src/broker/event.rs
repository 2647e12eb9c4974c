//! [`SharedEvent`]: one fan-out event with its SSE frame encoded once.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Local, Utc};
use hearth_proto::{
    EntryKind, LogEntry, Message, MessageId, PresenceChange, RoomName, StreamEvent, Typing, sse,
};

/// What a shared event is.
// Always behind the `Arc` of its `SharedEvent`, and mostly entries: boxing
// the entry would add an allocation per event for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum SharedKind {
    /// A log entry (a message, or a change to one), or a message in its
    /// current state on a fresh replay.
    Entry {
        /// The log id (a message's id for a message).
        id: MessageId,
        entry: EntryKind,
        /// The whole frame with its `id: <log id>` line, for single-room
        /// streams (whose ids are the log ids).
        framed: Bytes,
        /// `data: [HH:MM:SS] nick: text\n\n`, for the original `/stream`
        /// (new messages of the default room only).
        legacy: Option<Bytes>,
    },
    Join {
        nick: Arc<str>,
    },
    Leave {
        nick: Arc<str>,
    },
    /// Someone is typing: never stored, not sent to that nick's streams.
    Typing {
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
    /// Encodes a stored message (as a `message` event whose id is the
    /// message's). `legacy` adds the original chat room's one-line form.
    pub fn message(message: &Message, legacy: bool) -> Self {
        Self::entry(
            LogEntry {
                id: message.id,
                kind: EntryKind::Message(message.clone()),
            },
            legacy,
        )
    }

    /// Encodes a log entry. `legacy` adds the original chat room's one-line
    /// form to a message entry.
    pub fn entry(entry: LogEntry, legacy: bool) -> Self {
        let data = entry.kind.data_json();
        let mut body = String::with_capacity(data.len() + 32);
        sse::encode_body(&mut body, Some(entry.kind.name()), &data);
        let mut framed = String::with_capacity(body.len() + 32);
        sse::encode_id(&mut framed, &entry.id.to_string());
        framed.push_str(&body);
        let legacy = match &entry.kind {
            EntryKind::Message(m) if legacy => Some(Bytes::from(legacy_frame(m))),
            _ => None,
        };
        SharedEvent {
            room: entry.kind.room().clone(),
            kind: SharedKind::Entry {
                id: entry.id,
                entry: entry.kind,
                framed: Bytes::from(framed),
                legacy,
            },
            body: Bytes::from(body),
        }
    }

    /// `nick` is typing in `room`.
    pub fn typing(room: &RoomName, nick: &str) -> Self {
        let event = StreamEvent::Typing(Typing {
            room: room.clone(),
            nick: nick.to_owned(),
        });
        let mut body = String::with_capacity(96);
        sse::encode_body(&mut body, Some(event.name()), &event.data_json());
        SharedEvent {
            room: room.clone(),
            kind: SharedKind::Typing { nick: nick.into() },
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

    /// The log id, for log entries.
    pub fn log_id(&self) -> Option<MessageId> {
        match self.kind {
            SharedKind::Entry { id, .. } => Some(id),
            _ => None,
        }
    }

    /// The log entry, for log entries.
    pub fn log_entry(&self) -> Option<&EntryKind> {
        match &self.kind {
            SharedKind::Entry { entry, .. } => Some(entry),
            _ => None,
        }
    }

    /// Whether the original `/stream` form was made (a default-room message).
    pub fn has_legacy(&self) -> bool {
        matches!(
            &self.kind,
            SharedKind::Entry {
                legacy: Some(_),
                ..
            }
        )
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
    // A message that shares files shows their names after its text:
    // `ana: look [file: photo.png] [file: notes.txt]`.
    let files = message.files.iter().map(|f| format!("[file: {}]", f.name));
    let body = std::iter::once(message.text.clone())
        .filter(|t| !t.is_empty())
        .chain(files)
        .collect::<Vec<_>>()
        .join(" ");
    let line = format!("[{time}] {}: {body}", message.nick);
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
        let message = Message::new(
            MessageId::new(1, 0),
            RoomName::default_room(),
            "ana".into(),
            "two\nlines".into(),
            None,
        );
        let frame = legacy_frame(&message);
        assert!(frame.starts_with("data: ["), "{frame}");
        assert!(frame.ends_with("] ana: two lines\n\n"), "{frame}");
        assert_eq!(frame.matches('\n').count(), 2);
    }

    #[test]
    fn legacy_frames_name_a_messages_files() {
        let file = |name: &str| hearth_proto::FileInfo {
            id: "ab".repeat(16),
            name: name.into(),
            size: 3,
            content_type: "text/plain".into(),
            url: String::new(),
            width: None,
            height: None,
            thumb_url: None,
        };
        let mut message = Message::new(
            MessageId::new(1, 0),
            RoomName::default_room(),
            "ana".into(),
            "look".into(),
            None,
        );
        message.files = vec![file("photo.png"), file("notes.txt")];
        let frame = legacy_frame(&message);
        assert!(
            frame.ends_with("] ana: look [file: photo.png] [file: notes.txt]\n\n"),
            "{frame}"
        );
        message.text = String::new();
        let frame = legacy_frame(&message);
        assert!(
            frame.ends_with("] ana: [file: photo.png] [file: notes.txt]\n\n"),
            "{frame}"
        );
    }
}
