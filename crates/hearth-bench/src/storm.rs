//! The `storm` subcommand (issue 17): a reconnect storm. N subscribers
//! stream one room and have seen `--before` messages; then every connection
//! is cut at once (reset, as when a LAN's access point restarts), and, if
//! `--restart-cmd` is given, the server is restarted; `--missed` messages are
//! posted meanwhile; then every subscriber reconnects at once with the
//! `Last-Event-ID` of the last event it saw, as an `EventSource` does.
//!
//! Measured: the time from the reconnect until every subscriber has every
//! message it missed, each subscriber's time, the server's CPU over the storm,
//! the kernel's listen-queue counters around it, and lost and duplicate
//! deliveries over the whole run (a message seen twice on one subscriber's
//! streams, before and after the cut, is a duplicate).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::http::{BodyDecoder, Target, parse_head};
use crate::netstat::ListenCounters;
use crate::payload;
use crate::procstat::{self, Machine};
use crate::publish::{self, Mode};
use crate::results::Latency;

/// Marks a storm result file (run results have no `kind`).
pub const KIND: &str = "storm";

#[derive(Debug, Clone, Args)]
pub struct StormArgs {
    /// `hearth` (Bearer session, `/api/rooms/{room}/events`) or `raw`
    /// (nchan: `/sub/{room}`, `/pub/{room}`).
    #[arg(long, value_enum, default_value = "hearth")]
    pub mode: Mode,
    /// The server's base URL.
    #[arg(long)]
    pub target: String,
    /// Subscribers in the room.
    #[arg(long, short = 'n', default_value_t = 10_000)]
    pub subscribers: u64,
    /// Messages every subscriber sees before the cut (so each has an event
    /// id to resume from).
    #[arg(long, default_value_t = 1)]
    pub before: u64,
    /// Messages posted while the subscribers are away.
    #[arg(long, default_value_t = 20)]
    pub missed: u64,
    /// Message size in bytes.
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// The room.
    #[arg(long, default_value = "storm0")]
    pub room: String,
    /// Subscribers connecting at once while setting up (not measured).
    #[arg(long, default_value_t = 1000)]
    pub setup_batch: u64,
    /// A shell command run after the cut that restarts the server (same
    /// port, same data dir) and prints the new server's pid as its last
    /// line of output, once it listens.
    #[arg(long)]
    pub restart_cmd: Option<String>,
    /// A server process to measure (repeatable; descendants count too).
    #[arg(long)]
    pub server_pid: Vec<u32>,
    /// Milliseconds between the cut and the posts (the server notices the
    /// resets meanwhile).
    #[arg(long, default_value_t = 1000)]
    pub settle_ms: u64,
    /// Seconds each phase may take.
    #[arg(long, default_value_t = 60.0)]
    pub timeout: f64,
    /// The peer's name in reports.
    #[arg(long)]
    pub label: Option<String>,
    /// The scenario's name in reports.
    #[arg(long, default_value = "storm")]
    pub scenario: String,
    /// Write the result as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// The JSON a storm writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StormResult {
    /// Always [`KIND`].
    pub kind: String,
    pub label: String,
    pub scenario: String,
    pub started_unix: u64,
    pub machine: Machine,
    pub mode: Mode,
    pub subscribers: u64,
    pub before: u64,
    pub missed: u64,
    /// The server was restarted between the cut and the reconnect.
    pub restarted: bool,
    /// Subscribers streaming and primed (all `before` messages) before the cut.
    pub primed: u64,
    /// From the reconnect until every subscriber streamed again.
    pub streaming_secs: f64,
    /// From the reconnect until every subscriber had every message
    /// (`None`: some never did within the timeout).
    pub caught_up_secs: Option<f64>,
    pub caught_up: u64,
    /// Each subscriber's time from the reconnect to streaming again and to
    /// having every message.
    pub per_subscriber_streaming_ms: Latency,
    pub per_subscriber_caught_up_ms: Latency,
    /// Connection attempts that failed during the storm and were retried.
    pub retries: u64,
    /// `subscribers × (before + missed)` minus distinct deliveries.
    pub lost: u64,
    pub duplicates: u64,
    pub posts_failed: u64,
    /// Server CPU from the reconnect until all caught up (or the timeout).
    pub server_cpu_secs: Option<f64>,
    /// That over the storm's wall time (1.0 = one core).
    pub server_cpu_share: Option<f64>,
    pub server_processes: Vec<String>,
    /// The kernel's listen-queue counters over the reconnect.
    pub kernel: Option<ListenCounters>,
    pub first_error: Option<String>,
    pub notes: Vec<String>,
}

