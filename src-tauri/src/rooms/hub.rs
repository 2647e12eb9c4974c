//! The hub: where every room's events meet on their way to the webview.
//!
//! It owns the two sinks the UI attaches and what each needs to catch up
//! without reconnecting anything:
//!
//! - the *main* sink (`follow_rooms`, the home screen): every event of every
//!   saved room; a freshly attached one first gets what waited for it, then
//!   each room's connection state, unread count and who is online;
//! - the *view* sink (`open_view`, the chat view of one connection): the
//!   events of the rooms it follows. Each room it starts following gets that
//!   room's newest messages (up to [`PAGE_SIZE`]) and then the last `ready`
//!   the server sent, exactly as a fresh event stream replays them; a room
//!   it keeps following gets a `ready` saying nothing was missed.
//!
//! So the hub keeps, per saved room, the newest messages and the last
//! `ready` of its stream (`RoomLive`, in `live.rs`), with the room log's
//! changes applied. It is also the app's one unread counter (a message from
//! someone else, unless the window is focused on that room; edits, deletes,
//! reactions and typing never count, and a deleted unread message stays
//! counted until the room is seen: the count is of arrivals) and decides when to raise a desktop notification
//! (the window is not focused), through the [`Notifier`] seam that the
//! Tauri shell implements and tests leave out.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use hearth_proto::{Message, StreamEnded, StreamEvent};

use super::live::RoomLive;
use crate::events::{AppEvent, ConnectionState, EventSink, LocalEvent, RoomEvent};

/// How many messages a view gets per room when it starts following it, and
/// the history page size: what a fresh event stream replays.
pub const PAGE_SIZE: usize = hearth_proto::DEFAULT_REPLAY;
/// Events kept for a main sink that is not attached yet.
const BACKLOG: usize = 4096;
/// The longest notification body, in characters.
const NOTIFICATION_CHARS: usize = 200;

/// The desktop around the app: notifications and the tray's unread marker.
/// Implementations must not fail loudly: log and carry on.
pub trait Notifier: Send + Sync + 'static {
    /// A message from someone else arrived in `room_id` (a saved room's
    /// id) while the window is unfocused, or one that mentions the person
    /// while another room is on screen.
    fn notify_message(&self, room_id: &str, title: &str, body: &str);
    /// The number of unread messages in all rooms changed.
    fn unread_changed(&self, total: u32);
}

/// A [`Notifier`] that does nothing (tests, headless use).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoNotifier;

impl Notifier for NoNotifier {
    fn notify_message(&self, _room_id: &str, _title: &str, _body: &str) {}
    fn unread_changed(&self, _total: u32) {}
}

/// The main sink, or what waits for one.
#[derive(Default)]
struct MainSink {
    sink: Option<Arc<dyn EventSink>>,
    /// Events emitted while no sink was attached (the UI is not up yet),
    /// oldest first; at most [`BACKLOG`], the oldest dropped beyond.
    backlog: VecDeque<RoomEvent>,
}

impl MainSink {
    /// Sends to the sink, or keeps the event for the next one. A sink that
    /// fails is dropped.
    fn deliver(&mut self, event: RoomEvent) {
        match &self.sink {
            Some(sink) => {
                if sink.send(event).is_err() {
                    tracing::debug!("event sink closed; detaching it");
                    self.sink = None;
                }
            }
            None => {
                if self.backlog.len() == BACKLOG {
                    self.backlog.pop_front();
                }
                self.backlog.push_back(event);
            }
        }
    }
}

/// The chat view's sink and the saved rooms it follows.
struct View {
    sink: Arc<dyn EventSink>,
    rooms: HashSet<String>,
}

/// Everything behind the hub's one lock: events are sent while it is held,
/// so a catch-up and the live events after it cannot cross.
#[derive(Default)]
struct HubState {
    rooms: HashMap<String, RoomLive>,
    /// The room the UI shows.
    active: Option<String>,
    /// Whether the main window has the focus.
    focused: bool,
    main: MainSink,
    view: Option<View>,
}

