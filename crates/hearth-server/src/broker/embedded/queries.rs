//! The store's queries, each over one connection: the reads (on a pooled
//! read-only connection, or on the writer's when a room is loaded on the
//! writer thread), and [`ensure_room`], which runs on the writer.

use std::collections::HashMap;

use hearth_proto::{Message, MessageId, RoomName};
use rusqlite::{Connection, OptionalExtension, params};

use super::ids::{now_ms, pack, storable, unpack};

/// What the store knows of a room.
#[derive(Debug, Clone, Default)]
pub struct RoomMeta {
    pub count: usize,
    /// The newest id retention deleted, if any was.
    pub trimmed_upto: Option<MessageId>,
}

fn message_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Message> {
    let room: String = row.get(1)?;
    Ok(Message {
        id: unpack(row.get(0)?),
        room: RoomName::parse(&room).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
        })?,
        nick: row.get(2)?,
        text: row.get(3)?,
        ts: row.get(4)?,
        client_id: row.get(5)?,
    })
}

const COLUMNS: &str = "id, room, nick, text, ts, client_id";

/// The newest `limit` messages of a room before `before` (or the newest
/// overall), oldest first.
pub fn messages_before(
    conn: &Connection,
    room: &RoomName,
    before: Option<MessageId>,
    limit: usize,
) -> rusqlite::Result<Vec<Message>> {
    let before = before.map(pack).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM messages WHERE room = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"
    ))?;
    let mut rows = stmt
        .query_map(
            params![room.as_str(), before, limit as i64],
            message_from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.reverse();
    Ok(rows)
}

/// Up to `limit` messages of a room after `after`, oldest first.
pub fn messages_after(
    conn: &Connection,
    room: &RoomName,
    after: MessageId,
    limit: usize,
) -> rusqlite::Result<Vec<Message>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM messages WHERE room = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
    ))?;
    stmt.query_map(
        params![room.as_str(), pack(after), limit as i64],
        message_from_row,
    )?
    .collect()
}

/// Whether a room holds a message with this id.
pub fn message_exists(conn: &Connection, room: &RoomName, id: MessageId) -> rusqlite::Result<bool> {
    if !storable(id) {
        return Ok(false);
    }
    conn.prepare_cached("SELECT 1 FROM messages WHERE room = ?1 AND id = ?2")?
        .exists(params![room.as_str(), pack(id)])
}

/// A room's counters, default (empty) when the store has never seen it.
pub fn room_meta(conn: &Connection, room: &RoomName) -> rusqlite::Result<RoomMeta> {
    conn.prepare_cached("SELECT count, trimmed_upto FROM rooms WHERE name = ?1")?
        .query_row(params![room.as_str()], |r| {
            Ok(RoomMeta {
                count: r.get::<_, i64>(0)? as usize,
                trimmed_upto: r.get::<_, Option<i64>>(1)?.map(unpack),
            })
        })
        .optional()
        .map(Option::unwrap_or_default)
}

/// Records that a room exists (a subscriber opened it).
pub fn ensure_room(conn: &Connection, room: &RoomName) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO rooms (name, created_ms) VALUES (?1, ?2)",
        params![room.as_str(), now_ms() as i64],
    )?;
    Ok(())
}

/// Every room with its last id.
pub fn all_rooms(conn: &Connection) -> rusqlite::Result<HashMap<RoomName, Option<MessageId>>> {
    let mut stmt = conn.prepare_cached("SELECT name, last_id FROM rooms")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?))
    })?;
    let mut rooms = HashMap::new();
    for row in rows {
        let (name, last) = row?;
        if let Ok(room) = RoomName::parse(&name) {
            rooms.insert(room, last.map(unpack));
        }
    }
    Ok(rooms)
}
