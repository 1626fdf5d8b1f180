//! How latencies are measured beyond the default: the closed model's correction for coordinated
//! omission (HdrHistogram's `record_correct`).

use std::time::Duration;

use serde::Serialize;

use crate::duration::serde_opt_duration;

/// The `latency` section.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, utoipa::ToSchema)]
pub struct LatencyOptions {
    pub correction: LatencyCorrection,
}

/// Whether (and how) recorded latencies are corrected for the requests a stalled user did not
/// send. Only for the closed model: the open model measures every request from its intended
/// send time, which needs no correction.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LatencyCorrection {
    /// Latencies as measured (the default).
    #[default]
    None,
    /// A request slower than the expected interval between two requests of one user also
    /// records the requests that user would have sent meanwhile: `latency - k × interval` for
    /// every k ≥ 1 while that is at least the interval.
    ExpectedInterval {
        /// The interval; `None` means each endpoint's mean think time plus its median latency
        /// so far.
        #[schema(value_type = Option<String>, examples("1.5s"))]
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "serde_opt_duration"
        )]
        interval: Option<Duration>,
    },
}

impl LatencyCorrection {
    /// Whether latencies are corrected.
    pub fn is_on(&self) -> bool {
        !matches!(self, LatencyCorrection::None)
    }
}
