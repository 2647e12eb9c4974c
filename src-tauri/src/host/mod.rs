//! Hosting: the room server, embedded and run in-process.
//!
//! [`Host::start`] binds the first free port of a list (the app asks for
//! 8989 to 8999 on `0.0.0.0`, then any port), runs `hearth_server::run` on
//! it with the app's data dir and the optional password, and returns once
//! the server answers. [`Host::stop`] fires the shutdown future `run` was
//! given: the server ends every stream, waits for connections to finish
//! (grace period) and returns; the port is closed and the history stays in
//! the data dir for the next start. [`plan`] checks a start request and
//! keeps its choices; [`tls`] makes the self-signed certificate; [`lan`]
//! lists the addresses other machines can use, and draws their QR codes;
//! [`visibility`] is whether (and as what name) the room is advertised on
//! the network, with the running server's `Advertising` handle.

pub mod commands;
pub mod lan;
pub mod plan;
pub mod tls;
pub mod visibility;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use hearth_proto::CertFingerprint;
use hearth_server::config::{Backend, PasswordSetting, RedisConfig, TlsFiles};
use tokio::net::TcpListener;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::error::CommandError;

/// The ports the app tries first, in order (then any free port).
pub const PREFERRED_PORTS: std::ops::RangeInclusive<u16> = 8989..=8999;
/// How long a starting server may take to answer.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// How long stopping may take beyond the server's own grace period.
const STOP_MARGIN: Duration = Duration::from_secs(3);

/// How to host.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// The address to listen on (`0.0.0.0`: every interface).
    pub bind: IpAddr,
    /// Ports to try in order; `0` means "any free port".
    pub ports: Vec<u16>,
    /// Where the server keeps `hearth.db` and `secret.key`.
    pub data_dir: PathBuf,
    /// The server password, if any.
    pub password: Option<String>,
    /// The server's name (`/api/info`, and the name the LAN sees).
    pub name: String,
    /// Store rooms on this Redis instead of in the data dir.
    pub redis: Option<String>,
    /// Serve HTTPS with this certificate (see [`tls::self_signed`]).
    pub tls: Option<TlsFiles>,
    /// The nicks that may moderate (delete any message, ban): the host's
    /// own nick, whose session the app protects with a nick password.
    pub admins: Vec<String>,
}

impl HostConfig {
    /// The app's choice: every interface, 8989 to 8999, then any port,
    /// named "<user>'s room on <host>".
    pub fn lan(data_dir: PathBuf, password: Option<String>) -> Self {
        Self {
            bind: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            ports: default_ports(),
            data_dir,
            password,
            name: hearth_server::config::friendly_name(),
            redis: None,
            tls: None,
            admins: Vec::new(),
        }
    }
}

/// 8989 to 8999, then 0 (any).
pub fn default_ports() -> Vec<u16> {
    PREFERRED_PORTS.chain(std::iter::once(0)).collect()
}

/// The server while it runs.
struct Running {
    addr: SocketAddr,
    password_set: bool,
    fingerprint: Option<CertFingerprint>,
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
    grace: Duration,
}

/// Starts and stops the embedded server. One at a time.
#[derive(Default)]
pub struct Host {
    running: Mutex<Option<Running>>,
    /// Advertising on the network: the switch, the name, the state.
    visibility: visibility::Visibility,
}

/// Where a running server listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hosting {
    /// The bound address (`0.0.0.0:8989`, say).
    pub addr: SocketAddr,
    pub password_set: bool,
    /// The certificate's fingerprint when serving HTTPS.
    pub fingerprint: Option<CertFingerprint>,
}

impl Hosting {
    /// `https` when serving TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.fingerprint.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// The URL this machine reaches the server at (loopback for a wildcard
    /// bind): what the app's own client uses.
    pub fn local_url(&self) -> Url {
        let ip = match self.addr.ip() {
            IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        Url::parse(&format!(
            "{}://{}/",
            self.scheme(),
            SocketAddr::new(ip, self.addr.port())
        ))
        .expect("a socket address makes a valid URL")
    }
}

impl Host {
    /// A host whose visibility switch lives in memory only (tests).
    pub fn new() -> Self {
        Self::default()
    }

    /// A host whose visibility switch is kept in `config_dir`.
    pub fn open(config_dir: &std::path::Path) -> Self {
        Self {
            running: Mutex::default(),
            visibility: visibility::Visibility::load(config_dir),
        }
    }

    /// Whether, and as what, the hosted room is visible on the network.
    pub fn visibility(&self) -> &visibility::Visibility {
        &self.visibility
    }

    /// Where the server listens, if it runs.
    pub async fn status(&self) -> Option<Hosting> {
        let mut running = self.running.lock().await;
        // A server that ended by itself (it should not) is no longer hosting.
        if running.as_ref().is_some_and(|r| r.task.is_finished()) {
            if let Some(ended) = running.take() {
                log_end(ended.task.await);
            }
            return None;
        }
        running.as_ref().map(|r| Hosting {
            addr: r.addr,
            password_set: r.password_set,
            fingerprint: r.fingerprint,
        })
    }

