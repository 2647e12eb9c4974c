//! The `report` subcommand: reads the JSON files of several runs and writes
//! the markdown tables (one per scenario, one row per peer) and an SVG chart
//! (p99 latency, deliveries per second, server memory per stream), for
//! docs/BENCHMARKS.md. Connect bursts (`connect-*`) get a table of their own
//! (time until all stream, each subscriber's time, the kernel's listen-queue
//! counters), storms ([`crate::storm`]) another, and both a chart of their
//! own (`--storm-svg`). The SVG is written by hand: a few rectangles and
//! labels need no plotting library.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

use crate::results::RunResult;
use crate::storm::{self, StormResult};

#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Result files, or directories whose `*.json` files are read.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Write the markdown here (it is printed to stdout either way).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Write the SVG chart here.
    #[arg(long)]
    pub svg: Option<PathBuf>,
    /// How the markdown links to the chart (default: the --svg path as
    /// given).
    #[arg(long)]
    pub svg_link: Option<String>,
    /// Write the chart of connect bursts and storms here (when there are
    /// any).
    #[arg(long)]
    pub storm_svg: Option<PathBuf>,
    /// How the markdown links to that chart (default: the path as given).
    #[arg(long)]
    pub storm_svg_link: Option<String>,
}

/// Scenarios and peers sort in this order first, the others after, by name.
const SCENARIO_ORDER: &[&str] = &[
    "room-1k",
    "big-room-10k",
    "rooms-100x100",
    "idle-10k",
    "connect-1k",
    "connect-10k",
    "storm-10k",
    "storm-restart-10k",
];
const PEER_ORDER: &[&str] = &[
    "hearth-embedded",
    "hearth-redis-1",
    "hearth-redis-2",
    "nchan",
    "flask",
];

fn rank(order: &[&str], name: &str) -> (usize, String) {
    (
        order.iter().position(|o| *o == name).unwrap_or(order.len()),
        name.to_string(),
    )
}

/// A connect burst: its own table and chart.
fn is_connect(scenario: &str) -> bool {
    scenario.starts_with("connect-")
}

fn read_inputs(inputs: &[PathBuf]) -> Result<(Vec<RunResult>, Vec<StormResult>)> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            for e in std::fs::read_dir(input).with_context(|| format!("{}", input.display()))? {
                let path = e?.path();
                if path.extension().is_some_and(|x| x == "json") {
                    files.push(path);
                }
            }
        } else {
            files.push(input.clone());
        }
    }
    files.sort();
    let (mut runs, mut storms) = (Vec::new(), Vec::new());
    for f in files {
        let text = std::fs::read_to_string(&f).with_context(|| format!("{}", f.display()))?;
        let is_storm = serde_json::from_str::<serde_json::Value>(&text)
            .is_ok_and(|v| v["kind"] == storm::KIND);
        let parsed = if is_storm {
            serde_json::from_str::<StormResult>(&text).map(|s| storms.push(s))
        } else {
            serde_json::from_str::<RunResult>(&text).map(|r| runs.push(r))
        };
        if let Err(e) = parsed {
            eprintln!("skipping {}: not a result file ({e})", f.display());
        }
    }
    Ok((runs, storms))
}

/// Storms by scenario, then peer; a later one replaces an earlier one.
fn group_storms(storms: Vec<StormResult>) -> Vec<StormResult> {
    type Key = ((usize, String), (usize, String));
    let mut by: BTreeMap<Key, StormResult> = BTreeMap::new();
    for s in storms {
        let key = (
            rank(SCENARIO_ORDER, &s.scenario),
            rank(PEER_ORDER, &s.label),
        );
        if by
            .get(&key)
            .is_none_or(|old| old.started_unix <= s.started_unix)
        {
            by.insert(key, s);
        }
    }
    by.into_values().collect()
}

/// Runs grouped by scenario, each group's runs by peer; a later run of the
/// same scenario and peer replaces an earlier one.
fn group(runs: Vec<RunResult>) -> Vec<(String, Vec<RunResult>)> {
    let mut by: BTreeMap<(usize, String), BTreeMap<(usize, String), RunResult>> = BTreeMap::new();
    for r in runs {
        let peers = by.entry(rank(SCENARIO_ORDER, &r.scenario)).or_default();
        let key = rank(PEER_ORDER, &r.label);
        if peers
            .get(&key)
            .is_none_or(|old| old.started_unix <= r.started_unix)
        {
            peers.insert(key, r);
        }
    }
    by.into_iter()
        .map(|((_, s), peers)| (s, peers.into_values().collect()))
        .collect()
}

