//! `hearth`: the headless Hearth server.
//!
//! `hearth serve` parses flags (each also an environment variable), sets up
//! logging, binds, and runs the server until SIGINT or SIGTERM. Nothing else
//! lives here. This binary links no GUI library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use hearth_server::Config;
use hearth_server::config::{
    Backend, FileStorage, PasswordSetting, RateLimit, RedisConfig, SyncMode, TlsFiles,
};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "hearth",
    version,
    about = "Hearth: a small chat server for your LAN"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the room server headless.
    Serve(Box<ServeArgs>),
    /// Print the argon2 hash of a password (for --password-hash).
    HashPassword {
        /// The password; read from HEARTH_PASSWORD when omitted.
        #[arg(env = "HEARTH_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

fn duration(raw: &str) -> Result<Duration, String> {
    humantime::parse_duration(raw).map_err(|e| format!("{e} (examples: 500ms, 15s, 30days)"))
}

fn on_off(raw: &str) -> Result<bool, String> {
    match raw.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err("give on or off".to_owned()),
    }
}

#[derive(Args)]
struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "HEARTH_BIND", default_value = "0.0.0.0:8989")]
    bind: SocketAddr,
    /// Pending connections the OS queues before the server accepts them
    /// (a burst of reconnects); the OS lowers it to its own limit, which
    /// is the default.
    #[arg(long, env = "HEARTH_BACKLOG", default_value_t = hearth_server::net::DEFAULT_BACKLOG)]
    backlog: u32,
    /// Directory for history (hearth.db) and the signing secret (secret.key).
    /// Default: $XDG_DATA_HOME/hearth or ~/.local/share/hearth.
    #[arg(long, env = "HEARTH_DATA")]
    data: Option<PathBuf>,
    /// The server's name, shown to clients and on the LAN (mDNS).
    /// Default: "<user>'s room on <hostname>".
    #[arg(long, env = "HEARTH_NAME")]
    name: Option<String>,
    /// Advertise this server on the LAN (DNS-SD over multicast DNS,
    /// `_hearth._tcp`) when it listens on an address others can reach:
    /// on or off.
    #[arg(
        long,
        env = "HEARTH_MDNS",
        default_value = "on",
        value_name = "on|off",
        value_parser = on_off,
        action = clap::ArgAction::Set
    )]
    mdns: bool,
    /// A name or address this server is reached by (DNS, a reverse proxy,
    /// a NAT), with or without a port; repeatable. Requests whose Host is none of the
    /// server's addresses, its host names or these get 421 (against DNS
    /// rebinding). '*' accepts any Host: that turns the check off.
    #[arg(long, env = "HEARTH_PUBLIC_HOST", value_delimiter = ',')]
    public_host: Vec<String>,
    /// A nick that may delete any message and ban nicks; repeatable. It
    /// acts only when signed in with its nick password (protected).
    #[arg(long = "admin", env = "HEARTH_ADMINS", value_delimiter = ',')]
    admins: Vec<String>,
    /// Require this password for a session. Prefer --password-hash.
    #[arg(
        long,
        env = "HEARTH_PASSWORD",
        hide_env_values = true,
        conflicts_with = "password_hash"
    )]
    password: Option<String>,
    /// Require the password with this argon2 hash (see `hearth hash-password`).
    #[arg(long, env = "HEARTH_PASSWORD_HASH", hide_env_values = true)]
    password_hash: Option<String>,
    /// Messages kept per room.
    #[arg(long, env = "HEARTH_RETENTION", default_value_t = 10_000)]
    retention: usize,
    /// Largest request body, in bytes (413 above).
    #[arg(long, env = "HEARTH_MAX_BODY", default_value_t = 65_536)]
    max_body: usize,
    /// The largest upload accepted, in bytes.
    #[arg(long, env = "HEARTH_MAX_FILE_BYTES", default_value_t = hearth_proto::DEFAULT_MAX_FILE_BYTES)]
    max_file_bytes: u64,
    /// Where uploads' bytes are kept: a folder (a shared mount for a
    /// cluster) or s3://bucket[/prefix]?endpoint=URL&region=R (credentials
    /// from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). Default: the data
    /// dir's `files` folder.
    #[arg(long, env = "HEARTH_FILES", value_parser = FileStorage::parse)]
    files: Option<FileStorage>,
    /// Posts per second per session (sustained).
    #[arg(long, env = "HEARTH_POST_RATE", default_value_t = 5)]
    post_rate: u32,
    /// Posts a session may send at once.
    #[arg(long, env = "HEARTH_POST_BURST", default_value_t = 10)]
    post_burst: u32,
    /// Posts per second per client address (sustained).
    #[arg(long, env = "HEARTH_IP_POST_RATE", default_value_t = 50)]
    ip_post_rate: u32,
    /// Posts a client address may send at once.
    #[arg(long, env = "HEARTH_IP_POST_BURST", default_value_t = 60)]
    ip_post_burst: u32,
    /// Session (login) attempts per second per client address.
    #[arg(long, env = "HEARTH_SESSION_RATE", default_value_t = 2)]
    session_rate: u32,
    /// Session attempts a client address may make at once.
    #[arg(long, env = "HEARTH_SESSION_BURST", default_value_t = 30)]
    session_burst: u32,
    /// After a wrong password, the address waits this long before its next
    /// attempt is checked, doubling with each wrong one (0s: no backoff).
    #[arg(long, env = "HEARTH_PASSWORD_BACKOFF", default_value = "1s", value_parser = duration)]
    password_backoff: Duration,
    /// The longest wait after wrong passwords.
    #[arg(long, env = "HEARTH_PASSWORD_BACKOFF_MAX", default_value = "60s", value_parser = duration)]
    password_backoff_max: Duration,
    /// Open event streams per client address (429 above; 0: no cap). Behind
    /// a reverse proxy every client has the proxy's address: raise it.
    #[arg(long, env = "HEARTH_MAX_STREAMS_PER_IP", default_value_t = 64)]
    max_streams_per_ip: usize,
    /// Open connections above this are answered 503.
    #[arg(long, env = "HEARTH_MAX_CONNECTIONS", default_value_t = 20_000)]
    max_connections: usize,
    /// Time a client has to send its request headers.
    #[arg(long, env = "HEARTH_HEADER_TIMEOUT", default_value = "10s", value_parser = duration)]
    header_timeout: Duration,
    /// A connection whose socket stays full this long is closed.
    #[arg(long, env = "HEARTH_WRITE_TIMEOUT", default_value = "10s", value_parser = duration)]
    write_timeout: Duration,
    /// Silence after which a stream gets a `: ping` comment.
    #[arg(long, env = "HEARTH_PING_INTERVAL", default_value = "15s", value_parser = duration)]
    ping_interval: Duration,
    /// Events a subscriber may fall behind before it is disconnected.
    #[arg(long, env = "HEARTH_SUBSCRIBER_QUEUE", default_value_t = 1024)]
    subscriber_queue: usize,
    /// How long a session token stays valid.
    #[arg(long, env = "HEARTH_TOKEN_TTL", default_value = "30days", value_parser = duration)]
    token_ttl: Duration,
    /// A protected nick nobody signed in to for this long can be taken
    /// again (its protection lapses).
    #[arg(long, env = "HEARTH_NICK_LAPSE", default_value = "90days", value_parser = duration)]
    nick_lapse: Duration,
    /// How long shutdown waits for open requests before closing them.
    #[arg(long, env = "HEARTH_SHUTDOWN_GRACE", default_value = "5s", value_parser = duration)]
    shutdown_grace: Duration,
    /// SQLite durability: `full` survives power loss, `normal` survives a crash.
    #[arg(long, env = "HEARTH_SYNC", value_enum, default_value = "full")]
    sync: SyncMode,
    /// Store and fan out rooms on this Redis (≥ 6.2) or Valkey, shared by
    /// every node of a cluster: redis://[user:password@]host:port/db.
    /// Without it, rooms live in this process with history in SQLite.
    #[arg(long, env = "HEARTH_REDIS", hide_env_values = true)]
    redis: Option<String>,
    /// Prefix of Hearth's keys and channel in Redis.
    #[arg(long, env = "HEARTH_REDIS_PREFIX", default_value = "hearth")]
    redis_prefix: String,
    /// A node's presence claims last this long unless renewed (Redis): a
    /// node that dies drops its users within it.
    #[arg(long, env = "HEARTH_PRESENCE_TTL", default_value = "15s", value_parser = duration)]
    presence_ttl: Duration,
    /// The token-signing secret (at least 32 bytes; created 0600 if missing).
    /// Give every node of a cluster the same file. Default: secret.key in
    /// the data dir.
    #[arg(long, env = "HEARTH_SECRET_FILE")]
    secret_file: Option<PathBuf>,
    /// Serve HTTPS with this certificate chain (PEM, leaf first). Clients
    /// trust it through the system's roots, or by pinning the fingerprint
    /// printed at start (for a self-signed certificate).
    #[arg(long, env = "HEARTH_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, env = "HEARTH_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Log filter: a level (error, warn, info, debug, trace) or tracing directives.
    #[arg(long, env = "HEARTH_LOG", default_value = "info")]
    log: String,
}

