//! The Redis backend: many server nodes share rooms through one Redis (≥ 6.2)
//! or Valkey.
//!
//! - **The room log** is a per-room Redis Stream holding every entry
//!   (messages, edits, deletes, reactions; fields say the kind). A message
//!   is appended by one Lua script ([`scripts::post`]) that also checks and
//!   records the idempotency key, records the message's current state (a
//!   hash per message), trims the room to its retention and publishes the
//!   message on the events channel, atomically. A change is decided in Rust
//!   ([`crate::broker::log::decide`]) on the state it read and appended by
//!   [`scripts::change`] only if that state is still current (else it reads
//!   again). The stream entry id *is* the log id (`<ms>-<seq>`), on every
//!   node, so a `Last-Event-ID` from one node resumes on any other.
//!   Retention is exact, per message: dropping a message drops its change
//!   entries (`XDEL`) with it.
//! - **Replays** are read from Redis, since the relay may be a moment behind
//!   it: a resume reads the stream after its id; a fresh start reads the
//!   room's newest messages in their current state and takes the head
//!   (`ready.last_id`) from that same script run. Either way the replay holds
//!   every entry acknowledged before the stream was asked for.
//! - **Live fan-out**: each node holds exactly one pub/sub subscription, on
//!   the events channel, read by one task ([`relay`]); it feeds the node's
//!   in-memory rooms ([`super::room`]), whose `broadcast` channels reach the
//!   node's SSE subscribers. Never one Redis connection per client.
//!   Pub/sub stores nothing, so whenever the subscription is (re)made the
//!   relay reads every loaded room's stream after the last id it has
//!   (catch-up): a Redis restart or a dropped connection loses nothing.
//! - **Presence** is a per-room sorted set of `node|nick` claims that expire
//!   unless the node renews them (every `presence_ttl / 3`), plus a hash of
//!   how many nodes have each nick; a node that dies drops its users within
//!   `presence_ttl` plus one renewal.
//! - **Idempotency**: `client_id` per session, kept in Redis for 48 hours,
//!   so a retry that lands on another node is answered from the record.
//! - **Uploads**: each upload's record (a hash per upload) and an index by
//!   age; the bytes are in the file store every node shares. A post that
//!   shares uploads checks, in its script, that each still exists and is the
//!   session's, and records the message among the upload's references; the
//!   sweep ([`scripts::sweep_files`]) forgets, in one script run per page,
//!   old uploads none of whose referring messages is retained and undeleted.
//!   Either script runs wholly before the other, so a post never keeps an
//!   upload the sweep forgot. The files a message shares travel with its
//!   other extras (`x`), so every read path shows them.
//!
//! - **Search**: each node keeps its own index (a temporary SQLite file),
//!   fed from the streams of the rooms the relay saw change (every room at
//!   start and whenever the relay caught up) by a task of its own
//!   ([`search`]). Results are read back from the
//!   message hashes, so an edit or delete the index has not seen yet is
//!   still shown right; a new message is found once the relay has it.
//!
//! While Redis cannot be reached a post fails with `503` (never a `201` for
//! a message that is not stored), `/healthz` answers `503`, new streams are
//! refused with `503`, and open streams stay open and catch up when it
//! returns. The command connection is a redis-rs `ConnectionManager`, which
//! reconnects by itself.

mod nicks;
mod relay;
pub mod scripts;
mod search;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt, stream};
use hearth_proto::{
    EntryKind, FileId, FileInfo, LogEntry, Message, MessageId, Nick, ReplyTo, RoomName,
    RoomSummary, log,
};
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use super::log::{Current, Decision, decide};
use super::presence::{self, ClusterPresence, JoinedRoom, Reach};
use super::room::{Fresh, Plan, ReplayStart, RoomHub, RoomState, live_stream};
use super::{
    Broker, BrokerError, Change, ChangeKind, Changed, FileRecord, IDEMPOTENCY_TTL, Post, Posted,
    RoomStart, SharedEvent, SubscribeRequest, Subscription,
};
use crate::broker::embedded::now_ms;
use crate::config::RedisConfig;
use crate::metrics::Metrics;
use crate::search::{RoomScope, SearchQuery};
pub use nicks::RedisNicks;
use relay::RelayCommand;
use scripts::{Keys, Note, padded};
use search::SearchFeed;

/// Entries read per `XRANGE` when replaying or catching up.
const PAGE: usize = 256;
/// How long one Redis command may take before it counts as a failure.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long connecting to Redis may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a subscriber waits for its rooms to be loaded.
const LOAD_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a new subscriber waits for the node's subscription to Redis.
const LIVE_WAIT: Duration = Duration::from_secs(3);
/// Uploads looked at per run of the sweep script (each run is one step for
/// Redis, so it stays short).
const SWEEP_PAGE: usize = 500;
/// How many times a change is decided again when the message changed
/// between reading and writing it.
const CHANGE_ATTEMPTS: usize = 16;

/// Index pages a search reads at most (each read back from Redis).
const SEARCH_ROUNDS: usize = 4;

/// A stream entry: id and fields.
type Entry = (String, HashMap<String, String>);

/// What a message stores beyond v1's fields (`x` in its stream entry, its
/// hash, its idempotency record and its note), so every read path (history,
/// replay, resume, live, a repeated post) gives the same message.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Extras {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reply_to: Option<ReplyTo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    mentions: Vec<String>,
    /// The uploads it shares, as they were when it was posted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    files: Vec<FileInfo>,
}

impl Extras {
    /// `""` for none, as the stream stores it.
    fn to_field(&self) -> String {
        if self.reply_to.is_none() && self.mentions.is_empty() && self.files.is_empty() {
            String::new()
        } else {
            serde_json::to_string(self).expect("extras serialize")
        }
    }

