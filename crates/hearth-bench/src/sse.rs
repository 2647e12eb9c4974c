//! One subscriber: opens its event stream, says when it is streaming, and
//! records every benchmark message it receives (latency, duplicates,
//! messages of another room) until told to stop.
//!
//! It reads the socket itself (see [`crate::http`]) and looks only at `data:`
//! lines (for the stamp of [`crate::payload`]) and, for readiness, at
//! `event: ready` (Hearth) or the first `data:` line (the Flask room sends
//! its Redis subscribe confirmation, `data: 1`, once subscribed).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};

use crate::http::{BodyDecoder, parse_head};
use crate::payload;

/// When a subscriber counts as streaming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyOn {
    /// The `200` response head (nchan, a generic SSE server).
    Head,
    /// An `event: ready` line (Hearth sends it once the stream is live).
    ReadyEvent,
    /// The first `data:` line (the Flask room's subscribe confirmation).
    FirstData,
}

/// What every subscriber shares.
#[derive(Debug)]
pub struct Shared {
    /// Messages in the run (stamps with a larger sequence number are
    /// foreign).
    pub messages: u64,
    pub rooms: u64,
    /// Deliveries received so far by all subscribers (the drain stops early
    /// once all expected ones are in).
    pub received: AtomicU64,
}

/// One subscriber's job.
#[derive(Debug)]
pub struct Spec {
    pub room: u64,
    pub addr: SocketAddr,
    pub request: Arc<[u8]>,
    pub ready_on: ReadyOn,
    /// When the burst this subscriber is part of started: it reports the
    /// time from then until it streams.
    pub started: tokio::time::Instant,
}

/// A subscriber's answer once streaming (µs since [`Spec::started`]), or
/// why it could not get there.
pub type Ready = Result<u64, String>;

/// What one subscriber saw.
#[derive(Debug, Default)]
pub struct Outcome {
    pub ready: bool,
    /// The HTTP status of the stream's response, if one came.
    pub status: Option<u16>,
    /// Why the stream failed or ended before the stop, if it did.
    pub error: Option<String>,
    /// The stream ended (by the server, or an error) before the stop.
    pub ended_early: bool,
    /// Distinct benchmark messages of its room received.
    pub received: u64,
    pub duplicates: u64,
    /// Stamps of another room or an unknown sequence number.
    pub foreign: u64,
    /// Latency of each distinct delivery, in microseconds.
    pub latencies_us: Vec<u32>,
    /// Receive time (Unix µs) of the last delivery.
    pub last_delivery_micros: u64,
}

struct Receiver<'a> {
    spec: &'a Spec,
    shared: &'a Shared,
    seen: Vec<u64>,
    line: Vec<u8>,
    out: Outcome,
    saw_ready_line: bool,
}

impl Receiver<'_> {
    /// Takes body bytes received at `now_us`.
    fn body(&mut self, bytes: &[u8], now_us: u64) {
        let mut rest = bytes;
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            if self.line.is_empty() {
                self.line_done(&rest[..nl], now_us);
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&rest[..nl]);
                self.line_done(&line, now_us);
                line.clear();
                self.line = line;
            }
            rest = &rest[nl + 1..];
        }
        if !rest.is_empty() {
            if self.line.len() + rest.len() > 1 << 20 {
                // A line this long is no chat message: drop it.
                self.line.clear();
            } else {
                self.line.extend_from_slice(rest);
            }
        }
    }

    fn line_done(&mut self, line: &[u8], now_us: u64) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(data) = line.strip_prefix(b"data:") {
            if self.spec.ready_on == ReadyOn::FirstData {
                self.saw_ready_line = true;
            }
            let Some(stamp) = payload::find(data) else {
                return;
            };
            if stamp.seq >= self.shared.messages || stamp.seq % self.shared.rooms != self.spec.room
            {
                self.out.foreign += 1;
                return;
            }
            let (word, bit) = ((stamp.seq / 64) as usize, stamp.seq % 64);
            if self.seen[word] & (1 << bit) != 0 {
                self.out.duplicates += 1;
                return;
            }
            self.seen[word] |= 1 << bit;
            self.out.received += 1;
            self.shared.received.fetch_add(1, Ordering::Relaxed);
            let latency = now_us.saturating_sub(stamp.sent_micros);
            self.out
                .latencies_us
                .push(latency.min(u64::from(u32::MAX)) as u32);
            self.out.last_delivery_micros = now_us;
        } else if self.spec.ready_on == ReadyOn::ReadyEvent
            && line.strip_prefix(b"event:").map(<[u8]>::trim_ascii) == Some(b"ready")
        {
            self.saw_ready_line = true;
        }
    }
}

/// Runs one subscriber until `stop` turns true (or its stream ends). Sends on
/// `ready` once it is streaming, or the error if it could not get there.
pub async fn run(
    spec: Spec,
    shared: Arc<Shared>,
    ready: oneshot::Sender<Ready>,
    mut stop: watch::Receiver<bool>,
) -> Outcome {
    let per_room = shared.messages.div_ceil(shared.rooms) as usize;
    let mut rx = Receiver {
        spec: &spec,
        shared: &shared,
        seen: vec![0; (shared.messages as usize).div_ceil(64)],
        line: Vec::new(),
        out: Outcome {
            latencies_us: Vec::with_capacity(per_room),
            ..Outcome::default()
        },
        saw_ready_line: false,
    };
    let mut ready = Some(ready);
    let result = tokio::select! {
        r = stream(&mut rx, &mut ready) => r,
        _ = stop.wait_for(|s| *s) => Ok(()),
    };
    let mut out = rx.out;
    match result {
        Ok(()) => {}
        Err(e) => {
            out.error = Some(format!("{e:#}"));
            out.ended_early = true;
        }
    }
    if let Some(tx) = ready.take() {
        let _ = tx.send(Err(out
            .error
            .clone()
            .unwrap_or_else(|| "stopped before streaming".into())));
    } else {
        out.ready = true;
    }
    out
}

