//! The database the target services query: embedded SQLite or PostgreSQL.
//!
//! [`Db`] is a small enum over the two sqlx pools. Statements are written once when both
//! dialects agree (`$1` placeholders work on both) and per backend through [`Statement`] when
//! they do not. Every call counts itself on the request's [`QueryCounter`] and runs inside a
//! `db.query` span carrying the statement text (never the bound values).

mod error;
pub mod postgres;
pub mod seed;
pub mod sqlite;

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{FromRow, PgPool, Postgres, Sqlite, SqlitePool};
use tracing::Instrument;

pub(crate) use error::redact;
pub use error::{DbError, OpenError};

use crate::query_counter::QueryCounter;

/// Which database engine a [`Db`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file (WAL mode).
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The OpenTelemetry `db.system` value.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgresql",
        }
    }
}

/// A connection pool to one of the supported databases.
#[derive(Clone, Debug)]
pub enum Db {
    /// Embedded SQLite.
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

/// A value bound to a statement placeholder.
#[derive(Clone, Debug)]
pub enum Param {
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Text(String),
    /// A string or SQL `NULL`.
    OptText(Option<String>),
    /// A boolean.
    Bool(bool),
    /// A UTC instant: `TIMESTAMPTZ` on PostgreSQL, fixed-width RFC 3339 text (microseconds,
    /// `Z`) on SQLite, so that text order is time order.
    Time(DateTime<Utc>),
}

/// `time` as SQLite stores it: `2026-01-31T12:00:00.000000Z`.
pub fn sqlite_time(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Connections of a pool, for the pool gauges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open (idle or in use).
    pub size: u32,
    /// Open connections waiting for work.
    pub idle: u32,
    /// The most connections the pool opens.
    pub max: u32,
}

impl PoolStats {
    /// Connections lent out to queries.
    pub fn in_use(&self) -> u32 {
        self.size.saturating_sub(self.idle)
    }
}

/// SQL text for each backend, plus a short name for spans and metrics.
#[derive(Clone, Copy, Debug)]
pub struct Statement {
    /// Short name, e.g. `products.list`.
    pub name: &'static str,
    /// Text run on SQLite.
    pub sqlite: &'static str,
    /// Text run on PostgreSQL.
    pub postgres: &'static str,
}

impl Statement {
    /// The same text on both backends.
    pub const fn same(name: &'static str, sql: &'static str) -> Self {
        Self {
            name,
            sqlite: sql,
            postgres: sql,
        }
    }

    /// Different text per backend.
    pub const fn per_backend(
        name: &'static str,
        sqlite: &'static str,
        postgres: &'static str,
    ) -> Self {
        Self {
            name,
            sqlite,
            postgres,
        }
    }

    /// The text for `backend`.
    pub const fn text(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }
}

/// A row type readable from both backends.
pub trait AnyRow:
    Send + Unpin + for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow>
{
}
impl<T> AnyRow for T where
    T: Send + Unpin + for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow>
{
}

fn bind_sqlite<'q>(
    mut query: Query<'q, Sqlite, SqliteArguments>,
    params: &[Param],
) -> Query<'q, Sqlite, SqliteArguments> {
    for param in params {
        query = match param {
            Param::Int(v) => query.bind(*v),
            Param::Float(v) => query.bind(*v),
            Param::Text(v) => query.bind(v.clone()),
            Param::OptText(v) => query.bind(v.clone()),
            Param::Bool(v) => query.bind(*v),
            Param::Time(v) => query.bind(sqlite_time(v)),
        };
    }
    query
}

fn bind_postgres<'q>(
    mut query: Query<'q, Postgres, PgArguments>,
    params: &[Param],
) -> Query<'q, Postgres, PgArguments> {
    for param in params {
        query = match param {
            Param::Int(v) => query.bind(*v),
            Param::Float(v) => query.bind(*v),
            Param::Text(v) => query.bind(v.clone()),
            Param::OptText(v) => query.bind(v.clone()),
            Param::Bool(v) => query.bind(*v),
            Param::Time(v) => query.bind(*v),
        };
    }
    query
}

impl Db {
    /// The engine behind this pool.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Opens the database at `url` (`sqlite://…` or `postgres://…`), runs the migrations and,
    /// when the tables are empty, seeds them at `scale`.
    pub async fn open(url: &str, scale: u32) -> Result<Self, OpenError> {
        let db = if url.starts_with("sqlite:") {
            Self::Sqlite(sqlite::connect(url).await?)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Self::Postgres(postgres::connect(url).await?)
        } else {
            return Err(OpenError::UnsupportedUrl {
                url: error::redact(url),
            });
        };
        db.migrate().await.map_err(|source| OpenError::Migrate {
            url: error::redact(url),
            source,
        })?;
        seed::seed_if_empty(&db, scale)
            .await
            .map_err(|source| OpenError::Seed {
                url: error::redact(url),
                source,
            })?;
        if let Self::Sqlite(pool) = &db {
            sqlite::calibrate(pool)
                .await
                .map_err(|source| OpenError::Connect {
                    url: error::redact(url),
                    source,
                })?;
        }
        Ok(db)
    }

