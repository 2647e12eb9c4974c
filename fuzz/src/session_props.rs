//! Properties of `POST /api/session` (`hearth_server::routes::session`) that
//! the fuzz target `session_body` checks. Shared like `server_props.rs`: the
//! fuzz crate and `crates/hearth-server/tests/fuzz_regressions.rs` both
//! compile this file.
//!
//! Input: the whole input is the request body, sent as it is (with
//! `Content-Type: application/json`) through the real router to one server
//! per thread (an embedded backend in a temporary directory, no server
//! password, no password backoff, no rate limits worth the name), so that
//! what one input protects, the next ones meet. A model kept next to it maps
//! each protected nick key (`hearth_server::nicks::key`) to its nick
//! password. For every input:
//!
//! - never a panic, never a `5xx`; every refusal is a JSON object with a
//!   non-empty `"error"`;
//! - `201` exactly when the body, read as the server reads JSON (a value
//!   first, so of a repeated key the last counts), is an object whose
//!   `nick` is a string `Nick::parse` accepts, whose `password` is absent,
//!   `null` or a string, and whose `nick_password` is absent, `null` or a
//!   string of 8 to 128 characters (not bytes); and the model has no
//!   password for the nick's key, or the given one is it. Otherwise `413`
//!   for a body over the limit, `401` with `"reason": "nick_protected"` for
//!   a protected nick without its password (missing or wrong), else `400`;
//! - a `201` answers the parsed (trimmed) nick, `protected` exactly when a
//!   nick password was given (an unprotected nick is then protected: the
//!   model records it) or the key was protected, `admin` false (the server
//!   has no admins), and a token that `GET /api/session` accepts for the
//!   same nick and protection.

#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use hearth_proto::{Nick, SessionResponse};
use hearth_server::config::{Config, RateLimit, SyncMode};
use serde_json::Value;

/// The server's `max_body_bytes` (the default): a longer body is `413`.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// One server and its model, per thread (leaked: it lives as long as the
/// process, and nothing is torn down in a thread-local destructor).
struct SessionServer {
    runtime: tokio::runtime::Runtime,
    app: axum::Router,
    /// Nick key → the nick password it was protected with.
    protected: RefCell<HashMap<String, String>>,
}

thread_local! {
    static SERVER: &'static SessionServer = Box::leak(Box::new(SessionServer::start()));
}

impl SessionServer {
    fn start() -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let dir = std::env::temp_dir().join(format!(
            "hearth-fuzz-session-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let mut config = Config::new(&dir);
        config.sync = SyncMode::Normal;
        config.password_backoff = std::time::Duration::ZERO;
        let unlimited = RateLimit {
            per_second: 1_000_000,
            burst: 1_000_000,
        };
        config.session_post_rate = unlimited;
        config.address_post_rate = unlimited;
        config.address_session_rate = unlimited;
        assert_eq!(config.max_body_bytes, MAX_BODY_BYTES);
        assert!(config.password.is_none() && config.admins.is_empty());
        let app = runtime.block_on(async {
            hearth_server::routes::router(hearth_server::build_state(config).expect("state"))
        });
        SessionServer {
            runtime,
            app,
            protected: RefCell::default(),
        }
    }

    /// Sends one request (a JSON body, a bearer token when given, a peer
    /// address) and reads the whole answer.
    fn call(&self, method: Method, body: Vec<u8>, token: Option<&str>) -> (StatusCode, Vec<u8>) {
        use tower::ServiceExt;
        let mut request = Request::builder()
            .method(method)
            .uri("/api/session")
            .header("content-type", "application/json")
            .extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 4000))));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request
            .body(axum::body::Body::from(body))
            .expect("a request");
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

/// What the server must answer a body.
#[derive(Debug)]
enum Expected {
    /// `201` for this nick; `nick_password`: the one given, if any.
    Created {
        nick: Nick,
        key: String,
        nick_password: Option<String>,
    },
    /// `401` `nick_protected`.
    Protected,
    /// `400`.
    Invalid,
    /// `413`.
    TooLarge,
}

