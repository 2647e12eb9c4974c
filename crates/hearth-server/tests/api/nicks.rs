//! Protected nicks (protocol v1.1 "People"): who may sign in as a nick
//! once it is protected, and what happens to the sessions it had before.
//! Every test tries what an impostor would: no nick password, a wrong one, a
//! look-alike nick, an old token, a token edited to another nick.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hearth_server::config::{Backend, LimitsClock, PasswordSetting, RedisConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

const ANA_PASSWORD: &str = "correct horse battery";
const DAY: Duration = Duration::from_secs(24 * 3600);

/// `POST /api/session` with `body` from `client`.
async fn sign_in_from(
    client: &reqwest::Client,
    server_url: &str,
    body: Value,
) -> reqwest::Response {
    client
        .post(format!("{server_url}/api/session"))
        .json(&body)
        .send()
        .await
        .expect("POST /api/session")
}

async fn sign_in(server: &TestServer, body: Value) -> reqwest::Response {
    sign_in_from(&http(), &server.url(""), body).await
}

/// Expects `201`; returns the answer's body.
async fn signed_in(response: reqwest::Response, case: &str) -> Value {
    let status = response.status();
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(status, StatusCode::CREATED, "{case}: {body}");
    body
}

/// Expects `401` with an error text and `reason`.
async fn refused(response: reqwest::Response, reason: &str, case: &str) -> String {
    let status = response.status();
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}: {body}");
    assert_eq!(body["reason"], reason, "{case}: {body}");
    let error = body["error"].as_str().unwrap_or_default().to_owned();
    assert!(!error.is_empty(), "{case}: {body}");
    error
}

fn token(body: &Value) -> String {
    body["token"].as_str().expect("token").to_owned()
}

