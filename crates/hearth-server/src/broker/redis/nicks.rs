//! Protected nicks on the Redis backend ([`crate::nicks::NickStore`]),
//! shared by every node:
//!
//! | key | type | what |
//! |---|---|---|
//! | `P:nick:{key}` | hash | a protected nick's claim: `gen`, `phc`, `nick`, `used` (ms) |
//! | `P:revoked:{sid}` | string, TTL = the token's remaining life | a signed-out session |
//! | `P:ban:{key}` | hash | a ban: `nick`, `until` (ms), `by`, `reason` |
//! | `P:bans` | set | the keys of the stored bans |
//! | `P:dm:{room}` | hash | a DM room's pair: `a_key`, `a_nick`, `b_key`, `b_nick` |
//! | `P:dms:{key}` | set | the DM rooms of a nick key |
//! | `P:ends` | channel | ended sessions ([`SessionEnd`] as JSON), for every node's streams |
//!
//! Protecting is one script (compare the generation, then write), so two
//! nodes protecting one nick at once cannot both win. Checking a request's
//! token is one round trip (`HGET` of the generation, `EXISTS` of the
//! revocation and `HGETALL` of the ban, pipelined); nothing is cached, so a protection or a sign-out
//! on one node holds on every node from the next request on.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::broker::BrokerError;
use crate::dm::{DmMember, DmRoom, DmStore};
use crate::nicks::{BanRecord, NickClaim, NickStore, SessionEnd, SessionStanding};

/// Stores the claim (`ARGV`: generation, phc, nick, used ms) if the stored
/// generation is the one before it; 1 when stored, 0 when not.
const PROTECT: &str = r"
local stored = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
if stored + 1 ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'gen', ARGV[1], 'phc', ARGV[2], 'nick', ARGV[3], 'used', ARGV[4])
return 1
";

/// Moves `used` on (`ARGV`: generation, ms) if the claim is of that
/// generation.
const TOUCH: &str = r"
if redis.call('HGET', KEYS[1], 'gen') ~= ARGV[1] then return 0 end
local used = tonumber(redis.call('HGET', KEYS[1], 'used') or '0')
if tonumber(ARGV[2]) > used then redis.call('HSET', KEYS[1], 'used', ARGV[2]) end
return 1
";

/// The Redis [`NickStore`]; cheap to clone.
#[derive(Clone)]
pub struct RedisNicks {
    conn: ConnectionManager,
    prefix: String,
    protect: redis::Script,
    touch: redis::Script,
}

fn redis_err(e: redis::RedisError) -> BrokerError {
    BrokerError::Unavailable(format!("redis (nicks): {e}"))
}

impl RedisNicks {
    pub(super) fn new(conn: ConnectionManager, prefix: &str) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
            protect: redis::Script::new(PROTECT),
            touch: redis::Script::new(TOUCH),
        }
    }

    fn claim_key(&self, key: &str) -> String {
        format!("{}:nick:{key}", self.prefix)
    }

    fn revoked_key(&self, sid: &str) -> String {
        format!("{}:revoked:{sid}", self.prefix)
    }

    fn ban_key(&self, key: &str) -> String {
        format!("{}:ban:{key}", self.prefix)
    }

    fn bans_key(&self) -> String {
        format!("{}:bans", self.prefix)
    }

    fn dm_key(&self, room: &str) -> String {
        format!("{}:dm:{room}", self.prefix)
    }

    fn dms_key(&self, key: &str) -> String {
        format!("{}:dms:{key}", self.prefix)
    }

    fn ends_channel(&self) -> String {
        format!("{}:ends", self.prefix)
    }

    /// Passes the ends other nodes announce to `ends` until `shutdown`,
    /// subscribing again (with a growing pause) whenever the subscription
    /// is lost.
    pub fn listen(
        &self,
        client: redis::Client,
        ends: broadcast::Sender<SessionEnd>,
        shutdown: CancellationToken,
    ) {
        let channel = self.ends_channel();
        tokio::spawn(async move {
            let mut pause = Duration::from_millis(50);
            loop {
                let subscribed = async {
                    let mut pubsub = client.get_async_pubsub().await?;
                    pubsub.subscribe(&channel).await?;
                    Ok::<_, redis::RedisError>(pubsub)
                };
                let pubsub = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    result = subscribed => result,
                };
                match pubsub {
                    Ok(mut pubsub) => {
                        pause = Duration::from_millis(50);
                        let mut messages = pubsub.on_message();
                        loop {
                            let message = tokio::select! {
                                _ = shutdown.cancelled() => return,
                                message = messages.next() => message,
                            };
                            let Some(message) = message else { break };
                            let Ok(payload) = message.get_payload::<String>() else {
                                continue;
                            };
                            match serde_json::from_str::<SessionEnd>(&payload) {
                                Ok(end) => {
                                    let _ = ends.send(end);
                                }
                                Err(cause) => {
                                    tracing::warn!(%cause, "an unreadable ended-session note")
                                }
                            }
                        }
                    }
                    Err(cause) => tracing::debug!(%cause, "cannot subscribe to ended sessions"),
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(Duration::from_secs(1));
            }
        });
    }
}

