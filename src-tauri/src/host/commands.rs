//! Tauri commands of hosting: thin wrappers over [`crate::Desktop`].
//!
//! JS: `invoke('host_start', {password, nick, room, startOnLaunch, redis,
//! https})`,
//! `invoke('host_stop')`, `invoke('host_status')`,
//! `invoke('save_host_settings', {startOnLaunch})`; each resolves to a
//! [`HostStatus`] and rejects with a sentence.
//! `invoke('watch_host_visibility', {onEvent: new Channel()})` and
//! `invoke('set_host_visibility', {visible})` resolve to a
//! [`VisibilityView`] (the first also sends one at every change).

use tauri::State;
use tauri::ipc::Channel;

use crate::host::visibility::VisibilityView;

use crate::desktop::{Desktop, HostStart, HostStatus};
use crate::error::CommandError;

/// Starts hosting. `password`: absent/null keeps the saved one, `""` hosts
/// without one, anything else becomes the password.
#[tauri::command]
pub async fn host_start(
    desktop: State<'_, Desktop>,
    password: Option<String>,
    nick: Option<String>,
    room: Option<String>,
    start_on_launch: Option<bool>,
    redis: Option<String>,
    https: Option<bool>,
) -> Result<HostStatus, CommandError> {
    desktop
        .host_start(HostStart {
            password,
            nick,
            room,
            start_on_launch,
            redis,
            https,
        })
        .await
}

/// Stops hosting cleanly.
#[tauri::command]
pub async fn host_stop(desktop: State<'_, Desktop>) -> Result<HostStatus, CommandError> {
    desktop.host_stop().await
}

/// Where hosting stands: port, LAN links with QR codes, settings.
#[tauri::command]
pub async fn host_status(desktop: State<'_, Desktop>) -> Result<HostStatus, CommandError> {
    Ok(desktop.host_status().await)
}

/// Saves whether to start hosting when the app starts.
#[tauri::command]
pub async fn save_host_settings(
    desktop: State<'_, Desktop>,
    start_on_launch: bool,
) -> Result<HostStatus, CommandError> {
    desktop.save_host_settings(start_on_launch).await
}

/// Whether the hosted room is visible on the network: the view now, then
/// every change on `on_event` (a later call replaces the channel).
#[tauri::command]
pub fn watch_host_visibility(
    desktop: State<'_, Desktop>,
    on_event: Channel<VisibilityView>,
) -> VisibilityView {
    desktop
        .host()
        .visibility()
        .watch(move |view| on_event.send(view).is_ok())
}

/// Turns advertising on or off (at once while hosting; kept for later).
#[tauri::command]
pub fn set_host_visibility(
    desktop: State<'_, Desktop>,
    visible: bool,
) -> Result<VisibilityView, CommandError> {
    desktop.host().visibility().set_visible(visible)
}
