//! `hearth-soak`: the chaos soak.
//!
//! Subscribers and publishers chat in one room through the Rust client (a
//! publisher retries a write until a node acknowledges it: a post with the
//! same `client_id`, a change as it was; a subscriber resumes with
//! `Last-Event-ID`, on the next node when it has to) while faults fire at
//! random times drawn from a seeded generator, so a failing run can be
//! replayed with its seed:
//!
//! - **drop-clients**: every subscriber's connection is cut;
//! - **restart-node**: a node is SIGKILLed and started again (embedded: on
//!   the same data dir; Redis: one of two nodes);
//! - **restart-redis** (Redis backend): Redis is SIGKILLed and restarted
//!   (AOF with `appendfsync always`, the documented setting);
//! - **stalled-subscriber**: a client opens a stream and stops reading.
//!
//! Publishers mostly post (some posts are replies), and, at rates drawn
//! from generators seeded from the seed, edit, react to (add, remove) and
//! delete their own recent messages (the room log of protocol v1.1). Some
//! posts share files (v1.1 "files"): first uploaded (random bytes of a few
//! bytes to 1 MiB, or a small PNG; an upload that fails is made again, a
//! fresh upload), then posted with their ids, the post retried as any
//! other. The nodes of a Redis cluster share one file folder (`--files`).
//!
//! At the end it checks:
//!
//! - every message that got a `201` (or the `200` of a retry) reached every
//!   subscriber exactly once and in id order (the original invariant);
//! - every upload's answer has its name and size (a PNG: its type, pixels
//!   and a thumbnail), and every acknowledged message arrives (posted,
//!   edited, and in the history) with exactly the file infos of its uploads,
//!   in order; a message without files, with none;
//! - every file of an acknowledged message downloads byte-identical (length
//!   and SHA-256; an image's thumbnail too) from every node at the end, and
//!   a sample of them after every node or Redis restart;
//! - every acknowledged change produced exactly one entry, which reached
//!   every subscriber once (a retried change adds no second entry), no
//!   subscriber got an entry nobody's write was acknowledged for, log ids
//!   strictly increase on every stream, and each publisher's writes arrive
//!   in the order they were acknowledged;
//! - the state each subscriber folds from its entries
//!   (`hearth_proto::log::fold`) equals the server's history (every page of
//!   `GET .../messages`, `before` the oldest of the last) for the retained
//!   range, every node's history is the same, and it holds what the
//!   acknowledged writes left (texts, reactions, deletions).
//!
//! It prints what was acknowledged and delivered, the duplicates, losses
//! and order violations (all must be 0), the faults that fired, and the
//! seed; it exits non-zero when an invariant broke.
//!
//! ```sh
//! cargo build -p hearth-server --bin hearth -p hearth-soak
//! target/debug/hearth-soak --backend embedded --seconds 60
//! target/debug/hearth-soak --backend redis --seconds 3600 --seed 7
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use futures::StreamExt;
use hearth_client::{Client, Outgoing, StreamTarget};
use hearth_proto::log;
use hearth_proto::{Cursor, EntryKind, FileInfo, Message, MessageId, RoomName, StreamEvent};
use hearth_testkit::RedisServer;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};
use tokio::sync::{Notify, watch};

mod files;

use files::{Planned, Problem, Upload};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    /// One node, history in SQLite; restarts reuse its data dir.
    Embedded,
    /// Two nodes on one Redis.
    Redis,
}

#[derive(Debug, Parser)]
#[command(
    about = "Chat through faults; check that no acknowledged message or change is lost or repeated"
)]
struct Args {
    #[arg(long, value_enum, default_value = "embedded")]
    backend: Backend,
    /// How long faults keep firing.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// The fault schedule's seed (random when absent; printed either way).
    #[arg(long)]
    seed: Option<u64>,
    #[arg(long, default_value_t = 4)]
    subscribers: usize,
    #[arg(long, default_value_t = 2)]
    publishers: usize,
    /// Messages per second per publisher.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Shortest and longest pause between faults, in seconds.
    #[arg(long, default_value_t = 1.0)]
    min_gap: f64,
    #[arg(long, default_value_t = 4.0)]
    max_gap: f64,
    /// How many messages the room keeps (`hearth serve --retention`;
    /// default: the server's). Small values exercise the retained range.
    #[arg(long)]
    retention: Option<usize>,
    /// The `hearth` binary (default: next to this one).
    #[arg(long)]
    hearth: Option<PathBuf>,
}

const ROOM: &str = "soak";

/// A `hearth serve` process on a fixed port, restartable.
struct Node {
    port: u16,
    args: Vec<String>,
    binary: PathBuf,
    child: Option<Child>,
}

impl Node {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn start(&mut self) -> anyhow::Result<()> {
        let child = Command::new(&self.binary)
            .arg("serve")
            .args(["--bind", &format!("127.0.0.1:{}", self.port)])
            .args(&self.args)
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))?;
        self.child = Some(child);
        let client = Client::new(&self.url())?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while client.info().await.is_err() {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                bail!("hearth exited at start: {status}");
            }
            if Instant::now() > deadline {
                bail!("hearth on port {} did not answer", self.port);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// One log entry as a subscriber received it: its log id (the SSE `id:`,
/// `None` when it had none or it did not parse) and what it records.
type Entry = (Option<MessageId>, EntryKind);

/// What one subscriber received, in order.
type Seen = Arc<Mutex<Vec<Entry>>>;

/// One subscriber's (re)connections, for the report of a failed run.
type Journal = Arc<Mutex<Vec<String>>>;

/// An acknowledged write, named by the one log entry it must have produced
/// (texts of edits are unique, and a publisher adds a given emoji to a
/// message at most once and removes it at most once, so no two writes
/// share a name).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Write {
    Post(MessageId),
    Edit(MessageId, String),
    Delete(MessageId),
    React {
        id: MessageId,
        emoji: String,
        nick: String,
        added: bool,
    },
}

