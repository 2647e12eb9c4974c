//! The tray icon: Show / Hide / Do not disturb / Quit, and an unread marker
//! (a red dot on the icon, the count in the tooltip and, where the tray
//! shows one, the title). "Quit" really quits (hosting stops cleanly);
//! closing the window only hides it while "keep running in the tray" is on
//! ([`crate::platform::close_to_tray`]).
//!
//! Trays are unreliable on Linux desktops (GNOME shows none without the
//! AppIndicator extension), so every call here logs a failure and carries
//! on: the app works without a tray.

use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime};

/// The tray icon's id.
pub const TRAY_ID: &str = "hearth";
/// The main window's label.
pub const MAIN_WINDOW: &str = "main";
/// The "Do not disturb" menu item's id.
const DND_ID: &str = "dnd";

/// The tray's "Do not disturb" switch, kept to mirror the setting.
struct DndItem<R: Runtime>(CheckMenuItem<R>);

/// Adds the tray icon; `do_not_disturb` is the switch's state. A failure
/// (no tray on this desktop) is logged; returns whether the icon exists.
pub fn install<R: Runtime>(app: &AppHandle<R>, do_not_disturb: bool) -> bool {
    match try_install(app, do_not_disturb) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(cause = %e, "no tray icon");
            false
        }
    }
}

/// Shows the tray's "Do not disturb" switch as `on`.
pub fn set_do_not_disturb<R: Runtime>(app: &AppHandle<R>, on: bool) {
    if let Some(item) = app.try_state::<DndItem<R>>()
        && let Err(e) = item.0.set_checked(on)
    {
        tracing::debug!(cause = %e, "cannot update the tray menu");
    }
}

fn try_install<R: Runtime>(app: &AppHandle<R>, do_not_disturb: bool) -> tauri::Result<()> {
    let show = MenuItem::with_id(app, "show", "Show Hearth", true, None::<&str>)?;
    let hide = MenuItem::with_id(app, "hide", "Hide", true, None::<&str>)?;
    let dnd = CheckMenuItem::with_id(
        app,
        DND_ID,
        "Do not disturb",
        true,
        do_not_disturb,
        None::<&str>,
    )?;
    let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&show, &hide, &dnd, &quit])?;
    app.manage(DndItem(dnd));
    let mut tray = TrayIconBuilder::with_id(TRAY_ID)
        .menu(&menu)
        .tooltip("Hearth")
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| match event.id().as_ref() {
            "show" => show_main(app),
            "hide" => {
                if let Some(window) = app.get_webview_window(MAIN_WINDOW)
                    && let Err(e) = window.hide()
                {
                    tracing::warn!(cause = %e, "cannot hide the window");
                }
            }
            DND_ID => toggle_do_not_disturb(app),
            "quit" => crate::platform::quit(app),
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    Ok(())
}

/// The tray's switch was clicked: the setting follows its new state.
fn toggle_do_not_disturb<R: Runtime>(app: &AppHandle<R>) {
    let Some(desktop) = app.try_state::<crate::Desktop>() else {
        return;
    };
    let on = app
        .try_state::<DndItem<R>>()
        .and_then(|item| item.0.is_checked().ok())
        .unwrap_or(!desktop.settings().get().desktop.do_not_disturb);
    tracing::info!(on, "do not disturb");
    if let Err(e) = desktop.settings().update(|s| s.desktop.do_not_disturb = on) {
        tracing::warn!(cause = %e, "cannot save do not disturb");
    }
}

/// Shows, unminimizes and focuses the main window.
pub fn show_main<R: Runtime>(app: &AppHandle<R>) {
    let Some(window) = app.get_webview_window(MAIN_WINDOW) else {
        return;
    };
    for result in [window.show(), window.unminimize(), window.set_focus()] {
        if let Err(e) = result {
            tracing::warn!(cause = %e, "cannot show the window");
        }
    }
}

/// Shows `total` unread messages on the tray (none: the plain icon).
pub fn set_unread<R: Runtime>(app: &AppHandle<R>, total: u32) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let (tooltip, title) = if total == 0 {
        ("Hearth".to_owned(), None)
    } else {
        (format!("Hearth: {total} unread"), Some(total.to_string()))
    };
    let icon = app.default_window_icon().map(|icon| {
        if total == 0 {
            icon.clone().to_owned()
        } else {
            with_dot(icon)
        }
    });
    let results = [
        tray.set_tooltip(Some(tooltip)),
        tray.set_title(title),
        tray.set_icon(icon),
    ];
    for result in results {
        if let Err(e) = result {
            tracing::debug!(cause = %e, "cannot update the tray");
        }
    }
}

/// The icon with a red dot in its top-right corner.
pub fn with_dot(icon: &Image<'_>) -> Image<'static> {
    let (width, height) = (icon.width(), icon.height());
    let mut rgba = icon.rgba().to_vec();
    let radius = f64::from(width.min(height)) * 0.22;
    let (cx, cy) = (f64::from(width) - radius - 1.0, radius + 1.0);
    for y in 0..height {
        for x in 0..width {
            let (dx, dy) = (f64::from(x) + 0.5 - cx, f64::from(y) + 0.5 - cy);
            if dx * dx + dy * dy <= radius * radius {
                let at = ((y * width + x) * 4) as usize;
                if let Some(pixel) = rgba.get_mut(at..at + 4) {
                    pixel.copy_from_slice(&[0xe5, 0x39, 0x35, 0xff]);
                }
            }
        }
    }
    Image::new_owned(rgba, width, height)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unread_dot_is_red_in_the_corner_only() {
        let icon = Image::new_owned(vec![0; 16 * 16 * 4], 16, 16);
        let dotted = with_dot(&icon);
        let px = |x: u32, y: u32| {
            let at = ((y * 16 + x) * 4) as usize;
            dotted.rgba()[at..at + 4].to_vec()
        };
        assert_eq!(px(12, 3), vec![0xe5, 0x39, 0x35, 0xff]);
        assert_eq!(px(1, 14), vec![0, 0, 0, 0]);
    }
}
