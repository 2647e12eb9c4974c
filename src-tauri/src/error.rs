//! `CommandError`: every way a command of the app can fail, each written as a
//! sentence for the person using the app.
//!
//! Commands return `Result<T, CommandError>`; the error crosses IPC as that
//! sentence (a hand-written `Serialize`, as `plugins-workspace:
//! plugins/store/src/error.rs` does), so the JS promise rejects with text the
//! UI can show as is. Causes that only a developer needs go to the log.

use hearth_client::ClientError;
use hearth_proto::ValidationError;
use serde::{Serialize, Serializer};

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// An input broke one of the protocol's rules (room name, nick, text…).
    #[error("{}", capitalize(&.0.to_string()))]
    Invalid(#[from] ValidationError),
    /// Some other input the app cannot use; the text says which and why.
    #[error("{0}")]
    BadInput(String),
    /// The address pasted is not a server address.
    #[error(
        "That is not a Hearth address ({0}). Paste something like http://192.168.1.20:8989, http://host:8989/r/general or host:8989."
    )]
    Address(String),
    /// The server wants a password and none was given.
    #[error("This room needs a password. Ask the host for it.")]
    PasswordRequired,
    /// The server refused the password (or the sign-in).
    #[error("The server refused to sign you in: {0}")]
    SignInRefused(String),
    /// The server's TLS certificate was refused.
    #[error("Cannot trust {server}: {detail}.")]
    Certificate { server: String, detail: String },
    /// The server could not be reached.
    #[error("Cannot reach {server}: {detail}. Check the address and that the host is running.")]
    Unreachable { server: String, detail: String },
    /// The server answered with an error.
    #[error("The server said: {0}")]
    Server(String),
    /// No saved room has that id (it was forgotten, or never joined).
    #[error("That room is not in your saved rooms any more.")]
    UnknownRoom,
    /// The room's server cannot be used right now (hosting stopped, signed out…).
    #[error("{0}")]
    Offline(String),
    /// Hosting could not start or stop.
    #[error("Hosting failed: {0}")]
    Host(String),
    /// The OS keychain failed.
    #[error("The system keychain failed: {0}")]
    Keychain(String),
    /// A settings or outbox file could not be read or written.
    #[error("Could not save to disk: {0}")]
    Storage(String),
}

impl CommandError {
    /// Turns a client error into a sentence about the server at `server`.
    pub fn from_client(server: &str, err: ClientError) -> Self {
        match err {
            ClientError::Network(detail) => CommandError::Unreachable {
                server: server.to_owned(),
                detail,
            },
            ClientError::InvalidUrl(detail) => CommandError::Address(detail),
            ClientError::Certificate(detail) => CommandError::Certificate {
                server: server.to_owned(),
                detail,
            },
            ClientError::Protocol(detail) => CommandError::Server(format!(
                "an answer this app cannot read ({detail}); is {server} a Hearth server?"
            )),
            ClientError::Status {
                status, message, ..
            } => match status.as_u16() {
                401 => CommandError::SignInRefused(message),
                429 => {
                    CommandError::Server(format!("{message} (too many requests: wait a moment)"))
                }
                _ => CommandError::Server(message),
            },
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

impl Serialize for CommandError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_cross_ipc_as_one_sentence() {
        let err = CommandError::from(ValidationError::NickEmpty);
        assert_eq!(
            serde_json::to_value(&err).unwrap(),
            serde_json::json!("Nick must not be empty")
        );
        let err = CommandError::from_client(
            "http://10.0.0.2:8989/",
            ClientError::Network("connection refused".into()),
        );
        assert_eq!(
            err.to_string(),
            "Cannot reach http://10.0.0.2:8989/: connection refused. Check the address and that the host is running."
        );
    }
}
