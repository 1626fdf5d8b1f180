//! The generator watching itself: its CPU and memory each second (from `/proc/self`), how late
//! its timers fire, whether it is the bottleneck, and the limits (`load.max_memory`,
//! `load.max_cpu`) past which it adds no more users.
//!
//! A saturated generator sends late and measures late, and its figures then describe itself
//! more than the target (Locust warns past 90 % CPU). The verdict waits for
//! [`SUSTAINED_SECONDS`] in a row so one busy second does not raise it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lt_protocol::{GeneratorReport, GeneratorStats};
use lt_scenario::GeneratorLimits;

/// The share of the CPU the generator may use above which it is saturated.
pub const SATURATED_CPU_SHARE: f64 = 0.90;
/// Timers this late (worst of a second) mean the generator's scheduler is behind.
pub const LATE_TIMER_MS: f64 = 50.0;
/// Seconds in a row a condition must hold to be reported.
pub const SUSTAINED_SECONDS: u32 = 3;
/// The timer probe's period.
const PROBE_EVERY: Duration = Duration::from_millis(10);
/// Linux reports process CPU time in ticks of 1/100 s (`USER_HZ`, fixed by the ABI).
const USER_HZ: f64 = 100.0;
const DISTORTED: &str = "results may be distorted by the load generator itself";

/// One reading of `/proc/self`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// User plus system CPU time since the process started, in seconds.
    pub cpu_s: f64,
    /// Resident memory, in bytes.
    pub rss_bytes: u64,
}

/// Reads the process's CPU time and resident memory; `None` where `/proc` is missing.
pub fn read_proc() -> Option<Reading> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_proc(&stat, &status)
}

/// Parses `/proc/self/stat` (utime and stime, fields 14 and 15) and `/proc/self/status`
/// (`VmRSS`).
pub fn parse_proc(stat: &str, status: &str) -> Option<Reading> {
    // The command name (field 2) may hold spaces and parentheses: count from its end.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    let rss_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(Reading {
        cpu_s: (utime + stime) / USER_HZ,
        rss_bytes: rss_kb * 1024,
    })
}

/// Measures how late a 10 ms timer fires, keeping the worst since the last take.
#[derive(Debug)]
struct TimerProbe {
    worst_us: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl TimerProbe {
    fn start() -> TimerProbe {
        let worst_us = Arc::new(AtomicU64::new(0));
        let worst = Arc::clone(&worst_us);
        let task = tokio::spawn(async move {
            loop {
                let planned = tokio::time::Instant::now() + PROBE_EVERY;
                tokio::time::sleep_until(planned).await;
                let late = tokio::time::Instant::now().saturating_duration_since(planned);
                worst.fetch_max(late.as_micros() as u64, Ordering::Relaxed);
            }
        });
        TimerProbe { worst_us, task }
    }

    fn take_ms(&self) -> f64 {
        self.worst_us.swap(0, Ordering::Relaxed) as f64 / 1000.0
    }
}

impl Drop for TimerProbe {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The generator's own monitor, sampled by the controller once a second.
#[derive(Debug)]
pub struct SelfMonitor {
    limits: GeneratorLimits,
    cores: u32,
    probe: Option<TimerProbe>,
    last: Option<(Reading, Instant)>,
    hot_seconds: u32,
    late_seconds: u32,
    report: GeneratorReport,
    /// Why users are held back now (a limit reached), if they are.
    over_limit: Option<String>,
}

impl SelfMonitor {
    /// A monitor that has read `/proc` once (so a memory limit holds from the first user on)
    /// and started its timer probe.
    pub fn start(limits: GeneratorLimits, now: Instant) -> SelfMonitor {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        let first = read_proc();
        let mut monitor = SelfMonitor {
            limits,
            cores,
            probe: Some(TimerProbe::start()),
            last: first.map(|r| (r, now)),
            hot_seconds: 0,
            late_seconds: 0,
            report: GeneratorReport {
                cores,
                ..GeneratorReport::default()
            },
            over_limit: None,
        };
        if let Some(reading) = first {
            monitor.over_limit = monitor.limit_reached(reading.rss_bytes, 0.0);
        }
        monitor
    }

