//! The server's settings: read them, change the ones a running server can take, and check a
//! token.

use axum::Json;
use axum::extract::{Extension, State};
use lt_store::ConfigChange;
use serde_json::{Map, Value, json};

use super::extract::ApiBody;
use super::{AppState, json_body};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::live_settings::CHANGEABLE;
use crate::time::now_ms;

/// `GET /api/settings`: the settings in force (the token never shown) and which of them
/// `PATCH` can change.
pub async fn current(State(app): State<AppState>) -> Json<Value> {
    let mut settings = serde_json::to_value(&*app.settings.get()).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut settings {
        map.remove("api_token");
        map.entry("trace_url").or_insert(Value::Null);
        map.insert("allowed_targets".into(), json!(app.allow.entries()));
        map.insert("changeable".into(), json!(CHANGEABLE));
    }
    Json(settings)
}

/// `PATCH /api/settings`: changes caps, timeouts, the rate limit or retention until the server
/// stops; all or nothing, each change recorded in the configuration history.
pub async fn change(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiBody(body): ApiBody,
) -> ApiResult<Json<Value>> {
    let patch: Map<String, Value> = json_body(&body)?;
    if patch.is_empty() {
        return Err(ApiError::invalid(
            "invalid_request",
            format!("give at least one of {}", CHANGEABLE.join(", ")),
        ));
    }
    let changed = app.settings.apply(&patch).map_err(|r| {
        ApiError::invalid("invalid_setting", format!("{}: {}", r.key, r.message))
            .with_details(json!({ "field": r.key }))
    })?;
    let at_ms = now_ms();
    let changes: Vec<ConfigChange> = changed
        .into_iter()
        .map(|c| ConfigChange {
            id: None,
            session_id: None,
            who: caller.0.clone(),
            at_ms,
            field: format!("setting:{}", c.key),
            old: c.old,
            new: c.new,
        })
        .collect();
    let recorded = changes.clone();
    app.db(move |s| recorded.iter().try_for_each(|c| s.record_change(c)))
        .await?;
    let Json(settings) = current(State(app)).await;
    Ok(Json(json!({ "settings": settings, "changes": changes })))
}

/// `GET /api/token`: 200 with the caller's name when the bearer token is this server's, 401
/// otherwise (the guard answers that), whatever `read_access` is.
pub async fn token(Extension(caller): Extension<Caller>) -> Json<Value> {
    Json(json!({ "valid": true, "actor": caller.0 }))
}