/// Connects and reads; returns `Ok(())` only if stopped from outside (via
/// the select in [`run`]); a stream that ends is an error.
async fn stream(rx: &mut Receiver<'_>, ready: &mut Option<oneshot::Sender<Ready>>) -> Result<()> {
    let mut sock = TcpStream::connect(rx.spec.addr)
        .await
        .with_context(|| format!("connect {}", rx.spec.addr))?;
    sock.set_nodelay(true)?;
    // Close with a reset at the end: thousands of connections per run must
    // not leave thousands of ports in TIME_WAIT for the next run.
    socket2::SockRef::from(&sock).set_linger(Some(Duration::ZERO))?;
    sock.write_all(&rx.spec.request)
        .await
        .context("send request")?;

    let mut buf = vec![0u8; 4096];
    let mut filled = 0;
    let (head_len, mut decoder) = loop {
        if filled == buf.len() {
            if buf.len() >= 64 * 1024 {
                bail!("response head too large");
            }
            buf.resize(buf.len() * 2, 0);
        }
        let n = sock.read(&mut buf[filled..]).await.context("read head")?;
        if n == 0 {
            bail!("connection closed before a response head");
        }
        filled += n;
        if let Some(head) = parse_head(&buf[..filled])? {
            rx.out.status = Some(head.status);
            if head.status != 200 {
                let body = String::from_utf8_lossy(&buf[head.len..filled]);
                bail!("status {}: {}", head.status, body.trim());
            }
            break (head.len, head.framing);
        }
    };
    if rx.spec.ready_on == ReadyOn::Head
        && let Some(tx) = ready.take()
    {
        let _ = tx.send(Ok(since(rx.spec.started)));
    }
    let mut done = feed(rx, &mut decoder, &buf[head_len..filled], ready)?;
    buf.truncate(4096);
    while !done {
        let n = sock.read(&mut buf).await.context("read")?;
        if n == 0 {
            bail!("the server closed the stream");
        }
        done = feed(rx, &mut decoder, &buf[..n], ready)?;
    }
    bail!("the server ended the stream")
}

fn feed(
    rx: &mut Receiver<'_>,
    decoder: &mut BodyDecoder,
    bytes: &[u8],
    ready: &mut Option<oneshot::Sender<Ready>>,
) -> Result<bool> {
    if bytes.is_empty() {
        return Ok(false);
    }
    let now = payload::unix_micros();
    let done = decoder.feed(bytes, &mut |body| rx.body(body, now))?;
    if rx.saw_ready_line
        && let Some(tx) = ready.take()
    {
        let _ = tx.send(Ok(since(rx.spec.started)));
    }
    Ok(done)
}

fn since(started: tokio::time::Instant) -> u64 {
    started.elapsed().as_micros().min(u128::from(u64::MAX)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receiver<'a>(spec: &'a Spec, shared: &'a Shared) -> Receiver<'a> {
        Receiver {
            spec,
            shared,
            seen: vec![0; 1],
            line: Vec::new(),
            out: Outcome::default(),
            saw_ready_line: false,
        }
    }

    #[test]
    fn counts_deliveries_duplicates_and_foreign_messages() {
        let spec = Spec {
            room: 1,
            addr: "127.0.0.1:1".parse().unwrap(),
            request: Arc::from(&b""[..]),
            ready_on: ReadyOn::ReadyEvent,
            started: tokio::time::Instant::now(),
        };
        let shared = Shared {
            messages: 10,
            rooms: 2,
            received: AtomicU64::new(0),
        };
        let mut rx = receiver(&spec, &shared);
        rx.body(b"retry: 2000\n\nevent: rea", 1000);
        assert!(!rx.saw_ready_line);
        rx.body(b"dy\ndata: {}\n\n", 1000);
        assert!(rx.saw_ready_line);
        // Message 3 (room 1) split across reads, then again (duplicate),
        // then message 2 (room 0: foreign) and 11 (unknown: foreign).
        rx.body(
            b"id: 1-0\r\nevent: message\r\ndata: {\"text\":\"HB3:9",
            2000,
        );
        rx.body(b"00:xx\"}\r\n\r\n", 2000);
        rx.body(
            b"data: x: HB3:900:xx\n\ndata: HB2:900:\n\ndata: HB11:1:\n\n",
            2500,
        );
        assert_eq!(rx.out.received, 1);
        assert_eq!(rx.out.duplicates, 1);
        assert_eq!(rx.out.foreign, 2);
        assert_eq!(rx.out.latencies_us, vec![1100]);
        assert_eq!(rx.out.last_delivery_micros, 2000);
        assert_eq!(shared.received.load(Ordering::Relaxed), 1);
    }
}
