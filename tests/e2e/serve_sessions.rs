//! A session's whole life through the control server: started over REST, watched over SSE,
//! changed live, stopped, and found afterwards in stats, errors, reports, history and audit.

mod common;
mod control;

use std::time::Duration;

use control::{Server, scenario_yaml};
use lt_testkit::{Fixture, Mode};
use serde_json::json;

fn endpoint_requests(tick: &serde_json::Value, name: &str) -> u64 {
    tick["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .map(|e| e["requests"].as_u64().unwrap())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_is_started_watched_changed_stopped_and_recorded() {
    let target = Fixture::start().await;
    target.set("broken", Mode::Status(500));
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let yaml = scenario_yaml(&target.url(), 4, &["a", "b", "broken"], "");
    let id = server.start_session(&yaml).await;
    let mut events = server
        .events(&format!("/api/sessions/{id}/events"), None)
        .await;

    // Ticks arrive once a second with every endpoint.
    let first = events
        .until(Duration::from_secs(30), |e| e.kind == "tick")
        .await;
    assert_eq!(first.data["session_id"], id.as_str());
    assert_eq!(first.data["endpoints"].as_array().unwrap().len(), 3);
    events
        .until(Duration::from_secs(10), |e| {
            e.kind == "tick" && endpoint_requests(&e.data, "a") > 0
        })
        .await;

    // Live change: fewer users, no more traffic to `a`.
    let (status, body) = server
        .call(
            "PATCH",
            &format!("/api/sessions/{id}"),
            Some(json!({ "users": 2, "weights": { "a": 0 } })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["config"]["users"], 2);
    let change = events
        .until(Duration::from_secs(5), |e| e.kind == "change")
        .await;
    assert_eq!(change.data["who"], "api-token");
    // Within a second or two the ticks show it: target users 2, and `a` silent for a whole second.
    let changed = events
        .until(Duration::from_secs(10), |e| {
            e.kind == "tick"
                && e.data["target_users"] == 2
                && e.data["active_users"] == 2
                && endpoint_requests(&e.data, "a") == 0
                && endpoint_requests(&e.data, "b") > 0
        })
        .await;
    assert!(changed.id > first.id);

    // The answer is the worker's verdict. Right after a tick (the server's view of the weights is
    // then a second old), two changes that are each fine but together would leave no endpoint
    // with a weight pass the server's check; the worker refuses the second, and its caller hears
    // it, with nothing of it applied.
    events
        .until(Duration::from_secs(5), |e| e.kind == "tick")
        .await;
    let (status, body) = server
        .call(
            "PATCH",
            &format!("/api/sessions/{id}"),
            Some(json!({ "weights": { "b": 0 } })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server
        .call(
            "PATCH",
            &format!("/api/sessions/{id}"),
            Some(json!({ "weights": { "broken": 0 }, "users": 3 })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["details"]["by"], "worker", "{body}");
    assert!(body["message"].as_str().unwrap().contains("zero"), "{body}");
    let (status, body) = server
        .call(
            "PATCH",
            &format!("/api/sessions/{id}"),
            Some(json!({ "weights": { "b": 1 } })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["config"]["users"], 2,
        "the refused change set no users: {body}"
    );

    // An unknown endpoint in a weights change is refused, naming it; nothing is applied.
    let (status, body) = server
        .call(
            "PATCH",
            &format!("/api/sessions/{id}"),
            Some(json!({ "users": 3, "weights": { "nope": 1 } })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "unknown_endpoint");
    assert!(body["message"].as_str().unwrap().contains("nope"), "{body}");
    let (status, body) = server
        .call(
            "PATCH",
            &format!("/api/sessions/{id}"),
            Some(json!({ "users": 99 })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("max_users"),
        "{body}"
    );

    // Errors are grouped with trace ids.
    events
        .until(Duration::from_secs(10), |e| e.kind == "error")
        .await;

    // A client that reconnects with Last-Event-ID gets what came after it, in order.
    let mut resumed = server
        .events(&format!("/api/sessions/{id}/events"), Some(first.id))
        .await;
    let next = resumed.next(Duration::from_secs(5)).await.unwrap();
    assert!(next.id > first.id);
    let mut last = next.id;
    for _ in 0..20 {
        let e = resumed.next(Duration::from_secs(5)).await.unwrap();
        assert!(e.id > last, "ids go up: {} after {last}", e.id);
        assert_eq!(e.data["session_id"], id.as_str());
        last = e.id;
    }

    // The list of running sessions shows it with live figures.
    let running = server.get("/api/sessions?status=running").await;
    let listed = &running["sessions"].as_array().unwrap()[0];
    assert_eq!(listed["id"], id.as_str());
    assert!(listed["totals"]["requests"].as_u64().unwrap() > 0);

    // Graceful stop.
    let (status, body) = server
        .call("POST", &format!("/api/sessions/{id}/stop"), None)
        .await;
    assert_eq!(status, 202, "{body}");
    let ended = events
        .until(Duration::from_secs(30), |e| {
            e.kind == "lifecycle" && e.data["status"] == "stopped"
        })
        .await;
    assert!(
        ended.data["reason"].as_str().unwrap().contains("api-token"),
        "{}",
        ended.data
    );
    let session = server
        .wait_status(&id, "stopped", Duration::from_secs(5))
        .await;
    assert!(
        session["summary"]["requests"].as_u64().unwrap() > 0,
        "{session}"
    );
    assert!(session["ended_at_ms"].as_u64().is_some());

    // What it left: per-second stats, grouped errors, reports, history, audit.
    let stats = server.get(&format!("/api/sessions/{id}/stats")).await;
    let seconds = stats["seconds"].as_array().unwrap();
    assert!(seconds.len() >= 3, "{stats}");
    assert_eq!(seconds[0]["endpoints"].as_array().unwrap().len(), 3);
    let errors = server.get(&format!("/api/sessions/{id}/errors")).await;
    let group = &errors["errors"].as_array().unwrap()[0];
    assert_eq!(group["endpoint"], "broken");
    assert_eq!(group["status"], 500);
    assert!(
        !group["trace_ids"].as_array().unwrap().is_empty(),
        "{group}"
    );
    for (path, marker) in [
        ("report", "<html"),
        ("report.json", "\"end_reason\""),
        ("junit.xml", "<testsuite"),
    ] {
        let (status, body) = server
            .call("GET", &format!("/api/sessions/{id}/{path}"), None)
            .await;
        assert_eq!(status, 200, "{path}: {body}");
        let text = match &body {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        assert!(text.contains(marker), "{path} lacks {marker}");
    }
    let history = server
        .get(&format!("/api/config/history?session={id}"))
        .await;
    let fields: Vec<&str> = history["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"users") && fields.contains(&"weights"),
        "{history}"
    );
    let users_change = history["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "users")
        .unwrap();
    assert_eq!(users_change["old"], 4);
    assert_eq!(users_change["new"], 2);
    let audit = server.get("/api/audit").await;
    let actions: Vec<String> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e["action"].as_str().unwrap(), e["status"]))
        .collect();
    for wanted in [
        "POST /api/sessions 201".to_string(),
        format!("PATCH /api/sessions/{id} 200"),
        format!("PATCH /api/sessions/{id} 422"),
        format!("POST /api/sessions/{id}/stop 202"),
    ] {
        assert!(actions.contains(&wanted), "{wanted} not in {actions:?}");
    }
    let metrics = server
        .client
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("lt_store_write_transactions_total"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_yaml_over_the_api_gets_the_cli_s_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "name: bad\ntarget: ftp://x\nload:\n  users: -3\n  think_time: { min: 5s, max: 1s }\nendpoints:\n  - { name: a, path: /a, wieght: 2 }\n";
    let file = lt_testkit::write_scenario(dir.path(), "bad.yaml", yaml);
    let cli = common::load_tester(&["validate", file.to_str().unwrap()]).await;
    assert_eq!(cli.code, Some(2));
    let cli_lines: Vec<String> = format!("{}{}", cli.stdout, cli.stderr)
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("{}:", file.display())))
        .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        .map(|rest| format!("<api>:{rest}"))
        .collect();
    assert!(cli_lines.len() >= 3, "{cli_lines:?}");

    let server = Server::start(dir.path(), &[]).await;
    let response = server
        .client
        .post(format!("{}/api/scenarios/validate", server.url))
        .bearer_auth(control::TOKEN)
        .body(yaml)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "invalid_scenario");
    let api_lines: Vec<String> = body["details"]["text"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    assert_eq!(api_lines, cli_lines);
    let first = &body["details"]["diagnostics"][0];
    assert!(first["line"].as_u64().unwrap() > 0 && first["column"].as_u64().unwrap() > 0);

    // Starting it gets the same answer and starts nothing.
    let (status, body) = server
        .call(
            "POST",
            "/api/sessions",
            Some(json!({ "scenario_yaml": yaml })),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        body["details"]["text"].as_array().unwrap().len(),
        api_lines.len()
    );
    let all = server.get("/api/sessions").await;
    assert!(all["sessions"].as_array().unwrap().is_empty());

    // A valid one answers with its summary; a shipped scenario is listed.
    let listed = server.get("/api/scenarios").await;
    assert!(
        listed["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["file"] == "smoke.yaml" && s["valid"] == true),
        "{listed}"
    );
}
