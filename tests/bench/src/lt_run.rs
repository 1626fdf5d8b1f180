//! One `load-tester run` against the trivial target, watched from outside: the scenario is
//! written to a work folder, the target's window is reset just before the process starts, its
//! resident memory (`VmRSS`) is sampled at a fixed interval while it runs, and afterwards the
//! target says how many requests it got, over what time, and when the first one came.
//!
//! The memory, soak and accuracy benchmarks share this; the throughput benchmark measures CPU
//! time too and has its own loop (`generators::measure`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tempfile::TempDir;

use crate::generators::{finished, kill_overrun, spawn_logged};
use crate::os;
use crate::target::{TargetProcess, Window};

/// The `load-tester` binary beside this one, or an error saying how to build it.
pub fn load_tester_beside_us() -> Result<PathBuf> {
    let lt_bench = std::env::current_exe().context("cannot find this program's own path")?;
    let load_tester = lt_bench.with_file_name("load-tester");
    if !load_tester.is_file() {
        bail!(
            "no load-tester binary next to lt-bench (looked for {}); build both with \
             `cargo build --release -p load-tester -p lt-bench`",
            load_tester.display()
        );
    }
    Ok(load_tester)
}

/// A work folder, the `load-tester` binary and a running trivial target.
#[derive(Debug)]
pub struct Bench {
    pub load_tester: PathBuf,
    pub workdir: TempDir,
    pub target: TargetProcess,
}

impl Bench {
    /// Creates the work folder and starts the target (unpinned).
    pub fn start() -> Result<Bench> {
        let load_tester = load_tester_beside_us()?;
        let workdir = tempfile::Builder::new()
            .prefix("lt-bench-")
            .tempdir()
            .context("cannot create a temporary folder")?;
        let lt_bench = std::env::current_exe().context("cannot find this program's own path")?;
        let argv = vec![
            lt_bench.display().to_string(),
            "target".into(),
            "--port".into(),
            "0".into(),
        ];
        let target = TargetProcess::start(&argv, &workdir.path().join("target.log"))
            .context("cannot start the target")?;
        Ok(Bench {
            load_tester,
            workdir,
            target,
        })
    }

    /// A path in the work folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.workdir.path().join(name)
    }

    /// Writes `yaml` as `<name>.yaml` and runs `load-tester run` on it with `extra` arguments,
    /// sampling its `VmRSS` every `sample_every`; a run still going after `limit` is killed.
    /// A failing exit status is an error that quotes the end of the run's output.
    pub fn run(
        &mut self,
        name: &str,
        yaml: &str,
        extra: &[String],
        sample_every: Duration,
        limit: Duration,
    ) -> Result<RunOutcome> {
        let scenario = self.path(&format!("{name}.yaml"));
        std::fs::write(&scenario, yaml)
            .with_context(|| format!("cannot write {}", scenario.display()))?;
        let log = self.path(&format!("{name}.log"));
        let mut argv = vec![
            self.load_tester.display().to_string(),
            "run".into(),
            scenario.display().to_string(),
            "--quiet".into(),
        ];
        argv.extend(extra.iter().cloned());
        run_sampled(&argv, &log, &mut self.target, sample_every, limit)
    }
}

/// One resident-memory sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RssSample {
    /// Seconds since the process started.
    pub at_s: f64,
    pub rss_kib: u64,
}

/// What one watched run gave.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub samples: Vec<RssSample>,
    /// The highest `VmHWM` seen.
    pub peak_kib: Option<u64>,
    pub before: Window,
    pub after: Window,
    /// From the reset (just before the process started) to the first request at the target.
    pub first_request: Option<Duration>,
}

impl RunOutcome {
    /// Requests the target got during the run.
    pub fn requests(&self) -> u64 {
        self.after.served.saturating_sub(self.before.served)
    }

    /// Requests per second at the target: the gaps between the first and the last request
    /// over the time they span (so one request per second reads 1.0 even over a few seconds).
    pub fn rps(&self) -> f64 {
        rate(self.requests(), self.after.active_seconds())
    }
}

/// `requests - 1` intervals over `seconds`; 0 without at least two requests and some time.
pub fn rate(requests: u64, seconds: f64) -> f64 {
    if requests < 2 || seconds <= 0.0 {
        return 0.0;
    }
    (requests - 1) as f64 / seconds
}

/// How often the process is checked for its end.
const POLL: Duration = Duration::from_millis(50);

fn run_sampled(
    argv: &[String],
    log: &Path,
    target: &mut TargetProcess,
    sample_every: Duration,
    limit: Duration,
) -> Result<RunOutcome> {
    let command_text = argv.join(" ");
    let before = target.reset().context("cannot reset the target's window")?;
    let started = Instant::now();
    let mut child = spawn_logged(argv, log)?;
    let pid = child.id();
    let mut samples = Vec::new();
    let mut peak_kib: Option<u64> = None;
    // The first sample one interval in: at once it would catch the process before its runtime.
    let mut next_sample = sample_every;
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .with_context(|| format!("cannot follow `{command_text}`"))?
        {
            break status;
        }
        let elapsed = started.elapsed();
        if elapsed >= next_sample {
            // 0 while the process is still being set up (before `exec`).
            if let Some(rss_kib) = os::read_rss_kib(pid).filter(|&kib| kib > 0) {
                samples.push(RssSample {
                    at_s: elapsed.as_secs_f64(),
                    rss_kib,
                });
            }
            if let Some(kib) = os::read_peak_rss_kib(pid) {
                peak_kib = Some(peak_kib.map_or(kib, |p| p.max(kib)));
            }
            next_sample += sample_every;
        }
        if elapsed > limit {
            return Err(kill_overrun(&mut child, &command_text, limit, log));
        }
        std::thread::sleep(POLL.min(sample_every));
    };
    let after = finished(target, status, &command_text, log)?;
    let first_request = target.first_since_reset()?;
    Ok(RunOutcome {
        samples,
        peak_kib,
        before,
        after,
        first_request,
    })
}

/// A short argument list from string slices.
pub fn args(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_counts_the_gaps() {
        assert_eq!(rate(0, 5.0), 0.0);
        assert_eq!(rate(1, 5.0), 0.0);
        assert_eq!(rate(5, 0.0), 0.0);
        assert!((rate(11, 10.0) - 1.0).abs() < 1e-9);
    }
}
