//! `hearth-soak`: the chaos soak.
//!
//! Subscribers and publishers chat in one room through the Rust client (a
//! publisher retries with the same `client_id` until a node acknowledges; a
//! subscriber resumes with `Last-Event-ID`, on the next node when it has
//! to) while faults fire at random times drawn from a seeded generator, so
//! a failing run can be replayed with its seed:
//!
//! - **drop-clients**: every subscriber's connection is cut;
//! - **restart-node**: a node is SIGKILLed and started again (embedded: on
//!   the same data dir; Redis: one of two nodes);
//! - **restart-redis** (Redis backend): Redis is SIGKILLed and restarted
//!   (AOF with `appendfsync always`, the documented setting);
//! - **stalled-subscriber**: a client opens a stream and stops reading.
//!
//! At the end it checks the one invariant that matters: every message that
//! got a `201` (or the `200` of a retry) reached every subscriber exactly
//! once and in id order. It prints what was acknowledged and delivered, the
//! duplicates, losses and order violations (all must be 0), the faults that
//! fired, and the seed; it exits non-zero when the invariant broke.
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
use hearth_client::{Client, StreamTarget};
use hearth_proto::{MessageId, RoomName, StreamEvent};
use hearth_testkit::RedisServer;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};
use tokio::sync::{Notify, watch};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    /// One node, history in SQLite; restarts reuse its data dir.
    Embedded,
    /// Two nodes on one Redis.
    Redis,
}

#[derive(Debug, Parser)]
#[command(about = "Chat through faults; check that no acknowledged message is lost or repeated")]
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

/// What one subscriber received, in order.
type Seen = Arc<Mutex<Vec<MessageId>>>;

/// One subscriber's (re)connections, for the report of a failed run.
type Journal = Arc<Mutex<Vec<String>>>;

/// What the publishers got acknowledged.
#[derive(Default)]
struct Acks {
    /// Every acknowledged id.
    ids: Vec<MessageId>,
    /// How each was acknowledged, for the report of a failed run.
    how: HashMap<MessageId, String>,
    /// Posts that failed and were tried again.
    retries: u64,
}

/// Follows the room; on any drop (or when told to drop) reopens it on the
/// next node with the last id it saw. It follows until the end of the run
/// (the final check aborts it), not until posting stops: a node restarted
/// by the last fault must still be followed, or the messages acknowledged
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
        let target = StreamTarget::Room(RoomName::parse(ROOM).expect("room"));
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
                match received.event {
                    StreamEvent::Message(m) => {
                        last_id = Some(m.id.to_string());
                        seen.lock().expect("seen").push(m.id);
                    }
                    StreamEvent::Ready(r) => {
                        journal.lock().expect("journal").push(format!(
                            "{:6.2}s   ready resumed={} last_id={}",
                            started.elapsed().as_secs_f64(),
                            r.resumed,
                            r.last_id.map(|id| id.to_string()).unwrap_or("-".into()),
                        ));
                        let _ = ready.send(());
                    }
                    _ => {}
                }
            }
        }
    })
}

/// Posts until `stop`, each message retried with its `client_id` (on the
/// next node) until acknowledged.
fn publisher(
    nodes: Vec<String>,
    token: String,
    name: String,
    interval: Duration,
    acks: Arc<Mutex<Acks>>,
    started: Instant,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let room = RoomName::parse(ROOM).expect("room");
        let clients: Vec<Client> = nodes
            .iter()
            .map(|node| Client::new(node).expect("client").with_token(token.clone()))
            .collect();
        let mut turn = 0usize;
        for n in 0u64.. {
            if *stop.borrow() {
                return;
            }
            let client_id = hearth_client::new_client_id();
            // Long enough that a stalled reader fills its buffers.
            let text = format!("{name} #{n} {}", "·".repeat(80));
            let mut attempts = 0u32;
            loop {
                let node = turn % clients.len();
                let client = &clients[node];
                attempts += 1;
                match client.post(&room, &text, &client_id).await {
                    Ok(posted) => {
                        let mut acks = acks.lock().expect("acks");
                        acks.ids.push(posted.message.id);
                        acks.how.insert(
                            posted.message.id,
                            format!(
                                "{name} #{n}, acked at {:.2}s by {} ({}) after {attempts} attempt(s)",
                                started.elapsed().as_secs_f64(),
                                nodes[node],
                                if posted.created { "201" } else { "200" },
                            ),
                        );
                        break;
                    }
                    Err(e) if e.is_retryable() => {
                        acks.lock().expect("acks").retries += 1;
                        turn += 1;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(e) => panic!("{name}: a post failed for good: {e}"),
                }
            }
            tokio::time::sleep(interval).await;
        }
    })
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
        publishers.push(publisher(
            order,
            token,
            format!("writer{i}"),
            interval,
            acks.clone(),
            started,
            stop_rx.clone(),
        ));
    }
    let stall_token = sign_in(&urls[0], "staller").await?;

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
    }

    // Quiet: stop posting, let every subscriber catch up.
    let _ = stop_tx.send(true);
    for publisher in publishers {
        publisher.await?;
    }

    drop(stalled);
    let acks = std::mem::take(&mut *acks.lock().expect("acks"));
    let acked: Vec<MessageId> = {
        let mut ids = acks.ids.clone();
        ids.sort();
        ids
    };
    let expected: HashSet<MessageId> = acked.iter().copied().collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let complete = subscribers.iter().all(|(seen, _, _, _)| {
            let seen = seen.lock().expect("seen");
            let got: HashSet<&MessageId> = seen.iter().collect();
            expected.iter().all(|id| got.contains(id))
        });
        if complete || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut delivered = 0usize;
    let mut duplicates = 0usize;
    let mut lost = 0usize;
    let mut out_of_order = 0usize;
    for (i, (seen, _, task, journal)) in subscribers.iter().enumerate() {
        task.abort();
        let seen = seen.lock().expect("seen").clone();
        let unique: HashSet<MessageId> = seen.iter().copied().collect();
        let subscriber_lost = expected.difference(&unique).count();
        let subscriber_dups = seen.len() - unique.len();
        let disorder = seen.windows(2).filter(|w| w[1] <= w[0]).count();
        if subscriber_lost + subscriber_dups + disorder > 0 {
            println!(
                "soak: subscriber {i}: lost {subscriber_lost}, duplicates {subscriber_dups}, out of order {disorder}"
            );
            let mut missing: Vec<&MessageId> = expected.difference(&unique).collect();
            missing.sort();
            for id in missing.iter().take(5) {
                let before = seen.iter().filter(|s| s < id).max();
                let after = seen.iter().filter(|s| s > id).min();
                println!(
                    "soak:   missing {id} ({}; seen around it: {} .. {})",
                    acks.how.get(id).map(String::as_str).unwrap_or("acked"),
                    before.map(|s| s.to_string()).unwrap_or("-".into()),
                    after.map(|s| s.to_string()).unwrap_or("-".into()),
                );
            }
            for line in journal.lock().expect("journal").iter() {
                println!("soak:   {line}");
            }
        }
        delivered += unique.intersection(&expected).count();
        duplicates += subscriber_dups;
        lost += subscriber_lost;
        out_of_order += disorder;
    }
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
    let passed = duplicates == 0 && lost == 0 && out_of_order == 0 && !acked.is_empty();
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
