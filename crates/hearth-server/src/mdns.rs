//! Finding rooms on the LAN: a running server advertises itself with DNS-SD
//! over multicast DNS (`PROTOCOL`, "Finding rooms on the LAN").
//!
//! [`crate::run`] starts [`advertise`] for every server; it advertises
//! `_hearth._tcp.local.` with the server's `name` as the instance name, the
//! bound port and the TXT records `v`, `room`, `auth`, `tls` and `fp` (the
//! certificate's SHA-256 fingerprint, 64 lowercase hex digits, when
//! `tls=1`). It does so only when the server is bound to an address others
//! can reach (not loopback; `0.0.0.0` and `::` count as reachable) and
//! [`Config::mdns`](crate::Config::mdns) is on. On stop it sends the
//! goodbye (TTL 0) and waits, a bounded time, for it to leave.
//!
//! The work is `mdns-sd`'s: a daemon on its own thread, no async runtime.
//! For a wildcard bind the advertisement uses `enable_addr_auto`, and the
//! daemon re-reads the machine's interfaces every
//! [`mdns_sd::IP_CHECK_INTERVAL_IN_SECS_DEFAULT`] seconds (5): a laptop that
//! joins Wi-Fi is announced there within that time, with no code of ours.
//!
//! [`Advertising`] is the handle an embedding app keeps (a clone of
//! [`Config::advertising`](crate::Config::advertising)): it tells the
//! current [`MdnsState`] (and watches it), and switches advertising on and
//! off while the server runs.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hearth_proto::CertFingerprint;
use mdns_sd::{DaemonEvent, IfKind, ServiceDaemon, ServiceInfo, UnregisterStatus};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The DNS-SD service type of a Hearth server.
pub const SERVICE_TYPE: &str = "_hearth._tcp.local.";

/// How long the first announcement may take (probing is ~750 ms) before the
/// state says why the server is not visible. Later announcements (an
/// interface that comes up) still make it visible.
const FIRST_ANNOUNCE: Duration = Duration::from_secs(5);
/// How long a stop waits for the goodbye to be sent.
const GOODBYE_TIMEOUT: Duration = Duration::from_secs(1);
/// `mdns-sd` repeats a goodbye 120 ms after the first; wait for it.
const GOODBYE_REPEAT: Duration = Duration::from_millis(200);
/// A DNS label is at most 63 bytes; the instance name is one label.
const MAX_INSTANCE_BYTES: usize = 63;

/// Whether the server is visible on the network, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum MdnsState {
    /// The server does not run (not started yet, or stopped).
    Stopped,
    /// Advertising is off (`--mdns off`, or switched off).
    Off,
    /// The server listens on a loopback address only: nobody else could
    /// join, so nothing is advertised.
    Loopback,
    /// Registered; the first announcement has not left yet.
    Starting,
    /// Announced under this instance name (another server with the same
    /// name makes mDNS rename it: `name (2)`). `id` is the full name a
    /// browser reports (`hearth_client`'s `DiscoveredServer::id`), so an app
    /// can tell its own room from the others in its list. `lan`: announced
    /// on a network interface others share; `false`: on loopback only (no
    /// network yet), so only this machine sees it.
    Visible { name: String, id: String, lan: bool },
    /// Not visible, for this reason (a sentence for a person).
    Failed { reason: String },
}

/// The advertising switch and its state, shared between the running server
/// and whoever embeds it. Cheap to clone; clones share the state.
#[derive(Debug, Clone)]
pub struct Advertising {
    state: Arc<watch::Sender<MdnsState>>,
    enabled: Arc<watch::Sender<bool>>,
}

impl Default for Advertising {
    fn default() -> Self {
        Self {
            state: Arc::new(watch::Sender::new(MdnsState::Stopped)),
            enabled: Arc::new(watch::Sender::new(true)),
        }
    }
}

impl Advertising {
    /// The state now.
    pub fn state(&self) -> MdnsState {
        self.state.borrow().clone()
    }

    /// Follows the state: `changed().await` wakes on every change.
    pub fn watch(&self) -> watch::Receiver<MdnsState> {
        self.state.subscribe()
    }

    /// Whether advertising is switched on (it may still be `Loopback` or
    /// `Failed`).
    pub fn is_enabled(&self) -> bool {
        *self.enabled.borrow()
    }

