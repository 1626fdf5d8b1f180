//! The throughput ceiling: every generator against the same trivial target, for the same time,
//! at each connection count, interleaved (A B C D E, A B C D E, ...) so drifts of the machine
//! spread over all of them; then one table per connection count. Figures are printed, never
//! asserted.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::generators::{self, Generator, Measurement, Toolbox};
use crate::table::{self, Row};
use crate::target::TargetProcess;
use crate::wrk::find_or_install_wrk;
use crate::{machine, os};

/// The `throughput` subcommand's arguments.
#[derive(Debug, Args)]
pub struct ThroughputArgs {
    /// 5-second runs instead of 15.
    #[arg(long)]
    pub quick: bool,
    /// 1-second runs and one repetition: only checks that every generator runs.
    #[arg(long)]
    pub smoke: bool,
    /// Seconds per run (over --quick and --smoke).
    #[arg(long, value_name = "N")]
    pub seconds: Option<u64>,
    /// Repetitions of the whole sequence (default 3; 1 with --smoke).
    #[arg(long, value_name = "N")]
    pub reps: Option<u32>,
    /// Connection counts (users) to measure at.
    #[arg(long, value_name = "N,N", value_delimiter = ',', default_values_t = [32, 128])]
    pub connections: Vec<u32>,
}

/// The plan the arguments resolve to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub seconds: u64,
    pub reps: u32,
    pub connections: Vec<u32>,
}

impl Settings {
    /// Resolves the presets and checks the values.
    pub fn from_args(args: &ThroughputArgs) -> Result<Settings> {
        let preset_seconds = if args.smoke {
            1
        } else if args.quick {
            5
        } else {
            15
        };
        let settings = Settings {
            seconds: args.seconds.unwrap_or(preset_seconds),
            reps: args.reps.unwrap_or(if args.smoke { 1 } else { 3 }),
            connections: args.connections.clone(),
        };
        if settings.seconds == 0 {
            bail!("--seconds must be at least 1");
        }
        if settings.reps == 0 {
            bail!("--reps must be at least 1");
        }
        if settings.connections.is_empty() || settings.connections.contains(&0) {
            bail!("--connections needs counts of at least 1");
        }
        Ok(settings)
    }

    /// The runs in order: for each connection count, the repetitions, each running every
    /// generator once.
    pub fn sequence(&self) -> Vec<(u32, u32, Generator)> {
        let mut runs = Vec::new();
        for &users in &self.connections {
            for rep in 1..=self.reps {
                for generator in Generator::ALL {
                    runs.push((users, rep, generator));
                }
            }
        }
        runs
    }
}

/// The report as markdown, and the median requests/s of each generator at each connection
/// count.
#[derive(Debug, Clone)]
pub struct ThroughputOutcome {
    /// The title, date, machine and versions (`lt-bench all` has its own).
    pub header: String,
    /// The plan, one table per connection count, the commands and scenarios.
    pub markdown: String,
    pub medians: HashMap<(u32, Generator), f64>,
}

impl ThroughputOutcome {
    /// `generator`'s median over `reference`'s at `users` connections, when both ran.
    pub fn ratio(&self, users: u32, generator: Generator, reference: Generator) -> Option<f64> {
        let value = self.medians.get(&(users, generator))?;
        let reference = self.medians.get(&(users, reference))?;
        (*reference > 0.0).then(|| value / reference)
    }
}

/// Runs the benchmark and prints the report on stdout (progress on stderr).
pub fn run(args: &ThroughputArgs) -> Result<()> {
    let settings = Settings::from_args(args)?;
    let outcome = measure(&settings)?;
    print!("{}{}", outcome.header, outcome.markdown);
    Ok(())
}

