//! The load generators compared, how each one is started, and running one of them for a fixed
//! time while measuring it: requests at the target, and the generator's CPU time and peak
//! memory as the OS reports them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::os;
use crate::target::{TargetProcess, Window};

/// One load generator under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Generator {
    /// `wrk -t1`: the ceiling of what one core can send.
    Wrk,
    /// A bare Goose program with Goose's defaults (a client per user).
    GooseDefault,
    /// The bare Goose program with one shared client without cookies.
    GooseShared,
    /// `load-tester run` with every protection it can turn off turned off.
    LoadTesterOff,
    /// `load-tester run` with breaker, backoff, load reduction, error budget, traceparent and
    /// user ids on.
    LoadTesterOn,
}

impl Generator {
    /// Every generator, in the order each repetition runs them.
    pub const ALL: [Generator; 5] = [
        Generator::Wrk,
        Generator::GooseDefault,
        Generator::GooseShared,
        Generator::LoadTesterOff,
        Generator::LoadTesterOn,
    ];

    /// The name in the tables.
    pub fn label(self) -> &'static str {
        match self {
            Generator::Wrk => "wrk -t1",
            Generator::GooseDefault => "Goose bare (defaults)",
            Generator::GooseShared => "Goose bare (shared client)",
            Generator::LoadTesterOff => "load-tester (protections off)",
            Generator::LoadTesterOn => "load-tester (protections on)",
        }
    }

    /// A short name for file names.
    pub fn slug(self) -> &'static str {
        match self {
            Generator::Wrk => "wrk",
            Generator::GooseDefault => "goose-default",
            Generator::GooseShared => "goose-shared",
            Generator::LoadTesterOff => "lt-off",
            Generator::LoadTesterOn => "lt-on",
        }
    }
}

/// Where the programs are, whether to pin, and the folder for scenarios and logs.
#[derive(Debug, Clone)]
pub struct Toolbox {
    /// This binary (runs the target and the bare Goose program).
    pub lt_bench: PathBuf,
    /// The `load-tester` binary.
    pub load_tester: PathBuf,
    /// `wrk`, when available.
    pub wrk: Option<PathBuf>,
    /// `taskset`, when the target and the generators are pinned to their own CPUs.
    pub taskset: Option<PathBuf>,
    /// Scenario files and logs.
    pub workdir: PathBuf,
}

impl Toolbox {
    /// The command line that starts the target.
    pub fn target_argv(&self) -> Vec<String> {
        let mut argv = self.pin("1");
        argv.extend([path_text(&self.lt_bench), "target".into()]);
        argv.extend(["--port".into(), "0".into()]);
        argv
    }

    /// The command line that runs `generator` with `users` connections for `seconds` against
    /// `url`; `None` when that generator is not available.
    pub fn argv(
        &self,
        generator: Generator,
        users: u32,
        seconds: u64,
        url: &str,
    ) -> Option<Vec<String>> {
        let mut argv = self.pin("0");
        match generator {
            Generator::Wrk => {
                argv.push(path_text(self.wrk.as_ref()?));
                argv.extend(["-t1".into(), format!("-c{users}"), format!("-d{seconds}s")]);
                argv.push(format!("{url}/"));
            }
            Generator::GooseDefault | Generator::GooseShared => {
                argv.push(path_text(&self.lt_bench));
                argv.extend(["goose-bare".into(), "--users".into(), users.to_string()]);
                argv.extend(["--seconds".into(), seconds.to_string()]);
                argv.extend(["--host".into(), url.to_string()]);
                if generator == Generator::GooseShared {
                    argv.push("--shared-client".into());
                }
            }
            Generator::LoadTesterOff | Generator::LoadTesterOn => {
                argv.push(path_text(&self.load_tester));
                argv.push("run".into());
                argv.push(path_text(&self.scenario_path(generator, users)));
                argv.extend(["--duration".into(), format!("{seconds}s"), "--quiet".into()]);
            }
        }
        Some(argv)
    }

    /// The scenario file of a load-tester generator at `users`.
    pub fn scenario_path(&self, generator: Generator, users: u32) -> PathBuf {
        self.workdir
            .join(format!("{}-{users}.yaml", generator.slug()))
    }

    fn pin(&self, cpu: &str) -> Vec<String> {
        match &self.taskset {
            Some(taskset) => vec![path_text(taskset), "-c".into(), cpu.into()],
            None => Vec::new(),
        }
    }
}

fn path_text(path: &Path) -> String {
    path.display().to_string()
}