    /// Switches advertising on or off. While the server runs this takes
    /// effect at once (off sends the goodbye); [`crate::run`] sets it from
    /// `Config::mdns` when it starts.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.send_replace(on);
    }

    fn set_state(&self, state: MdnsState) {
        self.state.send_if_modified(|now| {
            let changed = *now != state;
            *now = state;
            changed
        });
    }
}

/// What the advertisement says about a server.
#[derive(Debug, Clone)]
pub struct Advertisement {
    /// The instance name (the server's `name`).
    pub name: String,
    /// Where it listens.
    pub bound: SocketAddr,
    pub password: bool,
    /// The certificate's fingerprint when it serves HTTPS.
    pub fingerprint: Option<CertFingerprint>,
    /// The room a joiner lands in.
    pub room: String,
}

impl Advertisement {
    /// The TXT records, in the protocol's order.
    pub fn txt(&self) -> Vec<(&'static str, String)> {
        let mut txt = vec![
            ("v", hearth_proto::PROTOCOL_VERSION.to_owned()),
            ("room", self.room.clone()),
            (
                "auth",
                if self.password { "password" } else { "none" }.to_owned(),
            ),
            (
                "tls",
                if self.fingerprint.is_some() { "1" } else { "0" }.to_owned(),
            ),
        ];
        if let Some(fp) = &self.fingerprint {
            let hex: String = fp.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
            txt.push(("fp", hex));
        }
        txt
    }

    /// The instance name as advertised: one DNS label, cut to 63 bytes at a
    /// character boundary.
    pub fn instance_name(&self) -> String {
        let name = self.name.trim();
        let name = if name.is_empty() { "Hearth" } else { name };
        let mut end = name.len().min(MAX_INSTANCE_BYTES);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name[..end].to_owned()
    }

    fn service_info(&self) -> Result<ServiceInfo, mdns_sd::Error> {
        let host = format!("{}.local.", host_label());
        let ip = self.bound.ip();
        let info = if ip.is_unspecified() {
            let mut info = ServiceInfo::new(
                SERVICE_TYPE,
                &self.instance_name(),
                &host,
                (),
                self.bound.port(),
                self.txt().as_slice(),
            )?
            .enable_addr_auto();
            if ip.is_ipv4() {
                // 0.0.0.0 does not answer on IPv6: advertise IPv4 only.
                info.set_interfaces(vec![IfKind::IPv4]);
            }
            info
        } else {
            let mut info = ServiceInfo::new(
                SERVICE_TYPE,
                &self.instance_name(),
                &host,
                ip,
                self.bound.port(),
                self.txt().as_slice(),
            )?;
            info.set_interfaces(vec![IfKind::Addr(ip)]);
            info
        };
        Ok(info)
    }
}

/// This machine's name as a DNS label (letters, digits and `-`).
fn host_label() -> String {
    let raw = gethostname::gethostname().to_string_lossy().into_owned();
    let first = raw.split('.').next().unwrap_or_default();
    let label: String = first
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(MAX_INSTANCE_BYTES)
        .collect();
    let label = label.trim_matches('-');
    if label.is_empty() {
        "hearth".to_owned()
    } else {
        label.to_owned()
    }
}

/// Whether others could reach a server bound to `ip`.
pub fn reachable_from_the_network(ip: IpAddr) -> bool {
    !ip.is_loopback()
}

/// Advertises the server until `shutdown` is cancelled, following the
/// switch of `advertising`; then withdraws the advertisement (bounded) and
/// sets the state to `Stopped`. Spawned by [`crate::run`], which waits for
/// it before returning.
pub async fn advertise(ad: Advertisement, advertising: Advertising, shutdown: CancellationToken) {
    let mut enabled = advertising.enabled.subscribe();
    loop {
        if shutdown.is_cancelled() {
            break;
        }
        let on = *enabled.borrow_and_update();
        if !on {
            tracing::info!("not advertised on the network: mDNS is off");
            advertising.set_state(MdnsState::Off);
        } else if !reachable_from_the_network(ad.bound.ip()) {
            tracing::info!(bind = %ad.bound, "not advertised on the network: listening on loopback only");
            advertising.set_state(MdnsState::Loopback);
        } else {
            advertise_while_on(&ad, &advertising, &mut enabled, &shutdown).await;
            continue;
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            changed = enabled.changed() => if changed.is_err() { shutdown.cancelled().await; break },
        }
    }
    advertising.set_state(MdnsState::Stopped);
}