/// What the main task tells every subscriber.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Stream,
    Cut,
    /// Reconnect now (the instant every subscriber times itself from).
    Reconnect(Instant),
    Stop,
}

/// Counters every subscriber adds to.
#[derive(Default)]
struct Progress {
    primed: AtomicU64,
    cut: AtomicU64,
    streaming_again: AtomicU64,
    caught_up: AtomicU64,
    retries: AtomicU64,
}

struct Spec {
    addr: std::net::SocketAddr,
    /// The request up to its blank line (headers still open).
    request: Arc<str>,
    mode: Mode,
    total: u64,
    before: u64,
}

/// What one subscriber saw.
#[derive(Debug, Default)]
struct Outcome {
    received: u64,
    duplicates: u64,
    streaming_us: Option<u64>,
    caught_up_us: Option<u64>,
    error: Option<String>,
}

/// One subscriber's reading state, kept across its connections.
struct Reader {
    seen: Vec<u64>,
    received: u64,
    duplicates: u64,
    last_id: Option<String>,
    line: Vec<u8>,
    saw_ready: bool,
}

impl Reader {
    fn body(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            let mut line = std::mem::take(&mut self.line);
            line.extend_from_slice(&rest[..nl]);
            self.line_done(&line);
            line.clear();
            self.line = line;
            rest = &rest[nl + 1..];
        }
        if self.line.len() + rest.len() <= 1 << 20 {
            self.line.extend_from_slice(rest);
        } else {
            self.line.clear();
        }
    }

    fn line_done(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(data) = line.strip_prefix(b"data:") {
            let Some(stamp) = payload::find(data) else {
                return;
            };
            let (word, bit) = ((stamp.seq / 64) as usize, stamp.seq % 64);
            let Some(slot) = self.seen.get_mut(word) else {
                return;
            };
            if *slot & (1 << bit) != 0 {
                self.duplicates += 1;
            } else {
                *slot |= 1 << bit;
                self.received += 1;
            }
        } else if let Some(id) = line.strip_prefix(b"id:") {
            self.last_id = Some(String::from_utf8_lossy(id).trim().to_string());
        } else if line.strip_prefix(b"event:").map(<[u8]>::trim_ascii) == Some(b"ready") {
            self.saw_ready = true;
        }
    }
}

/// Opens one stream (with `Last-Event-ID` when given): the socket, its
/// body's framing and the body bytes read with the head.
async fn connect(spec: &Spec, last_id: Option<&str>) -> Result<(TcpStream, BodyDecoder, Vec<u8>)> {
    let mut sock = TcpStream::connect(spec.addr)
        .await
        .with_context(|| format!("connect {}", spec.addr))?;
    sock.set_nodelay(true)?;
    socket2::SockRef::from(&sock).set_linger(Some(Duration::ZERO))?;
    let mut request = String::with_capacity(spec.request.len() + 64);
    request.push_str(&spec.request);
    if let Some(id) = last_id {
        request.push_str("Last-Event-ID: ");
        request.push_str(id);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    sock.write_all(request.as_bytes())
        .await
        .context("send request")?;
    let mut buf = vec![0u8; 4096];
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            bail!("response head too large");
        }
        let n = sock.read(&mut buf[filled..]).await.context("read head")?;
        if n == 0 {
            bail!("connection closed before a response head");
        }
        filled += n;
        if let Some(head) = parse_head(&buf[..filled])? {
            if head.status != 200 {
                let body = String::from_utf8_lossy(&buf[head.len..filled]);
                bail!("status {}: {}", head.status, body.trim());
            }
            let rest = buf[head.len..filled].to_vec();
            return Ok((sock, head.framing, rest));
        }
    }
}

/// Reads `sock` into `reader` until `done(reader)` is true or `phase`
/// leaves `while_in`; returns whether the phase changed (`Ok(true)`).
async fn read_until(
    sock: &mut TcpStream,
    decoder: &mut BodyDecoder,
    first: Vec<u8>,
    reader: &mut Reader,
    phase: &mut watch::Receiver<Phase>,
    mut done: impl FnMut(&Reader) -> bool,
) -> Result<bool> {
    decoder.feed(&first, &mut |b| reader.body(b))?;
    let mut buf = first;
    buf.resize(4096, 0);
    while !done(reader) {
        tokio::select! {
            read = sock.read(&mut buf) => {
                let n = read.context("read")?;
                if n == 0 {
                    bail!("the server closed the stream");
                }
                if decoder.feed(&buf[..n], &mut |b| reader.body(b))? {
                    bail!("the server ended the stream");
                }
            }
            changed = phase.changed() => {
                changed.context("the run ended")?;
                return Ok(true);
            }
        }
    }
    Ok(false)
}

