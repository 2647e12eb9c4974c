//! A Rust client for Hearth rooms: what the desktop app, the tests and the
//! benchmark use to talk to a server.
//!
//! - [`Client`]: sessions, room list, history, posting. [`Client::post`]
//!   makes one attempt; [`Client::post_reliably`] retries failures that are
//!   safe to retry with the same `client_id`, so a retry never duplicates.
//! - [`Client::open_stream`]: one event-stream connection, with the protocol's
//!   45 s dead-connection timeout. [`Client::follow`]: a stream that
//!   reconnects by itself with jittered exponential backoff and resumes with
//!   the last id it saw.
//! - The room log (v1.1): [`Client::post_reply`], [`Client::edit`],
//!   [`Client::delete`], [`Client::react`], [`Client::unreact`],
//!   [`Client::typing`].
//! - Files (v1.1): [`Client::upload_file`] streams a file from disk (never
//!   whole in memory) with progress, [`Client::upload_bytes`] sends bytes
//!   already in memory, [`Client::download_to`] streams a file to disk (a
//!   temporary file beside the destination, renamed at the end), and
//!   [`Client::fetch_file`] reads a small one (a thumbnail). A message
//!   sharing uploads is a [`Outgoing`] with `files`, posted by
//!   [`Client::post_outgoing`] or [`Client::post_outgoing_reliably`].
//! - People (v1.1): [`Client::current_session`] (who am I, `admin`,
//!   `protected`), [`Client::open_dm`], and for admins [`Client::ban`],
//!   [`Client::unban`], [`Client::bans`].
//! - [`ClientError`]: status, server text and `reason`, and whether
//!   retrying can help; a stream the server ended for good (`event:
//!   ended`) ends [`Client::follow`] with [`ClientError::Ended`].
//!
//! - [`tls`]: `https://` rooms, with the system's roots or a pinned
//!   certificate.
//! - [`discovery`]: the rooms on the LAN (DNS-SD over multicast DNS), as a
//!   live list.
//!
//! Wire types come from `hearth-proto`; this crate adds only transport.

use std::time::Duration;

use eventsource_stream::{EventStreamError, Eventsource};
use futures::{Stream, StreamExt};
pub mod discovery;
mod files;
pub mod tls;

use hearth_proto::{
    Ban, BanRequest, CertFingerprint, DmRequest, DmResponse, EditRequest, Message, MessageId,
    PostRequest, RoomName, RoomSummary, ServerInfo, SessionRequest, SessionResponse, StreamEnded,
    StreamEvent,
};
use reqwest::{StatusCode, header};
use url::Url;

/// A dead stream: this long without a byte (pings included).
pub const STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(45);

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error status.
    #[error("{message} (HTTP {status})")]
    Status {
        status: StatusCode,
        /// The server's `error` text (or the status reason).
        message: String,
        /// `Retry-After`, when the server sent one.
        retry_after: Option<Duration>,
        /// The server's `reason`, when its error body has one: why a
        /// sign-in was refused (`nick_protected`, `server_password`), or
        /// `banned`, `not_protected`.
        reason: Option<String>,
        /// For `banned`: when the ban ends (RFC 3339).
        until: Option<String>,
    },
    /// The server ended the stream for good (`event: ended`: the session
    /// was banned, signed out or superseded); following it again with the
    /// same session is pointless.
    #[error("{}", .0.error)]
    Ended(StreamEnded),
    /// No answer: the connection failed, dropped or timed out.
    #[error("cannot reach the server: {0}")]
    Network(String),
    /// The server answered something this client cannot read.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    /// The address given is not a usable server URL.
    #[error("not a server address: {0}")]
    InvalidUrl(String),
    /// The server's TLS certificate was refused (untrusted, expired, not
    /// the pinned one); the text says which, for a person.
    #[error("{0}")]
    Certificate(String),
    /// A local file could not be read or written (an upload's source, a
    /// download's destination); the text names it and says why.
    #[error("{0}")]
    File(String),
}