impl HubState {
    fn total_unread(&self) -> u32 {
        self.rooms.values().map(|r| r.unread).sum()
    }

    /// Sends an event to the main sink, and to the view if it follows the
    /// room.
    fn emit(&mut self, room_id: &str, event: AppEvent) {
        let event = RoomEvent {
            room_id: room_id.to_owned(),
            event,
        };
        self.send_view(&event);
        self.main.deliver(event);
    }

    fn send_view(&mut self, event: &RoomEvent) {
        let Some(view) = &self.view else { return };
        if view.rooms.contains(&event.room_id) && view.sink.send(event.clone()).is_err() {
            tracing::debug!("view sink closed; detaching it");
            self.view = None;
        }
    }

    /// Sends events of one room to the view only.
    fn send_view_all(&mut self, room_id: &str, events: Vec<AppEvent>) {
        for event in events {
            self.send_view(&RoomEvent {
                room_id: room_id.to_owned(),
                event,
            });
        }
    }
}

/// Routes room events to the attached sinks, keeping the catch-up state.
pub struct Hub {
    state: Mutex<HubState>,
    notifier: Arc<dyn Notifier>,
}

impl Hub {
    pub fn new(notifier: Arc<dyn Notifier>) -> Self {
        Self {
            state: Mutex::new(HubState {
                focused: true,
                ..HubState::default()
            }),
            notifier,
        }
    }

