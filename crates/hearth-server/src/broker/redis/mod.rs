//! The Redis backend: many server nodes share rooms through one Redis (≥ 6.2)
//! or Valkey.
//!
//! - **Messages** are appended to a per-room Redis Stream by one Lua script
//!   ([`scripts::post`]) that also checks and records the idempotency key
//!   and publishes the message on the events channel, atomically. The
//!   stream entry id *is* the message id (`<ms>-<seq>`), on every node, so a
//!   `Last-Event-ID` from one node resumes on any other. Retention is
//!   exact: `XADD … MAXLEN retention`.
//! - **Live fan-out**: each node holds exactly one pub/sub subscription, on
//!   the events channel, read by one task ([`relay`]); it feeds the node's
//!   in-memory rooms ([`super::room`]), whose `broadcast` channels reach the
//!   node's SSE subscribers. Never one Redis connection per client.
//!   Pub/sub stores nothing, so whenever the subscription is (re)made the
//!   relay reads every loaded room's stream after the last id it has
//!   (catch-up): a Redis restart or a dropped connection loses nothing.
//! - **Replays** are read from Redis, since the relay may be a moment behind
//!   it: a resume reads the stream after its id; a fresh start reads its
//!   newest entries and takes the head (`ready.last_id`) from that same
//!   reply. Either way the replay holds every message acknowledged before
//!   the stream was asked for.
//! - **Presence** is a per-room sorted set of `node|nick` claims that expire
//!   unless the node renews them (every `presence_ttl / 3`), plus a hash of
//!   how many nodes have each nick; a node that dies drops its users within
//!   `presence_ttl` plus one renewal.
//! - **Idempotency**: `client_id` per session, kept in Redis for 48 hours,
//!   so a retry that lands on another node is answered from the record.
//!
//! While Redis cannot be reached a post fails with `503` (never a `201` for
//! a message that is not stored), `/healthz` answers `503`, new streams are
//! refused with `503`, and open streams stay open and catch up when it
//! returns. The command connection is a redis-rs `ConnectionManager`, which
//! reconnects by itself.

mod relay;
pub mod scripts;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt, stream};
use hearth_proto::{Message, MessageId, Nick, RoomName, RoomSummary};
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use super::presence::{self, ClusterPresence, JoinedRoom, Reach};
use super::room::{Plan, RoomHub, RoomState, live_stream};
use super::{
    Broker, BrokerError, IDEMPOTENCY_TTL, Post, Posted, ReplayStream, RoomStart, SharedEvent,
    SubscribeRequest, Subscription,
};
use crate::config::RedisConfig;
use crate::metrics::Metrics;
use relay::RelayCommand;
use scripts::{Keys, Note};

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

