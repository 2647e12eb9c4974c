//! The relay: the node's one pub/sub subscription, and the one task that
//! feeds the node's in-memory rooms.
//!
//! It subscribes to the events channel, then catches every loaded room up
//! from its stream (so nothing published while it was not subscribed is
//! missed), then applies notes as they come. Room loads run here too, between
//! notes, so a room is never loaded past a note the relay then skips, or
//! before one it then misses. A ping every few seconds finds a connection
//! that died silently. When the subscription is lost the node is not live
//! (`/healthz` 503, new streams refused) until it is made again and caught
//! up; open streams stay and get what they missed.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use hearth_proto::RoomName;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::Inner;
use crate::broker::BrokerError;
use crate::broker::room::{ROOM_IDLE, UNLOAD_EVERY};

/// The first wait before subscribing again; doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// How often the subscription is pinged, and how long the answer may take.
const PING_EVERY: Duration = Duration::from_secs(3);
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Work for the relay task.
pub enum RelayCommand {
    /// Load a room into memory (a subscriber is about to follow it).
    Load {
        room: RoomName,
        reply: oneshot::Sender<Result<(), BrokerError>>,
    },
}

/// Runs until `shutdown`.
pub async fn run(
    inner: Arc<Inner>,
    client: redis::Client,
    mut commands: mpsc::Receiver<RelayCommand>,
    shutdown: CancellationToken,
) {
    let channel = inner.keys.channel();
    let mut backoff = MIN_BACKOFF;
    loop {
        let subscribed = tokio::select! {
            _ = shutdown.cancelled() => return,
            result = tokio::time::timeout(PING_TIMEOUT, subscribe(&client, &channel)) => {
                match result {
                    Ok(Ok(pubsub)) => Some(pubsub),
                    Ok(Err(e)) => {
                        tracing::warn!(cause = %e, "cannot subscribe to Redis; retrying");
                        None
                    }
                    Err(_) => {
                        tracing::warn!("subscribing to Redis timed out; retrying");
                        None
                    }
                }
            }
        };
        let caught_up = match subscribed {
            Some(pubsub) => match inner.catch_up().await {
                Ok(n) => Some((pubsub, n)),
                Err(e) => {
                    tracing::warn!(cause = %e, "catching up from Redis failed; retrying");
                    None
                }
            },
            None => None,
        };
        let Some(((mut sink, mut notes), caught)) = caught_up else {
            inner.metrics.redis_errors.inc();
            inner.set_live(false);
            // Keep serving loads while waiting: they read the streams over
            // the command connection, and the catch-up covers them.
            let wait = tokio::time::sleep(backoff);
            tokio::pin!(wait);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = &mut wait => break,
                    command = commands.recv() => match command {
                        Some(command) => handle(&inner, command).await,
                        None => return,
                    },
                }
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
            continue;
        };
        backoff = MIN_BACKOFF;
        if caught > 0 {
            tracing::info!(messages = caught, "caught up from Redis");
        }
        inner.set_live(true);
        tracing::debug!("subscribed to Redis");

        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        let mut unload = tokio::time::interval(UNLOAD_EVERY);
        unload.tick().await;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                note = notes.next() => match note {
                    Some(note) => inner.on_note(note.get_payload_bytes()),
                    None => {
                        tracing::warn!("the Redis subscription ended; subscribing again");
                        break;
                    }
                },
                command = commands.recv() => match command {
                    Some(command) => handle(&inner, command).await,
                    None => return,
                },
                _ = ping.tick() => {
                    let answered = tokio::time::timeout(PING_TIMEOUT, sink.ping::<redis::Value>()).await;
                    if !matches!(answered, Ok(Ok(_))) {
                        tracing::warn!("the Redis subscription stopped answering; subscribing again");
                        break;
                    }
                }
                _ = unload.tick() => {
                    inner.hub.unload_idle(ROOM_IDLE);
                }
            }
        }
        inner.metrics.redis_errors.inc();
        inner.set_live(false);
    }
}

async fn subscribe(
    client: &redis::Client,
    channel: &str,
) -> redis::RedisResult<(redis::aio::PubSubSink, redis::aio::PubSubStream)> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    Ok(pubsub.split())
}

async fn handle(inner: &Inner, command: RelayCommand) {
    match command {
        RelayCommand::Load { room, reply } => {
            let _ = reply.send(inner.load(&room).await);
        }
    }
}
