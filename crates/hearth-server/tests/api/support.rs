//! Test support: a real server on `127.0.0.1:0`, clients, and readers for
//! raw SSE streams.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use futures::{Stream, StreamExt};
use hearth_client::{Client, Received, StreamTarget};
use hearth_proto::{Message, RoomName, StreamEvent};
use hearth_server::config::{Backend, Config, RateLimit, RedisConfig, SyncMode};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use hearth_testkit::{RedisServer, redis_backend, redis_for};

/// How long a test waits for something that should happen: a bound that
/// fails the test, never a wait of its own.
pub const WAIT: Duration = Duration::from_secs(10);

/// The pause between two looks of [`eventually`].
const LOOK_AGAIN: Duration = Duration::from_millis(10);

/// What `check` gives once it gives something, failing the test with `what`
/// after [`WAIT`]. For effects a test can only see by asking (a gauge on
/// `/metrics`, `/healthz` turning ready, a freed slot): it ends as soon as
/// the effect is there; the short pause between looks only keeps it from
/// spinning. Wait on an event instead wherever there is one.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let look = async {
        loop {
            if let Some(found) = check().await {
                return found;
            }
            tokio::time::sleep(LOOK_AGAIN).await;
        }
    };
    tokio::time::timeout(WAIT, look)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting until {what}"))
}

/// The value of `name` on the `/metrics` page at `url`.
pub async fn metric(url: &str, name: &str) -> f64 {
    let text = http()
        .get(url)
        .send()
        .await
        .expect("/metrics answers")
        .text()
        .await
        .expect("/metrics body");
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} on /metrics:\n{text}"))
}

/// A server running in this process, with its own data dir.
pub struct TestServer {
    pub addr: SocketAddr,
    pub dir: TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

/// A configuration for tests: fast pings off, generous limits (tests that
/// check limits set their own). On the Redis backend when the suite runs
/// with `HEARTH_TEST_BACKEND=redis` (a Redis of the data dir's own).
pub fn test_config(dir: &TempDir) -> Config {
    let mut config = Config::new(dir.path());
    if redis_backend() {
        config.backend = Backend::Redis(RedisConfig::new(redis_for(dir.path())));
    }
    config.sync = SyncMode::Normal;
    config.session_post_rate = RateLimit {
        per_second: 10_000,
        burst: 10_000,
    };
    config.address_post_rate = RateLimit {
        per_second: 100_000,
        burst: 100_000,
    };
    config.address_session_rate = RateLimit {
        per_second: 10_000,
        burst: 10_000,
    };
    // Tests try wrong passwords and then the right one at once; the backoff
    // has tests of its own.
    config.password_backoff = Duration::ZERO;
    config
}

impl TestServer {
    /// Starts a server with the test defaults.
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Starts a server after `configure` adjusts the test defaults.
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = test_config(&dir);
        configure(&mut config);
        Self::start_in(dir, config).await
    }

