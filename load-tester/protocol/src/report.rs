//! The end-of-run summary: the `--report` JSON and the last event of a run.

use serde::{Deserialize, Serialize};

use crate::{FailureClass, FailureCounts, Latency};

/// Why a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EndReason {
    /// It ran for its whole duration.
    Completed,
    /// Someone stopped it (a signal, the API).
    Stopped { by: String },
    /// A guard stopped it: the error budget.
    Aborted { reason: String },
    /// It could not run.
    Failed { reason: String },
}

impl EndReason {
    /// A one-line description.
    pub fn describe(&self) -> String {
        match self {
            EndReason::Completed => "completed".to_string(),
            EndReason::Stopped { by } => format!("stopped by {by}"),
            EndReason::Aborted { reason } => format!("aborted: {reason}"),
            EndReason::Failed { reason } => format!("failed: {reason}"),
        }
    }
}

/// One threshold's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ThresholdOutcome {
    /// The rule as written (the defaults say they are).
    pub rule: String,
    pub passed: bool,
    /// The observed value, in `unit`; `None` when there was nothing to measure.
    pub observed: Option<f64>,
    /// `ms`, `ratio` (0..1), `requests/s` or `iterations/s` for a rule; `requests` for the
    /// default check that some request succeeded.
    #[serde(default)]
    pub unit: String,
}

impl ThresholdOutcome {
    /// The observed value with its unit, as people read it: `5.28 ms`, `3.80 %`,
    /// `120.5 requests/s`, or `no data`.
    pub fn observed_text(&self) -> String {
        match self.observed {
            None => "no data".to_string(),
            Some(v) => match self.unit.as_str() {
                "ms" => format!("{v:.2} ms"),
                "ratio" => format!("{:.2} %", v * 100.0),
                "requests/s" => format!("{v:.1} requests/s"),
                "iterations/s" => format!("{v:.2} iterations/s"),
                unit => format!("{v} {unit}"),
            },
        }
    }
}

/// One endpoint over the whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EndpointReport {
    pub name: String,
    pub method: String,
    pub requests: u64,
    pub failures: u64,
    pub failures_by_class: FailureCounts,
    pub short_circuited: u64,
    pub rps: f64,
    pub latency_ms: Latency,
    /// Open model: arrivals dropped for want of a free user.
    #[serde(default)]
    pub dropped: u64,
    /// With `latency.correction`: latency corrected for coordinated omission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_corrected_ms: Option<Latency>,
}

/// One flow over the whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FlowReport {
    pub name: String,
    /// Iterations started, completed (every step succeeded) and failed (ended early).
    pub started: u64,
    pub completed: u64,
    pub failed: u64,
    /// Completed iterations per second over the run.
    pub rate: f64,
    /// Duration of the completed iterations, first step sent to last step answered.
    pub journey_ms: Latency,
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    pub target: String,
    /// Start, milliseconds since the Unix epoch.
    pub started_at_ms: u64,
    pub duration_s: f64,
    pub end_reason: EndReason,
    pub requests: u64,
    pub failures: u64,
    pub short_circuited: u64,
    pub rps: f64,
    pub error_rate: f64,
    pub latency_ms: Latency,
    pub max_users: u32,
    /// Every request with figures of its own: endpoints, then flow steps (`flow/step`).
    pub endpoints: Vec<EndpointReport>,
    /// The flows' iterations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flows: Vec<FlowReport>,
    pub thresholds: Vec<ThresholdOutcome>,
    /// Failures grouped by endpoint, class and status, most frequent first.
    pub errors: Vec<ErrorGroup>,
    /// Open model: arrivals that found no free user within `arrival_max_wait` and were not
    /// sent. Never silent: a run that under-sends says so here.
    #[serde(default)]
    pub dropped: u64,
    /// Open model: the rate asked for, as arrivals scheduled per second over the run (`rps` is
    /// the rate achieved).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked_rate: Option<f64>,
    /// Open model: how long after their intended send time requests left (already inside
    /// `latency_ms`, which counts from the intended time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_lag_ms: Option<Latency>,
    /// With `latency.correction`: latency corrected for coordinated omission (`latency_ms`
    /// stays as measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_corrected_ms: Option<Latency>,
    /// The correction applied, as people read it (`expected_interval 1.2 s (auto)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_correction: Option<String>,
    /// The generator's own CPU, memory and warnings over the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<crate::GeneratorReport>,
    /// `tls.insecure_skip_verify` was on: the target's certificate was not checked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure_tls: bool,
}

/// The warning every output and report carries when certificates are not checked.
pub const INSECURE_TLS_WARNING: &str = "tls.insecure_skip_verify is on: the target's certificate \
     was not checked, so anyone on the path could read and change this traffic";

/// Failures of one kind on one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorGroup {
    pub endpoint: String,
    pub class: FailureClass,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The first failure's message.
    pub message: String,
    /// The message's kind ([`crate::message_kind`]): what the group is keyed by.
    #[serde(default)]
    pub kind: String,
    pub count: u64,
    /// Trace ids of the first few failures.
    pub trace_ids: Vec<String>,
}

impl Report {
    /// Whether every threshold passed.
    pub fn thresholds_passed(&self) -> bool {
        self.thresholds.iter().all(|t| t.passed)
    }
}
