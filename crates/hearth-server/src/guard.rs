//! Checks every request passes before it reaches a route, and what every
//! answer carries over TLS. [`apply`] wraps the whole router in them, so the
//! event streams that `net::direct` serves past hyper (they go through the
//! same router) are checked like every other route.
//!
//! - **The `Host` names this server** (against DNS rebinding: a page on
//!   `evil.example` whose name the attacker then points at this server's
//!   address reaches it through a visitor's browser, with `Host:
//!   evil.example`). Accepted: the loopback addresses and `localhost`; the
//!   address the server is bound to, or with a `0.0.0.0`/`::` bind any
//!   address of this machine's interfaces (re-read every few seconds, so a
//!   new DHCP lease works); the machine's host name, its first label,
//!   `<label>.local` (mDNS) and `<label>.<domain>` for the DNS search
//!   domains of `/etc/resolv.conf` (a router's `.lan`, `.home`…); and every
//!   `--public-host` (a name or an address). Ports are not
//!   compared (a proxy may forward from another one). A request without
//!   `Host` (HTTP/1.0) passes. `--public-host '*'` turns the check off.
//!   Anything else: `421 Misdirected Request`.
//! - **No cross-site writes** (against a page on another site submitting a
//!   form to `/post`, `/login` or the API through a visitor's browser):
//!   `POST`, `PUT`, `PATCH` and `DELETE` need `Sec-Fetch-Site: same-origin`
//!   or `none` when the browser sends it, else an `Origin` whose host and
//!   port are the `Host`'s, else no `Origin` at all (curl, the Rust client
//!   and the desktop app send neither). Anything else: `403`.
//! - **Over TLS**, every answer carries `Strict-Transport-Security` and every
//!   cookie the server sets is `Secure`.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::uri::Authority;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::Config;

/// The `Strict-Transport-Security` value sent over TLS: one year.
pub const HSTS: &str = "max-age=31536000";

/// How long a read of the interfaces' addresses is trusted.
const INTERFACES_TTL: Duration = Duration::from_secs(5);

/// The checks, built once per server from its configuration and the address
/// it is bound to. A cheap handle.
#[derive(Clone)]
pub struct Guard {
    inner: Arc<Inner>,
}

struct Inner {
    /// `--public-host '*'`: any `Host` passes.
    any_host: bool,
    /// Lower-case names (no port, no trailing dot) that name this server.
    names: HashSet<String>,
    /// Addresses given with `--public-host` (a NAT's or a port forward's).
    public_addresses: Vec<IpAddr>,
    /// The address the listener is bound to.
    bound: IpAddr,
    /// Whether the server speaks TLS: HSTS and `Secure` cookies.
    tls: bool,
    /// The interfaces' addresses and when they were read (for unspecified
    /// binds; `None` until first needed). A `std` mutex: nothing awaits
    /// while it is held.
    interfaces: Mutex<Option<(Instant, Vec<IpAddr>)>>,
}

/// Why a request was refused, as the answer says it.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `421`: the `Host` names another server.
    MisdirectedHost(String),
    /// `403`: a browser sent a write from another site.
    CrossSite(String),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, error) = match self {
            Refusal::MisdirectedHost(host) => (
                StatusCode::MISDIRECTED_REQUEST,
                format!(
                    "this server does not answer to the name {host:?} (the request's Host): \
                     it protects itself against DNS rebinding; if that is this server's name, \
                     start it with --public-host {host}"
                ),
            ),
            Refusal::CrossSite(from) => (
                StatusCode::FORBIDDEN,
                format!(
                    "cross-site request refused: a page from {from} may not change anything \
                     on this server; use the server's own page or a client that is not a browser"
                ),
            ),
        };
        (status, axum::Json(serde_json::json!({ "error": error }))).into_response()
    }
}

impl Guard {
    /// The checks for a server configured by `config` and listening on
    /// `bound`.
    pub fn new(config: &Config, bound: SocketAddr) -> Self {
        let mut names: HashSet<String> = HashSet::from(["localhost".to_owned()]);
        let host_name = gethostname::gethostname().to_string_lossy().into_owned();
        let host_name = normalize_name(&host_name);
        if !host_name.is_empty() {
            let first_label = host_name.split('.').next().unwrap_or_default().to_owned();
            for domain in search_domains() {
                names.insert(format!("{first_label}.{domain}"));
            }
            names.insert(format!("{first_label}.local"));
            names.insert(first_label);
            names.insert(host_name);
        }
        let mut any_host = false;
        let mut public_addresses = Vec::new();
        for public in &config.public_hosts {
            let public = public.trim();
            if public == "*" {
                any_host = true;
            } else if !public.is_empty() {
                let name = Authority::try_from(public)
                    .map(|a| a.host().to_owned())
                    .unwrap_or_else(|_| public.to_owned());
                match ip_literal(&name) {
                    Some(ip) => public_addresses.push(ip.to_canonical()),
                    None => {
                        names.insert(normalize_name(&name));
                    }
                }
            }
        }
        Guard {
            inner: Arc::new(Inner {
                any_host,
                names,
                public_addresses,
                bound: bound.ip(),
                tls: config.tls.is_some(),
                interfaces: Mutex::new(None),
            }),
        }
    }

