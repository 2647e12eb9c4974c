//! The Hearth room server.
//!
//! It keeps chat rooms: takes posts over HTTP, stores them, and streams every
//! room to its subscribers over Server-Sent Events, as `PROTOCOL` describes
//! (see `docs/API.md`). The desktop app embeds it; `hearth serve` runs it
//! headless.
//!
//! # Layout
//!
//! - [`run`]: serve on a listener until a shutdown future completes. The
//!   caller owns the socket and the stop signal (the binary binds and passes
//!   ctrl-c/SIGTERM; tests bind `127.0.0.1:0`).
//! - [`config`]: every tunable, with defaults.
//! - [`routes`]: the HTTP surface, one module per group of endpoints.
//! - [`broker`]: the `Broker` trait (store, fan out, history, presence) and
//!   its backends (the embedded one keeps history in SQLite).
//! - [`files`]: uploads' bytes (a folder or an S3 bucket), thumbnails and
//!   the sweep of unreferenced uploads.
//! - [`search`]: the message search index (SQLite FTS5, both backends).
//! - [`auth`]: tokens, the password, the session extractor.
//! - [`nicks`]: protected nicks (claims, generations, lapse) and revoked
//!   sessions, bans, and the ends of sessions announced to every node,
//!   stored by each backend.
//! - [`dm`]: direct-message rooms and the one check of who may use a room.
//! - [`limits`]: rate limits; [`net`]: the accept loop and connection limits.
//! - [`error`]: `ApiError`, the one place errors become HTTP answers.
//! - [`guard`]: checks before every route (the `Host`, cross-site writes)
//!   and HSTS/`Secure` cookies over TLS.
//! - [`tls`]: the optional TLS acceptor (rustls).
//! - [`mdns`]: advertising the server on the LAN (DNS-SD over multicast
//!   DNS), withdrawn on stop.
//! - [`private_fs`]: owner-only files and folders for what the server keeps.
//! - [`metrics`], [`state`].

pub mod auth;
pub mod broker;
pub mod config;
pub mod dm;
pub mod error;
pub mod files;
pub mod guard;
pub mod limits;
pub mod mdns;
pub mod metrics;
pub mod net;
pub mod nicks;
pub mod private_fs;
pub mod routes;
pub mod search;
pub mod state;
pub mod tls;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::{PasswordCheck, TokenSigner};
use crate::broker::Broker;
use crate::broker::embedded::EmbeddedBroker;
use crate::broker::redis::{RedisBroker, RedisOptions};
use crate::config::Backend;
pub use crate::config::Config;
use crate::dm::DmStore;
use crate::limits::RateLimits;
use crate::metrics::Metrics;
use crate::net::NetLimits;
use crate::nicks::{ENDS_CAPACITY, NickStore, Nicks};
use crate::state::{AppState, Shared};

/// How often idle rate-limit buckets are forgotten.
const LIMITER_SWEEP: Duration = Duration::from_secs(60);
/// How long `run` waits, at the end, for the mDNS goodbye to leave.
const MDNS_WITHDRAW: Duration = Duration::from_secs(3);

