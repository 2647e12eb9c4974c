//! The links other machines on the LAN open to reach a hosted room, and
//! their QR codes.
//!
//! A link is `http(s)://<address>:<port>/r/<room>` for every non-loopback
//! address of this machine's interfaces that the server is listening on: all
//! of them (of the bound family) for a wildcard bind, else the bound address.
//! IPv6 link-local addresses are left out: they need a zone id that browsers
//! do not accept in URLs.

use std::net::{IpAddr, SocketAddr};

use hearth_proto::RoomName;
use qrcode::QrCode;
use qrcode::render::svg;
use serde::Serialize;

use crate::error::CommandError;

/// A link to share, with its QR code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LanLink {
    /// `http://192.168.1.20:8989/r/general`.
    pub url: String,
    /// The interface's name (`eth0`, `wlan0`…).
    pub interface: String,
    /// The URL as a QR code, an `<svg>` document.
    pub qr_svg: String,
}

/// Every non-loopback address of this machine, with its interface name.
pub fn interface_addresses() -> Vec<(String, IpAddr)> {
    match if_addrs::get_if_addrs() {
        Ok(interfaces) => interfaces
            .into_iter()
            .map(|i| (i.name.clone(), i.ip()))
            .filter(|(_, ip)| !ip.is_loopback())
            .collect(),
        Err(e) => {
            tracing::warn!(cause = %e, "cannot list network interfaces");
            Vec::new()
        }
    }
}

/// The links (`scheme` `http` or `https`) for a server bound at `bind`, to
/// `room`.
pub fn links(bind: SocketAddr, room: &RoomName, scheme: &str) -> Vec<LanLink> {
    urls(bind, &interface_addresses(), room, scheme)
        .into_iter()
        .filter_map(|(interface, url)| match qr_svg(&url) {
            Ok(qr_svg) => Some(LanLink {
                url,
                interface,
                qr_svg,
            }),
            Err(e) => {
                tracing::warn!(cause = %e, %url, "cannot draw a QR code");
                None
            }
        })
        .collect()
}

/// The (interface, URL) pairs for `bind`, from a list of interface addresses.
pub fn urls(
    bind: SocketAddr,
    interfaces: &[(String, IpAddr)],
    room: &RoomName,
    scheme: &str,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (name, ip) in interfaces {
        let reachable = if bind.ip().is_unspecified() {
            ip.is_ipv4() == bind.ip().is_ipv4()
        } else {
            *ip == bind.ip()
        };
        if !reachable || ip.is_loopback() || ip.is_unspecified() || is_link_local_v6(ip) {
            continue;
        }
        let url = format!("{scheme}://{}/r/{room}", SocketAddr::new(*ip, bind.port()));
        if !out.iter().any(|(_, u)| *u == url) {
            out.push((name.clone(), url));
        }
    }
    out
}

fn is_link_local_v6(ip: &IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80)
}

/// `text` as a QR code, an SVG document (dark on light, with a quiet zone).
pub fn qr_svg(text: &str) -> Result<String, CommandError> {
    let code = QrCode::new(text.as_bytes())
        .map_err(|e| CommandError::BadInput(format!("That cannot become a QR code: {e}.")))?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(192, 192)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interfaces() -> Vec<(String, IpAddr)> {
        [
            ("lo", "127.0.0.1"),
            ("eth0", "192.168.1.20"),
            ("wlan0", "10.0.0.7"),
            ("lo", "::1"),
            ("eth0", "fe80::1"),
            ("eth0", "2001:db8::5"),
        ]
        .iter()
        .map(|(n, ip)| (n.to_string(), ip.parse().unwrap()))
        .collect()
    }

    #[test]
    fn a_wildcard_bind_lists_every_non_loopback_address_of_its_family() {
        let room = RoomName::default_room();
        let got = urls(
            "0.0.0.0:8990".parse().unwrap(),
            &interfaces(),
            &room,
            "http",
        );
        assert_eq!(
            got,
            vec![
                ("eth0".into(), "http://192.168.1.20:8990/r/general".into()),
                ("wlan0".into(), "http://10.0.0.7:8990/r/general".into()),
            ]
        );
        let v6 = urls("[::]:8989".parse().unwrap(), &interfaces(), &room, "http");
        assert_eq!(
            v6,
            vec![("eth0".into(), "http://[2001:db8::5]:8989/r/general".into())]
        );
        let one = urls(
            "10.0.0.7:8989".parse().unwrap(),
            &interfaces(),
            &room,
            "http",
        );
        assert_eq!(one.len(), 1);
        assert!(
            urls(
                "127.0.0.1:8989".parse().unwrap(),
                &interfaces(),
                &room,
                "http"
            )
            .is_empty()
        );
    }

    #[test]
    fn qr_codes_are_svg_documents() {
        let svg = qr_svg("http://192.168.1.20:8989/r/general").unwrap();
        assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"));
        assert!(svg.contains("<svg") && svg.trim_end().ends_with("</svg>"));
    }
}
