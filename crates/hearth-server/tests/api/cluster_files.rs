//! Files in a cluster: two `hearth serve` nodes on one Redis, their file
//! store a real S3-compatible server (moto, on loopback, started by the
//! test: [`S3Server`]). An upload on one node is shared in a message there,
//! seen live on the other, and served by the other byte for byte (whole, as
//! a `Range`, and as a thumbnail), also once the first node is gone.

use std::io::Cursor;

use hearth_client::Client;
use hearth_proto::{FileInfo, Message};
use hearth_testkit::S3Server;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use serde_json::json;
use tempfile::TempDir;

use crate::support::*;

/// The room the test talks in.
const ROOM: &str = "photos";

/// One Redis, one S3 server, one shared secret: what every node is given.
struct Cluster {
    redis: RedisServer,
    s3: S3Server,
    secret: std::path::PathBuf,
    _dir: TempDir,
}

impl Cluster {
    fn new() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        Cluster {
            redis: RedisServer::start(&dir.path().join("redis")),
            s3: S3Server::start(),
            secret: dir.path().join("cluster-secret.key"),
            _dir: dir,
        }
    }

    /// A node as its own process, with `--files s3://…` and the S3
    /// credentials in its environment.
    async fn node(&self, data: &TempDir) -> ChildServer {
        let redis = self.redis.url();
        let secret = self.secret.display().to_string();
        let files = self.s3.files_url();
        ChildServer::start_with_env(
            data.path(),
            &[
                "--redis",
                &redis,
                "--secret-file",
                &secret,
                "--files",
                &files,
            ],
            &self.s3.env(),
        )
        .await
    }
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 200])
    });
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

/// `POST /api/files?name=` on `node`; expects a `201`.
async fn upload(node: &ChildServer, token: &str, name: &str, body: &[u8]) -> FileInfo {
    let response = http()
        .post(node.url("/api/files"))
        .query(&[("name", name)])
        .bearer_auth(token)
        .body(body.to_vec())
        .send()
        .await
        .expect("upload answers");
    assert_eq!(response.status(), StatusCode::CREATED, "upload of {name}");
    response.json().await.expect("FileInfo")
}

/// `GET path` on `node` with the session's token, and extra headers.
async fn get(
    node: &ChildServer,
    token: &str,
    path: &str,
    headers: &[(header::HeaderName, &str)],
) -> reqwest::Response {
    let mut request = http().get(node.url(path)).bearer_auth(token);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    request.send().await.expect("download answers")
}

/// Downloads `path` whole from `node`: status `200`; its headers and bytes.
async fn download(node: &ChildServer, token: &str, path: &str) -> (HeaderMap, Vec<u8>) {
    let response = get(node, token, path, &[]).await;
    assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body").to_vec();
    (headers, bytes)
}

fn header_of(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(&name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("{name} header"))
}

#[tokio::test]
async fn an_upload_on_one_node_is_shared_seen_and_downloaded_on_the_other() {
    let cluster = Cluster::new();
    let (a_data, b_data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = cluster.node(&a_data).await;
    let b = cluster.node(&b_data).await;

    let mut ana = a.client();
    ana.sign_in("ana", None).await.expect("sign in on A");
    let token = ana.token().expect("a token").to_owned();
    // The same session follows the room on B (one secret: tokens work on
    // every node).
    let on_b = Client::new(&b.url("")).unwrap().with_token(token.clone());
    let mut events = open_room(&on_b, ROOM, None).await;
    let (replayed, _, _) = read_start(&mut events).await;
    assert!(replayed.is_empty());

    let picture = png(640, 400);
    let notes: Vec<u8> = (0..10_000u32)
        .flat_map(|n| format!("line {n}\n").into_bytes())
        .collect();
    let picture_info = upload(&a, &token, "holiday.png", &picture).await;
    let notes_info = upload(&a, &token, "notes.txt", &notes).await;
    assert_eq!(picture_info.content_type, "image/png");
    assert_eq!(
        (picture_info.width, picture_info.height),
        (Some(640), Some(400))
    );
    assert!(picture_info.thumb_url.is_some());
    assert_eq!(notes_info.size, notes.len() as u64);
    assert_eq!(notes_info.thumb_url, None);
    // The bytes are in the bucket, not on A's disk alone.
    assert!(
        cluster.s3.object_count() >= 2,
        "the uploads are objects of the S3 bucket"
    );

    // Shared in a message on A, seen live on B with its files.
    let response = http()
        .post(a.url(&format!("/api/rooms/{ROOM}/messages")))
        .bearer_auth(&token)
        .json(&json!({"text": "", "files": [picture_info.id, notes_info.id]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let message: Message = response.json().await.unwrap();
    assert_eq!(
        message.files,
        vec![picture_info.clone(), notes_info.clone()]
    );
    assert_eq!(next_message(&mut events).await, message);
    let history = on_b.history(&room(ROOM), None, Some(10)).await.unwrap();
    assert_eq!(history, vec![message.clone()]);

    // Downloads from B are byte-identical.
    let (head, bytes) = download(&b, &token, &picture_info.url).await;
    assert_eq!(bytes, picture);
    assert_eq!(header_of(&head, header::CONTENT_TYPE), "image/png");
    let (head, bytes) = download(&b, &token, &notes_info.url).await;
    assert_eq!(bytes, notes);
    assert!(header_of(&head, header::CONTENT_DISPOSITION).starts_with("attachment"));

    // The thumbnail from B: at most 320 px on its longer side, the
    // picture's shape.
    let thumb_url = picture_info.thumb_url.as_deref().unwrap();
    let (_, thumb) = download(&b, &token, thumb_url).await;
    let thumb = image::load_from_memory(&thumb).expect("the thumbnail is an image");
    assert_eq!((thumb.width(), thumb.height()), (320, 200));

    // A range from B: 206 with exactly those bytes.
    let response = get(
        &b,
        &token,
        &notes_info.url,
        &[(header::RANGE, "bytes=1000-1999")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        header_of(response.headers(), header::CONTENT_RANGE),
        format!("bytes 1000-1999/{}", notes.len())
    );
    assert_eq!(response.bytes().await.unwrap().as_ref(), &notes[1000..2000]);

    // With A gone, B still serves every file of the message.
    a.kill_hard().await;
    let (_, bytes) = download(&b, &token, &picture_info.url).await;
    assert_eq!(bytes, picture);
    let (_, bytes) = download(&b, &token, &notes_info.url).await;
    assert_eq!(bytes, notes);
}
