//! Open model against a target that stalls, with too few users and a short `arrival_max_wait`:
//! arrivals no user could take in time are dropped, and every count says so (ticks, each
//! endpoint, the report, the `dropped` threshold); nothing is under-sent in silence. One test
//! per file: Goose allows one run per process.

mod common;

use common::{engine_with_events, stall_later, ticks};

use std::time::Duration;

use lt_protocol::EndReason;
use lt_testkit::Fixture;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrivals_without_a_free_user_are_dropped_and_reported() {
    let target = Fixture::start().await;
    let yaml = format!(
        "name: drops\ntarget: {}\nload:\n  users: 2\n  arrival_rate: 20\n  arrival_max_wait: 100ms\n  duration: 4s\nendpoints:\n  - {{ name: a, path: /e/a, weight: 3 }}\n  - {{ name: b, path: /e/b }}\nthresholds:\n  - dropped < 1%\n",
        target.url()
    );
    let (engine, _handle, mut rx) = engine_with_events("drops.yaml", &yaml);
    let stall = stall_later(
        target,
        &["a", "b"],
        Duration::from_millis(1500),
        Duration::from_secs(1),
    );
    let report = engine.run().await.unwrap();
    let _target = stall.await.unwrap();
    assert_eq!(report.end_reason, EndReason::Completed);

    // A one-second stall at 20 arrivals/s with both users stuck: all but the last 100 ms of
    // the stall's ~20 arrivals found no user in time.
    assert!(report.dropped >= 10, "dropped {}", report.dropped);
    let by_endpoint: u64 = report.endpoints.iter().map(|e| e.dropped).sum();
    assert_eq!(by_endpoint, report.dropped);
    assert!(
        report.endpoints[0].dropped > report.endpoints[1].dropped,
        "drops follow the weights: {:?}",
        report.endpoints
    );
    let asked = report.asked_rate.expect("the asked rate is reported");
    assert!(
        report.rps < asked,
        "achieved {} below asked {asked}",
        report.rps
    );
    let rule = report
        .thresholds
        .iter()
        .find(|t| t.rule == "dropped < 1%")
        .expect("the rule is judged");
    assert!(!rule.passed, "{rule:?}");
    assert!(rule.observed.unwrap() > 0.01, "{rule:?}");

    let ticks: Vec<_> = ticks(&mut rx);
    let per_second: u64 = ticks.iter().map(|t| t.dropped).sum();
    assert_eq!(per_second, report.dropped, "every drop is in some second");
    assert_eq!(ticks.last().unwrap().total_dropped, report.dropped);
    let endpoint_seconds: u64 = ticks
        .iter()
        .flat_map(|t| t.endpoints.iter().map(|e| e.dropped))
        .sum();
    assert_eq!(endpoint_seconds, report.dropped);
}
