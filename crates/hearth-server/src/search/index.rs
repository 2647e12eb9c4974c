//! The search index: an SQLite FTS5 table of live messages' folded text.
//!
//! Table `message_search` (FTS5, `trigram` tokenizer with
//! `remove_diacritics 1`): rowid = the message id packed as the embedded
//! store packs it (so rowid order is id order, and "newest first" and
//! `before` are rowid ranges), `folded` = the message's current text as
//! [`fold`](super::fold) makes it, `room` (not indexed: a filter). A
//! message's row is written when it is posted, rewritten when it is edited,
//! removed when it is deleted or trimmed.
//!
//! [`find`] reads it: terms of three characters or more go to `MATCH` (each a
//! quoted phrase, which the trigram tokenizer matches as a substring), which
//! narrows the rows; every term is then checked with `instr` on `folded`, so
//! what is found is exactly what [`SearchQuery::matches`] accepts. Terms
//! shorter than three characters, which a trigram index cannot match, have
//! only that check (a scan, newest rows first, that stops at the limit).
//!
//! [`LocalIndex`] is a node-local copy for the Redis backend: its own
//! temporary database file (with a small page cache, removed when dropped), fed entry by entry in
//! each room's log order, remembering per room the last entry it applied so
//! that the relay's notes and a catch-up from the streams can overlap.

use std::sync::Mutex;

use hearth_proto::{EntryKind, LogEntry, MessageId, RoomName};
use rusqlite::{Connection, OptionalExtension, ToSql, params};

use super::{RoomScope, SearchQuery, fold};
use crate::broker::embedded::ids::{pack, storable, storable_bound, unpack};

/// Creates the index table (idempotent).
pub const SCHEMA: &str = "CREATE VIRTUAL TABLE IF NOT EXISTS message_search USING fts5(
    folded, room UNINDEXED, tokenize = 'trigram remove_diacritics 1');";

/// The most rooms one query may name.
pub const MAX_ROOMS: usize = 100;

/// A message the index found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub room: RoomName,
    pub id: MessageId,
}

/// Writes (or rewrites) a message's row. Ids the rowid cannot hold and
/// empty texts (a message of files without a caption) get no row.
pub fn put(conn: &Connection, room: &RoomName, id: MessageId, text: &str) -> rusqlite::Result<()> {
    remove(conn, id)?;
    if !storable(id) || text.is_empty() {
        return Ok(());
    }
    conn.prepare_cached("INSERT INTO message_search (rowid, folded, room) VALUES (?1, ?2, ?3)")?
        .execute(params![pack(id), fold(text), room.as_str()])?;
    Ok(())
}

/// Removes a message's row, if any.
pub fn remove(conn: &Connection, id: MessageId) -> rusqlite::Result<()> {
    if storable(id) {
        conn.prepare_cached("DELETE FROM message_search WHERE rowid = ?1")?
            .execute(params![pack(id)])?;
    }
    Ok(())
}

/// What a log entry does to the index: a message or an edit (re)writes the
/// message's row, a delete removes it, a reaction changes nothing.
pub fn apply(conn: &Connection, entry: &LogEntry) -> rusqlite::Result<()> {
    match &entry.kind {
        EntryKind::Message(m) | EntryKind::Edit(m) => put(conn, &m.room, m.id, &m.text),
        EntryKind::Delete(d) => remove(conn, d.id),
        EntryKind::Reaction(_) => Ok(()),
    }
}

