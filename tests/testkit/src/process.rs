//! Running the real binaries from tests.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// What a finished command did.
#[derive(Debug)]
pub struct RunResult {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `binary args…`, killing it if it outlives `limit`.
pub async fn run_binary(
    binary: &str,
    args: &[&str],
    env: &[(&str, &str)],
    limit: Duration,
) -> RunResult {
    let mut command = tokio::process::Command::new(binary);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .env_remove("TARGET_APP_URL");
    for (k, v) in env {
        command.env(k, v);
    }
    let child = command.spawn().expect("spawn the binary");
    let output = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{binary} {args:?} ran past {limit:?}"))
        .expect("wait for the binary");
    RunResult {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Writes `yaml` to `dir/name` and returns the path.
pub fn write_scenario(dir: &Path, name: &str, yaml: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, yaml).expect("write the scenario");
    path
}
