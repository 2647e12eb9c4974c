//! The embedded backend: in-process fan-out, history in SQLite.
//!
//! - this module: the [`EmbeddedBroker`], its rooms in memory, its fan-out
//!   and its housekeeping (pruning idempotency keys, unloading idle rooms);
//! - [`store`]: the SQLite store (one writer thread, a pool of readers);
//! - [`queries`]: the store's reads; [`ids`]: assigning ids, packing them
//!   into rowids;
//! - [`nicks`]: protected nicks and revoked sessions;
//! - the search index ([`crate::search::index`]) is a table of the same
//!   database, written by the store in the transaction of each entry;
//! - [`files`]: upload records (the bytes are the file store's), the
//!   messages that share them, and the sweep of unshared ones.
//!
//! Each room has a [`RoomState`] in the node's [`RoomHub`] (see
//! [`super::room`]): a `broadcast` channel of [`SharedEvent`]s, a cache of
//! the newest log entries, and presence counts (on one node they are the room's
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
use hearth_proto::{FileId, LogEntry, Message, MessageId, Nick, RoomName, RoomSummary};
use rusqlite::Connection;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::presence::{self, JoinedRoom, Reach};
use super::room::{
    Fresh, Plan, ROOM_IDLE, ReplayStart, RoomHub, RoomState, UNLOAD_EVERY, live_stream,
};
use super::{
    Broker, BrokerError, Change, Changed, FileRecord, Post, Posted, ReplayStream, RoomStart,
    SharedEvent, SubscribeRequest, Subscription,
};
use crate::config::Config;
use crate::search::{RoomScope, SearchQuery};
use store::{Inserted, Store};

mod files;
pub(crate) mod ids;
pub use ids::now_ms;
mod nicks;
pub use nicks::EmbeddedNicks;
mod queries;
mod store;

/// Entries read from SQLite per page when a resume reaches past the cache.
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
    let newest = queries::newest_entries(conn, room, hub.cache_size)?;
    let complete = newest.len() >= meta.entries && meta.trimmed_upto.is_none();
    let legacy = *room == hub.default_room;
    Ok(RoomState::new(
        hub.queue,
        hub.cache_size,
        newest
            .into_iter()
            .map(|entry| Arc::new(SharedEvent::entry(entry, legacy)))
            .collect(),
        complete,
    ))
}

/// The commit hook: hands freshly stored log entries to their rooms, then
/// drops what retention trimmed from the rooms' caches.
fn publish(
    hub: &RoomHub,
    conn: &Connection,
    entries: &[LogEntry],
    trims: &[(RoomName, MessageId)],
) {
    let mut rooms = hub.lock();
    push_entries(hub, conn, &mut rooms, entries);
    for (room, upto) in trims {
        if let Some(state) = rooms.get_mut(room) {
            state.trim(*upto);
        }
    }
}

