//! The room log (protocol v1.1): a room is an ordered log of entries, each
//! with an id from the same sequence as message ids.
//!
//! - [`LogEntry`] / [`EntryKind`]: one entry (a message, an edit, a delete,
//!   a reaction) and its log id;
//! - [`fold`] and [`apply`]: how entries, applied in log order, give the
//!   messages' current state (what history and a fresh replay show);
//! - [`Message::react`]: one reaction added or removed;
//! - [`mentions`]: which nicks a text mentions.
//!
//! Every backend of the server and every client that keeps state uses these,
//! so the rules exist once.

use std::collections::BTreeMap;

use crate::wire::{Deleted, Message, Reaction, StreamEvent};
use crate::{MessageId, REPLY_QUOTE_CHARS, ReplyTo, RoomName};

/// What a log entry records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A new message.
    Message(Message),
    /// The whole message after its author changed the text.
    Edit(Message),
    /// A message was deleted.
    Delete(Deleted),
    /// A reaction was added or removed.
    Reaction(Reaction),
}

/// One entry of a room's log: its log id and what it records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The entry's id (for a message: the message's id).
    pub id: MessageId,
    pub kind: EntryKind,
}

impl EntryKind {
    /// The SSE event name of the entry.
    pub fn name(&self) -> &'static str {
        match self {
            EntryKind::Message(_) => "message",
            EntryKind::Edit(_) => "edit",
            EntryKind::Delete(_) => "delete",
            EntryKind::Reaction(_) => "reaction",
        }
    }

    /// The room of the entry.
    pub fn room(&self) -> &RoomName {
        match self {
            EntryKind::Message(m) | EntryKind::Edit(m) => &m.room,
            EntryKind::Delete(d) => &d.room,
            EntryKind::Reaction(r) => &r.room,
        }
    }

    /// The id of the message the entry is about.
    pub fn message_id(&self) -> MessageId {
        match self {
            EntryKind::Message(m) | EntryKind::Edit(m) => m.id,
            EntryKind::Delete(d) => d.id,
            EntryKind::Reaction(r) => r.id,
        }
    }

    /// The entry as a stream event.
    pub fn to_event(&self) -> StreamEvent {
        match self {
            EntryKind::Message(m) => StreamEvent::Message(m.clone()),
            EntryKind::Edit(m) => StreamEvent::Edit(m.clone()),
            EntryKind::Delete(d) => StreamEvent::Delete(d.clone()),
            EntryKind::Reaction(r) => StreamEvent::Reaction(r.clone()),
        }
    }

    /// The entry a stream event records; `None` for events that are not
    /// log entries.
    pub fn from_event(event: StreamEvent) -> Option<Self> {
        Some(match event {
            StreamEvent::Message(m) => EntryKind::Message(m),
            StreamEvent::Edit(m) => EntryKind::Edit(m),
            StreamEvent::Delete(d) => EntryKind::Delete(d),
            StreamEvent::Reaction(r) => EntryKind::Reaction(r),
            _ => return None,
        })
    }

    /// Reads an entry from its event name and data (as stored or sent).
    pub fn parse(name: &str, data: &str) -> Option<Self> {
        StreamEvent::from_sse(name, data)
            .ok()
            .flatten()
            .and_then(Self::from_event)
    }

    /// The event's data as one line of JSON.
    pub fn data_json(&self) -> String {
        self.to_event().data_json()
    }
}

impl Message {
    /// Adds (`add`) or removes `nick`'s reaction `emoji`; false when that
    /// changes nothing (added twice, or removing an absent one).
    pub fn react(&mut self, emoji: &str, nick: &str, add: bool) -> bool {
        if add {
            let nicks = self.reactions.entry(emoji.to_owned()).or_default();
            if nicks.iter().any(|n| n == nick) {
                return false;
            }
            nicks.push(nick.to_owned());
            true
        } else {
            let Some(nicks) = self.reactions.get_mut(emoji) else {
                return false;
            };
            let before = nicks.len();
            nicks.retain(|n| n != nick);
            let changed = nicks.len() != before;
            if nicks.is_empty() {
                self.reactions.remove(emoji);
            }
            changed
        }
    }

    /// What a reply to this message records of it.
    pub fn quote(&self) -> ReplyTo {
        ReplyTo {
            id: self.id,
            nick: self.nick.clone(),
            text: self.text.chars().take(REPLY_QUOTE_CHARS).collect(),
        }
    }
}

/// Applies one entry to `messages` (current states by id): a message is
/// added, an edit replaces it, a delete removes it, a reaction changes its
/// reactions. Entries about a message `messages` does not hold are ignored.
pub fn apply(messages: &mut BTreeMap<MessageId, Message>, entry: &EntryKind) {
    match entry {
        EntryKind::Message(m) => {
            messages.insert(m.id, m.clone());
        }
        EntryKind::Edit(m) => {
            if let Some(current) = messages.get_mut(&m.id) {
                *current = m.clone();
            }
        }
        EntryKind::Delete(d) => {
            messages.remove(&d.id);
        }
        EntryKind::Reaction(r) => {
            if let Some(current) = messages.get_mut(&r.id) {
                current.react(&r.emoji, &r.nick, r.added);
            }
        }
    }
}

/// The current state of the messages whose `message` entries are among
/// `entries` (in log order), oldest first, deleted ones left out.
pub fn fold<'a>(entries: impl IntoIterator<Item = &'a EntryKind>) -> Vec<Message> {
    let mut messages = BTreeMap::new();
    for entry in entries {
        apply(&mut messages, entry);
    }
    messages.into_values().collect()
}

/// What `@here` in a text adds to its mentions.
pub const HERE: &str = "@here";

