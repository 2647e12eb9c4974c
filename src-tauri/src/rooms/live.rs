//! What the hub remembers of one saved room: its connection state, unread
//! count and who is online, and what a chat view that starts following it
//! needs to catch up: the newest messages (at most [`PAGE_SIZE`]) and the
//! last `ready` its stream sent.
//!
//! Messages are kept as the stream brings them (each once: ids grow within
//! a room), with older ones read back from the history put in front after
//! an app restart. A `ready` that says messages were missed leaves only
//! what the stream replayed since it (re)opened: the rest is not contiguous
//! with it any more.

use std::collections::VecDeque;

use hearth_proto::{Message, Presence, Ready, StreamEvent};

use super::hub::PAGE_SIZE;
use crate::events::{AppEvent, ConnectionState, LocalEvent};

/// One room, as the hub knows it.
#[derive(Debug, Clone)]
pub(super) struct RoomLive {
    pub state: ConnectionState,
    pub unread: u32,
    pub presence: Option<Presence>,
    /// The newest messages, oldest first, at most [`PAGE_SIZE`].
    pub recent: VecDeque<Message>,
    /// The last `ready` of the room's stream (`resumed` as the follow task
    /// decided: see `connection.rs`); `None` until the first one.
    pub ready: Option<Ready>,
    /// Messages added since the stream last (re)opened.
    pub since_open: usize,
}

impl Default for RoomLive {
    fn default() -> Self {
        Self {
            state: ConnectionState::Connecting,
            unread: 0,
            presence: None,
            recent: VecDeque::new(),
            ready: None,
            since_open: 0,
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
                    self.recent.drain(..self.recent.len() - keep);
                }
                self.ready = Some(ready.clone());
            }
            StreamEvent::Message(m) => self.remember(m),
            // The room log's changes and typing notices go to the webview
            // as they are; this keeps messages as they were posted.
            StreamEvent::Edit(_)
            | StreamEvent::Delete(_)
            | StreamEvent::Reaction(_)
            | StreamEvent::Typing(_) => {}
        }
    }

    /// Keeps a message of the stream (once: ids grow within a room).
    fn remember(&mut self, message: &Message) {
        if self.recent.back().is_some_and(|last| last.id >= message.id) {
            return;
        }
        self.recent.push_back(message.clone());
        self.since_open += 1;
        while self.recent.len() > PAGE_SIZE {
            self.recent.pop_front();
        }
    }

    /// Puts messages read back from the history (oldest first) in front
    /// of the kept ones, as far as room is left; returns those older than
    /// every kept one.
    pub fn backfill(&mut self, messages: Vec<Message>) -> Vec<Message> {
        let first = self.recent.front().map(|m| m.id);
        let older: Vec<Message> = messages
            .into_iter()
            .filter(|m| first.is_none_or(|first| m.id < first))
            .collect();
        for message in older.iter().rev() {
            if self.recent.len() == PAGE_SIZE {
                break;
            }
            self.recent.push_front(message.clone());
        }
        older
    }

    /// What a view gets when it starts following the room: its connection
    /// state, newest messages, last `ready`, who is online, unread count.
    pub fn catch_up(&self, total: u32) -> Vec<AppEvent> {
        let mut events = vec![AppEvent::Local(LocalEvent::Connection(self.state.clone()))];
        events.extend(
            self.recent
                .iter()
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
            last_id: self.recent.back().map(|m| m.id).or(ready.last_id),
        })
    }
}