/// Builds the server's state: opens the store (or starts the Redis broker),
/// loads the secret, hashes the password. Fails with a readable reason (bad
/// data dir, bad hash, bad Redis URL…). A Redis that is down is not a
/// failure: the node starts unhealthy and recovers when Redis is up.
///
/// Either backend keeps its own house (pruning, unloading idle rooms) until
/// the state's `shutdown` is cancelled or the broker is dropped.
pub fn build_state(config: Config) -> anyhow::Result<AppState> {
    private_fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data dir {}", config.data_dir.display()))?;
    let secret_path = config
        .secret_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join(auth::SECRET_FILE));
    let secret = auth::load_or_create_secret(&secret_path)
        .with_context(|| format!("reading the secret {}", secret_path.display()))?;
    let password = config
        .password
        .as_ref()
        .map(PasswordCheck::from_setting)
        .transpose()?;
    let metrics = Arc::new(Metrics::new());
    let shutdown = CancellationToken::new();
    let (ends, _) = tokio::sync::broadcast::channel(ENDS_CAPACITY);
    type Stores = (Arc<dyn Broker>, Arc<dyn NickStore>, Arc<dyn DmStore>);
    let (broker, nick_store, dms): Stores = match &config.backend {
        Backend::Embedded => {
            let broker = EmbeddedBroker::open(&config, &shutdown)
                .with_context(|| format!("opening the history in {}", config.data_dir.display()))?;
            let nicks = Arc::new(broker.nicks());
            (Arc::new(broker), nicks.clone(), nicks)
        }
        Backend::Redis(redis) => {
            let broker = RedisBroker::open(
                redis,
                RedisOptions {
                    retention: config.retention_per_room,
                    subscriber_queue: config.subscriber_queue,
                    presence_ttl: redis.presence_ttl,
                },
                metrics.clone(),
                shutdown.clone(),
            )?;
            let nicks = Arc::new(broker.nicks(&redis.key_prefix));
            let client =
                ::redis::Client::open(redis.url.as_str()).context("reading the Redis URL")?;
            nicks.listen(client, ends.clone(), shutdown.clone());
            (Arc::new(broker), nicks.clone(), nicks)
        }
    };
    let files = Arc::new(files::FileStore::open(&config).context("opening the file store")?);
    Ok(AppState::new(Shared {
        files,
        tokens: TokenSigner::new(&secret, config.token_ttl),
        limits: RateLimits::new(&config, metrics.clone()),
        nicks: Nicks {
            store: nick_store,
            lapse: config.nick_lapse,
            clock: config.nicks_clock.clone(),
            ends,
        },
        dms,
        metrics,
        shutdown,
        broker,
        password,
        config,
    }))
}

/// Serves on `listener` until `shutdown` completes, then ends every stream,
/// waits (up to the grace period) for connections to close, and returns.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let tls = config.tls.as_ref().map(tls::load).transpose()?;
    let advertising = config.advertising.clone();
    advertising.set_enabled(config.mdns);
    let state = build_state(config)?;
    let token = state.shutdown.clone();
    tokio::spawn({
        let token = token.clone();
        async move {
            shutdown.await;
            token.cancel();
        }
    });
    spawn_limiter_sweep(&state);
    files::sweep::spawn(&state);
    let limits = NetLimits {
        max_connections: state.config.max_connections,
        header_read_timeout: state.config.header_read_timeout,
        write_stall_timeout: state.config.write_stall_timeout,
        shutdown_grace: state.config.shutdown_grace,
    };
    let metrics = state.metrics.clone();
    let bound = listener
        .local_addr()
        .context("reading the listener's address")?;
    let guard = guard::Guard::new(&state.config, bound);
    let advertiser = tokio::spawn(mdns::advertise(
        mdns::Advertisement {
            name: state.config.name.clone(),
            bound,
            password: state.password.is_some(),
            fingerprint: tls.as_ref().map(|t| t.fingerprint),
            room: hearth_proto::DEFAULT_ROOM.to_owned(),
        },
        advertising,
        token.clone(),
    ));
    let router = guard::apply(routes::router(state), guard);
    net::serve(
        listener,
        router,
        limits,
        tls.map(|t| t.acceptor),
        metrics,
        token.clone(),
    )
    .await;
    // The goodbye went out when the token fired; wait until it has left
    // (bounded), so a process that exits after `run` is withdrawn.
    token.cancel();
    if tokio::time::timeout(MDNS_WITHDRAW, advertiser)
        .await
        .is_err()
    {
        tracing::warn!("the mDNS advertisement was not withdrawn in time");
    }
    Ok(())
}

/// Forgets idle rate-limit buckets every [`LIMITER_SWEEP`] until shutdown.
fn spawn_limiter_sweep(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(LIMITER_SWEEP);
        loop {
            tokio::select! {
                _ = state.shutdown.cancelled() => break,
                _ = tick.tick() => state.limits.forget_idle(),
            }
        }
    });
}
