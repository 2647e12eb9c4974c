//! Limits that protect the server: post rates, the connection cap, the
//! header read timeout, the backoff after wrong passwords, the per-address
//! stream cap.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use hearth_server::config::{LimitsClock, PasswordSetting, RateLimit};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_flooding_session_gets_429_with_retry_after_within_100_posts() {
    // The documented defaults, not the test defaults.
    let server = TestServer::start_with(|c| {
        let defaults = hearth_server::Config::new(c.data_dir.clone());
        c.session_post_rate = defaults.session_post_rate;
        c.address_post_rate = defaults.address_post_rate;
    })
    .await;
    let ana = server.signed_in("ana").await;
    let mut accepted = 0;
    let refusal = loop {
        match ana
            .post(&room("general"), "flood", &hearth_client::new_client_id())
            .await
        {
            Ok(_) => accepted += 1,
            Err(e) => break e,
        }
        assert!(accepted < 100, "no 429 within 100 posts");
    };
    assert_eq!(refusal.status(), Some(StatusCode::TOO_MANY_REQUESTS));
    let hearth_client::ClientError::Status {
        retry_after,
        message,
        ..
    } = &refusal
    else {
        unreachable!()
    };
    assert!(
        retry_after.is_some_and(|d| d >= Duration::from_secs(1)),
        "{refusal:?}"
    );
    assert!(message.contains("retry"), "{message}");
    // Refused posts were not stored.
    let stored = ana
        .history(&room("general"), None, Some(500))
        .await
        .unwrap();
    assert_eq!(stored.len(), accepted);
    // Another person on the same address is not throttled by ana's flood.
    let bo = server.signed_in("bo").await;
    post(&bo, "general", "I can still talk").await;
}

#[tokio::test]
async fn the_address_limit_catches_many_sessions_from_one_address() {
    let server = TestServer::start_with(|c| {
        c.address_post_rate = RateLimit {
            per_second: 1,
            burst: 30,
        };
    })
    .await;
    let mut refused = None;
    'outer: for n in 0..20 {
        let client = server.signed_in(&format!("user{n}")).await;
        for _ in 0..5 {
            if let Err(e) = client
                .post(&room("general"), "hi", &hearth_client::new_client_id())
                .await
            {
                refused = Some(e);
                break 'outer;
            }
        }
    }
    let refused = refused.expect("the address limit applies across sessions");
    assert_eq!(refused.status(), Some(StatusCode::TOO_MANY_REQUESTS));
}

