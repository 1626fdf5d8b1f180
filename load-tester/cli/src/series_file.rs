//! `run --out FILE.jsonl|FILE.csv`: the per-second, per-endpoint series written as the run goes
//! (one line per endpoint per second, flushed every second), for tools that read a time series
//! rather than a summary, as k6's outputs and Locust's `--csv` are.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, bail};
use lt_protocol::{BreakerState, Tick};
use serde::Serialize;

/// One endpoint's second. Latencies in milliseconds, over that second's requests.
#[derive(Debug, Serialize)]
struct Row<'a> {
    second: u64,
    /// End of the second, milliseconds since the Unix epoch.
    at_ms: u64,
    endpoint: &'a str,
    requests: u64,
    failures: u64,
    connect: u64,
    timeout: u64,
    status_4xx: u64,
    status_5xx: u64,
    unexpected: u64,
    capture: u64,
    check: u64,
    short_circuited: u64,
    /// Open model: arrivals dropped this second (attributed by weight).
    dropped: u64,
    rps: f64,
    p50_ms: f64,
    p90_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    avg_ms: f64,
    weight: f64,
    breaker: &'static str,
    active_users: u32,
    target_users: u32,
}

/// Where the series goes.
#[derive(Debug)]
pub enum SeriesFile {
    Jsonl(BufWriter<File>),
    Csv(Box<csv::Writer<File>>),
}

impl SeriesFile {
    /// Creates the file (and its folder); its extension says the format.
    pub fn create(path: &Path) -> anyhow::Result<SeriesFile> {
        let format = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(format, "jsonl" | "csv") {
            bail!(
                "--out: `{}` must end in .jsonl (JSON lines) or .csv",
                path.display()
            );
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("--out: creating {}", parent.display()))?;
        }
        let file =
            File::create(path).with_context(|| format!("--out: creating {}", path.display()))?;
        Ok(if format == "csv" {
            SeriesFile::Csv(Box::new(csv::Writer::from_writer(file)))
        } else {
            SeriesFile::Jsonl(BufWriter::new(file))
        })
    }

    /// Writes one tick's endpoints and flushes, so a reader sees each second as it ends.
    pub fn write(&mut self, tick: &Tick) -> anyhow::Result<()> {
        // The second's length, as the tick's own rate says it (a tick may cover a stall).
        let per_request = if tick.requests > 0 {
            tick.rps / tick.requests as f64
        } else {
            1.0
        };
        for e in &tick.endpoints {
            let row = Row {
                second: tick.second,
                at_ms: tick.at_ms,
                endpoint: &e.name,
                requests: e.requests,
                failures: e.failures.total(),
                connect: e.failures.connect,
                timeout: e.failures.timeout,
                status_4xx: e.failures.status_4xx,
                status_5xx: e.failures.status_5xx,
                unexpected: e.failures.unexpected,
                capture: e.failures.capture,
                check: e.failures.check,
                short_circuited: e.short_circuited,
                dropped: e.dropped,
                rps: e.requests as f64 * per_request,
                p50_ms: e.latency.p50,
                p90_ms: e.latency.p90,
                p95_ms: e.latency.p95,
                p99_ms: e.latency.p99,
                max_ms: e.latency.max,
                avg_ms: e.latency.avg,
                weight: e.weight,
                breaker: match e.breaker {
                    BreakerState::Closed => "closed",
                    BreakerState::Open => "open",
                    BreakerState::HalfOpen => "half_open",
                },
                active_users: tick.active_users,
                target_users: tick.target_users,
            };
            match self {
                SeriesFile::Jsonl(w) => {
                    serde_json::to_writer(&mut *w, &row)?;
                    w.write_all(b"\n")?;
                }
                SeriesFile::Csv(w) => w.serialize(&row)?,
            }
        }
        match self {
            SeriesFile::Jsonl(w) => w.flush()?,
            SeriesFile::Csv(w) => w.flush()?,
        }
        Ok(())
    }
}
