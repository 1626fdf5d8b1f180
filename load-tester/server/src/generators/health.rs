//! Each generator of a session as the coordinator last saw it, for the API's live view.

use std::sync::{Arc, Mutex};

use serde::Serialize;

/// Where a generator is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GeneratorState {
    /// Started, not yet joined (or not yet welcomed with the others).
    Joining,
    /// Running its segment.
    Running,
    /// No tick for 3 s, or its connection closed before its report (`generators.on_loss`).
    Lost,
    /// Done: its report is in.
    Ended,
}

/// One generator of a session run by several.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GeneratorHealth {
    /// Its index, from 0.
    pub index: u32,
    pub state: GeneratorState,
    /// When the coordinator last heard from it, in milliseconds since the Unix epoch.
    pub last_heard_ms: Option<u64>,
    /// Its last second.
    pub second: u64,
    /// Requests it sent since the start.
    pub total_requests: u64,
    /// Bytes the coordinator received from it since it was welcomed (ticks, errors, its report).
    pub received_bytes: u64,
    /// Its CPU in its last second, in percent of one core.
    pub cpu_percent: Option<f64>,
    /// Set while it is saturated: its own warning.
    pub saturated: Option<String>,
}

/// A session's generators, shared by its coordinator (which writes) and the API (which reads).
pub type HealthBoard = Arc<Mutex<Vec<GeneratorHealth>>>;

/// `count` generators, all joining.
pub fn joining(count: u32) -> Vec<GeneratorHealth> {
    (0..count)
        .map(|index| GeneratorHealth {
            index,
            state: GeneratorState::Joining,
            last_heard_ms: None,
            second: 0,
            total_requests: 0,
            received_bytes: 0,
            cpu_percent: None,
            saturated: None,
        })
        .collect()
}