fn f(v: f64, digits: usize) -> String {
    format!("{v:.digits$}")
}

fn mb(kb: u64) -> String {
    format!("{:.0}", kb as f64 / 1024.0)
}

/// A connect burst's table: how long until all stream, each subscriber's
/// time, the kernel's listen-queue counters, the server's CPU.
fn connect_table(md: &mut String, runs: &[RunResult]) {
    let c = &runs[0].config;
    let at_once = if c.connect_batch >= c.subscribers {
        "all at once".to_string()
    } else {
        format!("in batches of {}", c.connect_batch)
    };
    let _ = writeln!(
        md,
        "{} fresh subscribers connecting {at_once}; no messages.\n",
        c.subscribers
    );
    md.push_str("| Peer | Streaming | All streaming s | Each subscriber ms (p50 / p99 / max) | Listen overflows | Listen drops | SYN retransmits | Server CPU s connecting | Server CPU µs per connect |\n");
    md.push_str("|---|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for r in runs {
        let each = r.connect.per_subscriber_ms.map_or("–".into(), |l| {
            format!("{} / {} / {}", f(l.p50, 0), f(l.p99, 0), f(l.max, 0))
        });
        let k = |v: fn(&crate::netstat::ListenCounters) -> u64| {
            r.connect
                .kernel
                .as_ref()
                .map_or("–".into(), |k| v(k).to_string())
        };
        let (cpu, per) = r.server.as_ref().map_or(("–".into(), "–".into()), |s| {
            (
                f(s.cpu_secs_connect, 2),
                f(s.cpu_secs_connect * 1e6 / r.connect.ready.max(1) as f64, 0),
            )
        });
        let _ = writeln!(
            md,
            "| {} | {}/{} | {} | {} | {} | {} | {} | {} | {} |",
            r.label,
            r.connect.ready,
            c.subscribers,
            f(r.connect.secs, 2),
            each,
            k(|k| k.listen_overflows),
            k(|k| k.listen_drops),
            k(|k| k.syn_retrans),
            cpu,
            per
        );
    }
}

/// The storms' table.
pub fn storm_markdown(storms: &[StormResult]) -> String {
    let mut md = String::new();
    if storms.is_empty() {
        return md;
    }
    md.push_str("### Reconnect storms\n\n");
    md.push_str("| Scenario | Peer | Subscribers | Missed messages | Server restarted | All streaming again s | All caught up s | Each caught up ms (p50 / p99 / max) | Lost | Dup. | Server CPU s in the storm (share of a core) | Listen overflows / drops / SYN retransmits |\n");
    md.push_str("|---|---|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|\n");
    for s in storms {
        let l = &s.per_subscriber_caught_up_ms;
        let _ = writeln!(
            md,
            "| {} | {} | {}/{} | {} | {} | {} | {} | {} / {} / {} | {} | {} | {} | {} |",
            s.scenario,
            s.label,
            s.caught_up,
            s.subscribers,
            s.missed,
            if s.restarted { "yes" } else { "no" },
            f(s.streaming_secs, 2),
            s.caught_up_secs.map_or("not all".into(), |v| f(v, 2)),
            f(l.p50, 0),
            f(l.p99, 0),
            f(l.max, 0),
            s.lost,
            s.duplicates,
            match (s.server_cpu_secs, s.server_cpu_share) {
                (Some(c), Some(share)) => format!("{} ({:.0}%)", f(c, 2), share * 100.0),
                _ => "–".into(),
            },
            s.kernel.map_or("–".into(), |k| format!(
                "{} / {} / {}",
                k.listen_overflows, k.listen_drops, k.syn_retrans
            )),
        );
    }
    let notes: Vec<String> = storms
        .iter()
        .flat_map(|s| {
            s.notes
                .iter()
                .map(move |n| format!("- {} / {}: {n}", s.scenario, s.label))
        })
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(md, "\nNotes from the runs:\n\n{}", notes.join("\n"));
    }
    md.push('\n');
    md
}

