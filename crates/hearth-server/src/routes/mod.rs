//! The HTTP surface: one module per group of endpoints, declared once in
//! [`ROUTES`] and assembled by [`router`]. `docs/API.md` describes every
//! route here.
//!
//! - [`session`]: `POST/DELETE /api/session`
//! - [`rooms`]: `/api/info`, `/api/rooms`, history and posting
//! - [`log`]: edits, deletes, reactions and typing (the room log, v1.1)
//! - [`files`]: uploads and their bytes (`/api/files`, v1.1)
//! - [`search`]: `GET /api/search` (v1.1)
//! - [`people`]: direct-message rooms and bans (`/api/dm`, `/api/bans`, v1.1)
//! - [`events`]: the event streams (`/api/rooms/{room}/events`, `/api/events`)
//! - [`legacy`]: the original chat room's `/login`, `/post`, `/stream`
//! - [`ops`]: `/healthz`, `/metrics`
//! - [`web`]: the web client's pages and assets

mod events;
pub mod files;
mod legacy;
mod log;
mod ops;
mod people;
mod rooms;
mod search;
mod session;
mod web;

pub use legacy::decode_post_form;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest};
use axum::http::Request;
use axum::routing::{MethodRouter, get, post, put};
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

/// One route: its path, its handlers, and whether it is an event stream.
pub struct Route {
    /// The path, in axum's syntax (`{room}` stands for one segment).
    pub path: &'static str,
    /// Whether a `GET` of it answers `text/event-stream`: [`net::direct`]
    /// serves those past hyper's buffers (see [`is_event_stream`]).
    ///
    /// [`net::direct`]: crate::net::direct
    pub event_stream: bool,
    handlers: fn() -> MethodRouter<AppState>,
}

impl Route {
    const fn event_stream(path: &'static str, handlers: fn() -> MethodRouter<AppState>) -> Self {
        Route {
            path,
            event_stream: true,
            handlers,
        }
    }

    const fn other(path: &'static str, handlers: fn() -> MethodRouter<AppState>) -> Self {
        Route {
            path,
            event_stream: false,
            handlers,
        }
    }
}

/// Every route, declared once: [`router`] serves them and
/// [`is_event_stream`] reads which are event streams, so a new stream route
/// cannot miss the direct path.
pub const ROUTES: &[Route] = &[
    Route::other("/api/session", || {
        post(session::create_session)
            .get(session::current_session)
            .delete(session::end_session)
    }),
    Route::other("/api/info", || get(rooms::server_info)),
    Route::other("/api/rooms", || get(rooms::list_rooms)),
    Route::other("/api/rooms/{room}/messages", || {
        get(rooms::room_history).post(rooms::post_message)
    }),
    Route::other("/api/rooms/{room}/messages/{id}", || {
        axum::routing::patch(log::edit_message).delete(log::delete_message)
    }),
    Route::other("/api/rooms/{room}/messages/{id}/reactions/{emoji}", || {
        put(log::add_reaction).delete(log::remove_reaction)
    }),
    Route::other("/api/rooms/{room}/typing", || post(log::typing)),
    Route::other("/api/search", || get(search::search)),
    Route::other("/api/dm", || post(people::open_dm)),
    Route::other("/api/bans", || post(people::ban).get(people::list_bans)),
    Route::other("/api/bans/{nick}", || axum::routing::delete(people::unban)),
    // Uploads stream to disk: no body limit but the file limit.
    Route::other("/api/files", || {
        post(files::upload).layer(DefaultBodyLimit::disable())
    }),
    Route::other("/api/files/{id}", || get(files::download)),
    Route::other("/api/files/{id}/thumb", || get(files::thumbnail)),
    Route::event_stream("/api/rooms/{room}/events", || get(events::room_events)),
    Route::event_stream("/api/events", || get(events::multi_room_events)),
    Route::other("/login", || get(legacy::login_form).post(legacy::login)),
    Route::other("/post", || post(legacy::post_message)),
    Route::event_stream("/stream", || get(legacy::stream)),
    Route::other("/healthz", || get(ops::healthz)),
    Route::other("/metrics", || get(ops::metrics)),
    Route::other("/", || get(web::index).layer(web::compression())),
    Route::other("/r/{room}", || {
        get(web::room_page).layer(web::compression())
    }),
    Route::other("/v/{version}/{*path}", || {
        get(web::versioned_asset).layer(web::compression())
    }),
];

/// Whether `path` names an event-stream route of [`ROUTES`]. A path this
/// accepts that the router then refuses (an invalid room) is still answered
/// correctly.
pub fn is_event_stream(path: &str) -> bool {
    ROUTES
        .iter()
        .any(|route| route.event_stream && path_matches(route.path, path))
}

/// Whether `path` fits `pattern`, where a `{param}` segment stands for any
/// one non-empty segment (the only kind of parameter [`ROUTES`] uses).
fn path_matches(pattern: &str, path: &str) -> bool {
    let mut segments = path.split('/');
    pattern.split('/').all(|wanted| {
        segments.next().is_some_and(|segment| {
            if wanted.starts_with('{') && wanted.ends_with('}') {
                !segment.is_empty()
            } else {
                wanted == segment
            }
        })
    }) && segments.next().is_none()
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.max_body_bytes;
    ROUTES
        .iter()
        .fold(Router::new(), |router, route| {
            router.route(route.path, (route.handlers)())
        })
        .fallback(axum::routing::any(web::asset_or_not_found).layer(web::compression()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_stream_paths_are_recognized_by_their_pattern() {
        for path in ["/stream", "/api/events", "/api/rooms/general/events"] {
            assert!(is_event_stream(path), "{path}");
        }
        for path in [
            "/",
            "/api/info",
            "/stream/",
            "/streams",
            "/api/events/x",
            "/api/rooms//events",
            "/api/rooms/a/b/events",
            "/api/rooms/general/messages",
            "/r/general",
        ] {
            assert!(!is_event_stream(path), "{path}");
        }
    }
}
