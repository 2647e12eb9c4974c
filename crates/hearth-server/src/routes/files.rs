//! Files and images (v1.1): `POST /api/files` (an upload, the raw file as
//! the body) and `GET /api/files/{id}[/thumb]` (its bytes, with `Range`,
//! and its thumbnail).
//!
//! What is served can never run in the server's origin: every answer has
//! `X-Content-Type-Options: nosniff` and `Content-Security-Policy:
//! default-src 'none'; sandbox`; only the four raster image types are
//! served inline with their type, everything else as
//! `application/octet-stream` and `Content-Disposition: attachment`.

use axum::body::Body;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use hearth_proto::{FileId, FileName};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use super::ApiPath;
use crate::auth::{Claims, Session};
use crate::broker::FileRecord;
use crate::dm;
use crate::error::ApiError;
use crate::files::kind::Kind;
use crate::files::{FileError, sweep};
use crate::net::PeerAddr;
use crate::state::AppState;

/// `CSP` of every file answer: nothing loads, nothing runs.
const SANDBOX: &str = "default-src 'none'; sandbox";
/// Files never change: a client may keep them.
const IMMUTABLE: &str = "private, max-age=31536000, immutable";

#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    name: Option<String>,
}

/// Reads an upload's `?name=`: present, and a valid [`FileName`].
pub fn upload_name(name: Option<&str>) -> Result<FileName, ApiError> {
    let name =
        name.ok_or_else(|| ApiError::BadRequest("name is required: ?name=<file name>".into()))?;
    FileName::parse(name).map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// Reads an upload's query string (`name=<file name>`, percent-encoded,
/// as a form) the way [`upload`] does: axum's `Query` extractor (other
/// fields are ignored; a repeated `name` is refused), then [`upload_name`].
/// A string that is not a URI's query (`#`, a space, ...) never reaches a
/// handler; here it is `400`. Pure, for the fuzz target `upload_query`.
pub fn parse_upload_query(raw_query: &str) -> Result<FileName, ApiError> {
    let not_a_query = || ApiError::BadRequest("the query is not a valid URI query".into());
    let uri: Uri = format!("/api/files?{raw_query}")
        .parse()
        .map_err(|_| not_a_query())?;
    if uri.query() != Some(raw_query) {
        return Err(not_a_query());
    }
    let Query(query) = Query::<UploadQuery>::try_from_uri(&uri)?;
    upload_name(query.name.as_deref())
}

pub async fn upload(
    State(state): State<AppState>,
    peer: PeerAddr,
    Session(claims): Session,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let name = parse_upload_query(query.as_deref().unwrap_or_default())?;
    let max = state.files.max_bytes();
    // Refused before a byte of the body is read.
    if let Some(length) = content_length(&headers)
        && length > max
    {
        return Err(too_large(max));
    }
    state.limits.check_post(Some(&claims.sid), peer.ip())?;
    let record = state
        .files
        .receive(
            name,
            claims.owner(),
            body.into_data_stream(),
            sweep::now_ms(&state),
        )
        .await
        .map_err(|err| file_error(err, max))?;
    if let Err(err) = state.broker.add_file(record.clone()).await {
        let _ = state.files.remove(&record.id).await;
        return Err(err.into());
    }
    state.metrics.files_in.inc();
    Ok((StatusCode::CREATED, axum::Json(record.info())).into_response())
}

pub async fn download(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    Session(claims): Session,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let record = find(&state, &claims, &id).await?;
    let etag = format!("\"{}\"", record.sha256);
    if not_modified(&headers, &etag) {
        return Ok(not_modified_response(&etag));
    }
    let range = match requested_range(&headers, record.size) {
        Ok(range) => range,
        Err(()) => {
            let mut response = ApiError::RangeNotSatisfiable.into_response();
            response.headers_mut().insert(
                header::CONTENT_RANGE,
                header_value(&format!("bytes */{}", record.size)),
            );
            return Ok(response);
        }
    };
    let bytes = state
        .files
        .read(&record.id, range.clone().map(|r| r.start..r.end + 1))
        .await
        .map_err(|err| file_error(err, 0))?;
    let mut response = Response::new(Body::from_stream(bytes));
    let head = response.headers_mut();
    safety_headers(head, &record, &etag);
    head.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    match range {
        Some(range) => {
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            let head = response.headers_mut();
            head.insert(
                header::CONTENT_RANGE,
                header_value(&format!(
                    "bytes {}-{}/{}",
                    range.start, range.end, record.size
                )),
            );
            head.insert(
                header::CONTENT_LENGTH,
                HeaderValue::from(range.end - range.start + 1),
            );
        }
        None => {
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(record.size));
        }
    }
    Ok(response)
}

pub async fn thumbnail(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    Session(claims): Session,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let record = find(&state, &claims, &id).await?;
    let Some(thumb_type) = record.thumb_type.clone() else {
        return Err(ApiError::NotFound("this file has no thumbnail".into()));
    };
    let etag = format!("\"{}-thumb\"", record.sha256);
    if not_modified(&headers, &etag) {
        return Ok(not_modified_response(&etag));
    }
    let bytes = state
        .files
        .thumbnail(&record.id)
        .await
        .map_err(|err| file_error(err, 0))?;
    let mut response = Response::new(Body::from(bytes));
    let head = response.headers_mut();
    head.insert(header::CONTENT_TYPE, header_value(&thumb_type));
    head.insert(header::ETAG, header_value(&etag));
    head.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    head.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    head.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(SANDBOX),
    );
    Ok(response)
}

