//! The room log (protocol v1.1): edits, deletes, reactions, replies,
//! mentions and typing; resumes that replay every kind of entry; fresh
//! replays in current state. Runs on both backends.

use hearth_client::{Client, StreamTarget};
use hearth_proto::{Message, MessageId, StreamEvent};
use reqwest::StatusCode;

use crate::support::*;

/// The next log entry or typing notice (joins and leaves skipped), with the
/// SSE id in force after it.
async fn next_entry(events: &mut Events) -> (StreamEvent, Option<String>) {
    loop {
        let received = next_event(events).await;
        match received.event {
            StreamEvent::Join(_) | StreamEvent::Leave(_) => {}
            event => return (event, received.last_event_id),
        }
    }
}

/// The raw answer to a request with `client`'s token.
async fn send(client: &Client, method: reqwest::Method, url: String) -> reqwest::Response {
    http()
        .request(method, url)
        .bearer_auth(client.token().unwrap())
        .send()
        .await
        .unwrap()
}

fn message_url(server: &TestServer, room_name: &str, id: &str) -> String {
    server.url(&format!("/api/rooms/{room_name}/messages/{id}"))
}

async fn patch(client: &Client, url: String, text: &str) -> reqwest::Response {
    http()
        .patch(url)
        .bearer_auth(client.token().unwrap())
        .json(&serde_json::json!({ "text": text }))
        .send()
        .await
        .unwrap()
}

async fn history(client: &Client, room_name: &str) -> Vec<Message> {
    client.history(&room(room_name), None, None).await.unwrap()
}

#[tokio::test]
async fn info_says_protocol_and_features() {
    let server = TestServer::start().await;
    let info = server.client().info().await.unwrap();
    assert_eq!(info.protocol.as_deref(), Some("1.1"));
    assert!(
        info.features.iter().any(|f| f == "log"),
        "{:?}",
        info.features
    );
}

