//! Search (`GET /api/search`, protocol v1.1) and the history that follows a
//! message (`GET .../messages?after=`, an extension). Runs on both backends;
//! the last test is a two-node cluster on one Redis.
//!
//! On Redis a node's search index follows the relay, a moment behind Redis:
//! after changing messages a test posts a marker and waits until search
//! finds it ([`settled`]); the relay applies entries in the order Redis
//! announced them, so everything before the marker is indexed by then.

use hearth_client::Client;
use hearth_proto::{Message, MessageId};
use reqwest::StatusCode;

use crate::support::*;

/// The marker's text: no test searches for anything it holds.
const MARKER: &str = "⌘⌘⌘";

/// Waits until `client`'s server indexed everything stored before now:
/// posts a marker into `room_name` and waits until search finds it.
async fn settled(client: &Client, room_name: &str) {
    let marker = post(client, room_name, MARKER).await;
    eventually("the search index has the marker", || async {
        let found = client.search(MARKER, &[], None, Some(1)).await.ok()?;
        (found.first().map(|m| m.id) == Some(marker.id)).then_some(())
    })
    .await;
}

/// The texts `q` finds (every room, default limit), newest first.
async fn texts(client: &Client, q: &str) -> Vec<String> {
    client
        .search(q, &[], None, None)
        .await
        .unwrap_or_else(|e| panic!("search {q:?}: {e}"))
        .into_iter()
        .map(|m| m.text)
        .collect()
}

/// A raw `GET /api/search` with `query` (already encoded) and `client`'s
/// token, if any.
async fn raw_search(
    server: &TestServer,
    client: Option<&Client>,
    query: &str,
) -> reqwest::Response {
    let mut request = http().get(server.url(&format!("/api/search?{query}")));
    if let Some(token) = client.and_then(Client::token) {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

fn ids(messages: &[Message]) -> Vec<MessageId> {
    messages.iter().map(|m| m.id).collect()
}

#[tokio::test]
async fn info_lists_search() {
    let server = TestServer::start().await;
    let info = server.client().info().await.unwrap();
    assert!(
        info.features.iter().any(|f| f == "search"),
        "{:?}",
        info.features
    );
}

#[tokio::test]
async fn finds_substrings_ignoring_case_and_diacritics() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    for text in [
        "今天天气很好",
        "Le Café est ouvert",
        "the CAFETERIA closes at six",
        "my resume is attached",
        "Crème brûlée for dessert",
    ] {
        post(&ana, "general", text).await;
    }
    settled(&ana, "general").await;

    // CJK substrings of two and three characters, and of one.
    assert_eq!(texts(&ana, "天气").await, ["今天天气很好"]);
    assert_eq!(texts(&ana, "天气很").await, ["今天天气很好"]);
    assert_eq!(texts(&ana, "好").await, ["今天天气很好"]);
    // Case and accents, both ways; newest first.
    let cafes = ["the CAFETERIA closes at six", "Le Café est ouvert"];
    assert_eq!(texts(&ana, "cafe").await, cafes);
    assert_eq!(texts(&ana, "CAFÉ").await, cafes);
    assert_eq!(texts(&ana, "résumé").await, ["my resume is attached"]);
    assert_eq!(
        texts(&ana, "creme BRULEE").await,
        ["Crème brûlée for dessert"]
    );
    // A substring inside a word.
    assert_eq!(texts(&ana, "eteri").await, ["the CAFETERIA closes at six"]);
    // One- and two-character terms.
    assert_eq!(texts(&ana, "x").await, ["the CAFETERIA closes at six"]);
    assert_eq!(texts(&ana, "ÛL").await, ["Crème brûlée for dessert"]);
    // Every term must match.
    assert_eq!(texts(&ana, "cafe ouvert").await, ["Le Café est ouvert"]);
    assert_eq!(
        texts(&ana, "cafe six").await,
        ["the CAFETERIA closes at six"]
    );
    assert_eq!(texts(&ana, "cafe 天气").await, Vec::<String>::new());
    assert_eq!(texts(&ana, "nothing-like-this").await, Vec::<String>::new());
}

#[tokio::test]
async fn pages_newest_first_with_before_and_limit() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let mut posted = Vec::new();
    for n in 0..105 {
        posted.push(post(&ana, "general", &format!("item {n}")).await);
    }
    settled(&ana, "general").await;
    let newest_first: Vec<MessageId> = posted.iter().rev().map(|m| m.id).collect();

    // Default 20, at most 100.
    let page = ana.search("item", &[], None, None).await.unwrap();
    assert_eq!(ids(&page), newest_first[..20]);
    let page = ana.search("item", &[], None, Some(500)).await.unwrap();
    assert_eq!(ids(&page), newest_first[..100]);
    // Pages follow each other through `before`, with nothing twice.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = ana.search("item", &[], before, Some(30)).await.unwrap();
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        seen.extend(ids(&page));
    }
    assert_eq!(seen, newest_first);
}

