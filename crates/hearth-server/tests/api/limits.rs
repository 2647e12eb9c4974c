//! Limits that protect the server: post rates, the connection cap, the
//! header read timeout.

use std::io::{Read, Write};
use std::time::Duration;

use hearth_server::config::RateLimit;
use reqwest::StatusCode;

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
    // Closing one frees a place.
    streams.pop();
    let mut ok = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if http()
            .get(server.url("/api/info"))
            .send()
            .await
            .unwrap()
            .status()
            == StatusCode::OK
        {
            ok = true;
            break;
        }
    }
    assert!(ok, "a freed slot is usable again");
}

#[tokio::test]
async fn a_client_that_dribbles_its_headers_is_cut_off() {
    let server =
        TestServer::start_with(|c| c.header_read_timeout = Duration::from_millis(500)).await;
    let addr = server.addr;
    let outcome = tokio::task::spawn_blocking(move || {
        let mut slow = std::net::TcpStream::connect(addr).unwrap();
        slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let started = std::time::Instant::now();
        // One byte every 100 ms: never a whole request head.
        for byte in b"GET /api/info HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaa" {
            if slow.write_all(&[*byte]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
            if started.elapsed() > Duration::from_secs(3) {
                break;
            }
        }
        let mut rest = Vec::new();
        let _ = slow.read_to_end(&mut rest);
        (
            started.elapsed(),
            String::from_utf8_lossy(&rest).into_owned(),
        )
    })
    .await
    .unwrap();
    let (elapsed, answer) = outcome;
    assert!(
        elapsed < Duration::from_secs(4),
        "the connection was closed by the server ({elapsed:?})"
    );
    assert!(!answer.contains("200 OK"), "{answer}");
    // A normal client is unaffected.
    assert!(server.client().info().await.is_ok());
}