    /// Adds the extras of a stored `x` field to `message`.
    fn apply(field: &str, message: &mut Message) {
        if field.is_empty() {
            return;
        }
        if let Ok(extras) = serde_json::from_str::<Extras>(field) {
            message.reply_to = extras.reply_to;
            message.mentions = extras.mentions;
            message.files = extras.files;
        }
    }
}

/// The Redis broker of one node.
pub struct RedisBroker {
    inner: Arc<Inner>,
}

struct Inner {
    conn: ConnectionManager,
    keys: Keys,
    /// This node's name in presence claims (random per start).
    node: String,
    hub: Arc<RoomHub>,
    retention: usize,
    presence_ttl: Duration,
    relay: mpsc::Sender<RelayCommand>,
    /// True while the relay holds the subscription and has caught up.
    live: watch::Sender<bool>,
    metrics: Arc<Metrics>,
    post_script: redis::Script,
    change_script: redis::Script,
    read_script: redis::Script,
    migrate_script: redis::Script,
    /// Rooms whose pre-log messages are known converted ([`scripts::migrate`]).
    logged: std::sync::Mutex<std::collections::HashSet<RoomName>>,
    touch_script: redis::Script,
    leave_script: redis::Script,
    reap_script: redis::Script,
    sweep_script: redis::Script,
    /// This node's search index and what feeds it ([`search`]).
    search: SearchFeed,
}

/// Settings of a Redis broker beyond where Redis is.
pub struct RedisOptions {
    pub retention: usize,
    pub subscriber_queue: usize,
    pub presence_ttl: Duration,
}

impl RedisBroker {
    /// Starts the node's Redis broker: no connection is needed yet (the node
    /// starts while Redis is down and reports unhealthy until it is up); the
    /// relay and the presence heartbeat run until `shutdown`.
    /// The store of protected nicks, on the same Redis and connection
    /// ([`nicks`]).
    pub fn nicks(&self, key_prefix: &str) -> RedisNicks {
        RedisNicks::new(self.inner.conn.clone(), key_prefix)
    }

    pub fn open(
        config: &RedisConfig,
        options: RedisOptions,
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let client = redis::Client::open(config.url.as_str())
            // Not the URL itself: it may hold a password, and this ends up in logs.
            .map_err(|e| anyhow::anyhow!("the Redis URL is not valid: {e}"))?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), manager_config)?;
        let (relay_tx, relay_rx) = mpsc::channel(256);
        let inner = Arc::new(Inner {
            conn,
            keys: Keys::new(&config.key_prefix),
            node: format!("{:016x}", rand::random::<u64>()),
            hub: Arc::new(RoomHub::new(options.subscriber_queue, options.retention)),
            retention: options.retention.max(1),
            presence_ttl: options.presence_ttl.max(Duration::from_millis(300)),
            relay: relay_tx,
            live: watch::Sender::new(false),
            metrics,
            post_script: scripts::post(),
            change_script: scripts::change(),
            read_script: scripts::read_messages(),
            migrate_script: scripts::migrate(),
            logged: std::sync::Mutex::new(std::collections::HashSet::new()),
            touch_script: scripts::presence_touch(),
            leave_script: scripts::presence_leave(),
            reap_script: scripts::presence_reap(),
            sweep_script: scripts::sweep_files(),
            search: SearchFeed::new()?,
        });
        tokio::spawn(relay::run(
            inner.clone(),
            client,
            relay_rx,
            shutdown.clone(),
        ));
        tokio::spawn(search::run(inner.clone(), shutdown.clone()));
        tokio::spawn(heartbeat(inner.clone(), shutdown));
        Ok(RedisBroker { inner })
    }
}

impl Inner {
    /// Counts a Redis failure and turns it into a `503`.
    fn unavailable(&self, what: &str, e: impl std::fmt::Display) -> BrokerError {
        self.metrics.redis_errors.inc();
        BrokerError::Unavailable(format!("Redis: {what}: {e}"))
    }

    fn set_live(&self, live: bool) {
        self.live.send_replace(live);
        self.metrics.redis_up.set(i64::from(live));
    }

    fn is_live(&self) -> bool {
        *self.live.borrow()
    }

    /// Waits (a little) for the relay to be live: a node that just started,
    /// or is resubscribing after a blip, serves the stream instead of a 503.
    async fn wait_live(&self) -> Result<(), BrokerError> {
        let mut live = self.live.subscribe();
        match tokio::time::timeout(LIVE_WAIT, live.wait_for(|live| *live)).await {
            Ok(Ok(_)) => Ok(()),
            _ => {
                self.metrics.redis_errors.inc();
                Err(BrokerError::Unavailable(
                    "the server cannot reach Redis right now".into(),
                ))
            }
        }
    }

    fn shared_event(&self, entry: LogEntry) -> Arc<SharedEvent> {
        let legacy = *entry.kind.room() == self.hub.default_room;
        Arc::new(SharedEvent::entry(entry, legacy))
    }

    /// Loads a room into memory from its stream (on the relay task, which is
    /// the only one that feeds rooms, so nothing published meanwhile is
    /// missed: the relay applies it after this, skipping what the load
    /// already has).
    async fn load(&self, room: &RoomName) -> Result<(), BrokerError> {
        if self.hub.lock().contains_key(room) {
            return Ok(());
        }
        self.ensure_logged(room).await?;
        let mut conn = self.conn.clone();
        let (newest, length, trimmed, _): (Vec<Entry>, usize, bool, i64) = redis::pipe()
            .atomic()
            .xrevrange_count(
                self.keys.stream(room.as_str()),
                "+",
                "-",
                self.hub.cache_size,
            )
            .xlen(self.keys.stream(room.as_str()))
            .exists(self.keys.trimmed(room.as_str()))
            .sadd(self.keys.rooms(), room.as_str())
            .query_async(&mut conn)
            .await
            .map_err(|e| self.unavailable("loading a room", e))?;
        let events: Vec<Arc<SharedEvent>> = newest
            .into_iter()
            .rev()
            .filter_map(|entry| entry_of(room, entry))
            .map(|entry| self.shared_event(entry))
            .collect();
        let complete = events.len() >= length && !trimmed;
        self.hub.lock().insert(
            room.clone(),
            RoomState::lagging(self.hub.queue, self.hub.cache_size, events, complete),
        );
        Ok(())
    }

