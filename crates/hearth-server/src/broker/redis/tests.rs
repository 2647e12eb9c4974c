//! The Redis backend's upload records, on a `redis-server` of each test's
//! own: what the protocol suite cannot see from one node. A message that
//! shares uploads keeps them on every read path (the relay's note, the
//! stream entry a resume reads, the hash history and fresh replays read, the
//! idempotency record a repeat on another node reads, the state after an
//! edit); the sweep walks past any number of shared uploads, follows
//! retention and deletes, and never forgets an upload a post racing it
//! shared.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use hearth_proto::{ClientId, EntryKind, FileId, Message, MessageId, MessageText, Nick, RoomName};
use hearth_testkit::RedisServer;
use tokio_util::sync::CancellationToken;

use super::{RedisBroker, RedisOptions, SWEEP_PAGE};
use crate::broker::{
    Broker, BrokerError, Change, ChangeKind, FileRecord, Live, LiveStream, Post, Posted,
    RoomRequest, SubscribeRequest, Subscription,
};
use crate::config::RedisConfig;
use crate::metrics::Metrics;

/// Uploads created before this are swept; `OLD` ones are, `YOUNG` are not.
const CUTOFF: i64 = 10_000;
const OLD: i64 = 1_000;
const YOUNG: i64 = 20_000;
/// How long a test waits for an event that must come.
const WAIT: Duration = Duration::from_secs(10);

