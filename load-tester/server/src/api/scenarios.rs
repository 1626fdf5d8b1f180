//! Scenario files in the scenarios folder, and validation of YAML sent over the API.

use std::path::Path;

use axum::Json;
use axum::extract::State;
use lt_scenario::data_folder::DataFolder;

use super::AppState;
use super::extract::ApiBody;
use super::model::{ErrorBody, ScenarioEndpoint, ScenarioFile, ScenarioList, Validated};
use crate::error::{ApiError, ApiResult};

/// The name diagnostics give YAML sent in a request body.
pub const INLINE_SOURCE: &str = "<api>";

/// `GET /api/scenarios`: every `.yaml`/`.yml` file, with its summary or its problem count.
#[utoipa::path(get, path = "/api/scenarios", operation_id = "list_scenarios", tag = "scenarios",
    responses((status = 200, description = "Scenario files in the scenarios folder, secrets masked", body = ScenarioList)))]
pub async fn list(State(app): State<AppState>) -> ApiResult<Json<ScenarioList>> {
    let settings = app.settings.get();
    let dir = settings.scenarios_dir.clone();
    let env = app.supervisor.scenario_env();
    let entries = tokio::task::spawn_blocking(move || read_dir(&dir, &env))
        .await
        .map_err(|e| ApiError::internal("listing scenarios", e))??;
    Ok(Json(ScenarioList { scenarios: entries }))
}

fn read_dir(dir: &Path, env: &lt_scenario::Env) -> ApiResult<Vec<ScenarioFile>> {
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
    let data = DataFolder::inside(dir);
    Ok(files
        .iter()
        .filter_map(|path| {
            let file = path.file_name()?.to_str()?.to_string();
            let text = std::fs::read_to_string(path).ok()?;
            let yaml = lt_scenario::redact::mask_secrets(&text);
            let inputs = lt_scenario::Inputs { env, files: &data };
            Some(
                match lt_scenario::parse_with(&file, &text, &Default::default(), &inputs) {
                    Ok(s) => ScenarioFile {
                        endpoints: Some(
                            s.choices()
                                .into_iter()
                                .map(|(n, _)| n.to_string())
                                .collect(),
                        ),
                        file,
                        valid: true,
                        name: Some(s.name),
                        description: s.description,
                        target: Some(s.target),
                        users: Some(s.load.users),
                        duration: Some(lt_scenario::format_duration(s.load.duration)),
                        problems: None,
                        yaml,
                    },
                    Err(d) => ScenarioFile {
                        file,
                        valid: false,
                        name: None,
                        description: None,
                        target: None,
                        users: None,
                        duration: None,
                        endpoints: None,
                        problems: Some(d.iter().map(|d| d.to_string()).collect()),
                        yaml,
                    },
                },
            )
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
#[utoipa::path(post, path = "/api/scenarios/validate", operation_id = "validate_scenario", tag = "scenarios",
    request_body(content = String, content_type = "text/yaml", description = "The scenario's YAML"),
    responses(
        (status = 200, description = "Valid: what it would run", body = Validated),
        (status = 422, description = "Invalid: positioned diagnostics in `details.diagnostics` (`invalid_scenario`)", body = ErrorBody),
    ))]
pub async fn validate(State(app): State<AppState>, body: ApiBody) -> ApiResult<Json<Validated>> {
    let body = body.text()?;
    let env = app.supervisor.scenario_env();
    let files = DataFolder::inside(&app.settings.get().scenarios_dir);
    let inputs = lt_scenario::Inputs {
        env: &env,
        files: &files,
    };
    let scenario = lt_scenario::parse_with(INLINE_SOURCE, &body, &Default::default(), &inputs)
        .map_err(|d| ApiError::diagnostics(&d))?;
    Ok(Json(Validated {
        valid: true,
        duration: lt_scenario::format_duration(scenario.load.duration),
        users: scenario.load.users,
        endpoints: scenario
            .choices()
            .into_iter()
            .map(|(name, weight)| ScenarioEndpoint {
                name: name.to_string(),
                weight,
            })
            .collect(),
        name: scenario.name,
        target: scenario.target,
    }))
}