    /// Reads every loaded room's stream after the last id the node has and
    /// hands what it missed to the room (after the subscription was made or
    /// remade). Runs on the relay task.
    async fn catch_up(&self) -> Result<usize, BrokerError> {
        let rooms: Vec<(RoomName, Option<MessageId>)> = self
            .hub
            .lock()
            .iter()
            .map(|(room, state)| (room.clone(), state.last_id))
            .collect();
        let mut caught = 0;
        for (room, mut after) in rooms {
            loop {
                let page = self.entries_after(&room, after).await?;
                let full = page.len() == PAGE;
                for entry in page {
                    after = Some(entry.id);
                    let event = self.shared_event(entry);
                    if let Some(state) = self.hub.lock().get_mut(&room)
                        && state.push_entry(event)
                    {
                        caught += 1;
                    }
                }
                if !full {
                    break;
                }
            }
        }
        self.search.rescan();
        Ok(caught)
    }

    /// Up to [`PAGE`] log entries of `room` after `after` (all from the
    /// start when `None`).
    async fn entries_after(
        &self,
        room: &RoomName,
        after: Option<MessageId>,
    ) -> Result<Vec<LogEntry>, BrokerError> {
        let start = after.map_or_else(|| "-".to_owned(), |id| format!("({id}"));
        let mut conn = self.conn.clone();
        let entries: Vec<Entry> = conn
            .xrange_count(self.keys.stream(room.as_str()), start, "+", PAGE)
            .await
            .map_err(|e| self.unavailable("reading a room", e))?;
        Ok(entries
            .into_iter()
            .filter_map(|entry| entry_of(room, entry))
            .collect())
    }

    /// Applies one announcement from the events channel. Runs on the relay
    /// task.
    fn on_note(&self, payload: &[u8]) {
        let note: Note = match serde_json::from_slice(payload) {
            Ok(note) => note,
            Err(e) => {
                tracing::warn!(cause = %e, "unreadable note on the events channel");
                return;
            }
        };
        match note {
            Note::Message {
                room,
                id,
                nick,
                text,
                cid,
                x,
            } => {
                let (Ok(room), Ok(id)) = (RoomName::parse(&room), id.parse::<MessageId>()) else {
                    tracing::warn!(%room, %id, "a message note with a bad room or id");
                    return;
                };
                let mut message =
                    Message::new(id, room, nick, text, (!cid.is_empty()).then_some(cid));
                Extras::apply(&x, &mut message);
                self.on_entry(LogEntry {
                    id,
                    kind: EntryKind::Message(message),
                });
            }
            Note::Change {
                room,
                id,
                kind,
                data,
            } => {
                let (Ok(id), Some(entry)) =
                    (id.parse::<MessageId>(), EntryKind::parse(&kind, &data))
                else {
                    tracing::warn!(%room, %id, %kind, "an unreadable change note");
                    return;
                };
                self.on_entry(LogEntry { id, kind: entry });
            }
            Note::Typing { room, nick } => {
                let Ok(room) = RoomName::parse(&room) else {
                    return;
                };
                if let Some(state) = self.hub.lock().get(&room) {
                    state.send(Arc::new(SharedEvent::typing(&room, &nick)));
                }
            }
            Note::Join { room, nick } => self.on_presence(&room, &nick, true),
            Note::Leave { room, nick } => self.on_presence(&room, &nick, false),
        }
    }

    /// Hands an announced entry to its room, if loaded here.
    fn on_entry(&self, entry: LogEntry) {
        let room = entry.kind.room().clone();
        self.search.touched(&room);
        if !self.hub.lock().contains_key(&room) {
            return;
        }
        let event = self.shared_event(entry);
        if let Some(state) = self.hub.lock().get_mut(&room) {
            state.push_entry(event);
        }
    }

    /// Passes a join or leave to the room's local subscribers.
    fn on_presence(&self, room: &str, nick: &str, join: bool) {
        let Ok(room) = RoomName::parse(room) else {
            return;
        };
        if let Some(state) = self.hub.lock().get_mut(&room) {
            state.send(Arc::new(SharedEvent::presence_change(&room, nick, join)));
        }
    }

