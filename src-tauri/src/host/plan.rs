//! What `host_start` will do, decided before anything starts: the request
//! ([`HostStart`]) checked against the saved choices and the keychain
//! ([`HostPlan::new`]), and, once the server runs, the choices kept
//! ([`HostPlan::persist`]: keychain, then settings). A request that does
//! not check out changes nothing.

use std::sync::Arc;

use hearth_proto::{Nick, RoomName};

use crate::error::CommandError;
use crate::secrets::{self, SecretStore};
use crate::settings::{HostSettings, SettingsStore};

/// The longest hosting password accepted.
const MAX_PASSWORD: usize = 1024;

/// What `host_start` takes.
#[derive(Debug, Clone, Default)]
pub struct HostStart {
    /// `None`: the saved password (if any); `Some("")`: no password (the
    /// saved one is deleted); else this password (saved in the keychain).
    pub password: Option<String>,
    /// Join the hosted room as this nick (default: the saved host nick).
    pub nick: Option<String>,
    /// The room to share (default: the saved one, else `general`).
    pub room: Option<String>,
    /// Remember whether to host when the app starts.
    pub start_on_launch: Option<bool>,
    /// Advanced: `None` keeps the saved choice; `Some("")` keeps rooms in
    /// this app; else a `redis://` URL to host on (saved in the keychain).
    pub redis: Option<String>,
    /// Serve HTTPS with the app's self-signed certificate; `None` keeps the
    /// saved choice.
    pub https: Option<bool>,
}

/// A checked [`HostStart`]: how to host, and what to keep afterwards.
#[derive(Debug, Clone)]
pub struct HostPlan {
    /// The nick the app joins its own room with, if any.
    pub nick: Option<Nick>,
    pub room: RoomName,
    /// The server's password (`None`: anyone may join).
    pub password: Option<String>,
    /// `Some(new)`: the keychain's hosting password becomes `new` (`None`:
    /// deleted); `None`: it stays as it is.
    remember_password: Option<Option<String>>,
    /// The Redis URL to host on (`None`: rooms in this app).
    pub redis: Option<String>,
    /// Whether the Redis choice changed (it is kept in the keychain).
    redis_changed: bool,
    pub https: bool,
    start_on_launch: Option<bool>,
    /// What was saved before.
    saved: HostSettings,
}

impl HostPlan {
    /// Checks `request` against the saved choices (`saved`), reading the
    /// kept password and Redis address from the keychain when the request
    /// keeps them.
    pub async fn new(
        request: HostStart,
        saved: HostSettings,
        secrets: &Arc<dyn SecretStore>,
    ) -> Result<Self, CommandError> {
        let nick = match request.nick.as_deref().map(str::trim) {
            Some(nick) if !nick.is_empty() => Some(Nick::parse(nick)?),
            _ => saved.nick.clone(),
        };
        let room = match request.room.as_deref().map(str::trim) {
            Some(room) if !room.is_empty() => RoomName::parse(room)?,
            _ => saved.room.clone(),
        };
        let (password, remember_password) = match request.password {
            Some(p) if p.is_empty() => (None, Some(None)),
            Some(p) if p.len() > MAX_PASSWORD => {
                return Err(CommandError::BadInput("That password is too long.".into()));
            }
            Some(p) => (Some(p.clone()), Some(Some(p))),
            None if saved.password_set => {
                match secrets::get(secrets, secrets::HOST_ACCOUNT).await {
                    Ok(Some(p)) => (Some(p), None),
                    Ok(None) => {
                        return Err(CommandError::Host(
                            "the hosting password is missing from the keychain: set it again."
                                .into(),
                        ));
                    }
                    Err(e) => {
                        return Err(CommandError::Host(format!(
                            "the hosting password cannot be read from the keychain ({e}); set it again or choose no password."
                        )));
                    }
                }
            }
            None => (None, None),
        };
        let (redis, redis_changed) = match request.redis.as_deref().map(str::trim) {
            Some("") => (None, true),
            Some(url) => (Some(redis_url(url)?), true),
            None if saved.redis.is_some() => {
                match secrets::get(secrets, secrets::HOST_REDIS_ACCOUNT).await {
                    Ok(Some(url)) => (Some(url), false),
                    Ok(None) | Err(_) => {
                        return Err(CommandError::Host(
                            "the Redis address is missing from the keychain: give it again.".into(),
                        ));
                    }
                }
            }
            None => (None, false),
        };
        Ok(Self {
            nick,
            room,
            password,
            remember_password,
            redis,
            redis_changed,
            https: request.https.unwrap_or(saved.https),
            start_on_launch: request.start_on_launch,
            saved,
        })
    }

