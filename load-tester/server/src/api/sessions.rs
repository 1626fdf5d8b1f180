//! Starting, listing, changing and stopping sessions.

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use lt_scenario::data_folder::DataFolder;
use lt_scenario::{LiveChange, LiveLimits, Refusal};
use lt_store::{SessionFilter, SessionRow};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use super::extract::{ApiBody, ApiPath, ApiQuery};
use super::model::{
    ChangeApplied, EmergencyStopped, ErrorBody, Health, Links, Live, Session, SessionList,
    StartSession, StopAccepted, Totals,
};
use super::{AppState, json_body, scenarios};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::session::{LiveSession, Status};
use crate::supervisor::{StartError, StartRequest};

/// How long a live change may wait for the worker's verdict.
const CHANGE_ANSWER_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Liveness and version.
#[utoipa::path(get, path = "/api/health", tag = "server",
    responses((status = 200, description = "The server is up", body = Health)))]
pub async fn health(State(app): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        uptime_s: app.started.elapsed().as_secs(),
        running_sessions: app.supervisor.all().len(),
    })
}

/// Starts a session from a scenario file or inline YAML.
#[utoipa::path(post, path = "/api/sessions", operation_id = "start_session", tag = "sessions",
    request_body = StartSession,
    responses(
        (status = 201, description = "Started; `Location` names it", body = Session,
            headers(("Location" = String, description = "The session's URL"))),
        (status = 403, description = "A host the scenario would send to is not on the allow-list (`target_not_allowed`)", body = ErrorBody),
        (status = 409, description = "Another session still waits for its generators joining with the same token (`generators_busy`, launcher `external`)", body = ErrorBody),
        (status = 422, description = "The scenario is invalid (positioned diagnostics) or unknown, or a cap is exceeded (`cap_exceeded`: users, arrival rate, `max_sessions` running, the files sent to a session's generators)", body = ErrorBody),
        (status = 502, description = "The session's generators could not be launched (`launch_failed`): the message names the Kubernetes call that failed and the API's answer, or why there is no Kubernetes client", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn start(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiBody(body): ApiBody,
) -> ApiResult<impl IntoResponse> {
    let body: StartSession = json_body(&body)?;
    let (source, yaml) = match (&body.scenario, &body.scenario_yaml) {
        (Some(name), None) => scenarios::find(&app.settings.get().scenarios_dir, name)?,
        (None, Some(yaml)) => (scenarios::INLINE_SOURCE.to_string(), yaml.clone()),
        _ => {
            return Err(ApiError::invalid(
                "invalid_request",
                "give exactly one of `scenario` (a file in the scenarios folder) and `scenario_yaml` (the YAML text)",
            ));
        }
    };
    let env = app.supervisor.scenario_env();
    let files = DataFolder::inside(&app.settings.get().scenarios_dir);
    let inputs = lt_scenario::Inputs {
        env: &env,
        files: &files,
    };
    let scenario = lt_scenario::parse_with(&source, &yaml, &body.overrides, &inputs)
        .map_err(|d| ApiError::diagnostics(&d))?;
    app.allow.check_scenario(&scenario)?;
    let caps = app.settings.get();
    if scenario.load.max_users > caps.max_users_per_session {
        return Err(ApiError::cap(
            "max_users_per_session",
            caps.max_users_per_session,
            scenario.load.max_users,
        ));
    }
    if let Some(rate) = scenario.load.arrival_rate
        && rate > caps.max_arrival_rate
    {
        return Err(ApiError::cap(
            "max_arrival_rate",
            caps.max_arrival_rate,
            rate,
        ));
    }
    // A session over several generators sends them the files it read (see generators/files.rs).
    let files = if scenario.load.generators > 1 {
        crate::generators::welcome_files(&scenario, &files).map_err(|e| match e {
            crate::generators::FilesError::TooLarge { message, total } => {
                ApiError::invalid("cap_exceeded", message).with_details(json!({
                    "cap": "generator_files",
                    "limit": crate::generators::MAX_WELCOME_FILES_BYTES,
                    "requested": total,
                }))
            }
            crate::generators::FilesError::Unreadable(message) => {
                ApiError::invalid("invalid_scenario", message)
            }
        })?
    } else {
        Default::default()
    };
    let request = StartRequest {
        source,
        yaml,
        overrides: body.overrides,
        scenario,
        who: caller.0,
        files,
    };
    let session = app.supervisor.start(request).await.map_err(|e| match e {
        StartError::TooMany { running, cap } => ApiError::cap("max_sessions", cap, running + 1),
        StartError::Io(message) => ApiError::internal("starting the worker", message),
        StartError::Launch(message) => {
            tracing::error!("launching a session's generators: {message}");
            ApiError::new(StatusCode::BAD_GATEWAY, "launch_failed", message)
        }
        StartError::Busy(message) => {
            ApiError::new(StatusCode::CONFLICT, "generators_busy", message)
        }
        StartError::Store(e) => e.into(),
    })?;
    let row = load(&app, &session.id).await?;
    let location = format!("/api/sessions/{}", session.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(session_view(&row, Some(&session), true)),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Comma-separated statuses, e.g. `running,stopping`.
    status: Option<String>,
    /// Only sessions of this scenario (its name).
    scenario: Option<String>,
    /// At most this many (default 100, at most 1000).
    limit: Option<usize>,
}

/// Sessions, newest first.
#[utoipa::path(get, path = "/api/sessions", operation_id = "list_sessions", tag = "sessions", params(ListQuery),
    responses(
        (status = 200, description = "The sessions", body = SessionList),
        (status = 422, description = "A status that does not exist", body = ErrorBody),
    ))]
pub async fn list(
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<SessionList>> {
    let statuses: Vec<String> = q
        .status
        .as_deref()
        .map(|s| {
            s.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if let Some(bad) = statuses.iter().find(|s| Status::parse(s).is_none()) {
        let known: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
        return Err(ApiError::invalid(
            "invalid_request",
            format!(
                "status: `{bad}` is not a status; use one of {}",
                known.join(", ")
            ),
        ));
    }
    let filter = SessionFilter {
        statuses,
        scenario: q.scenario,
        limit: Some(q.limit.unwrap_or(100).min(1000)),
    };
    let rows = app.db(move |s| s.sessions(&filter)).await?;
    let sessions = rows
        .iter()
        .map(|row| session_view(row, app.supervisor.get(&row.id).as_deref(), false))
        .collect();
    Ok(Json(SessionList { sessions }))
}

/// A session: configuration, status, live view.
#[utoipa::path(get, path = "/api/sessions/{id}", operation_id = "session", tag = "sessions",
    params(("id" = String, Path, description = "The session's id")),
    responses(
        (status = 200, description = "The session", body = Session),
        (status = 404, description = "No such session", body = ErrorBody),
    ))]
pub async fn one(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Session>> {
    let row = load(&app, &id).await?;
    Ok(Json(session_view(
        &row,
        app.supervisor.get(&id).as_deref(),
        true,
    )))
}

pub async fn load(app: &AppState, id: &str) -> ApiResult<SessionRow> {
    let key = id.to_string();
    app.db(move |s| s.session(&key))
        .await?
        .ok_or_else(|| ApiError::not_found("session", id))
}

/// A session as the API shows it. While it runs, its status and figures are the worker's last
/// tick (the engine computes every live figure); after, the store's.
pub fn session_view(row: &SessionRow, live: Option<&LiveSession>, full: bool) -> Session {
    let view = live.map(|l| (l.view(), l.config()));
    let status = match &view {
        Some((v, _)) => (v.status, v.reason.clone()),
        None => (
            Status::parse(&row.status).unwrap_or(Status::Failed),
            row.reason.clone(),
        ),
    };
    let totals = match view.as_ref().and_then(|(v, _)| v.last_tick.as_ref()) {
        Some(tick) => Totals {
            seconds: tick.second,
            duration_s: tick.elapsed_s,
            requests: tick.total_requests,
            failures: tick.total_failures,
            error_rate: error_rate(tick.total_failures, tick.total_requests),
            rps: tick.total_requests as f64 / tick.elapsed_s.max(1e-3),
            p95_ms: tick.total_latency.p95,
            active_users: tick.active_users,
        },
        None => Totals {
            seconds: row.last_second,
            duration_s: row
                .summary
                .as_ref()
                .map_or(row.last_second as f64, |r| r.duration_s),
            requests: row.requests,
            failures: row.failures,
            error_rate: error_rate(row.failures, row.requests),
            rps: row.rps,
            p95_ms: row.p95_ms,
            active_users: row.active_users,
        },
    };
    let link = |tail: &str| format!("/api/sessions/{}/{tail}", row.id);
    Session {
        id: row.id.clone(),
        scenario: row.scenario.clone(),
        source: row.source.clone(),
        target: row.target.clone(),
        status: status.0,
        reason: status.1,
        created_by: row.created_by.clone(),
        created_at_ms: row.created_at_ms,
        started_at_ms: row.started_at_ms,
        ended_at_ms: row.ended_at_ms,
        totals,
        live: view.map(|(v, config)| Live {
            config,
            last_tick: v.last_tick,
            generators: live
                .map(|l| crate::session::lock(&l.generators).clone())
                .unwrap_or_default(),
        }),
        links: Links {
            events: link("events"),
            stats: link("stats"),
            errors: link("errors"),
            report_html: link("report"),
            report_json: link("report.json"),
            junit: link("junit.xml"),
        },
        config: full.then(|| row.config.clone()),
        overrides: full.then(|| row.overrides.clone()),
        summary: if full { row.summary.clone() } else { None },
    }
}

/// Failures over requests, 0 when there were none.
pub fn error_rate(failures: u64, requests: u64) -> f64 {
    if requests == 0 {
        0.0
    } else {
        failures as f64 / requests as f64
    }
}

/// Stops a session gracefully; it ends `stopped`.
#[utoipa::path(post, path = "/api/sessions/{id}/stop", operation_id = "stop_session", tag = "sessions",
    params(("id" = String, Path, description = "The session's id")),
    responses(
        (status = 202, description = "Stopping: in-flight requests finish, reports are written", body = StopAccepted),
        (status = 404, description = "No such session", body = ErrorBody),
        (status = 409, description = "The session is not running (`not_running`)", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn stop(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<impl IntoResponse> {
    let session = running(&app, &id).await?;
    app.supervisor.stop(&session, &caller.0);
    Ok((
        StatusCode::ACCEPTED,
        Json(StopAccepted {
            id,
            status: session.status(),
            stop_timeout: app.settings.get().stop_timeout.clone(),
        }),
    ))
}

/// Kills every session's worker; answers once they are gone.
#[utoipa::path(post, path = "/api/emergency-stop", tag = "sessions",
    responses((status = 200, description = "Every worker is gone", body = EmergencyStopped)),
    security(("bearer" = [])))]
pub async fn emergency_stop(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Json<EmergencyStopped> {
    let started = std::time::Instant::now();
    let stopped = app.supervisor.emergency_stop(&caller.0).await;
    Json(EmergencyStopped {
        stopped,
        took_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}

/// The live session `id`, or why it cannot be changed.
async fn running(app: &AppState, id: &str) -> ApiResult<std::sync::Arc<LiveSession>> {
    if let Some(s) = app.supervisor.get(id) {
        return Ok(s);
    }
    let row = load(app, id).await?;
    Err(not_running(id, &row.status))
}

fn not_running(id: &str, status: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "not_running",
        format!("session `{id}` is {status}, not running"),
    )
}

/// Changes a running session's users, weights, think time or arrival rate. The change is
/// checked here and again by the worker against the settings in force when it applies it (one
/// rule book, `lt_scenario::check_change`); the answer is the worker's verdict, and all of a
/// change is applied or none of it.
#[utoipa::path(patch, path = "/api/sessions/{id}", operation_id = "change_session", tag = "sessions",
    params(("id" = String, Path, description = "The session's id")),
    request_body = LiveChange,
    responses(
        (status = 200, description = "The worker applied it", body = ChangeApplied),
        (status = 404, description = "No such session", body = ErrorBody),
        (status = 409, description = "The session is not running (`not_running`)", body = ErrorBody),
        (status = 422, description = "Refused, here or by the worker (`details.by`): `invalid_change`, `unknown_endpoint`, `cap_exceeded`", body = ErrorBody),
        (status = 503, description = "The worker did not answer in time (`worker_unresponsive`)", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn change(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiBody(body): ApiBody,
) -> ApiResult<Json<ChangeApplied>> {
    let change: LiveChange = json_body(&body)?;
    let session = running(&app, &id).await?;
    let caps = app.settings.get();
    let config = session.config();
    let weights: Vec<(&str, f64)> = session
        .endpoints
        .iter()
        .map(|name| {
            let w = config.weights.get(name).copied().unwrap_or(0.0);
            (name.as_str(), w)
        })
        .collect();
    lt_scenario::check_change(
        &change,
        &LiveLimits {
            weights: &weights,
            max_users: session.max_users,
            max_users_cap: Some(caps.max_users_per_session),
            max_arrival_rate_cap: Some(caps.max_arrival_rate),
        },
    )
    .map_err(|r| refused(&r, &session, "server"))?;
    let answer = session.send_change(change, &caller.0);
    let answer = match tokio::time::timeout(CHANGE_ANSWER_LIMIT, answer).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(_)) => return Err(not_running(&id, session.status().as_str())),
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "worker_unresponsive",
                format!(
                    "the worker of session `{id}` did not answer the change within {} s; it may still apply it (GET /api/config/history shows what it applied)",
                    CHANGE_ANSWER_LIMIT.as_secs()
                ),
            ));
        }
    };
    if let Some(refusal) = &answer.outcome.refused {
        return Err(refused(refusal, &session, "worker"));
    }
    Ok(Json(ChangeApplied {
        id,
        config: answer.outcome.after,
        changes: answer.recorded,
    }))
}

/// A refused change as the API answers it; `by` says who refused it (`server` or `worker`).
fn refused(r: &Refusal, session: &LiveSession, by: &str) -> ApiError {
    let code = match r.code.as_str() {
        "unknown_endpoint" => "unknown_endpoint",
        "cap_exceeded" => "cap_exceeded",
        _ => "invalid_change",
    };
    ApiError::invalid(code, r.message()).with_details(json!({
        "by": by,
        "problems": r.problems,
        "unknown_endpoints": r.unknown_endpoints,
        "endpoints": session.endpoints,
        "cap": r.cap,
    }))
}
