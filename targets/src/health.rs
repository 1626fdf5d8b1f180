//! `GET /health`, shared by the services on a database.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

use crate::db::Db;
use crate::service::Service;

/// State that can answer a health check.
pub trait HasDb {
    /// The database to check.
    fn db(&self) -> &Db;
    /// The service answering.
    fn service(&self) -> Service;
}

/// 200 `{"status":"ok"}` when the database answers `SELECT 1` within 2 s, else 503 naming why.
pub async fn health<S: HasDb + Clone + Send + Sync + 'static>(State(state): State<S>) -> Response {
    let db = state.db();
    let backend = db.backend().name();
    let service = state.service().name();
    match db.ping(Duration::from_secs(2)).await {
        Ok(()) => Json(json!({
            "status": "ok",
            "service": service,
            "database": {"backend": backend, "status": "ok"},
        }))
        .into_response(),
        Err(message) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "error",
                "code": "database_unavailable",
                "message": format!("database ({backend}) check failed: {message}"),
                "details": {"backend": backend},
                "service": service,
            })),
        )
            .into_response(),
    }
}
