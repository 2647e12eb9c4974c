//! What the Redis backend keeps in Redis: the key names, and the Lua scripts
//! that change them. Every change that must be atomic across nodes (store a
//! message and its idempotency key and announce it; join or leave a room's
//! presence and announce it; share an upload or sweep it) is one script, so
//! Redis runs it as one step.
//!
//! Keys (`P` is the configured prefix, `hearth` by default):
//!
//! | key | type | what |
//! |---|---|---|
//! | `P:room:{room}` | stream | the room's log: every entry, entry id = log id. A message: fields `nick`, `text`, `cid`, `x` (JSON of `reply_to` and `mentions`, or `""`); a change: `k` (`edit`, `delete`, `reaction`), `m` (the message id), `d` (the event's data JSON) |
//! | `P:msg:{room}:{padded id}` | hash | a retained message's current state: `id`, `nick`, `text`, `cid`, `x` as posted; `s` (the whole message JSON, once changed); `del` (`1` once deleted); `v` (bumped by every change); `c` (its change entries' ids) |
//! | `P:ids:{room}` | sorted set | the retained messages' padded ids (`{ms:020}-{seq:020}`, all score 0, so lexical order is id order): retention pops the oldest |
//! | `P:live:{room}` | sorted set | the padded ids of the retained messages not deleted: history and fresh replays |
//! | `P:authors:{room}` | hash | nick → how many retained messages it wrote (for mentions) |
//! | `P:logged:{room}` | string | set once the room's messages from before the room log have their hashes and set entries ([`migrate`]) |
//! | `P:trimmed:{room}` | string | set once retention trimmed the stream (a resume from `0-0` is then not complete) |
//! | `P:rooms` | set | every room that exists |
//! | `P:last-id` | string | the newest message id of any room (ids are one sequence) |
//! | `P:idem:{session}:{client_id}` | string, TTL 48 h | the message a session stored under that `client_id` (JSON) |
//! | `P:presence:{room}` | sorted set | `node|nick` members, score = when the node's claim expires (ms) |
//! | `P:online:{room}` | hash | nick → how many nodes have it online |
//! | `P:file:{id}` | hash | an upload's record: `r` (the [`crate::broker::FileRecord`] as JSON), `session` (who made it, checked by [`post`]) |
//! | `P:file-refs:{id}` | set | the message hashes (`P:msg:…` keys) of the messages that share the upload; [`sweep_files`] drops the ones no longer retained or deleted |
//! | `P:files` | sorted set | every upload as `{created ms:020}:{id}`, all score 0, so lexical order is age: the sweep reads the old ones |
//! | `P:events` | pub/sub channel | every stored log entry, presence change and typing notice, as JSON (see [`Note`]) |

use redis::Script;
use serde::{Deserialize, Serialize};

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

    /// The prefix of a room's message hashes (a padded id completes it).
    /// The prefix of every key and channel.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn message_prefix(&self, room: &str) -> String {
        format!("{}:msg:{room}:", self.prefix)
    }

    pub fn ids(&self, room: &str) -> String {
        format!("{}:ids:{room}", self.prefix)
    }

    pub fn live(&self, room: &str) -> String {
        format!("{}:live:{room}", self.prefix)
    }

    pub fn logged(&self, room: &str) -> String {
        format!("{}:logged:{room}", self.prefix)
    }

    pub fn authors(&self, room: &str) -> String {
        format!("{}:authors:{room}", self.prefix)
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

    pub fn file(&self, id: &str) -> String {
        format!("{}:file:{id}", self.prefix)
    }

    pub fn file_refs(&self, id: &str) -> String {
        format!("{}:file-refs:{id}", self.prefix)
    }

    pub fn files(&self) -> String {
        format!("{}:files", self.prefix)
    }

    pub fn channel(&self) -> String {
        format!("{}:events", self.prefix)
    }
}

/// An upload's member in the `P:files` index: its creation time, padded so
/// lexical order is age, and its id.
pub fn file_member(created_ms: i64, id: &str) -> String {
    format!("{:020}:{id}", created_ms.max(0))
}

/// A message id as the sorted sets and hash keys write it: both numbers
/// zero-padded to 20 digits, so lexical order is id order.
pub fn padded(id: hearth_proto::MessageId) -> String {
    format!("{:020}-{:020}", id.ms, id.seq)
}

/// One announcement on the events channel.
#[derive(Debug, Serialize, Deserialize)]
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
        /// `reply_to` and `mentions` as JSON, `""` for none.
        #[serde(default)]
        x: String,
    },
    /// A change entry (edit, delete, reaction) was stored.
    #[serde(rename = "c")]
    Change {
        room: String,
        /// The log id.
        id: String,
        /// The event name.
        kind: String,
        /// The event data.
        data: String,
    },
    /// Someone is typing (never stored).
    #[serde(rename = "t")]
    Typing { room: String, nick: String },
    /// A nick came online in a room (on its first node).
    #[serde(rename = "j")]
    Join { room: String, nick: String },
    /// A nick went offline in a room (on its last node).
    #[serde(rename = "l")]
    Leave { room: String, nick: String },
}

