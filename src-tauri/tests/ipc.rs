//! The Tauri wiring, on Tauri's mock runtime with the app's real context
//! (config, capabilities): every command of `command_names.rs` is
//! registered and allowed for the `main` window, other windows and unknown
//! commands are refused, and errors reach JS as `{kind, message,
//! retryable, status?, retry_after?, reason?, until?}` objects, one kind
//! per way a command can fail (the people commands' too: a nick someone
//! else protected, a DM with an unprotected nick, a non-admin's ban, a
//! banned session); the search commands check their inputs first and relay
//! the server's answer; an attached file's bytes cross as a raw body, and
//! only paths dropped on the window may be sent.

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
        Err(json!({"kind": "not_found", "retryable": false,
                   "message": "That room is not in your saved rooms any more."}))
    );
    assert_eq!(
        invoke(
            &main,
            "join_room",
            json!({"address": "ftp://x", "nick": "ana"})
        ),
        Err(json!({"kind": "invalid", "retryable": false, "message":
            "That is not a web address: ftp: is not http:// or https:// (try http://192.168.1.20:8989)."
        }))
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

/// How a fake server answers a request line: status, extra header lines,
/// body.
type Respond = fn(&str) -> (u16, &'static str, &'static str);

/// A stand-in server on `127.0.0.1`: every request gets what `respond`
/// gives for its request line (`GET /api/info`): status, extra header
/// lines, body. Returns its base URL.
fn fake_server(respond: Respond) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                reader.read_line(&mut request_line).unwrap();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if line.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let (status, headers, body) = respond(request_line.trim());
                let answer = format!(
                    "HTTP/1.1 {status} Whatever\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes());
            });
        }
    });
    format!("http://{addr}/")
}

const INFO: &str = r#"{"name": "Fake", "version": "1", "auth": "password", "rooms": ["general"], "default_room": "general"}"#;

