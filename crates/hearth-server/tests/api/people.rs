//! People (protocol v1.1 "dm" and "moderation"): direct-message rooms that
//! only their two people can see, admins who delete any message, and bans
//! that end a nick's streams and refuse it until they end. Every privacy
//! test asks as a stranger would, protected or not, and compares the answer
//! with the one for a room that does not exist.

use std::time::Duration;

use hearth_server::config::LimitsClock;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

const PASSWORD: &str = "a long nick password";
/// A DM room name nobody has: what a stranger's answers must look like.
const NO_SUCH_DM: &str = "dm-000000000000000000000000";

/// Signs `nick` in, protecting it (or with its password); its token.
async fn protected(server_url: &str, nick: &str) -> String {
    session(server_url, json!({"nick": nick, "nick_password": PASSWORD})).await
}

/// Signs `nick` in without a nick password; its token.
async fn unprotected(server_url: &str, nick: &str) -> String {
    session(server_url, json!({"nick": nick})).await
}

async fn session(server_url: &str, body: Value) -> String {
    let (status, answer) = call(server_url, "", Method::POST, "/api/session", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer["token"].as_str().unwrap().to_owned()
}

/// One request with `token` (none when empty): the status and the JSON
/// body (`null` for an empty or non-JSON body).
async fn call(
    server_url: &str,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = http().request(method, format!("{server_url}{path}"));
    if !token.is_empty() {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn open_dm(server_url: &str, token: &str, nick: &str) -> (StatusCode, Value) {
    call(
        server_url,
        token,
        Method::POST,
        "/api/dm",
        Some(json!({ "nick": nick })),
    )
    .await
}

async fn post_to(server_url: &str, token: &str, room: &str, text: &str) -> (StatusCode, Value) {
    call(
        server_url,
        token,
        Method::POST,
        &format!("/api/rooms/{room}/messages"),
        Some(json!({ "text": text })),
    )
    .await
}

/// Every way to read or write a room, as (method, path, body) with `{room}`
/// and `{id}` (a message of the room) to fill in.
fn room_paths() -> Vec<(Method, &'static str, Option<Value>)> {
    vec![
        (Method::GET, "/api/rooms/{room}/messages", None),
        (Method::GET, "/api/rooms/{room}/messages?after={id}", None),
        (
            Method::POST,
            "/api/rooms/{room}/messages",
            Some(json!({"text": "let me in"})),
        ),
        (
            Method::PATCH,
            "/api/rooms/{room}/messages/{id}",
            Some(json!({"text": "changed"})),
        ),
        (Method::DELETE, "/api/rooms/{room}/messages/{id}", None),
        (
            Method::PUT,
            "/api/rooms/{room}/messages/{id}/reactions/%F0%9F%91%8D",
            None,
        ),
        (Method::POST, "/api/rooms/{room}/typing", None),
        (Method::GET, "/api/rooms/{room}/events", None),
        (Method::GET, "/api/events?rooms=general,{room}", None),
    ]
}

#[tokio::test]
async fn two_protected_people_share_a_dm_room_that_nobody_else_can_tell_exists() {
    let server = TestServer::start().await;
    let url = server.url("");
    let ana = protected(&url, "ana").await;
    let bo = protected(&url, "bo").await;
    let cy = protected(&url, "cy").await;
    let dan = unprotected(&url, "dan").await;

    let (status, opened) = open_dm(&url, &ana, "bo").await;
    assert_eq!(status, StatusCode::OK, "{opened}");
    assert_eq!(opened["nick"], "bo");
    let room = opened["room"].as_str().unwrap().to_owned();
    assert!(room.starts_with("dm-"), "{room}");
    let (_, from_bo) = open_dm(&url, &bo, "ana").await;
    assert_eq!(from_bo["room"], room.as_str(), "the same room whoever asks");
    assert_eq!(from_bo["nick"], "ana");

    // The two talk.
    let (status, secret) = post_to(&url, &ana, &room, "the secret plan").await;
    assert_eq!(status, StatusCode::CREATED, "{secret}");
    let id = secret["id"].as_str().unwrap().to_owned();
    let (status, history) = call(
        &url,
        &bo,
        Method::GET,
        &format!("/api/rooms/{room}/messages"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(history[0]["text"], "the secret plan");
    let (status, found) = call(&url, &bo, Method::GET, "/api/search?q=secret", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found.as_array().unwrap().len(), 1, "bo finds it: {found}");
    // Each sees the room listed with the other's nick.
    for (token, other) in [(&ana, "ana"), (&bo, "bo")] {
        let (_, rooms) = call(&url, token, Method::GET, "/api/rooms", None).await;
        let listed = rooms
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["room"] == room.as_str())
            .unwrap_or_else(|| panic!("listed: {rooms}"));
        assert_ne!(listed["dm"], other, "the other person, not oneself");
        assert!(listed["dm"].is_string(), "{listed}");
    }

    // Strangers, protected or not: every path answers exactly as for a DM
    // room that does not exist.
    for (who, token) in [("cy (protected)", &cy), ("dan (unprotected)", &dan)] {
        for (method, path, body) in room_paths() {
            let real = path.replace("{room}", &room).replace("{id}", &id);
            let none = path.replace("{room}", NO_SUCH_DM).replace("{id}", &id);
            let asked = call(&url, token, method.clone(), &real, body.clone()).await;
            let missing = call(&url, token, method.clone(), &none, body.clone()).await;
            assert_eq!(
                asked.0,
                StatusCode::NOT_FOUND,
                "{who}: {method} {real}: {}",
                asked.1
            );
            assert_eq!(asked, missing, "{who}: {method} {path}");
        }
        let (_, rooms) = call(&url, token, Method::GET, "/api/rooms", None).await;
        assert!(!rooms.to_string().contains(&room), "{who}: {rooms}");
        assert!(!rooms.to_string().contains("\"dm\""), "{who}: {rooms}");
        for query in [
            "/api/search?q=secret",
            &format!("/api/search?q=secret&rooms={room}"),
        ] {
            let (status, found) = call(&url, token, Method::GET, query, None).await;
            assert_eq!(status, StatusCode::OK, "{who}: {query}");
            assert_eq!(found, json!([]), "{who}: {query}");
        }
    }
    let (_, info) = call(&url, "", Method::GET, "/api/info", None).await;
    assert!(!info["rooms"].to_string().contains("dm-"), "{info}");
    // Nothing of it reached the others: the DM is intact.
    let (_, history) = call(
        &url,
        &ana,
        Method::GET,
        &format!("/api/rooms/{room}/messages"),
        None,
    )
    .await;
    assert_eq!(history.as_array().unwrap().len(), 1, "{history}");
    assert_eq!(history[0]["text"], "the secret plan");
    assert!(
        history[0]["reactions"]
            .as_object()
            .is_none_or(|r| r.is_empty())
    );
}

#[tokio::test]
async fn a_file_shared_in_a_dm_is_the_pairs_only() {
    let server = TestServer::start().await;
    let url = server.url("");
    let ana = protected(&url, "ana").await;
    let bo = protected(&url, "bo").await;
    let cy = protected(&url, "cy").await;
    let (_, opened) = open_dm(&url, &ana, "bo").await;
    let room = opened["room"].as_str().unwrap().to_owned();
    let upload = http()
        .post(server.url("/api/files"))
        .query(&[("name", "plan.txt")])
        .bearer_auth(&ana)
        .header("content-type", "application/octet-stream")
        .body("the plan, in a file")
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), StatusCode::CREATED);
    let file: Value = upload.json().await.unwrap();
    let file_url = file["url"].as_str().unwrap().to_owned();
    let (status, _) = call(
        &url,
        &ana,
        Method::POST,
        &format!("/api/rooms/{room}/messages"),
        Some(json!({"text": "", "files": [file["id"]]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let download = |token: String| {
        let file_url = server.url(&file_url);
        async move {
            let response = http()
                .get(file_url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    assert_eq!(
        download(bo.clone()).await,
        (StatusCode::OK, "the plan, in a file".to_owned())
    );
    let (status, body) = download(cy.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let missing = http()
        .get(server.url("/api/files/AAAAAAAAAAAAAAAAAAAAAA"))
        .bearer_auth(&cy)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.text().await.unwrap(), body, "as for no such file");
}

#[tokio::test]
async fn a_dm_needs_two_protected_nicks_and_dm_names_are_not_rooms() {
    let server = TestServer::start().await;
    let url = server.url("");
    let ana = protected(&url, "ana").await;
    let dan = unprotected(&url, "dan").await;

    let (status, refused) = open_dm(&url, &ana, "dan").await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["reason"], "not_protected");
    assert!(
        refused["error"].as_str().unwrap().contains("dan"),
        "{refused}"
    );
    let (status, refused) = open_dm(&url, &dan, "ana").await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["error"].as_str().unwrap().contains("your nick"),
        "{refused}"
    );
    // Yourself, under any look-alike, is not a conversation.
    for me in ["ana", "Ana", "\u{0430}na"] {
        let (status, body) = open_dm(&url, &ana, me).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{me}: {body}");
    }
    let (status, _) = open_dm(&url, &ana, "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // An ordinary room cannot be named like a DM room.
    let (status, body) = post_to(&url, &dan, "dm-lounge", "hi").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (_, rooms) = call(&url, &dan, Method::GET, "/api/rooms", None).await;
    assert!(!rooms.to_string().contains("dm-lounge"));
}

#[tokio::test]
async fn an_admin_deletes_any_message_and_nobody_else_can() {
    let server = TestServer::start_with(|c| c.admins = vec!["boss".into()]).await;
    let url = server.url("");
    let ana = protected(&url, "ana").await;
    let bo = protected(&url, "bo").await;
    let (_, abuse) = post_to(&url, &ana, "general", "abuse").await;
    let path = format!(
        "/api/rooms/general/messages/{}",
        abuse["id"].as_str().unwrap()
    );

    let (status, body) = call(&url, &bo, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // The admin's nick without its nick password is nobody special.
    let (_, me) = call(
        &url,
        &unprotected(&url, "boss").await,
        Method::GET,
        "/api/session",
        None,
    )
    .await;
    assert_eq!(me["admin"], false);
    let impostor = unprotected(&url, "boss").await;
    let (status, _) = call(&url, &impostor, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let boss = protected(&url, "boss").await;
    let (_, me) = call(&url, &boss, Method::GET, "/api/session", None).await;
    assert_eq!(me["admin"], true, "{me}");
    let (_, me) = call(&url, &ana, Method::GET, "/api/session", None).await;
    assert_eq!(me["admin"], false, "{me}");
    // An admin may delete, never edit.
    let (status, _) = call(
        &url,
        &boss,
        Method::PATCH,
        &path,
        Some(json!({"text": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(&url, &boss, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, history) = call(&url, &bo, Method::GET, "/api/rooms/general/messages", None).await;
    assert!(!history.to_string().contains("abuse"), "{history}");
    let (_, info) = call(&url, "", Method::GET, "/api/info", None).await;
    for feature in ["nicks", "dm", "moderation", "search"] {
        assert!(info["features"].to_string().contains(feature), "{info}");
    }
}

/// The next frame of `raw` that is an `ended` event, as its data.
async fn ended(raw: &mut RawSse) -> Value {
    loop {
        let frame = raw
            .frame()
            .await
            .expect("an ended event before the stream closes");
        if let Some(data) = frame
            .strip_prefix("event: ended\ndata: ")
            .or_else(|| frame.split_once("event: ended\ndata: ").map(|(_, d)| d))
        {
            return serde_json::from_str(data).unwrap();
        }
    }
}

#[tokio::test]
async fn a_ban_ends_the_nicks_streams_and_refuses_it_until_it_ends() {
    let clock = LimitsClock::default();
    let server = TestServer::start_with(|c| {
        c.admins = vec!["boss".into()];
        c.nicks_clock = clock.clone();
    })
    .await;
    let url = server.url("");
    let boss = protected(&url, "boss").await;
    let ana = unprotected(&url, "ana").await;
    let bo = protected(&url, "bo").await;
    let mut stream = RawSse::open_past_start(&server.url("/api/rooms/general/events"), &ana).await;

    // Only admins ban, and only sensibly.
    let ban = |token: String, body: Value| {
        let url = url.clone();
        async move { call(&url, &token, Method::POST, "/api/bans", Some(body)).await }
    };
    let (status, _) = ban(bo.clone(), json!({"nick": "ana", "minutes": 15})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(&url, &bo, Method::GET, "/api/bans", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for bad in [
        json!({"nick": "ana", "minutes": 0}),
        json!({"nick": "", "minutes": 15}),
        json!({"nick": "boss", "minutes": 15}),
        json!({"nick": "ana", "minutes": 15, "reason": "x".repeat(201)}),
    ] {
        let (status, body) = ban(boss.clone(), bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (status, _) = post_to(&url, &ana, "general", "still here").await;
    assert_eq!(status, StatusCode::CREATED, "bad bans changed nothing");

    let (status, banned) = ban(
        boss.clone(),
        json!({"nick": "ana", "minutes": 15, "reason": "spam"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{banned}");
    assert_eq!(banned["nick"], "ana");
    assert_eq!(banned["by"], "boss");
    let until = banned["until"].as_str().unwrap().to_owned();
    // Her open stream ends, saying why and until when.
    let notice = ended(&mut stream).await;
    assert_eq!(notice["reason"], "banned");
    assert_eq!(notice["until"], until.as_str());
    assert!(
        notice["error"].as_str().unwrap().contains("spam"),
        "{notice}"
    );
    assert!(stream.frame().await.is_none(), "the stream closes");
    // Her posts, her streams and her sign-ins are refused, with the reason.
    let (status, refused) = post_to(&url, &ana, "general", "one more").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["reason"], "banned");
    assert_eq!(refused["until"], until.as_str());
    let (status, _) = call(&url, &ana, Method::GET, "/api/rooms/general/events", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, refused) = call(
        &url,
        "",
        Method::POST,
        "/api/session",
        Some(json!({"nick": "ANA"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a look-alike is the same nick"
    );
    assert_eq!(refused["reason"], "banned");
    let form = http()
        .post(server.url("/post"))
        .bearer_auth(&ana)
        .form(&[("message", "via the old form")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        form.status(),
        StatusCode::FORBIDDEN,
        "the original /post too"
    );
    let (_, bans) = call(&url, &boss, Method::GET, "/api/bans", None).await;
    assert_eq!(bans[0]["nick"], "ana", "{bans}");
    // Others are not affected.
    let (status, _) = post_to(&url, &bo, "general", "hello").await;
    assert_eq!(status, StatusCode::CREATED);

    // After fifteen minutes she is back.
    clock.advance(Duration::from_secs(16 * 60));
    unprotected(&url, "ana").await;
    let (_, bans) = call(&url, &boss, Method::GET, "/api/bans", None).await;
    assert_eq!(bans, json!([]));

    // A ban lifted early.
    let (status, _) = ban(boss.clone(), json!({"nick": "bo", "minutes": 60})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = post_to(&url, &bo, "general", "hi").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(&url, &boss, Method::DELETE, "/api/bans/bo", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = post_to(&url, &bo, "general", "hi again").await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = call(&url, &boss, Method::DELETE, "/api/bans/bo", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn signing_out_or_protecting_the_nick_ends_open_streams() {
    let server = TestServer::start().await;
    let url = server.url("");
    let leaving = unprotected(&url, "cy").await;
    let mut stream =
        RawSse::open_past_start(&server.url("/api/rooms/general/events"), &leaving).await;
    let (status, _) = call(&url, &leaving, Method::DELETE, "/api/session", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(ended(&mut stream).await["reason"], "signed_out");
    assert!(stream.frame().await.is_none());

    let impostor = unprotected(&url, "ana").await;
    let mut stream = RawSse::open(&server.url("/api/events?rooms=general,dev"), &impostor).await;
    protected(&url, "ana").await;
    assert_eq!(ended(&mut stream).await["reason"], "superseded");
    assert!(stream.frame().await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dms_and_bans_hold_on_every_node_of_a_cluster() {
    let cluster = Cluster::new();
    let node = || cluster.node_with(|c| c.admins = vec!["boss".into()]);
    let (a, b) = (node().await, node().await);
    let (url_a, url_b) = (a.url(""), b.url(""));
    let ana = protected(&url_a, "ana").await;
    let bo = protected(&url_b, "bo").await;
    let cy = protected(&url_b, "cy").await;
    let boss = protected(&url_a, "boss").await;

    // A DM opened on A is the same room on B, and B keeps it from cy.
    let (_, opened) = open_dm(&url_a, &ana, "bo").await;
    let room = opened["room"].as_str().unwrap().to_owned();
    let (_, from_b) = open_dm(&url_b, &bo, "ana").await;
    assert_eq!(from_b["room"], room.as_str());
    let (status, _) = post_to(&url_a, &ana, &room, "for bo only").await;
    assert_eq!(status, StatusCode::CREATED);
    let history = eventually("bo reads the DM on B", || {
        let (url_b, bo, path) = (
            url_b.clone(),
            bo.clone(),
            format!("/api/rooms/{room}/messages"),
        );
        async move {
            let (_, h) = call(&url_b, &bo, Method::GET, &path, None).await;
            (h.as_array()?.len() == 1).then_some(h)
        }
    })
    .await;
    assert_eq!(history[0]["text"], "for bo only");
    let (status, _) = call(
        &url_b,
        &cy,
        Method::GET,
        &format!("/api/rooms/{room}/messages"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let found = eventually("bo finds it on B", || {
        let (url_b, bo) = (url_b.clone(), bo.clone());
        async move {
            let (_, f) = call(&url_b, &bo, Method::GET, "/api/search?q=only", None).await;
            (f.as_array()?.len() == 1).then_some(f)
        }
    })
    .await;
    assert_eq!(found[0]["text"], "for bo only");
    let (_, none) = call(&url_b, &cy, Method::GET, "/api/search?q=only", None).await;
    assert_eq!(none, json!([]));

    // A ban on A ends cy's stream on B and holds there.
    let mut stream = RawSse::open_past_start(&b.url("/api/rooms/general/events"), &cy).await;
    let (status, _) = call(
        &url_a,
        &boss,
        Method::POST,
        "/api/bans",
        Some(json!({"nick": "cy", "minutes": 60, "reason": "flooding"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(ended(&mut stream).await["reason"], "banned");
    let (status, refused) = post_to(&url_b, &cy, "general", "hi").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(refused["reason"], "banned");
    // An admin's delete on B of a message posted on A.
    let (_, posted) = post_to(&url_a, &ana, "general", "remove me").await;
    let path = format!(
        "/api/rooms/general/messages/{}",
        posted["id"].as_str().unwrap()
    );
    let boss_b = protected(&url_b, "boss").await;
    let (status, _) = call(&url_b, &boss_b, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}
