//! The Tauri side of [`Notifier`]: desktop notifications through
//! `tauri-plugin-notification`, and the tray's unread marker.
//!
//! Notifications are unreliable on some Linux desktops (shown by nothing,
//! or without a sound): a failure is logged, never raised.
//!
//! Nothing is shown while "do not disturb" is on (the tray's switch), nor
//! for a muted room (`settings.desktop`). The hub names a message's room
//! only in the title (`… in #room`, `… sent you a message` for a DM), so
//! the saved room is found from it: a room name that several saved rooms
//! share (on different servers) is muted only when all of them are.
//!
//! A click on a notification opens its room: the notification carries the
//! room's id (`extra.room_id`) and `tauri-plugin-notification` reports the
//! click (`tap`) where the notification server does (Linux: the
//! `ActionInvoked` "default" action of the Desktop Notifications spec;
//! Windows while the toast is on screen; macOS). Where no click arrives,
//! the window coming back into focus after a notification shown while it
//! was away opens that room ([`crate::platform::focused`]).
//!
//! With `HEARTH_NOTIFY_LOG=<file>` set, each notification request is also
//! appended to that file as one JSON line, `{"title": …, "body": …}`, before
//! it is shown: the desktop window tests read it instead of needing a
//! notification daemon.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;

use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;

use crate::desktop::Desktop;
use crate::platform::Platform;
use crate::rooms::hub::Notifier;
use crate::settings::DesktopSettings;
use crate::tray;

/// The notification's extra field naming its saved room.
pub const ROOM_ID_EXTRA: &str = "room_id";

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
    fn notify_message(&self, room_id: &str, title: &str, body: &str) {
        let Some(desktop) = self.app.try_state::<Desktop>() else {
            return;
        };
        if !decide(room_id, &desktop.settings().get().desktop) {
            tracing::debug!(%title, "a notification silenced (do not disturb, or a muted room)");
            return;
        }
        if let Some(platform) = self.app.try_state::<Platform>() {
            platform.notified(Some(room_id.to_owned()));
        }
        show_with(&self.app, self.log.as_ref(), title, body, Some(room_id));
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

/// Whether a message notification of the saved room `room_id` is shown:
/// not under "do not disturb", not for a muted room.
pub fn decide(room_id: &str, desktop: &DesktopSettings) -> bool {
    !desktop.do_not_disturb && !desktop.muted_rooms.contains(room_id)
}

/// Shows a notification of the app itself (not of a room), recorded in
/// the `HEARTH_NOTIFY_LOG` file when set.
pub fn show<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str) {
    show_with(app, NotifyLog::from_env().as_ref(), title, body, None);
}

fn show_with<R: Runtime>(
    app: &AppHandle<R>,
    log: Option<&NotifyLog>,
    title: &str,
    body: &str,
    room_id: Option<&str>,
) {
    if let Some(log) = log {
        log.record(title, body);
    }
    let mut builder = app.notification().builder().title(title).body(body);
    if let Some(room_id) = room_id {
        builder = builder.extra(ROOM_ID_EXTRA, room_id);
    }
    if let Err(e) = builder.show() {
        tracing::warn!(cause = %e, "cannot show a notification");
    }
}

/// Opens the room of a clicked notification (where the platform reports
/// clicks: see the module doc).
pub fn listen_for_clicks<R: Runtime>(app: &AppHandle<R>) {
    let handle = app.clone();
    let listening = app.notification().on_action(move |action| {
        if action.action_id() != "tap" {
            return;
        }
        let room_id = action
            .notification()
            .and_then(|n| n.extra().get(ROOM_ID_EXTRA))
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        tracing::info!(room = ?room_id, "a notification was clicked");
        crate::platform::notification_clicked(&handle, room_id);
    });
    if let Err(e) = listening {
        tracing::warn!(cause = %e, "notification clicks are not reported");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn muted_rooms_and_do_not_disturb_silence_notifications() {
        let mut desktop = DesktopSettings::default();
        assert!(decide("a", &desktop));
        desktop.muted_rooms.insert("a".into());
        assert!(!decide("a", &desktop), "a muted room");
        assert!(
            decide("b", &desktop),
            "another room of the same name is not muted"
        );
        let dnd = DesktopSettings {
            do_not_disturb: true,
            ..DesktopSettings::default()
        };
        assert!(!decide("b", &dnd));
    }

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