    /// Starts a server on an existing data dir.
    pub async fn start_in(dir: TempDir, config: Config) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(hearth_server::run(listener, config, async move {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A client with no session.
    pub fn client(&self) -> Client {
        Client::new(&format!("http://{}", self.addr)).expect("client")
    }

    /// A client signed in as `nick`.
    pub async fn signed_in(&self, nick: &str) -> Client {
        let mut client = self.client();
        client.sign_in(nick, None).await.expect("sign in");
        client
    }

    /// Stops the server (gracefully) and waits for it to finish.
    pub async fn stop(mut self) -> TempDir {
        self.shutdown().await;
        std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"))
    }

    async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(15), task)
                .await
                .expect("server stops within its grace period")
                .expect("server task")
                .expect("server ran");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn room(name: &str) -> RoomName {
    RoomName::parse(name).expect("valid room")
}

/// The next item of a stream, failing the test after [`WAIT`].
pub async fn next<S, T>(stream: &mut S) -> T
where
    S: Stream<Item = T> + Unpin,
{
    tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("timed out waiting for a stream item")
        .expect("stream ended")
}

/// An open event stream through the Rust client.
pub type Events =
    std::pin::Pin<Box<dyn Stream<Item = Result<Received, hearth_client::ClientError>> + Send>>;

/// Opens a room stream as `client`, resuming after `last_id`.
pub async fn open_room(client: &Client, name: &str, last_id: Option<&str>) -> Events {
    Box::pin(
        client
            .open_stream(&StreamTarget::Room(room(name)), last_id)
            .await
            .expect("stream opens"),
    )
}

/// The next event, failing on a stream error.
pub async fn next_event(events: &mut Events) -> Received {
    next(events).await.expect("stream event")
}

/// Reads events up to and including `ready`, then the `presence` after it:
/// returns the replayed messages, the ready event, and presence.
pub async fn read_start(
    events: &mut Events,
) -> (Vec<Message>, hearth_proto::Ready, hearth_proto::Presence) {
    let mut replay = Vec::new();
    let ready = loop {
        match next_event(events).await.event {
            StreamEvent::Message(m) => replay.push(m),
            StreamEvent::Ready(r) => break r,
            other => panic!("unexpected event before ready: {other:?}"),
        }
    };
    let presence = match next_event(events).await.event {
        StreamEvent::Presence(p) => p,
        other => panic!("expected presence after ready, got {other:?}"),
    };
    (replay, ready, presence)
}

/// The next message event, skipping join/leave.
pub async fn next_message(events: &mut Events) -> Message {
    loop {
        if let StreamEvent::Message(m) = next_event(events).await.event {
            return m;
        }
    }
}

/// Asserts that no message reached `events` before this call, without
/// waiting out a quiet period: posts a marker as `client` into `room` and
/// expects it as the next message (join/leave are ignored). A stray message
/// sent before the marker comes ahead of it. Returns the marker, which is
/// in the room's history now.
pub async fn assert_no_message_before_marker(
    events: &mut Events,
    client: &Client,
    name: &str,
) -> Message {
    let marker = post(client, name, "marker").await;
    let next = next_message(events).await;
    assert_eq!(next, marker, "unexpected message before the marker");
    marker
}

/// Posts `text` as `client` into `room`, expecting a 201.
pub async fn post(client: &Client, name: &str, text: &str) -> Message {
    let posted = client
        .post(&room(name), text, &hearth_client::new_client_id())
        .await
        .expect("post");
    assert!(posted.created, "expected 201");
    posted.message
}

/// Reads a raw `text/event-stream` body as text, frame by frame.
pub struct RawSse {
    body: std::pin::Pin<Box<dyn Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: String,
}

impl RawSse {
    /// Opens `url` (a full URL) with a bearer token and expects `200`.
    pub async fn open(url: &str, token: &str) -> Self {
        let response = http().get(url).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK, "{url}");
        Self::new(response)
    }

    /// [`RawSse::open`], then reads past the start of a one-room stream with
    /// nothing to replay (`retry`, `ready`, `presence`).
    pub async fn open_past_start(url: &str, token: &str) -> Self {
        let mut raw = Self::open(url, token).await;
        for _ in 0..3 {
            raw.frame().await.expect("stream start");
        }
        raw
    }

    pub fn new(response: reqwest::Response) -> Self {
        Self {
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        }
    }

    /// The next frame (the text before a blank line), or `None` when the
    /// stream ends.
    pub async fn frame(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame = self.buffer[..end].to_owned();
                self.buffer.drain(..end + 2);
                return Some(frame);
            }
            let chunk = tokio::time::timeout(WAIT, self.body.next())
                .await
                .expect("timed out reading the stream")?;
            let chunk = chunk.ok()?;
            self.buffer
                .push_str(std::str::from_utf8(&chunk).expect("utf-8 stream"));
        }
    }
}

/// A raw HTTP request to the server.
pub fn http() -> reqwest::Client {
    http_builder().build().expect("client")
}

/// [`http`] from another client address: its sockets are bound to `ip`, e.g.
/// `127.0.0.2` (Linux routes all of 127.0.0.0/8 to the loopback), so
/// per-address limits see a second client.
pub fn http_from(ip: &str) -> reqwest::Client {
    let ip: std::net::IpAddr = ip.parse().expect("an IP address");
    http_builder().local_address(ip).build().expect("client")
}

/// reqwest is built without a crypto provider of its own
/// (`rustls-no-provider`): give the process ring, as the server uses.
pub fn http_builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// `hearth serve` as a child process (for kill -9 and memory checks).
/// Flags that lift the per-session and per-address post limits, for tests
/// that post faster than a person would.
pub const NO_POST_LIMITS: [&str; 8] = [
    "--post-rate",
    "100000",
    "--post-burst",
    "100000",
    "--ip-post-rate",
    "100000",
    "--ip-post-burst",
    "100000",
];