impl Write {
    /// The write a received entry records.
    fn of(entry: &EntryKind) -> Self {
        match entry {
            EntryKind::Message(m) => Write::Post(m.id),
            EntryKind::Edit(m) => Write::Edit(m.id, m.text.clone()),
            EntryKind::Delete(d) => Write::Delete(d.id),
            EntryKind::Reaction(r) => Write::React {
                id: r.id,
                emoji: r.emoji.clone(),
                nick: r.nick.clone(),
                added: r.added,
            },
        }
    }
}

/// What the publishers got acknowledged.
#[derive(Default)]
struct Acks {
    /// Every acknowledged post's id.
    ids: Vec<MessageId>,
    /// Every acknowledged write, in the order of its acknowledgement.
    writes: Vec<Write>,
    /// Each publisher's acknowledged writes, in its order.
    by_publisher: BTreeMap<usize, Vec<Write>>,
    /// How each was acknowledged, for the report of a failed run.
    how: HashMap<Write, String>,
    /// Posts that failed and were tried again.
    retries: u64,
    /// Changes (edits, reactions, deletes) that failed and were tried again.
    change_retries: u64,
    /// Replies among the posts.
    replies: u64,
    /// Writes answered with an error that is not retryable (must be none).
    failures: Vec<String>,
    /// The uploads each acknowledged message with files shares, in order.
    files: BTreeMap<MessageId, Vec<Upload>>,
    /// Uploads acknowledged, their bytes, and how many were PNGs.
    uploads: u64,
    upload_bytes: u64,
    pngs: u64,
    /// Uploads that failed and were made again.
    upload_retries: u64,
    /// Upload or post answers with the wrong file infos (must be none).
    file_problems: Vec<String>,
}

impl Acks {
    /// The file infos an acknowledged message must carry.
    fn file_infos(&self, id: MessageId) -> Vec<FileInfo> {
        self.files
            .get(&id)
            .map(|uploads| uploads.iter().map(|u| u.info.clone()).collect())
            .unwrap_or_default()
    }
}

/// The server's stream id of an entry: a message id, or a cursor naming
/// the room.
fn log_id(last_event_id: Option<&str>, room: &RoomName) -> Option<MessageId> {
    let raw = last_event_id?;
    raw.parse::<MessageId>()
        .ok()
        .or_else(|| raw.parse::<Cursor>().ok()?.get(room))
}

/// Follows the room; on any drop (or when told to drop) reopens it on the
/// next node with the last id it saw. It follows until the end of the run
/// (the final check aborts it), not until posting stops: a node restarted
/// by the last fault must still be followed, or the entries acknowledged
/// after it would look lost.
fn subscriber(
    nodes: Vec<String>,
    token: String,
    seen: Seen,
    journal: Journal,
    started: Instant,
    drop_now: Arc<Notify>,
    ready: tokio::sync::mpsc::UnboundedSender<()>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let room = RoomName::parse(ROOM).expect("room");
        let target = StreamTarget::Room(room.clone());
        let mut last_id: Option<String> = None;
        let clients: Vec<Client> = nodes
            .iter()
            .map(|node| Client::new(node).expect("client").with_token(token.clone()))
            .collect();
        for (client, node) in clients.iter().zip(&nodes).cycle() {
            let opened = client.open_stream(&target, last_id.as_deref()).await;
            journal.lock().expect("journal").push(format!(
                "{:6.2}s {node} from {}: {}",
                started.elapsed().as_secs_f64(),
                last_id.as_deref().unwrap_or("-"),
                if opened.is_ok() { "open" } else { "refused" },
            ));
            let events = match opened {
                Ok(events) => events,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let mut events = Box::pin(events);
            loop {
                let item = tokio::select! {
                    _ = drop_now.notified() => break,
                    item = events.next() => item,
                };
                let Some(Ok(received)) = item else { break };
                if let StreamEvent::Ready(r) = &received.event {
                    journal.lock().expect("journal").push(format!(
                        "{:6.2}s   ready resumed={} last_id={}",
                        started.elapsed().as_secs_f64(),
                        r.resumed,
                        r.last_id.map(|id| id.to_string()).unwrap_or("-".into()),
                    ));
                    // A fresh replay's end: resume from it, not fresh again.
                    if last_id.is_none() {
                        last_id = r.last_id.map(|id| id.to_string());
                    }
                    let _ = ready.send(());
                    continue;
                }
                let id = log_id(received.last_event_id.as_deref(), &room);
                if let Some(entry) = EntryKind::from_event(received.event) {
                    if let Some(raw) = received.last_event_id {
                        last_id = Some(raw);
                    }
                    seen.lock().expect("seen").push((id, entry));
                }
            }
        }
    })
}

