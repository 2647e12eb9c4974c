//! The webview's permissions, narrowest first: one capability file, for the
//! `main` window only, granting exactly the app's own commands. The
//! platform plugins (single instance, deep links, window state, autostart)
//! and the notification and opener plugins are used from Rust only, so no
//! permission of theirs is granted at all: the opener's narrowest scope
//! (http/https links, opened by Rust's `open_link`) is no scope in the
//! webview. Checked on the files and, on Tauri's mock runtime with the
//! app's real context and the plugins registered, by calling the plugins'
//! commands from the main window and from another one.

use std::path::Path;

use hearth_desktop::command_names::COMMANDS;
use serde_json::{Value, json};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder};
use tauri::webview::InvokeRequest;
use tauri::{WebviewWindow, WebviewWindowBuilder};

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn one_capability_for_the_main_window_with_the_app_commands_only() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("capabilities");
    let files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        files,
        vec!["main.json".to_owned()],
        "no other capability file"
    );

    let capability = read_json(&dir.join("main.json"));
    assert_eq!(capability["windows"], json!(["main"]));
    for key in ["webviews", "remote", "platforms"] {
        assert!(capability.get(key).is_none(), "{key} widens the capability");
    }
    let granted = capability["permissions"].as_array().unwrap();
    let expected: Vec<Value> = COMMANDS
        .iter()
        .map(|c| json!(format!("allow-{}", c.replace('_', "-"))))
        .collect();
    // Any plugin permission (a string "plugin:…", or an object with a scope)
    // is a permission beyond the list.
    assert_eq!(granted, &expected);

    // No capability inlined in the config either.
    let config = read_json(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../tauri.conf.json"));
    assert!(config["app"]["security"].get("capabilities").is_none());
    assert_eq!(
        config["plugins"]["deep-link"]["desktop"]["schemes"],
        json!(["hearth"])
    );
}

fn invoke(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().unwrap())
}

#[test]
fn the_plugins_commands_are_refused_to_every_window() {
    let app = hearth_desktop::app_builder(hearth_desktop::platform_plugins(mock_builder()))
        .build(hearth_desktop::context())
        .expect("the app builds");
    let main = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    let other = WebviewWindowBuilder::new(&app, "other", Default::default())
        .build()
        .unwrap();
    let calls = [
        (
            "plugin:opener|open_url",
            json!({"url": "https://example.org/"}),
        ),
        (
            "plugin:opener|open_url",
            json!({"url": "file:///etc/passwd"}),
        ),
        ("plugin:opener|open_path", json!({"path": "/etc/passwd"})),
        (
            "plugin:opener|reveal_item_in_dir",
            json!({"paths": ["/etc"]}),
        ),
        (
            "plugin:notification|notify",
            json!({"options": {"title": "x"}}),
        ),
        ("plugin:autostart|enable", json!({})),
        ("plugin:autostart|is_enabled", json!({})),
        ("plugin:deep-link|register", json!({"protocol": "http"})),
        ("plugin:deep-link|get_current", json!({})),
        ("plugin:window-state|save_window_state", json!({"flags": 1})),
        (
            "plugin:window-state|restore_state",
            json!({"label": "main", "flags": 1}),
        ),
        ("plugin:window|close", json!({"label": "main"})),
        ("plugin:event|listen", json!({"event": "x", "handler": 1})),
    ];
    for window in [&main, &other] {
        for (cmd, args) in &calls {
            let error = invoke(window, cmd, args.clone()).unwrap_err();
            let text = error.to_string();
            assert!(
                text.contains("not allowed") || text.contains("not found"),
                "{} may call {cmd}: {text}",
                window.label()
            );
        }
    }
    // The app's own commands: the main window only.
    assert!(
        invoke(&other, "desktop_settings", json!({}))
            .unwrap_err()
            .to_string()
            .contains("not allowed")
    );
}