/// The record of the upload a path names; `404` for an id that is not one.
/// The upload `raw` names, if the session may read it: its uploader may;
/// so may anyone when no message shares it (not yet, or no longer: its
/// unguessable id is the only way to name it, as before DMs); once messages
/// share it, only a session that may read one of their rooms (so a file
/// shared only in a DM is the pair's). Otherwise `404`, as for an id that
/// names nothing.
async fn find(state: &AppState, claims: &Claims, raw: &str) -> Result<FileRecord, ApiError> {
    let missing = || ApiError::NotFound("no such file".into());
    let id = FileId::parse(raw).map_err(|_| missing())?;
    let record = state.broker.file(&id).await?.ok_or_else(missing)?;
    if record.session == claims.owner() {
        return Ok(record);
    }
    let rooms = state.broker.file_rooms(&id).await?;
    if rooms.is_empty() {
        return Ok(record);
    }
    for room in rooms {
        match dm::readable(state, claims, room).await {
            Ok(_) => return Ok(record),
            Err(ApiError::NotFound(_)) => {}
            Err(other) => return Err(other),
        }
    }
    Err(missing())
}

/// The headers that keep a served file from running in our origin, and
/// tell a browser what it is and what to call it.
fn safety_headers(head: &mut HeaderMap, record: &FileRecord, etag: &str) {
    let inline = Kind::inline(&record.content_type);
    let content_type = if inline {
        record.content_type.as_str()
    } else {
        "application/octet-stream"
    };
    head.insert(header::CONTENT_TYPE, header_value(content_type));
    head.insert(
        header::CONTENT_DISPOSITION,
        header_value(&content_disposition(inline, &record.name)),
    );
    head.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    head.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(SANDBOX),
    );
    head.insert(header::ETAG, header_value(etag));
    head.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
}

/// RFC 6266/8187: `attachment; filename*=UTF-8''<percent-encoded name>`.
pub fn content_disposition(inline: bool, name: &str) -> String {
    /// Everything but RFC 8187's `attr-char`s is encoded.
    const ATTR: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'!')
        .remove(b'#')
        .remove(b'$')
        .remove(b'&')
        .remove(b'+')
        .remove(b'-')
        .remove(b'.')
        .remove(b'^')
        .remove(b'_')
        .remove(b'`')
        .remove(b'|')
        .remove(b'~');
    let kind = if inline { "inline" } else { "attachment" };
    format!(
        "{kind}; filename*=UTF-8''{}",
        utf8_percent_encode(name, ATTR)
    )
}

/// The single range a `Range` header asks for, within `size` bytes:
/// `Ok(None)` for the whole file (no header, one the server does not
/// understand, or several ranges), `Err` when it is unsatisfiable (`416`).
fn requested_range(headers: &HeaderMap, size: u64) -> Result<Option<std::ops::Range<u64>>, ()> {
    let Some(raw) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Ok(parsed) = http_range_header::parse_range_header(raw) else {
        return Ok(None);
    };
    let ranges = parsed.validate(size).map_err(|_| ())?;
    Ok(match ranges.as_slice() {
        [one] => Some(*one.start()..*one.end()),
        _ => None,
    })
}

fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

fn not_modified_response(etag: &str) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    response
        .headers_mut()
        .insert(header::ETAG, header_value(etag));
    response
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

fn header_value(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

fn too_large(max: u64) -> ApiError {
    ApiError::TooLarge(format!(
        "the file is too large: this server takes files up to {} ({max} bytes)",
        human_size(max)
    ))
}

fn file_error(err: FileError, max: u64) -> ApiError {
    match err {
        FileError::TooLarge(_) => too_large(max),
        FileError::Empty => ApiError::BadRequest("the file is empty".into()),
        FileError::Interrupted(why) => ApiError::BadRequest(format!("the upload broke off: {why}")),
        FileError::Missing => ApiError::NotFound("no such file".into()),
        FileError::Storage(cause) => {
            tracing::warn!(%cause, "file storage failed");
            ApiError::Unavailable {
                message: "file storage is unavailable; retry shortly".into(),
                retry_after_secs: 2,
            }
        }
    }
}

/// `25 MiB`, `300 KiB`, `12 bytes`.
pub fn human_size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else if bytes >= KIB {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_percent_encoded_in_the_disposition() {
        assert_eq!(
            content_disposition(false, "Résumé 2026.pdf"),
            "attachment; filename*=UTF-8''R%C3%A9sum%C3%A9%202026.pdf"
        );
        assert_eq!(
            content_disposition(true, "a\";b.png"),
            "inline; filename*=UTF-8''a%22%3Bb.png"
        );
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(25 * 1024 * 1024), "25 MiB");
        assert_eq!(human_size(1536 * 1024), "1.5 MiB");
        assert_eq!(human_size(300 * 1024), "300 KiB");
        assert_eq!(human_size(12), "12 bytes");
    }

    #[test]
    fn upload_names_are_checked() {
        assert!(upload_name(None).is_err());
        assert!(upload_name(Some("../x")).is_err());
        assert_eq!(upload_name(Some("a.png")).unwrap().as_str(), "a.png");
    }

    #[test]
    fn upload_queries_are_read_as_forms() {
        let name = |q| parse_upload_query(q).map(|n| n.as_str().to_owned());
        assert_eq!(name("name=a.png").unwrap(), "a.png");
        assert_eq!(
            name("x=1&name=R%C3%A9sum%C3%A9+1.pdf").unwrap(),
            "Résumé 1.pdf"
        );
        for bad in [
            "",
            "x=1",
            "name=",
            "name=..",
            "name=a%2Fb",
            "name=a&name=b",
            "name=a#b",
        ] {
            assert!(parse_upload_query(bad).is_err(), "{bad:?}");
        }
    }
}
