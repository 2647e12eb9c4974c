//! Rooms: `/api/info`, `/api/rooms`, history (with the `after` extension),
//! and posting (with `reply_to`, v1.1). A DM room is only its two
//! people's: never listed to others, `404` to them ([`crate::dm`]).

use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hearth_proto::{
    AuthMode, ClientId, DEFAULT_HISTORY_LIMIT, FileId, MAX_FILES_PER_MESSAGE, MAX_HISTORY_LIMIT,
    MAX_TEXT_CHARS, MessageId, MessageText, PROTOCOL_VERSION, PostRequest, RoomName, RoomSummary,
    ServerInfo,
};
use serde::Deserialize;

use super::{ApiJson, ApiPath, ApiQuery};
use crate::auth::Session;
use crate::broker::{BrokerError, Post, Posted};
use crate::dm;
use crate::error::ApiError;
use crate::net::PeerAddr;
use crate::nicks;
use crate::state::AppState;

/// The parts of protocol v1.1 this server has, on every backend.
pub const FEATURES: &[&str] = &["log", "files", "nicks", "dm", "moderation", "search"];

pub async fn server_info(
    State(state): State<AppState>,
) -> Result<axum::Json<ServerInfo>, ApiError> {
    let rooms = state.broker.rooms().await?;
    Ok(axum::Json(ServerInfo {
        name: state.config.name.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        auth: if state.password.is_some() {
            AuthMode::Password
        } else {
            AuthMode::None
        },
        rooms: rooms
            .into_iter()
            .map(|r| r.room)
            .filter(|room| !dm::is_dm(room))
            .collect(),
        default_room: RoomName::default_room(),
        max_text_chars: MAX_TEXT_CHARS,
        protocol: Some(PROTOCOL_VERSION.to_owned()),
        features: FEATURES.iter().map(|f| (*f).to_owned()).collect(),
        max_file_bytes: Some(state.config.max_file_bytes),
    }))
}

/// Every room but the DM rooms, then the session's own DM rooms, each with
/// `dm`: the other person's nick.
pub async fn list_rooms(
    State(state): State<AppState>,
    Session(claims): Session,
) -> Result<Response, ApiError> {
    let all = state.broker.rooms().await?;
    let own = dm::own_dms(&state, &claims).await?;
    let key = nicks::key(&claims.nick);
    let mut listed: Vec<RoomSummary> = all
        .iter()
        .filter(|summary| !dm::is_dm(&summary.room))
        .cloned()
        .collect();
    for pair in own {
        let mut summary = all
            .iter()
            .find(|summary| summary.room == pair.room)
            .cloned()
            .unwrap_or_else(|| RoomSummary {
                room: pair.room.clone(),
                online: 0,
                last_id: None,
                dm: None,
            });
        summary.dm = Some(pair.other(&key).nick.clone());
        listed.push(summary);
    }
    Ok(axum::Json(listed).into_response())
}

#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    before: Option<String>,
    /// Extension: the messages after this id, oldest first.
    after: Option<String>,
    limit: Option<usize>,
}

pub async fn room_history(
    State(state): State<AppState>,
    ApiPath(room): ApiPath<String>,
    Session(claims): Session,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<Response, ApiError> {
    let room = dm::room_in_path(&state, &claims, &room).await?;
    let id = |raw: String, name: &str| {
        raw.parse::<MessageId>()
            .map_err(|_| ApiError::BadRequest(format!("{name} is not a valid message id")))
    };
    let before = query.before.map(|raw| id(raw, "before")).transpose()?;
    let after = query.after.map(|raw| id(raw, "after")).transpose()?;
    let limit = query
        .limit
        .unwrap_or(DEFAULT_HISTORY_LIMIT)
        .min(MAX_HISTORY_LIMIT);
    let messages = match (before, after) {
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest(
                "before and after cannot be used together".into(),
            ));
        }
        (_, Some(after)) => state.broker.history_after(&room, after, limit).await?,
        (before, None) => state.broker.history(&room, before, limit).await?,
    };
    Ok(axum::Json(messages).into_response())
}

pub async fn post_message(
    State(state): State<AppState>,
    peer: PeerAddr,
    ApiPath(room): ApiPath<String>,
    Session(claims): Session,
    ApiJson(request): ApiJson<PostRequest>,
) -> Result<Response, ApiError> {
    let room = dm::room_in_path(&state, &claims, &room).await?;
    state.limits.check_post(Some(&claims.sid), peer.ip())?;
    let files = parse_file_ids(&request.files)?;
    let text = if files.is_empty() {
        MessageText::parse(&request.text)?
    } else {
        MessageText::parse_caption(&request.text)?
    };
    let client_id = request
        .client_id
        .as_deref()
        .map(ClientId::parse)
        .transpose()?;
    let reply_to = request
        .reply_to
        .as_deref()
        .map(|raw| raw.parse::<MessageId>().map_err(|_| BrokerError::BadReply))
        .transpose()?;
    // Idempotency keys: per nick for a protected nick, else per session.
    let owner = claims.owner();
    let post = Post {
        room,
        nick: claims.nick,
        text,
        session: owner,
        client_id,
        reply_to,
        files,
    };
    let started = Instant::now();
    let posted = state.broker.post(post).await?;
    state
        .metrics
        .broker_post_seconds
        .observe(started.elapsed().as_secs_f64());
    Ok(match posted {
        Posted::Created(message) => {
            state.metrics.messages_in.inc();
            (StatusCode::CREATED, axum::Json(message)).into_response()
        }
        Posted::Repeated(message) => {
            state.metrics.messages_repeated.inc();
            (StatusCode::OK, axum::Json(message)).into_response()
        }
    })
}

/// The `files` of a post: at most [`MAX_FILES_PER_MESSAGE`] distinct upload
/// ids (whether they exist and are the session's is the broker's check).
fn parse_file_ids(raw: &[String]) -> Result<Vec<FileId>, ApiError> {
    if raw.len() > MAX_FILES_PER_MESSAGE {
        return Err(ApiError::BadRequest(format!(
            "a message may share at most {MAX_FILES_PER_MESSAGE} files"
        )));
    }
    let mut ids: Vec<FileId> = Vec::with_capacity(raw.len());
    for id in raw {
        let id = FileId::parse(id)
            .map_err(|_| ApiError::BadRequest(format!("files: {id:?} is not an upload id")))?;
        if ids.contains(&id) {
            return Err(ApiError::BadRequest(format!("files: {id} is named twice")));
        }
        ids.push(id);
    }
    Ok(ids)
}
