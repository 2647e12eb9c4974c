//! Tauri commands of files: thin wrappers over [`crate::files::Files`].
//!
//! `save_file` downloads into the person's Downloads folder and answers
//! `{path}`; `show_in_folder` shows such a path in the file manager
//! (through the opener plugin's Rust API: the webview gets no opener
//! permission of its own). `watch_drops` gives the channel dropped files
//! come on.

use std::path::PathBuf;

use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, Runtime, State};

use crate::desktop::Desktop;
use crate::error::CommandError;
use crate::files::drops::DropEvent;

/// Where a file was saved.
#[derive(Debug, Clone, Serialize)]
pub struct Saved {
    pub path: PathBuf,
}

/// Saves the file `fileId` of a saved room's server into the Downloads
/// folder as `name` (or `name (1).ext`… when taken).
#[tauri::command]
pub async fn save_file<R: Runtime>(
    app: AppHandle<R>,
    desktop: State<'_, Desktop>,
    room_id: String,
    file_id: String,
    name: String,
) -> Result<Saved, CommandError> {
    let dir = downloads_dir(&app)?;
    let path = desktop
        .files()
        .save(desktop.rooms(), &room_id, &file_id, &name, &dir)
        .await?;
    Ok(Saved { path })
}

/// Shows a file the app saved in the system's file manager.
#[tauri::command]
pub async fn show_in_folder(
    desktop: State<'_, Desktop>,
    path: PathBuf,
) -> Result<(), CommandError> {
    desktop.files().reveal(&path)
}

/// `HEARTH_DOWNLOAD_DIR` when set (the window tests), else the system's
/// Downloads folder.
fn downloads_dir<R: Runtime>(app: &AppHandle<R>) -> Result<PathBuf, CommandError> {
    if let Some(dir) = std::env::var_os("HEARTH_DOWNLOAD_DIR") {
        return Ok(PathBuf::from(dir));
    }
    app.path()
        .download_dir()
        .or_else(|_| app.path().home_dir().map(|home| home.join("Downloads")))
        .map_err(|e| CommandError::File(format!("cannot find your Downloads folder: {e}")))
}

/// Files dropped on the window go to `onEvent` from now on (see
/// [`crate::files::drops`]).
#[tauri::command]
pub async fn watch_drops(
    desktop: State<'_, Desktop>,
    on_event: Channel<DropEvent>,
) -> Result<(), CommandError> {
    desktop.files().drops().watch(on_event);
    Ok(())
}
