//! What a running load test reports.

use serde::{Deserialize, Serialize};

use crate::Report;

/// One message from a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WorkerEvent {
    /// The session moved to another state.
    Lifecycle(Lifecycle),
    /// One second of measurements.
    Tick(Tick),
    /// A failed or slow request, with its trace id.
    Error(ErrorSample),
    /// A live change took effect.
    Change {
        /// The command, as applied.
        command: crate::Command,
        /// Milliseconds since the Unix epoch.
        at_ms: u64,
    },
    /// The run is over; the last message.
    Finished(Box<Report>),
}

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleState {
    Starting,
    Running,
    Stopping,
    Ended,
}

/// A change of state, with why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lifecycle {
    pub state: LifecycleState,
    /// Why, when stopping or ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
}

/// Latency figures in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub avg: f64,
}

/// Failures by class. A request is in exactly one class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
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
}

impl FailureCounts {
    /// All failures.
    pub fn total(&self) -> u64 {
        self.connect + self.timeout + self.status_4xx + self.status_5xx + self.unexpected
    }

    /// The failures of `class`.
    pub fn get(&self, class: FailureClass) -> u64 {
        match class {
            FailureClass::Connect => self.connect,
            FailureClass::Timeout => self.timeout,
            FailureClass::Status4xx => self.status_4xx,
            FailureClass::Status5xx => self.status_5xx,
            FailureClass::Unexpected => self.unexpected,
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
        }
    }

    /// Adds another set of counts.
    pub fn merge(&mut self, other: &FailureCounts) {
        self.connect += other.connect;
        self.timeout += other.timeout;
        self.status_4xx += other.status_4xx;
        self.status_5xx += other.status_5xx;
        self.unexpected += other.unexpected;
    }
}

/// The class of one failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    Connect,
    Timeout,
    Status4xx,
    Status5xx,
    Unexpected,
}

impl FailureClass {
    /// All classes, in report order.
    pub const ALL: [FailureClass; 5] = [
        FailureClass::Connect,
        FailureClass::Timeout,
        FailureClass::Status4xx,
        FailureClass::Status5xx,
        FailureClass::Unexpected,
    ];

    /// The class's name as used in messages and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::Connect => "connect",
            FailureClass::Timeout => "timeout",
            FailureClass::Status4xx => "status_4xx",
            FailureClass::Status5xx => "status_5xx",
            FailureClass::Unexpected => "unexpected",
        }
    }
}

/// A circuit breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

/// One endpoint's second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// This second's requests at or under each bound of [`crate::LATENCY_BUCKETS_S`]
    /// (cumulative, as Prometheus `le` buckets); empty when none were timed this second.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latency_buckets: Vec<u64>,
}

/// Load reduction's current state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReductionState {
    /// Users parked by load reduction now.
    pub parked_users: u32,
    /// The error rate over the configured window, 0..1.
    pub window_error_rate: f64,
}

/// One second of a run, sent right after the second ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Failures in the last 60 s, against the error budget.
    pub errors_last_minute: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_reduction: Option<ReductionState>,
    /// Users in backoff now.
    pub users_in_backoff: u32,
    pub endpoints: Vec<EndpointTick>,
}

/// A failed (or slow) request worth looking at in a trace viewer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
