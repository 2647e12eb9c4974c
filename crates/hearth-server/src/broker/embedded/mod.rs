//! The embedded backend: in-process fan-out, history in SQLite.
//!
//! - this module: the [`EmbeddedBroker`], its rooms in memory, its fan-out
//!   and its housekeeping (pruning idempotency keys, unloading idle rooms);
//! - [`store`]: the SQLite store (one writer thread, a pool of readers);
//! - [`queries`]: the store's reads; [`ids`]: assigning ids, packing them
//!   into rowids.
//!
//! Each room has a [`RoomState`] in the node's [`RoomHub`] (see
//! [`super::room`]): a `broadcast` channel of [`SharedEvent`]s, a cache of
//! the newest messages, and presence counts (on one node they are the room's
//! whole presence: [`Reach::Node`]).
//!
//! Room states are created and filled only on the history writer thread (when
//! a room is first used, or by the commit hook), so the cache can never miss a
//! message that was committed while it was being loaded. Subscribing takes
//! the presence, the receiver and the replay under the same lock that the
//! commit hook publishes under, so a subscriber sees every message exactly
//! once. A receiver that falls `subscriber_queue` events behind gets
//! [`Live::Lagged`], and its stream ends.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt, stream};
use hearth_proto::{Message, MessageId, RoomName, RoomSummary};
use rusqlite::Connection;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::presence::{self, JoinedRoom, Reach};
use super::room::{
    ROOM_IDLE, ReplayStart, RoomHub, RoomState, UNLOAD_EVERY, fresh_start, live_stream,
};
use super::{
    Broker, BrokerError, Post, Posted, ReplayStream, RoomStart, SharedEvent, SubscribeRequest,
    Subscription,
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

/// Builds a room's state from the store. Runs on the writer thread.
fn load_room(hub: &RoomHub, conn: &Connection, room: &RoomName) -> rusqlite::Result<RoomState> {
    let meta = queries::room_meta(conn, room)?;
    let newest = queries::messages_before(conn, room, None, hub.cache_size)?;
    let legacy = *room == hub.default_room;
    Ok(RoomState::new(
        hub.queue,
        hub.cache_size,
        newest
            .iter()
            .map(|m| Arc::new(SharedEvent::message(m, legacy)))
            .collect(),
        newest.len() >= meta.count && meta.trimmed_upto.is_none(),
    ))
}

/// The commit hook: hands freshly stored messages to their rooms.
fn publish(hub: &RoomHub, conn: &Connection, messages: &[Message]) {
    let mut rooms = hub.lock();
    let mut loaded_now: Vec<&RoomName> = Vec::new();
    for message in messages {
        if loaded_now.contains(&&message.room) {
            continue;
        }
        let Some(state) = rooms.get_mut(&message.room) else {
            loaded_now.push(&message.room);
            // Nobody has used the room since start: load it as stored
            // (the message included), nobody is there to receive it.
            match load_room(hub, conn, &message.room) {
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
            message.room == hub.default_room,
        )));
    }
}

impl EmbeddedBroker {
    /// Opens the history store in `config.data_dir`, starts the writer, and
    /// spawns the housekeeping task (it prunes idempotency keys and unloads
    /// idle rooms until `shutdown` or until the broker is dropped).
    pub fn open(config: &Config, shutdown: &CancellationToken) -> anyhow::Result<Self> {
        let hub = Arc::new(RoomHub::new(
            config.subscriber_queue,
            config.retention_per_room,
        ));
        let hook_hub = hub.clone();
        let store = Store::open(
            &config.data_dir,
            config.sync,
            config.retention_per_room,
            Box::new(move |conn, messages| publish(&hook_hub, conn, messages)),
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
                let state = load_room(&hub, conn, &room)?;
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
    ) -> Result<ReplayStart, BrokerError> {
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
            return Ok(fresh_start(fresh));
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
/// many were unloaded. Runs on the writer thread, like every load, so a room
/// is never unloaded between a commit and its fan-out.
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
        self.hub
            .load_all(&request.rooms, |room| async move {
                self.ensure_loaded(&room).await
            })
            .await?;
        let joined = presence::join(&self.hub, &request, Reach::Node)?;
        let mut starts = Vec::with_capacity(joined.rooms.len());
        for JoinedRoom {
            room,
            plan,
            head,
            online_here,
        } in joined.rooms
        {
            let (replay, resumed, resumed_from) = match plan.cached_start() {
                Ok(start) => start,
                Err((from, fresh)) => self.resolve(&room, from, fresh).await?,
            };
            starts.push(RoomStart {
                room,
                replay,
                resumed,
                resumed_from,
                head,
                // One node: its streams are the room's whole presence.
                online: online_here,
            });
        }
        Ok(Subscription {
            rooms: starts,
            live: live_stream(joined.receivers),
            presence: Box::new(joined.guard),
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
    use hearth_proto::{MessageText, Nick};

    use super::*;
    use crate::broker::RoomRequest;

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
