//! The Todo API's database becoming unavailable for real, and coming back: `/health` answers
//! 503 naming the database, requests that need it answer 503 JSON, the service keeps running
//! and recovers by itself.
//!
//! SQLite: another connection holds the write lock (`BEGIN IMMEDIATE`), as another process
//! would; reads go on (WAL), writes wait the busy timeout and fail. PostgreSQL: the test's own
//! database stops accepting connections and its sessions are terminated.

mod common;

use std::time::{Duration, Instant};

use common::{Kind, TestLab};
use serde_json::Value;
use sqlx::Connection as _;

async fn health(lab: &TestLab) -> (u16, Value) {
    let response = lab
        .client
        .get(lab.todo("/health"))
        .send()
        .await
        .expect("health");
    common::read(response).await
}

async fn create(lab: &TestLab, title: &str) -> (u16, Value) {
    let response = lab
        .client
        .post(lab.todo("/api/v1/todos"))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "title": title }).to_string())
        .send()
        .await
        .expect("create");
    common::read(response).await
}

fn assert_database_unavailable(status: u16, body: &Value) {
    assert_eq!(status, 503, "{body}");
    common::assert_error_shape(body, "database_unavailable");
    assert_eq!(body["details"]["dependency"], "database", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("database"),
        "{body}"
    );
}

/// Polls `/health` until it answers 200 (within `limit`).
async fn until_healthy(lab: &TestLab, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let (status, body) = health(lab).await;
        if status == 200 {
            return;
        }
        assert!(Instant::now() < deadline, "never healthy again: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_write_lock_held_elsewhere() {
    let Some(lab) = TestLab::start(Kind::Sqlite).await else {
        return;
    };
    let (status, _) = health(&lab).await;
    assert_eq!(status, 200);

    let url = targets::db::sqlite::default_url(lab.data_dir());
    let mut other = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("second connection");
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .expect("take the write lock");

    let started = Instant::now();
    let (status, body) = health(&lab).await;
    assert_database_unavailable(status, &body);
    assert_eq!(body["details"]["backend"], "sqlite");
    assert!(started.elapsed() < Duration::from_secs(30), "health hung");

    let (status, body) = create(&lab, "while locked").await;
    assert_database_unavailable(status, &body);
    assert_eq!(body["details"]["error_class"], "SQLITE_BUSY", "{body}");
    assert!(started.elapsed() < Duration::from_secs(60), "create hung");
    // Reads do not need the write lock.
    let response = lab
        .client
        .get(lab.todo("/api/v1/todos?limit=1"))
        .send()
        .await
        .expect("list");
    assert_eq!(response.status().as_u16(), 200);

    sqlx::query("ROLLBACK")
        .execute(&mut other)
        .await
        .expect("release");
    other.close().await.expect("close");
    until_healthy(&lab, Duration::from_secs(30)).await;
    let (status, body) = create(&lab, "after the lock").await;
    assert_eq!(status, 201, "{body}");
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_database_refusing_connections() {
    let Some(lab) = TestLab::start(Kind::Postgres).await else {
        return;
    };
    let pg = lab.pg().expect("postgres lab");
    let admin = sqlx::PgPool::connect(pg.admin_url()).await.expect("admin");
    let name = pg.name().to_owned();
    let (status, _) = health(&lab).await;
    assert_eq!(status, 200);

    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"
    )))
    .execute(&admin)
    .await
    .expect("refuse connections");
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&name)
        .execute(&admin)
        .await
        .expect("terminate sessions");

    let started = Instant::now();
    let (status, body) = health(&lab).await;
    assert_database_unavailable(status, &body);
    assert_eq!(body["details"]["backend"], "postgresql");
    let (status, body) = create(&lab, "while refused").await;
    assert_database_unavailable(status, &body);
    let response = lab
        .client
        .get(lab.todo("/api/v1/todos"))
        .send()
        .await
        .expect("list");
    let (status, body) = common::read(response).await;
    assert_database_unavailable(status, &body);
    assert!(started.elapsed() < Duration::from_secs(60), "requests hung");

    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"
    )))
    .execute(&admin)
    .await
    .expect("accept connections");
    admin.close().await;
    until_healthy(&lab, Duration::from_secs(30)).await;
    let (status, body) = create(&lab, "after the outage").await;
    assert_eq!(status, 201, "{body}");
    lab.stop().await;
}