/// The chart of connect bursts and storms: time, and the server's CPU.
pub fn storm_svg(groups: &[(String, Vec<RunResult>)], storms: &[StormResult]) -> String {
    let mut peers: Vec<String> = Vec::new();
    let connects: Vec<&(String, Vec<RunResult>)> =
        groups.iter().filter(|(s, _)| is_connect(s)).collect();
    for label in connects
        .iter()
        .flat_map(|(_, runs)| runs.iter().map(|r| &r.label))
        .chain(storms.iter().map(|s| &s.label))
    {
        if !peers.contains(label) {
            peers.push(label.clone());
        }
    }
    peers.sort_by_key(|p| rank(PEER_ORDER, p));
    let mut names: Vec<String> = connects.iter().map(|(s, _)| s.clone()).collect();
    for s in storms {
        if !names.contains(&s.scenario) {
            names.push(s.scenario.clone());
        }
    }
    let value = |name: &str,
                 peer: &str,
                 storm_value: &dyn Fn(&StormResult) -> Option<f64>,
                 run_value: &dyn Fn(&RunResult) -> Option<f64>| {
        if let Some((_, runs)) = connects.iter().find(|(s, _)| s == name) {
            return runs.iter().find(|r| r.label == peer).and_then(run_value);
        }
        storms
            .iter()
            .find(|s| s.scenario == name && s.label == peer)
            .and_then(storm_value)
    };
    let table = |storm_value: &dyn Fn(&StormResult) -> Option<f64>,
                 run_value: &dyn Fn(&RunResult) -> Option<f64>|
     -> Vec<Vec<Option<f64>>> {
        names
            .iter()
            .map(|n| {
                peers
                    .iter()
                    .map(|p| value(n, p, storm_value, run_value))
                    .collect()
            })
            .collect()
    };
    let time = Panel {
        title: "seconds until every subscriber streams (connect) or has every missed message (storm); lower is better",
        groups: names.clone(),
        values: table(&|s| s.caught_up_secs, &|r| Some(r.connect.secs)),
        marks: vec![],
        labels: None,
        log: false,
    };
    let cpu = Panel {
        title: "server CPU seconds over the burst (lower is better)",
        groups: names.clone(),
        values: table(&|s| s.server_cpu_secs, &|r| {
            Some(r.server.as_ref()?.cpu_secs_connect)
        }),
        marks: vec![],
        labels: None,
        log: false,
    };
    let (w, panel_h, legend_h) = (960.0, 260.0, 40.0);
    let h = legend_h + 2.0 * panel_h;
    let mut s = svg_open(w, h, &peers, 220.0);
    for (i, p) in [time, cpu].iter().enumerate() {
        draw_panel(
            &mut s,
            p,
            &peers,
            20.0,
            legend_h + i as f64 * panel_h,
            w - 60.0,
            panel_h,
        );
    }
    s.push_str("</svg>\n");
    s
}

