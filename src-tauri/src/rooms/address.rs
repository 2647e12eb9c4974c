//! Reading what a person pastes (a server address, a `/r/{room}` link, a
//! certificate fingerprint) and probing a server: `GET /api/info`, before
//! anything is saved.

use hearth_client::{Client, ClientError};
use hearth_proto::{CertFingerprint, RoomName, ServerInfo};
use serde::Serialize;
use url::Url;

use super::Rooms;
use crate::error::{CommandError, address_problem};

/// The longest address, nick or password input accepted.
const MAX_INPUT: usize = 2048;

/// What `probe_server` answers.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    /// The server's base URL, normalized (`http://host:port/`).
    pub server: String,
    /// The room the pasted link named (`/r/{room}`), if any.
    pub room: Option<RoomName>,
    /// `GET /api/info`: name, auth (`"none"` or `"password"`), rooms…
    pub info: ServerInfo,
}

impl Rooms {
    /// `GET /api/info` on a pasted address, trusting exactly the
    /// certificate `pin` names when given (the fingerprint a self-signed
    /// `https://` host shows).
    pub async fn probe(&self, address: &str, pin: Option<&str>) -> Result<Probe, CommandError> {
        let (server, room) = parse_address(address)?;
        let pin = parse_pin(pin)?;
        let client = client_at(&server, pin)?;
        let info = client.info().await.map_err(|e| client_error(&server, e))?;
        Ok(Probe {
            server: server.to_string(),
            room,
            info,
        })
    }
}

/// A client of the server at `base`, trusting only `pin` when given.
pub(super) fn client_at(base: &Url, pin: Option<CertFingerprint>) -> Result<Client, CommandError> {
    Client::new_pinned(base.as_str(), pin).map_err(|e| client_error(base, e))
}

/// A certificate fingerprint as typed (empty: none).
pub(super) fn parse_pin(pin: Option<&str>) -> Result<Option<CertFingerprint>, CommandError> {
    match pin.map(str::trim).filter(|p| !p.is_empty()) {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|e| {
            CommandError::BadInput(format!("That certificate fingerprint is not right: {e}."))
        }),
    }
}

pub(super) fn client_error(server: &Url, e: ClientError) -> CommandError {
    CommandError::from_client(server.as_str(), e)
}

pub(super) fn check_len<'a>(input: &'a str, what: &str) -> Result<&'a str, CommandError> {
    if input.len() > MAX_INPUT {
        return Err(CommandError::BadInput(format!("That {what} is too long.")));
    }
    Ok(input)
}

/// Reads a pasted address (see `hearth_client::parse_server_address`).
pub(super) fn parse_address(address: &str) -> Result<(Url, Option<RoomName>), CommandError> {
    let address = check_len(address, "address")?.trim();
    if address.is_empty() {
        return Err(CommandError::BadInput(
            "Paste the address of a Hearth room, like http://192.168.1.20:8989/r/general.".into(),
        ));
    }
    if let Some(problem) = not_web_address(address) {
        return Err(CommandError::Address(problem));
    }
    hearth_client::parse_server_address(address).map_err(|e| match e {
        ClientError::InvalidUrl(detail) if detail.contains("room") || detail.contains("Room") => {
            CommandError::BadInput(format!(
                "That link names a room Hearth cannot open ({detail}). Check the link."
            ))
        }
        ClientError::InvalidUrl(detail) => CommandError::Address(address_problem(&detail)),
        other => CommandError::Address(address_problem(&other.to_string())),
    })
}

/// Why `address` is no web address, before the URL parser reads it (which
/// would read `htp:/nope` as a computer called `htp`): a scheme other than
/// `http`/`https`, a scheme without `//`, or spaces. `None`: it may be one.
fn not_web_address(address: &str) -> Option<String> {
    if address.chars().any(char::is_whitespace) && !address.contains("/r/") {
        return Some("it has spaces in it".into());
    }
    let (scheme, rest) = address.split_once(':')?;
    let is_scheme = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    // `host:8989`, `host:8989/r/dev`: a port, not a scheme.
    let port_follows = rest
        .split('/')
        .next()
        .is_some_and(|port| !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()));
    if !is_scheme || port_follows {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Some(format!("{scheme}: is not http:// or https://"));
    }
    if !rest.starts_with("//") {
        return Some(format!("{scheme}: must be followed by //"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_before_any_request() {
        assert!(matches!(
            parse_address("  "),
            Err(CommandError::BadInput(_))
        ));
        assert!(matches!(
            parse_address("ftp://x"),
            Err(CommandError::Address(_))
        ));
        let (url, room) = parse_address("http://10.0.0.2:8989/r/dev").unwrap();
        for (bad, says) in [
            (
                "htp:/nope",
                "That is not a web address: htp: is not http:// or https:// (try http://192.168.1.20:8989).",
            ),
            (
                "http:/nope",
                "That is not a web address: http: must be followed by // (try http://192.168.1.20:8989).",
            ),
            (
                "mailto:ana@example.org",
                "That is not a web address: mailto: is not http:// or https:// (try http://192.168.1.20:8989).",
            ),
            (
                "http://host:99999",
                "That is not a web address: the port must be a number up to 65535 (try http://192.168.1.20:8989).",
            ),
            (
                "my host",
                "That is not a web address: it has spaces in it (try http://192.168.1.20:8989).",
            ),
        ] {
            let err = parse_address(bad).unwrap_err();
            assert!(matches!(err, CommandError::Address(_)), "{bad}: {err:?}");
            assert_eq!(err.to_string(), says, "{bad}");
        }
        for good in [
            "host:8989",
            "host:8989/r/dev",
            "localhost",
            "192.168.1.20",
            "[::1]:8989",
            "HTTP://Host:1/",
        ] {
            assert!(parse_address(good).is_ok(), "{good}");
        }
        assert_eq!(url.as_str(), "http://10.0.0.2:8989/");
        assert_eq!(room.unwrap().as_str(), "dev");
        assert!(check_len(&"x".repeat(MAX_INPUT + 1), "address").is_err());
        assert!(parse_pin(Some("  ")).unwrap().is_none());
        assert!(parse_pin(Some("nope")).is_err());
    }
}
