//! Memory per virtual user: `load-tester run` with 1, 1,000 and 10,000 users (all started at
//! once, think time 1 s..5 s, one endpoint `GET /` on the trivial target), its `VmRSS` sampled
//! every 250 ms. Per run: peak and steady memory (the median of the last half of the samples),
//! the steady memory above the 1-user run divided by the users, the time from the process's
//! start to the first request at the target, and the requests per second the target got
//! against the `users / 3 s` the mean think time implies.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::lt_run::{Bench, RssSample};
use crate::table::{self, summarize};

/// The `memory` subcommand's arguments.
#[derive(Debug, Args)]
pub struct MemoryArgs {
    /// 20-second runs instead of 40.
    #[arg(long)]
    pub quick: bool,
}

/// The plan: user counts (the first is the baseline) and seconds per run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemorySettings {
    pub users: Vec<u32>,
    pub seconds: u64,
}

impl MemorySettings {
    /// 1, 1,000 and 10,000 users for 40 s (20 s when quick).
    pub fn new(quick: bool) -> MemorySettings {
        MemorySettings {
            users: vec![1, 1_000, 10_000],
            seconds: if quick { 20 } else { 40 },
        }
    }

    /// Only to check that it runs: 1, 10 and 100 users for 4 s.
    pub fn smoke() -> MemorySettings {
        MemorySettings {
            users: vec![1, 10, 100],
            seconds: 4,
        }
    }
}

/// The mean of a uniform think time of 1 s..5 s.
const MEAN_THINK_S: f64 = 3.0;

/// The figures of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryRow {
    pub users: u32,
    pub peak_kib: Option<u64>,
    pub steady_kib: Option<f64>,
    /// (steady − steady of the baseline) / users, KiB; `None` for the baseline itself.
    pub kib_per_user: Option<f64>,
    pub first_request: Option<Duration>,
    pub rps: f64,
}

impl MemoryRow {
    /// The requests per second the think time implies.
    pub fn expected_rps(&self) -> f64 {
        f64::from(self.users) / MEAN_THINK_S
    }
}

/// The table and the rows behind it.
#[derive(Debug, Clone)]
pub struct MemoryOutcome {
    pub markdown: String,
    pub rows: Vec<MemoryRow>,
}

/// The scenario of one run.
pub fn scenario_yaml(url: &str, users: u32, seconds: u64) -> String {
    format!(
        "# Written by lt-bench: memory per user.\n\
         name: bench-memory-{users}\n\
         target: {url}\n\
         load:\n  users: {users}\n  max_users: {users}\n  duration: {seconds}s\n  \
         think_time: {{ min: 1s, max: 5s }}\n\
         endpoints:\n  - name: root\n    path: /\n"
    )
}

/// The median of the last half of the samples.
pub fn steady_kib(samples: &[RssSample]) -> Option<f64> {
    let half: Vec<f64> = samples[samples.len() / 2..]
        .iter()
        .map(|s| s.rss_kib as f64)
        .collect();
    summarize(&half).map(|s| s.median)
}

/// Fills in the memory per user against the first row (the baseline).
pub fn per_user(rows: &mut [MemoryRow]) {
    let Some(base) = rows.first().and_then(|r| r.steady_kib) else {
        return;
    };
    for row in rows.iter_mut().skip(1) {
        row.kib_per_user = row
            .steady_kib
            .map(|steady| (steady - base) / f64::from(row.users.max(1)));
    }
}

