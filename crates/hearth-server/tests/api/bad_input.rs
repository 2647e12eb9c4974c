//! Bad input: every malformed or hostile request gets its documented `4xx`
//! with a `{"error": "..."}` body, and changes nothing. Each group watches a
//! room from before its bad requests; afterwards the room's history and the
//! list of rooms are as they were, and the next event the watcher sees is a
//! sentinel posted after them (so nothing was broadcast either).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hearth_client::Client;
use hearth_proto::{Message, Nick, StreamEvent};
use hearth_server::auth::TokenSigner;
use hearth_server::config::PasswordSetting;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, SET_COOKIE};
use serde_json::json;

use super::support::*;

/// A room watched from before a group of bad requests.
struct Watch {
    client: Client,
    room: String,
    events: Events,
    history: Vec<Message>,
    rooms: Vec<String>,
}

impl Watch {
    /// Seeds `name` with one message, subscribes to it as `client` and notes
    /// what the server holds.
    async fn start(client: Client, name: &str) -> Watch {
        post(&client, name, "seed").await;
        let mut events = open_room(&client, name, None).await;
        read_start(&mut events).await;
        let history = all_history(&client, name).await;
        let rooms = room_names(&client).await;
        Watch {
            client,
            room: name.to_owned(),
            events,
            history,
            rooms,
        }
    }

    /// The watcher's token.
    fn token(&self) -> String {
        self.client.token().expect("signed in").to_owned()
    }

    /// Nothing was stored, no room was created, nothing was broadcast.
    async fn assert_unchanged(mut self, group: &str) {
        assert_eq!(
            all_history(&self.client, &self.room).await,
            self.history,
            "{group}: the room's history changed"
        );
        assert_eq!(
            room_names(&self.client).await,
            self.rooms,
            "{group}: the list of rooms changed"
        );
        self.assert_next_is_sentinel(group).await;
    }

    /// Posts a sentinel and asserts it is the very next event of the stream.
    async fn assert_next_is_sentinel(&mut self, group: &str) {
        let sentinel = post(&self.client, &self.room, "sentinel").await;
        match next_event(&mut self.events).await.event {
            StreamEvent::Message(m) => assert_eq!(
                m, sentinel,
                "{group}: a message was broadcast before the sentinel"
            ),
            other => panic!("{group}: expected the sentinel, got {other:?}"),
        }
    }
}

async fn all_history(client: &Client, name: &str) -> Vec<Message> {
    client
        .history(&room(name), None, Some(500))
        .await
        .expect("history")
}

async fn room_names(client: &Client) -> Vec<String> {
    let mut names: Vec<String> = client
        .rooms()
        .await
        .expect("rooms")
        .into_iter()
        .map(|r| r.room.to_string())
        .collect();
    names.sort();
    names
}

/// `POST /api/rooms/{room}/messages` with a raw JSON body and `token`.
async fn post_raw(
    server: &TestServer,
    token: &str,
    room_path: &str,
    body: &str,
) -> reqwest::Response {
    http()
        .post(server.url(&format!("/api/rooms/{room_path}/messages")))
        .bearer_auth(token)
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("request")
}

async fn post_json(
    server: &TestServer,
    token: &str,
    room_path: &str,
    body: &serde_json::Value,
) -> reqwest::Response {
    post_raw(server, token, room_path, &body.to_string()).await
}

