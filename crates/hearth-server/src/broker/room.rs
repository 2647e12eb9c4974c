//! Rooms as one node holds them in memory, whatever the backend: the
//! [`RoomHub`] of every loaded room, and each [`RoomState`]: the `broadcast`
//! channel its local subscribers listen on, a cache of its newest log entries
//! (already encoded, so most replays and resumes encode nothing), its local
//! presence counts, and the plan for where a new subscriber starts.
//!
//! Backends own how a [`RoomState`] is loaded and fed (the embedded backend
//! from its SQLite writer thread, the Redis backend from its one pub/sub
//! relay task); both feed it through [`RoomState::push_entry`], and both
//! subscribe through [`super::presence::join`] and [`live_stream`].

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use hearth_proto::{EntryKind, MessageId, RoomName, log};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use super::{BrokerError, Live, LiveStream, ReplayStream, RoomRequest, SharedEvent, SharedKind};

/// The most log entries cached (encoded) per room.
pub const MAX_CACHE: usize = 256;
/// How often each backend looks for idle rooms to unload.
pub const UNLOAD_EVERY: Duration = Duration::from_secs(60);
/// Rooms nobody follows are unloaded from memory after this long unused.
pub const ROOM_IDLE: Duration = Duration::from_secs(300);

/// The rooms this node has in memory, in one map behind a
/// `std::sync::Mutex` (nothing awaits while it is held).
pub struct RoomHub {
    rooms: Mutex<HashMap<RoomName, RoomState>>,
    /// Events a subscriber may fall behind before it lags.
    pub queue: usize,
    /// Messages cached per room.
    pub cache_size: usize,
    /// The original chat room, whose messages also carry the legacy frame.
    pub default_room: RoomName,
}

