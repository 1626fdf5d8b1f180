//! A data file read from disk feeds users rows: in `shared` mode every iteration takes the next
//! row, and with `on_end: stop_user` each row is used exactly once, then the users stop sending.
//! One test per file: Goose allows one run per process.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use lt_engine::{Engine, RunOptions};
use lt_protocol::EndReason;
use lt_scenario::data_folder::DataFolder;
use lt_scenario::{Env, Inputs, Overrides};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_rows_are_each_used_once_then_users_stop() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let app = Router::new()
        .route(
            "/accounts/{email}",
            get(
                |State(seen): State<Arc<Mutex<Vec<String>>>>, Path(email): Path<String>| async move {
                    seen.lock().unwrap().push(email);
                    "ok"
                },
            ),
        )
        .with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let mut csv = String::from("email,password\n");
    for i in 0..40 {
        csv.push_str(&format!("user{i}@example.com,pw{i}\n"));
    }
    std::fs::write(dir.path().join("data/users.csv"), csv).unwrap();
    let yaml = format!(
        "name: rows\ntarget: {target}\nload:\n  users: 5\n  duration: 3s\n  think_time: {{ min: 1ms, max: 2ms }}\ndata: {{ file: data/users.csv, mode: shared, on_end: stop_user }}\nendpoints:\n  - {{ name: account, path: '/accounts/{{{{ row.email }}}}' }}\n"
    );
    let files = DataFolder::beside(dir.path());
    let scenario = lt_scenario::parse_with(
        "rows.yaml",
        &yaml,
        &Overrides::default(),
        &Inputs {
            env: &Env::default(),
            files: &files,
        },
    )
    .expect("valid scenario");
    let (engine, _handle) = Engine::new(scenario, RunOptions::default()).unwrap();
    let report = engine.run().await.unwrap();
    assert_eq!(report.end_reason, EndReason::Completed);

    let seen = seen.lock().unwrap().clone();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for email in &seen {
        *counts.entry(email.clone()).or_default() += 1;
    }
    assert_eq!(counts.len(), 40, "every row used: {counts:?}");
    assert!(
        counts.values().all(|&n| n == 1),
        "each row once: {counts:?}"
    );
    assert!(counts.contains_key("user0@example.com"));
    assert_eq!(report.requests, 40);
}