/// A ban from its hash (`None` for an empty or damaged one).
fn ban_from(key: &str, fields: &HashMap<String, String>) -> Option<BanRecord> {
    Some(BanRecord {
        key: key.to_owned(),
        nick: fields.get("nick")?.clone(),
        until_ms: fields.get("until")?.parse().ok()?,
        by: fields.get("by").cloned().unwrap_or_default(),
        reason: fields.get("reason").filter(|r| !r.is_empty()).cloned(),
    })
}

#[async_trait]
impl NickStore for RedisNicks {
    async fn claim(&self, key: &str) -> Result<Option<NickClaim>, BrokerError> {
        let mut conn = self.conn.clone();
        let fields: std::collections::HashMap<String, String> =
            conn.hgetall(self.claim_key(key)).await.map_err(redis_err)?;
        let field = |name: &str| fields.get(name).cloned().unwrap_or_default();
        let Some(generation) = fields.get("gen").and_then(|g| g.parse().ok()) else {
            return Ok(None);
        };
        Ok(Some(NickClaim {
            generation,
            phc: field("phc"),
            nick: field("nick"),
            used_ms: field("used").parse().unwrap_or(0),
        }))
    }

    async fn protect(&self, key: &str, claim: NickClaim) -> Result<bool, BrokerError> {
        let mut conn = self.conn.clone();
        let stored: i64 = self
            .protect
            .key(self.claim_key(key))
            .arg(claim.generation)
            .arg(&claim.phc)
            .arg(&claim.nick)
            .arg(claim.used_ms)
            .invoke_async(&mut conn)
            .await
            .map_err(redis_err)?;
        Ok(stored == 1)
    }

    async fn touch(&self, key: &str, generation: u64, now_ms: i64) -> Result<(), BrokerError> {
        let mut conn = self.conn.clone();
        let _: i64 = self
            .touch
            .key(self.claim_key(key))
            .arg(generation)
            .arg(now_ms)
            .invoke_async(&mut conn)
            .await
            .map_err(redis_err)?;
        Ok(())
    }

