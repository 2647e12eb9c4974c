//! The desktop app's memory (issue 17): every setting that trades
//! something Hearth does not use for memory, in one place. What each one
//! saved was measured with `hearth-bench desktop` (PSS summed over the app
//! and its WebKit processes, under Xvfb; figures and method in
//! docs/BENCHMARKS.md, "The desktop app's memory").
//!
//! The levers ([`Lever`]), all on by default:
//!
//! - [`Lever::Compositing`]: the webview's hardware-acceleration policy is
//!   `Never` (WebKitGTK settings, set when the webview is made). Hearth's
//!   page is text and a few thumbnails: painting it on the CPU is cheap,
//!   while accelerated compositing keeps a GL context, layer backing
//!   stores and a compositor thread in the web process, with Mesa's
//!   software GL (llvmpipe) on machines without a GPU. This is the lever
//!   that saves the most.
//! - [`Lever::GdkGl`]: `GDK_GL=disable` before GTK starts, so GDK does not
//!   open GLX to rank the X visuals for OpenGL (GTK3 draws its widgets with
//!   cairo; nothing in Hearth asks GTK for GL). WebKit's UI side still
//!   opens an EGL display when it launches its web process (WebKitGTK
//!   2.50), so Mesa stays mapped in the app process: see the limits below.
//! - [`Lever::WebFeatures`]: WebGL, Web Audio and the back/forward page
//!   cache off (wry turns the first two on; Hearth never draws 3D, never
//!   plays sound from the page, and never navigates away and back).
//! - [`Lever::CacheModel`]: the web context's cache model is
//!   `DocumentViewer` (one local page, no browsing: no memory cache of
//!   pages and resources to keep).
//! - [`Lever::Arenas`]: glibc's malloc keeps at most two arenas in the app
//!   process (`mallopt(M_ARENA_MAX, 2)`) instead of up to eight per core:
//!   the tokio workers and WebKit's and GTK's threads each grow their own
//!   arena otherwise, and freed memory in one is never reused by another.
//! - [`Lever::Trim`]: the app process gives freed heap pages back to the
//!   system (`malloc_trim(0)`) a little after start, and then every few
//!   minutes (start-up, catch-ups and joins leave free holes).
//!
//! What stays (WebKitGTK 2.50 on Linux): the EGL display both WebKit
//! processes open (Mesa's `swrast_dri.so` and `libLLVM` mapped, with their
//! relocated data, in the app and the web process), libwebkit2gtk itself in
//! three processes, and the speech-synthesis voices (`libflite_*`), which
//! libwebkit2gtk links, so every WebKit process maps them.
//!
//! `HEARTH_MEMORY_DEFAULTS` ([`ENV`]) names levers to leave at the
//! platform's default, comma-separated (`compositing,trim`), or `all`: for
//! measuring each one, and a way out if one misbehaves on some machine
//! (`HEARTH_MEMORY_DEFAULTS=compositing` brings GPU compositing back). On
//! Windows and macOS nothing here applies.

/// The environment variable that leaves levers at their defaults.
pub const ENV: &str = "HEARTH_MEMORY_DEFAULTS";

/// One memory setting (see the module docs for what and why).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lever {
    Compositing,
    GdkGl,
    WebFeatures,
    CacheModel,
    Arenas,
    Trim,
}

impl Lever {
    pub const ALL: [Lever; 6] = [
        Lever::Compositing,
        Lever::GdkGl,
        Lever::WebFeatures,
        Lever::CacheModel,
        Lever::Arenas,
        Lever::Trim,
    ];

    /// The lever's name in [`ENV`].
    pub fn name(self) -> &'static str {
        match self {
            Lever::Compositing => "compositing",
            Lever::GdkGl => "gdk-gl",
            Lever::WebFeatures => "web-features",
            Lever::CacheModel => "cache-model",
            Lever::Arenas => "arenas",
            Lever::Trim => "trim",
        }
    }
}

/// Which levers apply: all but those [`ENV`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levers {
    /// Bit `i` set: `Lever::ALL[i]` is left at its default.
    defaults: u8,
}

impl Levers {
    /// Every lever on.
    pub const ALL_ON: Levers = Levers { defaults: 0 };

    /// From [`ENV`]'s value (`None`: unset). Unknown names are ignored
    /// (and logged by [`Levers::from_env`]).
    pub fn parse(value: Option<&str>) -> (Levers, Vec<String>) {
        let mut defaults = 0u8;
        let mut unknown = Vec::new();
        for name in value.unwrap_or("").split(',').map(str::trim) {
            if name.is_empty() {
                continue;
            }
            if name == "all" {
                defaults = u8::MAX;
                continue;
            }
            match Lever::ALL.iter().position(|l| l.name() == name) {
                Some(i) => defaults |= 1 << i,
                None => unknown.push(name.to_owned()),
            }
        }
        (Levers { defaults }, unknown)
    }