/// Lua that gives the next id of the one sequence for all rooms
/// (`P:last-id`, the last of KEYS given as `last_key`) into locals `ms`,
/// `seq` and `id`: ids are unique across rooms and increase in the order
/// entries are stored, as on the embedded backend (a stream's own `*` ids
/// are only unique per stream).
fn next_id(last_key: &str) -> String {
    format!(
        r#"
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local seq = 0
local last = redis.call('GET', {last_key})
if last then
  local dash = string.find(last, '-', 1, true)
  local last_ms = tonumber(string.sub(last, 1, dash - 1))
  if last_ms >= ms then
    ms = last_ms
    seq = tonumber(string.sub(last, dash + 1)) + 1
  end
end
local id = string.format('%.0f-%.0f', ms, seq)
redis.call('SET', {last_key}, id)
"#
    )
}

/// Stores a post unless the session already stored one with this
/// `client_id`: its stream entry, its hash, its place in the id sets, its
/// author count; then trims the room to `retention` messages (each dropped
/// message's entries, change entries included, go with it) and announces it.
///
/// A post that shares uploads checks, in the same step, that each still
/// exists and was made by the posting session, and records the message in
/// each upload's references; so [`sweep_files`], also one step, either ran
/// before (the post is refused) or sees the reference.
///
/// KEYS: stream, trimmed flag, rooms set, idempotency key (named `-:-`
/// when there is no `client_id`), last id, ids set, live set, authors
/// hash, the replied-to message's hash (`-` for none); then per shared
/// upload its record (`-` when the caller already found it missing or
/// another's) and its references set. ARGV: room, nick, text, client_id
/// (or `""`), retention, idempotency TTL in seconds, channel, extras JSON
/// (or `""`), message hash prefix, the posting session.
///
/// Returns `{"created", id}`, `{"repeated", json}` (the original message as
/// stored in the idempotency key), `{"conflict", room}`, `{"bad_reply"}`
/// (the replied-to message is gone) or `{"bad_file", n}` (the `n`th upload,
/// from 1, is gone or not the session's; nothing was stored).
pub fn post() -> Script {
    Script::new(&format!(
        r#"
local room, nick, text, cid, x = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[8]
if cid ~= '' then
  local previous = redis.call('GET', KEYS[4])
  if previous then
    local original = cjson.decode(previous)
    if original.room ~= room then
      return {{'conflict', original.room}}
    end
    return {{'repeated', previous}}
  end
end
if KEYS[9] ~= '-' then
  if redis.call('EXISTS', KEYS[9]) == 0 or redis.call('HGET', KEYS[9], 'del') then
    return {{'bad_reply'}}
  end
end
for i = 10, #KEYS, 2 do
  if KEYS[i] == '-' or redis.call('HGET', KEYS[i], 'session') ~= ARGV[10] then
    return {{'bad_file', tostring((i - 8) / 2)}}
  end
end
{next_id}
redis.call('XADD', KEYS[1], id, 'nick', nick, 'text', text, 'cid', cid, 'x', x)
local padded = string.format('%020.0f-%020.0f', ms, seq)
redis.call('HSET', ARGV[9] .. padded, 'id', id, 'nick', nick, 'text', text, 'cid', cid,
  'x', x, 'v', '0')
for i = 11, #KEYS, 2 do
  redis.call('SADD', KEYS[i], ARGV[9] .. padded)
end
redis.call('ZADD', KEYS[6], 0, padded)
redis.call('ZADD', KEYS[7], 0, padded)
redis.call('HINCRBY', KEYS[8], nick, 1)
while redis.call('ZCARD', KEYS[6]) > tonumber(ARGV[5]) do
  local oldest = redis.call('ZPOPMIN', KEYS[6])[1]
  local key = ARGV[9] .. oldest
  local old = redis.call('HMGET', key, 'id', 'nick', 'c')
  if old[1] then
    redis.call('XDEL', KEYS[1], old[1])
  end
  if old[3] then
    for change in string.gmatch(old[3], '%S+') do
      redis.call('XDEL', KEYS[1], change)
    end
  end
  if old[2] and redis.call('HINCRBY', KEYS[8], old[2], -1) <= 0 then
    redis.call('HDEL', KEYS[8], old[2])
  end
  redis.call('DEL', key)
  redis.call('ZREM', KEYS[7], oldest)
  redis.call('SET', KEYS[2], '1')
end
redis.call('SADD', KEYS[3], room)
local note = cjson.encode({{k = 'm', room = room, id = id, nick = nick, text = text, cid = cid, x = x}})
if cid ~= '' then
  redis.call('SET', KEYS[4], note, 'EX', ARGV[6])
end
redis.call('PUBLISH', ARGV[7], note)
return {{'created', id}}
"#,
        next_id = next_id("KEYS[5]")
    ))
}

