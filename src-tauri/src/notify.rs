//! The Tauri side of [`Notifier`]: desktop notifications through
//! `tauri-plugin-notification`, and the tray's unread marker.
//!
//! Notifications are unreliable on some Linux desktops (shown by nothing,
//! or without a sound): a failure is logged, never raised.
//!
//! With `HEARTH_NOTIFY_LOG=<file>` set, each notification request is also
//! appended to that file as one JSON line, `{"title": …, "body": …}`, before
//! it is shown: the desktop window tests read it instead of needing a
//! notification daemon.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;

use tauri::{AppHandle, Runtime};
use tauri_plugin_notification::NotificationExt;

use crate::rooms::hub::Notifier;
use crate::tray;

/// The environment variable naming the [`NotifyLog`] file.
pub const NOTIFY_LOG_ENV: &str = "HEARTH_NOTIFY_LOG";

/// An append-only record of notification requests, one JSON line each.
#[derive(Debug, Clone)]
pub struct NotifyLog {
    path: PathBuf,
}

impl NotifyLog {
    /// The record named by `HEARTH_NOTIFY_LOG`, if it is set and not empty.
    pub fn from_env() -> Option<Self> {
        let path = std::env::var_os(NOTIFY_LOG_ENV).filter(|p| !p.is_empty())?;
        Some(Self::new(PathBuf::from(path)))
    }

    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    /// Appends one request; a failure is logged, never raised.
    pub fn record(&self, title: &str, body: &str) {
        let mut line = serde_json::json!({ "title": title, "body": body }).to_string();
        line.push('\n');
        // One write per line, in append mode: lines never interleave.
        let written = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut file| file.write_all(line.as_bytes()));
        if let Err(e) = written {
            tracing::warn!(cause = %e, path = %self.path.display(), "cannot record a notification");
        }
    }
}

/// Notifies through the desktop and marks the tray.
pub struct DesktopNotifier<R: Runtime> {
    app: AppHandle<R>,
    /// Set by `HEARTH_NOTIFY_LOG` (tests): every request is recorded there too.
    log: Option<NotifyLog>,
}

impl<R: Runtime> DesktopNotifier<R> {
    pub fn new(app: AppHandle<R>) -> Self {
        Self {
            app,
            log: NotifyLog::from_env(),
        }
    }
}

impl<R: Runtime> Notifier for DesktopNotifier<R> {
    fn notify_message(&self, title: &str, body: &str) {
        if let Some(log) = &self.log {
            log.record(title, body);
        }
        let shown = self
            .app
            .notification()
            .builder()
            .title(title)
            .body(body)
            .show();
        if let Err(e) = shown {
            tracing::warn!(cause = %e, "cannot show a notification");
        }
    }

    fn unread_changed(&self, total: u32) {
        // Tray calls wait for the main thread: queue the update there rather
        // than block a worker of the async runtime.
        let app = self.app.clone();
        let queued = self
            .app
            .run_on_main_thread(move || tray::set_unread(&app, total));
        if let Err(e) = queued {
            tracing::debug!(cause = %e, "cannot update the tray");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_gets_one_json_line_per_request() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.jsonl");
        let log = NotifyLog::new(path.clone());
        log.record("bo mentioned you in #b", "hi @ana\n\"quoted\"");
        log.record("bo in #a", "plain");
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["title"], "bo mentioned you in #b");
        assert_eq!(lines[0]["body"], "hi @ana\n\"quoted\"");
        assert_eq!(lines[1]["title"], "bo in #a");
    }

    #[test]
    fn an_unwritable_log_is_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        NotifyLog::new(dir.path().join("missing/notify.jsonl")).record("t", "b");
    }
}