/// The session rule, written out again: the body read as the server's
/// `ApiJson` reads it (any JSON value, then an object's fields), checked
/// against `model` (nick key → nick password).
fn expected(body: &[u8], model: &HashMap<String, String>) -> Expected {
    if body.len() > MAX_BODY_BYTES {
        return Expected::TooLarge;
    }
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
        return Expected::Invalid;
    };
    let Some(Value::String(nick)) = fields.get("nick") else {
        return Expected::Invalid;
    };
    // An optional string: absent and `null` are both none.
    let optional = |name: &str| match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(()),
    };
    let (Ok(_password), Ok(nick_password)) = (optional("password"), optional("nick_password"))
    else {
        return Expected::Invalid;
    };
    let Ok(nick) = Nick::parse(nick) else {
        return Expected::Invalid;
    };
    if nick_password
        .as_ref()
        .is_some_and(|p| !(8..=128).contains(&p.chars().count()))
    {
        return Expected::Invalid;
    }
    let key = hearth_server::nicks::key(&nick);
    match (model.get(&key), &nick_password) {
        (Some(stored), Some(given)) if stored == given => {}
        (Some(_), _) => return Expected::Protected,
        (None, _) => {}
    }
    Expected::Created {
        nick,
        key,
        nick_password,
    }
}

/// A refusal's body: a JSON object with a non-empty `"error"`.
fn check_error(status: StatusCode, answer: &[u8]) -> Value {
    let error: Value = serde_json::from_slice(answer).unwrap_or_else(|e| {
        panic!(
            "{status}: not JSON ({e}): {:?}",
            String::from_utf8_lossy(answer)
        )
    });
    assert!(
        error["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{status}: {error}"
    );
    error
}

/// `session_body`: the input is a `POST /api/session` body (see the module
/// documentation for what is checked).
pub fn check_session_body(body: &[u8]) {
    SERVER.with(|server| check_on(server, body))
}

fn check_on(server: &SessionServer, body: &[u8]) {
    let expected = expected(body, &server.protected.borrow());
    let (status, answer) = server.call(Method::POST, body.to_vec(), None);
    let shown = || {
        format!(
            "body {:?}: {status} {}",
            String::from_utf8_lossy(body),
            String::from_utf8_lossy(&answer)
        )
    };
    assert!(!status.is_server_error(), "{}", shown());
    match expected {
        Expected::Created {
            nick,
            key,
            nick_password,
        } => {
            assert_eq!(status, StatusCode::CREATED, "{}", shown());
            let session: SessionResponse =
                serde_json::from_slice(&answer).unwrap_or_else(|e| panic!("{e}: {}", shown()));
            let mut model = server.protected.borrow_mut();
            let was_protected = model.contains_key(&key);
            assert_eq!(session.nick, nick.as_str(), "{}", shown());
            assert_eq!(
                session.protected,
                nick_password.is_some() || was_protected,
                "{}",
                shown()
            );
            assert!(!session.admin, "{}", shown());
            assert!(!session.token.is_empty(), "{}", shown());
            if let Some(password) = nick_password
                && !was_protected
            {
                model.insert(key, password);
            }
            drop(model);
            // The token is a session of that nick, with that protection.
            let (status, who) = server.call(Method::GET, Vec::new(), Some(&session.token));
            assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&who));
            let who: Value = serde_json::from_slice(&who).expect("a JSON answer");
            assert_eq!(who["nick"], nick.as_str(), "{who}");
            assert_eq!(who["protected"], session.protected, "{who}");
        }
        Expected::Protected => {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{}", shown());
            let error = check_error(status, &answer);
            assert_eq!(error["reason"], "nick_protected", "{}", shown());
        }
        Expected::Invalid => {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{}", shown());
            check_error(status, &answer);
        }
        Expected::TooLarge => {
            assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{}", shown());
            check_error(status, &answer);
        }
    }
}
