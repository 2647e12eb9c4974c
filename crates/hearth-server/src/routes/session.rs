//! `POST /api/session` (sign in, protecting the nick when asked),
//! `GET /api/session` (who am I) and `DELETE /api/session` (sign out,
//! revoking the token on every node).
//!
//! Signing in as a protected nick needs its nick password; see
//! [`crate::nicks`] for what is stored and how earlier sessions end.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use hearth_proto::{Nick, SessionRequest, SessionResponse};

use super::ApiJson;
use crate::auth::{Claims, Session, clear_session_cookie, session_cookie};
use crate::broker::BrokerError;
use crate::error::ApiError;
use crate::net::PeerAddr;
use crate::nicks::{self, NICK_PASSWORD_CHARS, NickClaim, SessionEnd};
use crate::state::AppState;

/// Protecting a nick may race another sign-in of it; this many tries.
const PROTECT_TRIES: usize = 3;

fn nick_refused(message: impl Into<String>) -> ApiError {
    ApiError::SignInRefused {
        message: message.into(),
        reason: "nick_protected",
    }
}

/// Checks the nick and the server password, and issues a token. Used by
/// the original `/login` form, which has no nick password: a protected nick
/// is refused there.
pub async fn open_session(
    state: &AppState,
    peer: &PeerAddr,
    nick: &str,
    password: Option<String>,
) -> Result<(String, Claims), ApiError> {
    open_protected_session(state, peer, nick, password, None).await
}

/// Checks the nick, the server password and the nick password, protects
/// the nick when asked, and issues a token. A wrong password of either
/// kind makes its address wait before the next one is checked (see
/// [`crate::limits`]).
pub async fn open_protected_session(
    state: &AppState,
    peer: &PeerAddr,
    nick: &str,
    password: Option<String>,
    nick_password: Option<String>,
) -> Result<(String, Claims), ApiError> {
    state.limits.check_session(peer.ip())?;
    let nick = Nick::parse(nick)?;
    if let Some(candidate) = &nick_password
        && !NICK_PASSWORD_CHARS.contains(&candidate.chars().count())
    {
        return Err(ApiError::BadRequest(
            "nick_password must be 8 to 128 characters".into(),
        ));
    }
    if let Some(check) = &state.password {
        let Some(candidate) = password else {
            return Err(ApiError::SignInRefused {
                message: "this server needs a password".into(),
                reason: "server_password",
            });
        };
        let attempt = state.limits.admit_password(peer.ip())?;
        if !check.verify(candidate).await {
            attempt.failed();
            state.metrics.password_failures.inc();
            return Err(ApiError::SignInRefused {
                message: "wrong password".into(),
                reason: "server_password",
            });
        }
        attempt.succeeded();
    }
    let key = nicks::key(&nick);
    // A banned nick cannot sign in. (With the store out of reach, the
    // session is checked on use, like any other.)
    if let Ok(standing) = state.nicks.store.standing(&key, "").await
        && let Some(ban) = standing.ban.filter(|b| b.in_force(state.nicks.now_ms()))
    {
        return Err(ApiError::banned(&ban));
    }
    for _ in 0..PROTECT_TRIES {
        let now_ms = state.nicks.now_ms();
        let claim = match state.nicks.store.claim(&key).await {
            Ok(claim) => claim,
            // The store is out of reach (Redis down): a sign-in without a
            // nick password still gets a session of generation 0, as the
            // servers before protected nicks gave. It gives nothing away:
            // every request checks it against the store, which refuses it
            // if the nick is protected (and answers 503 until it is back).
            Err(BrokerError::Unavailable(cause)) if nick_password.is_none() => {
                tracing::warn!(%cause, "nick store unavailable; session checked on use");
                return Ok(state.tokens.issue_for(nick, 0, false));
            }
            Err(e) => return Err(e.into()),
        };
        let generation = claim.as_ref().map_or(0, |c| c.generation);
        if let Some(claim) = claim.filter(|c| c.in_force(now_ms, state.nicks.lapse)) {
            let Some(candidate) = nick_password else {
                return Err(nick_refused(format!(
                    "the nick {} is protected: sign in with its nick password, or pick another nick",
                    claim.nick
                )));
            };
            let attempt = state.limits.admit_password(peer.ip())?;
            if !nicks::verify(claim.phc, candidate).await {
                attempt.failed();
                state.metrics.password_failures.inc();
                return Err(nick_refused(format!(
                    "wrong nick password for {}",
                    claim.nick
                )));
            }
            attempt.succeeded();
            state.nicks.store.touch(&key, generation, now_ms).await?;
            return Ok(state.tokens.issue_for(nick, generation, true));
        }
        let Some(candidate) = &nick_password else {
            return Ok(state.tokens.issue_for(nick, generation, false));
        };
        let protected = NickClaim {
            generation: generation + 1,
            phc: nicks::hash(candidate.clone()).await?,
            nick: nick.to_string(),
            used_ms: now_ms,
        };
        if state.nicks.store.protect(&key, protected).await? {
            tracing::info!(%nick, generation = generation + 1, "nick protected");
            // Its earlier sessions' streams end now, on every node.
            state
                .nicks
                .announce(SessionEnd::Superseded {
                    key: key.clone(),
                    generation: generation + 1,
                })
                .await;
            return Ok(state.tokens.issue_for(nick, generation + 1, true));
        }
        // Someone protected it meanwhile: check the password against theirs.
    }
    Err(ApiError::Conflict(
        "this nick is being protected by another sign-in right now: retry".into(),
    ))
}

