//! Files and images (protocol v1.1): uploads, downloads, thumbnails,
//! messages that share uploads, and the sweep; on whichever backend the
//! suite runs on.

use std::io::Cursor;
use std::time::Duration;

use hearth_client::Client;
use hearth_proto::{FileInfo, Message, ServerInfo};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use serde_json::json;

use crate::support::*;

/// The limit the tests set: small, so exact-limit files are cheap.
const LIMIT: u64 = 64 * 1024;

async fn small_limit() -> TestServer {
    TestServer::start_with(|config| config.max_file_bytes = LIMIT).await
}

fn token(client: &Client) -> &str {
    client.token().expect("signed in")
}

/// `POST /api/files?name=` with `body`; the raw response.
async fn upload_raw(
    server: &TestServer,
    client: &Client,
    name: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    http()
        .post(server.url("/api/files"))
        .query(&[("name", name)])
        .bearer_auth(token(client))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(body)
        .send()
        .await
        .expect("upload answers")
}

/// Uploads and expects a `201`.
async fn upload(server: &TestServer, client: &Client, name: &str, body: &[u8]) -> FileInfo {
    let response = upload_raw(server, client, name, body.to_vec()).await;
    assert_eq!(response.status(), StatusCode::CREATED, "upload of {name}");
    response.json().await.expect("FileInfo")
}

async fn get(server: &TestServer, client: &Client, path: &str) -> reqwest::Response {
    http()
        .get(server.url(path))
        .bearer_auth(token(client))
        .send()
        .await
        .expect("download answers")
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 120])
    });
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