    /// Claims `nick` online in `room` on this node (announcing a join when
    /// it is new cluster-wide).
    async fn touch(&self, room: &RoomName, nick: &str) -> Result<(), BrokerError> {
        let mut conn = self.conn.clone();
        let _: i64 = self
            .touch_script
            .key(self.keys.presence(room.as_str()))
            .key(self.keys.online(room.as_str()))
            .arg(room.as_str())
            .arg(nick)
            .arg(&self.node)
            .arg(self.presence_ttl.as_millis() as u64)
            .arg(self.keys.channel())
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.unavailable("joining presence", e))?;
        Ok(())
    }

    async fn leave(&self, room: &RoomName, nick: &str) -> Result<(), BrokerError> {
        let mut conn = self.conn.clone();
        let _: i64 = self
            .leave_script
            .key(self.keys.presence(room.as_str()))
            .key(self.keys.online(room.as_str()))
            .arg(room.as_str())
            .arg(nick)
            .arg(&self.node)
            .arg(self.keys.channel())
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.unavailable("leaving presence", e))?;
        Ok(())
    }

    /// Drops expired claims in `room`; returns how many nicks are online.
    async fn reap(&self, room: &RoomName) -> Result<usize, BrokerError> {
        let mut conn = self.conn.clone();
        self.reap_script
            .key(self.keys.presence(room.as_str()))
            .key(self.keys.online(room.as_str()))
            .arg(room.as_str())
            .arg(self.keys.channel())
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.unavailable("reading presence", e))
    }

    async fn online(&self, room: &RoomName) -> Result<Vec<String>, BrokerError> {
        let mut conn = self.conn.clone();
        let mut nicks: Vec<String> = conn
            .hkeys(self.keys.online(room.as_str()))
            .await
            .map_err(|e| self.unavailable("reading presence", e))?;
        nicks.sort();
        Ok(nicks)
    }

    /// The replay of a room: from Redis, since the relay may be a moment
    /// behind it. A resume reads the stream after its id. A fresh start
    /// reads the newest messages and the head in one script run (after the
    /// subscriber's receiver was taken: whatever Redis stores later comes
    /// live, and what comes live at or below the head is what the replay
    /// covers); `cached`, the cache's fresh replay, is used as is (already
    /// encoded) when the cache stands at that same head.
    async fn resolve(
        self: &Arc<Self>,
        room: &RoomName,
        from: Option<MessageId>,
        fresh: Option<Fresh>,
        replay: usize,
    ) -> Result<ReplayStart, BrokerError> {
        if let Some(from) = from
            && self.placed(room, from).await?
        {
            return Ok(ReplayStart::resumed(self.replay_after(room, from), from));
        }
        let (messages, head) = self.read_messages(room, None, replay).await?;
        if let Some(cached) = fresh
            && cached.head == head
        {
            return Ok(ReplayStart::fresh(cached));
        }
        let legacy = *room == self.hub.default_room;
        Ok(ReplayStart::fresh(Fresh {
            events: messages
                .iter()
                .map(|m| Arc::new(SharedEvent::message(m, legacy)))
                .collect(),
            head,
        }))
    }

    /// Whether the room's log holds `from` (or, for `0-0`, all it ever had).
    async fn placed(&self, room: &RoomName, from: MessageId) -> Result<bool, BrokerError> {
        let mut conn = self.conn.clone();
        if from == MessageId::ZERO {
            let trimmed: bool = conn
                .exists(self.keys.trimmed(room.as_str()))
                .await
                .map_err(|e| self.unavailable("reading a room", e))?;
            return Ok(!trimmed);
        }
        let id = from.to_string();
        let found: Vec<Entry> = conn
            .xrange(self.keys.stream(room.as_str()), &id, &id)
            .await
            .map_err(|e| self.unavailable("reading a room", e))?;
        Ok(!found.is_empty())
    }

    /// Every retained entry of `room` after `from`, read page by page.
    fn replay_after(self: &Arc<Self>, room: &RoomName, from: MessageId) -> super::ReplayStream {
        let inner = self.clone();
        let room = room.clone();
        stream::try_unfold(Some(from), move |cursor| {
            let inner = inner.clone();
            let room = room.clone();
            async move {
                let Some(after) = cursor else {
                    return Ok(None);
                };
                let page = inner.entries_after(&room, Some(after)).await?;
                if page.is_empty() {
                    return Ok(None);
                }
                let next = (page.len() == PAGE).then(|| page.last().expect("page").id);
                let events: Vec<Result<Arc<SharedEvent>, BrokerError>> = page
                    .into_iter()
                    .map(|entry| Ok(inner.shared_event(entry)))
                    .collect();
                Ok(Some((stream::iter(events), next)))
            }
        })
        .try_flatten()
        .boxed()
    }

    /// In one step: the newest `limit` live messages of `room` before the
    /// message `before` (or the newest), oldest first, in their current
    /// state, and the room's newest log id.
    async fn read_messages(
        &self,
        room: &RoomName,
        before: Option<MessageId>,
        limit: usize,
    ) -> Result<(Vec<Message>, Option<MessageId>), BrokerError> {
        self.ensure_logged(room).await?;
        let bound = before.map_or_else(|| "+".to_owned(), |id| format!("({}", padded(id)));
        let mut conn = self.conn.clone();
        let (head, hashes): (String, Vec<Vec<String>>) = self
            .read_script
            .key(self.keys.stream(room.as_str()))
            .key(self.keys.live(room.as_str()))
            .arg(bound)
            .arg(limit)
            .arg(self.keys.message_prefix(room.as_str()))
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.unavailable("reading messages", e))?;
        let mut messages: Vec<Message> = hashes
            .into_iter()
            .filter_map(|flat| current_of(room, pairs(flat)).map(|c| c.message))
            .collect();
        messages.reverse();
        Ok((messages, head.parse().ok()))
    }

    /// A message's current state and the version it was read at (`None`:
    /// no such message).
    async fn current(
        &self,
        room: &RoomName,
        id: MessageId,
    ) -> Result<Option<(Current, String)>, BrokerError> {
        self.ensure_logged(room).await?;
        let mut conn = self.conn.clone();
        let fields: HashMap<String, String> = conn
            .hgetall(format!(
                "{}{}",
                self.keys.message_prefix(room.as_str()),
                padded(id)
            ))
            .await
            .map_err(|e| self.unavailable("reading a message", e))?;
        let version = fields.get("v").cloned().unwrap_or_default();
        Ok(current_of(room, fields).map(|c| (c, version)))
    }

    /// Makes sure the room's messages from before the room log have their
    /// hashes (once per room and node; the script itself runs once per room).
    async fn ensure_logged(&self, room: &RoomName) -> Result<(), BrokerError> {
        if self
            .logged
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(room)
        {
            return Ok(());
        }
        let name = room.as_str();
        let mut conn = self.conn.clone();
        let converted: i64 = self
            .migrate_script
            .key(self.keys.stream(name))
            .key(self.keys.ids(name))
            .key(self.keys.live(name))
            .key(self.keys.authors(name))
            .key(self.keys.logged(name))
            .arg(self.keys.message_prefix(name))
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.unavailable("converting a room", e))?;
        if converted > 0 {
            tracing::info!(%room, messages = converted, "gave older messages their log state");
        }
        self.logged
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(room.clone());
        Ok(())
    }

    /// The mentions of `text` in `room`: among the nicks online (cluster
    /// wide) and the authors of its retained messages.
    async fn mentions(&self, room: &RoomName, text: &str) -> Result<Vec<String>, BrokerError> {
        if !text.contains('@') {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        let (online, authors): (Vec<String>, Vec<String>) = redis::pipe()
            .hkeys(self.keys.online(room.as_str()))
            .hkeys(self.keys.authors(room.as_str()))
            .query_async(&mut conn)
            .await
            .map_err(|e| self.unavailable("reading nicks", e))?;
        Ok(log::mentions_folded(
            text,
            online.iter().chain(authors.iter()).map(String::as_str),
            crate::nicks::fold,
        ))
    }

    /// The fields of hashes, in order (empty for a missing hash).
    async fn hashes(&self, keys: &[String]) -> Result<Vec<HashMap<String, String>>, BrokerError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.hgetall(key);
        }
        let mut conn = self.conn.clone();
        pipe.query_async(&mut conn)
            .await
            .map_err(|e| self.unavailable("reading messages", e))
    }

    /// The records of uploads, in order (`None`: no such upload).
    async fn files(&self, ids: &[FileId]) -> Result<Vec<Option<FileRecord>>, BrokerError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.hget(self.keys.file(id.as_str()), "r");
        }
        let mut conn = self.conn.clone();
        let raw: Vec<Option<String>> = pipe
            .query_async(&mut conn)
            .await
            .map_err(|e| self.unavailable("reading uploads", e))?;
        raw.into_iter()
            .map(|json| {
                json.map(|json| {
                    serde_json::from_str(&json).map_err(|e| {
                        BrokerError::Internal(format!("an upload record is unreadable: {e}"))
                    })
                })
                .transpose()
            })
            .collect()
    }

    /// Asks the relay to load `room` and waits.
    async fn ensure_loaded(&self, room: &RoomName) -> Result<(), BrokerError> {
        if self.hub.lock().contains_key(room) {
            return Ok(());
        }
        let (reply, answer) = oneshot::channel();
        self.relay
            .send(RelayCommand::Load {
                room: room.clone(),
                reply,
            })
            .await
            .map_err(|_| BrokerError::Unavailable("the server is stopping".into()))?;
        tokio::time::timeout(LOAD_TIMEOUT, answer)
            .await
            .map_err(|_| self.unavailable("loading a room", "timed out"))?
            .map_err(|_| BrokerError::Unavailable("the server is stopping".into()))?
    }
}