async fn create_session(server: &TestServer, body: &serde_json::Value) -> reqwest::Response {
    http()
        .post(server.url("/api/session"))
        .json(body)
        .send()
        .await
        .expect("request")
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_bodies_are_refused() {
    let server = TestServer::start().await;
    let watch = Watch::start(server.signed_in("ana").await, "general").await;
    let token = watch.token();

    for (case, body) in [
        ("truncated JSON", r#"{"text": "hi""#),
        ("not JSON", "hi"),
        ("empty body", ""),
        ("text is a number", r#"{"text": 5}"#),
        ("text is null", r#"{"text": null}"#),
        ("client_id is a number", r#"{"text": "hi", "client_id": 7}"#),
        ("no text", r#"{"client_id": "c1"}"#),
    ] {
        expect_error(
            post_raw(&server, &token, "general", body).await,
            StatusCode::BAD_REQUEST,
            case,
        )
        .await;
    }

    let url = server.url("/api/rooms/general/messages");
    let valid = json!({"text": "hi"}).to_string();
    let no_type = http()
        .post(&url)
        .bearer_auth(&token)
        .body(valid.clone())
        .send()
        .await
        .expect("request");
    expect_error(
        no_type,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "no Content-Type",
    )
    .await;
    let plain = http()
        .post(&url)
        .bearer_auth(&token)
        .header(CONTENT_TYPE, "text/plain")
        .body(valid)
        .send()
        .await
        .expect("request");
    expect_error(plain, StatusCode::UNSUPPORTED_MEDIA_TYPE, "text/plain").await;

    // Over the 64 KiB default, with and without a Content-Length.
    let big = json!({"text": "x".repeat(70 * 1024)}).to_string();
    expect_error(
        post_raw(&server, &token, "general", &big).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "70 KiB body",
    )
    .await;
    let chunks: Vec<Result<String, std::io::Error>> = big
        .as_bytes()
        .chunks(8 * 1024)
        .map(|c| Ok(String::from_utf8(c.to_vec()).expect("ascii")))
        .collect();
    let chunked = http()
        .post(&url)
        .bearer_auth(&token)
        .header(CONTENT_TYPE, "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .expect("request");
    expect_error(
        chunked,
        StatusCode::PAYLOAD_TOO_LARGE,
        "70 KiB chunked body",
    )
    .await;

    watch.assert_unchanged("malformed bodies").await;
}

/// A body must be the documented JSON object: serde would otherwise read an
/// array as the struct's fields in order (`["hi"]` as `{"text": "hi"}`).
#[tokio::test(flavor = "multi_thread")]
async fn json_arrays_are_not_request_objects() {
    let server = TestServer::start().await;
    let watch = Watch::start(server.signed_in("ana").await, "general").await;
    let token = watch.token();

    for body in [r#"["hi"]"#, r#"["hi", "c1"]"#] {
        expect_error(
            post_raw(&server, &token, "general", body).await,
            StatusCode::BAD_REQUEST,
            &format!("post body {body}"),
        )
        .await;
    }
    let session = http()
        .post(server.url("/api/session"))
        .header(CONTENT_TYPE, "application/json")
        .body(r#"["mallory"]"#)
        .send()
        .await
        .expect("request");
    expect_error(
        session,
        StatusCode::BAD_REQUEST,
        "session body [\"mallory\"]",
    )
    .await;

    watch.assert_unchanged("JSON arrays").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn texts_outside_the_rules_are_refused() {
    let server = TestServer::start().await;
    let mut watch = Watch::start(server.signed_in("ana").await, "general").await;
    let token = watch.token();

    let too_long = "x".repeat(4001);
    let too_long_multibyte = "é".repeat(4001);
    for (case, text) in [
        ("empty", ""),
        ("spaces only", "   "),
        ("whitespace only", " \n\t\r\n "),
        ("4001 characters", too_long.as_str()),
        ("4001 multibyte characters", too_long_multibyte.as_str()),
        ("NUL", "a\u{0}b"),
        ("ESC", "a\u{1b}[31mred"),
        ("DEL", "a\u{7f}b"),
        ("NEL (C1)", "a\u{85}b"),
        ("APC (C1)", "a\u{9f}b"),
        ("bell", "ding\u{7}"),
    ] {
        expect_error(
            post_json(&server, &token, "general", &json!({"text": text})).await,
            StatusCode::BAD_REQUEST,
            case,
        )
        .await;
    }
    assert_eq!(
        all_history(&watch.client, "general").await,
        watch.history,
        "refused texts were stored"
    );
    watch.assert_next_is_sentinel("refused texts").await;

    // What is allowed right at the edges is stored and delivered as sent.
    for (case, text, stored) in [
        (
            "4000 multibyte characters",
            "é".repeat(4000),
            "é".repeat(4000),
        ),
        (
            "4000 characters and trailing whitespace",
            format!("{}  \n\t", "y".repeat(4000)),
            "y".repeat(4000),
        ),
        (
            "newline and tab",
            "line one\n\tindented".to_owned(),
            "line one\n\tindented".to_owned(),
        ),
    ] {
        let response = post_json(&server, &token, "general", &json!({"text": text})).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{case}");
        let message: Message = response.json().await.expect("message");
        assert_eq!(message.text, stored, "{case}: stored text");
        let delivered = next_message(&mut watch.events).await;
        assert_eq!(delivered, message, "{case}: delivered message");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn nicks_outside_the_rules_are_refused() {
    let server = TestServer::start().await;
    let watch = Watch::start(server.signed_in("ana").await, "general").await;

    let too_long = "n".repeat(33);
    let too_long_multibyte = "ü".repeat(33);
    for (case, nick) in [
        ("empty", ""),
        ("spaces only", "   "),
        ("whitespace only", " \t\n "),
        ("33 characters", too_long.as_str()),
        ("33 multibyte characters", too_long_multibyte.as_str()),
        ("newline", "ana\nbo"),
        ("tab", "ana\tbo"),
        ("CRLF", "ana\r\nbo"),
        ("NUL", "ana\u{0}"),
        ("ESC", "ana\u{1b}[31m"),
        ("DEL", "ana\u{7f}"),
        ("NEL (C1)", "ana\u{85}bo"),
        ("SSE injection", "ana\r\ndata: evil"),
    ] {
        let response = create_session(&server, &json!({"nick": nick})).await;
        assert!(
            response.headers().get(SET_COOKIE).is_none(),
            "{case}: a refused sign-in set a cookie"
        );
        expect_error(response, StatusCode::BAD_REQUEST, case).await;
    }

    let malformed = http()
        .post(server.url("/api/session"))
        .header(CONTENT_TYPE, "application/json")
        .body(r#"{"nick": 5}"#)
        .send()
        .await
        .expect("request");
    expect_error(malformed, StatusCode::BAD_REQUEST, "nick is a number").await;
    let no_type = http()
        .post(server.url("/api/session"))
        .body(r#"{"nick": "ana"}"#)
        .send()
        .await
        .expect("request");
    expect_error(
        no_type,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "session without Content-Type",
    )
    .await;

    // The edges that are allowed: 32 multibyte characters, and a nick that
    // is valid once trimmed.
    for (nick, stored) in [
        ("ü".repeat(32), "ü".repeat(32)),
        ("  bo \t".to_owned(), "bo".to_owned()),
    ] {
        let response = create_session(&server, &json!({ "nick": nick })).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{nick:?}");
        let body: serde_json::Value = response.json().await.expect("session");
        assert_eq!(body["nick"], stored.as_str());
    }

    watch.assert_unchanged("nicks").await;
}

/// Checks that a raw SSE frame is one well-formed event or comment; returns
/// its lines.
fn well_formed(frame: &str) -> Vec<&str> {
    let lines: Vec<&str> = frame.split('\n').collect();
    if frame.starts_with(':') {
        assert_eq!(lines.len(), 1, "a comment frame with more lines: {frame:?}");
        return lines;
    }
    if frame.starts_with("retry:") {
        assert_eq!(lines, ["retry: 2000"], "retry frame");
        return lines;
    }
    let event = lines
        .iter()
        .find_map(|l| l.strip_prefix("event: "))
        .unwrap_or_else(|| panic!("a frame without an event name: {frame:?}"));
    assert!(
        ["message", "ready", "presence", "join", "leave"].contains(&event),
        "an unknown event {event:?}: {frame:?}"
    );
    let data = lines.iter().filter(|l| l.starts_with("data: ")).count();
    assert_eq!(data, 1, "not exactly one data line: {frame:?}");
    for line in &lines {
        assert!(
            ["id: ", "event: ", "data: "]
                .iter()
                .any(|p| line.starts_with(p)),
            "an unexpected line {line:?} in {frame:?}"
        );
    }
    lines
}

#[tokio::test(flavor = "multi_thread")]
async fn texts_cannot_inject_stream_fields_or_events() {
    let server = TestServer::start().await;
    let mut watch = Watch::start(server.signed_in("ana").await, "general").await;
    let token = watch.token();

    let response = http()
        .get(server.url("/api/rooms/general/events"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("stream");
    assert_eq!(response.status(), StatusCode::OK);
    let mut raw = RawSse::new(response);
    loop {
        let frame = raw.frame().await.expect("stream open");
        if well_formed(&frame).contains(&"event: presence") {
            break;
        }
    }

    let attacks = [
        ("hi\r\nevent: evil\r\ndata: x", "hi\nevent: evil\ndata: x"),
        ("data: injected\n\nid: 9", "data: injected\n\nid: 9"),
        (
            "\r\n\r\nevent: evil\rdata: y\r\n",
            "\n\nevent: evil\ndata: y",
        ),
    ];
    let mut expected = Vec::new();
    for (text, normalized) in attacks {
        let response = post_json(&server, &token, "general", &json!({"text": text})).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{text:?}");
        let message: Message = response.json().await.expect("message");
        assert_eq!(message.text, normalized, "{text:?}: stored text");
        expected.push(message);
    }
    let sentinel = post(&watch.client, "general", "sentinel").await;
    expected.push(sentinel.clone());

    // The raw stream: exactly these messages, each one frame of three lines,
    // its data one line of JSON with the normalized text.
    let mut seen = Vec::new();
    while seen.len() < expected.len() {
        let frame = raw.frame().await.expect("stream open");
        let lines = well_formed(&frame);
        if !lines.contains(&"event: message") {
            continue;
        }
        let want = &expected[seen.len()];
        assert_eq!(lines.len(), 3, "message frame: {frame:?}");
        assert_eq!(lines[0], format!("id: {}", want.id), "{frame:?}");
        assert_eq!(lines[1], "event: message", "{frame:?}");
        let data = lines[2].strip_prefix("data: ").expect("data line");
        let got: Message = serde_json::from_str(data).expect("data is one line of JSON");
        assert_eq!(&got, want, "message frame: {frame:?}");
        seen.push(got);
    }

    // The client sees the same messages, and nothing in between.
    for want in &expected {
        match next_event(&mut watch.events).await.event {
            StreamEvent::Message(m) => assert_eq!(&m, want),
            other => panic!("expected {want:?}, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_room_names_in_paths_are_not_found() {
    let server = TestServer::start().await;
    let watch = Watch::start(server.signed_in("ana").await, "general").await;
    // Bad requests from another nick: a stray subscription would show up as
    // a join, a stray post as a message.
    let mallory = server.signed_in("mallory").await;
    let token = mallory.token().expect("token").to_owned();

    let too_long = "a".repeat(65);
    for name in ["General", "a%20b", "-x", too_long.as_str(), "a%0D%0Adata:x"] {
        expect_error(
            post_json(&server, &token, name, &json!({"text": "hi"})).await,
            StatusCode::NOT_FOUND,
            &format!("POST messages in {name:?}"),
        )
        .await;
        for path in [
            format!("/api/rooms/{name}/messages"),
            format!("/api/rooms/{name}/events"),
        ] {
            let response = http()
                .get(server.url(&path))
                .bearer_auth(&token)
                .send()
                .await
                .expect("request");
            expect_error(response, StatusCode::NOT_FOUND, &format!("GET {path}")).await;
        }
    }

    watch.assert_unchanged("invalid room names").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_client_ids_are_refused() {
    let server = TestServer::start().await;
    let watch = Watch::start(server.signed_in("ana").await, "general").await;
    let token = watch.token();

    let too_long = "c".repeat(129);
    for (case, client_id) in [
        ("empty", ""),
        ("with a space", "a b"),
        ("129 characters", too_long.as_str()),
        ("with a newline", "a\nb"),
    ] {
        expect_error(
            post_json(
                &server,
                &token,
                "general",
                &json!({"text": "hi", "client_id": client_id}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            &format!("client_id {case}"),
        )
        .await;
    }

    watch.assert_unchanged("client ids").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_and_bad_tokens_are_unauthorized() {
    let server = TestServer::start().await;
    let watch = Watch::start(server.signed_in("ana").await, "general").await;
    let real = server.signed_in("mallory").await;
    let real = real.token().expect("token").to_owned();
    let (payload, tag) = real.split_once('.').expect("payload.tag");

    // One character of the payload changed.
    let mut edited_chars: Vec<char> = payload.chars().collect();
    edited_chars[4] = if edited_chars[4] == 'A' { 'B' } else { 'A' };
    let edited: String = edited_chars.into_iter().collect();
    let edited = format!("{edited}.{tag}");
    // The nick changed under the old signature.
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64 payload"))
            .expect("JSON claims");
    assert_eq!(claims["nick"], "mallory", "claims: {claims}");
    claims["nick"] = json!("admin");
    let renamed = format!(
        "{}.{tag}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims"))
    );
    let forged = TokenSigner::new(b"another secret of thirty-two b!!", Duration::from_secs(60))
        .issue(Nick::parse("admin").expect("nick"))
        .0;
    let secret = std::fs::read(server.dir.path().join("secret.key")).expect("secret.key");
    let expired = TokenSigner::new(&secret, Duration::ZERO)
        .issue(Nick::parse("mallory").expect("nick"))
        .0;
    // The same secret with time left is accepted: the secret is the right
    // one, so the expired token is refused for its age alone.
    let fresh = TokenSigner::new(&secret, Duration::from_secs(60))
        .issue(Nick::parse("mallory").expect("nick"))
        .0;
    let ok = http()
        .get(server.url("/api/rooms"))
        .bearer_auth(&fresh)
        .send()
        .await
        .expect("request");
    assert_eq!(
        ok.status(),
        StatusCode::OK,
        "a token signed with secret.key"
    );

    let cases: [(&str, Option<&str>); 7] = [
        ("missing", None),
        ("garbage", Some("garbage")),
        ("empty", Some("")),
        ("edited", Some(&edited)),
        ("renamed", Some(&renamed)),
        ("forged", Some(&forged)),
        ("expired", Some(&expired)),
    ];
    for (case, token) in cases {
        let requests = [
            (
                "POST messages",
                http()
                    .post(server.url("/api/rooms/general/messages"))
                    .json(&json!({"text": "let me in"})),
            ),
            (
                "GET messages",
                http().get(server.url("/api/rooms/general/messages")),
            ),
            (
                "GET events",
                http().get(server.url("/api/rooms/general/events")),
            ),
            (
                "GET multi-room events",
                http().get(server.url("/api/events?rooms=general")),
            ),
            ("GET rooms", http().get(server.url("/api/rooms"))),
        ];
        for (what, request) in requests {
            let request = match token {
                Some(token) => request.bearer_auth(token),
                None => request,
            };
            let response = request.send().await.expect("request");
            let error = expect_error(
                response,
                StatusCode::UNAUTHORIZED,
                &format!("{case} token: {what}"),
            )
            .await;
            if let Some(token) = token.filter(|t| t.len() > 8) {
                assert!(
                    !error.contains(token),
                    "{case} token: {what}: the error repeats the token"
                );
            }
            if case == "expired" {
                assert!(
                    error.to_lowercase().contains("expire"),
                    "expired token: {what}: the error does not say so: {error:?}"
                );
            }
        }
    }
    // In the query, where a browser's EventSource puts it.
    for (case, token) in [("garbage", "garbage"), ("forged", forged.as_str())] {
        let response = http()
            .get(server.url("/api/rooms/general/events"))
            .query(&[("token", token)])
            .send()
            .await
            .expect("request");
        expect_error(
            response,
            StatusCode::UNAUTHORIZED,
            &format!("{case} token in the query"),
        )
        .await;
    }

    watch.assert_unchanged("tokens").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_history_queries_are_refused() {
    let server = TestServer::start().await;
    let watch = Watch::start(server.signed_in("ana").await, "general").await;
    let token = watch.token();

    for query in [
        "before=garbage",
        "before=1-",
        "before=-1-0",
        "limit=abc",
        "limit=-1",
    ] {
        let response = http()
            .get(server.url(&format!("/api/rooms/general/messages?{query}")))
            .bearer_auth(&token)
            .send()
            .await
            .expect("request");
        expect_error(response, StatusCode::BAD_REQUEST, query).await;
    }

    watch.assert_unchanged("history queries").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_multi_room_streams_are_refused() {
    let server = TestServer::start().await;
    let watch = Watch::start(server.signed_in("ana").await, "general").await;
    let mallory = server.signed_in("mallory").await;
    let token = mallory.token().expect("token").to_owned();

    let fifty_one = (0..51)
        .map(|i| format!("r{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let queries: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("no rooms".into(), vec![]),
        ("empty rooms".into(), vec![("rooms", "")]),
        ("rooms=a,,b".into(), vec![("rooms", "a,,b")]),
        ("rooms=Bad".into(), vec![("rooms", "Bad")]),
        ("rooms=general,Bad".into(), vec![("rooms", "general,Bad")]),
        ("51 rooms".into(), vec![("rooms", fifty_one.as_str())]),
        (
            "replay=51".into(),
            vec![("rooms", "general"), ("replay", "51")],
        ),
        (
            "replay=-1".into(),
            vec![("rooms", "general"), ("replay", "-1")],
        ),
        (
            "replay=x".into(),
            vec![("rooms", "general"), ("replay", "x")],
        ),
    ];
    for (case, query) in queries {
        let response = http()
            .get(server.url("/api/events"))
            .query(&query)
            .bearer_auth(&token)
            .send()
            .await
            .expect("request");
        expect_error(response, StatusCode::BAD_REQUEST, &case).await;
    }

    watch.assert_unchanged("multi-room streams").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_server_refuses_wrong_and_missing_passwords() {
    let server = TestServer::start_with(|config| {
        config.password = Some(PasswordSetting::Plain("sesame".into()));
    })
    .await;
    let mut watcher = server.client();
    watcher
        .sign_in("ana", Some("sesame"))
        .await
        .expect("sign in with the password");
    let watch = Watch::start(watcher, "general").await;

    for (case, body) in [
        ("missing password", json!({"nick": "mallory"})),
        (
            "wrong password",
            json!({"nick": "mallory", "password": "open sesame"}),
        ),
        ("empty password", json!({"nick": "mallory", "password": ""})),
        (
            "password in another case",
            json!({"nick": "mallory", "password": "Sesame"}),
        ),
    ] {
        let response = create_session(&server, &body).await;
        assert!(
            response.headers().get(SET_COOKIE).is_none(),
            "{case}: a refused sign-in set a cookie"
        );
        expect_error(response, StatusCode::UNAUTHORIZED, case).await;
    }

    let response = create_session(&server, &json!({"nick": "bo", "password": "sesame"})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let session: serde_json::Value = response.json().await.expect("session");
    assert_eq!(session["nick"], "bo");
    let token = session["token"].as_str().expect("token");
    let rooms = http()
        .get(server.url("/api/rooms"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert_eq!(rooms.status(), StatusCode::OK, "the new token works");

    watch.assert_unchanged("passwords").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_routes_and_wrong_methods_answer_json() {
    let server = TestServer::start().await;
    let watch = Watch::start(server.signed_in("ana").await, "general").await;
    let token = watch.token();

    for path in ["/api/nope", "/api/rooms/general/nope", "/nope"] {
        let response = http()
            .get(server.url(path))
            .bearer_auth(&token)
            .send()
            .await
            .expect("request");
        expect_error(response, StatusCode::NOT_FOUND, &format!("GET {path}")).await;
    }
    for (method, path) in [
        (reqwest::Method::PUT, "/api/rooms"),
        (reqwest::Method::DELETE, "/api/rooms/general/messages"),
        (reqwest::Method::PUT, "/api/rooms/general/messages"),
        (reqwest::Method::POST, "/api/rooms/general/events"),
        (reqwest::Method::PUT, "/api/session"),
    ] {
        let response = http()
            .request(method.clone(), server.url(path))
            .bearer_auth(&token)
            .header(CONTENT_TYPE, "application/json")
            .body(json!({"text": "hi"}).to_string())
            .send()
            .await
            .expect("request");
        expect_error(
            response,
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("{method} {path}"),
        )
        .await;
    }

    watch.assert_unchanged("routes and methods").await;
}
