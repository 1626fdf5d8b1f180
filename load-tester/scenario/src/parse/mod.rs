//! Scenario files in, validated [`Scenario`]s or every problem out.
//!
//! Reading goes in two steps: [`yaml`] turns the text into a node tree with positions (syntax
//! errors stop there), then [`document`] walks the tree with the typed [`reader`], one module per
//! section, recording every problem and checking the values against each other. Overrides are
//! checked on their own first ([`overrides`]) and put over the file's values before the checks.

mod data;
mod document;
mod endpoints;
mod flows;
mod latency;
mod limits;
mod load;
mod overrides;
mod protection;
mod reader;
mod request;
mod suggest;
mod templates;
mod thresholds;
mod tls;
mod url;
mod user_ids;
mod yaml;

pub(crate) use reader::shorten;
pub(crate) use yaml::too_deep;

use crate::data::{DataFiles, NoDataFiles};
use crate::env::Env;
use crate::{Diagnostics, Overrides, Scenario};

pub use overrides::{apply_overrides, check_weights, check_weights_against};
pub use thresholds::parse_threshold;

/// Parses and validates a scenario file; `file` names it in diagnostics.
pub fn parse(file: &str, text: &str) -> Result<Scenario, Diagnostics> {
    parse_with_overrides(file, text, &Overrides::default())
}

/// Parses a scenario file, puts the overrides over it, and validates the result. Problems in
/// the file come first, in file order, then problems with the overrides (source `overrides`).
pub fn parse_with_overrides(
    file: &str,
    text: &str,
    overrides: &Overrides,
) -> Result<Scenario, Diagnostics> {
    parse_with_env(file, text, overrides, &Env::default())
}

/// Like [`parse_with_overrides`], with the environment variables `{{ env.NAME }}` templates may
/// read (and no data files).
pub fn parse_with_env(
    file: &str,
    text: &str,
    overrides: &Overrides,
    env: &Env,
) -> Result<Scenario, Diagnostics> {
    parse_with(
        file,
        text,
        overrides,
        &Inputs {
            env,
            files: &NoDataFiles,
        },
    )
}

/// What a scenario may read besides its text: environment variables and data files.
#[derive(Clone, Copy)]
pub struct Inputs<'a> {
    pub env: &'a Env,
    pub files: &'a dyn DataFiles,
}

/// Like [`parse_with_overrides`], with the environment and the data files the scenario may read.
pub fn parse_with(
    file: &str,
    text: &str,
    overrides: &Overrides,
    inputs: &Inputs<'_>,
) -> Result<Scenario, Diagnostics> {
    let mut override_problems = reader::Reader::new(overrides::SOURCE);
    let valid = overrides::check(&mut override_problems, overrides);
    let mut r = reader::Reader::new(file);
    let scenario = yaml::load(&mut r, text).and_then(|root| {
        document::read(
            &mut r,
            &mut override_problems,
            &reader::Item::root(&root),
            &valid,
            inputs,
        )
    });
    match scenario {
        Some(s) if r.diags.is_empty() && override_problems.diags.is_empty() => Ok(s),
        _ => {
            let diags = overrides::merge(r.diags, override_problems.diags);
            if diags.is_empty() {
                // Unreachable by construction; never return an empty error.
                return Err(Diagnostics(vec![crate::Diagnostic {
                    file: file.to_string(),
                    line: 0,
                    column: 0,
                    path: String::new(),
                    message: "the scenario could not be read".to_string(),
                }]));
            }
            Err(Diagnostics(diags))
        }
    }
}
