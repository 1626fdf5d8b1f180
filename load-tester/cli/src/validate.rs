//! `load-tester validate FILE...`: every problem of every file, then exit 0 or 2.

use std::path::Path;

use crate::args::ValidateArgs;
use crate::exit;

pub fn main(args: &ValidateArgs) -> u8 {
    let mut all_valid = true;
    for path in &args.files {
        let name = path.display().to_string();
        let Some(scenario) = read(path) else {
            all_valid = false;
            continue;
        };
        let flows = if scenario.flows.is_empty() {
            String::new()
        } else {
            let n = scenario.flows.len();
            format!(", {n} flow{}", plural(n))
        };
        println!(
            "{name}: ok ({} endpoint{}{flows}, {} threshold{})",
            scenario.endpoints.len(),
            plural(scenario.endpoints.len()),
            scenario.thresholds.len(),
            plural(scenario.thresholds.len())
        )
    }
    if all_valid { exit::OK } else { exit::INVALID }
}

/// Reads and checks one scenario file (its data files beside it, variables from this process);
/// on a problem prints every one on stderr with its position, then their count, and gives
/// `None`.
pub fn read(path: &Path) -> Option<lt_scenario::Scenario> {
    let name = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{name}: cannot read the file: {e}");
            return None;
        }
    };
    let env = crate::runtime::process_env();
    let inputs = lt_scenario::Inputs {
        env: &env,
        files: &crate::runtime::data_beside(path),
    };
    match lt_scenario::parse_with(&name, &text, &Default::default(), &inputs) {
        Ok(scenario) => Some(scenario),
        Err(diagnostics) => {
            for d in diagnostics.iter() {
                eprintln!("{d}");
            }
            eprintln!(
                "{name}: {} problem{}",
                diagnostics.len(),
                plural(diagnostics.len())
            );
            None
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
