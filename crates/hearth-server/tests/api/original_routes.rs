//! The original chat room's routes, as its page and clients use them:
//! `GET/POST /login`, `POST /post` and `GET /stream` on the default room,
//! with the session in a cookie, and the same messages in the new API.

use chrono::Timelike;
use hearth_proto::{Message, StreamEvent};
use hearth_server::config::PasswordSetting;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};

use super::support::*;

/// A client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    http_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn login_response(server: &TestServer, form: &[(&str, &str)]) -> reqwest::Response {
    no_redirects()
        .post(server.url("/login"))
        .form(form)
        .send()
        .await
        .expect("POST /login")
}

/// Logs in through the form; returns the `Cookie` header value to send back.
async fn login(server: &TestServer, form: &[(&str, &str)]) -> String {
    let response = login_response(server, form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "POST /login");
    assert_eq!(
        response.headers().get(LOCATION).expect("Location"),
        "/",
        "POST /login redirects home"
    );
    let set_cookie = response
        .headers()
        .get(SET_COOKIE)
        .expect("Set-Cookie")
        .to_str()
        .expect("ASCII cookie")
        .to_owned();
    assert!(
        set_cookie.starts_with("hearth_session="),
        "Set-Cookie: {set_cookie}"
    );
    let attributes: Vec<&str> = set_cookie.split(';').map(str::trim).collect();
    assert!(attributes.contains(&"HttpOnly"), "Set-Cookie: {set_cookie}");
    assert!(
        attributes.contains(&"SameSite=Strict"),
        "Set-Cookie: {set_cookie}"
    );
    let pair = attributes[0];
    assert!(
        pair.len() > "hearth_session=".len(),
        "empty session cookie: {set_cookie}"
    );
    pair.to_owned()
}

async fn post_form(server: &TestServer, cookie: Option<&str>, message: &str) -> reqwest::Response {
    let mut request = http()
        .post(server.url("/post"))
        .form(&[("message", message)]);
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    request.send().await.expect("POST /post")
}

/// Posts through `/post`, expecting `204`.
async fn post_legacy(server: &TestServer, cookie: Option<&str>, message: &str) {
    let response = post_form(server, cookie, message).await;
    assert_eq!(
        response.status(),
        StatusCode::NO_CONTENT,
        "POST /post {message:?}"
    );
}

async fn stream_response(server: &TestServer, cookie: Option<&str>) -> reqwest::Response {
    let mut request = http().get(server.url("/stream"));
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    request.send().await.expect("GET /stream")
}

/// Opens `GET /stream`; once its headers are in, it is subscribed.
async fn open_legacy_stream(server: &TestServer, cookie: Option<&str>) -> RawSse {
    let response = stream_response(server, cookie).await;
    assert_eq!(response.status(), StatusCode::OK, "GET /stream");
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .expect("Content-Type")
        .to_str()
        .expect("ASCII");
    assert!(
        content_type.starts_with("text/event-stream"),
        "GET /stream Content-Type: {content_type}"
    );
    RawSse::new(response)
}

/// The next data frame of `/stream`, skipping `: ping` comments.
async fn next_data(stream: &mut RawSse) -> String {
    loop {
        let frame = stream.frame().await.expect("/stream ended");
        if !frame.starts_with(':') {
            return frame;
        }
    }
}

/// Asserts `frame` is exactly `data: [HH:MM:SS] nick: text`, with the time
/// about now, in the server's (here: this process's) local time.
fn assert_line(frame: &str, nick: &str, text: &str) {
    assert!(!frame.contains('\n'), "more than one line: {frame:?}");
    assert!(frame.starts_with("data: ["), "{frame:?}");
    let time = frame.get(7..15).unwrap_or_else(|| panic!("{frame:?}"));
    let shape_ok = time.bytes().enumerate().all(|(i, b)| match i {
        2 | 5 => b == b':',
        _ => b.is_ascii_digit(),
    });
    assert!(shape_ok, "not HH:MM:SS: {time:?} in {frame:?}");
    assert_eq!(&frame[15..], format!("] {nick}: {text}"), "frame {frame:?}");
    let field = |range: std::ops::Range<usize>| time[range].parse::<u32>().expect("digits");
    let (h, m, s) = (field(0..2), field(3..5), field(6..8));
    assert!(h < 24 && m < 60 && s < 60, "not a time of day: {time}");
    let shown = h * 3600 + m * 60 + s;
    let now = chrono::Local::now().num_seconds_from_midnight();
    let apart = shown.abs_diff(now) % 86_400;
    assert!(
        apart.min(86_400 - apart) <= 10,
        "{time} is not the local time now"
    );
}

