//! What the figures were measured on: the date, the machine (cores, memory, CPU model) and the
//! versions of the tools, printed above the tables so a result can be compared with another.

use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::generators::Toolbox;
use crate::os;

/// The header lines describing the date, the machine and the tools.
pub fn describe(toolbox: &Toolbox) -> Vec<String> {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let memory = match os::mem_total_kib() {
        Ok(kib) => format!("{:.1} GiB", kib as f64 / 1024.0 / 1024.0),
        Err(e) => format!("unknown ({e:#})"),
    };
    let load_tester = toolbox.load_tester.display().to_string();
    let wrk_version = match &toolbox.wrk {
        Some(wrk) => {
            let wrk = wrk.display().to_string();
            first_line_of(&[&wrk, "-v"]).unwrap_or_else(|| "did not answer -v".into())
        }
        None => "not available".into(),
    };
    vec![
        format!("- date: {}", utc_timestamp(seconds)),
        format!(
            "- machine: {} cores (nproc), {memory} memory, {}",
            os::nproc(),
            os::cpu_model()
        ),
        format!(
            "- load-tester: {}",
            first_line_of(&[&load_tester, "--version"])
                .unwrap_or_else(|| "did not answer --version".into())
        ),
        format!("- lt-bench: {} (Goose 0.19)", env!("CARGO_PKG_VERSION")),
        format!("- wrk: {wrk_version}"),
        format!(
            "- rustc: {}",
            first_line_of(&["rustc", "-V"]).unwrap_or_else(|| "not found on PATH".into())
        ),
    ]
}

/// Runs `argv` briefly and returns the first line it prints (stdout, else stderr), for version
/// strings; `None` when it cannot run.
pub fn first_line_of(argv: &[&str]) -> Option<String> {
    let (program, args) = argv.split_first()?;
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    stdout
        .lines()
        .chain(stderr.lines())
        .map(str::trim)
        .find(|line| !line.is_empty())
        .map(str::to_string)
}

/// `2024-05-01T12:34:56Z` for seconds since the Unix epoch (UTC).
pub fn utc_timestamp(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let rest = unix_seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(utc_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_timestamp(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(utc_timestamp(4_107_542_399), "2100-02-28T23:59:59Z");
    }
}
