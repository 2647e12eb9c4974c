//! The room event stream: framing, replay, resume, presence, pings,
//! shutdown.

use std::time::Duration;

use hearth_proto::StreamEvent;
use reqwest::StatusCode;

use crate::support::*;

#[tokio::test]
async fn a_stream_answers_at_once_with_sse_headers_and_retry_first() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let response = http()
        .get(server.url("/api/rooms/general/events"))
        .bearer_auth(ana.token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(headers["x-accel-buffering"], "no");
    assert!(!headers.contains_key("content-encoding"));
    let mut raw = RawSse::new(response);
    assert_eq!(raw.frame().await.unwrap(), "retry: 2000");
    assert_eq!(
        raw.frame().await.unwrap(),
        "event: ready\ndata: {\"room\":\"general\",\"resumed\":false,\"last_id\":null}"
    );
    assert_eq!(
        raw.frame().await.unwrap(),
        "event: presence\ndata: {\"room\":\"general\",\"online\":[\"ana\"]}"
    );
    let message = post(&ana, "general", "hi").await;
    let frame = raw.frame().await.unwrap();
    let expected = format!(
        "id: {}\nevent: message\ndata: {}",
        message.id,
        serde_json::to_string(&message).unwrap()
    );
    assert_eq!(frame, expected);
}

#[tokio::test]
async fn a_fresh_stream_replays_the_newest_fifty() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let mut posted = Vec::new();
    for i in 0..55 {
        posted.push(post(&ana, "general", &format!("m{i}")).await);
    }
    let mut stream = open_room(&ana, "general", None).await;
    let (replay, ready, presence) = read_start(&mut stream).await;
    assert_eq!(replay, posted[5..]);
    assert!(!ready.resumed);
    assert_eq!(ready.last_id, Some(posted[54].id));
    assert_eq!(presence.online, vec!["ana".to_owned()]);
}

#[tokio::test]
async fn resuming_with_last_event_id_returns_exactly_the_missed_messages() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let bo = server.signed_in("bo").await;
    let seen = post(&ana, "general", "before").await;
    let mut missed = Vec::new();
    for i in 0..5 {
        missed.push(post(&ana, "general", &format!("while away {i}")).await);
    }
    // Header form.
    let mut stream = open_room(&bo, "general", Some(&seen.id.to_string())).await;
    let (replay, ready, _) = read_start(&mut stream).await;
    assert_eq!(replay, missed);
    assert!(ready.resumed);
    assert_eq!(ready.last_id, Some(missed[4].id));
    // Live messages follow, none twice.
    let live = post(&ana, "general", "live").await;
    assert_eq!(next_message(&mut stream).await, live);

    // Query form (what a browser can send), from the newest id: nothing to
    // replay, resumed, last_id is the id resumed from.
    let url = format!("/api/rooms/general/events?last_event_id={}", live.id);
    let response = http()
        .get(server.url(&url))
        .bearer_auth(bo.token().unwrap())
        .send()
        .await
        .unwrap();
    let mut raw = RawSse::new(response);
    assert_eq!(raw.frame().await.unwrap(), "retry: 2000");
    assert_eq!(
        raw.frame().await.unwrap(),
        format!(
            "event: ready\ndata: {{\"room\":\"general\",\"resumed\":true,\"last_id\":\"{}\"}}",
            live.id
        )
    );
}

#[tokio::test]
async fn resuming_from_an_id_older_than_the_cache_reads_the_store() {
    // More messages than the in-memory cache (256) holds.
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let posts = (0..400).map(|i| {
        let ana = ana.clone();
        async move { (i, post(&ana, "deep", &format!("d{i}")).await) }
    });
    let mut posted: Vec<_> = futures::future::join_all(posts).await;
    posted.sort_by_key(|(_, m)| m.id);
    let posted: Vec<_> = posted.into_iter().map(|(_, m)| m).collect();
    let mut stream = open_room(&ana, "deep", Some(&posted[9].id.to_string())).await;
    let (replay, ready, _) = read_start(&mut stream).await;
    assert!(ready.resumed);
    assert_eq!(replay.len(), 390);
    assert_eq!(replay, posted[10..]);
    let live = post(&ana, "deep", "after").await;
    assert_eq!(next_message(&mut stream).await, live);
}

#[tokio::test]
async fn an_id_that_cannot_be_placed_gets_the_fresh_replay_and_resumed_false() {
    let server = TestServer::start_with(|c| c.retention_per_room = 3).await;
    let ana = server.signed_in("ana").await;
    let mut posted = Vec::new();
    for i in 0..6 {
        posted.push(post(&ana, "general", &format!("m{i}")).await);
    }
    let elsewhere = post(&ana, "dev", "other room").await;
    let too_old = posted[0].id.to_string();
    let unknown = format!("{}-7", posted[5].id.ms + 1_000_000);
    for id in [
        "garbage",
        "1-",
        too_old.as_str(),
        unknown.as_str(),
        &elsewhere.id.to_string(),
    ] {
        let mut stream = open_room(&ana, "general", Some(id)).await;
        let (replay, ready, _) = read_start(&mut stream).await;
        assert!(
            !ready.resumed,
            "{id} ({ready:?}, {} replayed, posted {:?})",
            replay.len(),
            posted.iter().map(|m| m.id.to_string()).collect::<Vec<_>>()
        );
        assert_eq!(replay, posted[3..], "{id}");
        assert_eq!(ready.last_id, Some(posted[5].id), "{id}");
    }
}

