//! Ticks follow the clock: second n ends at start + n s, whatever the scheduler's jitter, so a
//! run of D seconds has D ticks (plus one for a last partial second) and none drifts into the
//! next second. One test per file: Goose allows one run per process.

use lt_engine::{Engine, RunOptions};
use lt_protocol::{EndReason, WorkerEvent};
use lt_testkit::Fixture;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seconds_end_at_whole_seconds_from_the_start() {
    let target = Fixture::start().await;
    let yaml = format!(
        "name: clock\ntarget: {}\nload:\n  users: 4\n  duration: 6s\n  think_time: {{ min: 5ms, max: 15ms }}\nendpoints:\n  - {{ name: a, path: /e/a }}\n",
        target.url()
    );
    let scenario = lt_scenario::parse("clock.yaml", &yaml).expect("valid scenario");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let options = RunOptions {
        events: Some(tx),
        ..RunOptions::default()
    };
    let (engine, _handle) = Engine::new(scenario, options).unwrap();
    let report = engine.run().await.unwrap();
    assert_eq!(report.end_reason, EndReason::Completed);

    let mut ticks = Vec::new();
    while let Ok(event) = rx.try_recv() {
        if let WorkerEvent::Tick(t) = event {
            ticks.push(t);
        }
    }
    let seconds: Vec<u64> = ticks.iter().map(|t| t.second).collect();
    assert!(
        seconds.windows(2).all(|w| w[0] < w[1]),
        "seconds only grow: {seconds:?}"
    );
    // Every full second is numbered by the whole seconds elapsed when it ended (the old
    // clock restarted each second at the first 100 ms step after it, and fell behind).
    for t in &ticks[..ticks.len() - 1] {
        assert_eq!(
            t.second,
            t.elapsed_s.floor() as u64,
            "second {} ended at {:.3} s: {seconds:?}",
            t.second,
            t.elapsed_s
        );
    }
    // A 6 s run: seconds 1 to 6 (±1 for the last partial second and the stop's timing).
    let last = *seconds.last().unwrap();
    assert!((5..=7).contains(&last), "{seconds:?}");
    let total: u64 = ticks.iter().map(|t| t.requests).sum();
    assert_eq!(
        total, report.requests,
        "every request is in exactly one tick"
    );
}
