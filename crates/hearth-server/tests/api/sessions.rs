//! Sessions, `/api/info`, `/api/rooms`, ops endpoints and the web client's
//! pages.

use hearth_proto::{AuthMode, RoomSummary};
use hearth_server::config::PasswordSetting;
use reqwest::StatusCode;

use crate::support::*;

#[tokio::test]
async fn a_session_is_created_with_a_trimmed_nick_and_a_cookie() {
    let server = TestServer::start().await;
    let response = http()
        .post(server.url("/api/session"))
        .json(&serde_json::json!({"nick": "  ana  "}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let cookie = response
        .headers()
        .get("set-cookie")
        .expect("session cookie")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("hearth_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["nick"], "ana");
    let token = body["token"].as_str().unwrap();
    assert!(!token.is_empty());
    // The token works, and the cookie alone works too.
    let with_bearer = http()
        .get(server.url("/api/rooms"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(with_bearer.status(), StatusCode::OK);
    let cookie_pair = cookie.split(';').next().unwrap();
    let with_cookie = http()
        .get(server.url("/api/rooms"))
        .header("cookie", cookie_pair)
        .send()
        .await
        .unwrap();
    assert_eq!(with_cookie.status(), StatusCode::OK);
    // A page whose cookie it cannot read asks who it is.
    let whoami: serde_json::Value = http()
        .get(server.url("/api/session"))
        .header("cookie", cookie_pair)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(whoami["nick"], "ana");
    let anonymous = http().get(server.url("/api/session")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn info_is_public_and_reports_the_auth_mode() {
    let open = TestServer::start().await;
    let info = open.client().info().await.unwrap();
    assert_eq!(info.auth, AuthMode::None);
    assert_eq!(info.default_room.as_str(), "general");
    assert!(info.rooms.iter().any(|r| r.as_str() == "general"));
    assert_eq!(info.max_text_chars, 4000);

    let closed = TestServer::start_with(|c| {
        c.password = Some(PasswordSetting::Plain("sesame".into()));
    })
    .await;
    assert_eq!(
        closed.client().info().await.unwrap().auth,
        AuthMode::Password
    );
    let mut client = closed.client();
    let err = client.sign_in("ana", None).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
    let err = client.sign_in("ana", Some("guess")).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
    client.sign_in("ana", Some("sesame")).await.unwrap();
    assert!(client.rooms().await.is_ok());
}

#[tokio::test]
async fn a_password_hash_is_accepted_in_place_of_the_password() {
    let hash = hearth_server::auth::hash_password("sesame").unwrap();
    let server = TestServer::start_with(|c| c.password = Some(PasswordSetting::Hash(hash))).await;
    let mut client = server.client();
    assert!(client.sign_in("ana", Some("nope")).await.is_err());
    client.sign_in("ana", Some("sesame")).await.unwrap();
}

#[tokio::test]
async fn rooms_exist_once_used_and_count_distinct_online_nicks() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let bo = server.signed_in("bo").await;
    // Reading rooms needs a session.
    let anonymous = server.client().rooms().await.unwrap_err();
    assert_eq!(anonymous.status(), Some(StatusCode::UNAUTHORIZED));

    let mut a1 = open_room(&ana, "dev", None).await;
    let mut a2 = open_room(&ana, "dev", None).await;
    let mut b1 = open_room(&bo, "dev", None).await;
    read_start(&mut a1).await;
    read_start(&mut a2).await;
    read_start(&mut b1).await;
    let posted = post(&bo, "ops", "deploying").await;

    let rooms: Vec<RoomSummary> = ana.rooms().await.unwrap();
    let find = |name: &str| rooms.iter().find(|r| r.room.as_str() == name).cloned();
    let dev = find("dev").expect("a subscribed room exists");
    assert_eq!(dev.online, 2, "two nicks, three streams");
    assert_eq!(dev.last_id, None);
    let ops = find("ops").expect("a posted-to room exists");
    assert_eq!(ops.online, 0);
    assert_eq!(ops.last_id, Some(posted.id));
    assert!(find("general").is_some());
    let info = server.client().info().await.unwrap();
    for name in ["dev", "ops", "general"] {
        assert!(info.rooms.iter().any(|r| r.as_str() == name), "{name}");
    }
}

#[tokio::test]
async fn health_and_metrics_are_public() {
    let server = TestServer::start().await;
    let client = server.signed_in("ana").await;
    post(&client, "general", "counted").await;
    let health = http().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let metrics = http().get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    let text = metrics.text().await.unwrap();
    assert!(text.contains("hearth_messages_in_total 1"), "{text}");
    assert!(text.contains("hearth_connections_open"), "{text}");
    assert!(text.contains("hearth_broker_post_seconds"), "{text}");
}

#[tokio::test]
async fn the_web_client_is_served_with_security_headers() {
    let server = TestServer::start().await;
    for path in ["/", "/r/general", "/r/dev-ops"] {
        let response = http().get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers();
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(headers.contains_key("referrer-policy"));
    }
    let bad = http()
        .get(server.url("/r/Not%20A%20Room"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn signing_out_clears_the_cookie() {
    let server = TestServer::start().await;
    let response = http()
        .delete(server.url("/api/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("hearth_session=;") && cookie.contains("Max-Age=0"),
        "{cookie}"
    );
}
