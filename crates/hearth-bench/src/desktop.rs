//! `desktop`: what the desktop app costs in memory (issue 17).
//!
//! One run: a release `hearth serve` on a free loopback port with a fresh
//! data dir; `--messages` posted into room `bench`; an Xvfb display; the
//! app (`--app`) started `--startup-runs` times with a fresh profile
//! (temporary `HOME` and `XDG_*` dirs, `HEARTH_MDNS=off`) to time start-up
//! to the home screen and measure it; then once more with a
//! `hearth://join?url=…&room=bench&nick=…` link, which joins and opens the
//! room; `--settle-secs` after the chat view opened, the memory of the app
//! and every process it spawned (PSS from `/proc/<pid>/smaps_rollup`, the
//! largest mappings from `/proc/<pid>/smaps`); then `--more` messages at
//! `--more-rate` per second and the same again. With `--soak-minutes N`,
//! instead of `--more`: one message a second for N minutes, a sample every
//! minute, the JSON rewritten after each.
//!
//! Start-up is timed from spawn to the app's log line "the home screen
//! follows the rooms" (the page asks for the rooms just before it shows
//! the home screen); the chat view from the line "the chat view opened".
//!
//! `--chart-from A.json --chart-from B.json --svg out.svg` draws the
//! chart of earlier runs (a stacked bar per phase and run, one colour per
//! process) without running anything.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::{Deserialize, Serialize};

use crate::procstat;
use crate::publish::{self, Mode};

#[derive(Args)]
pub struct DesktopArgs {
    /// The app's binary (a release build, as `tauri build` makes it).
    #[arg(long, default_value = "target/release/hearth-desktop")]
    app: PathBuf,
    /// The server's binary.
    #[arg(long, default_value = "target/release/hearth")]
    hearth: PathBuf,
    /// Messages in the room before the app opens it.
    #[arg(long, default_value_t = 300)]
    messages: u64,
    /// Messages posted while the room is open (0: skip that phase).
    #[arg(long, default_value_t = 1000)]
    more: u64,
    /// Rate of those, per second.
    #[arg(long, default_value_t = 2.0)]
    more_rate: f64,
    /// Seconds between a screen being up and its measurement.
    #[arg(long, default_value_t = 20)]
    settle_secs: u64,
    /// Launches to the home screen, each timed and measured.
    #[arg(long, default_value_t = 3)]
    startup_runs: usize,
    /// Instead of `--more`: one message a second for this many minutes, a
    /// sample every minute (written to the JSON as it goes).
    #[arg(long)]
    soak_minutes: Option<u64>,
    /// Result directory (logs and screenshots go to its `logs/`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The JSON's file name in the result directory.
    #[arg(long, default_value = "desktop.json")]
    json: String,
    /// What this run is (in the JSON, the table and the chart).
    #[arg(long, default_value = "desktop")]
    label: String,
    /// Extra environment for the app, `NAME=value` (repeatable).
    #[arg(long = "app-env")]
    app_env: Vec<String>,
    /// Mappings listed per process.
    #[arg(long, default_value_t = 8)]
    top: usize,
    /// Also write the chart of this run (or of `--chart-from`) here.
    #[arg(long)]
    svg: Option<PathBuf>,
    /// Draw the chart of these result files only (no run).
    #[arg(long = "chart-from")]
    chart_from: Vec<PathBuf>,
    /// Also draw the soak's memory over time (the first report with a
    /// soak) here.
    #[arg(long)]
    soak_svg: Option<PathBuf>,
    /// Take a screenshot of each measured screen (needs python3-gi).
    #[arg(long)]
    screenshots: bool,
}

/// One process's memory at one moment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Proc {
    pub pid: u32,
    pub name: String,
    /// `app`, `web`, `network` or `other`.
    pub role: String,
    pub pss_kib: u64,
    pub pss_anon_kib: u64,
    pub pss_file_kib: u64,
    pub rss_kib: u64,
    /// PSS as if no other WebKitGTK app ran (see [`alone_kib`]); `None`
    /// where page frames are not readable (not root).
    #[serde(default)]
    pub alone_kib: Option<u64>,
    /// The largest mappings by PSS: file path, or `[heap]`, `[anon]`, ….
    pub top: Vec<(String, u64)>,
}

/// The app and its processes at one moment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub phase: String,
    /// Seconds since the app was spawned.
    pub at_secs: f64,
    /// Messages in the room so far.
    pub messages: u64,
    pub total_kib: u64,
    /// The sum of [`Proc::alone_kib`].
    #[serde(default)]
    pub alone_total_kib: Option<u64>,
    /// Processes outside the app's that mapped libwebkit2gtk meanwhile
    /// (they lower the app's PSS by sharing its pages).
    #[serde(default)]
    pub other_webkit_processes: usize,
    pub processes: Vec<Proc>,
}

