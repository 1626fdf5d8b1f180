//! Whether the engine does and reports what it is asked: (a) at a fixed `arrival_rate` (open
//! model, no think time, users enough to sustain it) the rate the trivial target receives
//! against the rate asked; (b) against `GET /sleep`, which answers after a fixed 50 ms and
//! measures its own handler time, the latency `load-tester run --report` gives against that
//! service time; (c) against `GET /stall`, which freezes periodically, the reported percentiles
//! against the truth from intended send times (`stall_accuracy.rs`).

use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::Value;

use crate::lt_run::{self, Bench};
use crate::service::{SLEEP_MS, ServiceSummary};
use crate::table;

/// The `accuracy` subcommand's arguments.
#[derive(Debug, Args)]
pub struct AccuracyArgs {
    /// 10-second runs instead of 20.
    #[arg(long)]
    pub quick: bool,
}

/// The plan: the arrival rates asked, and seconds per run.
#[derive(Debug, Clone, PartialEq)]
pub struct AccuracySettings {
    pub rates: Vec<f64>,
    pub seconds: u64,
}

impl AccuracySettings {
    /// 200/s and 1000/s, 20 s per run (10 s when quick).
    pub fn new(quick: bool) -> AccuracySettings {
        AccuracySettings {
            rates: vec![200.0, 1000.0],
            seconds: if quick { 10 } else { 20 },
        }
    }

    /// Only to check that it runs: 100/s, 3 s per run.
    pub fn smoke() -> AccuracySettings {
        AccuracySettings {
            rates: vec![100.0],
            seconds: 3,
        }
    }
}

/// Users for an arrival rate: a tenth of it per second, at least 20 (each request to the
/// trivial target takes well under a millisecond, so they are far more than enough).
pub fn users_for(rate: f64) -> u32 {
    ((rate / 10.0).ceil() as u32).max(20)
}

/// Users that keep `GET /sleep` busy.
const SLEEP_USERS: u32 = 20;

/// The engine's latency figures of one endpoint, in ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub avg: f64,
}

/// The `latency_ms` of the endpoint named `name` in a `--report` JSON document, and the
/// report's `rps`.
pub fn parse_report(text: &str, name: &str) -> Result<(Latency, f64)> {
    let report: Value = serde_json::from_str(text).context("the report is not JSON")?;
    let endpoint = report["endpoints"]
        .as_array()
        .context("the report has no `endpoints` list")?
        .iter()
        .find(|e| e["name"] == name)
        .with_context(|| format!("the report has no endpoint `{name}`"))?;
    let field = |key: &str| {
        endpoint["latency_ms"][key]
            .as_f64()
            .with_context(|| format!("no latency_ms.{key} for `{name}` in the report"))
    };
    let latency = Latency {
        p50: field("p50")?,
        p95: field("p95")?,
        p99: field("p99")?,
        avg: field("avg")?,
    };
    let rps = report["rps"].as_f64().context("no `rps` in the report")?;
    Ok((latency, rps))
}

/// One arrival-rate run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateRow {
    pub asked: f64,
    pub users: u32,
    pub at_target: f64,
    pub reported: f64,
}

/// The tables.
#[derive(Debug, Clone)]
pub struct AccuracyOutcome {
    pub markdown: String,
}

fn scenario_yaml(name: &str, url: &str, path: &str, users: u32, seconds: u64) -> String {
    format!(
        "# Written by lt-bench: accuracy.\n\
         name: {name}\n\
         target: {url}\n\
         load:\n  users: {users}\n  duration: {seconds}s\n  think_time: 0s\n\
         endpoints:\n  - name: probe\n    path: {path}\n"
    )
}

