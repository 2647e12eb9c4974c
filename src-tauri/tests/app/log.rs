//! The room log through the app: replies through the outbox, edits,
//! deletes, reactions and typing through the room's session, each reaching
//! the stream; a view opened afterwards catches up on the current state.

use std::sync::Arc;

use futures::StreamExt;
use hearth_client::{Followed, StreamTarget};
use hearth_desktop::error::ErrorKind;
use hearth_desktop::events::{AppEvent, RoomEvent};
use hearth_desktop::secrets::MemorySecrets;
use hearth_proto::{Message, RoomName, StreamEvent};
use tokio::sync::mpsc::unbounded_channel;

use crate::support::{AppDirs, TestApp, TestServer, WAIT, fast};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_deletes_reactions_replies_and_typing_reach_the_stream_and_the_catch_up() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(data.path(), 0).await;
    let dirs = AppDirs::new();
    let mut app = TestApp::open(&dirs, &MemorySecrets::new()).await;
    let room = app.join_connected(&server.url("/r/dev"), "ana").await;
    let id = room.id.clone();
    let outbox = app.desktop.outbox().clone();
    let rooms = app.desktop.rooms().clone();

    // A reply goes through the outbox, which keeps what it answers.
    outbox.enqueue(&id, "first").unwrap();
    let first = app.wait_message(&id, "first").await;
    let queued = outbox
        .enqueue_reply(&id, "an answer", Some(&first.id.to_string()))
        .unwrap();
    assert_eq!(queued.reply_to, Some(first.id));
    let answer = app.wait_message(&id, "an answer").await;
    assert_eq!(answer.reply_to.as_ref().map(|r| r.id), Some(first.id));
    assert_eq!(answer.client_id.as_deref(), Some(queued.client_id.as_str()));

    // Edit, react, delete: each answered, each an entry on the stream.
    let edited = rooms
        .edit(&id, &first.id.to_string(), "first, edited")
        .await
        .unwrap();
    assert_eq!(edited.text, "first, edited");
    assert!(edited.edited_ts.is_some());
    app.wait_for(
        "edit",
        |e| matches!(&e.event, AppEvent::Stream(StreamEvent::Edit(m)) if m.text == "first, edited"),
    )
    .await;
    rooms
        .set_reaction(&id, &first.id.to_string(), "👍", true)
        .await
        .unwrap();
    app.wait_for("reaction", |e| {
        matches!(&e.event, AppEvent::Stream(StreamEvent::Reaction(r))
            if r.id == first.id && r.emoji == "👍" && r.added)
    })
    .await;
    rooms
        .set_reaction(&id, &answer.id.to_string(), "🎉", true)
        .await
        .unwrap();
    rooms
        .set_reaction(&id, &answer.id.to_string(), "🎉", false)
        .await
        .unwrap();
    app.wait_for("reaction removed", |e| {
        matches!(&e.event, AppEvent::Stream(StreamEvent::Reaction(r))
            if r.id == answer.id && !r.added)
    })
    .await;
    outbox.enqueue(&id, "oops").unwrap();
    let oops = app.wait_message(&id, "oops").await;
    rooms.delete(&id, &oops.id.to_string()).await.unwrap();
    rooms.delete(&id, &oops.id.to_string()).await.unwrap(); // again: nothing new
    app.wait_for(
        "delete",
        |e| matches!(&e.event, AppEvent::Stream(StreamEvent::Delete(d)) if d.id == oops.id),
    )
    .await;

    // Typing reaches the room's other streams.
    let bo = server.client("bo").await;
    let dev = RoomName::parse("dev").unwrap();
    let mut bo_stream = Box::pin(bo.follow(StreamTarget::Room(dev.clone()), None, fast()));
    assert!(matches!(bo_stream.next().await, Some(Followed::Connected)));
    rooms.typing(&id).await.unwrap();
    tokio::time::timeout(WAIT, async {
        loop {
            match bo_stream.next().await {
                Some(Followed::Event(r)) => {
                    if matches!(&r.event, StreamEvent::Typing(t) if t.nick == "ana") {
                        break;
                    }
                }
                Some(Followed::Connected) => {}
                other => panic!("bo's stream: {other:?}"),
            }
        }
    })
    .await
    .expect("bo hears ana typing");

    // Errors keep their kinds: a bad id or emoji, someone else's message.
    let err = rooms.edit(&id, "nope", "x").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid, "{err}");
    let err = rooms
        .set_reaction(&id, &first.id.to_string(), "two words", true)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid, "{err}");
    let theirs = bo.post(&dev, "bo's", "bo-1").await.unwrap().message;
    let err = rooms.delete(&id, &theirs.id.to_string()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden, "{err}");
    app.wait_message(&id, "bo's").await;

    // A view opened now shows the current state: edited, reacted, the
    // deleted message gone.
    let (tx, mut rx) = unbounded_channel::<RoomEvent>();
    app.desktop
        .open_view(Arc::new(tx), std::slice::from_ref(&id));
    let mut caught_up: Vec<Message> = Vec::new();
    while let Ok(event) = rx.try_recv() {
        if let AppEvent::Stream(StreamEvent::Message(m)) = event.event {
            caught_up.push(m);
        }
    }
    let texts: Vec<&str> = caught_up.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["first, edited", "an answer", "bo's"]);
    assert_eq!(caught_up[0].reactions["👍"], ["ana"]);
    assert!(caught_up[0].edited_ts.is_some());
    assert!(caught_up[1].reactions.is_empty());
    assert_eq!(caught_up[1].reply_to.as_ref().map(|r| r.id), Some(first.id));
}
