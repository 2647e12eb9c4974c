//! The `files` subcommand: what uploads and downloads cost a Hearth server
//! (protocol v1.1, "Files and images"). N sessions each upload the same
//! S MiB file at once, streamed from disk; then N downloads of those
//! uploads at once, each checked byte for byte (size and SHA-256, which is
//! also the `ETag`); then one slow reader. All the while a thread samples
//! the server's resident set size every few milliseconds, and the kernel's
//! own peak record (`VmHWM`, reset before each phase) catches what falls
//! between samples. Produces a [`FilesResult`].
//!
//! Streaming both ways means the peaks stay a bounded buffer above idle: an
//! upload held whole in memory would show as about N × S MiB.
//!
//! Memory an allocator keeps after the uploads can serve the downloads
//! without the RSS moving; `--downloads-of <earlier.json>` skips the uploads
//! and downloads the files an earlier run made (the server restarted on the
//! same data in between), so the downloads are measured from an idle server.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::{Bytes, BytesMut};
use clap::Args;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tokio::time::Instant;

use crate::procstat::{self, Machine};
use crate::publish::{self, Mode};

/// Bumped when a field changes meaning.
pub const FORMAT: u32 = 1;

const MIB: u64 = 1024 * 1024;
/// Bytes the uploads read from disk at a time.
const READ_CHUNK: usize = 64 * 1024;

#[derive(Debug, Clone, Args)]
pub struct FilesArgs {
    /// The Hearth server's base URL.
    #[arg(long)]
    pub target: String,
    /// Clients: each its own session and connection, uploading (then
    /// downloading) one file.
    #[arg(long, short = 'n', default_value_t = 10)]
    pub clients: u64,
    /// The file's size, MiB.
    #[arg(long, default_value_t = 25)]
    pub size_mib: u64,
    /// Where the file is generated (random bytes; reused when it already has
    /// the size). Default: `hearth-bench-<S>MiB.bin` in the temp folder.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// The server process to measure (its descendants too unless
    /// --no-children; looked up once, at the start).
    #[arg(long)]
    pub server_pid: Vec<u32>,
    /// Measure only the given pids, not their descendants.
    #[arg(long)]
    pub no_children: bool,
    /// Skip the uploads: download the ones an earlier run's JSON lists
    /// (`upload_ids`; same file: --size-mib and --file), one client each.
    #[arg(long)]
    pub downloads_of: Option<PathBuf>,
    /// Milliseconds between memory samples.
    #[arg(long, default_value_t = 10)]
    pub sample_ms: u64,
    /// Seconds the slow reader reads (0: no slow download).
    #[arg(long, default_value_t = 5.0)]
    pub slow_secs: f64,
    /// The slow reader's pace, KiB/s.
    #[arg(long, default_value_t = 64)]
    pub slow_kib_per_sec: u64,
    /// Seconds to wait before the idle reading and between phases.
    #[arg(long, default_value_t = 1.0)]
    pub settle_secs: f64,
    /// Seconds one request may take.
    #[arg(long, default_value_t = 300.0)]
    pub timeout_secs: f64,
    /// Runtime threads of the load generator.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// The server's name in reports (e.g. `hearth-embedded`).
    #[arg(long, default_value = "hearth")]
    pub label: String,
    /// The scenario's name in reports.
    #[arg(long, default_value = "files")]
    pub scenario: String,
    /// Write the result as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// The result of one run: the JSON `files --json` writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FilesResult {
    pub format: u32,
    pub label: String,
    pub scenario: String,
    pub started_unix: u64,
    pub machine: Machine,
    pub config: FilesConfig,
    pub server: Option<ServerMemory>,
    /// Empty (nothing attempted) with `--downloads-of`.
    pub uploads: Transfers,
    pub downloads: Transfers,
    pub slow: Option<SlowRead>,
    /// Transfers that failed (uploads, downloads, the slow read) or came
    /// back different from the file.
    pub errors: u64,
    pub first_error: Option<String>,
    /// Every download had the file's size and SHA-256 (and `ETag`).
    pub byte_identical: bool,
    /// The load generator's own peak RSS, KiB.
    pub generator_peak_rss_kb: u64,
    /// Ids of the uploads that succeeded (or were downloaded, with
    /// `--downloads-of`).
    #[serde(default)]
    pub upload_ids: Vec<String>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FilesConfig {
    pub target: String,
    pub clients: u64,
    pub file_bytes: u64,
    pub file_sha256: String,
    pub sample_ms: u64,
    pub slow_secs: f64,
    pub slow_kib_per_sec: u64,
    pub threads: usize,
    /// The earlier result whose uploads were downloaded (no uploads then).
    #[serde(default)]
    pub downloads_of: Option<PathBuf>,
}

/// The server's memory (resident set size, KiB) around and during each
/// phase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerMemory {
    /// `pid:name` of the processes measured.
    pub processes: Vec<String>,
    /// Before the uploads, sessions signed in.
    pub idle_rss_kb: u64,
    /// `None` with `--downloads-of`.
    pub uploads: Option<PhaseMemory>,
    pub downloads: PhaseMemory,
    pub slow: Option<PhaseMemory>,
    /// At the end, after a settle.
    pub end_rss_kb: u64,
    /// CPU seconds the server used in each phase.
    pub cpu_secs_uploads: f64,
    pub cpu_secs_downloads: f64,
}

