//! `load-tester`: validate scenario files and run them headless, with exit codes CI can act on.
//!
//! Exit codes: 0 every threshold passed; 1 a threshold failed; 2 invalid input or usage;
//! 3 aborted (error budget) or stopped by a signal; 4 the run could not start or finish.

mod args;
mod exit;
mod progress;
mod run;
mod summary;
mod validate;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::INVALID
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    init_tracing(cli.verbose);
    let code = match cli.command {
        Command::Validate(args) => validate::main(&args),
        Command::Run(args) => run::main(args),
    };
    ExitCode::from(code)
}

/// Logs go to stderr through `tracing`; set up before Goose would install its own logger, so
/// Goose's `log` lines come through here too (its per-failure warnings are kept quiet).
fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn,goose=error",
        1 => "info,goose=warn",
        _ => "debug,goose=info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
