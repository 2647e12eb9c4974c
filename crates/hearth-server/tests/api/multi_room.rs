//! `GET /api/events?rooms=...`: several rooms on one connection.

use hearth_client::StreamTarget;
use hearth_proto::{Cursor, Message, StreamEvent};
use reqwest::StatusCode;

use crate::support::*;

async fn open_rooms(client: &hearth_client::Client, rooms: &[&str], last: Option<&str>) -> Events {
    let target = StreamTarget::Rooms(rooms.iter().map(|r| room(r)).collect());
    Box::pin(
        client
            .open_stream(&target, last)
            .await
            .expect("stream opens"),
    )
}

/// Reads a multi-room start: replayed messages, then one ready and one
/// presence per room.
async fn read_multi_start(
    events: &mut Events,
    rooms: usize,
) -> (
    Vec<Message>,
    Vec<hearth_proto::Ready>,
    Vec<hearth_proto::Presence>,
    Option<String>,
) {
    let mut messages = Vec::new();
    let mut readies = Vec::new();
    let mut presences = Vec::new();
    let mut last_id = None;
    while presences.len() < rooms {
        let received = next_event(events).await;
        if received.last_event_id.is_some() {
            last_id = received.last_event_id.clone();
        }
        match received.event {
            StreamEvent::Message(m) => {
                assert!(readies.is_empty(), "replay comes before every ready");
                messages.push(m);
            }
            StreamEvent::Ready(r) => {
                assert!(presences.is_empty(), "every ready comes before presence");
                readies.push(r);
            }
            StreamEvent::Presence(p) => presences.push(p),
            other => panic!("unexpected {other:?}"),
        }
    }
    (messages, readies, presences, last_id)
}

#[tokio::test]
async fn one_stream_carries_every_room_with_its_name() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let g = post(&ana, "general", "in general").await;
    let d = post(&ana, "dev", "in dev").await;
    let mut stream = open_rooms(&ana, &["general", "dev", "general"], None).await;
    let (replay, readies, presences, cursor) = read_multi_start(&mut stream, 2).await;
    let mut replay_ids: Vec<_> = replay.iter().map(|m| m.id).collect();
    replay_ids.sort();
    assert_eq!(replay_ids, vec![g.id, d.id]);
    let mut ready_rooms: Vec<_> = readies.iter().map(|r| r.room.to_string()).collect();
    ready_rooms.sort();
    assert_eq!(ready_rooms, ["dev", "general"]);
    for ready in &readies {
        assert!(!ready.resumed);
        let expected = if ready.room.as_str() == "dev" {
            d.id
        } else {
            g.id
        };
        assert_eq!(
            ready.last_id,
            Some(expected),
            "ready.last_id is a message id"
        );
    }
    assert!(presences.iter().all(|p| p.online == ["ana"]));
    // The id is a cursor over both rooms.
    let cursor: Cursor = cursor.expect("message events carry ids").parse().unwrap();
    assert_eq!(cursor.get(&room("general")), Some(g.id));
    assert_eq!(cursor.get(&room("dev")), Some(d.id));

    let live = post(&ana, "dev", "live in dev").await;
    let received = next_event(&mut stream).await;
    assert_eq!(received.event, StreamEvent::Message(live.clone()));
    let cursor: Cursor = received.last_event_id.unwrap().parse().unwrap();
    assert_eq!(cursor.get(&room("dev")), Some(live.id));
    assert_eq!(cursor.get(&room("general")), Some(g.id));
}

#[tokio::test]
async fn a_cursor_resumes_every_room_and_a_new_room_starts_fresh() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    post(&ana, "general", "old general").await;
    let mut stream = open_rooms(&ana, &["general", "dev"], None).await;
    let (_, _, _, _) = read_multi_start(&mut stream, 2).await;
    let seen = post(&ana, "dev", "seen").await;
    let cursor = next_event(&mut stream).await.last_event_id.unwrap();
    drop(stream);
    let missed_general = post(&ana, "general", "missed g").await;
    let missed_dev = post(&ana, "dev", "missed d").await;
    let in_ops = post(&ana, "ops", "ops history").await;

    let mut resumed = open_rooms(&ana, &["general", "dev", "ops"], Some(&cursor)).await;
    let (replay, readies, _, _) = read_multi_start(&mut resumed, 3).await;
    let mut ids: Vec<_> = replay.iter().map(|m| m.id).collect();
    ids.sort();
    assert_eq!(ids, vec![missed_general.id, missed_dev.id, in_ops.id]);
    assert!(!replay.iter().any(|m| m.id == seen.id), "nothing twice");
    for ready in readies {
        match ready.room.as_str() {
            "general" => assert!(ready.resumed && ready.last_id == Some(missed_general.id)),
            "dev" => assert!(ready.resumed && ready.last_id == Some(missed_dev.id)),
            "ops" => assert!(
                !ready.resumed && ready.last_id == Some(in_ops.id),
                "{ready:?}"
            ),
            other => panic!("{other}"),
        }
    }
}

