//! Properties of `hearth-server` that the fuzz targets `token`,
//! `legacy_form`, `log_writes`, `upload_query` and `content_disposition`
//! check. Shared like `proto_props.rs` (see there): the fuzz
//! crate and `crates/hearth-server/tests/fuzz_regressions.rs` both compile
//! this file, next to `proto_props.rs` as a sibling module (it uses
//! `crate::proto_props::check_message_text`).
//!
//! Every `check_*` takes one input's raw bytes and panics when a property
//! fails. Beyond `hearth-server` and `hearth-proto` this uses only crates the
//! server itself depends on (`base64`, `hmac`, `sha2`, `serde_json`,
//! `form_urlencoded`).

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hearth_proto::{
    ClientId, EditRequest, Emoji, FileName, Message, MessageId, MessageText, Nick, PostRequest,
    RoomName, SessionResponse,
};
use hearth_server::auth::{Claims, TokenError, TokenSigner};
use hearth_server::config::{Config, RateLimit, SyncMode};
use hearth_server::error::ApiError;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::proto_props::check_message_text;

// ---------------------------------------------------------------------------
// token

/// The fuzz targets' signing secret (any key would do: what matters is that
/// the fuzzer's inputs are not signed with it unless a property signs them).
pub const TOKEN_KEY: &[u8] = b"hearth fuzz secret, 32 bytes ok!";

fn signer() -> TokenSigner {
    TokenSigner::new(TOKEN_KEY, Duration::from_secs(3600))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `payload.tag` with the tag computed as the server documents it:
/// `base64url(HMAC-SHA256(payload))`.
pub fn reference_token(payload: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(TOKEN_KEY).expect("any key length");
    mac.update(payload.as_bytes());
    let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{payload}.{tag}")
}

/// The token `TokenSigner::sign` makes of `claims`:
/// `base64url(claims JSON) . base64url(HMAC-SHA256(first part))`.
pub fn reference_sign(claims: &Claims) -> String {
    let json = serde_json::to_vec(claims).expect("claims serialize");
    reference_token(&URL_SAFE_NO_PAD.encode(json))
}

/// What any accepted token's claims must satisfy.
fn check_claims(claims: &Claims) {
    assert_eq!(
        Nick::parse(claims.nick.as_str()).as_ref().map(Nick::as_str),
        Ok(claims.nick.as_str()),
        "an accepted token carries a valid nick"
    );
    assert!(claims.exp > now_secs(), "an accepted token is not expired");
}

/// `token`: the first byte picks a mode (ASCII `0` to `3` work):
///
/// - `0`: the rest, lossily UTF-8, is a token. `verify` never panics, and it
///   accepts only what `sign` makes: an accepted token is byte for byte the
///   reference signature of the claims it yields.
/// - `1`: `<nick>\xff<edits>`: a token is issued for the nick (`anonymous` if
///   it is not a valid nick) and verifies to the same claims; then the edits
///   (3 bytes each: op, position, byte) change it, and `verify` accepts the
///   result only if it is the untouched token.
/// - `2`: the rest is a claims JSON, signed with the key (as only the server
///   can): `verify` never panics, and accepts only valid, unexpired claims
///   that parse from that JSON.
/// - `3`: the rest, lossily UTF-8, is a payload signed as is (not encoded):
///   `verify` never panics, and accepts only a payload that is base64url
///   (canonical, unpadded) of claims JSON.
pub fn check_token(data: &[u8]) {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => check_any_token(&String::from_utf8_lossy(rest)),
        1 => check_edited_token(rest),
        2 => check_signed_json(rest),
        _ => check_signed_payload(&String::from_utf8_lossy(rest)),
    }
}

fn check_any_token(token: &str) {
    if let Ok(claims) = signer().verify(token) {
        check_claims(&claims);
        assert_eq!(
            token,
            reference_sign(&claims),
            "accepted a token sign did not make"
        );
    }
}

