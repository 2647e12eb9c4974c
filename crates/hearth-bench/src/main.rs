//! `hearth-bench`: a load generator for chat servers that stream rooms over
//! Server-Sent Events (Hearth, nginx + nchan, the original Flask room, any
//! SSE server), and the report that turns its results into tables and a
//! chart. This file owns the command line; `run` and `report` do the work.
//!
//! ```text
//! hearth-bench run --target http://127.0.0.1:8989 -n 1000 -m 200 -r 50 \
//!     --server-pid 1234 --label hearth-embedded --scenario room-1k --json out.json
//! hearth-bench report bench/results/2026-12-01 --svg docs/bench.svg
//! hearth-bench storm --target http://127.0.0.1:8989 -n 10000 --missed 20 \
//!     --server-pid 1234 --label hearth-embedded --json storm.json
//! hearth-bench files --target http://127.0.0.1:8989 -n 10 --size-mib 25 \
//!     --server-pid 1234 --label hearth-embedded --json files.json
//! ```

mod desktop;
mod files;
mod http;
mod netstat;
mod payload;
mod procstat;
mod publish;
mod report;
mod results;
mod run;
mod sse;
mod storm;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "hearth-bench",
    version,
    about = "Fan-out benchmark for SSE chat servers: latency, loss, server CPU and memory per stream"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Open N subscribers, post M messages at rate R, measure, print and
    /// write JSON.
    Run(Box<run::RunArgs>),
    /// Turn result files into markdown tables and an SVG chart.
    Report(report::ReportArgs),
    /// Files (protocol v1.1): N clients upload an S MiB file at once, then
    /// download it back (checked byte for byte), then one reads slowly,
    /// while the server's memory is sampled.
    Files(Box<files::FilesArgs>),
    /// A reconnect storm (issue 17): N subscribers stream a room, all
    /// connections are cut (and the server optionally restarted), messages
    /// are posted meanwhile, then all reconnect at once with Last-Event-ID.
    Storm(Box<storm::StormArgs>),
    /// The desktop app's memory: PSS of the app and its WebKit processes
    /// under Xvfb, with a room open.
    Desktop(Box<desktop::DesktopArgs>),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Run(args) => run::main(*args),
        Command::Report(args) => report::main(args),
        Command::Files(args) => files::main(*args),
        Command::Storm(args) => storm::main(*args),
        Command::Desktop(args) => desktop::main(*args),
    }
}