fn streaming(spec: &Spec, reader: &Reader) -> bool {
    spec.mode != Mode::Hearth || reader.saw_ready
}

async fn subscriber(
    spec: Arc<Spec>,
    progress: Arc<Progress>,
    mut phase: watch::Receiver<Phase>,
) -> Outcome {
    let mut reader = Reader {
        seen: vec![0; (spec.total as usize).div_ceil(64)],
        received: 0,
        duplicates: 0,
        last_id: None,
        line: Vec::new(),
        saw_ready: false,
    };
    let mut out = Outcome::default();
    if let Err(e) = subscribe(&spec, &progress, &mut phase, &mut reader, &mut out).await {
        out.error = Some(format!("{e:#}"));
    }
    out.received = reader.received;
    out.duplicates = reader.duplicates;
    out
}

async fn subscribe(
    spec: &Spec,
    progress: &Progress,
    phase: &mut watch::Receiver<Phase>,
    reader: &mut Reader,
    out: &mut Outcome,
) -> Result<()> {
    // Stream until primed, then until the cut.
    let (mut sock, mut decoder, first) = connect(spec, None).await?;
    let before = spec.before;
    read_until(&mut sock, &mut decoder, first, reader, phase, |r| {
        r.received >= before && streaming(spec, r)
    })
    .await?;
    progress.primed.fetch_add(1, Ordering::Relaxed);
    while *phase.borrow_and_update() == Phase::Stream {
        read_until(&mut sock, &mut decoder, Vec::new(), reader, phase, |_| {
            false
        })
        .await?;
    }
    // The cut: a reset, as a vanished client's connection ends up.
    drop(sock);
    reader.saw_ready = false;
    reader.line.clear();
    progress.cut.fetch_add(1, Ordering::Relaxed);
    let started = loop {
        match *phase.borrow_and_update() {
            Phase::Reconnect(at) => break at,
            Phase::Stop => return Ok(()),
            _ => {}
        }
        phase.changed().await?;
    };
    // The storm: reconnect with the last id, retrying as an EventSource
    // would (after its `retry:` pause; 250 ms here) until streaming.
    let total = spec.total;
    loop {
        let (mut sock, mut decoder, first) = match connect(spec, reader.last_id.as_deref()).await {
            Ok(opened) => opened,
            Err(e) => {
                if *phase.borrow() == Phase::Stop {
                    return Err(e);
                }
                progress.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(250)).await;
                continue;
            }
        };
        let changed = read_until(&mut sock, &mut decoder, first, reader, phase, |r| {
            let live = streaming(spec, r);
            if live && out.streaming_us.is_none() {
                out.streaming_us = Some(started.elapsed().as_micros() as u64);
                progress.streaming_again.fetch_add(1, Ordering::Relaxed);
            }
            live && r.received >= total
        })
        .await?;
        if changed {
            return Ok(());
        }
        out.caught_up_us = Some(started.elapsed().as_micros() as u64);
        progress.caught_up.fetch_add(1, Ordering::Relaxed);
        // Keep reading until the stop: late duplicates count.
        while *phase.borrow_and_update() != Phase::Stop {
            read_until(&mut sock, &mut decoder, Vec::new(), reader, phase, |_| {
                false
            })
            .await?;
        }
        return Ok(());
    }
}

