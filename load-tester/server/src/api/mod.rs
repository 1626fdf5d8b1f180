//! The HTTP API: routes, the shared state, and the layers every call goes through
//! (audit log, per-client rate limit, token check).

mod events;
mod history;
mod metrics;
mod openapi;
mod scenarios;
mod sessions;
mod settings;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use lt_store::Store;

use crate::allow_list::AllowList;
use crate::auth::Token;
use crate::error::ApiError;
use crate::hub::Hub;
use crate::live_settings::LiveSettings;
use crate::rate_limit::RateLimiter;
use crate::supervisor::Supervisor;

pub use openapi::document as openapi_document;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

#[derive(Debug)]
pub struct Shared {
    pub settings: Arc<LiveSettings>,
    pub store: Store,
    pub hub: Arc<Hub>,
    pub supervisor: Arc<Supervisor>,
    pub token: Token,
    pub allow: AllowList,
    pub limiter: RateLimiter,
    pub started: Instant,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }

    /// Runs a blocking store call off the async threads.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, lt_store::StoreError> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| ApiError::internal("a store task", e))?
            .map_err(ApiError::from)
    }
}

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
        .layer(from_fn_with_state(state.clone(), crate::auth::guard))
        .layer(from_fn_with_state(state.clone(), crate::rate_limit::limit))
        .layer(from_fn_with_state(state.clone(), crate::audit::record))
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

/// Reads a JSON body strictly, naming the field of any problem (422).
pub fn json_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if path == "." || path.is_empty() {
            format!("the body is not valid: {inner}")
        } else {
            format!("{path}: {inner}")
        };
        ApiError::invalid("invalid_request", message)
            .with_details(serde_json::json!({ "field": path }))
    })
}
