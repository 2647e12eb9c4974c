//! "On your network": the Hearth servers other machines advertise on the
//! LAN (mDNS, `hearth_client::discovery`), for the home screen.
//!
//! [`Nearby::start`] browses from the app's start to its end. The list it
//! keeps ([`NearbyList`]) leaves out the app's own hosted room: the hosted
//! server's [`Advertising`] state says under which id it is visible, and
//! that id is the one a browser reports. The webview gets the list now and
//! then every change through one [`Channel`] (`watch_nearby`), each
//! `{event: "found", data: DiscoveredServer}` (a repeated id replaces the
//! entry) or `{event: "lost", data: {id}}`.
//!
//! `HEARTH_MDNS=off` in the app's environment, read once ([`mdns_allowed`]),
//! turns off both browsing and advertising: nothing is sent to the
//! network's multicast group (the window tests set it).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, OnceLock};

use crate::host::visibility::Visibility;
use hearth_client::discovery::{DiscoveredServer, Discovery, DiscoveryEvent};
use hearth_server::mdns::MdnsState;
use serde::Serialize;
use tauri::State;
use tauri::ipc::Channel;

use crate::error::CommandError;

/// The environment variable that turns mDNS off (`off`, `0`, `false`, `no`).
pub const ENV: &str = "HEARTH_MDNS";

/// Whether the app may advertise and browse (`HEARTH_MDNS` is not `off`),
/// read once.
pub fn mdns_allowed() -> bool {
    static ALLOWED: OnceLock<bool> = OnceLock::new();
    *ALLOWED.get_or_init(|| allowed_by(std::env::var(ENV).ok().as_deref()))
}

fn allowed_by(value: Option<&str>) -> bool {
    !matches!(
        value.map(|v| v.trim().to_ascii_lowercase()).as_deref(),
        Some("off" | "0" | "false" | "no")
    )
}

/// What the app's own hosted server is doing on the network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Own {
    /// Not advertised.
    #[default]
    None,
    /// Announcing under this instance name, not yet confirmed: a browser
    /// may hear the announcement before the server says it is visible.
    Starting(String),
    /// Visible under this id (what a browser reports as the server's id).
    Visible(String),
}

/// The servers seen, without the app's own: what the home screen lists.
#[derive(Debug, Default)]
pub struct NearbyList {
    /// Every server seen, by id (the app's own too).
    seen: BTreeMap<String, DiscoveredServer>,
    own: Own,
    /// Ids the hosted server was visible under before (it stopped, or was
    /// switched off): still hidden until the browser hears they are gone,
    /// so a goodbye that arrives after the state changed does not show the
    /// app's own room for a moment.
    retired: BTreeSet<String>,
}

impl NearbyList {
    /// Applies a browser event; returns what the webview should hear (none
    /// for the app's own room).
    pub fn apply(&mut self, event: DiscoveryEvent) -> Option<DiscoveryEvent> {
        match event {
            DiscoveryEvent::Found(server) => {
                let was_shown = self.seen.get(&server.id).map(|s| !self.hidden(s));
                let shown = !self.hidden(&server);
                let id = server.id.clone();
                self.seen.insert(id.clone(), server.clone());
                match (was_shown, shown) {
                    (_, true) => Some(DiscoveryEvent::Found(server)),
                    (Some(true), false) => Some(DiscoveryEvent::Lost { id }),
                    _ => None,
                }
            }
            DiscoveryEvent::Lost { id } => {
                let removed = self.seen.remove(&id);
                let shown = removed.as_ref().is_some_and(|s| !self.hidden(s));
                self.retired.remove(&id);
                shown.then_some(DiscoveryEvent::Lost { id })
            }
        }
    }

    fn hidden(&self, server: &DiscoveredServer) -> bool {
        self.retired.contains(&server.id)
            || match &self.own {
                Own::None => false,
                Own::Starting(name) => &server.name == name,
                Own::Visible(id) => &server.id == id,
            }
    }

    fn shown_ids(&self) -> BTreeSet<String> {
        self.seen
            .values()
            .filter(|s| !self.hidden(s))
            .map(|s| s.id.clone())
            .collect()
    }

