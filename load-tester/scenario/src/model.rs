//! The validated scenario: what a run is built from.
//!
//! Every value here has passed validation (see `parse`), so the engine can trust it: users ≥ 1,
//! think time min ≤ max, weights ≥ 0 and not all zero, endpoint names unique, thresholds naming
//! existing endpoints. The types serialize to JSON (durations as strings like `"1.5s"`) so the
//! control server can store and show the configuration a session ran with.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::duration::serde_duration;
use crate::generator_limits::GeneratorLimits;
use crate::journey::{Checks, DataSpec, EnvValues, Flow};
use crate::latency_options::LatencyOptions;
use crate::threshold::Threshold;
use crate::tls_options::TlsOptions;

/// The default number of concurrent users.
pub const DEFAULT_USERS: u32 = 10;
/// The default run length.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(30 * 60);
/// The default think time between two requests of one user.
pub const DEFAULT_THINK_MIN: Duration = Duration::from_secs(1);
/// The default upper bound of think time.
pub const DEFAULT_THINK_MAX: Duration = Duration::from_secs(5);
/// The default per-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default error budget: failures in any 60 s window before the run is aborted.
pub const DEFAULT_MAX_ERRORS_PER_MINUTE: u64 = 100;
/// The default header that carries the user id.
pub const DEFAULT_USER_ID_HEADER: &str = "X-User-Id";
/// The default longest wait of an open-model arrival for a free user.
/// The most generator processes one session may have (`load.generators`).
pub const MAX_GENERATORS: u32 = 1000;
/// Time an arrival may wait for a free user.
pub const DEFAULT_ARRIVAL_MAX_WAIT: Duration = Duration::from_secs(1);

/// A whole, validated scenario.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Scenario {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Base URL, `http` or `https`, without a trailing slash.
    pub target: String,
    pub load: Load,
    pub endpoints: Vec<Endpoint>,
    /// Journeys: steps run in order, each flow one weighted choice beside the endpoints.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flows: Vec<Flow>,
    /// The rows users read as `{{ row.column }}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<DataSpec>,
    /// A cookie jar per user for every request (flows can turn it on for themselves).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cookies: bool,
    pub protection: Protection,
    pub thresholds: Vec<Threshold>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_ids: Option<UserIds>,
    pub tracing: TracingOptions,
    /// The `{{ env.NAME }}` values requests use (never serialized).
    #[serde(skip)]
    #[schema(ignore)]
    pub env: EnvValues,
    /// How latencies are measured (the closed model's correction).
    #[serde(skip_serializing_if = "latency_is_default")]
    pub latency: LatencyOptions,
    /// How HTTPS connections check the target's certificate.
    #[serde(skip_serializing_if = "TlsOptions::is_default")]
    pub tls: TlsOptions,
}

fn latency_is_default(options: &LatencyOptions) -> bool {
    !options.correction.is_on()
}

impl Scenario {
    /// Every file the scenario read through its [`crate::DataFiles`], as written in it, each
    /// once: the data file, then `tls.ca_file` (a coordinator sends them to its generators).
    pub fn files(&self) -> Vec<&str> {
        let mut files: Vec<&str> = Vec::new();
        let named = [
            self.data.as_ref().map(|d| d.file.as_str()),
            self.tls.ca_file.as_deref(),
        ];
        for file in named.into_iter().flatten() {
            if !files.contains(&file) {
                files.push(file);
            }
        }
        files
    }

    /// The endpoint called `name`, if any.
    pub fn endpoint(&self, name: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.name == name)
    }

    /// What a user chooses among, with their weights: the endpoints, then the flows, in
    /// declaration order.
    pub fn choices(&self) -> Vec<(&str, f64)> {
        self.endpoints
            .iter()
            .map(|e| (e.name.as_str(), e.weight))
            .chain(self.flows.iter().map(|f| (f.name.as_str(), f.weight)))
            .collect()
    }

    /// The weights of all choices (endpoints, then flows), in declaration order.
    pub fn weights(&self) -> Vec<f64> {
        self.choices().into_iter().map(|(_, w)| w).collect()
    }

    /// Every request with figures of its own: the endpoints, then each flow's steps (named
    /// `flow/step`), in declaration order.
    pub fn requests(&self) -> impl Iterator<Item = &Endpoint> {
        self.endpoints.iter().chain(
            self.flows
                .iter()
                .flat_map(|f| f.steps.iter().map(|s| &s.request)),
        )
    }
}

