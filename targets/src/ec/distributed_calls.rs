//! `GET|POST /distributed/{operation}`: runs an operation on the distributed service under the
//! caller's trace and answers its result plus both timings. A refused connection is a 502 and a
//! timeout a 504, each saying which; the distributed service's own errors (422, 500) are passed
//! through with their status.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::EcState;
use super::distributed_client::CallError;
use crate::distributed::{OperationRequest, Parameters};
use crate::http::api_error::ApiError;
use crate::http::context::{RequestContext, UserId, user_json};
use crate::http::extract::{ApiQuery, parse_json};

const OPERATIONS: [&str; 3] = ["n-plus-one", "slow-query", "database-error"];

pub(super) fn routes() -> Router<EcState> {
    Router::new().route("/distributed/{operation}", get(call).post(call))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallQuery {
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    seconds: Option<f64>,
}

async fn call(
    State(state): State<EcState>,
    ctx: RequestContext,
    method: Method,
    Path(operation): Path<String>,
    ApiQuery(query): ApiQuery<CallQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    tracing::Span::current().record(
        "operation_type",
        format!("distributed.{operation}").as_str(),
    );
    let request = if method == Method::POST {
        parse_json::<OperationRequest>(&body)?
    } else {
        OperationRequest {
            user_id: query.user_id.as_deref().and_then(UserId::parse),
            operation: None,
            parameters: Parameters {
                limit: query.limit,
                category: query.category,
                seconds: query.seconds,
            },
        }
    };
    let user = ctx.user_id_or(request.user_id.clone());
    if !OPERATIONS.contains(&operation.as_str()) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_operation",
            format!(
                "unknown operation {operation:?}; expected one of {}",
                OPERATIONS.join(", ")
            ),
        )
        .with_details(json!({"operation": operation, "allowed": OPERATIONS}))
        .with_context(&ctx, user.as_ref()));
    }
    let payload = json!({
        "user_id": user_json(user.as_ref()),
        "operation": operation.replace('-', "_"),
        "parameters": request.parameters,
    });
    let outcome = state
        .distributed
        .call(&operation, &payload, user.as_ref(), &ctx.trace_id)
        .await
        .map_err(|e| call_error(&ctx, user.as_ref(), &operation, e))?;

    let total = ctx.started.elapsed().as_secs_f64();
    let remote = &outcome.body;
    let timings = json!({
        "total_seconds": total,
        "distributed_call_seconds": outcome.elapsed.as_secs_f64(),
        "distributed_execution_time": remote.pointer("/data/execution_time").cloned().unwrap_or(Value::Null),
    });
    let distributed = json!({
        "url": format!("{}/{operation}", state.distributed.base_url().trim_end_matches('/')),
        "status_code": outcome.status,
        "trace_id": remote.get("trace_id").cloned().unwrap_or(Value::Null),
        "attempts": outcome.attempts,
    });
    let status = StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut answer = match remote {
        Value::Object(map) => map.clone(),
        other => {
            let mut map = serde_json::Map::new();
            map.insert("data".into(), other.clone());
            map
        }
    };
    answer.insert("operation".into(), Value::from(operation));
    answer.insert("user_id".into(), user_json(user.as_ref()));
    answer.insert("trace_id".into(), Value::from(ctx.trace_id.clone()));
    answer.insert("distributed".into(), distributed);
    answer.insert("timings".into(), timings);
    if let Some(count) = remote.pointer("/data/query_count").and_then(Value::as_u64) {
        tracing::Span::current().record("query_count", count);
    }
    if status.is_server_error() {
        let span = tracing::Span::current();
        span.record("otel.status_code", "ERROR");
    }
    Ok((status, Json(Value::Object(answer))).into_response())
}

fn call_error(
    ctx: &RequestContext,
    user: Option<&UserId>,
    operation: &str,
    e: CallError,
) -> ApiError {
    let (status, code, details) = match &e {
        CallError::Unavailable {
            url,
            attempts,
            message,
        } => (
            StatusCode::BAD_GATEWAY,
            "distributed_unavailable",
            json!({"url": url, "attempts": attempts, "reason": "connection_failed", "error": message}),
        ),
        CallError::Timeout { url, timeout_ms } => (
            StatusCode::GATEWAY_TIMEOUT,
            "distributed_timeout",
            json!({"url": url, "timeout_ms": timeout_ms, "reason": "timeout"}),
        ),
        CallError::BadResponse {
            url,
            status,
            message,
        } => (
            StatusCode::BAD_GATEWAY,
            "distributed_bad_response",
            json!({"url": url, "status": status, "reason": "bad_response", "error": message}),
        ),
    };
    ApiError::new(status, code, e.to_string())
        .with_details(details)
        .with_context(ctx, user)
        .with_field("operation", Value::from(operation))
}
