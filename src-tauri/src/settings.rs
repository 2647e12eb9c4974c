//! Non-secret settings, as one JSON file in the app's config dir
//! (`settings.json`): the saved rooms (server URL, room, nick, last message
//! seen) and the host's choices (start hosting on launch, whether a password
//! is set, the nick and room the host joins) and the desktop's (tray, start
//! at login, do not disturb, muted rooms). Secrets are in
//! [`crate::secrets`], never here.
//!
//! [`SettingsStore`] holds the settings in memory and writes them whole,
//! atomically (temporary file, fsync, rename). Saving the last-seen ids of a
//! busy room is debounced by [`SettingsStore::update_later`] and a saver task.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hearth_proto::{CertFingerprint, MessageId, Nick, RoomName};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::error::CommandError;

/// The file name in the config dir.
pub const FILE_NAME: &str = "settings.json";
/// How long a change to last-seen ids may wait before it is written.
const SAVE_DELAY: Duration = Duration::from_millis(500);

/// Everything in `settings.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    #[serde(default)]
    pub rooms: Vec<SavedRoom>,
    #[serde(default)]
    pub host: HostSettings,
    #[serde(default)]
    pub desktop: DesktopSettings,
}

/// How the app behaves on the desktop (`src/platform.rs` applies these).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesktopSettings {
    /// Closing the window hides it and Hearth keeps running in the tray.
    /// `None`: never chosen, so on wherever a tray icon could be created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_in_tray: Option<bool>,
    /// Start Hearth when the person logs in (the autostart plugin).
    #[serde(default)]
    pub start_at_login: bool,
    /// No notifications at all while on (the tray's switch).
    #[serde(default)]
    pub do_not_disturb: bool,
    /// Saved rooms (by id) whose messages never notify.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub muted_rooms: BTreeSet<String>,
    /// The first close to the tray said where Hearth went.
    #[serde(default)]
    pub tray_notice_shown: bool,
}

impl DesktopSettings {
    /// Whether closing the window keeps Hearth in the tray, given whether a
    /// tray icon exists: never without one (the app could not be reached).
    pub fn keeps_in_tray(&self, tray_available: bool) -> bool {
        tray_available && self.keep_in_tray.unwrap_or(true)
    }
}

/// A room the user joined, local (hosted by this app) or remote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedRoom {
    /// Stable, opaque id the UI addresses the room by.
    pub id: String,
    /// The server's base URL (`http://host:port/`). For a hosted room, the
    /// local URL of the last time it was hosted (the port may change).
    pub server: String,
    pub room: RoomName,
    pub nick: Nick,
    /// Hosted by this app: reached on loopback while hosting runs.
    #[serde(default)]
    pub hosted: bool,
    /// The newest message id seen in the room (resume point).
    #[serde(default)]
    pub last_seen: Option<MessageId>,
    /// The only TLS certificate accepted from this server (a self-signed
    /// `https://` host whose fingerprint the person pasted).
    #[serde(default)]
    pub pin: Option<CertFingerprint>,
    /// For a direct-message room (protocol v1.1 "dm"): the other person's
    /// nick. Its messages count as mentions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dm: Option<String>,
}

impl SavedRoom {
    /// The keychain account of this room.
    pub fn account(&self) -> String {
        crate::secrets::room_account(
            &self.server,
            self.hosted,
            self.room.as_str(),
            self.nick.as_str(),
        )
    }

    /// The link a person opens or pastes: `http://host:port/r/{room}`.
    pub fn url(&self) -> String {
        format!("{}/r/{}", self.server.trim_end_matches('/'), self.room)
    }
}

/// The host's choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostSettings {
    /// Start hosting when the app starts.
    #[serde(default)]
    pub start_on_launch: bool,
    /// Whether the keychain holds a server password for hosting.
    #[serde(default)]
    pub password_set: bool,
    /// The nick the host joins its own room with.
    #[serde(default)]
    pub nick: Option<Nick>,
    /// The room the host's links point to.
    #[serde(default = "RoomName::default_room")]
    pub room: RoomName,
    /// Host on this Redis (advanced; shown without its password, which is
    /// in the keychain with the whole URL). `None`: rooms in this app.
    #[serde(default)]
    pub redis: Option<String>,
    /// Serve HTTPS with the app's self-signed certificate.
    #[serde(default)]
    pub https: bool,
}

impl Default for HostSettings {
    fn default() -> Self {
        Self {
            start_on_launch: false,
            password_set: false,
            nick: None,
            room: RoomName::default_room(),
            redis: None,
            https: false,
        }
    }
}

/// The settings in memory, and where they are saved.
#[derive(Debug)]
pub struct SettingsStore {
    path: PathBuf,
    settings: Mutex<Settings>,
    /// Rung by [`SettingsStore::update_later`] (and by drop, to end the saver).
    dirty: Arc<Notify>,
}

impl Drop for SettingsStore {
    fn drop(&mut self) {
        self.dirty.notify_one();
    }
}

