//! The desktop around an app people keep open all day: one instance
//! (`tauri-plugin-single-instance`: a second launch focuses this one and
//! hands it its `hearth://` link), deep links (`tauri-plugin-deep-link`,
//! [`links`]), closing to the tray, start at login
//! (`tauri-plugin-autostart`), and opening the room of a notification.
//!
//! [`Platform`] is managed state. What the page must act on (a link to join,
//! a link refused, a room to open) goes to the `watch_platform` channel as a
//! [`PlatformEvent`]; events that arrive before the page attached (a link the
//! app was launched with) wait for it.

pub mod commands;
pub mod links;

use std::sync::{Mutex, MutexGuard};

use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, Runtime, Window};

use crate::desktop::Desktop;
use crate::{notify, tray};

/// What the page is asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PlatformEvent {
    /// A `hearth://join` link: fill the join form and join.
    Join(links::JoinLink),
    /// A `hearth://` link that was refused; `message` says why.
    LinkRefused { message: String },
    /// Open this saved room (the window was brought back after its
    /// notification).
    OpenRoom { room_id: String },
}

/// Events waiting for a page are capped; the oldest go first.
const BACKLOG: usize = 16;

/// The platform's state (managed).
#[derive(Default)]
pub struct Platform {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    sink: Option<Channel<PlatformEvent>>,
    backlog: Vec<PlatformEvent>,
    /// A tray icon was created: closing may hide the window.
    tray_available: bool,
    /// The room of the last notification shown while the window was not
    /// focused: opened when the window is focused next (a click on the
    /// notification, where the platform reports none, or the person
    /// coming back to the app).
    notified_room: Option<String>,
    /// The main window has the focus.
    focused: bool,
}

impl Platform {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends to the page, or keeps the event until one attaches.
    pub fn send(&self, event: PlatformEvent) {
        let mut state = self.state();
        if let Some(sink) = &state.sink {
            if sink.send(event.clone()).is_ok() {
                return;
            }
            state.sink = None;
        }
        if state.backlog.len() == BACKLOG {
            state.backlog.remove(0);
        }
        state.backlog.push(event);
    }

    /// Events go to `sink` from now on (the waiting ones first).
    pub fn watch(&self, sink: Channel<PlatformEvent>) {
        let mut state = self.state();
        for event in std::mem::take(&mut state.backlog) {
            let _ = sink.send(event);
        }
        state.sink = Some(sink);
    }

    pub fn set_tray_available(&self, available: bool) {
        self.state().tray_available = available;
    }

    pub fn tray_available(&self) -> bool {
        self.state().tray_available
    }

    /// A notification of `room_id` was shown: kept for the window's next
    /// focus when it has none now.
    pub fn notified(&self, room_id: Option<String>) {
        let mut state = self.state();
        if !state.focused {
            state.notified_room = room_id;
        }
    }

    /// The main window got or lost the focus.
    pub fn set_focused(&self, focused: bool) {
        self.state().focused = focused;
    }

    /// The window got the focus: the room of the notification shown while
    /// it was away, once.
    pub fn take_notified_room(&self) -> Option<String> {
        self.state().notified_room.take()
    }

    /// Reads `hearth://` links (from the launch, a second launch or the OS)
    /// and hands each to the page.
    pub fn open_links<'a>(&self, urls: impl IntoIterator<Item = &'a str>) {
        for url in urls {
            let event = match links::parse(url) {
                Ok(link) => {
                    tracing::info!(server = %link.server, room = ?link.room, "a hearth:// link to join");
                    PlatformEvent::Join(link)
                }
                Err(message) => {
                    tracing::warn!(%url, %message, "a hearth:// link refused");
                    PlatformEvent::LinkRefused { message }
                }
            };
            self.send(event);
        }
    }
}

/// The page's side of the platform (`ui/desktop-settings.js`): run in the
/// main window before its own scripts, so the web client never gets it.
pub fn page_script<R: Runtime>() -> tauri::plugin::TauriPlugin<R> {
    tauri::plugin::Builder::new("hearth-platform")
        .js_init_script(include_str!("../../../ui/desktop-settings.js").to_owned())
        .build()
}

