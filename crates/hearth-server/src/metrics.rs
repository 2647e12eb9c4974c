//! Prometheus metrics, served as text on `/metrics`.

use std::sync::atomic::AtomicI64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Every metric the server keeps.
pub struct Metrics {
    registry: Registry,
    pub connections_open: Gauge<i64, AtomicI64>,
    pub connections_refused: Counter,
    pub connections_stalled: Counter,
    pub streams_open: Gauge<i64, AtomicI64>,
    pub messages_in: Counter,
    /// Uploads stored (`201`s of `POST /api/files`).
    pub files_in: Counter,
    pub messages_repeated: Counter,
    pub deliveries: Counter,
    pub subscribers_lagged: Counter,
    pub rate_limited: Counter,
    pub password_failures: Counter,
    pub password_attempts_refused: Counter,
    pub streams_refused: Counter,
    pub broker_post_seconds: Histogram,
    pub redis_errors: Counter,
    pub redis_up: Gauge<i64, AtomicI64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("hearth");
        let metrics = Metrics {
            connections_open: Gauge::default(),
            connections_refused: Counter::default(),
            connections_stalled: Counter::default(),
            streams_open: Gauge::default(),
            messages_in: Counter::default(),
            files_in: Counter::default(),
            messages_repeated: Counter::default(),
            deliveries: Counter::default(),
            subscribers_lagged: Counter::default(),
            rate_limited: Counter::default(),
            password_failures: Counter::default(),
            password_attempts_refused: Counter::default(),
            streams_refused: Counter::default(),
            broker_post_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 16)),
            redis_errors: Counter::default(),
            redis_up: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "connections_open",
            "Open HTTP connections",
            metrics.connections_open.clone(),
        );
        registry.register(
            "connections_refused",
            "Connections answered 503 because the connection cap was reached",
            metrics.connections_refused.clone(),
        );
        registry.register(
            "connections_stalled",
            "Connections closed because their socket stayed full (slow readers)",
            metrics.connections_stalled.clone(),
        );
        registry.register(
            "streams_open",
            "Open event streams",
            metrics.streams_open.clone(),
        );
        registry.register(
            "messages_in",
            "Messages stored",
            metrics.messages_in.clone(),
        );
        registry.register("files_in", "Uploads stored", metrics.files_in.clone());
        registry.register(
            "messages_repeated",
            "Posts answered from the idempotency record (client retries)",
            metrics.messages_repeated.clone(),
        );
        registry.register(
            "messages_out",
            "Message events written to streams",
            metrics.deliveries.clone(),
        );
        registry.register(
            "subscribers_dropped",
            "Streams ended because the subscriber fell too far behind",
            metrics.subscribers_lagged.clone(),
        );
        registry.register(
            "rate_limited",
            "Requests answered 429",
            metrics.rate_limited.clone(),
        );
        registry.register(
            "password_failures",
            "Sign-in attempts with a wrong server password",
            metrics.password_failures.clone(),
        );
        registry.register(
            "password_attempts_refused",
            "Sign-in attempts answered 429 because the address waits after wrong passwords",
            metrics.password_attempts_refused.clone(),
        );
        registry.register(
            "streams_refused",
            "Event streams answered 429 because the address has the most open",
            metrics.streams_refused.clone(),
        );
        registry.register(
            "broker_post_seconds",
            "Time to store and fan out one post",
            metrics.broker_post_seconds.clone(),
        );
        registry.register(
            "redis_errors",
            "Redis commands or subscriptions that failed (Redis backend)",
            metrics.redis_errors.clone(),
        );
        registry.register(
            "redis_up",
            "1 while this node holds its Redis subscription and has caught up (Redis backend)",
            metrics.redis_up.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }

    /// The metrics in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}
