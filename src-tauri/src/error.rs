//! `CommandError`: every way a command of the app can fail, each written as a
//! sentence for the person using the app, and each of one [`ErrorKind`].
//!
//! Commands return `Result<T, CommandError>`; the error crosses IPC as an
//! object the UI can branch on without reading the text:
//!
//! ```json
//! {"kind": "rate_limited", "message": "The server said: slow down (too many requests: wait a moment)",
//!  "retryable": true, "status": 429, "retry_after": 3}
//! ```
//!
//! `kind` is one of `KINDS` in `ui/transport-error.js`; `status` is there
//! only when a server answered, `retry_after` (whole seconds) only when it
//! sent `Retry-After`, `reason` only when the server gave one
//! (`nick_protected`, `server_password`, `banned`, `not_protected`, …) and
//! `until` with `banned` (when the ban ends, RFC 3339). `message` is the sentence the UI shows as is. Causes
//! that only a developer needs go to the log.
//!
//! [`Failure::of`] classifies a `hearth_client::ClientError` once, for the
//! commands and for the outbox (which retries what is retryable and marks
//! the rest failed for good).

use std::time::Duration;

use hearth_client::ClientError;
use hearth_proto::{StreamEnded, ValidationError};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

/// What went wrong, as the UI branches on it (`KINDS` in
/// `ui/transport-error.js`, same names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// No answer: refused, reset, timed out, host unreachable.
    Network,
    /// 401: the session or the password is not accepted.
    Unauthorized,
    /// 403.
    Forbidden,
    /// 404, or a saved room the app no longer has.
    NotFound,
    /// 409.
    Conflict,
    /// 413.
    TooLarge,
    /// 429: slow down.
    RateLimited,
    /// 400/422, and inputs the app refuses before sending anything.
    Invalid,
    /// 503, or the server this app hosts is stopped.
    Unavailable,
    /// Any other 5xx, or an answer the app cannot read.
    Server,
    /// A TLS certificate that is not trusted.
    Certificate,
    /// The app's own failure: keychain, disk, hosting.
    Local,
}

impl ErrorKind {
    /// The kind an HTTP error status stands for (`kindOfStatus` in JS).
    pub fn of_status(status: u16) -> Self {
        match status {
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            413 => ErrorKind::TooLarge,
            429 => ErrorKind::RateLimited,
            503 => ErrorKind::Unavailable,
            s if s >= 500 => ErrorKind::Server,
            _ => ErrorKind::Invalid,
        }
    }
}

/// How a client error is classified: its kind, whether the same request
/// may succeed later, and what the server said about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub kind: ErrorKind,
    /// The client's rule (`ClientError::is_retryable`: no answer, 408, 429,
    /// 5xx), which `post_reliably` follows too.
    pub retryable: bool,
    /// The HTTP status, when the server answered.
    pub status: Option<u16>,
    /// `Retry-After`, when the server sent one.
    pub retry_after: Option<Duration>,
}

