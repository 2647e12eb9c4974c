//! A `201` means stored: `kill -9` right after the answer loses nothing.

use hearth_proto::StreamEvent;

use crate::support::*;

#[tokio::test]
async fn an_acknowledged_message_survives_kill_9() {
    let data = tempfile::tempdir().unwrap();
    // Default durability (sync=full), as a user would run it.
    let server = ChildServer::start(data.path(), &[]).await;
    let mut ana = server.client();
    ana.sign_in("ana", None).await.unwrap();
    let before = post(&ana, "general", "before the crash").await;
    let acked = post(&ana, "general", "acknowledged, then kill -9").await;
    server.kill_hard().await;

    let restarted = ChildServer::start(data.path(), &[]).await;
    // The old token still works: the secret is kept in the data dir.
    let ana = restarted.client().with_token(ana.token().unwrap());
    let history = ana.history(&room("general"), None, None).await.unwrap();
    assert_eq!(history, vec![before.clone(), acked.clone()]);

    // A stream resumed from the last id seen before the crash gets it.
    let mut stream = open_room(&ana, "general", Some(&before.id.to_string())).await;
    let (replay, ready, _) = read_start(&mut stream).await;
    assert_eq!(replay, vec![acked.clone()]);
    assert!(ready.resumed);

    // Ids keep increasing after the restart.
    let after = post(&ana, "general", "after").await;
    assert!(after.id > acked.id);
    match next_event(&mut stream).await.event {
        StreamEvent::Message(m) => assert_eq!(m, after),
        other => panic!("{other:?}"),
    }
    // And a retry of the acknowledged post's client_id is still known.
    let retry = ana
        .post(&room("general"), "x", acked.client_id.as_deref().unwrap())
        .await
        .unwrap();
    assert!(!retry.created);
    assert_eq!(retry.message, acked);
}

/// The writer checkpoints the history log between commits and starts it
/// over with a write of its own: neither, nor `kill -9` right after the
/// last answer, loses a message that was answered or delivered.
#[tokio::test]
async fn messages_across_a_checkpoint_survive_kill_9() {
    let data = tempfile::tempdir().unwrap();
    let server = ChildServer::start(data.path(), &NO_POST_LIMITS).await;
    let mut ana = server.client();
    ana.sign_in("ana", None).await.unwrap();
    let mut stream = open_room(&ana, "general", None).await;
    read_start(&mut stream).await;

    // Posts enough for two checkpoints (one per 128 writes), each followed
    // by the log starting over.
    let mut acked = Vec::new();
    for i in 0..300 {
        let posted = post(&ana, "general", &format!("message {i}")).await;
        match next_event(&mut stream).await.event {
            StreamEvent::Message(m) => assert_eq!(m, posted),
            other => panic!("{other:?}"),
        }
        acked.push(posted);
    }
    server.kill_hard().await;
    // On the embedded backend the checkpoints ran: the messages are in the
    // database file, not only in the log. (On Redis there is no such file;
    // the rest of the test holds for both.)
    if !redis_backend() {
        let db = std::fs::metadata(data.path().join("hearth.db")).unwrap();
        assert!(db.len() > 64 * 1024, "hearth.db: {} bytes", db.len());
    }

    let restarted = ChildServer::start(data.path(), &NO_POST_LIMITS).await;
    let ana = restarted.client().with_token(ana.token().unwrap());
    let history = ana
        .history(&room("general"), None, Some(500))
        .await
        .unwrap();
    assert_eq!(history, acked);
    let after = post(&ana, "general", "after").await;
    assert!(after.id > acked.last().unwrap().id);
}
