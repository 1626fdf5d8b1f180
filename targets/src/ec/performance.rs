//! The performance-problem endpoints under `/performance`: N+1 queries, slow query, full scan,
//! complex join (and a bounded cartesian product), application errors and a database error.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::EcState;
use crate::db::{Param, Statement};
use crate::http::api_error::ApiError;
use crate::http::context::{RequestContext, UserId};
use crate::http::extract::ApiQuery;
use crate::http::perf::PerfResponse;
use crate::operations;

pub(super) fn routes() -> Router<EcState> {
    Router::new()
        .route("/performance/n-plus-one", get(n_plus_one))
        .route("/performance/slow-query", get(slow_query))
        .route("/performance/slow-query/full-scan", get(full_scan))
        .route("/performance/slow-query/complex-join", get(complex_join))
        .route("/performance/error", get(error))
        .route("/performance/database-error", get(database_error))
}

/// Query parameters every performance endpoint accepts.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PerfQuery {
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    seconds: Option<f64>,
    #[serde(default)]
    min_total: Option<f64>,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default)]
    size: Option<i64>,
    #[serde(default)]
    kind: Option<String>,
}

fn begin(ctx: &RequestContext, query: &PerfQuery, operation: &str) -> Option<UserId> {
    tracing::Span::current().record("operation_type", operation);
    ctx.user_id_or(query.user_id.as_deref().and_then(UserId::parse))
}

fn invalid(
    ctx: &RequestContext,
    user: Option<&UserId>,
    problems: Vec<(String, String)>,
) -> ApiError {
    ApiError::validation(problems).with_context(ctx, user)
}

async fn n_plus_one(
    State(state): State<EcState>,
    ctx: RequestContext,
    ApiQuery(query): ApiQuery<PerfQuery>,
) -> Result<PerfResponse, ApiError> {
    let user = begin(&ctx, &query, "n-plus-one");
    let limit = query.limit.unwrap_or(operations::DEFAULT_LIMIT);
    let mut problems = Vec::new();
    operations::check_limit("limit", limit, &mut problems);
    if let Some(category) = &query.category {
        operations::check_category("category", category, &mut problems);
    }
    if !problems.is_empty() {
        return Err(invalid(&ctx, user.as_ref(), problems));
    }
    let results = operations::n_plus_one(&state.db, &ctx.queries, limit, query.category.as_deref())
        .await
        .map_err(|e| ApiError::database(&e).with_context(&ctx, user.as_ref()))?;
    Ok(PerfResponse::new(&ctx, user, results).with_field("operation", "n-plus-one".into()))
}

async fn slow_query(
    State(state): State<EcState>,
    ctx: RequestContext,
    ApiQuery(query): ApiQuery<PerfQuery>,
) -> Result<PerfResponse, ApiError> {
    let user = begin(&ctx, &query, "slow-query");
    let seconds = query.seconds.unwrap_or_else(operations::default_seconds);
    let mut problems = Vec::new();
    operations::check_seconds("seconds", seconds, &mut problems);
    if !problems.is_empty() {
        return Err(invalid(&ctx, user.as_ref(), problems));
    }
    let results = operations::slow_query(&state.db, &ctx.queries, seconds)
        .await
        .map_err(|e| ApiError::database(&e).with_context(&ctx, user.as_ref()))?;
    Ok(PerfResponse::new(&ctx, user, results).with_field("operation", "slow-query".into()))
}

/// Full scan of the largest table: the predicate and the ordering are on an expression no
/// index covers, so every row of `order_items` is read and sorted.
pub const FULL_SCAN: Statement = Statement::same(
    "order_items.full_scan",
    "SELECT id, order_id, product_id, quantity, unit_price, quantity * unit_price AS line_total, \
     COUNT(*) OVER () AS matched FROM order_items WHERE quantity * unit_price > $1 \
     ORDER BY line_total DESC, id LIMIT 20",
);

#[derive(Debug, sqlx::FromRow, serde::Serialize)]
struct FullScanRow {
    id: i64,
    order_id: i64,
    product_id: i64,
    quantity: i64,
    unit_price: f64,
    line_total: f64,
    matched: i64,
}

async fn full_scan(
    State(state): State<EcState>,
    ctx: RequestContext,
    ApiQuery(query): ApiQuery<PerfQuery>,
) -> Result<PerfResponse, ApiError> {
    let user = begin(&ctx, &query, "full-scan");
    let min_total = query.min_total.unwrap_or(500.0);
    if !min_total.is_finite() {
        return Err(invalid(
            &ctx,
            user.as_ref(),
            vec![(
                "min_total".to_owned(),
                format!("must be a finite number, got {min_total}"),
            )],
        ));
    }
    let rows: Vec<FullScanRow> = state
        .db
        .fetch_all(&ctx.queries, &FULL_SCAN, &[Param::Float(min_total)])
        .await
        .map_err(|e| ApiError::database(&e).with_context(&ctx, user.as_ref()))?;
    let matched = rows.first().map_or(0, |r| r.matched);
    Ok(PerfResponse::new(&ctx, user, json!(rows))
        .with_field("operation", "full-scan".into())
        .with_field("matched_rows", matched.into()))
}