/// Memory during one phase.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct PhaseMemory {
    /// RSS when the phase started.
    pub start_rss_kb: u64,
    /// The highest sampled RSS.
    pub peak_sampled_kb: u64,
    /// The kernel's peak record (`VmHWM`) over the phase (reset at its
    /// start; `None` when the kernel refused the reset or there are several
    /// processes).
    pub peak_hwm_kb: Option<u64>,
    /// The larger of the two peaks.
    pub peak_rss_kb: u64,
    /// `peak_rss_kb - idle_rss_kb`.
    pub delta_vs_idle_kb: i64,
    /// `peak_rss_kb - start_rss_kb`.
    pub delta_vs_start_kb: i64,
    /// RSS samples taken.
    pub samples: u64,
    /// RSS when the phase ended (before any settle).
    pub end_rss_kb: u64,
}

/// N concurrent transfers of the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Transfers {
    pub attempted: u64,
    pub ok: u64,
    /// From the first request to the last answer.
    pub wall_secs: f64,
    /// Bytes moved by the transfers that succeeded over `wall_secs`.
    pub aggregate_mib_per_sec: f64,
    /// Each successful transfer's size over its own time.
    pub per_transfer_mib_per_sec: Spread,
    pub per_transfer_secs: Spread,
    pub first_error: Option<String>,
}

impl Transfers {
    fn none() -> Transfers {
        summarize(&[], 0.0)
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Spread {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Spread {
    fn of(mut v: Vec<f64>) -> Spread {
        if v.is_empty() {
            return Spread::default();
        }
        v.sort_by(f64::total_cmp);
        Spread {
            min: v[0],
            median: v[v.len() / 2],
            max: v[v.len() - 1],
        }
    }
}

/// One download read slowly, then dropped.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SlowRead {
    pub bytes_read: u64,
    pub secs: f64,
    pub kib_per_sec: f64,
    /// The bytes read matched the file's.
    pub matched: bool,
    pub error: Option<String>,
}

/// Runs the benchmark, prints the summary and writes the JSON.
pub fn main(args: FilesArgs) -> Result<()> {
    if args.clients == 0 || args.size_mib == 0 {
        bail!("--clients and --size-mib must be at least 1");
    }
    let rt = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()?
    };
    let result = rt.block_on(run(args.clone()))?;
    print!("{}", summary(&result));
    if let Some(path) = &args.json {
        crate::results::write_json(path, &result)?;
    }
    if result.errors > 0 || !result.byte_identical {
        bail!("{} transfer(s) failed or differed", result.errors.max(1));
    }
    Ok(())
}

/// The file: generated once (pseudo-random, so nothing compresses it) and
/// reused while it has the asked size. Returns its SHA-256, hex.
fn ensure_file(path: &Path, bytes: u64) -> Result<String> {
    use std::io::{Read, Write};
    if std::fs::metadata(path).map(|m| m.len()).ok() != Some(bytes) {
        let tmp = path.with_extension("partial");
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(&tmp).with_context(|| format!("create {}", tmp.display()))?,
        );
        // splitmix64: fast, and its output does not compress.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15 ^ bytes;
        let mut block = vec![0u8; MIB as usize];
        let mut left = bytes;
        while left > 0 {
            for word in block.chunks_exact_mut(8) {
                state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                word.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
            }
            let n = left.min(MIB) as usize;
            out.write_all(&block[..n])?;
            left -= n as u64;
        }
        out.into_inner()?.sync_all()?;
        std::fs::rename(&tmp, path)?;
    }
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; MIB as usize];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A file as a request body, read from disk a chunk at a time as the
/// connection takes it: the generator never holds the file either.
fn file_body(file: tokio::fs::File) -> reqwest::Body {
    let chunks = futures::stream::try_unfold(file, |mut file| async move {
        let mut buf = BytesMut::with_capacity(READ_CHUNK);
        let n = file.read_buf(&mut buf).await?;
        Ok::<_, std::io::Error>((n > 0).then(|| (buf.freeze(), file)))
    });
    reqwest::Body::wrap_stream(chunks)
}

