//! Users started together spread their first requests over one think time instead of all
//! sending in the same instant. One test per file: Goose allows one run per process.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use lt_engine::{Engine, RunOptions};
use lt_protocol::EndReason;
use lt_testkit::Fixture;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_started_together_spread_their_first_requests() {
    let target = Fixture::start().await;
    let yaml = format!(
        "name: spread\ntarget: {}\nload:\n  users: 8\n  duration: 3s\n  think_time: {{ min: 1s, max: 1s }}\nendpoints:\n  - {{ name: a, path: /e/a }}\nuser_ids: {{ from: 1, to: 8 }}\n",
        target.url()
    );
    let scenario = lt_scenario::parse("spread.yaml", &yaml).expect("valid scenario");
    let (engine, _handle) = Engine::new(scenario, RunOptions::default()).unwrap();
    let started = Instant::now();
    let report = engine.run().await.unwrap();
    assert_eq!(report.end_reason, EndReason::Completed);

    // Each user's first request, by its user id (user i sends id i + 1 first).
    let mut first: BTreeMap<String, Instant> = BTreeMap::new();
    for r in target.received() {
        let id = r.user_id.clone().expect("every request carries X-User-Id");
        first.entry(id).or_insert(r.at);
    }
    assert_eq!(first.len(), 8, "every user sent: {first:?}");
    let offsets: Vec<Duration> = first.values().map(|at| *at - started).collect();
    let earliest = *offsets.iter().min().unwrap();
    let latest = *offsets.iter().max().unwrap();
    // User 0 sends at once; the others follow at fractions of the 1 s think time (1/8 … 7/8),
    // so the first requests span most of a second rather than a few milliseconds.
    assert!(
        latest - earliest >= Duration::from_millis(500),
        "first requests spread over only {:?}: {offsets:?}",
        latest - earliest
    );
    assert!(
        latest - earliest < Duration::from_millis(1500),
        "first requests spread over more than one think time: {offsets:?}"
    );
}
