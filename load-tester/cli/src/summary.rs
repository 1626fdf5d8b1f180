//! The summary table printed at the end of a run (stdout).

use lt_protocol::Report;

pub fn print_summary(report: &Report) {
    println!();
    println!(
        "{}: {} after {:.1} s, {} requests, {} failures ({:.2}%), {:.1} req/s",
        report.scenario,
        report.end_reason.describe(),
        report.duration_s,
        report.requests,
        report.failures,
        report.error_rate * 100.0,
        report.rps
    );
    println!();
    // Journeys add two failure classes: shown once a run has flows or a capture or check failed.
    let journeys = !report.flows.is_empty()
        || report
            .endpoints
            .iter()
            .any(|e| e.failures_by_class.capture + e.failures_by_class.check > 0);
    let name_width = report
        .endpoints
        .iter()
        .map(|e| e.name.len() + e.method.len() + 1)
        .max()
        .unwrap_or(8)
        .max(8);
    let classes = |capture: &str, check: &str| {
        if journeys {
            format!("  {capture:>7}  {check:>6}")
        } else {
            String::new()
        }
    };
    // The open model adds a column: arrivals dropped for want of a free user.
    let open = report.asked_rate.is_some();
    let dropped = |n: &dyn std::fmt::Display| {
        if open {
            format!("  {n:>8}")
        } else {
            String::new()
        }
    };
    println!(
        "{:<name_width$}  {:>9}  {:>8}  {:>6}  {:>7}  {:>6}  {:>6}  {:>6}{}  {:>7}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}{}",
        "endpoint",
        "requests",
        "failures",
        "conn",
        "timeout",
        "4xx",
        "5xx",
        "other",
        classes("capture", "check"),
        "short",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "req/s",
        dropped(&"dropped")
    );

    for e in &report.endpoints {
        let f = &e.failures_by_class;
        println!(
            "{:<name_width$}  {:>9}  {:>8}  {:>6}  {:>7}  {:>6}  {:>6}  {:>6}{}  {:>7}  {:>8.1}  {:>8.1}  {:>8.1}  {:>8.1}  {:>8.1}{}",
            format!("{} {}", e.method, e.name),
            e.requests,
            e.failures,
            f.connect,
            f.timeout,
            f.status_4xx,
            f.status_5xx,
            f.unexpected,
            classes(&f.capture.to_string(), &f.check.to_string()),
            e.short_circuited,
            e.latency_ms.p50,
            e.latency_ms.p95,
            e.latency_ms.p99,
            e.latency_ms.max,
            e.rps,
            dropped(&e.dropped)
        );
    }
    let l = &report.latency_ms;
    println!(
        "{:<name_width$}  {:>9}  {:>8}  {:>6}  {:>7}  {:>6}  {:>6}  {:>6}{}  {:>7}  {:>8.1}  {:>8.1}  {:>8.1}  {:>8.1}  {:>8.1}{}",
        "all",
        report.requests,
        report.failures,
        "",
        "",
        "",
        "",
        "",
        classes("", ""),
        report.short_circuited,
        l.p50,
        l.p95,
        l.p99,
        l.max,
        report.rps,
        dropped(&report.dropped)
    );
    crate::accuracy::print_summary(report);
    if !report.flows.is_empty() {
        let width = report
            .flows
            .iter()
            .map(|f| f.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        println!();
        println!(
            "{:<width$}  {:>9}  {:>9}  {:>8}  {:>8}  {:>10}  {:>10}  {:>10}  {:>10}",
            "flow",
            "started",
            "completed",
            "failed",
            "iter/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms"
        );
        for f in &report.flows {
            let j = &f.journey_ms;
            println!(
                "{:<width$}  {:>9}  {:>9}  {:>8}  {:>8.2}  {:>10.1}  {:>10.1}  {:>10.1}  {:>10.1}",
                f.name, f.started, f.completed, f.failed, f.rate, j.p50, j.p95, j.p99, j.max
            );
        }
        println!(
            "(whole run; journey time: first step sent to last step answered, think time between steps included; iterations started but neither completed nor failed were under way at the end)"
        );
    }
    if !report.errors.is_empty() {
        println!();
        println!("errors (most frequent first):");
        for g in report.errors.iter().take(10) {
            println!(
                "  {:>7}  {} {}: {}{}",
                g.count,
                g.endpoint,
                g.class.as_str(),
                g.message,
                g.trace_ids
                    .first()
                    .map(|t| format!(" (e.g. trace {t})"))
                    .unwrap_or_default()
            );
        }
    }
    if !report.thresholds.is_empty() {
        println!();
        println!("thresholds:");
        for t in &report.thresholds {
            println!(
                "  {}  {}  (observed {})",
                if t.passed { "PASS" } else { "FAIL" },
                t.rule,
                t.observed_text()
            );
        }
    }
}
