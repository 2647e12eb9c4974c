//! The room log's writes (protocol v1.1): editing and deleting a message,
//! adding and removing reactions, and typing notices.
//!
//! - `PATCH /api/rooms/{room}/messages/{id}` → `200`, the edited message
//! - `DELETE /api/rooms/{room}/messages/{id}` → `204`
//! - `PUT` / `DELETE /api/rooms/{room}/messages/{id}/reactions/{emoji}` → `204`
//! - `POST /api/rooms/{room}/typing` → `204`
//!
//! An id that is not an id names no message: `404`, as for an unknown one;
//! so does a DM room of others ([`crate::dm`]). An admin may delete any
//! message.
//! Who may do what, and what a repeat does, is [`crate::broker::log`]'s.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hearth_proto::{EditRequest, Emoji, MessageId, MessageText, RoomName};

use super::{ApiJson, ApiPath};
use crate::auth::{Claims, Session};
use crate::broker::{BrokerError, Change, ChangeKind};
use crate::dm;
use crate::error::ApiError;
use crate::net::PeerAddr;
use crate::state::AppState;

/// The room and message a path names (a DM room of others names nothing).
async fn target(
    state: &AppState,
    claims: &Claims,
    room: &str,
    id: &str,
) -> Result<(RoomName, MessageId), ApiError> {
    let room = dm::room_in_path(state, claims, room).await?;
    let id = id
        .parse::<MessageId>()
        .map_err(|_| ApiError::from(BrokerError::NoSuchMessage))?;
    Ok((room, id))
}

pub async fn edit_message(
    State(state): State<AppState>,
    peer: PeerAddr,
    ApiPath((room, id)): ApiPath<(String, String)>,
    Session(claims): Session,
    ApiJson(request): ApiJson<EditRequest>,
) -> Result<Response, ApiError> {
    let (room, id) = target(&state, &claims, &room, &id).await?;
    state.limits.check_post(Some(&claims.sid), peer.ip())?;
    // Empty only for a message that shares files (the log's rules check).
    let text = MessageText::parse_caption(&request.text)?;
    let change = Change {
        room,
        id,
        nick: claims.nick,
        what: ChangeKind::Edit(text),
        moderator: false,
    };
    let message = state.broker.change(change).await?.message();
    Ok(axum::Json(message).into_response())
}

pub async fn delete_message(
    State(state): State<AppState>,
    peer: PeerAddr,
    ApiPath((room, id)): ApiPath<(String, String)>,
    Session(claims): Session,
) -> Result<Response, ApiError> {
    let (room, id) = target(&state, &claims, &room, &id).await?;
    state.limits.check_post(Some(&claims.sid), peer.ip())?;
    // An admin may delete anyone's message.
    let moderator = state.is_admin(&claims);
    let change = Change {
        room,
        id,
        nick: claims.nick,
        what: ChangeKind::Delete,
        moderator,
    };
    state.broker.change(change).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A reaction's path: room, message id, emoji. A segment that does not
/// decode (bad percent-encoding, not UTF-8) is a bad emoji: `400`.
type ReactionPath = Result<Path<(String, String, String)>, PathRejection>;

pub async fn add_reaction(
    state: State<AppState>,
    peer: PeerAddr,
    session: Session,
    path: ReactionPath,
) -> Result<Response, ApiError> {
    react(state, peer, path, session, true).await
}

pub async fn remove_reaction(
    state: State<AppState>,
    peer: PeerAddr,
    session: Session,
    path: ReactionPath,
) -> Result<Response, ApiError> {
    react(state, peer, path, session, false).await
}

async fn react(
    State(state): State<AppState>,
    peer: PeerAddr,
    path: ReactionPath,
    Session(claims): Session,
    add: bool,
) -> Result<Response, ApiError> {
    let Path((room, id, emoji)) =
        path.map_err(|_| ApiError::from(hearth_proto::ValidationError::Emoji))?;
    let (room, id) = target(&state, &claims, &room, &id).await?;
    // The path is percent-decoded already.
    let emoji = Emoji::parse(&emoji)?;
    state.limits.check_post(Some(&claims.sid), peer.ip())?;
    let change = Change {
        room,
        id,
        nick: claims.nick,
        what: ChangeKind::React { emoji, add },
        moderator: false,
    };
    state.broker.change(change).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn typing(
    State(state): State<AppState>,
    ApiPath(room): ApiPath<String>,
    Session(claims): Session,
) -> Result<Response, ApiError> {
    let room = dm::room_in_path(&state, &claims, &room).await?;
    if state.limits.admit_typing(&claims.sid) {
        state.broker.typing(&room, &claims.nick).await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
