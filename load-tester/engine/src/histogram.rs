//! Latency histograms: the protocol's, so a coordinator merges generators' seconds exactly.

pub use lt_protocol::LatencyHistogram;