    fn state(&self) -> MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes `sink` the main destination (replacing a previous one, e.g.
    /// after the page reloaded). It first gets what was emitted while no
    /// sink was attached, then, for each of `rooms`, the connection state,
    /// the unread count and the last presence known.
    pub fn attach(&self, sink: Arc<dyn EventSink>, rooms: &[String]) {
        let mut state = self.state();
        let total = state.total_unread();
        let catch_up: Vec<RoomEvent> = rooms
            .iter()
            .flat_map(|room_id| {
                let live = state.rooms.get(room_id).cloned().unwrap_or_default();
                let mut events = vec![
                    AppEvent::Local(LocalEvent::Connection(live.state)),
                    AppEvent::Local(LocalEvent::Unread {
                        count: live.unread,
                        mentions: live.mentions,
                        total,
                    }),
                ];
                if let Some(presence) = live.presence {
                    events.push(AppEvent::Stream(StreamEvent::Presence(presence)));
                }
                events.into_iter().map(|event| RoomEvent {
                    room_id: room_id.clone(),
                    event,
                })
            })
            .collect();
        state.main.sink = Some(sink);
        let backlog = std::mem::take(&mut state.main.backlog);
        for event in backlog.into_iter().chain(catch_up) {
            state.main.deliver(event);
        }
    }

    /// Stops sending to the main sink (events wait for the next one).
    pub fn detach(&self) {
        self.state().main.sink = None;
    }

    /// Makes `sink` the chat view's destination (replacing a previous
    /// view), following `rooms`: each gets its catch-up.
    pub fn open_view(&self, sink: Arc<dyn EventSink>, rooms: &[String]) {
        let mut state = self.state();
        state.view = Some(View {
            sink,
            rooms: HashSet::new(),
        });
        Self::follow_in_view(&mut state, rooms);
    }

    /// The view follows `rooms` from now on: rooms new to it get their
    /// catch-up, the others a `ready` saying nothing was missed (what a
    /// stream that resumed says). No view: nothing happens.
    pub fn set_view_rooms(&self, rooms: &[String]) {
        let mut state = self.state();
        if state.view.is_some() {
            Self::follow_in_view(&mut state, rooms);
        }
    }

    fn follow_in_view(state: &mut HubState, rooms: &[String]) {
        let total = state.total_unread();
        let Some(view) = &mut state.view else { return };
        let before = std::mem::replace(&mut view.rooms, rooms.iter().cloned().collect());
        for room_id in rooms {
            let live = state.rooms.get(room_id).cloned().unwrap_or_default();
            let events = if before.contains(room_id) {
                live.still_ready()
                    .map(|ready| vec![AppEvent::Stream(StreamEvent::Ready(ready))])
                    .unwrap_or_default()
            } else {
                live.catch_up(total)
            };
            state.send_view_all(room_id, events);
        }
    }

    /// Stops sending to the view.
    pub fn close_view(&self) {
        self.state().view = None;
    }

    /// Sends one event to the sinks (or keeps it for the next main one).
    pub fn emit(&self, room_id: &str, event: AppEvent) {
        self.state().emit(room_id, event);
    }

    /// Records and announces that the server ended the session of the
    /// room's connection (kept for a view's catch-up until it connects
    /// again).
    pub fn ended(&self, room_id: &str, ended: StreamEnded) {
        let mut state = self.state();
        state.rooms.entry(room_id.to_owned()).or_default().ended = Some(ended.clone());
        state.emit(room_id, AppEvent::Local(LocalEvent::Ended(ended)));
    }

    /// Records and announces a room's connection state.
    pub fn set_state(&self, room_id: &str, connection: ConnectionState) {
        let mut state = self.state();
        let room = state.rooms.entry(room_id.to_owned()).or_default();
        if connection == ConnectionState::Connected {
            room.ended = None; // a session again
        }
        room.state = connection.clone();
        state.emit(room_id, AppEvent::Local(LocalEvent::Connection(connection)));
    }

    /// The room's connection state.
    pub fn connection_state(&self, room_id: &str) -> ConnectionState {
        self.state()
            .rooms
            .get(room_id)
            .map(|r| r.state.clone())
            .unwrap_or(ConnectionState::Connecting)
    }

    /// The room's unread count.
    pub fn unread(&self, room_id: &str) -> u32 {
        self.state().rooms.get(room_id).map_or(0, |r| r.unread)
    }

    /// How many of the room's unread messages mention the person.
    pub fn unread_mentions(&self, room_id: &str) -> u32 {
        self.state().rooms.get(room_id).map_or(0, |r| r.mentions)
    }

    /// Whether the room's stream has sent a `ready` in this run of the app.
    pub fn has_ready(&self, room_id: &str) -> bool {
        self.state()
            .rooms
            .get(room_id)
            .is_some_and(|r| r.ready.is_some())
    }

    /// Whether the hub keeps any message of the room.
    pub fn has_messages(&self, room_id: &str) -> bool {
        self.state()
            .rooms
            .get(room_id)
            .is_some_and(|r| !r.recent.is_empty())
    }

    /// The rooms' streams (re)opened: what they replay now starts anew.
    pub fn stream_opened(&self, room_ids: &[&String]) {
        let mut state = self.state();
        for room_id in room_ids {
            state
                .rooms
                .entry((*room_id).clone())
                .or_default()
                .since_open = 0;
        }
    }

    /// Older messages of a room (from its history, oldest first), read
    /// when the app resumes a room it has no messages of: kept before the
    /// newer ones and sent to the view (not news: no unread, not to the
    /// home screen).
    pub fn backfill(&self, room_id: &str, messages: Vec<Message>) {
        let mut state = self.state();
        let older = state
            .rooms
            .entry(room_id.to_owned())
            .or_default()
            .backfill(messages);
        let events = older
            .into_iter()
            .map(|m| AppEvent::Stream(StreamEvent::Message(m)))
            .collect();
        state.send_view_all(room_id, events);
    }

    /// Marks a room as a direct-message room (or not): each message of
    /// the other person then counts as a mention and notifies as one.
    pub fn set_dm(&self, room_id: &str, dm: bool) {
        self.state().rooms.entry(room_id.to_owned()).or_default().dm = dm;
    }

    /// Forgets a room.
    pub fn remove_room(&self, room_id: &str) {
        let total = {
            let mut state = self.state();
            let had_unread = state.rooms.remove(room_id).is_some_and(|r| r.unread > 0);
            if state.active.as_deref() == Some(room_id) {
                state.active = None;
            }
            if let Some(view) = &mut state.view {
                view.rooms.remove(room_id);
            }
            had_unread.then(|| state.total_unread())
        };
        if let Some(total) = total {
            self.notifier.unread_changed(total);
        }
    }

    /// Forwards an event of `room_id`'s stream. `own_nick` is the nick this
    /// app posts as there; `live` is false during the replay of a fresh
    /// start (history, not news).
    pub fn stream_event(&self, room_id: &str, own_nick: &str, event: StreamEvent, live: bool) {
        let mut unread = None;
        let mut notify = None;
        let mut state = self.state();
        let focused = state.focused;
        let viewing = focused && state.active.as_deref() == Some(room_id);
        let room = state.rooms.entry(room_id.to_owned()).or_default();
        room.apply(&event);
        if let StreamEvent::Message(m) = &event
            && live
            && m.nick != own_nick
        {
            let dm = room.dm;
            let mentioned = dm || mentions_me(m, own_nick);
            if !viewing {
                room.unread = room.unread.saturating_add(1);
                if mentioned {
                    room.mentions = room.mentions.saturating_add(1);
                }
                unread = Some((room.unread, room.mentions));
            }
            if !focused || (mentioned && !viewing) {
                notify = Some(notification(m, mentioned, dm));
            }
        }
        state.emit(room_id, AppEvent::Stream(event));
        let unread = unread.map(|(count, mentions)| {
            let total = state.total_unread();
            state.emit(
                room_id,
                AppEvent::Local(LocalEvent::Unread {
                    count,
                    mentions,
                    total,
                }),
            );
            total
        });
        drop(state);
        if let Some(total) = unread {
            self.notifier.unread_changed(total);
        }
        if let Some((title, body)) = notify {
            self.notifier.notify_message(room_id, &title, &body);
        }
    }

    /// The UI shows `room_id` (or no room); that room's unread count is
    /// cleared while the window has the focus.
    pub fn set_active(&self, room_id: Option<&str>) {
        self.state().active = room_id.map(str::to_owned);
        self.clear_active_if_seen();
    }

    /// The main window gained or lost the focus.
    pub fn set_focused(&self, focused: bool) {
        self.state().focused = focused;
        self.clear_active_if_seen();
    }

    fn clear_active_if_seen(&self) {
        let total = {
            let mut state = self.state();
            if !state.focused {
                return;
            }
            let Some(active) = state.active.clone() else {
                return;
            };
            match state.rooms.get_mut(&active) {
                Some(room) if room.unread > 0 => {
                    room.unread = 0;
                    room.mentions = 0;
                    let total = state.total_unread();
                    state.emit(
                        &active,
                        AppEvent::Local(LocalEvent::Unread {
                            count: 0,
                            mentions: 0,
                            total,
                        }),
                    );
                    total
                }
                _ => return,
            }
        };
        self.notifier.unread_changed(total);
    }
}

/// Whether a message mentions `own_nick` (in any case) or `@here`, by the
/// `mentions` the server worked out (`hearth_proto::log::mentions`).
fn mentions_me(m: &Message, own_nick: &str) -> bool {
    let own = own_nick.to_lowercase();
    m.mentions
        .iter()
        .any(|n| n == hearth_proto::log::HERE || n.to_lowercase() == own)
}

/// The title and body of a message's notification.
fn notification(m: &Message, mentioned: bool, dm: bool) -> (String, String) {
    let mut body: String = m.text.chars().take(NOTIFICATION_CHARS).collect();
    if m.text.chars().count() > NOTIFICATION_CHARS {
        body.push('…');
    }
    let title = if dm {
        format!("{} sent you a message", m.nick)
    } else if mentioned {
        format!("{} mentioned you in #{}", m.nick, m.room)
    } else {
        format!("{} in #{}", m.nick, m.room)
    };
    (title, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_proto::{MessageId, Presence, PresenceChange, Ready, RoomName};
    use std::sync::atomic::{AtomicU32, Ordering};
    use tokio::sync::mpsc;

    #[derive(Default)]
    struct Recorder {
        notified: Mutex<Vec<String>>,
        total: AtomicU32,
    }

    impl Notifier for Recorder {
        fn notify_message(&self, _room_id: &str, title: &str, _body: &str) {
            self.notified.lock().unwrap().push(title.to_owned());
        }
        fn unread_changed(&self, total: u32) {
            self.total.store(total, Ordering::SeqCst);
        }
    }

    fn msg(nick: &str, seq: u64) -> Message {
        let mut message = Message::new(
            MessageId::new(1, seq),
            RoomName::default_room(),
            nick.into(),
            format!("hi {seq}"),
            None,
        );
        message.ts = "2026-11-24T06:00:00.000Z".into();
        message
    }

    fn message(nick: &str, seq: u64) -> StreamEvent {
        StreamEvent::Message(msg(nick, seq))
    }

    fn ready(resumed: bool, last: Option<u64>) -> StreamEvent {
        StreamEvent::Ready(Ready {
            room: RoomName::default_room(),
            resumed,
            last_id: last.map(|seq| MessageId::new(1, seq)),
        })
    }

    fn drain(rx: &mut mpsc::UnboundedReceiver<RoomEvent>) -> Vec<AppEvent> {
        std::iter::from_fn(|| rx.try_recv().ok())
            .map(|e| e.event)
            .collect()
    }

    /// The message seqs and `ready`s (as `r`/`R` for resumed) of events.
    fn stream_of(events: &[AppEvent]) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match e {
                AppEvent::Stream(StreamEvent::Message(m)) => Some(m.id.to_string()),
                AppEvent::Stream(StreamEvent::Ready(r)) => {
                    Some(if r.resumed { "R" } else { "r" }.to_owned())
                }
                _ => None,
            })
            .collect()
    }

