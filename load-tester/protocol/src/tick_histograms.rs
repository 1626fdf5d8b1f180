//! A generator's second whole: the histograms a coordinator adds up so the merged session is
//! exactly what one generator with every user would have reported (see `docs/distributed.md`).

use serde::{Deserialize, Serialize};

/// The second's histograms, each [`crate::LatencyHistogram::encode`]d. Only generators of a
/// session with several send them; the coordinator's merged tick (what the store, the API and the
/// SSE stream see) carries none.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TickHistograms {
    /// Each request row's latency this second, in [`crate::Tick::endpoints`] order.
    pub endpoints: Vec<String>,
    /// Each flow's journeys completed this second, in [`crate::Tick::flows`] order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flows: Vec<String>,
    /// Open model: how late this second's requests left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_lag: Option<String>,
    /// With `latency.correction`: each request row's corrected latency this second, in
    /// [`crate::Tick::endpoints`] order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub corrected: Vec<String>,
}