/// How much load, for how long.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Load {
    /// Concurrent users once ramped up.
    pub users: u32,
    /// The most users a live change may ask for in this run (defaults to `users`). The engine
    /// starts this many Goose users and parks those beyond the active count.
    pub max_users: u32,
    pub ramp: Ramp,
    /// Total wall time of the run, ramp-up included.
    #[schema(value_type = String, examples("30s"))]
    #[serde(with = "serde_duration")]
    pub duration: Duration,
    pub think_time: ThinkTime,
    /// Open model: requests per second across all users; users then only cap concurrency and
    /// think time is not applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arrival_rate: Option<f64>,
    /// Closed model cap: at most this many requests per second across all users.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Optional steps of users over time, run one after another after the ramp; their durations
    /// add up to at most `duration`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<Stage>,
    /// How a shorter `duration` override scaled the file's ramp and stages, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaled: Option<String>,
    /// Open model: how long an arrival may wait for a free user; past it, it is dropped.
    #[schema(value_type = String, examples("1s"))]
    #[serde(with = "serde_duration")]
    pub arrival_max_wait: Duration,
    /// What the generator itself may use (`max_memory`, `max_cpu`).
    #[serde(flatten)]
    pub limits: GeneratorLimits,
    /// Generator processes that run the session together, each its segment of the load (see
    /// `docs/distributed.md`); 1 (the default) runs it in one process as always.
    #[serde(skip_serializing_if = "is_one")]
    pub generators: u32,
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

/// How users are brought up at the start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Ramp {
    /// All users start at once.
    Immediate,
    /// Users start evenly over this time.
    #[schema(value_type = String)]
    Over(#[serde(with = "serde_duration")] Duration),
    /// This many users start per second.
    Rate(f64),
}

impl Ramp {
    /// How long the ramp to `users` takes.
    pub fn time_for(&self, users: u32) -> Duration {
        match *self {
            Ramp::Immediate => Duration::ZERO,
            Ramp::Over(d) => d,
            Ramp::Rate(r) if r > 0.0 => Duration::from_secs_f64(f64::from(users) / r),
            Ramp::Rate(_) => Duration::ZERO,
        }
    }
}

/// One step of a staged load: hold `users` for `duration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Stage {
    pub users: u32,
    #[schema(value_type = String, examples("30s"))]
    #[serde(with = "serde_duration")]
    pub duration: Duration,
}

/// Pause between two requests of one user, chosen uniformly in `min..=max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ThinkTime {
    #[serde(with = "serde_duration")]
    #[schema(value_type = String, examples("500ms"))]
    pub min: Duration,
    #[serde(with = "serde_duration")]
    #[schema(value_type = String, examples("2s"))]
    pub max: Duration,
}

impl Default for ThinkTime {
    fn default() -> Self {
        ThinkTime {
            min: DEFAULT_THINK_MIN,
            max: DEFAULT_THINK_MAX,
        }
    }
}

/// The HTTP methods Goose can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
}

impl Method {
    /// All methods, for messages and parsing.
    pub const ALL: [Method; 6] = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Head,
    ];

    /// The method's name as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
        }
    }

    /// Parses a method name, case-insensitively.
    pub fn parse(text: &str) -> Option<Method> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(text))
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One request the dispatcher may choose.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Endpoint {
    /// Unique within the scenario; names the request in every metric and report.
    pub name: String,
    pub method: Method,
    /// Path (starting with `/`) appended to the target, or an absolute URL on the same host.
    pub path: String,
    /// Query parameters, in file order.
    /// `[name, value]` pairs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Vec<String>>)]
    pub query: Vec<(String, String)>,
    /// Extra headers, in file order. Values of secret headers are redacted when serialized.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "crate::redact::serialize_headers"
    )]
    #[schema(value_type = Vec<Vec<String>>)]
    pub headers: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
    #[schema(value_type = String, examples("30s"))]
    #[serde(with = "serde_duration")]
    pub timeout: Duration,
    /// Relative weight in the dispatcher's choice; `0` leaves the endpoint out until changed.
    pub weight: f64,
    /// Status codes that count as success; `None` means any 2xx.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<Vec<u16>>,
    /// Checks on the answer beside its status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<Checks>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Endpoint {
    /// Whether `status` counts as success for this endpoint.
    pub fn is_expected(&self, status: u16) -> bool {
        match &self.expect {
            Some(codes) => codes.contains(&status),
            None => (200..300).contains(&status),
        }
    }
}

/// A request body.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    /// Sent as JSON with `Content-Type: application/json`.
    Json(serde_json::Value),
    /// Sent as is.
    Text(String),
}

