//! Shared bits of the end-to-end tests: the binary under test and scenario building.

#![allow(dead_code)]

use std::time::Duration;

use lt_testkit::{RunResult, run_binary};

pub const BIN: &str = env!("CARGO_BIN_EXE_load-tester");

/// Runs `load-tester args…` with a generous limit.
pub async fn load_tester(args: &[&str]) -> RunResult {
    run_binary(BIN, args, &[], Duration::from_secs(120)).await
}

/// A scenario against `target` with these endpoint lines (YAML list items) and extra sections.
pub fn scenario(target: &str, load: &str, endpoints: &str, extra: &str) -> String {
    format!(
        "name: e2e\ntarget: {target}\nload:\n{load}\nendpoints:\n{endpoints}\n{extra}\n"
    )
}

/// Reads a JSON file.
pub fn read_json(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}
