//! The chaos service (port 8001; seed 004): a small service over Redis (or an embedded store)
//! whose faults are switched on over HTTP, so the load tester's protections can be watched
//! against a target that really misbehaves.
//!
//! Data routes: `GET /` (visit counter), `GET|PUT /kv/{key}`, `GET /health`, `GET /metrics`.
//! Fault routes ([`control`]): `POST /chaos/{load,hang,dependency,error,stop}`,
//! `GET /chaos/status`. Every fault ends by itself ([`faults`]); the hang and the error fault
//! act in a middleware ([`gate`]), the dependency fault in the [`store`], the load on OS
//! threads ([`load`]).

mod control;
mod fault_metrics;
pub mod faults;
mod gate;
mod load;
mod redis_store;
pub mod store;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tower_http::catch_panic::CatchPanicLayer;

pub use faults::{Faults, MAX_FAULT_SECONDS};
pub use redis_store::DEFAULT_POOL_SIZE;
pub use store::{COMMAND_TIMEOUT, Store, StoreError, StoreKind};

use crate::http::api_error::{ApiError, panic_response};
use crate::http::context::RequestContext;
use crate::http::extract::ApiJson;
use crate::http::observe::{Observer, observe};
use crate::metrics::Metrics;
use crate::service::Service;

/// `/health` reports the store unavailable when `PING` takes longer than this.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest key accepted by `/kv/{key}`, in bytes.
pub const MAX_KEY_BYTES: usize = 200;
/// Largest value accepted by `PUT /kv/{key}` (its JSON text), in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// What the chaos service runs on.
#[derive(Clone, Debug)]
pub struct ChaosConfig {
    /// `redis://…`; `None` uses the embedded store.
    pub redis_url: Option<String>,
    /// Prefix of every key the service writes (`chaos:` by default), so several services or
    /// tests can share one Redis.
    pub key_prefix: String,
    /// Most pooled Redis connections.
    pub pool_size: usize,
}

impl Default for ChaosConfig {
    fn default() -> Self {
        Self {
            redis_url: None,
            key_prefix: "chaos:".to_owned(),
            pool_size: DEFAULT_POOL_SIZE,
        }
    }
}

/// Starting the chaos service failed.
#[derive(Debug, thiserror::Error)]
pub enum ChaosError {
    /// The Redis URL cannot be used.
    #[error("bad Redis URL {url:?}: {message} (expected redis://[user:password@]host[:port][/db])")]
    RedisUrl {
        /// The URL, password redacted.
        url: String,
        /// Why.
        message: String,
    },
}

/// Shared state of the chaos service.
#[derive(Clone, Debug)]
pub struct ChaosState {
    store: Store,
    faults: Arc<Faults>,
    metrics: Arc<Metrics>,
    key_prefix: Arc<str>,
}

impl ChaosState {
    /// State over the store of `config` (Redis connects on first use; see [`ChaosState::check`]).
    pub fn new(config: &ChaosConfig) -> Result<Self, ChaosError> {
        let faults = Faults::new();
        let store = match &config.redis_url {
            Some(url) => Store::redis(url, config.pool_size.max(1), faults.clone())?,
            None => Store::embedded(faults.clone()),
        };
        Ok(Self {
            store,
            faults,
            metrics: Arc::new(Metrics::new(Service::Chaos)),
            key_prefix: config.key_prefix.as_str().into(),
        })
    }

    /// Pings the store once and logs the outcome; an unreachable Redis is not fatal (the
    /// service starts and `/health` answers 503 until it is back).
    pub async fn check(&self) {
        let store = self.store.describe();
        match self.store.ping(HEALTH_TIMEOUT).await {
            Ok(latency) => {
                tracing::info!(%store, latency_ms = latency.as_secs_f64() * 1000.0, "chaos store ready");
            }
            Err(e) => tracing::warn!(%store, "chaos store unreachable for now: {e}"),
        }
    }

    /// The store in use.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The fault board.
    pub fn faults(&self) -> &Arc<Faults> {
        &self.faults
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.key_prefix)
    }
}

/// The chaos service's router.
pub fn app(state: ChaosState) -> Router {
    let observer = Observer {
        service: Service::Chaos,
        metrics: state.metrics.clone(),
    };
    Router::new()
        .route("/", get(visit))
        .route("/kv/{key}", get(read).put(write))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .merge(control::routes())
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn_with_state(
            state.faults.clone(),
            gate::gate,
        ))
        .layer(axum::middleware::from_fn_with_state(observer, observe))
        .with_state(state)
}