/// The status of `GET /api/rooms` with `token`: whether the token counts.
async fn rooms_status(server: &TestServer, token: &str) -> StatusCode {
    http()
        .get(server.url("/api/rooms"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

async fn whoami(server: &TestServer, token: &str) -> Value {
    let response = http()
        .get(server.url("/api/session"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn post_as(
    server: &TestServer,
    token: &str,
    text: &str,
    client_id: &str,
) -> reqwest::Response {
    http()
        .post(server.url("/api/rooms/lobby/messages"))
        .bearer_auth(token)
        .json(&json!({"text": text, "client_id": client_id}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_protected_nick_refuses_impostors_and_look_alikes() {
    let server = TestServer::start().await;
    let ana = signed_in(
        sign_in(
            &server,
            json!({"nick": "ana", "nick_password": ANA_PASSWORD}),
        )
        .await,
        "protecting ana",
    )
    .await;
    assert_eq!(ana["protected"], true);
    assert_eq!(whoami(&server, &token(&ana)).await["protected"], true);

    let error = refused(
        sign_in(&server, json!({"nick": "ana"})).await,
        "nick_protected",
        "no nick password",
    )
    .await;
    assert!(error.contains("protected"), "{error}");
    refused(
        sign_in(
            &server,
            json!({"nick": "ana", "nick_password": "not her password"}),
        )
        .await,
        "nick_protected",
        "a wrong nick password",
    )
    .await;
    // Look-alikes are the same nick: a Cyrillic "а", another case.
    for look_alike in ["\u{0430}na", "Ana", "ANA"] {
        refused(
            sign_in(&server, json!({"nick": look_alike})).await,
            "nick_protected",
            look_alike,
        )
        .await;
        refused(
            sign_in(
                &server,
                json!({"nick": look_alike, "nick_password": "a guess, wrong"}),
            )
            .await,
            "nick_protected",
            look_alike,
        )
        .await;
    }
    // Her owner signs in again, as often as she likes.
    let again = signed_in(
        sign_in(
            &server,
            json!({"nick": "ana", "nick_password": ANA_PASSWORD}),
        )
        .await,
        "ana again",
    )
    .await;
    assert_eq!(again["protected"], true);
    assert_eq!(rooms_status(&server, &token(&ana)).await, StatusCode::OK);

    // Everyone else signs in as before.
    let bo = signed_in(sign_in(&server, json!({"nick": "bo"})).await, "bo").await;
    assert_eq!(bo["protected"], false);
    assert_eq!(whoami(&server, &token(&bo)).await["protected"], false);
    let mut client = server.client();
    let session = client
        .sign_in("cy", None)
        .await
        .expect("hearth-client signs in");
    assert!(!session.protected);

    // Nick passwords are 8 to 128 characters.
    for bad in ["short", &"x".repeat(129)] {
        let answer = sign_in(&server, json!({"nick": "dee", "nick_password": bad})).await;
        expect_error(answer, StatusCode::BAD_REQUEST, "nick password length").await;
    }
    let dee = signed_in(sign_in(&server, json!({"nick": "dee"})).await, "dee").await;
    assert_eq!(
        dee["protected"], false,
        "a refused protection protects nothing"
    );
}

#[tokio::test]
async fn a_wrong_server_password_says_so() {
    let server = TestServer::start_with(|c| {
        c.password = Some(PasswordSetting::Plain("sesame".into()));
    })
    .await;
    signed_in(
        sign_in(
            &server,
            json!({"nick": "ana", "password": "sesame", "nick_password": ANA_PASSWORD}),
        )
        .await,
        "protecting ana",
    )
    .await;
    refused(
        sign_in(
            &server,
            json!({"nick": "ana", "password": "wrong", "nick_password": ANA_PASSWORD}),
        )
        .await,
        "server_password",
        "wrong server password",
    )
    .await;
    refused(
        sign_in(
            &server,
            json!({"nick": "ana", "nick_password": ANA_PASSWORD}),
        )
        .await,
        "server_password",
        "no server password",
    )
    .await;
    refused(
        sign_in(&server, json!({"nick": "ana", "password": "sesame"})).await,
        "nick_protected",
        "right server password, no nick password",
    )
    .await;
}

#[tokio::test]
async fn protecting_a_nick_ends_its_earlier_sessions() {
    let server = TestServer::start().await;
    // Someone was "ana" before the owner protected the nick.
    let impostor =
        token(&signed_in(sign_in(&server, json!({"nick": "ana"})).await, "before").await);
    assert_eq!(
        post_as(&server, &impostor, "hi", "before-1").await.status(),
        StatusCode::CREATED
    );
    let bo = token(&signed_in(sign_in(&server, json!({"nick": "bo"})).await, "bo").await);

    let owner = signed_in(
        sign_in(
            &server,
            json!({"nick": "ana", "nick_password": ANA_PASSWORD}),
        )
        .await,
        "protecting ana",
    )
    .await;
    assert_eq!(
        rooms_status(&server, &impostor).await,
        StatusCode::UNAUTHORIZED
    );
    let answer = post_as(&server, &impostor, "still me", "before-2").await;
    let error = expect_error(answer, StatusCode::UNAUTHORIZED, "an old token posts").await;
    assert!(error.contains("sign in"), "{error}");
    let stream = http()
        .get(server.url("/api/rooms/lobby/events"))
        .bearer_auth(&impostor)
        .send()
        .await
        .unwrap();
    assert_eq!(
        stream.status(),
        StatusCode::UNAUTHORIZED,
        "an old token follows a room"
    );
    // The original routes take the old cookie for no one.
    let legacy = http()
        .post(server.url("/post"))
        .header("cookie", format!("hearth_session={impostor}"))
        .form(&[("message", "from the old cookie")])
        .send()
        .await
        .unwrap();
    assert!(legacy.status().is_success(), "anonymous use stays open");
    let history: Vec<Value> = http()
        .get(server.url("/api/rooms/lobby/messages"))
        .bearer_auth(token(&owner))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        history
            .iter()
            .all(|m| m["nick"] != "ana" || m["text"] == "hi"),
        "nothing new under ana's nick: {history:?}"
    );

    // Other nicks' sessions are untouched; the owner's works.
    assert_eq!(rooms_status(&server, &bo).await, StatusCode::OK);
    assert_eq!(rooms_status(&server, &token(&owner)).await, StatusCode::OK);

    // bo's token edited to say "ana" is refused (its signature no longer
    // matches), and so is it re-signed with a guessed key.
    let (payload, tag) = bo.split_once('.').unwrap();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["nick"] = json!("ana");
    claims["prot"] = json!(true);
    let edited = format!(
        "{}.{tag}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap())
    );
    assert_eq!(
        rooms_status(&server, &edited).await,
        StatusCode::UNAUTHORIZED
    );
    let answer = post_as(&server, &edited, "I am ana", "edited-1").await;
    expect_error(answer, StatusCode::UNAUTHORIZED, "an edited token posts").await;
}

#[tokio::test]
async fn wrong_nick_passwords_back_off_per_address() {
    let clock = LimitsClock::default();
    let server = TestServer::start_with(|c| {
        c.password_backoff = Duration::from_secs(1);
        c.password_backoff_max = Duration::from_secs(60);
        c.limits_clock = clock.clone();
    })
    .await;
    let owner = http_from("127.0.0.2");
    let guesser = http_from("127.0.0.1");
    let url = server.url("");
    signed_in(
        sign_in_from(
            &owner,
            &url,
            json!({"nick": "ana", "nick_password": ANA_PASSWORD}),
        )
        .await,
        "protecting ana",
    )
    .await;
    refused(
        sign_in_from(
            &guesser,
            &url,
            json!({"nick": "ana", "nick_password": "guess one"}),
        )
        .await,
        "nick_protected",
        "first guess",
    )
    .await;
    // At once, even the right password is not checked: the address waits.
    let early = sign_in_from(
        &guesser,
        &url,
        json!({"nick": "ana", "nick_password": ANA_PASSWORD}),
    )
    .await;
    assert_eq!(early.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(early.headers()["retry-after"], "1");
    // The owner, elsewhere, is not held up.
    signed_in(
        sign_in_from(
            &owner,
            &url,
            json!({"nick": "ana", "nick_password": ANA_PASSWORD}),
        )
        .await,
        "the owner meanwhile",
    )
    .await;
    clock.advance(Duration::from_secs(1));
    refused(
        sign_in_from(
            &guesser,
            &url,
            json!({"nick": "ana", "nick_password": "guess two"}),
        )
        .await,
        "nick_protected",
        "second guess",
    )
    .await;
    let early = sign_in_from(
        &guesser,
        &url,
        json!({"nick": "ana", "nick_password": "guess three"}),
    )
    .await;
    assert_eq!(early.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(early.headers()["retry-after"], "2", "the wait doubles");
}

#[tokio::test]
async fn a_protection_unused_for_the_lapse_lapses() {
    let clock = LimitsClock::default();
    let server = TestServer::start_with(|c| c.nicks_clock = clock.clone()).await;
    let owner = token(
        &signed_in(
            sign_in(
                &server,
                json!({"nick": "ana", "nick_password": ANA_PASSWORD}),
            )
            .await,
            "protecting ana",
        )
        .await,
    );
    // Signed in to on day 89, so it holds until day 179.
    clock.advance(89 * DAY);
    refused(
        sign_in(&server, json!({"nick": "ana"})).await,
        "nick_protected",
        "day 89",
    )
    .await;
    signed_in(
        sign_in(
            &server,
            json!({"nick": "ana", "nick_password": ANA_PASSWORD}),
        )
        .await,
        "the owner on day 89",
    )
    .await;
    clock.advance(89 * DAY);
    refused(
        sign_in(&server, json!({"nick": "ana"})).await,
        "nick_protected",
        "day 178",
    )
    .await;
    assert_eq!(whoami(&server, &owner).await["protected"], true);

    // 90 days unused: the nick is anyone's again.
    clock.advance(2 * DAY);
    assert_eq!(whoami(&server, &owner).await["protected"], false);
    let newcomer = signed_in(sign_in(&server, json!({"nick": "ana"})).await, "day 180").await;
    assert_eq!(newcomer["protected"], false);
    // And whoever protects it now owns it: the old password and the old
    // tokens no longer count.
    let new_owner = signed_in(
        sign_in(
            &server,
            json!({"nick": "ana", "nick_password": "a new owner's password"}),
        )
        .await,
        "protecting it anew",
    )
    .await;
    assert_eq!(new_owner["protected"], true);
    refused(
        sign_in(
            &server,
            json!({"nick": "ana", "nick_password": ANA_PASSWORD}),
        )
        .await,
        "nick_protected",
        "the old owner's password",
    )
    .await;
    assert_eq!(
        rooms_status(&server, &owner).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        rooms_status(&server, &token(&newcomer)).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        rooms_status(&server, &token(&new_owner)).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_retry_under_a_new_session_of_a_protected_nick_is_stored_once() {
    let server = TestServer::start().await;
    let first = token(
        &signed_in(
            sign_in(
                &server,
                json!({"nick": "ana", "nick_password": ANA_PASSWORD}),
            )
            .await,
            "protecting ana",
        )
        .await,
    );
    let created = post_as(&server, &first, "sent once", "outbox-1").await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let original: Value = created.json().await.unwrap();
    // Its 201 was lost; the app signs in again and retries.
    let second = token(
        &signed_in(
            sign_in(
                &server,
                json!({"nick": "ana", "nick_password": ANA_PASSWORD}),
            )
            .await,
            "signing in again",
        )
        .await,
    );
    assert_ne!(first, second);
    let retried = post_as(&server, &second, "sent once", "outbox-1").await;
    assert_eq!(retried.status(), StatusCode::OK);
    let repeat: Value = retried.json().await.unwrap();
    assert_eq!(repeat["id"], original["id"]);
    let history: Vec<Value> = http()
        .get(server.url("/api/rooms/lobby/messages"))
        .bearer_auth(&second)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        history.iter().filter(|m| m["text"] == "sent once").count(),
        1,
        "{history:?}"
    );
    // Unprotected nicks keep per-session keys: another "bo" session's
    // client_id is its own.
    let bo1 = token(&signed_in(sign_in(&server, json!({"nick": "bo"})).await, "bo").await);
    let bo2 = token(&signed_in(sign_in(&server, json!({"nick": "bo"})).await, "bo").await);
    assert_eq!(
        post_as(&server, &bo1, "one", "same-id").await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        post_as(&server, &bo2, "two", "same-id").await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn signing_out_revokes_the_token() {
    let server = TestServer::start().await;
    let kept = token(&signed_in(sign_in(&server, json!({"nick": "bo"})).await, "bo").await);
    let ended = token(&signed_in(sign_in(&server, json!({"nick": "bo"})).await, "bo").await);
    let out = http()
        .delete(server.url("/api/session"))
        .bearer_auth(&ended)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let cleared = out.headers()["set-cookie"].to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(
        rooms_status(&server, &ended).await,
        StatusCode::UNAUTHORIZED
    );
    let answer = post_as(&server, &ended, "after sign-out", "out-1").await;
    let error = expect_error(answer, StatusCode::UNAUTHORIZED, "a signed-out token posts").await;
    assert!(error.contains("signed out"), "{error}");
    // As a cookie too.
    let by_cookie = http()
        .get(server.url("/api/session"))
        .header("cookie", format!("hearth_session={ended}"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), StatusCode::UNAUTHORIZED);
    // The nick's other session goes on; signing out without a session is
    // still 204.
    assert_eq!(rooms_status(&server, &kept).await, StatusCode::OK);
    let anonymous = http()
        .delete(server.url("/api/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn the_original_login_form_refuses_a_protected_nick() {
    let server = TestServer::start().await;
    signed_in(
        sign_in(
            &server,
            json!({"nick": "ana", "nick_password": ANA_PASSWORD}),
        )
        .await,
        "protecting ana",
    )
    .await;
    let no_redirects = http_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = |user: &'static str| {
        no_redirects
            .post(server.url("/login"))
            .form(&[("user", user)])
            .send()
    };
    let answer = login("ana").await.unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert!(answer.headers().get("set-cookie").is_none());
    let answer = login("\u{0430}na").await.unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "a look-alike");
    let answer = login("bo").await.unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert!(answer.headers().get("set-cookie").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protection_and_sign_out_hold_on_every_node_of_a_cluster() {
    let cluster = Cluster::new();
    let (a, b) = (cluster.node().await, cluster.node().await);
    // Someone is "ana" on B; the owner protects the nick on A.
    let impostor = token(&signed_in(sign_in(&b, json!({"nick": "ana"})).await, "on B").await);
    assert_eq!(rooms_status(&b, &impostor).await, StatusCode::OK);
    let owner = token(
        &signed_in(
            sign_in(&a, json!({"nick": "ana", "nick_password": ANA_PASSWORD})).await,
            "protecting on A",
        )
        .await,
    );
    assert_eq!(rooms_status(&b, &impostor).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        rooms_status(&b, &owner).await,
        StatusCode::OK,
        "A's token on B"
    );
    refused(
        sign_in(&b, json!({"nick": "ana"})).await,
        "nick_protected",
        "on B",
    )
    .await;
    let on_b = token(
        &signed_in(
            sign_in(&b, json!({"nick": "ana", "nick_password": ANA_PASSWORD})).await,
            "the owner on B",
        )
        .await,
    );
    // A retry on B of a post made on A is the same message.
    let created = post_as(&a, &owner, "once", "both-nodes").await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let retried = post_as(&b, &on_b, "once", "both-nodes").await;
    assert_eq!(retried.status(), StatusCode::OK);
    // Signing out on A ends the token on B.
    let out = http()
        .delete(a.url("/api/session"))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert_eq!(rooms_status(&b, &owner).await, StatusCode::UNAUTHORIZED);
    assert_eq!(rooms_status(&b, &on_b).await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_signed_in_while_redis_is_down_cannot_take_a_protected_nick() {
    let dir = tempfile::tempdir().unwrap();
    let mut redis = RedisServer::start(&dir.path().join("redis"));
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(&data);
    config.backend = Backend::Redis(RedisConfig::new(redis.url()));
    let node = TestServer::start_in(data, config).await;
    signed_in(
        sign_in(&node, json!({"nick": "ana", "nick_password": ANA_PASSWORD})).await,
        "protecting ana",
    )
    .await;
    redis.kill();
    // Without the store the server cannot tell who is protected: a sign-in
    // gets a session that is checked when it is used.
    let during =
        token(&signed_in(sign_in(&node, json!({"nick": "ana"})).await, "Redis down").await);
    let answer = post_as(&node, &during, "while Redis is down", "down-1").await;
    expect_error(
        answer,
        StatusCode::SERVICE_UNAVAILABLE,
        "posting while Redis is down",
    )
    .await;
    redis.restart();
    let (node_ref, during_ref) = (&node, &during);
    let status = eventually("Redis answers again", move || async move {
        let status = rooms_status(node_ref, during_ref).await;
        (status != StatusCode::SERVICE_UNAVAILABLE).then_some(status)
    })
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the nick is protected");
    let answer = post_as(&node, &during, "after Redis is back", "down-2").await;
    expect_error(
        answer,
        StatusCode::UNAUTHORIZED,
        "posting after Redis is back",
    )
    .await;
}

#[tokio::test]
async fn the_server_says_it_protects_nicks() {
    let server = TestServer::start().await;
    let info: hearth_proto::ServerInfo = http()
        .get(server.url("/api/info"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        info.features.iter().any(|f| f == "nicks"),
        "{:?}",
        info.features
    );
}