    async fn revoke(&self, sid: &str, exp: u64) -> Result<(), BrokerError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let ttl = exp.saturating_sub(now).max(1);
        let mut conn = self.conn.clone();
        let _: () = conn
            .set_ex(self.revoked_key(sid), 1, ttl)
            .await
            .map_err(redis_err)?;
        Ok(())
    }

    async fn standing(&self, key: &str, sid: &str) -> Result<SessionStanding, BrokerError> {
        let mut conn = self.conn.clone();
        let (generation, revoked, ban): (Option<u64>, bool, HashMap<String, String>) =
            redis::pipe()
                .hget(self.claim_key(key), "gen")
                .exists(self.revoked_key(sid))
                .hgetall(self.ban_key(key))
                .query_async(&mut conn)
                .await
                .map_err(redis_err)?;
        Ok(SessionStanding {
            generation: generation.unwrap_or(0),
            revoked,
            ban: ban_from(key, &ban),
        })
    }

    async fn ban(&self, ban: BanRecord) -> Result<(), BrokerError> {
        let mut conn = self.conn.clone();
        let ban_key = self.ban_key(&ban.key);
        let _: () = redis::pipe()
            .atomic()
            .del(&ban_key)
            .hset_multiple(
                &ban_key,
                &[
                    ("nick", ban.nick.clone()),
                    ("until", ban.until_ms.to_string()),
                    ("by", ban.by.clone()),
                    ("reason", ban.reason.clone().unwrap_or_default()),
                ],
            )
            .sadd(self.bans_key(), &ban.key)
            .query_async(&mut conn)
            .await
            .map_err(redis_err)?;
        Ok(())
    }

    async fn unban(&self, key: &str) -> Result<bool, BrokerError> {
        let mut conn = self.conn.clone();
        let (removed, _): (i64, i64) = redis::pipe()
            .atomic()
            .del(self.ban_key(key))
            .srem(self.bans_key(), key)
            .query_async(&mut conn)
            .await
            .map_err(redis_err)?;
        Ok(removed > 0)
    }

    async fn bans(&self) -> Result<Vec<BanRecord>, BrokerError> {
        let mut conn = self.conn.clone();
        let mut keys: Vec<String> = conn.smembers(self.bans_key()).await.map_err(redis_err)?;
        keys.sort();
        let mut bans = Vec::with_capacity(keys.len());
        for key in keys {
            let fields: HashMap<String, String> =
                conn.hgetall(self.ban_key(&key)).await.map_err(redis_err)?;
            bans.extend(ban_from(&key, &fields));
        }
        Ok(bans)
    }

    async fn announce(&self, end: &SessionEnd) -> Result<(), BrokerError> {
        let mut conn = self.conn.clone();
        let payload = serde_json::to_string(end).expect("an ended session serializes");
        let _: i64 = conn
            .publish(self.ends_channel(), payload)
            .await
            .map_err(redis_err)?;
        Ok(())
    }
}

/// A DM room from its hash (`None` for an empty or damaged one).
fn dm_from(fields: &HashMap<String, String>) -> Option<DmRoom> {
    let member = |k: &str, n: &str| {
        Some(DmMember {
            key: fields.get(k)?.clone(),
            nick: fields.get(n)?.clone(),
        })
    };
    Some(DmRoom::new(
        member("a_key", "a_nick")?,
        member("b_key", "b_nick")?,
    ))
}

#[async_trait]
impl DmStore for RedisNicks {
    async fn open_dm(&self, dm: &DmRoom) -> Result<(), BrokerError> {
        let mut conn = self.conn.clone();
        let [a, b] = &dm.members;
        let dm_key = self.dm_key(dm.room.as_str());
        let _: () = redis::pipe()
            .atomic()
            .hset_multiple(
                &dm_key,
                &[
                    ("a_key", &a.key),
                    ("a_nick", &a.nick),
                    ("b_key", &b.key),
                    ("b_nick", &b.nick),
                ],
            )
            .sadd(self.dms_key(&a.key), dm.room.as_str())
            .sadd(self.dms_key(&b.key), dm.room.as_str())
            .query_async(&mut conn)
            .await
            .map_err(redis_err)?;
        Ok(())
    }

    async fn dm(&self, room: &hearth_proto::RoomName) -> Result<Option<DmRoom>, BrokerError> {
        let mut conn = self.conn.clone();
        let fields: HashMap<String, String> = conn
            .hgetall(self.dm_key(room.as_str()))
            .await
            .map_err(redis_err)?;
        Ok(dm_from(&fields).filter(|dm| dm.room == *room))
    }

    async fn dms_of(&self, key: &str) -> Result<Vec<DmRoom>, BrokerError> {
        let mut conn = self.conn.clone();
        let mut rooms: Vec<String> = conn.smembers(self.dms_key(key)).await.map_err(redis_err)?;
        rooms.sort();
        let mut dms = Vec::with_capacity(rooms.len());
        for room in rooms {
            let fields: HashMap<String, String> =
                conn.hgetall(self.dm_key(&room)).await.map_err(redis_err)?;
            dms.extend(dm_from(&fields));
        }
        Ok(dms)
    }
}