/// The cookie header for a new session.
pub fn cookie_headers(state: &AppState, token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&session_cookie(token, state.config.token_ttl)) {
        headers.insert(header::SET_COOKIE, value);
    }
    headers
}

pub async fn create_session(
    State(state): State<AppState>,
    peer: PeerAddr,
    ApiJson(request): ApiJson<SessionRequest>,
) -> Result<Response, ApiError> {
    let (token, claims) = open_protected_session(
        &state,
        &peer,
        &request.nick,
        request.password,
        request.nick_password,
    )
    .await?;
    let expires_at = expiry(&claims);
    let body = SessionResponse {
        nick: claims.nick.to_string(),
        expires_at,
        token: token.clone(),
        protected: claims.protected,
        admin: state.is_admin(&claims),
    };
    Ok((
        StatusCode::CREATED,
        cookie_headers(&state, &token),
        axum::Json(body),
    )
        .into_response())
}

/// `GET /api/session`: who the request's session is. The web client's cookie
/// is `HttpOnly`, so this is how its page learns that it is signed in.
/// `protected` is the nick's state now (a protection may have lapsed
/// since the token was issued).
pub async fn current_session(
    State(state): State<AppState>,
    Session(claims): Session,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let claim = state.nicks.store.claim(&nicks::key(&claims.nick)).await?;
    let now_ms = state.nicks.now_ms();
    let protected = claim.is_some_and(|c| c.in_force(now_ms, state.nicks.lapse));
    Ok(axum::Json(serde_json::json!({
        "nick": claims.nick,
        "expires_at": expiry(&claims),
        "protected": protected,
        "admin": protected && state.is_admin(&claims),
    })))
}

fn expiry(claims: &Claims) -> Option<String> {
    DateTime::<Utc>::from_timestamp(claims.exp as i64, 0)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// Revokes the request's session, if it has a valid one (its token then
/// answers `401` on every node, until it would have expired anyway), and
/// removes the web client's cookie. `204` either way.
pub async fn end_session(
    State(state): State<AppState>,
    session: Result<Session, ApiError>,
) -> Result<Response, ApiError> {
    if let Ok(Session(claims)) = session {
        state.nicks.store.revoke(&claims.sid, claims.exp).await?;
        state
            .nicks
            .announce(SessionEnd::SignedOut { sid: claims.sid })
            .await;
    }
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&clear_session_cookie()).expect("static cookie"),
    );
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}
