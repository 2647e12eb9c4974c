//! The outbox: messages to send, kept on disk until the server has them.
//!
//! [`Outbox::enqueue`] gives a message its `client_id` and writes it to
//! `outbox.json` in the app's data dir *before* any attempt to post, so a
//! message typed offline survives a crash or a restart. A worker task sends
//! the entries, in order per room, with `Client::post_reliably` (same
//! `client_id` on every retry), and removes an entry only once the server
//! answered `201` or `200`. It runs when a message is queued, when a
//! connection opens, and on a backoff timer while something waits.
//!
//! Exactly once: the server repeats (`200`, nothing new stored) a post whose
//! `client_id` the same session already used. An entry that may have
//! reached the server under another session (read back from disk after a
//! restart, or posted before the token was renewed) is first looked up in
//! the room's history by `client_id`; found means sent.
//!
//! A post the server refuses for good (`400`, `409`…) stays as *failed*
//! until the person discards it. What is retryable (no answer, `429`,
//! `503`, other `5xx`) is [`Failure::of`]'s rule, the same one the commands'
//! errors carry to the UI (`retryable`).
//!
//! Files (v1.1): an entry may carry files ([`files`]: dropped paths, or
//! bytes the webview staged in the spool). Before its post, each file not
//! uploaded yet is checked against the server's `max_file_bytes` and
//! uploaded (streamed from disk, progress as `sending` events), and its id
//! written to the entry on disk; the post then carries the ids under the
//! entry's `client_id`, so it is stored once however often it is retried.
//! Discarding an entry aborts its upload; its spool files go when it is
//! sent or discarded. The upload step is `upload.rs`.

pub mod commands;
pub mod files;
mod upload;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hearth_client::{ClientError, Outgoing, RetryPolicy};
use hearth_proto::{Message, MessageId, MessageText};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::error::{CommandError, ErrorKind, Failure};
use crate::events::{AppEvent, LocalEvent, OutboxState, OutboxUpdate, WaitReason};
use crate::rooms::Rooms;
use crate::rooms::hub::Hub;
use crate::settings::write_atomically;
use files::{Attachment, QueuedFile, StagedFile};
use upload::Upload;

/// The file name in the data dir.
pub const FILE_NAME: &str = "outbox.json";
/// The longest wait between two rounds while something is pending.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How far back the history is searched for a message that may have been
/// stored already (the protocol's largest page).
const LOOKBACK: usize = hearth_proto::MAX_HISTORY_LIMIT;

/// One message waiting to be sent, as stored in `outbox.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The idempotency key the server deduplicates retries with.
    pub client_id: String,
    /// The saved room it goes to.
    pub room_id: String,
    /// The text, already normalized by the protocol's rules.
    pub text: String,
    /// The message (of the same room) this one answers, if any. Absent in
    /// outbox files written before replies existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<MessageId>,
    /// The files it shares, in order (absent: none; and in outbox files
    /// written before files existed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<QueuedFile>,
    /// When it was queued (ms since the Unix epoch).
    pub queued_at_ms: u64,
    /// Why the server refused it for good, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct OutboxFile {
    #[serde(default)]
    entries: Vec<OutboxEntry>,
}

/// Whether an entry may already be on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Attempt {
    /// Not tried by this process, and not read from disk.
    Never,
    /// Read from disk: an earlier run may have posted it.
    Unknown,
    /// Posted (perhaps) with this token.
    With(Option<String>),
}

#[derive(Debug, Clone)]
struct Entry {
    saved: OutboxEntry,
    attempt: Attempt,
}

/// The queue and its worker. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    shared: Arc<Shared>,
}

struct Shared {
    path: PathBuf,
    /// The data dir (the spool is in it).
    data_dir: PathBuf,
    entries: Mutex<Vec<Entry>>,
    /// The uploads under way, by `client_id`: discarding cancels one.
    uploads: Mutex<HashMap<String, CancellationToken>>,
    /// The file limit of each connection's server (by `ConnKey::id`), as
    /// last heard.
    limits: Mutex<HashMap<String, u64>>,
    wake: Arc<Notify>,
    rooms: Rooms,
    hub: Arc<Hub>,
    post_policy: RetryPolicy,
}

/// How one room's round ended.
enum Round {
    /// Nothing left to send there.
    Done,
    /// An entry (and those after it) waits for the server or the network.
    Pending {
        room_id: String,
        client_id: String,
        reason: WaitReason,
    },
}

