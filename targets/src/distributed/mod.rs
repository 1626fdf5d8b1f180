//! The distributed service (port 5002; seed 000): `POST /n-plus-one`, `POST /slow-query` and
//! `POST /database-error` taking `{user_id, operation, parameters: {limit, category, seconds}}`,
//! continuing the caller's trace, plus `GET /health` and `GET /metrics`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_http::catch_panic::CatchPanicLayer;

use crate::db::Db;
use crate::http::api_error::{ApiError, panic_response};
use crate::http::context::{RequestContext, UserId};
use crate::http::extract::ApiJson;
use crate::http::observe::{Observer, observe};
use crate::http::perf::PerfResponse;
use crate::metrics::Metrics;
use crate::operations;
use crate::service::Service;

/// Shared state of the distributed service.
#[derive(Clone, Debug)]
pub struct DistributedState {
    db: Db,
    metrics: Arc<Metrics>,
}

impl DistributedState {
    /// State over an opened (migrated, seeded) database.
    pub fn new(db: Db) -> Self {
        let metrics = Metrics::new(Service::Distributed);
        metrics.watch_pool(&db);
        Self {
            db,
            metrics: Arc::new(metrics),
        }
    }
}

/// The distributed service's router.
pub fn app(state: DistributedState) -> Router {
    let observer = Observer {
        service: Service::Distributed,
        metrics: state.metrics.clone(),
    };
    Router::new()
        .route("/health", get(crate::health::health::<DistributedState>))
        .route("/metrics", get(metrics))
        .route("/n-plus-one", post(n_plus_one))
        .route("/slow-query", post(slow_query))
        .route("/database-error", post(database_error))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn_with_state(observer, observe))
        .with_state(state)
}

impl crate::health::HasDb for DistributedState {
    fn db(&self) -> &Db {
        &self.db
    }
    fn service(&self) -> Service {
        Service::Distributed
    }
}

async fn metrics(
    State(state): State<DistributedState>,
    headers: http::HeaderMap,
) -> impl IntoResponse {
    let format = crate::exposition::Exposition::negotiate(&headers);
    format.response(state.metrics.render(format))
}

/// Body of every operation.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationRequest {
    /// The caller's user id (the `X-User-Id` header wins when both are sent).
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// The operation name (`n_plus_one`, `slow_query`, `database_error`, or with dashes);
    /// optional, but must match the route when given.
    #[serde(default)]
    pub operation: Option<String>,
    /// Operation parameters.
    #[serde(default)]
    pub parameters: Parameters,
}

/// Parameters of an operation.
#[derive(Debug, Default, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Parameters {
    /// Products to read (N+1), 1..=1000, default 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// Category filter (N+1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Duration of the slow query, 0..=30, default random 3–5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
}

fn start(
    ctx: &RequestContext,
    body: &OperationRequest,
    route_op: &str,
) -> Result<Option<UserId>, ApiError> {
    tracing::Span::current().record("operation_type", route_op);
    let user = ctx.user_id_or(body.user_id.clone());
    if let Some(op) = &body.operation
        && op.replace('_', "-") != route_op
    {
        return Err(ApiError::validation(vec![(
            "operation".to_owned(),
            format!("{op:?} does not match the route /{route_op}"),
        )])
        .with_context(ctx, user.as_ref()));
    }
    Ok(user)
}

async fn n_plus_one(
    State(state): State<DistributedState>,
    ctx: RequestContext,
    ApiJson(body): ApiJson<OperationRequest>,
) -> Result<Response, ApiError> {
    let user = start(&ctx, &body, "n-plus-one")?;
    let limit = body.parameters.limit.unwrap_or(operations::DEFAULT_LIMIT);
    let mut problems = Vec::new();
    operations::check_limit("parameters.limit", limit, &mut problems);
    if let Some(category) = &body.parameters.category {
        operations::check_category("parameters.category", category, &mut problems);
    }
    if !problems.is_empty() {
        return Err(ApiError::validation(problems).with_context(&ctx, user.as_ref()));
    }
    let results = operations::n_plus_one(
        &state.db,
        &ctx.queries,
        limit,
        body.parameters.category.as_deref(),
    )
    .await
    .map_err(|e| ApiError::database(&e).with_context(&ctx, user.as_ref()))?;
    Ok(PerfResponse::new(&ctx, user, results)
        .with_field("operation", "n-plus-one".into())
        .with_field("service", Service::Distributed.name().into())
        .into_response())
}

async fn slow_query(
    State(state): State<DistributedState>,
    ctx: RequestContext,
    ApiJson(body): ApiJson<OperationRequest>,
) -> Result<Response, ApiError> {
    let user = start(&ctx, &body, "slow-query")?;
    let seconds = body
        .parameters
        .seconds
        .unwrap_or_else(operations::default_seconds);
    let mut problems = Vec::new();
    operations::check_seconds("parameters.seconds", seconds, &mut problems);
    if !problems.is_empty() {
        return Err(ApiError::validation(problems).with_context(&ctx, user.as_ref()));
    }
    let results = operations::slow_query(&state.db, &ctx.queries, seconds)
        .await
        .map_err(|e| ApiError::database(&e).with_context(&ctx, user.as_ref()))?;
    Ok(PerfResponse::new(&ctx, user, results)
        .with_field("operation", "slow-query".into())
        .with_field("service", Service::Distributed.name().into())
        .into_response())
}

async fn database_error(
    State(state): State<DistributedState>,
    ctx: RequestContext,
    ApiJson(body): ApiJson<OperationRequest>,
) -> Result<Response, ApiError> {
    let user = start(&ctx, &body, "database-error")?;
    let err = operations::database_error(&state.db, &ctx.queries).await;
    Err(ApiError::database(&err)
        .with_context(&ctx, user.as_ref())
        .with_field("operation", "database-error".into())
        .with_field("service", Service::Distributed.name().into()))
}
