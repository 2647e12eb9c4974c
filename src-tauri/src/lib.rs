//! Hearth's desktop app: a Tauri v2 shell that hosts a LAN room with the
//! embedded server (`hearth-server`) or joins remote rooms (`hearth-client`).
//!
//! Rust relays all network traffic: the webview calls the commands below
//! and receives events through `tauri::ipc::Channel`s (the home screen's:
//! every room; the chat view's: its rooms, each after a catch-up); it never
//! fetches a remote origin. The logic lives in plain structs that run
//! without a Tauri runtime ([`Desktop`]); commands are thin wrappers.
//!
//! # Layout
//!
//! - [`run`]: builds the Tauri app: plugins, commands, the managed
//!   [`Desktop`], tray, window focus, clean shutdown.
//! - [`desktop`]: [`Desktop`], the core every command calls.
//! - [`host`]: the embedded server (start/stop, ports); [`host::plan`]: a
//!   start request checked, its choices kept; [`host::lan`]: LAN links and
//!   QR codes; [`host::visibility`]: advertised on the network or not.
//! - [`discovery`]: "On your network", the servers other machines
//!   advertise (mDNS), without the app's own; `HEARTH_MDNS=off` turns
//!   browsing and advertising off.
//! - [`rooms`]: saved rooms and their connections (registry, addresses,
//!   joining, sessions, REST relay); [`rooms::connection`] follows each
//!   connection's multi-room stream; [`rooms::hub`] forwards events, keeps
//!   each room's catch-up (newest messages, last `ready`) for the chat
//!   view, counts unread, raises notifications.
//! - [`outbox`]: messages persisted before sending (with their files),
//!   sent exactly once.
//! - [`files`]: images for the webview (the `hearthfile:` URI scheme),
//!   downloads, "show in folder", files dropped on the window.
//! - [`events`]: what the webview receives, and the [`events::EventSink`]
//!   seam.
//! - [`secrets`]: tokens and passwords in the OS keychain.
//! - [`settings`]: non-secret settings in the config dir.
//! - [`error`]: [`error::CommandError`], a kind and a sentence for a person.
//! - [`memory`]: the webview's and the process's memory settings (issue
//!   17), each with why and what it saved; `HEARTH_MEMORY_DEFAULTS` turns
//!   them off one by one.
//! - [`tray`], [`notify`]: the desktop around the app (best effort).
//! - [`platform`]: one instance, `hearth://` links, closing to the tray,
//!   start at login, a notification's room opened.
//! - [`command_names`]: the command list, shared with `build.rs`.
//!
//! Each concern folder has a `commands.rs` with its `#[tauri::command]`s;
//! a command's JS name is its Rust name (`invoke('join_room', {...})`) and
//! its permission `allow-<name-with-dashes>` (granted in
//! `capabilities/main.json`).

pub mod command_names;
pub mod desktop;
pub mod discovery;
pub mod error;
pub mod events;
pub mod files;
pub mod host;
pub mod launch;
pub mod memory;
pub mod notify;
pub mod outbox;
pub mod platform;
pub mod rooms;
pub mod secrets;
pub mod settings;
pub mod tray;

use std::sync::Arc;

use tauri::{Manager, RunEvent, Runtime, WindowEvent};

pub use desktop::{Desktop, DesktopOptions};

/// Starts the desktop app (the binary's `main`).
pub fn run() {
    // Before GTK and before any thread: some levers are read only at start.
    let levers = memory::Levers::from_env();
    memory::at_process_start(levers);
    init_tracing();
    tracing::info!(levers = ?levers.names_on(), "memory settings");
    memory::keep_trimming(levers);
    let built = app_builder(desktop_plugins(tauri::Builder::default()))
        .plugin(memory::webview_plugin(levers))
        .setup(|app| {
            setup(app)?;
            Ok(())
        })
        .build(context());
    memory::after_gtk_start();
    let app = match built {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(cause = %e, "the app could not start");
            eprintln!("Hearth could not start: {e}");
            std::process::exit(1);
        }
    };
    app.run(|app, event| {
        if let RunEvent::Exit = event
            && let Some(desktop) = app.try_state::<Desktop>()
        {
            let desktop = desktop.inner().clone();
            tauri::async_runtime::block_on(desktop.shutdown());
        }
    });
}

/// The plugins of the real app only: one instance (registered first, as
/// its README asks; its `deep-link` feature hands a second launch's
/// `hearth://` link to the deep-link plugin before the callback runs), then
/// [`platform_plugins`]. Not in [`app_builder`]: on the mock runtime of the
/// tests, a second app in one process would find the first and exit.
fn desktop_plugins(builder: tauri::Builder<tauri::Wry>) -> tauri::Builder<tauri::Wry> {
    let builder = builder.plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
        tracing::info!(
            args = argv.len().saturating_sub(1),
            "a second launch: showing this window"
        );
        tray::show_main(app);
    }));
    platform_plugins(builder)
}

