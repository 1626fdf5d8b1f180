//! One session run by several generator processes over the network protocol (`load.generators`,
//! the local launcher): real `load-tester serve`, real `load-tester worker --connect` processes,
//! a recording target, all on loopback.

mod common;
mod control;

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use control::{Server, external_generator, kill9, worker_pids};
use lt_testkit::{Fixture, Mode};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// A free loopback port for the generator listener (so a test can dial it itself).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn server(dir: &std::path::Path, port: u16, on_loss: &str) -> Server {
    let bind = format!("127.0.0.1:{port}");
    Server::start(
        dir,
        &[
            ("LT_GENERATORS__BIND", bind.as_str()),
            ("LT_GENERATORS__ON_LOSS", on_loss),
        ],
    )
    .await
}

/// A scenario for `generators` generators against the fixture: `a` (weight 3) and `b`.
fn yaml(target: &str, users: u32, generators: u32, duration: &str, extra: &str) -> String {
    format!(
        "name: scale-out\ntarget: {target}\nload:\n  users: {users}\n  generators: {generators}\n  \
         duration: {duration}\n  think_time: {{ min: 20ms, max: 40ms }}\nendpoints:\n  \
         - {{ name: a, path: /e/a, weight: 3 }}\n  - {{ name: b, path: /e/b, weight: 1 }}\n\
         protection:\n  max_errors_per_minute: off\n{extra}"
    )
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Waits until no process of `load-tester worker` mentions `needle`.
async fn wait_no_workers(needle: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    while !worker_pids(needle).is_empty() {
        assert!(
            Instant::now() < deadline,
            "generators still alive after {limit:?}: {:?}",
            worker_pids(needle)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_generators_split_the_load_and_merge_exactly() {
    let target = Fixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), free_port(), "abort").await;
    // Instants of the target's records, as wall-clock milliseconds.
    let (base_instant, base_ms) = (Instant::now(), now_ms());
    let id = server
        .start_session(&yaml(
            &target.url(),
            10,
            3,
            "6s",
            "thresholds:\n  - \"rps > 150\"\n  - \"p99 < 5s\"\n",
        ))
        .await;
    let s = server
        .wait_status(&id, "completed", Duration::from_secs(60))
        .await;
    assert_eq!(worker_pids(&id), Vec::<u32>::new(), "no generator is left");

    // Users split 3, 3, 4 (each generator says what it runs).
    let mut users = Vec::new();
    for i in 0..3 {
        let log =
            std::fs::read_to_string(dir.path().join(format!("sessions/{id}/generator-{i}.log")))
                .unwrap();
        let line = log
            .lines()
            .find(|l| l.contains("generator starting its segment"))
            .unwrap_or_else(|| panic!("generator {i} log:\n{log}"));
        users.push(
            line.split("users=")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(users, ["3", "3", "4"]);

    // The merged seconds.
    let stats = server.get(&format!("/api/sessions/{id}/stats")).await;
    let seconds = stats["seconds"].as_array().unwrap().clone();
    assert!(seconds.len() >= 5, "{stats}");
    let merged: BTreeMap<u64, u64> = seconds
        .iter()
        .map(|r| {
            (
                r["second"].as_u64().unwrap(),
                r["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    // Ten users were active together, as one generator with all of them would show.
    let peak = seconds
        .iter()
        .map(|r| r["active_users"].as_u64().unwrap())
        .max()
        .unwrap();
    assert_eq!(peak, 10, "{stats}");

    // What the target received, per second of the session (second n ends at its tick's at_ms).
    let first = &seconds[0];
    let start_ms = first["at_ms"].as_u64().unwrap() - 1_000 * first["second"].as_u64().unwrap();
    let mut received: BTreeMap<u64, u64> = BTreeMap::new();
    for r in target.received() {
        let at = base_ms + r.at.duration_since(base_instant).as_millis() as u64;
        let second = (at.saturating_sub(start_ms)) / 1_000 + 1;
        *received.entry(second).or_default() += 1;
    }
    let total_received: u64 = received.values().sum();
    let total_merged: u64 = merged.values().sum();
    assert_eq!(
        total_merged, total_received,
        "merged {merged:?}, target {received:?}"
    );
    assert_eq!(
        s["summary"]["requests"].as_u64(),
        Some(total_received),
        "{s}"
    );
    // Each request is in the same second at the target and in the merge, give or take the
    // boundary: the running counts never differ by more than one second's requests.
    let last = *merged.keys().chain(received.keys()).max().unwrap();
    let (mut m, mut t) = (0u64, 0u64);
    for n in 1..=last {
        m += merged.get(&n).copied().unwrap_or(0);
        t += received.get(&n).copied().unwrap_or(0);
        let before = received.range(..n).map(|(_, c)| c).sum::<u64>();
        let after = received.range(..=n + 1).map(|(_, c)| c).sum::<u64>();
        assert!(
            (before..=after).contains(&m),
            "second {n}: merged so far {m}, target so far {t} ({before}..={after}); merged \
             {merged:?}, target {received:?}"
        );
    }

    // Weights hold across generators: a gets about three quarters.
    let counts = target.counts();
    let (a, b) = (counts["a"] as f64, counts["b"] as f64);
    assert!((a / (a + b) - 0.75).abs() < 0.1, "{counts:?}");

    // The merged report adds up exactly, endpoint by endpoint, to what the target received.
    let endpoints = s["summary"]["endpoints"].as_array().unwrap();
    for e in endpoints {
        let name = e["name"].as_str().unwrap();
        assert_eq!(e["requests"].as_u64(), Some(counts[name] as u64), "{e}");
    }
    eprintln!("merged per second {merged:?}\ntarget per second {received:?}");
    // Thresholds are judged on the merged figures: the session's rate (each generator alone
    // sends about a third of it, under the rule) and the merged histogram's p99 (the very figure
    // the merged report shows).
    let thresholds = s["summary"]["thresholds"].as_array().unwrap();
    assert!(
        thresholds.iter().all(|t| t["passed"] == true),
        "{thresholds:?}"
    );
    let rule = |r: &str| thresholds.iter().find(|t| t["rule"] == r).unwrap().clone();
    let rps = rule("rps > 150")["observed"].as_f64().unwrap();
    assert!(
        rps > 150.0 * 1.5,
        "the session's rate, not one generator's: {rps}"
    );
    assert_eq!(
        rule("p99 < 5s")["observed"],
        s["summary"]["latency_ms"]["p99"],
        "{s}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_or_protocol_version_is_refused_by_name() {
    let target = Fixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = server(dir.path(), port, "abort").await;
    // The open model: 30 arrivals/s over 3 generators, 6 users (12 at most) to take them.
    let open = format!(
        "name: scale-out-open\ntarget: {}\nload:\n  users: 6\n  max_users: 12\n  generators: 3\n  \
         duration: 5m\n  arrival_rate: 30\nendpoints:\n  - {{ name: a, path: /e/a, weight: 3 }}\n  \
         - {{ name: b, path: /e/b, weight: 1 }}\nprotection:\n  max_errors_per_minute: off\n",
        target.url()
    );
    let id = server.start_session(&open).await;
    server
        .wait_status(&id, "running", Duration::from_secs(60))
        .await;
    for i in 0..3 {
        let log =
            std::fs::read_to_string(dir.path().join(format!("sessions/{id}/generator-{i}.log")))
                .unwrap();
        assert!(
            log.lines()
                .any(|l| l.contains("generator starting its segment")
                    && l.contains("users=2")
                    && l.contains("arrival_rate=Some(10.0)")),
            "generator {i}:\n{log}"
        );
    }

    target.wait_for_each(&["a", "b"]).await;
    // A live change is re-split over the generators and answered once all applied it.
    let (status, body) = server
        .call(
            "PATCH",
            &format!("/api/sessions/{id}"),
            Some(json!({ "users": 9, "weights": { "a": 0 } })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["config"]["users"], 9, "{body}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = target.counts();
    let (a_before, b_before) = (before["a"], before["b"]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let counts = target.counts();
    assert_eq!(counts["a"], a_before, "no more traffic to `a`: {counts:?}");
    assert!(counts["b"] > b_before + 20, "all of it to `b`: {counts:?}");
    let (status, body) = server
        .call(
            "PATCH",
            &format!("/api/sessions/{id}"),
            Some(json!({ "users": 2 })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("at least 3 users"), "{body}");

    // The real binary with a wrong token.
    let out = tokio::process::Command::new(common::BIN)
        .args(["worker", "--connect", &format!("tcp://127.0.0.1:{port}")])
        .args(["--index", "1", "--session", &id])
        .env("LT_GENERATOR_TOKEN", "not-the-token")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "refused generator 1: wrong token for session {id}"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("not-the-token"), "{stderr}");

    // A generator that speaks another version.
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let hello = format!(
        "{{\"v\":1,\"hello\":{{\"versions\":[1],\"session\":\"{id}\",\"index\":0,\"token\":\"x\",\"clock_ms\":0}}}}\n"
    );
    stream.write_all(hello.as_bytes()).await.unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).await.unwrap();
    let answer: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        answer["refused"]["reason"],
        "protocol versions [1] not supported; this coordinator speaks [2]",
        "{line}"
    );
    // The session goes on unharmed; stop it.
    let (status, _) = server
        .call("POST", &format!("/api/sessions/{id}/stop"), None)
        .await;
    assert_eq!(status, 202);
    server
        .wait_status(&id, "stopped", Duration::from_secs(30))
        .await;
    wait_no_workers(&id, Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_generator_aborts_or_degrades_the_session_per_the_setting() {
    let target = Fixture::start().await;
    for on_loss in ["abort", "continue"] {
        let dir = tempfile::tempdir().unwrap();
        let server = server(dir.path(), free_port(), on_loss).await;
        let id = server
            .start_session(&yaml(&target.url(), 3, 3, "5m", ""))
            .await;
        server
            .wait_status(&id, "running", Duration::from_secs(60))
            .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let pids = worker_pids(&id);
        assert_eq!(pids.len(), 3, "{pids:?}");
        let victim = pids
            .iter()
            .copied()
            .find(|p| {
                std::fs::read(format!("/proc/{p}/cmdline"))
                    .map(|c| String::from_utf8_lossy(&c).contains("--index\x001\x00"))
                    .unwrap_or(false)
            })
            .unwrap();
        kill9(victim);
        if on_loss == "abort" {
            let s = server
                .wait_status(&id, "failed", Duration::from_secs(30))
                .await;
            assert!(
                s["reason"]
                    .as_str()
                    .unwrap()
                    .contains("generator 1 of 3 lost"),
                "{s}"
            );
        } else {
            // The others go on: requests keep arriving.
            tokio::time::sleep(Duration::from_secs(4)).await;
            let before = target.received().len();
            tokio::time::sleep(Duration::from_secs(1)).await;
            assert!(target.received().len() > before, "the session went on");
            let live = server.get(&format!("/api/sessions/{id}")).await;
            assert_eq!(live["status"], "running");
            // The API shows each generator and its health.
            let states: Vec<&str> = live["live"]["generators"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["state"].as_str().unwrap())
                .collect();
            assert_eq!(states, ["running", "lost", "running"], "{live}");
            assert_eq!(worker_pids(&id).len(), 2);
            let (status, _) = server
                .call("POST", &format!("/api/sessions/{id}/stop"), None)
                .await;
            assert_eq!(status, 202);
            let s = server
                .wait_status(&id, "stopped", Duration::from_secs(30))
                .await;
            let warnings = s["summary"]["generator"]["warnings"].to_string();
            assert!(warnings.contains("generator 1 of 3 lost"), "{s}");
        }
        wait_no_workers(&id, Duration::from_secs(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emergency_stop_silences_every_generator_and_a_killed_coordinator_leaves_none() {
    let target = Fixture::start().await;
    target.set("hang", Mode::Hang);
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), free_port(), "abort").await;
    let extra = "";
    let hanging = format!(
        "name: scale-out-hang\ntarget: {}\nload:\n  users: 6\n  generators: 3\n  duration: 5m\n  \
         think_time: {{ min: 20ms, max: 40ms }}\nendpoints:\n  - {{ name: a, path: /e/a }}\n  \
         - {{ name: hang, path: /e/hang }}\nprotection:\n  max_errors_per_minute: off\n{extra}",
        target.url()
    );
    let id = server.start_session(&hanging).await;
    server
        .wait_status(&id, "running", Duration::from_secs(60))
        .await;
    target.wait_for_each(&["a", "hang"]).await;
    assert_eq!(worker_pids(&id).len(), 3);
    let (status, body) = server.call("POST", "/api/emergency-stop", None).await;
    let returned = Instant::now();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        worker_pids(&id),
        Vec::<u32>::new(),
        "every generator is gone"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let late = target
        .received()
        .into_iter()
        .filter(|r| r.at > returned + Duration::from_millis(200))
        .count();
    assert_eq!(late, 0, "requests arrived after the stop");
    let s = server
        .wait_status(&id, "aborted", Duration::from_secs(10))
        .await;
    assert!(
        s["reason"].as_str().unwrap().contains("emergency stop"),
        "{s}"
    );

    // The coordinator killed: every generator stops by itself within its bound (10 s).
    let id = server
        .start_session(&yaml(&target.url(), 3, 3, "5m", ""))
        .await;
    server
        .wait_status(&id, "running", Duration::from_secs(60))
        .await;
    assert_eq!(worker_pids(&id).len(), 3);
    server.kill9().await;
    wait_no_workers(&id, Duration::from_secs(12)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_reduction_is_decided_on_merged_seconds_and_corrected_latency_is_merged() {
    let target = Fixture::start().await;
    // Three quarters of the requests fail: over the 0.5 limit on every generator and merged.
    target.set("a", Mode::Status(500));
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), free_port(), "abort").await;
    let extra = "  load_reduction: { error_rate: 0.5, window: 2s, reduce_by: 0.5, min_users: 3, \
                 restore_every: 1m }\nlatency:\n  correction: expected_interval\n  \
                 expected_interval: 50ms\n";
    let id = server
        .start_session(&yaml(&target.url(), 9, 3, "7s", extra))
        .await;
    let s = server
        .wait_status(&id, "completed", Duration::from_secs(60))
        .await;
    let stats = server.get(&format!("/api/sessions/{id}/stats")).await;
    let seconds = stats["seconds"].as_array().unwrap();
    let parked: Vec<(u64, u64)> = seconds
        .iter()
        .map(|r| {
            (
                r["parked_users"].as_u64().unwrap(),
                r["active_users"].as_u64().unwrap(),
            )
        })
        .collect();
    // One decision for the session, as one process with 9 users would take it: 5 parked
    // (half of 9, rounded up), then one more (never below min_users: 3), each generator parking
    // its share; the active users are the target less those parked, over every generator.
    // (Each second's decision is taken on that second, with its users still active, as in one
    // process: parked and active users are shown as they were then.)
    assert!(parked.contains(&(5, 4)), "{parked:?}");
    assert!(parked.contains(&(6, 3)), "{parked:?}");
    let six = parked.iter().position(|&(p, _)| p == 6).unwrap();
    assert!(parked[six..].iter().all(|&(p, _)| p == 6), "{parked:?}");
    for r in seconds {
        let target_users = r["target_users"].as_u64().unwrap();
        assert_eq!(target_users, 9, "{r}");
    }

    // Corrected latency, merged from every generator's corrected histograms.
    let summary = &s["summary"];
    assert_eq!(
        summary["latency_correction"].as_str(),
        Some("expected_interval 0.050 s"),
        "{summary}"
    );
    let corrected = &summary["latency_corrected_ms"];
    assert!(
        corrected["p99"].as_f64().unwrap() >= summary["latency_ms"]["p99"].as_f64().unwrap(),
        "{summary}"
    );
    for e in summary["endpoints"].as_array().unwrap() {
        assert!(e["latency_corrected_ms"].is_object(), "{e}");
    }
}

/// The test certificates (`tls/make.sh`): an authority, and a certificate it signed for
/// `localhost` and `127.0.0.1`.
const TLS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/e2e/tls");

/// Everything the server logged so far (its log folder).
fn server_log(dir: &std::path::Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir.join("logs")).into_iter().flatten() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("server")
        {
            text.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
        }
    }
    text
}

/// Waits until the server's log holds `needle` (its file is written off the logging thread).
async fn wait_logged(dir: &std::path::Path, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server_log(dir).contains(needle) {
        assert!(
            Instant::now() < deadline,
            "the server log has no `{needle}`:\n{}",
            server_log(dir)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A generator started by hand against the listener at `url`; its exit code and stderr.
async fn dial_by_hand(url: &str, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut command = tokio::process::Command::new(common::BIN);
    command
        .args(["worker", "--connect", url, "--index", "0"])
        .env("LT_GENERATOR_TOKEN", "not-the-token")
        .env_remove("LT_GENERATOR_CA_FILE");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .expect("the generator ends")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("not-the-token"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.code(), stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_generators_over_tls_merge_what_the_target_received() {
    let target = Fixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let (cert, key, ca) = (
        format!("{TLS_DIR}/server.pem"),
        format!("{TLS_DIR}/server.key"),
        format!("{TLS_DIR}/ca.pem"),
    );
    let server = Server::start(
        dir.path(),
        &[
            ("LT_GENERATORS__BIND", bind.as_str()),
            ("LT_GENERATORS__TLS__CERT_FILE", cert.as_str()),
            ("LT_GENERATORS__TLS__KEY_FILE", key.as_str()),
            ("LT_GENERATORS__TLS__CA_FILE", ca.as_str()),
        ],
    )
    .await;
    let id = server
        .start_session(&yaml(&target.url(), 6, 3, "4s", ""))
        .await;
    let s = server
        .wait_status(&id, "completed", Duration::from_secs(60))
        .await;
    assert_eq!(worker_pids(&id), Vec::<u32>::new(), "no generator is left");
    wait_logged(dir.path(), "generator listener").await;
    let log = server_log(dir.path());
    assert!(
        log.lines()
            .any(|l| l.contains("generator listener") && l.contains("tls=true")),
        "{log}"
    );
    assert!(
        !log.contains("clear text"),
        "no clear-text warning with TLS:\n{log}"
    );
    // Every generator ran its part over TLS, and the merge holds exactly what the target got.
    let stats = server.get(&format!("/api/sessions/{id}/stats")).await;
    let merged: u64 = stats["seconds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["requests"].as_u64().unwrap())
        .sum();
    let received = target.received().len() as u64;
    assert!(received > 50, "{received}");
    assert_eq!(merged, received, "{stats}");
    assert_eq!(s["summary"]["requests"].as_u64(), Some(received), "{s}");

    // A generator that does not trust the listener's authority (system roots only) is refused
    // by its own TLS check, naming the certificate problem; the coordinator logs the failure.
    let url = format!("tls://127.0.0.1:{port}");
    let (code, stderr) = dial_by_hand(&url, &[]).await;
    assert_eq!(code, Some(4), "exits failed: {stderr}");
    assert!(stderr.contains("invalid peer certificate"), "{stderr}");
    assert!(stderr.contains("UnknownIssuer"), "{stderr}");
    assert!(stderr.contains("--ca-file"), "{stderr}");
    wait_logged(dir.path(), "the TLS handshake failed").await;

    // Trusting it through the environment (as a pod with the authority mounted from a Secret),
    // the generator gets as far as its hello: the token is what is refused.
    let (code, stderr) = dial_by_hand(&url, &[("LT_GENERATOR_CA_FILE", ca.as_str())]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("refused generator 0: wrong token: no running session has it"),
        "{stderr}"
    );

    // A clear-text generator against the TLS listener is refused with the reason.
    let (code, stderr) = dial_by_hand(&format!("tcp://127.0.0.1:{port}"), &[]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("this generator listener speaks TLS: dial it with tls://"),
        "{stderr}"
    );
    wait_logged(dir.path(), "this generator listener speaks TLS").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_listener_with_a_bad_key_file_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("bad.key");
    std::fs::write(&key, "not a key\n").unwrap();
    let cert = format!("{TLS_DIR}/server.pem");
    let key = key.display().to_string();
    let out = control::serve_refusing(
        &dir.path().join("data"),
        &[
            ("LT_GENERATORS__TLS__CERT_FILE", cert.as_str()),
            ("LT_GENERATORS__TLS__KEY_FILE", key.as_str()),
        ],
    )
    .await;
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("setting `generators.tls.key_file`")
            && out.stderr.contains("holds no private key"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_rows_travel_in_the_welcome_and_split_by_user() {
    let target = Fixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    // The scenarios folder only the server reads; it is gone once the session started.
    let scenarios = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(scenarios.path().join("data")).unwrap();
    let rows: String = (1..=9).map(|k| format!("r{k}\n")).collect();
    std::fs::write(
        scenarios.path().join("data/rows.csv"),
        format!("name\n{rows}"),
    )
    .unwrap();
    let bind = format!("127.0.0.1:{}", free_port());
    let server = Server::start_with_scenarios(
        dir.path(),
        scenarios.path(),
        &[("LT_GENERATORS__BIND", bind.as_str())],
    )
    .await;
    let yaml = format!(
        "name: rows\ntarget: {}\nload:\n  users: 9\n  generators: 3\n  duration: 4s\n  \
         think_time: {{ min: 20ms, max: 40ms }}\nendpoints:\n  \
         - {{ name: row, path: \"/e/{{{{ row.name }}}}\" }}\n\
         data: {{ file: data/rows.csv, mode: per_user }}\nuser_ids: {{ from: 1, to: 9 }}\n\
         protection:\n  max_errors_per_minute: off\n",
        target.url()
    );
    let id = server.start_session(&yaml).await;
    // No generator can read the file from disk now: what they use came in the welcome.
    let moved = dir.path().join("scenarios-gone");
    std::fs::rename(scenarios.path(), &moved).unwrap();
    let s = server
        .wait_status(&id, "completed", Duration::from_secs(60))
        .await;
    assert_eq!(worker_pids(&id), Vec::<u32>::new(), "no generator is left");
    let received = target.received();
    assert_eq!(
        s["summary"]["requests"].as_u64(),
        Some(received.len() as u64),
        "{s}"
    );
    // User n (id n + 1) keeps row n: each row is used by its user only, so by the generator
    // that owns that user (users 0-2, 3-5, 6-8).
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    for r in &received {
        let row = r.endpoint.trim_start_matches('r');
        assert_eq!(
            r.user_id.as_deref(),
            Some(row),
            "row {} sent by user {:?}",
            r.endpoint,
            r.user_id
        );
        *seen.entry(r.endpoint.clone()).or_default() += 1;
    }
    let names: Vec<String> = (1..=9).map(|k| format!("r{k}")).collect();
    assert_eq!(seen.keys().cloned().collect::<Vec<_>>(), names, "{seen:?}");
    for i in 0..3 {
        let log =
            std::fs::read_to_string(dir.path().join(format!("sessions/{id}/generator-{i}.log")))
                .unwrap();
        assert!(
            log.contains("generator starting its segment") && log.contains("users=3"),
            "generator {i}:\n{log}"
        );
    }
}

/// A relay in front of the generator listener that keeps a copy of every line a generator
/// sends (its hello, ticks and report), passing everything on unchanged both ways. Returns the
/// relay's port and the lines.
async fn tap(listener_port: u16) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let relay = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = relay.local_addr().unwrap().port();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = lines.clone();
    tokio::spawn(async move {
        while let Ok((generator, _)) = relay.accept().await {
            let coordinator = tokio::net::TcpStream::connect(("127.0.0.1", listener_port))
                .await
                .unwrap();
            let (from_generator, mut to_generator) = generator.into_split();
            let (mut from_coordinator, mut to_coordinator) = coordinator.into_split();
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut from_coordinator, &mut to_generator).await;
                let _ = to_generator.shutdown().await;
            });
            let kept = kept.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(from_generator).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let sent = to_coordinator
                        .write_all(format!("{line}\n").as_bytes())
                        .await;
                    kept.lock().unwrap().push(line);
                    if sent.is_err() {
                        break;
                    }
                }
                let _ = to_coordinator.shutdown().await;
            });
        }
    });
    (port, lines)
}

/// An empty histogram with the protocol's bounds (1 µs to 1 h, 3 significant digits).
fn one_histogram() -> hdrhistogram::Histogram<u64> {
    hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000, 3).unwrap()
}

/// The session's latency figures against those of one histogram holding every sample.
fn assert_same_latency(merged: &Value, all: &hdrhistogram::Histogram<u64>, what: &str) {
    for (field, q) in [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99)] {
        let one = all.value_at_quantile(q) as f64 / 1000.0;
        assert_eq!(
            merged[field].as_f64(),
            Some(one),
            "{what} {field}: {merged}"
        );
    }
    let max = all.max() as f64 / 1000.0;
    assert_eq!(merged["max"].as_f64(), Some(max), "{what} max: {merged}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_percentiles_equal_one_histogram_of_every_sample_and_no_scenario_reads_the_token() {
    let target = Fixture::start().await;
    // Two latencies far apart, so the upper percentiles sit in the slow endpoint's samples.
    target.set("b", Mode::Slow(Duration::from_millis(30)));
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let token = "relay-join-token-for-the-e2e-test-0123456789";
    let server = Server::start_external(dir.path(), port, token).await;
    // A scenario that asks for the join token gets its default: the token is the server's and
    // the generators' own, in their environments, and never read by `{{ env.* }}`.
    let scenario = yaml(&target.url(), 6, 3, "4s", "").replace(
        "- { name: a, path: /e/a, weight: 3 }",
        "- { name: a, path: /e/a, weight: 3, headers: { Authorization: \"Bearer {{ env.LT_GENERATOR_TOKEN | default('none') }}\" } }",
    );
    let id = server.start_session(&scenario).await;
    let (relay, lines) = tap(port).await;
    let generators: Vec<_> = (0..3)
        .map(|index| external_generator(relay, index, token))
        .collect();
    let s = server
        .wait_status(&id, "completed", Duration::from_secs(60))
        .await;
    for g in generators {
        let out = g.wait_with_output().await.unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // Every sample the generators sent, second by second, recorded into one histogram (and one
    // per endpoint), apart from the coordinator's merge.
    let mut all = one_histogram();
    let mut rows: BTreeMap<String, hdrhistogram::Histogram<u64>> = BTreeMap::new();
    let mut ticks = 0;
    for line in lines.lock().unwrap().iter() {
        let Ok(lt_protocol::WorkerEvent::Tick(tick)) = lt_protocol::decode_event(line) else {
            continue;
        };
        ticks += 1;
        let histograms = tick
            .histograms
            .expect("a generator's tick has its histograms");
        for (row, encoded) in tick.endpoints.iter().zip(&histograms.endpoints) {
            let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded)
                .unwrap();
            let second: hdrhistogram::Histogram<u64> =
                hdrhistogram::serialization::Deserializer::new()
                    .deserialize(&mut bytes.as_slice())
                    .unwrap();
            let row = rows.entry(row.name.clone()).or_insert_with(one_histogram);
            for v in second.iter_recorded() {
                all.record_n(v.value_iterated_to(), v.count_at_value())
                    .unwrap();
                row.record_n(v.value_iterated_to(), v.count_at_value())
                    .unwrap();
            }
        }
    }
    assert!(ticks >= 9, "3 generators, 4 s: {ticks} ticks");
    let summary = &s["summary"];
    let sent_a: Vec<_> = target
        .received()
        .into_iter()
        .filter(|r| r.endpoint == "a")
        .collect();
    assert!(!sent_a.is_empty());
    assert!(
        sent_a
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer none")),
        "{:?}",
        sent_a[0].authorization
    );
    let received = target.received().len() as u64;
    assert_eq!(all.len(), received);
    assert_eq!(summary["requests"].as_u64(), Some(received), "{s}");
    assert_same_latency(&summary["latency_ms"], &all, "the session");
    for e in summary["endpoints"].as_array().unwrap() {
        let name = e["name"].as_str().unwrap();
        assert_eq!(e["requests"].as_u64(), Some(rows[name].len()), "{e}");
        assert_same_latency(&e["latency_ms"], &rows[name], name);
    }
    eprintln!(
        "merged p50/p90/p99/max {}; one histogram of all {} samples: {:.3}/{:.3}/{:.3}/{:.3} ms",
        summary["latency_ms"],
        all.len(),
        all.value_at_quantile(0.5) as f64 / 1000.0,
        all.value_at_quantile(0.9) as f64 / 1000.0,
        all.value_at_quantile(0.99) as f64 / 1000.0,
        all.max() as f64 / 1000.0,
    );
}
