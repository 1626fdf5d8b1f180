//! The guard rails: every mutating route (taken from the OpenAPI document) refuses a missing and
//! a wrong token; targets off the allow-list are refused; caps answer 422 naming the cap; the
//! per-client rate limit answers 429; bad settings name their key and source.

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
            if method != "get" {
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
    let out = lt_testkit::run_binary(
        common::BIN,
        &[
            "serve",
            "--no-targets",
            "--bind",
            "127.0.0.1:0",
            "--data-dir",
            dir.path().to_str().unwrap(),
        ],
        &[("LT_MAX_SESSIONS", "lots")],
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("max_sessions"), "{}", out.stderr);
    assert!(out.stderr.contains("LT_"), "{}", out.stderr);
}