/// Samples the server's RSS on a thread of its own (the runtime may be
/// busy moving bytes) until dropped or [`Sampler::finish`]ed.
struct Sampler {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<(u64, u64)>>,
}

impl Sampler {
    fn start(pids: Vec<u32>, every: Duration) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let (mut peak, mut samples) = (0u64, 0u64);
            loop {
                peak = peak.max(procstat::rss_kb(&pids));
                samples += 1;
                if flag.load(Ordering::Relaxed) {
                    return (peak, samples);
                }
                std::thread::sleep(every);
            }
        });
        Sampler {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops sampling: `(peak RSS KiB, samples)`.
    fn finish(mut self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Measures one phase of the server: RSS at the start, sampled peak and
/// the kernel's peak record.
struct Phase {
    pids: Vec<u32>,
    hwm: bool,
    start_rss: u64,
    cpu_start: f64,
    sampler: Option<Sampler>,
}

impl Phase {
    fn start(pids: &[u32], every: Duration) -> Phase {
        // The kernel's peak record is per process: used when there is one.
        let hwm = pids.len() == 1 && procstat::reset_peak_rss(pids[0]);
        Phase {
            pids: pids.to_vec(),
            hwm,
            start_rss: procstat::rss_kb(pids),
            cpu_start: procstat::sample(pids, false).map_or(0.0, |s| s.cpu_secs),
            sampler: (!pids.is_empty()).then(|| Sampler::start(pids.to_vec(), every)),
        }
    }

    /// `(memory, CPU seconds)` of the phase.
    fn finish(mut self, idle_rss: u64) -> (PhaseMemory, f64) {
        let (peak_sampled, samples) = self.sampler.take().map_or((0, 0), Sampler::finish);
        let end_rss = procstat::rss_kb(&self.pids);
        let peak_hwm = if self.hwm {
            procstat::peak_rss_kb(self.pids[0])
        } else {
            None
        };
        let peak = peak_sampled.max(end_rss).max(peak_hwm.unwrap_or(0));
        let cpu = procstat::sample(&self.pids, false).map_or(0.0, |s| s.cpu_secs) - self.cpu_start;
        (
            PhaseMemory {
                start_rss_kb: self.start_rss,
                peak_sampled_kb: peak_sampled,
                peak_hwm_kb: peak_hwm,
                peak_rss_kb: peak,
                delta_vs_idle_kb: peak as i64 - idle_rss as i64,
                delta_vs_start_kb: peak as i64 - self.start_rss as i64,
                samples,
                end_rss_kb: end_rss,
            },
            cpu,
        )
    }
}

/// What one transfer did: `(seconds, Ok(bytes) or the error)`.
type Outcome = (f64, Result<u64, String>);

fn summarize(outcomes: &[Outcome], wall_secs: f64) -> Transfers {
    let ok: Vec<(f64, u64)> = outcomes
        .iter()
        .filter_map(|(secs, r)| r.as_ref().ok().map(|b| (*secs, *b)))
        .collect();
    let bytes: u64 = ok.iter().map(|(_, b)| b).sum();
    Transfers {
        attempted: outcomes.len() as u64,
        ok: ok.len() as u64,
        wall_secs,
        aggregate_mib_per_sec: if wall_secs > 0.0 {
            bytes as f64 / MIB as f64 / wall_secs
        } else {
            0.0
        },
        per_transfer_mib_per_sec: Spread::of(
            ok.iter()
                .map(|(s, b)| *b as f64 / MIB as f64 / s.max(1e-9))
                .collect(),
        ),
        per_transfer_secs: Spread::of(ok.iter().map(|(s, _)| *s).collect()),
        first_error: outcomes.iter().find_map(|(_, r)| r.clone().err()),
    }
}

/// One upload; `Ok(id)` once the server answered `201` with the file's
/// size.
async fn upload(
    client: reqwest::Client,
    origin: String,
    token: String,
    path: PathBuf,
    bytes: u64,
    name: String,
) -> (f64, Result<String, String>) {
    let start = Instant::now();
    let result = async {
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| format!("open {}: {e}", path.display()))?;
        let resp = client
            .post(format!("{origin}/api/files"))
            .query(&[("name", name.as_str())])
            .bearer_auth(&token)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .header(reqwest::header::CONTENT_LENGTH, bytes)
            .body(file_body(file))
            .send()
            .await
            .map_err(|e| format!("POST /api/files: {e}"))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if status != reqwest::StatusCode::CREATED {
            return Err(format!("POST /api/files: {status}: {}", text.trim()));
        }
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("POST /api/files: not JSON ({e}): {text}"))?;
        if v["size"].as_u64() != Some(bytes) {
            return Err(format!("POST /api/files: size {} != {bytes}", v["size"]));
        }
        v["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("POST /api/files: no id in {text}"))
    }
    .await;
    (start.elapsed().as_secs_f64(), result)
}

/// One download, read as fast as it comes, hashed: `Ok(bytes)` when the
/// size, the SHA-256 and the `ETag` are the file's.
async fn download(
    client: reqwest::Client,
    url: String,
    token: String,
    bytes: u64,
    sha256: Arc<str>,
) -> Outcome {
    let start = Instant::now();
    let result = async {
        let resp = client
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        if resp.status() != reqwest::StatusCode::OK {
            return Err(format!("GET {url}: {}", resp.status()));
        }
        let etag = resp
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let mut hasher = Sha256::new();
        let mut got = 0u64;
        let mut body = resp.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk: Bytes = chunk.map_err(|e| format!("GET {url}: after {got} bytes: {e}"))?;
            got += chunk.len() as u64;
            hasher.update(&chunk);
        }
        let digest = hex(&hasher.finalize());
        if got != bytes || digest != *sha256 {
            return Err(format!(
                "GET {url}: {got} bytes, SHA-256 {digest}; the file has {bytes}, {sha256}"
            ));
        }
        if etag != format!("\"{sha256}\"") {
            return Err(format!("GET {url}: ETag {etag}, not the SHA-256"));
        }
        Ok(got)
    }
    .await;
    (start.elapsed().as_secs_f64(), result)
}