    /// Whether a request with these parts may reach the routes.
    pub fn admit(&self, method: &Method, headers: &HeaderMap) -> Result<(), Refusal> {
        let hosts = headers.get_all(header::HOST);
        for host in hosts {
            let host = String::from_utf8_lossy(host.as_bytes());
            if !self.names_this_server(&host) {
                return Err(Refusal::MisdirectedHost(host.into_owned()));
            }
        }
        if is_write(method) {
            check_same_site(headers, self.inner.tls)?;
        }
        Ok(())
    }

    /// Whether `Host: host` names this server.
    pub fn names_this_server(&self, host: &str) -> bool {
        if self.inner.any_host {
            return true;
        }
        let Ok(authority) = Authority::try_from(host.trim()) else {
            return false;
        };
        let name = authority.host();
        match ip_literal(name) {
            Some(ip) => {
                self.inner.public_addresses.contains(&ip.to_canonical()) || self.is_own_address(ip)
            }
            None => self.inner.names.contains(&normalize_name(name)),
        }
    }

    fn is_own_address(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        if ip.is_loopback() || ip == self.inner.bound.to_canonical() {
            return true;
        }
        if !self.inner.bound.is_unspecified() {
            return false;
        }
        let mut interfaces = self
            .inner
            .interfaces
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let stale = interfaces
            .as_ref()
            .is_none_or(|(read, _)| read.elapsed() > INTERFACES_TTL);
        if stale {
            let addresses = if_addrs::get_if_addrs()
                .map(|all| all.into_iter().map(|i| i.ip()).collect())
                .unwrap_or_else(|e| {
                    tracing::warn!(cause = %e, "reading the network interfaces failed");
                    Vec::new()
                });
            *interfaces = Some((Instant::now(), addresses));
        }
        interfaces
            .as_ref()
            .is_some_and(|(_, addresses)| addresses.contains(&ip))
    }

    /// Adds what answers carry over TLS.
    fn harden(&self, response: &mut Response) {
        if !self.inner.tls {
            return;
        }
        let headers = response.headers_mut();
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
        let cookies: Vec<HeaderValue> = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(secure_cookie)
            .collect();
        if !cookies.is_empty() {
            headers.remove(header::SET_COOKIE);
            for cookie in cookies {
                headers.append(header::SET_COOKIE, cookie);
            }
        }
    }
}

/// Wraps every route of `router` in `guard`'s checks.
pub fn apply(router: Router, guard: Guard) -> Router {
    router.layer(axum::middleware::from_fn_with_state(guard, check))
}

/// The middleware: refuse, or pass on and harden the answer.
async fn check(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    if let Err(refusal) = guard.admit(request.method(), request.headers()) {
        let mut response = refusal.into_response();
        guard.harden(&mut response);
        return response;
    }
    let mut response = next.run(request).await;
    guard.harden(&mut response);
    response
}

fn is_write(method: &Method) -> bool {
    [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(method)
}

/// Refuses a write a browser sends from another site (`tls`: whether this
/// server speaks HTTPS, for the port a `Host` without one means).
fn check_same_site(headers: &HeaderMap, tls: bool) -> Result<(), Refusal> {
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" | b"none" => Ok(()),
            _ => {
                let from = headers
                    .get(header::ORIGIN)
                    .map(|o| String::from_utf8_lossy(o.as_bytes()).into_owned())
                    .unwrap_or_else(|| "another site".to_owned());
                Err(Refusal::CrossSite(from))
            }
        };
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = String::from_utf8_lossy(origin.as_bytes());
    let host = headers
        .get(header::HOST)
        .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned());
    match host {
        Some(host) if same_authority(&origin, &host, if tls { 443 } else { 80 }) => Ok(()),
        _ => Err(Refusal::CrossSite(origin.into_owned())),
    }
}

/// Whether the origin `scheme://host[:port]` and `Host: host[:port]` name
/// the same host and port (a missing port is the origin scheme's default,
/// and `host_default_port` for the `Host`).
fn same_authority(origin: &str, host: &str, host_default_port: u16) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false; // "null" (a sandboxed page, a file) and the like
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return false,
    };
    let (Ok(origin), Ok(host)) = (Authority::try_from(rest), Authority::try_from(host.trim()))
    else {
        return false;
    };
    normalize_name(origin.host()) == normalize_name(host.host())
        && origin.port_u16().unwrap_or(default_port) == host.port_u16().unwrap_or(host_default_port)
}