impl Failure {
    /// Classifies a client error.
    pub fn of(err: &ClientError) -> Self {
        let (kind, status, retry_after) = match err {
            ClientError::Network(_) => (ErrorKind::Network, None, None),
            ClientError::InvalidUrl(_) => (ErrorKind::Invalid, None, None),
            ClientError::Certificate(_) => (ErrorKind::Certificate, None, None),
            ClientError::Protocol(_) => (ErrorKind::Server, None, None),
            ClientError::File(_) => (ErrorKind::Local, None, None),
            ClientError::Ended(ended) => (ended_kind(&ended.reason), None, None),
            ClientError::Status {
                status,
                retry_after,
                ..
            } => (
                ErrorKind::of_status(status.as_u16()),
                Some(status.as_u16()),
                *retry_after,
            ),
        };
        Self {
            kind,
            retryable: err.is_retryable(),
            status,
            retry_after,
        }
    }
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// An input broke one of the protocol's rules (room name, nick, text…).
    #[error("{}", capitalize(&.0.to_string()))]
    Invalid(#[from] ValidationError),
    /// Some other input the app cannot use; the text says which and why.
    #[error("{0}")]
    BadInput(String),
    /// The address pasted is not a web address; the text (possibly
    /// empty) says what is wrong with it, in a person's words
    /// ([`address_problem`]).
    #[error("{}", address_sentence(.0))]
    Address(String),
    /// The server wants a password and none was given.
    #[error("This room needs a password. Ask the host for it.")]
    PasswordRequired,
    /// The server refused the password (or the sign-in): a 401.
    #[error("The server refused to sign you in: {0}")]
    SignInRefused(String),
    /// The nick is protected with a nick password the app does not have
    /// (someone else's, or the person's own from another device).
    #[error(
        "The nick {nick} is protected on this server by someone else (or by you, with a nick password this app does not have). Pick another nick, or type that nick's password if it is yours."
    )]
    NickProtected { nick: String },
    /// The nick password typed for a nick is not the right one.
    #[error("That is not the nick password of {nick}. Type it again, or pick another nick.")]
    WrongNickPassword { nick: String },
    /// The session's nick is banned from the server (a 403 `banned`).
    #[error("{}", ban_sentence(.message, .until.as_deref()))]
    Banned {
        /// The server's `error` text ("you are banned until …: …").
        message: String,
        /// When the ban ends (RFC 3339).
        until: Option<String>,
    },
    /// The server ended the session's stream for good (banned, signed
    /// out, superseded).
    #[error("{}", capitalize(&.0.error))]
    Ended(StreamEnded),
    /// The server's TLS certificate was refused.
    #[error("Cannot trust {server}: {detail}.")]
    Certificate { server: String, detail: String },
    /// The server could not be reached; `detail` is the client's text
    /// (with its causes), read by [`unreachable_sentence`].
    #[error("{}", unreachable_sentence(.server, .detail))]
    Unreachable { server: String, detail: String },
    /// The server answered with an error status (other than 401).
    #[error("{}", status_sentence(*.status, .message))]
    Status {
        status: u16,
        /// The server's `error` text.
        message: String,
        retry_after: Option<Duration>,
        /// The server's `reason` (`not_protected`, …), if it gave one.
        reason: Option<String>,
    },
    /// The server answered something this app cannot read.
    #[error(
        "The server said: an answer this app cannot read ({detail}); is {server} a Hearth server?"
    )]
    Unreadable { server: String, detail: String },
    /// No saved room has that id (it was forgotten, or never joined).
    #[error("That room is not in your saved rooms any more.")]
    UnknownRoom,
    /// The room's server cannot be reached right now (its stream is down).
    #[error("{0}")]
    Offline(String),
    /// The room is on the server this app hosts, and hosting is stopped.
    #[error("Hosting is stopped: start hosting to open this room.")]
    NotHosting,
    /// Hosting could not start or stop.
    #[error("Hosting failed: {0}")]
    Host(String),
    /// The OS keychain failed.
    #[error("The system keychain failed: {0}")]
    Keychain(String),
    /// A settings or outbox file could not be read or written.
    #[error("Could not save to disk: {0}")]
    Storage(String),
    /// A file to send is over the server's limit (checked before any byte
    /// is uploaded; the same sentence as `sizeRefusal` in
    /// `ui/file-rules.js`).
    #[error(
        "{name} is {}; this server takes files up to {}.",
        crate::outbox::files::human_size(*.size),
        crate::outbox::files::human_size(*.max)
    )]
    TooLarge { name: String, size: u64, max: u64 },
    /// A local file (one to send, or a download's destination) could not be
    /// read or written; the text names it.
    #[error("{}", capitalize(.0))]
    File(String),
}

/// What a banned person reads: the server's own sentence ("you are banned
/// until <until>: <reason>", which the UI reads the reason out of), or one
/// of the app's when the server gave none.
fn ban_sentence(message: &str, until: Option<&str>) -> String {
    match (message.trim(), until) {
        ("", Some(until)) => format!("you are banned from this server until {until}"),
        ("", None) => "you are banned from this server".to_owned(),
        (text, _) => text.to_owned(),
    }
}

/// The kind of a stream the server ended: a ban is `forbidden`, a session
/// signed out or superseded is `unauthorized` (sign in again).
pub fn ended_kind(reason: &str) -> ErrorKind {
    if reason == "banned" {
        ErrorKind::Forbidden
    } else {
        ErrorKind::Unauthorized
    }
}