/// The main window was asked to close: with "keep running in the tray" on
/// (and a tray to come back from) it hides instead, and the first time a
/// notification says where Hearth went. Returns whether it was kept.
pub fn close_to_tray<R: Runtime>(window: &Window<R>) -> bool {
    let app = window.app_handle();
    let (Some(desktop), Some(platform)) = (app.try_state::<Desktop>(), app.try_state::<Platform>())
    else {
        return false;
    };
    let settings = desktop.settings().get().desktop;
    if !settings.keeps_in_tray(platform.tray_available()) {
        return false;
    }
    if let Err(e) = window.hide() {
        tracing::warn!(cause = %e, "cannot hide the window; closing it");
        return false;
    }
    tracing::info!("the window is closed; Hearth keeps running in the tray");
    if !settings.tray_notice_shown {
        notify::show(
            app,
            "Hearth is still running",
            "Hearth keeps your rooms open in the tray. Open Hearth again (or use its tray icon) to bring the window back; Quit in the tray menu stops it.",
        );
        let saved = desktop
            .settings()
            .update(|s| s.desktop.tray_notice_shown = true);
        if let Err(e) = saved {
            tracing::warn!(cause = %e, "cannot save that the tray notice was shown");
        }
    }
    true
}

/// The main window got (or lost) the focus: on getting it, a notification
/// shown while it was away opens its room.
pub fn set_focused<R: Runtime>(app: &AppHandle<R>, focused: bool) {
    let Some(platform) = app.try_state::<Platform>() else {
        return;
    };
    platform.set_focused(focused);
    if focused && let Some(room_id) = platform.take_notified_room() {
        platform.send(PlatformEvent::OpenRoom { room_id });
    }
}

/// A click on a notification of `room_id` (where the platform reports
/// one): the window comes back on that room.
pub fn notification_clicked<R: Runtime>(app: &AppHandle<R>, room_id: Option<String>) {
    if let Some(platform) = app.try_state::<Platform>() {
        platform.take_notified_room();
        if let Some(room_id) = room_id {
            platform.send(PlatformEvent::OpenRoom { room_id });
        }
    }
    let main = app.clone();
    let _ = app.run_on_main_thread(move || tray::show_main(&main));
}

/// Quits the app the normal way (hosting stops cleanly in the `Exit`
/// handler); the tray's "Quit" and `quit_app`.
pub fn quit<R: Runtime>(app: &AppHandle<R>) {
    tracing::info!("quitting");
    app.exit(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_wait_for_the_page_and_refusals_say_why() {
        let platform = Platform::default();
        platform.open_links([
            "hearth://join?url=http://10.0.0.2:8989&room=dev",
            "hearth://join?url=ftp://x",
        ]);
        let waiting = platform.state().backlog.clone();
        assert_eq!(waiting.len(), 2);
        assert!(
            matches!(&waiting[0], PlatformEvent::Join(l) if l.address == "http://10.0.0.2:8989/r/dev")
        );
        assert!(
            matches!(&waiting[1], PlatformEvent::LinkRefused { message } if message.contains("http://"))
        );
        for _ in 0..BACKLOG + 3 {
            platform.send(PlatformEvent::OpenRoom {
                room_id: "r".into(),
            });
        }
        assert_eq!(platform.state().backlog.len(), BACKLOG);
    }

    #[test]
    fn a_notified_room_opens_once() {
        let platform = Platform::default();
        platform.notified(Some("r1".into()));
        assert_eq!(platform.take_notified_room().as_deref(), Some("r1"));
        assert_eq!(platform.take_notified_room(), None);
        // Shown while the window had the focus: nothing to open later.
        platform.set_focused(true);
        platform.notified(Some("r2".into()));
        assert_eq!(platform.take_notified_room(), None);
    }
}
