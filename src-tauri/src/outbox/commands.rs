//! Tauri commands of the outbox: thin wrappers over
//! [`crate::outbox::Outbox`].
//!
//! `post_message` resolves as soon as the message is on disk (with its
//! `client_id`); the stream then brings the message (same `client_id`) and
//! an `outbox` event says `sent` (or `failed`).

use tauri::State;

use crate::desktop::Desktop;
use crate::error::CommandError;
use crate::outbox::OutboxEntry;

/// Queues a message for a saved room (answering the message `replyTo` if
/// given) and sends it as soon as possible.
#[tauri::command]
pub async fn post_message(
    desktop: State<'_, Desktop>,
    room_id: String,
    text: String,
    reply_to: Option<String>,
) -> Result<OutboxEntry, CommandError> {
    desktop
        .outbox()
        .enqueue_reply(&room_id, &text, reply_to.as_deref())
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

/// Drops a queued or failed message; `false` if there was none.
#[tauri::command]
pub async fn discard_message(
    desktop: State<'_, Desktop>,
    client_id: String,
) -> Result<bool, CommandError> {
    desktop.outbox().discard(&client_id)
}