/// Appends a change entry (edit, delete, reaction) to a message decided by
/// [`crate::broker::log::decide`] on the state read at version `v`, unless
/// the message changed since (then the caller reads it again): stores the
/// new state, records the entry's id with the message (retention drops it
/// with the message), and announces it.
///
/// KEYS: stream, message hash, live set, last id. ARGV: room, channel,
/// expected version, event name, message id, event data, new state JSON,
/// `1` when the change deletes the message, its padded id.
///
/// Returns `{"ok", log id}` or `{"stale"}`.
pub fn change() -> Script {
    Script::new(&format!(
        r#"
local v = redis.call('HGET', KEYS[2], 'v')
if not v or v ~= ARGV[3] then
  return {{'stale'}}
end
{next_id}
redis.call('XADD', KEYS[1], id, 'k', ARGV[4], 'm', ARGV[5], 'd', ARGV[6])
local changes = redis.call('HGET', KEYS[2], 'c') or ''
redis.call('HSET', KEYS[2], 's', ARGV[7], 'v', tostring(tonumber(v) + 1),
  'c', changes .. id .. ' ')
if ARGV[8] == '1' then
  redis.call('HSET', KEYS[2], 'del', '1')
  redis.call('ZREM', KEYS[3], ARGV[9])
end
redis.call('PUBLISH', ARGV[2],
  cjson.encode({{k = 'c', room = ARGV[1], id = id, kind = ARGV[4], data = ARGV[6]}}))
return {{'ok', id}}
"#,
        next_id = next_id("KEYS[4]")
    ))
}

/// Gives the messages a room's stream holds from before the room log (no
/// hash yet) their hash, set entries and author counts, once per room (a
/// store written by an older Hearth); then marks the room done.
///
/// KEYS: stream, ids set, live set, authors hash, done marker. ARGV:
/// message hash prefix. Returns how many messages it converted.
pub fn migrate() -> Script {
    Script::new(
        r#"
if redis.call('EXISTS', KEYS[5]) == 1 then
  return 0
end
local converted = 0
for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do
  local id, flat = entry[1], entry[2]
  local f = {}
  for i = 1, #flat, 2 do
    f[flat[i]] = flat[i + 1]
  end
  if not f.k and f.nick and f.text then
    local dash = string.find(id, '-', 1, true)
    local padded = string.format('%020.0f-%020.0f',
      tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1)))
    local key = ARGV[1] .. padded
    if redis.call('EXISTS', key) == 0 then
      redis.call('HSET', key, 'id', id, 'nick', f.nick, 'text', f.text,
        'cid', f.cid or '', 'x', f.x or '', 'v', '0')
      redis.call('ZADD', KEYS[2], 0, padded)
      redis.call('ZADD', KEYS[3], 0, padded)
      redis.call('HINCRBY', KEYS[4], f.nick, 1)
      converted = converted + 1
    end
  end
end
redis.call('SET', KEYS[5], '1')
return converted
"#,
    )
}

/// Reads, in one step, the newest `limit` live messages before a bound
/// (their hashes) and the room's newest log id: a fresh replay and the id
/// it covers, or a page of history.
///
/// KEYS: stream, live set. ARGV: upper bound (`+`, or `(<padded id>`),
/// limit, message hash prefix. Returns `{head or "", {hash, …}}`, newest
/// message first, each hash as a flat field/value list.
pub fn read_messages() -> Script {
    Script::new(
        r#"
local head = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local ids = redis.call('ZREVRANGEBYLEX', KEYS[2], ARGV[1], '-', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for i, padded in ipairs(ids) do
  out[i] = redis.call('HGETALL', ARGV[3] .. padded)
end
local h = ''
if head[1] then
  h = head[1][1]
end
return {h, out}
"#,
    )
}

/// Forgets, in one step, the uploads among the next `limit` old ones of the
/// `P:files` index that no retained, undeleted message shares (a message
/// is retained and undeleted while its hash exists without `del`: retention
/// deletes the hash, a delete sets `del`). References to messages that are
/// gone are dropped on the way. Uploads that stay are skipped by the
/// cursor, so the caller walks the whole old part of the index page by page.
///
/// KEYS: the files index. ARGV: the exclusive upper bound (`(` and the
/// padded cutoff), the cursor (`-`, or `(` and the last member seen),
/// limit, the record key prefix (`P:file:`), the references key prefix
/// (`P:file-refs:`).
///
/// Returns `{next cursor or "", {forgotten id, …}}`.
pub fn sweep_files() -> Script {
    Script::new(
        r#"
local limit = tonumber(ARGV[3])
local members = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[2], ARGV[1], 'LIMIT', 0, limit)
local forgotten = {}
for _, member in ipairs(members) do
  local colon = string.find(member, ':', 1, true)
  local id = string.sub(member, colon + 1)
  local refs = ARGV[5] .. id
  local shared = false
  for _, message in ipairs(redis.call('SMEMBERS', refs)) do
    if redis.call('EXISTS', message) == 1 and not redis.call('HGET', message, 'del') then
      shared = true
    else
      redis.call('SREM', refs, message)
    end
  end
  if not shared then
    redis.call('DEL', ARGV[4] .. id, refs)
    redis.call('ZREM', KEYS[1], member)
    forgotten[#forgotten + 1] = id
  end
end
local next = ''
if #members == limit then
  next = '(' .. members[#members]
end
return {next, forgotten}
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
