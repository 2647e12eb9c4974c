//! The embedded backend: in-process fan-out, history in SQLite.
//!
//! - this module: the [`EmbeddedBroker`], its rooms in memory and its fan-out;
//! - [`store`]: the SQLite store (one writer thread, a pool of readers);
//! - [`queries`]: the store's reads; [`ids`]: assigning ids, packing them
//!   into rowids.
//!
//! Each room has a [`RoomState`] (see [`super::room`]) in one map behind a
//! `std::sync::Mutex` (nothing awaits while it is held): a `broadcast`
//! channel of [`SharedEvent`]s, a cache of the newest messages, and presence
//! counts (on one node they are the room's whole presence).
//!
//! Room states are created and filled only on the history writer thread (when
//! a room is first used, or by the commit hook), so the cache can never miss a
//! message that was committed while it was being loaded. Subscribing takes
//! the presence, the receiver and the replay under the same lock that the
//! commit hook publishes under, so a subscriber sees every message exactly
//! once. A receiver that falls `subscriber_queue` events behind gets
//! [`Live::Lagged`], and its stream ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt, stream};
use hearth_proto::{Message, MessageId, Nick, RoomName, RoomSummary};
use rusqlite::Connection;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::room::{MAX_CACHE, Plan, ROOM_IDLE, RoomState, UNLOAD_EVERY, live_stream};
use super::{
    Broker, BrokerError, Post, Posted, ReplayStream, RoomRequest, RoomStart, SharedEvent,
    SubscribeRequest, Subscription,
};
use crate::config::Config;
use store::{Inserted, Store};

mod ids;
mod queries;
mod store;

/// Messages read from SQLite per page when a resume reaches past the cache.
const REPLAY_PAGE: usize = 256;

/// How often expired idempotency keys are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// The in-process broker.
pub struct EmbeddedBroker {
    hub: Arc<RoomHub>,
    store: Store,
    /// Stops the housekeeping task when the broker is dropped (as
    /// mini-redis's `DbDropGuard` stops its purge task); shutdown stops it
    /// too.
    _housekeeping: DropGuard,
}

struct RoomHub {
    rooms: Mutex<HashMap<RoomName, RoomState>>,
    queue: usize,
    cache_size: usize,
    default_room: RoomName,
}

impl RoomHub {
    fn lock(&self) -> MutexGuard<'_, HashMap<RoomName, RoomState>> {
        // A panic while holding the lock leaves counts that are still usable.
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Builds a room's state from the store. Runs on the writer thread.
    fn load(&self, conn: &Connection, room: &RoomName) -> rusqlite::Result<RoomState> {
        let meta = queries::room_meta(conn, room)?;
        let newest = queries::messages_before(conn, room, None, self.cache_size)?;
        let legacy = *room == self.default_room;
        Ok(RoomState::new(
            self.queue,
            self.cache_size,
            newest
                .iter()
                .map(|m| Arc::new(SharedEvent::message(m, legacy)))
                .collect(),
            newest.len() >= meta.count && meta.trimmed_upto.is_none(),
        ))
    }

    /// Drops the state of rooms nobody follows that were not used for
    /// `idle_for`. Runs on the writer thread, like every load, so a room is
    /// never unloaded between a commit and its fan-out.
    fn unload_idle(&self, idle_for: Duration) -> usize {
        let mut rooms = self.lock();
        let before = rooms.len();
        rooms.retain(|_, state| !state.is_idle(idle_for));
        before - rooms.len()
    }

    /// The commit hook: hands freshly stored messages to their rooms.
    fn publish(&self, conn: &Connection, messages: &[Message]) {
        let mut rooms = self.lock();
        let mut loaded_now: Vec<&RoomName> = Vec::new();
        for message in messages {
            if loaded_now.contains(&&message.room) {
                continue;
            }
            let Some(state) = rooms.get_mut(&message.room) else {
                loaded_now.push(&message.room);
                // Nobody has used the room since start: load it as stored
                // (the message included), nobody is there to receive it.
                match self.load(conn, &message.room) {
                    Ok(state) => {
                        rooms.insert(message.room.clone(), state);
                    }
                    Err(e) => {
                        tracing::error!(cause = %e, room = %message.room, "loading room failed")
                    }
                }
                continue;
            };
            state.push_message(Arc::new(SharedEvent::message(
                message,
                message.room == self.default_room,
            )));
        }
    }
}

