//! The control plane, measured by `tests/bench/control_plane.py` (standard-library Python)
//! against the release `load-tester serve`: with 1 and then 10 sessions of 5 users, the control
//! API's p50/p99, the SSE tick delay, emergency-stop latency and silence at the target (also
//! with a target hanging on every request), graceful stop, and the store's write transactions
//! per session per second. This module runs the script, keeps its markdown tables, and reads
//! the figures the promises are about out of them.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::lt_run::load_tester_beside_us;
use crate::os;

/// The `control` subcommand's arguments.
#[derive(Debug, Args)]
pub struct ControlArgs {
    /// Accepted for symmetry with the other benchmarks; the script has one length.
    #[arg(long)]
    pub quick: bool,
}

/// The figures of one script run, each the worst of what it printed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ControlFigures {
    /// The larger p99 of `GET /api/sessions` and `PATCH`, ms.
    pub api_p99_ms: Option<f64>,
    /// The p99 SSE tick delay after the end of its second, ms.
    pub sse_p99_ms: Option<f64>,
    /// The longest time from the emergency stop's return to the last request at the target,
    /// normal or hanging target, ms.
    pub stop_silence_ms: Option<f64>,
    pub store_tx_per_session_s: Option<f64>,
}

impl ControlFigures {
    /// Reads the figures out of the script's table.
    pub fn from_table(table: &str) -> ControlFigures {
        let max_of = |values: Vec<Option<f64>>| {
            values
                .into_iter()
                .flatten()
                .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
        };
        let nth =
            |prefix: &str, i: usize| row_values(table, prefix).and_then(|v| v.get(i).copied());
        ControlFigures {
            api_p99_ms: max_of(vec![
                nth("GET /api/sessions p50 / p99", 1),
                nth("PATCH users p50 / p99", 1),
            ]),
            sse_p99_ms: nth("SSE tick delay", 1),
            stop_silence_ms: max_of(vec![
                nth("emergency stop:", 1),
                nth("same, target hanging", 1),
            ]),
            store_tx_per_session_s: nth("store write transactions", 0),
        }
    }

    /// The worse of two runs' figures.
    pub fn worst(self, other: ControlFigures) -> ControlFigures {
        let max = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        ControlFigures {
            api_p99_ms: max(self.api_p99_ms, other.api_p99_ms),
            sse_p99_ms: max(self.sse_p99_ms, other.sse_p99_ms),
            stop_silence_ms: max(self.stop_silence_ms, other.stop_silence_ms),
            store_tx_per_session_s: max(self.store_tx_per_session_s, other.store_tx_per_session_s),
        }
    }
}

/// The numbers in the value (last) cell of the table row whose first cell starts with
/// `prefix`.
pub fn row_values(table: &str, prefix: &str) -> Option<Vec<f64>> {
    let line = table.lines().find(|l| {
        l.trim_start()
            .trim_start_matches('|')
            .trim_start()
            .starts_with(prefix)
    })?;
    let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
    let value = cells.last()?;
    let numbers: Vec<f64> = value
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .filter_map(|s| s.parse::<f64>().ok())
        .collect();
    (!numbers.is_empty()).then_some(numbers)
}

/// The script's tables (or why it was skipped) and the figures read from them.
#[derive(Debug, Clone, Default)]
pub struct ControlOutcome {
    pub markdown: String,
    pub figures: ControlFigures,
}

fn script_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("control_plane.py")
}

/// How long one script run may take.
const LIMIT: Duration = Duration::from_secs(300);

/// Runs the script with each `(sessions, users)` and collects its tables.
pub fn measure(runs: &[(u32, u32)]) -> Result<ControlOutcome> {
    let Some(python) = os::find_in_path("python3") else {
        return Ok(skipped("python3 is not installed"));
    };
    let script = script_path();
    if !script.is_file() {
        return Ok(skipped(&format!(
            "the script {} is not there",
            script.display()
        )));
    }
    let load_tester = load_tester_beside_us()?;
    let mut outcome = ControlOutcome::default();
    for &(sessions, users) in runs {
        eprintln!("control: {sessions} session(s) x {users} users ...");
        let table = run_script(&python, &script, &load_tester, sessions, users)
            .with_context(|| format!("control_plane.py with {sessions} session(s)"))?;
        outcome.markdown.push_str(&format!(
            "`python3 tests/bench/control_plane.py --bin target/release/load-tester --sessions \
             {sessions} --users {users}`:\n\n{}\n\n",
            table.trim_end()
        ));
        outcome.figures = outcome.figures.worst(ControlFigures::from_table(&table));
    }
    Ok(outcome)
}

fn skipped(why: &str) -> ControlOutcome {
    ControlOutcome {
        markdown: format!("Skipped: {why}.\n"),
        ..ControlOutcome::default()
    }
}

fn run_script(
    python: &Path,
    script: &Path,
    load_tester: &Path,
    sessions: u32,
    users: u32,
) -> Result<String> {
    let mut child = Command::new(python)
        .arg(script)
        .arg("--bin")
        .arg(load_tester)
        .args(["--sessions", &sessions.to_string()])
        .args(["--users", &users.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {} {}", python.display(), script.display()))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().context("cannot follow the script")? {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            bail!("still running after {} s; killed", LIMIT.as_secs());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut stdout)
            .context("cannot read the script's output")?;
    }
    if let Some(mut err) = child.stderr.take() {
        err.read_to_string(&mut stderr)
            .context("cannot read the script's errors")?;
    }
    if !status.success() {
        bail!("failed ({status}): {}{}", stdout.trim(), stderr.trim());
    }
    Ok(stdout)
}

/// `lt-bench control`: prints the script's tables.
pub fn run(args: &ControlArgs) -> Result<()> {
    let _ = args.quick;
    let outcome = measure(&[(1, 5), (10, 5)])?;
    println!("# lt-bench control\n\n{}", outcome.markdown.trim_end());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "\
| figure (10 sessions x 5 users) | value |
|---|---|
| GET /api/sessions p50 / p99 | 1.20 / 4.50 ms |
| PATCH users p50 / p99 | 2.00 / 7.25 ms |
| SSE tick delay after the end of its second p50 / p99 / max (100 ticks) | 12 / 40 / 55 ms |
| emergency stop: call took / last request at target after return (10 sessions) | 8.1 ms / -3.5 ms |
| same, target hanging on every request (10 sessions) | 9.0 ms / 1.5 ms |
| store write transactions per session per second (10 s window) | 0.20 |
| graceful stop of 1 session: call to `completed` / last request at target after the call | 300 ms / 2.0 ms |
";

    #[test]
    fn figures_from_the_script_table() {
        assert_eq!(
            row_values(TABLE, "SSE tick delay"),
            Some(vec![12.0, 40.0, 55.0])
        );
        assert_eq!(row_values(TABLE, "nothing"), None);
        let f = ControlFigures::from_table(TABLE);
        assert_eq!(
            f,
            ControlFigures {
                api_p99_ms: Some(7.25),
                sse_p99_ms: Some(40.0),
                stop_silence_ms: Some(1.5),
                store_tx_per_session_s: Some(0.2),
            }
        );
        let other = ControlFigures {
            api_p99_ms: Some(9.0),
            sse_p99_ms: None,
            ..ControlFigures::default()
        };
        let w = f.worst(other);
        assert_eq!((w.api_p99_ms, w.sse_p99_ms), (Some(9.0), Some(40.0)));
        assert_eq!(ControlFigures::from_table(""), ControlFigures::default());
    }
}
