//! Post and session rate limits (token buckets, per session and per address).
//!
//! A refused request gets `429` with `Retry-After` in whole seconds. The
//! per-address limit is meant to be at least ten times the per-session one,
//! so an office behind one NAT is not throttled as one person.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::config::{Config, RateLimit};
use crate::error::ApiError;
use crate::metrics::Metrics;

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>;

fn quota(limit: RateLimit) -> Quota {
    let per_second = NonZeroU32::new(limit.per_second.max(1)).expect("at least one");
    let burst = NonZeroU32::new(limit.burst.max(1)).expect("at least one");
    Quota::per_second(per_second).allow_burst(burst)
}

/// The server's rate limiters.
pub struct RateLimits {
    session_posts: Keyed<String>,
    address_posts: Keyed<IpAddr>,
    address_sessions: Keyed<IpAddr>,
    clock: DefaultClock,
    metrics: Arc<Metrics>,
}

impl RateLimits {
    pub fn new(config: &Config, metrics: Arc<Metrics>) -> Self {
        Self {
            session_posts: RateLimiter::keyed(quota(config.session_post_rate)),
            address_posts: RateLimiter::keyed(quota(config.address_post_rate)),
            address_sessions: RateLimiter::keyed(quota(config.address_session_rate)),
            clock: DefaultClock::default(),
            metrics,
        }
    }

    fn check<K: Clone + Hash + Eq>(&self, limiter: &Keyed<K>, key: &K) -> Result<(), ApiError> {
        limiter.check_key(key).map_err(|not_until| {
            self.metrics.rate_limited.inc();
            let wait = not_until.wait_time_from(self.clock.now());
            ApiError::TooManyRequests {
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            }
        })
    }

    /// One post by `session` (if any) from `address`.
    pub fn check_post(&self, session: Option<&str>, address: IpAddr) -> Result<(), ApiError> {
        if let Some(session) = session {
            self.check(&self.session_posts, &session.to_owned())?;
        }
        self.check(&self.address_posts, &address)
    }

    /// One session (login) attempt from `address`.
    pub fn check_session(&self, address: IpAddr) -> Result<(), ApiError> {
        self.check(&self.address_sessions, &address)
    }

    /// Forgets keys whose buckets are full again (keeps memory bounded).
    pub fn forget_idle(&self) {
        self.session_posts.retain_recent();
        self.address_posts.retain_recent();
        self.address_sessions.retain_recent();
        self.session_posts.shrink_to_fit();
        self.address_posts.shrink_to_fit();
        self.address_sessions.shrink_to_fit();
    }
}