fn store_error(e: &StoreError, ctx: &RequestContext) -> ApiError {
    let (status, code) = match e {
        StoreError::Timeout { .. } => (StatusCode::GATEWAY_TIMEOUT, "dependency_timeout"),
        StoreError::FaultDown { .. } | StoreError::Failed { .. } => {
            (StatusCode::SERVICE_UNAVAILABLE, "dependency_unavailable")
        }
    };
    let store = match e {
        StoreError::FaultDown { store }
        | StoreError::Timeout { store, .. }
        | StoreError::Failed { store, .. } => *store,
    };
    ApiError::new(status, code, e.to_string())
        .with_details(json!({"store": store, "class": e.class()}))
        .with_field("trace_id", ctx.trace_id.clone().into())
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

async fn visit(State(state): State<ChaosState>, ctx: RequestContext) -> Result<Response, ApiError> {
    tracing::Span::current().record("operation_type", "visit");
    let started = Instant::now();
    let visits = state
        .store
        .incr(&ctx.queries, &state.key("visits"))
        .await
        .map_err(|e| store_error(&e, &ctx))?;
    Ok(axum::Json(json!({
        "status": "success",
        "service": Service::Chaos.name(),
        "visits": visits,
        "store": state.store.kind().name(),
        "store_ms": millis(started.elapsed()),
        "trace_id": ctx.trace_id,
    }))
    .into_response())
}

fn check_key(key: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(key) = key.map_err(|rejection| {
        ApiError::validation(vec![("key".to_owned(), rejection.body_text())])
    })?;
    if key.is_empty() || key.len() > MAX_KEY_BYTES || key.chars().any(char::is_control) {
        return Err(ApiError::validation(vec![(
            "key".to_owned(),
            format!(
                "must be 1 to {MAX_KEY_BYTES} bytes without control characters, got {} bytes",
                key.len()
            ),
        )]));
    }
    Ok(key)
}

async fn read(
    State(state): State<ChaosState>,
    ctx: RequestContext,
    key: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    tracing::Span::current().record("operation_type", "kv.read");
    let key = check_key(key)?;
    let started = Instant::now();
    let stored = state
        .store
        .get(&ctx.queries, &state.key(&format!("kv:{key}")))
        .await
        .map_err(|e| store_error(&e, &ctx))?;
    let Some(text) = stored else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("key {key:?} does not exist"),
        )
        .with_details(json!({"resource": "key", "key": key})));
    };
    // Values are stored as their JSON text; anything else written by hand reads as a string.
    let value = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
    Ok(axum::Json(json!({
        "status": "success",
        "key": key,
        "value": value,
        "store_ms": millis(started.elapsed()),
        "trace_id": ctx.trace_id,
    }))
    .into_response())
}

/// Body of `PUT /kv/{key}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WriteBody {
    /// Any JSON value.
    value: Value,
}

async fn write(
    State(state): State<ChaosState>,
    ctx: RequestContext,
    key: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<WriteBody>,
) -> Result<Response, ApiError> {
    tracing::Span::current().record("operation_type", "kv.write");
    let key = check_key(key)?;
    let text = body.value.to_string();
    if text.len() > MAX_VALUE_BYTES {
        return Err(ApiError::validation(vec![(
            "value".to_owned(),
            format!(
                "must be at most {MAX_VALUE_BYTES} bytes as JSON, got {}",
                text.len()
            ),
        )]));
    }
    let started = Instant::now();
    let existed = state
        .store
        .set(&ctx.queries, &state.key(&format!("kv:{key}")), &text)
        .await
        .map_err(|e| store_error(&e, &ctx))?;
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        axum::Json(json!({
            "status": "success",
            "key": key,
            "value": body.value,
            "created": !existed,
            "store_ms": millis(started.elapsed()),
            "trace_id": ctx.trace_id,
        })),
    )
        .into_response())
}

async fn health(State(state): State<ChaosState>) -> Response {
    let store = state.store.describe();
    match state.store.ping(HEALTH_TIMEOUT).await {
        Ok(latency) => axum::Json(json!({
            "status": "ok",
            "service": Service::Chaos.name(),
            "store": store,
            "dependency": {"status": "ok", "latency_ms": millis(latency)},
            "active_faults": state.faults.describe().len(),
        }))
        .into_response(),
        Err(e) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "dependency_unavailable",
            format!("{} check failed: {e}", state.store.kind().name()),
        )
        .with_details(json!({"store": store, "class": e.class()}))
        .with_field("service", Service::Chaos.name().into())
        .into_response(),
    }
}

async fn metrics(State(state): State<ChaosState>, headers: http::HeaderMap) -> Response {
    let format = crate::exposition::Exposition::negotiate(&headers);
    let mut text = state.metrics.render(format);
    text.push_str(&state.faults.metrics().render());
    format.response(text)
}
