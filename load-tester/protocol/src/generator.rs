//! The load generator's own health: what it used each second and whether it could have
//! distorted the results.

use serde::{Deserialize, Serialize};

/// The generator process over one second.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GeneratorStats {
    /// CPU used by the generator process, in percent of one core (200 is two cores busy).
    pub cpu_percent: f64,
    /// Cores the generator may run on.
    pub cores: u32,
    /// Resident memory of the generator process, in bytes.
    pub memory_bytes: u64,
    /// How late the generator's timers fired at worst this second, in milliseconds (a busy or
    /// starved generator sends late and measures late).
    pub timer_lag_ms: f64,
    /// Set while CPU stays above 90 % of what the generator may use, or its timers run late:
    /// the message says which, and that results may be distorted by the generator itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saturated: Option<String>,
    /// Set while `max_memory` or `max_cpu` keeps users from being added: says which limit and
    /// how many users are held back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limited: Option<String>,
}

/// The generator over the whole run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GeneratorReport {
    /// The busiest second's CPU, in percent of one core.
    pub peak_cpu_percent: f64,
    pub cores: u32,
    /// The largest resident memory seen, in bytes.
    pub peak_memory_bytes: u64,
    /// The worst timer lag, in milliseconds.
    pub max_timer_lag_ms: f64,
    /// Seconds during which the generator was saturated.
    pub saturated_seconds: u64,
    /// Seconds during which a limit held users back.
    pub limited_seconds: u64,
    /// Each distinct warning, in the order first seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}
