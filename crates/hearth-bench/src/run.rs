//! The `run` subcommand: opens the subscribers in batches, waits until all
//! stream, optionally lets them sit idle (memory per stream), posts the
//! messages on schedule, drains, and measures the server and itself around
//! each phase. Produces a [`RunResult`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use crate::http::Target;
use crate::netstat::ListenCounters;
use crate::procstat;
use crate::publish::{self, Mode};
use crate::results::{
    Config, Connect, Delivery, FORMAT, Generator, Latency, Publish, RunResult, Server,
};
use crate::sse::{self, ReadyOn, Shared};

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// How to sign in, post and subscribe: `hearth` (JSON API, Bearer
    /// token), `form` (the original Flask room: /login, /post, /stream with
    /// the session cookie), `raw` (POST the body; nchan).
    #[arg(long, value_enum, default_value = "hearth")]
    pub mode: Mode,
    /// A server's base URL (repeatable): its stream and post URLs are the
    /// mode's defaults (hearth: /api/rooms/{room}/events?replay=0 and
    /// /api/rooms/{room}/messages; form: /stream and /post; raw: /sub/{room}
    /// and /pub/{room}). --sub and --pub override them.
    #[arg(long)]
    pub target: Vec<String>,
    /// Stream URL (repeatable; `{room}` is replaced by the room's name).
    /// Several: each room's subscribers are split round-robin across them.
    #[arg(long = "sub")]
    pub sub: Vec<String>,
    /// Post URL (repeatable; `{room}` replaced). Several: publishers are
    /// split round-robin across them.
    #[arg(long = "pub")]
    pub publ: Vec<String>,
    /// Subscribers (open event streams).
    #[arg(long, short = 'n', default_value_t = 100)]
    pub subscribers: u64,
    /// Messages to post in all (0: only connect, idle and measure memory).
    #[arg(long, short = 'm', default_value_t = 20)]
    pub messages: u64,
    /// Messages per second, all publishers together.
    #[arg(long, short = 'r', default_value_t = 10.0)]
    pub rate: f64,
    /// Publishers (each with its own session and connection).
    #[arg(long, short = 'p', default_value_t = 1)]
    pub publishers: u64,
    /// Message size in bytes (the stamp is never cut: at least about 30).
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Rooms: subscriber i is in room i % K, message j goes to room j % K.
    #[arg(long, default_value_t = 1)]
    pub rooms: u64,
    /// Room names are this prefix and the room's index.
    #[arg(long, default_value = "bench")]
    pub room_prefix: String,
    /// Distinct sessions (nicks) the subscribers share per server (hearth
    /// and form modes). 1: every subscriber is the same user, so joins and
    /// presence cost nothing; N: every subscriber a different user.
    #[arg(long, default_value_t = 1)]
    pub sub_sessions: u64,
    /// Subscribers connecting at once; the next batch starts when a batch
    /// is streaming (0: all of them at once).
    #[arg(long, default_value_t = 500)]
    pub connect_batch: u64,
    /// Seconds a batch may take to be streaming.
    #[arg(long, default_value_t = 30.0)]
    pub connect_timeout: f64,
    /// A server process to measure (repeatable; its descendants count too
    /// unless --no-children).
    #[arg(long)]
    pub server_pid: Vec<u32>,
    /// Measure only the given pids, not their descendants.
    #[arg(long)]
    pub no_children: bool,
    /// Seconds the open streams sit idle before the idle memory reading.
    #[arg(long, default_value_t = 0.0)]
    pub idle_secs: f64,
    /// Milliseconds between all streaming and the first post.
    #[arg(long, default_value_t = 500)]
    pub settle_ms: u64,
    /// Seconds to wait after the last post for the deliveries (ends early
    /// when all are in).
    #[arg(long, default_value_t = 10.0)]
    pub drain_secs: f64,
    /// Runtime threads of the load generator (1: a single thread).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// The peer's name in reports.
    #[arg(long)]
    pub label: Option<String>,
    /// The scenario's name in reports.
    #[arg(long, default_value = "adhoc")]
    pub scenario: String,
    /// Write the result as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Runs the benchmark, prints the table and writes the JSON.
