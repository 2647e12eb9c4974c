//! Upload records in the SQLite store: the `files` table (one row per
//! upload: its [`FileRecord`]) and `file_refs` (which message shares which
//! upload). The bytes are elsewhere ([`crate::files`]); this module only
//! knows ids.
//!
//! Every write here runs on the store's writer thread: adding a record,
//! checking and referring to a post's uploads inside the post's transaction
//! ([`claim`], [`refer`]), and the sweep. So a post and a sweep never
//! interleave: a post the sweep ran before finds no record and is refused.
//!
//! Whether a message still holds its uploads is decided at sweep time from
//! its `messages` row (retention deletes the row with the message's log
//! entries; a delete sets `deleted`), so neither trimming nor changes need
//! to know about files.

use hearth_proto::{FileId, MessageId, RoomName};
use rusqlite::{Connection, OptionalExtension, params};

use super::ids::pack;
use crate::broker::FileRecord;

fn conversion(column: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
}

const COLUMNS: &str =
    "id, name, size, content_type, width, height, thumb_type, sha256, session, created_ms";

fn record_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<FileRecord> {
    let id: String = row.get(0)?;
    Ok(FileRecord {
        id: FileId::parse(&id).map_err(|e| conversion(0, e))?,
        name: row.get(1)?,
        size: row.get::<_, i64>(2)? as u64,
        content_type: row.get(3)?,
        width: row.get(4)?,
        height: row.get(5)?,
        thumb_type: row.get(6)?,
        sha256: row.get(7)?,
        session: row.get(8)?,
        created_ms: row.get(9)?,
    })
}

/// Stores an upload's record (adding the same id again replaces it).
pub fn insert(conn: &Connection, file: &FileRecord) -> rusqlite::Result<()> {
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO files ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    ))?
    .execute(params![
        file.id.as_str(),
        file.name,
        file.size as i64,
        file.content_type,
        file.width,
        file.height,
        file.thumb_type,
        file.sha256,
        file.session,
        file.created_ms,
    ])?;
    Ok(())
}

/// The record of an upload, if there is one.
/// The rooms of the messages that share upload `id`.
pub fn rooms(conn: &Connection, id: &FileId) -> rusqlite::Result<Vec<RoomName>> {
    let mut stmt = conn.prepare_cached("SELECT DISTINCT room FROM file_refs WHERE file = ?1")?;
    let rows = stmt.query_map(params![id.as_str()], |r| r.get::<_, String>(0))?;
    let mut rooms = Vec::new();
    for room in rows {
        rooms.extend(RoomName::parse(&room?).ok());
    }
    Ok(rooms)
}

pub fn get(conn: &Connection, id: &FileId) -> rusqlite::Result<Option<FileRecord>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM files WHERE id = ?1"))?
        .query_row(params![id.as_str()], record_from_row)
        .optional()
}

/// The records of the uploads a post of `session` shares, in its order; or
/// the refusal's text when one of them is unknown or another session's.
pub fn claim(
    conn: &Connection,
    ids: &[FileId],
    session: &str,
) -> rusqlite::Result<Result<Vec<FileRecord>, String>> {
    let mut records = Vec::with_capacity(ids.len());
    for id in ids {
        match get(conn, id)? {
            Some(record) if record.session == session => records.push(record),
            _ => return Ok(Err(format!("files: {id} is not an upload of yours"))),
        }
    }
    Ok(Ok(records))
}

/// Records that message `message` of `room` shares `files`.
pub fn refer(
    conn: &Connection,
    room: &RoomName,
    message: MessageId,
    files: &[FileRecord],
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT OR IGNORE INTO file_refs (file, room, message) VALUES (?1, ?2, ?3)",
    )?;
    for file in files {
        stmt.execute(params![file.id.as_str(), room.as_str(), pack(message)])?;
    }
    Ok(())
}