fn default_data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .map(|base| base.join("hearth"))
        .unwrap_or_else(|| PathBuf::from("hearth-data"))
}

impl ServeArgs {
    fn into_config(self) -> Config {
        let mut config = Config::new(self.data.unwrap_or_else(default_data_dir));
        config.name = self
            .name
            .unwrap_or_else(hearth_server::config::friendly_name);
        config.mdns = self.mdns;
        config.public_hosts = self.public_host;
        config.admins = self.admins;
        config.password = match (self.password, self.password_hash) {
            (Some(plain), _) => Some(PasswordSetting::Plain(plain)),
            (None, Some(hash)) => Some(PasswordSetting::Hash(hash)),
            (None, None) => None,
        };
        config.retention_per_room = self.retention;
        config.max_body_bytes = self.max_body;
        config.max_file_bytes = self.max_file_bytes;
        config.files = self.files;
        config.session_post_rate = RateLimit {
            per_second: self.post_rate,
            burst: self.post_burst,
        };
        config.address_post_rate = RateLimit {
            per_second: self.ip_post_rate,
            burst: self.ip_post_burst,
        };
        config.address_session_rate = RateLimit {
            per_second: self.session_rate,
            burst: self.session_burst,
        };
        config.password_backoff = self.password_backoff;
        config.password_backoff_max = self.password_backoff_max;
        config.max_streams_per_address = self.max_streams_per_ip;
        config.max_connections = self.max_connections;
        config.header_read_timeout = self.header_timeout;
        config.write_stall_timeout = self.write_timeout;
        config.ping_interval = self.ping_interval;
        config.subscriber_queue = self.subscriber_queue;
        config.token_ttl = self.token_ttl;
        config.nick_lapse = self.nick_lapse;
        config.sync = self.sync;
        config.shutdown_grace = self.shutdown_grace;
        config.secret_file = self.secret_file;
        if let (Some(cert), Some(key)) = (self.tls_cert, self.tls_key) {
            config.tls = Some(TlsFiles { cert, key });
        }
        if let Some(url) = self.redis {
            let mut redis = RedisConfig::new(url);
            redis.key_prefix = self.redis_prefix;
            redis.presence_ttl = self.presence_ttl;
            config.backend = Backend::Redis(redis);
        }
        config
    }
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: closing streams");
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(if args.log.contains('=') {
        args.log.clone()
    } else {
        format!("hearth={0},hearth_server={0},tower_http=warn", args.log)
    })
    .context("--log")?;
    tracing_subscriber::fmt().with_env_filter(filter).init();
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::warn!(cause = %e, "could not raise the open-file limit");
    }
    let (bind, backlog) = (args.bind, args.backlog);
    let config = args.into_config();
    let listener =
        hearth_server::net::bind(bind, backlog).with_context(|| format!("binding {bind}"))?;
    let local = listener.local_addr()?;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    if let Some(files) = &config.tls {
        let tls = hearth_server::tls::load(files)?;
        println!(
            "hearth: TLS certificate fingerprint (SHA-256) {}",
            tls.fingerprint
        );
    }
    match &config.backend {
        Backend::Embedded => {
            tracing::info!(data = %config.data_dir.display(), "history (SQLite) and secret")
        }
        Backend::Redis(redis) => {
            tracing::info!(prefix = %redis.key_prefix, "rooms on Redis");
        }
    }
    // Tests and scripts read this line to find the port.
    println!("hearth: listening on {scheme}://{local}");
    if local.ip().is_unspecified() {
        println!(
            "hearth: open {scheme}://localhost:{}/ here, or {scheme}://<this machine's address>:{}/ on the LAN",
            local.port(),
            local.port()
        );
    } else {
        println!("hearth: open {scheme}://{local}/ in a browser");
    }
    hearth_server::run(listener, config, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Serve(args) => serve(*args).await,
        Command::HashPassword { password } => {
            println!("{}", hearth_server::auth::hash_password(&password)?);
            Ok(())
        }
    }
}