/// A PNG whose header claims 100,000 × 100,000 pixels (40 GB decoded) in a
/// few hundred bytes: a decompression bomb.
fn png_bomb() -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc32(kind, data).to_be_bytes());
    }
    fn crc32(kind: &[u8], data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &byte in kind.iter().chain(data) {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&100_000u32.to_be_bytes());
    header.extend_from_slice(&100_000u32.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &header);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

fn header(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(&name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("{name} header"))
}

#[tokio::test]
async fn the_server_says_it_takes_files_and_how_large() {
    let server = small_limit().await;
    let info: ServerInfo = http()
        .get(server.url("/api/info"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        info.features.iter().any(|f| f == "files"),
        "{:?}",
        info.features
    );
    assert_eq!(info.max_file_bytes, Some(LIMIT));
}

#[tokio::test]
async fn bytes_round_trip_exactly_up_to_the_limit_and_not_one_byte_more() {
    let server = small_limit().await;
    let ana = server.signed_in("ana").await;
    let exact: Vec<u8> = (0..LIMIT).map(|i| (i * 7 % 251) as u8).collect();
    let info = upload(&server, &ana, "exact.bin", &exact).await;
    assert_eq!(info.size, LIMIT);
    assert_eq!(info.name, "exact.bin");
    assert_eq!(info.content_type, "application/octet-stream");
    assert_eq!(info.url, format!("/api/files/{}", info.id));
    assert!(info.thumb_url.is_none() && info.width.is_none());
    let response = get(&server, &ana, &info.url).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.unwrap().as_ref(), exact.as_slice());

    // One byte over, with a Content-Length: refused before the body is read.
    let mut over = exact.clone();
    over.push(1);
    let error = expect_error(
        upload_raw(&server, &ana, "over.bin", over.clone()).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "one byte over the limit",
    )
    .await;
    assert!(error.contains("64 KiB"), "{error}");

    // The same, chunked (no Content-Length): cut off at the limit.
    let chunks = futures::stream::iter(
        over.chunks(4096)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let response = http()
        .post(server.url("/api/files?name=chunked.bin"))
        .bearer_auth(token(&ana))
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    expect_error(
        response,
        StatusCode::PAYLOAD_TOO_LARGE,
        "chunked over the limit",
    )
    .await;

    // Nothing of the refused uploads is kept: one stored file, no leftovers.
    let stored = std::fs::read_dir(server.dir.path().join("files/files"))
        .unwrap()
        .count();
    assert_eq!(stored, 1, "only the accepted upload is stored");
    let staging = std::fs::read_dir(server.dir.path().join("uploading"))
        .unwrap()
        .count();
    assert_eq!(staging, 0, "no half-received upload is left");
}

#[tokio::test]
async fn bad_uploads_get_clear_errors() {
    let server = small_limit().await;
    let ana = server.signed_in("ana").await;
    let no_auth = http()
        .post(server.url("/api/files?name=a.txt"))
        .body("hi")
        .send()
        .await
        .unwrap();
    expect_error(no_auth, StatusCode::UNAUTHORIZED, "no token").await;
    for (query, case) in [
        ("", "no name"),
        ("?name=", "empty name"),
        ("?name=a%2Fb.txt", "a slash"),
        ("?name=a%5Cb.txt", "a backslash"),
        ("?name=a%0Ab.txt", "a newline"),
        ("?name=..", "dot dot"),
    ] {
        let response = http()
            .post(server.url(&format!("/api/files{query}")))
            .bearer_auth(token(&ana))
            .body("hi")
            .send()
            .await
            .unwrap();
        expect_error(response, StatusCode::BAD_REQUEST, case).await;
    }
    let long = "x".repeat(256);
    expect_error(
        upload_raw(&server, &ana, &long, b"hi".to_vec()).await,
        StatusCode::BAD_REQUEST,
        "256 characters",
    )
    .await;
    expect_error(
        upload_raw(&server, &ana, "empty.txt", Vec::new()).await,
        StatusCode::BAD_REQUEST,
        "an empty file",
    )
    .await;
    for path in [
        "/api/files/0123456789abcdef0123456789abcdef",
        "/api/files/nope",
        "/api/files/0123456789abcdef0123456789abcdef/thumb",
    ] {
        expect_error(get(&server, &ana, path).await, StatusCode::NOT_FOUND, path).await;
    }
}

#[tokio::test]
async fn downloads_need_a_session_by_header_cookie_or_token() {
    let server = small_limit().await;
    let ana = server.signed_in("ana").await;
    let info = upload(&server, &ana, "note.txt", b"hello").await;
    let anonymous = http().get(server.url(&info.url)).send().await.unwrap();
    expect_error(anonymous, StatusCode::UNAUTHORIZED, "no session").await;
    let by_query = http()
        .get(server.url(&format!("{}?token={}", info.url, token(&ana))))
        .send()
        .await
        .unwrap();
    assert_eq!(by_query.status(), StatusCode::OK);
    let by_cookie = http()
        .get(server.url(&info.url))
        .header(header::COOKIE, format!("hearth_session={}", token(&ana)))
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.bytes().await.unwrap().as_ref(), b"hello");
}

#[tokio::test]
async fn ranges_are_served_as_partial_content() {
    let server = small_limit().await;
    let ana = server.signed_in("ana").await;
    let body: Vec<u8> = (0..10_000u32).map(|i| (i % 256) as u8).collect();
    let info = upload(&server, &ana, "data.bin", &body).await;
    let full = get(&server, &ana, &info.url).await;
    assert_eq!(header(full.headers(), header::ACCEPT_RANGES), "bytes");
    let etag = header(full.headers(), header::ETAG).to_owned();

    let ranged = http()
        .get(server.url(&info.url))
        .bearer_auth(token(&ana))
        .header(header::RANGE, "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        header(ranged.headers(), header::CONTENT_RANGE),
        "bytes 100-199/10000"
    );
    assert_eq!(ranged.bytes().await.unwrap().as_ref(), &body[100..200]);

    let tail = http()
        .get(server.url(&info.url))
        .bearer_auth(token(&ana))
        .header(header::RANGE, "bytes=-10")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(tail.bytes().await.unwrap().as_ref(), &body[9_990..]);

    let outside = http()
        .get(server.url(&info.url))
        .bearer_auth(token(&ana))
        .header(header::RANGE, "bytes=20000-")
        .send()
        .await
        .unwrap();
    assert_eq!(outside.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        header(outside.headers(), header::CONTENT_RANGE),
        "bytes */10000"
    );

    let cached = http()
        .get(server.url(&info.url))
        .bearer_auth(token(&ana))
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn html_and_svg_never_run_in_the_servers_origin() {
    let server = small_limit().await;
    let ana = server.signed_in("ana").await;
    let uploads = [
        (
            "page.html",
            &b"<!doctype html><script>alert(document.cookie)</script>"[..],
        ),
        (
            "image.svg",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
        ),
        // Named like an image, declared as one: still not one.
        ("fake.png", b"<html><script>alert(1)</script></html>"),
    ];
    for (name, body) in uploads {
        let response = http()
            .post(server.url("/api/files"))
            .query(&[("name", name)])
            .bearer_auth(token(&ana))
            .header(header::CONTENT_TYPE, "image/png")
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{name}");
        let info: FileInfo = response.json().await.unwrap();
        assert!(info.thumb_url.is_none(), "{name} is no image");
        let served = get(&server, &ana, &info.url).await;
        let headers = served.headers();
        assert_eq!(
            header(headers, header::CONTENT_TYPE),
            "application/octet-stream",
            "{name}"
        );
        assert_eq!(
            header(headers, header::CONTENT_DISPOSITION),
            format!("attachment; filename*=UTF-8''{name}"),
            "{name}"
        );
        assert_eq!(
            header(headers, header::X_CONTENT_TYPE_OPTIONS),
            "nosniff",
            "{name}"
        );
        assert_eq!(
            header(headers, header::CONTENT_SECURITY_POLICY),
            "default-src 'none'; sandbox",
            "{name}"
        );
    }
}

#[tokio::test]
async fn an_image_is_inline_with_its_size_and_a_thumbnail_of_at_most_320_px() {
    let server = TestServer::start().await;
    let ana = server.signed_in("ana").await;
    let photo = png(1200, 800);
    // Whatever its name and declared type, the bytes decide.
    let info = upload(&server, &ana, "photo.dat", &photo).await;
    assert_eq!(info.content_type, "image/png");
    assert_eq!((info.width, info.height), (Some(1200), Some(800)));
    let thumb_url = info.thumb_url.clone().expect("a thumbnail");
    assert_eq!(thumb_url, format!("/api/files/{}/thumb", info.id));

    let served = get(&server, &ana, &info.url).await;
    assert_eq!(header(served.headers(), header::CONTENT_TYPE), "image/png");
    assert!(header(served.headers(), header::CONTENT_DISPOSITION).starts_with("inline;"));
    assert_eq!(
        header(served.headers(), header::X_CONTENT_TYPE_OPTIONS),
        "nosniff"
    );
    assert_eq!(served.bytes().await.unwrap().as_ref(), photo.as_slice());

    let thumb = get(&server, &ana, &thumb_url).await;
    assert_eq!(thumb.status(), StatusCode::OK);
    let thumb = image::load_from_memory(&thumb.bytes().await.unwrap()).expect("decodes");
    assert_eq!((thumb.width(), thumb.height()), (320, 213));

    // A file that is not an image has no thumbnail.
    let text = upload(&server, &ana, "a.txt", b"plain").await;
    expect_error(
        get(&server, &ana, &format!("{}/thumb", text.url)).await,
        StatusCode::NOT_FOUND,
        "thumbnail of a text file",
    )
    .await;
}

#[tokio::test]
async fn a_decompression_bomb_gets_no_thumbnail_and_the_server_stays_small() {
    let dir = tempfile::tempdir().unwrap();
    let server = ChildServer::start(dir.path(), &[]).await;
    let mut ana = server.client();
    ana.sign_in("ana", None).await.unwrap();
    let before = server.rss_kib();
    let bomb = png_bomb();
    // A bound on a hang, not a speed check: a decoded bomb would take
    // minutes and 40 GB.
    let response = tokio::time::timeout(
        Duration::from_secs(30),
        http()
            .post(server.url("/api/files?name=bomb.png"))
            .bearer_auth(ana.token().unwrap())
            .body(bomb)
            .send(),
    )
    .await
    .expect("the bomb is answered")
    .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let info: FileInfo = response.json().await.unwrap();
    assert_eq!(info.content_type, "image/png");
    assert!(info.width.is_none() && info.height.is_none() && info.thumb_url.is_none());
    let grown_mib = server.rss_kib().saturating_sub(before) / 1024;
    assert!(grown_mib < 64, "the server grew by {grown_mib} MiB");
}

#[tokio::test]
async fn a_message_shares_its_sessions_uploads_and_only_those() {
    let server = small_limit().await;
    let ana = server.signed_in("ana").await;
    let bo = server.signed_in("bo").await;
    let picture = upload(&server, &ana, "pic.png", &png(40, 30)).await;
    let notes = upload(&server, &ana, "notes.txt", b"remember").await;
    let bos = upload(&server, &bo, "bo.txt", b"bo's").await;
    let post = |client: &Client, body: serde_json::Value| {
        http()
            .post(server.url("/api/rooms/general/messages"))
            .bearer_auth(token(client).to_owned())
            .json(&body)
            .send()
    };

    // Text may be empty when files are shared.
    let response = post(&ana, json!({"text": "", "files": [picture.id, notes.id]}))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let message: Message = response.json().await.unwrap();
    assert_eq!(message.text, "");
    assert_eq!(message.files, vec![picture.clone(), notes.clone()]);

    let history = ana.history(&room("general"), None, Some(10)).await.unwrap();
    assert_eq!(
        history.last().unwrap().files,
        vec![picture.clone(), notes.clone()]
    );

    for (body, case) in [
        (
            json!({"text": "hi", "files": [bos.id]}),
            "another session's upload",
        ),
        (
            json!({"text": "hi", "files": ["0123456789abcdef0123456789abcdef"]}),
            "an unknown upload",
        ),
        (
            json!({"text": "hi", "files": ["../../etc/passwd"]}),
            "not an id",
        ),
        (
            json!({"text": "hi", "files": [notes.id, notes.id]}),
            "the same upload twice",
        ),
        (json!({"text": "", "files": []}), "empty text and no files"),
        (
            json!({"text": "hi", "files": vec![notes.id.clone(); 11]}),
            "eleven files",
        ),
    ] {
        expect_error(
            post(&ana, body).await.unwrap(),
            StatusCode::BAD_REQUEST,
            case,
        )
        .await;
    }
    // Nothing of the refused posts was stored.
    let history = ana.history(&room("general"), None, Some(10)).await.unwrap();
    assert_eq!(history.len(), 1);

    // Every reader sees the files on the stream, and can download them.
    let mut events = open_room(&bo, "general", None).await;
    let replayed = next_message(&mut events).await;
    assert_eq!(replayed.files, vec![picture.clone(), notes.clone()]);
    let bytes = get(&server, &bo, &notes.url).await.bytes().await.unwrap();
    assert_eq!(bytes.as_ref(), b"remember");
}

#[tokio::test]
async fn an_upload_no_message_refers_to_is_removed_after_24_hours() {
    let clock = hearth_server::config::LimitsClock::default();
    let server = TestServer::start_with(|config| {
        config.max_file_bytes = LIMIT;
        config.file_sweep_interval = Duration::from_millis(50);
        config.files_clock = clock.clone();
    })
    .await;
    let ana = server.signed_in("ana").await;
    let kept = upload(&server, &ana, "kept.txt", b"shared").await;
    let dropped = upload(&server, &ana, "dropped.png", &png(400, 400)).await;
    let post = http()
        .post(server.url("/api/rooms/general/messages"))
        .bearer_auth(token(&ana))
        .json(&json!({"text": "see", "files": [kept.id]}))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::CREATED);
    // Young uploads stay, referenced or not (the sweep runs every 50 ms).
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        get(&server, &ana, &dropped.url).await.status(),
        StatusCode::OK
    );

    // A day and an hour later (the sweep's clock moved on, not slept).
    clock.advance(Duration::from_secs(25 * 3600));
    eventually("the unreferenced upload is removed", || async {
        (get(&server, &ana, &dropped.url).await.status() == StatusCode::NOT_FOUND).then_some(())
    })
    .await;
    let thumb = dropped.thumb_url.as_deref().unwrap();
    assert_eq!(
        get(&server, &ana, thumb).await.status(),
        StatusCode::NOT_FOUND
    );
    let referenced = get(&server, &ana, &kept.url).await;
    assert_eq!(
        referenced.status(),
        StatusCode::OK,
        "a file a message refers to stays"
    );
    assert_eq!(referenced.bytes().await.unwrap().as_ref(), b"shared");
    // Its bytes are gone from the disk, too.
    assert!(
        !server
            .dir
            .path()
            .join(format!("files/files/{}", dropped.id))
            .exists()
    );
    assert!(
        server
            .dir
            .path()
            .join(format!("files/files/{}", kept.id))
            .exists()
    );
    // A removed upload can no longer be shared.
    let late = http()
        .post(server.url("/api/rooms/general/messages"))
        .bearer_auth(token(&ana))
        .json(&json!({"text": "late", "files": [dropped.id]}))
        .send()
        .await
        .unwrap();
    expect_error(late, StatusCode::BAD_REQUEST, "a swept upload").await;
}