    /// The CPU the generator may use, in percent of one core: `max_cpu`, or every core.
    pub fn cpu_allowance(&self) -> f64 {
        self.limits.max_cpu.unwrap_or(f64::from(self.cores) * 100.0)
    }

    /// Reads `/proc/self` and the timer probe for the second that ends at `now`.
    pub fn sample(&mut self, now: Instant) -> Option<GeneratorStats> {
        let timer_lag_ms = self.probe.as_ref().map_or(0.0, TimerProbe::take_ms);
        let reading = read_proc()?;
        let cpu_percent = match self.last {
            Some((before, at)) => {
                let wall = now.saturating_duration_since(at).as_secs_f64();
                if wall > 0.0 {
                    ((reading.cpu_s - before.cpu_s) / wall * 100.0).max(0.0)
                } else {
                    0.0
                }
            }
            None => 0.0,
        };
        self.last = Some((reading, now));
        Some(self.judge(cpu_percent, reading.rss_bytes, timer_lag_ms))
    }

    /// The second's figures with their verdicts; keeps the run's report.
    pub fn judge(&mut self, cpu_percent: f64, rss_bytes: u64, timer_lag_ms: f64) -> GeneratorStats {
        let allowance = self.cpu_allowance();
        self.hot_seconds = if cpu_percent >= allowance * SATURATED_CPU_SHARE {
            self.hot_seconds + 1
        } else {
            0
        };
        self.late_seconds = if timer_lag_ms >= LATE_TIMER_MS {
            self.late_seconds + 1
        } else {
            0
        };
        let saturated = if self.hot_seconds >= SUSTAINED_SECONDS {
            let of = match self.limits.max_cpu {
                Some(max) => format!("max_cpu {max:.0}%"),
                None => format!("{} cores", self.cores),
            };
            Some(format!(
                "generator CPU {cpu_percent:.0}% of one core has stayed above {:.0}% of {of} \
                 for {} s: {DISTORTED}",
                SATURATED_CPU_SHARE * 100.0,
                self.hot_seconds
            ))
        } else if self.late_seconds >= SUSTAINED_SECONDS {
            Some(format!(
                "generator timers fire up to {timer_lag_ms:.0} ms late (over {LATE_TIMER_MS:.0} \
                 ms for {} s): {DISTORTED}",
                self.late_seconds
            ))
        } else {
            None
        };
        self.over_limit = self.limit_reached(rss_bytes, cpu_percent);

        let r = &mut self.report;
        r.peak_cpu_percent = r.peak_cpu_percent.max(cpu_percent);
        r.peak_memory_bytes = r.peak_memory_bytes.max(rss_bytes);
        r.max_timer_lag_ms = r.max_timer_lag_ms.max(timer_lag_ms);
        if let Some(text) = &saturated {
            r.saturated_seconds += 1;
            // One warning per kind: the numbers of later seconds would only repeat it.
            let kind = text.split(' ').take(2).collect::<Vec<_>>().join(" ");
            if !r.warnings.iter().any(|w| w.starts_with(&kind)) {
                tracing::warn!("{text}");
                r.warnings.push(text.clone());
            }
        }
        GeneratorStats {
            cpu_percent,
            cores: self.cores,
            memory_bytes: rss_bytes,
            timer_lag_ms,
            saturated,
            limited: None,
        }
    }

    /// Which limit the generator has reached, if any.
    fn limit_reached(&self, rss_bytes: u64, cpu_percent: f64) -> Option<String> {
        if let Some(max) = self.limits.max_memory
            && rss_bytes >= max
        {
            return Some(format!(
                "generator memory {} reached max_memory {}",
                mib(rss_bytes),
                mib(max)
            ));
        }
        if let Some(max) = self.limits.max_cpu
            && cpu_percent >= max
        {
            return Some(format!(
                "generator CPU {cpu_percent:.0}% of one core reached max_cpu {max:.0}%"
            ));
        }
        None
    }

