//! Live changes through the engine's handle, seen at a real target: weights and users change
//! mid-run, within a second or two. One test per file: Goose allows one run per process.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use lt_engine::{Engine, RunOptions};
use lt_protocol::{EndReason, WorkerEvent};
use lt_scenario::LiveChange;
use lt_testkit::Fixture;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weights_and_users_change_while_running() {
    let target = Fixture::start().await;
    let yaml = format!(
        "name: live\ntarget: {}\nload:\n  users: 2\n  max_users: 6\n  duration: 6s\n  think_time: {{ min: 1ms, max: 2ms }}\nendpoints:\n  - {{ name: a, path: /e/a, weight: 1 }}\n  - {{ name: b, path: /e/b, weight: 0 }}\n",
        target.url()
    );
    let scenario = lt_scenario::parse("live.yaml", &yaml).expect("valid scenario");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (engine, handle) = Engine::new(
        scenario,
        RunOptions {
            events: Some(tx),
            ..RunOptions::default()
        },
    )
    .unwrap();
    let run = tokio::spawn(engine.run());

    tokio::time::sleep(Duration::from_secs(2)).await;
    let changed_at = Instant::now();
    let after = handle
        .change(
            1,
            LiveChange {
                weights: Some(BTreeMap::from([
                    ("a".to_string(), 0.0),
                    ("b".to_string(), 1.0),
                ])),
                ..LiveChange::default()
            },
        )
        .unwrap();
    assert_eq!(after.weights["b"], 1.0);
    let after = handle
        .change(
            2,
            LiveChange {
                users: Some(6),
                ..LiveChange::default()
            },
        )
        .unwrap();
    assert_eq!(after.users, 6);
    // Refused changes name the problem and change nothing, not even their valid parts.
    let err = handle
        .change(
            3,
            LiveChange {
                users: Some(7),
                arrival_rate: Some(Some(5.0)),
                ..LiveChange::default()
            },
        )
        .unwrap_err();
    assert!(err.message().contains("users: 7"), "{err}");
    let err = handle
        .change(
            4,
            LiveChange {
                weights: Some(BTreeMap::from([("nope".to_string(), 1.0)])),
                ..LiveChange::default()
            },
        )
        .unwrap_err();
    assert_eq!(err.unknown_endpoints, vec!["nope".to_string()]);

    let report = run.await.unwrap().unwrap();
    assert_eq!(report.end_reason, EndReason::Completed);

    let received = target.received();
    let settled = changed_at + Duration::from_millis(500);
    let a_before = received
        .iter()
        .filter(|r| r.endpoint == "a" && r.at < changed_at)
        .count();
    let b_before = received
        .iter()
        .filter(|r| r.endpoint == "b" && r.at < changed_at)
        .count();
    let a_after = received
        .iter()
        .filter(|r| r.endpoint == "a" && r.at > settled)
        .count();
    let b_after = received
        .iter()
        .filter(|r| r.endpoint == "b" && r.at > settled)
        .count();
    assert!(
        a_before > 100 && b_before == 0,
        "before: a {a_before}, b {b_before}"
    );
    assert!(
        b_after > 100 && a_after == 0,
        "after: a {a_after}, b {b_after}"
    );

    // The ticks show the change: 2 active users before, 6 after, with the settings in force and
    // the endpoints' totals since the start; a `change` event per command, refused or not.
    let mut users_seen = Vec::new();
    let mut verdicts = Vec::new();
    let mut last_tick = None;
    while let Ok(event) = rx.try_recv() {
        match event {
            WorkerEvent::Tick(t) => {
                users_seen.push(t.active_users);
                last_tick = Some(t);
            }
            WorkerEvent::Change(c) => verdicts.push((c.id, c.refused.is_none())),
            _ => {}
        }
    }
    assert_eq!(verdicts, vec![(1, true), (2, true), (3, false), (4, false)]);
    let last_tick = last_tick.expect("ticks");
    assert_eq!(last_tick.config.users, 6);
    assert_eq!(last_tick.config.weights["a"], 0.0);
    assert_eq!(last_tick.config.arrival_rate, None);
    let totals: u64 = last_tick.endpoints.iter().map(|e| e.totals.requests).sum();
    assert_eq!(totals, last_tick.total_requests);
    assert_eq!(users_seen.first(), Some(&2), "{users_seen:?}");
    assert_eq!(users_seen.iter().max(), Some(&6), "{users_seen:?}");
}
