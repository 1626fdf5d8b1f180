//! The session's one report from its generators' reports: counts, latencies and rates from the
//! merged totals (the coordinator's sum of every second), built and judged by the same function
//! a single run uses ([`lt_protocol::build_report`]); the generators' own verdicts, each on its
//! share, are ignored. From their reports come only what seconds do not carry: the run's span,
//! the asked arrivals, error groups and generator figures.

use std::collections::BTreeMap;

use lt_protocol::{EndReason, ErrorGroup, GeneratorReport, Report, RunFacts, RunShape};
use lt_scenario::Scenario;

use super::merge::Merger;

/// Trace ids an error group keeps (as the engine's groups do).
const TRACE_IDS_PER_GROUP: usize = 5;

/// Merges `reports` (at least one) of `scenario`'s generators with the `merger`'s totals;
/// `end` (the coordinator's own reason: a lost generator, the error budget) wins over theirs,
/// and `warnings` join the generators'.
pub fn merge_reports(
    scenario: &Scenario,
    reports: &[Report],
    merger: &Merger,
    end: Option<EndReason>,
    warnings: Vec<String>,
) -> Option<Report> {
    if reports.is_empty() {
        return None;
    }
    let duration_s = reports.iter().map(|r| r.duration_s).fold(0.0_f64, f64::max);
    let open_model = reports.iter().any(|r| r.asked_rate.is_some());
    let asked_arrivals: f64 = reports
        .iter()
        .filter_map(|r| r.asked_rate.map(|rate| rate * r.duration_s))
        .sum();
    let mut corrections: Vec<String> = Vec::new();
    for text in reports.iter().filter_map(|r| r.latency_correction.clone()) {
        if !corrections.contains(&text) {
            corrections.push(text);
        }
    }
    let shape = RunShape::of(scenario);
    let max_users = match merger.peak_active_users {
        0 => reports.iter().map(|r| r.max_users).sum(),
        peak => peak,
    };
    let facts = RunFacts {
        scenario,
        shape: &shape,
        started_at_ms: reports.iter().map(|r| r.started_at_ms).min().unwrap_or(0),
        duration_s,
        end_reason: end.unwrap_or_else(|| worst_end(reports)),
        max_users,
        asked_arrivals: open_model.then_some(asked_arrivals),
        // Each generator corrects its own share with its own interval (see docs/distributed.md).
        correction: (!corrections.is_empty()).then(|| corrections.join("; ")),
        errors: merge_errors(reports),
        generator: Some(merge_generators(reports, warnings)),
    };
    Some(lt_protocol::build_report(facts, &merger.totals))
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
