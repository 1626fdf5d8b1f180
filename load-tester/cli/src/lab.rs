//! `load-tester targets` (hidden): the bundled target services in a process of their own, as
//! the control server starts them (see `bundled.rs`). A saturated or CPU-burning target then
//! shares the machine with the control plane, never its runtime.
//!
//! Protocol with the parent: one line on stdout once every listener is bound,
//! `{"ready":{"ec":"127.0.0.1:5001",…}}`; logs on stderr (the parent sends them to a file);
//! the parent holds our stdin open, and its end (the parent exited, even by SIGKILL) stops us.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;

use anyhow::Context as _;

use crate::args::TargetsArgs;
use crate::exit;

pub fn main(args: TargetsArgs) -> u8 {
    crate::runtime::block_on(async move {
        match serve(args).await {
            Ok(()) => exit::OK,
            Err(e) => {
                eprintln!("error: {e:#}");
                exit::FAILED
            }
        }
    })
}

async fn serve(args: TargetsArgs) -> anyhow::Result<()> {
    let config = targets::LabConfig {
        data_dir: args.data_dir.clone(),
        ec_addr: SocketAddr::new(args.host, args.ec_port),
        distributed_addr: SocketAddr::new(args.host, args.distributed_port),
        todo_addr: SocketAddr::new(args.host, args.todo_port),
        chaos_addr: SocketAddr::new(args.host, args.chaos_port),
        ..targets::LabConfig::default()
    };
    let lab = targets::Lab::start(config)
        .await
        .context("starting the bundled targets")?;
    let ready: BTreeMap<&str, SocketAddr> = [
        ("ec", lab.ec_addr()),
        ("distributed", lab.distributed_addr()),
        ("todo", lab.todo_addr()),
        ("chaos", lab.chaos_addr()),
    ]
    .into_iter()
    .collect();
    let line = serde_json::json!({ "ready": ready }).to_string();
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}").and_then(|()| out.flush())?;
    }
    tracing::info!(?ready, "bundled targets ready");
    tokio::select! {
        _ = parent_gone() => tracing::info!("the control server is gone; stopping"),
        _ = tokio::signal::ctrl_c() => {}
        _ = crate::runtime::sigterm() => {}
    }
    lab.shutdown()
        .await
        .context("stopping the bundled targets")?;
    Ok(())
}

/// Resolves when stdin ends: the parent closed it or exited.
async fn parent_gone() {
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = std::io::sink();
        std::io::copy(&mut std::io::stdin().lock(), &mut sink)
    })
    .await;
}
