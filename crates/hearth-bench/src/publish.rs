//! The publishing side: how each kind of server is signed in to and posted
//! to ([`Mode`]), the credentials subscribers and publishers carry, and the
//! publisher tasks that post the run's messages on schedule.
//!
//! - `hearth`: `POST /api/session {"nick"}` gives a token; posts are
//!   `POST /api/rooms/{room}/messages {"text", "client_id"}` with
//!   `Authorization: Bearer`; streams carry the same header.
//! - `form` (the original Flask room, or Hearth's compatible routes):
//!   `POST /login` with form field `user` sets a session cookie; posts are
//!   `POST /post` with form field `message`; streams send the cookie.
//! - `raw` (nchan's publisher location, any "POST a body" endpoint): the body
//!   is the message; no sign-in.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::payload;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Hearth,
    Form,
    Raw,
}

impl Mode {
    /// The default stream and post URL templates on a server at `origin`.
    pub fn default_urls(self, origin: &str) -> (String, String) {
        let origin = origin.trim_end_matches('/');
        match self {
            Mode::Hearth => (
                format!("{origin}/api/rooms/{{room}}/events?replay=0"),
                format!("{origin}/api/rooms/{{room}}/messages"),
            ),
            Mode::Form => (format!("{origin}/stream"), format!("{origin}/post")),
            Mode::Raw => (
                format!("{origin}/sub/{{room}}"),
                format!("{origin}/pub/{{room}}"),
            ),
        }
    }
}

/// An HTTP client for one publisher (or for signing in): one keep-alive
/// connection, no redirects followed (the Flask `/login` answers a redirect
/// to a page we do not want).
pub fn client() -> Result<reqwest::Client> {
    // reqwest is built without a crypto provider of its own
    // (`rustls-no-provider`, see the workspace): give the process ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(30))
        .build()
        .context("HTTP client")
}

/// Signs in as `nick` on the server at `origin`; returns the header line
/// (`Name: value`) that authenticates later requests, or `None` in raw mode.
pub async fn sign_in(
    client: &reqwest::Client,
    mode: Mode,
    origin: &str,
    nick: &str,
) -> Result<Option<String>> {
    match mode {
        Mode::Raw => Ok(None),
        Mode::Hearth => {
            let url = format!("{origin}/api/session");
            let resp = client
                .post(&url)
                .json(&serde_json::json!({ "nick": nick }))
                .send()
                .await
                .with_context(|| format!("POST {url}"))?;
            let status = resp.status();
            let body = resp.text().await.unwrap_or_default();
            if !status.is_success() {
                bail!("POST {url}: {status}: {}", body.trim());
            }
            let v: serde_json::Value =
                serde_json::from_str(&body).with_context(|| format!("POST {url}: not JSON"))?;
            let token = v["token"]
                .as_str()
                .with_context(|| format!("POST {url}: no token in the answer"))?;
            Ok(Some(format!("Authorization: Bearer {token}")))
        }
        Mode::Form => {
            let url = format!("{origin}/login");
            let resp = client
                .post(&url)
                .form(&[("user", nick)])
                .send()
                .await
                .with_context(|| format!("POST {url}"))?;
            let status = resp.status();
            let cookies: Vec<String> = resp
                .headers()
                .get_all(reqwest::header::SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .filter_map(|v| v.split(';').next())
                .map(|pair| pair.trim().to_string())
                .filter(|pair| pair.contains('='))
                .collect();
            if !(status.is_success() || status.is_redirection()) || cookies.is_empty() {
                let body = resp.text().await.unwrap_or_default();
                bail!("POST {url}: {status}, no session cookie: {}", body.trim());
            }
            Ok(Some(format!("Cookie: {}", cookies.join("; "))))
        }
    }
}

/// One publisher's job: messages `first, first + step, ...` below `messages`,
/// message `j` due at `start + j / rate` and posted to room `j % rooms`.
#[derive(Debug)]
pub struct Job {
    pub mode: Mode,
    pub first: u64,
    pub step: u64,
    pub messages: u64,
    pub rooms: u64,
    pub rate: f64,
    pub size: usize,
    /// Post URL template (`{room}` replaced by the room's name).
    pub url: String,
    /// Room names, by room index.
    pub room_names: Vec<String>,
    pub auth: Option<String>,
    /// Makes `client_id`s unique to this run.
    pub run_id: String,
}

/// What one publisher did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub attempted: u64,
    pub ok: u64,
    /// Failed posts by HTTP status (0: no answer).
    pub failed: BTreeMap<u16, u64>,
    pub first_error: Option<String>,
    /// Request-to-answer time of each post, µs.
    pub post_latencies_us: Vec<u32>,
    /// How late the most behind post was sent, µs.
    pub max_lag_us: u64,
    /// Unix µs of the first and last send.
    pub first_send_micros: u64,
    pub last_send_micros: u64,
}

/// Posts the job's messages on schedule from `start`; each post waits for
/// the previous one's answer (one connection per publisher).
pub async fn run(client: reqwest::Client, job: Job, start: Instant) -> Outcome {
    let mut out = Outcome::default();
    let mut seq = job.first;
    while seq < job.messages {
        let due = start + Duration::from_secs_f64(seq as f64 / job.rate);
        tokio::time::sleep_until(due).await;
        out.max_lag_us = out
            .max_lag_us
            .max(Instant::now().saturating_duration_since(due).as_micros() as u64);
        let room = &job.room_names[(seq % job.rooms) as usize];
        let url = job.url.replace("{room}", room);
        let sent = payload::unix_micros();
        if out.attempted == 0 {
            out.first_send_micros = sent;
        }
        out.last_send_micros = sent;
        let text = payload::encode(seq, sent, job.size);
        let mut req = match job.mode {
            Mode::Hearth => client.post(&url).json(&serde_json::json!({
                "text": text,
                "client_id": format!("bench-{}-{seq}", job.run_id),
            })),
            Mode::Form => client.post(&url).form(&[("message", text.as_str())]),
            Mode::Raw => client
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, "text/plain")
                .body(text),
        };
        if let Some((name, value)) = job.auth.as_deref().and_then(|h| h.split_once(": ")) {
            req = req.header(name, value);
        }
        let t0 = Instant::now();
        out.attempted += 1;
        match req.send().await {
            Ok(resp) => {
                let status = resp.status();
                let body = resp.bytes().await;
                out.post_latencies_us
                    .push(t0.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                if status.is_success() && body.is_ok() {
                    out.ok += 1;
                } else {
                    *out.failed.entry(status.as_u16()).or_default() += 1;
                    if out.first_error.is_none() {
                        let body = body
                            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
                            .unwrap_or_default();
                        out.first_error = Some(format!("POST {url}: {status}: {body}"));
                    }
                }
            }
            Err(e) => {
                *out.failed.entry(0).or_default() += 1;
                if out.first_error.is_none() {
                    out.first_error = Some(format!("POST {url}: {e}"));
                }
            }
        }
        seq += job.step;
    }
    out
}
