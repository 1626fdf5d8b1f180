//! `targets`: runs the EC app, the distributed service, the Todo API, the chaos service, or all
//! of them.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use targets::chaos::{ChaosConfig, ChaosState};
use targets::db::seed::DEFAULT_SCALE;
use targets::ec::{ClientConfig, DistributedClient, EcState};
use targets::telemetry::{self, LogFormat, TelemetryConfig};
use targets::{Lab, LabConfig, Service, distributed, todo};
use tokio::sync::watch;

/// Target services for the load tester.
#[derive(Debug, Parser)]
#[command(name = "targets", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The EC app (default port 5001).
    Ec {
        #[command(flatten)]
        common: Common,
        /// Port to listen on.
        #[arg(long, default_value_t = 5001)]
        port: u16,
        /// Base URL of the distributed service.
        #[arg(
            long,
            env = "DISTRIBUTED_SERVICE_URL",
            default_value = "http://127.0.0.1:5002"
        )]
        distributed_url: String,
    },
    /// The distributed service (default port 5002).
    Distributed {
        #[command(flatten)]
        common: Common,
        /// Port to listen on.
        #[arg(long, default_value_t = 5002)]
        port: u16,
    },
    /// The Todo API (default port 8000).
    Todo {
        #[command(flatten)]
        common: Common,
        /// Port to listen on.
        #[arg(long, default_value_t = 8000)]
        port: u16,
    },
    /// The chaos service (default port 8001): Redis (or an embedded store) and faults on demand.
    Chaos {
        /// Address to bind.
        #[arg(long, default_value = "127.0.0.1")]
        bind: IpAddr,
        /// Port to listen on.
        #[arg(long, default_value_t = 8001)]
        port: u16,
        #[command(flatten)]
        redis: RedisArgs,
        /// Log format.
        #[arg(long, value_enum, default_value_t = LogFormat::Text)]
        log_format: LogFormat,
    },
    /// Every service in one process (ec, distributed and todo on one database, and chaos).
    All {
        #[command(flatten)]
        common: Common,
        /// Port of the EC app.
        #[arg(long, default_value_t = 5001)]
        ec_port: u16,
        /// Port of the distributed service.
        #[arg(long, default_value_t = 5002)]
        distributed_port: u16,
        /// Port of the Todo API.
        #[arg(long, default_value_t = 8000)]
        todo_port: u16,
        /// Port of the chaos service.
        #[arg(long, default_value_t = 8001)]
        chaos_port: u16,
        #[command(flatten)]
        redis: RedisArgs,
    },
}

#[derive(Debug, Args)]
struct RedisArgs {
    /// Redis of the chaos service (`redis://[user:password@]host[:port][/db]`); default: an
    /// embedded in-process store.
    #[arg(long, env = "REDIS_URL")]
    redis_url: Option<String>,
}