#[tokio::test]
async fn the_rooms_filter_limits_where_it_looks() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let general = post(&ana, "general", "hello from general").await;
    let dev = post(&ana, "dev", "hello from dev").await;
    let random = post(&ana, "random", "hello from random").await;
    settled(&ana, "general").await;

    let found = ana.search("hello", &[], None, None).await.unwrap();
    assert_eq!(ids(&found), [random.id, dev.id, general.id]);
    let found = ana
        .search("hello", &[room("dev")], None, None)
        .await
        .unwrap();
    assert_eq!(ids(&found), [dev.id]);
    assert_eq!(found[0].room, room("dev"));
    let found = ana
        .search("hello", &[room("general"), room("random")], None, None)
        .await
        .unwrap();
    assert_eq!(ids(&found), [random.id, general.id]);
    let found = ana
        .search("hello", &[room("nowhere")], None, None)
        .await
        .unwrap();
    assert!(found.is_empty(), "{found:?}");
}

#[tokio::test]
async fn results_are_messages_in_their_current_state() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let edited = post(&ana, "general", "the old wording").await;
    let deleted = post(&ana, "general", "a doomed remark").await;
    let reacted = post(&ana, "general", "a liked remark").await;
    ana.edit(&room("general"), edited.id, "the new phrasing")
        .await
        .unwrap();
    ana.delete(&room("general"), deleted.id).await.unwrap();
    ana.react(&room("general"), reacted.id, "👍").await.unwrap();
    settled(&ana, "general").await;

    assert_eq!(texts(&ana, "wording").await, Vec::<String>::new());
    let found = ana.search("phrasing", &[], None, None).await.unwrap();
    assert_eq!(ids(&found), [edited.id]);
    assert_eq!(found[0].text, "the new phrasing");
    assert!(found[0].edited_ts.is_some(), "{:?}", found[0]);
    // Deleted: absent; a reaction changes nothing of the text.
    assert_eq!(texts(&ana, "remark").await, ["a liked remark"]);
    let found = ana.search("liked", &[], None, None).await.unwrap();
    assert_eq!(
        found[0].reactions.get("👍").map(Vec::as_slice),
        Some(&["ana".to_owned()][..])
    );
}

#[tokio::test]
async fn messages_retention_dropped_are_not_found() {
    let server = TestServer::start_with(|config| config.retention_per_room = 3).await;
    let ana = server.signed_in("ana").await;
    let mut posted = Vec::new();
    for n in 0..5 {
        posted.push(post(&ana, "general", &format!("kept {n}")).await);
    }
    settled(&ana, "dev").await;
    let found = ana.search("kept", &[], None, None).await.unwrap();
    let newest: Vec<MessageId> = posted[2..].iter().rev().map(|m| m.id).collect();
    assert_eq!(ids(&found), newest);
}

#[tokio::test]
async fn the_index_survives_a_restart() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let kept = post(&ana, "general", "said before the restart").await;
    settled(&ana, "general").await;
    let dir = server.stop().await;

    let config = test_config(&dir);
    let server = TestServer::start_in(dir, config).await;
    let ana = server.signed_in("ana").await;
    let found = eventually("search works after the restart", || async {
        let found = ana.search("restart", &[], None, None).await.ok()?;
        (!found.is_empty()).then_some(found)
    })
    .await;
    assert_eq!(ids(&found), [kept.id]);
}

