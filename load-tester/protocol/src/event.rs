//! What a running load test reports.

use std::collections::BTreeMap;

use lt_scenario::{LiveChange, Refusal, ThinkTime};
use serde::{Deserialize, Serialize};

use crate::Report;

/// One message from a worker. (A tick is the largest, once a second; boxing it would buy
/// nothing.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WorkerEvent {
    /// The session moved to another state.
    Lifecycle(Lifecycle),
    /// One second of measurements.
    Tick(Tick),
    /// A failed or slow request, with its trace id.
    Error(ErrorSample),
    /// The worker's verdict on a live change: applied, or refused with why.
    Change(Box<ChangeOutcome>),
    /// The run is over; the last message.
    Finished(Box<Report>),
}

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleState {
    Starting,
    Running,
    Stopping,
    Ended,
}

/// A change of state, with why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Lifecycle {
    pub state: LifecycleState,
    /// Why, when stopping or ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
}

/// Latency figures in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub avg: f64,
}

/// Failures by class. A request is in exactly one class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FailureCounts {
    /// The connection could not be made (refused, reset before a response, DNS).
    pub connect: u64,
    /// No response within the endpoint's timeout.
    pub timeout: u64,
    /// A 4xx the endpoint does not expect.
    pub status_4xx: u64,
    /// A 5xx the endpoint does not expect.
    pub status_5xx: u64,
    /// Any other status the endpoint does not expect (a 2xx or 3xx outside `expect`), or a
    /// failure while reading the body.
    pub unexpected: u64,
    /// A step's `capture` found nothing in the answer.
    #[serde(default)]
    #[schema(required = true)]
    pub capture: u64,
    /// An answer failed a `check` (body_contains, json, max_size).
    #[serde(default)]
    #[schema(required = true)]
    pub check: u64,
}

impl FailureCounts {
    /// All failures.
    pub fn total(&self) -> u64 {
        self.connect
            + self.timeout
            + self.status_4xx
            + self.status_5xx
            + self.unexpected
            + self.capture
            + self.check
    }

    /// The failures of `class`.
    pub fn get(&self, class: FailureClass) -> u64 {
        match class {
            FailureClass::Connect => self.connect,
            FailureClass::Timeout => self.timeout,
            FailureClass::Status4xx => self.status_4xx,
            FailureClass::Status5xx => self.status_5xx,
            FailureClass::Unexpected => self.unexpected,
            FailureClass::Capture => self.capture,
            FailureClass::Check => self.check,
        }
    }

    /// Adds one failure of `class`.
    pub fn add(&mut self, class: FailureClass, n: u64) {
        match class {
            FailureClass::Connect => self.connect += n,
            FailureClass::Timeout => self.timeout += n,
            FailureClass::Status4xx => self.status_4xx += n,
            FailureClass::Status5xx => self.status_5xx += n,
            FailureClass::Unexpected => self.unexpected += n,
            FailureClass::Capture => self.capture += n,
            FailureClass::Check => self.check += n,
        }
    }

    /// Adds another set of counts.
    pub fn merge(&mut self, other: &FailureCounts) {
        self.connect += other.connect;
        self.timeout += other.timeout;
        self.status_4xx += other.status_4xx;
        self.status_5xx += other.status_5xx;
        self.unexpected += other.unexpected;
        self.capture += other.capture;
        self.check += other.check;
    }
}

/// The class of one failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    Connect,
    Timeout,
    Status4xx,
    Status5xx,
    Unexpected,
    /// A flow step's capture found nothing.
    Capture,
    /// A `check` on the answer failed.
    Check,
}

impl FailureClass {
    /// All classes, in report order.
    pub const ALL: [FailureClass; 7] = [
        FailureClass::Connect,
        FailureClass::Timeout,
        FailureClass::Status4xx,
        FailureClass::Status5xx,
        FailureClass::Unexpected,
        FailureClass::Capture,
        FailureClass::Check,
    ];

    /// The class's name as used in messages and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::Connect => "connect",
            FailureClass::Timeout => "timeout",
            FailureClass::Status4xx => "status_4xx",
            FailureClass::Status5xx => "status_5xx",
            FailureClass::Unexpected => "unexpected",
            FailureClass::Capture => "capture",
            FailureClass::Check => "check",
        }
    }
}

/// A circuit breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

/// One endpoint's second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EndpointTick {
    pub name: String,
    /// Requests sent and answered (or failed) this second.
    pub requests: u64,
    pub failures: FailureCounts,
    /// Requests the breaker refused this second (not sent).
    pub short_circuited: u64,
    /// Latency of this second's requests.
    pub latency: Latency,
    /// The endpoint's current weight.
    pub weight: f64,
    pub breaker: BreakerState,
    /// Since the run's start: what a watcher shows as the endpoint's totals, never re-added.
    pub totals: EndpointTotals,
    /// Open model: arrivals this second that found no free user within `arrival_max_wait` and
    /// were not sent (attributed to endpoints by weight: an arrival picks its endpoint when
    /// sent).
    #[serde(default)]
    pub dropped: u64,
    /// With `latency.correction`: this second's latency corrected for coordinated omission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrected_latency: Option<Latency>,
}