impl RoomHub {
    /// An empty hub whose rooms queue `queue` events per subscriber and
    /// cache up to [`MAX_CACHE`] of the `retention` messages they keep.
    pub fn new(queue: usize, retention: usize) -> Self {
        RoomHub {
            rooms: Mutex::new(HashMap::new()),
            queue: queue.max(1),
            cache_size: MAX_CACHE.min(retention).max(1),
            default_room: RoomName::default_room(),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, HashMap<RoomName, RoomState>> {
        // A panic while holding the lock leaves counts that are still usable.
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Loads every requested room with `load` until all of them are in
    /// memory at once: a room can be unloaded between loading and locking
    /// (when it had been idle), so it is loaded again, a few times at most.
    pub async fn load_all<F, Fut>(
        &self,
        rooms: &[RoomRequest],
        mut load: F,
    ) -> Result<(), BrokerError>
    where
        F: FnMut(RoomName) -> Fut,
        Fut: Future<Output = Result<(), BrokerError>>,
    {
        for attempt in 0.. {
            for RoomRequest { room, .. } in rooms {
                load(room.clone()).await?;
            }
            let loaded = self.lock();
            if rooms.iter().all(|r| loaded.contains_key(&r.room)) {
                break;
            }
            if attempt == 3 {
                return Err(BrokerError::Internal("rooms keep being unloaded".into()));
            }
        }
        Ok(())
    }

    /// Drops the rooms nobody follows here that were not used for
    /// `idle_for`; returns how many.
    pub fn unload_idle(&self, idle_for: Duration) -> usize {
        let mut rooms = self.lock();
        let before = rooms.len();
        rooms.retain(|_, state| !state.is_idle(idle_for));
        before - rooms.len()
    }
}

/// One room's in-memory state on this node.
pub struct RoomState {
    pub tx: broadcast::Sender<Arc<SharedEvent>>,
    /// The newest log entries of the room, oldest first, contiguous up to
    /// `last_id` (its newest log id).
    pub recent: VecDeque<Arc<SharedEvent>>,
    /// True when `recent` holds every retained entry of the room.
    pub complete: bool,
    pub last_id: Option<MessageId>,
    /// Open streams on this node per nick.
    pub presence: HashMap<String, usize>,
    /// Last post or subscription: idle rooms are unloaded.
    pub last_used: Instant,
    cache_size: usize,
    /// True when the store may hold messages the cache has not seen yet
    /// (Redis: stored through another node a moment ago, or while the relay
    /// was catching up). A resume is then always served from the store, so
    /// its replay holds every message stored before the request (and an id
    /// newer than the cache is not called unknown).
    may_lag: bool,
}

/// A fresh start's replay: the newest messages in their current state, and
/// the newest log id they cover.
pub struct Fresh {
    pub events: Vec<Arc<SharedEvent>>,
    pub head: Option<MessageId>,
}

/// How a room's replay will be served, decided under the hub's lock.
pub enum Plan {
    /// A resume from the cache.
    Ready(ReplayStart),
    /// A fresh start from the cache (a backend whose cache may lag reads it
    /// from the store, and uses this when it stands at the same head).
    Fresh(Fresh),
    /// From the store: place `from` there (a resume older than the cache,
    /// or any resume when the cache may lag); without it, or when it cannot
    /// be placed, start fresh with `fresh`, or (`None`: the cache holds too
    /// few live messages) with a fresh replay read from the store.
    CheckStore {
        from: Option<MessageId>,
        fresh: Option<Fresh>,
    },
}

/// How a room's replay starts.
pub struct ReplayStart {
    /// The entries to replay, oldest first.
    pub replay: ReplayStream,
    /// Whether they resume from the requested id.
    pub resumed: bool,
    /// That id, when resumed.
    pub from: Option<MessageId>,
    /// On a fresh start: the newest log id the replay covers.
    pub head: Option<MessageId>,
}

impl ReplayStart {
    /// A fresh start.
    pub fn fresh(fresh: Fresh) -> Self {
        ReplayStart {
            replay: replay_of(fresh.events),
            resumed: false,
            from: None,
            head: fresh.head,
        }
    }

    /// A resume from `from` replaying `replay`.
    pub fn resumed(replay: ReplayStream, from: MessageId) -> Self {
        ReplayStart {
            replay,
            resumed: true,
            from: Some(from),
            head: None,
        }
    }
}

fn replay_of(events: Vec<Arc<SharedEvent>>) -> ReplayStream {
    stream::iter(events.into_iter().map(Ok)).boxed()
}

/// The newest `n` live messages among `entries` (a contiguous run of a
/// room's log, oldest first, up to its head), in their current state; `None`
/// when the run holds fewer and is not `complete` (older messages would be
/// missing). Messages nothing changed keep their encoded event.
pub fn fresh_of<'a>(
    entries: impl DoubleEndedIterator<Item = &'a Arc<SharedEvent>> + Clone,
    n: usize,
    complete: bool,
) -> Option<Vec<Arc<SharedEvent>>> {
    let mut deleted = HashSet::new();
    let mut changed = HashSet::new();
    let mut picked: Vec<&Arc<SharedEvent>> = Vec::new();
    if n > 0 {
        for event in entries.clone().rev() {
            match event.log_entry() {
                Some(EntryKind::Message(m)) if !deleted.contains(&m.id) => {
                    picked.push(event);
                    if picked.len() == n {
                        break;
                    }
                }
                Some(EntryKind::Message(_)) => {}
                Some(EntryKind::Delete(d)) => {
                    deleted.insert(d.id);
                }
                Some(other) => {
                    changed.insert(other.message_id());
                }
                None => {}
            }
        }
    }
    if picked.len() < n && !complete {
        return None;
    }
    picked.reverse();
    Some(
        picked
            .into_iter()
            .map(|event| {
                let Some(EntryKind::Message(m)) = event.log_entry() else {
                    return event.clone();
                };
                if !changed.contains(&m.id) {
                    return event.clone();
                }
                let mut state = BTreeMap::new();
                for entry in entries.clone().filter_map(|e| e.log_entry()) {
                    if entry.message_id() == m.id {
                        log::apply(&mut state, entry);
                    }
                }
                match state.remove(&m.id) {
                    Some(current) => Arc::new(SharedEvent::message(&current, event.has_legacy())),
                    None => event.clone(),
                }
            })
            .collect(),
    )
}

impl RoomState {
    /// A room whose newest stored messages are `newest` (oldest first);
    /// `complete` when they are all the room has retained.
    pub fn new(
        queue: usize,
        cache_size: usize,
        newest: Vec<Arc<SharedEvent>>,
        complete: bool,
    ) -> Self {
        Self::with_lag(queue, cache_size, newest, complete, false)
    }

    /// [`RoomState::new`] for a backend whose cache may lag the store.
    pub fn lagging(
        queue: usize,
        cache_size: usize,
        newest: Vec<Arc<SharedEvent>>,
        complete: bool,
    ) -> Self {
        Self::with_lag(queue, cache_size, newest, complete, true)
    }

    fn with_lag(
        queue: usize,
        cache_size: usize,
        newest: Vec<Arc<SharedEvent>>,
        complete: bool,
        may_lag: bool,
    ) -> Self {
        RoomState {
            tx: broadcast::channel(queue.max(1)).0,
            last_id: newest.last().and_then(|e| e.log_id()),
            recent: newest.into(),
            complete,
            presence: HashMap::new(),
            last_used: Instant::now(),
            cache_size: cache_size.max(1),
            may_lag,
        }
    }

    /// Hands a freshly stored log entry to the room: cache it and send it to
    /// the local subscribers. Returns false (and does nothing) for an entry
    /// the room already has (at or below `last_id`).
    pub fn push_entry(&mut self, event: Arc<SharedEvent>) -> bool {
        let Some(id) = event.log_id() else {
            self.send(event);
            return true;
        };
        if self.last_id.is_some_and(|last| id <= last) {
            return false;
        }
        self.recent.push_back(event.clone());
        if self.recent.len() > self.cache_size {
            self.recent.pop_front();
            self.complete = false;
        }
        self.last_id = Some(id);
        self.last_used = Instant::now();
        self.send(event);
        true
    }

    /// Forgets the cached entries of messages retention dropped (ids up to
    /// `upto`): their change entries go with them.
    pub fn trim(&mut self, upto: MessageId) {
        let before = self.recent.len();
        self.recent
            .retain(|e| e.log_entry().is_none_or(|entry| entry.message_id() > upto));
        if self.recent.len() != before {
            self.complete = false;
        }
    }

    /// Sends an event to the local subscribers (nobody listening is fine).
    pub fn send(&self, event: Arc<SharedEvent>) {
        let _ = self.tx.send(event);
    }

    /// Counts one more local stream of `nick`; true when it is the nick's
    /// first on this node.
    pub fn add_presence(&mut self, nick: &str) -> bool {
        let count = self.presence.entry(nick.to_owned()).or_insert(0);
        *count += 1;
        *count == 1
    }

    /// Counts one local stream of `nick` less; true when it was the nick's
    /// last on this node.
    pub fn remove_presence(&mut self, nick: &str) -> bool {
        let Some(count) = self.presence.get_mut(nick) else {
            return false;
        };
        *count -= 1;
        if *count == 0 {
            self.presence.remove(nick);
            return true;
        }
        false
    }

    /// Whether the room can be dropped from memory: nobody follows it here
    /// and it was not used for `idle_for`.
    pub fn is_idle(&self, idle_for: Duration) -> bool {
        self.tx.receiver_count() == 0
            && self.presence.is_empty()
            && self.last_used.elapsed() >= idle_for
    }

    /// A fresh start from the cache, if it can serve one.
    fn fresh(&self, replay: usize) -> Option<Fresh> {
        fresh_of(self.recent.iter(), replay, self.complete).map(|events| Fresh {
            events,
            head: self.last_id,
        })
    }

    /// Where a subscriber resuming from `resume_from` (or starting fresh
    /// with `replay` messages) starts.
    pub fn plan(&self, resume_from: Option<MessageId>, replay: usize) -> Plan {
        let fresh = self.fresh(replay);
        let Some(from) = resume_from else {
            return match fresh {
                Some(fresh) => Plan::Fresh(fresh),
                None => Plan::CheckStore { from: None, fresh },
            };
        };
        let check_store = |fresh| Plan::CheckStore {
            from: Some(from),
            fresh,
        };
        let cannot_place = |fresh: Option<Fresh>| match fresh {
            Some(fresh) => Plan::Fresh(fresh),
            None => Plan::CheckStore { from: None, fresh },
        };
        if self.may_lag {
            return check_store(fresh);
        }
        if Some(from) == self.last_id {
            return Plan::Ready(ReplayStart::resumed(replay_of(Vec::new()), from));
        }
        if from == MessageId::ZERO && self.complete {
            return Plan::Ready(ReplayStart::resumed(
                replay_of(self.recent.iter().cloned().collect()),
                from,
            ));
        }
        if let Some(pos) = self.recent.iter().position(|e| e.log_id() == Some(from)) {
            return Plan::Ready(ReplayStart::resumed(
                replay_of(self.recent.iter().skip(pos + 1).cloned().collect()),
                from,
            ));
        }
        let oldest_cached = self.recent.front().and_then(|e| e.log_id());
        match oldest_cached {
            // Inside the cached range (or newer than anything stored) but not
            // an entry of this room: it cannot be placed.
            Some(oldest) if from > oldest => cannot_place(fresh),
            _ if self.complete => cannot_place(fresh),
            _ => check_store(fresh),
        }
    }
}

/// A subscriber's receiver of one room, with the nick it is present as
/// there (if any) and the subscriber's nick (if any).
pub type RoomReceiver = (
    broadcast::Receiver<Arc<SharedEvent>>,
    Option<Arc<str>>,
    Option<Arc<str>>,
);

/// The live events of several rooms' receivers as one stream, in each
/// room's order. Each receiver comes with the nick the subscriber is
/// present as in that room, if any: that nick's joins there are left out
/// (the subscriber is already in the `presence` list it got at the start);
/// and with the subscriber's nick: its own typing is left out.
pub fn live_stream(receivers: Vec<RoomReceiver>) -> LiveStream {
    let mut rooms: Vec<LiveStream> = receivers
        .into_iter()
        .map(|(rx, present_as, own_nick)| {
            BroadcastStream::new(rx)
                .filter_map(move |item| {
                    let live = match item {
                        Ok(event) => match (&event.kind, &present_as, &own_nick) {
                            (SharedKind::Join { nick }, Some(own), _) if **nick == **own => None,
                            (SharedKind::Typing { nick }, _, Some(own)) if **nick == **own => None,
                            _ => Some(Live::Event(event)),
                        },
                        Err(BroadcastStreamRecvError::Lagged(_)) => Some(Live::Lagged),
                    };
                    futures::future::ready(live)
                })
                .boxed()
        })
        .collect();
    // Most streams follow one room: no merging (and its wakers) for those.
    if rooms.len() == 1 {
        return rooms.pop().expect("one room");
    }
    stream::select_all(rooms).boxed()
}

#[cfg(test)]
mod tests {
    use hearth_proto::{Deleted, LogEntry, Message, Reaction, RoomName};

    use super::*;

    fn message(ms: u64) -> Message {
        Message::new(
            MessageId::new(ms, 0),
            RoomName::default_room(),
            "ana".into(),
            "hi".into(),
            None,
        )
    }

    fn events(ids: &[u64]) -> Vec<Arc<SharedEvent>> {
        ids.iter()
            .map(|ms| Arc::new(SharedEvent::message(&message(*ms), false)))
            .collect()
    }

    fn resumed(plan: &Plan) -> Option<bool> {
        match plan {
            Plan::Ready(start) => Some(start.resumed),
            Plan::Fresh(_) => Some(false),
            Plan::CheckStore { .. } => None,
        }
    }

    #[test]
    fn a_lagging_cache_serves_resumes_from_the_store() {
        let newer = Some(MessageId::new(9, 0));
        // Embedded: the cache is the store's head, so a newer id is unknown.
        let embedded = RoomState::new(8, 8, events(&[1, 2, 3]), false);
        assert_eq!(resumed(&embedded.plan(newer, 2)), Some(false));
        // Redis: another node may have stored it; ask the store.
        let redis = RoomState::lagging(8, 8, events(&[1, 2, 3]), false);
        assert_eq!(resumed(&redis.plan(newer, 2)), None);
        let empty = RoomState::lagging(8, 8, Vec::new(), true);
        assert_eq!(resumed(&empty.plan(newer, 2)), None);
        // Even an id the cache holds: another node may have stored more.
        assert_eq!(resumed(&redis.plan(Some(MessageId::new(2, 0)), 2)), None);
        assert_eq!(
            resumed(&embedded.plan(Some(MessageId::new(2, 0)), 2)),
            Some(true)
        );
        // A fresh start is served from the cache on both...
        assert_eq!(resumed(&redis.plan(None, 2)), Some(false));
        // ...unless it holds fewer messages than asked and not all of them.
        assert_eq!(resumed(&embedded.plan(None, 50)), None);
    }

    #[test]
    fn a_fresh_replay_shows_current_state() {
        let room = RoomName::default_room();
        let mut entries = events(&[1, 2, 3]);
        let mut edited = message(1);
        edited.text = "hi, edited".into();
        for (id, kind) in [
            (4, EntryKind::Edit(edited)),
            (
                5,
                EntryKind::Delete(Deleted {
                    room: room.clone(),
                    id: MessageId::new(2, 0),
                }),
            ),
            (
                6,
                EntryKind::Reaction(Reaction {
                    room: room.clone(),
                    id: MessageId::new(1, 0),
                    emoji: "👍".into(),
                    nick: "bo".into(),
                    added: true,
                }),
            ),
        ] {
            let id = MessageId::new(id, 0);
            entries.push(Arc::new(SharedEvent::entry(LogEntry { id, kind }, false)));
        }
        let state = RoomState::new(8, 8, entries.clone(), true);
        let Plan::Fresh(fresh) = state.plan(None, 50) else {
            panic!("served from the cache")
        };
        assert_eq!(fresh.head, Some(MessageId::new(6, 0)));
        let fresh = fresh_of(entries.iter(), 50, true).unwrap();
        let shown: Vec<_> = fresh
            .iter()
            .map(|e| match e.log_entry() {
                Some(EntryKind::Message(m)) => (m.id.ms, m.text.clone(), m.reactions.len()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(shown, [(1, "hi, edited".into(), 1), (3, "hi".into(), 0)]);
        // The unchanged message keeps its encoded event.
        assert!(Arc::ptr_eq(&fresh[1], &entries[2]));
        // One message asked: the newest live one.
        assert_eq!(fresh_of(entries.iter(), 1, false).unwrap().len(), 1);
        // Two asked of a partial cache holding them: served.
        assert_eq!(fresh_of(entries.iter(), 2, false).unwrap().len(), 2);
        assert!(fresh_of(entries.iter(), 3, false).is_none());
    }
}