impl Snapshot {
    /// The memory of the processes of a role (`app`, `web`, …), counted
    /// alone where known, else PSS.
    fn role_alone_kib(&self, role: &str) -> u64 {
        self.processes
            .iter()
            .filter(|p| p.role == role)
            .map(|p| p.alone_kib.unwrap_or(p.pss_kib))
            .sum()
    }

    /// The total counted alone where known, else PSS.
    fn headline_kib(&self) -> u64 {
        self.alone_total_kib.unwrap_or(self.total_kib)
    }
}

/// A run's results (the JSON).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    pub label: String,
    pub started_unix: u64,
    pub commit: String,
    pub machine: procstat::Machine,
    pub app: String,
    pub app_env: Vec<String>,
    pub settle_secs: u64,
    /// Spawn to the home screen, ms, one per launch.
    pub startup_ms: Vec<u64>,
    /// The home screen, one per launch.
    pub home: Vec<Snapshot>,
    /// The room open with `--messages`, then after `--more`.
    pub room: Vec<Snapshot>,
    /// Soak samples, one a minute.
    pub soak: Vec<Snapshot>,
    /// Set while a soak runs; false once it ended.
    pub running: bool,
    pub note: String,
}

pub fn main(args: DesktopArgs) -> Result<()> {
    if !args.chart_from.is_empty() {
        let svg = args.svg.as_ref().context("--chart-from needs --svg")?;
        let reports = args
            .chart_from
            .iter()
            .map(|p| {
                let text = fs::read_to_string(p).with_context(|| format!("{}", p.display()))?;
                serde_json::from_str(&text).with_context(|| format!("{}", p.display()))
            })
            .collect::<Result<Vec<Report>>>()?;
        fs::write(svg, chart(&reports)).with_context(|| format!("{}", svg.display()))?;
        eprintln!("desktop: chart written to {}", svg.display());
        if let Some(path) = &args.soak_svg {
            let soak = reports
                .iter()
                .find(|r| r.soak.len() >= 2)
                .context("--soak-svg: no report with a soak of two samples or more")?;
            fs::write(path, soak_chart(soak)).with_context(|| format!("{}", path.display()))?;
            eprintln!("desktop: soak chart written to {}", path.display());
        }
        return Ok(());
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("bench/results/{}-desktop", today())));
    fs::create_dir_all(out.join("logs"))?;
    let mut bench = Bench::start(&args, &out)?;
    let result = bench.run(&args);
    bench.stop();
    result?;
    if let Some(svg) = &args.svg {
        fs::write(svg, chart(std::slice::from_ref(&bench.report)))?;
    }
    if let Some(path) = args
        .soak_svg
        .as_ref()
        .filter(|_| bench.report.soak.len() >= 2)
    {
        fs::write(path, soak_chart(&bench.report))?;
    }
    Ok(())
}

/// The processes a run starts, and where it writes.
struct Bench {
    out: PathBuf,
    logs: PathBuf,
    work: PathBuf,
    display: String,
    xvfb: Child,
    server: Child,
    origin: String,
    app: Option<Child>,
    report: Report,
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    auth: String,
    posted: u64,
    /// The JSON's file name in `out`.
    json: String,
}

