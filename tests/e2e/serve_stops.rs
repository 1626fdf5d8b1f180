//! The server never loses control of a run: emergency stop silences every session at once, also
//! while the target hangs; a worker that dies fails its session; a server killed mid-run finds
//! its sessions again (re-attached or interrupted) with their committed stats intact and no
//! orphan left behind.

mod common;
mod control;

use std::time::{Duration, Instant};

use control::{Server, kill9, scenario_yaml, worker_pids};
use lt_testkit::{Fixture, Mode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emergency_stop_silences_every_session_even_when_the_target_hangs() {
    let target = Fixture::start().await;
    target.set("hang", Mode::Hang);
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let mut ids = Vec::new();
    for endpoints in [&["x"][..], &["y"][..], &["hang"][..]] {
        ids.push(
            server
                .start_session(&scenario_yaml(&target.url(), 3, endpoints, ""))
                .await,
        );
    }
    for id in &ids {
        server
            .wait_status(id, "running", Duration::from_secs(30))
            .await;
    }
    // Every session is sending (the hanging one has requests stuck at the target).
    target.wait_for_each(&["x", "y", "hang"]).await;
    let needle = dir.path().to_str().unwrap().to_string();
    assert_eq!(worker_pids(&needle).len(), 3);

    let (status, body) = server.call("POST", "/api/emergency-stop", None).await;
    let returned = Instant::now();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stopped"], 3);
    // Every worker is gone when the call returns.
    assert_eq!(worker_pids(&needle), Vec::<u32>::new());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let late: Vec<_> = target
        .received()
        .into_iter()
        .filter(|r| r.at > returned + Duration::from_millis(200))
        .collect();
    assert!(
        late.is_empty(),
        "{} requests arrived after the stop",
        late.len()
    );
    for id in &ids {
        let s = server.get(&format!("/api/sessions/{id}")).await;
        assert_eq!(s["status"], "aborted", "{s}");
        assert!(
            s["reason"].as_str().unwrap().contains("emergency stop"),
            "{s}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_fails_its_session_and_a_killed_server_finds_its_sessions_again() {
    let target = Fixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let yaml = scenario_yaml(&target.url(), 2, &["a"], "");

    // kill -9 a worker: its session ends `failed`, naming the signal.
    let doomed = server.start_session(&yaml).await;
    server
        .wait_status(&doomed, "running", Duration::from_secs(30))
        .await;
    let pids = worker_pids(&doomed);
    assert_eq!(pids.len(), 1);
    kill9(pids[0]);
    let failed = server
        .wait_status(&doomed, "failed", Duration::from_secs(15))
        .await;
    assert!(
        failed["reason"].as_str().unwrap().contains("signal 9"),
        "{failed}"
    );

    // kill -9 the server while two sessions run; one worker dies with it.
    let survivor = server.start_session(&yaml).await;
    let orphan = server.start_session(&yaml).await;
    for id in [&survivor, &orphan] {
        server
            .wait_status(id, "running", Duration::from_secs(30))
            .await;
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    let seconds_before = server.get(&format!("/api/sessions/{survivor}/stats")).await["seconds"]
        .as_array()
        .unwrap()
        .len();
    assert!(seconds_before >= 2);
    let totals_before = endpoint_totals(&server.get(&format!("/api/sessions/{survivor}")).await);
    assert!(totals_before > 0);
    server.kill9().await;
    let orphan_pid = worker_pids(&orphan)[0];
    kill9(orphan_pid);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        worker_pids(&survivor).len(),
        1,
        "the worker outlives its server"
    );

    let server = Server::start(dir.path(), &[]).await;
    // The live worker is re-attached and keeps reporting.
    let s = server.get(&format!("/api/sessions/{survivor}")).await;
    assert_eq!(s["status"], "running", "{s}");
    let mut events = server
        .events(&format!("/api/sessions/{survivor}/events"), None)
        .await;
    events
        .until(Duration::from_secs(10), |e| e.kind == "tick")
        .await;
    // Its endpoints' totals go on from where they stood (the engine counts them, not the
    // server), and add up to the session's total.
    let s = server.get(&format!("/api/sessions/{survivor}")).await;
    let totals_after = endpoint_totals(&s);
    assert!(
        totals_after > totals_before,
        "{totals_after} after {totals_before}"
    );
    assert_eq!(
        totals_after,
        s["totals"]["requests"].as_u64().unwrap(),
        "{s}"
    );
    // The one whose worker died is `interrupted`.
    let gone = server.get(&format!("/api/sessions/{orphan}")).await;
    assert_eq!(gone["status"], "interrupted", "{gone}");
    // Stats committed before the kill are intact (and more came after).
    let stats = server.get(&format!("/api/sessions/{survivor}/stats")).await;
    let seconds: Vec<u64> = stats["seconds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["second"].as_u64().unwrap())
        .collect();
    assert!(seconds.len() >= seconds_before, "{seconds:?}");
    assert_eq!(seconds[0], 1, "{seconds:?}");

    // Stopping it through the new server works, and no worker is left.
    let (status, _) = server
        .call("POST", &format!("/api/sessions/{survivor}/stop"), None)
        .await;
    assert_eq!(status, 202);
    server
        .wait_status(&survivor, "stopped", Duration::from_secs(30))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(worker_pids(dir.path().to_str().unwrap()), Vec::<u32>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_that_hangs_is_ended_by_a_kill_after_the_bound() {
    let target = Fixture::start().await;
    target.set("hang", Mode::Hang);
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("LT_STOP_TIMEOUT", "1s")]).await;
    let id = server
        .start_session(
            &scenario_yaml(&target.url(), 2, &["hang"], "")
                .replace("path: /e/hang }", "path: /e/hang, timeout: 5m }"),
        )
        .await;
    server
        .wait_status(&id, "running", Duration::from_secs(30))
        .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while target.counts().get("hang").copied().unwrap_or(0) < 2 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, _) = server
        .call("POST", &format!("/api/sessions/{id}/stop"), None)
        .await;
    assert_eq!(status, 202);
    let stopping = server.get(&format!("/api/sessions/{id}")).await;
    assert_eq!(stopping["status"], "stopping", "{stopping}");
    let stopped = server
        .wait_status(&id, "stopped", Duration::from_secs(20))
        .await;
    assert!(
        stopped["reason"]
            .as_str()
            .unwrap()
            .contains("killed after 1s"),
        "{stopped}"
    );
    assert_eq!(worker_pids(&id), Vec::<u32>::new());
}

/// The requests of a live session's endpoints since its start, as its last tick carries them.
fn endpoint_totals(session: &serde_json::Value) -> u64 {
    session["live"]["last_tick"]["endpoints"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|e| e["totals"]["requests"].as_u64().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_locked_by_another_process_delays_writes_loses_none_and_blocks_no_answer() {
    let target = Fixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let id = server
        .start_session(
            &scenario_yaml(&target.url(), 2, &["a"], "").replace("duration: 5m", "duration: 12s"),
        )
        .await;
    server
        .wait_status(&id, "running", Duration::from_secs(30))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // An operator's `sqlite3` takes the write lock for 4 s, mid-run.
    let db = dir.path().join("load-tester.db");
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
        locked_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_secs(4));
        conn.execute_batch("COMMIT").unwrap();
    });
    locked_rx.recv().unwrap();
    // Meanwhile the API answers (reads and a management write that waits for its commit run
    // off the runtime) and the stream keeps ticking.
    let asked = std::time::Instant::now();
    let health = server.get("/api/health").await;
    assert_eq!(health["status"], "ok");
    let mut events = server
        .events(&format!("/api/sessions/{id}/events"), None)
        .await;
    events
        .until(Duration::from_secs(3), |e| e.kind == "tick")
        .await;
    assert!(
        asked.elapsed() < Duration::from_secs(4),
        "the API waited for the lock"
    );
    holder.join().unwrap();

    // Once the lock is gone, every second of the run is stored: no gap.
    let ended = server
        .wait_status(&id, "completed", Duration::from_secs(30))
        .await;
    let last = ended["totals"]["seconds"].as_u64().unwrap();
    let stats = server.get(&format!("/api/sessions/{id}/stats")).await;
    let seconds: Vec<u64> = stats["seconds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["second"].as_u64().unwrap())
        .collect();
    assert_eq!(seconds, (1..=last).collect::<Vec<_>>(), "{stats}");
}
