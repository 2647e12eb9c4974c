//! Tauri commands of hosting: thin wrappers over [`crate::Desktop`].
//!
//! JS: `invoke('host_start', {password, nick, room, startOnLaunch, redis,
//! https})`,
//! `invoke('host_stop')`, `invoke('host_status')`,
//! `invoke('save_host_settings', {startOnLaunch})`; each resolves to a
//! [`HostStatus`] and rejects with a sentence.

use tauri::State;

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
