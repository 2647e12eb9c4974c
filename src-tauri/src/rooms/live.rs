//! What the hub remembers of one saved room: its connection state, unread
//! count and who is online, and what a chat view that starts following it
//! needs to catch up: the newest messages (at most [`PAGE_SIZE`]) and the
//! last `ready` its stream sent.
//!
//! Messages are kept as the stream brings them (each once: ids grow within
//! a room), with older ones read back from the history put in front after
//! an app restart. The room log's changes (`edit`, `delete`, `reaction`)
//! are applied to the kept messages with `hearth_proto::log::apply`, so a
//! catch-up shows their current state, as a fresh replay does (a deleted
//! message is dropped; a change to a message no longer kept is ignored).
//! A `ready` that says messages were missed leaves only what the stream
//! replayed since it (re)opened: the rest is not contiguous with it any
//! more.

use std::collections::BTreeMap;

use hearth_proto::{EntryKind, Message, MessageId, Presence, Ready, StreamEnded, StreamEvent};

use super::hub::PAGE_SIZE;
use crate::events::{AppEvent, ConnectionState, LocalEvent};

/// One room, as the hub knows it.
#[derive(Debug, Clone)]
pub(super) struct RoomLive {
    pub state: ConnectionState,
    pub unread: u32,
    /// Of the unread messages, those that mention the person.
    pub mentions: u32,
    pub presence: Option<Presence>,
    /// The newest messages in their current state, by id (so oldest
    /// first), at most [`PAGE_SIZE`].
    pub recent: BTreeMap<MessageId, Message>,
    /// The last `ready` of the room's stream (`resumed` as the follow task
    /// decided: see `connection.rs`); `None` until the first one.
    pub ready: Option<Ready>,
    /// Messages added since the stream last (re)opened.
    pub since_open: usize,
    /// A direct-message room: every message of the other person counts
    /// as a mention.
    pub dm: bool,
    /// The server ended the session of the room's connection (until it
    /// connects again): a view opened meanwhile hears it in its catch-up.
    pub ended: Option<StreamEnded>,
}

impl Default for RoomLive {
    fn default() -> Self {
        Self {
            state: ConnectionState::Connecting,
            unread: 0,
            mentions: 0,
            presence: None,
            recent: BTreeMap::new(),
            ready: None,
            since_open: 0,
            dm: false,
            ended: None,
        }
    }
}

impl RoomLive {
    /// Takes in an event of the room's stream (unread counting is the
    /// hub's).
    pub fn apply(&mut self, event: &StreamEvent) {
        match event {
            StreamEvent::Presence(p) => self.presence = Some(p.clone()),
            StreamEvent::Join(change) => {
                let presence = self.presence.get_or_insert_with(|| Presence {
                    room: change.room.clone(),
                    online: Vec::new(),
                });
                if let Err(at) = presence.online.binary_search(&change.nick) {
                    presence.online.insert(at, change.nick.clone());
                }
            }
            StreamEvent::Leave(change) => {
                if let Some(presence) = &mut self.presence {
                    presence.online.retain(|n| n != &change.nick);
                }
            }
            StreamEvent::Ready(ready) => {
                if !ready.resumed {
                    // Missed messages: only the replay is contiguous.
                    let keep = self.since_open.min(self.recent.len());
                    while self.recent.len() > keep {
                        self.recent.pop_first();
                    }
                }
                self.ready = Some(ready.clone());
            }
            StreamEvent::Message(m) => self.remember(m),
            StreamEvent::Edit(m) => {
                hearth_proto::log::apply(&mut self.recent, &EntryKind::Edit(m.clone()));
            }
            StreamEvent::Delete(d) => {
                hearth_proto::log::apply(&mut self.recent, &EntryKind::Delete(d.clone()));
            }
            StreamEvent::Reaction(r) => {
                hearth_proto::log::apply(&mut self.recent, &EntryKind::Reaction(r.clone()));
            }
            // Typing notices are never kept (nor replayed by a server).
            StreamEvent::Typing(_) => {}
        }
    }

    /// Keeps a message of the stream (once: ids grow within a room).
    fn remember(&mut self, message: &Message) {
        if self
            .recent
            .last_key_value()
            .is_some_and(|(last, _)| *last >= message.id)
        {
            return;
        }
        self.recent.insert(message.id, message.clone());
        self.since_open += 1;
        while self.recent.len() > PAGE_SIZE {
            self.recent.pop_first();
        }
    }

    /// Puts messages read back from the history (oldest first) in front
    /// of the kept ones, as far as room is left; returns those older than
    /// every kept one.
    pub fn backfill(&mut self, messages: Vec<Message>) -> Vec<Message> {
        let first = self.recent.first_key_value().map(|(id, _)| *id);
        let older: Vec<Message> = messages
            .into_iter()
            .filter(|m| first.is_none_or(|first| m.id < first))
            .collect();
        for message in older.iter().rev() {
            if self.recent.len() == PAGE_SIZE {
                break;
            }
            self.recent.insert(message.id, message.clone());
        }
        older
    }

    /// What a view gets when it starts following the room: its connection
    /// state, newest messages, last `ready`, who is online, unread count.
    pub fn catch_up(&self, total: u32) -> Vec<AppEvent> {
        let mut events = vec![AppEvent::Local(LocalEvent::Connection(self.state.clone()))];
        if let Some(ended) = &self.ended {
            events.push(AppEvent::Local(LocalEvent::Ended(ended.clone())));
        }
        events.extend(
            self.recent
                .values()
                .map(|m| AppEvent::Stream(StreamEvent::Message(m.clone()))),
        );
        if let Some(ready) = &self.ready {
            events.push(AppEvent::Stream(StreamEvent::Ready(ready.clone())));
        }
        if let Some(presence) = &self.presence {
            events.push(AppEvent::Stream(StreamEvent::Presence(presence.clone())));
        }
        events.push(AppEvent::Local(LocalEvent::Unread {
            count: self.unread,
            mentions: self.mentions,
            total,
        }));
        events
    }

    /// A view that keeps following the room has everything the stream
    /// brought: what a resumed stream says then.
    pub fn still_ready(&self) -> Option<Ready> {
        let ready = self.ready.as_ref()?;
        Some(Ready {
            room: ready.room.clone(),
            resumed: true,
            last_id: self
                .recent
                .last_key_value()
                .map(|(id, _)| *id)
                .max(ready.last_id),
        })
    }
}
