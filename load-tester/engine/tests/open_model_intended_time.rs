//! Open model against a target that stalls, with too few users but a long enough
//! `arrival_max_wait`: the arrivals due during the stall wait for a user and are sent late, and
//! their latency counts from when they should have left, so the stall shows in the
//! percentiles instead of hiding in the two requests that were in flight. One test per file:
//! Goose allows one run per process.

mod common;

use common::{engine_with_events, stall_later, ticks};

use std::time::Duration;

use lt_protocol::EndReason;
use lt_testkit::Fixture;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_counts_from_the_intended_send_time() {
    let target = Fixture::start().await;
    let yaml = format!(
        "name: stall\ntarget: {}\nload:\n  users: 2\n  arrival_rate: 20\n  arrival_max_wait: 3s\n  duration: 4s\nendpoints:\n  - {{ name: a, path: /e/a }}\n",
        target.url()
    );
    let (engine, _handle, mut rx) = engine_with_events("stall.yaml", &yaml);
    let stall = stall_later(
        target,
        &["a"],
        Duration::from_millis(1500),
        Duration::from_secs(1),
    );
    let report = engine.run().await.unwrap();
    let _target = stall.await.unwrap();
    assert_eq!(report.end_reason, EndReason::Completed);

    // Two users, a one-second stall: the ~20 arrivals due during it waited (up to 1 s) for one
    // of them, and were sent when it ended. Measured from sending they would all be ~1 ms; from
    // their intended times a quarter of the run's requests took 50 ms to 1 s.
    assert_eq!(report.dropped, 0, "the wait bound (3 s) outlasts the stall");
    let lag = report
        .schedule_lag_ms
        .expect("the open model reports its lag");
    assert!(lag.max >= 600.0, "arrivals waited for a user: {lag:?}");
    assert!(
        report.latency_ms.p90 >= 300.0,
        "the stall shows in the percentiles: {:?}",
        report.latency_ms
    );
    let asked = report.asked_rate.expect("the asked rate is reported");
    assert!((asked - 20.0).abs() < 2.0, "asked {asked}");

    let ticks: Vec<_> = ticks(&mut rx);
    assert!(
        ticks
            .iter()
            .filter_map(|t| t.schedule_lag)
            .any(|l| l.max >= 600.0),
        "a tick shows the lag"
    );
}