/// The markdown tables.
pub fn markdown(groups: &[(String, Vec<RunResult>)], svg_link: Option<&str>) -> String {
    let mut md = String::new();
    for (scenario, runs) in groups {
        let c = &runs[0].config;
        let _ = writeln!(md, "### {scenario}\n");
        if is_connect(scenario) {
            connect_table(&mut md, runs);
        } else if c.messages > 0 {
            let _ = writeln!(
                md,
                "{} subscribers in {} room(s); {} messages of {} bytes at {} msg/s from {} publisher(s).\n",
                c.subscribers, c.rooms, c.messages, c.size, c.rate, c.publishers
            );
            md.push_str("| Peer | Streaming | Lost | Dup. | p50 ms | p90 ms | p99 ms | Max ms | Deliveries/s (achieved / asked) | Connect s | Server CPU s | Server CPU µs/delivery | Server memory MB (before → after) | Generator CPU s (share) |\n");
            md.push_str("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
            for r in runs {
                let d = &r.delivery;
                let (cpu, per, rss) = match &r.server {
                    Some(s) => (
                        f(s.cpu_secs_posting, 2),
                        s.cpu_us_per_delivery.map_or("–".into(), |v| f(v, 2)),
                        format!("{} → {}", mb(s.mem_kb_before), mb(s.mem_kb_after)),
                    ),
                    None => ("–".into(), "–".into(), "–".into()),
                };
                let _ = writeln!(
                    md,
                    "| {} | {}/{} | {} | {} | {} | {} | {} | {} | {} / {} | {} | {} | {} | {} | {} ({:.0}%) |",
                    r.label,
                    r.connect.ready,
                    r.config.subscribers,
                    d.lost,
                    d.duplicates,
                    f(d.latency_ms.p50, 1),
                    f(d.latency_ms.p90, 1),
                    f(d.latency_ms.p99, 1),
                    f(d.latency_ms.max, 1),
                    f(d.achieved_per_sec, 0),
                    f(d.asked_per_sec, 0),
                    f(r.connect.secs, 2),
                    cpu,
                    per,
                    rss,
                    f(r.generator.cpu_secs_posting, 2),
                    r.generator.cpu_share_posting * 100.0
                );
            }
        } else {
            let _ = writeln!(
                md,
                "{} subscribers in {} room(s), idle for {} s; no messages.\n",
                c.subscribers, c.rooms, c.idle_secs
            );
            md.push_str("| Peer | Streaming | Connect s | Server memory MB before | Server memory MB idle | KB per idle stream | Server CPU s connecting |\n");
            md.push_str("|---|--:|--:|--:|--:|--:|--:|\n");
            for r in runs {
                let (before, idle, per, cpu) = match &r.server {
                    Some(s) => (
                        mb(s.mem_kb_before),
                        mb(s.mem_kb_idle.unwrap_or(s.mem_kb_streams_open)),
                        s.kb_per_stream.map_or("–".into(), |v| f(v, 1)),
                        f(s.cpu_secs_connect, 2),
                    ),
                    None => ("–".into(), "–".into(), "–".into(), "–".into()),
                };
                let _ = writeln!(
                    md,
                    "| {} | {}/{} | {} | {} | {} | {} | {} |",
                    r.label,
                    r.connect.ready,
                    r.config.subscribers,
                    f(r.connect.secs, 2),
                    before,
                    idle,
                    per,
                    cpu
                );
            }
        }
        let notes: Vec<String> = runs
            .iter()
            .flat_map(|r| r.notes.iter().map(move |n| format!("- {}: {n}", r.label)))
            .collect();
        if !notes.is_empty() {
            let _ = writeln!(md, "\nNotes from the runs:\n\n{}", notes.join("\n"));
        }
        md.push('\n');
    }
    if let Some(link) = svg_link {
        let _ = writeln!(
            md,
            "![p99 latency, deliveries per second and memory per stream, per peer and scenario]({link})\n"
        );
    }
    md
}

const COLORS: &[&str] = &[
    "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666",
];

/// An SVG chart's opening: the `<svg>` element, a white background and the
/// peers' colour legend along the top, `spacing` pixels apart.
fn svg_open(w: f64, h: f64, peers: &[String], spacing: f64) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif">"#
    );
    let _ = writeln!(s, "<rect width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>");
    for (i, p) in peers.iter().enumerate() {
        let x = 20.0 + i as f64 * spacing;
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="12" width="14" height="14" fill="{}"/><text x="{}" y="24" font-size="12">{}</text>"#,
            COLORS[i % COLORS.len()],
            x + 20.0,
            esc(p)
        );
    }
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn short(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// One panel: bars per peer, grouped by scenario. `marks` are reference
/// values per group (drawn as a dashed line: what was asked).
struct Panel<'a> {
    title: &'a str,
    groups: Vec<String>,
    /// `values[group][peer]`.
    values: Vec<Vec<Option<f64>>>,
    marks: Vec<Option<f64>>,
    /// What each bar's label says, when not its value (same shape as
    /// `values`).
    labels: Option<Vec<Vec<Option<f64>>>>,
    log: bool,
}

