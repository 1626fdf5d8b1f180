//! The load engine: runs a [`lt_scenario::Scenario`] with Goose, through our own dispatcher.
//!
//! This is the only crate that knows Goose. Goose runs one transaction, the
//! [dispatcher](dispatcher), that picks an endpoint from live weights and applies the breaker,
//! backoff, pacing, trace context and user ids; our controller follows the schedule, keeps
//! per-second HDR histograms, judges the error budget and load reduction, and ends the run.
//! Events ([`lt_protocol::WorkerEvent`]) go to whoever watches: the CLI's progress line, or the
//! control server through a worker process.
//!
//! Goose keeps process-wide state, so a process runs one [`Engine`] at a time.

mod answer;
mod arrivals;
mod backoff;
mod breaker;
mod client_spans;
mod control;
mod controller;
mod correction;
mod dispatcher;
mod engine;
mod errors;
mod handle;
mod histogram;
mod journey;
pub mod junit;
mod junit_notes;
mod pacer;
mod plan;
mod render;
mod run_state;
mod schedule;
mod self_monitor;
mod stats;
mod stop;
mod traceparent;
mod transport;

// Shared with the coordinator, which judges load reduction on merged seconds.
use lt_protocol::{reduction, window};

pub use engine::{Engine, RunOptions};
pub use handle::EngineHandle;
pub use histogram::LatencyHistogram;
pub use transport::verifying_config as verifying_tls_config;

/// Why a run could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("endpoint `{endpoint}`: {reason}")]
    InvalidEndpoint { endpoint: String, reason: String },
    #[error("session id `{0}` cannot be sent in a header")]
    InvalidSessionId(String),
    #[error("client spans: {0}")]
    ClientSpans(#[from] client_spans::ClientSpansError),
    #[error("goose: {0}")]
    Goose(String),
    #[error("internal error: {0}")]
    Internal(String),
}
