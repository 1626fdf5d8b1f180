//! The HTTP API: routes, the shared state, and the layers every call goes through
//! (audit log, per-client rate limit, token check).

mod events;
mod extract;
mod history;
mod metrics;
mod openapi;
mod scenarios;
mod sessions;
mod settings;

use axum::Router;
use axum::extract::FromRef;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

use crate::error::ApiError;
pub use crate::state::AppState;

pub use openapi::document as openapi_document;

/// The API's routes, with their layers.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/health", get(sessions::health))
        .route("/api/openapi.json", get(openapi::serve))
        .route(
            "/api/settings",
            get(settings::current).patch(settings::change),
        )
        .route("/api/token", get(settings::token))
        .route("/api/scenarios", get(scenarios::list))
        .route("/api/scenarios/validate", post(scenarios::validate))
        .route("/api/sessions", get(sessions::list).post(sessions::start))
        .route(
            "/api/sessions/{id}",
            get(sessions::one).patch(sessions::change),
        )
        .route("/api/sessions/{id}/stop", post(sessions::stop))
        .route("/api/sessions/{id}/stats", get(history::stats))
        .route("/api/sessions/{id}/errors", get(history::errors))
        .route("/api/sessions/{id}/report", get(history::report_html))
        .route("/api/sessions/{id}/report.json", get(history::report_json))
        .route("/api/sessions/{id}/junit.xml", get(history::junit))
        .route("/api/sessions/{id}/events", get(events::session))
        .route("/api/events", get(events::all))
        .route("/api/emergency-stop", post(sessions::emergency_stop))
        .route("/api/compare", get(history::compare))
        .route("/api/config/history", get(history::config_history))
        .route("/api/audit", get(history::audit))
        .route("/metrics", get(metrics::serve))
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(axum::extract::DefaultBodyLimit::max(extract::BODY_LIMIT))
        .layer(axum::middleware::map_response(crate::error::json_errors))
        .layer(from_fn_with_state(
            crate::auth::AuthState::from_ref(&state),
            crate::auth::guard,
        ))
        .layer(from_fn_with_state(
            crate::rate_limit::RateState::from_ref(&state),
            crate::rate_limit::limit,
        ))
        .layer(from_fn_with_state(
            state.store.clone(),
            crate::audit::record,
        ))
        .with_state(state)
}

async fn unknown_route(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no route `{}`; GET /api/openapi.json lists them",
            uri.path()
        ),
    )
}

async fn wrong_method(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "`{method} {}` is not a route; GET /api/openapi.json lists them",
            uri.path()
        ),
    )
}

/// Reads a JSON body strictly: text that is not JSON is 400 with where it breaks; JSON of the
/// wrong shape is 422 naming the field.
pub fn json_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if matches!(
            inner.classify(),
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof
        ) {
            return ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("the body is not valid JSON: {inner}"),
            )
            .with_details(serde_json::json!({ "line": inner.line(), "column": inner.column() }));
        }
        let message = if path == "." || path.is_empty() {
            format!("the body is not valid: {inner}")
        } else {
            format!("{path}: {inner}")
        };
        ApiError::invalid("invalid_request", message)
            .with_details(serde_json::json!({ "field": path }))
    })
}
