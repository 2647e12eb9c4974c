//! The web client: `ui/` embedded in the binary, served at `/` and
//! `/r/{room}`, with security headers on every page.

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

use super::{ApiPath, room_from_path};
use crate::error::ApiError;

#[derive(Embed)]
#[folder = "../../ui"]
struct Ui;

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     frame-ancestors 'none'; form-action 'self'";

/// An embedded file with its type and the security headers.
fn serve_file(path: &str) -> Option<Response> {
    let file = Ui::get(path)?;
    let mime = file.metadata.mimetype().to_owned();
    let mut response = Response::new(Body::from(file.data.into_owned()));
    if let Ok(value) = HeaderValue::from_str(&mime) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    with_page_headers(&mut response);
    Some(response)
}

/// Adds the headers every page gets: a strict CSP (no inline script),
/// `nosniff`, no referrer, no caching of stale clients.
pub fn with_page_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
}

fn index_page() -> Response {
    serve_file("index.html").unwrap_or_else(|| {
        ApiError::NotFound("the web client is not part of this build".into()).into_response()
    })
}

pub async fn index() -> Response {
    index_page()
}

pub async fn room_page(ApiPath(room): ApiPath<String>) -> Result<Response, ApiError> {
    room_from_path(&room)?;
    Ok(index_page())
}

/// A file of the web client (`GET`/`HEAD`), or `404`.
pub async fn asset_or_not_found(method: Method, uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if (method == Method::GET || method == Method::HEAD)
        && !path.is_empty()
        && !path.starts_with("api/")
        && let Some(response) = serve_file(path)
    {
        return response;
    }
    (
        StatusCode::NOT_FOUND,
        axum::Json(hearth_proto::ErrorBody {
            error: format!("no such endpoint: {}", uri.path()),
        }),
    )
        .into_response()
}