/// Reads a download at `pace` bytes a second for `secs`, then drops it,
/// checking the bytes against the file's start.
async fn slow_read(
    client: reqwest::Client,
    url: String,
    token: String,
    file: PathBuf,
    pace: u64,
    secs: f64,
) -> SlowRead {
    let start = Instant::now();
    let mut bytes_read = 0u64;
    let mut matched = true;
    let result: Result<(), String> = async {
        let mut original = tokio::fs::File::open(&file)
            .await
            .map_err(|e| e.to_string())?;
        let mut resp = client
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        if resp.status() != reqwest::StatusCode::OK {
            return Err(format!("GET {url}: {}", resp.status()));
        }
        let mut expected = Vec::new();
        while start.elapsed().as_secs_f64() < secs {
            let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| format!("GET {url}: after {bytes_read} bytes: {e}"))?
            else {
                break;
            };
            expected.resize(chunk.len(), 0);
            original
                .read_exact(&mut expected)
                .await
                .map_err(|e| e.to_string())?;
            matched &= expected[..] == chunk[..];
            bytes_read += chunk.len() as u64;
            // Next chunk when the pace allows it.
            let due = start + Duration::from_secs_f64(bytes_read as f64 / pace as f64);
            tokio::time::sleep_until(due).await;
        }
        Ok(())
    }
    .await;
    let secs = start.elapsed().as_secs_f64();
    SlowRead {
        bytes_read,
        secs,
        kib_per_sec: bytes_read as f64 / 1024.0 / secs.max(1e-9),
        matched,
        error: result.err(),
    }
}