impl Outbox {
    /// Reads `outbox.json` from `data_dir` (none: empty). Entries read back
    /// are sent by the worker once it runs.
    pub fn load(
        data_dir: &Path,
        rooms: Rooms,
        hub: Arc<Hub>,
        wake: Arc<Notify>,
        post_policy: RetryPolicy,
    ) -> Result<Self, CommandError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| CommandError::Storage(format!("creating {}: {e}", data_dir.display())))?;
        let path = data_dir.join(FILE_NAME);
        let file: OutboxFile = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                CommandError::Storage(format!(
                    "{} is damaged ({e}); move it away to start with an empty outbox",
                    path.display()
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => OutboxFile::default(),
            Err(e) => {
                return Err(CommandError::Storage(format!(
                    "reading {}: {e}",
                    path.display()
                )));
            }
        };
        let kept: Vec<&Path> = file
            .entries
            .iter()
            .flat_map(|e| e.files.iter().filter(|f| f.spooled))
            .map(|f| f.path.as_path())
            .collect();
        files::sweep_spool(data_dir, &kept);
        let entries = file
            .entries
            .into_iter()
            .map(|saved| Entry {
                saved,
                attempt: Attempt::Unknown,
            })
            .collect();
        Ok(Self {
            shared: Arc::new(Shared {
                path,
                data_dir: data_dir.to_owned(),
                entries: Mutex::new(entries),
                uploads: Mutex::new(HashMap::new()),
                limits: Mutex::new(HashMap::new()),
                wake,
                rooms,
                hub,
                post_policy,
            }),
        })
    }

    /// Queues `text` for `room_id`: validated, given a `client_id`, written
    /// to disk, then handed to the worker. Fails (and queues nothing) if the
    /// room is unknown, the text breaks a rule, or the disk write fails.
    pub fn enqueue(&self, room_id: &str, text: &str) -> Result<OutboxEntry, CommandError> {
        self.enqueue_reply(room_id, text, None)
    }

    /// [`Outbox::enqueue`] for a message that answers `reply_to` (a message
    /// id of the same room; `None`: a plain message).
    pub fn enqueue_reply(
        &self,
        room_id: &str,
        text: &str,
        reply_to: Option<&str>,
    ) -> Result<OutboxEntry, CommandError> {
        self.enqueue_with(room_id, text, reply_to, &[])
    }

    /// [`Outbox::enqueue_reply`] sharing files (`text` may then be empty):
    /// staged ones must be in the spool, dropped ones readable; each is
    /// refused if it is over the room's server's file limit (when known).
    /// A refused message leaves no staged file behind.
    pub fn enqueue_with(
        &self,
        room_id: &str,
        text: &str,
        reply_to: Option<&str>,
        attachments: &[Attachment],
    ) -> Result<OutboxEntry, CommandError> {
        let queued = self.queue(room_id, text, reply_to, attachments);
        if queued.is_err() {
            files::remove_staged(&self.shared.data_dir, attachments);
        }
        queued
    }

    fn queue(
        &self,
        room_id: &str,
        text: &str,
        reply_to: Option<&str>,
        attachments: &[Attachment],
    ) -> Result<OutboxEntry, CommandError> {
        let text = if attachments.is_empty() {
            MessageText::parse(text)?
        } else {
            MessageText::parse_caption(text)?
        };
        let reply_to = reply_to.map(crate::rooms::relay::message_id).transpose()?;
        self.shared.rooms.saved_room(room_id)?;
        let files = files::resolve(
            &self.shared.data_dir,
            attachments,
            self.known_limit(room_id),
        )?;
        let entry = OutboxEntry {
            client_id: hearth_client::new_client_id(),
            room_id: room_id.to_owned(),
            text: text.as_str().to_owned(),
            reply_to,
            files,
            queued_at_ms: now_ms(),
            failed: None,
        };
        {
            let mut entries = self.shared.entries();
            entries.push(Entry {
                saved: entry.clone(),
                attempt: Attempt::Never,
            });
            if let Err(e) = self.shared.persist(&entries) {
                entries.pop();
                return Err(e);
            }
        }
        self.shared.announce(
            &entry.room_id,
            &entry.client_id,
            OutboxState::Queued {
                wait_reason: None,
                retry_at_ms: None,
            },
        );
        self.shared.wake.notify_one();
        Ok(entry)
    }

    /// Keeps bytes the webview sent for a file to attach (see
    /// [`files::stage`]); refused over the file limit of `room_id`'s server
    /// when it is known.
    pub fn stage(
        &self,
        room_id: Option<&str>,
        bytes: &[u8],
        name: &str,
        content_type: &str,
    ) -> Result<StagedFile, CommandError> {
        let limit = room_id.and_then(|r| self.known_limit(r));
        files::stage(&self.shared.data_dir, bytes, name, content_type, limit)
    }

    /// Notes the file limit of `room_id`'s server (from its `/api/info`),
    /// for every room of its connection.
    pub fn note_limit(&self, room_id: &str, max_file_bytes: Option<u64>) {
        self.shared.note_limit(room_id, max_file_bytes);
    }

    /// The file limit of `room_id`'s server, if heard.
    pub fn known_limit(&self, room_id: &str) -> Option<u64> {
        let key = self.shared.limit_key(room_id)?;
        self.shared.limits().get(&key).copied()
    }

    /// The entries waiting (or failed), oldest first; of one room if given.
    pub fn pending(&self, room_id: Option<&str>) -> Vec<OutboxEntry> {
        self.shared
            .entries()
            .iter()
            .filter(|e| room_id.is_none_or(|r| e.saved.room_id == r))
            .map(|e| e.saved.clone())
            .collect()
    }

    /// Removes an entry (the person gave up on it), aborting its upload if
    /// one is under way. `false` if none had that `client_id`.
    pub fn discard(&self, client_id: &str) -> Result<bool, CommandError> {
        let removed = self.shared.remove(client_id)?;
        if let Some(upload) = self.shared.uploads().remove(client_id) {
            upload.cancel();
        }
        Ok(removed)
    }

    /// Removes every entry of a forgotten room.
    pub fn drop_room(&self, room_id: &str) -> Result<(), CommandError> {
        let mut entries = self.shared.entries();
        let (dropped, kept): (Vec<Entry>, Vec<Entry>) =
            entries.drain(..).partition(|e| e.saved.room_id == room_id);
        *entries = kept;
        if !dropped.is_empty() {
            self.shared.persist(&entries)?;
            let mut uploads = self.shared.uploads();
            for entry in &dropped {
                if let Some(upload) = uploads.remove(&entry.saved.client_id) {
                    upload.cancel();
                }
                files::remove_spooled(&entry.saved.files);
            }
        }
        Ok(())
    }

    /// Asks the worker for a round now.
    pub fn wake(&self) {
        self.shared.wake.notify_one();
    }

    /// Starts the worker: a round now, then one per wake-up, and on a
    /// backoff timer while entries wait.
    pub fn spawn_worker(&self) -> tokio::task::JoinHandle<()> {
        let shared = self.shared.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_secs(1);
            loop {
                let waiting = shared.round().await;
                if !waiting.is_empty() {
                    // Say why each waits, and until when at most.
                    let retry_at_ms = now_ms()
                        .saturating_add(u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX));
                    for (room_id, client_id, reason) in waiting {
                        shared.announce(
                            &room_id,
                            &client_id,
                            OutboxState::Queued {
                                wait_reason: Some(reason),
                                retry_at_ms: Some(retry_at_ms),
                            },
                        );
                    }
                    tokio::select! {
                        _ = shared.wake.notified() => backoff = Duration::from_secs(1),
                        _ = tokio::time::sleep(backoff) => backoff = (backoff * 2).min(MAX_BACKOFF),
                    }
                } else {
                    backoff = Duration::from_secs(1);
                    shared.wake.notified().await;
                }
            }
        })
    }
}