    fn id(seq: u64) -> String {
        MessageId::new(1, seq).to_string()
    }

    #[test]
    fn unread_counts_others_live_messages_unless_viewed() {
        let recorder = Arc::new(Recorder::default());
        let hub = Hub::new(recorder.clone());
        let (tx, mut rx) = mpsc::unbounded_channel();
        hub.attach(Arc::new(tx), &["a".into()]);
        assert_eq!(rx.try_recv().unwrap().room_id, "a"); // connection state
        assert!(matches!(
            rx.try_recv().unwrap().event,
            AppEvent::Local(LocalEvent::Unread {
                count: 0,
                mentions: 0,
                total: 0
            })
        ));

        hub.stream_event("a", "me", message("bo", 0), false); // replay: history
        hub.stream_event("a", "me", message("me", 1), true); // my own
        assert_eq!(hub.unread("a"), 0);
        hub.stream_event("a", "me", message("bo", 2), true);
        assert_eq!(hub.unread("a"), 1);
        assert_eq!(recorder.total.load(Ordering::SeqCst), 1);
        assert!(recorder.notified.lock().unwrap().is_empty()); // focused

        hub.set_focused(false);
        hub.set_active(Some("a"));
        hub.stream_event("a", "me", message("bo", 3), true);
        assert_eq!(hub.unread("a"), 2);
        assert_eq!(*recorder.notified.lock().unwrap(), ["bo in #general"]);
        hub.set_focused(true); // looking at "a" again
        assert_eq!(hub.unread("a"), 0);
        assert_eq!(recorder.total.load(Ordering::SeqCst), 0);
        hub.stream_event("a", "me", message("bo", 4), true);
        assert_eq!(hub.unread("a"), 0);
    }

