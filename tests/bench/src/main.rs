//! `lt-bench`: benchmarks that print figures about the load tester, never assert them.
//!
//! `throughput` measures the throughput ceiling of `load-tester run` against a trivial target,
//! next to `wrk` and a bare Goose program; `memory` the memory per virtual user; `soak` the
//! memory over a long run; `accuracy` the arrival rate and reported latency against what the
//! target saw; `control` the control plane (through `control_plane.py`); `all` every one of
//! them as one document. The hidden subcommands `target` and `goose-bare` are the processes it
//! starts itself.

mod accuracy;
mod all;
mod control;
mod generators;
mod goose_bare;
mod lt_run;
mod machine;
mod memory;
mod os;
mod scale_out;
mod service;
mod soak;
mod stall;
mod stall_accuracy;
mod table;
mod target;
mod targets;
mod throughput;
mod wrk;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Benchmarks of the load tester: figures measured as ratios against peers in the same run.
#[derive(Debug, Parser)]
#[command(name = "lt-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Requests per second at a trivial target: wrk, bare Goose and load-tester, interleaved.
    Throughput(throughput::ThroughputArgs),
    /// Memory per user at 1, 1,000 and 10,000 users, and the time to the first request.
    Memory(memory::MemoryArgs),
    /// Memory over a long run at moderate load: samples and slope after warm-up.
    Soak(soak::SoakArgs),
    /// Achieved arrival rate vs asked, and reported latency vs the target's service time.
    Accuracy(accuracy::AccuracyArgs),
    /// Control-plane figures from tests/bench/control_plane.py with 1 and 10 sessions.
    Control(control::ControlArgs),
    /// One session on 1, 2 and 4 local generators: coordinator CPU per merged tick, exactness.
    ScaleOut(scale_out::ScaleOutArgs),
    /// Every benchmark as one markdown document, with the figures against the promises.
    All(all::AllArgs),
    /// The trivial target (started by the benchmarks): prints its port, counts `GET /`.
    #[command(hide = true)]
    Target {
        /// Port on 127.0.0.1; 0 picks a free one.
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// A bare Goose load test of `GET /` (started by `throughput`).
    #[command(hide = true)]
    GooseBare(goose_bare::GooseBareArgs),
}

fn main() -> Result<()> {
    match Cli::parse().command {
        BenchCommand::Throughput(args) => throughput::run(&args),
        BenchCommand::Memory(args) => memory::run(&args),
        BenchCommand::Soak(args) => soak::run(&args),
        BenchCommand::Accuracy(args) => accuracy::run(&args),
        BenchCommand::Control(args) => control::run(&args),
        BenchCommand::ScaleOut(args) => scale_out::run(&args),
        BenchCommand::All(args) => all::run(&args),
        BenchCommand::Target { port } => target::serve(port),
        BenchCommand::GooseBare(args) => goose_bare::run(&args),
    }
}