/// The log entry a stream entry holds (`None` for one it cannot read).
fn entry_of(room: &RoomName, (id, mut fields): Entry) -> Option<LogEntry> {
    let id = id.parse::<MessageId>().ok()?;
    if let Some(kind) = fields.remove("k") {
        let entry = EntryKind::parse(&kind, &fields.remove("d")?)?;
        return (entry.room() == room).then_some(LogEntry { id, kind: entry });
    }
    let cid = fields.remove("cid").unwrap_or_default();
    let mut message = Message::new(
        id,
        room.clone(),
        fields.remove("nick")?,
        fields.remove("text")?,
        (!cid.is_empty()).then_some(cid),
    );
    Extras::apply(&fields.remove("x").unwrap_or_default(), &mut message);
    Some(LogEntry {
        id,
        kind: EntryKind::Message(message),
    })
}

/// A message's current state from its hash (`None` when there is none).
fn current_of(room: &RoomName, mut fields: HashMap<String, String>) -> Option<Current> {
    let deleted = fields.contains_key("del");
    if let Some(state) = fields.remove("s") {
        let message: Message = serde_json::from_str(&state).ok()?;
        return Some(Current { message, deleted });
    }
    let id = fields.remove("id")?.parse::<MessageId>().ok()?;
    let cid = fields.remove("cid").unwrap_or_default();
    let mut message = Message::new(
        id,
        room.clone(),
        fields.remove("nick")?,
        fields.remove("text")?,
        (!cid.is_empty()).then_some(cid),
    );
    Extras::apply(&fields.remove("x").unwrap_or_default(), &mut message);
    Some(Current { message, deleted })
}

/// A flat field/value list (`HGETALL` inside a script) as a map.
fn pairs(flat: Vec<String>) -> HashMap<String, String> {
    let mut map = HashMap::with_capacity(flat.len() / 2);
    let mut items = flat.into_iter();
    while let (Some(field), Some(value)) = (items.next(), items.next()) {
        map.insert(field, value);
    }
    map
}

impl ClusterPresence for Inner {
    fn left(self: Arc<Self>, nick: &Nick, rooms: Vec<RoomName>) {
        // The claim expires by itself if this cannot run (no runtime, Redis
        // down): the reaper announces the leave then.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let nick = nick.to_string();
        runtime.spawn(async move {
            for room in rooms {
                if let Err(e) = self.leave(&room, &nick).await {
                    tracing::debug!(cause = %e, %room, "leave not recorded; the claim will expire");
                }
            }
        });
    }
}

