//! Tauri commands of the outbox: thin wrappers over
//! [`crate::outbox::Outbox`].
//!
//! `post_message` resolves as soon as the message is on disk (with its
//! `client_id`); the stream then brings the message (same `client_id`) and
//! an `outbox` event says `sent` (or `failed`).

//!
//! Files: `stage_file` takes an attached file's bytes as the raw IPC body
//! (`invoke('stage_file', bytes, {headers: {'Hearth-Name': encodeURIComponent(name),
//! 'Hearth-Type': type, 'Hearth-Room': roomId}})`) and keeps them in the
//! spool; `post_message` then names it (`files: [{staged, name, type}]`),
//! or a file dropped on the window by its path (`files: [{path, name}]`;
//! only paths that were dropped, see `crate::files::drops`).

use tauri::State;
use tauri::ipc::{InvokeBody, Request};

use crate::desktop::Desktop;
use crate::error::CommandError;
use crate::outbox::OutboxEntry;
use crate::outbox::files::{Attachment, StagedFile};

/// Queues a message for a saved room (answering the message `replyTo` if
/// given, sharing `files` if given) and sends it as soon as possible.
#[tauri::command]
pub async fn post_message(
    desktop: State<'_, Desktop>,
    room_id: String,
    text: String,
    reply_to: Option<String>,
    files: Option<Vec<Attachment>>,
) -> Result<OutboxEntry, CommandError> {
    let drops = desktop.files().drops();
    for file in files.iter().flatten() {
        if let Some(path) = &file.path
            && !drops.was_dropped(path)
        {
            return Err(CommandError::BadInput(format!(
                "{} was not dropped on the window: attach it instead.",
                path.display()
            )));
        }
    }
    desktop.outbox().enqueue_with(
        &room_id,
        &text,
        reply_to.as_deref(),
        files.as_deref().unwrap_or_default(),
    )
}

/// Keeps the bytes of a file to attach (the raw body; headers
/// `Hearth-Name`, percent-encoded, `Hearth-Type` and `Hearth-Room`, both
/// optional) until `post_message` takes it.
#[tauri::command]
pub async fn stage_file(
    desktop: State<'_, Desktop>,
    request: Request<'_>,
) -> Result<StagedFile, CommandError> {
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(CommandError::BadInput(
            "Send the file's bytes as the body.".into(),
        ));
    };
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let name = header("hearth-name")
        .map(|n| {
            percent_encoding::percent_decode_str(&n)
                .decode_utf8_lossy()
                .into_owned()
        })
        .unwrap_or_default();
    let content_type = header("hearth-type").unwrap_or_default();
    let room_id = header("hearth-room");
    desktop
        .outbox()
        .stage(room_id.as_deref(), bytes, &name, &content_type)
}

/// Messages not sent yet (and failed ones), oldest first; of one room if
/// `roomId` is given.
#[tauri::command]
pub async fn pending_messages(
    desktop: State<'_, Desktop>,
    room_id: Option<String>,
) -> Result<Vec<OutboxEntry>, CommandError> {
    Ok(desktop.outbox().pending(room_id.as_deref()))
}

/// Drops a queued or failed message (aborting its upload); `false` if
/// there was none.
#[tauri::command]
pub async fn discard_message(
    desktop: State<'_, Desktop>,
    client_id: String,
) -> Result<bool, CommandError> {
    desktop.outbox().discard(&client_id)
}