impl SettingsStore {
    /// Loads `settings.json` from `config_dir` (none yet: defaults). A file
    /// that cannot be read is moved aside to `settings.json.bad` and the app
    /// starts from defaults rather than not at all.
    pub fn load(config_dir: &Path) -> Result<Arc<Self>, CommandError> {
        std::fs::create_dir_all(config_dir).map_err(|e| {
            CommandError::Storage(format!("creating {}: {e}", config_dir.display()))
        })?;
        let path = config_dir.join(FILE_NAME);
        let settings = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(settings) => settings,
                Err(e) => {
                    let aside = path.with_extension("json.bad");
                    tracing::error!(cause = %e, path = %path.display(), "unreadable settings; starting afresh");
                    let _ = std::fs::rename(&path, &aside);
                    Settings::default()
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Settings::default(),
            Err(e) => {
                return Err(CommandError::Storage(format!(
                    "reading {}: {e}",
                    path.display()
                )));
            }
        };
        Ok(Arc::new(Self {
            path,
            settings: Mutex::new(settings),
            dirty: Arc::new(Notify::new()),
        }))
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A copy of the settings.
    pub fn get(&self) -> Settings {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, Settings> {
        self.settings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Changes the settings and writes them at once.
    pub fn update<T>(&self, change: impl FnOnce(&mut Settings) -> T) -> Result<T, CommandError> {
        let mut settings = self.lock();
        let result = change(&mut settings);
        let json = serde_json::to_vec_pretty(&*settings).expect("settings always serialize");
        write_atomically(&self.path, &json)?;
        Ok(result)
    }

    /// Changes the settings in memory; the saver task writes them soon.
    pub fn update_later(&self, change: impl FnOnce(&mut Settings)) {
        change(&mut self.lock());
        self.dirty.notify_one();
    }

    /// Writes the settings now.
    pub fn save(&self) -> Result<(), CommandError> {
        self.update(|_| ())
    }

    /// Writes what [`Self::update_later`] changed, shortly after each change,
    /// until the store is dropped.
    pub fn spawn_saver(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        let dirty = self.dirty.clone();
        tokio::spawn(async move {
            loop {
                dirty.notified().await;
                tokio::time::sleep(SAVE_DELAY).await;
                let Some(store) = weak.upgrade() else { return };
                if let Err(e) = store.save() {
                    tracing::warn!(cause = %e, "saving settings failed");
                }
            }
        })
    }
}

/// Writes `bytes` to `path` so that a crash leaves either the old or the new
/// file, never half of one: a temporary file, fsync, rename, fsync the dir.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CommandError> {
    use std::io::Write;
    let storage = |e: std::io::Error| CommandError::Storage(format!("{}: {e}", path.display()));
    let tmp = path.with_extension("tmp");
    {
        let mut file = std::fs::File::create(&tmp).map_err(storage)?;
        file.write_all(bytes).map_err(storage)?;
        file.sync_all().map_err(storage)?;
    }
    std::fs::rename(&tmp, path).map_err(storage)?;
    #[cfg(unix)]
    if let Some(dir) = path.parent()
        && let Ok(dir) = std::fs::File::open(dir)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_survive_a_reload_and_a_bad_file_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let store = SettingsStore::load(dir.path()).unwrap();
        assert_eq!(store.get(), Settings::default());
        store
            .update(|s| {
                s.host.start_on_launch = true;
                s.rooms.push(SavedRoom {
                    id: "r1".into(),
                    server: "http://10.0.0.2:8989/".into(),
                    room: RoomName::parse("dev").unwrap(),
                    nick: Nick::parse("ana").unwrap(),
                    hosted: false,
                    last_seen: Some(MessageId::new(5, 1)),
                    pin: None,
                    dm: None,
                })
            })
            .unwrap();
        let again = SettingsStore::load(dir.path()).unwrap().get();
        assert!(again.host.start_on_launch);
        assert_eq!(again.rooms[0].url(), "http://10.0.0.2:8989/r/dev");
        assert_eq!(again.rooms[0].last_seen, Some(MessageId::new(5, 1)));

        std::fs::write(dir.path().join(FILE_NAME), b"{not json").unwrap();
        assert_eq!(
            SettingsStore::load(dir.path()).unwrap().get(),
            Settings::default()
        );
        assert!(dir.path().join("settings.json.bad").exists());
    }

    #[test]
    fn desktop_settings_default_to_the_tray_where_there_is_one() {
        let old: Settings = serde_json::from_str(r#"{"rooms": [], "host": {}}"#).unwrap();
        assert_eq!(old.desktop, DesktopSettings::default());
        assert!(old.desktop.keeps_in_tray(true));
        assert!(!old.desktop.keeps_in_tray(false));
        assert!(!old.desktop.start_at_login && !old.desktop.do_not_disturb);
        let off = DesktopSettings {
            keep_in_tray: Some(false),
            ..DesktopSettings::default()
        };
        assert!(!off.keeps_in_tray(true));
    }
}
