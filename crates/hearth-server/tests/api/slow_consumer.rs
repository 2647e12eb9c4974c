//! A subscriber that stops reading is disconnected; everyone else keeps
//! receiving every message, and the server's memory stays bounded.

use std::io::{Read, Write};
use std::time::Duration;

use hearth_client::{Followed, RetryPolicy, StreamTarget};
use hearth_proto::StreamEvent;

use crate::support::*;

const MESSAGES: usize = 6000;
const TEXT_CHARS: usize = 3900;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_never_reads_is_cut_off_and_others_get_everything() {
    let data = tempfile::tempdir().unwrap();
    let server = ChildServer::start(
        data.path(),
        &[
            &NO_POST_LIMITS[..],
            &[
                "--write-timeout",
                "2s",
                "--subscriber-queue",
                "256",
                "--sync",
                "normal",
            ],
        ]
        .concat(),
    )
    .await;
    let mut ana = server.client();
    ana.sign_in("ana", None).await.unwrap();
    let token = ana.token().unwrap().to_owned();

    // Warm up (allocator, SQLite caches) before the baseline.
    for i in 0..300 {
        post(&ana, "warmup", &format!("{i}{}", "w".repeat(TEXT_CHARS))).await;
    }
    let baseline_kib = server.rss_kib();

    // The stuck subscriber: a tiny receive buffer, and it never reads.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&server.addr.into()).unwrap();
    let mut stuck: std::net::TcpStream = socket.into();
    write!(
        stuck,
        "GET /api/rooms/load/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    .unwrap();

    // The normal subscriber, through the reconnecting client; publishing
    // starts once it is streaming.
    let reader = ana.clone();
    let (streaming, is_streaming) = tokio::sync::oneshot::channel();
    let mut streaming = Some(streaming);
    let follower = tokio::spawn(async move {
        let policy = RetryPolicy {
            first_delay: Duration::from_millis(50),
            ..RetryPolicy::default()
        };
        let mut follow = Box::pin(reader.follow(StreamTarget::Room(room("load")), None, policy));
        let mut texts = Vec::with_capacity(MESSAGES);
        let mut reconnects = 0;
        while texts.len() < MESSAGES {
            match tokio::time::timeout(
                Duration::from_secs(60),
                futures::StreamExt::next(&mut follow),
            )
            .await
            .expect("the follower keeps receiving")
            .expect("follow never ends")
            {
                Followed::Event(r) => match r.event {
                    StreamEvent::Message(m) => texts.push(m.text),
                    StreamEvent::Ready(_) => {
                        if let Some(streaming) = streaming.take() {
                            let _ = streaming.send(());
                        }
                    }
                    _ => {}
                },
                Followed::Reconnecting { .. } => reconnects += 1,
                Followed::Connected => {}
                Followed::Failed(e) => panic!("{e}"),
            }
        }
        (texts, reconnects)
    });
    tokio::time::timeout(WAIT, is_streaming)
        .await
        .expect("the follower streams in time")
        .expect("the follower streams");

    // Publish: 8 publishers, each its own share, ~22 MiB in all.
    let mut expected: Vec<String> = (0..MESSAGES)
        .map(|i| format!("{i:05}{}", "x".repeat(TEXT_CHARS)))
        .collect();
    let publishers: Vec<_> = (0..8)
        .map(|p| {
            let client = ana.clone();
            let mine: Vec<String> = expected.iter().skip(p).step_by(8).cloned().collect();
            tokio::spawn(async move {
                for text in mine {
                    post(&client, "load", &text).await;
                }
            })
        })
        .collect();
    for publisher in publishers {
        publisher.await.unwrap();
    }
    let peak_kib = server.rss_kib();

    let (mut received, reconnects) = follower.await.unwrap();
    assert_eq!(
        received.len(),
        MESSAGES,
        "every message reached the reading subscriber"
    );
    let mut sorted = received.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), MESSAGES, "no message twice");
    received.sort();
    expected.sort();
    assert_eq!(received, expected);

    // The stuck subscriber is disconnected (its socket stayed full for the
    // write timeout): the server counts it, and reading it now reaches the
    // end of the connection long before all the messages. Reading it before
    // the cut would unstick it, so wait for the count first.
    let metrics = &server.url("/metrics");
    eventually("the stuck subscriber is cut off", move || async move {
        (metric(metrics, "hearth_connections_stalled_total").await >= 1.0).then_some(())
    })
    .await;
    stuck
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut seen = Vec::new();
    let ended = loop {
        let mut buf = [0u8; 65536];
        match stuck.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(e) => panic!("the stuck connection was not closed: {e}"),
        }
    };
    assert!(ended);
    let delivered_to_stuck = String::from_utf8_lossy(&seen)
        .matches("event: message")
        .count();
    assert!(
        delivered_to_stuck < MESSAGES / 2,
        "the stuck subscriber got {delivered_to_stuck} messages"
    );

    let growth_mib = peak_kib.saturating_sub(baseline_kib) / 1024;
    let pushed_mib = (MESSAGES * TEXT_CHARS) / (1024 * 1024);
    eprintln!(
        "rss baseline {baseline_kib} KiB, peak {peak_kib} KiB, growth {growth_mib} MiB while {pushed_mib} MiB went through; follower reconnects {reconnects}; stuck got {delivered_to_stuck}"
    );
    assert!(
        growth_mib < 12,
        "server memory grew by {growth_mib} MiB while {pushed_mib} MiB were fanned out"
    );
}