/// Deep links, the window's size and position, start at login: all used
/// from Rust only (the webview is granted none of their permissions).
/// Generic so the capability test can build them on the mock runtime.
pub fn platform_plugins<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    use tauri_plugin_window_state::StateFlags;
    builder
        .plugin(tauri_plugin_deep_link::init())
        .plugin(
            // Not VISIBLE: a window hidden in the tray at quit comes back shown.
            tauri_plugin_window_state::Builder::new()
                .with_state_flags(StateFlags::SIZE | StateFlags::POSITION | StateFlags::MAXIMIZED)
                .build(),
        )
        .plugin(
            tauri_plugin_autostart::Builder::new()
                .app_name("Hearth")
                .build(),
        )
}

/// The app's Tauri context: `../tauri.conf.json`, the embedded `ui/`, the
/// capabilities. Generic over the runtime so a test can use the mock one.
pub fn context<R: Runtime>() -> tauri::Context<R> {
    tauri::generate_context!("../tauri.conf.json")
}

/// The app's builder: plugins, commands, window events ([`run`] adds the
/// setup that opens the [`Desktop`]). Generic over the runtime so a test can
/// build it on Tauri's mock runtime and manage a `Desktop` of its own.
pub fn app_builder<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder
        .manage(platform::Platform::default())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(rooms::links::navigation_guard())
        .plugin(page_limits())
        .plugin(platform::page_script())
        .register_asynchronous_uri_scheme_protocol(files::SCHEME, |ctx, request, responder| {
            let app = ctx.app_handle().clone();
            tauri::async_runtime::spawn(async move {
                responder.respond(serve_file(&app, request.uri().path()).await);
            });
        })
        // Each command is also in command_names.rs and capabilities/main.json.
        .invoke_handler(tauri::generate_handler![
            host::commands::host_start,
            host::commands::host_stop,
            host::commands::host_status,
            host::commands::save_host_settings,
            host::commands::watch_host_visibility,
            host::commands::set_host_visibility,
            discovery::watch_nearby,
            discovery::nearby_servers,
            discovery::recheck_nearby,
            rooms::commands::probe_server,
            rooms::commands::join_room,
            rooms::commands::forget_room,
            rooms::commands::retry_now,
            rooms::commands::open_link,
            launch::launch_problem,
            rooms::commands::saved_rooms,
            rooms::commands::room_info,
            rooms::commands::list_rooms,
            rooms::commands::room_history,
            rooms::search::room_history_after,
            rooms::search::search_messages,
            rooms::people::who_am_i,
            rooms::people::nick_password,
            rooms::people::open_dm,
            rooms::people::ban_nick,
            rooms::people::unban_nick,
            rooms::people::list_bans,
            rooms::commands::follow_rooms,
            rooms::commands::open_view,
            rooms::commands::set_view_rooms,
            rooms::commands::close_view,
            rooms::commands::set_active_room,
            rooms::commands::sign_in_again,
            rooms::commands::post_once,
            rooms::commands::edit_message,
            rooms::commands::delete_message,
            rooms::commands::set_reaction,
            rooms::commands::send_typing,
            outbox::commands::post_message,
            outbox::commands::pending_messages,
            outbox::commands::discard_message,
            outbox::commands::stage_file,
            files::commands::save_file,
            files::commands::show_in_folder,
            files::commands::watch_drops,
            platform::commands::watch_platform,
            platform::commands::desktop_settings,
            platform::commands::save_desktop_settings,
            platform::commands::set_room_muted,
            platform::commands::quit_app,
        ])
        .on_window_event(|window, event| {
            if window.label() != tray::MAIN_WINDOW {
                return;
            }
            if let WindowEvent::CloseRequested { api, .. } = event
                && platform::close_to_tray(window)
            {
                api.prevent_close();
                return;
            }
            let Some(desktop) = window.try_state::<Desktop>() else {
                return;
            };
            match event {
                WindowEvent::Focused(focused) => {
                    desktop.set_focused(*focused);
                    platform::set_focused(window.app_handle(), *focused);
                }
                WindowEvent::DragDrop(drop) => {
                    let scale = window.scale_factor().unwrap_or(1.0);
                    desktop.files().drops().forward(drop, scale);
                }
                _ => {}
            }
        })
}

/// Answers a `hearthfile:` request (`/<room id>/<file id>[/thumb]`): the
/// image, fetched by Rust with the room's session (see [`files`]).
async fn serve_file<R: Runtime>(
    app: &tauri::AppHandle<R>,
    path: &str,
) -> tauri::http::Response<Vec<u8>> {
    use tauri::http::{Response, StatusCode, header};
    let refuse = |status: StatusCode, text: String| {
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(text.into_bytes())
            .expect("a plain response builds")
    };
    // `convertFileSrc` percent-encodes the whole path.
    let path = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let Some(request) = files::ImageRequest::parse(&path) else {
        return refuse(StatusCode::NOT_FOUND, "no such file".into());
    };
    let Some(desktop) = app.try_state::<Desktop>() else {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "starting".into());
    };
    match desktop.files().image(desktop.rooms(), &request).await {
        Ok(image) => Response::builder()
            .header(header::CONTENT_TYPE, image.content_type)
            .header("X-Content-Type-Options", "nosniff")
            .header(header::CACHE_CONTROL, "private, max-age=86400, immutable")
            .body(image.bytes.to_vec())
            .expect("an image response builds"),
        Err(e) => {
            tracing::debug!(cause = %e, path = %path, "an image could not be served");
            let status = e
                .status()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::BAD_GATEWAY);
            refuse(status, e.to_string())
        }
    }
}

