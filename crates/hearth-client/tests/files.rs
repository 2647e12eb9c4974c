//! The client's file calls against a real server in this process (bound to
//! `127.0.0.1:0`): a streamed upload with progress, a message sharing it,
//! a byte-identical download to disk, thumbnails, the size limit, and the
//! classification of refusals.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hearth_client::{Client, ClientError, Outgoing, RetryPolicy};
use hearth_proto::RoomName;
use hearth_server::config::{Config, SyncMode};
use tempfile::TempDir;
use tokio::sync::oneshot;

struct Server {
    url: String,
    _dir: TempDir,
    _stop: oneshot::Sender<()>,
}

async fn start(max_file_bytes: u64) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path());
    config.sync = SyncMode::Normal;
    config.max_file_bytes = max_file_bytes;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(hearth_server::run(listener, config, async move {
        let _ = stopped.await;
    }));
    Server {
        url,
        _dir: dir,
        _stop: stop,
    }
}

async fn signed_in(server: &Server, nick: &str) -> Client {
    let mut client = Client::new(&server.url).unwrap();
    client.sign_in(nick, None).await.unwrap();
    client
}

/// Bytes no compressor or sniffer mistakes for anything: a counter.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// A 40×30 PNG (solid colour), written by hand: signature, IHDR, one IDAT
/// of stored (uncompressed) deflate blocks, IEND.
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
    fn adler(data: &[u8]) -> u32 {
        let (mut a, mut b) = (1u32, 0u32);
        for &x in data {
            a = (a + u32::from(x)) % 65521;
            b = (b + a) % 65521;
        }
        (b << 16) | a
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
        .chain([200, 80, 40].repeat(width as usize))
        .collect();
    let raw = row.repeat(height as usize);
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        zlib.extend(len.to_le_bytes());
        zlib.extend((!len).to_le_bytes());
        zlib.extend(*block);
    }
    zlib.extend(adler(&raw).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]); // 8-bit RGB
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[tokio::test]
async fn a_file_goes_up_streamed_is_shared_in_a_message_and_comes_back_identical() {
    let server = start(hearth_proto::DEFAULT_MAX_FILE_BYTES).await;
    let ana = signed_in(&server, "ana").await;
    let local = tempfile::tempdir().unwrap();
    let bytes = pattern(3 * 1024 * 1024 + 17);
    let source = write(local.path(), "report.bin", &bytes);

    let progress = Arc::new(AtomicU64::new(0));
    let seen = progress.clone();
    let info = ana
        .upload_file(&source, "report (final).bin", None, move |sent| {
            assert!(sent >= seen.load(Ordering::SeqCst), "progress only grows");
            seen.store(sent, Ordering::SeqCst);
        })
        .await
        .unwrap();
    assert_eq!(progress.load(Ordering::SeqCst), bytes.len() as u64);
    assert_eq!(info.name, "report (final).bin");
    assert_eq!(info.size, bytes.len() as u64);
    assert_eq!(info.content_type, "application/octet-stream");
    assert!(!info.is_image());

    // A message with only the file; retried with the same client_id, it
    // is stored once.
    let room = RoomName::default_room();
    let files = vec![info.id.clone()];
    let outgoing = Outgoing {
        text: "",
        client_id: "c-files-1",
        reply_to: None,
        files: &files,
    };
    let posted = ana
        .post_outgoing_reliably(&room, &outgoing, &RetryPolicy::default())
        .await
        .unwrap();
    assert!(posted.created);
    assert_eq!(posted.message.files, vec![info.clone()]);
    let again = ana.post_outgoing(&room, &outgoing).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.message.id, posted.message.id);

    // Another session reads it from the history and downloads it.
    let bo = signed_in(&server, "bo").await;
    let history = bo.history(&room, None, None).await.unwrap();
    let shared = &history
        .iter()
        .find(|m| m.id == posted.message.id)
        .unwrap()
        .files[0];
    let dest = local.path().join("downloaded.bin");
    let total = Arc::new(AtomicU64::new(0));
    let last = total.clone();
    let size = bo
        .download_to(&shared.url, &dest, move |received, of| {
            assert_eq!(of, Some(bytes.len() as u64));
            last.store(received, Ordering::SeqCst);
        })
        .await
        .unwrap();
    assert_eq!(size, info.size);
    assert_eq!(total.load(Ordering::SeqCst), info.size);
    assert_eq!(
        std::fs::read(&dest).unwrap(),
        std::fs::read(&source).unwrap()
    );
    let leftovers: Vec<_> = std::fs::read_dir(local.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn an_image_has_a_thumbnail_that_fetches_into_memory() {
    let server = start(hearth_proto::DEFAULT_MAX_FILE_BYTES).await;
    let ana = signed_in(&server, "ana").await;
    let image = png(640, 480);
    // Declared as something else: the server decides from the bytes.
    let info = ana
        .upload_bytes(image.clone(), "screenshot.png", Some("text/plain"))
        .await
        .unwrap();
    assert_eq!(info.content_type, "image/png");
    assert_eq!((info.width, info.height), (Some(640), Some(480)));
    let thumb = ana
        .fetch_file(info.thumb_url.as_deref().expect("an image has a thumbnail"))
        .await
        .unwrap();
    assert!(!thumb.is_empty() && thumb.len() < image.len());
    assert_eq!(
        ana.fetch_file(&info.url).await.unwrap().as_ref(),
        &image[..]
    );
    // Without a session the server refuses, and the error says so.
    let stranger = Client::new(&server.url).unwrap();
    let refused = stranger.fetch_file(&info.url).await.unwrap_err();
    assert_eq!(refused.status().map(|s| s.as_u16()), Some(401));
}

#[tokio::test]
async fn the_size_limit_is_answered_and_refusals_are_not_retried() {
    let limit = 64 * 1024;
    let server = start(limit).await;
    let ana = signed_in(&server, "ana").await;
    let local = tempfile::tempdir().unwrap();
    let exact = write(local.path(), "exact.bin", &pattern(limit as usize));
    let info = ana
        .upload_file(&exact, "exact.bin", None, |_| {})
        .await
        .unwrap();
    assert_eq!(info.size, limit);

    let over = write(local.path(), "over.bin", &pattern(limit as usize + 1));
    let refused = ana
        .upload_file(&over, "over.bin", None, |_| {})
        .await
        .unwrap_err();
    assert_eq!(refused.status().map(|s| s.as_u16()), Some(413), "{refused}");
    assert!(!refused.is_retryable());

    let bad_name = ana
        .upload_bytes(b"x".to_vec(), "a/b", None)
        .await
        .unwrap_err();
    assert_eq!(bad_name.status().map(|s| s.as_u16()), Some(400));

    let missing = ana
        .upload_file(&local.path().join("gone.bin"), "gone.bin", None, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(missing, ClientError::File(_)), "{missing:?}");
    assert!(!missing.is_retryable());
    assert!(missing.to_string().contains("gone.bin"), "{missing}");
}