/// Keeps a subscriber's nick online in its rooms until dropped.
struct PresenceGuard {
    hub: Arc<RoomHub>,
    nick: Option<Nick>,
    rooms: Vec<RoomName>,
}

impl Drop for PresenceGuard {
    fn drop(&mut self) {
        let Some(nick) = &self.nick else { return };
        let mut rooms = self.hub.lock();
        for room in &self.rooms {
            let Some(state) = rooms.get_mut(room) else {
                continue;
            };
            if state.remove_presence(nick.as_str()) {
                state.send(Arc::new(SharedEvent::presence_change(
                    room,
                    nick.as_str(),
                    false,
                )));
            }
        }
    }
}

impl EmbeddedBroker {
    /// Opens the history store in `config.data_dir`, starts the writer, and
    /// spawns the housekeeping task (it prunes idempotency keys and unloads
    /// idle rooms until `shutdown` or until the broker is dropped).
    pub fn open(config: &Config, shutdown: &CancellationToken) -> anyhow::Result<Self> {
        let hub = Arc::new(RoomHub {
            rooms: Mutex::new(HashMap::new()),
            queue: config.subscriber_queue.max(1),
            cache_size: MAX_CACHE.min(config.retention_per_room).max(1),
            default_room: RoomName::default_room(),
        });
        let hook_hub = hub.clone();
        let store = Store::open(
            &config.data_dir,
            config.sync,
            config.retention_per_room,
            Box::new(move |conn, messages| hook_hub.publish(conn, messages)),
        )?;
        let stop = shutdown.child_token();
        tokio::spawn(housekeeping(hub.clone(), store.clone(), stop.clone()));
        Ok(Self {
            hub,
            store,
            _housekeeping: stop.drop_guard(),
        })
    }

    /// Makes sure the room's state is in the map (loading it on the writer
    /// thread, which also records that the room exists).
    async fn ensure_loaded(&self, room: &RoomName) -> Result<(), BrokerError> {
        if self.hub.lock().contains_key(room) {
            return Ok(());
        }
        let hub = self.hub.clone();
        let room = room.clone();
        self.store
            .on_writer(move |conn| -> rusqlite::Result<()> {
                if hub.lock().contains_key(&room) {
                    return Ok(());
                }
                queries::ensure_room(conn, &room)?;
                let state = hub.load(conn, &room)?;
                hub.lock().insert(room, state);
                Ok(())
            })
            .await?
            .map_err(|e| BrokerError::Unavailable(format!("loading room: {e}")))
    }

    /// The replay of a room whose resume id is older than the cache.
    async fn resolve(
        &self,
        room: &RoomName,
        from: MessageId,
        fresh: Vec<Arc<SharedEvent>>,
    ) -> Result<(ReplayStream, bool, Option<MessageId>), BrokerError> {
        let lookup_room = room.clone();
        let placed = self
            .store
            .read(move |conn| {
                if from == MessageId::ZERO {
                    Ok(queries::room_meta(conn, &lookup_room)?
                        .trimmed_upto
                        .is_none())
                } else {
                    queries::message_exists(conn, &lookup_room, from)
                }
            })
            .await?;
        if !placed {
            return Ok((stream::iter(fresh.into_iter().map(Ok)).boxed(), false, None));
        }
        Ok((self.replay_from_store(room.clone(), from), true, Some(from)))
    }