/// Renews this node's presence claims and drops expired ones (of nodes that
/// died) in the rooms it has loaded, every `presence_ttl / 3`.
async fn heartbeat(inner: Arc<Inner>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(inner.presence_ttl / 3);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let (claims, rooms): (Vec<(RoomName, String)>, Vec<RoomName>) = {
            let hub = inner.hub.lock();
            let claims = hub
                .iter()
                .flat_map(|(room, state)| {
                    state
                        .presence
                        .keys()
                        .map(|nick| (room.clone(), nick.clone()))
                })
                .collect();
            (claims, hub.keys().cloned().collect())
        };
        let renewals = claims.iter().map(|(room, nick)| inner.touch(room, nick));
        let reaps = rooms.iter().map(|room| inner.reap(room));
        let (renewed, reaped) = futures::join!(
            futures::future::join_all(renewals),
            futures::future::join_all(reaps)
        );
        if let Some(Err(e)) = renewed
            .into_iter()
            .chain(reaped.into_iter().map(|r| r.map(|_| ())))
            .find(Result::is_err)
        {
            tracing::warn!(cause = %e, "presence heartbeat failed");
        }
    }
}

impl RedisBroker {
    /// Stores a post; `between` runs after the upload records were read and
    /// before the script stores the message (a seam for tests, which put a
    /// racing sweep there).
    async fn post_between(
        &self,
        post: Post,
        between: impl std::future::Future<Output = ()>,
    ) -> Result<Posted, BrokerError> {
        let inner = &self.inner;
        let room = post.room.as_str();
        let cid = post
            .client_id
            .as_ref()
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default();
        let idempotency_key = if cid.is_empty() {
            inner.keys.idempotency("-", "-")
        } else {
            inner.keys.idempotency(&post.session, &cid)
        };
        inner.ensure_logged(&post.room).await?;
        let mut extras = Extras {
            reply_to: None,
            mentions: inner.mentions(&post.room, post.text.as_str()).await?,
            files: Vec::new(),
        };
        let reply_key = match post.reply_to {
            None => "-".to_owned(),
            Some(replied) => match inner.current(&post.room, replied).await? {
                Some((current, _)) if !current.deleted => {
                    extras.reply_to = Some(current.message.quote());
                    format!("{}{}", inner.keys.message_prefix(room), padded(replied))
                }
                _ => return Err(BrokerError::BadReply),
            },
        };
        // The records give the files' descriptions; the script checks again
        // that each still exists and is the session's, in the same step that
        // stores the message and its references (a sweep may run between).
        // One found wrong here is passed as `-`: the script refuses it after
        // its idempotency check, so a repeated post still gets its original.
        let records = inner.files(&post.files).await?;
        let mut file_keys = Vec::with_capacity(post.files.len() * 2);
        for (id, record) in post.files.iter().zip(&records) {
            match record {
                Some(record) if record.session == post.session => {
                    extras.files.push(record.info());
                    file_keys.push(inner.keys.file(id.as_str()));
                }
                _ => file_keys.push("-".to_owned()),
            }
            file_keys.push(inner.keys.file_refs(id.as_str()));
        }
        between.await;
        let x = extras.to_field();
        let mut conn = inner.conn.clone();
        let mut invocation = inner.post_script.prepare_invoke();
        invocation
            .key(inner.keys.stream(room))
            .key(inner.keys.trimmed(room))
            .key(inner.keys.rooms())
            .key(idempotency_key)
            .key(inner.keys.last_id())
            .key(inner.keys.ids(room))
            .key(inner.keys.live(room))
            .key(inner.keys.authors(room))
            .key(reply_key)
            .arg(room)
            .arg(post.nick.as_str())
            .arg(post.text.as_str())
            .arg(&cid)
            .arg(inner.retention)
            .arg(IDEMPOTENCY_TTL.as_secs())
            .arg(inner.keys.channel())
            .arg(&x)
            .arg(inner.keys.message_prefix(room))
            .arg(&post.session);
        for key in &file_keys {
            invocation.key(key);
        }
        let answer: Vec<String> = invocation
            .invoke_async(&mut conn)
            .await
            .map_err(|e| inner.unavailable("storing a message", e))?;
        let (outcome, value) = match answer.as_slice() {
            [outcome] => (outcome.as_str(), ""),
            [outcome, value] => (outcome.as_str(), value.as_str()),
            _ => {
                return Err(BrokerError::Internal(format!(
                    "the post script answered {answer:?}"
                )));
            }
        };
        match outcome {
            "created" => {
                let id = value
                    .parse::<MessageId>()
                    .map_err(|_| BrokerError::Internal(format!("Redis gave the id {value:?}")))?;
                let mut message = Message::new(
                    id,
                    post.room,
                    post.nick.to_string(),
                    post.text.as_str().to_owned(),
                    (!cid.is_empty()).then_some(cid),
                );
                Extras::apply(&x, &mut message);
                Ok(Posted::Created(message))
            }
            "repeated" => match serde_json::from_str::<Note>(value) {
                Ok(Note::Message {
                    id, nick, text, x, ..
                }) => {
                    let id = id.parse::<MessageId>().map_err(|_| {
                        BrokerError::Internal(format!("a stored id is not an id: {id:?}"))
                    })?;
                    let mut message = Message::new(id, post.room, nick, text, Some(cid));
                    Extras::apply(&x, &mut message);
                    Ok(Posted::Repeated(message))
                }
                _ => Err(BrokerError::Internal(format!(
                    "an idempotency record is not a message: {value:?}"
                ))),
            },
            "conflict" => Err(BrokerError::ClientIdReused {
                room: RoomName::parse(value)
                    .map_err(|_| BrokerError::Internal(format!("bad room {value:?}")))?,
            }),
            "bad_reply" => Err(BrokerError::BadReply),
            "bad_file" => {
                let id = value
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| post.files.get(n.wrapping_sub(1)))
                    .ok_or_else(|| {
                        BrokerError::Internal(format!("the post script answered {answer:?}"))
                    })?;
                Err(BrokerError::BadFiles(format!(
                    "files: {id} is not an upload of yours"
                )))
            }
            other => Err(BrokerError::Internal(format!(
                "the post script answered {other:?}"
            ))),
        }
    }
}