/// The address `host` spells (`[…]` around an IPv6 one), if it is one.
fn ip_literal(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// The DNS search domains of `/etc/resolv.conf` (`search` and `domain`
/// lines), lower case; none where there is no such file.
fn search_domains() -> Vec<String> {
    let Ok(text) = std::fs::read_to_string("/etc/resolv.conf") else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            matches!(words.next(), Some("search" | "domain")).then_some(words)
        })
        .flatten()
        .map(normalize_name)
        .filter(|domain| !domain.is_empty() && domain != "local")
        .collect()
}

/// A host name as compared: lower case, without a trailing dot.
fn normalize_name(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// `cookie` with the `Secure` attribute.
fn secure_cookie(cookie: &HeaderValue) -> HeaderValue {
    let text = String::from_utf8_lossy(cookie.as_bytes());
    let has_secure = text
        .split(';')
        .skip(1)
        .any(|attribute| attribute.trim().eq_ignore_ascii_case("secure"));
    if has_secure {
        return cookie.clone();
    }
    HeaderValue::from_str(&format!("{text}; Secure")).unwrap_or_else(|_| cookie.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(bound: &str, public: &[&str]) -> Guard {
        let mut config = Config::new("/nonexistent");
        config.public_hosts = public.iter().map(|s| (*s).to_owned()).collect();
        Guard::new(&config, bound.parse().unwrap())
    }

    #[test]
    fn own_names_and_addresses_pass_others_do_not() {
        let g = guard(
            "10.1.2.3:8989",
            &[
                "chat.example.org",
                "Proxy.Example:8443",
                "203.0.113.9",
                "[2001:db8::9]:80",
            ],
        );
        for ok in [
            "localhost",
            "LOCALHOST:8989",
            "localhost.",
            "127.0.0.1",
            "127.0.0.1:8989",
            "127.9.9.9:1",
            "[::1]:8989",
            "10.1.2.3:8989",
            "chat.example.org",
            "chat.example.org:443",
            "proxy.example",
            "proxy.example:8443",
            "203.0.113.9:8989",
            "[2001:db8::9]",
        ] {
            assert!(g.names_this_server(ok), "{ok}");
        }
        for refused in [
            "evil.example",
            "evil.example:8989",
            "10.1.2.4:8989",
            "localhost.evil.example",
            "chat.example.org.evil.example",
            "",
            "a b",
        ] {
            assert!(!g.names_this_server(refused), "{refused}");
        }
    }

    #[test]
    fn the_machines_host_name_passes() {
        let g = guard("127.0.0.1:0", &[]);
        let name = gethostname::gethostname().to_string_lossy().to_lowercase();
        let first = name.split('.').next().unwrap().to_owned();
        assert!(g.names_this_server(&name));
        assert!(g.names_this_server(&format!("{first}.local:8989")));
    }

    #[test]
    fn an_unspecified_bind_accepts_every_interface_address() {
        let g = guard("0.0.0.0:8989", &[]);
        for interface in if_addrs::get_if_addrs().unwrap() {
            let host = match interface.ip() {
                IpAddr::V4(v4) => format!("{v4}:8989"),
                IpAddr::V6(v6) if v6.segments()[0] == 0xfe80 => continue, // needs a zone
                IpAddr::V6(v6) => format!("[{v6}]:8989"),
            };
            assert!(g.names_this_server(&host), "{host}");
        }
        assert!(!g.names_this_server("192.0.2.77:8989"), "TEST-NET address");
    }

    #[test]
    fn a_star_accepts_any_host() {
        assert!(guard("0.0.0.0:1", &["*"]).names_this_server("evil.example"));
    }

    #[test]
    fn origins_match_hosts_with_default_ports() {
        assert!(same_authority("http://a.example", "a.example", 80));
        assert!(same_authority("http://a.example", "A.example:80", 80));
        assert!(same_authority("https://a.example", "a.example:443", 80));
        assert!(same_authority("https://a.example", "a.example", 443));
        assert!(same_authority(
            "http://127.0.0.1:8989",
            "127.0.0.1:8989",
            80
        ));
        assert!(same_authority("http://[::1]:8989", "[::1]:8989", 80));
        assert!(!same_authority(
            "http://127.0.0.1:8990",
            "127.0.0.1:8989",
            80
        ));
        assert!(!same_authority("https://a.example", "a.example", 80));
        assert!(!same_authority("http://b.example", "a.example", 80));
        assert!(!same_authority("null", "a.example", 80));
    }

    #[test]
    fn cookies_become_secure_once() {
        let plain = HeaderValue::from_static("hearth_session=x; Path=/; HttpOnly");
        assert_eq!(
            secure_cookie(&plain),
            "hearth_session=x; Path=/; HttpOnly; Secure"
        );
        let secure = HeaderValue::from_static("a=b; Secure");
        assert_eq!(secure_cookie(&secure), "a=b; Secure");
    }
}
