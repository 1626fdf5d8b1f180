//! `load-tester serve` (and `load-tester` alone): the control server on 127.0.0.1:8080, with the
//! bundled target services beside it unless told otherwise.

use std::path::Path;

use anyhow::Context;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::args::ServeArgs;
use crate::exit;

pub fn main(args: ServeArgs, verbose: u8) -> u8 {
    let flags = lt_server::Flags {
        bind: args.bind.clone(),
        data_dir: args.data_dir.clone(),
        scenarios_dir: args.scenarios_dir.clone(),
        bundled_targets: args.no_targets.then_some(false),
    };
    let settings = match lt_server::Settings::load(args.config.as_deref(), &flags) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID;
        }
    };
    let _log_guard = match init_logging(verbose, &settings.log_dir(), settings.log_files) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("error: log_dir: {e:#}");
            return exit::INVALID;
        }
    };
    crate::runtime::block_on(async move {
        match serve(settings, args.new_token).await {
            Ok(()) => exit::OK,
            Err(e) => {
                eprintln!("error: {e:#}");
                exit::FAILED
            }
        }
    })
}

async fn serve(settings: lt_server::Settings, renew_token: bool) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("finding this executable")?;
    let lab = if settings.bundled_targets {
        let spec = crate::bundled::Spec {
            exe: exe.clone(),
            data_dir: settings.data_dir.join("targets"),
            host: settings.bind.ip(),
            ports: [
                ("ec", settings.ec_port),
                ("distributed", settings.distributed_port),
                ("todo", settings.todo_port),
                ("chaos", settings.chaos_port),
            ]
            .into_iter()
            .collect(),
            log_file: settings.log_dir().join("targets.log"),
        };
        eprintln!(
            "load-tester: starting the bundled targets in their own process (first start seeds the database; log: {})…",
            spec.log_file.display()
        );
        let lab = crate::bundled::BundledTargets::start(spec)
            .await
            .context("starting the bundled targets (turn them off with --no-targets or LT_BUNDLED_TARGETS=false)")?;
        Some(lab)
    } else {
        None
    };
    let extra_allowed = lab
        .iter()
        .flat_map(|l| l.addrs.values().map(ToString::to_string))
        .collect();
    // Their URLs as the scenarios' `{{ env.EC_URL }}`-style templates read them (a wildcard
    // bind address is reached on loopback).
    let bundled_urls = lab
        .iter()
        .flat_map(|l| l.addrs.iter())
        .map(|(name, addr)| {
            let mut addr = *addr;
            if addr.ip().is_unspecified() {
                addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            (name.to_string(), format!("http://{addr}"))
        })
        .collect();
    let options = lt_server::StartOptions {
        worker_exe: exe,
        renew_token,
        extra_allowed,
        bundled_urls,
    };
    if let Some(lab) = &lab {
        let list: Vec<String> = lab
            .addrs
            .iter()
            .map(|(name, addr)| format!("{name} http://{addr}"))
            .collect();
        eprintln!("load-tester: bundled targets: {}", list.join(", "));
    }
    let started = lt_server::start(settings, options).await?;
    eprintln!("load-tester: control server on http://{}/", started.addr);
    match &started.token {
        lt_server::TokenOrigin::Generated(token) => eprintln!(
            "load-tester: API token (shown only now; stored hashed): {token}\n             use it as `Authorization: Bearer <token>`; `--new-token` makes another"
        ),
        lt_server::TokenOrigin::Stored => eprintln!(
            "load-tester: API token: the one printed on first start (stored hashed); `--new-token` makes another"
        ),
        lt_server::TokenOrigin::Configured => {
            eprintln!("load-tester: API token: from the settings (LT_API_TOKEN)")
        }
    }
    let r = started.recovered;
    if r.reattached + r.interrupted > 0 {
        eprintln!(
            "load-tester: sessions from the previous run: {} re-attached, {} interrupted",
            r.reattached, r.interrupted
        );
    }
    let served = started.serve(shutdown_signal()).await;
    if let Some(lab) = lab {
        lab.shutdown().await;
    }
    served?;
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = crate::runtime::sigterm() => {}
    }
    eprintln!("load-tester: shutting down; stopping sessions…");
}

/// Logs to stderr and to a daily-rotated file in `dir`, keeping `files` of them.
fn init_logging(
    verbose: u8,
    dir: &Path,
    files: usize,
) -> anyhow::Result<tracing_appender::non_blocking::WorkerGuard> {
    let default = match verbose {
        0 => "info,tower_http=warn,sqlx=warn",
        1 => "debug,hyper=info,sqlx=info",
        _ => "trace",
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("server")
        .filename_suffix("log")
        .max_log_files(files.max(1))
        .build(dir)
        .with_context(|| format!("opening a log file in {}", dir.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(crate::colour_on_stderr())
                .with_writer(std::io::stderr)
                .with_filter(crate::log_filter(default)),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(writer)
                .with_filter(crate::log_filter(default)),
        )
        .try_init();
    Ok(guard)
}