impl Shared {
    fn entries(&self) -> MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn uploads(&self) -> MutexGuard<'_, HashMap<String, CancellationToken>> {
        self.uploads.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn limits(&self) -> MutexGuard<'_, HashMap<String, u64>> {
        self.limits.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What file limits are kept by: the room's connection (its server).
    fn limit_key(&self, room_id: &str) -> Option<String> {
        let saved = self.rooms.saved_room(room_id).ok()?;
        Some(crate::rooms::ConnKey::of(&saved).id())
    }

    fn note_limit(&self, room_id: &str, max_file_bytes: Option<u64>) {
        let Some(key) = self.limit_key(room_id) else {
            return;
        };
        let mut limits = self.limits();
        match max_file_bytes {
            Some(max) => limits.insert(key, max),
            None => limits.remove(&key),
        };
    }

    /// The entry as it is now (`None`: sent or discarded meanwhile).
    fn current(&self, client_id: &str) -> Option<OutboxEntry> {
        self.entries()
            .iter()
            .find(|e| e.saved.client_id == client_id)
            .map(|e| e.saved.clone())
    }

    fn persist(&self, entries: &[Entry]) -> Result<(), CommandError> {
        let file = OutboxFile {
            entries: entries.iter().map(|e| e.saved.clone()).collect(),
        };
        let json = serde_json::to_vec_pretty(&file).expect("the outbox always serializes");
        write_atomically(&self.path, &json)
    }