async fn general_history(server: &TestServer) -> Vec<Message> {
    server
        .signed_in("reader")
        .await
        .history(&room("general"), None, Some(500))
        .await
        .expect("history")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_login_form_asks_for_a_user() {
    let server = TestServer::start().await;
    let response = http()
        .get(server.url("/login"))
        .send()
        .await
        .expect("GET /login");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .expect("Content-Type")
        .to_str()
        .expect("ASCII")
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let page = response.text().await.expect("page");
    assert!(page.contains("<form"), "{page}");
    assert!(page.contains(r#"action="/login""#), "{page}");
    assert!(page.contains(r#"method="post""#), "{page}");
    assert!(page.contains(r#"name="user""#), "{page}");
    assert!(
        !page.contains(r#"name="password""#),
        "a server without a password asks for one: {page}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn login_sets_a_session_cookie_and_redirects_home() {
    let server = TestServer::start().await;
    let cookie = login(&server, &[("user", "ana")]).await;

    // The cookie is a session the new API accepts too.
    let rooms = http()
        .get(server.url("/api/rooms"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("GET /api/rooms");
    assert_eq!(rooms.status(), StatusCode::OK);

    // A nick outside the rules gets no session.
    for user in ["", "   ", "ana\r\nbo"] {
        let response = login_response(&server, &[("user", user)]).await;
        assert!(
            response.headers().get(SET_COOKIE).is_none(),
            "{user:?}: a refused login set a cookie"
        );
        expect_error(response, StatusCode::BAD_REQUEST, &format!("user {user:?}")).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_reaches_the_stream_as_one_line() {
    let server = TestServer::start().await;
    let cookie = login(&server, &[("user", "ana")]).await;
    let mut stream = open_legacy_stream(&server, Some(&cookie)).await;

    post_legacy(&server, Some(&cookie), "hi").await;
    assert_line(&next_data(&mut stream).await, "ana", "hi");
    // Exactly one frame for it: the next one is the next message.
    post_legacy(&server, Some(&cookie), "bye").await;
    assert_line(&next_data(&mut stream).await, "ana", "bye");

    // The same messages, in the new API.
    let history = general_history(&server).await;
    let said: Vec<(&str, &str)> = history
        .iter()
        .map(|m| (m.nick.as_str(), m.text.as_str()))
        .collect();
    assert_eq!(said, [("ana", "hi"), ("ana", "bye")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_multi_line_message_is_one_data_line() {
    let server = TestServer::start().await;
    let cookie = login(&server, &[("user", "ana")]).await;
    let mut stream = open_legacy_stream(&server, Some(&cookie)).await;

    post_legacy(&server, Some(&cookie), "line one\nline two").await;
    assert_line(&next_data(&mut stream).await, "ana", "line one line two");
    post_legacy(&server, Some(&cookie), "a\r\nb\rc\n\nevent: evil").await;
    assert_line(&next_data(&mut stream).await, "ana", "a b c  event: evil");
    post_legacy(&server, Some(&cookie), "after").await;
    assert_line(&next_data(&mut stream).await, "ana", "after");

    // The new API keeps the newlines.
    let texts: Vec<String> = general_history(&server)
        .await
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(
        texts,
        ["line one\nline two", "a\nb\nc\n\nevent: evil", "after"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_without_a_session_is_anonymous() {
    let server = TestServer::start().await;
    let mut stream = open_legacy_stream(&server, None).await;

    post_legacy(&server, None, "who am i").await;
    assert_line(&next_data(&mut stream).await, "anonymous", "who am i");

    let history = general_history(&server).await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0].nick, "anonymous");
    assert_eq!(history[0].text, "who am i");
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_messages_are_refused_and_change_nothing() {
    let server = TestServer::start().await;
    let cookie = login(&server, &[("user", "ana")]).await;
    let mut stream = open_legacy_stream(&server, Some(&cookie)).await;
    post_legacy(&server, Some(&cookie), "first").await;
    assert_line(&next_data(&mut stream).await, "ana", "first");
    let before = general_history(&server).await;

    for message in ["", "   ", "\n\t", "bell\u{7}"] {
        expect_error(
            post_form(&server, Some(&cookie), message).await,
            StatusCode::BAD_REQUEST,
            &format!("message {message:?}"),
        )
        .await;
    }
    let no_field = http()
        .post(server.url("/post"))
        .header(COOKIE, &cookie)
        .form(&[("text", "hi")])
        .send()
        .await
        .expect("POST /post");
    expect_error(no_field, StatusCode::BAD_REQUEST, "no message field").await;

    assert_eq!(
        general_history(&server).await,
        before,
        "something was stored"
    );
    post_legacy(&server, Some(&cookie), "sentinel").await;
    assert_line(&next_data(&mut stream).await, "ana", "sentinel");
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_cross_between_the_original_routes_and_the_api() {
    let server = TestServer::start().await;
    let bo = server.signed_in("bo").await;
    let mut events = open_room(&bo, "general", None).await;
    read_start(&mut events).await;
    let cookie = login(&server, &[("user", "ana")]).await;
    let mut stream = open_legacy_stream(&server, Some(&cookie)).await;

    post_legacy(&server, Some(&cookie), "from the old page").await;
    let message = loop {
        match next_event(&mut events).await.event {
            StreamEvent::Message(m) => break m,
            StreamEvent::Join(_) | StreamEvent::Leave(_) => {}
            other => panic!("unexpected event {other:?}"),
        }
    };
    assert_eq!(message.room.as_str(), "general");
    assert_eq!(message.nick, "ana");
    assert_eq!(message.text, "from the old page");
    assert_line(&next_data(&mut stream).await, "ana", "from the old page");

    let from_api = post(&bo, "general", "from the api").await;
    assert_line(&next_data(&mut stream).await, "bo", "from the api");
    assert_eq!(next_message(&mut events).await, from_api);

    // Other rooms stay off the original stream.
    post(&bo, "dev", "elsewhere").await;
    post(&bo, "general", "back home").await;
    assert_line(&next_data(&mut stream).await, "bo", "back home");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_server_guards_the_original_routes() {
    let server = TestServer::start_with(|config| {
        config.password = Some(PasswordSetting::Plain("sesame".into()));
    })
    .await;

    let page = http()
        .get(server.url("/login"))
        .send()
        .await
        .expect("GET /login")
        .text()
        .await
        .expect("page");
    assert!(page.contains(r#"name="user""#), "{page}");
    assert!(page.contains(r#"name="password""#), "{page}");

    for (case, form) in [
        ("no password", vec![("user", "ana")]),
        (
            "wrong password",
            vec![("user", "ana"), ("password", "nope")],
        ),
        ("empty password", vec![("user", "ana"), ("password", "")]),
    ] {
        let response = login_response(&server, &form).await;
        assert!(
            response.headers().get(SET_COOKIE).is_none(),
            "{case}: a refused login set a cookie"
        );
        expect_error(response, StatusCode::UNAUTHORIZED, case).await;
    }

    expect_error(
        post_form(&server, None, "let me in").await,
        StatusCode::UNAUTHORIZED,
        "POST /post without a session",
    )
    .await;
    expect_error(
        stream_response(&server, None).await,
        StatusCode::UNAUTHORIZED,
        "GET /stream without a session",
    )
    .await;
    expect_error(
        stream_response(&server, Some("hearth_session=garbage")).await,
        StatusCode::UNAUTHORIZED,
        "GET /stream with a garbage cookie",
    )
    .await;

    let cookie = login(&server, &[("user", "ana"), ("password", "sesame")]).await;
    let mut stream = open_legacy_stream(&server, Some(&cookie)).await;
    post_legacy(&server, Some(&cookie), "inside").await;
    assert_line(&next_data(&mut stream).await, "ana", "inside");

    let mut reader = server.client();
    reader
        .sign_in("reader", Some("sesame"))
        .await
        .expect("sign in");
    let history = reader
        .history(&room("general"), None, None)
        .await
        .expect("history");
    let said: Vec<(&str, &str)> = history
        .iter()
        .map(|m| (m.nick.as_str(), m.text.as_str()))
        .collect();
    assert_eq!(said, [("ana", "inside")], "the refused post was not stored");
}

/// The room log (v1.1) does not reach `/stream`: edits, reactions, deletes
/// and typing notices are not new messages.
#[tokio::test]
async fn the_original_stream_sends_only_new_messages() {
    let server = TestServer::start().await;
    let mut stream = open_legacy_stream(&server, None).await;
    let ana = server.signed_in("ana").await;
    let first = post(&ana, "general", "first").await;
    assert_line(&next_data(&mut stream).await, "ana", "first");
    ana.edit(&room("general"), first.id, "first, edited")
        .await
        .unwrap();
    ana.react(&room("general"), first.id, "👍").await.unwrap();
    ana.typing(&room("general")).await.unwrap();
    ana.delete(&room("general"), first.id).await.unwrap();
    post(&ana, "general", "second").await;
    assert_line(&next_data(&mut stream).await, "ana", "second");
}
