//! The Tauri wiring, on Tauri's mock runtime with the app's real context
//! (config, capabilities): every command of `command_names.rs` is
//! registered and allowed for the `main` window, other windows and unknown
//! commands are refused, and errors reach JS as sentences.

use std::sync::Arc;

use hearth_desktop::command_names::COMMANDS;
use hearth_desktop::secrets::MemorySecrets;
use hearth_desktop::{Desktop, DesktopOptions};
use serde_json::{Value, json};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder};
use tauri::webview::InvokeRequest;
use tauri::{Manager, WebviewWindow, WebviewWindowBuilder};

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

fn refused_by_acl(error: &Value) -> bool {
    let text = error.to_string();
    text.contains("not allowed") || text.contains("not found")
}

#[test]
fn every_command_is_wired_and_allowed_for_the_main_window_only() {
    let dirs = tempfile::tempdir().unwrap();
    let app = hearth_desktop::app_builder(mock_builder())
        .build(hearth_desktop::context())
        .expect("the app builds");
    let mut options = DesktopOptions::new(
        dirs.path().join("data"),
        dirs.path().join("config"),
        Arc::new(MemorySecrets::new()),
    );
    options.host_bind = "127.0.0.1".parse().unwrap();
    options.host_ports = vec![0];
    let desktop = tauri::async_runtime::block_on(Desktop::open(options)).unwrap();
    app.manage(desktop.clone());
    let main = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();

    // Every command is registered and allowed (missing arguments are the
    // command's own error, not the ACL's).
    for command in COMMANDS {
        if let Err(error) = invoke(&main, command, json!({})) {
            assert!(!refused_by_acl(&error), "{command}: {error}");
        }
    }
    let status = invoke(&main, "host_status", json!({})).unwrap();
    assert_eq!(status["running"], json!(false));
    assert_eq!(invoke(&main, "saved_rooms", json!({})).unwrap(), json!([]));
    assert_eq!(
        invoke(
            &main,
            "post_message",
            json!({"roomId": "nope", "text": "hi"})
        ),
        Err(json!("That room is not in your saved rooms any more."))
    );
    assert_eq!(
        invoke(
            &main,
            "join_room",
            json!({"address": "ftp://x", "nick": "ana"})
        ),
        Err(json!(
            "That is not a Hearth address (ftp://x: use http://host:port). Paste something like http://192.168.1.20:8989, http://host:8989/r/general or host:8989."
        ))
    );
    assert_eq!(
        invoke(&main, "pending_messages", json!({})).unwrap(),
        json!([])
    );

    // Nothing else is reachable, and no other window may call the app.
    let unknown = invoke(&main, "plugin:notification|notify", json!({})).unwrap_err();
    assert!(refused_by_acl(&unknown), "{unknown}");
    let other = WebviewWindowBuilder::new(&app, "other", Default::default())
        .build()
        .unwrap();
    let refused = invoke(&other, "host_status", json!({})).unwrap_err();
    assert!(refused_by_acl(&refused), "{refused}");

    tauri::async_runtime::block_on(desktop.shutdown());
}
