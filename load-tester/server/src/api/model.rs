//! The API's request and response bodies. The OpenAPI document (`GET /api/openapi.json`) and the
//! panel's TypeScript types are generated from these; `docs/api.md` explains them.

use std::collections::BTreeMap;

use lt_protocol::{LiveConfig, Report, Tick};
use lt_store::{AuditEntry, ConfigChange, ErrorGroupRow, SecondRow};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::session::Status;
use crate::settings::Settings;

/// Every error answer: a stable code, a sentence naming the field and the value, and details.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable: `not_found`, `invalid_scenario`, `rate_limited`, ...
    pub code: String,
    pub message: String,
    /// More about the error (diagnostics, the cap, the field); `null` when there is nothing.
    #[schema(value_type = Object, nullable = true)]
    pub details: Value,
}

/// `GET /api/health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the server answers.
    pub status: String,
    pub version: String,
    pub uptime_s: u64,
    pub running_sessions: usize,
}

/// `POST /api/sessions`: exactly one of `scenario` and `scenario_yaml`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartSession {
    /// A file in the scenarios folder (with or without `.yaml`).
    #[serde(default)]
    pub scenario: Option<String>,
    /// The scenario's YAML text.
    #[serde(default)]
    pub scenario_yaml: Option<String>,
    /// Values put over the scenario's.
    #[serde(default)]
    pub overrides: lt_scenario::Overrides,
}

/// A session's figures since its start: the worker's last tick while it runs, the store's after.
#[derive(Debug, Serialize, ToSchema)]
pub struct Totals {
    /// Seconds measured.
    pub seconds: u64,
    /// How long it has run (live: the last tick's elapsed time; ended: the report's duration,
    /// or the seconds stored when it has none), in seconds: the one duration every page shows.
    pub duration_s: f64,
    pub requests: u64,
    pub failures: u64,
    /// Failures over requests, 0..1 (0 without requests).
    pub error_rate: f64,
    /// Requests per second over the whole run.
    pub rps: f64,
    /// p95 latency over the whole run, in milliseconds (from the merged histogram).
    pub p95_ms: f64,
    pub active_users: u32,
}

/// The running view of a session: the settings in force and the worker's last tick.
#[derive(Debug, Serialize, ToSchema)]
pub struct Live {
    pub config: LiveConfig,
    /// `null` until the first second ends.
    pub last_tick: Option<Tick>,
    /// A session run by several generators (`load.generators`): each one and its health; left
    /// out for a session in one process.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generators: Vec<crate::generators::GeneratorHealth>,
}

/// Where a session's other resources are.
#[derive(Debug, Serialize, ToSchema)]
pub struct Links {
    pub events: String,
    pub stats: String,
    pub errors: String,
    pub report_html: String,
    pub report_json: String,
    pub junit: String,
}

/// A session. Lists leave out `config`, `overrides` and `summary`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Session {
    pub id: String,
    /// The scenario's name.
    pub scenario: String,
    /// The scenario's file, or `<api>` for inline YAML.
    pub source: String,
    pub target: String,
    pub status: Status,
    /// Why it ended or is stopping.
    pub reason: Option<String>,
    pub created_by: String,
    pub created_at_ms: u64,
    pub started_at_ms: Option<u64>,
    pub ended_at_ms: Option<u64>,
    pub totals: Totals,
    /// `null` once the session ended.
    pub live: Option<Live>,
    pub links: Links,
    /// The resolved scenario, secrets redacted.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<lt_scenario::Scenario>)]
    pub config: Option<Value>,
    /// The overrides it was started with.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<lt_scenario::Overrides>)]
    pub overrides: Option<Value>,
    /// The end-of-run report, once it ended normally.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Report>,
}

/// `GET /api/sessions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    pub sessions: Vec<Session>,
}

/// `PATCH /api/sessions/{id}`: what the worker applied.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeApplied {
    pub id: String,
    /// The settings in force after the change, as the worker reported them.
    pub config: LiveConfig,
    /// One entry per field, as recorded in the configuration history.
    pub changes: Vec<ConfigChange>,
}

/// `POST /api/sessions/{id}/stop`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StopAccepted {
    pub id: String,
    pub status: Status,
    /// How long in-flight requests may take before the worker is killed.
    pub stop_timeout: String,
}

