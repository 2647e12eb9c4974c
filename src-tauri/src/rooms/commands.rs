//! Tauri commands of rooms: thin wrappers over [`crate::Desktop`] and
//! [`crate::rooms::Rooms`].
//!
//! JS argument names are camelCase (`roomId`, `onEvent`); results are the
//! snake_case JSON of [`RoomView`], [`Probe`], `hearth_proto` types.
//! Two channels carry events: `follow_rooms` (the home screen: every room)
//! and `open_view` (the chat view: the rooms it follows, each after its
//! catch-up of newest messages and `ready`).

use std::sync::Arc;

use hearth_proto::{Message, RoomSummary, ServerInfo};
use serde::Serialize;
use tauri::State;
use tauri::ipc::Channel;

use crate::desktop::Desktop;
use crate::error::CommandError;
use crate::events::RoomEvent;
use crate::rooms::hub::PAGE_SIZE;
use crate::rooms::relay::PostResult;
use crate::rooms::session::SignedIn;
use crate::rooms::{JoinRequest, Joined, Probe, RoomView};

/// What `follow_rooms` answers.
#[derive(Debug, Clone, Serialize)]
pub struct Following {
    /// The saved rooms.
    pub rooms: Vec<RoomView>,
    /// How many messages a view's catch-up brings per room, and the
    /// history page size.
    pub page_size: usize,
}

/// `GET /api/info` on a pasted address (`host`, `host:port`,
/// `http://host:port`, or a `/r/{room}` link).
#[tauri::command]
pub async fn probe_server(
    desktop: State<'_, Desktop>,
    address: String,
    fingerprint: Option<String>,
) -> Result<Probe, CommandError> {
    desktop
        .rooms()
        .probe(&address, fingerprint.as_deref())
        .await
}

/// Joins a room (and saves it): signs in (with the nick password the app
/// keeps for the server and nick, or a new one, or `nickPassword` if the
/// person typed theirs), keeps the token and passwords in the keychain,
/// starts following it.
#[tauri::command]
pub async fn join_room(
    desktop: State<'_, Desktop>,
    address: String,
    nick: String,
    password: Option<String>,
    room: Option<String>,
    fingerprint: Option<String>,
    nick_password: Option<String>,
) -> Result<Joined, CommandError> {
    desktop
        .rooms()
        .join(JoinRequest {
            address,
            nick,
            password,
            room,
            fingerprint,
            nick_password,
        })
        .await
}

/// Signs the connection of a saved room in again with a password the
/// person typed (and their nick password, if they typed it); keeps them
/// in the keychain as joining does.
#[tauri::command]
pub async fn sign_in_again(
    desktop: State<'_, Desktop>,
    room_id: String,
    password: Option<String>,
    nick_password: Option<String>,
) -> Result<SignedIn, CommandError> {
    desktop
        .rooms()
        .sign_in_again(&room_id, password.as_deref(), nick_password.as_deref())
        .await
}

/// Forgets a saved room: its settings, keychain entry and queued messages.
#[tauri::command]
pub async fn forget_room(desktop: State<'_, Desktop>, room_id: String) -> Result<(), CommandError> {
    desktop.forget_room(&room_id).await
}

/// "Retry now": the room's connection reconnects at once (a stream waiting
/// out its backoff, or one that stopped).
#[tauri::command]
pub async fn retry_now(desktop: State<'_, Desktop>, room_id: String) -> Result<(), CommandError> {
    desktop.rooms().retry_now(&room_id)
}

/// Opens an `http(s)` link of a message in the system browser.
#[tauri::command]
pub async fn open_link(url: String) -> Result<(), CommandError> {
    crate::rooms::links::open_link(&url)
}

/// The saved rooms, with connection state and unread count.
#[tauri::command]
pub async fn saved_rooms(desktop: State<'_, Desktop>) -> Result<Vec<RoomView>, CommandError> {
    Ok(desktop.rooms().saved())
}

/// The info of a saved room's server (`GET /api/info`).
#[tauri::command]
pub async fn room_info(
    desktop: State<'_, Desktop>,
    room_id: String,
) -> Result<ServerInfo, CommandError> {
    let info = desktop.rooms().info(&room_id).await?;
    // The outbox refuses files over the limit before uploading them.
    let limit = info.features.iter().any(|f| f == "files").then(|| {
        info.max_file_bytes
            .unwrap_or(hearth_proto::DEFAULT_MAX_FILE_BYTES)
    });
    desktop.outbox().note_limit(&room_id, limit);
    Ok(info)
}

