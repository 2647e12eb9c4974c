//! [`Desktop`]: the app's core, the one value Tauri manages and every
//! command calls. It owns the settings, the secrets, the hub, the rooms, the
//! outbox and the host, and does what spans several of them (hosting joins
//! the app's own room; forgetting a room drops its queued messages).
//!
//! Nothing here needs a Tauri runtime: tests open a `Desktop` on temporary
//! directories with in-memory secrets and an mpsc sink, against real
//! servers.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearth_client::RetryPolicy;
use hearth_proto::{Nick, RoomName};
use serde::Serialize;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::error::CommandError;
use crate::events::EventSink;
use crate::files::Files;
use crate::host::lan::{self, LanLink};
use crate::host::plan::HostPlan;
pub use crate::host::plan::HostStart;
use crate::host::{self, Host, HostConfig, Hosting};
use crate::outbox::Outbox;
use crate::rooms::hub::{Hub, NoNotifier, Notifier};
use crate::rooms::{RoomView, Rooms};
use crate::secrets::SecretStore;
use crate::settings::SettingsStore;

/// Where the app keeps things and how it behaves; [`DesktopOptions::new`]
/// gives the app's defaults.
pub struct DesktopOptions {
    /// The app's data dir: `outbox.json`, and the hosted server's data in
    /// `server/` (`hearth.db`, `secret.key`).
    pub data_dir: PathBuf,
    /// The app's config dir: `settings.json`.
    pub config_dir: PathBuf,
    pub secrets: Arc<dyn SecretStore>,
    pub notifier: Arc<dyn Notifier>,
    /// Where hosting listens (`0.0.0.0`).
    pub host_bind: IpAddr,
    /// The ports hosting tries, in order (`0`: any).
    pub host_ports: Vec<u16>,
    /// Reconnect backoff of event streams.
    pub follow_policy: RetryPolicy,
    /// Retries of one post within one outbox round.
    pub post_policy: RetryPolicy,
}

impl DesktopOptions {
    /// The app's defaults: host on every interface, ports 8989 to 8999 then
    /// any; no notifications until a notifier is set.
    pub fn new(data_dir: PathBuf, config_dir: PathBuf, secrets: Arc<dyn SecretStore>) -> Self {
        let lan = HostConfig::lan(PathBuf::new(), None);
        Self {
            data_dir,
            config_dir,
            secrets,
            notifier: Arc::new(NoNotifier),
            host_bind: lan.bind,
            host_ports: lan.ports,
            follow_policy: RetryPolicy::default(),
            post_policy: RetryPolicy {
                first_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(5),
                max_attempts: 3,
            },
        }
    }
}

/// What hosting looks like, for the host screen.
#[derive(Debug, Clone, Serialize)]
pub struct HostStatus {
    pub running: bool,
    /// The bound address, e.g. `0.0.0.0:8989`.
    pub bind: Option<String>,
    pub port: Option<u16>,
    /// How this machine reaches it: `http://127.0.0.1:8989/`.
    pub local_url: Option<String>,
    /// The room the links open.
    pub room: RoomName,
    /// One link per LAN address, with its QR code (SVG).
    pub links: Vec<LanLink>,
    /// Whether a password is set (it is in the keychain).
    pub password_set: bool,
    pub start_on_launch: bool,
    /// The nick the host joins its room with.
    pub nick: Option<Nick>,
    /// The saved room of the host's own room, once joined.
    pub room_id: Option<String>,
    /// The Redis hosting uses, without its password; `None`: this app.
    pub redis: Option<String>,
    /// Whether hosting serves HTTPS (saved choice when not running).
    pub https: bool,
    /// The HTTPS certificate's SHA-256 fingerprint, while hosting over
    /// HTTPS: what people pin to join.
    pub fingerprint: Option<String>,
    /// Something went half-wrong (hosting runs, but…), for a person.
    pub warning: Option<String>,
}

/// The app's core. Cheap to clone.
#[derive(Clone)]
pub struct Desktop {
    inner: Arc<Inner>,
}

