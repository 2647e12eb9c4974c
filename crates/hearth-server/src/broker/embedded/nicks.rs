//! Protected nicks on the embedded backend ([`crate::nicks::NickStore`]):
//! tables `nick_claims` (one row per protected nick key) and
//! `revoked_sessions` (signed-out session ids until their tokens expire) in
//! `hearth.db`.
//!
//! One process owns `hearth.db`, so both tables are also held in memory and
//! every check of a request's token reads memory only. Writes run on the
//! store's writer thread (committed before answering) and update memory in
//! the same step, so memory never disagrees with the file. The tables are
//! created and loaded on first use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::OnceCell;

use super::store::Store;
use crate::broker::BrokerError;
use crate::nicks::{NickClaim, NickStore, SessionStanding};

#[derive(Default)]
struct Loaded {
    claims: HashMap<String, NickClaim>,
    /// Session id → expiry (seconds since the Unix epoch).
    revoked: HashMap<String, u64>,
}

/// The embedded [`NickStore`]; cheap to clone.
#[derive(Clone)]
pub struct EmbeddedNicks {
    store: Store,
    loaded: Arc<OnceCell<Arc<Mutex<Loaded>>>>,
}

fn store_err(e: impl std::fmt::Display) -> BrokerError {
    BrokerError::Unavailable(format!("nick store: {e}"))
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn load(conn: &Connection) -> rusqlite::Result<Loaded> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS nick_claims (
             key TEXT PRIMARY KEY,
             generation INTEGER NOT NULL,
             phc TEXT NOT NULL,
             nick TEXT NOT NULL,
             used_ms INTEGER NOT NULL
         );
         CREATE TABLE IF NOT EXISTS revoked_sessions (
             sid TEXT PRIMARY KEY,
             exp INTEGER NOT NULL
         );",
    )?;
    conn.execute(
        "DELETE FROM revoked_sessions WHERE exp <= ?1",
        params![now_secs() as i64],
    )?;
    let mut loaded = Loaded::default();
    let mut claims = conn.prepare("SELECT key, generation, phc, nick, used_ms FROM nick_claims")?;
    for row in claims.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            NickClaim {
                generation: r.get::<_, i64>(1)? as u64,
                phc: r.get(2)?,
                nick: r.get(3)?,
                used_ms: r.get(4)?,
            },
        ))
    })? {
        let (key, claim) = row?;
        loaded.claims.insert(key, claim);
    }
    let mut revoked = conn.prepare("SELECT sid, exp FROM revoked_sessions")?;
    for row in revoked.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
    })? {
        let (sid, exp) = row?;
        loaded.revoked.insert(sid, exp);
    }
    Ok(loaded)
}

impl EmbeddedNicks {
    pub(super) fn new(store: Store) -> Self {
        Self {
            store,
            loaded: Arc::new(OnceCell::new()),
        }
    }

    async fn loaded(&self) -> Result<Arc<Mutex<Loaded>>, BrokerError> {
        self.loaded
            .get_or_try_init(|| async {
                let loaded = self.store.on_writer(load).await?.map_err(store_err)?;
                Ok(Arc::new(Mutex::new(loaded)))
            })
            .await
            .cloned()
    }
}

fn lock(loaded: &Mutex<Loaded>) -> std::sync::MutexGuard<'_, Loaded> {
    loaded.lock().unwrap_or_else(PoisonError::into_inner)
}

#[async_trait]
impl NickStore for EmbeddedNicks {
    async fn claim(&self, key: &str) -> Result<Option<NickClaim>, BrokerError> {
        let loaded = self.loaded().await?;
        Ok(lock(&loaded).claims.get(key).cloned())
    }

    async fn protect(&self, key: &str, claim: NickClaim) -> Result<bool, BrokerError> {
        let loaded = self.loaded().await?;
        let key = key.to_owned();
        self.store
            .on_writer(move |conn| -> rusqlite::Result<bool> {
                let stored: Option<i64> = conn
                    .query_row(
                        "SELECT generation FROM nick_claims WHERE key = ?1",
                        params![key],
                        |r| r.get(0),
                    )
                    .optional()?;
                if stored.unwrap_or(0) as u64 + 1 != claim.generation {
                    return Ok(false);
                }
                conn.execute(
                    "INSERT OR REPLACE INTO nick_claims (key, generation, phc, nick, used_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        key,
                        claim.generation as i64,
                        claim.phc,
                        claim.nick,
                        claim.used_ms
                    ],
                )?;
                lock(&loaded).claims.insert(key, claim);
                Ok(true)
            })
            .await?
            .map_err(store_err)
    }

    async fn touch(&self, key: &str, generation: u64, now_ms: i64) -> Result<(), BrokerError> {
        let loaded = self.loaded().await?;
        let key = key.to_owned();
        self.store
            .on_writer(move |conn| -> rusqlite::Result<()> {
                conn.execute(
                    "UPDATE nick_claims SET used_ms = MAX(used_ms, ?3)
                     WHERE key = ?1 AND generation = ?2",
                    params![key, generation as i64, now_ms],
                )?;
                if let Some(claim) = lock(&loaded).claims.get_mut(&key)
                    && claim.generation == generation
                {
                    claim.used_ms = claim.used_ms.max(now_ms);
                }
                Ok(())
            })
            .await?
            .map_err(store_err)
    }

    async fn revoke(&self, sid: &str, exp: u64) -> Result<(), BrokerError> {
        let loaded = self.loaded().await?;
        let sid = sid.to_owned();
        self.store
            .on_writer(move |conn| -> rusqlite::Result<()> {
                let now = now_secs();
                conn.execute(
                    "DELETE FROM revoked_sessions WHERE exp <= ?1",
                    params![now as i64],
                )?;
                conn.execute(
                    "INSERT OR REPLACE INTO revoked_sessions (sid, exp) VALUES (?1, ?2)",
                    params![sid, exp as i64],
                )?;
                let mut loaded = lock(&loaded);
                loaded.revoked.retain(|_, e| *e > now);
                loaded.revoked.insert(sid, exp);
                Ok(())
            })
            .await?
            .map_err(store_err)
    }

    async fn standing(&self, key: &str, sid: &str) -> Result<SessionStanding, BrokerError> {
        let loaded = self.loaded().await?;
        let loaded = lock(&loaded);
        Ok(SessionStanding {
            generation: loaded.claims.get(key).map_or(0, |c| c.generation),
            revoked: loaded.revoked.contains_key(sid),
        })
    }
}
