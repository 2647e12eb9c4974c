//! Whether the hosted room is visible on the network (mDNS), and as what
//! name: the host screen's switch and its line "Visible on your network as
//! …".
//!
//! The choice is kept in its own small file in the config dir,
//! `host-visibility.json` (`{"visible": true, "name": null}`): `visible` is
//! the switch (on unless turned off), `name` a custom server name (none:
//! [`hearth_server::config::friendly_name`], "ana's room on attic"). The
//! running server's [`Advertising`] handle is the host's for the app's
//! whole life, so a watcher sees every start and stop.
//!
//! `HEARTH_MDNS=off` ([`crate::discovery::mdns_allowed`]) keeps
//! advertising off whatever the switch says (the window tests set it).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use hearth_server::config::Advertising;
use hearth_server::mdns::MdnsState;
use serde::{Deserialize, Serialize};

use crate::error::CommandError;

/// The file name in the config dir.
pub const FILE_NAME: &str = "host-visibility.json";

/// What `host-visibility.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisibilitySettings {
    /// Advertise the hosted room on the network.
    #[serde(default = "yes")]
    pub visible: bool,
    /// A server name the person chose (none: the friendly default).
    #[serde(default)]
    pub name: Option<String>,
}

fn yes() -> bool {
    true
}

impl Default for VisibilitySettings {
    fn default() -> Self {
        Self {
            visible: true,
            name: None,
        }
    }
}

/// What the host screen shows about visibility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisibilityView {
    /// The switch.
    pub visible: bool,
    /// `false` when `HEARTH_MDNS=off` keeps advertising off.
    pub allowed: bool,
    /// The name the server has (or will have when it starts).
    pub name: String,
    /// The advertisement now (`{state: "visible", name, id, lan}`, …).
    pub mdns: MdnsState,
}

/// The switch, its file, and the running server's advertising handle.
#[derive(Debug, Default)]
pub struct Visibility {
    /// `None`: kept in memory only (tests).
    path: Option<PathBuf>,
    settings: Arc<Mutex<VisibilitySettings>>,
    advertising: Advertising,
    /// The task that forwards state changes to the host screen.
    watcher: Mutex<Option<tauri::async_runtime::JoinHandle<()>>>,
}

impl Visibility {
    /// Loads `host-visibility.json` from `config_dir` (missing or
    /// unreadable: the defaults, visible).
    pub fn load(config_dir: &Path) -> Self {
        let path = config_dir.join(FILE_NAME);
        let settings = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(cause = %e, path = %path.display(), "unreadable visibility setting; visible");
                VisibilitySettings::default()
            }),
            Err(_) => VisibilitySettings::default(),
        };
        Self {
            path: Some(path),
            settings: Arc::new(Mutex::new(settings)),
            advertising: Advertising::default(),
            watcher: Mutex::default(),
        }
    }

    fn settings(&self) -> VisibilitySettings {
        read(&self.settings)
    }

    /// The handle the hosted server advertises through.
    pub fn advertising(&self) -> &Advertising {
        &self.advertising
    }

    /// Whether a server starting now should advertise.
    pub fn wanted(&self) -> bool {
        self.settings().visible && crate::discovery::mdns_allowed()
    }

    /// The hosted server's name: the custom one, else the friendly default.
    pub fn name(&self) -> String {
        name_of(&self.settings())
    }

    /// [`Self::name`], for a task that outlives this borrow.
    pub fn name_source(&self) -> impl Fn() -> String + Send + Sync + 'static {
        let settings = self.settings.clone();
        move || name_of(&read(&settings))
    }

    /// Turns the switch on or off (at once while hosting) and keeps it.
    pub fn set_visible(&self, visible: bool) -> Result<VisibilityView, CommandError> {
        let saved = {
            let mut settings = self.settings.lock().unwrap_or_else(|p| p.into_inner());
            settings.visible = visible;
            settings.clone()
        };
        if let Some(path) = &self.path {
            let json = serde_json::to_vec_pretty(&saved).expect("settings serialize");
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let tmp = path.with_extension("json.tmp");
            std::fs::write(&tmp, json)
                .and_then(|()| std::fs::rename(&tmp, path))
                .map_err(|e| CommandError::Storage(format!("writing {}: {e}", path.display())))?;
        }
        self.advertising
            .set_enabled(visible && crate::discovery::mdns_allowed());
        Ok(self.view())
    }

    /// What the host screen shows now.
    pub fn view(&self) -> VisibilityView {
        view_of(&self.settings(), self.advertising.state())
    }

    /// Sends `send` the view at every change of the advertisement (from
    /// now on, on Tauri's async runtime; an earlier watcher ends) and
    /// returns the view now.
    pub fn watch(&self, send: impl Fn(VisibilityView) -> bool + Send + 'static) -> VisibilityView {
        let mut state = self.advertising.watch();
        let now = view_of(&self.settings(), state.borrow_and_update().clone());
        let settings = self.settings.clone();
        let task = tauri::async_runtime::spawn(async move {
            while state.changed().await.is_ok() {
                let mdns = state.borrow_and_update().clone();
                if !send(view_of(&read(&settings), mdns)) {
                    break;
                }
            }
        });
        if let Some(old) = self
            .watcher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(task)
        {
            old.abort();
        }
        now
    }
}