struct Inner {
    data_dir: PathBuf,
    host_bind: IpAddr,
    host_ports: Vec<u16>,
    settings: Arc<SettingsStore>,
    secrets: Arc<dyn SecretStore>,
    hub: Arc<Hub>,
    rooms: Rooms,
    outbox: Outbox,
    files: Files,
    host: Host,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Desktop {
    /// Loads the settings and the outbox, opens the saved rooms'
    /// connections and starts sending what the outbox holds. Hosting is not
    /// started here (see [`Desktop::start_hosting_if_asked`]).
    pub async fn open(options: DesktopOptions) -> Result<Self, CommandError> {
        let settings = SettingsStore::load(&options.config_dir)?;
        let hub = Arc::new(Hub::new(options.notifier.clone()));
        let wake = Arc::new(Notify::new());
        let rooms = Rooms::new(
            settings.clone(),
            options.secrets.clone(),
            hub.clone(),
            wake.clone(),
            options.follow_policy.clone(),
        );
        let outbox = Outbox::load(
            &options.data_dir,
            rooms.clone(),
            hub.clone(),
            wake,
            options.post_policy.clone(),
        )?;
        let saver = settings.spawn_saver();
        rooms.start().await;
        let worker = outbox.spawn_worker();
        Ok(Self {
            inner: Arc::new(Inner {
                data_dir: options.data_dir,
                host_bind: options.host_bind,
                host_ports: options.host_ports,
                settings,
                secrets: options.secrets,
                hub,
                rooms,
                outbox,
                files: Files::default(),
                host: Host::open(&options.config_dir),
                tasks: Mutex::new(vec![saver, worker]),
            }),
        })
    }

    /// Stops everything: hosting (cleanly), connections, the outbox worker;
    /// saves the settings. What the outbox holds stays on disk.
    pub async fn shutdown(&self) {
        self.inner.rooms.set_hosted_base(None);
        if let Err(e) = self.inner.host.stop().await {
            tracing::warn!(cause = %e, "stopping the host failed");
        }
        self.inner.rooms.stop_all();
        let tasks: Vec<JoinHandle<()>> = self
            .inner
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
            .collect();
        for task in tasks {
            task.abort();
        }
        if let Err(e) = self.inner.settings.save() {
            tracing::warn!(cause = %e, "saving settings failed");
        }
    }

    pub fn rooms(&self) -> &Rooms {
        &self.inner.rooms
    }

    pub fn outbox(&self) -> &Outbox {
        &self.inner.outbox
    }

    /// Images for the webview, downloads.
    pub fn files(&self) -> &Files {
        &self.inner.files
    }

    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// The embedded server (its visibility on the network).
    pub fn host(&self) -> &Host {
        &self.inner.host
    }

    pub fn settings(&self) -> &SettingsStore {
        &self.inner.settings
    }

    /// The hosted server's data dir.
    pub fn server_data_dir(&self) -> PathBuf {
        self.inner.data_dir.join("server")
    }

    // ---- rooms ----

    /// Attaches the UI's sink: every room's events go there from now on,
    /// after a catch-up of each room's connection state, unread count and
    /// presence. Returns the saved rooms.
    pub fn follow_rooms(&self, sink: Arc<dyn EventSink>) -> Vec<RoomView> {
        let rooms = self.inner.rooms.saved();
        let ids: Vec<String> = rooms.iter().map(|r| r.id.clone()).collect();
        self.inner.hub.attach(sink, &ids);
        rooms
    }

    /// Attaches the chat view's sink, following `room_ids`: each gets its
    /// catch-up (see [`Hub::open_view`]). Ids of rooms that are not saved
    /// (forgotten meanwhile) are left out.
    pub fn open_view(&self, sink: Arc<dyn EventSink>, room_ids: &[String]) {
        self.inner.hub.open_view(sink, &self.saved_only(room_ids));
    }

    /// The view follows `room_ids` from now on (see [`Hub::set_view_rooms`]).
    pub fn set_view_rooms(&self, room_ids: &[String]) {
        self.inner.hub.set_view_rooms(&self.saved_only(room_ids));
    }

    fn saved_only(&self, room_ids: &[String]) -> Vec<String> {
        let saved = self.inner.settings.get().rooms;
        room_ids
            .iter()
            .filter(|id| saved.iter().any(|r| &r.id == *id))
            .cloned()
            .collect()
    }

    /// The room the UI shows (`None`: none); marks it read.
    pub fn set_active_room(&self, room_id: Option<&str>) -> Result<(), CommandError> {
        if let Some(id) = room_id {
            self.inner.rooms.saved_room(id)?;
        }
        self.inner.hub.set_active(room_id);
        Ok(())
    }

    /// The main window gained or lost the focus.
    pub fn set_focused(&self, focused: bool) {
        self.inner.hub.set_focused(focused);
    }

    /// Forgets a room: settings, connection, keychain entry and queued
    /// messages.
    pub async fn forget_room(&self, room_id: &str) -> Result<(), CommandError> {
        let dropped = self.inner.outbox.drop_room(room_id);
        self.inner.rooms.forget(room_id).await?;
        dropped
    }

    // ---- hosting ----

    /// Starts hosting (see [`HostStart`]): plans it (inputs, keychain),
    /// starts the server, keeps the choices, then the app's own client
    /// joins the hosted room when a nick is known.
    pub async fn host_start(&self, request: HostStart) -> Result<HostStatus, CommandError> {
        let saved = self.inner.settings.get().host;
        let plan = HostPlan::new(request, saved, &self.inner.secrets).await?;
        let hosting = self.start_server(&plan).await?;
        let mut warnings = plan
            .persist(&self.inner.settings, &self.inner.secrets)
            .await?;

        let local = hosting.local_url();
        self.inner
            .rooms
            .set_hosted_base(Some((local.clone(), hosting.fingerprint)));
        if let Some(nick) = plan.nick.clone() {
            let joined = self
                .inner
                .rooms
                .join_hosted(local, nick, plan.room.clone(), plan.password.as_deref())
                .await;
            match joined {
                Ok(joined) => warnings.extend(joined.warning),
                Err(e) => warnings.push(format!("joining your own room failed: {e}")),
            }
        }
        let mut status = self.host_status().await;
        if !warnings.is_empty() {
            status.warning = Some(format!("Hosting, but {}.", warnings.join("; ")));
        }
        Ok(status)
    }

    /// Starts the embedded server as `plan` says (over HTTPS with the app's
    /// self-signed certificate, made on first use).
    async fn start_server(&self, plan: &HostPlan) -> Result<Hosting, CommandError> {
        let tls = if plan.https {
            Some(host::tls::self_signed(&self.server_data_dir())?)
        } else {
            None
        };
        self.inner
            .host
            .start(HostConfig {
                bind: self.inner.host_bind,
                ports: self.inner.host_ports.clone(),
                data_dir: self.server_data_dir(),
                password: plan.password.clone(),
                name: self.inner.host.visibility().name(),
                redis: plan.redis.clone(),
                tls,
                // The host moderates its own server; its session is
                // protected by the nick password the app keeps.
                admins: plan.nick.iter().map(|n| n.to_string()).collect(),
            })
            .await
    }

    /// Stops hosting: the hosted rooms go offline, the server ends its
    /// streams and closes its port; the history stays.
    pub async fn host_stop(&self) -> Result<HostStatus, CommandError> {
        self.inner.rooms.set_hosted_base(None);
        self.inner.host.stop().await?;
        Ok(self.host_status().await)
    }

    /// Where hosting stands.
    pub async fn host_status(&self) -> HostStatus {
        let saved = self.inner.settings.get();
        let host = saved.host;
        let hosting = self.inner.host.status().await;
        let room_id = host.nick.as_ref().and_then(|nick| {
            saved
                .rooms
                .iter()
                .find(|r| r.hosted && &r.nick == nick && r.room == host.room)
                .map(|r| r.id.clone())
        });
        HostStatus {
            running: hosting.is_some(),
            bind: hosting.map(|h| h.addr.to_string()),
            port: hosting.map(|h| h.addr.port()),
            local_url: hosting.map(|h| h.local_url().to_string()),
            links: hosting
                .map(|h| lan::links(h.addr, &host.room, h.scheme()))
                .unwrap_or_default(),
            room: host.room,
            password_set: hosting.map_or(host.password_set, |h| h.password_set),
            start_on_launch: host.start_on_launch,
            nick: host.nick,
            room_id,
            redis: host.redis,
            https: hosting.map_or(host.https, |h| h.fingerprint.is_some()),
            fingerprint: hosting.and_then(|h| h.fingerprint).map(|f| f.to_string()),
            warning: None,
        }
    }

    /// Saves whether to host when the app starts.
    pub async fn save_host_settings(
        &self,
        start_on_launch: bool,
    ) -> Result<HostStatus, CommandError> {
        self.inner
            .settings
            .update(|s| s.host.start_on_launch = start_on_launch)?;
        Ok(self.host_status().await)
    }

    /// Starts hosting if the settings ask for it at launch.
    pub async fn start_hosting_if_asked(&self) -> Option<Result<HostStatus, CommandError>> {
        if !self.inner.settings.get().host.start_on_launch {
            return None;
        }
        Some(self.host_start(HostStart::default()).await)
    }
}
