//! The REST calls the UI makes through Rust, with a saved room's session:
//! the server's info, the room list, history pages, one direct post, and
//! the room log's writes (edit, delete, reactions, typing). A refused token is
//! renewed once (signing in again with the kept password) and the call
//! repeated.

use hearth_client::{Client, ClientError};
use hearth_proto::{Emoji, Message, MessageId, MessageText, RoomName, RoomSummary, ServerInfo};
use serde::Serialize;

use super::Rooms;
use crate::error::CommandError;

/// What one direct post answers.
#[derive(Debug, Clone, Serialize)]
pub struct PostResult {
    pub message: Message,
    /// The server had this `client_id` already (`200`, nothing new stored).
    pub repeated: bool,
}

/// A message id the UI sent.
pub(crate) fn message_id(raw: &str) -> Result<MessageId, CommandError> {
    raw.parse::<MessageId>()
        .map_err(|_| CommandError::BadInput(format!("{raw:?} is not a message id.")))
}

impl Rooms {
    /// Runs a call with the room's session; if the token is refused, signs
    /// in again once and repeats it.
    pub(crate) async fn with_session<T, F, Fut>(
        &self,
        room_id: &str,
        call: F,
    ) -> Result<T, CommandError>
    where
        F: Fn(Client, RoomName) -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        let target = self.target(room_id)?;
        let label = target.key.label().to_owned();
        match call(target.client, target.room.clone()).await {
            Err(e) if e.status().map(|s| s.as_u16()) == Some(401) => {
                let client = self.reauth(&target.key).await?;
                call(client, target.room)
                    .await
                    .map_err(|e| CommandError::from_client(&label, e))
            }
            other => other.map_err(|e| CommandError::from_client(&label, e)),
        }
    }

    /// `GET /api/info` on the room's server, with the connection's client
    /// (which trusts the certificate pinned for it).
    pub async fn info(&self, room_id: &str) -> Result<ServerInfo, CommandError> {
        self.with_session(room_id, |client, _| async move { client.info().await })
            .await
    }

    /// `GET /api/rooms` on the room's server.
    pub async fn list(&self, room_id: &str) -> Result<Vec<RoomSummary>, CommandError> {
        self.with_session(room_id, |client, _| async move { client.rooms().await })
            .await
    }

    /// `GET /api/rooms/{room}/messages`: up to `limit` messages before
    /// `before` (or the newest), oldest first.
    pub async fn history(
        &self,
        room_id: &str,
        before: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<Message>, CommandError> {
        let before = before.map(message_id).transpose()?;
        if let Some(limit) = limit
            && !(1..=hearth_proto::MAX_HISTORY_LIMIT).contains(&limit)
        {
            return Err(CommandError::BadInput(format!(
                "Ask for 1 to {} messages at a time.",
                hearth_proto::MAX_HISTORY_LIMIT
            )));
        }
        self.with_session(room_id, |client, room| async move {
            client.history(&room, before, limit).await
        })
        .await
    }

    /// One `POST /api/rooms/{room}/messages` with `client_id`, no retry and
    /// no outbox (the composer goes through the outbox instead).
    pub async fn post_once(
        &self,
        room_id: &str,
        text: &str,
        client_id: &str,
    ) -> Result<PostResult, CommandError> {
        let text = MessageText::parse(text)?;
        let client_id = hearth_proto::ClientId::parse(client_id)?;
        let posted = self
            .with_session(room_id, |client, room| {
                let (text, client_id) = (text.clone(), client_id.clone());
                async move { client.post(&room, text.as_str(), client_id.as_str()).await }
            })
            .await?;
        Ok(PostResult {
            message: posted.message,
            repeated: !posted.created,
        })
    }

    /// `PATCH .../messages/{id}`: the author changes a message's text;
    /// answers the edited message.
    pub async fn edit(
        &self,
        room_id: &str,
        message_id_raw: &str,
        text: &str,
    ) -> Result<Message, CommandError> {
        let id = message_id(message_id_raw)?;
        let text = MessageText::parse(text)?;
        self.with_session(room_id, |client, room| {
            let text = text.clone();
            async move { client.edit(&room, id, text.as_str()).await }
        })
        .await
    }

    /// `DELETE .../messages/{id}`: the author deletes a message (again:
    /// nothing changes).
    pub async fn delete(&self, room_id: &str, message_id_raw: &str) -> Result<(), CommandError> {
        let id = message_id(message_id_raw)?;
        self.with_session(room_id, |client, room| async move {
            client.delete(&room, id).await
        })
        .await
    }

    /// Adds (`on`) or removes the session's reaction `emoji` to a message.
    pub async fn set_reaction(
        &self,
        room_id: &str,
        message_id_raw: &str,
        emoji: &str,
        on: bool,
    ) -> Result<(), CommandError> {
        let id = message_id(message_id_raw)?;
        let emoji = Emoji::parse(emoji)?;
        self.with_session(room_id, |client, room| {
            let emoji = emoji.clone();
            async move {
                if on {
                    client.react(&room, id, emoji.as_str()).await
                } else {
                    client.unreact(&room, id, emoji.as_str()).await
                }
            }
        })
        .await
    }

    /// `POST .../typing`: the room's other streams hear the session's nick
    /// is typing.
    pub async fn typing(&self, room_id: &str) -> Result<(), CommandError> {
        self.with_session(
            room_id,
            |client, room| async move { client.typing(&room).await },
        )
        .await
    }
}
