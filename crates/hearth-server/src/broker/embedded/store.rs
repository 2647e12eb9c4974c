//! The embedded backend's durable store: history in SQLite, its writer
//! thread and its pool of readers.
//!
//! One writer thread owns the only connection that writes transactions. It
//! takes posts from a channel, commits every post that is waiting in one
//! transaction (group commit: one fsync for many posts under load), then
//! runs the commit hook (the broker's fan-out) and only then answers, so a
//! `201` always means "stored, and handed to the room"; with `--sync full`
//! the log is synced before the hook runs, so nothing is fanned out that a
//! power loss can take back. Ids are assigned by the writer, so they
//! increase in commit order. Reads run on a small pool of read-only
//! connections (WAL lets them run beside the writer). The writer caches its
//! prepared statements: a post runs the same handful every time.
//!
//! Checkpoints (copying the write-ahead log into the database file) are
//! the writer's too, but never inside a commit: SQLite's automatic one runs
//! in the `COMMIT` that crosses its threshold, so that post would be fanned
//! out and answered only after the copy and a second flush. The writer
//! checkpoints after a batch is answered, once [`CHECKPOINT_EVERY`] writes
//! are in the log and nothing is waiting (or [`CHECKPOINT_FORCE`] are,
//! whatever is waiting), and then starts the log over with a write of its
//! own, so that no post pays for syncing the new log's header either.
//! Durability does not depend on them: a commit is in the log (synced, at
//! `--sync full`) before it is fanned out or answered, and a checkpoint
//! syncs the database file before the log may start over.
//!
//! Tables: `messages` holds each message's current state (a `state` JSON of
//! the whole message, and `deleted`), `entries` the room log (log id, room,
//! the message it is about, kind, event data), `rooms` counters, and
//! `idempotency` keys; `files` and `file_refs` the upload records
//! ([`super::files`]). A post or a change writes its message row and its log
//! entry in one transaction (a post that shares uploads checks them and
//! records its references in it too); retention drops a message's entries
//! with it. Changes (edit, delete, reaction) are decided by
//! [`crate::broker::log`].
//!
//! The search index (`message_search`, [`crate::search::index`]) holds a
//! row per live message: a post writes it, an edit rewrites it, a delete or
//! a trim removes it, each in the transaction of its entry.
//!
//! Ids are stored packed in the rowid ([`super::ids`]); the reads themselves
//! are in [`super::queries`].

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearth_proto::{ClientId, EntryKind, LogEntry, Message, MessageId, RoomName, log};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use tokio::sync::{mpsc, oneshot};

use super::ids::{IdGenerator, now_ms, pack, unpack};
use super::{files, queries};
use crate::broker::log::{Decision, decide};
use crate::broker::{BrokerError, Change, ChangeKind, Changed, FileRecord, IDEMPOTENCY_TTL, Post};
use crate::config::SyncMode;
use crate::search::index;

const DB_FILE: &str = "hearth.db";
/// Posts committed in one transaction at most.
const MAX_BATCH: usize = 256;
/// Writes (posts, changes, other jobs) after which the log is checkpointed
/// when the writer is idle. A short post writes about 17 log pages, so the
/// log holds about 2,200 (9 MB; SQLite's default threshold is 1,000).
const CHECKPOINT_EVERY: usize = 128;
/// Writes after which the log is checkpointed even though writes wait.
const CHECKPOINT_FORCE: usize = 2 * CHECKPOINT_EVERY;

fn store_err(e: impl std::fmt::Display) -> BrokerError {
    BrokerError::Unavailable(format!("history store: {e}"))
}

/// What inserting a post did.
#[derive(Debug, Clone)]
pub enum Inserted {
    Created(Message),
    Repeated(Message),
    /// The `client_id` was used by this session in another room.
    Conflict(RoomName),
    /// `reply_to` names no live message of the room.
    BadReply,
    /// An upload the post shares is unknown or another session's (the
    /// refusal's text).
    BadFiles(String),
}

/// Runs after every commit, on the writer thread, with the log entries the
/// transaction stored, in id order, and the rooms retention trimmed (with
/// the newest message id it dropped).
pub type CommitHook = Box<dyn FnMut(&Connection, &[LogEntry], &[(RoomName, MessageId)]) + Send>;

type WriterJob = Box<dyn FnOnce(&Connection) + Send>;