/// In one transaction: forgets the references of messages that are gone
/// (trimmed by retention, or deleted), then deletes and returns the uploads
/// created before `cutoff_ms` that no reference is left to.
pub fn sweep(conn: &Connection, cutoff_ms: i64) -> rusqlite::Result<Vec<FileId>> {
    let tx = conn.unchecked_transaction()?;
    tx.execute(
        "DELETE FROM file_refs WHERE NOT EXISTS (
             SELECT 1 FROM messages m
             WHERE m.id = file_refs.message AND m.room = file_refs.room AND m.deleted = 0)",
        [],
    )?;
    let swept = tx
        .prepare(
            "DELETE FROM files WHERE created_ms < ?1
                 AND NOT EXISTS (SELECT 1 FROM file_refs r WHERE r.file = files.id)
             RETURNING id",
        )?
        .query_map(params![cutoff_ms], |row| {
            let id: String = row.get(0)?;
            FileId::parse(&id).map_err(|e| conversion(0, e))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    tx.commit()?;
    Ok(swept)
}

/// The tables, for the store's migration to schema version 3.
pub const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS files (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        content_type TEXT NOT NULL,
        width INTEGER,
        height INTEGER,
        thumb_type TEXT,
        sha256 TEXT NOT NULL,
        session TEXT NOT NULL,
        created_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS files_by_age ON files(created_ms);
    CREATE TABLE IF NOT EXISTS file_refs (
        file TEXT NOT NULL,
        room TEXT NOT NULL,
        message INTEGER NOT NULL,
        PRIMARY KEY (file, room, message)
    ) WITHOUT ROWID;
";

#[cfg(test)]
mod tests {
    use hearth_proto::{ClientId, MessageText, Nick};
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::broker::embedded::EmbeddedBroker;
    use crate::broker::{Broker, BrokerError, Change, ChangeKind, Post, Posted};
    use crate::config::Config;

    /// Swept uploads are those created before this; `OLD` ones are, `YOUNG`
    /// ones are not.
    const CUTOFF: i64 = 10_000;
    const OLD: i64 = 1_000;
    const YOUNG: i64 = 20_000;

    fn room() -> RoomName {
        RoomName::parse("files").unwrap()
    }

    fn upload(byte: u8, session: &str, created_ms: i64) -> FileRecord {
        FileRecord {
            id: FileId::from_bytes([byte; 16]),
            name: format!("file-{byte}.txt"),
            size: 1234,
            content_type: "application/octet-stream".into(),
            width: None,
            height: None,
            thumb_type: None,
            sha256: "ab".repeat(32),
            session: session.into(),
            created_ms,
        }
    }

    fn image(byte: u8, session: &str, created_ms: i64) -> FileRecord {
        FileRecord {
            name: format!("photo-{byte}.png"),
            content_type: "image/png".into(),
            width: Some(640),
            height: Some(480),
            thumb_type: Some("image/png".into()),
            ..upload(byte, session, created_ms)
        }
    }

    fn post(text: &str, files: &[&FileRecord]) -> Post {
        Post {
            room: room(),
            nick: Nick::parse("ana").unwrap(),
            text: MessageText::parse_caption(text).unwrap(),
            session: "s1".into(),
            client_id: None,
            reply_to: None,
            files: files.iter().map(|f| f.id.clone()).collect(),
        }
    }

    fn open(dir: &std::path::Path, retention: usize) -> EmbeddedBroker {
        let mut config = Config::new(dir);
        config.retention_per_room = retention;
        EmbeddedBroker::open(&config, &CancellationToken::new()).unwrap()
    }

    async fn created(broker: &EmbeddedBroker, post: Post) -> hearth_proto::Message {
        match broker.post(post).await.unwrap() {
            Posted::Created(message) => message,
            Posted::Repeated(_) => panic!("stored anew"),
        }
    }

    #[tokio::test]
    async fn a_post_may_share_only_uploads_of_its_own_session() {
        let dir = tempfile::tempdir().unwrap();
        let broker = open(dir.path(), 100);
        let mine = upload(1, "s1", OLD);
        let theirs = upload(2, "s2", OLD);
        let unknown = upload(3, "s1", OLD);
        broker.add_file(mine.clone()).await.unwrap();
        broker.add_file(theirs.clone()).await.unwrap();

        for refused in [vec![&theirs], vec![&mine, &theirs], vec![&unknown, &mine]] {
            let culprit = refused.iter().find(|f| f.id != mine.id).unwrap().id.clone();
            match broker.post(post("look", &refused)).await {
                Err(BrokerError::BadFiles(text)) => {
                    assert_eq!(text, format!("files: {culprit} is not an upload of yours"))
                }
                other => panic!("refused, got {other:?}"),
            }
        }
        assert!(broker.history(&room(), None, 50).await.unwrap().is_empty());
        // The refused posts left no reference behind: both are unshared.
        let mut swept = broker.sweep_files(CUTOFF).await.unwrap();
        swept.sort();
        assert_eq!(swept, vec![mine.id, theirs.id]);
    }

    #[tokio::test]
    async fn shared_uploads_are_in_the_message_its_history_and_after_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let photo = image(1, "s1", OLD);
        let doc = upload(2, "s1", OLD);
        let expected = vec![doc.info(), photo.info()];
        assert!(expected[1].thumb_url.is_some() && expected[1].width == Some(640));
        {
            let broker = open(dir.path(), 100);
            broker.add_file(photo.clone()).await.unwrap();
            broker.add_file(doc.clone()).await.unwrap();
            assert_eq!(broker.file(&photo.id).await.unwrap(), Some(photo.clone()));

            let mut shared = post("", &[&doc, &photo]);
            shared.client_id = Some(ClientId::parse("c-1").unwrap());
            let message = created(&broker, shared.clone()).await;
            assert_eq!(message.files, expected);
            assert_eq!(message.text, "");
            // A repeat answers the original.
            match broker.post(shared).await.unwrap() {
                Posted::Repeated(again) => assert_eq!(again, message),
                Posted::Created(_) => panic!("a repeat"),
            }
            let history = broker.history(&room(), None, 50).await.unwrap();
            assert_eq!(history, vec![message]);
        }
        let broker = open(dir.path(), 100);
        let history = broker.history(&room(), None, 50).await.unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].files, expected);
        assert_eq!(broker.file(&doc.id).await.unwrap(), Some(doc));
        assert_eq!(broker.file(&photo.id).await.unwrap(), Some(photo));
        assert_eq!(broker.sweep_files(CUTOFF).await.unwrap(), vec![]);
    }

    #[tokio::test]
    async fn the_sweep_removes_old_uploads_no_undeleted_message_shares() {
        let dir = tempfile::tempdir().unwrap();
        let broker = open(dir.path(), 100);
        let unshared = upload(1, "s1", OLD);
        let shared = upload(2, "s1", OLD);
        let young = upload(3, "s1", YOUNG);
        for file in [&unshared, &shared, &young] {
            broker.add_file(file.clone()).await.unwrap();
        }
        let message = created(&broker, post("here", &[&shared])).await;

        assert_eq!(
            broker.sweep_files(CUTOFF).await.unwrap(),
            vec![unshared.id.clone()]
        );
        assert_eq!(broker.file(&unshared.id).await.unwrap(), None);
        assert!(broker.file(&shared.id).await.unwrap().is_some());
        assert!(broker.file(&young.id).await.unwrap().is_some());
        // A swept upload can no longer be shared.
        assert!(matches!(
            broker.post(post("late", &[&unshared])).await,
            Err(BrokerError::BadFiles(_))
        ));

        broker
            .change(Change {
                room: room(),
                id: message.id,
                nick: Nick::parse("ana").unwrap(),
                what: ChangeKind::Delete,
                moderator: false,
            })
            .await
            .unwrap();
        assert_eq!(
            broker.sweep_files(CUTOFF).await.unwrap(),
            vec![shared.id.clone()]
        );
        assert_eq!(broker.file(&shared.id).await.unwrap(), None);
        assert!(broker.file(&young.id).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn the_sweep_removes_uploads_of_messages_retention_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let broker = open(dir.path(), 2);
        let first = upload(1, "s1", OLD);
        let kept = upload(2, "s1", OLD);
        broker.add_file(first.clone()).await.unwrap();
        broker.add_file(kept.clone()).await.unwrap();
        created(&broker, post("first", &[&first])).await;
        created(&broker, post("second", &[&kept])).await;
        assert_eq!(broker.sweep_files(CUTOFF).await.unwrap(), vec![]);

        created(&broker, post("third", &[])).await;
        let history = broker.history(&room(), None, 50).await.unwrap();
        assert_eq!(history.len(), 2, "retention dropped the first message");
        assert_eq!(
            broker.sweep_files(CUTOFF).await.unwrap(),
            vec![first.id.clone()]
        );
        assert_eq!(broker.file(&first.id).await.unwrap(), None);
        assert_eq!(broker.file(&kept.id).await.unwrap(), Some(kept));
    }
}