#[tokio::test]
async fn a_room_without_messages_is_in_the_cursor_and_resumes() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let mut stream = open_rooms(&ana, &["quiet", "general"], None).await;
    read_multi_start(&mut stream, 2).await;
    let g = post(&ana, "general", "hello").await;
    let cursor = next_event(&mut stream).await.last_event_id.unwrap();
    let parsed: Cursor = cursor.parse().unwrap();
    assert_eq!(
        parsed.get(&room("quiet")),
        Some(hearth_proto::MessageId::ZERO)
    );
    drop(stream);
    let first_quiet = post(&ana, "quiet", "first words").await;
    let mut resumed = open_rooms(&ana, &["quiet", "general"], Some(&cursor)).await;
    let (replay, readies, _, _) = read_multi_start(&mut resumed, 2).await;
    assert_eq!(replay, vec![first_quiet.clone()]);
    assert!(readies.iter().all(|r| r.resumed));
    assert!(!replay.contains(&g));
}

#[tokio::test]
async fn replay_zero_starts_at_the_head_and_does_not_replay_later() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    post(&ana, "general", "old").await;
    let response = http()
        .get(server.url("/api/events?rooms=general&replay=0"))
        .bearer_auth(ana.token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut raw = RawSse::new(response);
    assert_eq!(raw.frame().await.unwrap(), "retry: 2000");
    let ready = raw.frame().await.unwrap();
    assert!(ready.starts_with("event: ready\n"), "{ready}");
    assert!(ready.contains("\"last_id\":null"), "{ready}");
    raw.frame().await.unwrap(); // presence
    let new = post(&ana, "general", "new").await;
    let frame = raw.frame().await.unwrap();
    let id_line = frame.lines().next().unwrap();
    let cursor: Cursor = id_line.strip_prefix("id: ").unwrap().parse().unwrap();
    assert_eq!(cursor.get(&room("general")), Some(new.id));
    // Resuming from that cursor replays nothing old.
    let mut resumed = open_rooms(&ana, &["general"], Some(&cursor.to_string())).await;
    let (replay, readies, _, _) = read_multi_start(&mut resumed, 1).await;
    assert!(replay.is_empty());
    assert!(readies[0].resumed);
}

#[tokio::test]
async fn present_limits_where_the_subscriber_counts_as_online() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let url = server.url("/api/events?rooms=general,dev&present=general");
    let mut raw = RawSse::open(&url, ana.token().unwrap()).await;
    let mut presence = Vec::new();
    while presence.len() < 2 {
        let frame = raw.frame().await.unwrap();
        if let Some(data) = frame.strip_prefix("event: presence\ndata: ") {
            presence.push(serde_json::from_str::<hearth_proto::Presence>(data).unwrap());
        }
    }
    for p in &presence {
        let expected: &[&str] = if p.room.as_str() == "general" {
            &["ana"]
        } else {
            &[]
        };
        assert_eq!(p.online, expected, "{p:?}");
    }
    let rooms = ana.rooms().await.unwrap();
    let online = |name: &str| {
        rooms
            .iter()
            .find(|r| r.room.as_str() == name)
            .unwrap()
            .online
    };
    assert_eq!((online("general"), online("dev")), (1, 0));
    // Messages of both rooms still arrive.
    let d = post(&ana, "dev", "for unread counts").await;
    let frame = raw.frame().await.unwrap();
    assert!(frame.contains(&d.id.to_string()), "{frame}");

    for bad in ["general,ops", "Bad"] {
        let response = http()
            .get(server.url(&format!("/api/events?rooms=general,dev&present={bad}")))
            .bearer_auth(ana.token().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}