/// Runs the benchmark and returns the report (progress on stderr).
pub fn measure(settings: &Settings) -> Result<ThroughputOutcome> {
    let mut out = String::new();
    let workdir = tempfile::Builder::new()
        .prefix("lt-bench-")
        .tempdir()
        .context("cannot create a temporary folder")?;
    let lt_bench = std::env::current_exe().context("cannot find this program's own path")?;
    let load_tester = crate::lt_run::load_tester_beside_us()?;
    let cores = os::nproc();
    let taskset = if cores >= 2 {
        os::find_in_path("taskset")
    } else {
        None
    };
    let pinning = match (&taskset, cores) {
        (Some(_), _) => "yes: the target on CPU 1, each generator on CPU 0 (taskset -c)".into(),
        (None, 0..=1) => "no: only one CPU".to_string(),
        (None, _) => "no: taskset is not installed".to_string(),
    };
    let (wrk, wrk_note) = find_or_install_wrk(workdir.path());
    let toolbox = Toolbox {
        lt_bench,
        load_tester,
        wrk,
        taskset,
        workdir: workdir.path().to_path_buf(),
    };

    let mut header = String::from("# lt-bench throughput\n\n");
    for line in machine::describe(&toolbox) {
        writeln!(header, "{line}")?;
    }
    let runs = settings.sequence();
    writeln!(
        out,
        "- plan: {} s per run, {} repetition(s), interleaved in the order {}, at {} connections \
         ({} runs)",
        settings.seconds,
        settings.reps,
        Generator::ALL.map(Generator::label).join(", "),
        join(&settings.connections, " and "),
        runs.len()
    )?;
    writeln!(out, "- CPU pinning: {pinning}")?;
    writeln!(out, "- wrk: {wrk_note}")?;
    writeln!(out, "{}", NOTES.trim_end())?;

    let mut target =
        TargetProcess::start(&toolbox.target_argv(), &workdir.path().join("target.log"))
            .context("cannot start the target")?;
    let url = target.url();
    write_scenarios(&toolbox, settings, &url)?;

    let ticks = os::clock_ticks_per_second();
    let limit = Duration::from_secs(settings.seconds + 60);
    let mut results: HashMap<(u32, Generator), Vec<Measurement>> = HashMap::new();
    for (i, &(users, rep, generator)) in runs.iter().enumerate() {
        let Some(argv) = toolbox.argv(generator, users, settings.seconds, &url) else {
            continue;
        };
        let log = workdir
            .path()
            .join(format!("{}-{users}-{rep}.log", generator.slug()));
        let m = generators::measure(&argv, &log, &mut target, ticks, limit).with_context(|| {
            format!(
                "{} at {users} connections (repetition {rep})",
                generator.label()
            )
        })?;
        eprintln!(
            "[{}/{}] {users} connections, repetition {rep}: {}: {} req/s, {:.2} CPU s per 100k",
            i + 1,
            runs.len(),
            generator.label(),
            table::thousands(m.rps()),
            m.cpu_per_100k()
        );
        results.entry((users, generator)).or_default().push(m);
        std::thread::sleep(Duration::from_millis(300));
    }

    let mut medians = HashMap::new();
    for &users in &settings.connections {
        let rows: Vec<Row> = Generator::ALL
            .iter()
            .map(|&g| row(g, results.get(&(users, g)), toolbox.wrk.is_some()))
            .collect();
        for (generator, row) in Generator::ALL.iter().zip(&rows) {
            if let Some(median) = row.median_rps() {
                medians.insert((users, *generator), median);
            }
        }
        let wrk_rps = rows[0].median_rps();
        let goose_rps = rows[1].median_rps();
        writeln!(out, "\n## {users} connections\n")?;
        write!(out, "{}", table::markdown(&rows, wrk_rps, goose_rps))?;
    }

    writeln!(out, "\n## Commands\n")?;
    writeln!(out, "- target: `{}`", toolbox.target_argv().join(" "))?;
    for &users in &settings.connections {
        for generator in Generator::ALL {
            if let Some(argv) = toolbox.argv(generator, users, settings.seconds, &url) {
                writeln!(out, "- `{}`", argv.join(" "))?;
            }
        }
    }
    let first = settings.connections[0];
    for generator in [Generator::LoadTesterOff, Generator::LoadTesterOn] {
        let path = toolbox.scenario_path(generator, first);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        writeln!(
            out,
            "\n{} scenario (users: {first}; the same with the other counts):\n\n```yaml\n{}```",
            generator.label(),
            text
        )?;
    }
    Ok(ThroughputOutcome {
        header,
        markdown: out,
        medians,
    })
}

