//! The broker: stores messages, fans them out to live subscribers, serves
//! history and presence. One trait, one implementation per backend.
//!
//! - [`embedded`]: in-process fan-out with history in SQLite (the default).
//! - [`redis`]: Redis Streams for history, one pub/sub subscription per node
//!   for fan-out, so many nodes share rooms.
//!
//! What a node keeps of a room in memory (local subscribers, the cache of
//! newest messages, local presence) is the same for both: [`room`]; so is
//! how a subscriber joins its rooms and stays online: [`presence`].
//!
//! Everything a cluster must agree on lives behind this trait: log ids (one
//! id per entry of a room's log, a message's being its message id, on every
//! node), idempotency keys (keyed by owner and `client_id`: the session, or
//! a protected nick: [`crate::auth::Claims::owner`]), presence.
//! HTTP handlers only see [`Broker`]. What a change to a message does, on
//! either backend, is decided in one place: [`log`].
//!
//! Fan-out shares [`SharedEvent`]s: each event's SSE frame is encoded once
//! and the same bytes go to every subscriber.

pub mod embedded;
mod event;
pub mod log;
mod presence;
pub mod redis;
mod room;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use hearth_proto::{
    ClientId, Emoji, FileId, FileInfo, Message, MessageId, MessageText, Nick, RoomName, RoomSummary,
};
use serde::{Deserialize, Serialize};

use crate::search::{RoomScope, SearchQuery};

pub use event::{SharedEvent, SharedKind};

/// Idempotency keys are kept at least this long (the protocol asks 24 h), by
/// every backend.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(48 * 3600);

/// Why the broker could not do what was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BrokerError {
    /// The store cannot be reached or written right now; retrying may work.
    #[error("broker unavailable: {0}")]
    Unavailable(String),
    /// The session already used this `client_id` for a message in another
    /// room.
    #[error("client_id already used in room {room}")]
    ClientIdReused { room: RoomName },
    /// The message named is not one of the room's (unknown, deleted, or
    /// of another room).
    #[error("no such message in this room")]
    NoSuchMessage,
    /// The session's nick is not the message's author.
    #[error("only its author may change this message")]
    NotYours,
    /// `reply_to` names no message of the room.
    #[error("reply_to names no message of this room")]
    BadReply,
    /// An edit would leave a message with neither text nor files.
    #[error("message text must not be empty")]
    EmptyText,
    /// A post names an upload that does not exist or that another session
    /// made (the text says which).
    #[error("{0}")]
    BadFiles(String),
    /// A bug or an unexpected state.
    #[error("broker failure: {0}")]
    Internal(String),
}

/// A message to store and fan out.
#[derive(Debug, Clone)]
pub struct Post {
    pub room: RoomName,
    pub nick: Nick,
    pub text: MessageText,
    /// Who owns the post ([`crate::auth::Claims::owner`]: the session id,
    /// or `nick:<key>` for a protected nick): idempotency is per owner.
    pub session: String,
    pub client_id: Option<ClientId>,
    /// The message (of the same room) this one answers.
    pub reply_to: Option<MessageId>,
    /// Uploads the message shares (at most
    /// [`hearth_proto::MAX_FILES_PER_MESSAGE`], each made by `session`; the
    /// broker checks). Empty for a plain message; `text` may be empty when
    /// it is not.
    pub files: Vec<FileId>,
}

/// What the broker keeps about an upload: its description, and who made it.
/// The bytes themselves are in the file store ([`crate::files`]), under the
/// id, and were durable before the record was added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub id: FileId,
    pub name: String,
    pub size: u64,
    /// The type decided from the bytes.
    pub content_type: String,
    /// Pixels, for an image whose thumbnail was made.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// The thumbnail's type (`image/jpeg` or `image/png`), when there is one.
    pub thumb_type: Option<String>,
    /// SHA-256 of the bytes, hex: the `ETag`.
    pub sha256: String,
    /// The owner that uploaded it ([`crate::auth::Claims::owner`]): only it
    /// may share it in a message.
    pub session: String,
    /// When the upload was stored (ms since the Unix epoch): an upload no
    /// message refers to is removed 24 h after this.
    pub created_ms: i64,
}

