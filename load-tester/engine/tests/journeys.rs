//! A journey against a recording target: values captured from one answer (JSON body and a
//! header) reach the next requests exactly, per user and per iteration, over hundreds of
//! iterations; a capture that finds nothing fails its step as `capture` and ends the iteration;
//! the steps of one iteration share one trace; step and journey thresholds are judged as written.
//! One test per file: Goose allows one run per process.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use lt_engine::{Engine, RunOptions};
use lt_protocol::EndReason;
use serde_json::{Value, json};

/// One request as the target saw it.
#[derive(Debug, Clone)]
struct Seen {
    route: &'static str,
    /// The id in the path, or the one handed out.
    id: u64,
    /// The etag query value, header or body field.
    etag: Option<String>,
    body: Option<Value>,
    trace: String,
    span: String,
}

#[derive(Default)]
struct Target {
    next: AtomicU64,
    seen: Mutex<Vec<Seen>>,
}

fn trace_of(headers: &HeaderMap) -> (String, String) {
    let tp = headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let parts: Vec<&str> = tp.split('-').collect();
    (
        parts.get(1).unwrap_or(&"").to_string(),
        parts.get(2).unwrap_or(&"").to_string(),
    )
}

impl Target {
    fn record(
        &self,
        route: &'static str,
        id: u64,
        etag: Option<String>,
        body: Option<Value>,
        headers: &HeaderMap,
    ) {
        let (trace, span) = trace_of(headers);
        self.seen.lock().unwrap().push(Seen {
            route,
            id,
            etag,
            body,
            trace,
            span,
        });
    }
}