/// One write a publisher makes.
enum Op {
    Post {
        text: String,
        client_id: String,
        reply_to: Option<MessageId>,
        /// Acknowledged uploads it shares.
        files: Vec<Upload>,
    },
    Edit(MessageId, String),
    Delete(MessageId),
    React(MessageId, &'static str, bool),
}

impl Op {
    /// Makes the write once; a post answers its message.
    async fn attempt(
        &self,
        client: &Client,
        room: &RoomName,
    ) -> Result<(Option<Message>, bool), hearth_client::ClientError> {
        match self {
            Op::Post {
                text,
                client_id,
                reply_to,
                files,
            } => {
                let ids: Vec<String> = files.iter().map(|u| u.info.id.clone()).collect();
                let outgoing = Outgoing {
                    text,
                    client_id,
                    reply_to: *reply_to,
                    files: &ids,
                };
                let posted = client.post_outgoing(room, &outgoing).await?;
                Ok((Some(posted.message), posted.created))
            }
            Op::Edit(id, text) => client.edit(room, *id, text).await.map(|_| (None, true)),
            Op::Delete(id) => client.delete(room, *id).await.map(|_| (None, true)),
            Op::React(id, emoji, true) => {
                client.react(room, *id, emoji).await.map(|_| (None, true))
            }
            Op::React(id, emoji, false) => {
                client.unreact(room, *id, emoji).await.map(|_| (None, true))
            }
        }
    }
}

/// The emoji publishers react with (one with a variation selector).
const EMOJI: [&str; 8] = ["👍", "🎉", "❤️", "😂", "🔥", "👀", "✅", "🙏"];

/// A publisher's own message that is not deleted.
struct Own {
    id: MessageId,
    /// Emoji added to it so far (each at most once, removed at most once).
    used: Vec<&'static str>,
    /// Emoji on it now.
    on: Vec<&'static str>,
}

/// Writes until `stop`, each write retried (on the next node) until
/// acknowledged: mostly posts (some of them replies, some sharing files,
/// each file uploaded until an upload is acknowledged), and, at rates
/// drawn from `rng`, edits, reactions added and removed, and deletes of its
/// own recent messages.
#[allow(clippy::too_many_arguments)]
fn publisher(
    index: usize,
    nodes: Vec<String>,
    token: String,
    name: String,
    interval: Duration,
    acks: Arc<Mutex<Acks>>,
    started: Instant,
    stop: watch::Receiver<bool>,
    mut rng: StdRng,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let room = RoomName::parse(ROOM).expect("room");
        let clients: Vec<Client> = nodes
            .iter()
            .map(|node| Client::new(node).expect("client").with_token(token.clone()))
            .collect();
        let mut own: Vec<Own> = Vec::new();
        let mut turn = 0usize;
        for n in 0u64.. {
            if *stop.borrow() {
                return;
            }
            // The recent own messages are the ones changed.
            let recent = own.len().saturating_sub(30)..own.len();
            let pick = if recent.is_empty() {
                None
            } else {
                Some(rng.random_range(recent))
            };
            let roll: f64 = rng.random();
            let mut planned = Vec::new();
            let mut op = match pick {
                Some(mut at) if own.len() >= 5 && roll < 0.45 => {
                    if (0.15..0.25).contains(&roll) {
                        // Removing needs a reaction: the newest recent
                        // message that has one, when there is one.
                        if let Some(with) = (own.len().saturating_sub(30)..own.len())
                            .rev()
                            .find(|&i| !own[i].on.is_empty())
                        {
                            at = with;
                        }
                    }
                    let target = &own[at];
                    if roll < 0.15 {
                        let mention = if rng.random_bool(0.3) {
                            " @reader0"
                        } else {
                            ""
                        };
                        Op::Edit(target.id, format!("{name} #{n} edit{mention}"))
                    } else if roll < 0.25 && !target.on.is_empty() {
                        Op::React(
                            target.id,
                            target.on[rng.random_range(0..target.on.len())],
                            false,
                        )
                    } else if roll < 0.37 && target.used.len() < EMOJI.len() {
                        let free: Vec<&'static str> = EMOJI
                            .iter()
                            .copied()
                            .filter(|e| !target.used.contains(e))
                            .collect();
                        Op::React(target.id, free[rng.random_range(0..free.len())], true)
                    } else {
                        Op::Delete(target.id)
                    }
                }
                _ => {
                    if rng.random_bool(0.15) {
                        planned = Planned::draw(&mut rng, &name, n);
                    }
                    // Long enough that a stalled reader fills its buffers;
                    // a message with files may have no text.
                    let text = if !planned.is_empty() && rng.random_bool(0.3) {
                        String::new()
                    } else {
                        format!("{name} #{n} {}", "·".repeat(80))
                    };
                    Op::Post {
                        text,
                        client_id: hearth_client::new_client_id(),
                        reply_to: pick.filter(|_| rng.random_bool(0.1)).map(|at| own[at].id),
                        files: Vec::new(),
                    }
                }
            };
            if let Op::Post { files, .. } = &mut op {
                // Each file uploaded until an upload of it is acknowledged
                // (a failed one is made again: a fresh id).
                for planned in planned {
                    let sha256 = planned.sha256();
                    let info = loop {
                        let node = turn % clients.len();
                        let sent = clients[node]
                            .upload_bytes(planned.bytes.clone(), &planned.name, None)
                            .await;
                        match sent {
                            Ok(info) => break info,
                            Err(e) if e.is_retryable() => {
                                acks.lock().expect("acks").upload_retries += 1;
                                turn += 1;
                                tokio::time::sleep(Duration::from_millis(100)).await;
                            }
                            Err(e) => {
                                acks.lock().expect("acks").failures.push(format!(
                                    "{name} #{n}: upload of {:?} on {}: {e}",
                                    planned.name, nodes[node]
                                ));
                                return;
                            }
                        }
                    };
                    {
                        let mut acks = acks.lock().expect("acks");
                        acks.uploads += 1;
                        acks.upload_bytes += planned.bytes.len() as u64;
                        acks.pngs += u64::from(planned.png.is_some());
                        if let Some(problem) = planned.check_answer(&info) {
                            acks.file_problems.push(problem);
                        }
                    }
                    files.push(Upload { info, sha256 });
                }
            }
            if rng.random_bool(0.05) {
                // Typing is never stored; it must not disturb the streams.
                let _ = clients[turn % clients.len()].typing(&room).await;
            }
            let mut attempts = 0u32;
            let (posted, node, created) = loop {
                let node = turn % clients.len();
                attempts += 1;
                match op.attempt(&clients[node], &room).await {
                    Ok((posted, created)) => break (posted, node, created),
                    Err(e) if e.is_retryable() => {
                        {
                            let mut acks = acks.lock().expect("acks");
                            match op {
                                Op::Post { .. } => acks.retries += 1,
                                _ => acks.change_retries += 1,
                            }
                        }
                        turn += 1;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(e) => {
                        acks.lock()
                            .expect("acks")
                            .failures
                            .push(format!("{name} #{n} on {}: {e}", nodes[node]));
                        return;
                    }
                }
            };
            let write = match &op {
                Op::Post {
                    reply_to, files, ..
                } => {
                    let message = posted.expect("a post answers its message");
                    let id = message.id;
                    let infos: Vec<FileInfo> = files.iter().map(|u| u.info.clone()).collect();
                    {
                        let mut acks = acks.lock().expect("acks");
                        if message.files != infos {
                            acks.file_problems.push(format!(
                                "{name} #{n}: posted {id} with files {:?}, answered {:?}",
                                infos, message.files
                            ));
                        }
                        if !files.is_empty() {
                            acks.files.insert(id, files.clone());
                        }
                        if reply_to.is_some() {
                            acks.replies += 1;
                        }
                    }
                    own.push(Own {
                        id,
                        used: Vec::new(),
                        on: Vec::new(),
                    });
                    Write::Post(id)
                }
                Op::Edit(id, text) => Write::Edit(*id, text.clone()),
                Op::Delete(id) => {
                    own.retain(|o| o.id != *id);
                    Write::Delete(*id)
                }
                Op::React(id, emoji, added) => {
                    let target = own.iter_mut().find(|o| o.id == *id).expect("own message");
                    if *added {
                        target.used.push(emoji);
                        target.on.push(emoji);
                    } else {
                        target.on.retain(|e| e != emoji);
                    }
                    Write::React {
                        id: *id,
                        emoji: (*emoji).to_owned(),
                        nick: name.clone(),
                        added: *added,
                    }
                }
            };
            {
                let mut acks = acks.lock().expect("acks");
                if let Write::Post(id) = write {
                    acks.ids.push(id);
                }
                acks.how.insert(
                    write.clone(),
                    format!(
                        "{name} #{n}, acked at {:.2}s by {} ({}) after {attempt} attempt(s)",
                        started.elapsed().as_secs_f64(),
                        nodes[node],
                        if created { "201" } else { "200" },
                        attempt = attempts,
                    ),
                );
                acks.writes.push(write.clone());
                acks.by_publisher.entry(index).or_default().push(write);
            }
            tokio::time::sleep(interval).await;
        }
    })
}

