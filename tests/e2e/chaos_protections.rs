//! The protections against a target that really misbehaves: the chaos service (targets, on its
//! embedded store, in this process on 127.0.0.1:0) hangs or answers errors on demand while a
//! real session of the control server or a real `load-tester run` drives it.
//!
//! - during a hang, requests time out and are counted as timeouts, each endpoint's breaker
//!   opens and requests are short-circuited instead of piling up; after it the breaker
//!   half-opens, closes, and traffic returns;
//! - during an error burst, load reduction parks users and restores them afterwards;
//! - a hang longer than the error budget aborts the run with exit code 3 and the reason.

mod common;
mod control;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::{load_tester, read_json};
use control::Server;
use lt_testkit::write_scenario;
use serde_json::{Value, json};
use targets::chaos::{self, ChaosConfig, ChaosState};
use tokio::sync::watch;

/// A chaos service on the embedded store, stopped (faults ended) when dropped.
struct ChaosTarget {
    url: String,
    state: ChaosState,
    _stop: watch::Sender<bool>,
}

impl ChaosTarget {
    async fn start() -> Self {
        let listener = targets::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = ChaosState::new(&ChaosConfig::default()).expect("chaos state");
        let (stop, _) = watch::channel(false);
        targets::spawn_server(listener, chaos::app(state.clone()), &stop);
        Self {
            url,
            state,
            _stop: stop,
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .expect("chaos control call");
        assert_eq!(response.status(), 200, "POST {path}");
        response.json().await.unwrap()
    }
}

impl Drop for ChaosTarget {
    fn drop(&mut self) {
        self.state.faults().stop_all();
    }
}

fn endpoints(tick: &Value) -> &Vec<Value> {
    tick["endpoints"].as_array().expect("endpoints")
}

fn class_sum(tick: &Value, class: &str) -> u64 {
    endpoints(tick)
        .iter()
        .map(|e| e["failures"][class].as_u64().unwrap_or(0))
        .sum()
}

fn breakers(tick: &Value) -> Vec<String> {
    endpoints(tick)
        .iter()
        .map(|e| e["breaker"].as_str().unwrap_or("?").to_owned())
        .collect()
}

/// One line of the timeline: second, requests, failures by class, short-circuited, breakers.
fn timeline_line(tick: &Value, note: &str) -> String {
    format!(
        "{:>3}s  req {:>4}  timeout {:>3}  5xx {:>3}  connect {:>2}  short-circuited {:>5}  users {}/{} parked {}  breakers {}  {note}",
        tick["second"].as_u64().unwrap_or(0),
        tick["requests"].as_u64().unwrap_or(0),
        class_sum(tick, "timeout"),
        class_sum(tick, "status_5xx"),
        class_sum(tick, "connect"),
        tick["short_circuited"].as_u64().unwrap_or(0),
        tick["active_users"],
        tick["target_users"],
        tick["load_reduction"]["parked_users"].as_u64().unwrap_or(0),
        breakers(tick).join(","),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_a_hang_the_breaker_opens_short_circuits_and_closes_after_it() {
    let chaos = ChaosTarget::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let yaml = format!(
        "name: chaos-hang\ntarget: {}\nload:\n  users: 4\n  duration: 5m\n  think_time: {{ min: 20ms, max: 40ms }}\n\
         endpoints:\n  - {{ name: visit, path: /, timeout: 800ms }}\n  - {{ name: read, path: /kv/a, timeout: 800ms, expect: [200, 404] }}\n\
         protection:\n  circuit_breaker: {{ consecutive_failures: 3, open_for: 500ms, half_open_probes: 1 }}\n\
         \x20 backoff: {{ initial: 50ms, max: 400ms, multiplier: 2.0 }}\n  max_errors_per_minute: off\n",
        chaos.url
    );
    let id = server.start_session(&yaml).await;
    let mut events = server
        .events(&format!("/api/sessions/{id}/events"), None)
        .await;
    let warm = events
        .until(Duration::from_secs(30), |e| {
            e.kind == "tick" && e.data["requests"].as_u64().unwrap_or(0) > 0
        })
        .await;
    let mut timeline = vec![timeline_line(&warm.data, "before")];

    let hang_seconds = 5.0;
    chaos
        .post(
            "/chaos/hang",
            json!({"seconds": hang_seconds, "scope": "requests"}),
        )
        .await;
    let hang_started = tokio::time::Instant::now();
    let hang_ends = hang_started + Duration::from_secs_f64(hang_seconds);
    let mut during = Vec::new();
    let mut after = Vec::new();
    let mut max_held = 0;
    // Ticks until two seconds after the hang in which every breaker is closed and traffic flows
    // without failures (generous limit: the machine may be loaded).
    let mut clean_after = 0;
    while clean_after < 2 {
        let tick = events
            .until(Duration::from_secs(30), |e| e.kind == "tick")
            .await
            .data;
        max_held = max_held.max(chaos.state.faults().metrics().held());
        let now = tokio::time::Instant::now();
        if now < hang_ends + Duration::from_millis(500) {
            timeline.push(timeline_line(&tick, "hang"));
            during.push(tick);
        } else {
            timeline.push(timeline_line(&tick, "after"));
            if breakers(&tick).iter().all(|b| b == "closed")
                && tick["requests"].as_u64().unwrap_or(0) > 0
                && tick["failures"] == 0
            {
                clean_after += 1;
            }
            after.push(tick);
        }
        assert!(
            now < hang_ends + Duration::from_secs(40),
            "traffic did not come back after the hang:\n{}",
            timeline.join("\n")
        );
    }
    let shown = timeline.join("\n");
    eprintln!("timeline around a {hang_seconds} s hang:\n{shown}");

    // Timeouts are classified as timeouts; nothing else failed.
    let timeouts: u64 = during.iter().map(|t| class_sum(t, "timeout")).sum();
    let others: u64 = during
        .iter()
        .chain(&after)
        .map(|t| class_sum(t, "connect") + class_sum(t, "status_5xx") + class_sum(t, "status_4xx"))
        .sum();
    assert!(timeouts >= 3, "{shown}");
    assert_eq!(others, 0, "{shown}");
    // Every endpoint's breaker opened; requests were short-circuited, far more than were sent.
    for name in ["visit", "read"] {
        let opened = during.iter().any(|t| {
            endpoints(t)
                .iter()
                .any(|e| e["name"] == name && e["breaker"] != "closed")
        });
        assert!(opened, "{name}'s breaker never opened:\n{shown}");
    }
    let sent: u64 = during.iter().map(|t| t["requests"].as_u64().unwrap()).sum();
    let short: u64 = during
        .iter()
        .map(|t| t["short_circuited"].as_u64().unwrap())
        .sum();
    assert!(
        short > sent * 3,
        "short-circuited {short}, sent {sent}:\n{shown}"
    );
    // Requests did not pile up in the hung service: never more held than users send at once.
    assert!(max_held <= 8, "{max_held} requests held at once:\n{shown}");
    // The breaker probed (half-open) at least once, and closed again after the hang.
    let half_open = during
        .iter()
        .chain(&after)
        .any(|t| breakers(t).iter().any(|b| b == "half_open"));
    assert!(half_open, "no tick saw a half-open breaker:\n{shown}");
    let last = after.last().unwrap();
    assert!(breakers(last).iter().all(|b| b == "closed"), "{shown}");

    let (status, body) = server
        .call("POST", &format!("/api/sessions/{id}/stop"), None)
        .await;
    assert_eq!(status, 202, "{body}");
    server
        .wait_status(&id, "stopped", Duration::from_secs(30))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_an_error_burst_load_reduction_parks_users_and_restores_them() {
    let chaos = ChaosTarget::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let yaml = format!(
        "name: chaos-errors\ntarget: {}\nload:\n  users: 8\n  duration: 5m\n  think_time: {{ min: 20ms, max: 40ms }}\n\
         endpoints:\n  - {{ name: visit, path: / }}\n\
         protection:\n  load_reduction: {{ error_rate: 0.5, window: 2s, reduce_by: 0.5, min_users: 1, restore_every: 1s }}\n\
         \x20 max_errors_per_minute: off\n",
        chaos.url
    );
    let id = server.start_session(&yaml).await;
    let mut events = server
        .events(&format!("/api/sessions/{id}/events"), None)
        .await;
    events
        .until(Duration::from_secs(30), |e| {
            e.kind == "tick"
                && e.data["active_users"] == 8
                && e.data["requests"].as_u64().unwrap_or(0) > 0
        })
        .await;
    chaos
        .post(
            "/chaos/error",
            json!({"rate": 1.0, "status": 503, "seconds": 4}),
        )
        .await;
    let parked = events
        .until(Duration::from_secs(15), |e| {
            e.kind == "tick"
                && e.data["load_reduction"]["parked_users"]
                    .as_u64()
                    .unwrap_or(0)
                    > 0
        })
        .await;
    assert!(
        parked.data["active_users"].as_u64().unwrap() < 8,
        "{}",
        parked.data
    );
    assert!(
        class_sum(&parked.data, "status_5xx") > 0
            || parked.data["total_failures"].as_u64().unwrap() > 0
    );
    // After the burst the users come back, step by step, and requests succeed again.
    let restored = events
        .until(Duration::from_secs(30), |e| {
            e.kind == "tick"
                && e.data["load_reduction"]["parked_users"] == 0
                && e.data["active_users"] == 8
                && e.data["failures"] == 0
                && e.data["requests"].as_u64().unwrap_or(0) > 0
        })
        .await;
    assert!(restored.id > parked.id);

    let (status, body) = server
        .call("POST", &format!("/api/sessions/{id}/stop"), None)
        .await;
    assert_eq!(status, 202, "{body}");
    server
        .wait_status(&id, "stopped", Duration::from_secs(30))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hang_longer_than_the_error_budget_aborts_the_run_with_exit_code_3() {
    let chaos = ChaosTarget::start().await;
    chaos
        .post("/chaos/hang", json!({"seconds": 120, "scope": "requests"}))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "name: chaos-budget\ntarget: {}\nload:\n  users: 4\n  duration: 60s\n  think_time: {{ min: 0s, max: 10ms }}\n\
         endpoints:\n  - {{ name: visit, path: /, timeout: 300ms }}\n\
         protection:\n  max_errors_per_minute: 10\n",
        chaos.url
    );
    let file = write_scenario(dir.path(), "budget.yaml", &yaml);
    let report = dir.path().join("report.json");
    let started = std::time::Instant::now();
    let out = load_tester(&[
        "run",
        file.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "--quiet",
    ])
    .await;
    assert_eq!(out.code, Some(3), "{}\n{}", out.stdout, out.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(45),
        "the run was not cut short"
    );
    let json = read_json(&report);
    assert_eq!(json["end_reason"]["kind"], "aborted", "{json}");
    let reason = json["end_reason"]["reason"].as_str().unwrap();
    assert!(reason.contains("error"), "{reason}");
    let printed = format!("{}{}", out.stdout, out.stderr);
    assert!(printed.contains(reason), "{printed}");
    let timeouts = json["endpoints"][0]["failures_by_class"]["timeout"]
        .as_u64()
        .unwrap();
    assert!(timeouts > 10, "{json}");
    chaos.post("/chaos/stop", json!({})).await;
}
