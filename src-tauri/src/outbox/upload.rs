//! The upload step of an outbox round: an entry's files that have no id
//! yet are checked against the server's limit (asked with `/api/info`
//! first) and uploaded one by one with `hearth_client`, streamed from disk;
//! each id is written to the entry on disk as soon as it comes. Progress
//! goes to the webview as `sending` events; discarding the entry cancels
//! the upload under way.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hearth_client::ClientError;
use tokio_util::sync::CancellationToken;

use super::{Shared, files};
use crate::error::CommandError;
use crate::events::{AppEvent, FileProgress, LocalEvent, OutboxState, OutboxUpdate};
use crate::rooms::RoomTarget;
use crate::rooms::hub::Hub;

impl Shared {
    /// Uploads the entry's files that have no id yet (each checked against
    /// the server's limit first), keeping each id on disk as it comes;
    /// answers every id in order, or `None` if the entry was discarded.
    pub(super) async fn upload_files(
        &self,
        room_id: &str,
        target: &RoomTarget,
        client_id: &str,
    ) -> Result<Option<Vec<String>>, Upload> {
        let cancel = CancellationToken::new();
        self.uploads().insert(client_id.to_owned(), cancel.clone());
        let result = self
            .upload_missing(room_id, target, client_id, &cancel)
            .await;
        {
            let mut uploads = self.uploads();
            if uploads.get(client_id).is_some_and(|c| !c.is_cancelled()) {
                uploads.remove(client_id);
            }
        }
        if cancel.is_cancelled() {
            return Ok(None);
        }
        result?;
        Ok(self
            .current(client_id)
            .map(|entry| entry.files.into_iter().filter_map(|f| f.file_id).collect()))
    }

    async fn upload_missing(
        &self,
        room_id: &str,
        target: &RoomTarget,
        client_id: &str,
        cancel: &CancellationToken,
    ) -> Result<(), Upload> {
        let Some(entry) = self.current(client_id) else {
            return Ok(());
        };
        if entry.files.iter().all(|f| f.file_id.is_some()) {
            return Ok(());
        }
        let info = target.client.info().await.map_err(Upload::Client)?;
        if !info.features.iter().any(|f| f == "files") {
            return Err(Upload::Refused(CommandError::BadInput(
                "This server does not take files (it runs an older Hearth).".into(),
            )));
        }
        let limit = info
            .max_file_bytes
            .unwrap_or(hearth_proto::DEFAULT_MAX_FILE_BYTES);
        self.note_limit(room_id, Some(limit));
        let mut progress: Vec<FileProgress> = entry
            .files
            .iter()
            .map(|f| FileProgress {
                name: f.name.clone(),
                size: f.size,
                content_type: f.content_type.clone(),
                sent: if f.file_id.is_some() { f.size } else { 0 },
                file_id: f.file_id.clone(),
            })
            .collect();
        for (at, file) in entry.files.iter().enumerate() {
            if file.file_id.is_some() {
                continue;
            }
            let size = std::fs::metadata(&file.path)
                .map_err(|e| {
                    Upload::Refused(CommandError::File(format!(
                        "cannot read {}: {e}",
                        file.path.display()
                    )))
                })?
                .len();
            files::check_size(&file.name, size, Some(limit)).map_err(Upload::Refused)?;
            progress[at].size = size;
            let report = Progress {
                hub: self.hub.clone(),
                room_id: room_id.to_owned(),
                client_id: client_id.to_owned(),
                files: Mutex::new((progress.clone(), None)),
                at,
            };
            report.emit(0, true);
            let content_type =
                (!file.content_type.is_empty()).then_some(file.content_type.as_str());
            let uploaded = tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                uploaded = target.client.upload_file(&file.path, &file.name, content_type, move |sent| report.emit(sent, false)) => uploaded,
            }
            .map_err(Upload::Client)?;
            self.update(client_id, |entry| {
                if let Some(saved) = entry.saved.files.get_mut(at) {
                    saved.file_id = Some(uploaded.id.clone());
                }
            });
            progress[at].sent = size;
            progress[at].file_id = Some(uploaded.id);
            self.announce(
                room_id,
                client_id,
                OutboxState::Sending {
                    files: progress.clone(),
                },
            );
        }
        Ok(())
    }
}

/// Why uploading an entry's files stopped.
pub(super) enum Upload {
    /// The client failed (classified as for a post).
    Client(ClientError),
    /// The app refuses to send it (too large, unreadable, no files on the
    /// server): failed for good.
    Refused(CommandError),
}

/// Reports one file's upload progress as `sending` events, at most one
/// every [`PROGRESS_EVERY`].
struct Progress {
    hub: Arc<Hub>,
    room_id: String,
    client_id: String,
    /// Every file's progress, and when the last event went out.
    files: Mutex<(Vec<FileProgress>, Option<Instant>)>,
    /// The file uploading.
    at: usize,
}

/// The least time between two progress events of one upload.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

impl Progress {
    fn emit(&self, sent: u64, always: bool) {
        let mut state = self.files.lock().unwrap_or_else(|p| p.into_inner());
        let (files, last) = &mut *state;
        files[self.at].sent = sent;
        let now = Instant::now();
        if !always && last.is_some_and(|at| now.duration_since(at) < PROGRESS_EVERY) {
            return;
        }
        *last = Some(now);
        self.hub.emit(
            &self.room_id,
            AppEvent::Local(LocalEvent::Outbox(OutboxUpdate {
                client_id: self.client_id.clone(),
                state: OutboxState::Sending {
                    files: files.clone(),
                },
            })),
        );
    }
}