    /// From the process's environment.
    pub fn from_env() -> Levers {
        let value = std::env::var(ENV).ok();
        let (levers, unknown) = Levers::parse(value.as_deref());
        if !unknown.is_empty() {
            tracing::warn!(?unknown, known = ?Lever::ALL.map(Lever::name), "{ENV}: unknown levers ignored");
        }
        levers
    }

    /// Whether `lever` applies.
    pub fn on(self, lever: Lever) -> bool {
        let i = Lever::ALL.iter().position(|l| *l == lever).unwrap_or(0);
        self.defaults & (1 << i) == 0
    }

    /// The names of the levers that apply (for the log).
    pub fn names_on(self) -> Vec<&'static str> {
        Lever::ALL
            .into_iter()
            .filter(|l| self.on(*l))
            .map(Lever::name)
            .collect()
    }
}

/// The settings that must be made before GTK starts and before any other
/// thread runs: the first thing the binary does ([`crate::run`]).
pub fn at_process_start(levers: Levers) {
    #[cfg(target_os = "linux")]
    if levers.on(Lever::GdkGl) && std::env::var_os("GDK_GL").is_none() {
        // SAFETY: called first in `run`, before GTK, tokio or any other
        // thread exists, so nothing reads the environment meanwhile.
        unsafe { std::env::set_var("GDK_GL", "disable") };
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if levers.on(Lever::Arenas) {
        // SAFETY: mallopt only changes a malloc parameter; M_ARENA_MAX
        // bounds arenas made from now on.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, 2) };
    }
    let _ = levers;
}

/// Gives the app process's free heap pages back to the system (glibc);
/// nothing elsewhere.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Trims a while after start, then every few minutes ([`Lever::Trim`]).
pub fn keep_trimming(levers: Levers) {
    use std::time::Duration;
    if !levers.on(Lever::Trim) || !cfg!(all(target_os = "linux", target_env = "gnu")) {
        return;
    }
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(Duration::from_secs(15)).await;
        loop {
            trim();
            tokio::time::sleep(Duration::from_secs(300)).await;
        }
    });
}

/// Applies the webview's levers to every webview when it is made (the
/// real runtime only: the mock runtime of the tests has no WebKit).
pub fn webview_plugin(levers: Levers) -> tauri::plugin::TauriPlugin<tauri::Wry> {
    tauri::plugin::Builder::new("hearth-memory")
        .on_webview_ready(move |webview| apply_to_webview(&webview, levers))
        .build()
}

#[cfg(target_os = "linux")]
fn apply_to_webview(webview: &tauri::Webview<tauri::Wry>, levers: Levers) {
    let applied = webview.with_webview(move |platform| {
        use webkit2gtk::{
            CacheModel, HardwareAccelerationPolicy, SettingsExt, WebContextExt, WebViewExt,
        };
        let view = platform.inner();
        if let Some(settings) = WebViewExt::settings(&view) {
            if levers.on(Lever::Compositing) {
                settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
            }
            if levers.on(Lever::WebFeatures) {
                settings.set_enable_webgl(false);
                settings.set_enable_webaudio(false);
                settings.set_enable_page_cache(false);
            }
        }
        if levers.on(Lever::CacheModel)
            && let Some(context) = view.context()
        {
            context.set_cache_model(CacheModel::DocumentViewer);
        }
    });
    match applied {
        Ok(()) => tracing::info!(levers = ?levers.names_on(), "webview memory settings"),
        Err(e) => tracing::warn!(cause = %e, "webview memory settings not applied"),
    }
}

#[cfg(not(target_os = "linux"))]
fn apply_to_webview(_webview: &tauri::Webview<tauri::Wry>, _levers: Levers) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lever_is_on_unless_named() {
        let (levers, unknown) = Levers::parse(None);
        assert_eq!(levers, Levers::ALL_ON);
        assert!(unknown.is_empty());
        assert!(Lever::ALL.iter().all(|l| levers.on(*l)));

        let (levers, unknown) = Levers::parse(Some(" compositing, trim ,nope,"));
        assert!(!levers.on(Lever::Compositing));
        assert!(!levers.on(Lever::Trim));
        assert!(levers.on(Lever::GdkGl) && levers.on(Lever::Arenas));
        assert_eq!(unknown, vec!["nope".to_string()]);
        assert_eq!(levers.names_on().len(), Lever::ALL.len() - 2);

        let (levers, _) = Levers::parse(Some("all"));
        assert!(Lever::ALL.iter().all(|l| !levers.on(*l)));
        assert!(levers.names_on().is_empty());
    }
}