pub fn main(args: RunArgs) -> Result<()> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) if n < args.subscribers + 64 => eprintln!(
            "warning: only {n} open files allowed; {} subscribers need more (raise the hard limit: ulimit -Hn)",
            args.subscribers
        ),
        Ok(_) => {}
        Err(e) => eprintln!("warning: cannot raise the open files limit: {e}"),
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
    print!("{}", crate::results::table(&result));
    if let Some(path) = &args.json {
        crate::results::write_json(path, &result)?;
    }
    Ok(())
}

fn secs_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

/// The run itself.
pub async fn run(args: RunArgs) -> Result<RunResult> {
    if args.rooms == 0 || args.publishers == 0 || args.sub_sessions == 0 {
        bail!("--rooms, --publishers and --sub-sessions must be at least 1");
    }
    if args.messages > 0 && !(args.rate > 0.0 && args.rate.is_finite()) {
        bail!("--rate must be a positive number");
    }
    let (mut subs, mut pubs) = (args.sub.clone(), args.publ.clone());
    for t in &args.target {
        let (s, p) = args.mode.default_urls(t);
        if args.sub.is_empty() {
            subs.push(s);
        }
        if args.publ.is_empty() {
            pubs.push(p);
        }
    }
    if subs.is_empty() || (pubs.is_empty() && args.messages > 0) {
        bail!("give the server with --target URL, or the URLs with --sub and --pub");
    }
    if args.rooms > 1 && subs.iter().chain(&pubs).any(|u| !u.contains("{room}")) {
        bail!("--rooms above 1 needs URLs with {{room}} in them");
    }
    let room_names: Vec<String> = (0..args.rooms)
        .map(|k| format!("{}{k}", args.room_prefix))
        .collect();
    let label = args
        .label
        .clone()
        .unwrap_or_else(|| format!("{:?}", args.mode).to_lowercase());
    let mut notes = Vec::new();
    let started_unix = crate::payload::unix_micros() / 1_000_000;
    let run_id = format!("{:x}", crate::payload::unix_micros());

    // Where each (stream URL, room) goes.
    let mut sub_targets: Vec<Vec<Target>> = Vec::new();
    for tpl in &subs {
        let mut per_room = Vec::new();
        for room in &room_names {
            per_room.push(Target::resolve(&tpl.replace("{room}", room)).await?);
        }
        sub_targets.push(per_room);
    }

    // Sign in: the subscribers' sessions per server, one per publisher.
    let signin = publish::client()?;
    let mut sub_auth: HashMap<String, Vec<Option<String>>> = HashMap::new();
    for per_room in &sub_targets {
        let origin = &per_room[0].origin;
        if sub_auth.contains_key(origin) {
            continue;
        }
        let mut sessions = Vec::new();
        for s in 0..args.sub_sessions {
            sessions.push(
                publish::sign_in(&signin, args.mode, origin, &format!("bench-sub-{s}")).await?,
            );
        }
        sub_auth.insert(origin.clone(), sessions);
    }
    let mut jobs = Vec::new();
    if args.messages > 0 {
        for p in 0..args.publishers {
            let tpl = &pubs[(p as usize) % pubs.len()];
            let origin = Target::resolve(&tpl.replace("{room}", &room_names[0]))
                .await?
                .origin;
            let client = publish::client()?;
            let auth =
                publish::sign_in(&client, args.mode, &origin, &format!("bench-pub-{p}")).await?;
            jobs.push((
                client,
                publish::Job {
                    mode: args.mode,
                    first: p,
                    step: args.publishers,
                    messages: args.messages,
                    rooms: args.rooms,
                    rate: args.rate,
                    size: args.size,
                    url: tpl.clone(),
                    room_names: room_names.clone(),
                    auth,
                    run_id: run_id.clone(),
                },
            ));
        }
    }

    let pids = &args.server_pid;
    let children = !args.no_children;
    let server_before = procstat::sample(pids, children);
    let processes = procstat::names(pids, children);

    // Connect the subscribers, batch by batch.
    let shared = Arc::new(Shared {
        messages: args.messages,
        rooms: args.rooms,
        received: AtomicU64::new(0),
    });
    let ready_on = match args.mode {
        Mode::Hearth => ReadyOn::ReadyEvent,
        Mode::Form => ReadyOn::FirstData,
        Mode::Raw => ReadyOn::Head,
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut requests: HashMap<(usize, u64, u64), Arc<[u8]>> = HashMap::new();
    let mut handles = Vec::with_capacity(args.subscribers as usize);
    let mut ready_per_room = vec![0u64; args.rooms as usize];
    let mut subs_per_room = vec![0u64; args.rooms as usize];
    let (mut ready, mut failed, mut first_connect_error) = (0u64, 0u64, None);
    let mut per_subscriber_us: Vec<u32> = Vec::with_capacity(args.subscribers as usize);
    let kernel_start = ListenCounters::read();
    let connect_start = Instant::now();
    let batch = match args.connect_batch {
        0 => args.subscribers.max(1),
        n => n,
    };
    let mut i = 0;
    while i < args.subscribers {
        let end = (i + batch).min(args.subscribers);
        let mut waits = Vec::new();
        for i in i..end {
            let room = i % args.rooms;
            let url = ((i / args.rooms) % sub_targets.len() as u64) as usize;
            let target = &sub_targets[url][room as usize];
            let sessions = &sub_auth[&target.origin];
            let session = (i / (args.rooms * sub_targets.len() as u64)) % sessions.len() as u64;
            let request = requests
                .entry((url, room, session))
                .or_insert_with(|| {
                    let extra: Vec<String> = sessions[session as usize].iter().cloned().collect();
                    Arc::from(target.stream_request(&extra))
                })
                .clone();
            let (tx, rx) = oneshot::channel();
            subs_per_room[room as usize] += 1;
            let spec = sse::Spec {
                room,
                addr: target.addr,
                request,
                ready_on,
                started: connect_start,
            };
            handles.push(tokio::spawn(sse::run(
                spec,
                shared.clone(),
                tx,
                stop_rx.clone(),
            )));
            waits.push((room, rx));
        }
        let deadline = Instant::now() + Duration::from_secs_f64(args.connect_timeout);
        for (room, rx) in waits {
            match tokio::time::timeout_at(deadline, rx).await {
                Ok(Ok(Ok(micros))) => {
                    per_subscriber_us.push(micros.min(u64::from(u32::MAX)) as u32);
                    ready += 1;
                    ready_per_room[room as usize] += 1;
                }
                other => {
                    failed += 1;
                    if first_connect_error.is_none() {
                        first_connect_error = Some(match other {
                            Ok(Ok(Err(e))) => e,
                            Err(_) => format!("not streaming within {}s", args.connect_timeout),
                            _ => "subscriber task ended".into(),
                        });
                    }
                }
            }
        }
        i = end;
    }
    let connect_secs = secs_since(connect_start);
    let connect_kernel = ListenCounters::since(kernel_start);
    if let Some(k) = connect_kernel
        && k.listen_overflows + k.listen_drops > 0
    {
        notes.push(format!("while connecting: {}", k.describe()));
    }
    if failed > 0 {
        notes.push(format!("{failed} subscribers never streamed"));
    }
    let server_open = procstat::sample(pids, children);
    let mut server_idle = None;
    if args.idle_secs > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(args.idle_secs)).await;
        server_idle = procstat::sample(pids, children);
    }
    tokio::time::sleep(Duration::from_millis(args.settle_ms)).await;

    // Post, then drain.
    let post_start_wall = Instant::now();
    let server_p0 = procstat::sample(pids, children);
    let gen_p0 = procstat::self_cpu_secs();
    let start = Instant::now() + Duration::from_millis(50);
    let pub_handles: Vec<_> = jobs
        .into_iter()
        .map(|(client, job)| tokio::spawn(publish::run(client, job, start)))
        .collect();
    let mut pub_outcomes = Vec::new();
    for h in pub_handles {
        pub_outcomes.push(h.await.context("publisher task")?);
    }
    let expected_ready: u64 = (0..args.messages)
        .map(|j| ready_per_room[(j % args.rooms) as usize])
        .sum();
    let drain_start = Instant::now();
    if args.messages > 0 {
        let deadline = drain_start + Duration::from_secs_f64(args.drain_secs);
        while shared.received.load(Ordering::Relaxed) < expected_ready && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let drain_secs = secs_since(drain_start);
    let posting_wall = secs_since(post_start_wall);
    let server_p1 = procstat::sample(pids, children);
    let gen_p1 = procstat::self_cpu_secs();

    // Stop the subscribers and gather what they saw.
    let _ = stop_tx.send(true);
    let mut latencies: Vec<u32> = Vec::new();
    let (mut received, mut duplicates, mut foreign, mut ended) = (0u64, 0u64, 0u64, 0u64);
    let mut last_delivery = 0u64;
    let mut first_stream_error = None;
    for h in handles {
        let mut o = h.await.context("subscriber task")?;
        received += o.received;
        duplicates += o.duplicates;
        foreign += o.foreign;
        last_delivery = last_delivery.max(o.last_delivery_micros);
        if o.ready && o.ended_early {
            ended += 1;
            if first_stream_error.is_none() {
                first_stream_error = o.error.take();
            }
        }
        latencies.append(&mut o.latencies_us);
    }
    let gen_total = procstat::self_cpu_secs();

    // Publishing.
    let mut post_lat: Vec<u32> = Vec::new();
    let (mut attempted, mut ok, mut max_lag_us) = (0u64, 0u64, 0u64);
    let mut failed_by_status = std::collections::BTreeMap::new();
    let mut first_post_error = None;
    let (mut first_send, mut last_send) = (u64::MAX, 0u64);
    for mut o in pub_outcomes {
        attempted += o.attempted;
        ok += o.ok;
        max_lag_us = max_lag_us.max(o.max_lag_us);
        for (status, n) in o.failed {
            *failed_by_status.entry(status.to_string()).or_insert(0) += n;
        }
        if first_post_error.is_none() {
            first_post_error = o.first_error.take();
        }
        if o.attempted > 0 {
            first_send = first_send.min(o.first_send_micros);
            last_send = last_send.max(o.last_send_micros);
        }
        post_lat.append(&mut o.post_latencies_us);
    }
    let publish_secs = if attempted > 1 {
        (last_send - first_send) as f64 / 1e6
    } else {
        0.0
    };
    let achieved_rate = if publish_secs > 0.0 {
        (attempted - 1) as f64 / publish_secs
    } else {
        0.0
    };
    if attempted > ok {
        notes.push(format!("{} posts failed", attempted - ok));
    }

    // Deliveries.
    let expected: u64 = (0..args.messages)
        .map(|j| subs_per_room[(j % args.rooms) as usize])
        .sum();
    // From the first send to the last delivery, plus the last message's own
    // slot (1/R): M messages take M/R seconds of schedule.
    let delivery_secs = if received > 0 && last_delivery > first_send {
        (last_delivery - first_send) as f64 / 1e6 + 1.0 / args.rate
    } else {
        0.0
    };
    let asked_per_sec = args.rate * args.subscribers as f64 / args.rooms as f64;
    let latency = Latency::from_micros(&mut latencies);
    let lost = expected.saturating_sub(received);
    if args.messages > 0 && lost > 0 {
        notes.push(format!(
            "{lost} deliveries lost ({:.2}%)",
            lost as f64 * 100.0 / expected.max(1) as f64
        ));
    }

    let server = match (server_before, server_open, server_p0, server_p1) {
        (Some(b), Some(o), Some(p0), Some(p1)) => {
            let measured = server_idle.unwrap_or(o);
            let cpu_posting = p1.cpu_secs - p0.cpu_secs;
            Some(Server {
                processes,
                memory: b.mem_kind.to_string(),
                mem_kb_before: b.mem_kb,
                mem_kb_streams_open: o.mem_kb,
                mem_kb_idle: server_idle.map(|s| s.mem_kb),
                mem_kb_after: p1.mem_kb,
                kb_per_stream: (ready > 0)
                    .then(|| (measured.mem_kb as f64 - b.mem_kb as f64) / ready as f64),
                cpu_secs_connect: o.cpu_secs - b.cpu_secs,
                cpu_secs_posting: cpu_posting,
                cpu_us_per_delivery: (received > 0).then(|| cpu_posting * 1e6 / received as f64),
                cpu_share_posting: cpu_posting / posting_wall.max(1e-9),
            })
        }
        _ => None,
    };
    if let Some(s) = &server
        && args.messages > 0
        && s.cpu_share_posting > 0.9
    {
        notes.push(format!(
            "the server used {:.0}% of a core while posting: it is CPU-bound",
            s.cpu_share_posting * 100.0
        ));
    }
    let gen_posting = gen_p1 - gen_p0;
    let gen_share = gen_posting / posting_wall.max(1e-9);
    if args.messages > 0 && gen_share > 0.9 * args.threads as f64 {
        notes.push(format!(
            "the load generator used {:.0}% of its {} thread(s) while posting: latencies include its own queueing (upper bounds)",
            gen_share * 100.0,
            args.threads
        ));
    }

    Ok(RunResult {
        format: FORMAT,
        label,
        scenario: args.scenario.clone(),
        started_unix,
        machine: procstat::machine(),
        config: Config {
            mode: args.mode,
            subscribers: args.subscribers,
            messages: args.messages,
            rate: args.rate,
            publishers: args.publishers,
            size: args.size,
            rooms: args.rooms,
            sub_sessions: args.sub_sessions,
            connect_batch: batch,
            sub_urls: subs,
            pub_urls: pubs,
            idle_secs: args.idle_secs,
            drain_secs: args.drain_secs,
            threads: args.threads.max(1),
        },
        connect: Connect {
            secs: connect_secs,
            ready,
            failed,
            first_error: first_connect_error,
            per_subscriber_ms: Some(Latency::from_micros(&mut per_subscriber_us)),
            kernel: connect_kernel,
        },
        publish: Publish {
            attempted,
            ok,
            failed: attempted - ok,
            failed_by_status,
            first_error: first_post_error,
            secs: publish_secs,
            asked_rate: if args.messages > 0 { args.rate } else { 0.0 },
            achieved_rate,
            post_ms: Latency::from_micros(&mut post_lat),
            max_lag_ms: max_lag_us as f64 / 1000.0,
        },
        delivery: Delivery {
            expected,
            received,
            lost,
            duplicates,
            foreign,
            streams_ended_early: ended,
            first_stream_error,
            asked_per_sec: if args.messages > 0 {
                asked_per_sec
            } else {
                0.0
            },
            achieved_per_sec: if delivery_secs > 0.0 {
                received as f64 / delivery_secs
            } else {
                0.0
            },
            latency_ms: latency,
            drain_secs,
        },
        server,
        kernel: ListenCounters::since(kernel_start),
        generator: Generator {
            cpu_secs_total: gen_total,
            cpu_secs_posting: gen_posting,
            cpu_share_posting: gen_share,
            rss_kb: procstat::self_rss_kb(),
        },
        notes,
    })
}
