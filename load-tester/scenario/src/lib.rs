//! The scenario format: the unit users write, version and run.
//!
//! This crate is pure: no I/O (but for the `fs` feature's [`data_folder`], the one reader of data
//! files), no Goose, no clock, and it never panics on input. It turns YAML
//! text into a validated [`Scenario`] or into [`Diagnostics`] that name every problem with its
//! position (`FILE:LINE:COLUMN: field.path: message`). The format is documented in
//! `docs/scenario-format.md`.

pub mod address;
pub mod data;
#[cfg(feature = "fs")]
pub mod data_folder;
mod diagnostic;
pub mod duration;
pub mod env;
pub mod generator_limits;
pub mod journey;
pub mod latency_options;
mod live;
mod model;
mod parse;
pub mod redact;
pub mod segment;
pub mod template;
pub mod threshold;
pub mod tls_options;

pub use data::{DataFiles, DataTable, NoDataFiles};
pub use diagnostic::{Diagnostic, Diagnostics};
pub use duration::{format_duration, parse_duration};
pub use env::Env;
pub use generator_limits::GeneratorLimits;
pub use journey::*;
pub use latency_options::{LatencyCorrection, LatencyOptions};
pub use live::{CapExceeded, LiveChange, LiveLimits, Refusal, check_change};
pub use model::*;
pub use parse::{
    Inputs, apply_overrides, check_weights, check_weights_against, parse, parse_threshold,
    parse_with, parse_with_env, parse_with_overrides,
};
pub use threshold::{Comparison, Threshold, ThresholdMetric};
pub use tls_options::TlsOptions;