impl Bench {
    fn start(args: &DesktopArgs, out: &Path) -> Result<Bench> {
        for bin in [&args.app, &args.hearth] {
            if !bin.exists() {
                bail!(
                    "{} is missing: build it first (bench/desktop.sh does)",
                    bin.display()
                );
            }
        }
        let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
        let work = std::env::temp_dir().join(format!(
            "hearth-desktop-bench-{}-{stamp}",
            std::process::id()
        ));
        fs::create_dir_all(&work)?;
        let logs = out.join("logs");
        let (display, xvfb) = start_xvfb(&logs)?;
        let port = free_port()?;
        let data = work.join("server");
        fs::create_dir_all(&data)?;
        let server = Command::new(&args.hearth)
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--mdns",
                "off",
                "--log",
                "warn",
            ])
            .arg("--data")
            .arg(&data)
            .args([
                "--post-rate",
                "100000",
                "--post-burst",
                "100000",
                "--ip-post-rate",
                "100000",
            ])
            .args([
                "--ip-post-burst",
                "100000",
                "--session-rate",
                "100000",
                "--session-burst",
                "100000",
            ])
            .stdout(Stdio::null())
            .stderr(log_file(&logs, "server.log")?)
            .spawn()
            .context("starting hearth serve")?;
        wait_port(port)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let client = publish::client()?;
        let origin = format!("http://127.0.0.1:{port}");
        let auth = rt
            .block_on(publish::sign_in(&client, Mode::Hearth, &origin, "bot"))?
            .context("no session")?;
        let report = Report {
            label: args.label.clone(),
            started_unix: stamp,
            commit: git_commit(),
            machine: procstat::machine(),
            app: args.app.display().to_string(),
            app_env: args.app_env.clone(),
            settle_secs: args.settle_secs,
            ..Report::default()
        };
        Ok(Bench {
            out: out.to_path_buf(),
            logs,
            work,
            display,
            xvfb,
            server,
            origin,
            app: None,
            report,
            rt,
            client,
            auth,
            posted: 0,
            json: args.json.clone(),
        })
    }

    fn run(&mut self, args: &DesktopArgs) -> Result<()> {
        eprintln!(
            "desktop: {} on display {}, server {}",
            args.label, self.display, self.origin
        );
        self.post(args.messages, None)?;
        for i in 0..args.startup_runs {
            let (spawned, log) = self.launch(args, &format!("home-{i}"), None)?;
            let up = wait_line(
                &log,
                "the home screen follows the rooms",
                spawned,
                Duration::from_secs(60),
            )?;
            self.report.startup_ms.push(up.as_millis() as u64);
            std::thread::sleep(Duration::from_secs(args.settle_secs));
            let snap = self.snapshot(args, "home", spawned)?;
            eprintln!(
                "desktop: launch {i}: home screen after {} ms, {}",
                up.as_millis(),
                brief(&snap)
            );
            self.shot(args, &format!("home-{i}"));
            self.report.home.push(snap);
            self.quit_app();
        }
        let link = format!(
            "hearth://join?url={}&room=bench&nick=desk",
            url::form_urlencoded::byte_serialize(self.origin.as_bytes()).collect::<String>()
        );
        let (spawned, log) = self.launch(args, "room", Some(&link))?;
        wait_line(
            &log,
            "the chat view opened",
            spawned,
            Duration::from_secs(90),
        )?;
        std::thread::sleep(Duration::from_secs(args.settle_secs));
        let snap = self.snapshot(args, &format!("room, {} messages", self.posted), spawned)?;
        eprintln!("desktop: {}", brief(&snap));
        self.shot(args, "room");
        self.report.room.push(snap);
        self.save()?;
        if let Some(minutes) = args.soak_minutes {
            self.report.running = true;
            let first = self.snapshot(args, "soak", spawned)?;
            self.report.soak.push(first);
            self.save()?;
            for minute in 1..=minutes {
                self.post(60, Some(1.0))?;
                let snap = self.snapshot(args, "soak", spawned)?;
                eprintln!("desktop: soak minute {minute}: {}", brief(&snap));
                self.report.soak.push(snap);
                self.save()?;
            }
            self.report.running = false;
            self.shot(args, "soak-end");
        } else if args.more > 0 {
            self.post(args.more, Some(args.more_rate))?;
            std::thread::sleep(Duration::from_secs(args.settle_secs));
            let snap = self.snapshot(args, &format!("room, +{} messages", args.more), spawned)?;
            eprintln!("desktop: {}", brief(&snap));
            self.shot(args, "more");
            self.report.room.push(snap);
        }
        self.save()?;
        print!("{}", table(&self.report));
        Ok(())
    }

    /// Posts `n` messages as `bot`, at `rate` per second (None: at once).
    fn post(&mut self, n: u64, rate: Option<f64>) -> Result<()> {
        let url = format!("{}/api/rooms/bench/messages", self.origin);
        let (name, value) = self.auth.split_once(": ").context("auth header")?;
        let (name, value) = (name.to_string(), value.to_string());
        let first = self.posted;
        let client = self.client.clone();
        self.rt.block_on(async {
            let start = tokio::time::Instant::now();
            for i in 0..n {
                if let Some(rate) = rate {
                    tokio::time::sleep_until(start + Duration::from_secs_f64(i as f64 / rate)).await;
                }
                let seq = first + i;
                let resp = client
                    .post(&url)
                    .header(&name, &value)
                    .json(&serde_json::json!({ "text": message_text(seq), "client_id": format!("desk-{seq}") }))
                    .send()
                    .await
                    .with_context(|| format!("POST {url}"))?;
                if !resp.status().is_success() {
                    bail!("POST {url}: {}", resp.status());
                }
            }
            Ok(())
        })?;
        self.posted += n;
        Ok(())
    }

    /// Starts the app with a fresh profile; returns when it was spawned and
    /// its log file.
    fn launch(
        &mut self,
        args: &DesktopArgs,
        name: &str,
        link: Option<&str>,
    ) -> Result<(Instant, PathBuf)> {
        let home = self.work.join(format!("profile-{name}"));
        for dir in ["config", "data", "cache", "home"] {
            fs::create_dir_all(home.join(dir))?;
        }
        let log = self
            .logs
            .join(format!("{}-{name}.log", file_stem(&args.json)));
        let mut cmd = Command::new(&args.app);
        cmd.env("DISPLAY", &self.display)
            .env("HOME", home.join("home"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("HEARTH_MDNS", "off")
            .env("HEARTH_LOG", "info")
            .env("NO_COLOR", "1")
            .env_remove("WAYLAND_DISPLAY")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log)?);
        for pair in &args.app_env {
            let (k, v) = pair
                .split_once('=')
                .with_context(|| format!("--app-env {pair}: NAME=value"))?;
            cmd.env(k, v);
        }
        if let Some(link) = link {
            cmd.arg(link);
        }
        let spawned = Instant::now();
        self.app = Some(
            cmd.spawn()
                .with_context(|| format!("starting {}", args.app.display()))?,
        );
        Ok((spawned, log))
    }

    fn app_pid(&self) -> Result<u32> {
        Ok(self.app.as_ref().context("the app is not running")?.id())
    }

    fn snapshot(&mut self, args: &DesktopArgs, phase: &str, spawned: Instant) -> Result<Snapshot> {
        if let Some(app) = self.app.as_mut()
            && let Some(status) = app.try_wait()?
        {
            bail!("the app exited ({status}) before its measurement");
        }
        let family = procstat::with_descendants(&[self.app_pid()?], true);
        let mut processes = Vec::new();
        for &pid in &family {
            let Some(proc) = read_proc(pid, args.top) else {
                continue;
            };
            processes.push(proc);
        }
        let others = other_webkit_processes(&family);
        let alone = alone_kib(&processes, &others);
        for p in &mut processes {
            p.alone_kib = alone.as_ref().and_then(|a| a.get(&p.pid).copied());
        }
        processes.sort_by_key(|p| std::cmp::Reverse(p.pss_kib));
        Ok(Snapshot {
            phase: phase.to_string(),
            at_secs: spawned.elapsed().as_secs_f64(),
            messages: self.posted,
            total_kib: processes.iter().map(|p| p.pss_kib).sum(),
            alone_total_kib: alone.map(|a| a.values().sum()),
            other_webkit_processes: others.len(),
            processes,
        })
    }

    fn shot(&self, args: &DesktopArgs, name: &str) {
        if !args.screenshots {
            return;
        }
        let png = self
            .logs
            .join(format!("{}-{name}.png", file_stem(&args.json)));
        // The system's Python has python3-gi (a venv's may not).
        let python = if Path::new("/usr/bin/python3").exists() {
            "/usr/bin/python3"
        } else {
            "python3"
        };
        let ok = Command::new(python)
            .args(["-c", SCREENSHOT])
            .arg(&png)
            .env("DISPLAY", &self.display)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            eprintln!("desktop: screenshot {}", png.display());
        } else {
            eprintln!("desktop: no screenshot (python3-gi missing?)");
        }
    }

    /// Ends the app (SIGTERM, which it handles as Quit; SIGKILL after 10 s)
    /// and any process of it still there.
    fn quit_app(&mut self) {
        let Some(mut app) = self.app.take() else {
            return;
        };
        let family = procstat::with_descendants(&[app.id()], true);
        terminate(&mut app);
        for pid in family {
            if pid != app.id() && fs::metadata(format!("/proc/{pid}")).is_ok() {
                // SAFETY: kill has no memory preconditions; these are our own children.
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
        }
    }

    fn save(&self) -> Result<()> {
        let path = self.out.join(&self.json);
        let tmp = path.with_extension("json.tmp");
        fs::write(&tmp, serde_json::to_vec_pretty(&self.report)?)?;
        fs::rename(&tmp, &path)?;
        Ok(())
    }

    fn stop(&mut self) {
        self.quit_app();
        terminate(&mut self.server);
        terminate(&mut self.xvfb);
        let _ = fs::remove_dir_all(&self.work);
    }
}

