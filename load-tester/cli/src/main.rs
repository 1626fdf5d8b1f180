//! `load-tester`: validate scenario files and run them headless, with exit codes CI can act on.
//!
//! Exit codes: 0 every threshold passed; 1 a threshold failed; 2 invalid input or usage;
//! 3 aborted (error budget) or stopped by a signal; 4 the run could not start or finish.

mod args;
mod exit;
mod progress;
mod run;
mod serve;
mod summary;
mod validate;
mod worker;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command, ServeArgs};

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
    let code = match cli.command {
        Some(Command::Validate(args)) => {
            init_tracing(cli.verbose);
            validate::main(&args)
        }
        Some(Command::Run(args)) => {
            init_tracing(cli.verbose);
            run::main(args)
        }
        Some(Command::Worker(args)) => {
            init_tracing(cli.verbose);
            worker::main(args)
        }
        Some(Command::Serve(args)) => serve::main(args, cli.verbose),
        None => serve::main(ServeArgs::default(), cli.verbose),
    };
    ExitCode::from(code)
}

/// Logs go to stderr through `tracing`; set up before Goose would install its own logger, so
/// Goose's `log` lines come through here too (its per-failure warnings are kept quiet).
pub(crate) fn init_tracing(verbose: u8) {
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
