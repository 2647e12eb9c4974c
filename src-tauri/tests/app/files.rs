//! Files: a message with files queued while the server is down goes out
//! exactly once after it returns, across an app restart; an upload made
//! before a restart is reused (or made again under a new session, never
//! posted twice); files over the limit are refused before any upload;
//! images reach the webview through Rust, downloads land under a free name.

use hearth_client::Client;
use hearth_desktop::error::CommandError;
use hearth_desktop::events::{AppEvent, LocalEvent, OutboxState};
use hearth_desktop::files::ImageRequest;
use hearth_desktop::outbox::files::{Attachment, QueuedFile, spool_dir};
use hearth_desktop::outbox::{FILE_NAME, OutboxEntry};
use hearth_desktop::secrets::{MemorySecrets, RoomSecret, SecretStore};
use hearth_proto::{FileId, Message};

use crate::support::{AppDirs, TestApp, TestServer, history};

/// A solid-colour RGB PNG, written by hand (stored deflate blocks).
fn png(width: u32, height: u32) -> Vec<u8> {
    fn crc(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in data {
            crc ^= u32::from(b);
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
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        out.extend(&body);
        out.extend(crc(&body).to_be_bytes());
    }
    // Each row: filter byte 0 (none), then the pixels.
    let row: Vec<u8> = std::iter::once(0)
        .chain([30, 120, 200].repeat(width as usize))
        .collect();
    let raw = row.repeat(height as usize);
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        zlib.extend(len.to_le_bytes());
        zlib.extend((!len).to_le_bytes());
        zlib.extend(*block);
    }
    zlib.extend(((b << 16) | a).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn on_disk(dirs: &AppDirs) -> Vec<OutboxEntry> {
    #[derive(serde::Deserialize)]
    struct File {
        entries: Vec<OutboxEntry>,
    }
    match std::fs::read(dirs.data().join(FILE_NAME)) {
        Ok(bytes) => serde_json::from_slice::<File>(&bytes).unwrap().entries,
        Err(_) => Vec::new(),
    }
}

fn spooled(dirs: &AppDirs) -> usize {
    std::fs::read_dir(spool_dir(&dirs.data())).map_or(0, |d| d.count())
}

async fn wait_sent(app: &mut TestApp, client_id: &str) -> Message {
    let event = app
        .wait_for("sent", |e| {
            matches!(&e.event, AppEvent::Local(LocalEvent::Outbox(u))
                if u.client_id == client_id && matches!(u.state, OutboxState::Sent { .. }))
        })
        .await;
    match event.event {
        AppEvent::Local(LocalEvent::Outbox(u)) => match u.state {
            OutboxState::Sent {
                message: Some(m), ..
            } => m,
            other => panic!("sent without its message: {other:?}"),
        },
        _ => unreachable!(),
    }
}

/// The messages carrying `client_id` on the server.
async fn stored(client: &Client, client_id: &str) -> Vec<Message> {
    history(client, "general")
        .await
        .into_iter()
        .filter(|m| m.client_id.as_deref() == Some(client_id))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_queued_while_the_server_is_down_go_out_once_after_an_app_restart() {
    let data = tempfile::tempdir().unwrap();
    let mut server = TestServer::start(data.path(), 0).await;
    let port = server.addr.port();
    let dirs = AppDirs::new();
    let secrets = MemorySecrets::new();
    let mut app = TestApp::open(&dirs, &secrets).await;
    let room = app.join_connected(&server.url("/"), "ana").await;
    server.stop().await;
    app.wait_state(&room.id, "reconnecting").await;

    // One file attached (bytes staged by the webview), one dropped (a path).
    let image = png(400, 300);
    let outbox = app.desktop.outbox();
    let staged = outbox
        .stage(Some(&room.id), &image, "screenshot.png", "image/png")
        .unwrap();
    let local = tempfile::tempdir().unwrap();
    let dropped = local.path().join("notes.txt");
    std::fs::write(&dropped, "dropped from the file manager\n").unwrap();
    let queued = outbox
        .enqueue_with(
            &room.id,
            "two files",
            None,
            &[
                Attachment {
                    staged: Some(staged.staged.clone()),
                    name: Some("screenshot.png".into()),
                    content_type: Some("image/png".into()),
                    ..Attachment::default()
                },
                Attachment {
                    path: Some(dropped.clone()),
                    ..Attachment::default()
                },
            ],
        )
        .unwrap();
    let names: Vec<&str> = queued.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["screenshot.png", "notes.txt"]);
    assert_eq!(on_disk(&dirs), std::slice::from_ref(&queued));
    assert_eq!(spooled(&dirs), 1);
    app.desktop.shutdown().await;
    drop(app);

    // Back: the server, then the app (a restart).
    let server = TestServer::start(data.path(), port).await;
    let mut app = TestApp::open(&dirs, &secrets).await;
    let progress = app
        .wait_for("upload progress", |e| {
            matches!(&e.event, AppEvent::Local(LocalEvent::Outbox(u))
                if u.client_id == queued.client_id && matches!(&u.state, OutboxState::Sending { files }
                    if files.len() == 2 && files[0].sent == files[0].size))
        })
        .await;
    assert_eq!(progress.room_id, room.id);
    let sent = wait_sent(&mut app, &queued.client_id).await;
    assert!(on_disk(&dirs).is_empty());
    assert_eq!(spooled(&dirs), 0, "the staged copy is gone");
    assert!(dropped.exists(), "the person's own file stays");

    let bo = server.client("bo").await;
    let copies = stored(&bo, &queued.client_id).await;
    assert_eq!(copies.len(), 1, "exactly one copy");
    let message = &copies[0];
    assert_eq!(message.id, sent.id);
    assert_eq!(message.text, "two files");
    let shown: Vec<(&str, &str)> = message
        .files
        .iter()
        .map(|f| (f.name.as_str(), f.content_type.as_str()))
        .collect();
    assert_eq!(
        shown,
        [
            ("screenshot.png", "image/png"),
            ("notes.txt", "application/octet-stream")
        ]
    );
    assert_eq!(bo.fetch_file(&message.files[0].url).await.unwrap(), image);
    assert_eq!(
        bo.fetch_file(&message.files[1].url).await.unwrap(),
        std::fs::read(&dropped).unwrap()
    );

    // The webview sees the image through Rust, and saves the file.
    let file_id = FileId::parse(&message.files[0].id).unwrap();
    let thumb = app
        .desktop
        .files()
        .image(
            app.desktop.rooms(),
            &ImageRequest {
                room_id: room.id.clone(),
                file_id: file_id.clone(),
                thumb: true,
            },
        )
        .await
        .unwrap();
    assert!(thumb.content_type.starts_with("image/"));
    assert!(thumb.bytes.len() < image.len());
    let not_an_image = FileId::parse(&message.files[1].id).unwrap();
    let refused = app
        .desktop
        .files()
        .image(
            app.desktop.rooms(),
            &ImageRequest {
                room_id: room.id.clone(),
                file_id: not_an_image,
                thumb: false,
            },
        )
        .await;
    assert!(refused.is_err());
    let downloads = tempfile::tempdir().unwrap();
    let mut saved = Vec::new();
    for _ in 0..2 {
        saved.push(
            app.desktop
                .files()
                .save(
                    app.desktop.rooms(),
                    &room.id,
                    file_id.as_str(),
                    "screenshot.png",
                    downloads.path(),
                )
                .await
                .unwrap(),
        );
    }
    assert_eq!(saved[0], downloads.path().join("screenshot.png"));
    assert_eq!(saved[1], downloads.path().join("screenshot (1).png"));
    assert_eq!(std::fs::read(&saved[1]).unwrap(), image);
    let elsewhere = app
        .desktop
        .files()
        .reveal(&local.path().join("notes.txt"))
        .unwrap_err();
    assert!(
        matches!(elsewhere, CommandError::BadInput(_)),
        "{elsewhere}"
    );
    app.desktop.shutdown().await;
}

/// A run uploaded a file and died before posting: the next run posts with
/// the kept id (same session), or uploads again under a new session; the
/// message is stored once either way.
async fn uploaded_then_restarted(keep_session: bool) {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(data.path(), 0).await;
    let dirs = AppDirs::new();
    let secrets = MemorySecrets::new();
    let mut app = TestApp::open(&dirs, &secrets).await;
    let room = app.join_connected(&server.url("/"), "ana").await;
    app.desktop.shutdown().await;
    drop(app);

    let account = format!("{}/r/general ana", server.url(""));
    let secret: RoomSecret =
        serde_json::from_str(&secrets.get(&account).unwrap().unwrap()).unwrap();
    // The app protects its nick, so every session of ana owns ana's
    // uploads; an upload the new session may not use is one made by a
    // session that was not the protected nick's (before it was protected,
    // say): here, another unprotected session's.
    let ana = if keep_session {
        Client::new(&server.url("/"))
            .unwrap()
            .with_token(secret.token.clone().unwrap())
    } else {
        server.client("ana-before").await
    };
    let bytes = b"uploaded by the run that died".to_vec();
    let uploaded = ana
        .upload_bytes(bytes.clone(), "log.txt", None)
        .await
        .unwrap();
    let spool = spool_dir(&dirs.data());
    std::fs::create_dir_all(&spool).unwrap();
    let copy = spool.join("staged-0b1c");
    std::fs::write(&copy, &bytes).unwrap();
    let client_id = hearth_client::new_client_id();
    let entry = OutboxEntry {
        client_id: client_id.clone(),
        room_id: room.id.clone(),
        text: String::new(),
        reply_to: None,
        files: vec![QueuedFile {
            name: "log.txt".into(),
            size: bytes.len() as u64,
            content_type: String::new(),
            path: copy.clone(),
            spooled: true,
            file_id: Some(uploaded.id.clone()),
        }],
        queued_at_ms: 1,
        failed: None,
    };
    std::fs::write(
        dirs.data().join(FILE_NAME),
        serde_json::to_vec(&serde_json::json!({ "entries": [entry] })).unwrap(),
    )
    .unwrap();
    if !keep_session {
        secrets
            .set(
                &account,
                &serde_json::to_string(&RoomSecret::default()).unwrap(),
            )
            .unwrap();
    }

    let mut app = TestApp::open(&dirs, &secrets).await;
    wait_sent(&mut app, &client_id).await;
    let bo = server.client("bo").await;
    let copies = stored(&bo, &client_id).await;
    assert_eq!(copies.len(), 1, "exactly one copy");
    let file = &copies[0].files[0];
    assert_eq!(
        file.id == uploaded.id,
        keep_session,
        "the kept upload is used by its own session only"
    );
    assert_eq!(bo.fetch_file(&file.url).await.unwrap(), bytes);
    assert!(!copy.exists(), "the spool copy went with the entry");
    app.desktop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_made_before_a_restart_is_posted_without_uploading_again() {
    uploaded_then_restarted(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_of_an_ended_session_is_made_again_and_posted_once() {
    uploaded_then_restarted(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_over_the_limit_is_refused_before_it_is_uploaded() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(data.path(), 0, |c| c.max_file_bytes = 1024).await;
    let dirs = AppDirs::new();
    let mut app = TestApp::open(&dirs, &MemorySecrets::new()).await;
    let room = app.join_connected(&server.url("/"), "ana").await;
    let outbox = app.desktop.outbox().clone();

    // The limit not heard yet: queued, then refused by the worker (which
    // asks the server first), with the sentence the UI shows.
    let staged = outbox.stage(None, &[7; 2048], "big.bin", "").unwrap();
    let attach = |staged: &str| Attachment {
        staged: Some(staged.to_owned()),
        name: Some("big.bin".into()),
        ..Attachment::default()
    };
    let queued = outbox
        .enqueue_with(&room.id, "too big", None, &[attach(&staged.staged)])
        .unwrap();
    let failed = app
        .wait_for("refused", |e| {
            matches!(&e.event, AppEvent::Local(LocalEvent::Outbox(u))
                if u.client_id == queued.client_id && matches!(u.state, OutboxState::Failed { .. }))
        })
        .await;
    let AppEvent::Local(LocalEvent::Outbox(update)) = failed.event else {
        unreachable!()
    };
    assert_eq!(
        update.state,
        OutboxState::Failed {
            error: "big.bin is 2 KB; this server takes files up to 1 KB.".into()
        }
    );
    // Now the limit is known: refused at once, nothing queued.
    let again = outbox.stage(Some(&room.id), &[7; 2048], "big.bin", "");
    assert!(matches!(again, Err(CommandError::TooLarge { .. })));
    let unchecked = outbox.stage(None, &[7; 2048], "big.bin", "").unwrap();
    let refused = outbox.enqueue_with(&room.id, "", None, &[attach(&unchecked.staged)]);
    assert!(matches!(refused, Err(CommandError::TooLarge { .. })));
    assert_eq!(outbox.pending(None).len(), 1);
    assert_eq!(
        spooled(&dirs),
        1,
        "the refused message's staged copy is gone"
    );
    assert!(outbox.discard(&queued.client_id).unwrap());
    assert_eq!(spooled(&dirs), 0, "discarding removes the staged copy");
    let bo = server.client("bo").await;
    assert!(stored(&bo, &queued.client_id).await.is_empty());
    app.desktop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_discarded_while_its_file_goes_up_is_never_posted() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(data.path(), 0).await;
    let dirs = AppDirs::new();
    let mut app = TestApp::open(&dirs, &MemorySecrets::new()).await;
    let room = app.join_connected(&server.url("/"), "ana").await;
    let outbox = app.desktop.outbox().clone();
    let big: Vec<u8> = (0..20 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let staged = outbox.stage(Some(&room.id), &big, "big.bin", "").unwrap();
    let queued = outbox
        .enqueue_with(
            &room.id,
            "never mind",
            None,
            &[Attachment {
                staged: Some(staged.staged),
                name: Some("big.bin".into()),
                ..Attachment::default()
            }],
        )
        .unwrap();
    app.wait_for("the upload started", |e| {
        matches!(&e.event, AppEvent::Local(LocalEvent::Outbox(u))
            if u.client_id == queued.client_id && matches!(u.state, OutboxState::Sending { .. }))
    })
    .await;
    assert!(outbox.discard(&queued.client_id).unwrap());
    assert!(on_disk(&dirs).is_empty());
    assert_eq!(spooled(&dirs), 0);
    // A later message goes out; the discarded one never does.
    let later = outbox.enqueue(&room.id, "later").unwrap();
    wait_sent(&mut app, &later.client_id).await;
    let bo = server.client("bo").await;
    assert!(stored(&bo, &queued.client_id).await.is_empty());
    app.desktop.shutdown().await;
}