/// Saves the root window as a PNG (GDK through python3-gi).
const SCREENSHOT: &str = "import sys, gi\n\
gi.require_version('Gdk', '3.0')\n\
from gi.repository import Gdk\n\
w = Gdk.get_default_root_window()\n\
Gdk.pixbuf_get_from_window(w, 0, 0, w.get_width(), w.get_height()).savev(sys.argv[1], 'png', [], [])\n";

/// Messages of varied length, some with Markdown, like a real room.
fn message_text(seq: u64) -> String {
    const WORDS: [&str; 12] = [
        "the", "build", "is", "green", "again", "after", "**that**", "fix", "in", "`main`",
        "thanks", "everyone",
    ];
    let n = 4 + (seq * 7 % 23) as usize;
    let mut text = format!("#{seq}:");
    for i in 0..n {
        text.push(' ');
        text.push_str(WORDS[(seq as usize + i * 5) % WORDS.len()]);
    }
    text
}

/// Starts Xvfb on a free display; returns `:N` and the child.
fn start_xvfb(logs: &Path) -> Result<(String, Child)> {
    for n in 90..300u32 {
        if Path::new(&format!("/tmp/.X{n}-lock")).exists()
            || Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
        {
            continue;
        }
        let mut child = Command::new("Xvfb")
            .args([
                format!(":{n}"),
                "-screen".into(),
                "0".into(),
                "1280x800x24".into(),
                "-nolisten".into(),
                "tcp".into(),
            ])
            .stdout(Stdio::null())
            .stderr(log_file(logs, "xvfb.log")?)
            .spawn()
            .context("starting Xvfb (apt-get install xvfb)")?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                return Ok((format!(":{n}"), child));
            }
            if child.try_wait()?.is_some() {
                break; // taken meanwhile: the next one
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        terminate(&mut child);
    }
    bail!("no free X display for Xvfb")
}

