//! The store's queries, each over one connection: the reads (on a pooled
//! read-only connection, or on the writer's when a room is loaded on the
//! writer thread), and [`ensure_room`], which runs on the writer.

use std::collections::HashMap;

use hearth_proto::{EntryKind, LogEntry, Message, MessageId, RoomName};
use rusqlite::{Connection, OptionalExtension, params};

use super::ids::{now_ms, pack, storable, unpack};
use crate::broker::log::Current;
use crate::search::{RoomScope, SearchQuery, index};

/// What the store knows of a room.
#[derive(Debug, Clone, Default)]
pub struct RoomMeta {
    /// Retained log entries.
    pub entries: usize,
    /// The newest id retention deleted, if any was.
    pub trimmed_upto: Option<MessageId>,
}

fn conversion(column: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
}

/// A message row's current state: its `state` JSON, or (rows stored before
/// the room log) its columns.
fn message_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Message> {
    if let Some(state) = row.get::<_, Option<String>>(6)? {
        return serde_json::from_str(&state).map_err(|e| conversion(6, e));
    }
    let room: String = row.get(1)?;
    let mut message = Message::new(
        unpack(row.get(0)?),
        RoomName::parse(&room).map_err(|e| conversion(1, e))?,
        row.get(2)?,
        row.get(3)?,
        row.get(5)?,
    );
    message.ts = row.get(4)?;
    Ok(message)
}

const COLUMNS: &str = "id, room, nick, text, ts, client_id, state, deleted";

/// The current state of a room's message `id` (deleted or not), if stored.
pub fn current(
    conn: &Connection,
    room: &RoomName,
    id: MessageId,
) -> rusqlite::Result<Option<Current>> {
    if !storable(id) {
        return Ok(None);
    }
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM messages WHERE room = ?1 AND id = ?2"
    ))?
    .query_row(params![room.as_str(), pack(id)], |row| {
        Ok(Current {
            message: message_from_row(row)?,
            deleted: row.get(7)?,
        })
    })
    .optional()
}

/// The authors of a room's retained messages.
pub fn authors(conn: &Connection, room: &RoomName) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached("SELECT DISTINCT nick FROM messages WHERE room = ?1")?
        .query_map(params![room.as_str()], |r| r.get(0))?
        .collect()
}

fn entry_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<LogEntry> {
    let kind: String = row.get(1)?;
    let data: String = row.get(2)?;
    Ok(LogEntry {
        id: unpack(row.get(0)?),
        kind: EntryKind::parse(&kind, &data).ok_or_else(|| {
            conversion(2, std::io::Error::other(format!("unreadable {kind} entry")))
        })?,
    })
}

/// Up to `limit` log entries of a room after `after`, oldest first.
pub fn entries_after(
    conn: &Connection,
    room: &RoomName,
    after: MessageId,
    limit: usize,
) -> rusqlite::Result<Vec<LogEntry>> {
    conn.prepare_cached(
        "SELECT id, kind, data FROM entries WHERE room = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
    )?
    .query_map(
        params![room.as_str(), pack(after), limit as i64],
        entry_from_row,
    )?
    .collect()
}

/// The newest `limit` log entries of a room, oldest first.
pub fn newest_entries(
    conn: &Connection,
    room: &RoomName,
    limit: usize,
) -> rusqlite::Result<Vec<LogEntry>> {
    let mut rows = conn
        .prepare_cached(
            "SELECT id, kind, data FROM entries WHERE room = ?1 ORDER BY id DESC LIMIT ?2",
        )?
        .query_map(params![room.as_str(), limit as i64], entry_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.reverse();
    Ok(rows)
}

/// Whether a room's log holds an entry with this id.
pub fn entry_exists(conn: &Connection, room: &RoomName, id: MessageId) -> rusqlite::Result<bool> {
    if !storable(id) {
        return Ok(false);
    }
    conn.prepare_cached("SELECT 1 FROM entries WHERE room = ?1 AND id = ?2")?
        .exists(params![room.as_str(), pack(id)])
}

/// A fresh replay read in one snapshot: the newest `limit` live messages in
/// their current state, and the room's newest log id.
pub fn fresh(
    conn: &Connection,
    room: &RoomName,
    limit: usize,
) -> rusqlite::Result<(Vec<Message>, Option<MessageId>)> {
    let tx = conn.unchecked_transaction()?;
    let messages = messages_before(&tx, room, None, limit)?;
    let head: Option<i64> = tx
        .prepare_cached("SELECT MAX(id) FROM entries WHERE room = ?1")?
        .query_row(params![room.as_str()], |r| r.get(0))?;
    tx.finish()?;
    Ok((messages, head.map(unpack)))
}

/// The newest `limit` live messages of a room before `before` (or the
/// newest overall), oldest first, in their current state.
pub fn messages_before(
    conn: &Connection,
    room: &RoomName,
    before: Option<MessageId>,
    limit: usize,
) -> rusqlite::Result<Vec<Message>> {
    let before = before.map(pack).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM messages WHERE room = ?1 AND id < ?2 AND deleted = 0
         ORDER BY id DESC LIMIT ?3"
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

/// Up to `limit` live messages of a room after `after`, oldest first, in
/// their current state.
pub fn messages_after(
    conn: &Connection,
    room: &RoomName,
    after: MessageId,
    limit: usize,
) -> rusqlite::Result<Vec<Message>> {
    if !storable(MessageId::new(after.ms, 0)) {
        return Ok(Vec::new());
    }
    // `pack` caps the sequence: ids after an unstorable one are after it.
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM messages WHERE room = ?1 AND id > ?2 AND deleted = 0
         ORDER BY id LIMIT ?3"
    ))?;
    stmt.query_map(
        params![room.as_str(), pack(after), limit as i64],
        message_from_row,
    )?
    .collect()
}

/// The messages the search index finds, in their current state, newest
/// first (read in one snapshot with the index, which the writer keeps in
/// step with the messages).
pub fn search(
    conn: &Connection,
    query: &SearchQuery,
    rooms: &RoomScope,
    before: Option<MessageId>,
    limit: usize,
) -> rusqlite::Result<Vec<Message>> {
    let tx = conn.unchecked_transaction()?;
    let hits = index::find(&tx, query, rooms, before, limit)?;
    let mut found = Vec::with_capacity(hits.len());
    for hit in hits {
        if let Some(current) = current(&tx, &hit.room, hit.id)?
            && !current.deleted
        {
            found.push(current.message);
        }
    }
    tx.finish()?;
    Ok(found)
}

/// A room's counters, default (empty) when the store has never seen it.
pub fn room_meta(conn: &Connection, room: &RoomName) -> rusqlite::Result<RoomMeta> {
    let trimmed_upto = conn
        .prepare_cached("SELECT trimmed_upto FROM rooms WHERE name = ?1")?
        .query_row(params![room.as_str()], |r| r.get::<_, Option<i64>>(0))
        .optional()?
        .flatten()
        .map(unpack);
    let entries: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM entries WHERE room = ?1")?
        .query_row(params![room.as_str()], |r| r.get(0))?;
    Ok(RoomMeta {
        entries: entries as usize,
        trimmed_upto,
    })
}

/// Records that a room exists (a subscriber opened it).
pub fn ensure_room(conn: &Connection, room: &RoomName) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO rooms (name, created_ms) VALUES (?1, ?2)",
        params![room.as_str(), now_ms() as i64],
    )?;
    Ok(())
}

/// Every room with its last log id.
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