fn check_edited_token(rest: &[u8]) {
    let (nick, edits) = match rest.iter().position(|b| *b == 0xff) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[][..]),
    };
    let nick = Nick::parse(&String::from_utf8_lossy(nick)).unwrap_or_else(|_| Nick::anonymous());
    let signer = signer();
    let (token, claims) = signer.issue(nick.clone());
    assert_eq!(token, reference_sign(&claims), "issue signs as documented");
    let back = signer.verify(&token).expect("a signed token verifies");
    assert_eq!(
        (&back.sid, &back.nick, back.exp),
        (&claims.sid, &claims.nick, claims.exp)
    );
    assert_eq!(back.nick, nick);

    let (other, _) = signer.issue(nick);
    let mut edited = token.clone().into_bytes();
    for edit in edits.chunks(3) {
        let (op, at, byte) = (
            edit[0],
            *edit.get(1).unwrap_or(&0),
            *edit.get(2).unwrap_or(&0),
        );
        let at = if edited.is_empty() {
            0
        } else {
            usize::from(at) * edited.len() / 256
        };
        match op % 6 {
            0 if at < edited.len() => edited[at] = byte,
            1 => edited.insert(at, byte),
            2 if at < edited.len() => {
                edited.remove(at);
            }
            3 => edited.truncate(at),
            4 => edited.push(byte),
            // Another genuine token's tag on this payload, and the reverse.
            _ => {
                let (payload, _) = token.split_once('.').unwrap();
                let (other_payload, other_tag) = other.split_once('.').unwrap();
                edited = if byte % 2 == 0 {
                    format!("{payload}.{other_tag}")
                } else {
                    format!("{other_payload}.{}", token.split_once('.').unwrap().1)
                }
                .into_bytes();
            }
        }
    }
    let edited = String::from_utf8_lossy(&edited);
    match signer.verify(&edited) {
        Ok(_) => assert_eq!(edited, token, "accepted an edited token"),
        Err(e) => assert_eq!(e, TokenError::Invalid, "{edited:?}"),
    }
}

fn check_signed_payload(payload: &str) {
    if let Ok(claims) = signer().verify(&reference_token(payload)) {
        check_claims(&claims);
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .expect("accepted payload is base64url");
        assert_eq!(
            URL_SAFE_NO_PAD.encode(&json),
            payload,
            "canonical base64url"
        );
        let parsed = serde_json::from_slice::<Claims>(&json).expect("accepted claims parse");
        assert_eq!(parsed.sid, claims.sid);
    }
}

fn check_signed_json(json: &[u8]) {
    let token = reference_token(&URL_SAFE_NO_PAD.encode(json));
    let parsed = serde_json::from_slice::<Claims>(json);
    match signer().verify(&token) {
        Ok(claims) => {
            check_claims(&claims);
            let parsed = parsed.expect("accepted claims parse");
            assert_eq!(
                (&claims.sid, &claims.nick, claims.exp),
                (&parsed.sid, &parsed.nick, parsed.exp)
            );
        }
        Err(TokenError::Expired) => {
            assert!(parsed.expect("expired claims parse").exp <= now_secs())
        }
        Err(TokenError::Invalid) => assert!(parsed.is_err(), "valid claims refused"),
        Err(TokenError::Missing) => panic!("verify said Missing"),
    }
}

// ---------------------------------------------------------------------------
// legacy_form

/// `legacy_form`: the input is a `/post` body. Decoding never panics; what it
/// yields obeys the message text rules; and it agrees with a plain
/// `form_urlencoded` reading: a text exactly when the body has one `message`
/// field whose value is a valid text, and then that text.
pub fn check_legacy_form(body: &[u8]) {
    let decoded = hearth_server::routes::decode_post_form(body);
    let messages: Vec<String> = form_urlencoded::parse(body)
        .filter(|(key, _)| key == "message")
        .map(|(_, value)| value.into_owned())
        .collect();
    let expected = match messages.as_slice() {
        [one] => MessageText::parse(one).ok(),
        _ => None,
    };
    match decoded {
        Ok(text) => {
            check_message_text(&text);
            assert_eq!(Some(text), expected, "body {body:?}");
        }
        Err(e) => {
            assert!(matches!(e, ApiError::BadRequest(_)), "{e:?}");
            assert_eq!(expected, None, "refused {body:?}: {e}");
        }
    }
}

// ---------------------------------------------------------------------------
// log_writes

/// One server, in this process, that every `log_writes` input is sent to
/// (through the real router, as `tower::ServiceExt::oneshot` requests): an
/// embedded backend in a fresh temporary directory, a session for the nick
/// `fuzz`, and one message of it to edit, react to and reply to.
struct LogFixture {
    runtime: tokio::runtime::Runtime,
    app: axum::Router,
    token: String,
    room: RoomName,
    /// The message edits and reactions go to.
    target: MessageId,
    /// What the inputs posted so far: ids (a reply may name them) and, by
    /// `client_id`, the stored message (a repeat answers it).
    posted: std::sync::Mutex<(HashSet<MessageId>, HashMap<String, Message>)>,
}

/// What `log_writes` replaces in a post body by the fixture's message id,
/// so an input can reply to a message that exists.
pub const TARGET_PLACEHOLDER: &[u8] = b"@TARGET";