pub struct ChildServer {
    pub addr: SocketAddr,
    pub child: tokio::process::Child,
    /// The TLS certificate fingerprint it printed (when serving HTTPS).
    pub fingerprint: Option<hearth_proto::CertFingerprint>,
}

impl ChildServer {
    /// Starts the binary on `127.0.0.1:0` with `data` and extra flags, and
    /// waits for the line that names its address.
    pub async fn start(data: &std::path::Path, extra: &[&str]) -> ChildServer {
        Self::start_with_env(data, extra, &[]).await
    }

    /// [`ChildServer::start`] with environment variables.
    pub async fn start_with_env(
        data: &std::path::Path,
        extra: &[&str],
        envs: &[(&str, &str)],
    ) -> ChildServer {
        use tokio::io::AsyncBufReadExt;
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_hearth"));
        command
            .envs(envs.iter().copied())
            .arg("serve")
            .args(["--bind", "127.0.0.1:0", "--log", "warn", "--data"])
            .arg(data)
            .args(extra);
        if redis_backend() && !extra.contains(&"--redis") {
            command.args(["--redis", &redis_for(data)]);
        }
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("hearth binary starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let (addr, fingerprint) = tokio::time::timeout(WAIT, async {
            let mut fingerprint = None;
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(fp) =
                    line.strip_prefix("hearth: TLS certificate fingerprint (SHA-256) ")
                {
                    fingerprint = Some(fp.parse().unwrap());
                }
                let listening = line.strip_prefix("hearth: listening on ");
                if let Some(url) = listening.and_then(|l| l.split("://").nth(1)) {
                    return (url.parse::<SocketAddr>().unwrap(), fingerprint);
                }
            }
            panic!("hearth exited before listening");
        })
        .await
        .expect("hearth listens in time");
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        ChildServer {
            addr,
            child,
            fingerprint,
        }
    }

    pub fn client(&self) -> Client {
        Client::new(&format!("http://{}", self.addr)).expect("client")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Resident memory of the process, in KiB (from /proc).
    pub fn rss_kib(&self) -> u64 {
        let pid = self.child.id().expect("running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    /// SIGKILL, no chance to clean up.
    pub async fn kill_hard(mut self) {
        self.child.start_kill().expect("kill");
        self.child.wait().await.expect("reaped");
    }
}

/// Asserts that `response` has `status` and the API's error body,
/// `{"error": "<non-empty text>"}`; returns the error text. `case` names the
/// input in failure messages.
pub async fn expect_error(
    response: reqwest::Response,
    status: reqwest::StatusCode,
    case: &str,
) -> String {
    let got = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response.text().await.expect("error body");
    assert_eq!(got, status, "{case}: status (body: {body:?})");
    assert!(
        content_type.starts_with("application/json"),
        "{case}: error Content-Type is {content_type:?} (body: {body:?})"
    );
    let json: serde_json::Value = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("{case}: error body is not JSON ({e}): {body:?}"));
    let error = json
        .get("error")
        .and_then(|e| e.as_str())
        .unwrap_or_else(|| panic!("{case}: error body has no \"error\" string: {body}"));
    assert!(!error.trim().is_empty(), "{case}: empty error text");
    error.to_owned()
}

/// One Redis and a shared secret: what every node of a cluster is given.
pub struct Cluster {
    pub redis: RedisServer,
    pub secret: PathBuf,
    _dir: TempDir,
}

impl Cluster {
    pub fn new() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        Cluster {
            redis: RedisServer::start(&dir.path().join("redis")),
            secret: dir.path().join("cluster-secret.key"),
            _dir: dir,
        }
    }

    pub fn config(&self, dir: &TempDir) -> Config {
        let mut config = test_config(dir);
        let mut redis = RedisConfig::new(self.redis.url());
        redis.presence_ttl = Duration::from_secs(2);
        config.backend = Backend::Redis(redis);
        config.secret_file = Some(self.secret.clone());
        config
    }

    /// A node in this process.
    pub async fn node(&self) -> TestServer {
        self.node_with(|_| {}).await
    }

    /// A node in this process, after `configure` adjusts its config.
    pub async fn node_with(&self, configure: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut config = self.config(&dir);
        configure(&mut config);
        TestServer::start_in(dir, config).await
    }
}
