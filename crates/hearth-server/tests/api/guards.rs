//! The checks before every route (`guard`), as a browser and an attacker's
//! page meet them: a `Host` that does not name the server is `421` on every
//! route, event streams included; a write from another site is `403`, while
//! curl, the original page and the clients keep working; nicks that hide
//! characters are refused; over TLS the session cookie is `Secure` and HSTS
//! is sent (not on plain HTTP); the data dir is owner-only.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HOST, ORIGIN, SET_COOKIE, STRICT_TRANSPORT_SECURITY};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

/// Sends `head` (a whole request head) on a new connection and returns the
/// answer's head and, when it has a `Content-Length`, its body (an event
/// stream's answer: the head only).
async fn raw_request(server: &TestServer, head: &str) -> String {
    let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&answer).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end].lines().find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            });
            match length {
                Some(length) if answer.len() < end + 4 + length => {}
                _ => return text,
            }
        }
        match tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buffer)).await {
            Ok(Ok(n)) if n > 0 => answer.extend_from_slice(&buffer[..n]),
            _ => return String::from_utf8_lossy(&answer).into_owned(),
        }
    }
}

fn status_line(answer: &str) -> &str {
    answer.lines().next().unwrap_or_default()
}

#[tokio::test]
async fn a_host_that_names_another_server_is_refused_on_every_route() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let token = ana.token().expect("token").to_owned();
    let evil = format!("rebind.evil.example:{}", server.addr.port());

    // What a rebinding page's requests look like: the attacker's name.
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/api/info"),
        ("GET", "/api/rooms"),
        ("GET", "/api/rooms/general/messages"),
        ("GET", "/healthz"),
        ("GET", "/login"),
        ("POST", "/api/session"),
        ("POST", "/post"),
    ] {
        let request = http()
            .request(method.parse().unwrap(), server.url(path))
            .header(HOST, &evil)
            .bearer_auth(&token);
        let request = if method == "POST" {
            request.json(&serde_json::json!({"nick": "mallory"}))
        } else {
            request
        };
        let error = expect_error(
            request.send().await.unwrap(),
            StatusCode::MISDIRECTED_REQUEST,
            &format!("{method} {path}"),
        )
        .await;
        assert!(
            error.contains(&evil) && error.contains("--public-host"),
            "{error}"
        );
    }

    // Event streams, which plain HTTP serves past the router's connection
    // code (net::direct), are refused the same way.
    for path in [
        format!("/api/rooms/general/events?token={token}"),
        format!("/api/events?rooms=general&token={token}"),
        "/stream".to_owned(),
    ] {
        let answer = raw_request(
            &server,
            &format!("GET {path} HTTP/1.1\r\nHost: {evil}\r\nAccept: text/event-stream\r\n\r\n"),
        )
        .await;
        assert!(
            status_line(&answer).starts_with("HTTP/1.1 421"),
            "{path}: {answer}"
        );
        assert!(answer.contains("--public-host"), "{path}: {answer}");
        assert!(!answer.contains("event: ready"), "{path}: {answer}");
    }

    // Nothing reached the room.
    let history = ana.history(&room("general"), None, None).await.unwrap();
    assert!(history.is_empty(), "{history:?}");
}

#[tokio::test]
async fn the_servers_own_names_and_public_hosts_are_accepted() {
    let server = TestServer::start_with(|c| c.public_hosts = vec!["chat.example.org".into()]).await;
    let port = server.addr.port();
    let machine = gethostname().to_lowercase();
    let first_label = machine.split('.').next().unwrap().to_owned();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "localhost".to_owned(),
        format!("[::1]:{port}"),
        format!("{machine}:{port}"),
        format!("{first_label}.local:{port}"),
        "chat.example.org".to_owned(),
        format!("Chat.Example.Org:{port}"),
    ] {
        let response = http()
            .get(server.url("/api/info"))
            .header(HOST, &host)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "Host: {host}");
    }
    // A stream with the server's own name opens.
    let answer = raw_request(
        &server,
        &format!("GET /stream HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n"),
    )
    .await;
    assert!(status_line(&answer).contains(" 200"), "{answer}");
    // HTTP/1.0 without a Host passes.
    let answer = raw_request(&server, "GET /api/info HTTP/1.0\r\n\r\n").await;
    assert!(status_line(&answer).contains(" 200"), "{answer}");
    let answer = raw_request(
        &server,
        "GET /api/info HTTP/1.1\r\nHost: chat.example.org.evil.example\r\n\r\n",
    )
    .await;
    assert!(status_line(&answer).contains(" 421"), "{answer}");
}

