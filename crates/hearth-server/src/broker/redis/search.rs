//! The node's search index on the Redis backend, and the task that feeds it.
//!
//! The relay only says which rooms changed ([`SearchFeed::touched`], for
//! every announced entry of every room, loaded or not) and when the node
//! must look at every room again ([`SearchFeed::rescan`], after the relay
//! (re)subscribed and caught up). One task ([`run`]) then reads each such
//! room's stream after the index's cursor, page by page, and applies the
//! pages to the index ([`LocalIndex`]) off the async runtime. So the relay
//! never waits for SQLite, nothing but room names is buffered however far
//! the index is behind, and a note missed while unsubscribed is read from
//! the stream anyway. The task is the index's only writer: each room's
//! entries are applied in log order.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hearth_proto::RoomName;
use redis::AsyncCommands;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use super::{Inner, PAGE};
use crate::broker::BrokerError;
use crate::search::LocalIndex;

/// How long a search waits for a node's first catch-up of its index.
const READY_WAIT: Duration = Duration::from_secs(5);
/// The wait before trying again after Redis failed.
const RETRY: Duration = Duration::from_millis(500);

/// What the relay and searches share with the feeding task.
pub struct SearchFeed {
    pub index: Arc<LocalIndex>,
    /// Rooms with entries the index may not have yet.
    dirty: std::sync::Mutex<HashSet<RoomName>>,
    /// Every room must be looked at (start, resubscription).
    everything: AtomicBool,
    wake: Notify,
    /// True once every room was caught up once.
    ready: watch::Sender<bool>,
}

impl SearchFeed {
    pub fn new() -> anyhow::Result<Self> {
        Ok(SearchFeed {
            index: Arc::new(LocalIndex::open_temporary()?),
            dirty: std::sync::Mutex::new(HashSet::new()),
            everything: AtomicBool::new(true),
            wake: Notify::new(),
            ready: watch::Sender::new(false),
        })
    }

    /// `room` has a new entry.
    pub fn touched(&self, room: &RoomName) {
        let new = self
            .dirty
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(room.clone());
        if new {
            self.wake.notify_one();
        }
    }

    /// Every room must be looked at again.
    pub fn rescan(&self) {
        self.everything.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Waits (a little) until the index caught up with every room once.
    pub async fn wait_ready(&self) -> Result<(), BrokerError> {
        let mut ready = self.ready.subscribe();
        match tokio::time::timeout(READY_WAIT, ready.wait_for(|r| *r)).await {
            Ok(Ok(_)) => Ok(()),
            _ => Err(BrokerError::Unavailable(
                "the search index is still being built; retry".into(),
            )),
        }
    }

    fn take_dirty(&self) -> Vec<RoomName> {
        self.dirty
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .collect()
    }
}

/// Feeds the index until `shutdown`.
pub async fn run(inner: Arc<Inner>, shutdown: CancellationToken) {
    let feed = &inner.search;
    loop {
        let result = feed_once(&inner).await;
        if let Err(e) = result {
            tracing::warn!(cause = %e, "updating the search index failed; retrying");
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(RETRY) => continue,
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = feed.wake.notified() => {}
        }
    }
}

/// Catches up every dirty room (every room, when asked to); a room that
/// fails is dirty again.
async fn feed_once(inner: &Inner) -> Result<(), BrokerError> {
    let feed = &inner.search;
    let everything = feed.everything.swap(false, Ordering::SeqCst);
    let mut rooms = feed.take_dirty();
    if everything {
        let mut conn = inner.conn.clone();
        let names: Vec<String> = match conn.smembers(inner.keys.rooms()).await {
            Ok(names) => names,
            Err(e) => {
                feed.everything.store(true, Ordering::SeqCst);
                rooms.iter().for_each(|room| feed.touched(room));
                return Err(inner.unavailable("listing rooms", e));
            }
        };
        rooms.extend(names.iter().filter_map(|name| RoomName::parse(name).ok()));
        rooms.sort();
        rooms.dedup();
    }
    for (n, room) in rooms.iter().enumerate() {
        if let Err(e) = catch_up_room(inner, room).await {
            for room in &rooms[n..] {
                feed.touched(room);
            }
            if everything {
                feed.everything.store(true, Ordering::SeqCst);
            }
            return Err(e);
        }
    }
    if everything {
        feed.ready.send_replace(true);
    }
    Ok(())
}

/// Applies every entry of `room` after the index's cursor.
async fn catch_up_room(inner: &Inner, room: &RoomName) -> Result<(), BrokerError> {
    let index = inner.search.index.clone();
    let mut after = index
        .cursor(room)
        .map_err(|e| BrokerError::Internal(format!("search index: {e}")))?;
    loop {
        let page = inner.entries_after(room, after).await?;
        let full = page.len() == PAGE;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = Some(last.id);
        let index = index.clone();
        tokio::task::spawn_blocking(move || index.apply_all(&page))
            .await
            .map_err(|e| BrokerError::Internal(format!("search index panicked: {e}")))?
            .map_err(|e| BrokerError::Internal(format!("search index: {e}")))?;
        if !full {
            return Ok(());
        }
    }
}
