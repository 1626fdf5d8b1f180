//! Test helpers: a lab on 127.0.0.1:0 over a fresh SQLite file (own tempdir) or a fresh
//! PostgreSQL database (own `CREATE DATABASE`, dropped at the end), and a small HTTP client;
//! [`otlp`] is a real OTLP/HTTP receiver (shared with the end-to-end tests, in `lt-testkit`).

#![allow(dead_code)]

#[allow(unused_imports)] // not every test binary uses it
pub use lt_testkit::otlp;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value;
use targets::{Lab, LabConfig};

/// Seed scale used by tests: 200 users, 500 products, 5,000 orders.
pub const TEST_SCALE: u32 = 1;

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A running lab plus what it takes to clean it up.
pub struct TestLab {
    pub lab: Lab,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
    pg: Option<PgDatabase>,
}

pub struct PgDatabase {
    admin_url: String,
    name: String,
}

fn loopback() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

/// `TEST_DATABASE_URL`, or `None` after printing that the test is skipped.
pub fn pg_admin_url() -> Option<String> {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            eprintln!("skipped: TEST_DATABASE_URL not set");
            None
        }
    }
}

/// Creates a uniquely named database on the server of `admin_url`; returns its URL.
pub async fn create_pg_database(admin_url: &str) -> PgDatabase {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "targets_test_{}_{}_{:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>()
    );
    let pool = sqlx::PgPool::connect(admin_url)
        .await
        .expect("connect TEST_DATABASE_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&pool)
        .await
        .expect("create test database");
    pool.close().await;
    PgDatabase {
        admin_url: admin_url.to_owned(),
        name,
    }
}

impl PgDatabase {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    pub fn url(&self) -> String {
        let mut url = reqwest::Url::parse(&self.admin_url).expect("TEST_DATABASE_URL parses");
        url.set_path(&format!("/{}", self.name));
        url.to_string()
    }

    pub async fn drop_database(&self) {
        if let Ok(pool) = sqlx::PgPool::connect(&self.admin_url).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            )))
            .execute(&pool)
            .await;
            pool.close().await;
        }
    }
}

impl TestLab {
    /// Starts a lab on `kind`; `None` (after printing why) when PostgreSQL is not configured.
    pub async fn start(kind: Kind) -> Option<Self> {
        let dir = tempfile::tempdir().expect("tempdir");
        let pg = match kind {
            Kind::Sqlite => None,
            Kind::Postgres => Some(create_pg_database(&pg_admin_url()?).await),
        };
        let lab = Lab::start(LabConfig {
            data_dir: dir.path().to_owned(),
            ec_addr: loopback(),
            distributed_addr: loopback(),
            todo_addr: loopback(),
            scale: TEST_SCALE,
            database_url: pg.as_ref().map(PgDatabase::url),
            chaos_addr: loopback(),
            redis_url: None,
        })
        .await
        .expect("lab starts");
        Some(Self {
            lab,
            client: reqwest::Client::new(),
            _dir: dir,
            pg,
        })
    }

    pub fn ec(&self, path: &str) -> String {
        format!("{}{path}", self.lab.ec_url())
    }

    /// The directory of the SQLite file (`targets.db`).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// The PostgreSQL database, when the lab runs on one.
    pub fn pg(&self) -> Option<&PgDatabase> {
        self.pg.as_ref()
    }

    pub fn todo(&self, path: &str) -> String {
        format!("{}{path}", self.lab.todo_url())
    }

    pub fn distributed(&self, path: &str) -> String {
        format!("{}{path}", self.lab.distributed_url())
    }

    /// GET on the EC app: status and JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(self.ec(path))
            .header("x-user-id", "42")
            .send()
            .await
            .expect("request");
        read(response).await
    }

    /// POST JSON text to the distributed service.
    pub async fn post_distributed(&self, path: &str, body: &str) -> (u16, Value) {
        let response = self
            .client
            .post(self.distributed(path))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("request");
        read(response).await
    }

    pub async fn stop(self) {
        self.lab.shutdown().await.expect("lab stops");
        if let Some(pg) = &self.pg {
            pg.drop_database().await;
        }
    }
}

pub async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, body)
}

/// Asserts the performance shape and returns `data.query_count`.
pub fn assert_perf_shape(body: &Value, status: &str) -> u64 {
    assert_eq!(body["status"], status, "{body}");
    assert!(body["data"]["execution_time"].as_f64().is_some(), "{body}");
    assert!(body["data"].get("results").is_some(), "{body}");
    let trace_id = body["trace_id"].as_str().unwrap_or_default();
    assert_eq!(trace_id.len(), 32, "{body}");
    assert!(body.get("user_id").is_some(), "{body}");
    body["data"]["query_count"].as_u64().expect("query_count")
}

/// Asserts the error shape `{code, message, details}`.
pub fn assert_error_shape(body: &Value, code: &str) {
    assert_eq!(body["status"], "error", "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(body["details"].is_object(), "{body}");
}