fn log_fixture() -> &'static LogFixture {
    static FIXTURE: OnceLock<LogFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let dir = std::env::temp_dir().join(format!("hearth-fuzz-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut config = Config::new(&dir);
        config.sync = SyncMode::Normal;
        let unlimited = RateLimit {
            per_second: 1_000_000,
            burst: 1_000_000,
        };
        config.session_post_rate = unlimited;
        config.address_post_rate = unlimited;
        config.address_session_rate = unlimited;
        let app = runtime.block_on(async {
            hearth_server::routes::router(hearth_server::build_state(config).expect("state"))
        });
        let room = RoomName::default_room();
        let mut fixture = LogFixture {
            runtime,
            app,
            token: String::new(),
            room,
            target: MessageId::new(0, 0),
            posted: Default::default(),
        };
        let (status, body) = fixture.call(
            Method::POST,
            "/api/session".into(),
            br#"{"nick":"fuzz"}"#.to_vec(),
        );
        assert!(status.is_success(), "{}", String::from_utf8_lossy(&body));
        let session: SessionResponse = serde_json::from_slice(&body).expect("a session");
        fixture.token = session.token;
        let (status, body) = fixture.call(
            Method::POST,
            format!("/api/rooms/{}/messages", fixture.room),
            br#"{"text":"the fuzz target"}"#.to_vec(),
        );
        assert_eq!(status, StatusCode::CREATED);
        let message: Message = serde_json::from_slice(&body).expect("a message");
        fixture.target = message.id;
        fixture.posted.lock().expect("posted").0.insert(message.id);
        fixture
    })
}

impl LogFixture {
    /// Sends one request (JSON body, the session's token, a peer address)
    /// and reads the whole answer.
    fn call(&self, method: Method, uri: String, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
        use tower::ServiceExt;
        let Ok(request) = Request::builder()
            .method(method)
            .uri(&uri)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {}", self.token))
            .extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 4000))))
            .body(axum::body::Body::from(body))
        else {
            return (StatusCode::IM_A_TEAPOT, Vec::new());
        };
        self.runtime.block_on(async {
            let response = self.app.clone().oneshot(request).await.expect("infallible");
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("a body");
            (status, body.to_vec())
        })
    }
}

/// Percent-decoding as RFC 3986 reads it: `%` and two hex digits is that
/// byte; anything else (a lone `%` too) stays as it is.
fn percent_decode(segment: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(segment.len());
    let mut i = 0;
    while i < segment.len() {
        if segment[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                segment.get(i + 1).copied().and_then(hex),
                segment.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(segment[i]);
            i += 1;
        }
    }
    out
}