/// The max-throughput scenario for `load-tester run`: `users` users, no think time, one
/// endpoint `GET /`, with every protection off or every protection on.
pub fn scenario_yaml(protections_on: bool, url: &str, users: u32, seconds: u64) -> String {
    let (name, protection) = if protections_on {
        (
            "bench-protections-on",
            "protection:\n  circuit_breaker: on\n  backoff: on\n  load_reduction: on\n  \
             max_errors_per_minute: 100\ntracing: { enabled: true }\n\
             user_ids: { from: 1, to: 100000 }\n",
        )
    } else {
        (
            "bench-protections-off",
            "protection:\n  circuit_breaker: off\n  backoff: off\n  load_reduction: off\n  \
             max_errors_per_minute: off\ntracing: false\n",
        )
    };
    format!(
        "# Written by lt-bench: as many requests as the engine can send.\n\
         name: {name}\n\
         target: {url}\n\
         load:\n  users: {users}\n  duration: {seconds}s\n  think_time: {{ min: 0s, max: 0s }}\n\
         endpoints:\n  - name: root\n    path: /\n\
         {protection}"
    )
}

/// One run of one generator, as measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement {
    /// Requests the target served during the run.
    pub requests: u64,
    /// Seconds from the first to the last of them, at the target.
    pub active_seconds: f64,
    /// The generator's user + system CPU seconds.
    pub cpu_seconds: f64,
    /// The generator's peak resident memory in KiB, when it could be sampled.
    pub peak_rss_kib: Option<u64>,
}

impl Measurement {
    /// Requests per second at the target.
    pub fn rps(&self) -> f64 {
        if self.active_seconds > 0.0 {
            self.requests as f64 / self.active_seconds
        } else {
            0.0
        }
    }

    /// The generator's CPU seconds per 100 000 requests.
    pub fn cpu_per_100k(&self) -> f64 {
        if self.requests == 0 {
            return 0.0;
        }
        self.cpu_seconds * 100_000.0 / self.requests as f64
    }
}

/// How often a running generator is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(50);

/// Runs `argv` to its end with its output in `log`, and measures it: the target's count before
/// and after, the CPU time of the exited (not yet reaped) process from `/proc/<pid>/stat`, and
/// the highest `VmHWM` seen while it ran. A run still going after `limit` is killed and is an
/// error, as are a failing exit status and a run that sent nothing.
pub fn measure(
    argv: &[String],
    log: &Path,
    target: &mut TargetProcess,
    ticks_per_second: u64,
    limit: Duration,
) -> Result<Measurement> {
    let command_text = argv.join(" ");
    let before = target.reset().context("cannot read the target's count")?;
    let started = Instant::now();
    let mut child = spawn_logged(argv, log)?;
    let pid = child.id();
    let mut peak_rss_kib: Option<u64> = None;
    let stat = loop {
        if let Some(kib) = os::read_peak_rss_kib(pid) {
            peak_rss_kib = Some(peak_rss_kib.map_or(kib, |p| p.max(kib)));
        }
        match os::read_stat(pid) {
            Ok(stat) if stat.exited() => break stat,
            Ok(_) => {}
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e.context(format!("cannot follow `{command_text}`")));
            }
        }
        if started.elapsed() > limit {
            return Err(kill_overrun(&mut child, &command_text, limit, log));
        }
        std::thread::sleep(SAMPLE_EVERY);
    };
    let status = child
        .wait()
        .with_context(|| format!("cannot wait for `{command_text}`"))?;
    let after = finished(target, status, &command_text, log)?;
    let requests = after.served.saturating_sub(before.served);
    if requests == 0 {
        bail!(
            "`{command_text}` sent no request to the target{}",
            log_tail(log)
        );
    }
    Ok(Measurement {
        requests,
        active_seconds: after.active_seconds(),
        cpu_seconds: stat.cpu_seconds(ticks_per_second),
        peak_rss_kib,
    })
}

/// Kills a run that went past `limit`; the error says so, with the end of its log.
pub fn kill_overrun(
    child: &mut Child,
    command_text: &str,
    limit: Duration,
    log: &Path,
) -> anyhow::Error {
    let _ = child.kill();
    let _ = child.wait();
    anyhow::anyhow!(
        "`{command_text}` was still running after {} s and was killed{}",
        limit.as_secs(),
        log_tail(log)
    )
}