    /// How many users may be active given `wanted` and the `active` ones: all wanted while no
    /// limit is reached; otherwise no more than now (and at least one, so the run measures
    /// something), with the message that says so.
    pub fn allowed_users(&self, wanted: u32, active: u32) -> (u32, Option<String>) {
        match &self.over_limit {
            Some(reason) if wanted > active.max(1) => {
                let held = active.max(1);
                (
                    held,
                    Some(format!(
                        "not adding users: {held} of {wanted} active, {reason}; raise the limit \
                         or spread the load over more generators"
                    )),
                )
            }
            _ => (wanted, None),
        }
    }

    /// Notes that a limit held users back this second (for the report), saying so once.
    pub fn note_limited(&mut self, message: &str) {
        self.report.limited_seconds += 1;
        let first = message.split(',').next().unwrap_or(message);
        if !self.report.warnings.iter().any(|w| w.starts_with(first)) {
            tracing::warn!("{message}");
        }
        if !self
            .report
            .warnings
            .iter()
            .any(|w| w.starts_with("not adding users"))
        {
            self.report.warnings.push(message.to_string());
        }
    }

    /// The run so far.
    pub fn report(&self) -> GeneratorReport {
        self.report.clone()
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn monitor(limits: GeneratorLimits) -> SelfMonitor {
        SelfMonitor {
            limits,
            cores: 2,
            probe: None,
            last: None,
            hot_seconds: 0,
            late_seconds: 0,
            report: GeneratorReport::default(),
            over_limit: None,
        }
    }

    #[test]
    fn reads_proc_stat_and_status() {
        let stat = "1234 (load (tester)) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 9 0 100";
        let status = "Name:\tx\nVmRSS:\t   20480 kB\nThreads: 9\n";
        let r = parse_proc(stat, status).unwrap();
        assert!((r.cpu_s - 3.0).abs() < 1e-9, "{r:?}");
        assert_eq!(r.rss_bytes, 20480 * 1024);
        assert!(
            read_proc().is_some(),
            "this process's /proc/self is readable"
        );
    }

    #[test]
    fn saturation_is_reported_once_it_lasts() {
        let mut m = monitor(GeneratorLimits::default());
        // Two cores: 90 % of them is 180 % of one core.
        assert!(m.judge(190.0, 1, 1.0).saturated.is_none());
        assert!(m.judge(195.0, 1, 1.0).saturated.is_none());
        let third = m.judge(199.0, 1, 1.0).saturated.unwrap();
        assert!(
            third.contains("distorted by the load generator itself"),
            "{third}"
        );
        assert!(
            m.judge(100.0, 1, 1.0).saturated.is_none(),
            "a quiet second clears it"
        );
        for _ in 0..3 {
            m.judge(10.0, 1, 80.0);
        }
        let late = m.judge(10.0, 1, 80.0).saturated.unwrap();
        assert!(late.contains("timers fire up to 80 ms late"), "{late}");
        let report = m.report();
        assert_eq!(report.saturated_seconds, 3);
        assert_eq!(report.warnings.len(), 2, "{:?}", report.warnings);
    }

    #[test]
    fn limits_hold_users_and_say_so() {
        let mut m = monitor(GeneratorLimits {
            max_memory: Some(100 * 1024 * 1024),
            max_cpu: Some(50.0),
        });
        m.judge(10.0, 50 * 1024 * 1024, 1.0);
        assert_eq!(m.allowed_users(20, 5), (20, None));
        m.judge(10.0, 200 * 1024 * 1024, 1.0);
        let (n, message) = m.allowed_users(20, 5);
        assert_eq!(n, 5);
        let message = message.unwrap();
        assert!(message.contains("max_memory 100.0 MiB"), "{message}");
        assert_eq!(
            m.allowed_users(3, 5),
            (3, None),
            "fewer users are always allowed"
        );
        m.judge(60.0, 1, 1.0);
        assert!(m.allowed_users(20, 0).1.unwrap().contains("max_cpu 50%"));
        assert_eq!(
            m.allowed_users(20, 0).0,
            1,
            "one user runs whatever the limits"
        );
    }
}
