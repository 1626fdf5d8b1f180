//! Closed model with `latency.correction: expected_interval` against a target that stalls: the
//! report keeps the measured percentiles and adds the corrected ones, which show the requests
//! the stalled users would have sent. One test per file: Goose allows one run per process.

mod common;

use common::{engine_with_events, stall_later, ticks};

use std::time::Duration;

use lt_protocol::EndReason;
use lt_testkit::Fixture;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrected_percentiles_are_reported_beside_the_measured_ones() {
    let target = Fixture::start().await;
    let yaml = format!(
        "name: corrected\ntarget: {}\nload:\n  users: 2\n  duration: 4s\n  think_time: 50ms\nendpoints:\n  - {{ name: a, path: /e/a }}\nlatency:\n  correction: expected_interval\n  expected_interval: 50ms\n",
        target.url()
    );
    let (engine, _handle, mut rx) = engine_with_events("corrected.yaml", &yaml);
    let stall = stall_later(
        target,
        &["a"],
        Duration::from_millis(1500),
        Duration::from_secs(1),
    );
    let report = engine.run().await.unwrap();
    let _target = stall.await.unwrap();
    assert_eq!(report.end_reason, EndReason::Completed);

    // Measured: two slow requests among ~100. Corrected: each brings the ~19 requests its user
    // would have sent every 50 ms during the stall.
    let corrected = report
        .latency_corrected_ms
        .expect("corrected percentiles when the correction is on");
    assert!(
        report.latency_ms.p95 < 100.0,
        "measured p95 hides the stall: {:?}",
        report.latency_ms
    );
    assert!(
        corrected.p95 >= 300.0,
        "corrected p95 shows it: {corrected:?}"
    );
    assert!(
        report
            .latency_correction
            .as_deref()
            .is_some_and(|c| c.starts_with("expected_interval 0.050 s")),
        "{:?}",
        report.latency_correction
    );
    assert!(report.endpoints[0].latency_corrected_ms.is_some());
    let ticks: Vec<_> = ticks(&mut rx);
    assert!(ticks.iter().all(|t| t.total_corrected_latency.is_some()));
}
