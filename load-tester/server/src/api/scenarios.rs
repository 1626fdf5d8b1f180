//! Scenario files in the scenarios folder, and validation of YAML sent over the API.

use std::path::Path;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;
use super::extract::ApiBody;
use crate::error::{ApiError, ApiResult};

/// The name diagnostics give YAML sent in a request body.
pub const INLINE_SOURCE: &str = "<api>";

/// `GET /api/scenarios`: every `.yaml`/`.yml` file, with its summary or its problem count.
pub async fn list(State(app): State<AppState>) -> ApiResult<Json<Value>> {
    let dir = app.settings.get().scenarios_dir.clone();
    let entries = tokio::task::spawn_blocking(move || read_dir(&dir))
        .await
        .map_err(|e| ApiError::internal("listing scenarios", e))??;
    Ok(Json(json!({ "scenarios": entries })))
}

fn read_dir(dir: &Path) -> ApiResult<Vec<Value>> {
    let read = std::fs::read_dir(dir).map_err(|e| {
        ApiError::internal(
            &format!("reading the scenarios folder {}", dir.display()),
            e,
        )
    })?;
    let mut files: Vec<_> = read
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    Ok(files
        .iter()
        .filter_map(|path| {
            let file = path.file_name()?.to_str()?.to_string();
            let text = std::fs::read_to_string(path).ok()?;
            Some(match lt_scenario::parse(&file, &text) {
                Ok(s) => json!({
                    "file": file,
                    "name": s.name,
                    "description": s.description,
                    "target": s.target,
                    "users": s.load.users,
                    "duration": lt_scenario::format_duration(s.load.duration),
                    "endpoints": s.endpoints.iter().map(|e| &e.name).collect::<Vec<_>>(),
                    "valid": true,
                    "yaml": lt_scenario::redact::mask_secrets(&text),
                }),
                Err(d) => json!({
                    "file": file,
                    "valid": false,
                    "problems": d.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
                    "yaml": lt_scenario::redact::mask_secrets(&text),
                }),
            })
        })
        .collect())
}

/// Reads the scenario file `name` (with or without `.yaml`) from the scenarios folder.
pub fn find(dir: &Path, name: &str) -> ApiResult<(String, String)> {
    let bad = || {
        ApiError::invalid(
            "unknown_scenario",
            format!(
                "scenario: `{name}` is not a file in the scenarios folder; GET /api/scenarios lists them"
            ),
        )
    };
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(bad());
    }
    for file in [
        name.to_string(),
        format!("{name}.yaml"),
        format!("{name}.yml"),
    ] {
        let path = dir.join(&file);
        if path.is_file() {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ApiError::internal(&format!("reading {}", path.display()), e))?;
            return Ok((file, text));
        }
    }
    Err(bad())
}

/// `POST /api/scenarios/validate` with YAML text: 200 with a summary, or 422 with every problem
/// positioned as `load-tester validate` prints it.
pub async fn validate(body: ApiBody) -> ApiResult<Json<Value>> {
    let body = body.text()?;
    let scenario =
        lt_scenario::parse(INLINE_SOURCE, &body).map_err(|d| ApiError::diagnostics(&d))?;
    Ok(Json(json!({
        "valid": true,
        "name": scenario.name,
        "target": scenario.target,
        "users": scenario.load.users,
        "duration": lt_scenario::format_duration(scenario.load.duration),
        "endpoints": scenario.endpoints.iter().map(|e| json!({ "name": e.name, "weight": e.weight })).collect::<Vec<_>>(),
    })))
}
