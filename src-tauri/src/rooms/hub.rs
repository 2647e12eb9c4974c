//! The hub: where every room's events meet on their way to the webview.
//!
//! It owns the one [`EventSink`] the UI attached (`follow_rooms`), and what
//! a freshly attached UI needs to catch up without reconnecting anything:
//! each room's connection state, unread count and who is online. It also
//! decides what counts as unread (a message from someone else, unless the
//! window is focused on that room) and when to raise a desktop notification
//! (the window is not focused), through the [`Notifier`] seam that the
//! Tauri shell implements and tests leave out.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use hearth_proto::{Message, Presence, RoomName, StreamEvent};

use crate::events::{AppEvent, ConnectionState, EventSink, LocalEvent, RoomEvent};

/// Events kept for a sink that is not attached yet.
const BACKLOG: usize = 4096;
/// The longest notification body, in characters.
const NOTIFICATION_CHARS: usize = 200;

/// The desktop around the app: notifications and the tray's unread marker.
/// Implementations must not fail loudly: log and carry on.
pub trait Notifier: Send + Sync + 'static {
    /// A message from someone else arrived while the window is unfocused.
    fn notify_message(&self, title: &str, body: &str);
    /// The number of unread messages in all rooms changed.
    fn unread_changed(&self, total: u32);
}

/// A [`Notifier`] that does nothing (tests, headless use).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoNotifier;

impl Notifier for NoNotifier {
    fn notify_message(&self, _title: &str, _body: &str) {}
    fn unread_changed(&self, _total: u32) {}
}

/// What the hub remembers of one room.
#[derive(Debug, Clone)]
struct RoomLive {
    state: ConnectionState,
    unread: u32,
    presence: Option<Presence>,
}

impl Default for RoomLive {
    fn default() -> Self {
        Self {
            state: ConnectionState::Connecting,
            unread: 0,
            presence: None,
        }
    }
}

#[derive(Default)]
struct HubState {
    rooms: HashMap<String, RoomLive>,
    /// The room the UI shows.
    active: Option<String>,
    /// Whether the main window has the focus.
    focused: bool,
}

impl HubState {
    fn total_unread(&self) -> u32 {
        self.rooms.values().map(|r| r.unread).sum()
    }
}

/// Routes room events to the attached sink, keeping the catch-up state.
pub struct Hub {
    sink: Mutex<SinkSlot>,
    state: Mutex<HubState>,
    notifier: Arc<dyn Notifier>,
}

/// The sink, or what waits for one.
#[derive(Default)]
struct SinkSlot {
    sink: Option<Arc<dyn EventSink>>,
    /// Events emitted while no sink was attached (the UI is not up yet),
    /// oldest first; at most [`BACKLOG`], the oldest dropped beyond.
    backlog: VecDeque<RoomEvent>,
}