impl ClientError {
    /// Whether the same request may succeed later (for a post: with the same
    /// `client_id`, so the retry cannot duplicate).
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Network(_) => true,
            ClientError::Status { status, .. } => {
                *status == StatusCode::TOO_MANY_REQUESTS
                    || *status == StatusCode::REQUEST_TIMEOUT
                    || status.is_server_error()
            }
            ClientError::Protocol(_)
            | ClientError::InvalidUrl(_)
            | ClientError::Certificate(_)
            | ClientError::File(_)
            | ClientError::Ended(_) => false,
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's `reason` for the refusal (`nick_protected`,
    /// `server_password`, `banned`, …), when it gave one; for an ended
    /// stream, why it ended.
    pub fn reason(&self) -> Option<&str> {
        match self {
            ClientError::Status { reason, .. } => reason.as_deref(),
            ClientError::Ended(ended) => Some(&ended.reason),
            _ => None,
        }
    }
}

impl From<reqwest::Error> for ClientError {
    fn from(e: reqwest::Error) -> Self {
        if let Some(problem) = tls::certificate_problem(&e) {
            ClientError::Certificate(problem)
        } else if e.is_decode() {
            ClientError::Protocol(with_causes(&e))
        } else {
            ClientError::Network(with_causes(&e))
        }
    }
}

/// An error's text followed by its causes' (`error sending request for
/// url (…): client error (Connect): tcp connect error: Connection refused
/// (os error 111)`), so an app can tell a refused connection from a
/// missing name or a timeout and say so in a person's words.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The result of a successful post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub message: Message,
    /// True for `201` (stored now), false for `200` (a repeat of a stored
    /// `client_id`).
    pub created: bool,
}

/// A message to post: its text, idempotency key, and what v1.1 adds.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// May be empty when `files` is not.
    pub text: &'a str,
    pub client_id: &'a str,
    /// The message (of the same room) this one answers.
    pub reply_to: Option<MessageId>,
    /// Ids of this session's uploads the message shares (up to
    /// [`hearth_proto::MAX_FILES_PER_MESSAGE`]).
    pub files: &'a [String],
}

/// What to stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamTarget {
    /// `GET /api/rooms/{room}/events`
    Room(RoomName),
    /// `GET /api/events?rooms=...`
    Rooms(Vec<RoomName>),
}

/// One event read from a stream, with the SSE id in force after it (the
/// message id, or the cursor on a multi-room stream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub event: StreamEvent,
    pub last_event_id: Option<String>,
}

/// What [`Client::follow`] yields.
// Events are by far the most common item, moved once each: boxing them
// would cost an allocation per event to save space on the rare others.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Followed {
    /// A stream (re)opened.
    Connected,
    /// An event.
    Event(Received),
    /// The stream dropped; the next attempt comes after `delay`.
    Reconnecting {
        attempt: u32,
        delay: Duration,
        reason: String,
    },
    /// The server refused the stream for a reason retrying cannot fix (for
    /// example `401`), or ended it for good ([`ClientError::Ended`]: the
    /// session was banned, signed out or superseded); following has ended.
    Failed(ClientError),
}

/// Backoff and retry limits for [`Client::post_reliably`] and
/// [`Client::follow`].
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Attempts in all (posts only; following retries forever).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            max_attempts: 8,
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `attempt` (0-based): doubling from
    /// `first_delay`, capped, with ±25 % jitter so clients do not reconnect
    /// in lockstep.
    pub fn delay(&self, attempt: u32) -> Duration {
        let base = self
            .first_delay
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_delay);
        let jitter = rand::random_range(0.75..1.25);
        base.mul_f64(jitter).min(self.max_delay)
    }
}

/// A connection to one Hearth server.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
    request_timeout: Duration,
}

