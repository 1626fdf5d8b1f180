//! The guard rails: every mutating route (taken from the OpenAPI document) refuses a missing and
//! a wrong token; targets off the allow-list are refused; caps answer 422 naming the cap; the
//! per-client rate limit answers 429; bad settings name their key and source; the panel's
//! assets, its token check and runtime settings.

mod common;
mod control;

use std::time::Duration;

use control::{Server, scenario_yaml};
use lt_testkit::Fixture;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mutating_route_refuses_a_missing_or_wrong_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let doc = server.get("/api/openapi.json").await;
    let mut mutating = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            // Validating YAML is a POST that changes nothing: a read.
            if method != "get" && path != "/api/scenarios/validate" {
                assert!(
                    op.get("security").is_some(),
                    "{method} {path} should declare the bearer requirement"
                );
                mutating.push((method.to_uppercase(), path.replace("{id}", "0000")));
            }
        }
    }
    assert!(mutating.len() >= 5, "{mutating:?}");
    for (method, path) in &mutating {
        for token in [None, Some("not-the-token-at-all")] {
            let (status, body) = server.call_as(method, path, Some(json!({})), token).await;
            assert_eq!(status, 401, "{method} {path} with {token:?}: {body}");
            assert_eq!(body["code"], "unauthorized");
            assert!(body["message"].is_string() && body.get("details").is_some());
        }
    }
    // Reads stay open on loopback; the refusals are in the audit log.
    let audit = server.get("/api/audit?limit=1000").await;
    let refused = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["status"] == 401 && e["who"] == "anonymous")
        .count();
    assert_eq!(refused, mutating.len() * 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_list_caps_and_rate_limit_refuse_with_their_names() {
    let target = Fixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[
            ("LT_MAX_USERS_PER_SESSION", "5"),
            ("LT_MAX_SESSIONS", "1"),
            ("LT_MAX_ARRIVAL_RATE", "50"),
            ("LT_ALLOWED_TARGETS", "127.0.0.1"),
        ],
    )
    .await;

    let (status, body) = server
        .call(
            "POST",
            "/api/sessions",
            Some(json!({ "scenario_yaml": scenario_yaml("http://example.com", 1, &["a"], "") })),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "target_not_allowed");
    assert!(body["message"].as_str().unwrap().contains("example.com"));
    // An override can't sneak around it either.
    let (status, _) = server
        .call(
            "POST",
            "/api/sessions",
            Some(json!({
                "scenario_yaml": scenario_yaml(&target.url(), 1, &["a"], ""),
                "overrides": { "target": "http://localhost:1" }
            })),
        )
        .await;
    assert_eq!(status, 403);

    let (status, body) = server
        .call(
            "POST",
            "/api/sessions",
            Some(json!({ "scenario_yaml": scenario_yaml(&target.url(), 3, &["a"], "") })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["details"]["cap"], "max_users_per_session");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("max_users_per_session")
    );

    let (status, body) = server
        .call(
            "POST",
            "/api/sessions",
            Some(json!({
                "scenario_yaml": scenario_yaml(&target.url(), 1, &["a"], ""),
                "overrides": { "arrival_rate": 500 }
            })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["details"]["cap"], "max_arrival_rate");

    let first = server
        .start_session(&scenario_yaml(&target.url(), 1, &["a"], ""))
        .await;
    let (status, body) = server
        .call(
            "POST",
            "/api/sessions",
            Some(json!({ "scenario_yaml": scenario_yaml(&target.url(), 1, &["a"], "") })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["details"]["cap"], "max_sessions");

    // Unknown fields in a request are named.
    let (status, body) = server
        .call(
            "POST",
            "/api/sessions",
            Some(json!({ "scenario": "smoke", "overides": {} })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("overides"),
        "{body}"
    );

    let (status, _) = server
        .call("POST", &format!("/api/sessions/{first}/stop"), None)
        .await;
    assert_eq!(status, 202);
    server
        .wait_status(&first, "stopped", Duration::from_secs(30))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_the_rate_limit_gets_429() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("LT_RATE_LIMIT", "5")]).await;
    let mut statuses = Vec::new();
    for _ in 0..30 {
        let response = server
            .client
            .get(format!("{}/api/sessions", server.url))
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            assert!(response.headers().contains_key("retry-after"));
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["code"], "rate_limited");
            statuses.push(429);
        } else {
            statuses.push(response.status().as_u16());
        }
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(statuses[0], 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_setting_names_its_key_and_source() {
    let dir = tempfile::tempdir().unwrap();
    let out = control::serve_refusing(dir.path(), &[("LT_MAX_SESSIONS", "lots")]).await;
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("max_sessions"), "{}", out.stderr);
    assert!(out.stderr.contains("LT_"), "{}", out.stderr);
}

#[tokio::test]
async fn the_panel_token_check_and_runtime_settings() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;

    // The panel is served without a token, with a strict content policy.
    let page = server
        .client
        .get(format!("{}/", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    let etag = page.headers()["etag"].to_str().unwrap().to_string();
    assert!(page.text().await.unwrap().contains("/assets/app.js"));
    let again = server
        .client
        .get(format!("{}/assets/app.js", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    assert!(
        again.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    let cached = server
        .client
        .get(format!("{}/", server.url))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);

    // GET /api/token tells a right token from a wrong or missing one; a wrong token is refused
    // even on a read that needs none.
    let (status, body) = server.call("GET", "/api/token", None).await;
    assert_eq!((status, body["actor"].as_str()), (200, Some("api-token")));
    for token in [None, Some("not-the-token-at-all")] {
        let (status, body) = server.call_as("GET", "/api/token", None, token).await;
        assert_eq!(status, 401, "{token:?}: {body}");
    }
    let (status, body) = server
        .call_as("GET", "/api/sessions", None, Some("not-the-token-at-all"))
        .await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("not this server's")
    );

    // Validating YAML is a read: open on loopback and not audited.
    let response = server
        .client
        .post(format!("{}/api/scenarios/validate", server.url))
        .body("name: x\nload: { users: 0 }\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);

    // Runtime settings: all or nothing, named, recorded.
    let (status, body) = server
        .call(
            "PATCH",
            "/api/settings",
            Some(json!({"max_sessions": 3, "stop_timeout": "soon"})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["details"]["field"], "stop_timeout");
    assert!(body["message"].as_str().unwrap().contains("soon"), "{body}");
    let (status, body) = server
        .call("PATCH", "/api/settings", Some(json!({"bind": "0.0.0.0:1"})))
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["message"].as_str().unwrap().contains("cannot change"));
    assert_eq!(server.get("/api/settings").await["max_sessions"], 16);
    let (status, body) = server
        .call(
            "PATCH",
            "/api/settings",
            Some(json!({"max_sessions": 1, "stop_timeout": "3s"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["settings"]["max_sessions"], 1);
    assert_eq!(body["changes"].as_array().unwrap().len(), 2);
    let settings = server.get("/api/settings").await;
    assert_eq!(settings["stop_timeout"], "3s");
    assert!(
        settings["changeable"]
            .as_array()
            .unwrap()
            .contains(&json!("rate_limit"))
    );
    let history = server.get("/api/config/history").await;
    let fields: Vec<&str> = history["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["field"].as_str())
        .collect();
    assert!(fields.contains(&"setting:max_sessions"), "{history}");
    // The new cap is in force at once.
    let target = "http://127.0.0.1:9"; // nothing listens; sessions still start
    let yaml = scenario_yaml(target, 1, &["ok"], "");
    server.start_session(&yaml).await;
    let (status, body) = server
        .call(
            "POST",
            "/api/sessions",
            Some(json!({ "scenario_yaml": yaml })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["details"]["cap"], "max_sessions");
    let audit = server.get("/api/audit?limit=1000").await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"PATCH /api/settings"));
    assert!(
        !actions.iter().any(|a| a.contains("validate")),
        "{actions:?}"
    );
    server.call("POST", "/api/emergency-stop", None).await;
}
