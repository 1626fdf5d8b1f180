//! Placeholder: the YAML reader is being written.
use std::collections::BTreeMap;

use crate::{Diagnostics, Overrides, Scenario, Threshold};

/// Parses and validates a scenario file.
pub fn parse(file: &str, text: &str) -> Result<Scenario, Diagnostics> {
    parse_with_overrides(file, text, &Overrides::default())
}

/// Parses a scenario file, puts the overrides over it, and validates the result.
pub fn parse_with_overrides(
    _file: &str,
    _text: &str,
    _overrides: &Overrides,
) -> Result<Scenario, Diagnostics> {
    Err(Diagnostics(Vec::new()))
}

/// Applies overrides to a validated scenario and validates the result.
pub fn apply_overrides(_s: &Scenario, _o: &Overrides) -> Result<Scenario, Diagnostics> {
    Err(Diagnostics(Vec::new()))
}

/// Parses one threshold rule.
pub fn parse_threshold(_text: &str) -> Result<Threshold, String> {
    Err(String::new())
}

/// Checks a live weights update against a scenario.
pub fn check_weights(_s: &Scenario, _w: &BTreeMap<String, f64>) -> Result<(), Vec<String>> {
    Ok(())
}
