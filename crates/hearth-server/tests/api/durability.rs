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