    /// The app's hosted server is now `own`: returns the events that take
    /// it off the list (or put back a server that turned out not to be
    /// it). An id it was visible under stays hidden until it is lost.
    pub fn set_own(&mut self, own: Own) -> Vec<DiscoveryEvent> {
        if own == self.own {
            return Vec::new();
        }
        let before = self.shown_ids();
        match (&self.own, &own) {
            (Own::Visible(id), _) => {
                self.retired.insert(id.clone());
            }
            // Stopped or switched off while announcing: what was heard of
            // it is the app's own. (Visible under another name: the one it
            // tried is someone else's.)
            (Own::Starting(name), Own::None) => {
                let heard: Vec<String> = self
                    .seen
                    .values()
                    .filter(|s| &s.name == name)
                    .map(|s| s.id.clone())
                    .collect();
                self.retired.extend(heard);
            }
            _ => {}
        }
        if let Own::Visible(id) = &own {
            self.retired.remove(id);
        }
        self.own = own;
        let after = self.shown_ids();
        let lost = before
            .difference(&after)
            .map(|id| DiscoveryEvent::Lost { id: id.clone() });
        let found = after
            .difference(&before)
            .map(|id| DiscoveryEvent::Found(self.seen[id].clone()));
        lost.chain(found).collect()
    }

    /// The list as it stands, by name.
    pub fn servers(&self) -> Vec<DiscoveredServer> {
        let mut list: Vec<DiscoveredServer> = self
            .seen
            .values()
            .filter(|s| !self.hidden(s))
            .cloned()
            .collect();
        list.sort_by_key(|s| s.name.to_lowercase());
        list
    }
}

/// The instance name a server named `name` announces (as
/// `hearth_server::mdns` cuts it).
fn instance_name(name: &str) -> String {
    hearth_server::mdns::Advertisement {
        name: name.to_owned(),
        bound: std::net::SocketAddr::from(([0, 0, 0, 0], 0)),
        password: false,
        fingerprint: None,
        room: String::new(),
    }
    .instance_name()
}

/// Whether the app is looking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Browsing {
    /// Looking for rooms on the network.
    On,
    /// `HEARTH_MDNS=off`.
    Off,
    /// Browsing could not start (a sentence for a person).
    Failed { reason: String },
}

/// What `watch_nearby` and `nearby_servers` answer.
#[derive(Debug, Clone, Serialize)]
pub struct NearbyStatus {
    pub browsing: Browsing,
    /// The servers seen now (without the app's own), by name.
    pub servers: Vec<DiscoveredServer>,
}

type Sink = Box<dyn Fn(DiscoveryEvent) -> bool + Send + Sync>;

struct Shared {
    list: NearbyList,
    /// The webview's channel; `false` from it means it closed.
    sink: Option<Sink>,
}

impl Shared {
    fn send(&mut self, events: impl IntoIterator<Item = DiscoveryEvent>) {
        for event in events {
            if let Some(sink) = &self.sink
                && !sink(event)
            {
                self.sink = None;
            }
        }
    }
}

/// Browsing for the app's life. Tauri manages one; cheap to clone.
#[derive(Clone)]
pub struct Nearby {
    shared: Arc<Mutex<Shared>>,
    browsing: Browsing,
    discovery: Arc<Mutex<Option<Discovery>>>,
}