/// Up to `limit` messages matching `query`, newest first, older than
/// `before` when given, in the rooms of `rooms` (naming at most
/// [`MAX_ROOMS`]).
pub fn find(
    conn: &Connection,
    query: &SearchQuery,
    rooms: &RoomScope,
    before: Option<MessageId>,
    limit: usize,
) -> rusqlite::Result<Vec<Hit>> {
    let before = match before {
        None => i64::MAX,
        Some(id) => storable_bound(id).map_or(i64::MAX, pack),
    };
    let mut sql = String::from("SELECT rowid, room FROM message_search WHERE rowid < ?");
    let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(before)];
    let (long, short): (Vec<&String>, Vec<&String>) = query
        .terms()
        .iter()
        .partition(|term| term.chars().count() >= 3);
    if !long.is_empty() {
        let phrases: Vec<String> = long
            .iter()
            .map(|term| format!("\"{}\"", term.replace('"', "\"\"")))
            .collect();
        sql.push_str(" AND message_search MATCH ?");
        args.push(Box::new(phrases.join(" ")));
    }
    // Every term is checked on the folded text too: `MATCH` is only a
    // filter here (its own folding may fold more than [`fold`] does), and
    // short terms have nothing else.
    for term in long.iter().chain(&short) {
        sql.push_str(" AND instr(folded, ?) > 0");
        args.push(Box::new((*term).clone()));
    }
    let listed = match rooms {
        RoomScope::Only(rooms) => {
            if rooms.is_empty() {
                return Ok(Vec::new());
            }
            sql.push_str(" AND room IN (");
            rooms
        }
        // DM rooms are the only ones named `dm-…` (see `crate::dm`).
        RoomScope::Public { dms } => {
            sql.push_str(" AND (substr(room, 1, 3) <> 'dm-' OR room IN (");
            dms
        }
    };
    let listed = &listed[..listed.len().min(MAX_ROOMS)];
    sql.push_str(&vec!["?"; listed.len()].join(","));
    sql.push(')');
    if matches!(rooms, RoomScope::Public { .. }) {
        sql.push(')');
    }
    for room in listed {
        args.push(Box::new(room.as_str().to_owned()));
    }
    sql.push_str(" ORDER BY rowid DESC LIMIT ?");
    args.push(Box::new(limit as i64));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |row| {
        Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
    })?;
    let mut hits = Vec::new();
    for row in rows {
        let (rowid, room) = row?;
        if let Ok(room) = RoomName::parse(&room) {
            hits.push(Hit {
                room,
                id: unpack(rowid),
            });
        }
    }
    Ok(hits)
}

/// A node-local index (the Redis backend's): a temporary database of its
/// own, fed in each room's log order.
pub struct LocalIndex {
    /// One connection: writes come from the relay task, reads from blocking
    /// tasks; each holds the lock for one statement batch.
    conn: Mutex<Connection>,
    /// The database file, removed when the index is dropped.
    _file: tempfile::NamedTempFile,
}

/// Pages of the local index SQLite keeps in memory (KiB): the index lives
/// on disk, so a node's memory does not grow with the history it indexes.
const LOCAL_CACHE_KIB: i64 = 1024;

impl LocalIndex {
    /// A fresh, empty index in a file of its own in the system's temporary
    /// directory (removed when the index is dropped; rebuilt at every start,
    /// so it needs no durability).
    pub fn open_temporary() -> anyhow::Result<Self> {
        let file = tempfile::Builder::new()
            .prefix("hearth-search-")
            .suffix(".db")
            .tempfile()?;
        let conn = Connection::open(file.path())?;
        conn.pragma_update(None, "journal_mode", "OFF")?;
        conn.pragma_update(None, "synchronous", "OFF")?;
        conn.pragma_update(None, "cache_size", -LOCAL_CACHE_KIB)?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS search_cursor (
                 room TEXT PRIMARY KEY,
                 last INTEGER NOT NULL
             );",
        )?;
        Ok(LocalIndex {
            conn: Mutex::new(conn),
            _file: file,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The last entry of `room` applied, if any.
    pub fn cursor(&self, room: &RoomName) -> rusqlite::Result<Option<MessageId>> {
        Ok(self
            .lock()
            .prepare_cached("SELECT last FROM search_cursor WHERE room = ?1")?
            .query_row(params![room.as_str()], |r| r.get::<_, i64>(0))
            .optional()?
            .map(unpack))
    }

    /// Applies entries (each room's in log order) in one transaction,
    /// skipping every entry at or before its room's cursor: one already
    /// applied (a note that overlaps a catch-up) must not undo a later one.
    pub fn apply_all(&self, entries: &[LogEntry]) -> rusqlite::Result<()> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        for entry in entries {
            if !storable(entry.id) {
                continue;
            }
            let room = entry.kind.room();
            let last: Option<i64> = tx
                .prepare_cached("SELECT last FROM search_cursor WHERE room = ?1")?
                .query_row(params![room.as_str()], |r| r.get(0))
                .optional()?;
            if last.is_some_and(|last| last >= pack(entry.id)) {
                continue;
            }
            apply(&tx, entry)?;
            tx.prepare_cached(
                "INSERT INTO search_cursor (room, last) VALUES (?1, ?2)
                 ON CONFLICT(room) DO UPDATE SET last = excluded.last",
            )?
            .execute(params![room.as_str(), pack(entry.id)])?;
        }
        tx.commit()
    }

    /// Removes rows of messages that are gone (trimmed by retention).
    pub fn forget(&self, ids: &[MessageId]) -> rusqlite::Result<()> {
        let conn = self.lock();
        for id in ids {
            remove(&conn, *id)?;
        }
        Ok(())
    }

    /// [`find`] on this index.
    pub fn find(
        &self,
        query: &SearchQuery,
        rooms: &RoomScope,
        before: Option<MessageId>,
        limit: usize,
    ) -> rusqlite::Result<Vec<Hit>> {
        find(&self.lock(), query, rooms, before, limit)
    }
}

#[cfg(test)]
mod tests {
    use hearth_proto::{Deleted, Message};