/// A message stream entry: id and fields.
type Entry = (String, HashMap<String, String>);

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
    touch_script: redis::Script,
    leave_script: redis::Script,
    reap_script: redis::Script,
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
            touch_script: scripts::presence_touch(),
            leave_script: scripts::presence_leave(),
            reap_script: scripts::presence_reap(),
        });
        tokio::spawn(relay::run(
            inner.clone(),
            client,
            relay_rx,
            shutdown.clone(),
        ));
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

    fn shared_event(&self, message: &Message) -> Arc<SharedEvent> {
        Arc::new(SharedEvent::message(
            message,
            message.room == self.hub.default_room,
        ))
    }

    /// Loads a room into memory from its stream (on the relay task, which is
    /// the only one that feeds rooms, so nothing published meanwhile is
    /// missed: the relay applies it after this, skipping what the load
    /// already has).
    async fn load(&self, room: &RoomName) -> Result<(), BrokerError> {
        if self.hub.lock().contains_key(room) {
            return Ok(());
        }
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
            .filter_map(|entry| message_of(room, entry))
            .map(|m| self.shared_event(&m))
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
                for message in page {
                    after = Some(message.id);
                    let event = self.shared_event(&message);
                    if let Some(state) = self.hub.lock().get_mut(&room)
                        && state.push_message(event)
                    {
                        caught += 1;
                    }
                }
                if !full {
                    break;
                }
            }
        }
        Ok(caught)
    }

    /// Up to [`PAGE`] messages of `room` after `after` (all from the start
    /// when `None`).
    async fn entries_after(
        &self,
        room: &RoomName,
        after: Option<MessageId>,
    ) -> Result<Vec<Message>, BrokerError> {
        let start = after.map_or_else(|| "-".to_owned(), |id| format!("({id}"));
        let mut conn = self.conn.clone();
        let entries: Vec<Entry> = conn
            .xrange_count(self.keys.stream(room.as_str()), start, "+", PAGE)
            .await
            .map_err(|e| self.unavailable("reading a room", e))?;
        Ok(entries
            .into_iter()
            .filter_map(|entry| message_of(room, entry))
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
            } => {
                let (Ok(room), Ok(id)) = (RoomName::parse(&room), id.parse::<MessageId>()) else {
                    tracing::warn!(%room, %id, "a message note with a bad room or id");
                    return;
                };
                if !self.hub.lock().contains_key(&room) {
                    return;
                }
                let message = Message {
                    id,
                    ts: id.ts(),
                    nick,
                    text,
                    client_id: (!cid.is_empty()).then_some(cid),
                    room: room.clone(),
                };
                let event = self.shared_event(&message);
                if let Some(state) = self.hub.lock().get_mut(&room) {
                    state.push_message(event);
                }
            }
            Note::Join { room, nick } => self.on_presence(&room, &nick, true),
            Note::Leave { room, nick } => self.on_presence(&room, &nick, false),
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

    /// Every retained message of `room` after `from`, read from Redis page
    /// by page; `None` when `from` cannot be placed there (then the client
    /// gets a fresh start).
    async fn replay_after(
        self: &Arc<Self>,
        room: &RoomName,
        from: MessageId,
    ) -> Result<Option<ReplayStream>, BrokerError> {
        let mut conn = self.conn.clone();
        let placed = if from == MessageId::ZERO {
            let trimmed: bool = conn
                .exists(self.keys.trimmed(room.as_str()))
                .await
                .map_err(|e| self.unavailable("reading a room", e))?;
            !trimmed
        } else {
            let id = from.to_string();
            let found: Vec<Entry> = conn
                .xrange(self.keys.stream(room.as_str()), &id, &id)
                .await
                .map_err(|e| self.unavailable("reading a room", e))?;
            !found.is_empty()
        };
        if !placed {
            return Ok(None);
        }
        let inner = self.clone();
        let room = room.clone();
        let replay = stream::try_unfold(Some(from), move |cursor| {
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
                let events: Vec<Result<Arc<SharedEvent>, BrokerError>> =
                    page.iter().map(|m| Ok(inner.shared_event(m))).collect();
                Ok(Some((stream::iter(events), next)))
            }
        })
        .try_flatten()
        .boxed();
        Ok(Some(replay))
    }

    /// A fresh start in `room`: its newest `count` messages, oldest first,
    /// and the head they end at, both from one read of the room's stream.
    ///
    /// Not from the node's cache alone: the relay may not have applied a
    /// message Redis already acknowledged (posted through another node, or
    /// through this one a moment ago), and a replay read from the cache
    /// would end before it while the client may already know it was stored.
    /// Must run after the subscriber's receiver was taken: whatever Redis
    /// stores after this read then comes live, and what comes live at or
    /// below the head is what this replay already covers (the stream skips
    /// it). `cached` is the cache's fresh replay, used as is (already
    /// encoded) when it holds exactly what Redis answered.
    async fn fresh_replay(
        &self,
        room: &RoomName,
        cached: Vec<Arc<SharedEvent>>,
        count: usize,
    ) -> Result<(ReplayStream, Option<MessageId>), BrokerError> {
        let mut conn = self.conn.clone();
        // At least one entry, for the head, even when nothing is replayed.
        let newest: Vec<Entry> = conn
            .xrevrange_count(self.keys.stream(room.as_str()), "+", "-", count.max(1))
            .await
            .map_err(|e| self.unavailable("reading a room", e))?;
        let newest: Vec<Message> = newest
            .into_iter()
            .filter_map(|entry| message_of(room, entry))
            .collect();
        let head = newest.first().map(|m| m.id);
        let replayed = newest.len().min(count);
        // Both are runs of the same stream: the same length and the same
        // newest id make them the same messages.
        let cache_holds_it =
            cached.len() == replayed && cached.last().and_then(|e| e.message_id()) == head;
        let events = if cache_holds_it {
            cached
        } else {
            newest[..replayed]
                .iter()
                .rev()
                .map(|m| self.shared_event(m))
                .collect()
        };
        Ok((stream::iter(events.into_iter().map(Ok)).boxed(), head))
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

/// The message a stream entry holds (`None` for an entry that is not one).
fn message_of(room: &RoomName, (id, mut fields): Entry) -> Option<Message> {
    let id = id.parse::<MessageId>().ok()?;
    let cid = fields.remove("cid").unwrap_or_default();
    Some(Message {
        id,
        room: room.clone(),
        nick: fields.remove("nick")?,
        text: fields.remove("text")?,
        ts: id.ts(),
        client_id: (!cid.is_empty()).then_some(cid),
    })
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

#[async_trait]
impl Broker for RedisBroker {
    async fn post(&self, post: Post) -> Result<Posted, BrokerError> {
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
        let mut conn = inner.conn.clone();
        let (outcome, value): (String, String) = inner
            .post_script
            .key(inner.keys.stream(room))
            .key(inner.keys.trimmed(room))
            .key(inner.keys.rooms())
            .key(idempotency_key)
            .key(inner.keys.last_id())
            .arg(room)
            .arg(post.nick.as_str())
            .arg(post.text.as_str())
            .arg(&cid)
            .arg(inner.retention)
            .arg(IDEMPOTENCY_TTL.as_secs())
            .arg(inner.keys.channel())
            .invoke_async(&mut conn)
            .await
            .map_err(|e| inner.unavailable("storing a message", e))?;
        match outcome.as_str() {
            "created" => {
                let id = value
                    .parse::<MessageId>()
                    .map_err(|_| BrokerError::Internal(format!("Redis gave the id {value:?}")))?;
                Ok(Posted::Created(Message {
                    id,
                    room: post.room,
                    nick: post.nick.to_string(),
                    text: post.text.as_str().to_owned(),
                    ts: id.ts(),
                    client_id: (!cid.is_empty()).then_some(cid),
                }))
            }
            "repeated" => match serde_json::from_str::<Note>(&value) {
                Ok(Note::Message { id, nick, text, .. }) => {
                    let id = id.parse::<MessageId>().map_err(|_| {
                        BrokerError::Internal(format!("a stored id is not an id: {id:?}"))
                    })?;
                    Ok(Posted::Repeated(Message {
                        id,
                        room: post.room,
                        nick,
                        text,
                        ts: id.ts(),
                        client_id: Some(cid),
                    }))
                }
                _ => Err(BrokerError::Internal(format!(
                    "an idempotency record is not a message: {value:?}"
                ))),
            },
            "conflict" => Err(BrokerError::ClientIdReused {
                room: RoomName::parse(&value)
                    .map_err(|_| BrokerError::Internal(format!("bad room {value:?}")))?,
            }),
            other => Err(BrokerError::Internal(format!(
                "the post script answered {other:?}"
            ))),
        }
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
        for JoinedRoom {
            room, plan, head, ..
        } in joined.rooms
        {
            // Redis plans every resume as CheckStore, so a Ready plan is a
            // fresh start: served from Redis too, with its head.
            let (replay, resumed, resumed_from, head) = match plan {
                Plan::CheckStore { from, fresh } => match inner.replay_after(&room, from).await? {
                    Some(replay) => (replay, true, Some(from), head),
                    None => {
                        let (replay, head) =
                            inner.fresh_replay(&room, fresh, request.replay).await?;
                        (replay, false, None, head)
                    }
                },
                Plan::Ready {
                    events,
                    resumed: false,
                    ..
                } => {
                    let (replay, head) = inner.fresh_replay(&room, events, request.replay).await?;
                    (replay, false, None, head)
                }
                Plan::Ready { events, from, .. } => (
                    stream::iter(events.into_iter().map(Ok)).boxed(),
                    true,
                    from,
                    head,
                ),
            };
            // Presence is the cluster's, not this node's.
            let online = inner.online(&room).await?;
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
        let inner = &self.inner;
        let end = before.map_or_else(|| "+".to_owned(), |id| format!("({id}"));
        let mut conn = inner.conn.clone();
        let entries: Vec<Entry> = conn
            .xrevrange_count(inner.keys.stream(room.as_str()), end, "-", limit)
            .await
            .map_err(|e| inner.unavailable("reading history", e))?;
        Ok(entries
            .into_iter()
            .rev()
            .filter_map(|entry| message_of(room, entry))
            .collect())
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
}
