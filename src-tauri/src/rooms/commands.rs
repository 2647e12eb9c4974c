//! Tauri commands of rooms: thin wrappers over [`crate::Desktop`] and
//! [`crate::rooms::Rooms`].
//!
//! JS argument names are camelCase (`roomId`, `onEvent`); results are the
//! snake_case JSON of [`RoomView`], [`Probe`], `hearth_proto` types.

use std::sync::Arc;

use hearth_proto::{Message, RoomSummary};
use tauri::State;
use tauri::ipc::Channel;

use crate::desktop::Desktop;
use crate::error::CommandError;
use crate::events::RoomEvent;
use crate::rooms::{Joined, Probe, RoomView};

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
        .probe_pinned(&address, fingerprint.as_deref())
        .await
}

/// Joins a room (and saves it): signs in, keeps the token and password in
/// the keychain, starts following it.
#[tauri::command]
pub async fn join_room(
    desktop: State<'_, Desktop>,
    address: String,
    nick: String,
    password: Option<String>,
    room: Option<String>,
    fingerprint: Option<String>,
) -> Result<Joined, CommandError> {
    desktop
        .rooms()
        .join_pinned(
            &address,
            &nick,
            password.as_deref(),
            room.as_deref(),
            fingerprint.as_deref(),
        )
        .await
}

/// Forgets a saved room: its settings, keychain entry and queued messages.
#[tauri::command]
pub async fn forget_room(desktop: State<'_, Desktop>, room_id: String) -> Result<(), CommandError> {
    desktop.forget_room(&room_id).await
}

/// The saved rooms, with connection state and unread count.
#[tauri::command]
pub async fn saved_rooms(desktop: State<'_, Desktop>) -> Result<Vec<RoomView>, CommandError> {
    Ok(desktop.rooms().saved())
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

/// Sends every room's events to `on_event` from now on (replacing an
/// earlier channel), after a catch-up of each room's state. Returns the
/// saved rooms.
#[tauri::command]
pub async fn follow_rooms(
    desktop: State<'_, Desktop>,
    on_event: Channel<RoomEvent>,
) -> Result<Vec<RoomView>, CommandError> {
    Ok(desktop.follow_rooms(Arc::new(on_event)))
}

/// The room the person is looking at (`null`: none); it is marked read.
#[tauri::command]
pub async fn set_active_room(
    desktop: State<'_, Desktop>,
    room_id: Option<String>,
) -> Result<(), CommandError> {
    desktop.set_active_room(room_id.as_deref())
}
