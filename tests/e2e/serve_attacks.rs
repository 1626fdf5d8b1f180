//! The control server against the holes an attacker probed: URLs the allow-list and the HTTP
//! client would read differently, DNS rebinding through a foreign `Host`, and secrets in the
//! scenario files the server lists. Every target here is either the local fixture or an
//! unresolvable `.invalid` host that the server refuses, so no traffic can leave the machine.

mod common;
mod control;

use std::path::Path;
use std::time::Duration;

use control::{Server, TOKEN, scenario_yaml};
use lt_testkit::Fixture;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_allow_list_judges_the_host_the_client_would_use() {
    let target = Fixture::start().await;
    let port = target.addr.port();
    let dir = tempfile::tempdir().unwrap();
    let allowed = format!("127.0.0.1:{port}");
    let server = Server::start(dir.path(), &[("LT_ALLOWED_TARGETS", &allowed)]).await;
    let yaml = scenario_yaml(&target.url(), 1, &["a"], "");

    // (target override, the host the client would have used)
    let refused = [
        (
            format!("http://example.invalid\\@127.0.0.1:{port}/"),
            "example.invalid",
        ),
        (
            format!("http://127.0.0.1:{port}@example.invalid/"),
            "example.invalid",
        ),
        (
            format!("http://127.0.0.1:{port}:x@example.invalid:{port}/"),
            "example.invalid",
        ),
        (
            format!("http://ex%61mple.invalid:{port}/"),
            "example.invalid",
        ),
        (format!("http://EXAMPLE.invalid:{port}/"), "example.invalid"),
        (
            format!("http://exämple.invalid:{port}/"),
            "xn--exmple-cua.invalid",
        ),
        (
            format!("http://example.invalid.:{port}/"),
            "example.invalid.",
        ),
        (format!("http://2130706434:{port}/"), "127.0.0.2"),
        (format!("http://0177.0.0.2:{port}/"), "127.0.0.2"),
        (format!("http://0x7f000002:{port}/"), "127.0.0.2"),
        (
            format!("http://127.1:{}/", port.wrapping_add(1)),
            "127.0.0.1",
        ),
        (format!("http://[::2]:{port}/"), "::2"),
        (
            format!("http://[::ffff:127.0.0.1]:{port}/"),
            "::ffff:127.0.0.1",
        ),
    ];
    for (override_target, host) in &refused {
        let (status, body) = server
            .call(
                "POST",
                "/api/sessions",
                Some(json!({ "scenario_yaml": yaml, "overrides": { "target": override_target } })),
            )
            .await;
        assert_eq!(status, 403, "{override_target}: {body}");
        assert_eq!(body["code"], "target_not_allowed", "{override_target}");
        assert_eq!(body["details"]["host"], *host, "{override_target}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(host),
            "{override_target}: {body}"
        );
    }

    // An endpoint's absolute URL is judged too, and a relative path cannot climb out.
    let absolute = yaml.replace(
        "  - { name: a, path: /e/a }\n",
        "  - { name: a, path: /e/a }\n  - { name: away, path: 'http://example.invalid/x' }\n",
    );
    let (status, body) = server
        .call(
            "POST",
            "/api/sessions",
            Some(json!({ "scenario_yaml": absolute })),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["details"]["host"], "example.invalid");
    // So is a flow step's.
    let in_a_flow = format!(
        "{yaml}flows:\n  - name: f\n    steps:\n      - {{ name: away, path: 'http://example.invalid/x' }}\n"
    );
    let (status, body) = server
        .call(
            "POST",
            "/api/sessions",
            Some(json!({ "scenario_yaml": in_a_flow })),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["details"]["host"], "example.invalid");
    let climbing = yaml.replace(
        "  - { name: a, path: /e/a }\n",
        "  - { name: a, path: '/\\\\example.invalid/x' }\n",
    );
    let (status, body) = server
        .call(
            "POST",
            "/api/sessions",
            Some(json!({ "scenario_yaml": climbing })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("backslash"), "{body}");
    // A base URL with a query or fragment never gets as far as the allow-list.
    for sneaky in [
        format!("http://example.invalid#@127.0.0.1:{port}/"),
        format!("http://example.invalid?@127.0.0.1:{port}/"),
    ] {
        let (status, body) = server
            .call(
                "POST",
                "/api/sessions",
                Some(json!({ "scenario_yaml": yaml, "overrides": { "target": sneaky } })),
            )
            .await;
        assert_eq!(status, 422, "{sneaky}: {body}");
    }

    // Control: the same host written in hex is accepted, and requests really reach it.
    let (status, body) = server
        .call(
            "POST",
            "/api/sessions",
            Some(json!({ "scenario_yaml": yaml, "overrides": { "target": format!("http://0x7f000001:{port}") } })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while target.counts().get("a").copied().unwrap_or(0) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no request arrived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _) = server
        .call("POST", &format!("/api/sessions/{id}/stop"), None)
        .await;
    assert_eq!(status, 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_host_is_refused_on_every_route() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("LT_ALLOWED_HOSTS", "lt.proxy.test")]).await;
    let port = server.url.rsplit(':').next().unwrap().to_string();
    let doc = server.get("/api/openapi.json").await;
    let mut routes = vec![("GET".to_string(), "/".to_string())];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            routes.push((method.to_uppercase(), path.replace("{id}", "0000")));
        }
    }
    let send = |method: &str, path: &str, host: &str| {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        server
            .client
            .request(method, format!("{}{path}", server.url))
            .header("host", host)
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body("{}")
            .send()
    };
    for (method, path) in &routes {
        for host in [
            format!("rebind.evil.test:{port}"),
            "localhost.evil.test".to_string(),
        ] {
            let response = send(method, path, &host).await.unwrap();
            assert_eq!(response.status(), 421, "{method} {path} with Host {host}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["code"], "host_not_allowed", "{method} {path}");
            assert!(body["message"].as_str().unwrap().contains("allowed_hosts"));
        }
    }
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        "lt.proxy.test".to_string(),
        format!("LT.proxy.test:{port}"),
    ] {
        let response = send("GET", "/api/health", &host).await.unwrap();
        assert_eq!(response.status(), 200, "Host {host}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_in_a_scenario_file_reaches_the_target_and_nothing_else() {
    const SECRET: &str = "Zq8sEcReT-e2e-4711";
    let target = Fixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let scenarios = dir.path().join("scenarios");
    std::fs::create_dir_all(&scenarios).unwrap();
    let yaml = format!(
        "name: secret-e2e\ntarget: {}\nload:\n  users: 2\n  duration: 3s\n  think_time: {{ min: 20ms, max: 40ms }}\nendpoints:\n  - name: a\n    path: /e/a\n    headers:\n      Authorization: Bearer {SECRET}   # from the vault\n      X-Api-Key: \"{SECRET}\"\n      Accept: application/json\n",
        target.url()
    );
    std::fs::write(scenarios.join("secret.yaml"), &yaml).unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start_with_scenarios(&data, &scenarios, &[]).await;

    // The listing shows the file with the secrets masked in place, the rest as written.
    let listed = server.get("/api/scenarios").await;
    let text = listed["scenarios"][0]["yaml"].as_str().unwrap();
    assert!(!text.contains(SECRET), "{text}");
    assert!(
        text.contains("Authorization: '[redacted]'   # from the vault"),
        "{text}"
    );
    assert!(text.contains("Accept: application/json"), "{text}");
    // Sending the masked text back is refused by name, never sent as a credential.
    let masked = server
        .client
        .post(format!("{}/api/scenarios/validate", server.url))
        .body(text.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(masked.status(), 422);
    assert!(masked.text().await.unwrap().contains("mask"));

    // Started by file name, the worker reads the real value and the target receives it.
    let (status, body) = server
        .call(
            "POST",
            "/api/sessions",
            Some(json!({ "scenario": "secret" })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let mut events = server.events("/api/events", Some(0)).await;
    server
        .wait_status(&id, "completed", Duration::from_secs(60))
        .await;
    let received = target.received();
    assert!(!received.is_empty());
    assert!(
        received
            .iter()
            .all(|r| r.authorization.as_deref() == Some(&format!("Bearer {SECRET}")[..]))
    );

    let mut seen = String::new();
    while let Some(event) = events.next(Duration::from_millis(500)).await {
        seen.push_str(&event.data.to_string());
    }
    assert!(seen.contains(&id), "the event stream carried the session");
    for path in [
        "/api/scenarios".to_string(),
        "/api/sessions".to_string(),
        format!("/api/sessions/{id}"),
        format!("/api/sessions/{id}/stats"),
        format!("/api/sessions/{id}/errors"),
        format!("/api/sessions/{id}/report"),
        format!("/api/sessions/{id}/report.json"),
        format!("/api/sessions/{id}/junit.xml"),
        "/api/config/history".to_string(),
        "/api/audit".to_string(),
        "/api/settings".to_string(),
        "/metrics".to_string(),
    ] {
        let (status, body) = server.call("GET", &path, None).await;
        assert_eq!(status, 200, "{path}");
        seen.push_str(&body.to_string());
    }
    assert!(!seen.contains(SECRET), "an answer carried the secret");
    server.kill9().await;
    // The scan covers the folder that holds the store and the session's files.
    assert!(data.join("load-tester.db").exists());
    assert!(data.join("sessions").join(&id).is_dir());
    let leaks = files_holding(&data, SECRET.as_bytes());
    assert!(leaks.is_empty(), "files holding the secret: {leaks:?}");
}

/// Every file below `dir` whose bytes contain `needle` (the store, its WAL, logs, reports).
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path)
                && bytes.windows(needle.len()).any(|w| w == needle)
            {
                out.push(path.display().to_string());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_answered_in_the_one_error_shape() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let send = |method: &str, path: &str, body: Vec<u8>| {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        server
            .client
            .request(method, format!("{}{path}", server.url))
            .bearer_auth(TOKEN)
            .body(body)
            .send()
    };
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        ("GET", "/api/sessions?limit=lots", vec![], 400, "limit"),
        ("GET", "/api/config/history?limit=-1", vec![], 400, "limit"),
        ("GET", "/api/compare?a=x", vec![], 400, "b"),
        ("GET", "/api/sessions/%FF%FE", vec![], 400, "path"),
        (
            "POST",
            "/api/scenarios/validate",
            vec![b'n', 0xff, 0xfe],
            400,
            "UTF-8",
        ),
        (
            "POST",
            "/api/sessions",
            b"{not json".to_vec(),
            400,
            "not valid JSON",
        ),
        (
            "PATCH",
            "/api/sessions/nope",
            b"{\"users\": \"many\"}".to_vec(),
            422,
            "users",
        ),
        ("DELETE", "/api/sessions", vec![], 405, "DELETE"),
        ("GET", "/api/nothing-here", vec![], 404, "no route"),
        // Last: the server answers before reading it all and closes the connection.
        (
            "POST",
            "/api/sessions",
            vec![b' '; 2 * 1024 * 1024],
            413,
            "limit",
        ),
    ];
    for (method, path, body, want, names) in cases {
        let response = send(method, path, body).await.unwrap();
        assert_eq!(response.status().as_u16(), want, "{method} {path}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            content_type.starts_with("application/json"),
            "{method} {path}: {content_type}"
        );
        let body: Value = response.json().await.unwrap();
        assert!(
            body["code"].is_string() && body.get("details").is_some(),
            "{body}"
        );
        assert!(
            body["message"].as_str().unwrap().contains(names),
            "{method} {path}: {body}"
        );
    }
}