    /// Every retained message after `from`, read page by page.
    fn replay_from_store(&self, room: RoomName, from: MessageId) -> ReplayStream {
        let store = self.store.clone();
        let legacy = room == self.hub.default_room;
        stream::try_unfold(Some(from), move |cursor| {
            let store = store.clone();
            let room = room.clone();
            async move {
                let Some(after) = cursor else {
                    return Ok(None);
                };
                let page = store
                    .read(move |conn| queries::messages_after(conn, &room, after, REPLAY_PAGE))
                    .await?;
                if page.is_empty() {
                    return Ok(None);
                }
                let next = (page.len() == REPLAY_PAGE).then(|| page.last().expect("page").id);
                let events: Vec<Result<Arc<SharedEvent>, BrokerError>> = page
                    .iter()
                    .map(|m| Ok(Arc::new(SharedEvent::message(m, legacy))))
                    .collect();
                Ok(Some((stream::iter(events), next)))
            }
        })
        .try_flatten()
        .boxed()
    }
}

/// Deletes expired idempotency keys every [`PRUNE_EVERY`] and unloads idle
/// rooms every [`UNLOAD_EVERY`], until `stop`.
async fn housekeeping(hub: Arc<RoomHub>, store: Store, stop: CancellationToken) {
    let mut prune = tokio::time::interval(PRUNE_EVERY);
    let mut unload = tokio::time::interval(UNLOAD_EVERY);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = prune.tick() => {
                if let Err(e) = store.prune_idempotency().await {
                    tracing::warn!(cause = %e, "pruning idempotency keys failed");
                }
            }
            _ = unload.tick() => match unload_idle_rooms(&hub, &store, ROOM_IDLE).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(rooms = n, "unloaded idle rooms"),
                Err(e) => tracing::warn!(cause = %e, "unloading idle rooms failed"),
            },
        }
    }
}

/// Unloads rooms that nobody follows and nobody used for `idle_for` (their
/// history stays in the store; the next use loads them again). Returns how
/// many were unloaded.
async fn unload_idle_rooms(
    hub: &Arc<RoomHub>,
    store: &Store,
    idle_for: Duration,
) -> Result<usize, BrokerError> {
    let hub = hub.clone();
    store.on_writer(move |_| hub.unload_idle(idle_for)).await
}

#[async_trait]
impl Broker for EmbeddedBroker {
    async fn post(&self, post: Post) -> Result<Posted, BrokerError> {
        match self.store.insert(post).await? {
            Inserted::Created(message) => Ok(Posted::Created(message)),
            Inserted::Repeated(message) => Ok(Posted::Repeated(message)),
            Inserted::Conflict(room) => Err(BrokerError::ClientIdReused { room }),
        }
    }

    async fn subscribe(&self, request: SubscribeRequest) -> Result<Subscription, BrokerError> {
        // A room can be unloaded between loading and locking (when it had
        // been idle); load again and retry.
        for attempt in 0.. {
            for RoomRequest { room, .. } in &request.rooms {
                self.ensure_loaded(room).await?;
            }
            let hub = self.hub.lock();
            if request.rooms.iter().all(|r| hub.contains_key(&r.room)) {
                break;
            }
            if attempt == 3 {
                return Err(BrokerError::Internal("rooms keep being unloaded".into()));
            }
        }
        let mut guard = PresenceGuard {
            hub: self.hub.clone(),
            nick: request.nick.clone(),
            rooms: Vec::with_capacity(request.rooms.len()),
        };
        let mut receivers = Vec::with_capacity(request.rooms.len());
        let mut plans = Vec::with_capacity(request.rooms.len());
        {
            let mut rooms = self.hub.lock();
            for RoomRequest {
                room,
                resume_from,
                present,
            } in &request.rooms
            {
                let state = rooms
                    .get_mut(room)
                    .ok_or_else(|| BrokerError::Internal(format!("room {room} not loaded")))?;
                state.last_used = Instant::now();
                let own_nick = request.nick.as_ref().filter(|_| *present);
                if let Some(nick) = own_nick {
                    guard.rooms.push(room.clone());
                    if state.add_presence(nick.as_str()) {
                        state.send(Arc::new(SharedEvent::presence_change(
                            room,
                            nick.as_str(),
                            true,
                        )));
                    }
                }
                receivers.push((state.tx.subscribe(), own_nick.map(|n| n.as_str().into())));
                let mut online: Vec<String> = state.presence.keys().cloned().collect();
                online.sort();
                plans.push((
                    room.clone(),
                    state.plan(*resume_from, request.replay),
                    state.last_id,
                    online,
                ));
            }
        }

        let mut starts = Vec::with_capacity(plans.len());
        for (room, plan, head, online) in plans {
            let (replay, resumed, resumed_from) = match plan {
                Plan::Ready {
                    events,
                    resumed,
                    from,
                } => (
                    stream::iter(events.into_iter().map(Ok)).boxed(),
                    resumed,
                    from,
                ),
                Plan::CheckStore { from, fresh } => self.resolve(&room, from, fresh).await?,
            };
            starts.push(RoomStart {
                room,
                replay,
                resumed,
                resumed_from,
                head,
                online,
            });
        }

        Ok(Subscription {
            rooms: starts,
            live: live_stream(receivers),
            presence: Box::new(guard),
        })
    }