    /// Applies the versioned migrations of this backend (`targets/migrations/<backend>`).
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self {
            Self::Sqlite(pool) => {
                // sqlx takes no lock on SQLite: when two processes start on one new file, the
                // loser's migration fails on the tables the winner just created. Its
                // transaction rolled back, so running again sees the migration applied.
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    match sqlx::migrate!("./migrations/sqlite").run(pool).await {
                        Err(e) if attempt < 5 => {
                            tracing::debug!(
                                attempt,
                                "SQLite migration raced with another process, retrying: {e}"
                            );
                            tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                        }
                        result => return result,
                    }
                }
            }
            Self::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await,
        }
    }

    /// Whether [`Db::close`] was called.
    pub fn is_closed(&self) -> bool {
        match self {
            Self::Sqlite(pool) => pool.is_closed(),
            Self::Postgres(pool) => pool.is_closed(),
        }
    }

    /// Closes every connection of the pool.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }

    fn query_span(&self, counter: &QueryCounter, statement: &Statement) -> tracing::Span {
        let backend = self.backend();
        crate::service_span!(
            counter.service(),
            "db.query",
            otel.name = statement.name,
            otel.kind = "client",
            db.system = backend.name(),
            db.operation = statement.name,
            db.statement = statement.text(backend),
            service_name = counter.service().name(),
            db.response.rows = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        )
    }

    async fn traced<T, F>(
        &self,
        counter: &QueryCounter,
        statement: &Statement,
        run: F,
    ) -> Result<T, DbError>
    where
        T: RowCount,
        F: Future<Output = Result<T, sqlx::Error>>,
    {
        counter.increment();
        let span = self.query_span(counter, statement);
        let started = std::time::Instant::now();
        let result = run.instrument(span.clone()).await;
        counter.timed(statement.name, started.elapsed());
        if let Ok(value) = &result {
            span.record("db.response.rows", value.rows());
        }
        result.map_err(|source| {
            span.record("otel.status_code", "ERROR");
            let err = DbError::new(statement.name, self.backend(), source);
            tracing::warn!(parent: &span, statement = statement.name, class = %err.class(), "query failed: {}", err.message());
            err
        })
    }

    /// Runs `statement` and reads every row.
    pub async fn fetch_all<T: AnyRow>(
        &self,
        counter: &QueryCounter,
        statement: &Statement,
        params: &[Param],
    ) -> Result<Vec<T>, DbError> {
        match self {
            Self::Sqlite(pool) => {
                let q = bind_sqlite(sqlx::query(statement.sqlite), params);
                self.traced(counter, statement, async {
                    let rows = q.fetch_all(pool).await?;
                    rows.iter().map(T::from_row).collect()
                })
                .await
            }
            Self::Postgres(pool) => {
                let q = bind_postgres(sqlx::query(statement.postgres), params);
                self.traced(counter, statement, async {
                    let rows = q.fetch_all(pool).await?;
                    rows.iter().map(T::from_row).collect()
                })
                .await
            }
        }
    }

    /// Runs `statement` and reads at most one row.
    pub async fn fetch_optional<T: AnyRow>(
        &self,
        counter: &QueryCounter,
        statement: &Statement,
        params: &[Param],
    ) -> Result<Option<T>, DbError> {
        match self {
            Self::Sqlite(pool) => {
                let q = bind_sqlite(sqlx::query(statement.sqlite), params);
                self.traced(counter, statement, async {
                    q.fetch_optional(pool)
                        .await?
                        .as_ref()
                        .map(T::from_row)
                        .transpose()
                })
                .await
            }
            Self::Postgres(pool) => {
                let q = bind_postgres(sqlx::query(statement.postgres), params);
                self.traced(counter, statement, async {
                    q.fetch_optional(pool)
                        .await?
                        .as_ref()
                        .map(T::from_row)
                        .transpose()
                })
                .await
            }
        }
    }

    /// Runs `statement` and reads exactly one row.
    pub async fn fetch_one<T: AnyRow>(
        &self,
        counter: &QueryCounter,
        statement: &Statement,
        params: &[Param],
    ) -> Result<T, DbError> {
        self.fetch_optional(counter, statement, params)
            .await?
            .ok_or_else(|| DbError::new(statement.name, self.backend(), sqlx::Error::RowNotFound))
    }

    /// Runs `statement`, discarding rows; returns the rows affected.
    pub async fn execute(
        &self,
        counter: &QueryCounter,
        statement: &Statement,
        params: &[Param],
    ) -> Result<u64, DbError> {
        match self {
            Self::Sqlite(pool) => {
                let q = bind_sqlite(sqlx::query(statement.sqlite), params);
                self.traced(counter, statement, async {
                    Ok(q.execute(pool).await?.rows_affected())
                })
                .await
            }
            Self::Postgres(pool) => {
                let q = bind_postgres(sqlx::query(statement.postgres), params);
                self.traced(counter, statement, async {
                    Ok(q.execute(pool).await?.rows_affected())
                })
                .await
            }
        }
    }

    /// The query plan of `statement` as text lines (`EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN` on
    /// PostgreSQL). Not counted: used by tests and docs, never by an endpoint.
    pub async fn explain(
        &self,
        statement: &Statement,
        params: &[Param],
    ) -> Result<Vec<String>, DbError> {
        let to_err = |e| DbError::new(statement.name, self.backend(), e);
        match self {
            Self::Sqlite(pool) => {
                let sql = format!("EXPLAIN QUERY PLAN {}", statement.sqlite);
                let rows: Vec<(i64, i64, i64, String)> =
                    bind_sqlite_as(sqlx::query_as(sqlx::AssertSqlSafe(sql)), params)
                        .fetch_all(pool)
                        .await
                        .map_err(to_err)?;
                Ok(rows.into_iter().map(|r| r.3).collect())
            }
            Self::Postgres(pool) => {
                let sql = format!("EXPLAIN {}", statement.postgres);
                let rows: Vec<(String,)> =
                    bind_postgres_as(sqlx::query_as(sqlx::AssertSqlSafe(sql)), params)
                        .fetch_all(pool)
                        .await
                        .map_err(to_err)?;
                Ok(rows.into_iter().map(|r| r.0).collect())
            }
        }
    }

    /// Open, idle and maximum connections of the pool.
    pub fn pool_stats(&self) -> PoolStats {
        match self {
            Self::Sqlite(pool) => PoolStats {
                size: pool.size(),
                idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
                max: pool.options().get_max_connections(),
            },
            Self::Postgres(pool) => PoolStats {
                size: pool.size(),
                idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
                max: pool.options().get_max_connections(),
            },
        }
    }

    /// Checks that the database could take a write within `timeout`: `SELECT 1` on PostgreSQL;
    /// on SQLite, whose reads go on while another process holds the write lock, that the
    /// write lock can be taken ([`sqlite::check_writable`]).
    pub async fn check_writable(&self, timeout: Duration) -> Result<(), String> {
        match self {
            Self::Postgres(_) => self.ping(timeout).await,
            Self::Sqlite(pool) => {
                let wait = timeout.mul_f64(0.75);
                match tokio::time::timeout(timeout, sqlite::check_writable(pool, wait)).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
                }
            }
        }
    }

    /// Checks that the database answers within `timeout`.
    pub async fn ping(&self, timeout: Duration) -> Result<(), String> {
        let fut = async {
            match self {
                Self::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()),
                Self::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()),
            }
        };
        match tokio::time::timeout(timeout, fut).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
        }
    }
}

