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

/// What a browser's reload costs: the page answers `304` to its `ETag`,
/// its script, style sheet and icon are named under a version and kept for
/// a year; text is compressed when the browser accepts it.
#[tokio::test]
async fn the_web_client_is_cached_and_compressed() {
    let server = TestServer::start().await;
    let first = http().get(server.url("/")).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(first.headers()["cache-control"], "no-cache");
    let page = first.text().await.unwrap();
    let script = page
        .split('"')
        .find(|s| s.starts_with("/v/") && s.ends_with("/app.js"))
        .unwrap_or_else(|| panic!("the page names a versioned app.js: {page}"))
        .to_owned();
    assert!(!page.contains("\"/app.js\""), "no unversioned script left");
    assert!(
        !page.contains("\"/favicon.svg\""),
        "the icon is versioned too"
    );

    let reload = http()
        .get(server.url("/"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(reload.status(), StatusCode::NOT_MODIFIED);
    assert!(reload.bytes().await.unwrap().is_empty());

    let asset = http().get(server.url(&script)).send().await.unwrap();
    assert_eq!(asset.status(), StatusCode::OK);
    let cache = asset.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cache.contains("immutable") && cache.contains("max-age=31536000"),
        "{cache}"
    );
    let plain = asset.bytes().await.unwrap();
    // A module it imports by a relative path is under the same version.
    let sibling = script.replace("/app.js", "/transport.js");
    let sibling = http().get(server.url(&sibling)).send().await.unwrap();
    assert_eq!(sibling.status(), StatusCode::OK);
    assert!(
        sibling.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    // An older version's page still gets today's files, not kept.
    let stale = http()
        .get(server.url("/v/0000/app.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::OK);
    assert_eq!(stale.headers()["cache-control"], "no-cache");

    // Compressed for a browser that accepts it (the client here does not
    // decompress, so the bytes on the wire are what it reads).
    let gzipped = http()
        .get(server.url(&script))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    let wire = gzipped.bytes().await.unwrap();
    assert!(
        wire.len() < plain.len() / 2,
        "{} of {}",
        wire.len(),
        plain.len()
    );
    let br = http()
        .get(server.url("/"))
        .header("accept-encoding", "br, gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(br.headers()["content-encoding"], "br");
    // The event streams are never compressed.
    let token = server.signed_in("ana").await.token().unwrap().to_owned();
    let stream = http()
        .get(server.url("/api/rooms/general/events"))
        .bearer_auth(&token)
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert!(!stream.headers().contains_key("content-encoding"));
}