/// Turns `host`, `host:port`, `http://host:port` or a `/r/{room}` link into
/// the server's base URL (and the room, if the link named one).
pub fn parse_server_address(input: &str) -> Result<(Url, Option<RoomName>), ClientError> {
    let input = input.trim();
    let with_scheme = if input.contains("://") {
        input.to_owned()
    } else {
        format!("http://{input}")
    };
    let mut url = Url::parse(&with_scheme).map_err(|e| ClientError::InvalidUrl(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ClientError::InvalidUrl(format!(
            "{input}: use http://host:port"
        )));
    }
    if url.port().is_none() && !input.contains("://") {
        let _ = url.set_port(Some(hearth_proto::DEFAULT_PORT));
    }
    let room = url
        .path()
        .strip_prefix("/r/")
        .map(|r| r.trim_end_matches('/'))
        .map(RoomName::parse)
        .transpose()
        .map_err(|e| ClientError::InvalidUrl(e.to_string()))?;
    url.set_path("/");
    url.set_query(None);
    url.set_fragment(None);
    Ok((url, room))
}

impl Client {
    /// A client for the server at `address` (see [`parse_server_address`]).
    /// `https://` servers must have a certificate the system trusts.
    pub fn new(address: &str) -> Result<Self, ClientError> {
        Self::new_pinned(address, None)
    }

    /// A client for the server at `address` that, when `pin` is given,
    /// accepts exactly the TLS certificate with that fingerprint (a
    /// self-signed host's) instead of the system's trust roots.
    pub fn new_pinned(address: &str, pin: Option<CertFingerprint>) -> Result<Self, ClientError> {
        let (base, _) = parse_server_address(address)?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .tls_backend_preconfigured(tls::client_config(pin)?)
            .build()
            .map_err(|e| ClientError::Network(e.to_string()))?;
        Ok(Self {
            http,
            base,
            token: None,
            request_timeout: Duration::from_secs(30),
        })
    }

    /// The same client acting with `token`.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The session token, once signed in.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// How long a non-stream request may take.
    pub fn set_request_timeout(&mut self, timeout: Duration) {
        self.request_timeout = timeout;
    }

    fn url(&self, path: &str) -> Url {
        self.base.join(path).expect("paths are relative and valid")
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends a request and reads the JSON answer (or the error).
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, T), ClientError> {
        let response = request.timeout(self.request_timeout).send().await?;
        let response = check_status(response).await?;
        let status = response.status();
        let body = response.json::<T>().await?;
        Ok((status, body))
    }

    /// `GET /api/info`: what a client probes an address with.
    pub async fn info(&self) -> Result<ServerInfo, ClientError> {
        Ok(self.call(self.http.get(self.url("api/info"))).await?.1)
    }

    /// `POST /api/session`; keeps the token for later calls.
    pub async fn sign_in(
        &mut self,
        nick: &str,
        password: Option<&str>,
    ) -> Result<SessionResponse, ClientError> {
        self.sign_in_protected(nick, password, None).await
    }

    /// `POST /api/session` with the nick's own password: protects a nick
    /// nobody protects, and is what a protected nick needs (without it, or
    /// with a wrong one, the server answers `401`). Keeps the token.
    pub async fn sign_in_protected(
        &mut self,
        nick: &str,
        password: Option<&str>,
        nick_password: Option<&str>,
    ) -> Result<SessionResponse, ClientError> {
        let body = SessionRequest {
            nick: nick.to_owned(),
            password: password.map(str::to_owned),
            nick_password: nick_password.map(str::to_owned),
        };
        let (_, session): (_, SessionResponse) = self
            .call(self.http.post(self.url("api/session")).json(&body))
            .await?;
        self.token = Some(session.token.clone());
        Ok(session)
    }

    /// `GET /api/session`: who this client's session is now (whether its
    /// nick is protected, whether it may moderate).
    pub async fn current_session(&self) -> Result<CurrentSession, ClientError> {
        let request = self.authorized(self.http.get(self.url("api/session")));
        Ok(self.call(request).await?.1)
    }

