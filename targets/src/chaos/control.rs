//! The fault routes: `POST /chaos/load`, `/chaos/hang`, `/chaos/dependency`, `/chaos/error`
//! start a fault (bad parameters are a 422 naming the field and its bound), `GET /chaos/status`
//! lists the active ones with their end times, `POST /chaos/stop` ends them all.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::faults::{DependencyFault, FaultKind, FaultSpec, HangScope, MAX_FAULT_SECONDS};
use super::store::COMMAND_TIMEOUT;
use super::{ChaosState, load};
use crate::http::api_error::ApiError;
use crate::http::extract::ApiJson;

/// Default length of a fault, in seconds.
pub const DEFAULT_SECONDS: f64 = 30.0;
/// Most latency a slow dependency may add, in milliseconds.
pub const MAX_LATENCY_MS: i64 = 30_000;

pub(super) fn routes() -> Router<ChaosState> {
    Router::new()
        .route("/chaos/load", post(start_load))
        .route("/chaos/hang", post(start_hang))
        .route("/chaos/dependency", post(dependency))
        .route("/chaos/error", post(start_error))
        .route("/chaos/status", get(status))
        .route("/chaos/stop", post(stop))
}

type Problems = Vec<(String, String)>;

fn seconds(value: Option<f64>, problems: &mut Problems) -> f64 {
    let seconds = value.unwrap_or(DEFAULT_SECONDS);
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= MAX_FAULT_SECONDS) {
        problems.push((
            "seconds".to_owned(),
            format!("must be more than 0 and at most {MAX_FAULT_SECONDS}, got {seconds}"),
        ));
    }
    seconds
}

fn started(state: &ChaosState, spec: FaultSpec, seconds: f64) -> super::faults::Started {
    state.faults.start(spec, seconds)
}

fn answer(started: &super::faults::Started) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({
            "status": "started",
            "fault": started.fault,
            "replaced": started.replaced,
        })),
    )
        .into_response()
}

fn refuse(problems: Problems) -> Result<(), ApiError> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(problems))
    }
}

/// Body of `POST /chaos/load`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadBody {
    seconds: Option<f64>,
    threads: Option<i64>,
    intensity: Option<f64>,
}

async fn start_load(
    State(state): State<ChaosState>,
    ApiJson(body): ApiJson<LoadBody>,
) -> Result<Response, ApiError> {
    let mut problems = Problems::new();
    let seconds = seconds(body.seconds, &mut problems);
    let cores = load::cores();
    let threads = body.threads.unwrap_or(cores as i64);
    if threads < 1 || threads > cores as i64 {
        problems.push((
            "threads".to_owned(),
            format!("must be 1 to {cores} (the cores available), got {threads}"),
        ));
    }
    let intensity = body.intensity.unwrap_or(1.0);
    if !(intensity.is_finite() && intensity > 0.0 && intensity <= 1.0) {
        problems.push((
            "intensity".to_owned(),
            format!("must be more than 0 and at most 1 (share of each core), got {intensity}"),
        ));
    }
    refuse(problems)?;
    let threads = usize::try_from(threads).unwrap_or(1);
    let started = started(&state, FaultSpec::Load { threads, intensity }, seconds);
    if let Err(e) = load::spawn(threads, intensity, started.deadline, &started.cancel) {
        state.faults.stop(FaultKind::Load);
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "load_failed",
            format!("cannot start the load threads: {e}"),
        ));
    }
    Ok(answer(&started))
}

/// Body of `POST /chaos/hang`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HangBody {
    seconds: Option<f64>,
    scope: Option<HangScope>,
}

async fn start_hang(
    State(state): State<ChaosState>,
    ApiJson(body): ApiJson<HangBody>,
) -> Result<Response, ApiError> {
    let mut problems = Problems::new();
    let seconds = seconds(body.seconds, &mut problems);
    refuse(problems)?;
    let scope = body.scope.unwrap_or(HangScope::Requests);
    Ok(answer(&started(&state, FaultSpec::Hang { scope }, seconds)))
}