/// Runs (a) and (b) and returns the tables.
pub fn measure(settings: &AccuracySettings) -> Result<AccuracyOutcome> {
    let mut bench = Bench::start()?;
    let url = bench.target.url();
    let limit = Duration::from_secs(settings.seconds + 60);
    let every = Duration::from_secs(1);
    let mut rates = Vec::new();
    for &asked in &settings.rates {
        let users = users_for(asked);
        let name = format!("rate-{asked:.0}");
        let report = bench.path(&format!("{name}.json"));
        let yaml = scenario_yaml(&name, &url, "/", users, settings.seconds);
        let mut extra = lt_run::args(&["--arrival-rate", &asked.to_string(), "--report"]);
        extra.push(report.display().to_string());
        let run = bench
            .run(&name, &yaml, &extra, every, limit)
            .with_context(|| format!("the run at {asked}/s"))?;
        let text = std::fs::read_to_string(&report)
            .with_context(|| format!("cannot read {}", report.display()))?;
        let (_, reported) = parse_report(&text, "probe")?;
        let row = RateRow {
            asked,
            users,
            at_target: run.rps(),
            reported,
        };
        eprintln!(
            "accuracy: asked {asked}/s, the target got {:.1}/s",
            row.at_target
        );
        rates.push(row);
    }

    let report = bench.path("sleep.json");
    let yaml = scenario_yaml("sleep", &url, "/sleep", SLEEP_USERS, settings.seconds);
    let mut extra = lt_run::args(&["--report"]);
    extra.push(report.display().to_string());
    let run = bench
        .run("sleep", &yaml, &extra, every, limit)
        .context("the run against GET /sleep")?;
    let service = bench.target.sleep_stats()?;
    let text = std::fs::read_to_string(&report)
        .with_context(|| format!("cannot read {}", report.display()))?;
    let (engine, _) = parse_report(&text, "probe")?;
    if service.count == 0 || run.requests() == 0 {
        bail!("the run against GET /sleep sent no request");
    }
    eprintln!(
        "accuracy: /sleep p50 {:.2} ms reported, {:.2} ms at the target",
        engine.p50,
        service.p50_us as f64 / 1000.0
    );
    let stall = crate::stall_accuracy::measure(&mut bench, settings.seconds)
        .context("the runs against GET /stall")?;
    Ok(AccuracyOutcome {
        markdown: format!(
            "{}
{stall}",
            markdown(settings, &rates, &engine, &service)
        ),
    })
}

fn markdown(
    settings: &AccuracySettings,
    rates: &[RateRow],
    engine: &Latency,
    service: &ServiceSummary,
) -> String {
    let mut out = format!(
        "Arrival rate: `load-tester run --arrival-rate R`, think time 0, `GET /`, {} s per run; \
         req/s at the target = the gaps between its first and last request over the time they \
         span.\n\n\
         | asked req/s | users | req/s at target | at target / asked | report's rps |\n\
         |---:|---:|---:|---:|---:|\n",
        settings.seconds
    );
    for r in rates {
        out.push_str(&format!(
            "| {} | {} | {:.1} | {:.3} | {:.1} |\n",
            table::thousands(r.asked),
            r.users,
            r.at_target,
            r.at_target / r.asked,
            r.reported
        ));
    }
    let ms = |us: f64| us / 1000.0;
    out.push_str(&format!(
        "\nReported latency: {SLEEP_USERS} users, think time 0, `GET /sleep` (the target sleeps \
         {SLEEP_MS} ms and times its own handler), {} s; engine figures from `--report`.\n\n\
         | figure | engine reports | target's handler time | difference |\n\
         |---|---:|---:|---:|\n\
         | p50 | {:.2} ms | {:.2} ms | {:+.2} ms |\n\
         | p99 | {:.2} ms | {:.2} ms | {:+.2} ms |\n\
         | mean | {:.2} ms | {:.2} ms | {:+.2} ms |\n\
         | p95 (engine only) | {:.2} ms | – | – |\n\
         | requests | | {} | |\n",
        settings.seconds,
        engine.p50,
        ms(service.p50_us as f64),
        engine.p50 - ms(service.p50_us as f64),
        engine.p99,
        ms(service.p99_us as f64),
        engine.p99 - ms(service.p99_us as f64),
        engine.avg,
        ms(service.mean_us),
        engine.avg - ms(service.mean_us),
        engine.p95,
        service.count
    ));
    out
}

/// `lt-bench accuracy`: prints both tables.
pub fn run(args: &AccuracyArgs) -> Result<()> {
    let outcome = measure(&AccuracySettings::new(args.quick))?;
    println!("# lt-bench accuracy\n\n{}", outcome.markdown);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_sustain_the_rate() {
        assert_eq!(users_for(200.0), 20);
        assert_eq!(users_for(1000.0), 100);
        assert_eq!(users_for(1.0), 20);
    }

    #[test]
    fn report_latency_of_an_endpoint() {
        let text = r#"{"rps": 199.5, "endpoints": [
            {"name": "other", "latency_ms": {"p50": 1, "p95": 2, "p99": 3, "avg": 1.5}},
            {"name": "probe", "latency_ms": {"p50": 50.5, "p90": 51, "p95": 51.2, "p99": 53,
             "max": 60, "avg": 50.7}}]}"#;
        let (l, rps) = parse_report(text, "probe").unwrap();
        assert_eq!(
            l,
            Latency {
                p50: 50.5,
                p95: 51.2,
                p99: 53.0,
                avg: 50.7
            }
        );
        assert_eq!(rps, 199.5);
        assert!(parse_report(text, "missing").is_err());
        assert!(parse_report("{", "probe").is_err());
        assert!(parse_report(r#"{"endpoints": []}"#, "probe").is_err());
    }

    #[test]
    fn scenario_has_no_think_time() {
        let y = scenario_yaml("x", "http://127.0.0.1:9", "/sleep", 20, 10);
        assert!(y.contains("think_time: 0s") && y.contains("path: /sleep"));
    }
}