/// Gives the page Rust's limits before any of its scripts runs:
/// `window.__HEARTH__.pageSize` (the transport's `pageSize`, which the chat
/// view reads when it is built, before any command could answer).
fn page_limits<R: Runtime>() -> tauri::plugin::TauriPlugin<R> {
    tauri::plugin::Builder::new("hearth-limits")
        .js_init_script(format!(
            "Object.defineProperty(window, '__HEARTH__', {{ value: Object.freeze({{ pageSize: {} }}) }});",
            rooms::hub::PAGE_SIZE
        ))
        .build()
}

/// Opens the core on the app's directories and the OS keychain, adds the
/// tray, and starts hosting if the settings ask for it.
fn setup<R: Runtime>(app: &mut tauri::App<R>) -> Result<(), Box<dyn std::error::Error>> {
    let handle = app.handle().clone();
    let data_dir = app.path().app_data_dir()?;
    let config_dir = app.path().app_config_dir()?;
    tracing::info!(data = %data_dir.display(), config = %config_dir.display(), "starting");
    let mut options = DesktopOptions::new(data_dir, config_dir, Arc::new(secrets::Keychain));
    options.notifier = Arc::new(notify::DesktopNotifier::new(handle.clone()));
    let desktop = tauri::async_runtime::block_on(Desktop::open(options))?;
    app.manage(desktop.clone());
    app.manage(discovery::Nearby::start(desktop.host().visibility()));
    let do_not_disturb = desktop.settings().get().desktop.do_not_disturb;
    let tray = tray::install(&handle, do_not_disturb);
    app.state::<platform::Platform>().set_tray_available(tray);
    notify::listen_for_clicks(&handle);
    follow_links(&handle);
    quit_on_signal(handle);
    tauri::async_runtime::spawn(async move {
        match desktop.start_hosting_if_asked().await {
            Some(Ok(status)) => tracing::info!(port = ?status.port, "hosting on launch"),
            Some(Err(e)) => {
                tracing::error!(cause = %e, "could not start hosting on launch");
                launch::hosting_failed(&e);
            }
            None => {}
        }
    });
    Ok(())
}

/// `hearth://` links: the one the app was launched with, and those the OS
/// or a second launch hands over later, go to the page
/// ([`platform::Platform::open_links`]). On Linux and Windows the scheme is
/// also registered at run time where no installer did it (a debug build,
/// an AppImage), as the deep-link plugin's docs advise.
fn follow_links<R: Runtime>(app: &tauri::AppHandle<R>) {
    use tauri_plugin_deep_link::DeepLinkExt;
    let Some(deep_link) = app.try_state::<tauri_plugin_deep_link::DeepLink<R>>() else {
        return; // the mock runtime's tests have no deep-link plugin
    };
    #[cfg(any(windows, target_os = "linux"))]
    {
        #[cfg(target_os = "linux")]
        let unregistered = cfg!(debug_assertions) || app.env().appimage.is_some();
        #[cfg(windows)]
        let unregistered = cfg!(debug_assertions);
        if unregistered && let Err(e) = deep_link.register_all() {
            tracing::warn!(cause = %e, "cannot register hearth:// links with the desktop");
        }
    }
    let platform = app.state::<platform::Platform>();
    if let Ok(Some(urls)) = deep_link.get_current() {
        platform.open_links(urls.iter().map(url::Url::as_str));
    }
    let handle = app.clone();
    app.deep_link().on_open_url(move |event| {
        let urls = event.urls();
        handle
            .state::<platform::Platform>()
            .open_links(urls.iter().map(url::Url::as_str));
    });
}

/// SIGTERM (logout, `kill`) and SIGINT quit the app the normal way, so
/// hosting stops cleanly and the settings are saved.
fn quit_on_signal<R: Runtime>(app: tauri::AppHandle<R>) {
    #[cfg(unix)]
    tauri::async_runtime::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::warn!("cannot listen for signals");
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("quitting on a signal");
        app.exit(0);
    });
    #[cfg(not(unix))]
    drop(app);
}

/// Logs to stderr; `HEARTH_LOG` sets the filter (default `info`).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HEARTH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use crate::command_names::COMMANDS;

    #[test]
    fn the_capability_grants_the_main_window_exactly_the_app_commands() {
        let capability: serde_json::Value =
            serde_json::from_str(include_str!("../capabilities/main.json")).unwrap();
        assert_eq!(capability["windows"], serde_json::json!(["main"]));
        let granted: Vec<&str> = capability["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        let expected: Vec<String> = COMMANDS
            .iter()
            .map(|c| format!("allow-{}", c.replace('_', "-")))
            .collect();
        assert_eq!(granted, expected);
    }
}
