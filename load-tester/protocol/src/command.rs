//! What a controller may ask of a running load test. Each takes effect within a second.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A live change or a stop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Run this many users (up to the scenario's `max_users`); replaces the ramp/stage schedule.
    SetUsers { users: u32 },
    /// New weights for the named endpoints; others keep theirs.
    SetWeights { weights: BTreeMap<String, f64> },
    /// New think time, in milliseconds.
    SetThinkTime { min_ms: u64, max_ms: u64 },
    /// New open-model arrival rate in requests/s; `None` goes back to the closed model.
    SetArrivalRate { rate: Option<f64> },
    /// Stop gracefully: no new requests, in-flight ones finish, reports are written.
    Stop,
}