    fn announce(&self, room_id: &str, client_id: &str, state: OutboxState) {
        self.hub.emit(
            room_id,
            AppEvent::Local(LocalEvent::Outbox(OutboxUpdate {
                client_id: client_id.to_owned(),
                state,
            })),
        );
    }

    fn remove(&self, client_id: &str) -> Result<bool, CommandError> {
        let mut entries = self.entries();
        let Some(at) = entries.iter().position(|e| e.saved.client_id == client_id) else {
            return Ok(false);
        };
        let removed = entries.remove(at);
        if let Err(e) = self.persist(&entries) {
            entries.insert(at, removed);
            return Err(e);
        }
        drop(entries);
        files::remove_spooled(&removed.saved.files);
        Ok(true)
    }

    fn update(&self, client_id: &str, change: impl FnOnce(&mut Entry)) {
        let mut entries = self.entries();
        if let Some(entry) = entries.iter_mut().find(|e| e.saved.client_id == client_id) {
            change(entry);
            if let Err(e) = self.persist(&entries) {
                tracing::warn!(cause = %e, "saving the outbox failed");
            }
        }
    }

    fn set_attempt(&self, client_id: &str, attempt: Attempt) {
        let mut entries = self.entries();
        if let Some(entry) = entries.iter_mut().find(|e| e.saved.client_id == client_id) {
            entry.attempt = attempt;
        }
    }

    /// Sends what can be sent, every room at once and each room in order.
    /// Returns the entries that wait to be retried (one per room: the
    /// others of that room wait behind it).
    async fn round(&self) -> Vec<(String, String, WaitReason)> {
        let mut by_room: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
        for entry in self.entries().iter().filter(|e| e.saved.failed.is_none()) {
            by_room
                .entry(entry.saved.room_id.clone())
                .or_default()
                .push(entry.clone());
        }
        let rounds = by_room
            .into_iter()
            .map(|(room_id, entries)| self.send_room(room_id, entries));
        futures::future::join_all(rounds)
            .await
            .into_iter()
            .filter_map(|round| match round {
                Round::Done => None,
                Round::Pending {
                    room_id,
                    client_id,
                    reason,
                } => Some((room_id, client_id, reason)),
            })
            .collect()
    }