/// The rooms of a saved room's server (`GET /api/rooms`).
#[tauri::command]
pub async fn list_rooms(
    desktop: State<'_, Desktop>,
    room_id: String,
) -> Result<Vec<RoomSummary>, CommandError> {
    desktop.rooms().list(&room_id).await
}

/// Up to `limit` (1–500, default 50) messages before `before` (a message
/// id; default: the newest), oldest first.
#[tauri::command]
pub async fn room_history(
    desktop: State<'_, Desktop>,
    room_id: String,
    before: Option<String>,
    limit: Option<usize>,
) -> Result<Vec<Message>, CommandError> {
    desktop
        .rooms()
        .history(&room_id, before.as_deref(), limit)
        .await
}

/// One direct post (no outbox, no retry) with the caller's `clientId`.
#[tauri::command]
pub async fn post_once(
    desktop: State<'_, Desktop>,
    room_id: String,
    text: String,
    client_id: String,
) -> Result<PostResult, CommandError> {
    desktop.rooms().post_once(&room_id, &text, &client_id).await
}

/// Sends every room's events to `on_event` from now on (replacing an
/// earlier channel), after a catch-up of each room's state.
#[tauri::command]
pub async fn follow_rooms(
    desktop: State<'_, Desktop>,
    on_event: Channel<RoomEvent>,
) -> Result<Following, CommandError> {
    // The page asks this just before it shows the home screen
    // (ui/desktop.js): `hearth-bench desktop` times start-up to this line.
    tracing::info!("the home screen follows the rooms");
    Ok(Following {
        rooms: desktop.follow_rooms(Arc::new(on_event)),
        page_size: PAGE_SIZE,
    })
}

/// The chat view follows `roomIds` on `on_event` (replacing an earlier
/// view): each room's newest messages, its `ready`, then its live events.
#[tauri::command]
pub async fn open_view(
    desktop: State<'_, Desktop>,
    room_ids: Vec<String>,
    on_event: Channel<RoomEvent>,
) -> Result<(), CommandError> {
    desktop.open_view(Arc::new(on_event), &room_ids);
    tracing::info!(rooms = room_ids.len(), "the chat view opened");
    Ok(())
}

/// The view follows `roomIds` from now on: new rooms get their catch-up,
/// kept rooms a `ready`.
#[tauri::command]
pub async fn set_view_rooms(
    desktop: State<'_, Desktop>,
    room_ids: Vec<String>,
) -> Result<(), CommandError> {
    desktop.set_view_rooms(&room_ids);
    Ok(())
}

/// The view stops following.
#[tauri::command]
pub async fn close_view(desktop: State<'_, Desktop>) -> Result<(), CommandError> {
    desktop.hub().close_view();
    Ok(())
}

/// The room the person is looking at (`null`: none); it is marked read.
#[tauri::command]
pub async fn set_active_room(
    desktop: State<'_, Desktop>,
    room_id: Option<String>,
) -> Result<(), CommandError> {
    desktop.set_active_room(room_id.as_deref())
}

/// The author changes a message's text; resolves to the edited message.
#[tauri::command]
pub async fn edit_message(
    desktop: State<'_, Desktop>,
    room_id: String,
    message_id: String,
    text: String,
) -> Result<Message, CommandError> {
    desktop.rooms().edit(&room_id, &message_id, &text).await
}

/// The author (or an admin of the server) deletes a message.
#[tauri::command]
pub async fn delete_message(
    desktop: State<'_, Desktop>,
    room_id: String,
    message_id: String,
) -> Result<(), CommandError> {
    desktop.rooms().delete(&room_id, &message_id).await
}

/// Adds (`on: true`) or removes (`on: false`) the person's reaction.
#[tauri::command]
pub async fn set_reaction(
    desktop: State<'_, Desktop>,
    room_id: String,
    message_id: String,
    emoji: String,
    on: bool,
) -> Result<(), CommandError> {
    desktop
        .rooms()
        .set_reaction(&room_id, &message_id, &emoji, on)
        .await
}

/// Tells the room's other streams the person is typing (the UI throttles).
#[tauri::command]
pub async fn send_typing(desktop: State<'_, Desktop>, room_id: String) -> Result<(), CommandError> {
    desktop.rooms().typing(&room_id).await
}
