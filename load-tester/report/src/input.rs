//! What a report is drawn from: the run's summary when it has one, its seconds, its live
//! changes and its grouped errors. The headless run fills it from its ticks; the control server
//! from its store, so a session killed before its summary still gets a report.

use lt_protocol::{BreakerState, FailureCounts, FlowReport, FlowTick, Report, Tick};
use serde::Serialize;
use serde_json::Value;

/// Everything one report shows.
#[derive(Debug, Clone)]
pub struct ReportInput {
    pub scenario: String,
    pub description: Option<String>,
    pub target: String,
    pub session_id: String,
    /// `completed`, `stopped`, `aborted`, `failed`, `interrupted`, ...
    pub status: String,
    /// Why it ended that way.
    pub reason: Option<String>,
    pub started_at_ms: Option<u64>,
    pub duration_s: f64,
    /// The scenario's resolved `load` section (users, ramp, stages, duration, rates).
    pub load: Value,
    /// The end-of-run summary, when the run wrote one.
    pub summary: Option<Report>,
    /// The flows (journeys) over the whole run: the summary's, or (a session ended without it)
    /// their totals as of the last second that had them ([`flows_from_seconds`]).
    pub flows: Vec<FlowReport>,
    pub seconds: Vec<Second>,
    pub changes: Vec<Change>,
    pub errors: Vec<ErrorRow>,
    /// A link template with `{trace_id}`, turning trace ids into links.
    pub trace_url: Option<String>,
}

/// One second of the run, as the charts and the timeline need it.
#[derive(Debug, Clone, Serialize)]
pub struct Second {
    pub second: u64,
    pub rps: f64,
    pub requests: u64,
    pub failures: u64,
    pub by_class: FailureCounts,
    pub short_circuited: u64,
    /// That second's latency percentiles, in milliseconds.
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub active_users: u32,
    pub target_users: u32,
    pub users_in_backoff: u32,
    pub parked_users: u32,
    pub errors_last_minute: u64,
    pub endpoints: Vec<EndpointSecond>,
    /// Open model: arrivals dropped this second.
    pub dropped: u64,
    /// The generator's CPU this second, in percent of one core, and its warnings.
    pub cpu_percent: Option<f64>,
    pub saturated: Option<String>,
    pub limited: Option<String>,
}

/// One endpoint in one second.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointSecond {
    pub name: String,
    pub requests: u64,
    pub failures: u64,
    /// `closed`, `open` or `half_open`.
    pub breaker: String,
}

/// A live change: who set which field from what to what.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub at_ms: u64,
    pub who: String,
    pub field: String,
    pub old: Value,
    pub new: Value,
}

/// Failures of one kind on one endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorRow {
    pub endpoint: String,
    /// A failure class, or `slow` for slow successful requests.
    pub class: String,
    pub status: Option<u16>,
    /// A sample message.
    pub message: String,
    pub count: u64,
    pub trace_ids: Vec<String>,
}

impl Second {
    /// A second as a worker's tick reports it.
    pub fn from_tick(t: &Tick) -> Second {
        let mut by_class = FailureCounts::default();
        for e in &t.endpoints {
            by_class.merge(&e.failures);
        }
        Second {
            second: t.second,
            rps: t.rps,
            requests: t.requests,
            failures: t.failures,
            by_class,
            short_circuited: t.short_circuited,
            p50: t.latency.p50,
            p95: t.latency.p95,
            p99: t.latency.p99,
            active_users: t.active_users,
            target_users: t.target_users,
            users_in_backoff: t.users_in_backoff,
            parked_users: t.load_reduction.map_or(0, |r| r.parked_users),
            errors_last_minute: t.errors_last_minute,
            endpoints: t
                .endpoints
                .iter()
                .map(|e| EndpointSecond {
                    name: e.name.clone(),
                    requests: e.requests,
                    failures: e.failures.total(),
                    breaker: breaker_name(e.breaker).to_string(),
                })
                .collect(),
            dropped: t.dropped,
            cpu_percent: t.generator.as_ref().map(|g| g.cpu_percent),
            saturated: t.generator.as_ref().and_then(|g| g.saturated.clone()),
            limited: t.generator.as_ref().and_then(|g| g.limited.clone()),
        }
    }
}

/// A breaker state's name.
pub fn breaker_name(state: BreakerState) -> &'static str {
    match state {
        BreakerState::Closed => "closed",
        BreakerState::Open => "open",
        BreakerState::HalfOpen => "half_open",
    }
}

impl ErrorRow {
    /// The groups of a summary.
    pub fn from_report(report: &Report) -> Vec<ErrorRow> {
        report
            .errors
            .iter()
            .map(|g| ErrorRow {
                endpoint: g.endpoint.clone(),
                class: g.class.as_str().to_string(),
                status: g.status,
                message: g.message.clone(),
                count: g.count,
                trace_ids: g.trace_ids.clone(),
            })
            .collect()
    }
}

/// The flows as of the last second that has them (`(second, its flows)`, in order): their totals
/// since the start, the journey percentiles of every iteration completed by then (the engine's
/// merged histogram), and completed iterations per second over those seconds.
pub fn flows_from_seconds<'a>(
    seconds: impl DoubleEndedIterator<Item = (u64, &'a [FlowTick])>,
) -> Vec<FlowReport> {
    let Some((second, flows)) = seconds.rev().find(|(_, flows)| !flows.is_empty()) else {
        return Vec::new();
    };
    flows
        .iter()
        .map(|f| FlowReport {
            name: f.name.clone(),
            started: f.totals.started,
            completed: f.totals.completed,
            failed: f.totals.failed,
            rate: f.totals.completed as f64 / second.max(1) as f64,
            journey_ms: f.totals.journey,
        })
        .collect()
}
