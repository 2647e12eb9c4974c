//! `hearth://` links: `hearth://join?url=<server url>[&room=<room>][&nick=<nick>]`,
//! read and checked before anything joins. A link's `nick` only fills an
//! empty nick field (the nick the person last used wins); it lets a link
//! made for one person, or a script (`hearth-bench desktop`), join a
//! fresh copy of the app without typing. Only `http://` and `https://`
//! servers are accepted; everything else is refused with a sentence for a
//! person (shown on the home screen).

use hearth_proto::RoomName;
use serde::Serialize;
use url::Url;

/// The scheme the app registers (`plugins.deep-link` in tauri.conf.json).
pub const SCHEME: &str = "hearth";
/// Longer links are refused unread.
const MAX_LINK_CHARS: usize = 2048;

/// A checked `hearth://join` link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JoinLink {
    /// What the join form gets: the server's URL, or `<origin>/r/<room>`.
    pub address: String,
    /// The server's URL as the link gave it.
    pub server: String,
    /// The room the link names (`room=`, or `/r/<room>` in `url`).
    pub room: Option<String>,
    /// The nick the link suggests (`nick=`), checked as a nick.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nick: Option<String>,
}

/// Reads a `hearth://` link; `Err` is a sentence saying what is wrong.
pub fn parse(link: &str) -> Result<JoinLink, String> {
    if link.chars().count() > MAX_LINK_CHARS {
        return Err("That Hearth link is too long to be a room's address.".into());
    }
    let url = Url::parse(link).map_err(|_| format!("That is not a Hearth link: {link}"))?;
    if url.scheme() != SCHEME {
        return Err(format!("That is not a Hearth link: {link}"));
    }
    // `hearth://join?…`; `hearth:join?…` reads as a path.
    let action = url
        .host_str()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| url.path().trim_matches('/'));
    if action != "join" {
        return Err(format!(
            "Hearth links only join rooms (hearth://join?url=…); this one asks for \"{action}\"."
        ));
    }
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let Some(server) = param("url") else {
        return Err("That Hearth link names no server (hearth://join?url=http://…).".into());
    };
    let server_url = Url::parse(&server)
        .map_err(|_| format!("The Hearth link's server is not a web address: {server}"))?;
    if !matches!(server_url.scheme(), "http" | "https") {
        return Err(format!(
            "Hearth joins only http:// or https:// servers; the link names a {}: address.",
            server_url.scheme()
        ));
    }
    if server_url.host_str().is_none_or(str::is_empty) {
        return Err(format!(
            "The Hearth link's server has no host name: {server}"
        ));
    }
    if !server_url.username().is_empty() || server_url.password().is_some() {
        return Err(
            "The Hearth link's server address carries a user name or password; Hearth does not take those from links."
                .into(),
        );
    }
    let room = match param("room") {
        Some(room) => Some(
            RoomName::parse(&room)
                .map_err(|e| format!("The Hearth link's room is not a room name: {e}"))?
                .to_string(),
        ),
        None => None,
    };
    let nick = match param("nick") {
        Some(nick) => Some(
            hearth_proto::Nick::parse(&nick)
                .map_err(|e| format!("The Hearth link's nick is not a nick: {e}"))?
                .to_string(),
        ),
        None => None,
    };
    let address = match &room {
        Some(room) => format!("{}/r/{room}", server_url.origin().ascii_serialization()),
        None => server.clone(),
    };
    Ok(JoinLink {
        address,
        server,
        room,
        nick,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_join_link_gives_the_join_form_an_address() {
        let link = parse("hearth://join?url=http%3A%2F%2F192.168.1.20%3A8989&room=dev").unwrap();
        assert_eq!(link.address, "http://192.168.1.20:8989/r/dev");
        assert_eq!(link.server, "http://192.168.1.20:8989");
        assert_eq!(link.room.as_deref(), Some("dev"));
        let plain = parse("hearth://join?url=https://chat.example.org/r/general").unwrap();
        assert_eq!(plain.address, "https://chat.example.org/r/general");
        assert_eq!(plain.room, None);
        assert!(parse("hearth:join?url=http://h:1").is_ok());
        assert_eq!(plain.nick, None);
        let named = parse("hearth://join?url=http://h:1&room=dev&nick=%20ana%20").unwrap();
        assert_eq!(named.nick.as_deref(), Some("ana"));
    }

    #[test]
    fn anything_but_an_http_server_is_refused_in_words() {
        for (link, says) in [
            ("hearth://join?url=ftp://h/x", "only http:// or https://"),
            (
                "hearth://join?url=javascript:alert(1)",
                "only http:// or https://",
            ),
            (
                "hearth://join?url=file:///etc/passwd",
                "only http:// or https://",
            ),
            ("hearth://join", "names no server"),
            ("hearth://join?url=", "names no server"),
            ("hearth://join?url=nope", "not a web address"),
            ("hearth://join?url=http://u:p@h:1", "user name or password"),
            (
                "hearth://join?url=http://h:1&room=no%20spaces!",
                "not a room name",
            ),
            ("hearth://delete?url=http://h:1", "only join rooms"),
            (
                &format!("hearth://join?url=http://h:1&nick={}", "n".repeat(200)),
                "not a nick",
            ),
            ("https://example.org/", "not a Hearth link"),
        ] {
            let err = parse(link).unwrap_err();
            assert!(err.contains(says), "{link}: {err}");
        }
        assert!(parse(&format!("hearth://join?url=http://h/{}", "a".repeat(3000))).is_err());
    }
}
