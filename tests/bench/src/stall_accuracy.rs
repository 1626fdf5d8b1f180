//! The accuracy case against a target that stalls (`GET /stall`, see `stall.rs`): the reported
//! percentiles against the truth computed from intended send times, in the open model with
//! enough users, too few users (arrivals wait and count their wait), too few users with a short
//! `arrival_max_wait` (arrivals dropped, and said so), and in the closed model measured and
//! corrected (`latency.correction: expected_interval`).

use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::lt_run::{self, Bench};
use crate::stall::{PERIOD_MS, STALL_MS, true_quantile_ms};

/// Arrivals per second asked in the open-model runs, and the closed model's users × cadence.
const RATE: f64 = 200.0;
const CLOSED_USERS: u32 = 20;
const CLOSED_THINK_MS: u64 = 100;

/// One run's case.
struct Case {
    name: &'static str,
    what: &'static str,
    load: String,
    latency: &'static str,
    /// Read the corrected figures instead of the measured ones.
    corrected: bool,
}

fn cases() -> Vec<Case> {
    let open = |users: u32, wait: &str| {
        format!("  users: {users}\n  arrival_rate: {RATE}\n  arrival_max_wait: {wait}\n")
    };
    let closed = format!("  users: {CLOSED_USERS}\n  think_time: {CLOSED_THINK_MS}ms\n");
    let correction = "latency:\n  correction: expected_interval\n";
    vec![
        Case {
            name: "open-enough",
            what: "open, 100 users (enough)",
            load: open(100, "1s"),
            latency: "",
            corrected: false,
        },
        Case {
            name: "open-few",
            what: "open, 10 users (too few), wait ≤ 1s",
            load: open(10, "1s"),
            latency: "",
            corrected: false,
        },
        Case {
            name: "open-few-drop",
            what: "open, 10 users (too few), wait ≤ 50ms",
            load: open(10, "50ms"),
            latency: "",
            corrected: false,
        },
        Case {
            name: "closed",
            what: "closed, 20 users × 100 ms think, measured",
            load: closed.clone(),
            latency: "",
            corrected: false,
        },
        Case {
            name: "closed-corrected",
            what: "closed, same run shape, corrected (auto interval)",
            load: closed,
            latency: correction,
            corrected: true,
        },
    ]
}

/// The figures one report gives.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Reported {
    p50: f64,
    p90: f64,
    p95: f64,
    p99: f64,
    rps: f64,
    dropped: u64,
}

fn parse(text: &str, corrected: bool) -> Result<Reported> {
    let report: Value = serde_json::from_str(text).context("the report is not JSON")?;
    let key = if corrected {
        "latency_corrected_ms"
    } else {
        "latency_ms"
    };
    let l = &report[key];
    let f = |k: &str| {
        l[k].as_f64()
            .with_context(|| format!("no {key}.{k} in the report"))
    };
    Ok(Reported {
        p50: f("p50")?,
        p90: f("p90")?,
        p95: f("p95")?,
        p99: f("p99")?,
        rps: report["rps"].as_f64().context("no rps")?,
        dropped: report["dropped"].as_u64().unwrap_or(0),
    })
}

/// Runs every case for `seconds` and returns the markdown table.
pub fn measure(bench: &mut Bench, seconds: u64) -> Result<String> {
    let url = bench.target.url();
    let limit = Duration::from_secs(seconds + 60);
    let mut out = format!(
        "Stalling target: `GET /stall` freezes {STALL_MS} ms every {PERIOD_MS} ms; {seconds} s per \
         run; open model at {RATE} arrivals/s; closed model {CLOSED_USERS} users with {CLOSED_THINK_MS} ms think time \
         (~{RATE} req/s). Truth: requests intended evenly over time, each taking what is left of \
         the freeze it falls in (p90 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms; p50 is the service \
         time). Error = reported / truth − 1.\n\n\
         | case | req/s | dropped | p50 | p90 | p95 | p99 | p95 error | p99 error |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        true_quantile_ms(0.90),
        true_quantile_ms(0.95),
        true_quantile_ms(0.99)
    );
    for case in cases() {
        let report = bench.path(&format!("{}.json", case.name));
        let yaml = format!(
            "# Written by lt-bench: accuracy against a stalling target.\n\
             name: {}\ntarget: {url}\nload:\n{}  duration: {seconds}s\n\
             endpoints:\n  - name: probe\n    path: /stall\n{}",
            case.name, case.load, case.latency
        );
        let mut extra = lt_run::args(&["--report"]);
        extra.push(report.display().to_string());
        bench
            .run(case.name, &yaml, &extra, Duration::from_secs(1), limit)
            .with_context(|| format!("the stall case {}", case.name))?;
        let text = std::fs::read_to_string(&report)
            .with_context(|| format!("cannot read {}", report.display()))?;
        let r = parse(&text, case.corrected)?;
        let error = |reported: f64, q: f64| {
            format!("{:+.0} %", (reported / true_quantile_ms(q) - 1.0) * 100.0)
        };
        eprintln!(
            "accuracy: {}: p95 {:.1} ms (truth {:.0}), p99 {:.1} ms (truth {:.0}), dropped {}",
            case.name,
            r.p95,
            true_quantile_ms(0.95),
            r.p99,
            true_quantile_ms(0.99),
            r.dropped
        );
        out.push_str(&format!(
            "| {} | {:.1} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {} | {} |\n",
            case.what,
            r.rps,
            r.dropped,
            r.p50,
            r.p90,
            r.p95,
            r.p99,
            error(r.p95, 0.95),
            error(r.p99, 0.99)
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_measured_or_corrected_figures() {
        let text = r#"{"rps": 198.0, "dropped": 12,
            "latency_ms": {"p50": 1, "p90": 2, "p95": 3, "p99": 4, "max": 5, "avg": 1},
            "latency_corrected_ms": {"p50": 1, "p90": 90, "p95": 190, "p99": 270, "max": 300, "avg": 20}}"#;
        assert_eq!(parse(text, false).unwrap().p99, 4.0);
        let c = parse(text, true).unwrap();
        assert_eq!((c.p95, c.dropped, c.rps), (190.0, 12, 198.0));
        assert!(parse(r#"{"rps": 1}"#, true).is_err());
    }

    #[test]
    fn every_case_is_a_valid_scenario() {
        for case in cases() {
            let yaml = format!(
                "name: {}\ntarget: http://127.0.0.1:9\nload:\n{}  duration: 5s\nendpoints:\n  - {{ name: probe, path: /stall }}\n{}",
                case.name, case.load, case.latency
            );
            lt_scenario::parse("case.yaml", &yaml).unwrap_or_else(|d| panic!("{}: {d}", case.name));
        }
    }
}
