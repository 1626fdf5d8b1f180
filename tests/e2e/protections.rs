//! The protections seen from the target: the breaker stops traffic to a failing endpoint while
//! the others keep theirs and lets it back after recovery; backoff makes a failing target see far
//! fewer requests.

mod common;

use std::time::{Duration, Instant};

use common::{load_tester, read_json, scenario};
use lt_testkit::{Fixture, Mode, write_scenario};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_endpoint_opens_its_breaker_others_flow_and_it_closes_after_recovery() {
    let target = Fixture::start().await;
    target.set("bad", Mode::Status(503));
    let dir = tempfile::tempdir().unwrap();
    let yaml = scenario(
        &target.url(),
        "  users: 4\n  duration: 6s\n  think_time: { min: 0s, max: 2ms }",
        "  - { name: good, path: /e/good }\n  - { name: bad, path: /e/bad }",
        "protection:\n  circuit_breaker: { consecutive_failures: 5, open_for: 500ms, half_open_probes: 1 }\n  max_errors_per_minute: off\nthresholds:\n  - \"error_rate <= 100%\"",
    );
    let file = write_scenario(dir.path(), "b.yaml", &yaml);
    let report = dir.path().join("r.json");
    let run = tokio::spawn({
        let file = file.clone();
        let report = report.clone();
        async move {
            load_tester(&[
                "run",
                file.to_str().unwrap(),
                "--report",
                report.to_str().unwrap(),
                "--quiet",
            ])
            .await
        }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    let recovered_at = Instant::now();
    target.set("bad", Mode::Ok);
    let out = run.await.unwrap();
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);

    let received = target.received();
    let before = |name: &str| {
        received
            .iter()
            .filter(|r| r.endpoint == name && r.at < recovered_at)
            .count()
    };
    let after = |name: &str| {
        received
            .iter()
            .filter(|r| r.endpoint == name && r.at >= recovered_at + Duration::from_secs(1))
            .count()
    };
    // While failing, the breaker let only a trickle of probes through to `bad`.
    assert!(
        before("bad") * 10 < before("good"),
        "bad {} vs good {}",
        before("bad"),
        before("good")
    );
    // After recovery, the breaker closed and `bad` gets its half share again.
    assert!(
        after("bad") * 2 > after("good"),
        "bad {} vs good {}",
        after("bad"),
        after("good")
    );

    let json = read_json(&report);
    let bad = json["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "bad")
        .unwrap();
    assert!(bad["short_circuited"].as_u64().unwrap() > 100, "{bad}");
}

async fn requests_against_failing_target(backoff: bool) -> usize {
    let target = Fixture::start().await;
    target.set("down", Mode::Status(500));
    let dir = tempfile::tempdir().unwrap();
    let protection = if backoff {
        "protection:\n  backoff: { initial: 50ms, max: 1s, multiplier: 2.0, jitter: false }\n  max_errors_per_minute: off"
    } else {
        "protection:\n  max_errors_per_minute: off"
    };
    let yaml = scenario(
        &target.url(),
        "  users: 4\n  duration: 3s\n  think_time: { min: 0s, max: 0s }",
        "  - { name: down, path: /e/down }",
        protection,
    );
    let file = write_scenario(dir.path(), "d.yaml", &yaml);
    let out = load_tester(&["run", file.to_str().unwrap(), "--quiet"]).await;
    // Every request failed: the run does not pass, whatever its own rules (it has none).
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stdout
            .contains("FAIL  at least one request succeeded (default)  (observed 0 requests)"),
        "{}",
        out.stdout
    );
    target.received().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_backoff_a_failing_target_receives_far_fewer_requests() {
    let without = requests_against_failing_target(false).await;
    let with = requests_against_failing_target(true).await;
    // 4 users doubling from 50 ms to a 1 s cap send a few dozen requests in 3 s; without
    // backoff they send thousands. A generous margin keeps this steady on a loaded machine.
    assert!(
        with * 10 < without,
        "with backoff {with}, without {without}"
    );
}