#[tokio::test]
async fn bad_queries_are_400_and_a_session_is_needed() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    post(&ana, "general", "something").await;

    let r = raw_search(&server, None, "q=something").await;
    expect_error(r, StatusCode::UNAUTHORIZED, "no session").await;
    let long = "é".repeat(201);
    let exactly = "é".repeat(200);
    for (case, query) in [
        ("no q", "".to_owned()),
        ("empty q", "q=".to_owned()),
        ("blank q", "q=%20%09".to_owned()),
        ("q of control characters", "q=%00%00%00%00".to_owned()),
        ("q over 200 characters", format!("q={long}")),
        ("limit 0", "q=some&limit=0".to_owned()),
        ("limit not a number", "q=some&limit=many".to_owned()),
        ("before not an id", "q=some&before=yesterday".to_owned()),
        (
            "a bad room name",
            "q=some&rooms=general,no%20way".to_owned(),
        ),
        ("rooms naming none", "q=some&rooms=,".to_owned()),
    ] {
        let r = raw_search(&server, Some(&ana), &query).await;
        expect_error(r, StatusCode::BAD_REQUEST, case).await;
    }
    // A control character separates terms (no text holds one).
    let r = raw_search(&server, Some(&ana), "q=some%00thing").await;
    assert_eq!(r.status(), StatusCode::OK, "a q with a NUL");
    let found: Vec<Message> = r.json().await.unwrap();
    assert_eq!(found.len(), 1);
    let r = raw_search(&server, Some(&ana), &format!("q={exactly}")).await;
    assert_eq!(r.status(), StatusCode::OK, "a q of 200 characters");
    let found: Vec<Message> = r.json().await.unwrap();
    assert!(found.is_empty());
}

#[tokio::test]
async fn history_after_a_message_is_oldest_first() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let mut posted = Vec::new();
    for n in 0..6 {
        posted.push(post(&ana, "general", &format!("line {n}")).await);
    }
    post(&ana, "dev", "elsewhere").await;
    ana.delete(&room("general"), posted[3].id).await.unwrap();
    let general = room("general");

    let after = ana
        .history_after(&general, posted[1].id, None)
        .await
        .unwrap();
    assert_eq!(ids(&after), [posted[2].id, posted[4].id, posted[5].id]);
    let after = ana
        .history_after(&general, posted[0].id, Some(2))
        .await
        .unwrap();
    assert_eq!(ids(&after), [posted[1].id, posted[2].id]);
    let after = ana
        .history_after(&general, posted[5].id, None)
        .await
        .unwrap();
    assert!(after.is_empty(), "{after:?}");
    // The history around a search result: before it, and after it.
    let before = ana
        .history(&general, Some(posted[2].id), None)
        .await
        .unwrap();
    assert_eq!(ids(&before), [posted[0].id, posted[1].id]);

    let url = |query: &str| server.url(&format!("/api/rooms/general/messages?{query}"));
    let token = ana.token().unwrap().to_owned();
    for (case, query) in [
        (
            "before and after",
            format!("before={}&after={}", posted[4].id, posted[1].id),
        ),
        ("after not an id", "after=soon".to_owned()),
    ] {
        let r = http()
            .get(url(&query))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        expect_error(r, StatusCode::BAD_REQUEST, case).await;
    }
}

#[tokio::test]
async fn a_message_posted_on_one_node_is_found_on_another() {
    let cluster = Cluster::new();
    let a = cluster.node().await;
    let ana = a.signed_in("ana").await;
    // Stored before node B starts: B's index catches up from the streams.
    let early = post(&ana, "dev", "früh gesagt").await;
    let edited = post(&ana, "general", "draft text").await;

    let b = cluster.node().await;
    let bo = b.signed_in("bo").await;
    let found = eventually("B finds what A stored before B started", || async {
        let found = bo.search("FRUH", &[], None, None).await.ok()?;
        (!found.is_empty()).then_some(found)
    })
    .await;
    assert_eq!(ids(&found), [early.id]);

    // Posted, edited and deleted while both run: B follows through its relay.
    let live = post(&ana, "random", "天气 on node A").await;
    ana.edit(&room("general"), edited.id, "final text")
        .await
        .unwrap();
    ana.delete(&room("dev"), early.id).await.unwrap();
    settled(&ana, "random").await;
    eventually("B finds the message A posted", || async {
        let found = bo.search("天气", &[], None, None).await.ok()?;
        (ids(&found) == [live.id]).then_some(())
    })
    .await;
    eventually("B finds the edit", || async {
        let found = bo.search("final", &[], None, None).await.ok()?;
        (ids(&found) == [edited.id]).then_some(())
    })
    .await;
    assert!(
        bo.search("draft", &[], None, None)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(bo.search("früh", &[], None, None).await.unwrap().is_empty());
}
