//! Test support: real room servers in this process (on `127.0.0.1`, port 0
//! or a port reused across a restart), app instances on temporary
//! directories with in-memory secrets, and an mpsc sink to read what the
//! webview would receive.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hearth_client::{Client, RetryPolicy};
use hearth_desktop::desktop::{Desktop, DesktopOptions};
use hearth_desktop::events::{AppEvent, ConnectionState, LocalEvent, RoomEvent};
use hearth_desktop::rooms::{JoinRequest, RoomView};
use hearth_desktop::secrets::MemorySecrets;
use hearth_proto::{Message, RoomName, StreamEvent};
use hearth_server::config::{Config, SyncMode};
use tempfile::TempDir;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long a test waits for something that should happen.
pub const WAIT: Duration = Duration::from_secs(20);

/// A room server running in this process.
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    /// Starts a server on `data_dir`, at `127.0.0.1:port` (0: any port).
    pub async fn start(data_dir: &Path, port: u16) -> Self {
        Self::start_with(data_dir, port, |_| {}).await
    }

    /// The same, after `configure` adjusts the configuration.
    pub async fn start_with(
        data_dir: &Path,
        port: u16,
        configure: impl FnOnce(&mut Config),
    ) -> Self {
        let mut config = Config::new(data_dir);
        config.sync = SyncMode::Normal;
        config.shutdown_grace = Duration::from_secs(1);
        configure(&mut config);
        // SO_REUSEADDR: the port of a server just stopped is bound again
        // at once, although its closed connections linger in TIME_WAIT.
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket
            .bind(([127, 0, 0, 1], port).into())
            .unwrap_or_else(|e| panic!("cannot bind 127.0.0.1:{port}: {e}"));
        let listener = socket.listen(1024).expect("listen");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(hearth_server::run(listener, config, async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// `http://127.0.0.1:port` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stops the server cleanly and waits until it has.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(WAIT, task)
                .await
                .expect("the server stops")
                .expect("the server task")
                .expect("the server ran");
        }
    }

    /// A client signed in as `nick`.
    pub async fn client(&self, nick: &str) -> Client {
        client_at(&self.url("/"), nick).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A client of the server at `url`, signed in as `nick`.
pub async fn client_at(url: &str, nick: &str) -> Client {
    let mut client = Client::new(url).expect("client");
    client.sign_in(nick, None).await.expect("sign in");
    client
}

/// Directories an app instance keeps its files in; two instances on the
/// same `AppDirs` (one after the other) are the app restarted.
pub struct AppDirs {
    pub root: TempDir,
}

impl AppDirs {
    pub fn new() -> Self {
        Self {
            root: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn data(&self) -> PathBuf {
        self.root.path().join("data")
    }

    pub fn config(&self) -> PathBuf {
        self.root.path().join("config")
    }
}

/// Backoff short enough for tests.
pub fn fast() -> RetryPolicy {
    RetryPolicy {
        first_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(400),
        max_attempts: 2,
    }
}

/// A test on an event.
pub type Matcher<'a> = dyn Fn(&RoomEvent) -> bool + 'a;

/// An app instance and what its webview would receive.
pub struct TestApp {
    pub desktop: Desktop,
    pub events: UnboundedReceiver<RoomEvent>,
}

impl TestApp {
    /// Opens the app on `dirs` with `secrets` (the keychain), hosting on
    /// `127.0.0.1` at any port, and attaches a sink.
    pub async fn open(dirs: &AppDirs, secrets: &MemorySecrets) -> Self {
        Self::open_with(dirs, secrets, |_| {}).await
    }

    pub async fn open_with(
        dirs: &AppDirs,
        secrets: &MemorySecrets,
        configure: impl FnOnce(&mut DesktopOptions),
    ) -> Self {
        let mut options =
            DesktopOptions::new(dirs.data(), dirs.config(), Arc::new(secrets.clone()));
        options.host_bind = "127.0.0.1".parse().unwrap();
        options.host_ports = vec![0];
        options.follow_policy = fast();
        options.post_policy = fast();
        configure(&mut options);
        let desktop = Desktop::open(options).await.expect("the app opens");
        let (tx, events) = unbounded_channel();
        desktop.follow_rooms(Arc::new(tx));
        Self { desktop, events }
    }

    /// Joins `address` as `nick` (no password, the linked or default room)
    /// and waits until the room's stream is connected.
    pub async fn join_connected(&mut self, address: &str, nick: &str) -> RoomView {
        let room = self
            .desktop
            .rooms()
            .join(JoinRequest::new(address, nick))
            .await
            .expect("joins")
            .room;
        self.wait_state(&room.id, "connected").await;
        room
    }

    /// Waits for an event that `matches`, skipping others.
    pub async fn wait_for(
        &mut self,
        what: &str,
        matches: impl Fn(&RoomEvent) -> bool,
    ) -> RoomEvent {
        let events = &mut self.events;
        tokio::time::timeout(WAIT, async {
            loop {
                let event = events.recv().await.expect("the sink stays open");
                if matches(&event) {
                    return event;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
    }

    /// Waits until each of `all` matched an event, in any order.
    pub async fn wait_all(&mut self, all: &[(&str, &Matcher<'_>)]) {
        let mut missing: Vec<usize> = (0..all.len()).collect();
        let events = &mut self.events;
        let done = tokio::time::timeout(WAIT, async {
            while !missing.is_empty() {
                let event = events.recv().await.expect("the sink stays open");
                missing.retain(|&i| !(all[i].1)(&event));
            }
        })
        .await;
        if done.is_err() {
            let names: Vec<&str> = missing.iter().map(|&i| all[i].0).collect();
            panic!("timed out waiting for {names:?}");
        }
    }

    /// Waits for `room_id`'s connection to reach the state named `state`.
    pub async fn wait_state(&mut self, room_id: &str, state: &str) -> ConnectionState {
        let event = self
            .wait_for(&format!("{room_id} {state}"), |e| {
                e.room_id == room_id
                    && matches!(&e.event, AppEvent::Local(LocalEvent::Connection(s)) if s.name() == state)
            })
            .await;
        match event.event {
            AppEvent::Local(LocalEvent::Connection(s)) => s,
            _ => unreachable!(),
        }
    }

    /// Waits for a message event with `text` in `room_id`.
    pub async fn wait_message(&mut self, room_id: &str, text: &str) -> Message {
        let event = self
            .wait_for(&format!("message {text:?}"), |e| {
                e.room_id == room_id
                    && matches!(&e.event, AppEvent::Stream(StreamEvent::Message(m)) if m.text == text)
            })
            .await;
        match event.event {
            AppEvent::Stream(StreamEvent::Message(m)) => m,
            _ => unreachable!(),
        }
    }
}

/// The messages of `room` on the server (its whole history, up to 500).
pub async fn history(client: &Client, room: &str) -> Vec<Message> {
    client
        .history(&RoomName::parse(room).unwrap(), None, Some(500))
        .await
        .expect("history")
}

/// How many messages of `room` carry `client_id`.
pub async fn copies(client: &Client, room: &str, client_id: &str) -> usize {
    history(client, room)
        .await
        .iter()
        .filter(|m| m.client_id.as_deref() == Some(client_id))
        .count()
}