    /// Keeps the choices of a server that started: the password and the
    /// Redis address in the keychain, the rest in the settings. Returns what
    /// the keychain could not keep, for a person.
    pub async fn persist(
        &self,
        settings: &SettingsStore,
        secrets: &Arc<dyn SecretStore>,
    ) -> Result<Vec<String>, CommandError> {
        let mut warnings = Vec::new();
        let password_set = match &self.remember_password {
            Some(Some(p)) => {
                if let Err(e) = secrets::set(secrets, secrets::HOST_ACCOUNT, p).await {
                    warnings.push(format!(
                        "the keychain could not keep the password ({e}): give it again next time"
                    ));
                }
                true
            }
            Some(None) => {
                if let Err(e) = secrets::delete(secrets, secrets::HOST_ACCOUNT).await {
                    tracing::warn!(cause = %e, "cannot delete the old hosting password");
                }
                false
            }
            None => self.saved.password_set,
        };
        if self.redis_changed {
            let kept = match &self.redis {
                Some(url) => secrets::set(secrets, secrets::HOST_REDIS_ACCOUNT, url).await,
                None => secrets::delete(secrets, secrets::HOST_REDIS_ACCOUNT).await,
            };
            if let Err(e) = kept {
                warnings.push(format!(
                    "the keychain could not keep the Redis address ({e}): give it again next time"
                ));
            }
        }
        settings.update(|s| {
            if self.redis_changed {
                s.host.redis = self.redis.as_deref().map(without_password);
            }
            s.host.password_set = password_set;
            s.host.https = self.https;
            s.host.nick = self.nick.clone();
            s.host.room = self.room.clone();
            if let Some(on) = self.start_on_launch {
                s.host.start_on_launch = on;
            }
        })?;
        Ok(warnings)
    }
}

/// Checks a Redis address a person typed: `redis://host:port/db`.
fn redis_url(input: &str) -> Result<String, CommandError> {
    let bad = |why: &str| {
        CommandError::BadInput(format!(
            "That Redis address {why}. Write it like redis://10.0.0.5:6379/0 (with redis://user:password@… if it needs a password)."
        ))
    };
    let url = url::Url::parse(input).map_err(|_| bad("is not a URL"))?;
    if url.scheme() != "redis" {
        return Err(bad("must start with redis://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("names no host"));
    }
    Ok(url.to_string())
}

/// The address with its password masked, for showing and for settings.
fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MemorySecrets;

    #[test]
    fn redis_addresses_are_checked_and_shown_without_their_password() {
        assert_eq!(
            redis_url(" redis://10.0.0.5:6379/0 ".trim()).unwrap(),
            "redis://10.0.0.5:6379/0"
        );
        for bad in [
            "localhost:6379",
            "http://10.0.0.5:6379",
            "redis://",
            "nonsense",
        ] {
            let err = redis_url(bad).unwrap_err().to_string();
            assert!(err.contains("redis://10.0.0.5:6379/0"), "{bad}: {err}");
        }
        assert_eq!(
            without_password("redis://app:s3cret@10.0.0.5:6379/0"),
            "redis://app:***@10.0.0.5:6379/0"
        );
        assert_eq!(
            without_password("redis://10.0.0.5:6379/0"),
            "redis://10.0.0.5:6379/0"
        );
    }

    #[tokio::test]
    async fn a_plan_keeps_the_saved_choices_unless_asked_and_checks_the_keychain() {
        let secrets: Arc<dyn SecretStore> = Arc::new(MemorySecrets::new());
        let saved = HostSettings {
            nick: Some(Nick::parse("hostess").unwrap()),
            https: true,
            ..HostSettings::default()
        };
        let plan = HostPlan::new(HostStart::default(), saved.clone(), &secrets)
            .await
            .unwrap();
        assert_eq!(plan.nick.as_ref().map(Nick::as_str), Some("hostess"));
        assert!(plan.https && plan.password.is_none() && plan.redis.is_none());

        let err = HostPlan::new(
            HostStart {
                nick: Some("  ".into()),
                room: Some("Bad Room".into()),
                ..HostStart::default()
            },
            saved.clone(),
            &secrets,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, CommandError::Invalid(_)), "{err}");

        // A password the settings say is kept, but the keychain lost.
        let lost = HostSettings {
            password_set: true,
            ..saved
        };
        let err = HostPlan::new(HostStart::default(), lost, &secrets)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("missing from the keychain"),
            "{err}"
        );
    }
}