    /// Starts the server; fails if one already runs, no port is free, or
    /// the server cannot start (its data dir, say).
    pub async fn start(&self, config: HostConfig) -> Result<Hosting, CommandError> {
        let mut running = self.running.lock().await;
        if let Some(r) = running.as_ref() {
            if !r.task.is_finished() {
                return Err(CommandError::Host(format!(
                    "already hosting on port {}.",
                    r.addr.port()
                )));
            }
            if let Some(ended) = running.take() {
                log_end(ended.task.await);
            }
        }
        let listener = bind_first_free(config.bind, &config.ports).await?;
        let addr = listener
            .local_addr()
            .map_err(|e| CommandError::Host(format!("the socket has no address: {e}")))?;
        let mut server_config = hearth_server::Config::new(&config.data_dir);
        server_config.name = config.name.clone();
        server_config.mdns = self.visibility.wanted();
        server_config.advertising = self.visibility.advertising().clone();
        server_config.password = config.password.clone().map(PasswordSetting::Plain);
        if let Some(url) = &config.redis {
            server_config.backend = Backend::Redis(RedisConfig::new(url.clone()));
        }
        let fingerprint = match &config.tls {
            Some(files) => Some(
                hearth_server::tls::load(files)
                    .map_err(|e| CommandError::Host(format!("{e:#}.")))?
                    .fingerprint,
            ),
            None => None,
        };
        server_config.tls = config.tls.clone();
        server_config.admins = config.admins.clone();
        let grace = server_config.shutdown_grace;
        let stop = CancellationToken::new();
        let task = tokio::spawn(hearth_server::run(
            listener,
            server_config,
            stop.clone().cancelled_owned(),
        ));
        let hosting = Hosting {
            addr,
            password_set: config.password.is_some(),
            fingerprint,
        };
        let mut task = task;
        if let Err(e) = wait_ready(&hosting, &mut task).await {
            stop.cancel();
            task.abort();
            return Err(e);
        }
        tracing::info!(%addr, data = %config.data_dir.display(), "hosting");
        *running = Some(Running {
            addr,
            password_set: hosting.password_set,
            fingerprint,
            stop,
            task,
            grace,
        });
        Ok(hosting)
    }

    /// Stops the server cleanly; `false` if none ran.
    pub async fn stop(&self) -> Result<bool, CommandError> {
        let Some(mut running) = self.running.lock().await.take() else {
            return Ok(false);
        };
        running.stop.cancel();
        match tokio::time::timeout(running.grace + STOP_MARGIN, &mut running.task).await {
            Ok(ended) => log_end(ended),
            Err(_) => {
                tracing::warn!("the server did not stop in time; aborting it");
                running.task.abort();
                let _ = running.task.await;
            }
        }
        tracing::info!(addr = %running.addr, "hosting stopped");
        Ok(true)
    }
}

fn log_end(ended: Result<anyhow::Result<()>, tokio::task::JoinError>) {
    match ended {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(cause = ?e, "the room server failed"),
        Err(e) => tracing::error!(cause = %e, "the room server task failed"),
    }
}

/// Binds the first port of `ports` that is free on `ip`.
pub async fn bind_first_free(ip: IpAddr, ports: &[u16]) -> Result<TcpListener, CommandError> {
    let mut last = None;
    for &port in ports {
        match hearth_server::net::bind(
            SocketAddr::new(ip, port),
            hearth_server::net::DEFAULT_BACKLOG,
        ) {
            Ok(listener) => return Ok(listener),
            Err(e) => {
                tracing::debug!(%ip, port, cause = %e, "port not available");
                last = Some(e);
            }
        }
    }
    Err(CommandError::Host(match last {
        Some(e) => format!("no port to listen on at {ip} ({e})."),
        None => "no port to try.".to_owned(),
    }))
}

/// Waits until the server answers `/api/info`, or fails with why it ended.
async fn wait_ready(
    hosting: &Hosting,
    task: &mut JoinHandle<anyhow::Result<()>>,
) -> Result<(), CommandError> {
    let client =
        hearth_client::Client::new_pinned(hosting.local_url().as_str(), hosting.fingerprint)
            .map_err(|e| CommandError::Host(e.to_string()))?;
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        if task.is_finished() {
            return Err(CommandError::Host(match task.await {
                Ok(Err(e)) => format!("{e:#}"),
                Ok(Ok(())) => "the server stopped at once.".to_owned(),
                Err(e) => e.to_string(),
            }));
        }
        if client.info().await.is_ok() {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(CommandError::Host(
                "the server did not answer in time.".to_owned(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