#[test]
fn every_way_a_command_fails_reaches_js_as_its_kind() {
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
    let fails = |cmd: &str, args: Value| -> Value {
        let error =
            invoke(&main, cmd, args.clone()).expect_err(&format!("{cmd} {args} should fail"));
        let message = error["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{cmd}: {error}");
        error
    };
    let shape = |error: &Value| -> Value {
        let mut shape = error.clone();
        shape.as_object_mut().unwrap().remove("message");
        shape
    };

    // Inputs refused before any request.
    let error = fails("join_room", json!({"address": "127.0.0.1:1", "nick": "  "}));
    assert_eq!(
        error,
        json!({"kind": "invalid", "retryable": false, "message": "Nick must not be empty"})
    );
    let error = fails("room_history", json!({"roomId": "gone"}));
    assert_eq!(
        shape(&error),
        json!({"kind": "not_found", "retryable": false})
    );

    // No answer at all.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let error = fails(
        "probe_server",
        json!({"address": format!("http://{closed}")}),
    );
    assert_eq!(shape(&error), json!({"kind": "network", "retryable": true}));
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("Nothing answers at {closed}: connection refused.")),
        "{error}"
    );

    // Every status a server may answer with, with Retry-After when sent.
    let statuses: [(Respond, Value); 9] = [
        (
            |_| (400, "", r#"{"error": "bad"}"#),
            json!({"kind": "invalid", "retryable": false, "status": 400}),
        ),
        (
            |_| (403, "", r#"{"error": "no"}"#),
            json!({"kind": "forbidden", "retryable": false, "status": 403}),
        ),
        (
            |_| (404, "", r#"{"error": "none"}"#),
            json!({"kind": "not_found", "retryable": false, "status": 404}),
        ),
        (
            |_| (409, "", r#"{"error": "clash"}"#),
            json!({"kind": "conflict", "retryable": false, "status": 409}),
        ),
        (
            |_| (413, "", r#"{"error": "big"}"#),
            json!({"kind": "too_large", "retryable": false, "status": 413}),
        ),
        (
            |_| (429, "Retry-After: 3\r\n", r#"{"error": "slow down"}"#),
            json!({"kind": "rate_limited", "retryable": true, "status": 429, "retry_after": 3}),
        ),
        (
            |_| (500, "", r#"{"error": "oops"}"#),
            json!({"kind": "server", "retryable": true, "status": 500}),
        ),
        (
            |_| (503, "Retry-After: 7\r\n", r#"{"error": "busy"}"#),
            json!({"kind": "unavailable", "retryable": true, "status": 503, "retry_after": 7}),
        ),
        // An answer the app cannot read.
        (
            |_| (200, "", "<html>a router's page</html>"),
            json!({"kind": "server", "retryable": false}),
        ),
    ];
    for (respond, expected) in statuses {
        let server = fake_server(respond);
        let error = fails("probe_server", json!({"address": server}));
        assert_eq!(shape(&error), expected, "{error}");
    }
    let error = fails(
        "probe_server",
        json!({"address": fake_server(|_| (429, "", r#"{"error": "slow down"}"#))}),
    );
    assert_eq!(
        error["message"],
        json!("The server said: slow down (too many requests: wait a moment)")
    );

    // A server that wants a password.
    let locked = fake_server(|request| {
        if request.starts_with("GET /api/info") {
            (200, "", INFO)
        } else {
            (401, "", r#"{"error": "wrong password"}"#)
        }
    });
    let error = fails("join_room", json!({"address": locked, "nick": "ana"}));
    assert_eq!(
        error,
        json!({"kind": "unauthorized", "retryable": false, "reason": "server_password",
               "message": "This room needs a password. Ask the host for it."})
    );
    let error = fails(
        "join_room",
        json!({"address": locked, "nick": "ana", "password": "nope"}),
    );
    assert_eq!(
        error,
        json!({"kind": "unauthorized", "retryable": false, "status": 401,
               "message": "The server refused to sign you in: wrong password"})
    );

    // Hosting over HTTPS: the app's own certificate is not trusted unpinned;
    // hosting twice is the app's own failure; a hosted room is unavailable
    // once hosting stops.
    let hosting = invoke(
        &main,
        "host_start",
        json!({"https": true, "password": "", "nick": "hostess"}),
    )
    .unwrap();
    let error = fails("host_start", json!({"password": ""}));
    assert_eq!(shape(&error), json!({"kind": "local", "retryable": false}));
    let error = fails("probe_server", json!({"address": hosting["local_url"]}));
    assert_eq!(
        shape(&error),
        json!({"kind": "certificate", "retryable": false})
    );
    invoke(&main, "host_stop", json!({})).unwrap();
    let error = fails("list_rooms", json!({"roomId": hosting["room_id"]}));
    assert_eq!(
        error,
        json!({"kind": "unavailable", "retryable": true,
               "message": "Hosting is stopped: start hosting to open this room."})
    );

    tauri::async_runtime::block_on(desktop.shutdown());
}

#[test]
fn attached_bytes_cross_as_a_raw_body_and_only_dropped_paths_are_sent() {
    let dirs = tempfile::tempdir().unwrap();
    let app = hearth_desktop::app_builder(mock_builder())
        .build(hearth_desktop::context())
        .expect("the app builds");
    let options = DesktopOptions::new(
        dirs.path().join("data"),
        dirs.path().join("config"),
        Arc::new(MemorySecrets::new()),
    );
    let desktop = tauri::async_runtime::block_on(Desktop::open(options)).unwrap();
    app.manage(desktop.clone());
    let main = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();

    // The bytes are the body; the name comes percent-encoded in a header.
    let mut headers = tauri::http::HeaderMap::new();
    headers.insert("Hearth-Name", "%E2%9C%93%20shot.png".parse().unwrap());
    headers.insert("Hearth-Type", "image/png".parse().unwrap());
    let staged = get_ipc_response(
        &main,
        InvokeRequest {
            cmd: "stage_file".into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Raw(vec![1, 2, 3, 4, 5]),
            headers,
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().unwrap())
    .unwrap();
    assert_eq!(staged["name"], json!("✓ shot.png"));
    assert_eq!(staged["size"], json!(5));
    assert_eq!(staged["type"], json!("image/png"));
    let spooled = dirs
        .path()
        .join("data/outbox-files")
        .join(staged["staged"].as_str().unwrap());
    assert_eq!(std::fs::read(spooled).unwrap(), [1, 2, 3, 4, 5]);

    // JSON is not a file's bytes.
    let error = invoke(&main, "stage_file", json!({"bytes": [1, 2]})).unwrap_err();
    assert_eq!(error["kind"], json!("invalid"), "{error}");

    // The webview cannot name a file on disk that was not dropped on the
    // window.
    let secret = dirs.path().join("secret.txt");
    std::fs::write(&secret, "not yours").unwrap();
    let error = invoke(
        &main,
        "post_message",
        json!({"roomId": "any", "text": "", "files": [{"path": secret}]}),
    )
    .unwrap_err();
    assert_eq!(error["kind"], json!("invalid"), "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("was not dropped on the window"),
        "{error}"
    );

    tauri::async_runtime::block_on(desktop.shutdown());
}

/// A v1.1 server with protected nicks where ana signs in, is no admin, may
/// not DM an unprotected bo, and is banned by the time she asks who she is.
fn people_server(request: &str) -> (u16, &'static str, &'static str) {
    match request
        .split_once(" HTTP")
        .map_or(request, |(line, _)| line)
    {
        "GET /api/info" => (
            200,
            "",
            r#"{"name": "Fake", "version": "1", "auth": "none", "rooms": ["general"], "default_room": "general", "protocol": "1.1", "features": ["log", "nicks", "dm"]}"#,
        ),
        "POST /api/session" => (
            201,
            "",
            r#"{"token": "t1", "nick": "ana", "protected": true, "admin": false}"#,
        ),
        "POST /api/dm" => (
            409,
            "",
            r#"{"error": "bo is not protected: direct messages need both nicks protected", "reason": "not_protected"}"#,
        ),
        "POST /api/bans" | "GET /api/bans" | "DELETE /api/bans/bo" => {
            (403, "", r#"{"error": "only admins may do that"}"#)
        }
        "GET /api/session" => (
            403,
            "",
            r#"{"error": "you are banned until 2026-12-06T09:00:00Z: spam", "reason": "banned", "until": "2026-12-06T09:00:00Z"}"#,
        ),
        // The event stream: nothing to say.
        _ => (404, "", r#"{"error": "no such room"}"#),
    }
}

#[test]
fn people_commands_fail_with_the_servers_reason() {
    let dirs = tempfile::tempdir().unwrap();
    let app = hearth_desktop::app_builder(mock_builder())
        .build(hearth_desktop::context())
        .expect("the app builds");
    let secrets = MemorySecrets::new();
    let options = DesktopOptions::new(
        dirs.path().join("data"),
        dirs.path().join("config"),
        Arc::new(secrets.clone()),
    );
    let desktop = tauri::async_runtime::block_on(Desktop::open(options)).unwrap();
    app.manage(desktop.clone());
    let main = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    let nick_accounts = || -> Vec<String> {
        secrets
            .accounts()
            .into_iter()
            .filter(|a| a.starts_with("nick "))
            .collect()
    };

    // Joining a server with protected nicks makes and keeps a nick password.
    let server = fake_server(people_server);
    let joined = invoke(
        &main,
        "join_room",
        json!({"address": server, "nick": "ana"}),
    )
    .unwrap();
    let room_id = joined["id"].clone();
    assert_eq!(
        nick_accounts(),
        [format!("nick {}/ ana", server.trim_end_matches('/'))]
    );
    let shown = invoke(&main, "nick_password", json!({"roomId": room_id})).unwrap();
    assert_eq!(shown.as_str().map(str::len), Some(24), "{shown}");

    let error = invoke(&main, "open_dm", json!({"roomId": room_id, "nick": "bo"})).unwrap_err();
    assert_eq!(
        error,
        json!({"kind": "conflict", "retryable": false, "status": 409, "reason": "not_protected",
               "message": "The server said: bo is not protected: direct messages need both nicks protected"})
    );
    let error = invoke(&main, "open_dm", json!({"roomId": room_id, "nick": " "})).unwrap_err();
    assert_eq!(error["kind"], json!("invalid"), "{error}");
    for (command, args) in [
        (
            "ban_nick",
            json!({"roomId": room_id, "nick": "bo", "minutes": 60}),
        ),
        ("unban_nick", json!({"roomId": room_id, "nick": "bo"})),
        ("list_bans", json!({"roomId": room_id})),
    ] {
        let error = invoke(&main, command, args).unwrap_err();
        assert_eq!(
            error,
            json!({"kind": "forbidden", "retryable": false, "status": 403,
                   "message": "The server said: only admins may do that"}),
            "{command}"
        );
    }
    let error = invoke(
        &main,
        "ban_nick",
        json!({"roomId": room_id, "nick": "bo", "minutes": 0}),
    )
    .unwrap_err();
    assert_eq!(error["kind"], json!("invalid"), "{error}");
    let error = invoke(&main, "who_am_i", json!({"roomId": room_id})).unwrap_err();
    assert_eq!(
        error,
        json!({"kind": "forbidden", "retryable": false, "status": 403, "reason": "banned",
               "until": "2026-12-06T09:00:00Z",
               "message": "you are banned until 2026-12-06T09:00:00Z: spam"})
    );

    // A nick someone else protected: a sentence that says so, and the
    // password made for the attempt is not kept.
    let taken = fake_server(|request| {
        if request.starts_with("GET /api/info") {
            (
                200,
                "",
                r#"{"name": "Fake", "version": "1", "auth": "none", "rooms": ["general"], "default_room": "general", "features": ["nicks"]}"#,
            )
        } else {
            (
                401,
                "",
                r#"{"error": "the nick bo is protected: sign in with its nick password, or pick another nick", "reason": "nick_protected"}"#,
            )
        }
    });
    let error = invoke(&main, "join_room", json!({"address": taken, "nick": "bo"})).unwrap_err();
    assert_eq!(error["kind"], json!("unauthorized"), "{error}");
    assert_eq!(error["reason"], json!("nick_protected"), "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("Pick another nick"),
        "{error}"
    );
    let error = invoke(
        &main,
        "join_room",
        json!({"address": taken, "nick": "bo", "nickPassword": "not-bos-password"}),
    )
    .unwrap_err();
    assert_eq!(error["reason"], json!("nick_protected"), "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("not the nick password of bo"),
        "{error}"
    );
    assert_eq!(
        nick_accounts().len(),
        1,
        "only ana's: {:?}",
        nick_accounts()
    );

    // A server before protected nicks gets no nick password.
    let old = fake_server(|request| {
        if request.starts_with("GET /api/info") {
            (
                200,
                "",
                r#"{"name": "Old", "version": "1", "auth": "none", "rooms": ["general"], "default_room": "general"}"#,
            )
        } else if request.starts_with("POST /api/session") {
            (201, "", r#"{"token": "t2", "nick": "cy"}"#)
        } else {
            (404, "", r#"{"error": "no"}"#)
        }
    });
    let joined = invoke(&main, "join_room", json!({"address": old, "nick": "cy"})).unwrap();
    assert_eq!(nick_accounts().len(), 1, "{:?}", nick_accounts());
    assert_eq!(
        invoke(&main, "nick_password", json!({"roomId": joined["id"]})).unwrap(),
        json!(null)
    );

    tauri::async_runtime::block_on(desktop.shutdown());
}

/// A v1.1 server with search: one result for exactly the query the test
/// sends, one page after message 17-0 of `general`.
fn search_server(request: &str) -> (u16, &'static str, &'static str) {
    const FOUND: &str = r#"[{"id": "18-0", "room": "dev", "nick": "bo", "text": "un café", "ts": "2026-12-06T07:00:00.000Z", "client_id": null}]"#;
    let line = request
        .split_once(" HTTP")
        .map_or(request, |(line, _)| line);
    match line {
        "GET /api/info" => (
            200,
            "",
            r#"{"name": "Fake", "version": "1", "auth": "none", "rooms": ["general"], "default_room": "general", "protocol": "1.1", "features": ["log", "search"]}"#,
        ),
        "POST /api/session" => (201, "", r#"{"token": "t1", "nick": "ana"}"#),
        "GET /api/search?q=caf%C3%A9&rooms=dev&before=19-0&limit=5" => (200, "", FOUND),
        "GET /api/rooms/general/messages?after=17-0&limit=10" => (200, "", FOUND),
        _ if line.starts_with("GET /api/search") => (200, "", "[]"),
        _ => (404, "", r#"{"error": "no such room"}"#),
    }
}

#[test]
fn search_commands_check_their_inputs_and_relay_the_server() {
    let dirs = tempfile::tempdir().unwrap();
    let app = hearth_desktop::app_builder(mock_builder())
        .build(hearth_desktop::context())
        .expect("the app builds");
    let options = DesktopOptions::new(
        dirs.path().join("data"),
        dirs.path().join("config"),
        Arc::new(MemorySecrets::new()),
    );
    let desktop = tauri::async_runtime::block_on(Desktop::open(options)).unwrap();
    app.manage(desktop.clone());
    let main = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    let server = fake_server(search_server);
    let joined = invoke(
        &main,
        "join_room",
        json!({"address": server, "nick": "ana"}),
    )
    .unwrap();
    let room_id = joined["id"].clone();

    // What the server answers reaches JS as is.
    let found = invoke(
        &main,
        "search_messages",
        json!({"roomId": room_id, "q": " café ", "rooms": ["dev"], "before": "19-0", "limit": 5}),
    )
    .unwrap();
    assert_eq!(found[0]["text"], json!("un café"), "{found}");
    assert_eq!(found[0]["room"], json!("dev"));
    let none = invoke(
        &main,
        "search_messages",
        json!({"roomId": room_id, "q": "天气"}),
    )
    .unwrap();
    assert_eq!(none, json!([]));
    let after = invoke(
        &main,
        "room_history_after",
        json!({"roomId": room_id, "after": "17-0", "limit": 10}),
    )
    .unwrap();
    assert_eq!(after[0]["id"], json!("18-0"));

    // Inputs the server would refuse are refused first, with a sentence.
    let invalid = |command: &str, args: Value, sentence: &str| {
        let error = invoke(&main, command, args).unwrap_err();
        assert_eq!(
            error,
            json!({"kind": "invalid", "retryable": false, "message": sentence}),
            "{command}"
        );
    };
    invalid(
        "search_messages",
        json!({"roomId": room_id, "q": "  "}),
        "Type a word to search for.",
    );
    invalid(
        "search_messages",
        json!({"roomId": room_id, "q": "a".repeat(201)}),
        "A search can be at most 200 characters long (this one has 201).",
    );
    invalid(
        "search_messages",
        json!({"roomId": room_id, "q": "x", "rooms": ["Not A Room"]}),
        "\"Not A Room\" is not a room name.",
    );
    invalid(
        "search_messages",
        json!({"roomId": room_id, "q": "x", "before": "yesterday"}),
        "\"yesterday\" is not a message id.",
    );
    for limit in [0, 101] {
        invalid(
            "search_messages",
            json!({"roomId": room_id, "q": "x", "limit": limit}),
            "Ask for 1 to 100 results at a time.",
        );
    }
    invalid(
        "room_history_after",
        json!({"roomId": room_id, "after": "nope"}),
        "\"nope\" is not a message id.",
    );
    invalid(
        "room_history_after",
        json!({"roomId": room_id, "after": "17-0", "limit": 501}),
        "Ask for 1 to 500 messages at a time.",
    );
    // A room the app does not have, and a server that does not know it.
    let error = invoke(
        &main,
        "search_messages",
        json!({"roomId": "gone", "q": "x"}),
    )
    .unwrap_err();
    assert_eq!(error["kind"], json!("not_found"), "{error}");
    let error = invoke(
        &main,
        "room_history_after",
        json!({"roomId": room_id, "after": "1-0"}),
    )
    .unwrap_err();
    assert_eq!(
        error,
        json!({"kind": "not_found", "retryable": false, "status": 404,
               "message": "The server said: no such room"})
    );

    tauri::async_runtime::block_on(desktop.shutdown());
}
