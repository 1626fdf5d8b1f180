//! `lt-bench`: benchmarks that print figures about the load tester, never assert them.
//!
//! `lt-bench throughput` measures the throughput ceiling of `load-tester run` against a trivial
//! target, next to `wrk` and a bare Goose program at the same concurrency on the same machine.
//! The hidden subcommands `target` and `goose-bare` are the processes it starts itself.

mod generators;
mod goose_bare;
mod machine;
mod os;
mod table;
mod target;
mod throughput;

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
    /// The trivial target (started by `throughput`): prints its port, counts `GET /`.
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
        BenchCommand::Target { port } => target::serve(port),
        BenchCommand::GooseBare(args) => goose_bare::run(&args),
    }
}
