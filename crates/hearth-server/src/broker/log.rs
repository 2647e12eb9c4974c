//! The room log's write rules, for both backends: who may change a message,
//! what a change makes of it, and when a change is a repeat that appends
//! nothing ([`decide`]). Each backend reads the message's current state,
//! asks [`decide`], and stores the outcome with its log entry in one atomic
//! step (a SQLite transaction on the writer thread; a Lua script in Redis).
//!
//! How entries fold into current state, and the mention rule, are the
//! protocol's: [`hearth_proto::log`].

use hearth_proto::{Deleted, EntryKind, Message, Reaction};

use super::{BrokerError, Change, ChangeKind};

/// A stored message as a change finds it.
#[derive(Debug, Clone)]
pub struct Current {
    pub message: Message,
    /// Deleted messages stay stored (for a repeated delete, and retention)
    /// but are shown nowhere.
    pub deleted: bool,
}

/// What a change does to a message.
// Made and taken apart once per change.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Decision {
    /// Store `message` (and `deleted`) as the current state and append
    /// `entry` to the log.
    Apply {
        message: Message,
        deleted: bool,
        entry: EntryKind,
    },
    /// A repeat: nothing to store or append.
    Unchanged(Message),
}

/// Decides `change` against the message's current state (`None`: the room
/// has no such message). `edited_ts` is when an edit happens; `mentions`
/// are the mentions of an edit's new text (see [`hearth_proto::log::mentions`]).
///
/// - unknown message: [`BrokerError::NoSuchMessage`]; a deleted one too,
///   except for a repeated delete by its author;
/// - edit or delete by someone else: [`BrokerError::NotYours`];
/// - an edit to an empty text, of a message that shares no files:
///   [`BrokerError::EmptyText`] (a message of files may lose its caption);
/// - the same text again, a second delete, a reaction added twice or an
///   absent one removed: [`Decision::Unchanged`].
pub fn decide(
    current: Option<Current>,
    change: &Change,
    edited_ts: String,
    mentions: Vec<String>,
) -> Result<Decision, BrokerError> {
    let Some(Current {
        mut message,
        deleted,
    }) = current
    else {
        return Err(BrokerError::NoSuchMessage);
    };
    if message.room != change.room || message.id != change.id {
        return Err(BrokerError::NoSuchMessage);
    }
    let author_only = matches!(change.what, ChangeKind::Edit(_) | ChangeKind::Delete);
    if deleted && !matches!(change.what, ChangeKind::Delete) {
        return Err(BrokerError::NoSuchMessage);
    }
    let moderated = change.moderator && matches!(change.what, ChangeKind::Delete);
    if author_only && !moderated && message.nick != change.nick.as_str() {
        return Err(BrokerError::NotYours);
    }
    match &change.what {
        ChangeKind::Edit(text) => {
            if text.as_str().is_empty() && message.files.is_empty() {
                return Err(BrokerError::EmptyText);
            }
            if message.text == text.as_str() {
                return Ok(Decision::Unchanged(message));
            }
            message.text = text.to_string();
            message.edited_ts = Some(edited_ts);
            message.mentions = mentions;
            Ok(Decision::Apply {
                entry: EntryKind::Edit(message.clone()),
                message,
                deleted: false,
            })
        }
        ChangeKind::Delete => {
            if deleted {
                return Ok(Decision::Unchanged(message));
            }
            Ok(Decision::Apply {
                entry: EntryKind::Delete(Deleted {
                    room: message.room.clone(),
                    id: message.id,
                }),
                message,
                deleted: true,
            })
        }
        ChangeKind::React { emoji, add } => {
            if !message.react(emoji.as_str(), change.nick.as_str(), *add) {
                return Ok(Decision::Unchanged(message));
            }
            Ok(Decision::Apply {
                entry: EntryKind::Reaction(Reaction {
                    room: message.room.clone(),
                    id: message.id,
                    emoji: emoji.to_string(),
                    nick: change.nick.to_string(),
                    added: *add,
                }),
                message,
                deleted: false,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use hearth_proto::{Emoji, MessageId, MessageText, Nick, RoomName};

    use super::*;

    fn stored(deleted: bool) -> Option<Current> {
        Some(Current {
            message: Message::new(
                MessageId::new(5, 0),
                RoomName::default_room(),
                "ana".into(),
                "hi".into(),
                None,
            ),
            deleted,
        })
    }

    fn change(nick: &str, what: ChangeKind) -> Change {
        Change {
            room: RoomName::default_room(),
            id: MessageId::new(5, 0),
            nick: Nick::parse(nick).unwrap(),
            what,
            moderator: false,
        }
    }

    #[test]
    fn a_moderator_deletes_but_never_edits_anothers_message() {
        let moderated = |what| Change {
            moderator: true,
            ..change("boss", what)
        };
        assert!(matches!(
            run(stored(false), moderated(ChangeKind::Delete)),
            Ok(Decision::Apply { deleted: true, .. })
        ));
        let edit = ChangeKind::Edit(MessageText::parse("gotcha").unwrap());
        assert!(matches!(
            run(stored(false), moderated(edit)),
            Err(BrokerError::NotYours)
        ));
    }

    fn run(current: Option<Current>, change: Change) -> Result<Decision, BrokerError> {
        decide(current, &change, "ts".into(), Vec::new())
    }

    #[test]
    fn only_the_author_edits_or_deletes() {
        let edit = ChangeKind::Edit(MessageText::parse("hello").unwrap());
        assert!(matches!(
            run(stored(false), change("bo", edit.clone())),
            Err(BrokerError::NotYours)
        ));
        assert!(matches!(
            run(stored(false), change("bo", ChangeKind::Delete)),
            Err(BrokerError::NotYours)
        ));
        let Ok(Decision::Apply { message, entry, .. }) = run(stored(false), change("ana", edit))
        else {
            panic!("the author edits")
        };
        assert_eq!(message.text, "hello");
        assert_eq!(message.edited_ts.as_deref(), Some("ts"));
        assert_eq!(entry, EntryKind::Edit(message));
        let react = ChangeKind::React {
            emoji: Emoji::parse("👍").unwrap(),
            add: true,
        };
        assert!(matches!(
            run(stored(false), change("bo", react)),
            Ok(Decision::Apply { .. })
        ));
    }

    #[test]
    fn repeats_change_nothing() {
        let same = ChangeKind::Edit(MessageText::parse("hi").unwrap());
        assert!(matches!(
            run(stored(false), change("ana", same)),
            Ok(Decision::Unchanged(_))
        ));
        assert!(matches!(
            run(stored(true), change("ana", ChangeKind::Delete)),
            Ok(Decision::Unchanged(_))
        ));
        let unreact = ChangeKind::React {
            emoji: Emoji::parse("👍").unwrap(),
            add: false,
        };
        assert!(matches!(
            run(stored(false), change("bo", unreact)),
            Ok(Decision::Unchanged(_))
        ));
    }

    #[test]
    fn unknown_and_deleted_messages_are_not_found() {
        assert!(matches!(
            run(None, change("ana", ChangeKind::Delete)),
            Err(BrokerError::NoSuchMessage)
        ));
        let edit = ChangeKind::Edit(MessageText::parse("x").unwrap());
        assert!(matches!(
            run(stored(true), change("ana", edit)),
            Err(BrokerError::NoSuchMessage)
        ));
        let mut other_room = change("ana", ChangeKind::Delete);
        other_room.room = RoomName::parse("dev").unwrap();
        assert!(matches!(
            run(stored(false), other_room),
            Err(BrokerError::NoSuchMessage)
        ));
    }
}