/// Revenue per category over four tables, aggregated and ordered.
pub const COMPLEX_JOIN: Statement = Statement::same(
    "reports.category_revenue",
    "SELECT p.category AS category, COUNT(DISTINCT o.id) AS orders, COUNT(DISTINCT u.id) AS customers, \
     CAST(SUM(oi.quantity) AS BIGINT) AS units, SUM(oi.quantity * oi.unit_price) AS revenue, \
     AVG(oi.unit_price) AS avg_unit_price \
     FROM order_items oi \
     JOIN orders o ON o.id = oi.order_id \
     JOIN products p ON p.id = oi.product_id \
     JOIN users u ON u.id = o.user_id \
     WHERE o.status <> 'cancelled' \
     GROUP BY p.category ORDER BY revenue DESC",
);

/// A bounded cartesian product: the first `$1` products times the first `$2` users.
pub const CARTESIAN: Statement = Statement::same(
    "reports.cartesian",
    "SELECT COUNT(*) AS pairs, SUM(p.price) AS price_sum \
     FROM (SELECT price FROM products ORDER BY id LIMIT $1) p \
     CROSS JOIN (SELECT id FROM users ORDER BY id LIMIT $2) u",
);

#[derive(Debug, sqlx::FromRow, serde::Serialize)]
struct CategoryRevenue {
    category: String,
    orders: i64,
    customers: i64,
    units: i64,
    revenue: f64,
    avg_unit_price: f64,
}

#[derive(Debug, sqlx::FromRow, serde::Serialize)]
struct CartesianRow {
    pairs: i64,
    price_sum: Option<f64>,
}

async fn complex_join(
    State(state): State<EcState>,
    ctx: RequestContext,
    ApiQuery(query): ApiQuery<PerfQuery>,
) -> Result<PerfResponse, ApiError> {
    let variant = query
        .variant
        .clone()
        .unwrap_or_else(|| "aggregate".to_owned());
    let user = begin(&ctx, &query, &format!("complex-join.{variant}"));
    let db_err = |e: crate::db::DbError| ApiError::database(&e).with_context(&ctx, user.as_ref());
    match variant.as_str() {
        "aggregate" => {
            let rows: Vec<CategoryRevenue> = state
                .db
                .fetch_all(&ctx.queries, &COMPLEX_JOIN, &[])
                .await
                .map_err(db_err)?;
            Ok(PerfResponse::new(&ctx, user, json!(rows))
                .with_field("operation", "complex-join".into())
                .with_field("variant", variant.into()))
        }
        "cartesian" => {
            let size = query.size.unwrap_or(1000);
            if !(1..=2000).contains(&size) {
                return Err(invalid(
                    &ctx,
                    user.as_ref(),
                    vec![(
                        "size".to_owned(),
                        format!("must be between 1 and 2000, got {size}"),
                    )],
                ));
            }
            let row: CartesianRow = state
                .db
                .fetch_one(
                    &ctx.queries,
                    &CARTESIAN,
                    &[Param::Int(size), Param::Int(size)],
                )
                .await
                .map_err(db_err)?;
            Ok(PerfResponse::new(&ctx, user, json!([row]))
                .with_field("operation", "complex-join".into())
                .with_field("variant", variant.into()))
        }
        other => Err(invalid(
            &ctx,
            user.as_ref(),
            vec![(
                "variant".to_owned(),
                format!("unknown variant {other:?}; expected aggregate or cartesian"),
            )],
        )),
    }
}

const ERROR_KINDS: [&str; 4] = ["500", "panic", "timeout", "random"];

async fn error(
    ctx: RequestContext,
    ApiQuery(query): ApiQuery<PerfQuery>,
) -> Result<Response, ApiError> {
    let user = begin(&ctx, &query, "error");
    let requested = query.kind.clone().unwrap_or_else(|| "500".to_owned());
    if !ERROR_KINDS.contains(&requested.as_str()) {
        return Err(invalid(
            &ctx,
            user.as_ref(),
            vec![(
                "kind".to_owned(),
                format!(
                    "unknown error kind {requested:?}; expected one of {}",
                    ERROR_KINDS.join(", ")
                ),
            )],
        ));
    }
    let seconds = query.seconds.unwrap_or(2.0);
    let mut problems = Vec::new();
    operations::check_seconds("seconds", seconds, &mut problems);
    if !problems.is_empty() {
        return Err(invalid(&ctx, user.as_ref(), problems));
    }
    let kind = if requested == "random" {
        ERROR_KINDS[rand::random_range(0..3)]
    } else {
        requested.as_str()
    };
    tracing::Span::current().record("operation_type", format!("error.{kind}").as_str());
    let details = json!({"kind": kind, "requested_kind": requested});
    match kind {
        "panic" => panic!("intentional panic requested by /performance/error?kind={requested}"),
        "timeout" => {
            tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
            Err(ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "timeout",
                format!("intentional timeout after {seconds} s"),
            )
            .with_details(details)
            .with_context(&ctx, user.as_ref()))
        }
        _ => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "intentional internal server error",
        )
        .with_details(details)
        .with_context(&ctx, user.as_ref())),
    }
}

async fn database_error(
    State(state): State<EcState>,
    ctx: RequestContext,
    ApiQuery(query): ApiQuery<PerfQuery>,
) -> Response {
    let user = begin(&ctx, &query, "database-error");
    let err = operations::database_error(&state.db, &ctx.queries).await;
    ApiError::database(&err)
        .with_context(&ctx, user.as_ref())
        .with_field("operation", Value::from("database-error"))
        .into_response()
}
