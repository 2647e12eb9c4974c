//! Files dragged from the file manager onto the window: Tauri's drag-drop
//! events (paths), forwarded to the chat view on a Channel it gives
//! (`watch_drops`). The webview then needs no event permission, and the
//! paths it receives are only those the person dropped.
//!
//! Each event is `{"type": "enter" | "over" | "leave" | "drop", "x"?, "y"?,
//! "files"?, "error"?}`: `x`/`y` in CSS pixels of the window, `files` (on
//! drop) `[{path, name, size}]`, `error` (on drop) a sentence when a path
//! is a folder or unreadable (the readable files still come).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{DragDropEvent, PhysicalPosition};

use crate::outbox::files::{DroppedFile, describe_dropped};

/// One drag-drop event for the webview.
#[derive(Debug, Clone, Serialize)]
pub struct DropEvent {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<DroppedFile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The chat view's drop channel (the latest one given), and every path
/// dropped in this run: the only paths `post_message` sends (the webview
/// cannot name any other file on disk).
#[derive(Default)]
pub struct Drops {
    channel: Mutex<Option<Channel<DropEvent>>>,
    dropped: Mutex<HashSet<PathBuf>>,
}

impl Drops {
    /// Drops go to `channel` from now on.
    pub fn watch(&self, channel: Channel<DropEvent>) {
        *self.channel.lock().unwrap_or_else(|p| p.into_inner()) = Some(channel);
    }

    /// Whether `path` was dropped on the window in this run.
    pub fn was_dropped(&self, path: &Path) -> bool {
        self.dropped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(path)
    }

    /// Forwards a window's drag-drop event (`scale`: its scale factor).
    pub fn forward(&self, event: &DragDropEvent, scale: f64) {
        if let DragDropEvent::Drop { paths, .. } = event {
            self.dropped
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(paths.iter().cloned());
        }
        let Some(channel) = self
            .channel
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        else {
            return;
        };
        if let Err(e) = channel.send(to_event(event, scale)) {
            tracing::debug!(cause = %e, "the drop channel is closed");
        }
    }
}

/// A drag-drop event as the webview gets it.
pub fn to_event(event: &DragDropEvent, scale: f64) -> DropEvent {
    let at = |p: &PhysicalPosition<f64>| (Some(p.x / scale), Some(p.y / scale));
    let (kind, (x, y)) = match event {
        DragDropEvent::Enter { position, .. } => ("enter", at(position)),
        DragDropEvent::Over { position } => ("over", at(position)),
        DragDropEvent::Drop { position, .. } => ("drop", at(position)),
        _ => ("leave", (None, None)),
    };
    let mut files = Vec::new();
    let mut errors = Vec::new();
    if let DragDropEvent::Drop { paths, .. } = event {
        for path in paths {
            match describe_dropped(path) {
                Ok(file) => files.push(file),
                Err(e) => errors.push(e.to_string()),
            }
        }
    }
    DropEvent {
        kind,
        x,
        y,
        files,
        error: (!errors.is_empty()).then(|| errors.join(" ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drop_lists_its_files_and_says_why_a_folder_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let photo = dir.path().join("photo.jpg");
        std::fs::write(&photo, [0; 10]).unwrap();
        let dropped = DragDropEvent::Drop {
            paths: vec![photo.clone(), dir.path().to_owned()],
            position: PhysicalPosition::new(200.0, 100.0),
        };
        let event = to_event(&dropped, 2.0);
        assert_eq!(
            (event.kind, event.x, event.y),
            ("drop", Some(100.0), Some(50.0))
        );
        assert_eq!(event.files.len(), 1);
        assert_eq!(event.files[0].path, photo);
        assert_eq!(event.files[0].size, 10);
        assert!(event.error.unwrap().contains("is a folder"));
        let json = serde_json::to_value(to_event(&DragDropEvent::Leave, 1.0)).unwrap();
        assert_eq!(json, serde_json::json!({"type": "leave"}));
    }
}
