//! Starting, listing, changing and stopping sessions.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use lt_protocol::Command;
use lt_store::{ConfigChange, SessionFilter, SessionRow};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use super::extract::{ApiBody, ApiPath, ApiQuery};
use super::{AppState, json_body, scenarios};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::hub::Kind;
use crate::session::{LiveSession, Status, lock};
use crate::supervisor::{StartError, StartRequest};
use crate::time::now_ms;

/// `GET /api/health`.
pub async fn health(State(app): State<AppState>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": app.started.elapsed().as_secs(),
        "running_sessions": app.supervisor.all().len(),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    #[serde(default)]
    scenario: Option<String>,
    #[serde(default)]
    scenario_yaml: Option<String>,
    #[serde(default)]
    overrides: lt_scenario::Overrides,
}

/// `POST /api/sessions`: starts a session from a scenario file or inline YAML.
pub async fn start(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiBody(body): ApiBody,
) -> ApiResult<impl IntoResponse> {
    let body: StartBody = json_body(&body)?;
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
    let scenario = lt_scenario::parse_with_overrides(&source, &yaml, &body.overrides)
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
    let request = StartRequest {
        source,
        yaml,
        overrides: body.overrides,
        scenario,
        who: caller.0,
    };
    let session = app.supervisor.start(request).await.map_err(|e| match e {
        StartError::TooMany { running, cap } => ApiError::cap("max_sessions", cap, running + 1),
        StartError::Io(message) => ApiError::internal("starting the worker", message),
        StartError::Store(e) => e.into(),
    })?;
    let id = session.id.clone();
    let row = app.db(move |s| s.session(&id)).await?;
    let body = match row {
        Some(row) => session_json(&row, Some(&session), true),
        None => json!({ "id": session.id, "status": "starting" }),
    };
    let location = format!("/api/sessions/{}", session.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    ))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// Comma-separated statuses.
    status: Option<String>,
    scenario: Option<String>,
    limit: Option<usize>,
}

/// `GET /api/sessions?status=running&scenario=smoke&limit=50`.
pub async fn list(
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
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
    let sessions: Vec<Value> = rows
        .iter()
        .map(|row| session_json(row, app.supervisor.get(&row.id).as_deref(), false))
        .collect();
    Ok(Json(json!({ "sessions": sessions })))
}