#[async_trait]
impl Broker for RedisBroker {
    async fn post(&self, post: Post) -> Result<Posted, BrokerError> {
        self.post_between(post, std::future::ready(())).await
    }

    async fn change(&self, change: Change) -> Result<Changed, BrokerError> {
        let inner = &self.inner;
        let room = change.room.as_str();
        let mentions = match &change.what {
            ChangeKind::Edit(text) => inner.mentions(&change.room, text.as_str()).await?,
            _ => Vec::new(),
        };
        for _ in 0..CHANGE_ATTEMPTS {
            let (current, version) = match inner.current(&change.room, change.id).await? {
                Some((current, version)) => (Some(current), version),
                None => (None, String::new()),
            };
            let edited_ts = MessageId::new(now_ms(), 0).ts();
            let (message, deleted, entry) =
                match decide(current, &change, edited_ts, mentions.clone())? {
                    Decision::Unchanged(message) => return Ok(Changed::Unchanged(message)),
                    Decision::Apply {
                        message,
                        deleted,
                        entry,
                    } => (message, deleted, entry),
                };
            let state = serde_json::to_string(&message).expect("messages serialize");
            let mut conn = inner.conn.clone();
            let answer: Vec<String> = inner
                .change_script
                .key(inner.keys.stream(room))
                .key(format!(
                    "{}{}",
                    inner.keys.message_prefix(room),
                    padded(change.id)
                ))
                .key(inner.keys.live(room))
                .key(inner.keys.last_id())
                .arg(room)
                .arg(inner.keys.channel())
                .arg(&version)
                .arg(entry.name())
                .arg(change.id.to_string())
                .arg(entry.data_json())
                .arg(state)
                .arg(if deleted { "1" } else { "" })
                .arg(padded(change.id))
                .invoke_async(&mut conn)
                .await
                .map_err(|e| inner.unavailable("storing a change", e))?;
            match answer.first().map(String::as_str) {
                Some("ok") => return Ok(Changed::Applied(message)),
                Some("stale") => continue,
                _ => {
                    return Err(BrokerError::Internal(format!(
                        "the change script answered {answer:?}"
                    )));
                }
            }
        }
        Err(BrokerError::Unavailable(
            "the message keeps changing; retry".into(),
        ))
    }

    async fn typing(&self, room: &RoomName, nick: &Nick) -> Result<(), BrokerError> {
        let inner = &self.inner;
        let note = serde_json::to_string(&Note::Typing {
            room: room.to_string(),
            nick: nick.to_string(),
        })
        .expect("notes serialize");
        let mut conn = inner.conn.clone();
        let _: i64 = conn
            .publish(inner.keys.channel(), note)
            .await
            .map_err(|e| inner.unavailable("announcing typing", e))?;
        Ok(())
    }

