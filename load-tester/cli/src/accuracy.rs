//! What the progress line and the summary say about the truth of the figures: open-model drops,
//! asked and achieved rates, schedule lag, corrected latencies, and the generator's own health.

use lt_protocol::{Report, Tick};

/// The part of the progress line about drops and the generator (empty when all is well).
pub fn progress_suffix(tick: &Tick) -> String {
    let mut out = String::new();
    if tick.total_dropped > 0 {
        out.push_str(&format!(
            "  dropped {} ({} total)",
            tick.dropped, tick.total_dropped
        ));
    }
    if let Some(g) = &tick.generator {
        if g.saturated.is_some() {
            out.push_str(&format!("  GENERATOR SATURATED cpu {:.0}%", g.cpu_percent));
        }
        if g.limited.is_some() {
            out.push_str("  users held by a generator limit");
        }
    }
    out
}

/// Warnings a tick raises, each with a kind so it is printed once per run.
pub fn warnings(tick: &Tick) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if tick.dropped > 0 {
        out.push((
            "dropped",
            format!(
                "{} arrivals dropped: not enough users for this rate; raise users (or \
                 load.arrival_max_wait)",
                tick.dropped
            ),
        ));
    }
    if let Some(g) = &tick.generator {
        if let Some(text) = &g.saturated {
            out.push(("saturated", text.clone()));
        }
        if let Some(text) = &g.limited {
            out.push(("limited", text.clone()));
        }
    }
    out
}

/// The summary's lines after the table: rates, drops, lag, corrected latencies, generator.
pub fn print_summary(report: &Report) {
    let mut lines = Vec::new();
    if let Some(asked) = report.asked_rate {
        let arrivals = report.requests + report.dropped;
        let share = if arrivals > 0 {
            100.0 * report.dropped as f64 / arrivals as f64
        } else {
            0.0
        };
        lines.push(format!(
            "open model: asked {asked:.1} arrivals/s, achieved {:.1} req/s, dropped {} ({share:.2}%){}",
            report.rps,
            report.dropped,
            if report.dropped > 0 {
                ": not enough users for this rate; raise users"
            } else {
                ""
            }
        ));
        if let Some(l) = &report.schedule_lag_ms {
            lines.push(format!(
                "schedule lag (sent after the intended time; inside the latencies): p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
                l.p50, l.p95, l.p99, l.max
            ));
        }
    }
    if let (Some(l), Some(how)) = (&report.latency_corrected_ms, &report.latency_correction) {
        lines.push(format!(
            "latency corrected for coordinated omission ({how}):"
        ));
        for e in &report.endpoints {
            if let Some(c) = &e.latency_corrected_ms {
                lines.push(format!(
                    "  {} {}: p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
                    e.method, e.name, c.p50, c.p95, c.p99, c.max
                ));
            }
        }
        lines.push(format!(
            "  all: p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
            l.p50, l.p95, l.p99, l.max
        ));
    }
    if let Some(g) = &report.generator {
        lines.push(format!(
            "generator: peak CPU {:.0}% of one core ({} cores), peak memory {:.1} MiB, worst timer lag {:.1} ms",
            g.peak_cpu_percent,
            g.cores,
            g.peak_memory_bytes as f64 / (1024.0 * 1024.0),
            g.max_timer_lag_ms
        ));
        for w in &g.warnings {
            lines.push(format!("  warning: {w}"));
        }
    }
    if report.insecure_tls {
        lines.push(format!("WARNING: {}", lt_protocol::INSECURE_TLS_WARNING));
    }
    if lines.is_empty() {
        return;
    }
    println!();
    for line in lines {
        println!("{line}");
    }
}
