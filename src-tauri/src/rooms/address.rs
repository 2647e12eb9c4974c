//! Reading what a person pastes (a server address, a `/r/{room}` link, a
//! certificate fingerprint) and probing a server: `GET /api/info`, before
//! anything is saved.

use hearth_client::{Client, ClientError};
use hearth_proto::{CertFingerprint, RoomName, ServerInfo};
use serde::Serialize;
use url::Url;

use super::Rooms;
use crate::error::CommandError;

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
    hearth_client::parse_server_address(address).map_err(|e| match e {
        ClientError::InvalidUrl(detail) => CommandError::Address(detail),
        other => CommandError::Address(other.to_string()),
    })
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
        assert_eq!(url.as_str(), "http://10.0.0.2:8989/");
        assert_eq!(room.unwrap().as_str(), "dev");
        assert!(check_len(&"x".repeat(MAX_INPUT + 1), "address").is_err());
        assert!(parse_pin(Some("  ")).unwrap().is_none());
        assert!(parse_pin(Some("nope")).is_err());
    }
}