#[derive(Debug, Args)]
struct Common {
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// `sqlite://FILE` or `postgres://USER@HOST/DB`; default: an SQLite file in --data-dir.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Directory of the default SQLite database (created and seeded on first start).
    #[arg(long, default_value = "./data")]
    data_dir: PathBuf,
    /// Seed size on first start (1 unit = 200 users, 500 products, 5,000 orders, 100 todos).
    #[arg(long, default_value_t = DEFAULT_SCALE, value_parser = clap::value_parser!(u32).range(1..=1000))]
    scale: u32,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

impl Common {
    fn database_url(&self) -> String {
        LabConfig {
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            ..LabConfig::default()
        }
        .resolved_database_url()
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let (services, log_format) = match &cli.command {
        Command::Ec { common, .. } => (vec![Service::Ec], common.log_format),
        Command::Distributed { common, .. } => (vec![Service::Distributed], common.log_format),
        Command::Todo { common, .. } => (vec![Service::Todo], common.log_format),
        Command::Chaos { log_format, .. } => (vec![Service::Chaos], *log_format),
        Command::All { common, .. } => (
            vec![
                Service::Ec,
                Service::Distributed,
                Service::Todo,
                Service::Chaos,
            ],
            common.log_format,
        ),
    };
    let telemetry = telemetry::init(&TelemetryConfig::from_env(services, log_format))
        .context("cannot set up logs, traces and metrics")?;
    let result = serve(cli.command).await;
    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .context("flushing telemetry")?;
    result
}

async fn serve(command: Command) -> anyhow::Result<()> {
    match command {
        Command::All {
            common,
            ec_port,
            distributed_port,
            todo_port,
            chaos_port,
            redis,
        } => {
            let lab = Lab::start(LabConfig {
                data_dir: common.data_dir.clone(),
                ec_addr: SocketAddr::new(common.bind, ec_port),
                distributed_addr: SocketAddr::new(common.bind, distributed_port),
                todo_addr: SocketAddr::new(common.bind, todo_port),
                scale: common.scale,
                database_url: common.database_url.clone(),
                chaos_addr: SocketAddr::new(common.bind, chaos_port),
                redis_url: redis.redis_url,
            })
            .await
            .context("cannot start the lab")?;
            tracing::info!(ec = %lab.ec_url(), distributed = %lab.distributed_url(), todo = %lab.todo_url(), chaos = %lab.chaos_url(), "serving; Ctrl-C stops");
            shutdown_signal().await;
            lab.shutdown().await.context("stopping the lab")?;
        }
        Command::Ec {
            common,
            port,
            distributed_url,
        } => {
            let client = DistributedClient::new(ClientConfig::new(distributed_url))?;
            let addr = SocketAddr::new(common.bind, port);
            let listener = targets::bind(addr).await?;
            let db = targets::open_database(&common.database_url(), common.scale).await?;
            tracing::info!(%addr, distributed = client.base_url(), "ec serving; Ctrl-C stops");
            run_until_signal(listener, targets::ec::app(EcState::new(db.clone(), client))).await?;
            db.close().await;
        }
        Command::Todo { common, port } => {
            let addr = SocketAddr::new(common.bind, port);
            let listener = targets::bind(addr).await?;
            let db = targets::open_database(&common.database_url(), common.scale).await?;
            tracing::info!(target: "targets::todo", %addr, backend = db.backend().name(), "todo-api serving; docs at /docs; Ctrl-C stops");
            run_until_signal(listener, todo::app(todo::TodoState::new(db.clone()))).await?;
            db.close().await;
        }
        Command::Chaos {
            bind,
            port,
            redis,
            log_format: _,
        } => {
            let addr = SocketAddr::new(bind, port);
            let listener = targets::bind(addr).await?;
            let state = ChaosState::new(&ChaosConfig {
                redis_url: redis.redis_url,
                ..ChaosConfig::default()
            })?;
            state.check().await;
            tracing::info!(%addr, store = state.store().kind().name(), "chaos serving; Ctrl-C stops");
            let faults = state.faults().clone();
            let (stop, _) = watch::channel(false);
            let task = targets::spawn_server(listener, targets::chaos::app(state), &stop);
            shutdown_signal().await;
            // Release requests held by a hang, so the graceful stop does not wait for it.
            faults.stop_all();
            let _ = stop.send(true);
            task.await.context("server task")?.context("server")?;
        }
        Command::Distributed { common, port } => {
            let addr = SocketAddr::new(common.bind, port);
            let listener = targets::bind(addr).await?;
            let db = targets::open_database(&common.database_url(), common.scale).await?;
            tracing::info!(%addr, "distributed serving; Ctrl-C stops");
            run_until_signal(
                listener,
                distributed::app(distributed::DistributedState::new(db.clone())),
            )
            .await?;
            db.close().await;
        }
    }
    Ok(())
}

async fn run_until_signal(
    listener: tokio::net::TcpListener,
    router: axum::Router,
) -> anyhow::Result<()> {
    let (stop, _) = watch::channel(false);
    let task = targets::spawn_server(listener, router, &stop);
    shutdown_signal().await;
    let _ = stop.send(true);
    task.await.context("server task")?.context("server")?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down");
}