/// `POST /api/emergency-stop`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmergencyStopped {
    /// Sessions killed.
    pub stopped: usize,
    pub took_ms: f64,
}

/// `GET /api/sessions/{id}/stats`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Stats {
    pub id: String,
    pub seconds: Vec<SecondRow>,
}

/// Whether error counts are exact (from the final report) or from the sampled errors.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Counts {
    Exact,
    Sampled,
}

/// `GET /api/sessions/{id}/errors`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Errors {
    pub id: String,
    pub counts: Counts,
    pub errors: Vec<ErrorGroupRow>,
}

/// One side of a comparison: whole-run figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct Figures {
    pub requests: u64,
    pub failures: u64,
    pub error_rate: f64,
    pub rps: f64,
    pub p95_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
}

/// A compared session.
#[derive(Debug, Serialize, ToSchema)]
pub struct Compared {
    pub id: String,
    pub scenario: String,
    pub status: Status,
    pub figures: Figures,
}

/// `GET /api/compare`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Comparison {
    pub a: Compared,
    pub b: Compared,
    /// `b - a` for every figure both have.
    pub delta: BTreeMap<String, f64>,
}

/// `GET /api/config/history`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfigHistory {
    pub changes: Vec<ConfigChange>,
}

/// `GET /api/audit`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Audit {
    pub entries: Vec<AuditEntry>,
}

/// A scenario file; an invalid one has `problems` and no summary.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScenarioFile {
    pub file: String,
    pub valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Vec<String>>,
    /// `FILE:LINE:COLUMN: field: message` lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<String>>,
    /// The file's text, secrets masked.
    pub yaml: String,
}

/// `GET /api/scenarios`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScenarioList {
    pub scenarios: Vec<ScenarioFile>,
}

/// An endpoint of a validated scenario.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScenarioEndpoint {
    pub name: String,
    pub weight: f64,
}

/// `POST /api/scenarios/validate`: the scenario is valid.
#[derive(Debug, Serialize, ToSchema)]
pub struct Validated {
    pub valid: bool,
    pub name: String,
    pub target: String,
    pub users: u32,
    pub duration: String,
    pub endpoints: Vec<ScenarioEndpoint>,
}

/// `GET /api/settings`: the settings in force (never the token) and which can change live.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsView {
    #[serde(flatten)]
    pub settings: Settings,
    /// Settings `PATCH /api/settings` may change.
    pub changeable: Vec<String>,
}

/// `PATCH /api/settings`: what can change without a restart. At least one field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read as a map by `LiveSettings::apply`; this type documents it.
pub struct SettingsChange {
    #[schema(minimum = 1)]
    pub max_users_per_session: Option<u32>,
    #[schema(minimum = 1)]
    pub max_sessions: Option<u32>,
    #[schema(exclusive_minimum = 0)]
    pub max_arrival_rate: Option<f64>,
    #[schema(examples("720h"))]
    pub retention: Option<String>,
    #[schema(examples("10s"))]
    pub stop_timeout: Option<String>,
    pub rate_limit: Option<u32>,
}

/// `PATCH /api/settings`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsChanged {
    pub settings: SettingsView,
    pub changes: Vec<ConfigChange>,
}

/// `GET /api/token`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCheck {
    pub valid: bool,
    /// The caller's name (`X-Actor`, or `api-token`).
    pub actor: String,
}

/// The data of an SSE `lifecycle` event.
#[derive(Debug, Serialize, ToSchema)]
pub struct LifecycleEvent {
    pub session_id: String,
    pub status: Status,
    pub reason: Option<String>,
    pub at_ms: u64,
}

/// The data of an SSE `change` event: one field the worker applied, and who asked.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeEvent {
    pub session_id: String,
    pub who: String,
    pub field: String,
    #[schema(value_type = Object)]
    pub old: Value,
    #[schema(value_type = Object)]
    pub new: Value,
    pub at_ms: u64,
}

/// Schemas no route answers directly: the data of SSE events (`tick`: a `Tick` with its
/// `session_id`; `error`: an `ErrorSample` with its `session_id`; `lifecycle`; `change`) and
/// the `details.diagnostics` of an `invalid_scenario` error.
#[derive(utoipa::OpenApi)]
#[openapi(components(schemas(
    LifecycleEvent,
    ChangeEvent,
    lt_protocol::ErrorSample,
    lt_scenario::Diagnostic
)))]
pub struct ExtraSchemas;