/// What `POST /chaos/dependency` asks for.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum DependencyState {
    Down,
    Slow,
    Up,
}

/// Body of `POST /chaos/dependency`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DependencyBody {
    state: DependencyState,
    seconds: Option<f64>,
    latency_ms: Option<i64>,
}

async fn dependency(
    State(state): State<ChaosState>,
    ApiJson(body): ApiJson<DependencyBody>,
) -> Result<Response, ApiError> {
    let mut problems = Problems::new();
    if let DependencyState::Up = body.state {
        for (field, given) in [
            ("seconds", body.seconds.is_some()),
            ("latency_ms", body.latency_ms.is_some()),
        ] {
            if given {
                problems.push((
                    field.to_owned(),
                    "not allowed with state up (it ends the dependency fault)".to_owned(),
                ));
            }
        }
        refuse(problems)?;
        let ended = state.faults.stop(FaultKind::Dependency);
        return Ok(axum::Json(json!({"status": "stopped", "ended": ended})).into_response());
    }
    let seconds = seconds(body.seconds, &mut problems);
    let fault = match body.state {
        DependencyState::Slow => {
            let latency_ms = body.latency_ms.unwrap_or(500);
            if !(1..=MAX_LATENCY_MS).contains(&latency_ms) {
                problems.push((
                    "latency_ms".to_owned(),
                    format!("must be 1 to {MAX_LATENCY_MS}, got {latency_ms}"),
                ));
            }
            DependencyFault::Slow {
                latency_ms: u64::try_from(latency_ms).unwrap_or(0),
            }
        }
        _ => {
            if body.latency_ms.is_some() {
                problems.push(("latency_ms".to_owned(), "only with state slow".to_owned()));
            }
            DependencyFault::Down
        }
    };
    refuse(problems)?;
    let started = started(&state, FaultSpec::Dependency(fault), seconds);
    if fault == DependencyFault::Down {
        state.store.drop_connections();
    }
    Ok(answer(&started))
}

/// Body of `POST /chaos/error`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorBody {
    seconds: Option<f64>,
    rate: Option<f64>,
    status: Option<i64>,
}

async fn start_error(
    State(state): State<ChaosState>,
    ApiJson(body): ApiJson<ErrorBody>,
) -> Result<Response, ApiError> {
    let mut problems = Problems::new();
    let seconds = seconds(body.seconds, &mut problems);
    let rate = body.rate.unwrap_or(0.5);
    if !(rate.is_finite() && rate > 0.0 && rate <= 1.0) {
        problems.push((
            "rate".to_owned(),
            format!("must be more than 0 and at most 1 (share of requests), got {rate}"),
        ));
    }
    let status = body.status.unwrap_or(500);
    if !(400..=599).contains(&status) {
        problems.push((
            "status".to_owned(),
            format!("must be 400 to 599, got {status}"),
        ));
    }
    refuse(problems)?;
    let status = u16::try_from(status).unwrap_or(500);
    Ok(answer(&started(
        &state,
        FaultSpec::Error { rate, status },
        seconds,
    )))
}

async fn status(State(state): State<ChaosState>) -> Response {
    axum::Json(json!({
        "service": "chaos",
        "store": state.store.describe(),
        "faults": state.faults.describe(),
        "held_requests": state.faults.metrics().held(),
        "limits": limits(),
    }))
    .into_response()
}

fn limits() -> Value {
    json!({
        "max_seconds": MAX_FAULT_SECONDS,
        "default_seconds": DEFAULT_SECONDS,
        "max_threads": load::cores(),
        "max_latency_ms": MAX_LATENCY_MS,
        "command_timeout_ms": COMMAND_TIMEOUT.as_millis() as u64,
    })
}

async fn stop(State(state): State<ChaosState>) -> Response {
    let ended = state.faults.stop_all();
    axum::Json(json!({"status": "stopped", "ended": ended})).into_response()
}