async fn create(
    State(t): State<Arc<Target>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, [(&'static str, String); 1], Json<Value>) {
    let id = t.next.fetch_add(1, Ordering::Relaxed) + 1000;
    t.record("create", id, None, Some(body.clone()), &headers);
    (
        StatusCode::CREATED,
        [("x-etag", format!("e{id}"))],
        Json(json!({ "data": { "id": id, "title": body["title"] } })),
    )
}

async fn read(
    State(t): State<Arc<Target>>,
    Path(id): Path<u64>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Json<Value> {
    t.record("read", id, q.get("etag").cloned(), None, &headers);
    Json(json!({ "id": id, "status": "open" }))
}

async fn update(
    State(t): State<Arc<Target>>,
    Path(id): Path<u64>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Json<Value> {
    let etag = headers
        .get("if-match")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    t.record("update", id, etag, Some(body), &headers);
    Json(json!({ "ok": true }))
}

/// Half the answers carry an id: the other half make the capture fail.
async fn maybe(State(t): State<Arc<Target>>, headers: HeaderMap) -> Json<Value> {
    let n = t.next.fetch_add(1, Ordering::Relaxed) + 1000;
    if n % 2 == 0 {
        t.record("maybe", n, None, None, &headers);
        Json(json!({ "id": n }))
    } else {
        t.record("maybe-empty", n, None, None, &headers);
        Json(json!({ "nothing": true }))
    }
}

async fn use_it(
    State(t): State<Arc<Target>>,
    Path(id): Path<u64>,
    headers: HeaderMap,
) -> &'static str {
    t.record("use", id, None, None, &headers);
    "ok"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captured_values_reach_the_next_steps_of_the_same_iteration_only() {
    let state = Arc::new(Target::default());
    let app = Router::new()
        .route("/todos", post(create))
        .route("/todos/{id}", get(read))
        .route("/todos/{id}", put(update))
        .route("/maybe", get(maybe))
        .route("/use/{id}", get(use_it))
        .with_state(Arc::clone(&state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let yaml = format!(
        r#"name: journeys
target: {target}
load:
  users: 6
  duration: 4s
  think_time: {{ min: 1ms, max: 3ms }}
flows:
  - name: crud
    weight: 1
    steps:
      - name: create
        method: POST
        path: /todos
        json: {{ title: "t-{{{{ uuid }}}}", user: "{{{{ user_id }}}}" }}
        expect: [201]
        capture:
          id: {{ json: /data/id }}
          etag: {{ header: X-Etag }}
          title: {{ regex: '"title":"([^"]+)"' }}
      - name: read
        path: /todos/{{{{ id }}}}
        query: {{ etag: "{{{{ etag }}}}" }}
        check: {{ json: {{ /status: open }} }}
      - name: update
        method: PUT
        path: /todos/{{{{ id }}}}
        headers: {{ If-Match: "{{{{ etag }}}}" }}
        json: {{ id: "{{{{ id }}}}", title: "{{{{ title }}}}", n: "{{{{ iteration }}}}" }}
  - name: flaky
    weight: 1
    steps:
      - name: get
        path: /maybe
        capture:
          id: {{ json: /id }}
      - name: use
        path: /use/{{{{ id }}}}
protection:
  max_errors_per_minute: off
thresholds:
  - p95 < 5s for crud/create
  - journey p95 < 5s for crud
  - journey p50 < 1ms for crud
  - journey error_rate < 1% for crud
  - journey error_rate < 10% for flaky
"#
    );
    let scenario = lt_scenario::parse("journeys.yaml", &yaml).expect("valid scenario");
    let (engine, _handle) = Engine::new(scenario, RunOptions::default()).unwrap();
    let report = engine.run().await.unwrap();
    assert_eq!(report.end_reason, EndReason::Completed);

    let seen = state.seen.lock().unwrap().clone();
    let by_trace = |route: &str| -> BTreeMap<String, Vec<Seen>> {
        let mut out: BTreeMap<String, Vec<Seen>> = BTreeMap::new();
        for s in seen.iter().filter(|s| s.route == route) {
            out.entry(s.trace.clone()).or_default().push(s.clone());
        }
        out
    };
    let created = by_trace("create");
    let reads = by_trace("read");
    let updates = by_trace("update");
    assert!(created.len() >= 100, "only {} iterations", created.len());
    // Every read and update carries exactly what the create of its own iteration handed out.
    for (trace, list) in &reads {
        let made = &created[trace];
        assert_eq!(made.len(), 1, "one create per iteration (trace {trace})");
        let id = made[0].id;
        assert_eq!(
            (list[0].id, list[0].etag.clone()),
            (id, Some(format!("e{id}")))
        );
        assert_ne!(list[0].span, made[0].span, "each step has its own span id");
    }
    for (trace, list) in &updates {
        let id = created[trace][0].id;
        let body = list[0].body.as_ref().unwrap();
        // A value that is exactly one template keeps its type: the id is a number.
        assert_eq!(body["id"], json!(id), "{body}");
        assert_eq!(
            body["title"],
            created[trace][0].body.as_ref().unwrap()["title"],
            "the regex capture"
        );
        assert!(body["n"].as_u64().is_some_and(|n| n >= 1), "{body}");
        assert_eq!(list[0].etag.as_deref(), Some(format!("e{id}").as_str()));
        assert!(reads.contains_key(trace));
    }
    // Iterations that finished their read went on to the update (the run's end aside).
    assert!(
        updates.len() + 12 >= reads.len(),
        "{} reads, {} updates",
        reads.len(),
        updates.len()
    );
    // Titles are rendered per request.
    let titles: std::collections::HashSet<String> = created
        .values()
        .map(|c| c[0].body.as_ref().unwrap()["title"].to_string())
        .collect();
    assert_eq!(titles.len(), created.len());

    // A capture that found nothing fails its step as `capture` and ends the iteration: the
    // next step is sent only with the id handed out in the same iteration.
    let handed = by_trace("maybe");
    let empty = by_trace("maybe-empty");
    let used = by_trace("use");
    assert!(!empty.is_empty() && !used.is_empty());
    for (trace, list) in &used {
        assert_eq!(list[0].id, handed[trace][0].id, "trace {trace}");
        assert!(!empty.contains_key(trace));
    }
    let get_row = report
        .endpoints
        .iter()
        .find(|e| e.name == "flaky/get")
        .expect("a row per step");
    assert_eq!(
        get_row.failures_by_class.capture,
        empty.values().map(Vec::len).sum::<usize>() as u64
    );
    let use_row = report
        .endpoints
        .iter()
        .find(|e| e.name == "flaky/use")
        .unwrap();
    assert_eq!(
        use_row.requests,
        used.values().map(Vec::len).sum::<usize>() as u64
    );
    assert_eq!(use_row.failures, 0);

    // Per-flow figures and the verdicts.
    let crud = report.flows.iter().find(|f| f.name == "crud").unwrap();
    assert_eq!(crud.started, created.len() as u64);
    assert_eq!(crud.completed, updates.len() as u64);
    assert_eq!(crud.failed, 0);
    assert!(crud.journey_ms.p50 > 0.0);
    let flaky = report.flows.iter().find(|f| f.name == "flaky").unwrap();
    assert_eq!(flaky.failed, get_row.failures_by_class.capture);
    let verdict = |rule: &str| {
        report
            .thresholds
            .iter()
            .find(|t| t.rule == rule)
            .unwrap_or_else(|| panic!("no verdict for {rule}"))
            .clone()
    };
    assert!(verdict("p95 < 5s for crud/create").passed);
    assert!(verdict("journey p95 < 5s for crud").passed);
    assert!(!verdict("journey p50 < 1ms for crud").passed);
    assert!(verdict("journey error_rate < 1% for crud").passed);
    let flaky_rule = verdict("journey error_rate < 10% for flaky");
    assert!(!flaky_rule.passed, "{flaky_rule:?}");
    assert_eq!(flaky_rule.unit, "ratio");
}