/// Rows a statement returned or changed, recorded on its span as `db.response.rows`.
trait RowCount {
    fn rows(&self) -> u64;
}

impl<T> RowCount for Vec<T> {
    fn rows(&self) -> u64 {
        self.len() as u64
    }
}

impl<T> RowCount for Option<T> {
    fn rows(&self) -> u64 {
        u64::from(self.is_some())
    }
}

impl RowCount for u64 {
    fn rows(&self) -> u64 {
        *self
    }
}

fn bind_sqlite_as<'q, O>(
    mut query: sqlx::query::QueryAs<'q, Sqlite, O, SqliteArguments>,
    params: &[Param],
) -> sqlx::query::QueryAs<'q, Sqlite, O, SqliteArguments> {
    for param in params {
        query = match param {
            Param::Int(v) => query.bind(*v),
            Param::Float(v) => query.bind(*v),
            Param::Text(v) => query.bind(v.clone()),
            Param::OptText(v) => query.bind(v.clone()),
            Param::Bool(v) => query.bind(*v),
            Param::Time(v) => query.bind(sqlite_time(v)),
        };
    }
    query
}

fn bind_postgres_as<'q, O>(
    mut query: sqlx::query::QueryAs<'q, Postgres, O, PgArguments>,
    params: &[Param],
) -> sqlx::query::QueryAs<'q, Postgres, O, PgArguments> {
    for param in params {
        query = match param {
            Param::Int(v) => query.bind(*v),
            Param::Float(v) => query.bind(*v),
            Param::Text(v) => query.bind(v.clone()),
            Param::OptText(v) => query.bind(v.clone()),
            Param::Bool(v) => query.bind(*v),
            Param::Time(v) => query.bind(*v),
        };
    }
    query
}
