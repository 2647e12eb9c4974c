//! Links in messages: an `http(s)` link the person clicked opens in the
//! system browser (the opener plugin, from Rust: the webview has no opener
//! permission and never navigates away from the app).
//!
//! `HEARTH_TEST_OPENER_LOG=<file>` makes [`open_link`] append the URL (one
//! line) to `<file>` instead of opening it, so window tests can check what
//! would have opened without a browser.

use std::io::Write;

use url::Url;

use crate::error::CommandError;

/// The environment variable of the test log (see the module docs).
pub const OPENER_LOG_ENV: &str = "HEARTH_TEST_OPENER_LOG";

/// The longest link accepted.
const MAX_LINK: usize = 8192;

/// Reads a link to open: only `http` and `https` URLs with a host.
pub fn parse_link(link: &str) -> Result<Url, CommandError> {
    let refuse = || CommandError::BadInput("Only http and https links open in the browser.".into());
    if link.len() > MAX_LINK {
        return Err(CommandError::BadInput("That link is too long.".into()));
    }
    let url = Url::parse(link.trim()).map_err(|_| refuse())?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(refuse());
    }
    Ok(url)
}

/// Opens `link` in the system browser (or records it, under test).
pub fn open_link(link: &str) -> Result<(), CommandError> {
    let url = parse_link(link)?;
    if let Some(log) = std::env::var_os(OPENER_LOG_ENV) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| CommandError::Storage(e.to_string()))?;
        // One write per line: concurrent requests do not interleave.
        file.write_all(format!("{url}\n").as_bytes())
            .map_err(|e| CommandError::Storage(e.to_string()))?;
        return Ok(());
    }
    tauri_plugin_opener::open_url(url.as_str(), None::<&str>).map_err(|e| {
        tracing::warn!(cause = %e, "opening a link failed");
        CommandError::BadInput(format!("Could not open the browser for {url}."))
    })
}

/// A plugin that keeps the webview on the app, whatever the page does (a
/// link the page did not catch, a dropped URL, a form): a navigation to
/// anything but the app's own pages is refused (and logged). Links open
/// through [`open_link`] instead.
pub fn navigation_guard<R: tauri::Runtime>() -> tauri::plugin::TauriPlugin<R> {
    tauri::plugin::Builder::new("hearth-navigation")
        .on_navigation(|_webview, url| {
            let app = is_app_page(url);
            if !app {
                tracing::warn!(%url, "a navigation away from the app was refused");
            }
            app
        })
        .build()
}

/// The app's own pages: `tauri://localhost/…` (Linux, macOS) and
/// `http(s)://tauri.localhost/…` (Windows), and `about:blank`.
pub fn is_app_page(url: &Url) -> bool {
    match url.scheme() {
        "tauri" => true,
        "about" => url.path() == "blank",
        "http" | "https" => url.host_str() == Some("tauri.localhost"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_webview_stays_on_the_app() {
        for app in [
            "tauri://localhost/",
            "tauri://localhost/index.html#x",
            "http://tauri.localhost/",
            "about:blank",
        ] {
            assert!(is_app_page(&Url::parse(app).unwrap()), "{app}");
        }
        for away in [
            "https://example.org/docs",
            "http://127.0.0.1:8989/",
            "file:///etc/passwd",
            "http://localhost:1430/",
            "data:text/html,x",
        ] {
            assert!(!is_app_page(&Url::parse(away).unwrap()), "{away}");
        }
    }

    #[test]
    fn only_web_links_open() {
        assert_eq!(
            parse_link("https://example.org/docs").unwrap().as_str(),
            "https://example.org/docs"
        );
        assert!(parse_link("http://192.168.1.20:8989/r/dev").is_ok());
        for bad in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "hearth://join?url=x",
            "ftp://example.org",
            "not a link",
            "http://",
        ] {
            assert!(parse_link(bad).is_err(), "{bad}");
        }
        assert!(parse_link(&format!("https://x.org/{}", "a".repeat(MAX_LINK))).is_err());
    }
}