fn transfer_client(timeout: Duration) -> Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(1)
        .timeout(timeout)
        .build()
        .context("HTTP client")
}

/// The run itself.
pub async fn run(args: FilesArgs) -> Result<FilesResult> {
    let origin = args.target.trim_end_matches('/').to_string();
    let bytes = args.size_mib * MIB;
    let path = args.file.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("hearth-bench-{}MiB.bin", args.size_mib))
    });
    let sha256: Arc<str> = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || ensure_file(&path, bytes))
            .await
            .context("generating the file")??
            .into()
    };
    let started_unix = crate::payload::unix_micros() / 1_000_000;
    let settle = Duration::from_secs_f64(args.settle_secs);
    let every = Duration::from_millis(args.sample_ms.max(1));
    let timeout = Duration::from_secs_f64(args.timeout_secs);
    let mut notes = Vec::new();
    let earlier_ids = match &args.downloads_of {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("read {}", file.display()))?;
            let earlier: FilesResult = serde_json::from_str(&text)
                .with_context(|| format!("{}: not a files result", file.display()))?;
            if earlier.config.file_sha256 != *sha256 || earlier.upload_ids.is_empty() {
                bail!(
                    "{}: its uploads are not of this file, or it has none",
                    file.display()
                );
            }
            Some(earlier.upload_ids)
        }
        None => None,
    };
    let n = earlier_ids
        .as_ref()
        .map_or(args.clients, |ids| ids.len() as u64);

    // Sessions, each with its own connection.
    let signin = publish::client()?;
    let mut clients = Vec::new();
    for i in 0..n {
        let header = publish::sign_in(&signin, Mode::Hearth, &origin, &format!("bench-files-{i}"))
            .await?
            .context("no session header")?;
        let token = header
            .strip_prefix("Authorization: Bearer ")
            .context("unexpected session header")?
            .to_string();
        clients.push((transfer_client(timeout)?, token));
    }

    let pids: Vec<u32> = procstat::with_descendants(&args.server_pid, !args.no_children)
        .into_iter()
        .collect();
    let processes = procstat::names(&pids, false);
    if !pids.is_empty() && (pids.len() > 1 || !procstat::reset_peak_rss(pids[0])) {
        notes.push(
            "peaks are sampled only (the kernel's peak record is per process, or its reset was refused)"
                .into(),
        );
    }
    tokio::time::sleep(settle).await;
    let idle_rss = procstat::rss_kb(&pids);

    // N uploads at once (unless downloading an earlier run's).
    let (ids, uploads, up_mem, up_cpu) = match earlier_ids {
        Some(earlier) => (
            earlier.into_iter().map(Some).collect(),
            Transfers::none(),
            None,
            0.0,
        ),
        None => {
            let phase = Phase::start(&pids, every);
            let t0 = Instant::now();
            let handles: Vec<_> = clients
                .iter()
                .enumerate()
                .map(|(i, (client, token))| {
                    tokio::spawn(upload(
                        client.clone(),
                        origin.clone(),
                        token.clone(),
                        path.clone(),
                        bytes,
                        format!("bench-{i}.bin"),
                    ))
                })
                .collect();
            let mut ids: Vec<Option<String>> = Vec::new();
            let mut outcomes = Vec::new();
            for h in handles {
                let (secs, r) = h.await.context("upload task")?;
                ids.push(r.as_ref().ok().cloned());
                outcomes.push((secs, r.map(|_| bytes)));
            }
            let uploads = summarize(&outcomes, t0.elapsed().as_secs_f64());
            let (mem, cpu) = phase.finish(idle_rss);
            tokio::time::sleep(settle).await;
            (ids, uploads, Some(mem), cpu)
        }
    };

    // N downloads at once.
    let phase = Phase::start(&pids, every);
    let t0 = Instant::now();
    let handles: Vec<_> = clients
        .iter()
        .zip(&ids)
        .filter_map(|((client, token), id)| {
            let id = id.as_ref()?;
            Some(tokio::spawn(download(
                client.clone(),
                format!("{origin}/api/files/{id}"),
                token.clone(),
                bytes,
                sha256.clone(),
            )))
        })
        .collect();
    let mut down_outcomes = Vec::new();
    for h in handles {
        down_outcomes.push(h.await.context("download task")?);
    }
    let downloads = summarize(&down_outcomes, t0.elapsed().as_secs_f64());
    let (down_mem, down_cpu) = phase.finish(idle_rss);

    // One slow reader.
    let mut slow = None;
    let mut slow_mem = None;
    if let (true, Some(Some(id)), Some((client, token))) =
        (args.slow_secs > 0.0, ids.first(), clients.first())
    {
        tokio::time::sleep(settle).await;
        let phase = Phase::start(&pids, every);
        slow = Some(
            slow_read(
                client.clone(),
                format!("{origin}/api/files/{id}"),
                token.clone(),
                path.clone(),
                args.slow_kib_per_sec * 1024,
                args.slow_secs,
            )
            .await,
        );
        slow_mem = Some(phase.finish(idle_rss).0);
    }
    tokio::time::sleep(settle).await;
    let end_rss = procstat::rss_kb(&pids);

    let failed_up = uploads.attempted - uploads.ok;
    let failed_down = (n - downloads.attempted) + (downloads.attempted - downloads.ok);
    let slow_failed = slow
        .as_ref()
        .is_some_and(|s| s.error.is_some() || !s.matched);
    let errors = failed_up + failed_down + u64::from(slow_failed);
    let first_error = uploads
        .first_error
        .clone()
        .or_else(|| downloads.first_error.clone())
        .or_else(|| slow.as_ref().and_then(|s| s.error.clone()));
    let byte_identical = downloads.ok == n && slow.as_ref().is_none_or(|s| s.matched);
    if let Some(s) = &slow
        && s.kib_per_sec > 1.25 * args.slow_kib_per_sec as f64
    {
        notes.push(format!(
            "the slow reader read at {:.0} KiB/s, faster than asked",
            s.kib_per_sec
        ));
    }

    Ok(FilesResult {
        format: FORMAT,
        label: args.label.clone(),
        scenario: args.scenario.clone(),
        started_unix,
        machine: procstat::machine(),
        config: FilesConfig {
            target: origin,
            clients: n,
            file_bytes: bytes,
            file_sha256: sha256.to_string(),
            sample_ms: args.sample_ms,
            slow_secs: args.slow_secs,
            slow_kib_per_sec: args.slow_kib_per_sec,
            threads: args.threads.max(1),
            downloads_of: args.downloads_of.clone(),
        },
        server: (!pids.is_empty()).then_some(ServerMemory {
            processes,
            idle_rss_kb: idle_rss,
            uploads: up_mem,
            downloads: down_mem,
            slow: slow_mem,
            end_rss_kb: end_rss,
            cpu_secs_uploads: up_cpu,
            cpu_secs_downloads: down_cpu,
        }),
        uploads,
        downloads,
        slow,
        errors,
        first_error,
        byte_identical,
        generator_peak_rss_kb: procstat::peak_rss_kb(std::process::id()).unwrap_or(0),
        upload_ids: ids.into_iter().flatten().collect(),
        notes,
    })
}

