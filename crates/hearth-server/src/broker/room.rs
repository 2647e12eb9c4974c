//! Rooms as one node holds them in memory, whatever the backend: the
//! [`RoomHub`] of every loaded room, and each [`RoomState`]: the `broadcast`
//! channel its local subscribers listen on, a cache of its newest messages
//! (already encoded, so most replays and resumes encode nothing), its local
//! presence counts, and the plan for where a new subscriber starts.
//!
//! Backends own how a [`RoomState`] is loaded and fed (the embedded backend
//! from its SQLite writer thread, the Redis backend from its one pub/sub
//! relay task); both feed it through [`RoomState::push_message`], and both
//! subscribe through [`super::presence::join`] and [`live_stream`].

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use hearth_proto::{MessageId, RoomName};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use super::{BrokerError, Live, LiveStream, ReplayStream, RoomRequest, SharedEvent, SharedKind};

/// The most messages cached (encoded) per room.
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
    /// The newest messages of the room, oldest first, contiguous up to
    /// `last_id`.
    pub recent: VecDeque<Arc<SharedEvent>>,
    /// True when `recent` holds every retained message of the room.
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

/// How a room's replay will be served, decided under the hub's lock.
pub enum Plan {
    /// From the cache.
    Ready {
        events: Vec<Arc<SharedEvent>>,
        resumed: bool,
        from: Option<MessageId>,
    },
    /// The id is older than the cache: look it up in the store. `fresh` is
    /// the replay to use if it cannot be placed.
    CheckStore {
        from: MessageId,
        fresh: Vec<Arc<SharedEvent>>,
    },
}

/// How a room's replay starts: the events, whether they resume from the
/// requested id, and that id.
pub type ReplayStart = (ReplayStream, bool, Option<MessageId>);

impl Plan {
    /// The start the cache decided (`Ok`), or (`Err`) the id the store must
    /// place and the fresh replay to fall back on.
    pub fn cached_start(self) -> Result<ReplayStart, (MessageId, Vec<Arc<SharedEvent>>)> {
        match self {
            Plan::Ready {
                events,
                resumed,
                from,
            } => Ok((replay_of(events), resumed, from)),
            Plan::CheckStore { from, fresh } => Err((from, fresh)),
        }
    }
}

/// The start of a subscriber whose resume id cannot be placed: the fresh
/// replay, not resumed.
pub fn fresh_start(fresh: Vec<Arc<SharedEvent>>) -> ReplayStart {
    (replay_of(fresh), false, None)
}

