//! The Tauri side of [`Notifier`]: desktop notifications through
//! `tauri-plugin-notification`, and the tray's unread marker.
//!
//! Notifications are unreliable on some Linux desktops (shown by nothing,
//! or without a sound): a failure is logged, never raised.

use tauri::{AppHandle, Runtime};
use tauri_plugin_notification::NotificationExt;

use crate::rooms::hub::Notifier;
use crate::tray;

/// Notifies through the desktop and marks the tray.
pub struct DesktopNotifier<R: Runtime> {
    app: AppHandle<R>,
}

impl<R: Runtime> DesktopNotifier<R> {
    pub fn new(app: AppHandle<R>) -> Self {
        Self { app }
    }
}

impl<R: Runtime> Notifier for DesktopNotifier<R> {
    fn notify_message(&self, title: &str, body: &str) {
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
