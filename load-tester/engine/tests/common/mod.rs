//! What the engine's tests share (each file is one run: Goose allows one per process). Each
//! test file uses part of it.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use lt_engine::{Engine, EngineHandle, RunOptions};
use lt_protocol::{Tick, WorkerEvent};
use lt_testkit::{Fixture, Mode};
use tokio::sync::mpsc::UnboundedReceiver;

/// An engine for the scenario `yaml` (named `file` in diagnostics) whose events come out of the
/// receiver.
pub fn engine_with_events(
    file: &str,
    yaml: &str,
) -> (Engine, EngineHandle, UnboundedReceiver<WorkerEvent>) {
    let scenario = lt_scenario::parse(file, yaml).expect("valid scenario");
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let options = RunOptions {
        events: Some(tx),
        ..RunOptions::default()
    };
    let (engine, handle) = Engine::new(scenario, options).unwrap();
    (engine, handle, rx)
}

/// The ticks received so far, in order.
pub fn ticks(rx: &mut UnboundedReceiver<WorkerEvent>) -> Vec<Tick> {
    std::iter::from_fn(|| rx.try_recv().ok())
        .filter_map(|e| match e {
            WorkerEvent::Tick(t) => Some(t),
            _ => None,
        })
        .collect()
}

/// After `after`, makes each of `endpoints` stall for `stall` (all until the same instant);
/// hands the target back, so it keeps serving until the caller drops it.
pub fn stall_later(
    target: Fixture,
    endpoints: &'static [&'static str],
    after: Duration,
    stall: Duration,
) -> tokio::task::JoinHandle<Fixture> {
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        let until = Instant::now() + stall;
        for endpoint in endpoints {
            target.set(endpoint, Mode::StallUntil(until));
        }
        target
    })
}
