//! `wrk`, the ceiling the throughput benchmark compares with: found on `PATH`, or installed
//! with `apt-get` when missing and running as root.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::os;

/// `wrk` from `PATH`; when missing, installed with `apt-get install -y wrk` if this runs as
/// root. Returns it (or nothing) and a line saying what happened.
pub fn find_or_install_wrk(workdir: &Path) -> (Option<PathBuf>, String) {
    if let Some(wrk) = os::find_in_path("wrk") {
        return (Some(wrk), "found on PATH".into());
    }
    if !os::is_root() {
        return (
            None,
            "skipped: wrk is not installed and lt-bench does not run as root to install it".into(),
        );
    }
    if os::find_in_path("apt-get").is_none() {
        return (
            None,
            "skipped: wrk is not installed and there is no apt-get to install it".into(),
        );
    }
    eprintln!("wrk is missing; running `apt-get install -y wrk` ...");
    let installed = Command::new("apt-get")
        .args(["install", "-y", "wrk"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output();
    match (installed, os::find_in_path("wrk")) {
        (Ok(out), Some(wrk)) if out.status.success() => {
            (Some(wrk), "installed with `apt-get install -y wrk`".into())
        }
        (Ok(out), _) => {
            let log = workdir.join("apt-get.log");
            let _ = std::fs::write(&log, [&out.stdout[..], &out.stderr[..]].concat());
            let text = String::from_utf8_lossy(&out.stderr);
            let last = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            (
                None,
                format!(
                    "skipped: `apt-get install -y wrk` failed ({}): {last}",
                    out.status
                ),
            )
        }
        (Err(e), _) => (
            None,
            format!("skipped: cannot run `apt-get install -y wrk`: {e}"),
        ),
    }
}