#[tokio::test]
async fn edits_deletes_and_reactions_answer_their_statuses() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let bo = server.signed_in("bo").await;
    let mut watching = open_room(&bo, "general", None).await;
    read_start(&mut watching).await;
    let m = post(&ana, "general", "first").await;
    let id = m.id.to_string();
    let url = message_url(&server, "general", &id);

    // Someone else's message: 403, and nothing changes.
    let r = patch(&bo, url.clone(), "bo was here").await;
    expect_error(r, StatusCode::FORBIDDEN, "bo edits ana's message").await;
    let r = send(&bo, reqwest::Method::DELETE, url.clone()).await;
    expect_error(r, StatusCode::FORBIDDEN, "bo deletes ana's message").await;
    // Unknown, malformed, or of another room: 404.
    for (case, other) in [
        ("unknown", message_url(&server, "general", "1-0")),
        ("malformed", message_url(&server, "general", "nope")),
        ("another room", message_url(&server, "dev", &id)),
    ] {
        let r = patch(&ana, other.clone(), "x").await;
        expect_error(r, StatusCode::NOT_FOUND, case).await;
        let r = send(&ana, reqwest::Method::DELETE, other.clone()).await;
        expect_error(r, StatusCode::NOT_FOUND, case).await;
        let r = send(&bo, reqwest::Method::PUT, format!("{other}/reactions/x")).await;
        expect_error(r, StatusCode::NOT_FOUND, case).await;
    }
    // Invalid input: 400.
    for bad in ["", "  \n", "a\u{1}b"] {
        let r = patch(&ana, url.clone(), bad).await;
        expect_error(r, StatusCode::BAD_REQUEST, &format!("edit to {bad:?}")).await;
    }
    let long = "x".repeat(17);
    for bad in ["a%20b", "%09", long.as_str(), "%F0%9F%91%8D%0A", "%FF"] {
        let r = send(&bo, reqwest::Method::PUT, format!("{url}/reactions/{bad}")).await;
        expect_error(r, StatusCode::BAD_REQUEST, &format!("emoji {bad:?}")).await;
    }
    // No token: 401.
    let r = http().delete(url.clone()).send().await.unwrap();
    expect_error(r, StatusCode::UNAUTHORIZED, "no token").await;
    let r = http()
        .post(server.url("/api/rooms/general/typing"))
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::UNAUTHORIZED, "typing without a token").await;

    // The author edits: 200 with the edited message; again: the same.
    let edited = ana
        .edit(&room("general"), m.id, "first, edited")
        .await
        .unwrap();
    assert_eq!(edited.id, m.id);
    assert_eq!(edited.text, "first, edited");
    assert!(edited.edited_ts.is_some());
    let again = ana
        .edit(&room("general"), m.id, "first, edited")
        .await
        .unwrap();
    assert_eq!(again, edited);
    // Reactions (percent-encoded): 204, twice.
    for _ in 0..2 {
        bo.react(&room("general"), m.id, "👍").await.unwrap();
    }
    assert_eq!(
        history(&ana, "general").await[0].reactions["👍"],
        vec!["bo"]
    );
    for _ in 0..2 {
        bo.unreact(&room("general"), m.id, "👍").await.unwrap();
    }
    bo.unreact(&room("general"), m.id, "🎉").await.unwrap();
    // Delete: 204, twice; then the message is gone.
    let r = send(&ana, reqwest::Method::DELETE, url.clone()).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = send(&ana, reqwest::Method::DELETE, url.clone()).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = patch(&ana, url.clone(), "back").await;
    expect_error(r, StatusCode::NOT_FOUND, "edit a deleted message").await;
    let r = send(&bo, reqwest::Method::PUT, format!("{url}/reactions/x")).await;
    expect_error(r, StatusCode::NOT_FOUND, "react to a deleted message").await;
    assert!(history(&ana, "general").await.is_empty());

    // The stream got one entry per change that changed something, in order,
    // each with its own log id.
    let marker = post(&ana, "general", "marker").await;
    let mut ids = Vec::new();
    let mut kinds = Vec::new();
    loop {
        let (event, id) = next_entry(&mut watching).await;
        ids.push(id.unwrap().parse::<MessageId>().unwrap());
        match event {
            StreamEvent::Message(got) if got.id == marker.id => break,
            StreamEvent::Message(got) => {
                assert_eq!(got, m);
                kinds.push("message".to_owned());
            }
            StreamEvent::Edit(got) => {
                assert_eq!(got, edited);
                kinds.push("edit".to_owned());
            }
            StreamEvent::Reaction(r) => {
                assert_eq!(
                    (r.id, r.emoji.as_str(), r.nick.as_str()),
                    (m.id, "👍", "bo")
                );
                kinds.push(format!("reaction {}", r.added));
            }
            StreamEvent::Delete(d) => {
                assert_eq!(d.id, m.id);
                kinds.push("delete".to_owned());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        kinds,
        [
            "message",
            "edit",
            "reaction true",
            "reaction false",
            "delete"
        ]
    );
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert_eq!(ids[0], m.id);
}

#[tokio::test]
async fn replies_quote_a_message_of_the_same_room() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let bo = server.signed_in("bo").await;
    let long = "é".repeat(300);
    let original = post(&ana, "general", &long).await;
    let elsewhere = post(&ana, "dev", "in dev").await;
    let reply = bo
        .post_reply(
            &room("general"),
            "answer",
            &hearth_client::new_client_id(),
            Some(original.id),
        )
        .await
        .unwrap();
    assert!(reply.created);
    let quoted = reply.message.reply_to.clone().expect("reply_to");
    assert_eq!((quoted.id, quoted.nick.as_str()), (original.id, "ana"));
    assert_eq!(quoted.text, "é".repeat(200));
    assert_eq!(history(&bo, "general").await[1], reply.message);

    let gone = post(&ana, "general", "soon gone").await;
    ana.delete(&room("general"), gone.id).await.unwrap();
    for (case, reply_to) in [
        ("another room's message", elsewhere.id.to_string()),
        ("an unknown id", "1-0".to_owned()),
        ("a malformed id", "x".to_owned()),
        ("a deleted message", gone.id.to_string()),
    ] {
        let r = http()
            .post(server.url("/api/rooms/general/messages"))
            .bearer_auth(bo.token().unwrap())
            .json(&serde_json::json!({"text": "hm", "reply_to": reply_to}))
            .send()
            .await
            .unwrap();
        expect_error(r, StatusCode::BAD_REQUEST, case).await;
    }
    assert_eq!(history(&bo, "general").await.len(), 2, "nothing stored");
}

