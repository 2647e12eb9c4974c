//! The HTTP surface: one module per group of endpoints, assembled by
//! [`router`]. `docs/API.md` describes every route here.
//!
//! - [`session`]: `POST/DELETE /api/session`
//! - [`rooms`]: `/api/info`, `/api/rooms`, history and posting
//! - [`events`]: the event streams (`/api/rooms/{room}/events`, `/api/events`)
//! - [`legacy`]: the original chat room's `/login`, `/post`, `/stream`
//! - [`ops`]: `/healthz`, `/metrics`
//! - [`web`]: the web client's pages and assets

mod events;
mod legacy;
mod ops;
mod rooms;
mod session;
mod web;

pub use legacy::decode_post_form;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest};
use axum::http::Request;
use axum::routing::{get, post};
use hearth_proto::RoomName;
use serde::de::DeserializeOwned;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON object body, with rejections in the API's error shape: `415`
/// without the JSON content type, `413` over the body limit, `400` for
/// malformed JSON, a body that is not an object (serde would otherwise read
/// `["hi"]` as a struct), or a wrong field type.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request<Body>, state: &S) -> Result<Self, ApiError> {
        let axum::Json(value) =
            axum::Json::<serde_json::Value>::from_request(request, state).await?;
        if !value.is_object() {
            return Err(ApiError::BadRequest(
                "the body must be a JSON object".into(),
            ));
        }
        serde_json::from_value(value)
            .map(ApiJson)
            .map_err(|e| ApiError::BadRequest(format!("invalid request body: {e}")))
    }
}

/// `axum::Form` with the API's rejections.
#[derive(FromRequest)]
#[from_request(via(axum::Form), rejection(ApiError))]
pub struct ApiForm<T>(pub T);

/// `axum::extract::Query` with the API's rejections.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `axum::extract::Path` with the API's rejections (a path that does not
/// decode names no room: `404`).
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// A room named in a path; an invalid name is `404` (no such room can exist).
pub fn room_from_path(raw: &str) -> Result<RoomName, ApiError> {
    RoomName::parse(raw).map_err(|_| ApiError::invalid_room())
}

/// Whether `path` names one of the event-stream routes below (which
/// `net::direct` serves past hyper's buffers). A path this accepts that the
/// router then refuses (an invalid room) is still answered correctly.
pub fn is_event_stream(path: &str) -> bool {
    path == "/stream"
        || path == "/api/events"
        || path
            .strip_prefix("/api/rooms/")
            .and_then(|rest| rest.strip_suffix("/events"))
            .is_some_and(|room| !room.is_empty() && !room.contains('/'))
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.max_body_bytes;
    Router::new()
        .route(
            "/api/session",
            post(session::create_session)
                .get(session::current_session)
                .delete(session::end_session),
        )
        .route("/api/info", get(rooms::server_info))
        .route("/api/rooms", get(rooms::list_rooms))
        .route(
            "/api/rooms/{room}/messages",
            get(rooms::room_history).post(rooms::post_message),
        )
        .route("/api/rooms/{room}/events", get(events::room_events))
        .route("/api/events", get(events::multi_room_events))
        .route("/login", get(legacy::login_form).post(legacy::login))
        .route("/post", post(legacy::post_message))
        .route("/stream", get(legacy::stream))
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/", get(web::index))
        .route("/r/{room}", get(web::room_page))
        .fallback(web::asset_or_not_found)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(body_limit))
        // Spans name the path only: query strings can hold tokens.
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                tracing::debug_span!("http", method = %request.method(), path = %request.uri().path())
            }),
        )
        .with_state(state)
}