    async fn history(
        &self,
        room: &RoomName,
        before: Option<MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, BrokerError> {
        let before = before.and_then(ids::storable_bound);
        let room = room.clone();
        self.store
            .read(move |conn| queries::messages_before(conn, &room, before, limit))
            .await
    }

    async fn rooms(&self) -> Result<Vec<RoomSummary>, BrokerError> {
        let mut stored = self.store.read(queries::all_rooms).await?;
        stored.entry(self.hub.default_room.clone()).or_insert(None);
        let rooms = self.hub.lock();
        let mut summaries: Vec<RoomSummary> = stored
            .into_iter()
            .map(|(room, stored_last)| {
                let state = rooms.get(&room);
                RoomSummary {
                    online: state.map_or(0, |s| s.presence.len()),
                    last_id: state.and_then(|s| s.last_id).or(stored_last),
                    room,
                }
            })
            .collect();
        summaries.sort_by(|a, b| a.room.cmp(&b.room));
        Ok(summaries)
    }

    async fn health(&self) -> Result<(), BrokerError> {
        self.store
            .read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())))
            .await?;
        self.store.on_writer(|_| ()).await
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;
    use hearth_proto::MessageText;

    use super::*;

    fn post(room: &RoomName, text: &str) -> Post {
        Post {
            room: room.clone(),
            nick: Nick::parse("ana").unwrap(),
            text: MessageText::parse(text).unwrap(),
            session: "s1".into(),
            client_id: None,
        }
    }

    #[tokio::test]
    async fn an_unloaded_room_loads_again_with_its_history() {
        let dir = tempfile::tempdir().unwrap();
        let broker =
            EmbeddedBroker::open(&Config::new(dir.path()), &CancellationToken::new()).unwrap();
        let room = RoomName::parse("attic").unwrap();
        let Posted::Created(first) = broker.post(post(&room, "one")).await.unwrap() else {
            panic!("stored")
        };
        let followed = broker
            .subscribe(SubscribeRequest {
                rooms: vec![RoomRequest {
                    room: room.clone(),
                    resume_from: None,
                    present: true,
                }],
                replay: 50,
                nick: Some(Nick::parse("bo").unwrap()),
            })
            .await
            .unwrap();
        // Followed rooms stay loaded, however idle.
        assert_eq!(
            unload_idle_rooms(&broker.hub, &broker.store, Duration::ZERO)
                .await
                .unwrap(),
            0
        );
        drop(followed);
        assert!(
            unload_idle_rooms(&broker.hub, &broker.store, Duration::ZERO)
                .await
                .unwrap()
                >= 1
        );
        assert!(!broker.hub.lock().contains_key(&room));

        let Posted::Created(second) = broker.post(post(&room, "two")).await.unwrap() else {
            panic!("stored")
        };
        let mut again = broker
            .subscribe(SubscribeRequest {
                rooms: vec![RoomRequest {
                    room: room.clone(),
                    resume_from: Some(first.id),
                    present: true,
                }],
                replay: 50,
                nick: None,
            })
            .await
            .unwrap();
        let start = again.rooms.remove(0);
        assert!(start.resumed);
        let replayed: Vec<_> = start.replay.collect().await;
        assert_eq!(replayed.len(), 1);
        assert_eq!(replayed[0].as_ref().unwrap().message_id(), Some(second.id));
    }
}
