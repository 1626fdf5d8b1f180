//! Pass/fail rules for CI, such as `p95 < 500ms`, `error_rate < 1%` or `p99 < 2s for n-plus-one`.
//!
//! The grammar (modelled on Goose's `--threshold`): `[journey] METRIC OP VALUE [for NAME]`, where
//! NAME is an endpoint or a flow's step (`flow/step`), or with `journey` a flow (its iterations:
//! latency is the whole journey's time, `error_rate` the share of iterations that failed, `rps`
//! completed iterations per second), and
//! METRIC is `p50`, `p90`, `p95`, `p99`, `max`, `avg` (latencies, VALUE a duration), `error_rate`
//! or `dropped` (VALUE a percentage like `1%` or a ratio like `0.01`) or `rps` (VALUE a number);
//! OP is `<`, `<=`, `>` or `>=`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdMetric {
    P50,
    P90,
    P95,
    P99,
    Max,
    Avg,
    /// Failures / requests, 0..1.
    ErrorRate,
    /// Requests per second over the run.
    Rps,
    /// Open model: dropped arrivals / (requests + dropped arrivals), 0..1.
    Dropped,
}

impl ThresholdMetric {
    /// The metric's name in threshold text.
    pub fn as_str(self) -> &'static str {
        match self {
            ThresholdMetric::P50 => "p50",
            ThresholdMetric::P90 => "p90",
            ThresholdMetric::P95 => "p95",
            ThresholdMetric::P99 => "p99",
            ThresholdMetric::Max => "max",
            ThresholdMetric::Avg => "avg",
            ThresholdMetric::ErrorRate => "error_rate",
            ThresholdMetric::Rps => "rps",
            ThresholdMetric::Dropped => "dropped",
        }
    }

    /// Whether the value is a latency in milliseconds.
    pub fn is_latency(self) -> bool {
        !matches!(
            self,
            ThresholdMetric::ErrorRate | ThresholdMetric::Rps | ThresholdMetric::Dropped
        )
    }
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Comparison {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
}

impl Comparison {
    /// Whether `observed OP limit` holds.
    pub fn holds(self, observed: f64, limit: f64) -> bool {
        match self {
            Comparison::Lt => observed < limit,
            Comparison::Le => observed <= limit,
            Comparison::Gt => observed > limit,
            Comparison::Ge => observed >= limit,
        }
    }

    /// The operator's text.
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::Lt => "<",
            Comparison::Le => "<=",
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
        }
    }
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Threshold {
    /// The rule as written, for reports.
    pub rule: String,
    pub metric: ThresholdMetric,
    pub op: Comparison,
    /// Milliseconds for latencies, a ratio (0..1) for `error_rate` and `dropped`, requests/s for
    /// `rps`.
    pub value: f64,
    /// Only this endpoint's (or step's) requests; `None` means all requests. With `journey`,
    /// the flow.
    pub endpoint: Option<String>,
    /// Judged on a flow's iterations rather than on requests.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub journey: bool,
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rule)
    }
}