#[tokio::test]
async fn mentions_name_known_nicks_and_here() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let bo = server.signed_in("bo").await;
    let cy = server.signed_in("cy").await;
    // bo is online; cy wrote a message; dee is neither.
    let mut bo_events = open_room(&bo, "general", None).await;
    read_start(&mut bo_events).await;
    post(&cy, "general", "hello").await;
    let m = post(&ana, "general", "@BO, @cy: ask @dee and @bob, @here!").await;
    assert_eq!(m.mentions, vec!["bo", "cy", "@here"]);
    let plain = post(&ana, "general", "mail me at ana@bo").await;
    assert_eq!(plain.mentions, vec!["bo"]);
    let none = post(&ana, "general", "nobody").await;
    assert!(none.mentions.is_empty());
    let json: serde_json::Value = send(
        &ana,
        reqwest::Method::GET,
        server.url("/api/rooms/general/messages"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(json[3].get("mentions").is_none(), "no mentions: no field");
    // An edit mentions anew.
    let edited = ana
        .edit(&room("general"), none.id, "now @cy")
        .await
        .unwrap();
    assert_eq!(edited.mentions, vec!["cy"]);
}

#[tokio::test]
async fn a_resume_replays_every_entry_it_missed_once_in_order() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let bo = server.signed_in("bo").await;
    let seen = post(&ana, "general", "seen").await;
    let dev_seen = post(&ana, "dev", "seen in dev").await;
    let mut multi = Box::pin(
        bo.open_stream(
            &StreamTarget::Rooms(vec![room("general"), room("dev")]),
            None,
        )
        .await
        .unwrap(),
    ) as Events;
    let mut cursor = None;
    let mut readies = 0;
    while readies < 2 {
        let received = next_event(&mut multi).await;
        if let Some(id) = received.last_event_id {
            cursor = Some(id);
        }
        if let StreamEvent::Ready(_) = received.event {
            readies += 1;
        }
    }
    drop(multi);

    // Missed: a message, its edit, a reaction, its delete; and in dev an
    // edit of a message seen before.
    let missed = post(&ana, "general", "missed").await;
    ana.edit(&room("general"), missed.id, "missed, edited")
        .await
        .unwrap();
    bo.react(&room("general"), missed.id, "🎉").await.unwrap();
    ana.delete(&room("general"), missed.id).await.unwrap();
    ana.edit(&room("dev"), dev_seen.id, "dev, edited")
        .await
        .unwrap();

    // One room, from the id of the last message seen.
    let mut single = open_room(&bo, "general", Some(&seen.id.to_string())).await;
    let mut got = Vec::new();
    let mut ids = Vec::new();
    let ready = loop {
        let received = next_event(&mut single).await;
        match received.event {
            StreamEvent::Ready(ready) => break ready,
            event => {
                ids.push(received.last_event_id.unwrap());
                got.push(event);
            }
        }
    };
    assert!(ready.resumed);
    let names: Vec<&str> = got.iter().map(StreamEvent::name).collect();
    assert_eq!(names, ["message", "edit", "reaction", "delete"]);
    assert_eq!(got[0], StreamEvent::Message(missed.clone()));
    assert_eq!(ids[0], missed.id.to_string());
    assert!(ids[1..].iter().all(|id| *id != missed.id.to_string()));
    assert_eq!(ready.last_id.unwrap().to_string(), ids[3]);
    // Resuming from the delete entry's id: nothing more.
    let mut again = open_room(&bo, "general", Some(&ids[3])).await;
    let (replay, ready, _) = read_start(&mut again).await;
    assert!(replay.is_empty() && ready.resumed);

    // Several rooms, from the cursor: every entry of each room, once.
    let mut multi = Box::pin(
        bo.open_stream(
            &StreamTarget::Rooms(vec![room("general"), room("dev")]),
            cursor.as_deref(),
        )
        .await
        .unwrap(),
    ) as Events;
    let mut general = Vec::new();
    let mut dev = Vec::new();
    let mut readies = 0;
    while readies < 2 {
        let event = next_event(&mut multi).await.event;
        match &event {
            StreamEvent::Ready(ready) => {
                assert!(ready.resumed, "{ready:?}");
                readies += 1;
            }
            other if other.room().as_str() == "general" => general.push(other.name()),
            other => dev.push(other.name()),
        }
    }
    assert_eq!(general, ["message", "edit", "reaction", "delete"]);
    assert_eq!(dev, ["edit"]);
}