fn draw_panel(svg: &mut String, p: &Panel, peers: &[String], x0: f64, y0: f64, w: f64, h: f64) {
    let _ = writeln!(
        svg,
        r#"<text x="{x0}" y="{}" font-size="14" font-weight="bold">{}</text>"#,
        y0 + 14.0,
        esc(p.title)
    );
    let (top, bottom) = (y0 + 30.0, y0 + h - 30.0);
    let max = p
        .values
        .iter()
        .flatten()
        .flatten()
        .chain(p.marks.iter().flatten())
        .fold(0.0f64, |a, &b| a.max(b));
    if p.groups.is_empty() || max <= 0.0 {
        let _ = writeln!(
            svg,
            "<text x=\"{x0}\" y=\"{}\" font-size=\"12\" fill=\"#666\">no data</text>",
            top + 20.0
        );
        return;
    }
    let min_log = p
        .values
        .iter()
        .flatten()
        .flatten()
        .filter(|v| **v > 0.0)
        .fold(max, |a, &b| a.min(b))
        .log10()
        .floor();
    let max_log = max.log10().ceil().max(min_log + 1.0);
    let scale = |v: f64| -> f64 {
        let frac = if p.log {
            if v <= 0.0 {
                0.0
            } else {
                ((v.log10() - min_log) / (max_log - min_log)).clamp(0.0, 1.0)
            }
        } else {
            v / (max * 1.1)
        };
        bottom - frac * (bottom - top)
    };
    let _ = writeln!(
        svg,
        "<line x1=\"{x0}\" y1=\"{bottom}\" x2=\"{}\" y2=\"{bottom}\" stroke=\"#333\"/>",
        x0 + w
    );
    if p.log {
        let mut e = min_log;
        while e <= max_log {
            let y = scale(10f64.powf(e));
            let _ = writeln!(
                svg,
                "<line x1=\"{x0}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" font-size=\"10\" fill=\"#666\" text-anchor=\"end\">{}</text>",
                x0 + w,
                x0 + w,
                y - 2.0,
                short(10f64.powf(e))
            );
            e += 1.0;
        }
    }
    let group_w = w / p.groups.len() as f64;
    let bar_w = ((group_w - 20.0) / peers.len().max(1) as f64).min(40.0);
    for (g, name) in p.groups.iter().enumerate() {
        let gx = x0 + g as f64 * group_w;
        let bars_w = bar_w * peers.len() as f64;
        let bx0 = gx + (group_w - bars_w) / 2.0;
        for (i, v) in p.values[g].iter().enumerate() {
            let Some(v) = *v else { continue };
            let y = scale(v);
            let x = bx0 + i as f64 * bar_w;
            let _ = writeln!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}: {}</title></rect>"#,
                bar_w - 2.0,
                (bottom - y).max(0.5),
                COLORS[i % COLORS.len()],
                esc(&peers[i]),
                short(v)
            );
            let label = p
                .labels
                .as_ref()
                .and_then(|l| l[g][i])
                .map_or_else(|| short(v), short);
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" font-size="9" text-anchor="middle">{}</text>"#,
                x + (bar_w - 2.0) / 2.0,
                y - 3.0,
                label
            );
        }
        if let Some(m) = p.marks.get(g).copied().flatten() {
            let y = scale(m);
            let _ = writeln!(
                svg,
                "<line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#000\" stroke-dasharray=\"4 3\"><title>asked: {}</title></line>",
                bx0 - 4.0,
                bx0 + bars_w + 4.0,
                short(m)
            );
        }
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">{}</text>"#,
            gx + group_w / 2.0,
            bottom + 16.0,
            esc(name)
        );
    }
}