/// What keeps a run from hammering a failing target.
#[derive(Debug, Clone, PartialEq, Serialize, Default, utoipa::ToSchema)]
pub struct Protection {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<CircuitBreaker>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_reduction: Option<LoadReduction>,
    /// Failures allowed in any 60 s window; one more aborts the run. `None` turns the budget off
    /// (written `max_errors_per_minute: off`).
    pub max_errors_per_minute: Option<u64>,
}

/// Circuit breaker settings, applied to each endpoint on its own (or to all together with
/// `scope: global`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CircuitBreaker {
    /// Consecutive failures that open the breaker.
    pub consecutive_failures: u32,
    /// Alternatively, the failure ratio over `window` (with at least `min_requests`) that opens it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_ratio: Option<f64>,
    #[schema(value_type = String, examples("30s"))]
    #[serde(with = "serde_duration")]
    pub window: Duration,
    pub min_requests: u32,
    /// How long the breaker stays open before letting probes through.
    #[schema(value_type = String, examples("30s"))]
    #[serde(with = "serde_duration")]
    pub open_for: Duration,
    /// Probes let through while half-open; all must succeed to close.
    pub half_open_probes: u32,
    pub scope: BreakerScope,
}

/// Whether one breaker guards each endpoint or one guards them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreakerScope {
    Endpoint,
    Global,
}

/// Exponential backoff of one user after consecutive failures.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Backoff {
    #[schema(value_type = String, examples("30s"))]
    #[serde(with = "serde_duration")]
    pub initial: Duration,
    #[schema(value_type = String, examples("30s"))]
    #[serde(with = "serde_duration")]
    pub max: Duration,
    pub multiplier: f64,
    /// Full jitter: the wait is uniform in `0..=computed`.
    pub jitter: bool,
}

/// Park a share of the users while the error rate is high.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LoadReduction {
    /// Error rate (0..1) over `window` that triggers a reduction.
    pub error_rate: f64,
    #[schema(value_type = String, examples("30s"))]
    #[serde(with = "serde_duration")]
    pub window: Duration,
    /// Share (0..1) of the active users to park.
    pub reduce_by: f64,
    /// Never park below this many active users.
    pub min_users: u32,
    /// Once the rate is under half the limit, one restore step each this long.
    #[schema(value_type = String, examples("30s"))]
    #[serde(with = "serde_duration")]
    pub restore_every: Duration,
}

/// The user ids sent with requests.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct UserIds {
    pub ids: UserIdSource,
    /// Header that carries the id (default `X-User-Id`); `None` sends no header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// JSON body field set to the id on endpoints with a JSON object body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json_field: Option<String>,
}

/// Where user ids come from; users cycle through them.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserIdSource {
    /// Every integer in `from..=to`.
    Range { from: u64, to: u64 },
    /// These ids, in order.
    List(Vec<String>),
}

impl UserIdSource {
    /// How many ids there are.
    pub fn len(&self) -> u64 {
        match self {
            UserIdSource::Range { from, to } => to - from + 1,
            UserIdSource::List(ids) => ids.len() as u64,
        }
    }

    /// Always false for a validated scenario.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `n`-th id, wrapping around.
    pub fn nth(&self, n: u64) -> String {
        match self {
            UserIdSource::Range { from, to } => (from + n % (to - from + 1)).to_string(),
            UserIdSource::List(ids) => ids[(n % ids.len() as u64) as usize].clone(),
        }
    }
}

/// W3C trace context on requests.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TracingOptions {
    /// Send `traceparent` and `baggage` (default on).
    pub enabled: bool,
    /// Requests slower than this keep their trace id as a sample (default 1s).
    #[schema(value_type = String, examples("30s"))]
    #[serde(with = "serde_duration")]
    pub slow: Duration,
}

impl Default for TracingOptions {
    fn default() -> Self {
        TracingOptions {
            enabled: true,
            slow: Duration::from_secs(1),
        }
    }
}

/// Values the CLI, the API or the environment put over the file's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::duration::serde_opt_duration"
    )]
    #[schema(value_type = Option<String>, examples("30s"))]
    pub duration: Option<Duration>,
    /// Time to start all users (`0s`: at once), over the file's `ramp_up` or `increase_rate`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::duration::serde_opt_duration"
    )]
    #[schema(value_type = Option<String>, examples("10s"))]
    pub ramp_up: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think_time: Option<ThinkTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrival_rate: Option<f64>,
    /// Endpoint and flow weights by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<BTreeMap<String, f64>>,
    /// Generator processes that share the session (`load.generators`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generators: Option<u32>,
}