impl Nearby {
    /// Starts browsing (unless `HEARTH_MDNS=off`) on Tauri's async
    /// runtime, leaving out the server the app hosts (`own`: its
    /// advertisement and name).
    pub fn start(own: &Visibility) -> Self {
        let browsing = if mdns_allowed() {
            match Discovery::start() {
                Ok(pair) => Ok(pair),
                Err(e) => Err(Browsing::Failed {
                    reason: e.to_string(),
                }),
            }
        } else {
            Err(Browsing::Off)
        };
        let nearby = Self {
            shared: Arc::new(Mutex::new(Shared {
                list: NearbyList::default(),
                sink: None,
            })),
            browsing: match &browsing {
                Ok(_) => Browsing::On,
                Err(state) => state.clone(),
            },
            discovery: Arc::new(Mutex::new(None)),
        };
        if let Err(Browsing::Failed { reason }) = &browsing {
            tracing::warn!(cause = %reason, "not looking for rooms on the network");
        }
        let Ok((discovery, mut events)) = browsing else {
            return nearby;
        };
        *nearby.discovery.lock().unwrap_or_else(|p| p.into_inner()) = Some(discovery);
        let shared = nearby.shared.clone();
        tauri::async_runtime::spawn(async move {
            while let Some(event) = events.recv().await {
                let mut shared = shared.lock().unwrap_or_else(|p| p.into_inner());
                let out = shared.list.apply(event);
                shared.send(out);
            }
        });
        let shared = nearby.shared.clone();
        let name = own.name_source();
        let mut own = own.advertising().watch();
        tauri::async_runtime::spawn(async move {
            loop {
                let now = match &*own.borrow_and_update() {
                    MdnsState::Visible { id, .. } => Own::Visible(id.clone()),
                    MdnsState::Starting => Own::Starting(instance_name(&name())),
                    _ => Own::None,
                };
                {
                    let mut shared = shared.lock().unwrap_or_else(|p| p.into_inner());
                    let events = shared.list.set_own(now);
                    shared.send(events);
                }
                if own.changed().await.is_err() {
                    break;
                }
            }
        });
        nearby
    }

    /// The list now, and whether the app is looking.
    pub fn status(&self) -> NearbyStatus {
        let shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        NearbyStatus {
            browsing: self.browsing.clone(),
            servers: shared.list.servers(),
        }
    }

    /// Sends every later change to `sink` (replacing an earlier one) and
    /// returns the list now: nothing is missed or told twice between them.
    pub fn watch(&self, sink: Sink) -> NearbyStatus {
        let mut shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        shared.sink = Some(sink);
        NearbyStatus {
            browsing: self.browsing.clone(),
            servers: shared.list.servers(),
        }
    }

    /// Asks the server `id` to answer now; one that does not is lost
    /// within seconds (a joining attempt that failed).
    pub fn recheck(&self, id: &str) -> Result<(), CommandError> {
        match &*self.discovery.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(discovery) => discovery
                .recheck(id)
                .map_err(|e| CommandError::Host(e.to_string())),
            None => Ok(()),
        }
    }

    /// Stops browsing (the app quits).
    pub fn stop(&self) {
        if let Some(discovery) = self
            .discovery
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            discovery.stop();
        }
    }
}

// ---- commands ----

/// `invoke('watch_nearby', {onEvent: new Channel()})`: the list now
/// (`{browsing: {state}, servers}`), then every change on the channel.
#[tauri::command]
pub fn watch_nearby(nearby: State<'_, Nearby>, on_event: Channel<DiscoveryEvent>) -> NearbyStatus {
    nearby.watch(Box::new(move |event| on_event.send(event).is_ok()))
}

/// `invoke('nearby_servers')`: the list now.
#[tauri::command]
pub fn nearby_servers(nearby: State<'_, Nearby>) -> NearbyStatus {
    nearby.status()
}