fn read(settings: &Mutex<VisibilitySettings>) -> VisibilitySettings {
    settings.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

fn name_of(settings: &VisibilitySettings) -> String {
    settings
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(hearth_server::config::friendly_name)
}

fn view_of(settings: &VisibilitySettings, mdns: MdnsState) -> VisibilityView {
    let name = match &mdns {
        MdnsState::Visible { name, .. } => name.clone(),
        _ => name_of(settings),
    };
    VisibilityView {
        visible: settings.visible,
        allowed: crate::discovery::mdns_allowed(),
        name,
        mdns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{Host, HostConfig};

    /// Waits until the view `watch` sends says `want` (on loopback nothing
    /// is ever sent to the network).
    async fn wait_for(
        views: &mut tokio::sync::mpsc::UnboundedReceiver<VisibilityView>,
        want: MdnsState,
    ) {
        tokio::time::timeout(std::time::Duration::from_secs(10), async {
            while let Some(view) = views.recv().await {
                if view.mdns == want {
                    return;
                }
            }
            panic!("the watcher ended");
        })
        .await
        .unwrap_or_else(|_| panic!("never {want:?}"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_running_server_follows_the_switch_and_a_watcher_sees_it() {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::new();
        host.visibility().set_visible(false).unwrap();
        let (tx, mut views) = tokio::sync::mpsc::unbounded_channel();
        let now = host.visibility().watch(move |view| tx.send(view).is_ok());
        assert_eq!(now.mdns, MdnsState::Stopped);
        assert!(!now.visible);

        let mut config = HostConfig::lan(dir.path().to_owned(), None);
        config.bind = "127.0.0.1".parse().unwrap();
        config.ports = vec![0];
        config.name = host.visibility().name();
        host.start(config).await.unwrap();
        // Switched off before the start: the server starts with mDNS off.
        wait_for(&mut views, MdnsState::Off).await;
        // Switched on while it runs: it would advertise, but listens on
        // loopback only, so it says why not.
        host.visibility().set_visible(true).unwrap();
        wait_for(&mut views, MdnsState::Loopback).await;
        host.stop().await.unwrap();
        wait_for(&mut views, MdnsState::Stopped).await;
    }

    #[test]
    fn the_switch_is_kept_in_its_own_file_and_a_custom_name_wins() {
        let dir = tempfile::tempdir().unwrap();
        let visibility = Visibility::load(dir.path());
        assert!(visibility.view().visible);
        assert_eq!(visibility.name(), hearth_server::config::friendly_name());

        visibility.set_visible(false).unwrap();
        assert!(!visibility.wanted());
        assert!(!visibility.advertising().is_enabled());
        let again = Visibility::load(dir.path());
        assert!(!again.view().visible);
        assert_eq!(again.view().mdns, MdnsState::Stopped);

        std::fs::write(
            dir.path().join(FILE_NAME),
            r#"{"visible": true, "name": " Attic "}"#,
        )
        .unwrap();
        assert_eq!(Visibility::load(dir.path()).name(), "Attic");
    }
}