/// One advertisement: from register until switched off or shut down, then
/// the goodbye.
async fn advertise_while_on(
    ad: &Advertisement,
    advertising: &Advertising,
    enabled: &mut watch::Receiver<bool>,
    shutdown: &CancellationToken,
) {
    advertising.set_state(MdnsState::Starting);
    let started = match start(ad) {
        Ok(started) => started,
        Err(reason) => {
            tracing::warn!(%reason, "not visible on your network");
            advertising.set_state(MdnsState::Failed { reason });
            // Wait for the switch or the stop; the loop decides again.
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = enabled.changed() => {}
            }
            return;
        }
    };
    let (daemon, mut fullname, monitor) = started;
    let mut name = ad.instance_name();
    let first = tokio::time::sleep(FIRST_ANNOUNCE);
    tokio::pin!(first);
    // None until the first announcement; then whether one left on a LAN.
    let mut lan: Option<bool> = None;
    let mut waiting_first = true;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            changed = enabled.changed() => {
                if changed.is_err() || !*enabled.borrow() {
                    break;
                }
            }
            _ = &mut first, if waiting_first => {
                waiting_first = false;
                if lan.is_none() {
                    let reason = "no network interface sent the announcement (multicast may be blocked, or there is no network)".to_owned();
                    tracing::warn!(%reason, "not visible on your network yet");
                    advertising.set_state(MdnsState::Failed { reason });
                }
            }
            event = monitor.recv_async() => match event {
                Ok(DaemonEvent::Announce(announced, on)) => {
                    if announced.eq_ignore_ascii_case(&fullname) {
                        let interface = on.rsplit_once(':').map_or(on.as_str(), |(_, i)| i);
                        let here = !is_loopback_interface(interface);
                        match (lan, here) {
                            (Some(true), _) | (Some(false), false) => {
                                tracing::debug!(%interface, "announced again");
                            }
                            (_, true) => tracing::info!(%interface, "visible on your network as {name}"),
                            (None, false) => tracing::info!(
                                %interface,
                                "visible on this machine only (no network yet) as {name}"
                            ),
                        }
                        let now = lan.unwrap_or(false) || here;
                        lan = Some(now);
                        advertising.set_state(visible_as(&name, now));
                    }
                }
                Ok(DaemonEvent::NameChange(change)) => {
                    if change.original.eq_ignore_ascii_case(&fullname) {
                        fullname = change.new_name.clone();
                        name = instance_of(&fullname);
                        tracing::info!("another server on the network has this name: now visible as {name}");
                        if let Some(lan) = lan {
                            advertising.set_state(visible_as(&name, lan));
                        }
                    }
                }
                Ok(DaemonEvent::Error(e)) => {
                    tracing::warn!(cause = %e, "mDNS error");
                    if lan.is_none() {
                        advertising.set_state(MdnsState::Failed { reason: e.to_string() });
                    }
                }
                Ok(other) => tracing::trace!(event = ?other, "mDNS"),
                Err(_) => {
                    let reason = "the mDNS daemon stopped".to_owned();
                    tracing::warn!(%reason, "not visible on your network");
                    advertising.set_state(MdnsState::Failed { reason });
                    shutdown.cancelled().await;
                    break;
                }
            }
        }
    }
    withdraw(daemon, &fullname).await;
    tracing::info!("no longer visible on the network");
}

fn visible_as(name: &str, lan: bool) -> MdnsState {
    MdnsState::Visible {
        name: name.to_owned(),
        id: format!("{name}.{SERVICE_TYPE}"),
        lan,
    }
}

/// Whether the interface of this name is a loopback one (`lo`).
fn is_loopback_interface(name: &str) -> bool {
    match if_addrs::get_if_addrs() {
        Ok(all) => all.iter().any(|i| i.name == name && i.is_loopback()),
        Err(_) => name == "lo",
    }
}

type Started = (ServiceDaemon, String, mdns_sd::Receiver<DaemonEvent>);

