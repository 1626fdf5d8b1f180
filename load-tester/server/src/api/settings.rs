//! The server's settings: read them, change the ones a running server can take, and check a
//! token.

use axum::Json;
use axum::extract::{Extension, State};
use lt_store::ConfigChange;
use serde_json::{Map, Value, json};

use super::extract::ApiBody;
use super::model::{ErrorBody, SettingsChange, SettingsChanged, SettingsView, TokenCheck};
use super::{AppState, json_body};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::live_settings::CHANGEABLE;
use crate::time::now_ms;

/// `GET /api/settings`: the settings in force (the token never shown) and which of them
/// `PATCH` can change.
#[utoipa::path(get, path = "/api/settings", operation_id = "settings", tag = "server",
    responses((status = 200, description = "The settings in force (never the token) and which can change live", body = SettingsView)))]
pub async fn current(State(app): State<AppState>) -> Json<SettingsView> {
    let mut settings = (*app.settings.get()).clone();
    settings.api_token = None;
    settings.allowed_targets = app.allow.entries().to_vec();
    Json(SettingsView {
        settings,
        changeable: CHANGEABLE.iter().map(|s| s.to_string()).collect(),
    })
}

/// `PATCH /api/settings`: changes caps, timeouts, the rate limit or retention until the server
/// stops; all or nothing, each change recorded in the configuration history.
#[utoipa::path(patch, path = "/api/settings", operation_id = "change_settings", tag = "server",
    request_body = SettingsChange,
    responses(
        (status = 200, description = "Changed until the server stops; each change is in the configuration history", body = SettingsChanged),
        (status = 422, description = "A setting that cannot change live, or a value it cannot take (`invalid_setting`)", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn change(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiBody(body): ApiBody,
) -> ApiResult<Json<SettingsChanged>> {
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
    Ok(Json(SettingsChanged { settings, changes }))
}

/// `GET /api/token`: 200 with the caller's name when the bearer token is this server's, 401
/// otherwise (the guard answers that), whatever `read_access` is.
#[utoipa::path(get, path = "/api/token", tag = "server",
    responses((status = 200, description = "The token is valid; who the caller is", body = TokenCheck)),
    security(("bearer" = [])))]
pub async fn token(Extension(caller): Extension<Caller>) -> Json<TokenCheck> {
    Json(TokenCheck {
        valid: true,
        actor: caller.0,
    })
}
