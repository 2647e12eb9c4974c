//! The outbox: a message is on disk before it is sent, survives a server
//! outage and an app restart, and the server ends up with exactly one copy.

use hearth_client::Client;
use hearth_desktop::error::CommandError;
use hearth_desktop::events::{AppEvent, LocalEvent, OutboxState, WaitReason};
use hearth_desktop::outbox::{FILE_NAME, OutboxEntry};
use hearth_desktop::rooms::JoinRequest;
use hearth_desktop::secrets::{MemorySecrets, RoomSecret, SecretStore};
use hearth_proto::RoomName;

use crate::support::{AppDirs, TestApp, TestServer, copies};

/// The entries in the outbox file.
fn on_disk(dirs: &AppDirs) -> Vec<OutboxEntry> {
    #[derive(serde::Deserialize)]
    struct File {
        entries: Vec<OutboxEntry>,
    }
    match std::fs::read(dirs.data().join(FILE_NAME)) {
        Ok(bytes) => serde_json::from_slice::<File>(&bytes).unwrap().entries,
        Err(_) => Vec::new(),
    }
}

/// Waits until a round could not send `client_id` and said why.
async fn wait_waiting(app: &mut TestApp, client_id: &str) {
    app.wait_for("a round that waits", |e| {
        matches!(&e.event, AppEvent::Local(LocalEvent::Outbox(u))
            if u.client_id == client_id
                && matches!(u.state, OutboxState::Queued { wait_reason: Some(WaitReason::Network), retry_at_ms: Some(_) }))
    })
    .await;
}

