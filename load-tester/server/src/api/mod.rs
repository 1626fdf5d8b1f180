//! The HTTP API: routes, the shared state, and the layers every call goes through
//! (audit log, per-client rate limit, token check).

mod events;
mod extract;
mod history;
mod metrics;
mod metrics_accuracy;
pub mod model;
mod openapi;
mod report;
mod scenarios;
mod sessions;
mod settings;

use axum::Router;
use axum::extract::FromRef;
use axum::middleware::from_fn_with_state;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
pub use crate::state::AppState;

pub use openapi::document as openapi_document;

/// Every route, each registered with its OpenAPI operation: the router and the document come
/// from this one list, so neither can have what the other lacks. (Only `routes!` adds a route.)
fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sessions::health))
        .routes(routes!(openapi::serve))
        .routes(routes!(settings::current, settings::change))
        .routes(routes!(settings::token))
        .routes(routes!(scenarios::list))
        .routes(routes!(scenarios::validate))
        .routes(routes!(sessions::list, sessions::start))
        .routes(routes!(sessions::one, sessions::change))
        .routes(routes!(sessions::stop))
        .routes(routes!(history::stats))
        .routes(routes!(history::errors))
        .routes(routes!(report::report_html))
        .routes(routes!(history::report_json))
        .routes(routes!(history::junit))
        .routes(routes!(events::session))
        .routes(routes!(events::all))
        .routes(routes!(sessions::emergency_stop))
        .routes(routes!(history::compare))
        .routes(routes!(history::config_history))
        .routes(routes!(history::audit))
        .routes(routes!(metrics::serve))
}

/// The API's routes, with their layers.
pub fn router(state: AppState) -> Router {
    let (routes, _) = documented_routes().split_for_parts();
    routes
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
