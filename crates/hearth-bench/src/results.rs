//! The result of one run: the JSON file `run --json` writes and `report`
//! reads, the latency summary, and the human table printed after a run.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::netstat::ListenCounters;
use crate::procstat::Machine;
use crate::publish::Mode;

/// Bumped when a field changes meaning.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    pub format: u32,
    /// The peer (e.g. `hearth-embedded`, `nchan`, `flask`).
    pub label: String,
    /// The scenario (e.g. `room-1k`).
    pub scenario: String,
    pub started_unix: u64,
    pub machine: Machine,
    pub config: Config,
    pub connect: Connect,
    pub publish: Publish,
    pub delivery: Delivery,
    pub server: Option<Server>,
    pub generator: Generator,
    /// The kernel's listen-queue counters over the whole run (see
    /// [`Connect::kernel`] for the connect burst alone).
    #[serde(default)]
    pub kernel: Option<ListenCounters>,
    /// Warnings about how far the numbers can be trusted.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub mode: Mode,
    pub subscribers: u64,
    pub messages: u64,
    /// Messages per second, all publishers together.
    pub rate: f64,
    pub publishers: u64,
    pub size: usize,
    pub rooms: u64,
    pub sub_sessions: u64,
    pub connect_batch: u64,
    pub sub_urls: Vec<String>,
    pub pub_urls: Vec<String>,
    pub idle_secs: f64,
    pub drain_secs: f64,
    pub threads: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Connect {
    /// From the first connect to the last subscriber streaming.
    pub secs: f64,
    pub ready: u64,
    pub failed: u64,
    pub first_error: Option<String>,
    /// Each subscriber's time from the start of the connect phase until it
    /// streamed (a SYN the server's listener dropped shows as 1 s or 3 s).
    #[serde(default)]
    pub per_subscriber_ms: Option<Latency>,
    /// The kernel's listen-queue counters over the connect phase
    /// (`nstat`'s `TcpExtListenOverflows`, `TcpExtListenDrops`,
    /// `TcpExtTCPSynRetrans`).
    #[serde(default)]
    pub kernel: Option<ListenCounters>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Publish {
    pub attempted: u64,
    pub ok: u64,
    pub failed: u64,
    /// Failed posts by HTTP status (`0`: no answer).
    pub failed_by_status: BTreeMap<String, u64>,
    pub first_error: Option<String>,
    /// From the first send to the last.
    pub secs: f64,
    pub asked_rate: f64,
    pub achieved_rate: f64,
    /// Time from sending a post to its answer.
    pub post_ms: Latency,
    /// How late the most behind post left.
    pub max_lag_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    /// Subscribers of each message's room (all requested, connected or not)
    /// times messages (every one attempted, posted or not), summed.
    pub expected: u64,
    /// Distinct deliveries of a message to a subscriber of its room.
    pub received: u64,
    /// `expected - received`.
    pub lost: u64,
    pub duplicates: u64,
    /// Messages of another room, or not of this run.
    pub foreign: u64,
    pub streams_ended_early: u64,
    pub first_stream_error: Option<String>,
    /// Messages per second asked times subscribers per room.
    pub asked_per_sec: f64,
    /// Deliveries over the time from the first send to the last delivery
    /// (plus one message interval, the last message's slot).
    pub achieved_per_sec: f64,
    /// Receive time minus send time, over all deliveries.
    pub latency_ms: Latency,
    /// Time waited after the last post for deliveries to arrive.
    pub drain_secs: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Server {
    /// `pid:name` of the processes read (descendants included).
    pub processes: Vec<String>,
    /// What the `mem_kb_*` fields measure: `PSS` (proportional set size,
    /// shared pages split between the processes sharing them) or `RSS`.
    pub memory: String,
    pub mem_kb_before: u64,
    /// Right after every subscriber was streaming.
    pub mem_kb_streams_open: u64,
    /// After the streams were idle for `idle_secs` (if that was asked).
    pub mem_kb_idle: Option<u64>,
    /// At the end of the drain, streams still open.
    pub mem_kb_after: u64,
    /// `(memory when idle, or with streams open) - memory before`, per
    /// stream that was streaming.
    pub kb_per_stream: Option<f64>,
    pub cpu_secs_connect: f64,
    /// From just before the first post to the end of the drain.
    pub cpu_secs_posting: f64,
    pub cpu_us_per_delivery: Option<f64>,
    /// `cpu_secs_posting` over that phase's wall time (1.0 = one core).
    pub cpu_share_posting: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Generator {
    pub cpu_secs_total: f64,
    pub cpu_secs_posting: f64,
    pub cpu_share_posting: f64,
    pub rss_kb: u64,
}

/// A latency summary, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Latency {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Latency {
    /// Summarizes samples in microseconds (sorts them).
    pub fn from_micros(samples: &mut [u32]) -> Latency {
        if samples.is_empty() {
            return Latency::default();
        }
        samples.sort_unstable();
        let n = samples.len();
        // Nearest rank: the smallest sample with at least p of all at or
        // below it.
        let rank = |p: f64| samples[((p * n as f64).ceil() as usize).clamp(1, n) - 1];
        let ms = |us: u32| f64::from(us) / 1000.0;
        let sum: u64 = samples.iter().map(|&s| u64::from(s)).sum();
        Latency {
            count: n as u64,
            p50: ms(rank(0.50)),
            p90: ms(rank(0.90)),
            p99: ms(rank(0.99)),
            max: ms(samples[n - 1]),
            mean: sum as f64 / n as f64 / 1000.0,
        }
    }
}

fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

/// The human table printed after a run.
pub fn table(r: &RunResult) -> String {
    let mut t = String::new();
    let c = &r.config;
    let mut row = |k: &str, v: String| {
        let _ = writeln!(t, "  {k:<26} {v}");
    };
    row(
        "run",
        format!("{} / {} ({:?} mode)", r.label, r.scenario, c.mode),
    );
    row(
        "load",
        format!(
            "{} subscribers in {} room(s), {} msgs of {} B at {} msg/s from {} publisher(s)",
            c.subscribers, c.rooms, c.messages, c.size, c.rate, c.publishers
        ),
    );
    row(
        "connect",
        format!(
            "{} streaming, {} failed, in {:.2} s",
            r.connect.ready, r.connect.failed, r.connect.secs
        ),
    );
    if let Some(l) = &r.connect.per_subscriber_ms {
        row(
            "  each subscriber (ms)",
            format!(
                "p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
                l.p50, l.p90, l.p99, l.max
            ),
        );
    }
    row(
        "  kernel while connecting",
        r.connect
            .kernel
            .map_or_else(|| "unknown (no /proc/net/netstat)".into(), |k| k.describe()),
    );
    if let Some(e) = &r.connect.first_error {
        row("  first connect error", e.clone());
    }
    if c.messages > 0 {
        let p = &r.publish;
        row(
            "posts",
            format!(
                "{} ok, {} failed of {}; {:.1} msg/s achieved of {} asked",
                p.ok, p.failed, p.attempted, p.achieved_rate, p.asked_rate
            ),
        );
        row(
            "post answer (ms)",
            format!(
                "p50 {:.2}  p99 {:.2}  max {:.2}  (most late send {:.1} ms)",
                p.post_ms.p50, p.post_ms.p99, p.post_ms.max, p.max_lag_ms
            ),
        );
        if let Some(e) = &p.first_error {
            row("  first post error", e.clone());
        }
        let d = &r.delivery;
        row(
            "deliveries",
            format!(
                "{} of {} expected: lost {}, duplicates {}, foreign {}",
                d.received, d.expected, d.lost, d.duplicates, d.foreign
            ),
        );
        row(
            "latency (ms)",
            format!(
                "p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}  mean {:.2}",
                d.latency_ms.p50,
                d.latency_ms.p90,
                d.latency_ms.p99,
                d.latency_ms.max,
                d.latency_ms.mean
            ),
        );
        row(
            "deliveries/s",
            format!(
                "{:.0} achieved of {:.0} asked",
                d.achieved_per_sec, d.asked_per_sec
            ),
        );
        row(
            "streams ended early",
            format!(
                "{} (drain waited {:.2} s)",
                d.streams_ended_early, d.drain_secs
            ),
        );
        if let Some(e) = &d.first_stream_error {
            row("  first stream error", e.clone());
        }
    }
    if let Some(s) = &r.server {
        row("server processes", s.processes.join(" "));
        row(
            &format!("server memory ({})", s.memory),
            format!(
                "{} before, {} streams open{}, {} after",
                mb(s.mem_kb_before),
                mb(s.mem_kb_streams_open),
                s.mem_kb_idle
                    .map(|kb| format!(", {} idle", mb(kb)))
                    .unwrap_or_default(),
                mb(s.mem_kb_after)
            ),
        );
        if let Some(kb) = s.kb_per_stream {
            row("server memory per stream", format!("{kb:.1} KB"));
        }
        row(
            "server CPU",
            format!(
                "{:.2} s connecting, {:.2} s posting ({:.0}% of a core){}",
                s.cpu_secs_connect,
                s.cpu_secs_posting,
                s.cpu_share_posting * 100.0,
                s.cpu_us_per_delivery
                    .map(|us| format!(", {us:.2} µs per delivery"))
                    .unwrap_or_default()
            ),
        );
    }
    let g = &r.generator;
    row(
        "generator CPU",
        format!(
            "{:.2} s total, {:.2} s posting ({:.0}% of a core), RSS {}",
            g.cpu_secs_total,
            g.cpu_secs_posting,
            g.cpu_share_posting * 100.0,
            mb(g.rss_kb)
        ),
    );
    row(
        "machine",
        format!(
            "{} CPUs ({}), {} MB; generator on CPUs {}",
            r.machine.cpus, r.machine.cpu_model, r.machine.mem_total_mb, r.machine.generator_cpus
        ),
    );
    row(
        "kernel, whole run",
        r.kernel
            .map_or_else(|| "unknown (no /proc/net/netstat)".into(), |k| k.describe()),
    );
    for n in &r.notes {
        row("NOTE", n.clone());
    }
    t
}

/// Writes a result as pretty JSON (creating its folder) and says where.
pub fn write_json(path: &std::path::Path, result: &impl Serialize) -> anyhow::Result<()> {
    use anyhow::Context as _;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, serde_json::to_string_pretty(result)? + "\n")
        .with_context(|| format!("write {}", path.display()))?;
    println!("  {:<26} {}", "written", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut v: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        v.reverse();
        let l = Latency::from_micros(&mut v);
        assert_eq!(l.count, 100);
        assert_eq!(l.p50, 50.0);
        assert_eq!(l.p90, 90.0);
        assert_eq!(l.p99, 99.0);
        assert_eq!(l.max, 100.0);
        assert_eq!(l.mean, 50.5);
        let l = Latency::from_micros(&mut [7000]);
        assert_eq!((l.p50, l.p99, l.max), (7.0, 7.0, 7.0));
        assert_eq!(Latency::from_micros(&mut []).count, 0);
    }
}