/// After a run exited: the target must still be up and the run must have succeeded; gives the
/// target's window.
pub fn finished(
    target: &mut TargetProcess,
    status: ExitStatus,
    command_text: &str,
    log: &Path,
) -> Result<Window> {
    target
        .check_alive()
        .with_context(|| format!("while `{command_text}` ran"))?;
    if !status.success() {
        bail!("`{command_text}` failed ({status}){}", log_tail(log));
    }
    target.window().context("cannot read the target's count")
}

/// The last lines of a log, to explain a failure.
/// Starts `argv` with stdin closed and stdout and stderr both written to `log`.
pub fn spawn_logged(argv: &[String], log: &Path) -> Result<Child> {
    let (program, args) = argv.split_first().context("empty command")?;
    let log_file =
        std::fs::File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    let log_err = log_file
        .try_clone()
        .with_context(|| format!("cannot share {}", log.display()))?;
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_err)
        .spawn()
        .with_context(|| format!("cannot start `{}`", argv.join(" ")))
}

pub fn log_tail(log: &Path) -> String {
    match std::fs::read_to_string(log) {
        Ok(text) if !text.trim().is_empty() => {
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(15)..].join("\n  ");
            format!("; its output ends with:\n  {tail}")
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toolbox(pinned: bool) -> Toolbox {
        Toolbox {
            lt_bench: "/bin/lt-bench".into(),
            load_tester: "/bin/load-tester".into(),
            wrk: Some("/bin/wrk".into()),
            taskset: pinned.then(|| "/bin/taskset".into()),
            workdir: "/tmp/w".into(),
        }
    }

    #[test]
    fn command_lines() {
        let t = toolbox(true);
        let url = "http://127.0.0.1:9";
        let line = |g| t.argv(g, 32, 5, url).unwrap().join(" ");
        assert_eq!(
            line(Generator::Wrk),
            "/bin/taskset -c 0 /bin/wrk -t1 -c32 -d5s http://127.0.0.1:9/"
        );
        assert_eq!(
            line(Generator::GooseShared),
            "/bin/taskset -c 0 /bin/lt-bench goose-bare --users 32 --seconds 5 \
             --host http://127.0.0.1:9 --shared-client"
        );
        assert_eq!(
            line(Generator::LoadTesterOn),
            "/bin/taskset -c 0 /bin/load-tester run /tmp/w/lt-on-32.yaml --duration 5s --quiet"
        );
        assert_eq!(
            t.target_argv().join(" "),
            "/bin/taskset -c 1 /bin/lt-bench target --port 0"
        );
        let unpinned = toolbox(false);
        assert_eq!(
            unpinned
                .argv(Generator::GooseDefault, 128, 1, url)
                .unwrap()
                .join(" "),
            "/bin/lt-bench goose-bare --users 128 --seconds 1 --host http://127.0.0.1:9"
        );
        let no_wrk = Toolbox { wrk: None, ..t };
        assert!(no_wrk.argv(Generator::Wrk, 32, 5, url).is_none());
    }

    #[test]
    fn scenarios_name_every_protection() {
        let off = scenario_yaml(false, "http://127.0.0.1:9", 128, 15);
        assert!(off.contains("users: 128\n") && off.contains("duration: 15s\n"));
        assert!(off.contains("think_time: { min: 0s, max: 0s }"));
        for part in [
            "circuit_breaker: off",
            "backoff: off",
            "load_reduction: off",
        ] {
            assert!(off.contains(part), "{part}");
        }
        assert!(off.contains("max_errors_per_minute: off") && off.contains("tracing: false"));
        assert!(!off.contains("user_ids"));
        let on = scenario_yaml(true, "http://127.0.0.1:9", 32, 5);
        for part in [
            "circuit_breaker: on",
            "backoff: on",
            "load_reduction: on",
            "user_ids:",
        ] {
            assert!(on.contains(part), "{part}");
        }
        assert!(on.contains("max_errors_per_minute: 100") && on.contains("enabled: true"));
    }

    #[test]
    fn rates_per_run() {
        let m = Measurement {
            requests: 200_000,
            active_seconds: 4.0,
            cpu_seconds: 3.0,
            peak_rss_kib: Some(1024),
        };
        assert!((m.rps() - 50_000.0).abs() < 1e-9);
        assert!((m.cpu_per_100k() - 1.5).abs() < 1e-9);
        let empty = Measurement {
            requests: 0,
            active_seconds: 0.0,
            ..m
        };
        assert_eq!((empty.rps(), empty.cpu_per_100k()), (0.0, 0.0));
    }
}