/// `GET /api/sessions/{id}`: configuration, status and live summary.
pub async fn one(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let row = load(&app, &id).await?;
    Ok(Json(session_json(
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

/// A session as the API shows it; `live` adds the running view.
pub fn session_json(row: &SessionRow, live: Option<&LiveSession>, full: bool) -> Value {
    let view = live.map(|l| l.view());
    let live_tick = view.as_ref().and_then(|v| v.last_tick.clone());
    let (status, reason) = match &view {
        Some(v) => (v.status.as_str().to_string(), v.reason.clone()),
        None => (row.status.clone(), row.reason.clone()),
    };
    let mut out = json!({
        "id": row.id,
        "scenario": row.scenario,
        "source": row.source,
        "target": row.target,
        "status": status,
        "reason": reason,
        "created_by": row.created_by,
        "created_at_ms": row.created_at_ms,
        "started_at_ms": row.started_at_ms,
        "ended_at_ms": row.ended_at_ms,
        "totals": {
            "seconds": row.last_second,
            "requests": row.requests,
            "failures": row.failures,
            "error_rate": error_rate(row.failures, row.requests),
            "rps": row.rps,
            "p95_ms": row.p95_ms,
            "active_users": row.active_users,
        },
        "live": view.map(|v| json!({
            "config": v.config,
            "last_tick": v.last_tick,
            "totals": v.totals,
        })),
        "links": {
            "events": format!("/api/sessions/{}/events", row.id),
            "stats": format!("/api/sessions/{}/stats", row.id),
            "errors": format!("/api/sessions/{}/errors", row.id),
            "report_html": format!("/api/sessions/{}/report", row.id),
            "report_json": format!("/api/sessions/{}/report.json", row.id),
            "junit": format!("/api/sessions/{}/junit.xml", row.id),
        },
    });
    if let Some(tick) = &live_tick {
        // The live tick is newer than the stored totals (written once a second).
        out["totals"]["seconds"] = json!(tick.second);
        out["totals"]["active_users"] = json!(tick.active_users);
        out["totals"]["rps"] = json!(tick.rps);
        out["totals"]["p95_ms"] = json!(tick.latency.p95);
        out["totals"]["requests"] = json!(tick.total_requests);
        out["totals"]["failures"] = json!(tick.total_failures);
        out["totals"]["error_rate"] = json!(error_rate(tick.total_failures, tick.total_requests));
    }
    if full {
        out["config"] = row.config.clone();
        out["overrides"] = row.overrides.clone();
        out["summary"] = serde_json::to_value(&row.summary).unwrap_or(Value::Null);
    }
    out
}

/// Failures over requests, 0 when there were none.
pub fn error_rate(failures: u64, requests: u64) -> f64 {
    if requests == 0 {
        0.0
    } else {
        failures as f64 / requests as f64
    }
}

/// `POST /api/sessions/{id}/stop`: graceful stop (202; the session ends `stopped`).
pub async fn stop(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<impl IntoResponse> {
    let session = running(&app, &id).await?;
    app.supervisor.stop(&session, &caller.0);
    Ok((
        StatusCode::ACCEPTED,
        Json(
            json!({ "id": id, "status": session.status().as_str(), "stop_timeout": app.settings.get().stop_timeout }),
        ),
    ))
}

/// `POST /api/emergency-stop`: kills every session's worker; answers once they are gone.
pub async fn emergency_stop(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Json<Value> {
    let started = std::time::Instant::now();
    let stopped = app.supervisor.emergency_stop(&caller.0).await;
    Json(json!({
        "stopped": stopped,
        "took_ms": started.elapsed().as_secs_f64() * 1000.0,
    }))
}

/// The live session `id`, or why it cannot be changed.
async fn running(app: &AppState, id: &str) -> ApiResult<std::sync::Arc<LiveSession>> {
    if let Some(s) = app.supervisor.get(id) {
        return Ok(s);
    }
    let row = load(app, id).await?;
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "not_running",
        format!("session `{id}` is {}, not running", row.status),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    #[serde(default)]
    users: Option<u32>,
    #[serde(default)]
    weights: Option<BTreeMap<String, f64>>,
    #[serde(default)]
    think_time: Option<lt_scenario::ThinkTime>,
    /// Absent: no change; `null`: back to the closed model.
    #[serde(default, deserialize_with = "present")]
    arrival_rate: Option<Option<f64>>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<f64>>, D::Error> {
    Option::<f64>::deserialize(d).map(Some)
}

/// `PATCH /api/sessions/{id}`: live users, weights, think time, arrival rate. Everything is
/// checked before anything is applied; each change is recorded with who made it.
pub async fn change(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiBody(body): ApiBody,
) -> ApiResult<Json<Value>> {
    let body: ChangeBody = json_body(&body)?;
    let session = running(&app, &id).await?;
    let commands = check_change(&app, &session, &body)?;
    if commands.is_empty() {
        return Err(ApiError::invalid(
            "invalid_request",
            "give at least one of users, weights, think_time, arrival_rate",
        ));
    }
    let mut changes = Vec::new();
    for (field, command) in commands {
        let (old, new) = {
            let mut view = lock(&session.view);
            let config = &mut view.config;
            match &command {
                Command::SetUsers { users } => (
                    json!(std::mem::replace(&mut config.users, *users)),
                    json!(users),
                ),
                Command::SetWeights { weights } => {
                    let old: BTreeMap<String, f64> = weights
                        .keys()
                        .filter_map(|k| config.weights.get(k).map(|w| (k.clone(), *w)))
                        .collect();
                    config.weights.extend(weights.clone());
                    (json!(old), json!(weights))
                }
                Command::SetThinkTime { .. } => {
                    let new = serde_json::to_value(body.think_time).unwrap_or(Value::Null);
                    (std::mem::replace(&mut config.think_time, new.clone()), new)
                }
                Command::SetArrivalRate { rate } => (
                    json!(std::mem::replace(&mut config.arrival_rate, *rate)),
                    json!(rate),
                ),
                Command::Stop => continue,
            }
        };
        session.send(command);
        let at_ms = now_ms();
        let change = ConfigChange {
            id: None,
            session_id: Some(id.clone()),
            who: caller.0.clone(),
            at_ms,
            field: field.to_string(),
            old: old.clone(),
            new: new.clone(),
        };
        let data = json!({ "session_id": id, "who": caller.0, "field": field, "old": old, "new": new, "at_ms": at_ms });
        app.hub.publish(&id, Kind::Change, at_ms, data.to_string());
        changes.push(change);
    }
    let recorded = changes.clone();
    app.db(move |s| recorded.iter().try_for_each(|c| s.record_change(c)))
        .await?;
    Ok(Json(json!({
        "id": id,
        "config": session.view().config,
        "changes": changes,
    })))
}

fn check_change(
    app: &AppState,
    session: &LiveSession,
    body: &ChangeBody,
) -> ApiResult<Vec<(&'static str, Command)>> {
    let mut problems: Vec<String> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut commands = Vec::new();
    let caps = app.settings.get();
    if let Some(users) = body.users {
        let limit = session.max_users.min(caps.max_users_per_session);
        if users == 0 || users > limit {
            problems.push(format!(
                "users: {users} is not allowed; this session takes 1 to {limit} (its scenario's `load.max_users` is {}, the server's max_users_per_session {})",
                session.max_users, caps.max_users_per_session
            ));
        } else {
            commands.push(("users", Command::SetUsers { users }));
        }
    }
    if let Some(weights) = &body.weights {
        let mut merged = lock(&session.view).config.weights.clone();
        for (name, &w) in weights {
            if !session.endpoints.contains(name) {
                unknown.push(name.clone());
                problems.push(format!(
                    "weights.{name}: this session has no endpoint `{name}` (it has {})",
                    session.endpoints.join(", ")
                ));
            } else if !(w.is_finite() && w >= 0.0) {
                problems.push(format!("weights.{name}: must be 0 or more, got `{w}`"));
            } else {
                merged.insert(name.clone(), w);
            }
        }
        if unknown.is_empty() && merged.values().all(|w| *w == 0.0) {
            problems.push(
                "weights: every endpoint would have weight 0; keep at least one above 0".into(),
            );
        }
        commands.push((
            "weights",
            Command::SetWeights {
                weights: weights.clone(),
            },
        ));
    }
    if let Some(t) = body.think_time {
        if t.min > t.max {
            problems.push(format!(
                "think_time: min (`{}`) is greater than max (`{}`)",
                lt_scenario::format_duration(t.min),
                lt_scenario::format_duration(t.max)
            ));
        } else {
            commands.push((
                "think_time",
                Command::SetThinkTime {
                    min_ms: t.min.as_millis() as u64,
                    max_ms: t.max.as_millis() as u64,
                },
            ));
        }
    }
    if let Some(rate) = body.arrival_rate {
        match rate {
            Some(r) if !(r.is_finite() && r > 0.0) => problems.push(format!(
                "arrival_rate: must be a number above 0 (or null for the closed model), got `{r}`"
            )),
            Some(r) if r > caps.max_arrival_rate => {
                return Err(ApiError::cap("max_arrival_rate", caps.max_arrival_rate, r));
            }
            _ => commands.push(("arrival_rate", Command::SetArrivalRate { rate })),
        }
    }
    if problems.is_empty() {
        return Ok(commands);
    }
    let code = if unknown.is_empty() {
        "invalid_change"
    } else {
        "unknown_endpoint"
    };
    Err(
        ApiError::invalid(code, problems.join("; ")).with_details(json!({
            "problems": problems,
            "unknown_endpoints": unknown,
            "endpoints": session.endpoints,
        })),
    )
}
