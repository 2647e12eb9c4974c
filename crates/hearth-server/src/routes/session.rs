//! `POST /api/session` (sign in) and `DELETE /api/session` (sign out).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use hearth_proto::{Nick, SessionRequest, SessionResponse};

use super::ApiJson;
use crate::auth::{Claims, Session, clear_session_cookie, session_cookie};
use crate::error::ApiError;
use crate::net::PeerAddr;
use crate::state::AppState;

/// Checks the nick and the password, and issues a token. Shared by the API
/// and the original `/login` form. A wrong password makes its address wait
/// before the next one is checked (see [`crate::limits`]).
pub async fn open_session(
    state: &AppState,
    peer: &PeerAddr,
    nick: &str,
    password: Option<String>,
) -> Result<(String, Claims), ApiError> {
    state.limits.check_session(peer.ip())?;
    let nick = Nick::parse(nick)?;
    if let Some(check) = &state.password {
        let Some(candidate) = password else {
            return Err(ApiError::unauthorized("this server needs a password"));
        };
        let attempt = state.limits.admit_password(peer.ip())?;
        if !check.verify(candidate).await {
            attempt.failed();
            state.metrics.password_failures.inc();
            return Err(ApiError::unauthorized("wrong password"));
        }
        attempt.succeeded();
    }
    Ok(state.tokens.issue(nick))
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
    let (token, claims) = open_session(&state, &peer, &request.nick, request.password).await?;
    let expires_at = expiry(&claims);
    let body = SessionResponse {
        nick: claims.nick.to_string(),
        expires_at,
        token: token.clone(),
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
pub async fn current_session(Session(claims): Session) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "nick": claims.nick,
        "expires_at": expiry(&claims),
    }))
}

fn expiry(claims: &Claims) -> Option<String> {
    DateTime::<Utc>::from_timestamp(claims.exp as i64, 0)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// Removes the web client's cookie. Tokens are stateless: a copied token
/// stays valid until it expires.
pub async fn end_session() -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&clear_session_cookie()).expect("static cookie"),
    );
    (StatusCode::NO_CONTENT, headers).into_response()
}
