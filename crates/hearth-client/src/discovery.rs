//! Finding rooms on the LAN: browses DNS-SD `_hearth._tcp` over multicast
//! DNS (`PROTOCOL`, "Finding rooms on the LAN") and keeps a live list of the
//! servers it sees.
//!
//! [`Discovery::start`] returns a handle and a channel of
//! [`DiscoveryEvent`]s: [`DiscoveryEvent::Found`] when a server appears or
//! what it advertises changes (a better address arrived, its TXT changed),
//! [`DiscoveryEvent::Lost`] when it says goodbye or its records expire.
//! [`Discovery::servers`] is the list as it stands, for a window that opens
//! late. The browsing runs on `mdns-sd`'s own thread plus one thread of
//! ours, so the handle works with or without an async runtime.
//!
//! Addresses of one instance are merged as they arrive: the join URL
//! prefers an IPv4 address, then an IPv6 one that is not link-local (in
//! brackets), and never a link-local IPv6 address (it needs a scope a URL
//! cannot carry well). An instance with no usable address is not reported
//! until one arrives. TXT is read defensively: a record without `v` is not a
//! Hearth server and is ignored; an unknown `auth` counts as a password
//! (the join form asks for one); a fingerprint that does not parse is
//! dropped, so the person must confirm one by hand.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use hearth_proto::{CertFingerprint, RoomName};
use mdns_sd::{ServiceDaemon, ServiceEvent};
use tokio::sync::mpsc;

/// The DNS-SD service type of a Hearth server.
pub const SERVICE_TYPE: &str = "_hearth._tcp.local.";

/// How long [`Discovery::recheck`] waits for an answer (`mdns-sd`'s default).
pub const RECHECK_TIMEOUT: std::time::Duration = mdns_sd::VERIFY_TIMEOUT_DEFAULT;

/// Events the channel holds before the browser waits for the reader.
const EVENT_QUEUE: usize = 64;

/// A server seen on the network.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DiscoveredServer {
    /// The instance's DNS-SD full name (`Ana's room._hearth._tcp.local.`):
    /// stable while the server runs, the key of [`DiscoveryEvent::Lost`].
    pub id: String,
    /// The server's name (the instance name).
    pub name: String,
    /// Where to join: `http://192.168.1.4:8989/` or `https://[2001:db8::4]:8989/`.
    pub url: String,
    pub port: u16,
    /// `auth=password` (or an unknown value): the join form needs a password.
    pub auth_required: bool,
    /// `tls=1`: the URL is `https`.
    pub tls: bool,
    /// The certificate fingerprint the server advertises (`fp`), shown as
    /// `AB:CD:…`. Show it for the person to compare with the host's screen;
    /// never pin it without asking.
    pub fingerprint: Option<CertFingerprint>,
    /// The room a joiner lands in (`room`; `general` when absent or invalid).
    pub room: String,
    /// The protocol version it speaks (`v`, e.g. `1.1`).
    pub version: String,
}

/// A change in what is on the network.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum DiscoveryEvent {
    /// A server appeared, or what it advertises changed (same `id`: replace).
    Found(DiscoveredServer),
    /// The server with this `id` is gone.
    Lost { id: String },
}

/// Why browsing could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot look for rooms on the network: {0}")]
pub struct DiscoveryError(String);

/// Browsing while it lives; dropping it stops browsing.
pub struct Discovery {
    daemon: ServiceDaemon,
    servers: Arc<Mutex<BTreeMap<String, DiscoveredServer>>>,
}