/// The mentions of `text`: each nick of `known` for which the text holds
/// `@nick` (ignoring case) followed by its end or by a character that is not
/// a letter, a digit, `_` or `-`; then `"@here"` when it holds `@here` so.
/// Sorted, each once.
pub fn mentions<'a>(text: &str, known: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    mentions_folded(text, known, str::to_lowercase)
}

/// [`mentions`], comparing the text and each nick after `fold` (the server
/// passes the nicks' key, so a look-alike of a nick mentions it: `@аna`
/// with a Cyrillic `а` mentions `ana`). `fold` must map `@` to itself.
pub fn mentions_folded<'a>(
    text: &str,
    known: impl IntoIterator<Item = &'a str>,
    fold: impl Fn(&str) -> String,
) -> Vec<String> {
    if !text.contains('@') {
        return Vec::new();
    }
    let lower = text.to_lowercase();
    let folded = fold(text);
    let mut found: Vec<String> = known
        .into_iter()
        .filter(|nick| mentioned(&folded, &fold(nick)))
        .map(str::to_owned)
        .collect();
    found.sort();
    found.dedup();
    if mentioned(&lower, "here") {
        found.push(HERE.to_owned());
    }
    found
}

/// Whether `lower_text` holds `@` + `lower_nick` at a word end.
fn mentioned(lower_text: &str, lower_nick: &str) -> bool {
    if lower_nick.is_empty() {
        return false;
    }
    let needle = format!("@{lower_nick}");
    lower_text.match_indices(&needle).any(|(at, _)| {
        lower_text[at + needle.len()..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '-'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(seq: u64, text: &str) -> Message {
        Message::new(
            MessageId::new(1, seq),
            RoomName::default_room(),
            "ana".into(),
            text.into(),
            None,
        )
    }

    #[test]
    fn the_mention_rule() {
        let known = ["ana", "bo", "Bo-x", "li li"];
        let m = |text: &str| mentions(text, known);
        assert_eq!(m("hi @ana"), vec!["ana"]);
        assert_eq!(m("@ANA, look"), vec!["ana"]);
        assert_eq!(m("@anabel"), Vec::<String>::new());
        assert_eq!(m("@ana_"), Vec::<String>::new());
        assert_eq!(m("@ana-"), Vec::<String>::new());
        assert_eq!(m("@ana9"), Vec::<String>::new());
        assert_eq!(m("@ana.@bo!"), vec!["ana", "bo"]);
        assert_eq!(m("@bo-x"), vec!["Bo-x"]);
        assert_eq!(m("@li li hi"), vec!["li li"]);
        assert_eq!(m("ana@bo"), vec!["bo"]);
        assert_eq!(m("@here"), vec![HERE]);
        assert_eq!(m("@HERE and @bo"), vec!["bo", HERE]);
        assert_eq!(m("@herewith"), Vec::<String>::new());
        assert_eq!(m("no at sign ana"), Vec::<String>::new());
        assert_eq!(m("@anabel @ana"), vec!["ana"]);
        assert_eq!(mentions("@é", ["É"]), vec!["É"]);
    }

    #[test]
    fn reactions_are_sets_in_order() {
        let mut m = message(1, "hi");
        assert!(m.react("👍", "bo", true));
        assert!(!m.react("👍", "bo", true));
        assert!(m.react("👍", "ana", true));
        assert_eq!(m.reactions["👍"], vec!["bo", "ana"]);
        assert!(m.react("👍", "bo", false));
        assert!(!m.react("👍", "bo", false));
        assert!(!m.react("🎉", "bo", false));
        assert!(m.react("👍", "ana", false));
        assert!(m.reactions.is_empty());
    }

    #[test]
    fn folding_gives_the_current_state() {
        let room = RoomName::default_room();
        let first = message(1, "one");
        let second = message(2, "two");
        let mut edited = first.clone();
        edited.text = "one, edited".into();
        edited.edited_ts = Some("x".into());
        let entries = [
            EntryKind::Message(first.clone()),
            EntryKind::Message(second.clone()),
            EntryKind::Reaction(Reaction {
                room: room.clone(),
                id: first.id,
                emoji: "👍".into(),
                nick: "bo".into(),
                added: true,
            }),
            EntryKind::Edit({
                let mut e = edited.clone();
                e.react("👍", "bo", true);
                e
            }),
            EntryKind::Delete(Deleted {
                room: room.clone(),
                id: second.id,
            }),
            // About a message the entries do not hold: ignored.
            EntryKind::Delete(Deleted {
                room,
                id: MessageId::new(0, 9),
            }),
        ];
        let state = fold(&entries);
        assert_eq!(state.len(), 1);
        assert_eq!(state[0].text, "one, edited");
        assert_eq!(state[0].reactions["👍"], vec!["bo"]);
        for entry in &entries {
            assert_eq!(
                EntryKind::parse(entry.name(), &entry.data_json()).as_ref(),
                Some(entry)
            );
        }
    }

    #[test]
    fn v1_clients_see_the_v1_shape() {
        let json = serde_json::to_value(message(1, "hi")).unwrap();
        let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(|k| &**k).collect();
        keys.sort();
        assert_eq!(keys, ["client_id", "id", "nick", "room", "text", "ts"]);
        let mut long = message(2, &"é".repeat(300));
        long.react("👍", "bo", true);
        let quote = long.quote();
        assert_eq!(quote.text.chars().count(), REPLY_QUOTE_CHARS);
        let json = serde_json::to_value(&long).unwrap();
        assert_eq!(json["reactions"], serde_json::json!({"👍": ["bo"]}));
    }
}
