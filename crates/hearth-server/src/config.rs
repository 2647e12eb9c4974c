//! Everything a server operator can tune, with the defaults `hearth serve`
//! documents. The binary fills a [`Config`] from flags and environment
//! variables; tests and the desktop app build one in code.

use std::path::PathBuf;
use std::time::Duration;

pub use crate::limits::LimitsClock;
pub use crate::mdns::Advertising;
pub use crate::tls::TlsFiles;

/// How hard SQLite works to keep an acknowledged message across a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SyncMode {
    /// fsync the WAL on every commit: a `201` survives a power cut.
    Full,
    /// fsync at checkpoints only: a `201` survives a crash or `kill -9` of the
    /// server, but the last commits may be lost if the machine loses power.
    Normal,
}

/// A token-bucket limit: `per_second` sustained, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

/// Where the server's password comes from.
#[derive(Debug, Clone)]
pub enum PasswordSetting {
    /// A plain password, hashed with argon2 at start-up; only the hash is
    /// checked (the plain value stays in this configuration while it runs).
    Plain(String),
    /// An argon2 PHC hash (`$argon2id$...`), so no plain password is in the
    /// process arguments or environment.
    Hash(String),
}

/// Where rooms are stored and fanned out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// In this process, history in SQLite in the data dir (one node).
    Embedded,
    /// On a Redis (≥ 6.2) or Valkey server that many nodes share.
    Redis(RedisConfig),
}

/// Where uploaded files' bytes are kept (their records are the backend's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileStorage {
    /// A folder: `data_dir/files` by default; a shared mount serves a
    /// cluster.
    Folder(PathBuf),
    /// An S3-compatible object store, for clusters.
    S3(S3Config),
}

/// An S3-compatible bucket, from `s3://bucket?endpoint=…&region=…`.
/// Credentials come from the environment (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`), never from the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    pub bucket: String,
    /// `None`: AWS itself.
    pub endpoint: Option<String>,
    pub region: String,
    /// Keys start with this (`""`: the bucket's root).
    pub prefix: String,
}

impl FileStorage {
    /// Reads `--files`: `s3://bucket[/prefix][?endpoint=URL&region=R]`, or
    /// a folder path.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let Some(rest) = raw.strip_prefix("s3://") else {
            if raw.is_empty() {
                return Err("--files: give a folder or s3://bucket".into());
            }
            return Ok(FileStorage::Folder(PathBuf::from(raw)));
        };
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
        if bucket.is_empty() {
            return Err("--files: s3:// needs a bucket name".into());
        }
        let mut s3 = S3Config {
            bucket: bucket.to_owned(),
            endpoint: None,
            region: "us-east-1".to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        };
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "endpoint" => s3.endpoint = Some(value.into_owned()),
                "region" => s3.region = value.into_owned(),
                other => {
                    return Err(format!(
                        "--files: unknown option {other:?} (endpoint, region)"
                    ));
                }
            }
        }
        Ok(FileStorage::S3(s3))
    }
}

/// How to reach the shared Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port/db`.
    pub url: String,
    /// Prefix of every key and channel (several clusters can share a Redis).
    pub key_prefix: String,
    /// How long a node's claim that a nick is online lasts unless renewed
    /// (every third of it): a node that dies drops its users within this.
    pub presence_ttl: Duration,
}

impl RedisConfig {
    /// The given URL with the default key prefix, `hearth`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            key_prefix: "hearth".to_owned(),
            presence_ttl: Duration::from_secs(15),
        }
    }
}