    /// `POST /api/dm`: the direct-message room of this session's nick and
    /// `nick` (both must be protected, else `409` `not_protected`).
    pub async fn open_dm(&self, nick: &str) -> Result<DmResponse, ClientError> {
        let body = DmRequest {
            nick: nick.to_owned(),
        };
        let request = self
            .authorized(self.http.post(self.url("api/dm")))
            .json(&body);
        Ok(self.call(request).await?.1)
    }

    /// `POST /api/bans` (admins only, else `403`): bans `nick` for
    /// `minutes`, with a reason the banned person is shown.
    pub async fn ban(
        &self,
        nick: &str,
        minutes: u64,
        reason: Option<&str>,
    ) -> Result<Ban, ClientError> {
        let body = BanRequest {
            nick: nick.to_owned(),
            minutes,
            reason: reason.map(str::to_owned),
        };
        let request = self
            .authorized(self.http.post(self.url("api/bans")))
            .json(&body);
        Ok(self.call(request).await?.1)
    }

    /// `DELETE /api/bans/{nick}` (admins only): ends a ban now.
    pub async fn unban(&self, nick: &str) -> Result<(), ClientError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("http URLs have paths")
            .pop_if_empty()
            .extend(["api", "bans", nick]);
        self.send(self.http.delete(url)).await
    }

    /// `GET /api/bans` (admins only): the bans in force.
    pub async fn bans(&self) -> Result<Vec<Ban>, ClientError> {
        let request = self.authorized(self.http.get(self.url("api/bans")));
        Ok(self.call(request).await?.1)
    }

    /// `GET /api/rooms`.
    pub async fn rooms(&self) -> Result<Vec<RoomSummary>, ClientError> {
        let request = self.authorized(self.http.get(self.url("api/rooms")));
        Ok(self.call(request).await?.1)
    }

    /// `GET /api/rooms/{room}/messages`: up to `limit` messages before
    /// `before` (or the newest), oldest first.
    pub async fn history(
        &self,
        room: &RoomName,
        before: Option<MessageId>,
        limit: Option<usize>,
    ) -> Result<Vec<Message>, ClientError> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(before) = before {
            query.push(("before", before.to_string()));
        }
        if let Some(limit) = limit {
            query.push(("limit", limit.to_string()));
        }
        let request = self
            .authorized(
                self.http
                    .get(self.url(&format!("api/rooms/{room}/messages"))),
            )
            .query(&query);
        Ok(self.call(request).await?.1)
    }

    /// `GET /api/rooms/{room}/messages?after=`: up to `limit` messages after
    /// `after`, oldest first (the history that follows a message).
    pub async fn history_after(
        &self,
        room: &RoomName,
        after: MessageId,
        limit: Option<usize>,
    ) -> Result<Vec<Message>, ClientError> {
        let mut query: Vec<(&str, String)> = vec![("after", after.to_string())];
        if let Some(limit) = limit {
            query.push(("limit", limit.to_string()));
        }
        let request = self
            .authorized(
                self.http
                    .get(self.url(&format!("api/rooms/{room}/messages"))),
            )
            .query(&query);
        Ok(self.call(request).await?.1)
    }

    /// `GET /api/search`: up to `limit` messages (server default 20) whose
    /// text holds every term of `q`, newest first; only of `rooms` when it
    /// is not empty; older than `before` when given (the last id of the
    /// previous page).
    pub async fn search(
        &self,
        q: &str,
        rooms: &[RoomName],
        before: Option<MessageId>,
        limit: Option<usize>,
    ) -> Result<Vec<Message>, ClientError> {
        let mut query: Vec<(&str, String)> = vec![("q", q.to_owned())];
        if !rooms.is_empty() {
            let names: Vec<&str> = rooms.iter().map(RoomName::as_str).collect();
            query.push(("rooms", names.join(",")));
        }
        if let Some(before) = before {
            query.push(("before", before.to_string()));
        }
        if let Some(limit) = limit {
            query.push(("limit", limit.to_string()));
        }
        let request = self
            .authorized(self.http.get(self.url("api/search")))
            .query(&query);
        Ok(self.call(request).await?.1)
    }

    /// `POST /api/rooms/{room}/messages`, once.
    pub async fn post(
        &self,
        room: &RoomName,
        text: &str,
        client_id: &str,
    ) -> Result<Posted, ClientError> {
        self.post_reply(room, text, client_id, None).await
    }

    /// `POST /api/rooms/{room}/messages` answering the message `reply_to`
    /// (of the same room), once.
    pub async fn post_reply(
        &self,
        room: &RoomName,
        text: &str,
        client_id: &str,
        reply_to: Option<MessageId>,
    ) -> Result<Posted, ClientError> {
        let outgoing = Outgoing {
            text,
            client_id,
            reply_to,
            files: &[],
        };
        self.post_outgoing(room, &outgoing).await
    }

    /// `POST /api/rooms/{room}/messages` with everything a message may
    /// carry (a reply, the ids of the session's uploads), once.
    pub async fn post_outgoing(
        &self,
        room: &RoomName,
        outgoing: &Outgoing<'_>,
    ) -> Result<Posted, ClientError> {
        let body = PostRequest {
            text: outgoing.text.to_owned(),
            client_id: Some(outgoing.client_id.to_owned()),
            reply_to: outgoing.reply_to.map(|id| id.to_string()),
            files: outgoing.files.to_vec(),
        };
        let request = self
            .authorized(
                self.http
                    .post(self.url(&format!("api/rooms/{room}/messages"))),
            )
            .json(&body);
        let (status, message) = self.call(request).await?;
        Ok(Posted {
            message,
            created: status == StatusCode::CREATED,
        })
    }

    /// The URL of a message (`api/rooms/{room}/messages/{id}`), and more
    /// path segments after it, each percent-encoded.
    fn message_url(&self, room: &RoomName, id: MessageId, more: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("http URLs have paths")
            .pop_if_empty()
            .extend(["api", "rooms", room.as_str(), "messages", &id.to_string()])
            .extend(more);
        url
    }

    /// Sends a request whose success has no body (`204`).
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<(), ClientError> {
        let response = self
            .authorized(request)
            .timeout(self.request_timeout)
            .send()
            .await?;
        check_status(response).await?;
        Ok(())
    }

    /// `PATCH /api/rooms/{room}/messages/{id}`: the author changes the text;
    /// answers the edited message. Repeating it changes nothing.
    pub async fn edit(
        &self,
        room: &RoomName,
        id: MessageId,
        text: &str,
    ) -> Result<Message, ClientError> {
        let body = EditRequest {
            text: text.to_owned(),
        };
        let request = self
            .authorized(self.http.patch(self.message_url(room, id, &[])))
            .json(&body);
        Ok(self.call(request).await?.1)
    }

    /// `DELETE /api/rooms/{room}/messages/{id}` (the author only).
    pub async fn delete(&self, room: &RoomName, id: MessageId) -> Result<(), ClientError> {
        self.send(self.http.delete(self.message_url(room, id, &[])))
            .await
    }

    /// `PUT /api/rooms/{room}/messages/{id}/reactions/{emoji}`.
    pub async fn react(
        &self,
        room: &RoomName,
        id: MessageId,
        emoji: &str,
    ) -> Result<(), ClientError> {
        self.send(
            self.http
                .put(self.message_url(room, id, &["reactions", emoji])),
        )
        .await
    }

    /// `DELETE /api/rooms/{room}/messages/{id}/reactions/{emoji}`.
    pub async fn unreact(
        &self,
        room: &RoomName,
        id: MessageId,
        emoji: &str,
    ) -> Result<(), ClientError> {
        self.send(
            self.http
                .delete(self.message_url(room, id, &["reactions", emoji])),
        )
        .await
    }

    /// `POST /api/rooms/{room}/typing`: tells the room's other streams.
    pub async fn typing(&self, room: &RoomName) -> Result<(), ClientError> {
        self.send(
            self.http
                .post(self.url(&format!("api/rooms/{room}/typing"))),
        )
        .await
    }

    /// Posts, retrying what is safe to retry (network errors, timeouts,
    /// `429`, `5xx`) with the same `client_id`, waiting at least what
    /// `Retry-After` asks. Stops at the first error retrying cannot fix.
    pub async fn post_reliably(
        &self,
        room: &RoomName,
        text: &str,
        client_id: &str,
        policy: &RetryPolicy,
    ) -> Result<Posted, ClientError> {
        self.post_reply_reliably(room, text, client_id, None, policy)
            .await
    }

    /// [`Client::post_reliably`] for a message answering `reply_to` (as
    /// [`Client::post_reply`]).
    pub async fn post_reply_reliably(
        &self,
        room: &RoomName,
        text: &str,
        client_id: &str,
        reply_to: Option<MessageId>,
        policy: &RetryPolicy,
    ) -> Result<Posted, ClientError> {
        let outgoing = Outgoing {
            text,
            client_id,
            reply_to,
            files: &[],
        };
        self.post_outgoing_reliably(room, &outgoing, policy).await
    }

    /// [`Client::post_reliably`] for any [`Outgoing`] message (a reply,
    /// files): retries keep its `client_id`, so they never duplicate it.
    pub async fn post_outgoing_reliably(
        &self,
        room: &RoomName,
        outgoing: &Outgoing<'_>,
        policy: &RetryPolicy,
    ) -> Result<Posted, ClientError> {
        let mut attempt = 0;
        loop {
            match self.post_outgoing(room, outgoing).await {
                Ok(posted) => return Ok(posted),
                Err(e) if e.is_retryable() && attempt + 1 < policy.max_attempts => {
                    let mut delay = policy.delay(attempt);
                    if let ClientError::Status {
                        retry_after: Some(after),
                        ..
                    } = &e
                    {
                        delay = delay.max(*after);
                    }
                    tracing::debug!(cause = %e, ?delay, attempt, "post failed; retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Opens one event stream, resuming after `last_event_id` if given. The
    /// stream ends with an error when the connection drops or stays silent
    /// for [`STREAM_IDLE_TIMEOUT`].
    pub async fn open_stream(
        &self,
        target: &StreamTarget,
        last_event_id: Option<&str>,
    ) -> Result<impl Stream<Item = Result<Received, ClientError>> + Send + 'static, ClientError>
    {
        self.open_stream_with_idle(target, last_event_id, STREAM_IDLE_TIMEOUT)
            .await
    }

    /// [`Client::open_stream`] with another dead-connection timeout.
    pub async fn open_stream_with_idle(
        &self,
        target: &StreamTarget,
        last_event_id: Option<&str>,
        idle: Duration,
    ) -> Result<impl Stream<Item = Result<Received, ClientError>> + Send + 'static, ClientError>
    {
        let request = match target {
            StreamTarget::Room(room) => {
                self.http.get(self.url(&format!("api/rooms/{room}/events")))
            }
            StreamTarget::Rooms(rooms) => {
                let names: Vec<&str> = rooms.iter().map(RoomName::as_str).collect();
                self.http
                    .get(self.url("api/events"))
                    .query(&[("rooms", names.join(","))])
            }
        };
        let mut request = self
            .authorized(request)
            .header(header::ACCEPT, "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = tokio::time::timeout(self.request_timeout, request.send())
            .await
            .map_err(|_| ClientError::Network("timed out opening the stream".into()))??;
        let response = check_status(response).await?;
        let bytes = response.bytes_stream();
        let guarded = async_stream::stream! {
            let mut bytes = bytes;
            loop {
                match tokio::time::timeout(idle, bytes.next()).await {
                    Ok(Some(Ok(chunk))) => yield Ok(chunk),
                    Ok(Some(Err(e))) => {
                        yield Err(ClientError::Network(e.to_string()));
                        break;
                    }
                    Ok(None) => break,
                    Err(_) => {
                        yield Err(ClientError::Network(format!(
                            "no data for {} s: connection presumed dead",
                            idle.as_secs()
                        )));
                        break;
                    }
                }
            }
        };
        let events = Box::pin(guarded)
            .eventsource()
            .filter_map(|item| async move {
                match item {
                    // The session no longer counts: the stream's last event.
                    Ok(event) if event.event == "ended" => Some(Err(
                        match serde_json::from_str::<StreamEnded>(&event.data) {
                            Ok(ended) => ClientError::Ended(ended),
                            Err(e) => ClientError::Protocol(format!("bad ended event: {e}")),
                        },
                    )),
                    Ok(event) => match StreamEvent::from_sse(&event.event, &event.data) {
                        Ok(Some(parsed)) => Some(Ok(Received {
                            event: parsed,
                            last_event_id: (!event.id.is_empty()).then_some(event.id),
                        })),
                        Ok(None) => None,
                        Err(e) => Some(Err(ClientError::Protocol(format!(
                            "bad {} event: {e}",
                            event.event
                        )))),
                    },
                    Err(EventStreamError::Transport(e)) => Some(Err(e)),
                    Err(e) => Some(Err(ClientError::Protocol(e.to_string()))),
                }
            });
        Ok(events)
    }

    /// Follows a stream for as long as the returned stream is polled:
    /// reconnects after any drop with jittered exponential backoff, resuming
    /// with the last id seen, and ends only on an error retrying cannot fix.
    pub fn follow(
        &self,
        target: StreamTarget,
        last_event_id: Option<String>,
        policy: RetryPolicy,
    ) -> impl Stream<Item = Followed> + Send + 'static {
        let client = self.clone();
        async_stream::stream! {
            let mut last_id = last_event_id;
            let mut attempt = 0u32;
            loop {
                let reason = match client.open_stream(&target, last_id.as_deref()).await {
                    Ok(events) => {
                        attempt = 0;
                        yield Followed::Connected;
                        let mut events = Box::pin(events);
                        let mut reason = "the server closed the stream".to_owned();
                        while let Some(item) = events.next().await {
                            match item {
                                Ok(received) => {
                                    if let Some(id) = &received.last_event_id {
                                        last_id = Some(id.clone());
                                    }
                                    yield Followed::Event(received);
                                }
                                Err(ClientError::Ended(ended)) => {
                                    yield Followed::Failed(ClientError::Ended(ended));
                                    return;
                                }
                                Err(e) => {
                                    reason = e.to_string();
                                    break;
                                }
                            }
                        }
                        reason
                    }
                    Err(e) if !e.is_retryable() => {
                        yield Followed::Failed(e);
                        return;
                    }
                    Err(e) => e.to_string(),
                };
                let delay = policy.delay(attempt);
                attempt = attempt.saturating_add(1);
                yield Followed::Reconnecting { attempt, delay, reason };
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// Passes a success through; turns an error status into [`ClientError`].
async fn check_status(response: reqwest::Response) -> Result<reqwest::Response, ClientError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let text = response.text().await.unwrap_or_default();
    Err(status_error(status, &text, retry_after))
}

/// The body of an error answer: `error`, and v1.1's `reason` and `until`.
#[derive(Debug, serde::Deserialize)]
struct ErrorAnswer {
    error: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    until: Option<String>,
}

/// The error for an answer with `status` and body `text`.
fn status_error(status: StatusCode, text: &str, retry_after: Option<Duration>) -> ClientError {
    let (message, reason, until) = match serde_json::from_str::<ErrorAnswer>(text) {
        Ok(body) => (body.error, body.reason, body.until),
        Err(_) => (
            status
                .canonical_reason()
                .unwrap_or("request failed")
                .to_owned(),
            None,
            None,
        ),
    };
    ClientError::Status {
        status,
        message,
        retry_after,
        reason: reason.filter(|r| !r.is_empty()),
        until,
    }
}

/// `GET /api/session`: who a session is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CurrentSession {
    pub nick: String,
    #[serde(default)]
    pub expires_at: Option<String>,
    /// Whether the nick is protected now. v1.1; false from older servers.
    #[serde(default)]
    pub protected: bool,
    /// Whether the session may moderate. v1.1; false from older servers.
    #[serde(default)]
    pub admin: bool,
}

/// A new random `client_id` for a post.
pub fn new_client_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_people_paste_are_understood() {
        let (url, room) = parse_server_address("192.168.1.20").unwrap();
        assert_eq!(url.as_str(), "http://192.168.1.20:8989/");
        assert_eq!(room, None);
        let (url, room) = parse_server_address("http://host:9000/r/dev").unwrap();
        assert_eq!(url.as_str(), "http://host:9000/");
        assert_eq!(room.unwrap().as_str(), "dev");
        let (url, _) = parse_server_address("host:1234").unwrap();
        assert_eq!(url.as_str(), "http://host:1234/");
        assert!(parse_server_address("ftp://host").is_err());
        assert!(parse_server_address("http://host/r/Bad Room").is_err());
    }

    #[test]
    fn an_error_answer_keeps_its_reason() {
        let refused = status_error(
            StatusCode::UNAUTHORIZED,
            r#"{"error": "the nick ana is protected", "reason": "nick_protected"}"#,
            None,
        );
        assert_eq!(refused.reason(), Some("nick_protected"));
        assert_eq!(refused.status(), Some(StatusCode::UNAUTHORIZED));
        assert_eq!(
            refused.to_string(),
            "the nick ana is protected (HTTP 401 Unauthorized)"
        );
        let banned = status_error(
            StatusCode::FORBIDDEN,
            r#"{"error": "you are banned until 2026-12-06T09:00:00Z: spam", "reason": "banned", "until": "2026-12-06T09:00:00Z"}"#,
            None,
        );
        assert_eq!(banned.reason(), Some("banned"));
        let ClientError::Status { until, .. } = &banned else {
            unreachable!()
        };
        assert_eq!(until.as_deref(), Some("2026-12-06T09:00:00Z"));
        // A v1 body, an empty reason, and a body that is not JSON.
        for body in [r#"{"error": "no"}"#, r#"{"error": "no", "reason": ""}"#] {
            let plain = status_error(StatusCode::UNAUTHORIZED, body, None);
            assert_eq!(plain.reason(), None, "{body}");
            assert_eq!(plain.to_string(), "no (HTTP 401 Unauthorized)");
        }
        let html = status_error(StatusCode::BAD_GATEWAY, "<html>", None);
        assert_eq!(html.reason(), None);
        assert_eq!(html.to_string(), "Bad Gateway (HTTP 502 Bad Gateway)");
    }

    #[test]
    fn an_ended_stream_is_not_retried() {
        let ended = ClientError::Ended(StreamEnded {
            reason: "banned".into(),
            error: "you are banned until 09:00".into(),
            until: Some("2026-12-06T09:00:00Z".into()),
        });
        assert!(!ended.is_retryable());
        assert_eq!(ended.reason(), Some("banned"));
        assert_eq!(ended.to_string(), "you are banned until 09:00");
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = RetryPolicy::default();
        let first = policy.delay(0);
        assert!(first >= Duration::from_millis(750) && first <= Duration::from_millis(1250));
        let third = policy.delay(2);
        assert!(third >= Duration::from_secs(3) && third <= Duration::from_secs(5));
        assert!(policy.delay(20) <= Duration::from_secs(30));
    }
}
