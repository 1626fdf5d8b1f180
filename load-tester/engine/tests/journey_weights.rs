//! Flows compete with endpoints in one weighted choice, and a live weight change of a flow shows
//! at the target within the following seconds. One test per file: Goose allows one run per
//! process.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use lt_engine::{Engine, RunOptions};
use lt_protocol::EndReason;
use lt_scenario::LiveChange;
use lt_testkit::Fixture;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weights_of_endpoints_and_flows_hold_and_a_flow_weight_changes_live() {
    let target = Fixture::start().await;
    let yaml = format!(
        "name: shares\ntarget: {}\nload:\n  users: 8\n  duration: 6s\n  think_time: {{ min: 1ms, max: 2ms }}\nendpoints:\n  - {{ name: a, path: /e/a, weight: 1 }}\n  - {{ name: b, path: /e/b, weight: 1 }}\nflows:\n  - name: f\n    weight: 2\n    steps:\n      - {{ name: one, path: /e/f1 }}\n      - {{ name: two, path: /e/f2 }}\n",
        target.url()
    );
    let scenario = lt_scenario::parse("shares.yaml", &yaml).expect("valid scenario");
    let (engine, handle) = Engine::new(scenario, RunOptions::default()).unwrap();
    let run = tokio::spawn(engine.run());

    tokio::time::sleep(Duration::from_secs(3)).await;
    // Shares of choices so far: a flow's iteration starts with its first step.
    let counts = target.counts();
    let n = |k: &str| counts.get(k).copied().unwrap_or(0) as f64;
    let choices = n("a") + n("b") + n("f1");
    assert!(choices > 300.0, "{counts:?}");
    for (name, expected) in [("a", 0.25), ("b", 0.25), ("f1", 0.50)] {
        let share = n(name) / choices;
        assert!(
            (share - expected).abs() < 0.03,
            "{name}: {share:.3} of {choices} choices, expected {expected} ({counts:?})"
        );
    }
    // Every iteration that started went on to its second step (but those in flight).
    assert!(n("f1") - n("f2") <= 8.0, "{counts:?}");

    let changed_at = Instant::now();
    let after = handle
        .change(
            1,
            LiveChange {
                weights: Some(BTreeMap::from([("f".to_string(), 0.0)])),
                ..LiveChange::default()
            },
        )
        .unwrap();
    assert_eq!(after.weights["f"], 0.0);
    assert_eq!(after.weights["a"], 1.0);
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.end_reason, EndReason::Completed);
    // After the change (and a moment for iterations in flight), no journey starts.
    let settle = changed_at + Duration::from_millis(500);
    let late_starts = target
        .received()
        .iter()
        .filter(|r| r.endpoint == "f1" && r.at > settle)
        .count();
    assert_eq!(
        late_starts, 0,
        "journeys started after the flow's weight went to 0"
    );
    let late_endpoints = target
        .received()
        .iter()
        .filter(|r| r.endpoint == "a" && r.at > settle)
        .count();
    assert!(late_endpoints > 50, "{late_endpoints}");
    let flow = &report.flows[0];
    assert_eq!(flow.started, n_total(&target, "f1"));
}

fn n_total(target: &Fixture, name: &str) -> u64 {
    target.counts().get(name).copied().unwrap_or(0) as u64
}