#[tokio::test]
async fn join_and_leave_come_once_per_nick() {
    let server = TestServer::start().await;
    let watcher = server.signed_in("watcher").await;
    let mut watching = open_room(&watcher, "general", None).await;
    read_start(&mut watching).await;

    let ana = server.signed_in("ana").await;
    let mut first = open_room(&ana, "general", None).await;
    let (_, _, presence) = read_start(&mut first).await;
    assert_eq!(
        presence.online,
        vec!["ana".to_owned(), "watcher".to_owned()]
    );
    match next_event(&mut watching).await.event {
        StreamEvent::Join(change) => {
            assert_eq!(change.nick, "ana");
            assert_eq!(change.room.as_str(), "general");
        }
        other => panic!("expected join, got {other:?}"),
    }
    // A second stream of the same nick (another tab): no second join.
    let ana_again = server.signed_in("ana").await;
    let mut second = open_room(&ana_again, "general", None).await;
    read_start(&mut second).await;
    drop(first);
    // Closing one of two streams: still online, no leave. Once the server
    // has ended that stream (and with it its presence), the next thing the
    // watcher sees is the message, not a leave.
    let metrics = &server.url("/metrics");
    eventually("the server ended the closed stream", move || async move {
        (metric(metrics, "hearth_streams_open").await == 2.0).then_some(())
    })
    .await;
    let marker = post(&watcher, "general", "marker").await;
    match next_event(&mut watching).await.event {
        StreamEvent::Message(m) => assert_eq!(m, marker),
        other => panic!("expected the marker message, got {other:?}"),
    }
    drop(second);
    match next_event(&mut watching).await.event {
        StreamEvent::Leave(change) => assert_eq!(change.nick, "ana"),
        other => panic!("expected leave, got {other:?}"),
    }
    let rooms = watcher.rooms().await.unwrap();
    let general = rooms.iter().find(|r| r.room.as_str() == "general").unwrap();
    assert_eq!(general.online, 1);
}

