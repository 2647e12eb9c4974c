//! The desktop app's memory (issue 17): every setting that trades
//! something Hearth does not use for memory, in one place. What each one
//! saved was measured with `hearth-bench desktop` (PSS summed over the app
//! and its WebKit processes, Xvfb with Mesa's software GL, WebKitGTK 2.50,
//! a room of 300 messages open; method and every figure in
//! docs/BENCHMARKS.md, "The desktop app's memory"): 320 MiB with none,
//! 231 with all.
//!
//! The levers ([`Lever`]), all on by default:
//!
//! - [`Lever::GdkGl`]: `GDK_GL=disable` while GTK starts (then taken out of
//!   the environment again, so programs the app starts, such as the
//!   browser a link opens, do not inherit it). GDK then opens no GLX
//!   context, and WebKitGTK, finding no GL in GTK, composites nothing: the
//!   web process paints into shared memory on the CPU and keeps no GL
//!   layers, backing stores or compositor. Alone: 320 to 233 MiB
//!   (WebKitWebProcess 203 to 114). Hearth's page is text and a few
//!   thumbnails; it scrolls as smoothly.
//! - [`Lever::Compositing`]: the webview's hardware-acceleration policy is
//!   `Never` (WebKitGTK settings, set when the webview is made). Alone: 320
//!   to 239 MiB (it is set once the first load has begun, so a little
//!   accelerated state is made first); with `GdkGl` it adds nothing here,
//!   and it is kept as the documented switch for a WebKitGTK that stops
//!   following GTK's GL.
//! - [`Lever::Trim`]: the app process gives freed heap pages back to the
//!   system (`malloc_trim(0)`) 15 s after start, then every 5 minutes.
//!   About 1.5 MiB of the app's anonymous memory.
//!
//! Measured and dropped (no difference beyond run-to-run noise, about
//! 2 MiB): WebGL, Web Audio and the page cache off; the web context's cache
//! model `DocumentViewer`; two glibc malloc arenas (`M_ARENA_MAX`) in the
//! app; two arenas and no Skia painting threads in the web process
//! (`MALLOC_ARENA_MAX`, `WEBKIT_SKIA_CPU_PAINTING_THREADS=0`);
//! `WEBKIT_DISABLE_DMABUF_RENDERER`. JavaScript without its JIT
//! (`JSC_useJIT=0`) saved about 4 MiB in the web process, not worth a
//! slower page.
//!
//! What stays (WebKitGTK 2.50 on Linux, the profile of a room of 300
//! messages): both the app and the web process open an EGL display when
//! the web process starts (without one WebKitGTK aborts: "Could not create
//! surfaceless EGL display"), so Mesa's `swrast_dri.so` and `libLLVM`, with
//! their relocated data, sit in both (about 15 MiB each); libwebkit2gtk in
//! three processes (about 62 MiB); the app binary (about 18 MiB); the
//! speech-synthesis voices (`libflite_*`), which libwebkit2gtk links, so
//! every WebKit process maps them (a few MiB each).
//!
//! `HEARTH_MEMORY_DEFAULTS` ([`ENV`]) names levers to leave at the
//! platform's default, comma-separated (`gdk-gl,compositing`), or `all`:
//! for measuring each one, and a way out if one misbehaves on some machine
//! (`HEARTH_MEMORY_DEFAULTS=gdk-gl,compositing` brings GPU compositing
//! back). On Windows and macOS nothing here applies.

/// The environment variable that leaves levers at their defaults.
pub const ENV: &str = "HEARTH_MEMORY_DEFAULTS";

/// One memory setting (see the module docs for what and why).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lever {
    GdkGl,
    Compositing,
    Trim,
}

impl Lever {
    pub const ALL: [Lever; 3] = [Lever::GdkGl, Lever::Compositing, Lever::Trim];

    /// The lever's name in [`ENV`].
    pub fn name(self) -> &'static str {
        match self {
            Lever::GdkGl => "gdk-gl",
            Lever::Compositing => "compositing",
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

/// Whether [`at_process_start`] put `GDK_GL` in the environment.
static SET_GDK_GL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The settings that must be made before GTK starts and before any other
/// thread runs: the first thing the binary does ([`crate::run`]).
pub fn at_process_start(levers: Levers) {
    #[cfg(target_os = "linux")]
    if levers.on(Lever::GdkGl) && std::env::var_os("GDK_GL").is_none() {
        // SAFETY: called first in `run`, before GTK, tokio or any other
        // thread exists, so nothing reads the environment meanwhile.
        unsafe { std::env::set_var("GDK_GL", "disable") };
        SET_GDK_GL.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let _ = levers;
}

/// Once GTK has started (it reads `GDK_GL` when it opens the display),
/// takes `GDK_GL` out of the environment again, so that programs the app
/// starts (the browser a link opens, a file manager) do not inherit it.
pub fn after_gtk_start() {
    if SET_GDK_GL.swap(false, std::sync::atomic::Ordering::Relaxed) {
        // SAFETY: Rust readers take std's environment lock; glibc never
        // frees a variable's string on unsetenv, so a C thread reading
        // the environment at this moment at worst misses GDK_GL.
        unsafe { std::env::remove_var("GDK_GL") };
    }
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
        use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
        if levers.on(Lever::Compositing)
            && let Some(settings) = WebViewExt::settings(&platform.inner())
        {
            settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
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
        assert!(levers.on(Lever::GdkGl));
        assert_eq!(unknown, vec!["nope".to_string()]);
        assert_eq!(levers.names_on(), vec!["gdk-gl"]);

        let (levers, _) = Levers::parse(Some("all"));
        assert!(Lever::ALL.iter().all(|l| !levers.on(*l)));
        assert!(levers.names_on().is_empty());
    }
}
