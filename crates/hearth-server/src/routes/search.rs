//! Search (protocol v1.1): `GET /api/search?q=&rooms=a,b&limit=&before=` →
//! the messages, in their current state, whose text holds every term of `q`
//! (ignoring case and diacritics, as substrings), newest first.
//!
//! `q`: 1 to [`MAX_QUERY_CHARS`](crate::search::MAX_QUERY_CHARS)
//! characters with at least one term, else `400`; `limit`: default
//! [`DEFAULT_LIMIT`], at most [`MAX_LIMIT`] (more is capped), `0` is `400`;
//! `before`: a message id (the next page starts below the last result's
//! id); `rooms`: comma-separated room names (at most [`MAX_ROOMS`]). Which rooms a session may search at all is
//! [`readable_rooms`]'s to say. The matching itself is [`crate::search`]'s.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use hearth_proto::{MessageId, RoomName};
use serde::Deserialize;

use super::ApiQuery;
use crate::auth::{Claims, Session};
use crate::dm;
use crate::error::ApiError;
use crate::search::index::MAX_ROOMS;
use crate::search::{DEFAULT_LIMIT, MAX_LIMIT, RoomScope, SearchQuery};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct SearchParams {
    q: Option<String>,
    rooms: Option<String>,
    limit: Option<usize>,
    before: Option<String>,
}

pub async fn search(
    State(state): State<AppState>,
    Session(claims): Session,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> Result<Response, ApiError> {
    let query = SearchQuery::parse(params.q.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let limit = match params.limit {
        None => DEFAULT_LIMIT,
        Some(0) => return Err(ApiError::BadRequest("limit must be at least 1".into())),
        Some(n) => n.min(MAX_LIMIT),
    };
    let before = params
        .before
        .map(|raw| {
            raw.parse::<MessageId>()
                .map_err(|_| ApiError::BadRequest("before is not a valid message id".into()))
        })
        .transpose()?;
    let requested = params.rooms.as_deref().map(parse_rooms).transpose()?;
    let rooms = readable_rooms(&state, &claims, requested).await?;
    let messages = state.broker.search(&query, &rooms, before, limit).await?;
    Ok(axum::Json(messages).into_response())
}

/// `rooms=a,b`: distinct valid room names, at least one, at most
/// [`MAX_ROOMS`].
fn parse_rooms(raw: &str) -> Result<Vec<RoomName>, ApiError> {
    let mut rooms: Vec<RoomName> = Vec::new();
    for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let room = RoomName::parse(name)
            .map_err(|_| ApiError::BadRequest(format!("rooms: {name:?} is not a room name")))?;
        if !rooms.contains(&room) {
            rooms.push(room);
        }
    }
    if rooms.is_empty() {
        return Err(ApiError::BadRequest("rooms names no room".into()));
    }
    if rooms.len() > MAX_ROOMS {
        return Err(ApiError::BadRequest(format!(
            "rooms may name at most {MAX_ROOMS} rooms"
        )));
    }
    Ok(rooms)
}

/// The rooms a session's search may look in: of the requested ones, those
/// it may read (another pair's DM room is left out, as a room with no
/// matches would be); without `rooms=`, every room but the DM rooms, and
/// its own DM rooms. Nobody else's DM is ever searched.
async fn readable_rooms(
    state: &AppState,
    claims: &Claims,
    requested: Option<Vec<RoomName>>,
) -> Result<RoomScope, ApiError> {
    match requested {
        Some(rooms) => {
            let mut readable = Vec::with_capacity(rooms.len());
            for room in rooms {
                match dm::readable(state, claims, room).await {
                    Ok(room) => readable.push(room),
                    Err(ApiError::NotFound(_)) => {}
                    Err(other) => return Err(other),
                }
            }
            Ok(RoomScope::Only(readable))
        }
        None => {
            let dms = dm::own_dms(state, claims).await?;
            Ok(RoomScope::Public {
                dms: dms.into_iter().map(|dm| dm.room).collect(),
            })
        }
    }
}