impl Discovery {
    /// Starts browsing. Events arrive on the receiver until the handle is
    /// dropped (or stopped); dropping the receiver stops browsing too.
    pub fn start() -> Result<(Discovery, mpsc::Receiver<DiscoveryEvent>), DiscoveryError> {
        let daemon = ServiceDaemon::new().map_err(|e| DiscoveryError(e.to_string()))?;
        let browse = daemon
            .browse(SERVICE_TYPE)
            .map_err(|e| DiscoveryError(e.to_string()))?;
        let (tx, rx) = mpsc::channel(EVENT_QUEUE);
        let servers = Arc::new(Mutex::new(BTreeMap::new()));
        let list = servers.clone();
        std::thread::Builder::new()
            .name("hearth-discovery".to_owned())
            .spawn(move || {
                let mut merger = Merger::default();
                while let Ok(event) = browse.recv() {
                    let Some(out) = merger.apply(event) else {
                        continue;
                    };
                    {
                        let mut list = list.lock().unwrap_or_else(|e| e.into_inner());
                        match &out {
                            DiscoveryEvent::Found(server) => {
                                list.insert(server.id.clone(), server.clone());
                            }
                            DiscoveryEvent::Lost { id } => {
                                list.remove(id);
                            }
                        }
                    }
                    if tx.blocking_send(out).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| DiscoveryError(e.to_string()))?;
        Ok((Discovery { daemon, servers }, rx))
    }

    /// The servers seen now, by id.
    pub fn servers(&self) -> Vec<DiscoveredServer> {
        let list = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        list.values().cloned().collect()
    }

    /// Asks the server `id` to answer now (RFC 6762 §10.4): if it does not
    /// within [`RECHECK_TIMEOUT`], its records are flushed and
    /// [`DiscoveryEvent::Lost`] follows. For a server that crashed without
    /// a goodbye (its records would otherwise last until their TTL, about
    /// 2 minutes): call it when joining a listed server fails.
    pub fn recheck(&self, id: &str) -> Result<(), DiscoveryError> {
        self.daemon
            .verify(id.to_owned(), RECHECK_TIMEOUT)
            .map_err(|e| DiscoveryError(e.to_string()))
    }

    /// Stops browsing (as dropping does).
    pub fn stop(self) {}
}

impl Drop for Discovery {
    fn drop(&mut self) {
        // The browse channel closes with the daemon, which ends our thread.
        let _ = self.daemon.shutdown();
    }
}

/// What one instance has told us so far.
#[derive(Default)]
struct Seen {
    addresses: HashSet<IpAddr>,
    reported: Option<DiscoveredServer>,
}

/// Merges `mdns-sd`'s events per instance into [`DiscoveryEvent`]s.
#[derive(Default)]
struct Merger {
    instances: BTreeMap<String, Seen>,
}

impl Merger {
    fn apply(&mut self, event: ServiceEvent) -> Option<DiscoveryEvent> {
        match event {
            ServiceEvent::ServiceResolved(resolved) => {
                let id = resolved.get_fullname().to_owned();
                let seen = self.instances.entry(id.clone()).or_default();
                seen.addresses.extend(
                    resolved
                        .get_addresses()
                        .iter()
                        .map(|scoped| scoped.to_ip_addr()),
                );
                let txt = |key: &str| resolved.get_property_val_str(key).map(str::to_owned);
                let server = describe(
                    &id,
                    resolved.get_port(),
                    &seen.addresses,
                    &Txt {
                        v: txt("v"),
                        room: txt("room"),
                        auth: txt("auth"),
                        tls: txt("tls"),
                        fp: txt("fp"),
                    },
                );
                match server {
                    Some(server) if seen.reported.as_ref() != Some(&server) => {
                        seen.reported = Some(server.clone());
                        Some(DiscoveryEvent::Found(server))
                    }
                    Some(_) => None,
                    None => {
                        // No longer a usable server (TXT became malformed).
                        seen.reported.take().map(|_| DiscoveryEvent::Lost { id })
                    }
                }
            }
            ServiceEvent::ServiceRemoved(_, id) => {
                let seen = self.instances.remove(&id)?;
                seen.reported.map(|_| DiscoveryEvent::Lost { id })
            }
            _ => None,
        }
    }
}

/// The TXT values a server advertises (each may be missing).
#[derive(Debug, Default)]
struct Txt {
    v: Option<String>,
    room: Option<String>,
    auth: Option<String>,
    tls: Option<String>,
    fp: Option<String>,
}

/// A server from its instance name, port, addresses and TXT; `None` when it
/// is not a usable Hearth server (no `v`, no usable address).
fn describe(
    id: &str,
    port: u16,
    addresses: &HashSet<IpAddr>,
    txt: &Txt,
) -> Option<DiscoveredServer> {
    let version = txt.v.as_deref()?.trim();
    if version.is_empty() || port == 0 {
        return None;
    }
    let ip = best_address(addresses)?;
    let tls = txt.tls.as_deref().map(str::trim) == Some("1");
    let scheme = if tls { "https" } else { "http" };
    let host = match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    let room = txt
        .room
        .as_deref()
        .and_then(|r| RoomName::parse(r.trim()).ok())
        .map(|r| r.as_str().to_owned())
        .unwrap_or_else(|| hearth_proto::DEFAULT_ROOM.to_owned());
    Some(DiscoveredServer {
        id: id.to_owned(),
        name: instance_name(id),
        url: format!("{scheme}://{host}:{port}/"),
        port,
        auth_required: txt.auth.as_deref().map(str::trim) != Some("none"),
        tls,
        fingerprint: if tls {
            txt.fp.as_deref().and_then(|fp| fp.parse().ok())
        } else {
            None
        },
        room,
        version: version.chars().take(16).collect(),
    })
}

/// The address to join at: IPv4 (a LAN address before a link-local one,
/// both before loopback), then IPv6 that is not link-local (global or ULA
/// before loopback); the smallest of a kind, so the choice is stable.
fn best_address(addresses: &HashSet<IpAddr>) -> Option<IpAddr> {
    fn rank(ip: &IpAddr) -> Option<u8> {
        match ip {
            IpAddr::V4(v4) if v4.is_unspecified() || v4.is_multicast() => None,
            IpAddr::V4(v4) if v4.is_loopback() => Some(2),
            IpAddr::V4(v4) if v4.is_link_local() => Some(1),
            IpAddr::V4(_) => Some(0),
            IpAddr::V6(v6) if v6.is_unspecified() || v6.is_multicast() => None,
            IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => None,
            IpAddr::V6(v6) if v6.is_loopback() => Some(4),
            IpAddr::V6(_) => Some(3),
        }
    }
    addresses
        .iter()
        .filter_map(|ip| rank(ip).map(|r| (r, *ip)))
        .min()
        .map(|(_, ip)| ip)
}

/// The instance part of a full name (`Ana's room._hearth._tcp.local.` →
/// `Ana's room`). Received names are not escaped: a dot in the instance
/// name arrives as a dot.
fn instance_name(fullname: &str) -> String {
    let lower = fullname.to_ascii_lowercase();
    let end = lower
        .rfind(&format!(".{SERVICE_TYPE}"))
        .unwrap_or(fullname.len());
    fullname[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(list: &[&str]) -> HashSet<IpAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    fn txt() -> Txt {
        Txt {
            v: Some("1.1".into()),
            room: Some("general".into()),
            auth: Some("none".into()),
            tls: Some("0".into()),
            fp: None,
        }
    }

    const ID: &str = "Ana's room on attic._hearth._tcp.local.";

    #[test]
    fn ipv4_is_preferred_and_link_local_ipv6_never_used() {
        let only_link_local = addrs(&["fe80::1"]);
        assert_eq!(describe(ID, 8989, &only_link_local, &txt()), None);
        let v6 = addrs(&["fe80::1", "fd00::4"]);
        assert_eq!(
            describe(ID, 8989, &v6, &txt()).unwrap().url,
            "http://[fd00::4]:8989/"
        );
        let both = addrs(&["fe80::1", "fd00::4", "127.0.0.1", "192.168.1.4"]);
        let server = describe(ID, 8989, &both, &txt()).unwrap();
        assert_eq!(server.url, "http://192.168.1.4:8989/");
        assert_eq!(server.name, "Ana's room on attic");
        assert!(!server.auth_required);
        assert_eq!(server.room, "general");
        assert_eq!(server.version, "1.1");
    }

    #[test]
    fn tls_gives_https_and_a_parsed_fingerprint() {
        let fp = CertFingerprint::of_der(b"cert");
        let hex: String = fp.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let mut t = txt();
        t.tls = Some("1".into());
        t.auth = Some("password".into());
        t.fp = Some(hex);
        let server = describe(ID, 8443, &addrs(&["10.0.0.2"]), &t).unwrap();
        assert_eq!(server.url, "https://10.0.0.2:8443/");
        assert!(server.tls && server.auth_required);
        assert_eq!(server.fingerprint, Some(fp));
    }

    #[test]
    fn malformed_txt_is_ignored_safely() {
        let a = addrs(&["10.0.0.2"]);
        let mut t = txt();
        t.v = None;
        assert_eq!(describe(ID, 8989, &a, &t), None, "no v: not Hearth");
        let t = Txt {
            v: Some("1.1".into()),
            room: Some("../../etc".into()),
            auth: Some("weird".into()),
            tls: Some("yes please".into()),
            fp: Some("zz".into()),
        };
        let server = describe(ID, 8989, &a, &t).unwrap();
        assert_eq!(server.room, "general");
        assert!(server.auth_required, "unknown auth asks for a password");
        assert!(!server.tls);
        assert_eq!(server.fingerprint, None);
        let mut t = txt();
        t.tls = Some("1".into());
        t.fp = Some("not hex".into());
        assert_eq!(describe(ID, 8989, &a, &t).unwrap().fingerprint, None);
    }

    #[test]
    fn events_serialize_for_the_app() {
        let server = describe(ID, 8989, &addrs(&["10.0.0.2"]), &txt()).unwrap();
        let json = serde_json::to_value(DiscoveryEvent::Found(server)).unwrap();
        assert_eq!(json["event"], "found");
        assert_eq!(json["data"]["url"], "http://10.0.0.2:8989/");
        assert_eq!(json["data"]["auth_required"], false);
        let lost = serde_json::to_value(DiscoveryEvent::Lost { id: ID.into() }).unwrap();
        assert_eq!(
            lost,
            serde_json::json!({"event": "lost", "data": {"id": ID}})
        );
    }

    #[test]
    fn instance_names_keep_their_dots() {
        assert_eq!(instance_name("a.b._hearth._tcp.local."), "a.b");
    }
}