    #[test]
    fn a_view_opened_after_the_session_ended_hears_it_until_connected_again() {
        let hub = Hub::new(Arc::new(Recorder::default()));
        let ended = StreamEnded {
            reason: "banned".into(),
            error: "you are banned".into(),
            until: None,
        };
        hub.ended("a", ended.clone());
        let (tx, mut rx) = mpsc::unbounded_channel();
        hub.open_view(Arc::new(tx), &["a".into()]);
        let events = drain(&mut rx);
        assert!(
            events.contains(&AppEvent::Local(LocalEvent::Ended(ended))),
            "{events:?}"
        );
        hub.set_state("a", ConnectionState::Connected);
        let (tx, mut rx) = mpsc::unbounded_channel();
        hub.open_view(Arc::new(tx), &["a".into()]);
        assert!(
            !drain(&mut rx)
                .iter()
                .any(|e| matches!(e, AppEvent::Local(LocalEvent::Ended(_))))
        );
    }

    #[test]
    fn a_new_sink_catches_up_on_state_and_presence() {
        let hub = Hub::new(Arc::new(NoNotifier));
        hub.set_state("a", ConnectionState::Connected);
        hub.stream_event(
            "a",
            "me",
            StreamEvent::Presence(Presence {
                room: RoomName::default_room(),
                online: vec!["me".into()],
            }),
            true,
        );
        hub.stream_event(
            "a",
            "me",
            StreamEvent::Join(PresenceChange {
                room: RoomName::default_room(),
                nick: "bo".into(),
            }),
            true,
        );
        let (tx, mut rx) = mpsc::unbounded_channel();
        hub.attach(Arc::new(tx), &["a".into()]);
        let events = drain(&mut rx);
        // First what happened before the sink came (the backlog), then the
        // catch-up.
        assert_eq!(events.len(), 6, "{events:?}");
        assert!(matches!(
            events[2],
            AppEvent::Stream(StreamEvent::Join(ref j)) if j.nick == "bo"
        ));
        assert_eq!(
            events[3..],
            [
                AppEvent::Local(LocalEvent::Connection(ConnectionState::Connected)),
                AppEvent::Local(LocalEvent::Unread {
                    count: 0,
                    mentions: 0,
                    total: 0
                }),
                AppEvent::Stream(StreamEvent::Presence(Presence {
                    room: RoomName::default_room(),
                    online: vec!["bo".into(), "me".into()],
                })),
            ]
        );
        drop(rx);
        hub.set_state("a", ConnectionState::Connecting); // the closed sink is dropped
        assert!(hub.state().main.sink.is_none());
        // What happens meanwhile waits for the next sink, before its catch-up.
        hub.set_state("a", ConnectionState::Connected);
        let (tx, mut rx) = mpsc::unbounded_channel();
        hub.attach(Arc::new(tx), &[]);
        let event = rx.try_recv().unwrap().event;
        assert_eq!(
            event,
            AppEvent::Local(LocalEvent::Connection(ConnectionState::Connected))
        );
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn a_view_gets_the_newest_messages_then_the_servers_ready() {
        let hub = Hub::new(Arc::new(NoNotifier));
        let a = "a".to_owned();
        hub.stream_opened(&[&a]);
        for seq in 0..(PAGE_SIZE as u64 + 5) {
            hub.stream_event("a", "me", message("bo", seq), false);
        }
        hub.stream_event("a", "me", ready(false, Some(PAGE_SIZE as u64 + 4)), true);
        hub.stream_event("b", "me", message("bo", 1), true); // not in the view

        let (tx, mut rx) = mpsc::unbounded_channel();
        hub.open_view(Arc::new(tx), std::slice::from_ref(&a));
        let events = drain(&mut rx);
        let stream = stream_of(&events);
        assert_eq!(stream.len(), PAGE_SIZE + 1);
        assert_eq!(stream[0], id(5), "the newest PAGE_SIZE");
        assert_eq!(stream[PAGE_SIZE], "r", "the server's ready, as it was");
        assert!(matches!(
            events[0],
            AppEvent::Local(LocalEvent::Connection(_))
        ));
        assert!(matches!(
            events.last(),
            Some(AppEvent::Local(LocalEvent::Unread { .. }))
        ));

        // Live events follow; other rooms' do not.
        hub.stream_event("a", "me", message("bo", 100), true);
        hub.stream_event("b", "me", message("bo", 101), true);
        let events = drain(&mut rx);
        assert_eq!(stream_of(&events), [id(100)]);
        assert!(matches!(
            events[1],
            AppEvent::Local(LocalEvent::Unread { count: 1, .. })
        ));

        // Following again: the kept room only hears that nothing was missed,
        // the new one gets its catch-up.
        hub.set_view_rooms(&["a".into(), "b".into()]);
        let events = drain(&mut rx);
        assert_eq!(stream_of(&events), ["R", &id(1), &id(101)]);
        match &events[0] {
            AppEvent::Stream(StreamEvent::Ready(r)) => {
                assert_eq!(r.last_id, Some(MessageId::new(1, 100)));
            }
            other => panic!("{other:?}"),
        }
        hub.close_view();
        hub.stream_event("a", "me", message("bo", 102), true);
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn missed_messages_leave_only_the_replay_and_backfill_goes_first() {
        let hub = Hub::new(Arc::new(NoNotifier));
        let a = "a".to_owned();
        hub.stream_opened(&[&a]);
        hub.stream_event("a", "me", message("bo", 10), true);
        hub.stream_event("a", "me", message("bo", 11), true);
        // Reconnected, but the server could not resume: it replays anew.
        hub.stream_opened(&[&a]);
        hub.stream_event("a", "me", message("bo", 20), false);
        hub.stream_event("a", "me", ready(false, Some(20)), true);
        let (tx, mut rx) = mpsc::unbounded_channel();
        hub.open_view(Arc::new(tx), std::slice::from_ref(&a));
        assert_eq!(stream_of(&drain(&mut rx)), [id(20), "r".into()]);

        // History read back for a room resumed after a restart goes before
        // what the stream brings.
        let hub = Hub::new(Arc::new(NoNotifier));
        hub.stream_opened(&[&a]);
        let (tx, mut rx) = mpsc::unbounded_channel();
        hub.open_view(Arc::new(tx), std::slice::from_ref(&a));
        drain(&mut rx);
        hub.backfill("a", vec![msg("bo", 1), msg("bo", 2)]);
        hub.stream_event("a", "me", message("bo", 3), true);
        hub.stream_event("a", "me", ready(true, Some(3)), true);
        assert_eq!(
            stream_of(&drain(&mut rx)),
            [id(1), id(2), id(3), "R".into()]
        );
        assert_eq!(hub.unread("a"), 1, "only the stream's messages are news");
        hub.set_view_rooms(&[]);
        hub.set_view_rooms(std::slice::from_ref(&a));
        assert_eq!(
            stream_of(&drain(&mut rx)),
            [id(1), id(2), id(3), "R".into()]
        );
    }

    #[test]
    fn the_catch_up_shows_edits_deletes_and_reactions_applied() {
        use hearth_proto::{Deleted, Reaction, Typing};
        let hub = Hub::new(Arc::new(NoNotifier));
        let a = "a".to_owned();
        hub.stream_opened(&[&a]);
        for seq in 1..=3 {
            hub.stream_event("a", "me", message("bo", seq), true);
        }
        hub.stream_event("a", "me", ready(true, Some(3)), true);
        assert_eq!(hub.unread("a"), 3);
        let mut edited = msg("bo", 1);
        edited.text = "hi, edited".into();
        edited.edited_ts = Some("2026-11-24T06:01:00.000Z".into());
        let room = RoomName::default_room();
        let changes = [
            StreamEvent::Edit(edited.clone()),
            StreamEvent::Delete(Deleted {
                room: room.clone(),
                id: MessageId::new(1, 2),
            }),
            StreamEvent::Reaction(Reaction {
                room: room.clone(),
                id: MessageId::new(1, 3),
                emoji: "👍".into(),
                nick: "ana".into(),
                added: true,
            }),
            StreamEvent::Reaction(Reaction {
                room: room.clone(),
                id: MessageId::new(1, 3),
                emoji: "🎉".into(),
                nick: "ana".into(),
                added: true,
            }),
            StreamEvent::Reaction(Reaction {
                room: room.clone(),
                id: MessageId::new(1, 3),
                emoji: "🎉".into(),
                nick: "ana".into(),
                added: false,
            }),
            // About a message the hub does not keep: ignored.
            StreamEvent::Delete(Deleted {
                room: room.clone(),
                id: MessageId::new(1, 99),
            }),
            StreamEvent::Typing(Typing {
                room: room.clone(),
                nick: "bo".into(),
            }),
        ];
        for change in changes {
            hub.stream_event("a", "me", change, true);
        }
        // Changes and typing are not news: the count stays (a deleted unread
        // message stays counted until the room is seen).
        assert_eq!(hub.unread("a"), 3);

        let (tx, mut rx) = mpsc::unbounded_channel();
        hub.open_view(Arc::new(tx), std::slice::from_ref(&a));
        let messages: Vec<Message> = drain(&mut rx)
            .into_iter()
            .filter_map(|e| match e {
                AppEvent::Stream(StreamEvent::Message(m)) => Some(m),
                _ => None,
            })
            .collect();
        let mut reacted = msg("bo", 3);
        reacted.reactions.insert("👍".into(), vec!["ana".into()]);
        assert_eq!(messages, [edited, reacted]);
    }

    #[test]
    fn a_direct_message_counts_and_notifies_as_a_mention() {
        let recorder = Arc::new(Recorder::default());
        let hub = Hub::new(recorder.clone());
        let (tx, _rx) = mpsc::unbounded_channel();
        hub.attach(Arc::new(tx), &[]);
        hub.set_active(Some("b"));
        hub.set_dm("a", true);
        hub.stream_event("a", "Me", message("bo", 1), true);
        hub.stream_event("a", "Me", message("Me", 2), true); // my own: never counted
        assert_eq!((hub.unread("a"), hub.unread_mentions("a")), (1, 1));
        assert_eq!(
            *recorder.notified.lock().unwrap(),
            ["bo sent you a message"]
        );
    }

    #[test]
    fn a_mention_notifies_while_another_room_is_on_screen() {
        let recorder = Arc::new(Recorder::default());
        let hub = Hub::new(recorder.clone());
        let (tx, mut rx) = mpsc::unbounded_channel();
        hub.attach(Arc::new(tx), &[]);
        hub.set_active(Some("b")); // focused, looking at another room
        let mentioning = |seq: u64, mentions: &[&str]| {
            let mut m = msg("bo", seq);
            m.mentions = mentions.iter().map(|n| n.to_string()).collect();
            StreamEvent::Message(m)
        };

        hub.stream_event("a", "Me", message("bo", 1), true); // plain: counted only
        assert!(recorder.notified.lock().unwrap().is_empty());
        hub.stream_event("a", "Me", mentioning(2, &["me"]), true); // my nick, any case
        hub.stream_event("a", "Me", mentioning(3, &["@here"]), true);
        hub.stream_event("a", "Me", mentioning(4, &["ana"]), true); // someone else
        assert_eq!(
            *recorder.notified.lock().unwrap(),
            [
                "bo mentioned you in #general",
                "bo mentioned you in #general"
            ]
        );
        assert_eq!((hub.unread("a"), hub.unread_mentions("a")), (4, 2));
        let last = drain(&mut rx)
            .into_iter()
            .rev()
            .find(|e| matches!(e, AppEvent::Local(LocalEvent::Unread { .. })));
        assert_eq!(
            last,
            Some(AppEvent::Local(LocalEvent::Unread {
                count: 4,
                mentions: 2,
                total: 4
            }))
        );

        // The room on screen: no notification, nothing unread.
        hub.set_active(Some("a"));
        assert_eq!((hub.unread("a"), hub.unread_mentions("a")), (0, 0));
        hub.stream_event("a", "Me", mentioning(5, &["me"]), true);
        assert_eq!(recorder.notified.lock().unwrap().len(), 2);
        // Not live (a replay), or my own: never.
        hub.set_active(Some("b"));
        hub.stream_event("a", "Me", mentioning(6, &["me"]), false);
        let mut own = msg("me", 7);
        own.mentions = vec!["me".into()];
        hub.stream_event("a", "me", StreamEvent::Message(own), true);
        assert_eq!(recorder.notified.lock().unwrap().len(), 2);
        // Unfocused: every message notifies, a mention says so.
        hub.set_focused(false);
        hub.stream_event("a", "Me", message("bo", 8), true);
        assert_eq!(
            recorder.notified.lock().unwrap().last().unwrap(),
            "bo in #general"
        );
    }
}
