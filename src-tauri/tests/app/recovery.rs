//! Coming back after an outage: a request that reaches the server again
//! (the outbox delivering) ends the stream's backoff at once, and "Retry
//! now" reconnects without waiting.

use std::time::{Duration, Instant};

use hearth_client::RetryPolicy;
use hearth_desktop::events::{AppEvent, LocalEvent, OutboxState};
use hearth_desktop::secrets::MemorySecrets;

use crate::support::{AppDirs, TestApp, TestServer, fast};

/// A stream backoff far longer than the test's waits (`support::WAIT`):
/// a reconnect seen in time was not the backoff's.
fn slow_stream() -> RetryPolicy {
    RetryPolicy {
        first_delay: Duration::from_secs(60),
        max_delay: Duration::from_secs(60),
        max_attempts: 2,
    }
}

async fn open_slow(dirs: &AppDirs, secrets: &MemorySecrets) -> TestApp {
    TestApp::open_with(dirs, secrets, |o| {
        o.follow_policy = slow_stream();
        o.post_policy = fast();
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_delivering_ends_the_streams_backoff_at_once() {
    let data = tempfile::tempdir().unwrap();
    let mut server = TestServer::start(data.path(), 0).await;
    let port = server.addr.port();
    let dirs = AppDirs::new();
    let secrets = MemorySecrets::new();
    let mut app = open_slow(&dirs, &secrets).await;
    let room = app.join_connected(&server.url("/"), "ana").await;

    server.stop().await;
    app.wait_state(&room.id, "reconnecting").await;
    let queued = app
        .desktop
        .outbox()
        .enqueue(&room.id, "typed offline")
        .unwrap();
    let id = queued.client_id.clone();
    app.wait_for("a round that waits", |e| {
        matches!(&e.event, AppEvent::Local(LocalEvent::Outbox(u))
            if u.client_id == id && matches!(u.state, OutboxState::Queued { wait_reason: Some(_), .. }))
    })
    .await;

    // Back on the same port: the outbox's next round (about a second)
    // delivers, and the stream, 60 s from its next attempt, reconnects now.
    let _server = TestServer::start(data.path(), port).await;
    app.wait_for("sent", |e| {
        matches!(&e.event, AppEvent::Local(LocalEvent::Outbox(u))
            if u.client_id == id && matches!(u.state, OutboxState::Sent { .. }))
    })
    .await;
    let sent_at = Instant::now();
    app.wait_all(&[
        ("connected", &|e| {
            e.room_id == room.id
                && matches!(&e.event, AppEvent::Local(LocalEvent::Connection(s)) if s.name() == "connected")
        }),
        ("echo", &|e| {
            matches!(&e.event, AppEvent::Stream(hearth_proto::StreamEvent::Message(m))
                if m.client_id.as_deref() == Some(id.as_str()))
        }),
    ])
    .await;
    let after = sent_at.elapsed();
    assert!(
        after < Duration::from_secs(5),
        "connected {after:?} after the outbox's success"
    );
    app.desktop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_now_reconnects_without_waiting_for_the_backoff() {
    let data = tempfile::tempdir().unwrap();
    let mut server = TestServer::start(data.path(), 0).await;
    let port = server.addr.port();
    let dirs = AppDirs::new();
    let secrets = MemorySecrets::new();
    let mut app = open_slow(&dirs, &secrets).await;
    let room = app.join_connected(&server.url("/"), "ana").await;

    server.stop().await;
    app.wait_state(&room.id, "reconnecting").await;
    let _server = TestServer::start(data.path(), port).await;
    let asked = Instant::now();
    app.desktop.rooms().retry_now(&room.id).unwrap();
    app.wait_state(&room.id, "connected").await;
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
    assert!(app.desktop.rooms().retry_now("no such room").is_err());
    app.desktop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_to_a_server_that_speaks_https_says_so() {
    let dirs = AppDirs::new();
    let secrets = MemorySecrets::new();
    let app = TestApp::open(&dirs, &secrets).await;
    let status = app
        .desktop
        .host_start(hearth_desktop::desktop::HostStart {
            https: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    let port = status.port.expect("hosting");
    let err = app
        .desktop
        .rooms()
        .probe(&format!("http://127.0.0.1:{port}"), None)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("127.0.0.1:{port} only speaks HTTPS. Try https://127.0.0.1:{port} instead.")
    );
    app.desktop.shutdown().await;
}