/// What the download checks after restarts found.
#[derive(Default)]
struct SpotChecks {
    /// Restarts checked, and files downloaded for them (from every node).
    restarts: usize,
    downloads: usize,
    /// Downloads that answered other bytes (must be none).
    mismatched: Vec<String>,
    /// Downloads that never answered in 30 s (must be none).
    unavailable: Vec<String>,
}

/// Downloads `sample` from every node (each retried for up to 30 s while
/// a node or Redis comes back) and compares the bytes.
fn spot_check(
    urls: Vec<String>,
    token: String,
    sample: Vec<Upload>,
    spot: Arc<Mutex<SpotChecks>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let deadline = Instant::now() + Duration::from_secs(30);
        for url in &urls {
            let client = Client::new(url).expect("client").with_token(token.clone());
            for upload in &sample {
                let result = files::check_download(&client, upload, deadline).await;
                let mut spot = spot.lock().expect("spot");
                spot.downloads += 1;
                match result {
                    Ok(()) => {}
                    Err(Problem::Mismatch(m)) => spot.mismatched.push(format!("{url}: {m}")),
                    Err(Problem::Unavailable(m)) => spot.unavailable.push(format!("{url}: {m}")),
                }
            }
        }
        spot.lock().expect("spot").restarts += 1;
    })
}

/// The room's history in current state, oldest first: every page, each
/// asked `before` the oldest of the last (retried while nodes restart).
async fn history(client: &Client) -> anyhow::Result<Vec<Message>> {
    const PAGE: usize = 500;
    let room = RoomName::parse(ROOM).expect("room");
    let mut all: Vec<Message> = Vec::new();
    let mut before = None;
    loop {
        let mut tries = 0;
        let page = loop {
            match client.history(&room, before, Some(PAGE)).await {
                Ok(page) => break page,
                Err(e) if e.is_retryable() && tries < 150 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e).context("reading the history"),
            }
        };
        let full = page.len() == PAGE;
        let Some(oldest) = page.first().map(|m| m.id) else {
            break;
        };
        before = Some(oldest);
        all.splice(0..0, page);
        if !full {
            break;
        }
    }
    Ok(all)
}

/// A message as the acknowledged writes left it (`None`: deleted).
#[derive(Debug, Default)]
struct Expected {
    /// The last acknowledged edit (`None`: never edited).
    text: Option<String>,
    reactions: BTreeMap<String, Vec<String>>,
}

/// What the acknowledged writes, in order, leave of each message: the
/// soak's own account, checked against the server's history.
fn acknowledged_state(writes: &[Write]) -> BTreeMap<MessageId, Option<Expected>> {
    let mut state: BTreeMap<MessageId, Option<Expected>> = BTreeMap::new();
    for write in writes {
        match write {
            Write::Post(id) => {
                state.insert(*id, Some(Expected::default()));
            }
            Write::Edit(id, text) => {
                if let Some(Some(m)) = state.get_mut(id) {
                    m.text = Some(text.clone());
                }
            }
            Write::Delete(id) => {
                state.insert(*id, None);
            }
            Write::React {
                id,
                emoji,
                nick,
                added,
            } => {
                if let Some(Some(m)) = state.get_mut(id) {
                    let nicks = m.reactions.entry(emoji.clone()).or_default();
                    nicks.retain(|n| n != nick);
                    if *added {
                        nicks.push(nick.clone());
                    } else if nicks.is_empty() {
                        m.reactions.remove(emoji);
                    }
                }
            }
        }
    }
    state
}