/// The SVG chart.
pub fn svg(groups: &[(String, Vec<RunResult>)]) -> String {
    let mut peers: Vec<String> = Vec::new();
    for (_, runs) in groups {
        for r in runs {
            if !peers.contains(&r.label) {
                peers.push(r.label.clone());
            }
        }
    }
    peers.sort_by_key(|p| rank(PEER_ORDER, p));
    let value = |runs: &[RunResult], f: &dyn Fn(&RunResult) -> Option<f64>| -> Vec<Option<f64>> {
        peers
            .iter()
            .map(|p| runs.iter().find(|r| &r.label == p).and_then(f))
            .collect()
    };
    let msg: Vec<&(String, Vec<RunResult>)> = groups
        .iter()
        .filter(|(_, runs)| runs[0].config.messages > 0)
        .collect();
    let latency = Panel {
        title: "p99 delivery latency, ms (log scale; lower is better)",
        groups: msg.iter().map(|(s, _)| s.clone()).collect(),
        values: msg
            .iter()
            .map(|(_, runs)| value(runs, &|r| Some(r.delivery.latency_ms.p99)))
            .collect(),
        marks: vec![],
        labels: None,
        log: true,
    };
    let rate = Panel {
        title: "deliveries per second achieved, % of asked (labels: deliveries/s; dashed: 100%)",
        groups: latency.groups.clone(),
        values: msg
            .iter()
            .map(|(_, runs)| {
                value(runs, &|r| {
                    let asked = r.delivery.asked_per_sec;
                    (asked > 0.0).then(|| r.delivery.achieved_per_sec * 100.0 / asked)
                })
            })
            .collect(),
        marks: msg.iter().map(|_| Some(100.0)).collect(),
        labels: Some(
            msg.iter()
                .map(|(_, runs)| value(runs, &|r| Some(r.delivery.achieved_per_sec)))
                .collect(),
        ),
        log: false,
    };
    let held: Vec<&(String, Vec<RunResult>)> =
        groups.iter().filter(|(s, _)| !is_connect(s)).collect();
    let memory = Panel {
        title: "server memory per open stream, KB (lower is better)",
        groups: held.iter().map(|(s, _)| s.clone()).collect(),
        values: held
            .iter()
            .map(|(_, runs)| value(runs, &|r| r.server.as_ref()?.kb_per_stream))
            .collect(),
        marks: vec![],
        labels: None,
        log: false,
    };
    let (w, panel_h) = (960.0, 280.0);
    let legend_h = 40.0;
    let h = legend_h + 3.0 * panel_h;
    let mut s = svg_open(w, h, &peers, 170.0);
    for (i, p) in [latency, rate, memory].iter().enumerate() {
        draw_panel(
            &mut s,
            p,
            &peers,
            20.0,
            legend_h + i as f64 * panel_h,
            w - 60.0,
            panel_h,
        );
    }
    s.push_str("</svg>\n");
    s
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text).with_context(|| format!("write {}", path.display()))
}