fn replay_of(events: Vec<Arc<SharedEvent>>) -> ReplayStream {
    stream::iter(events.into_iter().map(Ok)).boxed()
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
            last_id: newest.last().and_then(|e| e.message_id()),
            recent: newest.into(),
            complete,
            presence: HashMap::new(),
            last_used: Instant::now(),
            cache_size: cache_size.max(1),
            may_lag,
        }
    }

    /// Hands a freshly stored message to the room: cache it and send it to
    /// the local subscribers. Returns false (and does nothing) for a message
    /// the room already has (at or below `last_id`).
    pub fn push_message(&mut self, event: Arc<SharedEvent>) -> bool {
        let Some(id) = event.message_id() else {
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

    fn newest(&self, n: usize) -> Vec<Arc<SharedEvent>> {
        let skip = self.recent.len().saturating_sub(n);
        self.recent.iter().skip(skip).cloned().collect()
    }

    /// Where a subscriber resuming from `resume_from` (or starting fresh
    /// with `replay` messages) starts.
    pub fn plan(&self, resume_from: Option<MessageId>, replay: usize) -> Plan {
        let fresh = self.newest(replay);
        if self.may_lag
            && let Some(from) = resume_from
        {
            return Plan::CheckStore { from, fresh };
        }
        let Some(from) = resume_from else {
            return Plan::Ready {
                events: fresh,
                resumed: false,
                from: None,
            };
        };
        if Some(from) == self.last_id {
            return Plan::Ready {
                events: Vec::new(),
                resumed: true,
                from: Some(from),
            };
        }
        if from == MessageId::ZERO && self.complete {
            return Plan::Ready {
                events: self.recent.iter().cloned().collect(),
                resumed: true,
                from: Some(from),
            };
        }
        if let Some(pos) = self
            .recent
            .iter()
            .position(|e| e.message_id() == Some(from))
        {
            return Plan::Ready {
                events: self.recent.iter().skip(pos + 1).cloned().collect(),
                resumed: true,
                from: Some(from),
            };
        }
        let oldest_cached = self.recent.front().and_then(|e| e.message_id());
        match oldest_cached {
            // Inside the cached range (or newer than anything stored) but not
            // a message of this room: it cannot be placed.
            Some(oldest) if from > oldest => Plan::Ready {
                events: fresh,
                resumed: false,
                from: None,
            },
            _ if self.complete => Plan::Ready {
                events: fresh,
                resumed: false,
                from: None,
            },
            _ => Plan::CheckStore { from, fresh },
        }
    }
}

/// A subscriber's receiver of one room, with the nick it is present as
/// there (if any).
pub type RoomReceiver = (broadcast::Receiver<Arc<SharedEvent>>, Option<Arc<str>>);

/// The live events of several rooms' receivers as one stream, in each
/// room's order. Each receiver comes with the nick the subscriber is
/// present as in that room, if any: that nick's joins there are left out
/// (the subscriber is already in the `presence` list it got at the start).
pub fn live_stream(receivers: Vec<RoomReceiver>) -> LiveStream {
    let mut rooms: Vec<LiveStream> = receivers
        .into_iter()
        .map(|(rx, own_nick)| {
            BroadcastStream::new(rx)
                .filter_map(move |item| {
                    let live = match item {
                        Ok(event) => match (&event.kind, &own_nick) {
                            (SharedKind::Join { nick }, Some(own)) if **nick == **own => None,
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
    use hearth_proto::{Message, RoomName};

    use super::*;

    fn events(ids: &[u64]) -> Vec<Arc<SharedEvent>> {
        ids.iter()
            .map(|ms| {
                Arc::new(SharedEvent::message(
                    &Message {
                        id: MessageId::new(*ms, 0),
                        room: RoomName::default_room(),
                        nick: "ana".into(),
                        text: "hi".into(),
                        ts: "2026-11-25T00:00:00.000Z".into(),
                        client_id: None,
                    },
                    false,
                ))
            })
            .collect()
    }

    #[test]
    fn a_lagging_cache_serves_resumes_from_the_store() {
        let newer = Some(MessageId::new(9, 0));
        // Embedded: the cache is the store's head, so a newer id is unknown.
        let embedded = RoomState::new(8, 8, events(&[1, 2, 3]), false);
        assert!(matches!(
            embedded.plan(newer, 50),
            Plan::Ready { resumed: false, .. }
        ));
        // Redis: another node may have stored it; ask the store.
        let redis = RoomState::lagging(8, 8, events(&[1, 2, 3]), false);
        assert!(matches!(redis.plan(newer, 50), Plan::CheckStore { .. }));
        let empty = RoomState::lagging(8, 8, Vec::new(), true);
        assert!(matches!(empty.plan(newer, 50), Plan::CheckStore { .. }));
        // Even an id the cache holds: another node may have stored more.
        assert!(matches!(
            redis.plan(Some(MessageId::new(2, 0)), 50),
            Plan::CheckStore { .. }
        ));
        assert!(matches!(
            embedded.plan(Some(MessageId::new(2, 0)), 50),
            Plan::Ready { resumed: true, .. }
        ));
        // A fresh start is served from the cache on both.
        assert!(matches!(
            redis.plan(None, 50),
            Plan::Ready { resumed: false, .. }
        ));
    }
}