fn log_file(logs: &Path, name: &str) -> Result<fs::File> {
    fs::File::create(logs.join(name)).with_context(|| format!("{}", logs.join(name).display()))
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

fn wait_port(port: u16) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("nothing listens on port {port} after 20 s")
}

/// Waits until `log` has a line containing `needle`; returns the time
/// since `since`.
fn wait_line(log: &Path, needle: &str, since: Instant, timeout: Duration) -> Result<Duration> {
    loop {
        if let Ok(file) = fs::File::open(log)
            && BufReader::new(file)
                .lines()
                .map_while(Result::ok)
                .any(|l| l.contains(needle))
        {
            return Ok(since.elapsed());
        }
        if since.elapsed() > timeout {
            bail!(
                "no \"{needle}\" in {} after {} s",
                log.display(),
                timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGTERM, then SIGKILL after 10 s; reaps.
fn terminate(child: &mut Child) {
    // SAFETY: kill has no memory preconditions; the child is ours.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn kib(line: &str, key: &str) -> Option<u64> {
    line.strip_prefix(key)?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// A process's memory: PSS split from `smaps_rollup`, the top mappings
/// from `smaps`. `None` when it is gone or not readable.
fn read_proc(pid: u32, top: usize) -> Option<Proc> {
    let comm = fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()?
        .trim()
        .to_string();
    let rollup = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let mut proc = Proc {
        pid,
        role: match comm.as_str() {
            c if c.starts_with("WebKitWebProces") => "web",
            c if c.starts_with("WebKitNetworkPr") => "network",
            _ if pid_is_root(pid) => "app",
            _ => "other",
        }
        .to_string(),
        name: comm,
        pss_kib: 0,
        pss_anon_kib: 0,
        pss_file_kib: 0,
        rss_kib: 0,
        alone_kib: None,
        top: Vec::new(),
    };
    for line in rollup.lines() {
        if let Some(v) = kib(line, "Pss:") {
            proc.pss_kib = v;
        } else if let Some(v) = kib(line, "Pss_Anon:") {
            proc.pss_anon_kib = v;
        } else if let Some(v) = kib(line, "Pss_File:") {
            proc.pss_file_kib = v;
        } else if let Some(v) = kib(line, "Rss:") {
            proc.rss_kib = v;
        }
    }
    let smaps = fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut by_mapping: BTreeMap<String, u64> = BTreeMap::new();
    let mut current = String::new();
    for line in smaps.lines() {
        if let Some(v) = kib(line, "Pss:") {
            *by_mapping.entry(current.clone()).or_default() += v;
        } else if line.split_whitespace().next().is_some_and(|f| {
            f.contains('-') && f.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
        }) {
            // "start-end perms offset dev inode [path]"
            let path = line.split_whitespace().nth(5).unwrap_or("");
            current = if path.is_empty() {
                "[anon]".to_string()
            } else {
                path.to_string()
            };
        }
    }
    let mut top_list: Vec<(String, u64)> = by_mapping.into_iter().collect();
    top_list.sort_by_key(|(_, v)| std::cmp::Reverse(*v));
    top_list.truncate(top);
    proc.top = top_list;
    Some(proc)
}

/// The app is the process whose parent is this benchmark.
fn pid_is_root(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s[s.rfind(')')? + 2..]
                .split(' ')
                .nth(1)?
                .parse::<u32>()
                .ok()
        })
        == Some(std::process::id())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn brief(s: &Snapshot) -> String {
    format!(
        "{}: PSS {:.0} MiB; without other WebKit apps {:.0} MiB (app {:.0}, web {:.0}, network {:.0}); {} other WebKit processes",
        s.phase,
        mib(s.total_kib),
        mib(s.headline_kib()),
        mib(s.role_alone_kib("app")),
        mib(s.role_alone_kib("web")),
        mib(s.role_alone_kib("network")),
        s.other_webkit_processes
    )
}

fn median(values: &[u64]) -> Option<u64> {
    let mut v = values.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}

/// The soak's memory over time: a line per process and their total (PSS
/// as if no other WebKitGTK app ran, where known), with the band of 10 %
/// above the first sample that "flat" allows.
fn soak_chart(r: &Report) -> String {
    const LINES: [(&str, &str); 4] = [
        ("total", "#333333"),
        ("app", "#4e79a7"),
        ("web", "#f28e2b"),
        ("network", "#59a14f"),
    ];
    let (w, h) = (960.0, 360.0);
    let (left, right, top, bottom) = (60.0, 20.0, 50.0, 40.0);
    let value = |s: &Snapshot, line: &str| -> f64 {
        mib(if line == "total" {
            s.headline_kib()
        } else {
            s.role_alone_kib(line)
        })
    };
    let minutes = |s: &Snapshot| s.at_secs / 60.0;
    let first = &r.soak[0];
    let band = value(first, "total") * 1.1;
    let x_max = r.soak.iter().map(minutes).fold(1.0, f64::max);
    let y_max = r
        .soak
        .iter()
        .map(|s| value(s, "total"))
        .fold(band, f64::max)
        .max(1.0)
        * 1.05;
    let x = |m: f64| {
        left + (w - left - right) * (m - minutes(first)) / (x_max - minutes(first)).max(1.0)
    };
    let y = |mib: f64| h - bottom - (h - top - bottom) * mib / y_max;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r##"<rect width="{w}" height="{h}" fill="#fff"/>"##);
    let _ = writeln!(
        s,
        r#"<text x="{left}" y="18" font-size="13">{}: PSS over time, MiB (one message a second)</text>"#,
        xml(&r.label)
    );
    for (i, (line, colour)) in LINES.iter().enumerate() {
        let lx = left + i as f64 * 120.0;
        let _ = writeln!(
            s,
            r#"<rect x="{lx}" y="28" width="12" height="12" fill="{colour}"/><text x="{}" y="38">{line}</text>"#,
            lx + 16.0
        );
    }
    // Axes, a grid line every 50 MiB and every 10 minutes.
    let mut tick = 0.0;
    while tick <= y_max {
        let ty = y(tick);
        let _ = writeln!(
            s,
            r##"<line x1="{left}" y1="{ty:.1}" x2="{:.1}" y2="{ty:.1}" stroke="#e5e5e5"/><text x="{:.1}" y="{:.1}" text-anchor="end">{tick:.0}</text>"##,
            w - right,
            left - 6.0,
            ty + 4.0
        );
        tick += 50.0;
    }
    let mut m = 0.0;
    while m <= x_max - minutes(first) {
        let tx = x(minutes(first) + m);
        let _ = writeln!(
            s,
            r#"<text x="{tx:.1}" y="{:.1}" text-anchor="middle">{m:.0} min</text>"#,
            h - bottom + 16.0
        );
        m += 10.0;
    }
    let _ = writeln!(
        s,
        r##"<line x1="{left}" y1="{by:.1}" x2="{:.1}" y2="{by:.1}" stroke="#333333" stroke-dasharray="4 4"/><text x="{:.1}" y="{:.1}" text-anchor="end">first sample + 10 % ({band:.0})</text>"##,
        w - right,
        w - right,
        y(band) - 4.0,
        by = y(band)
    );
    for (line, colour) in LINES {
        let points: Vec<String> = r
            .soak
            .iter()
            .map(|snap| format!("{:.1},{:.1}", x(minutes(snap)), y(value(snap, line))))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
            points.join(" ")
        );
    }
    s.push_str("</svg>\n");
    s
}

/// The printed table: each measured screen per process, then the largest
/// mappings of the last one.
fn table(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n## {} ({})\n",
        r.label,
        if r.app_env.is_empty() {
            "no extra env".to_string()
        } else {
            r.app_env.join(" ")
        }
    );
    let _ = writeln!(
        out,
        "| screen | PSS MiB | PSS w/o other WebKit apps, MiB | app | WebKitWebProcess | WebKitNetworkProcess | other | WebKit processes elsewhere |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut rows: Vec<&Snapshot> = r.home.iter().collect();
    rows.extend(&r.room);
    rows.extend(r.soak.last());
    for s in &rows {
        let _ = writeln!(
            out,
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
            s.phase,
            mib(s.total_kib),
            mib(s.headline_kib()),
            mib(s.role_alone_kib("app")),
            mib(s.role_alone_kib("web")),
            mib(s.role_alone_kib("network")),
            mib(s.role_alone_kib("other")),
            s.other_webkit_processes
        );
    }
    if let Some(m) = median(&r.startup_ms) {
        let _ = writeln!(
            out,
            "\nstart-up to the home screen: median {m} ms (runs: {:?})",
            r.startup_ms
        );
    }
    if let Some(last) = rows.last() {
        let _ = writeln!(out, "\nlargest mappings ({}):", last.phase);
        for p in &last.processes {
            let _ = writeln!(
                out,
                "  {} ({}, PSS {:.1} MiB, w/o other WebKit {:.1}; anon {:.1}, file {:.1})",
                p.name,
                p.role,
                mib(p.pss_kib),
                mib(p.alone_kib.unwrap_or(p.pss_kib)),
                mib(p.pss_anon_kib),
                mib(p.pss_file_kib)
            );
            for (path, kib) in &p.top {
                let _ = writeln!(out, "    {:>7.1}  {path}", mib(*kib));
            }
        }
    }
    out
}

/// One bar per measured screen (the first home screen, the room, the
/// room after more messages, the last soak sample) per report, stacked by
/// process role.
fn chart(reports: &[Report]) -> String {
    const ROLES: [(&str, &str, &str); 4] = [
        ("app", "app (Rust, GTK)", "#4e79a7"),
        ("web", "WebKitWebProcess", "#f28e2b"),
        ("network", "WebKitNetworkProcess", "#59a14f"),
        ("other", "other", "#bab0ac"),
    ];
    let mut bars: Vec<(String, String, &Snapshot)> = Vec::new();
    for r in reports {
        let mut screens: Vec<&Snapshot> = r.home.iter().take(1).collect();
        screens.extend(&r.room);
        screens.extend(r.soak.last());
        for s in screens {
            bars.push((r.label.clone(), s.phase.clone(), s));
        }
    }
    let max = bars
        .iter()
        .map(|(_, _, s)| s.headline_kib())
        .max()
        .unwrap_or(1)
        .max(1);
    let scale_max = (mib(max) / 50.0).ceil() * 50.0;
    let (left, top, height, bar_w, gap) = (60.0, 40.0, 300.0, 56.0, 22.0);
    let bars_end = left + bars.len() as f64 * (bar_w + gap);
    let width = (bars_end + 110.0).max(760.0);
    let total_h = top + height + 110.0;
    let y = |v: f64| top + height - v / scale_max * height;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{total_h:.0}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(svg, r##"<rect width="100%" height="100%" fill="#fff"/>"##);
    let _ = writeln!(
        svg,
        r#"<text x="{left}" y="20" font-size="13" font-weight="bold">Hearth desktop app, PSS by process, MiB (as if no other WebKit app ran; Xvfb)</text>"#
    );
    let mut v = 0.0;
    while v <= scale_max + 0.1 {
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" x2="{:.0}" y1="{:.1}" y2="{:.1}" stroke="#ddd"/><text x="{:.0}" y="{:.1}" text-anchor="end">{v:.0}</text>"##,
            width - 20.0,
            y(v),
            y(v),
            left - 6.0,
            y(v) + 4.0
        );
        v += 50.0;
    }
    if scale_max >= 150.0 {
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" x2="{:.0}" y1="{:.1}" y2="{:.1}" stroke="#c00" stroke-dasharray="4 3"/><text x="{:.0}" y="{:.1}" fill="#c00">target 150</text>"##,
            bars_end + 10.0,
            y(150.0),
            y(150.0),
            bars_end + 14.0,
            y(150.0) + 4.0
        );
    }
    for (i, (label, phase, s)) in bars.iter().enumerate() {
        let x = left + 12.0 + i as f64 * (bar_w + gap);
        let mut base = 0.0;
        for (role, _, colour) in ROLES {
            let v = mib(s.role_alone_kib(role));
            if v <= 0.0 {
                continue;
            }
            let _ = writeln!(
                svg,
                r#"<rect x="{x:.1}" y="{:.1}" width="{bar_w}" height="{:.1}" fill="{colour}"><title>{role}: {v:.1} MiB</title></rect>"#,
                y(base + v),
                v / scale_max * height
            );
            base += v;
        }
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-weight="bold">{:.0}</text>"#,
            x + bar_w / 2.0,
            y(base) - 4.0,
            base
        );
        let cx = x + bar_w / 2.0;
        let _ = writeln!(
            svg,
            r#"<text x="{cx:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            top + height + 14.0,
            xml(&short_phase(phase))
        );
        let _ = writeln!(
            svg,
            r##"<text x="{cx:.1}" y="{:.1}" text-anchor="middle" fill="#555">{}</text>"##,
            top + height + 28.0,
            xml(label)
        );
    }
    for (i, (_, name, colour)) in ROLES.iter().enumerate() {
        let x = left + i as f64 * 150.0;
        let ly = top + height + 55.0;
        let _ = writeln!(
            svg,
            r#"<rect x="{x:.0}" y="{:.0}" width="12" height="12" fill="{colour}"/><text x="{:.0}" y="{:.0}">{name}</text>"#,
            ly - 10.0,
            x + 16.0,
            ly
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn short_phase(phase: &str) -> String {
    phase.replace("room, ", "").replace(" messages", " msgs")
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn file_stem(name: &str) -> &str {
    name.strip_suffix(".json").unwrap_or(name)
}

/// Today's date, UTC, `YYYY-MM-DD`.
fn today() -> String {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn git_commit() -> String {
    Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// The resident page frames of a process's file mappings (files on disk,
/// wherever they are: memfd, /dev and tmpfs pages, on device major 0, are
/// in `Pss_Shmem` already), from
/// `/proc/<pid>/pagemap` (frames read as 0 unless root).
fn file_frames(pid: u32) -> Option<Vec<u64>> {
    use std::io::{Read, Seek, SeekFrom};
    const PAGE: u64 = 4096;
    let maps = fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
    let mut pagemap = fs::File::open(format!("/proc/{pid}/pagemap")).ok()?;
    let mut frames = Vec::new();
    for line in maps.lines() {
        // range, permissions, offset, device, inode, path
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(range), Some(device), Some(path)) =
            (fields.first(), fields.get(3), fields.get(5))
        else {
            continue;
        };
        // Device major 0 is a memory file system (tmpfs, memfd, SysV
        // shared memory, devtmpfs): those pages are `Pss_Shmem`, not file.
        if !path.starts_with('/') || device.starts_with("00:") {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16))
        else {
            continue;
        };
        let mut buf = vec![0u8; ((end - start) / PAGE * 8) as usize];
        if pagemap.seek(SeekFrom::Start(start / PAGE * 8)).is_err()
            || pagemap.read_exact(&mut buf).is_err()
        {
            continue;
        }
        for entry in buf.chunks_exact(8) {
            let e = u64::from_le_bytes(entry.try_into().expect("8 bytes"));
            // Present (bit 63) and a page of the file (bit 61): a page
            // copied on write (relocations) is anonymous, in Pss_Anon.
            if e >> 63 == 1 && (e >> 61) & 1 == 1 {
                frames.push(e & ((1 << 55) - 1));
            }
        }
    }
    Some(frames)
}

/// Each process's PSS as if no other WebKitGTK app ran on the machine:
/// the anonymous and shared-memory PSS from `smaps_rollup`, plus each
/// resident page of a file mapping divided by its mappings
/// (`/proc/kpagecount`) less those of the `others` (processes outside the
/// app's that map libwebkit2gtk: another app, a test run, MiniBrowser).
/// Plain PSS divides a library's pages with every process that maps it,
/// so libwebkit2gtk, libLLVM and friends look smaller while someone else's
/// WebKit runs; this does not move with them, and still shares libc or
/// GTK with the rest of the desktop as PSS does. `None` unless root.
fn alone_kib(procs: &[Proc], others: &[u32]) -> Option<BTreeMap<u32, u64>> {
    use std::collections::HashMap;
    use std::os::unix::fs::FileExt;
    let mut ours: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    let mut our_count: HashMap<u64, u64> = HashMap::new();
    for p in procs {
        let frames = file_frames(p.pid)?;
        for &f in &frames {
            *our_count.entry(f).or_default() += 1;
        }
        ours.insert(p.pid, frames);
    }
    if our_count.keys().all(|&f| f == 0) {
        return None;
    }
    let mut their_count: HashMap<u64, u64> = HashMap::new();
    for &pid in others {
        for f in file_frames(pid).unwrap_or_default() {
            if our_count.contains_key(&f) {
                *their_count.entry(f).or_default() += 1;
            }
        }
    }
    let kpagecount = fs::File::open("/proc/kpagecount").ok()?;
    let mut share: HashMap<u64, f64> = HashMap::with_capacity(our_count.len());
    for (&f, &mine) in &our_count {
        let mut buf = [0u8; 8];
        let total = if kpagecount.read_exact_at(&mut buf, f * 8).is_ok() {
            u64::from_le_bytes(buf)
        } else {
            mine
        };
        let mappers = total
            .saturating_sub(their_count.get(&f).copied().unwrap_or(0))
            .max(mine)
            .max(1);
        share.insert(f, 4.0 / mappers as f64);
    }
    let mut out = BTreeMap::new();
    for p in procs {
        let file: f64 = ours[&p.pid].iter().map(|f| share[f]).sum();
        out.insert(
            p.pid,
            p.pss_kib - p.pss_file_kib.min(p.pss_kib) + file.round() as u64,
        );
    }
    Some(out)
}

/// Processes outside `family` that map libwebkit2gtk now.
fn other_webkit_processes(family: &std::collections::BTreeSet<u32>) -> Vec<u32> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| !family.contains(pid))
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/maps"))
                .is_ok_and(|m| m.contains("libwebkit2gtk"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_texts() {
        assert_eq!(today().len(), 10);
        assert!(message_text(3).starts_with("#3: "));
        assert_ne!(message_text(1).len(), message_text(2).len());
    }

    #[test]
    fn reads_this_process() {
        let me = read_proc(std::process::id(), 3).unwrap();
        assert!(me.pss_kib > 0 && me.rss_kib >= me.pss_kib / 2);
        assert!(!me.top.is_empty() && me.top.len() <= 3);
    }

    #[test]
    fn counted_without_others_it_is_this_process_pss() {
        let me = read_proc(std::process::id(), 1).unwrap();
        // Frames are visible to root only; elsewhere there is no figure.
        if let Some(alone) = alone_kib(std::slice::from_ref(&me), &[]) {
            let kib = alone[&me.pid];
            assert!(
                kib >= me.pss_kib / 2 && kib <= me.pss_kib * 2,
                "{kib} vs {}",
                me.pss_kib
            );
        }
    }

    #[test]
    fn a_soak_chart_has_a_line_per_process_and_the_total() {
        let sample = |minute: f64, kib: u64| Snapshot {
            phase: "soak".into(),
            at_secs: minute * 60.0,
            messages: 0,
            total_kib: kib,
            alone_total_kib: None,
            other_webkit_processes: 0,
            processes: vec![],
        };
        let report = Report {
            soak: vec![sample(0.0, 200 * 1024), sample(1.0, 210 * 1024)],
            ..Report::default()
        };
        let svg = soak_chart(&report);
        assert_eq!(svg.matches("<polyline").count(), 4);
        assert!(svg.contains("first sample + 10 % (220)"));
    }

    #[test]
    fn a_chart_of_nothing_is_still_an_svg() {
        let svg = chart(&[Report::default()]);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    }
}