#[tokio::test]
async fn an_idle_stream_gets_pings() {
    let server = TestServer::start_with(|c| c.ping_interval = Duration::from_millis(200)).await;
    let ana = server.signed_in("ana").await;
    let mut raw = RawSse::open_past_start(
        &server.url("/api/rooms/general/events"),
        ana.token().unwrap(),
    )
    .await;
    let started = std::time::Instant::now();
    assert_eq!(raw.frame().await.unwrap(), ": ping");
    assert_eq!(raw.frame().await.unwrap(), ": ping");
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn a_stream_without_a_valid_token_is_refused() {
    let server = TestServer::start().await;
    for auth in [None, Some("not-a-token")] {
        let mut request = http().get(server.url("/api/rooms/general/events"));
        if let Some(token) = auth {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("sign"), "{body}");
    }
    // The query form a browser's EventSource uses works.
    let ana = server.signed_in("ana").await;
    let url = format!("/api/rooms/general/events?token={}", ana.token().unwrap());
    let response = http().get(server.url(&url)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn shutdown_ends_open_streams_cleanly() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let mut raw = RawSse::open_past_start(
        &server.url("/api/rooms/general/events"),
        ana.token().unwrap(),
    )
    .await;
    let stopping = tokio::spawn(server.stop());
    // The stream ends (a clean end of the chunked body, not a hang)…
    assert_eq!(raw.frame().await, None);
    // …and the server finishes well within its grace period.
    tokio::time::timeout(Duration::from_secs(5), stopping)
        .await
        .expect("server stopped")
        .unwrap();
}

#[tokio::test]
async fn the_follow_client_reconnects_and_resumes_after_a_restart() {
    let server = TestServer::start().await;
    let addr = server.addr;
    let ana = server.signed_in("ana").await;
    let first = post(&ana, "general", "first").await;
    let policy = hearth_client::RetryPolicy {
        first_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(500),
        max_attempts: 0,
    };
    let mut follow = Box::pin(ana.follow(
        hearth_client::StreamTarget::Room(room("general")),
        None,
        policy,
    ));
    let mut got = Vec::new();
    // Until ready: Connected, the replay of `first`, ready, presence.
    loop {
        match next(&mut follow).await {
            hearth_client::Followed::Event(r) => match r.event {
                StreamEvent::Message(m) => got.push(m),
                StreamEvent::Presence(_) => break,
                _ => {}
            },
            hearth_client::Followed::Connected => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(got, vec![first.clone()]);
    // Restart on the same data dir and the same port; post while it is down
    // is impossible, so post right after it is back.
    let dir = server.stop().await;
    let mut config = test_config(&dir);
    config.ping_interval = Duration::from_secs(15);
    // The stopped server closed its listener.
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .expect("the port is free again");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let restarted = tokio::spawn(hearth_server::run(listener, config, async move {
        let _ = stopped.await;
    }));
    let second = post(&ana, "general", "second").await;
    // The follower sees exactly `second` next: no duplicate of `first`.
    let mut resumed_ready = None;
    loop {
        match next(&mut follow).await {
            hearth_client::Followed::Event(r) => match r.event {
                StreamEvent::Message(m) => {
                    assert_eq!(m, second);
                    break;
                }
                StreamEvent::Ready(ready) => resumed_ready = Some(ready),
                _ => {}
            },
            hearth_client::Followed::Reconnecting { .. } | hearth_client::Followed::Connected => {}
            hearth_client::Followed::Failed(e) => panic!("{e}"),
        }
    }
    if let Some(ready) = resumed_ready {
        assert!(ready.resumed, "the restart lost nothing: {ready:?}");
    }
    let _ = stop.send(());
    restarted.await.unwrap().unwrap();
    drop(dir);
}

/// Reads from `socket` until `needle` has arrived; returns all read so far.
async fn read_until(socket: &mut tokio::net::TcpStream, seen: &mut String, needle: &str) {
    use tokio::io::AsyncReadExt;
    let mut buffer = [0u8; 4096];
    while !seen.contains(needle) {
        let n = tokio::time::timeout(WAIT, socket.read(&mut buffer))
            .await
            .unwrap_or_else(|_| panic!("waiting for {needle:?}; got {seen:?}"))
            .unwrap();
        assert!(n > 0, "closed before {needle:?}; got {seen:?}");
        seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
}

/// A stream that is the first request of its connection (as an
/// `EventSource` opens it) and one that follows another request on a
/// kept-alive connection are served by different code (see `net::direct`):
/// both are the same stream to a client, and a client that hangs up leaves
/// the room at once.
#[tokio::test]
async fn a_stream_is_the_same_as_a_connections_first_request_or_after_another() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::start().await;
    let watcher = server.signed_in("watcher").await;
    let mut watching = open_room(&watcher, "general", None).await;
    read_start(&mut watching).await;
    let ana = server.signed_in("ana").await;
    let token = ana.token().unwrap().to_owned();
    let stream_request = format!(
        "GET /api/rooms/general/events?replay=0 HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\r\n"
    );

    for first_request in [true, false] {
        let case = if first_request {
            "first"
        } else {
            "after /api/info"
        };
        let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let mut seen = String::new();
        if !first_request {
            socket
                .write_all(b"GET /api/info HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .await
                .unwrap();
            read_until(&mut socket, &mut seen, "}").await; // the info object has no inner `}`
            assert!(seen.starts_with("HTTP/1.1 200"), "{case}: {seen}");
            seen.clear();
        }
        socket.write_all(stream_request.as_bytes()).await.unwrap();
        read_until(&mut socket, &mut seen, "event: presence").await;
        let head = seen.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200 ok"), "{case}: {head}");
        assert!(
            head.contains("content-type: text/event-stream"),
            "{case}: {head}"
        );
        assert!(head.contains("cache-control: no-cache"), "{case}: {head}");
        assert!(
            head.contains("transfer-encoding: chunked"),
            "{case}: {head}"
        );
        assert!(seen.contains("retry: "), "{case}: {seen}");
        match next_event(&mut watching).await.event {
            StreamEvent::Join(change) => assert_eq!(change.nick, "ana", "{case}"),
            other => panic!("{case}: expected ana's join, got {other:?}"),
        }

        let message = post(&watcher, "general", &format!("hello ({case})")).await;
        read_until(&mut socket, &mut seen, &format!("id: {}\n", message.id)).await;
        assert!(seen.contains(&format!("hello ({case})")), "{case}: {seen}");
        assert_eq!(next_message(&mut watching).await, message);

        // Hanging up, with nothing else on the stream to notice it by.
        drop(socket);
        let left = tokio::time::timeout(Duration::from_secs(3), next_event(&mut watching))
            .await
            .unwrap_or_else(|_| panic!("{case}: no leave within 3 s of hanging up"));
        match left.event {
            StreamEvent::Leave(change) => assert_eq!(change.nick, "ana", "{case}"),
            other => panic!("{case}: expected ana's leave, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_refused_stream_as_a_connections_first_request_gets_the_json_error() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::start().await;
    let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    socket
        .write_all(b"GET /api/rooms/general/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    read_until(&mut socket, &mut answer, "}").await;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 401"), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert!(
        head.contains(&format!("content-length: {}", body.len())),
        "{head}"
    );
    let error: serde_json::Value = serde_json::from_str(body).unwrap();
    assert!(
        error["error"].as_str().unwrap().contains("sign in"),
        "{body}"
    );
}