/// The path segment for raw bytes: a byte a path may hold as it is (`%`
/// included, so an input spells its own escapes, valid or not) stays; any
/// other (`/`, `?`, `#`, space, controls, non-ASCII) is percent-encoded.
fn path_segment(raw: &[u8]) -> String {
    let mut out = String::new();
    for &b in raw {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@%".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An error answer: `400` with `{"error": "<text>"}`.
fn check_bad_request(status: StatusCode, body: &[u8], what: &str) {
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "{what}: {}",
        String::from_utf8_lossy(body)
    );
    let error: serde_json::Value = serde_json::from_slice(body).expect("a JSON error");
    assert!(
        error["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{error}"
    );
}

/// `log_writes`: the input is `<mode><rest>`, sent to a real router.
///
/// - `0`: `rest` is a `PATCH .../messages/{id}` body. `200` exactly when it
///   is an `EditRequest` whose text `MessageText::parse` accepts, answering
///   the message with that (normalized) text; else `400`.
/// - `1`: `rest` is a `POST .../messages` body (`@TARGET` replaced by the
///   id of a message that exists). `201` exactly when it is a `PostRequest`
///   with a valid text, a valid `client_id` or none, and a `reply_to` naming
///   a message of the room or none; the message has that text and quotes
///   that message; a `client_id` used before answers `200` and the stored
///   message; else `400`.
/// - `2` / `3`: `rest` is the emoji path segment of a `PUT` / `DELETE` of a
///   reaction (bytes a path cannot hold as they are are percent-encoded, `%`
///   is kept). `204` exactly when it percent-decodes to UTF-8 that
///   `Emoji::parse` accepts; else `400`.
///
/// Never a `5xx`, never a panic.
pub fn check_log_writes(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let fixture = log_fixture();
    let room = &fixture.room;
    let target = fixture.target;
    match mode % 4 {
        0 => {
            let (status, body) = fixture.call(
                Method::PATCH,
                format!("/api/rooms/{room}/messages/{target}"),
                rest.to_vec(),
            );
            let expected =
                read_json::<EditRequest>(rest).and_then(|r| MessageText::parse(&r.text).ok());
            match expected {
                Some(text) => {
                    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
                    let edited: Message = serde_json::from_slice(&body).expect("a message");
                    assert_eq!(edited.id, target);
                    assert_eq!(edited.text, text.as_str());
                    check_message_text(&text);
                }
                None => check_bad_request(status, &body, "edit"),
            }
        }
        1 => {
            let body = replace_all(rest, TARGET_PLACEHOLDER, target.to_string().as_bytes());
            let (status, answer) = fixture.call(
                Method::POST,
                format!("/api/rooms/{room}/messages"),
                body.clone(),
            );
            let mut posted = fixture.posted.lock().expect("posted");
            let request = read_json::<PostRequest>(&body);
            let valid = request.as_ref().and_then(|r| {
                let text = MessageText::parse(&r.text).ok()?;
                if let Some(cid) = &r.client_id {
                    ClientId::parse(cid).ok()?;
                }
                let reply = match &r.reply_to {
                    Some(raw) => Some(
                        raw.parse::<MessageId>()
                            .ok()
                            .filter(|id| posted.0.contains(id))?,
                    ),
                    None => None,
                };
                Some((text, reply, r.client_id.clone()))
            });
            match valid {
                Some((_, _, Some(cid))) if posted.1.contains_key(&cid) => {
                    assert_eq!(
                        status,
                        StatusCode::OK,
                        "{}",
                        String::from_utf8_lossy(&answer)
                    );
                    let message: Message = serde_json::from_slice(&answer).expect("a message");
                    assert_eq!(Some(&message), posted.1.get(&cid));
                }
                Some((text, reply, cid)) => {
                    assert_eq!(
                        status,
                        StatusCode::CREATED,
                        "{}",
                        String::from_utf8_lossy(&answer)
                    );
                    let message: Message = serde_json::from_slice(&answer).expect("a message");
                    assert_eq!(message.text, text.as_str());
                    assert_eq!(message.reply_to.as_ref().map(|r| r.id), reply);
                    assert_eq!(message.nick, "fuzz");
                    posted.0.insert(message.id);
                    if let Some(cid) = cid {
                        posted.1.insert(cid, message);
                    }
                }
                None => check_bad_request(status, &answer, "post"),
            }
        }
        add => {
            let segment = path_segment(rest);
            let method = if add == 2 {
                Method::PUT
            } else {
                Method::DELETE
            };
            let (status, body) = fixture.call(
                method,
                format!("/api/rooms/{room}/messages/{target}/reactions/{segment}"),
                Vec::new(),
            );
            assert!(!status.is_server_error(), "{status} for {segment:?}");
            if segment.is_empty() {
                // `.../reactions/` names no reaction.
                assert!(!status.is_success(), "{status} for an empty emoji");
                return;
            }
            let emoji = String::from_utf8(percent_decode(segment.as_bytes()))
                .ok()
                .and_then(|e| Emoji::parse(&e).ok());
            match emoji {
                Some(_) => assert_eq!(
                    status,
                    StatusCode::NO_CONTENT,
                    "{segment:?}: {}",
                    String::from_utf8_lossy(&body)
                ),
                None => check_bad_request(status, &body, &segment),
            }
        }
    }
}

/// A request body as the server's `ApiJson` reads it: any JSON value first
/// (so of a repeated key the last one counts), then the request type.
fn read_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Option<T> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    serde_json::from_value(value).ok()
}

/// `haystack` with every `needle` replaced by `with`.
fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

// ---------------------------------------------------------------------------
// upload_query

/// `upload_query`: the query string of `POST /api/files?name=...`, read by
/// `hearth_server::routes::files::parse_upload_query` (what the route runs:
/// axum's `Query`, then `FileName::parse`). The input, lossily UTF-8:
///
/// - as a query made of it (a byte a query may hold as it is stays, `%`
///   included, so an input spells its own escapes; any other is
///   percent-encoded): never panics; a name comes back exactly when a plain
///   `form_urlencoded` reading finds one `name` field and the name rule
///   (written out again here) accepts its value, and it is that value;
///   every refusal is `400`;
/// - as the raw query as is: never panics; what it accepts obeys the rule
///   and is what the plain reading finds;
/// - as a file name: when the rule accepts it, every way a client encodes
///   it (`form_urlencoded` as `reqwest` and the web client's
///   `URLSearchParams` do, and `%XX` for every byte but ASCII letters and
///   digits, as `encodeURIComponent` nearly does) reads back as the same
///   name, other fields around it or not.
pub fn check_upload_query(data: &[u8]) {
    use hearth_server::routes::files::parse_upload_query;

    let query = query_of(data);
    check_upload_answer(&query, parse_upload_query(&query), true);
    let raw = String::from_utf8_lossy(data);
    check_upload_answer(&raw, parse_upload_query(&raw), false);

    if file_name_rule(&raw) {
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("name", &raw)
            .finish();
        let escaped = format!("name={}", percent_encode_all(&raw));
        let around = format!("a=1&{form}&b=%FF&c");
        for query in [form, escaped, around] {
            match parse_upload_query(&query) {
                Ok(name) => assert_eq!(name.as_str(), raw, "{query:?}"),
                Err(e) => panic!("{raw:?} as {query:?} refused: {e}"),
            }
        }
    }
}

/// Checks `parse_upload_query`'s answer for `query` against the plain
/// reading; `exact`: the query is a valid one, so a refusal must be the
/// plain reading's too (else only an acceptance is checked).
fn check_upload_answer(query: &str, answer: Result<FileName, ApiError>, exact: bool) {
    let names: Vec<String> = form_urlencoded::parse(query.as_bytes())
        .filter(|(key, _)| key == "name")
        .map(|(_, value)| value.into_owned())
        .collect();
    let expected = match names.as_slice() {
        [one] if file_name_rule(one) => Some(one.clone()),
        _ => None,
    };
    match answer {
        Ok(name) => {
            let name = name.as_str();
            assert!(file_name_rule(name), "accepted {name:?} from {query:?}");
            assert_eq!(Some(name), expected.as_deref(), "query {query:?}");
        }
        Err(e) => {
            assert!(matches!(e, ApiError::BadRequest(_)), "{query:?}: {e:?}");
            if exact {
                assert_eq!(expected, None, "refused {query:?}: {e}");
            }
        }
    }
}

/// The file name rule, written out again: 1 to 255 characters, none of
/// them `/`, `\` or a control character, and not `.` or `..`.
fn file_name_rule(name: &str) -> bool {
    let chars = name.chars().count();
    (1..=255).contains(&chars)
        && !name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control())
        && name != "."
        && name != ".."
}

