//! Posting, idempotent retries, and scrollback.

use reqwest::StatusCode;

use crate::support::*;

#[tokio::test]
async fn a_post_is_stored_normalized_and_delivered() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let bo = server.signed_in("bo").await;
    let mut stream = open_room(&bo, "general", None).await;
    read_start(&mut stream).await;

    let posted = ana
        .post(&room("general"), "  indented\r\nline\rthree \t\n", "c-1")
        .await
        .unwrap();
    assert!(posted.created);
    let message = posted.message;
    assert_eq!(message.text, "  indented\nline\nthree");
    assert_eq!(message.nick, "ana");
    assert_eq!(message.room.as_str(), "general");
    assert_eq!(message.client_id.as_deref(), Some("c-1"));
    assert!(message.ts.ends_with('Z'), "{}", message.ts);
    chrono_like_rfc3339(&message.ts);

    assert_eq!(next_message(&mut stream).await, message);
    let history = bo.history(&room("general"), None, None).await.unwrap();
    assert_eq!(history, vec![message]);
}

fn chrono_like_rfc3339(ts: &str) {
    // 2026-11-24T06:00:00.000Z
    let bytes = ts.as_bytes();
    assert_eq!(bytes.len(), 24, "{ts}");
    assert_eq!(
        (bytes[4], bytes[7], bytes[10], bytes[13], bytes[16]),
        (b'-', b'-', b'T', b':', b':')
    );
}

#[tokio::test]
async fn a_retried_client_id_returns_200_and_broadcasts_nothing_new() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let mut stream = open_room(&ana, "general", None).await;
    read_start(&mut stream).await;

    let first = ana
        .post(&room("general"), "once", "retry-me")
        .await
        .unwrap();
    assert!(first.created);
    let again = ana
        .post(&room("general"), "once", "retry-me")
        .await
        .unwrap();
    assert!(!again.created, "a repeat answers 200");
    assert_eq!(again.message, first.message);
    // Even with other text, the stored message is what comes back.
    let edited = ana
        .post(&room("general"), "twice?", "retry-me")
        .await
        .unwrap();
    assert_eq!(edited.message, first.message);

    assert_eq!(next_message(&mut stream).await, first.message);
    let history = ana.history(&room("general"), None, None).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_no_message_before_marker(&mut stream, &ana, "general").await;

    // The key belongs to the session: another session may use the same id.
    let other = server.signed_in("ana").await;
    let theirs = other
        .post(&room("general"), "mine", "retry-me")
        .await
        .unwrap();
    assert!(theirs.created);
    assert_ne!(theirs.message.id, first.message.id);

    // Reusing the key in another room is a conflict, and stores nothing.
    let err = ana
        .post(&room("dev"), "once", "retry-me")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::CONFLICT));
    assert!(
        ana.history(&room("dev"), None, None)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn concurrent_retries_of_one_client_id_store_one_message() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let attempts = (0..8).map(|_| {
        let ana = ana.clone();
        tokio::spawn(async move { ana.post(&room("general"), "race", "same-id").await.unwrap() })
    });
    let results = futures::future::join_all(attempts).await;
    let created = results
        .iter()
        .filter(|r| r.as_ref().unwrap().created)
        .count();
    assert_eq!(created, 1);
    let ids: std::collections::HashSet<_> = results
        .iter()
        .map(|r| r.as_ref().unwrap().message.id)
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(
        ana.history(&room("general"), None, None)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn scrollback_pages_backwards_oldest_first() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let mut posted = Vec::new();
    for i in 0..120 {
        posted.push(post(&ana, "general", &format!("m{i}")).await);
    }
    let newest = ana.history(&room("general"), None, None).await.unwrap();
    assert_eq!(newest.len(), 50, "default limit");
    assert_eq!(newest, posted[70..]);
    let older = ana
        .history(&room("general"), Some(newest[0].id), Some(60))
        .await
        .unwrap();
    assert_eq!(older, posted[10..70]);
    let oldest = ana
        .history(&room("general"), Some(older[0].id), Some(500))
        .await
        .unwrap();
    assert_eq!(oldest, posted[..10]);
    let none = ana
        .history(&room("general"), Some(oldest[0].id), None)
        .await
        .unwrap();
    assert!(none.is_empty());
    assert!(
        ana.history(&room("never-used"), None, None)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_limit_above_500_is_treated_as_500() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let posts = (0..510).map(|i| {
        let ana = ana.clone();
        async move { post(&ana, "big", &format!("n{i}")).await }
    });
    futures::future::join_all(posts).await;
    let page = ana.history(&room("big"), None, Some(10_000)).await.unwrap();
    assert_eq!(page.len(), 500);
    assert!(page.windows(2).all(|w| w[0].id < w[1].id), "oldest first");
}

#[tokio::test]
async fn retention_keeps_the_newest_messages_per_room() {
    let server = TestServer::start_with(|c| c.retention_per_room = 5).await;
    let ana = server.signed_in("ana").await;
    let mut posted = Vec::new();
    for i in 0..12 {
        posted.push(post(&ana, "small", &format!("r{i}")).await);
    }
    post(&ana, "other", "untouched").await;
    let kept = ana.history(&room("small"), None, Some(100)).await.unwrap();
    assert_eq!(kept, posted[7..]);
    assert_eq!(
        ana.history(&room("other"), None, None).await.unwrap().len(),
        1
    );
    // A fresh stream replays only what is retained.
    let mut stream = open_room(&ana, "small", None).await;
    let (replay, ready, _) = read_start(&mut stream).await;
    assert_eq!(replay, posted[7..]);
    assert!(!ready.resumed);
}