async fn wait_sent(app: &mut TestApp, client_id: &str) {
    app.wait_for("sent", |e| {
        matches!(&e.event, AppEvent::Local(LocalEvent::Outbox(u))
            if u.client_id == client_id && matches!(u.state, OutboxState::Sent { .. }))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_typed_while_the_server_is_down_is_sent_once_it_is_back() {
    let data = tempfile::tempdir().unwrap();
    let mut server = TestServer::start(data.path(), 0).await;
    let port = server.addr.port();
    let dirs = AppDirs::new();
    let secrets = MemorySecrets::new();
    let mut app = TestApp::open(&dirs, &secrets).await;
    let room = app.join_connected(&server.url("/"), "ana").await;

    server.stop().await;
    app.wait_state(&room.id, "reconnecting").await;
    let queued = app
        .desktop
        .outbox()
        .enqueue(&room.id, "typed offline")
        .unwrap();
    // On disk before any attempt.
    assert_eq!(on_disk(&dirs), std::slice::from_ref(&queued));
    assert_eq!(
        app.desktop.outbox().pending(Some(&room.id)),
        std::slice::from_ref(&queued)
    );
    // A round fails while the server is down; the message stays.
    wait_waiting(&mut app, &queued.client_id).await;
    assert_eq!(on_disk(&dirs).len(), 1);

    let server = TestServer::start(data.path(), port).await;
    let id = queued.client_id.clone();
    app.wait_all(&[
        ("connected", &|e| {
            matches!(&e.event, AppEvent::Local(LocalEvent::Connection(s)) if s.name() == "connected")
        }),
        ("sent", &|e| {
            matches!(&e.event, AppEvent::Local(LocalEvent::Outbox(u))
                if u.client_id == id && matches!(u.state, OutboxState::Sent { .. }))
        }),
        ("echo", &|e| {
            matches!(&e.event, AppEvent::Stream(hearth_proto::StreamEvent::Message(m))
                if m.client_id.as_deref() == Some(id.as_str()))
        }),
    ])
    .await;
    assert!(on_disk(&dirs).is_empty());
    assert!(app.desktop.outbox().pending(None).is_empty());
    let bo = server.client("bo").await;
    assert_eq!(copies(&bo, "general", &queued.client_id).await, 1);
    app.desktop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_survives_an_app_restart_and_is_sent_exactly_once() {
    let data = tempfile::tempdir().unwrap();
    let mut server = TestServer::start(data.path(), 0).await;
    let port = server.addr.port();
    let dirs = AppDirs::new();
    let secrets = MemorySecrets::new();

    let mut app = TestApp::open(&dirs, &secrets).await;
    let room = app.join_connected(&server.url("/"), "ana").await;
    server.stop().await;
    app.wait_state(&room.id, "reconnecting").await;
    let first = app
        .desktop
        .outbox()
        .enqueue(&room.id, "first, offline")
        .unwrap();
    let second = app
        .desktop
        .outbox()
        .enqueue(&room.id, "second, offline")
        .unwrap();
    wait_waiting(&mut app, &first.client_id).await;
    app.desktop.shutdown().await;
    drop(app);
    assert_eq!(on_disk(&dirs), [first.clone(), second.clone()]);

    let server = TestServer::start(data.path(), port).await;
    let mut app = TestApp::open(&dirs, &secrets).await;
    wait_sent(&mut app, &first.client_id).await;
    wait_sent(&mut app, &second.client_id).await;
    assert!(on_disk(&dirs).is_empty());
    let bo = server.client("bo").await;
    assert_eq!(copies(&bo, "general", &first.client_id).await, 1);
    assert_eq!(copies(&bo, "general", &second.client_id).await, 1);
    let texts: Vec<String> = crate::support::history(&bo, "general")
        .await
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(
        texts,
        ["first, offline", "second, offline"],
        "in order, once each"
    );
    app.desktop.shutdown().await;
}

/// The app died after the server stored a message but before the entry left
/// the outbox file: the next run must not post it a second time, whether it
/// still has the same session or has to sign in anew.
async fn crash_after_post(keep_session: bool) {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(data.path(), 0).await;
    let dirs = AppDirs::new();
    let secrets = MemorySecrets::new();

    let mut app = TestApp::open(&dirs, &secrets).await;
    let room = app.join_connected(&server.url("/"), "ana").await;
    app.desktop.shutdown().await;
    drop(app);

    // What the dead app had done: posted with its session...
    let account = format!("{}/r/general ana", server.url(""));
    let secret: RoomSecret =
        serde_json::from_str(&secrets.get(&account).unwrap().unwrap()).unwrap();
    let ana = Client::new(&server.url("/"))
        .unwrap()
        .with_token(secret.token.clone().unwrap());
    let client_id = hearth_client::new_client_id();
    let posted = ana
        .post(
            &RoomName::default_room(),
            "stored, then crashed",
            &client_id,
        )
        .await
        .unwrap();
    assert!(posted.created);
    // ...and left the entry in the file.
    let entry = OutboxEntry {
        client_id: client_id.clone(),
        room_id: room.id.clone(),
        text: "stored, then crashed".into(),
        reply_to: None,
        files: Vec::new(),
        queued_at_ms: 1,
        failed: None,
    };
    // Written without `reply_to` and `files`, as outbox files were before
    // replies and files.
    let json = serde_json::to_string(&entry).unwrap();
    assert!(
        !json.contains("reply_to") && !json.contains("files"),
        "{json}"
    );
    std::fs::write(
        dirs.data().join(FILE_NAME),
        serde_json::to_vec(&serde_json::json!({ "entries": [entry] })).unwrap(),
    )
    .unwrap();
    if !keep_session {
        // The token is gone (say the keychain was reset): a new session.
        secrets
            .set(
                &account,
                &serde_json::to_string(&RoomSecret::default()).unwrap(),
            )
            .unwrap();
    }

    let mut app = TestApp::open(&dirs, &secrets).await;
    wait_sent(&mut app, &client_id).await;
    assert!(on_disk(&dirs).is_empty());
    let bo = server.client("bo").await;
    assert_eq!(
        copies(&bo, "general", &client_id).await,
        1,
        "exactly one copy"
    );
    app.desktop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_stored_before_a_crash_is_not_sent_twice() {
    crash_after_post(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_stored_before_a_crash_is_not_sent_twice_under_a_new_session() {
    crash_after_post(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_are_refused_before_they_are_queued() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(data.path(), 0).await;
    let dirs = AppDirs::new();
    let app = TestApp::open(&dirs, &MemorySecrets::new()).await;
    let room = app
        .desktop
        .rooms()
        .join(JoinRequest::new(server.url("/"), "ana"))
        .await
        .unwrap()
        .room;
    let outbox = app.desktop.outbox();
    let err = outbox.enqueue(&room.id, " \r\n ").unwrap_err();
    assert_eq!(err.to_string(), "Message text must not be empty");
    let err = outbox.enqueue(&room.id, &"x".repeat(4001)).unwrap_err();
    assert!(matches!(err, CommandError::Invalid(_)), "{err}");
    let err = outbox.enqueue(&room.id, "bell\u{7}").unwrap_err();
    assert!(matches!(err, CommandError::Invalid(_)), "{err}");
    let err = outbox.enqueue("no-such-room", "hi").unwrap_err();
    assert!(matches!(err, CommandError::UnknownRoom));
    assert!(outbox.pending(None).is_empty());
    assert!(on_disk(&dirs).is_empty());
    assert!(!outbox.discard("nothing").unwrap());
    app.desktop.shutdown().await;
}
