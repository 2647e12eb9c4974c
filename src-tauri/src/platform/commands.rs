//! The platform's commands: `watch_platform` (the channel of
//! [`PlatformEvent`]s), `desktop_settings` / `save_desktop_settings` (tray,
//! start at login, do not disturb), `set_room_muted`, `quit_app`.

use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_autostart::ManagerExt;

use super::{Platform, PlatformEvent};
use crate::desktop::Desktop;
use crate::error::CommandError;
use crate::tray;

/// The desktop settings as the page shows them.
#[derive(Debug, Clone, Serialize)]
pub struct DesktopSettingsView {
    /// Closing the window keeps Hearth in the tray (effective value).
    pub keep_in_tray: bool,
    /// A tray icon exists; without one, closing always quits.
    pub tray_available: bool,
    pub start_at_login: bool,
    pub do_not_disturb: bool,
    /// Ids of the saved rooms that never notify.
    pub muted_rooms: Vec<String>,
}

fn view(desktop: &Desktop, platform: &Platform) -> DesktopSettingsView {
    let settings = desktop.settings().get().desktop;
    let tray_available = platform.tray_available();
    DesktopSettingsView {
        keep_in_tray: settings.keeps_in_tray(tray_available),
        tray_available,
        start_at_login: settings.start_at_login,
        do_not_disturb: settings.do_not_disturb,
        muted_rooms: settings.muted_rooms.into_iter().collect(),
    }
}

/// Links, refusals and rooms to open go to `onEvent` from now on (those
/// that came before, first).
#[tauri::command]
pub fn watch_platform(platform: State<'_, Platform>, on_event: Channel<PlatformEvent>) {
    platform.watch(on_event);
}

#[tauri::command]
pub fn desktop_settings(
    desktop: State<'_, Desktop>,
    platform: State<'_, Platform>,
) -> DesktopSettingsView {
    view(&desktop, &platform)
}

/// Changes the given settings (absent: unchanged). Start at login is
/// registered with the OS first; a failure there changes nothing.
#[tauri::command]
pub fn save_desktop_settings<R: Runtime>(
    app: AppHandle<R>,
    desktop: State<'_, Desktop>,
    platform: State<'_, Platform>,
    keep_in_tray: Option<bool>,
    start_at_login: Option<bool>,
    do_not_disturb: Option<bool>,
) -> Result<DesktopSettingsView, CommandError> {
    if let Some(on) = start_at_login {
        let autolaunch = app.autolaunch();
        let done = if on {
            autolaunch.enable()
        } else {
            autolaunch.disable()
        };
        done.map_err(|e| {
            CommandError::BadInput(format!("Hearth could not change start at login: {e}"))
        })?;
    }
    desktop.settings().update(|s| {
        if let Some(on) = keep_in_tray {
            s.desktop.keep_in_tray = Some(on);
        }
        if let Some(on) = start_at_login {
            s.desktop.start_at_login = on;
        }
        if let Some(on) = do_not_disturb {
            s.desktop.do_not_disturb = on;
        }
    })?;
    if let Some(on) = do_not_disturb {
        let tray_app = app.clone();
        let _ = app.run_on_main_thread(move || tray::set_do_not_disturb(&tray_app, on));
    }
    Ok(view(&desktop, &platform))
}

/// Mutes (or unmutes) a saved room: its messages never notify.
#[tauri::command]
pub fn set_room_muted(
    desktop: State<'_, Desktop>,
    room_id: String,
    muted: bool,
) -> Result<(), CommandError> {
    let known = desktop
        .settings()
        .get()
        .rooms
        .iter()
        .any(|r| r.id == room_id);
    if !known {
        return Err(CommandError::UnknownRoom);
    }
    desktop.settings().update(|s| {
        if muted {
            s.desktop.muted_rooms.insert(room_id);
        } else {
            s.desktop.muted_rooms.remove(&room_id);
        }
    })
}

/// Quits Hearth (as the tray's "Quit" does): hosting stops cleanly. The
/// exit is requested from a task, after this command has answered.
#[tauri::command]
pub fn quit_app<R: Runtime>(app: AppHandle<R>) {
    tauri::async_runtime::spawn(async move { super::quit(&app) });
}
