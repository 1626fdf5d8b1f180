//! The report's "Accuracy" section: what says how true the figures are. Open-model drops (with
//! the asked and achieved rates and the schedule lag), latency corrected for coordinated
//! omission, and the generator's own CPU, memory and warnings.

use std::fmt::Write;

use crate::html::{esc, ms};
use crate::input::ReportInput;

/// Writes the section, or nothing when there is nothing to say (a closed-model run without
/// correction whose generator was never measured).
pub fn section(out: &mut String, input: &ReportInput) {
    let mut items: Vec<String> = Vec::new();
    let summary = input.summary.as_ref();
    let dropped = summary.map_or_else(
        || input.seconds.iter().map(|s| s.dropped).sum(),
        |r| r.dropped,
    );
    let requests = summary.map_or_else(
        || input.seconds.iter().map(|s| s.requests).sum(),
        |r| r.requests,
    );
    if let Some(asked) = summary.and_then(|r| r.asked_rate) {
        let achieved = summary.map_or(0.0, |r| r.rps);
        items.push(format!(
            "Open model: asked <b>{asked:.1}</b> arrivals/s, achieved <b>{achieved:.1}</b> requests/s. \
             Latencies count from each arrival's intended send time."
        ));
    }
    if dropped > 0 {
        let share = dropped as f64 / (requests + dropped) as f64 * 100.0;
        let mut by_endpoint = String::new();
        if let Some(r) = summary {
            let parts: Vec<String> = r
                .endpoints
                .iter()
                .filter(|e| e.dropped > 0)
                .map(|e| format!("{} {}", esc(&e.name), e.dropped))
                .collect();
            if !parts.is_empty() {
                by_endpoint = format!(" (by endpoint, attributed by weight: {})", parts.join(", "));
            }
        }
        items.push(format!(
            "<span class=\"warn\" id=\"dropped\">{dropped} arrivals dropped ({share:.2} %): not \
             enough users for this rate; raise users</span>{by_endpoint}"
        ));
    }
    if let Some(l) = summary.and_then(|r| r.schedule_lag_ms) {
        items.push(format!(
            "Schedule lag (how late requests left; already inside the latencies): p50 {}, p95 {}, p99 {}, max {}",
            ms(l.p50),
            ms(l.p95),
            ms(l.p99),
            ms(l.max)
        ));
    }
    if let (Some(l), Some(how)) = (
        summary.and_then(|r| r.latency_corrected_ms),
        summary.and_then(|r| r.latency_correction.as_deref()),
    ) {
        let measured = summary.map(|r| r.latency_ms).unwrap_or_default();
        items.push(format!(
            "Latency corrected for coordinated omission ({}): p50 {}, p95 {}, p99 {}, max {} \
             (measured: p50 {}, p95 {}, p99 {}, max {})",
            esc(how),
            ms(l.p50),
            ms(l.p95),
            ms(l.p99),
            ms(l.max),
            ms(measured.p50),
            ms(measured.p95),
            ms(measured.p99),
            ms(measured.max)
        ));
    }
    match summary.and_then(|r| r.generator.as_ref()) {
        Some(g) => {
            items.push(format!(
                "Generator: peak CPU {:.0} % of one core ({} cores), peak memory {:.1} MiB, worst timer lag {}",
                g.peak_cpu_percent,
                g.cores,
                g.peak_memory_bytes as f64 / (1024.0 * 1024.0),
                ms(g.max_timer_lag_ms)
            ));
            for w in &g.warnings {
                items.push(format!("<span class=\"warn\">{}</span>", esc(w)));
            }
        }
        None => {
            let peak = input
                .seconds
                .iter()
                .filter_map(|s| s.cpu_percent)
                .fold(None, |m: Option<f64>, c| Some(m.map_or(c, |m| m.max(c))));
            if let Some(peak) = peak {
                items.push(format!("Generator: peak CPU {peak:.0} % of one core"));
            }
            let mut seen: Vec<&str> = Vec::new();
            for s in &input.seconds {
                for w in [&s.saturated, &s.limited].into_iter().flatten() {
                    if !seen.contains(&w.as_str()) {
                        seen.push(w);
                        items.push(format!("<span class=\"warn\">{}</span>", esc(w)));
                    }
                }
            }
        }
    }
    if items.is_empty() {
        return;
    }
    out.push_str("<h2>Accuracy</h2><ul id=\"accuracy\">");
    for item in items {
        let _ = write!(out, "<li>{item}</li>");
    }
    out.push_str("</ul>");
}