fn status_sentence(status: u16, message: &str) -> String {
    if status == 429 {
        format!("The server said: {message} (too many requests: wait a moment)")
    } else {
        format!("The server said: {message}")
    }
}

impl CommandError {
    /// Turns a client error into a sentence about the server at `server`.
    pub fn from_client(server: &str, err: ClientError) -> Self {
        match err {
            ClientError::Network(detail) => CommandError::Unreachable {
                server: server.to_owned(),
                detail,
            },
            ClientError::InvalidUrl(detail) => CommandError::Address(address_problem(&detail)),
            // Not a certificate at all: the server speaks plain HTTP.
            ClientError::Certificate(detail) if plain_http_answer(&detail) => {
                CommandError::Unreachable {
                    server: server.to_owned(),
                    detail,
                }
            }
            ClientError::Certificate(detail) => CommandError::Certificate {
                server: server.to_owned(),
                detail,
            },
            ClientError::Protocol(detail) => CommandError::Unreadable {
                server: server.to_owned(),
                detail,
            },
            ClientError::File(detail) => CommandError::File(detail),
            ClientError::Ended(ended) => CommandError::Ended(ended),
            ClientError::Status {
                status,
                message,
                retry_after,
                reason,
                until,
            } => match (status.as_u16(), reason.as_deref()) {
                (403, Some("banned")) => CommandError::Banned { message, until },
                (401, _) => CommandError::SignInRefused(message),
                (status, _) => CommandError::Status {
                    status,
                    message,
                    retry_after,
                    reason,
                },
            },
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            CommandError::Invalid(_) | CommandError::BadInput(_) | CommandError::Address(_) => {
                ErrorKind::Invalid
            }
            CommandError::PasswordRequired
            | CommandError::SignInRefused(_)
            | CommandError::NickProtected { .. }
            | CommandError::WrongNickPassword { .. } => ErrorKind::Unauthorized,
            CommandError::Banned { .. } => ErrorKind::Forbidden,
            CommandError::Ended(ended) => ended_kind(&ended.reason),
            CommandError::Certificate { .. } => ErrorKind::Certificate,
            CommandError::Unreachable { .. } | CommandError::Offline(_) => ErrorKind::Network,
            CommandError::Status { status, .. } => ErrorKind::of_status(*status),
            CommandError::Unreadable { .. } => ErrorKind::Server,
            CommandError::UnknownRoom => ErrorKind::NotFound,
            CommandError::NotHosting => ErrorKind::Unavailable,
            CommandError::TooLarge { .. } => ErrorKind::TooLarge,
            CommandError::Host(_)
            | CommandError::Keychain(_)
            | CommandError::Storage(_)
            | CommandError::File(_) => ErrorKind::Local,
        }
    }

    /// Whether the same command may succeed later, unchanged (the client's
    /// rule for server answers: see [`Failure`]).
    pub fn retryable(&self) -> bool {
        match self {
            CommandError::Unreachable { .. }
            | CommandError::Offline(_)
            | CommandError::NotHosting => true,
            CommandError::Status { status, .. } => {
                *status == 408 || *status == 429 || *status >= 500
            }
            _ => false,
        }
    }

    /// The HTTP status, when a server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            CommandError::Status { status, .. } => Some(*status),
            CommandError::SignInRefused(_)
            | CommandError::NickProtected { .. }
            | CommandError::WrongNickPassword { .. } => Some(401),
            CommandError::Banned { .. } => Some(403),
            _ => None,
        }
    }

    /// The server's reason (or the app's same word for a refusal it
    /// recognized), for the UI to branch on: `nick_protected`,
    /// `server_password`, `banned`, `not_protected`, …
    pub fn reason(&self) -> Option<&str> {
        match self {
            CommandError::NickProtected { .. } | CommandError::WrongNickPassword { .. } => {
                Some("nick_protected")
            }
            CommandError::PasswordRequired => Some("server_password"),
            CommandError::Banned { .. } => Some("banned"),
            CommandError::Ended(ended) => Some(&ended.reason),
            CommandError::Status { reason, .. } => reason.as_deref(),
            _ => None,
        }
    }

    /// When a ban ends (RFC 3339), for `banned`.
    pub fn until(&self) -> Option<&str> {
        match self {
            CommandError::Banned { until, .. } => until.as_deref(),
            CommandError::Ended(ended) => ended.until.as_deref(),
            _ => None,
        }
    }

    /// `Retry-After` in whole seconds (rounded up), when the server sent it.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            CommandError::Status {
                retry_after: Some(after),
                ..
            } => Some(after.as_secs() + u64::from(after.subsec_nanos() > 0)),
            _ => None,
        }
    }
}