const NOTES: &str = "\
- requests/s: counted at the target, over the time from the first to the last request it \
received in each run (the generator's start-up and shutdown left out)
- CPU: user + system seconds of the generator process, read from /proc/<pid>/stat once it \
exited; peak RSS: the highest VmHWM of /proc/<pid>/status, sampled every 50 ms
- Goose bare: Goose 0.19 as this workspace builds it (without its `cookies` feature, so \
\"defaults\" means a client per user without a cookie jar); it launches its users over the \
first second (hatch rate = users), inside the measured time
- load-tester, protections off: breaker, backoff, load reduction, error budget, traceparent \
and user ids are off; what cannot be turned off: the dispatcher (weighted endpoint pick, \
outcome classification), the per-endpoint histograms and per-second ticks, and Goose's user \
loop (both load-tester runs ask for no HTML report, so Goose keeps no request metrics and \
requests go straight through the shared client)";

fn row(generator: Generator, runs: Option<&Vec<Measurement>>, wrk_available: bool) -> Row {
    let runs = runs.map(Vec::as_slice).unwrap_or(&[]);
    Row {
        label: generator.label().to_string(),
        rps: runs.iter().map(Measurement::rps).collect(),
        cpu_per_100k: runs.iter().map(Measurement::cpu_per_100k).collect(),
        peak_rss_kib: runs.iter().filter_map(|m| m.peak_rss_kib).max(),
        note: (generator == Generator::Wrk && !wrk_available)
            .then(|| "skipped: wrk not available".to_string()),
    }
}

fn join(values: &[u32], separator: &str) -> String {
    values
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(separator)
}

/// Writes the load-tester scenarios for every connection count and has `load-tester validate`
/// check them, so a scenario problem stops the benchmark before any run.
fn write_scenarios(toolbox: &Toolbox, settings: &Settings, url: &str) -> Result<()> {
    let mut paths: Vec<PathBuf> = Vec::new();
    for &users in &settings.connections {
        for (generator, on) in [
            (Generator::LoadTesterOff, false),
            (Generator::LoadTesterOn, true),
        ] {
            let path = toolbox.scenario_path(generator, users);
            let yaml = generators::scenario_yaml(on, url, users, settings.seconds);
            std::fs::write(&path, yaml)
                .with_context(|| format!("cannot write {}", path.display()))?;
            paths.push(path);
        }
    }
    let out = Command::new(&toolbox.load_tester)
        .arg("validate")
        .args(&paths)
        .output()
        .with_context(|| format!("cannot run {} validate", toolbox.load_tester.display()))?;
    if !out.status.success() {
        bail!(
            "load-tester refused the benchmark's scenarios:\n{}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(quick: bool, smoke: bool, seconds: Option<u64>, reps: Option<u32>) -> ThroughputArgs {
        ThroughputArgs {
            quick,
            smoke,
            seconds,
            reps,
            connections: vec![32, 128],
        }
    }

    #[test]
    fn presets_and_overrides() {
        let s = |a: &ThroughputArgs| {
            let s = Settings::from_args(a).unwrap();
            (s.seconds, s.reps)
        };
        assert_eq!(s(&args(false, false, None, None)), (15, 3));
        assert_eq!(s(&args(true, false, None, None)), (5, 3));
        assert_eq!(s(&args(false, true, None, None)), (1, 1));
        assert_eq!(s(&args(true, false, Some(9), Some(5))), (9, 5));
        assert!(Settings::from_args(&args(false, false, Some(0), None)).is_err());
        assert!(Settings::from_args(&args(false, false, None, Some(0))).is_err());
        let mut empty = args(false, false, None, None);
        empty.connections.clear();
        assert!(Settings::from_args(&empty).is_err());
    }

    #[test]
    fn runs_are_interleaved() {
        let settings = Settings {
            seconds: 1,
            reps: 2,
            connections: vec![32, 128],
        };
        let runs = settings.sequence();
        assert_eq!(runs.len(), 20);
        let first: Vec<Generator> = runs[..10].iter().map(|r| r.2).collect();
        assert_eq!(&first[..5], &Generator::ALL);
        assert_eq!(&first[5..], &Generator::ALL);
        assert_eq!((runs[4].0, runs[4].1), (32, 1));
        assert_eq!((runs[5].0, runs[5].1), (32, 2));
        assert_eq!((runs[10].0, runs[10].1), (128, 1));
    }

    #[test]
    fn rows_note_a_missing_wrk() {
        let r = row(Generator::Wrk, None, false);
        assert_eq!(r.note.as_deref(), Some("skipped: wrk not available"));
        let m = Measurement {
            requests: 100_000,
            active_seconds: 2.0,
            cpu_seconds: 1.0,
            peak_rss_kib: Some(2048),
        };
        let r = row(Generator::GooseShared, Some(&vec![m, m]), true);
        assert_eq!(r.rps, vec![50_000.0, 50_000.0]);
        assert_eq!(r.peak_rss_kib, Some(2048));
        assert_eq!(r.note, None);
    }
}