#[tokio::test]
async fn a_fresh_replay_shows_current_state_and_stands_at_the_newest_entry() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let bo = server.signed_in("bo").await;
    let mut watching = open_room(&bo, "general", None).await;
    read_start(&mut watching).await;
    let a = post(&ana, "general", "a").await;
    let b = post(&ana, "general", "b").await;
    let c = post(&ana, "general", "c").await;
    ana.edit(&room("general"), a.id, "a, edited").await.unwrap();
    bo.react(&room("general"), b.id, "👍").await.unwrap();
    ana.delete(&room("general"), c.id).await.unwrap();
    let mut newest = None;
    for _ in 0..6 {
        newest = next_entry(&mut watching).await.1;
    }
    let newest: MessageId = newest.unwrap().parse().unwrap();

    let mut fresh = open_room(&bo, "general", None).await;
    let (replay, ready, _) = read_start(&mut fresh).await;
    assert_eq!(replay.len(), 2);
    assert_eq!((replay[0].id, replay[0].text.as_str()), (a.id, "a, edited"));
    assert!(replay[0].edited_ts.is_some());
    assert_eq!(replay[1].id, b.id);
    assert_eq!(replay[1].reactions["👍"], vec!["bo"]);
    assert!(!ready.resumed);
    assert_eq!(ready.last_id, Some(newest), "the newest entry, a delete");
    assert_eq!(history(&bo, "general").await, replay);

    // A resume from it repeats nothing and misses nothing.
    let mut resumed = open_room(&bo, "general", Some(&newest.to_string())).await;
    let (replay, ready, _) = read_start(&mut resumed).await;
    assert!(replay.is_empty() && ready.resumed);
    bo.unreact(&room("general"), b.id, "👍").await.unwrap();
    match next_entry(&mut resumed).await.0 {
        StreamEvent::Reaction(r) => assert!(!r.added),
        other => panic!("expected the reaction, got {other:?}"),
    }
    // A fresh replay asking for fewer messages still stands at the head.
    let mut one = Box::pin(
        bo.open_stream(&StreamTarget::Room(room("general")), None)
            .await
            .unwrap(),
    ) as Events;
    let (replay, _, _) = read_start(&mut one).await;
    assert_eq!(replay.len(), 2);
}

#[tokio::test]
async fn typing_reaches_the_others_only_and_is_never_stored() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let bo = server.signed_in("bo").await;
    let mut ana_events = open_room(&ana, "general", None).await;
    read_start(&mut ana_events).await;
    let mut bo_raw = RawSse::open_past_start(
        &server.url("/api/rooms/general/events"),
        bo.token().unwrap(),
    )
    .await;
    // ana's join, as bo sees it, comes first on some backends; skip joins.
    let r = send(
        &ana,
        reqwest::Method::POST,
        server.url("/api/rooms/general/typing"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // A second one within the second is dropped.
    ana.typing(&room("general")).await.unwrap();
    let typing = loop {
        let frame = bo_raw.frame().await.unwrap();
        if !frame.starts_with("event: join") {
            break frame;
        }
    };
    assert_eq!(
        typing, "event: typing\ndata: {\"room\":\"general\",\"nick\":\"ana\"}",
        "no id: never stored"
    );
    // Not echoed to ana: her next event is a marker bo posts after it.
    let marker = post(&bo, "general", "marker").await;
    assert_eq!(
        next_entry(&mut ana_events).await.0,
        StreamEvent::Message(marker)
    );
    let frame = bo_raw.frame().await.unwrap();
    assert!(frame.contains("event: message"), "one typing only: {frame}");
    // Not replayed, fresh or resumed.
    let mut fresh = open_room(&bo, "general", None).await;
    let (replay, _, _) = read_start(&mut fresh).await;
    assert_eq!(replay.len(), 1);
    let r = http()
        .post(server.url("/api/rooms/No/typing"))
        .bearer_auth(ana.token().unwrap())
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::NOT_FOUND, "typing in an invalid room").await;
}