/// An example of a good address, in every sentence about a bad one.
pub const EXAMPLE_ADDRESS: &str = "http://192.168.1.20:8989";

fn address_sentence(problem: &str) -> String {
    if problem.is_empty() {
        format!("That is not a web address (try {EXAMPLE_ADDRESS}).")
    } else {
        format!("That is not a web address: {problem} (try {EXAMPLE_ADDRESS}).")
    }
}

/// What is wrong with an address, in a person's words, from the URL
/// parser's text (`url::ParseError`'s wording); empty when it says nothing
/// a person could act on.
pub fn address_problem(detail: &str) -> String {
    let detail = detail.to_lowercase();
    let problem = if detail.contains("invalid port") {
        "the port must be a number up to 65535"
    } else if detail.contains("empty host") {
        "it names no computer"
    } else if detail.contains("invalid domain character")
        || detail.contains("invalid international domain")
    {
        "a computer's name has no spaces or symbols"
    } else if detail.contains("invalid ipv4") || detail.contains("invalid ipv6") {
        "that IP address is not complete"
    } else {
        ""
    };
    problem.to_owned()
}

/// Whether a TLS failure is a plain HTTP answer to the TLS handshake.
fn plain_http_answer(detail: &str) -> bool {
    let text = detail.to_lowercase();
    text.contains("corrupt message") || text.contains("invalidcontenttype")
}

/// `host:port` of a base URL (as it was typed when it is no URL).
fn host_port(server: &str) -> (String, String) {
    match url::Url::parse(server) {
        Ok(url) => {
            let host = url.host_str().unwrap_or(server).to_owned();
            let at = match url.port_or_known_default() {
                Some(port) => format!("{host}:{port}"),
                None => host.clone(),
            };
            (host, at)
        }
        Err(_) => (server.to_owned(), server.to_owned()),
    }
}

/// What a person reads when no answer came from `server` (a base URL),
/// from the client's error text, which carries the causes' chain
/// (`error sending request …: client error (Connect): tcp connect error:
/// Connection refused (os error 111)`). The one place network failures
/// are worded: commands, the outbox and the connection state all show it.
pub fn unreachable_sentence(server: &str, detail: &str) -> String {
    let (host, at) = host_port(server);
    let https = server.starts_with("https:");
    let text = detail.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    if has(&["connection refused", "actively refused"]) {
        format!(
            "Nothing answers at {at}: connection refused. Check the address and that the host is running."
        )
    } else if has(&[
        "dns error",
        "failed to lookup address",
        "name or service not known",
        "no address associated",
        "nodename nor servname",
        "no such host",
        "temporary failure in name resolution",
    ]) {
        format!("No computer called {host} was found. Check the address.")
    } else if has(&["timed out", "timeout", "did not answer in time"]) {
        format!(
            "{at} did not answer in time. Check the address, and that you are on the same network as the host."
        )
    } else if has(&[
        "network is unreachable",
        "no route to host",
        "host is unreachable",
    ]) {
        format!(
            "{at} cannot be reached from this computer (no route to it). Are you on the same network?"
        )
    } else if https
        && has(&[
            "corrupt message",
            "invalidcontenttype",
            "invalid content type",
            "wrong version number",
            "peer sent no certificates",
            "invalid message",
        ])
    {
        format!("{at} does not speak HTTPS. Try http://{at} instead.")
    } else if !https
        && has(&[
            "invalid http version",
            "invalid http",
            "http2 error",
            "frame with invalid size",
        ])
    {
        format!("{at} only speaks HTTPS. Try https://{at} instead.")
    } else if has(&[
        "connection reset",
        "broken pipe",
        "connection closed",
        "incomplete message",
        "unexpected eof",
    ]) {
        format!("The connection to {at} was cut. Try again in a moment.")
    } else {
        let cause = detail
            .rsplit(": ")
            .next()
            .unwrap_or(detail)
            .split(" (os error")
            .next()
            .unwrap_or(detail)
            .trim();
        let cause = cause
            .strip_prefix("cannot reach the server: ")
            .unwrap_or(cause);
        format!(
            "Cannot reach {at}: {}. Check the address and that the host is running.",
            cause.to_lowercase()
        )
    }
}