/// The server's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Holds `hearth.db` (history, embedded backend) and `secret.key` (token
    /// signing, 0600; unless `secret_file` names another).
    pub data_dir: PathBuf,
    /// Where rooms live.
    pub backend: Backend,
    /// Serve HTTPS with this certificate and key; `None`: plain HTTP.
    pub tls: Option<TlsFiles>,
    /// The token-signing secret (at least 32 bytes). Every node of a cluster
    /// must use the same one, so a token works on all of them. `None`:
    /// `data_dir/secret.key`, created on first start.
    pub secret_file: Option<PathBuf>,
    /// The name `/api/info` reports and the LAN sees (the mDNS instance
    /// name). `Config::new` says "Hearth"; `hearth serve` defaults to
    /// [`friendly_name`].
    pub name: String,
    /// Advertise the server on the LAN (DNS-SD over multicast DNS) when it
    /// listens on an address others can reach (`--mdns`, on by default).
    /// [`crate::run`] copies it into `advertising` when it starts.
    pub mdns: bool,
    /// The advertising switch and state while the server runs (see
    /// [`crate::mdns`]): an embedding app keeps a clone before calling
    /// [`crate::run`] to show "Visible on your network as …" and to switch
    /// advertising on and off without a restart.
    pub advertising: Advertising,
    /// Names requests may give in `Host` besides the server's own addresses
    /// and host names (`--public-host`): the name DNS or a reverse proxy
    /// gives it, with or without a port. `"*"` accepts any `Host`, which
    /// turns off the DNS-rebinding check (see `guard`).
    pub public_hosts: Vec<String>,
    /// `None`: anyone who can reach the server may get a session.
    pub password: Option<PasswordSetting>,
    /// How many messages each room keeps.
    pub retention_per_room: usize,
    /// The largest request body accepted (`413` above), uploads aside.
    pub max_body_bytes: usize,
    /// The largest upload accepted (`413` above).
    pub max_file_bytes: u64,
    /// Where uploads' bytes are kept; `None`: `data_dir/files`.
    pub files: Option<FileStorage>,
    /// How often unreferenced uploads older than
    /// [`crate::files::UNREFERENCED_TTL`] are removed.
    pub file_sweep_interval: Duration,
    /// The wall clock the upload sweep reads. A test hook, like
    /// `limits_clock`: a test advances it past the 24 hours instead of
    /// waiting; the default is the real clock.
    pub files_clock: LimitsClock,
    /// Post rate per session.
    pub session_post_rate: RateLimit,
    /// Post rate per client address (at least ten times the session rate, so
    /// an office behind one NAT is not throttled as one person).
    pub address_post_rate: RateLimit,
    /// Session creation attempts per client address.
    pub address_session_rate: RateLimit,
    /// After a wrong password, the address waits this long before its next
    /// attempt is checked, doubling with each wrong one in a row (up to
    /// `password_backoff_max`); forgotten after a right one or 15 minutes
    /// without a wrong one. Zero: no backoff.
    pub password_backoff: Duration,
    /// The longest wait of the password backoff.
    pub password_backoff_max: Duration,
    /// Open event streams per client address (`429` above); 0: no cap.
    /// Behind a reverse proxy every client has the proxy's address.
    pub max_streams_per_address: usize,
    /// Open connections above this get `503`.
    pub max_connections: usize,
    /// A client must send its request headers within this time.
    pub header_read_timeout: Duration,
    /// A connection whose socket stays full this long is closed (slow
    /// subscribers; the protocol allows at most 10 s).
    pub write_stall_timeout: Duration,
    /// A stream that sent nothing for this long gets a `: ping` comment.
    pub ping_interval: Duration,
    /// Events a subscriber may fall behind a room before it is disconnected
    /// (it resumes with `Last-Event-ID`).
    pub subscriber_queue: usize,
    /// How long a session token is valid.
    pub token_ttl: Duration,
    /// SQLite durability.
    pub sync: SyncMode,
    /// How long shutdown waits for connections to finish.
    pub shutdown_grace: Duration,
    /// The clock of the password backoff. A test hook: a test keeps a clone
    /// and advances it to skip a backoff instead of sleeping through it.
    /// Nothing else moves it; the default is the real clock.
    pub limits_clock: LimitsClock,
    /// A nick protection nobody signed in to for this long lapses
    /// (`--nick-lapse`, 90 days).
    pub nick_lapse: Duration,
    /// The wall clock lapses are measured by. A test hook, like
    /// `files_clock`: a test advances it past the lapse instead of waiting.
    pub nicks_clock: LimitsClock,
    /// The nicks that may delete any message and ban (`--admin`,
    /// repeatable). An admin acts only from a protected session of the
    /// nick (signed in with its nick password).
    pub admins: Vec<String>,
}

impl Config {
    /// The documented defaults, storing data in `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            backend: Backend::Embedded,
            tls: None,
            secret_file: None,
            name: "Hearth".to_owned(),
            mdns: true,
            advertising: Advertising::default(),
            public_hosts: Vec::new(),
            password: None,
            retention_per_room: 10_000,
            max_body_bytes: 64 * 1024,
            max_file_bytes: hearth_proto::DEFAULT_MAX_FILE_BYTES,
            files: None,
            file_sweep_interval: Duration::from_secs(3600),
            files_clock: LimitsClock::default(),
            session_post_rate: RateLimit {
                per_second: 5,
                burst: 10,
            },
            address_post_rate: RateLimit {
                per_second: 50,
                burst: 60,
            },
            address_session_rate: RateLimit {
                per_second: 2,
                burst: 30,
            },
            password_backoff: Duration::from_secs(1),
            password_backoff_max: Duration::from_secs(60),
            max_streams_per_address: 64,
            max_connections: 20_000,
            header_read_timeout: Duration::from_secs(10),
            write_stall_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(15),
            subscriber_queue: 1024,
            token_ttl: Duration::from_secs(30 * 24 * 3600),
            sync: SyncMode::Full,
            shutdown_grace: Duration::from_secs(5),
            limits_clock: LimitsClock::default(),
            nick_lapse: Duration::from_secs(90 * 24 * 3600),
            nicks_clock: LimitsClock::default(),
            admins: Vec::new(),
        }
    }
}

/// A server name a person recognizes: "ana's room on attic" (the user from
/// `$USER` or `$USERNAME`, the machine's host name without its domain);
/// "Hearth on attic" or "ana's room" when one of them is unknown, "Hearth"
/// when both are.
pub fn friendly_name() -> String {
    let user = ["USER", "USERNAME"]
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .map(|u| u.trim().to_owned())
        .find(|u| !u.is_empty());
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    let host = host.split('.').next().unwrap_or_default().trim().to_owned();
    let host = (!host.is_empty() && host != "localhost").then_some(host);
    compose_name(user.as_deref(), host.as_deref())
}

fn compose_name(user: Option<&str>, host: Option<&str>) -> String {
    match (user, host) {
        (Some(user), Some(host)) => format!("{user}'s room on {host}"),
        (Some(user), None) => format!("{user}'s room"),
        (None, Some(host)) => format!("Hearth on {host}"),
        (None, None) => "Hearth".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn friendly_names_fall_back_to_what_is_known() {
        assert_eq!(
            compose_name(Some("ana"), Some("attic")),
            "ana's room on attic"
        );
        assert_eq!(compose_name(Some("ana"), None), "ana's room");
        assert_eq!(compose_name(None, Some("attic")), "Hearth on attic");
        assert_eq!(compose_name(None, None), "Hearth");
        assert!(!friendly_name().is_empty());
    }
}
