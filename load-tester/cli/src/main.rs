//! `load-tester`: validate scenario files and run them headless, with exit codes CI can act on.
//!
//! Exit codes: 0 every threshold passed; 1 a threshold failed; 2 invalid input or usage;
//! 3 aborted (error budget) or stopped by a signal; 4 the run could not start or finish.

mod accuracy;
mod args;
mod bundled;
mod exit;
mod generator;
mod generator_dial;
mod k8s;
mod lab;
mod progress;
mod run;
mod runtime;
mod series_file;
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
    let command = cli.command.unwrap_or(Command::Serve(ServeArgs::default()));
    // The server also logs to a rotated file, and the bundled targets log to theirs (the
    // server sends their stderr there): they set up their own logging.
    match &command {
        Command::Serve(_) => {}
        Command::Targets(_) => init_target_logs(),
        _ => init_tracing(cli.verbose),
    }
    let code = match command {
        Command::Validate(args) => validate::main(&args),
        Command::Run(args) => run::main(args),
        Command::Worker(args) if args.connect.is_some() => generator::main(args),
        Command::Worker(args) => worker::main(args),
        Command::Serve(args) => serve::main(args, cli.verbose),
        Command::Targets(args) => lab::main(args),
        Command::K8s(args) => k8s::main(&args),
        Command::Openapi => openapi(),
    };
    ExitCode::from(code)
}

/// `load-tester openapi`: the API's OpenAPI document on stdout, as committed in
/// `docs/openapi.json` (the panel's TypeScript types are generated from it).
fn openapi() -> u8 {
    match serde_json::to_string_pretty(lt_server::api::openapi_document()) {
        Ok(text) => {
            println!("{text}");
            exit::OK
        }
        Err(e) => {
            eprintln!("error: writing the OpenAPI document: {e}");
            exit::FAILED
        }
    }
}

/// Logs go to stderr through `tracing`; set up before Goose would install its own logger, so
/// Goose's `log` lines come through here too (its per-failure warnings are kept quiet).
fn init_tracing(verbose: u8) {
    // TLS and connection errors are the run's classified failures (the summary groups them);
    // the libraries' own log lines about them only come back with -v.
    let default = match verbose {
        0 => "warn,goose=error,rustls=off,hyper_util=off,reqwest=off",
        1 => "info,goose=warn",
        _ => "debug,goose=info",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(log_filter(default))
        .with_ansi(colour_on_stderr())
        .with_writer(std::io::stderr)
        .try_init();
}

/// Colour in log lines only on a terminal, and never with `NO_COLOR` set.
pub(crate) fn colour_on_stderr() -> bool {
    use std::io::IsTerminal as _;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The bundled targets' logs: every request's warnings and the services' info lines, plain
/// text (they go to a file).
fn init_target_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(log_filter("info,sqlx=warn,tower_http=warn"))
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .try_init();
}

/// `LT_LOG` when set, else `default`.
pub(crate) fn log_filter(default: &str) -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_env("LT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default))
}