/// Runs the storm, prints the result and writes the JSON.
pub fn main(args: StormArgs) -> Result<()> {
    if let Ok(n) = rlimit::increase_nofile_limit(u64::MAX)
        && n < args.subscribers + 64
    {
        eprintln!(
            "warning: only {n} open files allowed for {} subscribers",
            args.subscribers
        );
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(run(args.clone()))?;
    print!("{}", table(&result));
    if let Some(path) = &args.json {
        crate::results::write_json(path, &result)?;
    }
    Ok(())
}

/// Waits until `counter` reaches `n` or `deadline` passes; true if reached.
async fn wait_for(counter: &AtomicU64, n: u64, deadline: Instant) -> bool {
    loop {
        if counter.load(Ordering::Relaxed) >= n {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Posts messages `first..first + count` as fast as answered.
async fn post(args: &StormArgs, auth: &Option<String>, first: u64, count: u64) -> Result<u64> {
    let client = publish::client()?;
    let (_, url) = args.mode.default_urls(&args.target);
    let rate = 1000.0;
    let job = publish::Job {
        mode: args.mode,
        first,
        step: 1,
        messages: first + count,
        rooms: 1,
        rate,
        size: args.size,
        url,
        room_names: vec![args.room.clone()],
        auth: auth.clone(),
        run_id: format!("{:x}", payload::unix_micros()),
    };
    let start = Instant::now()
        .checked_sub(Duration::from_secs_f64(first as f64 / rate))
        .unwrap_or_else(Instant::now);
    let outcome = publish::run(client, job, start).await;
    if let Some(e) = &outcome.first_error {
        eprintln!("storm: {e}");
    }
    Ok(outcome.attempted - outcome.ok)
}

async fn run(args: StormArgs) -> Result<StormResult> {
    if !matches!(args.mode, Mode::Hearth | Mode::Raw) {
        bail!("storm speaks hearth or raw");
    }
    let label = args
        .label
        .clone()
        .unwrap_or_else(|| format!("{:?}", args.mode).to_lowercase());
    let started_unix = payload::unix_micros() / 1_000_000;
    let timeout = Duration::from_secs_f64(args.timeout);
    let mut notes = Vec::new();
    let (sub_url, _) = args.mode.default_urls(&args.target);
    let target = Target::resolve(&sub_url.replace("{room}", &args.room)).await?;
    let signin = publish::client()?;
    let sub_auth = publish::sign_in(&signin, args.mode, &target.origin, "storm-sub").await?;
    let pub_auth = publish::sign_in(&signin, args.mode, &target.origin, "storm-pub").await?;
    let mut request = String::from_utf8(target.stream_request(&[]))?;
    request.truncate(request.len() - 2); // the blank line: headers follow
    if let Some(h) = &sub_auth {
        request.push_str(h);
        request.push_str("\r\n");
    }
    let spec = Arc::new(Spec {
        addr: target.addr,
        request: Arc::from(request),
        mode: args.mode,
        total: args.before + args.missed,
        before: args.before,
    });
    let progress = Arc::new(Progress::default());
    let (phase_tx, phase_rx) = watch::channel(Phase::Stream);
    let mut handles = Vec::with_capacity(args.subscribers as usize);

    // Set up: everyone streaming, then the `before` messages.
    let mut opened = 0;
    while opened < args.subscribers {
        let end = (opened + args.setup_batch.max(1)).min(args.subscribers);
        for _ in opened..end {
            handles.push(tokio::spawn(subscriber(
                spec.clone(),
                progress.clone(),
                phase_rx.clone(),
            )));
        }
        opened = end;
        // Streaming shows as primed only after the messages: give the batch
        // a moment to connect instead.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut posts_failed = post(&args, &pub_auth, 0, args.before).await?;
    if !wait_for(&progress.primed, args.subscribers, Instant::now() + timeout).await {
        notes.push(format!(
            "only {} of {} subscribers streamed and saw the first messages",
            progress.primed.load(Ordering::Relaxed),
            args.subscribers
        ));
    }
    let primed = progress.primed.load(Ordering::Relaxed);

    // The cut, the restart, the missed messages.
    phase_tx.send_replace(Phase::Cut);
    wait_for(&progress.cut, primed, Instant::now() + timeout).await;
    tokio::time::sleep(Duration::from_millis(args.settle_ms)).await;
    let mut pids = args.server_pid.clone();
    if let Some(cmd) = &args.restart_cmd {
        let output = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .stderr(std::process::Stdio::inherit())
            .output()
            .await
            .context("running --restart-cmd")?;
        if !output.status.success() {
            bail!("--restart-cmd failed: {}", output.status);
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let pid: u32 = stdout
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .context("--restart-cmd printed no pid")?;
        pids = vec![pid];
    }
    posts_failed += post(&args, &pub_auth, args.before, args.missed).await?;

    // The storm.
    let processes = procstat::names(&pids, true);
    let cpu_before = procstat::sample(&pids, true);
    let kernel_before = ListenCounters::read();
    let storm_start = Instant::now();
    phase_tx.send_replace(Phase::Reconnect(storm_start));
    let all_caught_up = wait_for(&progress.caught_up, primed, storm_start + timeout).await;
    let storm_secs = storm_start.elapsed().as_secs_f64();
    let cpu_after = procstat::sample(&pids, true);
    // The kernel's counters: let late retransmissions land.
    let kernel = ListenCounters::since(kernel_before);
    if !all_caught_up {
        notes.push(format!(
            "only {} of {primed} subscribers had every message after {} s",
            progress.caught_up.load(Ordering::Relaxed),
            args.timeout
        ));
    }
    // A moment for duplicates to show, then stop.
    tokio::time::sleep(Duration::from_millis(500)).await;
    phase_tx.send_replace(Phase::Stop);
    let (mut received, mut duplicates, mut first_error) = (0, 0, None);
    let (mut streaming_us, mut caught_up_us) = (Vec::new(), Vec::new());
    for h in handles {
        let o = h.await.context("subscriber task")?;
        received += o.received;
        duplicates += o.duplicates;
        if first_error.is_none() {
            first_error = o.error;
        }
        if let Some(us) = o.streaming_us {
            streaming_us.push(us.min(u64::from(u32::MAX)) as u32);
        }
        if let Some(us) = o.caught_up_us {
            caught_up_us.push(us.min(u64::from(u32::MAX)) as u32);
        }
    }
    let streaming_secs = streaming_us
        .iter()
        .max()
        .map_or(0.0, |&us| f64::from(us) / 1e6);
    let server_cpu_secs = match (cpu_before, cpu_after) {
        (Some(b), Some(a)) => Some(a.cpu_secs - b.cpu_secs),
        _ => None,
    };
    let expected = args.subscribers * (args.before + args.missed);
    Ok(StormResult {
        kind: KIND.into(),
        label,
        scenario: args.scenario.clone(),
        started_unix,
        machine: procstat::machine(),
        mode: args.mode,
        subscribers: args.subscribers,
        before: args.before,
        missed: args.missed,
        restarted: args.restart_cmd.is_some(),
        primed,
        streaming_secs,
        caught_up_secs: all_caught_up.then_some(storm_secs),
        caught_up: progress.caught_up.load(Ordering::Relaxed),
        per_subscriber_streaming_ms: Latency::from_micros(&mut streaming_us),
        per_subscriber_caught_up_ms: Latency::from_micros(&mut caught_up_us),
        retries: progress.retries.load(Ordering::Relaxed),
        lost: expected.saturating_sub(received),
        duplicates,
        posts_failed,
        server_cpu_secs,
        server_cpu_share: server_cpu_secs.map(|s| s / storm_secs.max(1e-9)),
        server_processes: processes,
        kernel,
        first_error,
        notes,
    })
}

/// The human summary printed after a storm.
pub fn table(r: &StormResult) -> String {
    use std::fmt::Write as _;
    let mut t = String::new();
    let mut row = |k: &str, v: String| {
        let _ = writeln!(t, "  {k:<26} {v}");
    };
    row(
        "storm",
        format!("{} / {} ({:?} mode)", r.label, r.scenario, r.mode),
    );
    row(
        "load",
        format!(
            "{} subscribers, {} message(s) before the cut, {} while away{}",
            r.subscribers,
            r.before,
            r.missed,
            if r.restarted {
                ", server restarted"
            } else {
                ""
            }
        ),
    );
    row("primed", format!("{} of {}", r.primed, r.subscribers));
    row(
        "all streaming again",
        format!("{:.2} s after the reconnect", r.streaming_secs),
    );
    row(
        "all caught up",
        r.caught_up_secs.map_or_else(
            || format!("not within the timeout ({} did)", r.caught_up),
            |s| format!("{s:.2} s after the reconnect"),
        ),
    );
    let l = &r.per_subscriber_caught_up_ms;
    row(
        "  each caught up (ms)",
        format!(
            "p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
            l.p50, l.p90, l.p99, l.max
        ),
    );
    row(
        "lost / duplicates",
        format!(
            "{} / {} ({} posts failed, {} retried connects)",
            r.lost, r.duplicates, r.posts_failed, r.retries
        ),
    );
    row(
        "server CPU in the storm",
        match (r.server_cpu_secs, r.server_cpu_share) {
            (Some(s), Some(share)) => format!("{s:.2} s ({:.0}% of a core)", share * 100.0),
            _ => "not measured".into(),
        },
    );
    row(
        "kernel in the storm",
        r.kernel.map_or_else(|| "unknown".into(), |k| k.describe()),
    );
    if let Some(e) = &r.first_error {
        row("  first error", e.clone());
    }
    for n in &r.notes {
        row("NOTE", n.clone());
    }
    t
}