/// A URI query of raw bytes: RFC 3986 `query` characters (`pchar`, `/`,
/// `?`; `%` kept as it is) stay, every other byte is `%XX`.
fn query_of(raw: &[u8]) -> String {
    let mut out = String::new();
    for &b in raw {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Every byte of `text` but ASCII letters and digits as `%XX`.
fn percent_encode_all(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// content_disposition

/// `content_disposition`: `hearth_server::routes::files::content_disposition`
/// of the input (lossily UTF-8) as a file name, inline and as an
/// attachment. Never panics; the value is a valid `HeaderValue` (so the
/// route never falls back to its placeholder), ASCII only, exactly
/// `<inline|attachment>; filename*=UTF-8''<value>` where the value holds
/// only RFC 8187 `attr-char`s and `%XX` escapes (no quote, `;`, `,`, space
/// or control character a browser could split on), and percent-decoding it
/// gives back the name byte for byte. Holds for any string, not only the
/// names the upload rule accepts (the check runs on both).
pub fn check_content_disposition(data: &[u8]) {
    use hearth_server::routes::files::content_disposition;

    let name = String::from_utf8_lossy(data);
    for inline in [false, true] {
        let value = content_disposition(inline, &name);
        assert!(
            axum::http::HeaderValue::from_str(&value).is_ok(),
            "not a header value: {value:?}"
        );
        assert!(value.is_ascii(), "{value:?}");
        let kind = if inline { "inline" } else { "attachment" };
        let prefix = format!("{kind}; filename*=UTF-8''");
        let encoded = value
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{value:?} does not start with {prefix:?}"));
        let bytes = encoded.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let escape = bytes.get(i + 1..i + 3);
                assert!(
                    escape.is_some_and(|e| e.iter().all(u8::is_ascii_hexdigit)),
                    "a bad escape at {i} in {encoded:?}"
                );
                i += 3;
            } else {
                assert!(
                    bytes[i].is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&bytes[i]),
                    "{:?} is not an attr-char, in {encoded:?}",
                    bytes[i] as char
                );
                i += 1;
            }
        }
        assert_eq!(
            percent_decode(bytes),
            name.as_bytes(),
            "{value:?} does not decode to {name:?}"
        );
    }
}