impl SinkSlot {
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

impl Hub {
    pub fn new(notifier: Arc<dyn Notifier>) -> Self {
        Self {
            sink: Mutex::new(SinkSlot::default()),
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

    fn slot(&self) -> MutexGuard<'_, SinkSlot> {
        self.sink.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes `sink` the one destination (replacing a previous one, e.g. after
    /// the page reloaded). It first gets what was emitted while no sink was
    /// attached, then, for each of `rooms`, the connection state, the unread
    /// count and the last presence known.
    pub fn attach(&self, sink: Arc<dyn EventSink>, rooms: &[String]) {
        let catch_up: Vec<RoomEvent> = {
            let state = self.state();
            let total = state.total_unread();
            rooms
                .iter()
                .flat_map(|room_id| {
                    let live = state.rooms.get(room_id).cloned().unwrap_or_default();
                    let mut events = vec![
                        AppEvent::Local(LocalEvent::Connection(live.state)),
                        AppEvent::Local(LocalEvent::Unread {
                            count: live.unread,
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
                .collect()
        };
        let mut slot = self.slot();
        slot.sink = Some(sink);
        let backlog = std::mem::take(&mut slot.backlog);
        for event in backlog.into_iter().chain(catch_up) {
            slot.deliver(event);
        }
    }

    /// Stops sending anywhere (events wait for the next sink).
    pub fn detach(&self) {
        self.slot().sink = None;
    }

    /// Sends one event to the sink (or keeps it for the next one).
    pub fn emit(&self, room_id: &str, event: AppEvent) {
        self.slot().deliver(RoomEvent {
            room_id: room_id.to_owned(),
            event,
        });
    }

    /// Records and announces a room's connection state.
    pub fn set_state(&self, room_id: &str, state: ConnectionState) {
        self.state()
            .rooms
            .entry(room_id.to_owned())
            .or_default()
            .state = state.clone();
        self.emit(room_id, AppEvent::Local(LocalEvent::Connection(state)));
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

    /// Forgets a room.
    pub fn remove_room(&self, room_id: &str) {
        let total = {
            let mut state = self.state();
            let had_unread = state.rooms.remove(room_id).is_some_and(|r| r.unread > 0);
            if state.active.as_deref() == Some(room_id) {
                state.active = None;
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
        {
            let mut state = self.state();
            let focused = state.focused;
            let viewing = focused && state.active.as_deref() == Some(room_id);
            let room = state.rooms.entry(room_id.to_owned()).or_default();
            match &event {
                StreamEvent::Presence(p) => room.presence = Some(p.clone()),
                StreamEvent::Join(change) => {
                    let presence = room.presence.get_or_insert_with(|| empty(&change.room));
                    if let Err(at) = presence.online.binary_search(&change.nick) {
                        presence.online.insert(at, change.nick.clone());
                    }
                }
                StreamEvent::Leave(change) => {
                    if let Some(presence) = &mut room.presence {
                        presence.online.retain(|n| n != &change.nick);
                    }
                }
                StreamEvent::Message(m) if live && m.nick != own_nick => {
                    if !viewing {
                        room.unread = room.unread.saturating_add(1);
                        let count = room.unread;
                        unread = Some((count, state.total_unread()));
                    }
                    if !focused {
                        notify = Some(notification(m));
                    }
                }
                StreamEvent::Message(_) | StreamEvent::Ready(_) => {}
            }
        }
        self.emit(room_id, AppEvent::Stream(event));
        if let Some((count, total)) = unread {
            self.emit(
                room_id,
                AppEvent::Local(LocalEvent::Unread { count, total }),
            );
            self.notifier.unread_changed(total);
        }
        if let Some((title, body)) = notify {
            self.notifier.notify_message(&title, &body);
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
        let cleared = {
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
                    Some((active, state.total_unread()))
                }
                _ => None,
            }
        };
        if let Some((room_id, total)) = cleared {
            self.emit(
                &room_id,
                AppEvent::Local(LocalEvent::Unread { count: 0, total }),
            );
            self.notifier.unread_changed(total);
        }
    }
}

fn empty(room: &RoomName) -> Presence {
    Presence {
        room: room.clone(),
        online: Vec::new(),
    }
}

/// The title and body of a message's notification.
fn notification(m: &Message) -> (String, String) {
    let mut body: String = m.text.chars().take(NOTIFICATION_CHARS).collect();
    if m.text.chars().count() > NOTIFICATION_CHARS {
        body.push('…');
    }
    (format!("{} in #{}", m.nick, m.room), body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_proto::{MessageId, PresenceChange};
    use std::sync::atomic::{AtomicU32, Ordering};
    use tokio::sync::mpsc;

    #[derive(Default)]
    struct Recorder {
        notified: Mutex<Vec<String>>,
        total: AtomicU32,
    }

    impl Notifier for Recorder {
        fn notify_message(&self, title: &str, _body: &str) {
            self.notified.lock().unwrap().push(title.to_owned());
        }
        fn unread_changed(&self, total: u32) {
            self.total.store(total, Ordering::SeqCst);
        }
    }

    fn message(nick: &str, seq: u64) -> StreamEvent {
        StreamEvent::Message(Message {
            id: MessageId::new(1, seq),
            room: RoomName::default_room(),
            nick: nick.into(),
            text: "hi".into(),
            ts: "2026-11-24T06:00:00.000Z".into(),
            client_id: None,
        })
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
            AppEvent::Local(LocalEvent::Unread { count: 0, total: 0 })
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
        let events: Vec<AppEvent> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|e| e.event)
            .collect();
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
                AppEvent::Local(LocalEvent::Unread { count: 0, total: 0 }),
                AppEvent::Stream(StreamEvent::Presence(Presence {
                    room: RoomName::default_room(),
                    online: vec!["bo".into(), "me".into()],
                })),
            ]
        );
        drop(rx);
        hub.set_state("a", ConnectionState::Connecting); // the closed sink is dropped
        assert!(hub.slot().sink.is_none());
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
}