    async fn subscribe(&self, request: SubscribeRequest) -> Result<Subscription, BrokerError> {
        let inner = &self.inner;
        inner.wait_live().await?;
        inner
            .hub
            .load_all(&request.rooms, |room| async move {
                inner.ensure_loaded(&room).await
            })
            .await?;
        let cluster: Arc<dyn ClusterPresence> = inner.clone();
        let joined = presence::join(&inner.hub, &request, Reach::Cluster(cluster))?;
        if let Some(nick) = &request.nick {
            for room in &joined.first_here {
                inner.touch(room, nick.as_str()).await?;
            }
        }

        let mut starts = Vec::with_capacity(joined.rooms.len());
        for JoinedRoom { room, plan, .. } in joined.rooms {
            let start = match plan {
                Plan::Ready(start) => start,
                Plan::Fresh(fresh) => {
                    inner
                        .resolve(&room, None, Some(fresh), request.replay)
                        .await?
                }
                Plan::CheckStore { from, fresh } => {
                    inner.resolve(&room, from, fresh, request.replay).await?
                }
            };
            // Presence is the cluster's, not this node's.
            let online = inner.online(&room).await?;
            starts.push(RoomStart {
                room,
                replay: start.replay,
                resumed: start.resumed,
                resumed_from: start.from,
                head: start.head,
                online,
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
        Ok(self.inner.read_messages(room, before, limit).await?.0)
    }

    async fn history_after(
        &self,
        room: &RoomName,
        after: MessageId,
        limit: usize,
    ) -> Result<Vec<Message>, BrokerError> {
        let inner = &self.inner;
        inner.ensure_logged(room).await?;
        let mut conn = inner.conn.clone();
        let ids: Vec<String> = redis::cmd("ZRANGEBYLEX")
            .arg(inner.keys.live(room.as_str()))
            .arg(format!("({}", padded(after)))
            .arg("+")
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut conn)
            .await
            .map_err(|e| inner.unavailable("reading messages", e))?;
        let prefix = inner.keys.message_prefix(room.as_str());
        let keys: Vec<String> = ids.iter().map(|id| format!("{prefix}{id}")).collect();
        let hashes = inner.hashes(&keys).await?;
        Ok(hashes
            .into_iter()
            .filter_map(|fields| current_of(room, fields))
            .filter(|current| !current.deleted)
            .map(|current| current.message)
            .collect())
    }

    async fn search(
        &self,
        query: &SearchQuery,
        rooms: &RoomScope,
        before: Option<MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, BrokerError> {
        let inner = &self.inner;
        // A node that just started has not caught its index up yet: wait a
        // little for that, as new streams wait for the relay.
        inner.search.wait_ready().await?;
        let mut found: Vec<Message> = Vec::with_capacity(limit);
        let mut cursor = before;
        // The index may lag Redis a moment: each hit is read back in its
        // current state from Redis and checked again; hits that are gone
        // (trimmed) are dropped from the index. Rounds are bounded: a page
        // may then hold fewer than `limit` even when more exist.
        for _ in 0..SEARCH_ROUNDS {
            let want = limit - found.len();
            let index = inner.search.index.clone();
            let (q, r) = (query.clone(), rooms.clone());
            let hits = tokio::task::spawn_blocking(move || index.find(&q, &r, cursor, want))
                .await
                .map_err(|e| BrokerError::Internal(format!("search panicked: {e}")))?
                .map_err(|e| BrokerError::Internal(format!("search index: {e}")))?;
            let Some(last) = hits.last() else {
                break;
            };
            cursor = Some(last.id);
            let keys: Vec<String> = hits
                .iter()
                .map(|hit| {
                    format!(
                        "{}{}",
                        inner.keys.message_prefix(hit.room.as_str()),
                        padded(hit.id)
                    )
                })
                .collect();
            let hashes = inner.hashes(&keys).await?;
            let mut gone = Vec::new();
            for (hit, fields) in hits.iter().zip(hashes) {
                match current_of(&hit.room, fields) {
                    None => gone.push(hit.id),
                    Some(current) if current.deleted => {}
                    Some(current) if query.matches(&current.message.text) => {
                        found.push(current.message)
                    }
                    Some(_) => {}
                }
            }
            if let Err(e) = inner.search.index.forget(&gone) {
                tracing::warn!(cause = %e, "dropping trimmed messages from the search index failed");
            }
            if found.len() >= limit || hits.len() < want {
                break;
            }
        }
        Ok(found)
    }

    async fn rooms(&self) -> Result<Vec<RoomSummary>, BrokerError> {
        let inner = &self.inner;
        let mut conn = inner.conn.clone();
        let names: Vec<String> = conn
            .smembers(inner.keys.rooms())
            .await
            .map_err(|e| inner.unavailable("listing rooms", e))?;
        let mut rooms: Vec<RoomName> = names
            .iter()
            .filter_map(|name| RoomName::parse(name).ok())
            .collect();
        if !rooms.contains(&inner.hub.default_room) {
            rooms.push(inner.hub.default_room.clone());
        }
        let summaries = futures::future::try_join_all(rooms.into_iter().map(|room| async move {
            let online = inner.reap(&room).await?;
            let mut conn = inner.conn.clone();
            let newest: Vec<Entry> = conn
                .xrevrange_count(inner.keys.stream(room.as_str()), "+", "-", 1)
                .await
                .map_err(|e| inner.unavailable("listing rooms", e))?;
            let last_id = newest.first().and_then(|(id, _)| id.parse().ok());
            Ok::<_, BrokerError>(RoomSummary {
                room,
                online,
                last_id,
                dm: None,
            })
        }))
        .await?;
        let mut summaries = summaries;
        summaries.sort_by(|a, b| a.room.cmp(&b.room));
        Ok(summaries)
    }

    async fn health(&self) -> Result<(), BrokerError> {
        let inner = &self.inner;
        let mut conn = inner.conn.clone();
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(|e| inner.unavailable("ping", e))?;
        if !inner.is_live() {
            return Err(BrokerError::Unavailable(
                "the Redis subscription is down".into(),
            ));
        }
        Ok(())
    }

    async fn add_file(&self, file: FileRecord) -> Result<(), BrokerError> {
        let inner = &self.inner;
        let id = file.id.as_str();
        let record = serde_json::to_string(&file).expect("file records serialize");
        let mut conn = inner.conn.clone();
        let _: () = redis::pipe()
            .atomic()
            .hset_multiple(
                inner.keys.file(id),
                &[("r", record.as_str()), ("session", file.session.as_str())],
            )
            .ignore()
            .zadd(
                inner.keys.files(),
                scripts::file_member(file.created_ms, id),
                0,
            )
            .ignore()
            .query_async(&mut conn)
            .await
            .map_err(|e| inner.unavailable("recording an upload", e))?;
        Ok(())
    }

    async fn file(&self, id: &FileId) -> Result<Option<FileRecord>, BrokerError> {
        let mut records = self.inner.files(std::slice::from_ref(id)).await?;
        Ok(records.pop().flatten())
    }

    async fn file_rooms(&self, id: &FileId) -> Result<Vec<RoomName>, BrokerError> {
        let inner = &self.inner;
        let mut conn = inner.conn.clone();
        let messages: Vec<String> = conn
            .smembers(inner.keys.file_refs(id.as_str()))
            .await
            .map_err(|e| inner.unavailable("reading an upload's messages", e))?;
        // Members are message keys: `P:msg:{room}:{id}`.
        let prefix = format!("{}:msg:", inner.keys.prefix());
        let mut rooms: Vec<RoomName> = messages
            .iter()
            .filter_map(|key| key.strip_prefix(&prefix)?.rsplit_once(':'))
            .filter_map(|(room, _)| RoomName::parse(room).ok())
            .collect();
        rooms.sort();
        rooms.dedup();
        Ok(rooms)
    }

    async fn sweep_files(&self, cutoff_ms: i64) -> Result<Vec<FileId>, BrokerError> {
        let inner = &self.inner;
        let bound = format!("({}", scripts::file_member(cutoff_ms, ""));
        let mut cursor = "-".to_owned();
        let mut forgotten = Vec::new();
        loop {
            let mut conn = inner.conn.clone();
            let (next, ids): (String, Vec<String>) = inner
                .sweep_script
                .key(inner.keys.files())
                .arg(&bound)
                .arg(&cursor)
                .arg(SWEEP_PAGE)
                .arg(inner.keys.file(""))
                .arg(inner.keys.file_refs(""))
                .invoke_async(&mut conn)
                .await
                .map_err(|e| inner.unavailable("sweeping uploads", e))?;
            for id in ids {
                match FileId::parse(&id) {
                    Ok(id) => forgotten.push(id),
                    Err(_) => tracing::warn!(%id, "the upload index held a bad id"),
                }
            }
            if next.is_empty() {
                return Ok(forgotten);
            }
            cursor = next;
        }
    }
}
