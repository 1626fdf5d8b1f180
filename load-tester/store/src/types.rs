//! The plain data the store takes and gives back: rows as the server uses them, not as SQLite
//! holds them.

use lt_protocol::{FailureCounts, FlowTick, Latency, Report};
use serde::{Deserialize, Serialize};

/// A session about to start, as [`crate::Store::create_session`] records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewSession {
    pub id: String,
    /// The scenario's name.
    pub scenario: String,
    /// The scenario's file name in the scenarios folder, or `"inline"`.
    pub source: String,
    /// Base URL the session runs against.
    pub target: String,
    /// Normally `"starting"`.
    pub status: String,
    pub created_by: String,
    /// Milliseconds since the Unix epoch.
    pub created_at_ms: u64,
    /// The resolved scenario as JSON, secrets already redacted by the caller.
    pub config_json: String,
    /// The overrides the session was started with, as JSON.
    pub overrides_json: String,
}

/// One session as stored, with totals kept current from its ticks (and from its summary once it
/// has ended).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRow {
    pub id: String,
    pub scenario: String,
    pub source: String,
    pub target: String,
    pub status: String,
    /// Why it is stopping or ended, when known.
    pub reason: Option<String>,
    pub created_by: String,
    pub created_at_ms: u64,
    /// Set when the status first became `"running"`.
    pub started_at_ms: Option<u64>,
    pub ended_at_ms: Option<u64>,
    /// The resolved scenario (parsed `config_json`).
    pub config: serde_json::Value,
    /// The overrides (parsed `overrides_json`).
    pub overrides: serde_json::Value,
    pub worker_pid: Option<u32>,
    pub worker_socket: Option<String>,
    /// The end-of-run report, once there is one.
    pub summary: Option<Report>,
    /// The last second a tick was recorded for.
    pub last_second: u64,
    /// Requests since the start (the last tick's total, or the summary's).
    pub requests: u64,
    /// Failures since the start (the last tick's total, or the summary's).
    pub failures: u64,
    /// Requests per second over the whole run (the summary's once it is in).
    pub rps: f64,
    /// p95 latency in ms over the whole run (the summary's once it is in).
    pub p95_ms: f64,
    /// Users active in the last second; 0 once the session has ended.
    pub active_users: u32,
}

/// Which sessions [`crate::Store::sessions`] lists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionFilter {
    /// Any of these statuses; all statuses when empty.
    pub statuses: Vec<String>,
    /// Only sessions of this scenario name.
    pub scenario: Option<String>,
    /// At most this many rows; [`crate::DEFAULT_SESSION_LIMIT`] when `None`.
    pub limit: Option<usize>,
}

/// One second of one session, with its endpoints in the order the tick listed them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SecondRow {
    pub second: u64,
    /// End of the second, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    pub active_users: u32,
    pub target_users: u32,
    pub requests: u64,
    pub failures: u64,
    pub short_circuited: u64,
    pub rps: f64,
    pub latency: Latency,
    pub users_in_backoff: u32,
    /// Users parked by load reduction (0 when it is off).
    pub parked_users: u32,
    pub errors_last_minute: u64,
    pub endpoints: Vec<EndpointSecondRow>,
    /// Drops, schedule lag, corrected latency and the generator's figures (absent in seconds
    /// stored before they were kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<crate::SecondAccuracy>,
    /// The flows' iterations this second and their totals so far, as the tick had them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flows: Vec<FlowTick>,
}

/// One endpoint's share of a [`SecondRow`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EndpointSecondRow {
    pub endpoint: String,
    pub requests: u64,
    pub failures: FailureCounts,
    pub short_circuited: u64,
    pub latency: Latency,
    pub weight: f64,
    /// `"closed"`, `"open"` or `"half_open"`.
    pub breaker: String,
    /// Open model: arrivals dropped this second (attributed by weight).
    #[serde(default)]
    pub dropped: u64,
}

/// Errors of one kind: same endpoint, class, status and message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorGroupRow {
    pub endpoint: String,
    /// The failure class (`"timeout"`, `"status_5xx"`, ...); `None` for slow but successful
    /// requests.
    pub class: Option<String>,
    pub status: Option<u16>,
    /// The group's first message (a sample).
    pub message: String,
    /// What the group is keyed by: the message's kind (`lt_protocol::message_kind`).
    pub kind: String,
    pub count: u64,
    pub first_at_ms: u64,
    pub last_at_ms: u64,
    /// Up to five distinct trace ids, most recent first.
    pub trace_ids: Vec<String>,
}

/// One server-sent event, kept so a client reconnecting with `Last-Event-ID` can catch up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// Assigned by the caller; a second event with the same id is ignored.
    pub id: u64,
    pub session_id: String,
    /// `"tick"`, `"lifecycle"`, `"change"` or `"error"`.
    pub kind: String,
    pub at_ms: u64,
    /// The event's JSON, as sent.
    pub data: String,
}

/// One entry of the configuration history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConfigChange {
    /// `None` when recording; set when read back.
    pub id: Option<i64>,
    /// `None` for a server setting.
    pub session_id: Option<String>,
    pub who: String,
    pub at_ms: u64,
    /// `"users"`, `"weights"`, `"think_time"`, `"arrival_rate"` or `"setting:<key>"`.
    pub field: String,
    /// The value before (any JSON).
    #[schema(value_type = Object)]
    pub old: serde_json::Value,
    /// The value after (any JSON).
    #[schema(value_type = Object)]
    pub new: serde_json::Value,
}

/// One management operation, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// `None` when recording; set when read back.
    pub id: Option<i64>,
    pub at_ms: u64,
    pub who: String,
    /// The client's address.
    pub client: String,
    /// For example `"POST /api/sessions"`.
    pub action: String,
    /// The session it was about, if any.
    pub target: Option<String>,
    /// `"ok"` or the error code.
    pub result: String,
    /// The HTTP status answered.
    pub status: u16,
    pub detail: Option<String>,
}

/// What [`crate::Store::prune`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneCounts {
    pub seconds: u64,
    pub endpoint_seconds: u64,
    pub events: u64,
}