/// One Redis, and the nodes a test opens on it (stopped with the test).
struct Cluster {
    redis: RedisServer,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn new() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        Cluster {
            redis: RedisServer::start(&dir.path().join("redis")),
            shutdown: CancellationToken::new(),
            _dir: dir,
        }
    }

    fn node(&self, retention: usize) -> RedisBroker {
        RedisBroker::open(
            &RedisConfig::new(self.redis.url()),
            RedisOptions {
                retention,
                subscriber_queue: 256,
                presence_ttl: Duration::from_secs(15),
            },
            Arc::new(Metrics::new()),
            self.shutdown.clone(),
        )
        .unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn room() -> RoomName {
    RoomName::parse("files").unwrap()
}

fn upload(n: u32, session: &str, created_ms: i64) -> FileRecord {
    let mut bytes = [0u8; 16];
    bytes[..4].copy_from_slice(&n.to_be_bytes());
    FileRecord {
        id: FileId::from_bytes(bytes),
        name: format!("file-{n}.txt"),
        size: 1234,
        content_type: "application/octet-stream".into(),
        width: None,
        height: None,
        thumb_type: None,
        sha256: "ab".repeat(32),
        session: session.into(),
        created_ms,
    }
}

fn image(n: u32, session: &str, created_ms: i64) -> FileRecord {
    FileRecord {
        name: format!("photo-{n}.png"),
        content_type: "image/png".into(),
        width: Some(640),
        height: Some(480),
        thumb_type: Some("image/png".into()),
        ..upload(n, session, created_ms)
    }
}

fn post(text: &str, files: &[&FileRecord]) -> Post {
    Post {
        room: room(),
        nick: Nick::parse("ana").unwrap(),
        text: MessageText::parse_caption(text).unwrap(),
        session: "s1".into(),
        client_id: None,
        reply_to: None,
        files: files.iter().map(|f| f.id.clone()).collect(),
    }
}

async fn created(broker: &RedisBroker, post: Post) -> Message {
    match broker.post(post).await.unwrap() {
        Posted::Created(message) => message,
        Posted::Repeated(_) => panic!("stored anew"),
    }
}

async fn sorted_sweep(broker: &RedisBroker, cutoff: i64) -> Vec<FileId> {
    let mut swept = broker.sweep_files(cutoff).await.unwrap();
    swept.sort();
    swept
}

async fn follow(broker: &RedisBroker, resume_from: Option<MessageId>) -> Subscription {
    broker
        .subscribe(SubscribeRequest {
            rooms: vec![RoomRequest {
                room: room(),
                resume_from,
                present: false,
            }],
            replay: 50,
            nick: None,
        })
        .await
        .unwrap()
}

/// The log entries a subscription replays.
async fn replayed(subscription: &mut Subscription) -> Vec<EntryKind> {
    let start = subscription.rooms.pop().expect("one room");
    start
        .replay
        .map(|event| event.unwrap().log_entry().cloned().expect("a log entry"))
        .collect()
        .await
}

/// The next log entry that comes live.
async fn next_live(live: &mut LiveStream) -> EntryKind {
    tokio::time::timeout(WAIT, async {
        loop {
            match live.next().await.expect("the live stream goes on") {
                Live::Event(event) => {
                    if let Some(entry) = event.log_entry() {
                        return entry.clone();
                    }
                }
                Live::Lagged => panic!("lagged"),
            }
        }
    })
    .await
    .expect("a live entry within the wait")
}

#[tokio::test]
async fn a_post_may_share_only_uploads_of_its_own_session() {
    let cluster = Cluster::new();
    let broker = cluster.node(100);
    let mine = upload(1, "s1", OLD);
    let theirs = upload(2, "s2", OLD);
    let unknown = upload(3, "s1", OLD);
    broker.add_file(mine.clone()).await.unwrap();
    broker.add_file(theirs.clone()).await.unwrap();
    assert_eq!(broker.file(&mine.id).await.unwrap(), Some(mine.clone()));
    assert_eq!(broker.file(&unknown.id).await.unwrap(), None);

    for refused in [vec![&theirs], vec![&mine, &theirs], vec![&unknown, &mine]] {
        let culprit = refused.iter().find(|f| f.id != mine.id).unwrap().id.clone();
        match broker.post(post("look", &refused)).await {
            Err(BrokerError::BadFiles(text)) => {
                assert_eq!(text, format!("files: {culprit} is not an upload of yours"))
            }
            other => panic!("refused, got {other:?}"),
        }
    }
    assert!(broker.history(&room(), None, 50).await.unwrap().is_empty());
    // The refused posts left no reference behind: both are unshared.
    let mut expected = vec![mine.id, theirs.id];
    expected.sort();
    assert_eq!(sorted_sweep(&broker, CUTOFF).await, expected);
}

#[tokio::test]
async fn a_message_keeps_its_files_on_every_read_path_of_every_node() {
    let cluster = Cluster::new();
    let a = cluster.node(100);
    let b = cluster.node(100);
    let photo = image(1, "s1", OLD);
    let doc = upload(2, "s1", OLD);
    a.add_file(photo.clone()).await.unwrap();
    a.add_file(doc.clone()).await.unwrap();
    let expected = vec![photo.info(), doc.info()];
    assert!(expected[0].thumb_url.is_some() && expected[0].width == Some(640));
    assert!(expected[1].thumb_url.is_none());
    // B reads A's records.
    assert_eq!(b.file(&photo.id).await.unwrap(), Some(photo.clone()));

    let mut on_b = follow(&b, None).await;
    assert!(replayed(&mut on_b).await.is_empty());

    let mut shared = post("", &[&photo, &doc]);
    shared.client_id = Some(ClientId::parse("c-1").unwrap());
    let message = created(&a, shared.clone()).await;
    assert_eq!(message.files, expected);
    assert_eq!(message.text, "");

    // Live on B: through the events channel and B's relay.
    match next_live(&mut on_b.live).await {
        EntryKind::Message(live) => assert_eq!(live, message),
        other => panic!("a message, got {other:?}"),
    }
    // A repeat that lands on B answers the original from the idempotency
    // record.
    match b.post(shared).await.unwrap() {
        Posted::Repeated(again) => assert_eq!(again, message),
        Posted::Created(_) => panic!("a repeat"),
    }
    // History, a fresh replay (the message hashes) and a resume (the stream
    // entries) on B.
    assert_eq!(
        b.history(&room(), None, 50).await.unwrap(),
        vec![message.clone()]
    );
    let fresh = replayed(&mut follow(&b, None).await).await;
    assert_eq!(fresh, vec![EntryKind::Message(message.clone())]);
    let resumed = replayed(&mut follow(&b, Some(MessageId::ZERO)).await).await;
    assert_eq!(resumed, vec![EntryKind::Message(message.clone())]);

    // An edit keeps the files, in its entry and in the state B then reads.
    let edited = a
        .change(Change {
            room: room(),
            id: message.id,
            nick: Nick::parse("ana").unwrap(),
            what: ChangeKind::Edit(MessageText::parse("my photo").unwrap()),
            moderator: false,
        })
        .await
        .unwrap()
        .message();
    assert_eq!(edited.text, "my photo");
    assert_eq!(edited.files, expected);
    match next_live(&mut on_b.live).await {
        EntryKind::Edit(live) => assert_eq!(live, edited),
        other => panic!("an edit, got {other:?}"),
    }
    assert_eq!(b.history(&room(), None, 50).await.unwrap(), vec![edited]);
    assert_eq!(b.sweep_files(CUTOFF).await.unwrap(), vec![]);
}

#[tokio::test]
async fn the_sweep_forgets_old_uploads_once_no_retained_undeleted_message_shares_them() {
    let cluster = Cluster::new();
    let broker = cluster.node(2);
    let unshared = upload(1, "s1", OLD);
    let deleted = upload(2, "s1", OLD);
    let trimmed = upload(3, "s1", OLD);
    let kept = upload(4, "s1", OLD);
    let young = upload(5, "s1", YOUNG);
    for file in [&unshared, &deleted, &trimmed, &kept, &young] {
        broker.add_file(file.clone()).await.unwrap();
    }
    let first = created(&broker, post("first", &[&trimmed])).await;
    let second = created(&broker, post("second", &[&deleted, &kept])).await;
    assert_eq!(
        sorted_sweep(&broker, CUTOFF).await,
        vec![unshared.id.clone()]
    );
    assert_eq!(broker.file(&unshared.id).await.unwrap(), None);
    // A swept upload can no longer be shared.
    assert!(matches!(
        broker.post(post("late", &[&unshared])).await,
        Err(BrokerError::BadFiles(_))
    ));

    // Retention (2 messages) drops the first message with the third post.
    let third = created(&broker, post("third", &[&kept])).await;
    let history = broker.history(&room(), None, 50).await.unwrap();
    assert_eq!(
        history.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![second.id, third.id]
    );
    assert!(!history.iter().any(|m| m.id == first.id));
    assert_eq!(
        sorted_sweep(&broker, CUTOFF).await,
        vec![trimmed.id.clone()]
    );

    // Deleting the second message frees `deleted`; `kept` is still shared by
    // the third.
    broker
        .change(Change {
            room: room(),
            id: second.id,
            nick: Nick::parse("ana").unwrap(),
            what: ChangeKind::Delete,
            moderator: false,
        })
        .await
        .unwrap();
    assert_eq!(
        sorted_sweep(&broker, CUTOFF).await,
        vec![deleted.id.clone()]
    );
    assert_eq!(broker.file(&kept.id).await.unwrap(), Some(kept.clone()));
    assert_eq!(broker.file(&young.id).await.unwrap(), Some(young.clone()));
    // Later, the young one is old too, and unshared.
    assert_eq!(sorted_sweep(&broker, YOUNG + 1).await, vec![young.id]);
    assert_eq!(broker.file(&kept.id).await.unwrap(), Some(kept));
}

#[tokio::test]
async fn the_sweep_walks_past_more_shared_uploads_than_one_script_run_reads() {
    let cluster = Cluster::new();
    let broker = cluster.node(10_000);
    let count = SWEEP_PAGE as u32 + 30;
    let shared: Vec<FileRecord> = (0..count).map(|n| upload(n, "s1", OLD + 1)).collect();
    for file in &shared {
        broker.add_file(file.clone()).await.unwrap();
    }
    for chunk in shared.chunks(hearth_proto::MAX_FILES_PER_MESSAGE) {
        created(&broker, post("many", &chunk.iter().collect::<Vec<_>>())).await;
    }
    // Newer than every shared one, so the index has it after all of them.
    let last = upload(count, "s1", OLD + 2);
    broker.add_file(last.clone()).await.unwrap();

    assert_eq!(broker.sweep_files(CUTOFF).await.unwrap(), vec![last.id]);
    for file in &shared {
        assert!(broker.file(&file.id).await.unwrap().is_some());
    }
}

#[tokio::test]
async fn a_sweep_between_a_posts_read_and_its_store_refuses_the_post() {
    let cluster = Cluster::new();
    let poster = cluster.node(100);
    let sweeper = cluster.node(100);
    let first = upload(1, "s1", OLD);
    let second = upload(2, "s1", OLD);
    poster.add_file(first.clone()).await.unwrap();
    poster.add_file(second.clone()).await.unwrap();

    // The poster's node has read both records (they were there) when
    // another node's sweep forgets them; the post script then refuses it.
    let swept = std::cell::RefCell::new(Vec::new());
    let posted = poster
        .post_between(post("both", &[&first, &second]), async {
            let forgotten = sweeper.sweep_files(CUTOFF).await.unwrap();
            swept.borrow_mut().extend(forgotten);
        })
        .await;
    let mut swept = swept.into_inner();
    swept.sort();
    assert_eq!(swept, vec![first.id.clone(), second.id.clone()]);
    match posted {
        Err(BrokerError::BadFiles(text)) => {
            assert_eq!(
                text,
                format!("files: {} is not an upload of yours", first.id)
            )
        }
        other => panic!("refused, got {other:?}"),
    }
    assert!(poster.history(&room(), None, 50).await.unwrap().is_empty());

    // The other order: the post stored first, so the sweep keeps the upload.
    let third = upload(3, "s1", OLD);
    poster.add_file(third.clone()).await.unwrap();
    let message = created(&poster, post("third", &[&third])).await;
    assert_eq!(sweeper.sweep_files(CUTOFF).await.unwrap(), vec![]);
    assert_eq!(poster.file(&third.id).await.unwrap(), Some(third));
    assert_eq!(
        sweeper.history(&room(), None, 50).await.unwrap(),
        vec![message]
    );
}
