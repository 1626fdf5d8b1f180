//! A bare Goose 0.19 load test, the peer our engine is compared with: one scenario with one
//! transaction (`GET /`), no wait time, Goose's defaults otherwise. Run as this binary's hidden
//! `goose-bare` subcommand, so it is measured as a process of its own like every generator.
//!
//! Settings given through `GooseDefault`, the equivalent of `--users N --hatch-rate N
//! --run-time T --quiet --no-reset-metrics`. Goose's telnet and WebSocket controllers are turned
//! off so a run never depends on their fixed ports being free; they serve nothing during a run.
//! By default every user builds its own client (Goose's default); `--shared-client` gives every
//! user one shared client without a cookie store
//! (`GooseAttack::set_client_builder_without_cookies`), as our engine does.

use anyhow::{Context, Result, anyhow};
use clap::Args;
use goose::client::GooseClientBuilder;
use goose::config::GooseConfiguration;
use goose::prelude::*;

/// The hidden `goose-bare` subcommand's arguments.
#[derive(Debug, Args)]
pub struct GooseBareArgs {
    /// Concurrent users (also the users launched per second).
    #[arg(long)]
    pub users: usize,
    /// Run time in seconds.
    #[arg(long)]
    pub seconds: usize,
    /// Base URL of the target.
    #[arg(long)]
    pub host: String,
    /// One client shared by every user, without cookies, instead of a client per user.
    #[arg(long)]
    pub shared_client: bool,
}

async fn get_root(user: &mut GooseUser) -> TransactionResult {
    let _response = user.get("/").await?;
    Ok(())
}

fn goose_error(e: GooseError) -> anyhow::Error {
    // GooseError's Display hides the detail of some variants; its Debug form keeps it.
    anyhow!("{e}: {e:?}")
}

/// Runs the attack to its end.
pub fn run(args: &GooseBareArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(attack(args))
}

async fn attack(args: &GooseBareArgs) -> Result<()> {
    // Goose's defaults without reading this process's command line (it is ours, not Goose's).
    let configuration = GooseConfiguration::parse_args_default::<&str>(&[]).map_err(goose_error)?;
    let mut attack = GooseAttack::initialize_with_config(configuration).map_err(goose_error)?;
    if args.shared_client {
        attack = attack
            .set_client_builder_without_cookies(GooseClientBuilder::new().without_cookies())
            .map_err(goose_error)?;
    }
    let increase_rate = args.users.to_string();
    attack
        .register_scenario(scenario!("bare").register_transaction(transaction!(get_root)))
        .set_default(GooseDefault::Host, args.host.as_str())
        .and_then(|a| a.set_default(GooseDefault::Users, args.users))
        .and_then(|a| a.set_default(GooseDefault::IncreaseRate, increase_rate.as_str()))
        .and_then(|a| a.set_default(GooseDefault::RunTime, args.seconds))
        .and_then(|a| a.set_default(GooseDefault::Quiet, 1))
        .and_then(|a| a.set_default(GooseDefault::NoResetMetrics, true))
        .and_then(|a| a.set_default(GooseDefault::NoTelnet, true))
        .and_then(|a| a.set_default(GooseDefault::NoWebSocket, true))
        .map_err(goose_error)?
        .execute()
        .await
        .map_err(goose_error)
        .context("the Goose attack failed")?;
    Ok(())
}
