//! What the Redis backend keeps in Redis: the key names, and the Lua scripts
//! that change them. Every change that must be atomic across nodes (store a
//! message and its idempotency key and announce it; join or leave a room's
//! presence and announce it) is one script, so Redis runs it as one step.
//!
//! Keys (`P` is the configured prefix, `hearth` by default):
//!
//! | key | type | what |
//! |---|---|---|
//! | `P:room:{room}` | stream | the room's messages; entry id = message id; fields `nick`, `text`, `cid` |
//! | `P:trimmed:{room}` | string | set once retention trimmed the stream (a resume from `0-0` is then not complete) |
//! | `P:rooms` | set | every room that exists |
//! | `P:last-id` | string | the newest message id of any room (ids are one sequence) |
//! | `P:idem:{session}:{client_id}` | string, TTL 48 h | the message a session stored under that `client_id` (JSON) |
//! | `P:presence:{room}` | sorted set | `node|nick` members, score = when the node's claim expires (ms) |
//! | `P:online:{room}` | hash | nick → how many nodes have it online |
//! | `P:events` | pub/sub channel | every stored message and presence change, as JSON (see [`Note`]) |

use redis::Script;
use serde::Deserialize;

/// The key and channel names, under one prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Keys {
            prefix: prefix.to_owned(),
        }
    }

    pub fn stream(&self, room: &str) -> String {
        format!("{}:room:{room}", self.prefix)
    }

    pub fn trimmed(&self, room: &str) -> String {
        format!("{}:trimmed:{room}", self.prefix)
    }

    pub fn last_id(&self) -> String {
        format!("{}:last-id", self.prefix)
    }

    pub fn rooms(&self) -> String {
        format!("{}:rooms", self.prefix)
    }

    pub fn idempotency(&self, session: &str, client_id: &str) -> String {
        format!("{}:idem:{session}:{client_id}", self.prefix)
    }

    pub fn presence(&self, room: &str) -> String {
        format!("{}:presence:{room}", self.prefix)
    }

    pub fn online(&self, room: &str) -> String {
        format!("{}:online:{room}", self.prefix)
    }

    pub fn channel(&self) -> String {
        format!("{}:events", self.prefix)
    }
}

/// One announcement on the events channel.
#[derive(Debug, Deserialize)]
#[serde(tag = "k")]
pub enum Note {
    /// A message was stored.
    #[serde(rename = "m")]
    Message {
        room: String,
        id: String,
        nick: String,
        text: String,
        /// `""` when the post had no `client_id`.
        cid: String,
    },
    /// A nick came online in a room (on its first node).
    #[serde(rename = "j")]
    Join { room: String, nick: String },
    /// A nick went offline in a room (on its last node).
    #[serde(rename = "l")]
    Leave { room: String, nick: String },
}

/// Stores a post unless the session already stored one with this
/// `client_id`.
///
/// The id is the next of one sequence for all rooms (`P:last-id`), so ids
/// are unique across rooms and increase in the order messages are stored,
/// as on the embedded backend (a stream's own `*` ids are only unique per
/// stream).
///
/// KEYS: stream, trimmed flag, rooms set, idempotency key (named `-:-`
/// when there is no `client_id`), last id. ARGV: room, nick, text, client_id (or `""`),
/// retention, idempotency TTL in seconds, channel.
///
/// Returns `{"created", id}`, `{"repeated", json}` (the original message as
/// stored in the idempotency key) or `{"conflict", room}`.
pub fn post() -> Script {
    Script::new(
        r#"
local room, nick, text, cid = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if cid ~= '' then
  local previous = redis.call('GET', KEYS[4])
  if previous then
    local original = cjson.decode(previous)
    if original.room ~= room then
      return {'conflict', original.room}
    end
    return {'repeated', previous}
  end
end
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local seq = 0
local last = redis.call('GET', KEYS[5])
if last then
  local dash = string.find(last, '-', 1, true)
  local last_ms = tonumber(string.sub(last, 1, dash - 1))
  if last_ms >= ms then
    ms = last_ms
    seq = tonumber(string.sub(last, dash + 1)) + 1
  end
end
local id = string.format('%.0f-%.0f', ms, seq)
redis.call('SET', KEYS[5], id)
local before = redis.call('XLEN', KEYS[1])
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[5], id,
  'nick', nick, 'text', text, 'cid', cid)
if redis.call('XLEN', KEYS[1]) <= before then
  redis.call('SET', KEYS[2], '1')
end
redis.call('SADD', KEYS[3], room)
local note = cjson.encode({k = 'm', room = room, id = id, nick = nick, text = text, cid = cid})
if cid ~= '' then
  redis.call('SET', KEYS[4], note, 'EX', ARGV[6])
end
redis.call('PUBLISH', ARGV[7], note)
return {'created', id}
"#,
    )
}

/// Claims (or renews the claim) that `nick` is online in a room on this
/// node until now + TTL; announces a join when it is the nick's first node.
///
/// KEYS: presence zset, online hash. ARGV: room, nick, node, TTL in ms,
/// channel. Returns 1 when the claim is new.
pub fn presence_touch() -> Script {
    Script::new(
        r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local member = ARGV[3] .. '|' .. ARGV[2]
local added = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), member)
if added == 1 and redis.call('HINCRBY', KEYS[2], ARGV[2], 1) == 1 then
  redis.call('PUBLISH', ARGV[5], cjson.encode({k = 'j', room = ARGV[1], nick = ARGV[2]}))
end
return added
"#,
    )
}

/// Drops this node's claim on `nick` in a room; announces a leave when no
/// node has the nick online any more.
///
/// KEYS: presence zset, online hash. ARGV: room, nick, node, channel.
pub fn presence_leave() -> Script {
    Script::new(
        r#"
local member = ARGV[3] .. '|' .. ARGV[2]
if redis.call('ZREM', KEYS[1], member) == 1 then
  if redis.call('HINCRBY', KEYS[2], ARGV[2], -1) <= 0 then
    redis.call('HDEL', KEYS[2], ARGV[2])
    redis.call('PUBLISH', ARGV[4], cjson.encode({k = 'l', room = ARGV[1], nick = ARGV[2]}))
  end
end
return 1
"#,
    )
}

/// Drops the expired claims of a room (nodes that died or lost Redis) and
/// announces the leaves. Returns the online count that remains.
///
/// KEYS: presence zset, online hash. ARGV: room, channel.
pub fn presence_reap() -> Script {
    Script::new(
        r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, member in ipairs(expired) do
  redis.call('ZREM', KEYS[1], member)
  local bar = string.find(member, '|', 1, true)
  local nick = string.sub(member, bar + 1)
  if redis.call('HINCRBY', KEYS[2], nick, -1) <= 0 then
    redis.call('HDEL', KEYS[2], nick)
    redis.call('PUBLISH', ARGV[2], cjson.encode({k = 'l', room = ARGV[1], nick = nick}))
  end
end
return redis.call('HLEN', KEYS[2])
"#,
    )
}
