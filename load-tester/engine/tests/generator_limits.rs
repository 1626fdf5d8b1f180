//! The generator watches itself: with `max_cpu` far below what a busy run uses, it reports its
//! saturation in ticks and the report; with `max_memory` below its own size, it adds no user
//! beyond the first and says why. One test per file: Goose allows one run per process.

mod common;

use common::{engine_with_events, ticks};

use lt_protocol::EndReason;
use lt_testkit::Fixture;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_hold_users_and_saturation_is_reported() {
    let target = Fixture::start().await;
    let yaml = format!(
        "name: limits\ntarget: {}\nload:\n  users: 6\n  ramp_up: 2s\n  duration: 5s\n  think_time: 0s\n  max_memory: 1MiB\n  max_cpu: 1%\nendpoints:\n  - {{ name: a, path: /e/a }}\n",
        target.url()
    );
    let (engine, _handle, mut rx) = engine_with_events("limits.yaml", &yaml);
    let report = engine.run().await.unwrap();
    assert_eq!(report.end_reason, EndReason::Completed);
    assert!(report.requests > 0, "one user still runs");

    let ticks: Vec<_> = ticks(&mut rx);
    assert!(
        ticks.iter().all(|t| t.active_users <= 1),
        "no user beyond the first: {:?}",
        ticks
            .iter()
            .map(|t| (t.active_users, t.target_users))
            .collect::<Vec<_>>()
    );
    assert!(
        ticks.iter().any(|t| t.target_users > 1),
        "the ramp asked for more"
    );
    let generator: Vec<_> = ticks.iter().filter_map(|t| t.generator.clone()).collect();
    assert!(!generator.is_empty(), "ticks carry the generator's figures");
    assert!(generator.iter().all(|g| g.memory_bytes > 1024 * 1024));
    let limited = generator
        .iter()
        .find_map(|g| g.limited.clone())
        .expect("a tick says users are held");
    assert!(
        limited.contains("not adding users") && limited.contains("max_memory 1.0 MiB"),
        "{limited}"
    );
    let saturated = generator
        .iter()
        .find_map(|g| g.saturated.clone())
        .expect("a busy generator over its max_cpu reports saturation");
    assert!(
        saturated.contains("results may be distorted by the load generator itself"),
        "{saturated}"
    );

    let g = report.generator.expect("the report has the generator");
    assert!(g.saturated_seconds >= 1, "{g:?}");
    assert!(g.limited_seconds >= 1, "{g:?}");
    assert!(g.peak_memory_bytes > 1024 * 1024);
    assert!(
        g.warnings.iter().any(|w| w.contains("not adding users"))
            && g.warnings.iter().any(|w| w.contains("distorted")),
        "{:?}",
        g.warnings
    );
}