/// Nicks online in a room, for mentions (on one node: the room's presence).
pub type Online = Vec<String>;

enum WriteOp {
    Insert(Post, Online, oneshot::Sender<Result<Inserted, BrokerError>>),
    Change(
        Change,
        Online,
        oneshot::Sender<Result<Changed, BrokerError>>,
    ),
    Run(WriterJob),
}

/// The store's handle; cheap to clone.
#[derive(Clone)]
pub struct Store {
    writer: mpsc::Sender<WriteOp>,
    readers: Arc<ReadPool>,
}

impl Store {
    /// Opens (creating) `data_dir/hearth.db` and starts the writer thread.
    pub fn open(
        data_dir: &Path,
        sync: SyncMode,
        retention: usize,
        on_commit: CommitHook,
    ) -> anyhow::Result<Store> {
        crate::private_fs::create_dir_all(data_dir)?;
        let path = data_dir.join(DB_FILE);
        crate::private_fs::prepare_database(&path)?;
        let conn = Connection::open(&path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let synchronous = match sync {
            SyncMode::Full => "FULL",
            SyncMode::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", synchronous)?;
        // The writer checkpoints itself, never inside a commit.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        migrate(&conn)?;
        let last = conn
            .query_row(
                "SELECT MAX(id) FROM (SELECT MAX(id) AS id FROM messages
                 UNION ALL SELECT MAX(id) FROM entries)",
                [],
                |r| r.get::<_, Option<i64>>(0),
            )?
            .map(unpack)
            .unwrap_or(MessageId::ZERO);

        let (tx, rx) = mpsc::channel(4096);
        let writer = Writer {
            conn,
            since_checkpoint: 0,
            ids: IdGenerator::after(last),
            retention: retention.max(1),
            on_commit,
        };
        std::thread::Builder::new()
            .name("hearth-history-writer".into())
            .spawn(move || writer.run(rx))?;
        Ok(Store {
            writer: tx,
            readers: Arc::new(ReadPool {
                path: path.clone(),
                idle: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Stores a post (idempotently, by session and `client_id`); `online`
    /// are the room's online nicks (for mentions).
    pub async fn insert(&self, post: Post, online: Online) -> Result<Inserted, BrokerError> {
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(WriteOp::Insert(post, online, reply))
            .await
            .map_err(|_| BrokerError::Internal("history writer stopped".into()))?;
        answer
            .await
            .map_err(|_| BrokerError::Internal("history writer dropped a post".into()))?
    }

    /// Applies a change (edit, delete, reaction) in one transaction.
    pub async fn change(&self, change: Change, online: Online) -> Result<Changed, BrokerError> {
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(WriteOp::Change(change, online, reply))
            .await
            .map_err(|_| BrokerError::Internal("history writer stopped".into()))?;
        answer
            .await
            .map_err(|_| BrokerError::Internal("history writer dropped a change".into()))?
    }

    /// Runs `job` on the writer thread, in order with commits and their hook.
    pub async fn on_writer<R: Send + 'static>(
        &self,
        job: impl FnOnce(&Connection) -> R + Send + 'static,
    ) -> Result<R, BrokerError> {
        let (reply, answer) = oneshot::channel();
        let job: WriterJob = Box::new(move |conn| {
            let _ = reply.send(job(conn));
        });
        self.writer
            .send(WriteOp::Run(job))
            .await
            .map_err(|_| BrokerError::Internal("history writer stopped".into()))?;
        answer
            .await
            .map_err(|_| BrokerError::Internal("history writer stopped".into()))
    }

    /// Runs a read on a pooled read-only connection, off the async runtime.
    pub async fn read<R: Send + 'static>(
        &self,
        job: impl FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
    ) -> Result<R, BrokerError> {
        let pool = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.take()?;
            let result = job(&conn);
            pool.give_back(conn);
            result.map_err(store_err)
        })
        .await
        .map_err(|e| BrokerError::Internal(format!("history read panicked: {e}")))?
    }

    /// Deletes idempotency keys older than [`IDEMPOTENCY_TTL`].
    pub async fn prune_idempotency(&self) -> Result<usize, BrokerError> {
        let cutoff = now_ms().saturating_sub(IDEMPOTENCY_TTL.as_millis() as u64) as i64;
        self.on_writer(move |conn| {
            conn.execute(
                "DELETE FROM idempotency WHERE created_ms < ?1",
                params![cutoff],
            )
        })
        .await?
        .map_err(store_err)
    }
}

struct ReadPool {
    path: std::path::PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    fn take(&self) -> Result<Connection, BrokerError> {
        if let Some(conn) = self.idle.lock().expect("pool lock").pop() {
            return Ok(conn);
        }
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(store_err)?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(store_err)?;
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().expect("pool lock");
        if idle.len() < 8 {
            idle.push(conn);
        }
    }
}

fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version < 1 {
        conn.execute_batch(
            "BEGIN;
             CREATE TABLE IF NOT EXISTS rooms (
                 name TEXT PRIMARY KEY,
                 created_ms INTEGER NOT NULL,
                 count INTEGER NOT NULL DEFAULT 0,
                 last_id INTEGER,
                 trimmed_upto INTEGER
             );
             CREATE TABLE IF NOT EXISTS messages (
                 id INTEGER PRIMARY KEY,
                 room TEXT NOT NULL,
                 nick TEXT NOT NULL,
                 text TEXT NOT NULL,
                 ts TEXT NOT NULL,
                 client_id TEXT
             );
             CREATE INDEX IF NOT EXISTS messages_by_room ON messages(room, id);
             CREATE TABLE IF NOT EXISTS idempotency (
                 session TEXT NOT NULL,
                 client_id TEXT NOT NULL,
                 message TEXT NOT NULL,
                 created_ms INTEGER NOT NULL,
                 PRIMARY KEY (session, client_id)
             ) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS idempotency_by_age ON idempotency(created_ms);
             PRAGMA user_version = 1;
             COMMIT;",
        )?;
    }
    if version < 2 {
        // The room log: every existing message becomes its `message` entry.
        conn.execute_batch(
            "BEGIN;
             ALTER TABLE messages ADD COLUMN state TEXT;
             ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
             CREATE TABLE IF NOT EXISTS entries (
                 id INTEGER PRIMARY KEY,
                 room TEXT NOT NULL,
                 message INTEGER NOT NULL,
                 kind TEXT NOT NULL,
                 data TEXT NOT NULL
             );
             CREATE INDEX IF NOT EXISTS entries_by_room ON entries(room, id);
             CREATE INDEX IF NOT EXISTS entries_by_message ON entries(room, message);
             INSERT INTO entries (id, room, message, kind, data)
                 SELECT id, room, id, 'message', json_object(
                     'id', (id >> 20) || '-' || (id & 1048575), 'room', room,
                     'nick', nick, 'text', text, 'ts', ts, 'client_id', client_id)
                 FROM messages;
             PRAGMA user_version = 2;
             COMMIT;",
        )?;
    }
    if version < 3 {
        // Upload records and the messages that share them.
        conn.execute_batch(&format!(
            "BEGIN; {} PRAGMA user_version = 3; COMMIT;",
            files::SCHEMA
        ))?;
    }
    if version < 4 {
        // The search index, filled with every live message.
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(index::SCHEMA)?;
        {
            let mut rows = tx.prepare("SELECT id, room, text FROM messages WHERE deleted = 0")?;
            let mut rows = rows.query([])?;
            while let Some(row) = rows.next()? {
                let room: String = row.get(1)?;
                if let Ok(room) = RoomName::parse(&room) {
                    index::put(&tx, &room, unpack(row.get(0)?), &row.get::<_, String>(2)?)?;
                }
            }
        }
        tx.execute_batch("PRAGMA user_version = 4;")?;
        tx.commit()?;
    }
    Ok(())
}

struct Writer {
    conn: Connection,
    /// Writes since the last checkpoint.
    since_checkpoint: usize,
    ids: IdGenerator,
    retention: usize,
    on_commit: CommitHook,
}

type Reply = oneshot::Sender<Result<Inserted, BrokerError>>;

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<WriteOp>) {
        let mut posts: Vec<(Post, Online, Reply)> = Vec::new();
        while let Some(first) = rx.blocking_recv() {
            let mut next = Some(first);
            let mut taken = 0;
            while let Some(op) = next.take() {
                taken += 1;
                match op {
                    WriteOp::Insert(post, online, reply) => posts.push((post, online, reply)),
                    WriteOp::Change(change, online, reply) => {
                        self.commit_posts(&mut posts);
                        let _ = reply.send(self.commit_change(&change, &online));
                        self.since_checkpoint += 1;
                    }
                    WriteOp::Run(job) => {
                        self.commit_posts(&mut posts);
                        job(&self.conn);
                        self.since_checkpoint += 1;
                    }
                }
                if taken < MAX_BATCH {
                    next = rx.try_recv().ok();
                }
            }
            self.commit_posts(&mut posts);
            self.checkpoint_if_due(rx.is_empty());
        }
        tracing::debug!("history writer stopped");
    }

    /// Checkpoints the log when it is due (see the module docs); `idle`
    /// when no write is waiting.
    fn checkpoint_if_due(&mut self, idle: bool) {
        let due = (idle && self.since_checkpoint >= CHECKPOINT_EVERY)
            || self.since_checkpoint >= CHECKPOINT_FORCE;
        if !due {
            return;
        }
        self.since_checkpoint = 0;
        let checkpointed = self
            .conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
            })
            .and_then(|(frames, copied)| {
                if !idle || frames != copied {
                    return Ok(());
                }
                // The whole log is in the database file: the next write
                // starts it over and (with `--sync full`) syncs its new
                // header before its own frames. Make that write now, while
                // nothing waits, rather than in the next post's commit.
                let version: i64 = self
                    .conn
                    .pragma_query_value(None, "user_version", |r| r.get(0))?;
                self.conn.pragma_update(None, "user_version", version)
            });
        if let Err(e) = checkpointed {
            tracing::warn!(cause = %e, "checkpointing the history log failed");
        }
    }

    /// Stores every waiting post in one transaction, runs the hook, answers.
    fn commit_posts(&mut self, posts: &mut Vec<(Post, Online, Reply)>) {
        if posts.is_empty() {
            return;
        }
        let batch = std::mem::take(posts);
        let batch_len = batch.len();
        let mut trims = Vec::new();
        // Ids taken by a transaction that fails are skipped, never reused:
        // gaps are harmless, going back is not.
        let outcome = (|| -> rusqlite::Result<Vec<Inserted>> {
            let tx = self.conn.transaction()?;
            let mut results = Vec::with_capacity(batch.len());
            trims.clear();
            for (post, online, _) in &batch {
                results.push(insert_one(
                    &tx,
                    &mut self.ids,
                    self.retention,
                    post,
                    online,
                    &mut trims,
                )?);
            }
            tx.commit()?;
            Ok(results)
        })();
        match outcome {
            Ok(results) => {
                let created: Vec<LogEntry> = results
                    .iter()
                    .filter_map(|r| match r {
                        Inserted::Created(m) => Some(LogEntry {
                            id: m.id,
                            kind: EntryKind::Message(m.clone()),
                        }),
                        _ => None,
                    })
                    .collect();
                if !created.is_empty() {
                    (self.on_commit)(&self.conn, &created, &trims);
                }
                for ((_, _, reply), result) in batch.into_iter().zip(results) {
                    let _ = reply.send(Ok(result));
                }
                self.since_checkpoint += batch_len;
            }
            Err(e) => {
                tracing::error!(cause = %e, "storing messages failed");
                for (_, _, reply) in batch {
                    let _ = reply.send(Err(store_err(&e)));
                }
            }
        }
    }

    /// Decides and stores one change in its own transaction, runs the hook
    /// when it appended an entry.
    fn commit_change(&mut self, change: &Change, online: &Online) -> Result<Changed, BrokerError> {
        let outcome = (|| -> rusqlite::Result<Result<(Changed, Option<LogEntry>), BrokerError>> {
            let tx = self.conn.transaction()?;
            let current = queries::current(&tx, &change.room, change.id)?;
            let mentions = match &change.what {
                ChangeKind::Edit(text) => room_mentions(&tx, &change.room, text.as_str(), online)?,
                _ => Vec::new(),
            };
            let id = self.ids.next();
            let (message, deleted, kind) = match decide(current, change, id.ts(), mentions) {
                Err(e) => return Ok(Err(e)),
                Ok(Decision::Unchanged(message)) => {
                    return Ok(Ok((Changed::Unchanged(message), None)));
                }
                Ok(Decision::Apply {
                    message,
                    deleted,
                    entry,
                }) => (message, deleted, entry),
            };
            tx.execute(
                "UPDATE messages SET text = ?2, state = ?3, deleted = ?4 WHERE id = ?1",
                params![
                    pack(message.id),
                    message.text,
                    serde_json::to_string(&message).expect("messages serialize"),
                    deleted,
                ],
            )?;
            let entry = LogEntry { id, kind };
            insert_entry(&tx, &entry)?;
            index::apply(&tx, &entry)?;
            tx.commit()?;
            Ok(Ok((Changed::Applied(message), Some(entry))))
        })();
        match outcome {
            Ok(Ok((changed, entry))) => {
                if let Some(entry) = entry {
                    (self.on_commit)(&self.conn, std::slice::from_ref(&entry), &[]);
                }
                Ok(changed)
            }
            Ok(Err(refused)) => Err(refused),
            Err(e) => {
                tracing::error!(cause = %e, "storing a change failed");
                Err(store_err(&e))
            }
        }
    }
}

