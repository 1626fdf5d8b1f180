//! Embedded SQLite: connection options (WAL) and the calibrated slow query.
//!
//! SQLite has no `pg_sleep`, so the slow-query endpoint runs a recursive CTE that counts up to
//! a number of rows chosen so that the query itself takes the asked time. The rate (rows per
//! second) is measured once per process by [`calibrate`].

use std::str::FromStr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::error::{OpenError, redact};

/// How long a statement waits for another connection's write lock before SQLITE_BUSY.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens (creating if needed) the SQLite file of `url` in WAL mode.
pub async fn connect(url: &str) -> Result<SqlitePool, OpenError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|source| OpenError::BadUrl {
            url: redact(url),
            source,
        })?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);
    if let Some(parent) = options.get_filename().parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|source| OpenError::DataDir {
            path: parent.display().to_string(),
            source,
        })?;
    }
    // Switching a new file to WAL needs a lock the busy handler does not wait for: when two
    // processes create the file at once, the loser sees SQLITE_BUSY and tries again.
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await;
        match result {
            Err(sqlx::Error::Database(e)) if attempt < 10 && is_busy(e.code().as_deref()) => {
                tracing::debug!(attempt, "SQLite file busy while opening, retrying: {e}");
                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
            }
            result => {
                return result.map_err(|source| OpenError::Connect {
                    url: redact(url),
                    source,
                });
            }
        }
    }
}

/// Whether an SQLite (extended) result code is SQLITE_BUSY or SQLITE_LOCKED.
fn is_busy(code: Option<&str>) -> bool {
    code.and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| matches!(c & 0xff, 5 | 6))
}

/// The `sqlite://` URL of the default database file in `data_dir`.
pub fn default_url(data_dir: &std::path::Path) -> String {
    format!("sqlite://{}", data_dir.join("targets.db").display())
}

/// The counting CTE; `$1` is the number of rows to count.
pub const COUNT_UP_SQL: &str = "WITH RECURSIVE counter(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM counter WHERE x < $1) SELECT COUNT(*) AS count FROM counter";

static ROWS_PER_SECOND: OnceLock<f64> = OnceLock::new();

/// Measures how many CTE rows per second this machine counts; cached for the process.
pub async fn calibrate(pool: &SqlitePool) -> Result<f64, sqlx::Error> {
    if let Some(rate) = ROWS_PER_SECOND.get() {
        return Ok(*rate);
    }
    let mut rows: i64 = 200_000;
    let rate = loop {
        let start = Instant::now();
        let _: (i64,) = sqlx::query_as(COUNT_UP_SQL)
            .bind(rows)
            .fetch_one(pool)
            .await?;
        let elapsed = start.elapsed();
        if elapsed >= Duration::from_millis(100) || rows >= 50_000_000 {
            break rows as f64 / elapsed.as_secs_f64().max(1e-6);
        }
        rows *= 4;
    };
    tracing::info!(
        rows_per_second = rate as u64,
        "calibrated the SQLite slow query"
    );
    Ok(*ROWS_PER_SECOND.get_or_init(|| rate))
}

/// Rows the counting CTE needs to run for `seconds`, given the calibrated `rate`.
pub fn rows_for(seconds: f64, rate: f64) -> i64 {
    (seconds * rate).round().max(1.0) as i64
}

/// Checks that a write could start now: `BEGIN IMMEDIATE` (taking the write lock, waiting at
/// most `wait` for it) and `ROLLBACK`, on one pooled connection whose busy timeout is set back
/// afterwards. Runs as its own task, so a caller that stops waiting never leaves the
/// connection inside a transaction.
pub async fn check_writable(pool: &SqlitePool, wait: Duration) -> Result<(), sqlx::Error> {
    let pool = pool.clone();
    let probe = tokio::spawn(async move {
        let mut conn = pool.acquire().await?;
        let set_busy = |d: Duration| format!("PRAGMA busy_timeout = {}", d.as_millis());
        sqlx::query(sqlx::AssertSqlSafe(set_busy(wait)))
            .execute(&mut *conn)
            .await?;
        let result = match sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
            Ok(_) => sqlx::query("ROLLBACK")
                .execute(&mut *conn)
                .await
                .map(|_| ()),
            Err(e) => Err(e),
        };
        let reset = sqlx::query(sqlx::AssertSqlSafe(set_busy(BUSY_TIMEOUT)))
            .execute(&mut *conn)
            .await;
        if reset.is_err() {
            // Never return a connection with the short timeout to the pool.
            drop(conn.detach());
        }
        result
    });
    probe
        .await
        .map_err(|e| sqlx::Error::Protocol(format!("write probe task failed: {e}")))?
}