impl FileRecord {
    /// The upload as messages and `POST /api/files` show it.
    pub fn info(&self) -> FileInfo {
        let id = self.id.as_str();
        let image = self.thumb_type.is_some();
        FileInfo {
            id: id.to_owned(),
            name: self.name.clone(),
            size: self.size,
            content_type: self.content_type.clone(),
            url: FileInfo::url_for(id),
            width: self.width.filter(|_| image),
            height: self.height.filter(|_| image),
            thumb_url: image.then(|| FileInfo::thumb_url_for(id)),
        }
    }
}

/// A change to a stored message: the log's `edit`, `delete` and `reaction`
/// entries. The rules that decide them are in [`log`].
#[derive(Debug, Clone)]
pub struct Change {
    pub room: RoomName,
    /// The message changed.
    pub id: MessageId,
    /// Who asks (the session's nick).
    pub nick: Nick,
    pub what: ChangeKind,
    /// Asked by an admin: may delete anyone's message (never edit it).
    pub moderator: bool,
}

/// What a [`Change`] does.
#[derive(Debug, Clone)]
pub enum ChangeKind {
    /// The author replaces the text.
    Edit(MessageText),
    /// The author deletes the message.
    Delete,
    /// Someone adds (`add`) or removes a reaction.
    React { emoji: Emoji, add: bool },
}

/// What applying a [`Change`] did; both carry the message after it.
#[derive(Debug, Clone)]
pub enum Changed {
    /// A log entry was appended (and handed to the room's subscribers).
    Applied(Message),
    /// Nothing changed (a repeat): no entry.
    Unchanged(Message),
}

impl Changed {
    pub fn message(self) -> Message {
        match self {
            Changed::Applied(m) | Changed::Unchanged(m) => m,
        }
    }
}
/// What storing a post did.
#[derive(Debug, Clone)]
pub enum Posted {
    /// Stored now (and already handed to the room's subscribers): `201`.
    Created(Message),
    /// A repeat of an earlier post of the same session and `client_id`:
    /// nothing was stored or sent again: `200` with the original.
    Repeated(Message),
}

/// Where a stream starts in one room.
#[derive(Debug, Clone)]
pub struct RoomRequest {
    pub room: RoomName,
    /// The last id the client saw; `None` for a fresh start.
    pub resume_from: Option<MessageId>,
    /// Whether the subscriber counts as online in this room (a client that
    /// follows other rooms only for unread counts is not "in" them).
    pub present: bool,
}

/// A request to follow one or more rooms.
#[derive(Debug, Clone)]
pub struct SubscribeRequest {
    pub rooms: Vec<RoomRequest>,
    /// How many of the newest messages a fresh start replays.
    pub replay: usize,
    /// Counted as online in every room while the subscription lives; `None`
    /// for an anonymous reader.
    pub nick: Option<Nick>,
}

/// Stored entries to send before the live ones.
pub type ReplayStream = BoxStream<'static, Result<Arc<SharedEvent>, BrokerError>>;

/// One item of a live subscription.
#[derive(Debug, Clone)]
pub enum Live {
    Event(Arc<SharedEvent>),
    /// The subscriber fell too far behind; the stream must end (the client
    /// resumes with `Last-Event-ID`).
    Lagged,
}

/// Live events of every room of a subscription, in each room's order.
pub type LiveStream = BoxStream<'static, Live>;