/// Appends an entry to the room's log and moves the room's head to it.
fn insert_entry(tx: &rusqlite::Transaction<'_>, entry: &LogEntry) -> rusqlite::Result<()> {
    let room = entry.kind.room().as_str();
    tx.execute(
        "INSERT INTO entries (id, room, message, kind, data) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            pack(entry.id),
            room,
            pack(entry.kind.message_id()),
            entry.kind.name(),
            entry.kind.data_json(),
        ],
    )?;
    tx.execute(
        "UPDATE rooms SET last_id = ?2 WHERE name = ?1",
        params![room, pack(entry.id)],
    )?;
    Ok(())
}

/// The mentions of `text` in `room`: among the nicks online and the authors
/// of its retained messages (read only when the text has an `@`).
fn room_mentions(
    conn: &Connection,
    room: &RoomName,
    text: &str,
    online: &Online,
) -> rusqlite::Result<Vec<String>> {
    if !text.contains('@') {
        return Ok(Vec::new());
    }
    let authors = queries::authors(conn, room)?;
    Ok(log::mentions_folded(
        text,
        online.iter().chain(authors.iter()).map(String::as_str),
        crate::nicks::fold,
    ))
}

fn insert_one(
    tx: &rusqlite::Transaction<'_>,
    ids: &mut IdGenerator,
    retention: usize,
    post: &Post,
    online: &Online,
    trims: &mut Vec<(RoomName, MessageId)>,
) -> rusqlite::Result<Inserted> {
    if let Some(client_id) = &post.client_id {
        let earlier: Option<String> = tx
            .prepare_cached(
                "SELECT message FROM idempotency WHERE session = ?1 AND client_id = ?2",
            )?
            .query_row(params![post.session, client_id.as_str()], |r| r.get(0))
            .optional()?;
        if let Some(json) = earlier {
            let message: Message = serde_json::from_str(&json)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
            return Ok(if message.room == post.room {
                Inserted::Repeated(message)
            } else {
                Inserted::Conflict(message.room)
            });
        }
    }
    let files = match files::claim(tx, &post.files, &post.session)? {
        Ok(records) => records,
        Err(refusal) => return Ok(Inserted::BadFiles(refusal)),
    };
    let reply_to = match post.reply_to {
        None => None,
        Some(replied) => match queries::current(tx, &post.room, replied)? {
            Some(current) if !current.deleted => Some(current.message.quote()),
            _ => return Ok(Inserted::BadReply),
        },
    };
    let mentions = room_mentions(tx, &post.room, post.text.as_str(), online)?;
    let id = ids.next();
    let mut message = Message::new(
        id,
        post.room.clone(),
        post.nick.to_string(),
        post.text.to_string(),
        post.client_id.as_ref().map(ClientId::to_string),
    );
    message.reply_to = reply_to;
    message.mentions = mentions;
    message.files = files.iter().map(FileRecord::info).collect();
    let json = serde_json::to_string(&message).expect("messages serialize");
    tx.prepare_cached(
        "INSERT INTO messages (id, room, nick, text, ts, client_id, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        pack(id),
        message.room.as_str(),
        message.nick,
        message.text,
        message.ts,
        message.client_id,
        json,
    ])?;
    tx.prepare_cached(
        "INSERT INTO entries (id, room, message, kind, data) VALUES (?1, ?2, ?1, 'message', ?3)",
    )?
    .execute(params![pack(id), message.room.as_str(), json])?;
    index::put(tx, &message.room, id, &message.text)?;
    files::refer(tx, &message.room, id, &files)?;
    if let Some(client_id) = &post.client_id {
        tx.prepare_cached(
            "INSERT INTO idempotency (session, client_id, message, created_ms) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![post.session, client_id.as_str(), json, id.ms as i64])?;
    }
    let count: i64 = tx
        .prepare_cached(
            "INSERT INTO rooms (name, created_ms, count, last_id) VALUES (?1, ?2, 1, ?3)
             ON CONFLICT(name) DO UPDATE SET count = count + 1, last_id = excluded.last_id
             RETURNING count",
        )?
        .query_row(
            params![message.room.as_str(), id.ms as i64, pack(id)],
            |r| r.get(0),
        )?;
    let excess = count - retention as i64;
    if excess > 0 {
        let trimmed: Option<i64> = tx
            .prepare_cached(
                "SELECT MAX(id) FROM (SELECT id FROM messages WHERE room = ?1 ORDER BY id LIMIT ?2)",
            )?
            .query_row(params![message.room.as_str(), excess], |r| r.get(0))?;
        if let Some(upto) = trimmed {
            tx.execute(
                "DELETE FROM message_search WHERE rowid IN
                     (SELECT id FROM messages WHERE room = ?1 AND id <= ?2)",
                params![message.room.as_str(), upto],
            )?;
            let deleted = tx.execute(
                "DELETE FROM messages WHERE room = ?1 AND id <= ?2",
                params![message.room.as_str(), upto],
            )?;
            // A message's change entries go with it.
            tx.execute(
                "DELETE FROM entries WHERE room = ?1 AND message <= ?2",
                params![message.room.as_str(), upto],
            )?;
            tx.execute(
                "UPDATE rooms SET count = count - ?2, trimmed_upto = MAX(COALESCE(trimmed_upto, 0), ?3) WHERE name = ?1",
                params![message.room.as_str(), deleted as i64, upto],
            )?;
            trims.push((message.room.clone(), unpack(upto)));
        }
    }
    Ok(Inserted::Created(message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::SearchQuery;

    #[tokio::test]
    async fn the_log_is_checkpointed_between_commits() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Store::open(dir.path(), SyncMode::Normal, 10_000, Box::new(|_, _, _| {})).unwrap();
        let room = RoomName::parse("attic").unwrap();
        for i in 0..600 {
            let post = Post {
                room: room.clone(),
                nick: hearth_proto::Nick::parse("ana").unwrap(),
                text: hearth_proto::MessageText::parse(&format!("message {i}")).unwrap(),
                session: "s1".into(),
                client_id: None,
                reply_to: None,
                files: Vec::new(),
            };
            assert!(matches!(
                store.insert(post, Vec::new()).await.unwrap(),
                Inserted::Created(_)
            ));
        }
        // The messages reached the database file (SQLite's own automatic
        // checkpoint is off on the writer's connection).
        let size = |name: &str| std::fs::metadata(dir.path().join(name)).unwrap().len();
        assert!(
            size(DB_FILE) > 256 * 1024,
            "database file: {}",
            size(DB_FILE)
        );
        let stored = store
            .read(|conn| {
                conn.query_row("SELECT COUNT(*) FROM messages", [], |r| r.get::<_, i64>(0))
            })
            .await
            .unwrap();
        assert_eq!(stored, 600);
    }

    #[test]
    fn schema_4_indexes_the_live_messages_stored_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        migrate(&conn).unwrap();
        // A store of schema 3: messages, one deleted, and no index.
        for (id, text, deleted) in [(1, "Grüße aus Köln", 0), (2, "gruss, gone", 1)] {
            conn.execute(
                "INSERT INTO messages (id, room, nick, text, ts, deleted)
                 VALUES (?1, 'general', 'ana', ?2, 'ts', ?3)",
                params![pack(MessageId::new(id, 0)), text, deleted],
            )
            .unwrap();
        }
        conn.execute_batch("DROP TABLE message_search; PRAGMA user_version = 3;")
            .unwrap();

        migrate(&conn).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, 4);
        let query = SearchQuery::parse("GRU").unwrap();
        let hits =
            index::find(&conn, &query, &crate::search::RoomScope::public(), None, 10).unwrap();
        assert_eq!(
            hits.iter().map(|h| h.id).collect::<Vec<_>>(),
            [MessageId::new(1, 0)]
        );
    }
}