fn push_entries(
    hub: &RoomHub,
    conn: &Connection,
    rooms: &mut std::collections::HashMap<RoomName, RoomState>,
    entries: &[LogEntry],
) {
    let mut loaded_now: Vec<&RoomName> = Vec::new();
    for entry in entries {
        let room = entry.kind.room();
        if loaded_now.contains(&room) {
            continue;
        }
        let Some(state) = rooms.get_mut(room) else {
            loaded_now.push(room);
            // Nobody has used the room since start: load it as stored
            // (the entry included), nobody is there to receive it.
            match load_room(hub, conn, room) {
                Ok(state) => {
                    rooms.insert(room.clone(), state);
                }
                Err(e) => {
                    tracing::error!(cause = %e, %room, "loading room failed")
                }
            }
            continue;
        };
        state.push_entry(Arc::new(SharedEvent::entry(
            entry.clone(),
            *room == hub.default_room,
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
            Box::new(move |conn, entries, trims| publish(&hook_hub, conn, entries, trims)),
        )?;
        let stop = shutdown.child_token();
        tokio::spawn(housekeeping(hub.clone(), store.clone(), stop.clone()));
        Ok(Self {
            hub,
            store,
            _housekeeping: stop.drop_guard(),
        })
    }

    /// The store of protected nicks, in the same `hearth.db`.
    pub fn nicks(&self) -> EmbeddedNicks {
        EmbeddedNicks::new(self.store.clone())
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

    /// The replay of a room the cache cannot serve: a resume from an id
    /// older than the cache, or a fresh start it holds too few messages for.
    async fn resolve(
        &self,
        room: &RoomName,
        from: Option<MessageId>,
        fresh: Option<Fresh>,
        replay: usize,
    ) -> Result<ReplayStart, BrokerError> {
        if let Some(from) = from {
            let lookup_room = room.clone();
            let placed = self
                .store
                .read(move |conn| {
                    if from == MessageId::ZERO {
                        Ok(queries::room_meta(conn, &lookup_room)?
                            .trimmed_upto
                            .is_none())
                    } else {
                        queries::entry_exists(conn, &lookup_room, from)
                    }
                })
                .await?;
            if placed {
                return Ok(ReplayStart::resumed(
                    self.replay_from_store(room.clone(), from),
                    from,
                ));
            }
        }
        if let Some(fresh) = fresh {
            return Ok(ReplayStart::fresh(fresh));
        }
        let read_room = room.clone();
        let (messages, head) = self
            .store
            .read(move |conn| queries::fresh(conn, &read_room, replay))
            .await?;
        let legacy = *room == self.hub.default_room;
        Ok(ReplayStart::fresh(Fresh {
            events: messages
                .iter()
                .map(|m| Arc::new(SharedEvent::message(m, legacy)))
                .collect(),
            head,
        }))
    }

    /// The room's online nicks when `text` may mention someone (one node:
    /// its presence is the room's).
    fn online_for(&self, room: &RoomName, text: &str) -> Vec<String> {
        if !text.contains('@') {
            return Vec::new();
        }
        self.hub
            .lock()
            .get(room)
            .map(|state| state.presence.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Every retained entry after `from`, read page by page.
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
                    .read(move |conn| queries::entries_after(conn, &room, after, REPLAY_PAGE))
                    .await?;
                if page.is_empty() {
                    return Ok(None);
                }
                let next = (page.len() == REPLAY_PAGE).then(|| page.last().expect("page").id);
                let events: Vec<Result<Arc<SharedEvent>, BrokerError>> = page
                    .into_iter()
                    .map(|entry| Ok(Arc::new(SharedEvent::entry(entry, legacy))))
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
        let online = self.online_for(&post.room, post.text.as_str());
        match self.store.insert(post, online).await? {
            Inserted::Created(message) => Ok(Posted::Created(message)),
            Inserted::Repeated(message) => Ok(Posted::Repeated(message)),
            Inserted::Conflict(room) => Err(BrokerError::ClientIdReused { room }),
            Inserted::BadReply => Err(BrokerError::BadReply),
            Inserted::BadFiles(refusal) => Err(BrokerError::BadFiles(refusal)),
        }
    }

    async fn change(&self, change: Change) -> Result<Changed, BrokerError> {
        let online = match &change.what {
            super::ChangeKind::Edit(text) => self.online_for(&change.room, text.as_str()),
            _ => Vec::new(),
        };
        self.store.change(change, online).await
    }

    async fn typing(&self, room: &RoomName, nick: &Nick) -> Result<(), BrokerError> {
        // A room nobody follows here is not loaded: nobody to tell.
        if let Some(state) = self.hub.lock().get(room) {
            state.send(Arc::new(SharedEvent::typing(room, nick.as_str())));
        }
        Ok(())
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
            online_here,
        } in joined.rooms
        {
            let start = match plan {
                Plan::Ready(start) => start,
                Plan::Fresh(fresh) => ReplayStart::fresh(fresh),
                Plan::CheckStore { from, fresh } => {
                    self.resolve(&room, from, fresh, request.replay).await?
                }
            };
            starts.push(RoomStart {
                room,
                replay: start.replay,
                resumed: start.resumed,
                resumed_from: start.from,
                head: start.head,
                // One node: its streams are the room's whole presence.
                online: online_here,
            });
        }
        Ok(Subscription {
            rooms: starts,
            replay: request.replay,
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

    async fn history_after(
        &self,
        room: &RoomName,
        after: MessageId,
        limit: usize,
    ) -> Result<Vec<Message>, BrokerError> {
        let room = room.clone();
        self.store
            .read(move |conn| queries::messages_after(conn, &room, after, limit))
            .await
    }

    async fn search(
        &self,
        query: &SearchQuery,
        rooms: &RoomScope,
        before: Option<MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, BrokerError> {
        let query = query.clone();
        let rooms = rooms.clone();
        self.store
            .read(move |conn| queries::search(conn, &query, &rooms, before, limit))
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
                    dm: None,
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

    async fn add_file(&self, file: FileRecord) -> Result<(), BrokerError> {
        // On the writer, so it is committed (and synced) before answering.
        self.store
            .on_writer(move |conn| files::insert(conn, &file))
            .await?
            .map_err(|e| BrokerError::Unavailable(format!("storing an upload record: {e}")))
    }

    async fn file(&self, id: &FileId) -> Result<Option<FileRecord>, BrokerError> {
        let id = id.clone();
        self.store.read(move |conn| files::get(conn, &id)).await
    }

    async fn file_rooms(&self, id: &FileId) -> Result<Vec<RoomName>, BrokerError> {
        let id = id.clone();
        self.store.read(move |conn| files::rooms(conn, &id)).await
    }

    async fn sweep_files(&self, cutoff_ms: i64) -> Result<Vec<FileId>, BrokerError> {
        self.store
            .on_writer(move |conn| files::sweep(conn, cutoff_ms))
            .await?
            .map_err(|e| BrokerError::Unavailable(format!("sweeping upload records: {e}")))
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
            reply_to: None,
            files: Vec::new(),
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
        assert_eq!(replayed[0].as_ref().unwrap().log_id(), Some(second.id));
    }
}
