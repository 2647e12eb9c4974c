//! Secrets: session tokens and passwords, kept in the OS keychain and
//! nowhere else.
//!
//! [`SecretStore`] is the seam: [`Keychain`] is the real store (keyring v3:
//! the Secret Service on Linux, the Keychain on macOS, the Credential Manager
//! on Windows), under service [`SERVICE`] and one account per saved room
//! ([`room_account`]), one per nick the app protects on a server
//! ([`nick_account`]: the nick password it made, [`new_nick_password`]),
//! plus one for the host's password ([`HOST_ACCOUNT`]).
//! [`MemorySecrets`] keeps them in memory, for tests of everything else and
//! for a session where no keychain works (nothing is then remembered).
//!
//! A room's entry holds a small JSON object, [`RoomSecret`], so forgetting a
//! room deletes exactly one entry. The calls block (D-Bus on Linux): async
//! code goes through [`get_room`]/[`set_room`]/…, which run them on the
//! blocking pool.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::error::CommandError;

/// The keychain service every Hearth entry is filed under.
pub const SERVICE: &str = "hearth";
/// The account of the host's server password.
pub const HOST_ACCOUNT: &str = "host";
/// The account of the Redis URL hosting uses (it may hold a password).
pub const HOST_REDIS_ACCOUNT: &str = "host-redis";

/// What the keychain keeps for one saved room.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSecret {
    /// The session token (`Authorization: Bearer`), if signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The server password, if the server has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// The keychain account of a saved room: its URL and the nick, e.g.
/// `http://192.168.1.20:8989/r/general ana`. A hosted room's server moves
/// with the port it got, so its account names the host instead:
/// `hosted/r/general ana`.
pub fn room_account(server: &str, hosted: bool, room: &str, nick: &str) -> String {
    if hosted {
        format!("hosted/r/{room} {nick}")
    } else {
        format!("{}/r/{room} {nick}", server.trim_end_matches('/'))
    }
}

/// The keychain account of a nick password: the server's base URL and
/// the nick, e.g. `nick http://10.0.0.2:8989/ ana`; on the server this app
/// hosts (whose port may change), `nick hosted ana`. One per server and
/// nick, shared by every room the app joined there as that nick.
pub fn nick_account(server: Option<&str>, nick: &str) -> String {
    match server {
        Some(server) => format!("nick {}/ {nick}", server.trim_end_matches('/')),
        None => format!("nick hosted {nick}"),
    }
}

/// How many characters a nick password the app makes has (the server
/// takes 8 to 128).
pub const NICK_PASSWORD_LEN: usize = 24;

/// A new nick password: [`NICK_PASSWORD_LEN`] letters and digits from the
/// operating system's entropy through `rand`'s CSPRNG (about 143 bits).
pub fn new_nick_password() -> String {
    use rand::Rng;
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(NICK_PASSWORD_LEN)
        .map(char::from)
        .collect()
}

/// Why the store failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct SecretError(pub String);

impl From<SecretError> for CommandError {
    fn from(e: SecretError) -> Self {
        CommandError::Keychain(e.0)
    }
}

/// Where secrets live. Every method blocks; a missing entry is not an error.
pub trait SecretStore: Send + Sync + 'static {
    /// The secret of `account`, or `None` if there is none.
    fn get(&self, account: &str) -> Result<Option<String>, SecretError>;
    /// Stores (or replaces) the secret of `account`.
    fn set(&self, account: &str, secret: &str) -> Result<(), SecretError>;
    /// Deletes the secret of `account`; deleting a missing one succeeds.
    fn delete(&self, account: &str) -> Result<(), SecretError>;
}

/// The OS keychain, through `keyring`.
#[derive(Debug, Clone, Default)]
pub struct Keychain;

impl Keychain {
    fn entry(account: &str) -> Result<keyring::Entry, SecretError> {
        keyring::Entry::new(SERVICE, account).map_err(keychain_error)
    }
}

fn keychain_error(e: keyring::Error) -> SecretError {
    SecretError(match e {
        keyring::Error::NoStorageAccess(cause) => format!(
            "it is locked or no keychain service is running ({cause}); on Linux Hearth needs a Secret Service such as GNOME Keyring or KWallet"
        ),
        keyring::Error::PlatformFailure(cause) => format!("{cause}"),
        other => other.to_string(),
    })
}

impl SecretStore for Keychain {
    fn get(&self, account: &str) -> Result<Option<String>, SecretError> {
        match Self::entry(account)?.get_password() {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keychain_error(e)),
        }
    }

    fn set(&self, account: &str, secret: &str) -> Result<(), SecretError> {
        Self::entry(account)?
            .set_password(secret)
            .map_err(keychain_error)
    }

    fn delete(&self, account: &str) -> Result<(), SecretError> {
        match Self::entry(account)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keychain_error(e)),
        }
    }
}

