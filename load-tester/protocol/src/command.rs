//! What a controller may ask of a running load test. Each takes effect within a second.

use lt_scenario::LiveChange;
use serde::{Deserialize, Serialize};

/// A live change or a stop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Change users, weights, think time or arrival rate (checked by
    /// [`lt_scenario::check_change`]); the worker answers with a `change` event carrying `id`.
    Change { id: u64, change: LiveChange },
    /// Stop gracefully: no new requests, in-flight ones finish, reports are written.
    Stop,
    /// Emergency stop of a network generator: it exits its process on receipt, dropping every
    /// connection to the target.
    StopNow,
    /// To a network generator of a session with `protection.load_reduction`: park `users` of its
    /// users from now on. The coordinator decides load reduction on the merged seconds and
    /// sends each generator its share; a generator then runs no reduction of its own.
    Park { users: u32 },
}