#[tokio::test]
async fn retention_drops_a_message_with_its_changes() {
    let server = TestServer::start_with(|c| c.retention_per_room = 2).await;
    let ana = server.signed_in("ana").await;
    let first = post(&ana, "general", "one").await;
    ana.edit(&room("general"), first.id, "one, edited")
        .await
        .unwrap();
    ana.react(&room("general"), first.id, "👍").await.unwrap();
    let second = post(&ana, "general", "two").await;
    // The third post drops the first message and both its changes.
    let third = post(&ana, "general", "three").await;
    let r = patch(
        &ana,
        message_url(&server, "general", &first.id.to_string()),
        "x",
    )
    .await;
    expect_error(r, StatusCode::NOT_FOUND, "a dropped message").await;
    let mut events = open_room(&ana, "general", Some("0-0")).await;
    let (replay, ready, _) = read_start(&mut events).await;
    assert!(!ready.resumed, "trimmed: a resume from 0-0 is not complete");
    assert_eq!(replay, vec![second.clone(), third.clone()]);
    // A resume from the second message: only the third, no stray change.
    let mut events = open_room(&ana, "general", Some(&second.id.to_string())).await;
    let (replay, ready, _) = read_start(&mut events).await;
    assert!(ready.resumed);
    assert_eq!(replay, vec![third]);
}

/// A store written before the room log (a v1 SQLite file, or a Redis whose
/// stream holds plain messages) is converted: its messages replay, show in
/// history, and can be edited, reacted to and replied to.
#[tokio::test]
async fn a_store_from_before_the_log_is_converted() {
    let dir = tempfile::tempdir().unwrap();
    let old_id = MessageId::new(1_764_568_800_000, 0);
    if redis_backend() {
        let client = redis::Client::open(redis_for(dir.path())).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let _: () = redis::pipe()
            .cmd("XADD")
            .arg("hearth:room:general")
            .arg(old_id.to_string())
            .arg(&["nick", "ana", "text", "from before", "cid", ""])
            .ignore()
            .cmd("SET")
            .arg("hearth:last-id")
            .arg(old_id.to_string())
            .ignore()
            .cmd("SADD")
            .arg("hearth:rooms")
            .arg("general")
            .ignore()
            .query_async(&mut conn)
            .await
            .unwrap();
    } else {
        let conn = rusqlite::Connection::open(dir.path().join("hearth.db")).unwrap();
        conn.execute_batch(&format!(
            "CREATE TABLE rooms (name TEXT PRIMARY KEY, created_ms INTEGER NOT NULL,
                 count INTEGER NOT NULL DEFAULT 0, last_id INTEGER, trimmed_upto INTEGER);
             CREATE TABLE messages (id INTEGER PRIMARY KEY, room TEXT NOT NULL,
                 nick TEXT NOT NULL, text TEXT NOT NULL, ts TEXT NOT NULL, client_id TEXT);
             CREATE INDEX messages_by_room ON messages(room, id);
             CREATE TABLE idempotency (session TEXT NOT NULL, client_id TEXT NOT NULL,
                 message TEXT NOT NULL, created_ms INTEGER NOT NULL,
                 PRIMARY KEY (session, client_id)) WITHOUT ROWID;
             INSERT INTO rooms VALUES ('general', 1, 1, {packed}, NULL);
             INSERT INTO messages VALUES ({packed}, 'general', 'ana', 'from before', '{ts}', 'c1');
             PRAGMA user_version = 1;",
            packed = old_id.ms << 20,
            ts = old_id.ts(),
        ))
        .unwrap();
    }
    let config = test_config(&dir);
    let server = TestServer::start_in(dir, config).await;
    let ana = server.signed_in("ana").await;
    let old = history(&ana, "general").await;
    assert_eq!(old.len(), 1);
    assert_eq!((old[0].id, old[0].text.as_str()), (old_id, "from before"));
    let mut events = open_room(&ana, "general", Some("0-0")).await;
    let (replay, ready, _) = read_start(&mut events).await;
    assert!(ready.resumed);
    assert_eq!(replay, old);

    ana.edit(&room("general"), old_id, "from before, edited")
        .await
        .unwrap();
    ana.react(&room("general"), old_id, "👍").await.unwrap();
    let reply = ana
        .post_reply(&room("general"), "re", "c2", Some(old_id))
        .await
        .unwrap()
        .message;
    assert!(reply.id > old_id);
    assert_eq!(reply.reply_to.unwrap().text, "from before, edited");
    let now = history(&ana, "general").await;
    assert_eq!(now[0].reactions["👍"], vec!["ana"]);
}