/// Why a stream dropped, for a person: its client's reason (a
/// `ClientError`'s text, or "the server closed the stream") about the
/// server at `server`.
pub fn stream_drop_sentence(server: &str, reason: &str) -> String {
    match reason.strip_prefix("cannot reach the server: ") {
        Some(detail) => unreachable_sentence(server, detail),
        None => {
            let text = capitalize(reason.trim());
            if text.ends_with('.') {
                text
            } else {
                format!("{text}.")
            }
        }
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `{kind, message, retryable, status?, retry_after?, reason?, until?}`.
impl Serialize for CommandError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let status = self.status();
        let retry_after = self.retry_after_secs();
        let reason = self.reason();
        let until = self.until();
        let fields = 3
            + usize::from(status.is_some())
            + usize::from(retry_after.is_some())
            + usize::from(reason.is_some())
            + usize::from(until.is_some());
        let mut out = serializer.serialize_struct("CommandError", fields)?;
        out.serialize_field("kind", &self.kind())?;
        out.serialize_field("message", &self.to_string())?;
        out.serialize_field("retryable", &self.retryable())?;
        match status {
            Some(status) => out.serialize_field("status", &status)?,
            None => out.skip_field("status")?,
        }
        match retry_after {
            Some(secs) => out.serialize_field("retry_after", &secs)?,
            None => out.skip_field("retry_after")?,
        }
        match reason {
            Some(reason) => out.serialize_field("reason", reason)?,
            None => out.skip_field("reason")?,
        }
        match until {
            Some(until) => out.serialize_field("until", until)?,
            None => out.skip_field("until")?,
        }
        out.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status(code: u16, message: &str, retry_after: Option<u64>) -> ClientError {
        ClientError::Status {
            status: reqwest::StatusCode::from_u16(code).unwrap(),
            message: message.into(),
            retry_after: retry_after.map(Duration::from_secs),
            reason: None,
            until: None,
        }
    }

    fn from(err: ClientError) -> serde_json::Value {
        serde_json::to_value(CommandError::from_client("http://10.0.0.2:8989/", err)).unwrap()
    }

    #[test]
    fn errors_cross_ipc_as_a_kind_and_a_sentence() {
        let err = CommandError::from(ValidationError::NickEmpty);
        assert_eq!(
            serde_json::to_value(&err).unwrap(),
            json!({"kind": "invalid", "message": "Nick must not be empty", "retryable": false})
        );
        assert_eq!(
            from(ClientError::Network("connection refused".into())),
            json!({"kind": "network", "retryable": true, "message":
                "Nothing answers at 10.0.0.2:8989: connection refused. Check the address and that the host is running."})
        );
        assert_eq!(
            from(status(429, "slow down", Some(3))),
            json!({"kind": "rate_limited", "retryable": true, "status": 429, "retry_after": 3,
                   "message": "The server said: slow down (too many requests: wait a moment)"})
        );
        assert_eq!(
            from(status(401, "wrong password", None)),
            json!({"kind": "unauthorized", "retryable": false, "status": 401,
                   "message": "The server refused to sign you in: wrong password"})
        );
    }

    /// The client's texts (with their causes) as a person reads them.
    #[test]
    fn network_failures_in_a_persons_words() {
        let said = |server: &str, detail: &str| {
            CommandError::from_client(server, ClientError::Network(detail.into())).to_string()
        };
        assert_eq!(
            said(
                "http://127.0.0.1:1/",
                "error sending request for url (http://127.0.0.1:1/api/info): client error (Connect): tcp connect error: Connection refused (os error 111)"
            ),
            "Nothing answers at 127.0.0.1:1: connection refused. Check the address and that the host is running."
        );
        assert_eq!(
            said(
                "http://nope.invalid:8989/",
                "error sending request for url (http://nope.invalid:8989/api/info): client error (Connect): dns error: failed to lookup address information: Name or service not known"
            ),
            "No computer called nope.invalid was found. Check the address."
        );
        assert_eq!(
            said(
                "http://10.9.9.9:8989/",
                "error sending request for url (http://10.9.9.9:8989/api/info): client error (Connect): operation timed out"
            ),
            "10.9.9.9:8989 did not answer in time. Check the address, and that you are on the same network as the host."
        );
        assert_eq!(
            said(
                "https://10.0.0.2:8989/",
                "error sending request for url (https://10.0.0.2:8989/api/info): client error (Connect): received corrupt message of type InvalidContentType"
            ),
            "10.0.0.2:8989 does not speak HTTPS. Try http://10.0.0.2:8989 instead."
        );
        assert_eq!(
            said(
                "http://10.0.0.2:8989/",
                "error sending request for url (http://10.0.0.2:8989/api/info): client error (SendRequest): invalid HTTP version parsed"
            ),
            "10.0.0.2:8989 only speaks HTTPS. Try https://10.0.0.2:8989 instead."
        );
        assert_eq!(
            said(
                "http://10.0.0.2:8989/",
                "error sending request: client error (Connect): tcp connect error: No route to host (os error 113)"
            ),
            "10.0.0.2:8989 cannot be reached from this computer (no route to it). Are you on the same network?"
        );
        assert_eq!(
            said("http://10.0.0.2:8989/", "timed out opening the stream"),
            "10.0.0.2:8989 did not answer in time. Check the address, and that you are on the same network as the host."
        );
        assert_eq!(
            said("http://h:80/", "something: odd thing (os error 5)"),
            "Cannot reach h:80: odd thing. Check the address and that the host is running."
        );
        assert_eq!(
            stream_drop_sentence(
                "http://127.0.0.1:9/",
                "cannot reach the server: error sending request for url (http://127.0.0.1:9/api/events): client error (Connect): tcp connect error: Connection refused (os error 111)"
            ),
            "Nothing answers at 127.0.0.1:9: connection refused. Check the address and that the host is running."
        );
        assert_eq!(
            stream_drop_sentence("http://h:1/", "the server closed the stream"),
            "The server closed the stream."
        );
        assert_eq!(
            CommandError::from_client(
                "https://10.0.0.2:8989/",
                ClientError::Certificate("the secure connection failed: received corrupt message of type InvalidContentType".into())
            )
            .to_string(),
            "10.0.0.2:8989 does not speak HTTPS. Try http://10.0.0.2:8989 instead."
        );
        // No library wording is left in any of them.
        assert!(
            !said(
                "http://h:1/",
                "error sending request for url (http://h:1/): x: Connection refused"
            )
            .contains("error sending request")
        );
        assert_eq!(
            CommandError::from_client(
                "http://h/",
                ClientError::InvalidUrl("invalid port number".into())
            )
            .to_string(),
            "That is not a web address: the port must be a number up to 65535 (try http://192.168.1.20:8989)."
        );
    }

    fn with_reason(code: u16, message: &str, reason: &str, until: Option<&str>) -> ClientError {
        ClientError::Status {
            status: reqwest::StatusCode::from_u16(code).unwrap(),
            message: message.into(),
            retry_after: None,
            reason: Some(reason.into()),
            until: until.map(str::to_owned),
        }
    }

    #[test]
    fn people_refusals_carry_the_servers_reason() {
        assert_eq!(
            from(with_reason(
                403,
                "you are banned until 2026-12-06T09:00:00Z: spam",
                "banned",
                Some("2026-12-06T09:00:00Z")
            )),
            json!({"kind": "forbidden", "retryable": false, "status": 403, "reason": "banned",
                   "until": "2026-12-06T09:00:00Z",
                   "message": "you are banned until 2026-12-06T09:00:00Z: spam"})
        );
        assert_eq!(
            from(with_reason(
                409,
                "bo is not protected",
                "not_protected",
                None
            )),
            json!({"kind": "conflict", "retryable": false, "status": 409, "reason": "not_protected",
                   "message": "The server said: bo is not protected"})
        );
        let protected =
            serde_json::to_value(CommandError::NickProtected { nick: "ana".into() }).unwrap();
        assert_eq!(protected["kind"], json!("unauthorized"));
        assert_eq!(protected["reason"], json!("nick_protected"));
        assert_eq!(protected["status"], json!(401));
        assert!(
            protected["message"]
                .as_str()
                .unwrap()
                .contains("Pick another nick"),
            "{protected}"
        );
        let ended = from(ClientError::Ended(StreamEnded {
            reason: "superseded".into(),
            error: "this session was replaced by a newer one".into(),
            until: None,
        }));
        assert_eq!(
            ended,
            json!({"kind": "unauthorized", "retryable": false, "reason": "superseded",
                   "message": "This session was replaced by a newer one"})
        );
        let banned = ClientError::Ended(StreamEnded {
            reason: "banned".into(),
            error: "you are banned".into(),
            until: Some("2026-12-06T09:00:00Z".into()),
        });
        assert_eq!(Failure::of(&banned).kind, ErrorKind::Forbidden);
        assert!(!Failure::of(&banned).retryable);
        assert_eq!(from(banned)["until"], json!("2026-12-06T09:00:00Z"));
    }

    #[test]
    fn every_status_has_the_kind_the_ui_expects() {
        // (status, kind, retryable): the table of kindOfStatus in
        // ui/transport-error.js; retryable as ClientError::is_retryable.
        let table = [
            (400, "invalid", false),
            (401, "unauthorized", false),
            (403, "forbidden", false),
            (404, "not_found", false),
            (408, "invalid", true),
            (409, "conflict", false),
            (413, "too_large", false),
            (422, "invalid", false),
            (429, "rate_limited", true),
            (500, "server", true),
            (502, "server", true),
            (503, "unavailable", true),
        ];
        for (code, kind, retryable) in table {
            let client = status(code, "no", None);
            let failure = Failure::of(&client);
            let json = from(client);
            assert_eq!(json["kind"], json!(kind), "{code}");
            assert_eq!(json["retryable"], json!(retryable), "{code}");
            assert_eq!(json["status"], json!(code), "{code}");
            assert_eq!(failure.retryable, retryable, "{code}: the outbox agrees");
            assert_eq!(
                json!(failure.kind),
                json!(kind),
                "{code}: the outbox agrees"
            );
        }
        // A 503 is worth retrying: it must never look refused for good.
        let json = from(status(503, "busy", Some(7)));
        assert_eq!(json["retry_after"], json!(7));
    }

    #[test]
    fn failures_without_a_status_have_their_own_kinds() {
        let cases = [
            (ClientError::Network("reset".into()), "network", true),
            (ClientError::Protocol("not JSON".into()), "server", false),
            (
                ClientError::Certificate("self-signed".into()),
                "certificate",
                false,
            ),
            (ClientError::InvalidUrl("ftp".into()), "invalid", false),
        ];
        for (client, kind, retryable) in cases {
            let failure = Failure::of(&client);
            let json = from(client);
            assert_eq!(json["kind"], json!(kind));
            assert_eq!(json["retryable"], json!(retryable));
            assert_eq!(failure.retryable, retryable);
            assert!(json.get("status").is_none(), "{json}");
        }
        let local = [
            (CommandError::UnknownRoom, "not_found", false),
            (CommandError::NotHosting, "unavailable", true),
            (CommandError::Offline("down".into()), "network", true),
            (CommandError::PasswordRequired, "unauthorized", false),
            (CommandError::Keychain("locked".into()), "local", false),
            (CommandError::Storage("full".into()), "local", false),
            (CommandError::Host("port".into()), "local", false),
            (CommandError::BadInput("no".into()), "invalid", false),
            (
                CommandError::TooLarge {
                    name: "a.bin".into(),
                    size: 2048,
                    max: 1024,
                },
                "too_large",
                false,
            ),
            (CommandError::File("cannot read x".into()), "local", false),
        ];
        for (err, kind, retryable) in local {
            let json = serde_json::to_value(&err).unwrap();
            assert_eq!(json["kind"], json!(kind), "{err}");
            assert_eq!(json["retryable"], json!(retryable), "{err}");
            assert_eq!(json["message"], json!(err.to_string()));
        }
    }
}
