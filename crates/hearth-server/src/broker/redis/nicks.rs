//! Protected nicks on the Redis backend ([`crate::nicks::NickStore`]),
//! shared by every node:
//!
//! | key | type | what |
//! |---|---|---|
//! | `P:nick:{key}` | hash | a protected nick's claim: `gen`, `phc`, `nick`, `used` (ms) |
//! | `P:revoked:{sid}` | string, TTL = the token's remaining life | a signed-out session |
//!
//! Protecting is one script (compare the generation, then write), so two
//! nodes protecting one nick at once cannot both win. Checking a request's
//! token is one round trip (`HGET` of the generation and `EXISTS` of the
//! revocation, pipelined); nothing is cached, so a protection or a sign-out
//! on one node holds on every node from the next request on.

use async_trait::async_trait;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;

use crate::broker::BrokerError;
use crate::nicks::{NickClaim, NickStore, SessionStanding};

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
        let (generation, revoked): (Option<u64>, bool) = redis::pipe()
            .hget(self.claim_key(key), "gen")
            .exists(self.revoked_key(sid))
            .query_async(&mut conn)
            .await
            .map_err(redis_err)?;
        Ok(SessionStanding {
            generation: generation.unwrap_or(0),
            revoked,
        })
    }
}