/// One endpoint since the run's start.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EndpointTotals {
    pub requests: u64,
    pub failures: FailureCounts,
    pub short_circuited: u64,
    /// Latency of every timed request since the start (from the merged histogram, never an
    /// average of seconds' percentiles).
    pub latency: Latency,
    /// Requests timed since the start (connection failures are counted, not timed).
    #[serde(default)]
    pub timed: u64,
    /// Their latencies added up, in seconds.
    #[serde(default)]
    pub latency_sum_s: f64,
    /// Timed requests at or under each bound of [`crate::LATENCY_BUCKETS_S`] (cumulative, as
    /// Prometheus `le` buckets); empty before the first. `/metrics` shows them as they are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latency_buckets: Vec<u64>,
    /// Open model: arrivals dropped since the start.
    #[serde(default)]
    pub dropped: u64,
    /// With `latency.correction`: latency since the start, corrected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrected_latency: Option<Latency>,
}

/// One flow's second: its iterations (journeys) and their durations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FlowTick {
    pub name: String,
    /// Iterations started this second.
    pub started: u64,
    /// Iterations whose every step succeeded, ended this second.
    pub completed: u64,
    /// Iterations ended early this second (a step failed or its breaker refused it).
    pub failed: u64,
    /// Duration of the iterations completed this second, first step sent to last step answered
    /// (think time between steps included).
    pub journey: Latency,
    /// The flow's current weight.
    pub weight: f64,
    /// Since the run's start.
    pub totals: FlowTotals,
}

/// One flow since the run's start.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FlowTotals {
    pub started: u64,
    pub completed: u64,
    pub failed: u64,
    /// Duration of every completed iteration (from the merged histogram).
    pub journey: Latency,
}

/// The live settings in force: the scenario's, as changed since.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LiveConfig {
    /// Users the schedule or the last live change asks for.
    pub users: u32,
    /// Weights by endpoint and flow name.
    pub weights: BTreeMap<String, f64>,
    pub think_time: ThinkTime,
    /// Open-model arrival rate in requests/s; `null` in the closed model.
    pub arrival_rate: Option<f64>,
}

/// What became of one live change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChangeOutcome {
    /// The command's id, so the one who asked gets this answer.
    pub id: u64,
    /// The change as asked.
    pub change: LiveChange,
    /// The settings before the change.
    pub before: LiveConfig,
    /// The settings after it (the same as `before` when refused).
    pub after: LiveConfig,
    /// Why nothing was applied, or `null` when all of it was.
    pub refused: Option<Refusal>,
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
}

/// Load reduction's current state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReductionState {
    /// Users parked by load reduction now.
    pub parked_users: u32,
    /// The error rate over the configured window, 0..1.
    pub window_error_rate: f64,
}

/// One second of a run, sent right after the second ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tick {
    /// 1 for the run's first second, and so on.
    pub second: u64,
    /// End of the second, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    pub elapsed_s: f64,
    /// Until the planned end.
    pub remaining_s: f64,
    /// Users sending requests now.
    pub active_users: u32,
    /// Users the schedule or the last change asks for.
    pub target_users: u32,
    pub requests: u64,
    pub failures: u64,
    pub short_circuited: u64,
    /// Requests per second over this second.
    pub rps: f64,
    /// Latency over all endpoints this second.
    pub latency: Latency,
    /// Requests sent since the start.
    pub total_requests: u64,
    /// Failures since the start.
    pub total_failures: u64,
    /// Latency over all endpoints since the start (from the merged histogram).
    pub total_latency: Latency,
    /// Failures in the last 60 s, against the error budget.
    pub errors_last_minute: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_reduction: Option<ReductionState>,
    /// Users in backoff now.
    pub users_in_backoff: u32,
    /// Every request with figures of its own: endpoints, then flow steps (`flow/step`).
    pub endpoints: Vec<EndpointTick>,
    /// The flows' iterations, in scenario order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flows: Vec<FlowTick>,
    /// The live settings in force during this second.
    pub config: LiveConfig,
    /// Open model: arrivals dropped this second (no free user within `arrival_max_wait`).
    #[serde(default)]
    pub dropped: u64,
    /// Open model: arrivals dropped since the start.
    #[serde(default)]
    pub total_dropped: u64,
    /// Open model: how long after its intended send time each request of this second left
    /// (waiting for a free user, or a late timer); already inside `latency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_lag: Option<Latency>,
    /// With `latency.correction`: this second's latency corrected for coordinated omission
    /// (`latency` stays as measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrected_latency: Option<Latency>,
    /// With `latency.correction`: latency since the start, corrected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_corrected_latency: Option<Latency>,
    /// The generator process this second (CPU, memory, timer lag, warnings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<crate::GeneratorStats>,
    /// One generator's second whole, for its coordinator to merge; never in a merged tick.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub histograms: Option<crate::TickHistograms>,
}

/// A failed (or slow) request worth looking at in a trace viewer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorSample {
    pub endpoint: String,
    /// `None` for a slow but successful request.
    pub class: Option<FailureClass>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub message: String,
    /// W3C trace id sent with the request (32 hex digits), when tracing is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    pub latency_ms: f64,
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
}