fn mib(kb: u64) -> String {
    format!("{:.1}", kb as f64 / 1024.0)
}

fn signed_mib(kb: i64) -> String {
    format!("{:+.1}", kb as f64 / 1024.0)
}

/// The human summary printed after a run.
pub fn summary(r: &FilesResult) -> String {
    let mut s = String::new();
    let c = &r.config;
    let _ = writeln!(
        s,
        "{} / {}: {} clients × {} MiB ({})",
        r.label,
        r.scenario,
        c.clients,
        c.file_bytes / MIB,
        c.target
    );
    if let Some(file) = &c.downloads_of {
        let _ = writeln!(s, "  uploads    none: downloads of {}", file.display());
    }
    for (name, t) in [("uploads", &r.uploads), ("downloads", &r.downloads)] {
        if t.attempted == 0 && c.downloads_of.is_some() {
            continue;
        }
        let _ = writeln!(
            s,
            "  {name:<10} {}/{} ok in {:.2} s: {:.1} MiB/s in all; each {:.1}–{:.1} MiB/s (median {:.1}), {:.2}–{:.2} s",
            t.ok,
            t.attempted,
            t.wall_secs,
            t.aggregate_mib_per_sec,
            t.per_transfer_mib_per_sec.min,
            t.per_transfer_mib_per_sec.max,
            t.per_transfer_mib_per_sec.median,
            t.per_transfer_secs.min,
            t.per_transfer_secs.max,
        );
    }
    if let Some(slow) = &r.slow {
        let _ = writeln!(
            s,
            "  slow read  {} KiB in {:.1} s ({:.0} KiB/s), {}",
            slow.bytes_read / 1024,
            slow.secs,
            slow.kib_per_sec,
            if slow.matched {
                "bytes match"
            } else {
                "BYTES DIFFER"
            }
        );
    }
    if let Some(m) = &r.server {
        let _ = writeln!(
            s,
            "  server RSS (MiB): idle {}; end {}",
            mib(m.idle_rss_kb),
            mib(m.end_rss_kb)
        );
        let phases = [
            ("uploads", m.uploads.as_ref()),
            ("downloads", Some(&m.downloads)),
            ("slow read", m.slow.as_ref()),
        ];
        for (name, p) in phases {
            let Some(p) = p else { continue };
            let _ = writeln!(
                s,
                "    {name:<10} start {}, peak {} ({} vs idle, {} vs start; sampled {} in {} samples, kernel peak {})",
                mib(p.start_rss_kb),
                mib(p.peak_rss_kb),
                signed_mib(p.delta_vs_idle_kb),
                signed_mib(p.delta_vs_start_kb),
                mib(p.peak_sampled_kb),
                p.samples,
                p.peak_hwm_kb.map_or("–".into(), mib),
            );
        }
        let _ = writeln!(
            s,
            "  server CPU: uploads {:.2} s, downloads {:.2} s",
            m.cpu_secs_uploads, m.cpu_secs_downloads
        );
    }
    let _ = writeln!(
        s,
        "  errors {}; byte-identical {}; generator peak RSS {} MiB",
        r.errors,
        if r.byte_identical { "yes" } else { "NO" },
        mib(r.generator_peak_rss_kb)
    );
    if let Some(e) = &r.first_error {
        let _ = writeln!(s, "  first error: {e}");
    }
    for n in &r.notes {
        let _ = writeln!(s, "  note: {n}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_generated_once_and_does_not_compress() {
        let dir = std::env::temp_dir().join(format!("hearth-bench-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.bin");
        let sha = ensure_file(&path, 3 * MIB + 5).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 3 * MIB + 5);
        assert_eq!(ensure_file(&path, 3 * MIB + 5).unwrap(), sha);
        // No byte value dominates: random-looking bytes.
        let data = std::fs::read(&path).unwrap();
        let mut counts = [0u64; 256];
        for b in &data {
            counts[*b as usize] += 1;
        }
        let expected = data.len() as f64 / 256.0;
        assert!(
            counts
                .iter()
                .all(|&c| (c as f64 - expected).abs() < expected * 0.1)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn spreads_and_throughput() {
        let outcomes: Vec<Outcome> = vec![
            (1.0, Ok(MIB)),
            (2.0, Ok(MIB)),
            (4.0, Ok(MIB)),
            (0.5, Err("boom".into())),
        ];
        let t = summarize(&outcomes, 4.0);
        assert_eq!((t.attempted, t.ok), (4, 3));
        assert_eq!(t.aggregate_mib_per_sec, 0.75);
        assert_eq!(t.per_transfer_mib_per_sec.min, 0.25);
        assert_eq!(t.per_transfer_mib_per_sec.median, 0.5);
        assert_eq!(t.per_transfer_secs.max, 4.0);
        assert_eq!(t.first_error.as_deref(), Some("boom"));
    }
}