    use super::*;

    fn message(id: u64, room: &str, text: &str) -> LogEntry {
        let id = MessageId::new(id, 0);
        LogEntry {
            id,
            kind: EntryKind::Message(Message::new(
                id,
                RoomName::parse(room).unwrap(),
                "ana".into(),
                text.into(),
                None,
            )),
        }
    }

    fn ids(hits: Vec<Hit>) -> Vec<u64> {
        hits.into_iter().map(|h| h.id.ms).collect()
    }

    fn q(text: &str) -> SearchQuery {
        SearchQuery::parse(text).unwrap()
    }

    #[test]
    fn finds_substrings_of_any_length_newest_first() {
        let index = LocalIndex::open_temporary().unwrap();
        index
            .apply_all(&[
                message(1, "general", "今天天气很好"),
                message(2, "general", "Le Café est ouvert"),
                message(3, "dev", "a \"quoted\" 100% thing"),
                message(4, "general", "cafeteria x"),
                message(5, "dev", "代码今天很好进展 xylophone"),
            ])
            .unwrap();
        assert_eq!(
            ids(index
                .find(&q("xylophone"), &RoomScope::public(), None, 10)
                .unwrap()),
            [5]
        );
        assert_eq!(
            ids(index
                .find(&q("天气"), &RoomScope::public(), None, 10)
                .unwrap()),
            [1]
        );
        assert_eq!(
            ids(index
                .find(&q("天气很"), &RoomScope::public(), None, 10)
                .unwrap()),
            [1]
        );
        assert_eq!(
            ids(index
                .find(&q("CAFÉ"), &RoomScope::public(), None, 10)
                .unwrap()),
            [4, 2]
        );
        assert_eq!(
            ids(index.find(&q("x"), &RoomScope::public(), None, 10).unwrap()),
            [5, 4]
        );
        assert_eq!(
            ids(index
                .find(&q("\"quoted\""), &RoomScope::public(), None, 10)
                .unwrap()),
            [3]
        );
        assert_eq!(
            ids(index
                .find(&q("0%"), &RoomScope::public(), None, 10)
                .unwrap()),
            [3]
        );
        assert_eq!(
            ids(index
                .find(&q("cafe est"), &RoomScope::public(), None, 10)
                .unwrap()),
            [2]
        );
        assert_eq!(
            ids(index
                .find(
                    &q("cafe"),
                    &RoomScope::public(),
                    Some(MessageId::new(4, 0)),
                    10
                )
                .unwrap()),
            [2]
        );
        assert_eq!(
            ids(index
                .find(&q("cafe"), &RoomScope::public(), None, 1)
                .unwrap()),
            [4]
        );
        let dev = [RoomName::parse("dev").unwrap()];
        assert_eq!(
            ids(index
                .find(&q("a"), &RoomScope::Only(dev.to_vec()), None, 10)
                .unwrap()),
            [3]
        );
    }

    #[test]
    fn entries_at_or_before_the_cursor_change_nothing() {
        let index = LocalIndex::open_temporary().unwrap();
        let first = message(1, "general", "old words");
        let mut edit = message(1, "general", "new words");
        if let EntryKind::Message(m) = edit.kind {
            edit.kind = EntryKind::Edit(m);
        }
        edit.id = MessageId::new(2, 0);
        index.apply_all(&[first.clone(), edit]).unwrap();
        // The message again (a note that overlapped a catch-up).
        index.apply_all(&[first]).unwrap();
        assert!(
            index
                .find(&q("old"), &RoomScope::public(), None, 10)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            ids(index
                .find(&q("new"), &RoomScope::public(), None, 10)
                .unwrap()),
            [1]
        );
        let general = RoomName::parse("general").unwrap();
        assert_eq!(index.cursor(&general).unwrap(), Some(MessageId::new(2, 0)));
        index
            .apply_all(&[LogEntry {
                id: MessageId::new(3, 0),
                kind: EntryKind::Delete(Deleted {
                    room: general,
                    id: MessageId::new(1, 0),
                }),
            }])
            .unwrap();
        assert!(
            index
                .find(&q("new"), &RoomScope::public(), None, 10)
                .unwrap()
                .is_empty()
        );
    }
}
