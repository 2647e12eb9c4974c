//! Hearth's room protocol, spelled out once.
//!
//! Every party that speaks the protocol (the server, the Rust client, the
//! desktop app and, through identical JSON, the web client) uses these types,
//! so a field is named and validated in exactly one place.
//!
//! # Layout
//!
//! - [`validate`]: the rules for room names, nicks, message text and client
//!   ids, each as a parsed newtype ([`RoomName`], [`Nick`], [`MessageText`],
//!   [`ClientId`]) whose constructor is the only way in.
//! - [`id`]: message ids ([`MessageId`]) and the multi-room stream cursor
//!   ([`Cursor`]).
//! - [`wire`]: request and response bodies and the events of a stream
//!   ([`StreamEvent`]).
//! - [`log`]: the room log (v1.1): its entries ([`LogEntry`]), how they fold
//!   into messages' current state, and the mention rule.
//! - [`sse`]: Server-Sent Events framing: the encoder the server uses and the
//!   event parser clients use.
//!
//! This crate has no async runtime or HTTP dependency on purpose: it is data
//! and rules only.

pub mod fingerprint;
pub mod id;
pub mod log;
pub mod sse;
pub mod validate;
pub mod wire;

pub use fingerprint::CertFingerprint;
pub use id::{Cursor, MessageId};
pub use log::{EntryKind, LogEntry};
pub use validate::{
    ClientId, Emoji, FileId, FileName, MessageText, Nick, RoomName, ValidationError,
};
pub use wire::{
    AuthMode, Ban, BanRequest, Deleted, DmRequest, DmResponse, EditRequest, ErrorBody, FileInfo,
    Message, PostRequest, Presence, PresenceChange, Reaction, Ready, ReplyTo, RoomSummary,
    ServerInfo, SessionRequest, SessionResponse, StreamEnded, StreamEvent, Typing,
};

/// The port the original chat room listened on, and Hearth's default.
pub const DEFAULT_PORT: u16 = 8989;
/// The room clients open when none is named.
pub const DEFAULT_ROOM: &str = "general";
/// The most characters (Unicode scalar values) a message text may have.
pub const MAX_TEXT_CHARS: usize = 4000;
/// The most characters a nick may have, after trimming.
pub const MAX_NICK_CHARS: usize = 32;
/// How many messages a stream replays when it has nothing to resume from.
pub const DEFAULT_REPLAY: usize = 50;
/// The most messages one history request returns.
pub const MAX_HISTORY_LIMIT: usize = 500;
/// How many messages one history request returns when it names no limit.
pub const DEFAULT_HISTORY_LIMIT: usize = 50;
/// The most rooms one multi-room stream may follow.
pub const MAX_STREAM_ROOMS: usize = 50;
/// The reconnect delay (ms) a stream asks of EventSource clients.
pub const RETRY_MS: u64 = 2000;
/// The most characters a reaction's emoji may have.
pub const MAX_EMOJI_CHARS: usize = 16;
/// The most characters an uploaded file's name may have.
pub const MAX_FILE_NAME_CHARS: usize = 255;
/// The default upload size limit (25 MiB); a server reports its own in
/// `/api/info` as `max_file_bytes`.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 25 * 1024 * 1024;
/// The most uploads one message may refer to.
pub const MAX_FILES_PER_MESSAGE: usize = 10;
/// The longer side of a thumbnail, at most.
pub const THUMB_MAX_SIDE: u32 = 320;
/// How many characters of the replied-to text a reply quotes.
pub const REPLY_QUOTE_CHARS: usize = 200;
/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: &str = "1.1";