/// How one room of a subscription starts.
pub struct RoomStart {
    pub room: RoomName,
    /// Entries to replay, oldest first: on a resume, every entry after the
    /// id; on a fresh start, the newest messages in their current state.
    pub replay: ReplayStream,
    /// True when the requested id was found and nothing after it is missing.
    pub resumed: bool,
    /// The id the replay continues from, when `resumed`.
    pub resumed_from: Option<MessageId>,
    /// On a fresh start, the newest log id its replay covers (the room's
    /// head then): where the stream stands even when it replays fewer
    /// messages than exist, and `ready.last_id`.
    pub head: Option<MessageId>,
    /// Distinct nicks online in the room, the subscriber included.
    pub online: Vec<String>,
}

/// A live subscription. Dropping it ends the subscriber's presence.
pub struct Subscription {
    pub rooms: Vec<RoomStart>,
    /// How many messages a fresh start was asked to replay (`0`: none, and
    /// `ready.last_id` is then `null`).
    pub replay: usize,
    /// Live events. Messages may repeat ones already replayed (ids at or
    /// below the last replayed one): the reader skips those.
    pub live: LiveStream,
    /// Keeps the subscriber counted as online until dropped.
    pub presence: Box<dyn Send + Sync>,
}

/// The storage and fan-out backend of a server.
#[async_trait]
pub trait Broker: Send + Sync + 'static {
    /// Stores a message (durably, before answering) and fans it out.
    async fn post(&self, post: Post) -> Result<Posted, BrokerError>;

    /// Edits, deletes or reacts to a stored message: appends the log entry
    /// and fans it out, or changes nothing when it would change nothing.
    async fn change(&self, change: Change) -> Result<Changed, BrokerError>;

    /// Tells the room's other streams that `nick` is typing (not stored).
    async fn typing(&self, room: &RoomName, nick: &Nick) -> Result<(), BrokerError>;

    /// Follows rooms from where the client left off; joins the subscriber's
    /// nick to each room's presence.
    async fn subscribe(&self, request: SubscribeRequest) -> Result<Subscription, BrokerError>;

    /// Up to `limit` messages before the message `before` (or the newest),
    /// oldest first, in their current state (deleted ones left out).
    async fn history(
        &self,
        room: &RoomName,
        before: Option<MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, BrokerError>;

    /// Up to `limit` messages after the message `after`, oldest first, in
    /// their current state (deleted ones left out): the history that follows
    /// a message (the `after` extension of `GET .../messages`).
    async fn history_after(
        &self,
        room: &RoomName,
        after: MessageId,
        limit: usize,
    ) -> Result<Vec<Message>, BrokerError>;

    /// Up to `limit` messages matching `query`, newest first, in their
    /// current state (deleted ones never): in the rooms of `rooms`,
    /// older than the message `before` when given. See [`crate::search`].
    async fn search(
        &self,
        query: &SearchQuery,
        rooms: &RoomScope,
        before: Option<MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, BrokerError>;

    /// Every room that exists, with online counts and last ids.
    async fn rooms(&self) -> Result<Vec<RoomSummary>, BrokerError>;

    /// `Ok` when the broker can accept and deliver messages.
    async fn health(&self) -> Result<(), BrokerError>;

    /// Records an upload whose bytes are already durable in the file store
    /// (on every node of a cluster).
    async fn add_file(&self, file: FileRecord) -> Result<(), BrokerError>;

    /// The record of an upload, `None` when there is none (never made, or
    /// swept).
    async fn file(&self, id: &FileId) -> Result<Option<FileRecord>, BrokerError>;

    /// The rooms of the messages that share upload `id` (who may download
    /// it follows from them: see `routes::files`).
    async fn file_rooms(&self, id: &FileId) -> Result<Vec<RoomName>, BrokerError>;

    /// Forgets every upload created before `cutoff_ms` that no retained,
    /// undeleted message refers to, and returns their ids: the caller
    /// removes their bytes. An upload a message refers to is never
    /// returned, even when the post and the sweep race (a post that names
    /// an upload the sweep forgot gets [`BrokerError::BadFiles`]).
    async fn sweep_files(&self, cutoff_ms: i64) -> Result<Vec<FileId>, BrokerError>;
}