#[tokio::test]
async fn public_host_star_turns_the_check_off() {
    let info = |server: &TestServer| {
        http()
            .get(server.url("/api/info"))
            .header(HOST, "anything.example")
            .send()
    };
    let checked = TestServer::start_with(|c| c.public_hosts = vec!["other.example".into()]).await;
    assert_eq!(
        info(&checked).await.unwrap().status(),
        StatusCode::MISDIRECTED_REQUEST
    );
    let open = TestServer::start_with(|c| c.public_hosts = vec!["*".into()]).await;
    assert_eq!(info(&open).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn the_binary_takes_public_hosts_from_flags_and_the_environment() {
    let data = tempfile::tempdir().unwrap();
    let server = ChildServer::start_with_env(
        data.path(),
        &["--public-host", "one.example"],
        &[("HEARTH_PUBLIC_HOST", "two.example,three.example:8443")],
    )
    .await;
    let get = |host: &'static str| {
        http()
            .get(server.url("/api/info"))
            .header(HOST, host)
            .send()
    };
    // A flag given on the command line wins over the environment (clap).
    assert_eq!(get("one.example").await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        get("two.example").await.unwrap().status(),
        StatusCode::MISDIRECTED_REQUEST
    );
    drop(server);

    let data = tempfile::tempdir().unwrap();
    let server = ChildServer::start_with_env(
        data.path(),
        &[],
        &[("HEARTH_PUBLIC_HOST", "two.example,three.example:8443")],
    )
    .await;
    for host in ["two.example", "three.example:1234"] {
        let response = http()
            .get(server.url("/api/info"))
            .header(HOST, host)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{host}");
    }
    let response = http()
        .get(server.url("/api/info"))
        .header(HOST, "four.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::MISDIRECTED_REQUEST);
}

#[tokio::test]
async fn a_page_on_another_site_cannot_post_or_sign_in() {
    let server = TestServer::start().await;
    let own_origin = format!("http://127.0.0.1:{}", server.addr.port());

    // What a browser sends for a form another site submits.
    let cross_site: [(&str, &str, &str); 5] = [
        ("sec-fetch-site", "cross-site", "http://evil.example"),
        ("sec-fetch-site", "same-site", "http://other.lan.example"),
        ("origin-only", "", "http://evil.example"),
        ("origin-only", "", "null"),
        ("origin-only", "", "http://127.0.0.1:1"),
    ];
    for (kind, site, origin) in cross_site {
        let mut post = http()
            .post(server.url("/post"))
            .form(&[("message", "pwned")])
            .header(ORIGIN, origin);
        let mut login = http()
            .post(server.url("/login"))
            .form(&[("user", "mallory")])
            .header(ORIGIN, origin);
        let mut session = http()
            .post(server.url("/api/session"))
            .json(&serde_json::json!({"nick": "mallory"}))
            .header(ORIGIN, origin);
        if kind == "sec-fetch-site" {
            post = post.header("sec-fetch-site", site);
            login = login.header("sec-fetch-site", site);
            session = session.header("sec-fetch-site", site);
        }
        for (what, request) in [("/post", post), ("/login", login), ("session", session)] {
            let response = request.send().await.unwrap();
            assert!(
                response.headers().get(SET_COOKIE).is_none(),
                "{what} {kind} {origin}"
            );
            let error = expect_error(
                response,
                StatusCode::FORBIDDEN,
                &format!("{what} {kind} {site} {origin}"),
            )
            .await;
            assert!(error.contains("cross-site"), "{error}");
        }
    }

    // The original page (same origin), a typed URL, curl and the clients.
    let allowed: [&[(&str, &str)]; 4] = [
        &[("sec-fetch-site", "same-origin"), ("origin", &own_origin)],
        &[("sec-fetch-site", "none")],
        &[("origin", &own_origin)],
        &[],
    ];
    for (n, headers) in allowed.iter().enumerate() {
        let mut request = http()
            .post(server.url("/post"))
            .form(&[("message", format!("allowed {n}"))]);
        for (name, value) in *headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        assert!(response.status().is_success(), "{headers:?}: {response:?}");
    }
    let ana = server.signed_in("ana").await;
    post(&ana, "general", "from the client").await;
    let texts: Vec<String> = ana
        .history(&room("general"), None, None)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.text.to_string())
        .collect();
    assert_eq!(
        texts,
        [
            "allowed 0",
            "allowed 1",
            "allowed 2",
            "allowed 3",
            "from the client"
        ]
    );
}

#[tokio::test]
async fn nicks_that_hide_characters_are_refused() {
    let server = TestServer::start().await;
    for nick in [
        "ana\u{202E}",
        "a\u{200B}na",
        "\u{2066}ana\u{2069}",
        "ana\u{FE0F}",
        "an\u{00AD}a",
    ] {
        let response = http()
            .post(server.url("/api/session"))
            .json(&serde_json::json!({ "nick": nick }))
            .send()
            .await
            .unwrap();
        let error = expect_error(response, StatusCode::BAD_REQUEST, &format!("{nick:?}")).await;
        assert!(error.contains("invisible characters"), "{error}");
    }
}

#[tokio::test]
async fn over_tls_the_cookie_is_secure_and_hsts_is_sent() {
    let certs = tempfile::tempdir().unwrap();
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let files = hearth_server::config::TlsFiles {
        cert: certs.path().join("cert.pem"),
        key: certs.path().join("key.pem"),
    };
    std::fs::write(&files.cert, made.cert.pem()).unwrap();
    std::fs::write(&files.key, made.signing_key.serialize_pem()).unwrap();
    let tls = TestServer::start_with(|c| c.tls = Some(files)).await;
    let insecure = http_builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let url = format!("https://localhost:{}/api/session", tls.addr.port());
    let response = insecure
        .post(&url)
        .json(&serde_json::json!({"nick": "ana"}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{response:?}");
    assert_eq!(
        response.headers().get(STRICT_TRANSPORT_SECURITY).unwrap(),
        "max-age=31536000"
    );
    let cookie = response
        .headers()
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap();
    let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
    assert!(attributes.contains(&"Secure"), "{cookie}");
    assert!(attributes.contains(&"HttpOnly"), "{cookie}");
    // The page too.
    let page = insecure
        .get(format!("https://localhost:{}/", tls.addr.port()))
        .send()
        .await
        .unwrap();
    assert!(page.headers().contains_key(STRICT_TRANSPORT_SECURITY));

    // Plain HTTP: neither (a browser would drop a Secure cookie there).
    let plain = TestServer::start().await;
    let response = http()
        .post(plain.url("/api/session"))
        .json(&serde_json::json!({"nick": "ana"}))
        .send()
        .await
        .unwrap();
    assert!(!response.headers().contains_key(STRICT_TRANSPORT_SECURITY));
    let cookie = response
        .headers()
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(!cookie.contains("Secure"), "{cookie}");
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_dir_keeps_its_files_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("hearth-data");
    let server = ChildServer::start(&data, &[]).await;
    let mut ana = hearth_client::Client::new(&format!("http://{}", server.addr)).unwrap();
    ana.sign_in("ana", None).await.unwrap();
    ana.post(&room("general"), "kept private", "guards-1")
        .await
        .unwrap();
    if !redis_backend() {
        // (On Redis the test's own redis-server made the folder first.)
        assert_eq!(mode(&data), 0o700, "the data dir");
    }
    assert_eq!(mode(&data.join("files")), 0o700, "the files folder");
    assert_eq!(mode(&data.join("uploading")), 0o700, "the uploads folder");
    assert_eq!(mode(&data.join("secret.key")), 0o600, "the secret");
    if !redis_backend() {
        for file in ["hearth.db", "hearth.db-wal", "hearth.db-shm"] {
            assert_eq!(mode(&data.join(file)), 0o600, "{file}");
        }
    }
}

fn gethostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned())
}