pub fn main(args: ReportArgs) -> Result<()> {
    let (runs, storms) = read_inputs(&args.inputs)?;
    if runs.is_empty() && storms.is_empty() {
        anyhow::bail!("no result files found");
    }
    let groups = group(runs);
    let storms = group_storms(storms);
    let link = args
        .svg_link
        .clone()
        .or_else(|| args.svg.as_ref().map(|p| p.display().to_string()));
    let storm_link = args
        .storm_svg_link
        .clone()
        .or_else(|| args.storm_svg.as_ref().map(|p| p.display().to_string()));
    let has_bursts = !storms.is_empty() || groups.iter().any(|(s, _)| is_connect(s));
    let mut md = markdown(&groups, link.as_deref());
    md.push_str(&storm_markdown(&storms));
    if let Some(link) = storm_link.filter(|_| has_bursts) {
        let _ = writeln!(
            md,
            "![Time until every subscriber streams (connect) or has every missed message (storm), and the server's CPU over it, per peer]({link})\n"
        );
    }
    if let Some(path) = &args.svg {
        write(path, &svg(&groups))?;
    }
    if let Some(path) = args.storm_svg.as_ref().filter(|_| has_bursts) {
        write(path, &storm_svg(&groups, &storms))?;
    }
    if let Some(path) = &args.markdown {
        write(path, &md)?;
    }
    print!("{md}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procstat::Machine;
    use crate::publish::Mode;
    use crate::results::{Config, Connect, Delivery, Generator, Latency, Publish, Server};

    fn result(label: &str, scenario: &str, messages: u64, p99: f64) -> RunResult {
        let latency = Latency {
            count: 10,
            p50: 1.0,
            p90: 2.0,
            p99,
            max: p99,
            mean: 1.0,
        };
        RunResult {
            format: crate::results::FORMAT,
            label: label.into(),
            scenario: scenario.into(),
            started_unix: 1,
            machine: Machine::default(),
            config: Config {
                mode: Mode::Hearth,
                subscribers: 100,
                messages,
                rate: 10.0,
                publishers: 1,
                size: 64,
                rooms: 1,
                sub_sessions: 1,
                connect_batch: 500,
                sub_urls: vec![],
                pub_urls: vec![],
                idle_secs: 5.0,
                drain_secs: 10.0,
                threads: 1,
            },
            connect: Connect {
                secs: 0.5,
                ready: 100,
                failed: 0,
                first_error: None,
                per_subscriber_ms: None,
                kernel: None,
            },
            publish: Publish {
                attempted: messages,
                ok: messages,
                failed: 0,
                failed_by_status: BTreeMap::new(),
                first_error: None,
                secs: 1.9,
                asked_rate: 10.0,
                achieved_rate: 10.0,
                post_ms: latency,
                max_lag_ms: 0.1,
            },
            delivery: Delivery {
                expected: 100 * messages,
                received: 100 * messages,
                lost: 0,
                duplicates: 0,
                foreign: 0,
                streams_ended_early: 0,
                first_stream_error: None,
                asked_per_sec: 1000.0,
                achieved_per_sec: 990.0,
                latency_ms: latency,
                drain_secs: 0.1,
            },
            server: Some(Server {
                processes: vec!["1:hearth".into()],
                memory: "PSS".into(),
                mem_kb_before: 8192,
                mem_kb_streams_open: 9216,
                mem_kb_idle: Some(9216),
                mem_kb_after: 9216,
                kb_per_stream: Some(10.24),
                cpu_secs_connect: 0.01,
                cpu_secs_posting: 0.04,
                cpu_us_per_delivery: Some(20.0),
                cpu_share_posting: 0.02,
            }),
            generator: Generator {
                cpu_secs_total: 0.1,
                cpu_secs_posting: 0.05,
                cpu_share_posting: 0.02,
                rss_kb: 5000,
            },
            kernel: None,
            notes: vec![],
        }
    }

    #[test]
    fn tables_and_chart_have_a_row_and_a_bar_per_peer() {
        let mut newer = result("nchan", "room-1k", 20, 9.0);
        newer.started_unix = 2;
        let runs = vec![
            result("flask", "room-1k", 20, 50.0),
            result("nchan", "room-1k", 20, 1.0),
            newer,
            result("hearth-embedded", "room-1k", 20, 3.0),
            result("hearth-embedded", "idle-10k", 0, 0.0),
            result("hearth-embedded", "connect-1k", 0, 0.0),
        ];
        let groups = group(runs);
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[0].0, "room-1k");
        let peers: Vec<&str> = groups[0].1.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(peers, ["hearth-embedded", "nchan", "flask"]);
        // The later nchan run replaced the earlier one.
        assert_eq!(groups[0].1[1].delivery.latency_ms.p99, 9.0);

        let md = markdown(&groups, Some("bench.svg"));
        assert!(md.contains("### room-1k"));
        assert!(md.contains("| hearth-embedded | 100/100 | 0 | 0 | 1.0 | 2.0 | 3.0 |"));
        assert!(md.contains("### idle-10k"));
        assert!(md.contains("| hearth-embedded | 100/100 | 0.50 | 8 | 9 | 10.2 | 0.01 |"));
        assert!(md.contains("![p99 latency"));
        assert!(md.contains("### connect-1k"));
        assert!(md.contains("| hearth-embedded | 100/100 | 0.50 | – | – | – | – | 0.01 | 100 |"));

        let storm: StormResult = serde_json::from_value(serde_json::json!({
            "kind": "storm", "label": "nchan", "scenario": "storm-10k", "started_unix": 1,
            "machine": Machine::default(), "mode": "raw", "subscribers": 10, "before": 1,
            "missed": 20, "restarted": false, "primed": 10, "streaming_secs": 0.5,
            "caught_up_secs": 0.75, "caught_up": 10,
            "per_subscriber_streaming_ms": Latency::default(),
            "per_subscriber_caught_up_ms": Latency::default(), "retries": 0, "lost": 0,
            "duplicates": 0, "posts_failed": 0, "server_cpu_secs": 0.25,
            "server_cpu_share": 0.5, "server_processes": [], "kernel": null,
            "first_error": null, "notes": []
        }))
        .unwrap();
        let md = storm_markdown(std::slice::from_ref(&storm));
        assert!(
            md.contains("| storm-10k | nchan | 10/10 | 20 | no | 0.50 | 0.75 |"),
            "{md}"
        );
        let chart = storm_svg(&groups, &[storm]);
        // Bars: connect-1k (hearth) and storm-10k (nchan), time and CPU.
        assert_eq!(chart.matches("<rect x=").count(), 2 + 2 + 2);

        let svg = svg(&groups);
        assert!(svg.starts_with("<svg"));
        assert!(!svg.contains("connect-"));
        assert!(svg.trim_end().ends_with("</svg>"));
        // Three latency bars, three rate bars, one memory bar per peer run.
        assert_eq!(svg.matches("<rect x=").count(), 3 + 3 + 3 + 1 + 3);
    }
}
