//! The Todo API (port 8000; seed 003): CRUD over the `todos` table on SQLite or PostgreSQL,
//! instrumented with all three OpenTelemetry signals.
//!
//! Routes: `GET/POST /api/v1/todos`, `GET/PUT/PATCH/DELETE /api/v1/todos/{id}`, `GET /health`
//! (checks that the database can take a write), `GET /metrics` (Prometheus text),
//! `GET /openapi.json` and `GET /docs`. Every request gets a server span (route template,
//! method, status, `user_id` from `X-User-Id`, the caller's `traceparent`/`baggage`
//! continued), a business span per step (`todo.create`, …) and a `db.query` span per
//! statement; see [`crate::telemetry`] for where they go.

mod handlers;
pub mod model;
pub mod openapi;
pub mod stats;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;

use crate::db::{Db, DbError};
use crate::http::api_error::{ApiError, panic_response};
use crate::http::context::RequestContext;
use crate::http::observe::{Observer, observe};
use crate::metrics::Metrics;
use crate::service::Service;
use stats::TodoStats;

/// Base path of the resource.
pub const BASE: &str = "/api/v1/todos";
/// How long `/health` waits for the database.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);

/// Shared state of the Todo API.
#[derive(Clone, Debug)]
pub struct TodoState {
    db: Db,
    metrics: Arc<Metrics>,
    stats: Arc<TodoStats>,
}

impl TodoState {
    /// State over an opened (migrated, seeded) database. Registers the metric instruments on
    /// [`crate::telemetry::meter`], so set up telemetry first.
    pub fn new(db: Db) -> Self {
        let metrics = Metrics::new(Service::Todo);
        metrics.watch_pool(&db);
        Self {
            db,
            metrics: Arc::new(metrics),
            stats: TodoStats::new(),
        }
    }
}

/// The Todo API's router. Inside a Tokio runtime it also starts the task that keeps the todo
/// totals fresh for the gauges (it ends with the router).
pub fn app(state: TodoState) -> Router {
    stats::spawn_refresher(&state.stats, &state.db);
    let observer = Observer {
        service: Service::Todo,
        metrics: state.metrics.clone(),
    };
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi::document))
        .route("/docs", get(openapi::page))
        .route(BASE, get(handlers::list).post(handlers::create))
        .route(
            "/api/v1/todos/{id}",
            get(handlers::get)
                .put(handlers::replace)
                .patch(handlers::update)
                .delete(handlers::delete),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn_with_state(observer, observe))
        .with_state(state)
}

/// The database error of a step: 503 `database_unavailable` when the database cannot be used
/// at all, else 500 `database_error`; both name the statement and the database's error class.
fn database_error(err: &DbError, ctx: &RequestContext) -> ApiError {
    let error = if err.is_unavailable() {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            format!("the database is unavailable: {}", err.message()),
        )
        .with_details(json!({
            "dependency": "database",
            "statement": err.statement(),
            "error_class": err.class(),
        }))
    } else {
        ApiError::database(err)
    };
    error.with_field("trace_id", ctx.trace_id.clone().into())
}

/// 200 when the database can take a write within [`HEALTH_TIMEOUT`], else 503 naming it.
async fn health(State(state): State<TodoState>) -> Response {
    let backend = state.db.backend().name();
    let started = std::time::Instant::now();
    match state.db.check_writable(HEALTH_TIMEOUT).await {
        Ok(()) => axum::Json(json!({
            "status": "ok",
            "service": Service::Todo.name(),
            "checks": {"database": {
                "status": "ok",
                "backend": backend,
                "latency_ms": started.elapsed().as_secs_f64() * 1000.0,
            }},
        }))
        .into_response(),
        Err(reason) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            format!("dependency database ({backend}) is unavailable: {reason}"),
        )
        .with_details(json!({"dependency": "database", "backend": backend, "reason": reason}))
        .with_field("service", Service::Todo.name().into())
        .into_response(),
    }
}

/// Prometheus text: the shared request, latency, statement and pool series plus the todo
/// totals, read from the database now (the last values when it does not answer).
async fn metrics(
    State(state): State<TodoState>,
    ctx: RequestContext,
    headers: http::HeaderMap,
) -> Response {
    if let Err(e) = state.stats.refresh(&state.db, &ctx.queries).await {
        tracing::warn!("todo totals not refreshed for /metrics: {e}");
    }
    let format = crate::exposition::Exposition::negotiate(&headers);
    let mut text = state.metrics.render(format);
    state.stats.render(&mut text);
    format.response(text)
}

async fn not_found(uri: http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_route",
        format!("no route {}; see /docs", uri.path()),
    )
    .with_details(json!({"path": uri.path()}))
}

async fn method_not_allowed(method: http::Method, uri: http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {}; see /docs", uri.path()),
    )
    .with_details(json!({"method": method.as_str(), "path": uri.path()}))
}