    async fn send_room(&self, room_id: String, entries: Vec<Entry>) -> Round {
        for entry in entries {
            let client_id = entry.saved.client_id.clone();
            let pending = |reason| Round::Pending {
                room_id: room_id.clone(),
                client_id: client_id.clone(),
                reason,
            };
            let mut attempt = entry.attempt.clone();
            let mut renewed = false;
            let mut reuploaded = false;
            loop {
                let target = match self.rooms.target(&room_id) {
                    Ok(target) => target,
                    Err(CommandError::UnknownRoom) => {
                        let _ = self.remove(&client_id);
                        break;
                    }
                    Err(_) => return pending(WaitReason::Network), // not hosting now
                };
                let token = target.client.token().map(str::to_owned);
                // Might it be stored already, under another session?
                let maybe_stored = match &attempt {
                    Attempt::Never => false,
                    Attempt::Unknown => true,
                    Attempt::With(t) => *t != token,
                };
                if maybe_stored {
                    match target
                        .client
                        .history(&target.room, None, Some(LOOKBACK))
                        .await
                    {
                        Ok(history) => {
                            if let Some(found) = history.iter().find(|m| {
                                m.client_id.as_deref() == Some(client_id.as_str())
                                    && m.nick == target.key.nick.as_str()
                            }) {
                                self.sent(&room_id, &client_id, found.clone());
                                break;
                            }
                        }
                        Err(e) if needs_sign_in(&e) && !renewed => {
                            renewed = true;
                            if self.rooms.reauth(&target.key).await.is_err() {
                                return pending(WaitReason::Network);
                            }
                            continue;
                        }
                        Err(e) if Failure::of(&e).retryable => return pending(wait_reason(&e)),
                        Err(e) => {
                            tracing::debug!(cause = %e, "history lookup failed; posting anyway");
                        }
                    }
                }
                let file_ids = if entry.saved.files.is_empty() {
                    Vec::new()
                } else {
                    match self.upload_files(&room_id, &target, &client_id).await {
                        Ok(Some(ids)) => ids,
                        Ok(None) => break, // discarded meanwhile
                        Err(Upload::Refused(error)) => {
                            self.fail(&room_id, &client_id, error.to_string());
                            break;
                        }
                        Err(Upload::Client(e)) if needs_sign_in(&e) && !renewed => {
                            renewed = true;
                            if self.rooms.reauth(&target.key).await.is_err() {
                                return pending(WaitReason::Network);
                            }
                            continue;
                        }
                        Err(Upload::Client(e))
                            if Failure::of(&e).retryable || needs_sign_in(&e) =>
                        {
                            tracing::debug!(cause = %e, %client_id, "upload failed; will retry");
                            return pending(wait_reason(&e));
                        }
                        Err(Upload::Client(e)) => {
                            let error =
                                CommandError::from_client(target.client.base_url().as_str(), e);
                            self.fail(&room_id, &client_id, error.to_string());
                            break;
                        }
                    }
                };
                if !entry.saved.files.is_empty() && self.current(&client_id).is_none() {
                    break; // discarded while its files went up
                }
                attempt = Attempt::With(token.clone());
                self.set_attempt(&client_id, attempt.clone());
                let saved = &entry.saved;
                let outgoing = Outgoing {
                    text: &saved.text,
                    client_id: &saved.client_id,
                    reply_to: saved.reply_to,
                    files: &file_ids,
                };
                let posted = target
                    .client
                    .post_outgoing_reliably(&target.room, &outgoing, &self.post_policy)
                    .await;
                match posted {
                    Ok(posted) => {
                        self.sent(&room_id, &client_id, posted.message);
                        break;
                    }
                    Err(e) if needs_sign_in(&e) && !renewed => {
                        renewed = true;
                        if self.rooms.reauth(&target.key).await.is_err() {
                            return pending(WaitReason::Network);
                        }
                    }
                    Err(e)
                        if !file_ids.is_empty()
                            && !reuploaded
                            && e.status().map(|s| s.as_u16()) == Some(400) =>
                    {
                        // The ids may be another session's, or swept: the
                        // files go up once more (nothing was stored).
                        tracing::debug!(cause = %e, %client_id, "post with files refused; uploading again");
                        reuploaded = true;
                        self.update(&client_id, |entry| {
                            for file in &mut entry.saved.files {
                                file.file_id = None;
                            }
                        });
                    }
                    Err(e) if Failure::of(&e).retryable || needs_sign_in(&e) => {
                        tracing::debug!(cause = %e, %client_id, "post failed; will retry");
                        return pending(wait_reason(&e));
                    }
                    Err(e) => {
                        let error = crate::error::CommandError::from_client(
                            target.client.base_url().as_str(),
                            e,
                        )
                        .to_string();
                        self.fail(&room_id, &client_id, error);
                        break;
                    }
                }
            }
        }
        Round::Done
    }

    /// Marks an entry refused for good (kept until discarded).
    fn fail(&self, room_id: &str, client_id: &str, error: String) {
        tracing::warn!(%error, %client_id, "message refused");
        self.update(client_id, |entry| entry.saved.failed = Some(error.clone()));
        self.announce(room_id, client_id, OutboxState::Failed { error });
    }

    fn sent(&self, room_id: &str, client_id: &str, message: Message) {
        // The server is back: its stream need not wait out its backoff.
        self.rooms.server_answered(room_id);
        if let Err(e) = self.remove(client_id) {
            // Still on disk: the next run finds it in the history.
            tracing::warn!(cause = %e, "removing a sent message from the outbox failed");
        }
        self.announce(
            room_id,
            client_id,
            OutboxState::Sent {
                message_id: message.id.to_string(),
                message: Some(message),
            },
        );
    }
}

/// Why a retryable failure waits: the server asked to slow down, or it
/// (or the network) is not there.
fn wait_reason(e: &ClientError) -> WaitReason {
    match Failure::of(e).kind {
        ErrorKind::RateLimited => WaitReason::Slow,
        _ => WaitReason::Network,
    }
}

/// A 401: the session is not accepted (the same rule as the UI's
/// `unauthorized` kind).
fn needs_sign_in(e: &ClientError) -> bool {
    Failure::of(e).kind == ErrorKind::Unauthorized
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
