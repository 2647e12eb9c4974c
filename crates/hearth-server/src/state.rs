//! [`AppState`]: what every handler can reach, as one cheap handle.

use std::ops::Deref;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::auth::{PasswordCheck, TokenSigner};
use crate::broker::Broker;
use crate::config::Config;
use crate::files::FileStore;
use crate::limits::RateLimits;
use crate::metrics::Metrics;
use crate::nicks::Nicks;

/// Shared server state; clones share everything.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub config: Config,
    pub broker: Arc<dyn Broker>,
    /// Uploads' bytes.
    pub files: Arc<FileStore>,
    pub tokens: TokenSigner,
    /// `None` when the server has no password.
    pub password: Option<PasswordCheck>,
    pub limits: RateLimits,
    /// Protected nicks and revoked sessions.
    pub nicks: Nicks,
    /// Direct-message rooms' pairs.
    pub dms: Arc<dyn crate::dm::DmStore>,
    pub metrics: Arc<Metrics>,
    /// Cancelled when the server shuts down: open streams end themselves.
    pub shutdown: CancellationToken,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }

    /// Whether `claims` may moderate: a session of one of the configured
    /// admin nicks (compared by [`crate::nicks::key`]), opened with its
    /// nick password.
    pub fn is_admin(&self, claims: &crate::auth::Claims) -> bool {
        if !claims.protected {
            return false;
        }
        let key = crate::nicks::key(&claims.nick);
        self.config.admins.iter().any(|admin| {
            hearth_proto::Nick::parse(admin).is_ok_and(|nick| crate::nicks::key(&nick) == key)
        })
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