/// `invoke('recheck_nearby', {id})`: a listed server that did not answer
/// is asked again, and dropped from the list if it stays silent.
#[tauri::command]
pub fn recheck_nearby(nearby: State<'_, Nearby>, id: String) -> Result<(), CommandError> {
    nearby.recheck(&id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(id: &str, name: &str) -> DiscoveredServer {
        DiscoveredServer {
            id: format!("{id}._hearth._tcp.local."),
            name: name.to_owned(),
            url: "http://192.168.1.4:8989/".to_owned(),
            port: 8989,
            auth_required: false,
            tls: false,
            fingerprint: None,
            room: "general".to_owned(),
            version: "1.1".to_owned(),
        }
    }

    fn lost(id: &str) -> DiscoveryEvent {
        DiscoveryEvent::Lost {
            id: format!("{id}._hearth._tcp.local."),
        }
    }

    #[test]
    fn hearth_mdns_off_turns_it_off() {
        assert!(allowed_by(None));
        assert!(allowed_by(Some("on")));
        for off in ["off", "OFF", " 0 ", "false", "no"] {
            assert!(!allowed_by(Some(off)), "{off}");
        }
    }

    #[test]
    fn the_list_is_sorted_by_name_and_a_repeated_id_replaces_its_entry() {
        let mut list = NearbyList::default();
        assert!(
            list.apply(DiscoveryEvent::Found(server("b", "bo's room")))
                .is_some()
        );
        assert!(
            list.apply(DiscoveryEvent::Found(server("a", "Ana's room")))
                .is_some()
        );
        let mut moved = server("b", "bo's room");
        moved.url = "http://192.168.1.9:8989/".to_owned();
        let out = list.apply(DiscoveryEvent::Found(moved.clone()));
        assert_eq!(out, Some(DiscoveryEvent::Found(moved.clone())));
        let names: Vec<_> = list.servers().into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["Ana's room", "bo's room"]);
        assert_eq!(list.servers()[1].url, moved.url);

        assert_eq!(list.apply(lost("a")), Some(lost("a")));
        // A server lost twice (or never seen) is told once.
        assert_eq!(list.apply(lost("a")), None);
        assert_eq!(list.servers().len(), 1);
    }

    #[test]
    fn the_apps_own_room_is_never_listed() {
        let mut list = NearbyList::default();
        let own = server("mine", "my room");
        let visible = || Own::Visible(own.id.clone());
        list.apply(DiscoveryEvent::Found(server("other", "theirs")));

        // Heard while the host is still announcing: held back by its name;
        // then the host says which id it is.
        assert!(list.set_own(Own::Starting("my room".into())).is_empty());
        assert_eq!(list.apply(DiscoveryEvent::Found(own.clone())), None);
        assert!(list.set_own(visible()).is_empty());
        assert_eq!(list.servers().len(), 1);

        // Hosting stops: its goodbye may reach the browser after the state
        // changed; the room stays hidden until then, and is not told twice.
        assert!(list.set_own(Own::None).is_empty());
        assert_eq!(list.apply(DiscoveryEvent::Found(own.clone())), None);
        assert_eq!(list.servers().len(), 1);
        assert_eq!(list.apply(lost("mine")), None);
        // Gone, then seen again while not hosting: someone else's now.
        assert!(list.apply(DiscoveryEvent::Found(own.clone())).is_some());
        assert_eq!(list.servers().len(), 2);
        // Seen before the host said which id it is: taken away.
        assert_eq!(list.set_own(visible()), vec![lost("mine")]);
        assert_eq!(list.servers().len(), 1);
        assert!(list.set_own(visible()).is_empty());

        // Stopped while announcing: what was heard under its name stays
        // hidden until it is lost.
        let mut list = NearbyList::default();
        list.set_own(Own::Starting("my room".into()));
        assert_eq!(list.apply(DiscoveryEvent::Found(own.clone())), None);
        assert!(list.set_own(Own::None).is_empty());
        assert!(list.servers().is_empty());
        assert_eq!(list.apply(lost("mine")), None);
    }

    #[test]
    fn a_stranger_with_the_name_the_host_tried_is_listed_once_the_host_is_renamed() {
        let mut list = NearbyList::default();
        let stranger = server("my room", "my room");
        list.apply(DiscoveryEvent::Found(stranger.clone()));
        // While announcing, the same name is taken for the app's own.
        assert_eq!(
            list.set_own(Own::Starting("my room".into())),
            vec![lost("my room")]
        );
        // mDNS renamed the host's server: the first one was a stranger.
        let renamed = server("my room (2)", "my room (2)");
        assert_eq!(
            list.apply(DiscoveryEvent::Found(renamed.clone())),
            Some(DiscoveryEvent::Found(renamed.clone()))
        );
        assert_eq!(
            list.set_own(Own::Visible(renamed.id.clone())),
            vec![lost("my room (2)"), DiscoveryEvent::Found(stranger)]
        );
        let names: Vec<_> = list.servers().into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["my room"]);
    }

    #[test]
    fn instance_names_are_cut_as_the_server_cuts_them() {
        assert_eq!(instance_name(" ana's room "), "ana's room");
        assert_eq!(instance_name("").as_str(), "Hearth");
        assert_eq!(instance_name(&"é".repeat(40)).len(), 62);
    }
}
