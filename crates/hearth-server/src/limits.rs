//! Abuse limits: post and session rate limits (token buckets, per session
//! and per address), the per-address backoff after wrong passwords, and the
//! per-address cap on open event streams.
//!
//! A refused request gets `429` with `Retry-After` in whole seconds. The
//! per-address limit is meant to be at least ten times the per-session one,
//! so an office behind one NAT is not throttled as one person.
//!
//! The password backoff reads a [`LimitsClock`] (from the config), which a
//! test can move forward instead of sleeping through a wait.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

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
    /// One typing notice per session per second; more are dropped.
    session_typing: Keyed<String>,
    passwords: PasswordBackoff,
    streams: StreamSlots,
    clock: DefaultClock,
    metrics: Arc<Metrics>,
}

impl RateLimits {
    pub fn new(config: &Config, metrics: Arc<Metrics>) -> Self {
        Self {
            session_posts: RateLimiter::keyed(quota(config.session_post_rate)),
            address_posts: RateLimiter::keyed(quota(config.address_post_rate)),
            address_sessions: RateLimiter::keyed(quota(config.address_session_rate)),
            session_typing: RateLimiter::keyed(quota(RateLimit {
                per_second: 1,
                burst: 1,
            })),
            passwords: PasswordBackoff::new(
                config.password_backoff,
                config.password_backoff_max,
                config.limits_clock.clone(),
            ),
            streams: StreamSlots::new(config.max_streams_per_address),
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

    /// Whether a typing notice of `session` goes out (at most one a second;
    /// the others are dropped, silently).
    pub fn admit_typing(&self, session: &str) -> bool {
        self.session_typing.check_key(&session.to_owned()).is_ok()
    }

    /// One session (login) attempt from `address`.
    pub fn check_session(&self, address: IpAddr) -> Result<(), ApiError> {
        self.check(&self.address_sessions, &address)
    }

    /// Admits one password check from `address`, or refuses it while the
    /// address waits after a wrong password (or has a check running). The
    /// caller reports the outcome on the returned attempt.
    pub fn admit_password(&self, address: IpAddr) -> Result<PasswordAttempt, ApiError> {
        self.passwords
            .admit(address, self.passwords.clock.now())
            .map_err(|wait| {
                self.metrics.rate_limited.inc();
                self.metrics.password_attempts_refused.inc();
                let secs = whole_seconds(wait);
                ApiError::Limited {
                    message: format!(
                        "too many wrong passwords from your address: wait {secs} s before trying again"
                    ),
                    retry_after_secs: secs,
                }
            })
    }

    /// Takes one of `address`'s event stream slots, held until the returned
    /// slot is dropped; `429` when the address has the most open already.
    pub fn open_stream(&self, address: IpAddr) -> Result<StreamSlot, ApiError> {
        self.streams.take(address).ok_or_else(|| {
            self.metrics.rate_limited.inc();
            self.metrics.streams_refused.inc();
            ApiError::Limited {
                message: format!(
                    "too many open event streams from your address (at most {}): close one or retry later",
                    self.streams.max
                ),
                retry_after_secs: STREAM_RETRY_AFTER_SECS,
            }
        })
    }

    /// Forgets keys whose buckets are full again, and addresses whose wrong
    /// passwords are forgotten (keeps memory bounded).
    pub fn forget_idle(&self) {
        self.passwords.forget_idle(self.passwords.clock.now());
        self.session_posts.retain_recent();
        self.address_posts.retain_recent();
        self.address_sessions.retain_recent();
        self.session_typing.retain_recent();
        self.session_typing.shrink_to_fit();
        self.session_posts.shrink_to_fit();
        self.address_posts.shrink_to_fit();
        self.address_sessions.shrink_to_fit();
    }
}

/// The time the password backoff goes by: the real monotonic clock, plus
/// however far a test has moved it on with [`LimitsClock::advance`]. A test
/// hook, so a test of the backoff skips a wait instead of sleeping through
/// it; nothing in production advances it. Clones share one offset.
#[derive(Debug, Clone, Default)]
pub struct LimitsClock {
    /// Nanoseconds added to the real clock.
    ahead: Arc<AtomicU64>,
}

impl LimitsClock {
    /// Now, as the limits see it.
    pub fn now(&self) -> Instant {
        Instant::now() + Duration::from_nanos(self.ahead.load(Ordering::Relaxed))
    }

    /// How far a test has moved this clock on (zero in production): what
    /// a wall-clock reader adds to the system time.
    pub fn offset(&self) -> Duration {
        Duration::from_nanos(self.ahead.load(Ordering::Relaxed))
    }

    /// Moves this clock (and its clones) `by` forward.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.ahead.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// A wait in whole seconds, at least one (what `Retry-After` says).
fn whole_seconds(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An address's wrong passwords are forgotten this long after the last one.
pub const PASSWORD_BACKOFF_FORGET: Duration = Duration::from_secs(15 * 60);

/// `Retry-After` of a stream refused for the per-address cap: nothing says
/// when a slot frees, so a pause long enough not to hammer the server.
const STREAM_RETRY_AFTER_SECS: u64 = 5;

/// The backoff after wrong passwords, per address: after the `n`th wrong
/// password in a row the address waits `base * 2^(n-1)` (at most `max`)
/// before its next attempt is even checked. A correct password, or
/// [`PASSWORD_BACKOFF_FORGET`] without a wrong one, starts it over. One check
/// at a time per address, so parallel guesses cannot slip in before the
/// first one's outcome is known.
struct PasswordBackoff {
    /// Zero: no backoff.
    base: Duration,
    max: Duration,
    addresses: Addresses,
    clock: LimitsClock,
}

/// What the backoff remembers, per address.
type Addresses = Arc<Mutex<HashMap<IpAddr, Backoff>>>;

/// What the server remembers of one address.
#[derive(Debug)]
struct Backoff {
    /// Wrong passwords in a row.
    failures: u32,
    /// No attempt is checked before this.
    not_before: Instant,
    /// The last wrong password (or when the entry was made).
    last_failure: Instant,
    /// A check from this address is running.
    checking: bool,
}

impl PasswordBackoff {
    fn new(base: Duration, max: Duration, clock: LimitsClock) -> Self {
        Self {
            base,
            max: max.max(base),
            addresses: Arc::default(),
            clock,
        }
    }

    /// An attempt at `now`, or how long the address must still wait.
    fn admit(&self, address: IpAddr, now: Instant) -> Result<PasswordAttempt, Duration> {
        if self.base.is_zero() {
            return Ok(PasswordAttempt { tracked: None });
        }
        let mut addresses = lock(&self.addresses);
        let entry = addresses.entry(address).or_insert(Backoff {
            failures: 0,
            not_before: now,
            last_failure: now,
            checking: false,
        });
        if entry.checking {
            return Err(entry.not_before.saturating_duration_since(now));
        }
        if now.saturating_duration_since(entry.last_failure) >= PASSWORD_BACKOFF_FORGET {
            entry.failures = 0;
        }
        if now < entry.not_before {
            return Err(entry.not_before - now);
        }
        entry.checking = true;
        Ok(PasswordAttempt {
            tracked: Some(Tracked {
                address,
                addresses: self.addresses.clone(),
                base: self.base,
                max: self.max,
                clock: self.clock.clone(),
            }),
        })
    }

    fn forget_idle(&self, now: Instant) {
        lock(&self.addresses).retain(|_, entry| {
            entry.checking
                || now < entry.not_before
                || (entry.failures > 0
                    && now.saturating_duration_since(entry.last_failure) < PASSWORD_BACKOFF_FORGET)
        });
    }
}

/// One admitted password check. Report its outcome with
/// [`PasswordAttempt::succeeded`] or [`PasswordAttempt::failed`]; one
/// dropped unreported (the client went away during the check) counts as
/// wrong.
pub struct PasswordAttempt {
    /// `None` when the backoff is off.
    tracked: Option<Tracked>,
}

struct Tracked {
    address: IpAddr,
    addresses: Addresses,
    base: Duration,
    max: Duration,
    clock: LimitsClock,
}

impl Tracked {
    fn fail(&self, now: Instant) -> Duration {
        let mut addresses = lock(&self.addresses);
        let entry = addresses.entry(self.address).or_insert(Backoff {
            failures: 0,
            not_before: now,
            last_failure: now,
            checking: false,
        });
        entry.failures = entry.failures.saturating_add(1);
        // base * 2^(failures - 1), at most max.
        let doublings = (entry.failures - 1).min(31);
        let delay = self.base.saturating_mul(1 << doublings).min(self.max);
        entry.not_before = now + delay;
        entry.last_failure = now;
        entry.checking = false;
        delay
    }
}

impl PasswordAttempt {
    /// The password was right: the address starts over.
    pub fn succeeded(mut self) {
        if let Some(tracked) = self.tracked.take() {
            lock(&tracked.addresses).remove(&tracked.address);
        }
    }

    /// The password was wrong: returns how long the address now waits.
    pub fn failed(mut self) -> Duration {
        self.fail_now()
    }

    fn fail_now(&mut self) -> Duration {
        match &self.tracked {
            Some(tracked) => {
                let now = tracked.clock.now();
                self.fail_at(now)
            }
            None => Duration::ZERO,
        }
    }

    fn fail_at(&mut self, now: Instant) -> Duration {
        self.tracked
            .take()
            .map_or(Duration::ZERO, |tracked| tracked.fail(now))
    }
}

impl Drop for PasswordAttempt {
    fn drop(&mut self) {
        self.fail_now();
    }
}

/// Open event streams per address.
type OpenStreams = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// The open event streams of each address, capped.
struct StreamSlots {
    /// Zero: no cap.
    max: usize,
    open: OpenStreams,
}

impl StreamSlots {
    fn new(max: usize) -> Self {
        Self {
            max,
            open: Arc::default(),
        }
    }

    fn take(&self, address: IpAddr) -> Option<StreamSlot> {
        if self.max == 0 {
            return Some(StreamSlot { held: None });
        }
        let mut open = lock(&self.open);
        let count = open.entry(address).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(StreamSlot {
            held: Some((address, self.open.clone())),
        })
    }
}

/// One open stream of an address; frees its slot when dropped.
pub struct StreamSlot {
    held: Option<(IpAddr, OpenStreams)>,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let Some((address, open)) = self.held.take() else {
            return;
        };
        let mut open = lock(&open);
        if let Some(count) = open.get_mut(&address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    fn backoff() -> PasswordBackoff {
        PasswordBackoff::new(
            Duration::from_secs(1),
            Duration::from_secs(60),
            LimitsClock::default(),
        )
    }

    #[test]
    fn each_wrong_password_doubles_the_wait_up_to_the_most() {
        let b = backoff();
        let mut now = Instant::now();
        let mut waits = Vec::new();
        for _ in 0..9 {
            let mut attempt = b.admit(A, now).expect("admitted after the wait");
            let wait = attempt.fail_at(now);
            // Too early: refused with what is left of the wait.
            let refused = b.admit(A, now + wait / 2).err().expect("refused");
            assert_eq!(refused, wait - wait / 2);
            waits.push(wait.as_secs());
            now += wait;
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn a_right_password_or_a_quiet_quarter_hour_starts_over() {
        let b = backoff();
        let now = Instant::now();
        let mut first = b.admit(A, now).unwrap();
        first.fail_at(now);
        let mut second = b.admit(A, now + Duration::from_secs(1)).unwrap();
        assert_eq!(
            second.fail_at(now + Duration::from_secs(1)),
            Duration::from_secs(2)
        );
        // Quiet for 15 minutes: the next wrong one waits the base again.
        let later = now + Duration::from_secs(1) + PASSWORD_BACKOFF_FORGET;
        let mut third = b.admit(A, later).unwrap();
        assert_eq!(third.fail_at(later), Duration::from_secs(1));
        // A right one forgets the address.
        let then = later + Duration::from_secs(1);
        b.admit(A, then).unwrap().succeeded();
        assert!(lock(&b.addresses).is_empty());
        assert!(b.admit(A, then).is_ok());
    }

    #[test]
    fn one_check_at_a_time_per_address_and_other_addresses_are_free() {
        let b = backoff();
        let now = Instant::now();
        let running = b.admit(A, now).unwrap();
        assert!(b.admit(A, now).is_err(), "a second parallel check");
        let other = b.admit(B, now).expect("another address is not held up");
        other.succeeded();
        // A check abandoned half-way counts as a wrong password.
        drop(running);
        assert!(b.admit(A, Instant::now()).is_err());
    }

    #[test]
    fn the_backoff_goes_by_its_clock() {
        let clock = LimitsClock::default();
        let b = PasswordBackoff::new(
            Duration::from_secs(1),
            Duration::from_secs(60),
            clock.clone(),
        );
        let wait = b.admit(A, clock.now()).unwrap().failed();
        assert_eq!(wait, Duration::from_secs(1));
        assert!(b.admit(A, clock.now()).is_err(), "during the wait");
        // A clone moves the same clock: the wait is over without sleeping.
        clock.clone().advance(wait);
        b.admit(A, clock.now())
            .expect("admitted once the clock passed the wait")
            .succeeded();
        // An abandoned check fails at the clock's time, too.
        drop(b.admit(A, clock.now()).unwrap());
        assert!(b.admit(A, clock.now()).is_err());
        clock.advance(Duration::from_secs(1));
        assert!(b.admit(A, clock.now()).is_ok());
    }

    #[test]
    fn forgotten_addresses_leave_no_state() {
        let b = backoff();
        let now = Instant::now();
        let mut attempt = b.admit(A, now).unwrap();
        attempt.fail_at(now);
        b.forget_idle(now + Duration::from_secs(30));
        assert_eq!(lock(&b.addresses).len(), 1, "remembered for a while");
        b.forget_idle(now + PASSWORD_BACKOFF_FORGET);
        assert!(lock(&b.addresses).is_empty());
    }

    #[test]
    fn no_backoff_when_the_base_is_zero() {
        let b = PasswordBackoff::new(
            Duration::ZERO,
            Duration::from_secs(60),
            LimitsClock::default(),
        );
        let now = Instant::now();
        for _ in 0..5 {
            let mut attempt = b.admit(A, now).unwrap();
            assert_eq!(attempt.fail_at(now), Duration::ZERO);
        }
        assert!(lock(&b.addresses).is_empty());
    }

    #[test]
    fn stream_slots_are_capped_per_address_and_freed_on_drop() {
        let slots = StreamSlots::new(2);
        let first = slots.take(A).unwrap();
        let _second = slots.take(A).unwrap();
        assert!(slots.take(A).is_none());
        let _other = slots.take(B).expect("another address has its own slots");
        drop(first);
        let _again = slots.take(A).expect("a freed slot");
        drop(_again);
        drop(_second);
        drop(_other);
        assert!(lock(&slots.open).is_empty());
        let unlimited = StreamSlots::new(0);
        let held: Vec<_> = (0..1000).map(|_| unlimited.take(A).unwrap()).collect();
        assert_eq!(held.len(), 1000);
    }
}
