//! The web client: `ui/` embedded in the binary, served at `/` and
//! `/r/{room}`, with security headers on every page.
//!
//! Caching, so that a reload costs a few hundred bytes:
//! - The page (`/`, `/r/{room}`) names its script, style sheet and icon
//!   under `/v/<version>/…`, where the version is a hash of every embedded
//!   file ([`version`]). The page itself is `no-cache` with an `ETag`: a
//!   reload asks, and gets `304`.
//! - A file under the current version never changes: `immutable`, kept a
//!   year. Modules import each other by relative paths, so every module of
//!   a page is under the same version. A page of an older version (a tab
//!   left open over an upgrade) still gets today's files, not cached.
//! - The same files at their plain paths (`/app.js`) stay served, with
//!   `ETag` and `no-cache`.
//!
//! Text is compressed (Brotli or gzip, as the browser accepts): the router
//! adds [`compression`] to these routes only, never to event streams.

use std::sync::LazyLock;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;
use sha2::{Digest, Sha256};
use tower_http::compression::CompressionLayer;

use super::{ApiPath, room_from_path};
use crate::error::ApiError;

#[derive(Embed)]
#[folder = "../../ui"]
struct Ui;

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     frame-ancestors 'none'; form-action 'self'";

/// A year: how long a versioned file is kept.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The compression of the web client's routes.
pub fn compression() -> CompressionLayer {
    CompressionLayer::new().br(true).gzip(true)
}

/// The hash of every embedded file (16 hex digits): the `<version>` of
/// `/v/<version>/…`.
pub fn version() -> &'static str {
    static VERSION: LazyLock<String> = LazyLock::new(|| {
        let mut names: Vec<_> = Ui::iter().collect();
        names.sort();
        let mut hash = Sha256::new();
        for name in names {
            hash.update(name.as_bytes());
            if let Some(file) = Ui::get(&name) {
                hash.update(file.metadata.sha256_hash());
            }
        }
        hex(&hash.finalize()[..8])
    });
    &VERSION
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The page, naming its files under the current version, and its `ETag`.
fn page() -> Option<&'static (Vec<u8>, String)> {
    static PAGE: LazyLock<Option<(Vec<u8>, String)>> = LazyLock::new(|| {
        let file = Ui::get("index.html")?;
        let html = String::from_utf8_lossy(&file.data).into_owned();
        let prefix = format!("/v/{}/", version());
        let html = ["app.js", "style.css", "favicon.svg"]
            .iter()
            .fold(html, |html, name| {
                html.replace(&format!("\"/{name}\""), &format!("\"{prefix}{name}\""))
            });
        let etag = format!("\"{}\"", hex(&Sha256::digest(html.as_bytes())[..12]));
        Some((html.into_bytes(), etag))
    });
    PAGE.as_ref()
}

/// Whether the request's `If-None-Match` holds `etag`.
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim() == etag || tag.trim() == "*")
}

/// `200` with `body`, or `304` when the request has it already.
fn respond(
    headers: &HeaderMap,
    body: Vec<u8>,
    content_type: &str,
    etag: &str,
    cache: &'static str,
) -> Response {
    let mut response = if not_modified(headers, etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = Response::new(Body::from(body));
        if let Ok(value) = HeaderValue::from_str(content_type) {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        response
    };
    if let Ok(value) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    with_page_headers(&mut response);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// An embedded file with its type, `ETag` and the security headers.
fn serve_file(headers: &HeaderMap, path: &str, cache: &'static str) -> Option<Response> {
    let file = Ui::get(path)?;
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..12]));
    let mime = file.metadata.mimetype().to_owned();
    Some(respond(
        headers,
        file.data.into_owned(),
        &mime,
        &etag,
        cache,
    ))
}

/// Adds the headers every page gets: a strict CSP (no inline script),
/// `nosniff`, no referrer, and `no-cache` (a cached copy is checked first;
/// [`respond`] sets longer caching where a file cannot change).
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

fn index_page(headers: &HeaderMap) -> Response {
    match page() {
        Some((html, etag)) => respond(
            headers,
            html.clone(),
            "text/html; charset=utf-8",
            etag,
            "no-cache",
        ),
        None => {
            ApiError::NotFound("the web client is not part of this build".into()).into_response()
        }
    }
}

pub async fn index(headers: HeaderMap) -> Response {
    index_page(&headers)
}

pub async fn room_page(
    ApiPath(room): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    room_from_path(&room)?;
    Ok(index_page(&headers))
}

/// `GET /v/{version}/{*path}`: a file of the web client, kept for a year
/// when `version` is the current one.
pub async fn versioned_asset(
    ApiPath((asked, path)): ApiPath<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let cache = if asked == version() {
        IMMUTABLE
    } else {
        "no-cache"
    };
    serve_file(&headers, &path, cache).unwrap_or_else(|| not_found(&uri))
}

/// A file of the web client (`GET`/`HEAD`), or `404`.
pub async fn asset_or_not_found(method: Method, headers: HeaderMap, uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if (method == Method::GET || method == Method::HEAD)
        && !path.is_empty()
        && !path.starts_with("api/")
        && let Some(response) = serve_file(&headers, path, "no-cache")
    {
        return response;
    }
    not_found(&uri)
}

fn not_found(uri: &Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(hearth_proto::ErrorBody {
            error: format!("no such endpoint: {}", uri.path()),
        }),
    )
        .into_response()
}
