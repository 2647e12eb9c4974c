//! Protected nicks on the embedded backend ([`crate::nicks::NickStore`]):
//! tables `nick_claims` (one row per protected nick key) and
//! `revoked_sessions` (signed-out session ids until their tokens expire) and
//! `bans` (one row per banned nick key) in `hearth.db`; and the pairs of
//! direct-message rooms ([`crate::dm::DmStore`], table `dm_rooms`).
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
use crate::dm::{DmMember, DmRoom, DmStore};
use crate::nicks::{BanRecord, NickClaim, NickStore, SessionStanding};

#[derive(Default)]
struct Loaded {
    claims: HashMap<String, NickClaim>,
    /// Session id → expiry (seconds since the Unix epoch).
    revoked: HashMap<String, u64>,
    /// Nick key → its ban.
    bans: HashMap<String, BanRecord>,
    /// DM room name → the room.
    dms: HashMap<String, DmRoom>,
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
         );
         CREATE TABLE IF NOT EXISTS dm_rooms (
             room TEXT PRIMARY KEY,
             a_key TEXT NOT NULL,
             a_nick TEXT NOT NULL,
             b_key TEXT NOT NULL,
             b_nick TEXT NOT NULL
         );
         CREATE TABLE IF NOT EXISTS bans (
             key TEXT PRIMARY KEY,
             nick TEXT NOT NULL,
             until_ms INTEGER NOT NULL,
             by_nick TEXT NOT NULL,
             reason TEXT
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
    let mut bans = conn.prepare("SELECT key, nick, until_ms, by_nick, reason FROM bans")?;
    for row in bans.query_map([], |r| {
        Ok(BanRecord {
            key: r.get(0)?,
            nick: r.get(1)?,
            until_ms: r.get(2)?,
            by: r.get(3)?,
            reason: r.get(4)?,
        })
    })? {
        let ban = row?;
        loaded.bans.insert(ban.key.clone(), ban);
    }
    let mut dms = conn.prepare("SELECT a_key, a_nick, b_key, b_nick FROM dm_rooms")?;
    for row in dms.query_map([], |r| {
        Ok(DmRoom::new(
            DmMember {
                key: r.get(0)?,
                nick: r.get(1)?,
            },
            DmMember {
                key: r.get(2)?,
                nick: r.get(3)?,
            },
        ))
    })? {
        let dm = row?;
        loaded.dms.insert(dm.room.to_string(), dm);
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
            ban: loaded.bans.get(key).cloned(),
        })
    }

    async fn ban(&self, ban: BanRecord) -> Result<(), BrokerError> {
        let loaded = self.loaded().await?;
        self.store
            .on_writer(move |conn| -> rusqlite::Result<()> {
                conn.execute(
                    "INSERT OR REPLACE INTO bans (key, nick, until_ms, by_nick, reason)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![ban.key, ban.nick, ban.until_ms, ban.by, ban.reason],
                )?;
                lock(&loaded).bans.insert(ban.key.clone(), ban);
                Ok(())
            })
            .await?
            .map_err(store_err)
    }

    async fn unban(&self, key: &str) -> Result<bool, BrokerError> {
        let loaded = self.loaded().await?;
        let key = key.to_owned();
        self.store
            .on_writer(move |conn| -> rusqlite::Result<bool> {
                let removed = conn.execute("DELETE FROM bans WHERE key = ?1", params![key])?;
                lock(&loaded).bans.remove(&key);
                Ok(removed > 0)
            })
            .await?
            .map_err(store_err)
    }

    async fn bans(&self) -> Result<Vec<BanRecord>, BrokerError> {
        let loaded = self.loaded().await?;
        let mut bans: Vec<BanRecord> = lock(&loaded).bans.values().cloned().collect();
        bans.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(bans)
    }
}

#[async_trait]
impl DmStore for EmbeddedNicks {
    async fn open_dm(&self, dm: &DmRoom) -> Result<(), BrokerError> {
        let loaded = self.loaded().await?;
        if lock(&loaded).dms.contains_key(dm.room.as_str()) {
            return Ok(());
        }
        let dm = dm.clone();
        self.store
            .on_writer(move |conn| -> rusqlite::Result<()> {
                let [a, b] = &dm.members;
                conn.execute(
                    "INSERT OR IGNORE INTO dm_rooms (room, a_key, a_nick, b_key, b_nick)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![dm.room.as_str(), a.key, a.nick, b.key, b.nick],
                )?;
                lock(&loaded).dms.entry(dm.room.to_string()).or_insert(dm);
                Ok(())
            })
            .await?
            .map_err(store_err)
    }

    async fn dm(&self, room: &hearth_proto::RoomName) -> Result<Option<DmRoom>, BrokerError> {
        let loaded = self.loaded().await?;
        Ok(lock(&loaded).dms.get(room.as_str()).cloned())
    }

    async fn dms_of(&self, key: &str) -> Result<Vec<DmRoom>, BrokerError> {
        let loaded = self.loaded().await?;
        let mut dms: Vec<DmRoom> = lock(&loaded)
            .dms
            .values()
            .filter(|dm| dm.has(key))
            .cloned()
            .collect();
        dms.sort_by(|a, b| a.room.cmp(&b.room));
        Ok(dms)
    }
}