fn start(ad: &Advertisement) -> Result<Started, String> {
    let daemon =
        ServiceDaemon::new().map_err(|e| format!("could not start mDNS (multicast DNS): {e}"))?;
    let monitor = daemon
        .monitor()
        .map_err(|e| format!("could not start mDNS: {e}"))?;
    let info = ad
        .service_info()
        .map_err(|e| format!("could not describe the server for mDNS: {e}"))?;
    let fullname = info.get_fullname().to_owned();
    daemon
        .register(info)
        .map_err(|e| format!("could not advertise on mDNS: {e}"))?;
    Ok((daemon, fullname, monitor))
}

/// Sends the goodbye, waits for it (and its repeat) to leave, stops the
/// daemon. Bounded: at most about 2.2 s.
async fn withdraw(daemon: ServiceDaemon, fullname: &str) {
    match daemon.unregister(fullname) {
        Ok(done) => match tokio::time::timeout(GOODBYE_TIMEOUT, done.recv_async()).await {
            Ok(Ok(UnregisterStatus::OK)) => tokio::time::sleep(GOODBYE_REPEAT).await,
            Ok(Ok(UnregisterStatus::NotFound)) => {}
            Ok(Err(_)) | Err(_) => tracing::warn!("the mDNS goodbye was not confirmed"),
        },
        Err(e) => tracing::warn!(cause = %e, "could not withdraw the mDNS advertisement"),
    }
    if let Ok(stopped) = daemon.shutdown() {
        let _ = tokio::time::timeout(GOODBYE_TIMEOUT, stopped.recv_async()).await;
    }
}

/// The instance part of a DNS-SD full name (`My room._hearth._tcp.local.`
/// → `My room`), unescaped.
pub fn instance_of(fullname: &str) -> String {
    let lower = fullname.to_ascii_lowercase();
    let end = lower
        .rfind(&format!(".{SERVICE_TYPE}"))
        .unwrap_or(fullname.len());
    let mut out = String::new();
    let mut chars = fullname[..end].chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ad() -> Advertisement {
        Advertisement {
            name: "Ana's room on attic".to_owned(),
            bound: "0.0.0.0:8989".parse().unwrap(),
            password: false,
            fingerprint: None,
            room: "general".to_owned(),
        }
    }

    #[test]
    fn txt_says_version_room_auth_and_tls() {
        let txt = ad().txt();
        assert_eq!(
            txt,
            vec![
                ("v", "1.1".to_owned()),
                ("room", "general".to_owned()),
                ("auth", "none".to_owned()),
                ("tls", "0".to_owned()),
            ]
        );
        let mut tls = ad();
        tls.password = true;
        tls.fingerprint = Some(CertFingerprint::of_der(b"cert"));
        let txt = tls.txt();
        assert_eq!(txt[2], ("auth", "password".to_owned()));
        assert_eq!(txt[3], ("tls", "1".to_owned()));
        assert_eq!(txt[4].0, "fp");
        assert_eq!(txt[4].1.len(), 64);
        assert_eq!(txt[4].1, txt[4].1.to_lowercase());
        assert_eq!(
            txt[4].1.parse::<CertFingerprint>().unwrap(),
            tls.fingerprint.unwrap()
        );
    }

    #[test]
    fn long_names_are_cut_at_a_character_boundary() {
        let mut long = ad();
        long.name = "é".repeat(40);
        let name = long.instance_name();
        assert!(name.len() <= 63);
        assert_eq!(name, "é".repeat(31));
        long.name = "  ".to_owned();
        assert_eq!(long.instance_name(), "Hearth");
    }

    #[test]
    fn instance_names_come_back_unescaped() {
        assert_eq!(
            instance_of("Ana\\.s room._hearth._tcp.local."),
            "Ana.s room"
        );
        assert_eq!(instance_of("plain._HEARTH._tcp.local."), "plain");
    }

    #[test]
    fn wildcards_are_reachable_loopback_is_not() {
        for ip in ["0.0.0.0", "::", "192.168.1.4", "fe80::1"] {
            assert!(reachable_from_the_network(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["127.0.0.1", "127.0.0.2", "::1"] {
            assert!(!reachable_from_the_network(ip.parse().unwrap()), "{ip}");
        }
    }
}
