//! The session's one report from its generators' reports: counts added up, every latency read
//! from the merged histograms (the coordinator's totals of every second), and the thresholds
//! judged again on the merged figures by the same function a single run uses (the generators'
//! own verdicts, each on its share, are ignored).

use std::collections::BTreeMap;

use lt_protocol::judge::{Measured, RunFigures, judge_run};
use lt_protocol::{EndReason, EndpointReport, ErrorGroup, FlowReport, GeneratorReport, Report};
use lt_scenario::Scenario;

use super::merge::Totals;

/// Trace ids an error group keeps (as the engine's groups do).
const TRACE_IDS_PER_GROUP: usize = 5;

/// Merges `reports` (at least one) of `scenario`'s generators with the merged `totals`;
/// `end` (the coordinator's own reason: a lost generator, the error budget) wins over theirs,
/// and `warnings` join the generators'.
pub fn merge_reports(
    scenario: &Scenario,
    reports: &[Report],
    totals: &Totals,
    end: Option<EndReason>,
    warnings: Vec<String>,
) -> Option<Report> {
    let first = reports.first()?;
    let duration_s = reports
        .iter()
        .map(|r| r.duration_s)
        .fold(0.0_f64, f64::max)
        .max(1e-3);
    let row = |i: usize| totals.rows.get(i);
    let endpoints: Vec<EndpointReport> = first
        .endpoints
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut m = EndpointReport {
                requests: 0,
                failures: 0,
                failures_by_class: Default::default(),
                short_circuited: 0,
                dropped: 0,
                latency_corrected_ms: None,
                latency_ms: row(i).map(|t| t.latency.latency()).unwrap_or_default(),
                rps: 0.0,
                ..e.clone()
            };
            for r in reports {
                if let Some(p) = r.endpoints.get(i) {
                    m.requests += p.requests;
                    m.failures += p.failures;
                    m.failures_by_class.merge(&p.failures_by_class);
                    m.short_circuited += p.short_circuited;
                    m.dropped += p.dropped;
                }
            }
            m.rps = m.requests as f64 / duration_s;
            m
        })
        .collect();
    let flows: Vec<FlowReport> = first
        .flows
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let (started, completed, failed) = reports
                .iter()
                .filter_map(|r| r.flows.get(i))
                .fold((0, 0, 0), |(s, c, x), p| {
                    (s + p.started, c + p.completed, x + p.failed)
                });
            FlowReport {
                name: f.name.clone(),
                started,
                completed,
                failed,
                rate: completed as f64 / duration_s,
                journey_ms: totals
                    .flows
                    .get(i)
                    .map(|t| t.journey.latency())
                    .unwrap_or_default(),
            }
        })
        .collect();
    let requests: u64 = endpoints.iter().map(|e| e.requests).sum();
    let failures: u64 = endpoints.iter().map(|e| e.failures).sum();
    let dropped: u64 = endpoints.iter().map(|e| e.dropped).sum();
    let empty = lt_protocol::LatencyHistogram::new();
    let figures = RunFigures {
        rows: endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let measured = Measured {
                    requests: e.requests,
                    failures: e.failures,
                    dropped: e.dropped,
                    latency: row(i).map_or(&empty, |t| &t.latency),
                };
                (e.name.as_str(), measured)
            })
            .collect(),
        flows: flows
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let first_step = format!("{}/", f.name);
                let dropped = endpoints
                    .iter()
                    .find(|e| e.name.starts_with(&first_step))
                    .map_or(0, |e| e.dropped);
                let measured = Measured {
                    requests: f.completed + f.failed,
                    failures: f.failed,
                    dropped,
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
    let thresholds = judge_run(&scenario.thresholds, &figures, duration_s);
    let open_model = reports.iter().any(|r| r.asked_rate.is_some());
    Some(Report {
        scenario: first.scenario.clone(),
        target: first.target.clone(),
        started_at_ms: reports.iter().map(|r| r.started_at_ms).min().unwrap_or(0),
        duration_s,
        end_reason: end.unwrap_or_else(|| worst_end(reports)),
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
        max_users: reports.iter().map(|r| r.max_users).sum(),
        endpoints,
        flows,
        thresholds,
        errors: merge_errors(reports),
        dropped,
        asked_rate: open_model.then(|| reports.iter().filter_map(|r| r.asked_rate).sum()),
        schedule_lag_ms: open_model.then(|| totals.schedule_lag.latency()),
        // Corrected latency is each generator's own; it is not merged (see docs/distributed.md).
        latency_corrected_ms: None,
        latency_correction: None,
        generator: Some(merge_generators(reports, warnings)),
        insecure_tls: reports.iter().any(|r| r.insecure_tls),
    })
}

/// The end that says most: failed over aborted over stopped over completed.
fn worst_end(reports: &[Report]) -> EndReason {
    let rank = |e: &EndReason| match e {
        EndReason::Completed => 0,
        EndReason::Stopped { .. } => 1,
        EndReason::Aborted { .. } => 2,
        EndReason::Failed { .. } => 3,
    };
    reports
        .iter()
        .map(|r| &r.end_reason)
        .max_by_key(|e| rank(e))
        .cloned()
        .unwrap_or(EndReason::Completed)
}

/// Error groups by their key (endpoint, class, status, kind), counts added up.
fn merge_errors(reports: &[Report]) -> Vec<ErrorGroup> {
    let mut groups: BTreeMap<(String, String, Option<u16>, String), ErrorGroup> = BTreeMap::new();
    for group in reports.iter().flat_map(|r| &r.errors) {
        let key = (
            group.endpoint.clone(),
            group.class.as_str().to_string(),
            group.status,
            group.kind.clone(),
        );
        match groups.get_mut(&key) {
            Some(g) => {
                g.count += group.count;
                for id in &group.trace_ids {
                    if g.trace_ids.len() < TRACE_IDS_PER_GROUP && !g.trace_ids.contains(id) {
                        g.trace_ids.push(id.clone());
                    }
                }
            }
            None => {
                groups.insert(key, group.clone());
            }
        }
    }
    let mut out: Vec<ErrorGroup> = groups.into_values().collect();
    out.sort_by_key(|g| std::cmp::Reverse(g.count));
    out
}

/// The generators together: the busiest one's peaks, every core, every warning once.
fn merge_generators(reports: &[Report], extra: Vec<String>) -> GeneratorReport {
    let mut out = GeneratorReport::default();
    for g in reports.iter().filter_map(|r| r.generator.as_ref()) {
        out.peak_cpu_percent = out.peak_cpu_percent.max(g.peak_cpu_percent);
        out.cores += g.cores;
        out.peak_memory_bytes = out.peak_memory_bytes.max(g.peak_memory_bytes);
        out.max_timer_lag_ms = out.max_timer_lag_ms.max(g.max_timer_lag_ms);
        out.saturated_seconds = out.saturated_seconds.max(g.saturated_seconds);
        out.limited_seconds = out.limited_seconds.max(g.limited_seconds);
        for w in &g.warnings {
            if !out.warnings.contains(w) {
                out.warnings.push(w.clone());
            }
        }
    }
    out.warnings.extend(extra);
    out
}