#[tokio::test]
async fn an_acknowledged_upload_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let server = ChildServer::start(dir.path(), &["--sync", "full"]).await;
    let mut ana = server.client();
    ana.sign_in("ana", None).await.unwrap();
    let body: Vec<u8> = (0..300_000u32).map(|i| (i * 31 % 256) as u8).collect();
    let response = http()
        .post(server.url("/api/files?name=survivor.bin"))
        .bearer_auth(ana.token().unwrap())
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let info: FileInfo = response.json().await.unwrap();
    let token = ana.token().unwrap().to_owned();
    server.kill_hard().await;

    let server = ChildServer::start(dir.path(), &[]).await;
    let served = http()
        .get(server.url(&info.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.bytes().await.unwrap().as_ref(), body.as_slice());
}

#[tokio::test]
async fn a_message_of_files_may_lose_its_caption_but_a_plain_one_may_not_be_emptied() {
    let server = small_limit().await;
    let ana = server.signed_in("ana").await;
    let notes = upload(&server, &ana, "notes.txt", b"remember").await;
    let post = |body: serde_json::Value| {
        http()
            .post(server.url("/api/rooms/general/messages"))
            .bearer_auth(token(&ana).to_owned())
            .json(&body)
            .send()
    };
    let edit = |id: String, text: &'static str| {
        http()
            .patch(server.url(&format!("/api/rooms/general/messages/{id}")))
            .bearer_auth(token(&ana).to_owned())
            .json(&json!({ "text": text }))
            .send()
    };
    let with_files: Message = post(json!({"text": "caption", "files": [notes.id]}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let plain: Message = post(json!({"text": "plain"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let response = edit(with_files.id.to_string(), "  ").await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let edited: Message = response.json().await.unwrap();
    assert_eq!(edited.text, "");
    assert_eq!(edited.files, vec![notes.clone()], "the files stay");

    expect_error(
        edit(plain.id.to_string(), "").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "emptying a message without files",
    )
    .await;
    let history = ana.history(&room("general"), None, Some(10)).await.unwrap();
    assert_eq!(history.last().unwrap().text, "plain");
}