/// A client that opens a stream and never reads it (until dropped).
async fn stalled_subscriber(port: u16, token: &str) -> Option<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4().ok()?;
    let _ = socket.set_recv_buffer_size(4096);
    let mut stream = socket.connect(([127, 0, 0, 1], port).into()).await.ok()?;
    let request = format!(
        "GET /api/rooms/{ROOM}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.ok()?;
    Some(stream)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    DropClients,
    RestartNode,
    RestartRedis,
    StalledSubscriber,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::DropClients => "drop-clients",
            Fault::RestartNode => "restart-node",
            Fault::RestartRedis => "restart-redis",
            Fault::StalledSubscriber => "stalled-subscriber",
        }
    }
}

async fn sign_in(node: &str, nick: &str) -> anyhow::Result<String> {
    let mut client = Client::new(node)?;
    client.sign_in(nick, None).await?;
    Ok(client.token().expect("token").to_owned())
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let seed = args.seed.unwrap_or_else(rand::random);
    let mut rng = StdRng::seed_from_u64(seed);
    println!(
        "soak: backend={:?} seed={seed} seconds={} subscribers={} publishers={} rate={}/s each",
        args.backend, args.seconds, args.subscribers, args.publishers, args.rate
    );
    let binary = match &args.hearth {
        Some(path) => path.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("the soak binary has no directory")?
            .join("hearth"),
    };
    let dir = tempfile::tempdir()?;
    let mut common: Vec<String> = [
        "--log",
        "error",
        "--post-rate",
        "10000",
        "--post-burst",
        "10000",
        "--ip-post-rate",
        "100000",
        "--ip-post-burst",
        "100000",
        "--session-rate",
        "10000",
        "--session-burst",
        "10000",
        "--write-timeout",
        "3s",
        "--shutdown-grace",
        "1s",
    ]
    .map(str::to_owned)
    .to_vec();
    if let Some(retention) = args.retention {
        common.extend(["--retention".to_owned(), retention.to_string()]);
    }
    common.extend([
        "--secret-file".to_owned(),
        dir.path().join("secret.key").display().to_string(),
    ]);
    let mut redis = match args.backend {
        Backend::Embedded => None,
        Backend::Redis => Some(RedisServer::start(&dir.path().join("redis"))),
    };
    let redis_url = redis.as_ref().map(RedisServer::url);
    let node_count = if redis_url.is_some() { 2 } else { 1 };
    let mut nodes = Vec::new();
    for i in 0..node_count {
        let mut node_args = common.clone();
        node_args.extend([
            "--data".to_owned(),
            dir.path().join(format!("node{i}")).display().to_string(),
        ]);
        if let Some(url) = &redis_url {
            node_args.extend(["--redis".to_owned(), url.clone()]);
            node_args.extend(["--presence-ttl".to_owned(), "3s".to_owned()]);
            // One file folder serves the cluster, as a shared mount would.
            node_args.extend([
                "--files".to_owned(),
                dir.path().join("files").display().to_string(),
            ]);
        }
        let mut node = Node {
            port: free_port()?,
            args: node_args,
            binary: binary.clone(),
            child: None,
        };
        node.start().await?;
        nodes.push(node);
    }
    let urls: Vec<String> = nodes.iter().map(Node::url).collect();

    let started = Instant::now();
    let (stop_tx, stop_rx) = watch::channel(false);
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut subscribers = Vec::new();
    for i in 0..args.subscribers {
        let token = sign_in(&urls[0], &format!("reader{i}")).await?;
        let seen: Seen = Arc::default();
        let journal: Journal = Arc::default();
        let drop_now = Arc::new(Notify::new());
        let mut order = urls.clone();
        order.rotate_left(i % urls.len());
        let task = subscriber(
            order,
            token,
            seen.clone(),
            journal.clone(),
            started,
            drop_now.clone(),
            ready_tx.clone(),
        );
        subscribers.push((seen, drop_now, task, journal));
    }
    for _ in 0..args.subscribers {
        tokio::time::timeout(Duration::from_secs(20), ready_rx.recv())
            .await
            .context("subscribers did not start")?;
    }

    let acks: Arc<Mutex<Acks>> = Arc::default();
    let interval = Duration::from_secs_f64(1.0 / args.rate.max(0.1));
    let mut publishers = Vec::new();
    for i in 0..args.publishers {
        let token = sign_in(&urls[0], &format!("writer{i}")).await?;
        let mut order = urls.clone();
        order.rotate_left(i % urls.len());
        // Each publisher's writes are drawn from its own generator, so the
        // fault schedule of a seed does not depend on them.
        let writes =
            StdRng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15u64.wrapping_mul(i as u64 + 1));
        publishers.push(publisher(
            i,
            order,
            token,
            format!("writer{i}"),
            interval,
            acks.clone(),
            started,
            stop_rx.clone(),
            writes,
        ));
    }
    let stall_token = sign_in(&urls[0], "staller").await?;
    let checker = sign_in(&urls[0], "checker").await?;
    // Which files a restart's download check picks: its own generator, so
    // the fault schedule of a seed does not depend on it.
    let mut spot_rng = StdRng::seed_from_u64(seed ^ 0x5851_f42d_4c95_7f2d);
    let spot: Arc<Mutex<SpotChecks>> = Arc::default();
    let mut spot_tasks = Vec::new();

    // The fault schedule.
    let mut kinds = vec![
        Fault::DropClients,
        Fault::RestartNode,
        Fault::StalledSubscriber,
    ];
    if redis_url.is_some() {
        kinds.push(Fault::RestartRedis);
    }
    let mut fired: BTreeMap<Fault, u32> = kinds.iter().map(|k| (*k, 0)).collect();
    let mut stalled = Vec::new();
    let end = Instant::now() + Duration::from_secs(args.seconds);
    loop {
        let gap = Duration::from_secs_f64(
            rng.random_range(args.min_gap..=args.max_gap.max(args.min_gap)),
        );
        if Instant::now() + gap >= end {
            tokio::time::sleep(end.saturating_duration_since(Instant::now())).await;
            break;
        }
        tokio::time::sleep(gap).await;
        let fault = kinds[rng.random_range(0..kinds.len())];
        *fired.entry(fault).or_default() += 1;
        let at = started.elapsed().as_secs_f64();
        println!("soak: {at:6.2}s {}", fault.name());
        match fault {
            Fault::DropClients => {
                for (_, drop_now, _, _) in &subscribers {
                    drop_now.notify_one();
                }
            }
            Fault::RestartNode => {
                let node = &mut nodes[rng.random_range(0..node_count)];
                node.kill().await;
                tokio::time::sleep(Duration::from_millis(rng.random_range(50..800))).await;
                node.start().await?;
            }
            Fault::RestartRedis => {
                let pause = Duration::from_millis(rng.random_range(50..800));
                let server = redis.as_mut().expect("redis backend");
                server.kill();
                tokio::time::sleep(pause).await;
                // Here, on the main thread, not a blocking-pool thread: the
                // test kit's Redis dies with the thread that started it.
                server.restart();
            }
            Fault::StalledSubscriber => {
                let port = nodes[rng.random_range(0..node_count)].port;
                if let Some(stream) = stalled_subscriber(port, &stall_token).await {
                    stalled.push(stream);
                }
                // Keep at most a few; the oldest go.
                if stalled.len() > 3 {
                    stalled.remove(0);
                }
            }
        }
        if matches!(fault, Fault::RestartNode | Fault::RestartRedis) {
            // A few acknowledged files, from every node, right after.
            let sample: Vec<Upload> = {
                let acks = acks.lock().expect("acks");
                let all: Vec<&Upload> = acks.files.values().flatten().collect();
                (0..all.len().min(4))
                    .map(|_| all[spot_rng.random_range(0..all.len())].clone())
                    .collect()
            };
            spot_tasks.push(spot_check(
                urls.clone(),
                checker.clone(),
                sample,
                spot.clone(),
            ));
        }
    }

    // Quiet: stop posting, let every subscriber catch up.
    let _ = stop_tx.send(true);
    for publisher in publishers {
        publisher.await?;
    }
    for task in spot_tasks {
        task.await?;
    }

    drop(stalled);
    let acks = std::mem::take(&mut *acks.lock().expect("acks"));
    let acked: Vec<MessageId> = {
        let mut ids = acks.ids.clone();
        ids.sort();
        ids
    };
    let expected: HashSet<MessageId> = acked.iter().copied().collect();
    let expected_writes: HashSet<&Write> = acks.writes.iter().collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let complete = subscribers.iter().all(|(seen, _, _, _)| {
            let seen = seen.lock().expect("seen");
            let got: HashSet<Write> = seen.iter().map(|(_, e)| Write::of(e)).collect();
            expected_writes.iter().all(|w| got.contains(*w))
        });
        if complete || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The server's current state, from every node.
    let reader = sign_in(&urls[0], "auditor").await?;
    let mut histories = Vec::new();
    for url in &urls {
        histories.push(history(&Client::new(url)?.with_token(reader.clone())).await?);
    }
    // The retained range: from the oldest message the history still holds.
    let floor = histories
        .iter()
        .filter_map(|h| h.first().map(|m| m.id))
        .max();
    let in_range = |id: &MessageId| floor.is_some_and(|floor| *id >= floor);

    let mut delivered = 0usize;
    let mut duplicates = 0usize;
    let mut lost = 0usize;
    let mut out_of_order = 0usize;
    let mut change_delivered = 0usize;
    let mut change_duplicates = 0usize;
    let mut change_lost = 0usize;
    let mut change_extra = 0usize;
    let mut log_disorder = 0usize;
    let mut write_disorder = 0usize;
    let mut state_diffs = 0usize;
    let mut file_diffs = 0usize;
    let mut file_messages_delivered = 0usize;
    let changes: Vec<&Write> = acks
        .writes
        .iter()
        .filter(|w| !matches!(w, Write::Post(_)))
        .collect();
    let history = &histories[0];
    for (i, (seen, _, task, journal)) in subscribers.iter().enumerate() {
        task.abort();
        let entries = seen.lock().expect("seen").clone();
        let seen: Vec<MessageId> = entries
            .iter()
            .filter_map(|(_, e)| match e {
                EntryKind::Message(m) => Some(m.id),
                _ => None,
            })
            .collect();
        let unique: HashSet<MessageId> = seen.iter().copied().collect();
        let subscriber_lost = expected.difference(&unique).count();
        let subscriber_dups = seen.len() - unique.len();
        let disorder = seen.windows(2).filter(|w| w[1] <= w[0]).count();

        // Change entries: each acknowledged one exactly once, nothing else.
        let mut count: HashMap<Write, usize> = HashMap::new();
        let mut first_at: HashMap<Write, usize> = HashMap::new();
        for (at, (_, entry)) in entries.iter().enumerate() {
            let write = Write::of(entry);
            first_at.entry(write.clone()).or_insert(at);
            *count.entry(write).or_default() += 1;
        }
        let mut sub_change_lost = Vec::new();
        let mut sub_change_dups = 0usize;
        for write in &changes {
            match count.get(*write).copied().unwrap_or(0) {
                0 => sub_change_lost.push(*write),
                n => {
                    change_delivered += 1;
                    sub_change_dups += n - 1;
                }
            }
        }
        let extra: Vec<&Write> = count
            .keys()
            .filter(|w| !matches!(w, Write::Post(_)) && !expected_writes.contains(w))
            .collect();
        // Log ids strictly increase (a missing id counts too), and each
        // publisher's writes arrive in the order they were acknowledged.
        let sub_log_disorder = entries.iter().filter(|(id, _)| id.is_none()).count()
            + entries
                .windows(2)
                .filter(|w| matches!((w[0].0, w[1].0), (Some(a), Some(b)) if b <= a))
                .count();
        let sub_write_disorder: usize = acks
            .by_publisher
            .values()
            .map(|writes| {
                let at: Vec<usize> = writes
                    .iter()
                    .filter_map(|w| first_at.get(w).copied())
                    .collect();
                at.windows(2).filter(|w| w[1] <= w[0]).count()
            })
            .sum();

        // The final state: this subscriber's entries folded in order, the
        // retained range of it equal to the server's history.
        let state: Vec<Message> = log::fold(entries.iter().map(|(_, e)| e))
            .into_iter()
            .filter(|m| in_range(&m.id))
            .collect();
        let diffs = state_differences(&state, history);

        // Every acknowledged message (as posted and as edited) carries
        // exactly the file infos of its uploads.
        let sub_file_diffs: Vec<String> = entries
            .iter()
            .filter_map(|(_, entry)| match entry {
                EntryKind::Message(m) | EntryKind::Edit(m) if expected.contains(&m.id) => {
                    let want = acks.file_infos(m.id);
                    (m.files != want).then(|| {
                        format!(
                            "{}: arrived with files {:?}, acknowledged {:?}",
                            m.id,
                            m.files.iter().map(|f| &f.id).collect::<Vec<_>>(),
                            want.iter().map(|f| &f.id).collect::<Vec<_>>()
                        )
                    })
                }
                _ => None,
            })
            .collect();
        file_messages_delivered += unique
            .iter()
            .filter(|id| acks.files.contains_key(id))
            .count();

        if subscriber_lost
            + subscriber_dups
            + disorder
            + sub_change_lost.len()
            + sub_change_dups
            + extra.len()
            + sub_log_disorder
            + sub_write_disorder
            + diffs.len()
            + sub_file_diffs.len()
            > 0
        {
            println!(
                "soak: subscriber {i}: lost {subscriber_lost}, duplicates {subscriber_dups}, out of order {disorder}"
            );
            println!(
                "soak: subscriber {i}: changes lost {}, duplicated {sub_change_dups}, unacknowledged {}, log ids out of order {sub_log_disorder}, writes out of order {sub_write_disorder}, final state differs in {} message(s)",
                sub_change_lost.len(),
                extra.len(),
                diffs.len(),
            );
            println!(
                "soak: subscriber {i}: messages with the wrong files {}",
                sub_file_diffs.len()
            );
            for diff in sub_file_diffs.iter().take(5) {
                println!("soak:   {diff}");
            }
            let mut missing: Vec<&MessageId> = expected.difference(&unique).collect();
            missing.sort();
            for id in missing.iter().take(5) {
                let before = seen.iter().filter(|s| s < id).max();
                let after = seen.iter().filter(|s| s > id).min();
                println!(
                    "soak:   missing {id} ({}; seen around it: {} .. {})",
                    acks.how
                        .get(&Write::Post(**id))
                        .map(String::as_str)
                        .unwrap_or("acked"),
                    before.map(|s| s.to_string()).unwrap_or("-".into()),
                    after.map(|s| s.to_string()).unwrap_or("-".into()),
                );
            }
            for write in sub_change_lost.iter().take(5) {
                println!(
                    "soak:   missing {write:?} ({})",
                    acks.how.get(*write).map(String::as_str).unwrap_or("acked")
                );
            }
            for write in extra.iter().take(5) {
                println!("soak:   unacknowledged {write:?}");
            }
            for diff in diffs.iter().take(5) {
                println!("soak:   {diff}");
            }
            for line in journal.lock().expect("journal").iter() {
                println!("soak:   {line}");
            }
        }
        delivered += unique.intersection(&expected).count();
        duplicates += subscriber_dups;
        lost += subscriber_lost;
        out_of_order += disorder;
        change_lost += sub_change_lost.len();
        change_duplicates += sub_change_dups;
        change_extra += extra.len();
        log_disorder += sub_log_disorder;
        write_disorder += sub_write_disorder;
        state_diffs += diffs.len();
        file_diffs += sub_file_diffs.len();
    }

    // Every node answers the same history, and it holds what the
    // acknowledged writes left.
    let mut history_diffs = Vec::new();
    for (n, other) in histories.iter().enumerate().skip(1) {
        for diff in state_differences(other, history) {
            history_diffs.push(format!("node {n} vs node 0: {diff}"));
        }
    }
    let by_id: HashMap<MessageId, &Message> = history.iter().map(|m| (m.id, m)).collect();
    for (id, want) in acknowledged_state(&acks.writes) {
        if !in_range(&id) {
            continue;
        }
        let problem = match (want, by_id.get(&id)) {
            (None, Some(_)) => Some("deleted, yet in the history".to_owned()),
            (None, None) => None,
            (Some(_), None) => Some("not deleted, yet absent from the history".to_owned()),
            (Some(want), Some(got)) => {
                let text_ok = match &want.text {
                    Some(text) => got.text == *text && got.edited_ts.is_some(),
                    None => got.edited_ts.is_none(),
                };
                let files = acks.file_infos(id);
                (!text_ok || got.reactions != want.reactions || got.files != files).then(|| {
                    format!(
                        "acknowledged text {:?}, reactions {:?} and {} file(s), history has {:?}, {:?} and {} file(s) (same: {})",
                        want.text,
                        want.reactions,
                        files.len(),
                        got.text,
                        got.reactions,
                        got.files.len(),
                        got.files == files
                    )
                })
            }
        };
        if let Some(problem) = problem {
            history_diffs.push(format!("{id}: {problem}"));
        }
    }
    for diff in history_diffs.iter().take(10) {
        println!("soak: history: {diff}");
    }

    // Every file of every acknowledged message, from every node.
    let uploads: Vec<&Upload> = acks.files.values().flatten().collect();
    let mut downloads = 0usize;
    let mut mismatched = Vec::new();
    let mut unavailable = Vec::new();
    for url in &urls {
        let client = Client::new(url)?.with_token(checker.clone());
        let deadline = Instant::now() + Duration::from_secs(60);
        let results: Vec<Result<(), Problem>> = futures::stream::iter(
            uploads
                .iter()
                .map(|upload| files::check_download(&client, upload, deadline)),
        )
        .buffer_unordered(4)
        .collect()
        .await;
        for result in results {
            downloads += 1;
            match result {
                Ok(()) => {}
                Err(Problem::Mismatch(m)) => mismatched.push(format!("{url}: {m}")),
                Err(Problem::Unavailable(m)) => unavailable.push(format!("{url}: {m}")),
            }
        }
    }
    let spot = std::mem::take(&mut *spot.lock().expect("spot"));

    for node in &mut nodes {
        node.kill().await;
    }
    let faults: Vec<String> = fired
        .iter()
        .map(|(k, n)| format!("{}={n}", k.name()))
        .collect();
    println!("soak: faults fired: {}", faults.join(" "));
    println!(
        "soak: messages acked {}, deliveries expected {}, delivered {delivered}, duplicates {duplicates}, lost {lost}, out of order {out_of_order}, post retries {}",
        acked.len(),
        acked.len() * args.subscribers,
        acks.retries,
    );
    let count = |f: fn(&Write) -> bool| changes.iter().filter(|w| f(w)).count();
    println!(
        "soak: changes acked {} (edits {}, reactions added {}, removed {}, deletes {}; replies posted {}), deliveries expected {}, delivered {change_delivered}, duplicates {change_duplicates}, lost {change_lost}, unacknowledged {change_extra}, log ids out of order {log_disorder}, writes out of order {write_disorder}, change retries {}",
        changes.len(),
        count(|w| matches!(w, Write::Edit(..))),
        count(|w| matches!(w, Write::React { added: true, .. })),
        count(|w| matches!(w, Write::React { added: false, .. })),
        count(|w| matches!(w, Write::Delete(_))),
        acks.replies,
        changes.len() * args.subscribers,
        acks.change_retries,
    );
    println!(
        "soak: final state: history holds {} message(s) from {}, subscriber states differing {state_diffs}, history disagreeing with the acks {}, writes failed for good {}",
        history.len(),
        floor.map(|f| f.to_string()).unwrap_or("-".into()),
        history_diffs.len(),
        acks.failures.len(),
    );
    for failure in &acks.failures {
        println!("soak:   failed: {failure}");
    }
    let file_messages = acks.files.len();
    println!(
        "soak: files: uploads acked {} ({:.1} MiB, {} PNG), upload retries {}, messages with files {file_messages} ({} files), deliveries expected {}, delivered {file_messages_delivered}, with the wrong files {file_diffs}, wrong upload/post answers {}",
        acks.uploads,
        acks.upload_bytes as f64 / (1024.0 * 1024.0),
        acks.pngs,
        acks.upload_retries,
        uploads.len(),
        file_messages * args.subscribers,
        acks.file_problems.len(),
    );
    println!(
        "soak: files: downloads at the end {downloads} (every file from every node), not byte-identical {}, unavailable {}; after {} restarts {}, not byte-identical {}, unavailable {}",
        mismatched.len(),
        unavailable.len(),
        spot.restarts,
        spot.downloads,
        spot.mismatched.len(),
        spot.unavailable.len(),
    );
    for problem in acks
        .file_problems
        .iter()
        .chain(&mismatched)
        .chain(&unavailable)
        .chain(&spot.mismatched)
        .chain(&spot.unavailable)
        .take(10)
    {
        println!("soak:   files: {problem}");
    }
    let passed = duplicates == 0
        && lost == 0
        && out_of_order == 0
        && !acked.is_empty()
        && change_duplicates == 0
        && change_lost == 0
        && change_extra == 0
        && log_disorder == 0
        && write_disorder == 0
        && state_diffs == 0
        && history_diffs.is_empty()
        && acks.failures.is_empty()
        && !history.is_empty()
        && file_diffs == 0
        && acks.file_problems.is_empty()
        && mismatched.is_empty()
        && unavailable.is_empty()
        && spot.mismatched.is_empty()
        && spot.unavailable.is_empty();
    println!(
        "soak: {} (seed {seed})",
        if passed { "PASS" } else { "FAIL" }
    );
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// How a subscriber's state (or another node's history) differs from the
/// history, message by message.
fn state_differences(state: &[Message], history: &[Message]) -> Vec<String> {
    let mine: BTreeMap<MessageId, &Message> = state.iter().map(|m| (m.id, m)).collect();
    let theirs: BTreeMap<MessageId, &Message> = history.iter().map(|m| (m.id, m)).collect();
    let mut diffs = Vec::new();
    for (id, m) in &mine {
        match theirs.get(id) {
            None => diffs.push(format!("{id}: not in the history (text {:?})", m.text)),
            Some(h) if h != m => diffs.push(format!("{id}: {m:?} but the history has {h:?}")),
            Some(_) => {}
        }
    }
    for id in theirs.keys().filter(|id| !mine.contains_key(id)) {
        diffs.push(format!("{id}: in the history only"));
    }
    diffs
}
