//! The one way a [`Report`] is made from a run's totals: by a generator at the end of its run,
//! and by a coordinator from its generators' merged seconds. Rates, sums and the threshold
//! verdicts (through [`crate::judge`]) are computed here and nowhere else.

use lt_scenario::Scenario;

use crate::judge::{Measured, RunFigures, judge_run};
use crate::run_totals::RunTotals;
use crate::{EndReason, EndpointReport, ErrorGroup, FlowReport, GeneratorReport, Report};

/// A request row: an endpoint, or a flow's step (named `flow/step`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowName {
    pub name: String,
    pub method: String,
}

/// A flow and its first step's row (where an arrival dropped for the journey is counted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowName {
    pub name: String,
    pub first_row: usize,
}

/// The rows and flows of a scenario, in the order ticks, totals and reports list them: the
/// endpoints, then each flow's steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunShape {
    pub rows: Vec<RowName>,
    pub flows: Vec<FlowName>,
}

impl RunShape {
    pub fn of(scenario: &Scenario) -> RunShape {
        let row = |e: &lt_scenario::Endpoint| RowName {
            name: e.name.clone(),
            method: e.method.to_string(),
        };
        let mut rows: Vec<RowName> = scenario.endpoints.iter().map(row).collect();
        let mut flows = Vec::with_capacity(scenario.flows.len());
        for flow in &scenario.flows {
            flows.push(FlowName {
                name: flow.name.clone(),
                first_row: rows.len(),
            });
            rows.extend(flow.steps.iter().map(|s| row(&s.request)));
        }
        RunShape { rows, flows }
    }
}

/// What a report says besides the totals.
#[derive(Debug)]
pub struct RunFacts<'a> {
    pub scenario: &'a Scenario,
    pub shape: &'a RunShape,
    /// Milliseconds since the Unix epoch.
    pub started_at_ms: u64,
    pub duration_s: f64,
    pub end_reason: EndReason,
    /// The most users active at once.
    pub max_users: u32,
    /// Open model: arrivals asked for over the run (the rate integrated); `None` when closed.
    pub asked_arrivals: Option<f64>,
    /// With `latency.correction`: the correction as people read it.
    pub correction: Option<String>,
    pub errors: Vec<ErrorGroup>,
    pub generator: Option<GeneratorReport>,
}

/// The report of a run with `totals`.
pub fn build_report(facts: RunFacts<'_>, totals: &RunTotals) -> Report {
    let duration_s = facts.duration_s.max(1e-3);
    let empty = crate::LatencyHistogram::new();
    let endpoints: Vec<EndpointReport> = facts
        .shape
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let t = totals.rows.get(i);
            let requests = t.map_or(0, |t| t.requests);
            EndpointReport {
                name: row.name.clone(),
                method: row.method.clone(),
                requests,
                failures: t.map_or(0, |t| t.failures.total()),
                failures_by_class: t.map(|t| t.failures).unwrap_or_default(),
                short_circuited: t.map_or(0, |t| t.short_circuited),
                rps: requests as f64 / duration_s,
                latency_ms: t.map(|t| t.latency.latency()).unwrap_or_default(),
                dropped: t.map_or(0, |t| t.dropped),
                latency_corrected_ms: t.and_then(|t| t.corrected.as_ref()).map(|h| h.latency()),
            }
        })
        .collect();
    let flows: Vec<FlowReport> = facts
        .shape
        .flows
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let t = totals.flows.get(i);
            let completed = t.map_or(0, |t| t.completed);
            FlowReport {
                name: f.name.clone(),
                started: t.map_or(0, |t| t.started),
                completed,
                failed: t.map_or(0, |t| t.failed),
                rate: completed as f64 / duration_s,
                journey_ms: t.map(|t| t.journey.latency()).unwrap_or_default(),
            }
        })
        .collect();
    let requests = totals.requests();
    let failures = totals.failures();
    let dropped = totals.dropped();
    let figures = RunFigures {
        rows: endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let measured = Measured {
                    requests: e.requests,
                    failures: e.failures,
                    dropped: e.dropped,
                    latency: totals.rows.get(i).map_or(&empty, |t| &t.latency),
                };
                (e.name.as_str(), measured)
            })
            .collect(),
        // A journey rule: the flow's iterations that ended.
        flows: facts
            .shape
            .flows
            .iter()
            .zip(&flows)
            .enumerate()
            .map(|(i, (f, report))| {
                let measured = Measured {
                    requests: report.completed + report.failed,
                    failures: report.failed,
                    dropped: endpoints.get(f.first_row).map_or(0, |e| e.dropped),
                    latency: totals.flows.get(i).map_or(&empty, |t| &t.journey),
                };
                (f.name.as_str(), measured)
            })
            .collect(),
        all: Measured {
            requests,
            failures,
            dropped,
            latency: &totals.all,
        },
    };
    let thresholds = judge_run(&facts.scenario.thresholds, &figures, duration_s);
    let open_model = facts.asked_arrivals.is_some();
    Report {
        scenario: facts.scenario.name.clone(),
        target: facts.scenario.target.clone(),
        started_at_ms: facts.started_at_ms,
        duration_s,
        end_reason: facts.end_reason,
        requests,
        failures,
        short_circuited: endpoints.iter().map(|e| e.short_circuited).sum(),
        rps: requests as f64 / duration_s,
        error_rate: if requests == 0 {
            0.0
        } else {
            failures as f64 / requests as f64
        },
        latency_ms: totals.all.latency(),
        max_users: facts.max_users,
        endpoints,
        flows,
        thresholds,
        errors: facts.errors,
        dropped,
        asked_rate: facts.asked_arrivals.map(|a| a / duration_s),
        schedule_lag_ms: open_model.then(|| totals.schedule_lag.latency()),
        latency_corrected_ms: totals.corrected.as_ref().map(|h| h.latency()),
        latency_correction: facts.correction,
        generator: facts.generator,
        insecure_tls: facts.scenario.tls.insecure_skip_verify,
    }
}
