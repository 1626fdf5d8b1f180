//! Test support shared by the end-to-end tests in `tests/e2e/`.
//!
//! [`Fixture`] is a real HTTP server on `127.0.0.1:0` whose endpoints succeed, fail, slow down or
//! hang on demand, and which records every request it receives (path, trace context, user id,
//! arrival time), so tests check load from the target's side. [`otlp::Receiver`] is a real
//! OTLP/HTTP receiver that decodes what exporters send. [`kube_api`] is a stand-in of the
//! Kubernetes API server (the one stand-in: no cluster runs where this is tested).

mod fixture;
pub mod kube_api;
pub mod otlp;
mod process;

pub use fixture::{Fixture, Mode, Received};
pub use process::{RunResult, run_binary, write_scenario};
