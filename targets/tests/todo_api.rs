//! The Todo API over HTTP on a real server: CRUD round trip, pagination and filter, every
//! validation error with its message, 404s, timestamps, `/metrics` moving with the data, the
//! OpenAPI document and docs page; on SQLite and, with `TEST_DATABASE_URL`, PostgreSQL.

mod common;

use common::{Kind, TestLab};
use serde_json::{Value, json};

const BASE: &str = "/api/v1/todos";

/// (field, value echoed, message) of one expected problem.
type Expected = (&'static str, Value, &'static str);

struct Api<'a> {
    lab: &'a TestLab,
}

impl Api<'_> {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&str>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut request = self
            .lab
            .client
            .request(method, self.lab.todo(path))
            .header("x-user-id", "7");
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        let response = request.send().await.expect("request");
        let headers = response.headers().clone();
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
        };
        (status, value, headers)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let (status, body, _) = self.send(reqwest::Method::GET, path, None).await;
        (status, body)
    }

    async fn post(&self, body: &Value) -> (u16, Value) {
        let (status, body, _) = self
            .send(reqwest::Method::POST, BASE, Some(&body.to_string()))
            .await;
        (status, body)
    }

    async fn metrics(&self) -> String {
        self.lab
            .client
            .get(self.lab.todo("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }
}

fn problems(body: &Value) -> Vec<(String, Value, String)> {
    common::assert_error_shape(body, "validation");
    body["details"]["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("no problems: {body}"))
        .iter()
        .map(|p| {
            (
                p["field"].as_str().unwrap_or_default().to_owned(),
                p["value"].clone(),
                p["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The value of the series `name{service="todo-api"...}` whose labels contain `labels`.
fn series(text: &str, name: &str, labels: &str) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .find(|l| l.contains(labels))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn crud_round_trip(kind: Kind) {
    let Some(lab) = TestLab::start(kind).await else {
        return;
    };
    let api = Api { lab: &lab };

    // The seed: 100 todos at the test scale, todo 1 the newest seeded one.
    let (status, page) = api.get(&format!("{BASE}?limit=5")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 100, "{page}");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(5));
    assert_eq!(
        page["items"][0]["id"], "00000000-0000-4000-8000-000000000001",
        "{page}"
    );

    // Create.
    let before = chrono::Utc::now();
    let (status, created, headers) = api
        .send(
            reqwest::Method::POST,
            BASE,
            Some(r#"{"title": "Buy milk", "description": "2 litres"}"#),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(id.len(), 36);
    assert_eq!(
        headers.get("location").and_then(|v| v.to_str().ok()),
        Some(format!("{BASE}/{id}").as_str())
    );
    assert_eq!(created["title"], "Buy milk");
    assert_eq!(created["description"], "2 litres");
    assert_eq!(created["completed"], false);
    let created_at = created["created_at"]
        .as_str()
        .expect("created_at")
        .to_owned();
    assert_eq!(created["updated_at"], created_at.as_str(), "{created}");
    let parsed = chrono::DateTime::parse_from_rfc3339(&created_at).expect("RFC 3339");
    assert!(
        parsed >= before - chrono::Duration::seconds(1),
        "{created_at}"
    );
    assert!(
        created_at.ends_with('Z') && created_at.len() == 27,
        "{created_at}"
    );

    // Read back; newest first puts it at the top.
    let (status, got) = api.get(&format!("{BASE}/{id}")).await;
    assert_eq!((status, &got), (200, &created));
    let (_, page) = api.get(BASE).await;
    assert_eq!(page["items"][0]["id"], id.as_str());
    assert_eq!(page["total"], 101);
    assert_eq!(page["limit"], 20);

    // PATCH changes only what is sent and moves updated_at.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let (status, patched, _) = api
        .send(
            reqwest::Method::PATCH,
            &format!("{BASE}/{id}"),
            Some(r#"{"completed": true}"#),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["completed"], true);
    assert_eq!(patched["title"], "Buy milk");
    assert_eq!(patched["description"], "2 litres");
    assert_eq!(patched["created_at"], created_at.as_str());
    assert!(
        patched["updated_at"].as_str() > Some(created_at.as_str()),
        "{patched}"
    );

    // PUT replaces: what is left out goes back to its default.
    let (status, replaced, _) = api
        .send(
            reqwest::Method::PUT,
            &format!("{BASE}/{id}"),
            Some(r#"{"title": "Buy oat milk"}"#),
        )
        .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["title"], "Buy oat milk");
    assert_eq!(replaced["description"], Value::Null);
    assert_eq!(replaced["completed"], false);
    assert_eq!(replaced["created_at"], created_at.as_str());

    // Delete, then it is gone everywhere.
    let (status, body, _) = api
        .send(reqwest::Method::DELETE, &format!("{BASE}/{id}"), None)
        .await;
    assert_eq!((status, body), (204, Value::Null));
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let (status, body, _) = api.send(method, &format!("{BASE}/{id}"), None).await;
        assert_eq!(status, 404, "{body}");
        common::assert_error_shape(&body, "not_found");
        assert_eq!(body["details"]["id"], id.as_str());
        assert_eq!(body["message"], format!("todo {id} does not exist"));
    }
    for method in [reqwest::Method::PUT, reqwest::Method::PATCH] {
        let (status, body, _) = api
            .send(method, &format!("{BASE}/{id}"), Some(r#"{"title": "x"}"#))
            .await;
        assert_eq!(status, 404, "{body}");
    }
    let (_, page) = api.get(BASE).await;
    assert_eq!(page["total"], 100);
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crud_round_trip_sqlite() {
    crud_round_trip(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crud_round_trip_postgres() {
    crud_round_trip(Kind::Postgres).await;
}

async fn pagination_and_filter(kind: Kind) {
    let Some(lab) = TestLab::start(kind).await else {
        return;
    };
    let api = Api { lab: &lab };
    let (_, all) = api.get(&format!("{BASE}?limit=100")).await;
    let ids: Vec<&str> = all["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids.len(), 100);
    let created: Vec<&str> = all["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["created_at"].as_str().expect("created_at"))
        .collect();
    assert!(
        created.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {created:?}"
    );

    // Pages tile the list.
    let (_, page) = api.get(&format!("{BASE}?skip=10&limit=5")).await;
    let page_ids: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["id"].as_str().expect("id"))
        .collect();
    assert_eq!(page_ids, ids[10..15]);
    assert_eq!(
        (page["skip"].as_i64(), page["total"].as_i64()),
        (Some(10), Some(100))
    );
    let (_, past_end) = api.get(&format!("{BASE}?skip=1000")).await;
    assert_eq!(past_end["items"], json!([]));
    assert_eq!(past_end["total"], 100);

    // The filter: totals add up, every item matches.
    let mut sum = 0;
    for state in [true, false] {
        let (status, page) = api
            .get(&format!("{BASE}?completed={state}&limit=100"))
            .await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().expect("items");
        assert!(items.iter().all(|t| t["completed"] == state), "{page}");
        assert_eq!(page["total"].as_u64(), Some(items.len() as u64));
        assert_eq!(page["completed"], state);
        sum += items.len();
    }
    assert_eq!(sum, 100);
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_and_filter_sqlite() {
    pagination_and_filter(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_and_filter_postgres() {
    pagination_and_filter(Kind::Postgres).await;
}

async fn bad_input(kind: Kind) {
    let Some(lab) = TestLab::start(kind).await else {
        return;
    };
    let api = Api { lab: &lab };
    let long = "x".repeat(201);

    // Body fields: each bad field is named with its value and what is wrong.
    let cases: Vec<(Value, Vec<Expected>)> = vec![
        (json!({}), vec![("title", Value::Null, "is required")]),
        (
            json!({"title": ""}),
            vec![("title", json!(""), "must not be empty or only spaces")],
        ),
        (
            json!({"title": "   "}),
            vec![("title", json!("   "), "must not be empty or only spaces")],
        ),
        (
            json!({"title": long}),
            vec![(
                "title",
                json!(format!("{}…", "x".repeat(100))),
                "must be at most 200 characters, got 201",
            )],
        ),
        (
            json!({"title": 5, "completed": "yes", "description": ["a"]}),
            vec![
                ("title", json!(5), "must be a string, got a number"),
                (
                    "description",
                    json!(["a"]),
                    "must be a string or null, got an array",
                ),
                (
                    "completed",
                    json!("yes"),
                    "must be true or false, got a string",
                ),
            ],
        ),
        (
            json!({"title": "ok", "priority": "high"}),
            vec![(
                "priority",
                json!("high"),
                "unknown field; expected title, description, completed",
            )],
        ),
        (
            json!(["title"]),
            vec![("body", json!("[…]"), "must be a JSON object, got an array")],
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = api.post(&body).await;
        assert_eq!(status, 422, "{body} -> {answer}");
        let got = problems(&answer);
        let expected: Vec<(String, Value, String)> = expected
            .into_iter()
            .map(|(f, v, m)| (f.to_owned(), v, m.to_owned()))
            .collect();
        assert_eq!(got, expected, "{body} -> {answer}");
        assert_eq!(answer["trace_id"].as_str().map(str::len), Some(32));
    }
    let exactly_200 = "é".repeat(200);
    let (status, answer) = api.post(&json!({ "title": exactly_200 })).await;
    assert_eq!(status, 201, "200 characters are allowed: {answer}");

    // PATCH needs a field; the path id must be a UUID (reported with the body's problems).
    let seeded = format!("{BASE}/00000000-0000-4000-8000-000000000001");
    let (status, answer, _) = api.send(reqwest::Method::PATCH, &seeded, Some("{}")).await;
    assert_eq!(status, 422);
    assert_eq!(problems(&answer)[0].0, "body");
    let (status, answer, _) = api
        .send(
            reqwest::Method::PUT,
            &format!("{BASE}/not-a-uuid"),
            Some(r#"{"title": ""}"#),
        )
        .await;
    assert_eq!(status, 422);
    let fields: Vec<String> = problems(&answer).into_iter().map(|p| p.0).collect();
    assert_eq!(fields, ["path.id", "title"], "{answer}");
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let (status, answer, _) = api.send(method, &format!("{BASE}/42"), None).await;
        assert_eq!(status, 422, "{answer}");
        let p = problems(&answer);
        assert_eq!((p[0].0.as_str(), &p[0].1), ("path.id", &json!("42")));
        assert!(p[0].2.starts_with("must be a UUID"), "{answer}");
    }

    // Query parameters.
    let (status, answer) = api
        .get(&format!("{BASE}?skip=-1&limit=500&completed=maybe"))
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        problems(&answer),
        vec![
            (
                "query.skip".to_owned(),
                json!("-1"),
                "must be an integer from 0 to 1000000000".to_owned()
            ),
            (
                "query.limit".to_owned(),
                json!("500"),
                "must be an integer from 1 to 100".to_owned()
            ),
            (
                "query.completed".to_owned(),
                json!("maybe"),
                "must be true or false".to_owned()
            ),
        ]
    );

    // Not JSON: 415 without a JSON content type, 400 for a malformed or empty body.
    let response = lab
        .client
        .post(lab.todo(BASE))
        .header("content-type", "text/plain")
        .body("title=x")
        .send()
        .await
        .expect("request");
    let (status, answer) = common::read(response).await;
    assert_eq!(status, 415);
    common::assert_error_shape(&answer, "unsupported_media_type");
    assert_eq!(answer["details"]["content_type"], "text/plain");
    for (body, needle) in [(r#"{"title": "x""#, "not valid JSON"), ("", "empty")] {
        let (status, answer, _) = api.send(reqwest::Method::POST, BASE, Some(body)).await;
        assert_eq!(status, 400, "{answer}");
        common::assert_error_shape(&answer, "malformed_json");
        assert!(
            answer["message"]
                .as_str()
                .unwrap_or_default()
                .contains(needle),
            "{answer}"
        );
    }

    // Unknown routes and methods answer in the same shape.
    let (status, answer) = api.get("/api/v1/nothing").await;
    assert_eq!(status, 404);
    common::assert_error_shape(&answer, "no_route");
    let (status, answer, _) = api.send(reqwest::Method::DELETE, BASE, None).await;
    assert_eq!(status, 405);
    common::assert_error_shape(&answer, "method_not_allowed");
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_sqlite() {
    bad_input(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_postgres() {
    bad_input(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_with_requests_and_todos() {
    let Some(lab) = TestLab::start(Kind::Sqlite).await else {
        return;
    };
    let api = Api { lab: &lab };
    let text = api.metrics().await;
    assert_eq!(series(&text, "todos", ""), Some(100.0), "{text}");
    let completed = series(&text, "todos_completed", "").expect("todos_completed");
    let ratio = series(&text, "todos_completion_ratio", "").expect("ratio");
    assert!((ratio - completed / 100.0).abs() < 1e-9, "{text}");
    for (name, labels) in [
        ("targets_db_pool_connections", "state=\"idle\""),
        ("targets_db_pool_connections", "state=\"in_use\""),
        ("targets_db_pool_max_connections", ""),
        ("targets_http_requests_in_flight", ""),
    ] {
        assert!(series(&text, name, labels).is_some(), "{name}: {text}");
    }

    let (status, todo) = api.post(&json!({"title": "counted"})).await;
    assert_eq!(status, 201);
    let id = todo["id"].as_str().expect("id").to_owned();
    let (status, _, _) = api
        .send(
            reqwest::Method::PATCH,
            &format!("{BASE}/{id}"),
            Some(r#"{"completed": true}"#),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = api.post(&json!({"title": ""})).await;
    assert_eq!(status, 422);

    let text = api.metrics().await;
    assert_eq!(series(&text, "todos", ""), Some(101.0), "{text}");
    assert_eq!(
        series(&text, "todos_completed", ""),
        Some(completed + 1.0),
        "{text}"
    );
    let ratio = series(&text, "todos_completion_ratio", "").expect("ratio");
    assert!((ratio - (completed + 1.0) / 101.0).abs() < 1e-9, "{text}");
    let requests = |route: &str, method: &str, status: &str| {
        series(
            &text,
            "targets_http_requests_total",
            &format!(
                "service=\"todo-api\",route=\"{route}\",method=\"{method}\",status=\"{status}\""
            ),
        )
    };
    assert_eq!(
        requests("/api/v1/todos", "POST", "201"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        requests("/api/v1/todos", "POST", "422"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        requests("/api/v1/todos/{id}", "PATCH", "200"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        series(
            &text,
            "targets_http_request_duration_seconds_count",
            "route=\"/api/v1/todos\",method=\"POST\",status=\"201\""
        ),
        Some(1.0),
        "{text}"
    );
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_openapi_and_docs() {
    let Some(lab) = TestLab::start(Kind::Sqlite).await else {
        return;
    };
    let api = Api { lab: &lab };
    let (status, health) = api.get("/health").await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["checks"]["database"]["status"], "ok");
    assert_eq!(health["checks"]["database"]["backend"], "sqlite");

    let (status, spec) = api.get("/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(spec["openapi"], "3.1.0");
    let operations: Vec<String> = spec["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("item")
                .keys()
                .map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();
    for expected in [
        "GET /api/v1/todos",
        "POST /api/v1/todos",
        "GET /api/v1/todos/{id}",
        "PUT /api/v1/todos/{id}",
        "PATCH /api/v1/todos/{id}",
        "DELETE /api/v1/todos/{id}",
        "GET /health",
        "GET /metrics",
    ] {
        assert!(
            operations.iter().any(|o| o == expected),
            "{expected}: {operations:?}"
        );
    }

    let response = lab
        .client
        .get(lab.todo("/docs"))
        .send()
        .await
        .expect("docs");
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"))
    );
    let html = response.text().await.expect("html");
    assert!(html.contains("<code>/api/v1/todos/{id}</code>"), "{html}");
    assert!(html.contains("PATCH"));
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("<script"),
        "no external assets"
    );
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_statements_use_the_indexes() {
    let Some(lab) = TestLab::start(Kind::Sqlite).await else {
        return;
    };
    let [(all, all_params), (by_state, state_params)] = targets::todo::store::list_statements();
    let plan = lab
        .lab
        .db()
        .explain(&all, &all_params)
        .await
        .expect("plan")
        .join(" | ");
    assert!(plan.contains("todos_created_idx"), "{plan}");
    assert!(!plan.contains("TEMP B-TREE"), "no sort: {plan}");
    let plan = lab
        .lab
        .db()
        .explain(&by_state, &state_params)
        .await
        .expect("plan")
        .join(" | ");
    assert!(plan.contains("todos_completed_created_idx"), "{plan}");
    assert!(!plan.contains("TEMP B-TREE"), "no sort: {plan}");
    lab.stop().await;
}