/// Runs every user count and returns the table.
pub fn measure(settings: &MemorySettings) -> Result<MemoryOutcome> {
    let mut bench = Bench::start()?;
    let url = bench.target.url();
    let mut rows = Vec::new();
    for &users in &settings.users {
        let yaml = scenario_yaml(&url, users, settings.seconds);
        let limit = Duration::from_secs(settings.seconds + 60);
        let run = bench
            .run(
                &format!("memory-{users}"),
                &yaml,
                &[],
                Duration::from_millis(250),
                limit,
            )
            .with_context(|| format!("memory run with {users} users"))?;
        if run.requests() == 0 {
            bail!("the memory run with {users} users sent no request");
        }
        let row = MemoryRow {
            users,
            peak_kib: run.peak_kib,
            steady_kib: steady_kib(&run.samples),
            kib_per_user: None,
            first_request: run.first_request,
            rps: run.rps(),
        };
        eprintln!(
            "memory: {users} users: steady {} KiB, {:.1} req/s",
            row.steady_kib.map_or("?".into(), table::thousands),
            row.rps
        );
        rows.push(row);
        std::thread::sleep(Duration::from_millis(300));
    }
    per_user(&mut rows);
    Ok(MemoryOutcome {
        markdown: markdown(settings, &rows),
        rows,
    })
}

fn markdown(settings: &MemorySettings, rows: &[MemoryRow]) -> String {
    let mut out = format!(
        "Each run: `load-tester run`, all users started at once, think time 1 s..5 s, one \
         endpoint `GET /`, {} s; `VmRSS` sampled every 250 ms; steady = median of the last \
         half of the samples; per user = (steady − steady at {} user) / users; first request = \
         from the process's start to the first request at the target; expected req/s = users / \
         3 s (the mean think time).\n\n\
         | users | peak RSS MiB | steady RSS MiB | KiB per user | first request | req/s at target | expected req/s | achieved / expected |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|\n",
        settings.seconds,
        settings.users.first().copied().unwrap_or(1)
    );
    for row in rows {
        let mib = |kib: f64| format!("{:.1}", kib / 1024.0);
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.2} |\n",
            table::thousands(f64::from(row.users)),
            row.peak_kib.map_or("–".into(), |k| mib(k as f64)),
            row.steady_kib.map_or("–".into(), mib),
            row.kib_per_user.map_or("–".into(), |k| format!("{k:.2}")),
            row.first_request
                .map_or("none".into(), |d| format!("{} ms", d.as_millis())),
            row.rps,
            row.expected_rps(),
            if row.expected_rps() > 0.0 {
                row.rps / row.expected_rps()
            } else {
                0.0
            },
        ));
    }
    out
}

/// `lt-bench memory`: prints the table.
pub fn run(args: &MemoryArgs) -> Result<()> {
    let outcome = measure(&MemorySettings::new(args.quick))?;
    println!("# lt-bench memory\n\n{}", outcome.markdown);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(values: &[u64]) -> Vec<RssSample> {
        values
            .iter()
            .enumerate()
            .map(|(i, &rss_kib)| RssSample {
                at_s: i as f64 * 0.25,
                rss_kib,
            })
            .collect()
    }

    fn row(users: u32, steady: Option<f64>) -> MemoryRow {
        MemoryRow {
            users,
            peak_kib: None,
            steady_kib: steady,
            kib_per_user: None,
            first_request: None,
            rps: 0.0,
        }
    }

    #[test]
    fn steady_is_the_median_of_the_last_half() {
        assert_eq!(steady_kib(&samples(&[1, 2, 100, 10, 30, 20])), Some(20.0));
        assert_eq!(steady_kib(&samples(&[5])), Some(5.0));
        assert_eq!(steady_kib(&[]), None);
    }

    #[test]
    fn memory_per_user_over_the_baseline() {
        let mut rows = vec![
            row(1, Some(10_000.0)),
            row(1_000, Some(15_000.0)),
            row(10, None),
        ];
        per_user(&mut rows);
        assert_eq!(rows[0].kib_per_user, None);
        assert_eq!(rows[1].kib_per_user, Some(5.0));
        assert_eq!(rows[2].kib_per_user, None);
        assert!((rows[1].expected_rps() - 333.333).abs() < 0.01);
    }

    #[test]
    fn scenario_starts_everyone_at_once() {
        let yaml = scenario_yaml("http://127.0.0.1:9", 10_000, 40);
        assert!(yaml.contains("users: 10000\n  max_users: 10000\n"));
        assert!(yaml.contains("think_time: { min: 1s, max: 5s }"));
        assert!(!yaml.contains("ramp_up") && !yaml.contains("increase_rate"));
    }
}
