//! What the operating system says about processes and the machine: readers for `/proc` (a
//! process's CPU time, state and peak memory; the machine's memory and CPU model), the clock tick,
//! and looking up programs on `PATH`. The parsers take the files' text, so they are tested on
//! fixed strings.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The fields of `/proc/<pid>/stat` a measurement needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// `R`, `S`, `D`, `Z` (exited, not yet reaped), ...
    pub state: char,
    /// User CPU time of the whole process (every thread), in clock ticks.
    pub utime_ticks: u64,
    /// System CPU time of the whole process, in clock ticks.
    pub stime_ticks: u64,
}

impl ProcStat {
    /// Whether the process has exited (its final times stay readable until it is reaped).
    pub fn exited(&self) -> bool {
        matches!(self.state, 'Z' | 'X')
    }

    /// User plus system CPU seconds, given the clock ticks per second.
    pub fn cpu_seconds(&self, ticks_per_second: u64) -> f64 {
        (self.utime_ticks + self.stime_ticks) as f64 / ticks_per_second.max(1) as f64
    }
}

/// Parses the text of `/proc/<pid>/stat`. The command name (field 2) may hold spaces and
/// parentheses, so the fields are counted from its last `)`.
pub fn parse_stat(text: &str) -> Result<ProcStat> {
    let close = text.rfind(')').context("no `)` closing the command name")?;
    let rest: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // After the name: state is field 3, utime field 14, stime field 15 (1-based, man proc).
    if rest.len() < 13 {
        bail!("only {} fields after the command name", rest.len());
    }
    let state = rest[0].chars().next().context("empty state field")?;
    let number = |i: usize, name: &str| -> Result<u64> {
        rest[i]
            .parse::<u64>()
            .with_context(|| format!("{name} `{}` is not a number", rest[i]))
    };
    Ok(ProcStat {
        state,
        utime_ticks: number(11, "utime")?,
        stime_ticks: number(12, "stime")?,
    })
}

/// Reads and parses `/proc/<pid>/stat`.
pub fn read_stat(pid: u32) -> Result<ProcStat> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    parse_stat(&text).with_context(|| format!("cannot parse {path}"))
}

/// The value in kB of a `Name:   1234 kB` line of a `/proc` status-like file.
pub fn parse_kib_field(text: &str, field: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        if name.trim() != field {
            return None;
        }
        value.split_whitespace().next()?.parse().ok()
    })
}

/// Peak resident memory (`VmHWM`) of a running process in KiB; `None` once it has exited (a
/// zombie has no memory left to report) or when it cannot be read.
pub fn read_peak_rss_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_kib_field(&text, "VmHWM")
}

/// Resident memory (`VmRSS`) of a running process in KiB; `None` once it has exited or when it
/// cannot be read.
pub fn read_rss_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_kib_field(&text, "VmRSS")
}

/// The machine's memory (`MemTotal` of `/proc/meminfo`) in KiB.
pub fn mem_total_kib() -> Result<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").context("cannot read /proc/meminfo")?;
    parse_kib_field(&text, "MemTotal").context("no MemTotal line in /proc/meminfo")
}

/// The first `model name` of `/proc/cpuinfo` text.
pub fn parse_cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        (name.trim() == "model name").then(|| value.trim().to_string())
    })
}

/// The CPU model, or `unknown`.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| parse_cpu_model(&text))
        .unwrap_or_else(|| "unknown".into())
}

/// The effective user id from the `Uid:` line of `/proc/<pid>/status` text.
pub fn parse_effective_uid(status: &str) -> Option<u32> {
    status.lines().find_map(|line| {
        let value = line.strip_prefix("Uid:")?;
        value.split_whitespace().nth(1)?.parse().ok()
    })
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|text| parse_effective_uid(&text))
        == Some(0)
}

/// Clock ticks per second for the times in `/proc/<pid>/stat` (`getconf CLK_TCK`; 100 when
/// that cannot be asked, which is its value on Linux).
pub fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
        .filter(|&ticks: &u64| ticks > 0)
        .unwrap_or(100)
}

/// The full path of `program` if it is an executable file in one of `PATH`'s folders.
pub fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The number of processing units, as `nproc` prints it (the standard library's count when
/// `nproc` cannot be run).
pub fn nproc() -> usize {
    Command::new("nproc")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (tokio-rt (w) x) S 1 4242 4242 0 -1 4194560 2480 0 0 0 \
                        731 154 0 0 20 0 3 0 123456 1234567 890 18446744073709551615";

    #[test]
    fn stat_fields_are_counted_after_the_last_parenthesis() {
        let stat = parse_stat(STAT).unwrap();
        assert_eq!(
            stat,
            ProcStat {
                state: 'S',
                utime_ticks: 731,
                stime_ticks: 154
            }
        );
        assert!(!stat.exited());
        assert!((stat.cpu_seconds(100) - 8.85).abs() < 1e-9);
    }

    #[test]
    fn a_zombie_has_exited() {
        let stat = parse_stat(&STAT.replace(") S ", ") Z ")).unwrap();
        assert!(stat.exited());
    }

    #[test]
    fn truncated_or_garbled_stat_is_an_error() {
        assert!(parse_stat("12 (x) S 1 2").is_err());
        assert!(parse_stat("no parenthesis").is_err());
        assert!(parse_stat(&STAT.replace(" 731 ", " many ")).is_err());
    }

    #[test]
    fn kib_fields_of_status_and_meminfo() {
        let status =
            "Name:\tload-tester\nVmPeak:\t  200000 kB\nVmHWM:\t   51234 kB\nVmRSS:\t 50000 kB\n";
        assert_eq!(parse_kib_field(status, "VmHWM"), Some(51234));
        assert_eq!(parse_kib_field(status, "VmSwap"), None);
        let meminfo = "MemTotal:        8049124 kB\nMemFree:          123 kB\n";
        assert_eq!(parse_kib_field(meminfo, "MemTotal"), Some(8_049_124));
        assert_eq!(parse_kib_field(meminfo, "MemFree"), Some(123));
    }

    #[test]
    fn cpu_model_and_uid() {
        let cpuinfo =
            "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Some CPU @ 2.20GHz\n";
        assert_eq!(
            parse_cpu_model(cpuinfo).as_deref(),
            Some("Some CPU @ 2.20GHz")
        );
        assert_eq!(parse_cpu_model("processor: 0\n"), None);
        let status = "Name:\tx\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
        assert_eq!(parse_effective_uid(status), Some(0));
        assert_eq!(parse_effective_uid("Name:\tx\n"), None);
    }
}
