//! The bundled targets run in a process of their own beside the control server: killed, they
//! come back on the same addresses; their logs go to the log folder, not the terminal; they stop
//! with the server.

mod common;
mod control;

use std::time::{Duration, Instant};

use control::{Server, kill9, pids_of};

/// A server whose bundled targets listen on ports of their choosing, and its EC app's URL (from
/// the start-up banner).
async fn with_targets_on_free_ports(dir: &std::path::Path) -> (Server, String) {
    let server = Server::start_with_targets(
        dir,
        &[
            ("LT_EC_PORT", "0"),
            ("LT_DISTRIBUTED_PORT", "0"),
            ("LT_TODO_PORT", "0"),
            ("LT_CHAOS_PORT", "0"),
        ],
    )
    .await;
    let ec = server
        .banner
        .split("ec http://")
        .nth(1)
        .and_then(|rest| rest.split([',', '\n']).next())
        .map(|addr| format!("http://{addr}"))
        .unwrap_or_else(|| panic!("no ec address in:\n{}", server.banner));
    (server, ec)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundled_targets_are_a_supervised_child_of_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let (server, ec) = with_targets_on_free_ports(dir.path()).await;
    let health = format!("{ec}/health");
    let client = reqwest::Client::new();
    assert_eq!(client.get(&health).send().await.unwrap().status(), 200);

    let needle = dir.path().to_str().unwrap().to_string();
    let first = pids_of("targets", &needle);
    assert_eq!(first.len(), 1, "one targets process: {first:?}");
    assert_ne!(first[0], server.pid(), "not the server's own process");

    kill9(first[0]);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let again = pids_of("targets", &needle);
        let up = client
            .get(&health)
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        if up && again.len() == 1 && again[0] != first[0] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the targets did not come back on {ec}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    assert!(
        !server.banner.contains('\u{1b}'),
        "no colour codes on a terminal that is not one:\n{}",
        server.banner
    );
    let log = std::fs::read_to_string(dir.path().join("logs").join("targets.log")).unwrap();
    assert!(log.contains("lab started"), "{log}");
    assert!(!log.contains('\u{1b}'), "no colour codes in a log file");

    // A graceful stop of the server stops them too.
    let pid = server.pid();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !pids_of("targets", &needle).is_empty() {
        assert!(Instant::now() < deadline, "the targets outlived the server");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shipped_scenario_reaches_the_bundled_target_wherever_it_listens() {
    let dir = tempfile::tempdir().unwrap();
    let (server, ec) = with_targets_on_free_ports(dir.path()).await;
    // smoke.yaml says `{{ env.EC_URL | default('http://127.0.0.1:5001') }}`; the server fills
    // EC_URL with where its EC app really listens, for the listing, the check and the worker.
    let listing = server.get("/api/scenarios").await;
    let smoke = listing["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["file"] == "smoke.yaml")
        .unwrap();
    assert_eq!(smoke["target"], ec.as_str(), "{smoke}");
    let (status, body) = server
        .call(
            "POST",
            "/api/sessions",
            Some(serde_json::json!({ "scenario": "smoke", "overrides": { "duration": "3s" } })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["target"], ec.as_str());
    let id = body["id"].as_str().unwrap().to_string();
    let done = server
        .wait_status(&id, "completed", Duration::from_secs(60))
        .await;
    assert!(done["summary"]["requests"].as_u64().unwrap() > 0, "{done}");
    assert_eq!(done["summary"]["failures"], 0, "{done}");
}
