//! The run's notes in JUnit: open-model drops and rates, corrected latency and the generator's
//! warnings, as text a CI page shows beside the run's test case.

use lt_protocol::Report;

/// The notes, one per line; empty when there is nothing to say.
pub fn notes(report: &Report) -> String {
    let mut lines = Vec::new();
    if report.insecure_tls {
        lines.push(format!("WARNING: {}", lt_protocol::INSECURE_TLS_WARNING));
    }
    if let Some(asked) = report.asked_rate {
        lines.push(format!(
            "open model: asked {asked:.1} arrivals/s, achieved {:.1} requests/s, {} arrivals dropped{}",
            report.rps,
            report.dropped,
            if report.dropped > 0 {
                " (not enough users for this rate; raise users)"
            } else {
                ""
            }
        ));
    }
    if let (Some(l), Some(how)) = (&report.latency_corrected_ms, &report.latency_correction) {
        lines.push(format!(
            "latency corrected for coordinated omission ({how}): p95 {:.1} ms, p99 {:.1} ms",
            l.p95, l.p99
        ));
    }
    if let Some(g) = &report.generator {
        for w in &g.warnings {
            lines.push(format!("generator: {w}"));
        }
    }
    lines.join("\n")
}