/// Secrets in memory only: for tests, and shared between two app
/// instances of one test to stand for the keychain surviving a restart.
#[derive(Debug, Clone, Default)]
pub struct MemorySecrets(Arc<Mutex<HashMap<String, String>>>);

impl MemorySecrets {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every account that has a secret, sorted.
    pub fn accounts(&self) -> Vec<String> {
        let mut accounts: Vec<String> = self.lock().keys().cloned().collect();
        accounts.sort();
        accounts
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SecretStore for MemorySecrets {
    fn get(&self, account: &str) -> Result<Option<String>, SecretError> {
        Ok(self.lock().get(account).cloned())
    }

    fn set(&self, account: &str, secret: &str) -> Result<(), SecretError> {
        self.lock().insert(account.to_owned(), secret.to_owned());
        Ok(())
    }

    fn delete(&self, account: &str) -> Result<(), SecretError> {
        self.lock().remove(account);
        Ok(())
    }
}

/// Runs a blocking store call on the blocking pool.
async fn blocking<T: Send + 'static>(
    store: &Arc<dyn SecretStore>,
    call: impl FnOnce(&dyn SecretStore) -> Result<T, SecretError> + Send + 'static,
) -> Result<T, SecretError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || call(store.as_ref()))
        .await
        .map_err(|e| SecretError(format!("the keychain call did not finish: {e}")))?
}

/// Reads a room's secret; an unreadable entry counts as none (and is logged).
pub async fn get_room(
    store: &Arc<dyn SecretStore>,
    account: &str,
) -> Result<Option<RoomSecret>, SecretError> {
    let account_owned = account.to_owned();
    let raw = blocking(store, move |s| s.get(&account_owned)).await?;
    Ok(raw.and_then(|raw| match serde_json::from_str(&raw) {
        Ok(secret) => Some(secret),
        Err(e) => {
            tracing::warn!(cause = %e, %account, "unreadable keychain entry; ignoring it");
            None
        }
    }))
}

/// Stores a room's secret.
pub async fn set_room(
    store: &Arc<dyn SecretStore>,
    account: &str,
    secret: &RoomSecret,
) -> Result<(), SecretError> {
    let account = account.to_owned();
    let json = serde_json::to_string(secret).expect("a RoomSecret always serializes");
    blocking(store, move |s| s.set(&account, &json)).await
}

/// Reads a plain secret (the host password).
pub async fn get(
    store: &Arc<dyn SecretStore>,
    account: &str,
) -> Result<Option<String>, SecretError> {
    let account = account.to_owned();
    blocking(store, move |s| s.get(&account)).await
}

/// Stores a plain secret (the host password).
pub async fn set(
    store: &Arc<dyn SecretStore>,
    account: &str,
    secret: &str,
) -> Result<(), SecretError> {
    let (account, secret) = (account.to_owned(), secret.to_owned());
    blocking(store, move |s| s.set(&account, &secret)).await
}

/// Deletes an entry (a missing one is fine).
pub async fn delete(store: &Arc<dyn SecretStore>, account: &str) -> Result<(), SecretError> {
    let account = account.to_owned();
    blocking(store, move |s| s.delete(&account)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_name_the_room_url_and_the_nick() {
        assert_eq!(
            room_account("http://10.0.0.2:8989/", false, "general", "ana"),
            "http://10.0.0.2:8989/r/general ana"
        );
        assert_eq!(
            room_account("http://127.0.0.1:8990/", true, "dev", "bo"),
            "hosted/r/dev bo"
        );
    }

    #[test]
    fn nick_passwords_are_filed_by_server_and_nick() {
        assert_eq!(
            nick_account(Some("http://10.0.0.2:8989/"), "ana"),
            "nick http://10.0.0.2:8989/ ana"
        );
        assert_eq!(
            nick_account(Some("http://10.0.0.2:8989"), "ana"),
            "nick http://10.0.0.2:8989/ ana"
        );
        assert_eq!(nick_account(None, "bo"), "nick hosted bo");
    }

    #[test]
    fn nick_passwords_are_long_random_and_alphanumeric() {
        let a = new_nick_password();
        let b = new_nick_password();
        assert_eq!(a.chars().count(), NICK_PASSWORD_LEN);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn room_secrets_are_small_json() {
        let secret = RoomSecret {
            token: Some("t".into()),
            password: None,
        };
        assert_eq!(serde_json::to_string(&secret).unwrap(), r#"{"token":"t"}"#);
    }
}
