//! The original chat room's routes, kept working unchanged: `/login`,
//! `/post`, `/stream`, all on the default room.
//!
//! The original page logged in with a form and kept the user in a cookie
//! session; here the cookie holds a Hearth session token, so the same
//! browser can also use the new web client.

use axum::body::Body;
use axum::extract::{FromRequest, State};
use axum::http::{Request, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use hearth_proto::{MessageText, Nick, RoomName};
use serde::Deserialize;

use super::ApiForm;
use super::events::legacy_stream;
use super::session::{cookie_headers, open_session};
use super::web::with_page_headers;
use crate::auth::MaybeSession;
use crate::broker::Post;
use crate::error::ApiError;
use crate::net::PeerAddr;
use crate::state::AppState;

pub async fn login_form(State(state): State<AppState>) -> Response {
    let password = if state.password.is_some() {
        r#"<label>Password <input name="password" type="password" required></label>"#
    } else {
        ""
    };
    let mut page = Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hearth: log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><form action="/login" method="post">
<label>Nick <input name="user" required maxlength="32" autofocus></label>
{password}
<button type="submit">Log in</button>
</form></body></html>"#
    ))
    .into_response();
    with_page_headers(&mut page);
    page
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    user: String,
    password: Option<String>,
}

/// Form field `user` (and `password` on a protected server): sets the session
/// cookie and redirects to `/`.
pub async fn login(
    State(state): State<AppState>,
    peer: PeerAddr,
    ApiForm(form): ApiForm<LoginForm>,
) -> Result<Response, ApiError> {
    let (token, _claims) = open_session(&state, &peer, &form.user, form.password).await?;
    let mut headers = cookie_headers(&state, &token);
    headers.insert(header::LOCATION, "/".parse().expect("static location"));
    Ok((StatusCode::SEE_OTHER, headers).into_response())
}

#[derive(Debug, Deserialize)]
pub struct PostForm {
    message: String,
}

impl PostForm {
    /// The form's `message`, checked against the message text rules.
    fn text(&self) -> Result<MessageText, ApiError> {
        Ok(MessageText::parse(&self.message)?)
    }
}

/// Decodes a `/post` body (`application/x-www-form-urlencoded`, field
/// `message`) into the message text exactly as [`post_message`] does: the same
/// [`ApiForm`] extractor, then the same check. For the fuzz target
/// `legacy_form` and its regression tests. (The route's body-size limit is a
/// layer of the router, not part of this.)
pub fn decode_post_form(body: &[u8]) -> Result<MessageText, ApiError> {
    let request = Request::post("/post")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_vec()))
        .expect("a static method, uri and header");
    // A full in-memory body: the extractor's future completes on first poll.
    let ApiForm(form) =
        futures::executor::block_on(ApiForm::<PostForm>::from_request(request, &()))?;
    form.text()
}

/// Form field `message`: posts to the default room as the logged-in nick (or
/// `anonymous` on a server without a password); `204`.
pub async fn post_message(
    State(state): State<AppState>,
    peer: PeerAddr,
    MaybeSession(claims): MaybeSession,
    ApiForm(form): ApiForm<PostForm>,
) -> Result<Response, ApiError> {
    if claims.is_none() && state.password.is_some() {
        return Err(ApiError::unauthorized("log in first: POST /login"));
    }
    state
        .limits
        .check_post(claims.as_ref().map(|c| c.sid.as_str()), peer.ip())?;
    let text = form.text()?;
    let (nick, session) = match claims {
        Some(claims) => (claims.nick.clone(), claims.owner()),
        None => (Nick::anonymous(), format!("anonymous@{}", peer.ip())),
    };
    state
        .broker
        .post(Post {
            files: Vec::new(),
            room: RoomName::default_room(),
            nick,
            text,
            session,
            client_id: None,
            reply_to: None,
        })
        .await?;
    state.metrics.messages_in.inc();
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Live messages of the default room as `data: [HH:MM:SS] nick: text`.
pub async fn stream(
    State(state): State<AppState>,
    peer: PeerAddr,
    MaybeSession(claims): MaybeSession,
) -> Result<Response, ApiError> {
    if claims.is_none() && state.password.is_some() {
        return Err(ApiError::unauthorized("log in first: POST /login"));
    }
    legacy_stream(&state, peer.ip(), claims).await
}