#[tokio::test]
async fn connections_over_the_cap_get_503() {
    let server = TestServer::start_with(|c| c.max_connections = 3).await;
    let ana = server.signed_in("ana").await;
    // Three open streams fill the cap.
    let mut streams = Vec::new();
    for _ in 0..3 {
        let mut stream = open_room(&ana, "general", None).await;
        read_start(&mut stream).await;
        streams.push(stream);
    }
    let response = http().get(server.url("/api/info")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("too many"),
        "{body}"
    );
    // Closing one frees a place (once the server has seen it close).
    streams.pop();
    let info = &server.url("/api/info");
    eventually("a freed place is usable again", move || async move {
        let status = http().get(info).send().await.unwrap().status();
        (status == StatusCode::OK).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_client_that_dribbles_its_headers_is_cut_off() {
    let server = TestServer::start_with(|c| c.header_read_timeout = Duration::from_secs(1)).await;
    let addr = server.addr;
    let (dribbling, is_dribbling) = tokio::sync::oneshot::channel();
    let dribbler = tokio::task::spawn_blocking(move || {
        let mut slow = std::net::TcpStream::connect(addr).unwrap();
        let mut reader = slow.try_clone().unwrap();
        reader
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let started = Instant::now();
        // Returns when the server closes the connection (or after 10 s).
        let closed = std::thread::spawn(move || {
            let mut answer = Vec::new();
            let _ = reader.read_to_end(&mut answer);
            (
                started.elapsed(),
                String::from_utf8_lossy(&answer).into_owned(),
            )
        });
        // One byte every 200 ms, a head that never ends: each byte arrives
        // well within any per-read timeout, the whole head never does.
        let head = b"GET /api/info HTTP/1.1\r\nHost: x\r\nX-Slow: ";
        let mut sent = 0;
        let mut dribbling = Some(dribbling);
        for byte in head.iter().chain(std::iter::repeat(&b'a')) {
            if closed.is_finished() || started.elapsed() > Duration::from_secs(10) {
                break;
            }
            if slow.write_all(&[*byte]).is_err() {
                break;
            }
            sent += 1;
            if let Some(dribbling) = dribbling.take() {
                let _ = dribbling.send(());
            }
            // The dribble's pace (what this test is about), not a wait.
            std::thread::sleep(Duration::from_millis(200));
        }
        let (closed_after, answer) = closed.join().unwrap();
        (closed_after, answer, sent)
    });
    // Meanwhile (its first byte is in), a normal client is served.
    is_dribbling.await.expect("the dribbler sends");
    for _ in 0..3 {
        server
            .client()
            .info()
            .await
            .expect("a normal client is served");
        assert!(!dribbler.is_finished(), "served while the dribbler is on");
    }
    let (closed_after, answer, sent) = dribbler.await.unwrap();
    assert!(
        closed_after >= Duration::from_millis(900) && closed_after < Duration::from_secs(3),
        "closed by the header timeout (1 s), after {closed_after:?}"
    );
    assert!(sent < 20, "{sent} bytes dribbled before the cut");
    assert!(!answer.contains("200 OK"), "{answer}");
    // And afterwards too.
    assert!(server.client().info().await.is_ok());
}

/// A `429`'s `Retry-After` (whole seconds) and error text.
async fn refused(response: reqwest::Response, case: &str) -> (u64, String) {
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("{case}: a whole-seconds Retry-After"));
    let error = expect_error(response, StatusCode::TOO_MANY_REQUESTS, case).await;
    (retry_after, error)
}

/// The value of the counter `name` on `/metrics`.
async fn counter(server: &TestServer, name: &str) -> u64 {
    let text = http()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} on /metrics:\n{text}"))
}

#[tokio::test]
async fn a_password_guesser_waits_longer_each_time_and_others_still_sign_in() {
    // The backoff's clock, moved on instead of sleeping through each wait.
    let clock = LimitsClock::default();
    let server = TestServer::start_with(|c| {
        c.password = Some(PasswordSetting::Plain("sesame".into()));
        c.password_backoff = Duration::from_secs(1);
        c.password_backoff_max = Duration::from_secs(60);
        c.limits_clock = clock.clone();
    })
    .await;
    let guesser = http_from("127.0.0.1");
    let friend = http_from("127.0.0.2");
    let sign_in = |client: &reqwest::Client, password: &str| {
        client
            .post(server.url("/api/session"))
            .json(&json!({"nick": "mallory", "password": password}))
            .send()
    };
    let mut retry_afters = Vec::new();
    for round in 0..3 {
        let guess = format!("guess {round}");
        let answer = sign_in(&guesser, &guess).await.unwrap();
        expect_error(answer, StatusCode::UNAUTHORIZED, &guess).await;
        // Guessing on at once is refused quickly, the right password too:
        // nothing is checked during the wait.
        let started = Instant::now();
        let (retry_after, error) =
            refused(sign_in(&guesser, "again").await.unwrap(), "again").await;
        assert!(error.contains("wait"), "{error}");
        refused(
            sign_in(&guesser, "sesame").await.unwrap(),
            "the right one, too early",
        )
        .await;
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "429 at once"
        );
        retry_afters.push(retry_after);
        if round < 2 {
            clock.advance(Duration::from_secs(retry_after));
        }
    }
    assert_eq!(retry_afters, [1, 2, 4], "the wait doubles");
    // The original /login form shares the wait.
    let form = guesser
        .post(server.url("/login"))
        .form(&[("user", "mallory"), ("password", "sesame")])
        .send()
        .await
        .unwrap();
    refused(form, "/login during the wait").await;
    // Parallel guesses cannot slip in either.
    let parallel =
        futures::future::join_all((0..5).map(|i| sign_in(&guesser, &format!("p{i}")))).await;
    for answer in parallel {
        assert_eq!(answer.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    }

    // Meanwhile someone at another address signs in at once.
    let answer = sign_in(&friend, "sesame").await.unwrap();
    assert_eq!(answer.status(), StatusCode::CREATED);

    // After the wait, the right password works (and starts the address over).
    clock.advance(Duration::from_secs(retry_afters[2]));
    let answer = sign_in(&guesser, "sesame").await.unwrap();
    assert_eq!(answer.status(), StatusCode::CREATED);
    let answer = sign_in(&guesser, "one more typo").await.unwrap();
    expect_error(answer, StatusCode::UNAUTHORIZED, "a typo after signing in").await;
    let (retry_after, _) = refused(sign_in(&guesser, "x").await.unwrap(), "after the typo").await;
    assert_eq!(retry_after, 1, "back to the shortest wait");

    assert_eq!(counter(&server, "hearth_password_failures_total").await, 4);
    assert!(counter(&server, "hearth_password_attempts_refused_total").await >= 13);
}

#[tokio::test]
async fn parallel_guesses_from_one_address_get_one_check() {
    let server = TestServer::start_with(|c| {
        c.password = Some(PasswordSetting::Plain("sesame".into()));
        c.password_backoff = Duration::from_secs(1);
    })
    .await;
    let guesser = http();
    let guesses = futures::future::join_all((0..8).map(|i| {
        guesser
            .post(server.url("/api/session"))
            .json(&json!({"nick": "mallory", "password": format!("guess {i}")}))
            .send()
    }))
    .await;
    let statuses: Vec<StatusCode> = guesses.into_iter().map(|r| r.unwrap().status()).collect();
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((checked, refused), (1, 7), "{statuses:?}");
}

#[tokio::test]
async fn streams_over_the_per_address_cap_get_429_and_other_addresses_still_open() {
    let server = TestServer::start_with(|c| c.max_streams_per_address = 2).await;
    let ana = server.signed_in("ana").await;
    let token = ana.token().unwrap().to_owned();
    let room_url = server.url("/api/rooms/general/events");
    let here = http_from("127.0.0.1");
    let there = http_from("127.0.0.2");
    let open = |client: &reqwest::Client, url: &str| client.get(url).bearer_auth(&token).send();

    let mut streams = Vec::new();
    for _ in 0..2 {
        let response = open(&here, &room_url).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let mut raw = RawSse::new(response);
        raw.frame().await.expect("retry frame");
        streams.push(raw);
    }
    // Every kind of stream counts against the cap.
    for path in [
        "/api/rooms/general/events",
        "/api/events?rooms=general,dev",
        "/stream",
    ] {
        let response = open(&here, &server.url(path)).await.unwrap();
        let (retry_after, error) = refused(response, path).await;
        assert!(retry_after >= 1);
        assert!(error.contains("too many open event streams"), "{error}");
    }
    // Another address still opens streams.
    let mut elsewhere = Vec::new();
    for _ in 0..2 {
        let response = open(&there, &room_url).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "from 127.0.0.2");
        elsewhere.push(RawSse::new(response));
    }
    // Closing one frees a slot (once the server has seen it close).
    streams.pop();
    let (here, room_url, open) = (&here, &room_url, &open);
    let mut reopened = eventually("a freed slot is usable again", move || async move {
        let response = open(here, room_url).await.unwrap();
        if response.status() == StatusCode::OK {
            return Some(RawSse::new(response));
        }
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        None
    })
    .await;
    reopened.frame().await.expect("the new stream starts");
    assert!(counter(&server, "hearth_streams_refused_total").await >= 3);
}
