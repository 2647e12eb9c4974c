//! People (protocol v1.1 "dm" and "moderation"): opening a direct-message
//! room, and admins' bans.
//!
//! - `POST /api/dm` `{"nick"}` → `200` `{"room", "nick"}`: the pair's room,
//!   the same whoever asks. Both nicks must be protected (`409`, reason
//!   `not_protected`, saying who is not); not yourself (`400`).
//! - `POST /api/bans` `{"nick", "minutes", "reason"?}` → `201`, the ban;
//!   `GET /api/bans` → the bans in force; `DELETE /api/bans/{nick}` → `204`
//!   (`404` when the nick is not banned). Admins only ([`AppState::is_admin`]),
//!   others `403`. A ban ends the nick's open streams on every node at once.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hearth_proto::{BanRequest, DmRequest, DmResponse, Nick};

use super::{ApiJson, ApiPath};
use crate::auth::{Claims, Session};
use crate::dm::{DmMember, DmRoom};
use crate::error::ApiError;
use crate::nicks::{self, BanRecord, SessionEnd};
use crate::state::AppState;

/// The longest ban: a year.
pub const MAX_BAN_MINUTES: u64 = 366 * 24 * 60;
/// The longest ban reason, in characters.
pub const MAX_BAN_REASON_CHARS: usize = 200;

fn not_protected(message: String) -> ApiError {
    ApiError::Refused {
        status: StatusCode::CONFLICT,
        message,
        reason: "not_protected",
    }
}

pub async fn open_dm(
    State(state): State<AppState>,
    Session(claims): Session,
    ApiJson(request): ApiJson<DmRequest>,
) -> Result<Response, ApiError> {
    let nick =
        Nick::parse(&request.nick).map_err(|e| ApiError::BadRequest(format!("nick: {e}")))?;
    let my_key = nicks::key(&claims.nick);
    let their_key = nicks::key(&nick);
    if my_key == their_key {
        return Err(ApiError::BadRequest(
            "that is you: pick someone else to message".into(),
        ));
    }
    if !claims.protected {
        return Err(not_protected(format!(
            "protect your nick {} first (sign in with a nick password): direct messages are between protected nicks",
            claims.nick
        )));
    }
    let now_ms = state.nicks.now_ms();
    let theirs = state
        .nicks
        .store
        .claim(&their_key)
        .await?
        .filter(|claim| claim.in_force(now_ms, state.nicks.lapse));
    let Some(theirs) = theirs else {
        return Err(not_protected(format!(
            "{nick} has not protected their nick, so you cannot message them privately yet"
        )));
    };
    let pair = DmRoom::new(
        DmMember {
            key: my_key,
            nick: claims.nick.to_string(),
        },
        DmMember {
            key: their_key,
            nick: theirs.nick.clone(),
        },
    );
    state.dms.open_dm(&pair).await?;
    Ok(axum::Json(DmResponse {
        room: pair.room,
        nick: theirs.nick,
    })
    .into_response())
}

/// `claims` if they are an admin's, else `403`.
fn admin(state: &AppState, claims: Claims) -> Result<Claims, ApiError> {
    if state.is_admin(&claims) {
        Ok(claims)
    } else {
        Err(ApiError::Forbidden(
            "only the server's admins may do this (signed in with their nick password)".into(),
        ))
    }
}

pub async fn ban(
    State(state): State<AppState>,
    Session(claims): Session,
    ApiJson(request): ApiJson<BanRequest>,
) -> Result<Response, ApiError> {
    let claims = admin(&state, claims)?;
    let nick =
        Nick::parse(&request.nick).map_err(|e| ApiError::BadRequest(format!("nick: {e}")))?;
    if !(1..=MAX_BAN_MINUTES).contains(&request.minutes) {
        return Err(ApiError::BadRequest(format!(
            "minutes must be from 1 to {MAX_BAN_MINUTES}"
        )));
    }
    let reason = request
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    if let Some(reason) = &reason
        && (reason.chars().count() > MAX_BAN_REASON_CHARS || reason.chars().any(char::is_control))
    {
        return Err(ApiError::BadRequest(format!(
            "a reason is at most {MAX_BAN_REASON_CHARS} characters on one line"
        )));
    }
    let key = nicks::key(&nick);
    if state
        .config
        .admins
        .iter()
        .any(|admin| Nick::parse(admin).is_ok_and(|admin| nicks::key(&admin) == key))
    {
        return Err(ApiError::BadRequest("an admin cannot be banned".into()));
    }
    let record = BanRecord {
        key,
        nick: nick.to_string(),
        until_ms: state.nicks.now_ms() + (request.minutes * 60_000) as i64,
        by: claims.nick.to_string(),
        reason,
    };
    state.nicks.store.ban(record.clone()).await?;
    tracing::info!(nick = %record.nick, by = %record.by, until = %record.until(), "nick banned");
    let answer = record.to_wire();
    state.nicks.announce(SessionEnd::Banned(record)).await;
    Ok((StatusCode::CREATED, axum::Json(answer)).into_response())
}

pub async fn list_bans(
    State(state): State<AppState>,
    Session(claims): Session,
) -> Result<Response, ApiError> {
    admin(&state, claims)?;
    let now_ms = state.nicks.now_ms();
    let bans: Vec<hearth_proto::Ban> = state
        .nicks
        .store
        .bans()
        .await?
        .iter()
        .filter(|ban| ban.in_force(now_ms))
        .map(BanRecord::to_wire)
        .collect();
    Ok(axum::Json(bans).into_response())
}

pub async fn unban(
    State(state): State<AppState>,
    Session(claims): Session,
    ApiPath(nick): ApiPath<String>,
) -> Result<Response, ApiError> {
    let claims = admin(&state, claims)?;
    let nick = Nick::parse(&nick).map_err(|e| ApiError::BadRequest(format!("nick: {e}")))?;
    if !state.nicks.store.unban(&nicks::key(&nick)).await? {
        return Err(ApiError::NotFound(format!("{nick} is not banned")));
    }
    tracing::info!(%nick, by = %claims.nick, "ban lifted");
    Ok(StatusCode::NO_CONTENT.into_response())
}
