//! The middleware that makes the hang and the error faults felt by every request.
//!
//! A hang holds requests (every route, or all but `/chaos/*`) until it ends: the connection
//! stays open and nothing is answered, the way a service with a blocked event loop behaves;
//! held requests are released together when the hang expires or is stopped. An error fault
//! answers its status to its share of the requests (never `/chaos/*`).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

use super::faults::Faults;
use crate::http::api_error::ApiError;

/// Whether `path` is a fault-control route (`/chaos/...`).
pub fn is_control(path: &str) -> bool {
    path == "/chaos" || path.starts_with("/chaos/")
}

/// See the module documentation.
pub async fn gate(State(faults): State<Arc<Faults>>, req: Request, next: Next) -> Response {
    let control = is_control(req.uri().path());
    let mut hang = faults.hang();
    let held = |scope: &Option<super::faults::HangScope>| scope.is_some_and(|s| s.holds(control));
    if held(&hang.borrow_and_update()) {
        let _guard = faults.metrics().hold();
        let since = Instant::now();
        tracing::info!("held by a hang");
        // The sender lives as long as `faults`, which this request holds.
        let _ = hang.wait_for(|scope| !held(scope)).await;
        let held_ms = since.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(held_ms, "released: the hang ended");
    }
    if !control
        && let Some((rate, status)) = faults.error()
        && rand::random::<f64>() < rate
    {
        faults.metrics().injected();
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return ApiError::new(
            status,
            "chaos_error",
            format!(
                "injected by the error fault ({}% of requests answer {})",
                (rate * 100.0).round(),
                status.as_u16()
            ),
        )
        .with_details(json!({"fault": "error", "rate": rate, "status": status.as_u16()}))
        .into_response();
    }
    next.run(req).await
}
