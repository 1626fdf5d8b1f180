//! The fixed latency bucket bounds of [`EndpointTotals::latency_buckets`](crate::EndpointTotals):
//! the engine counts every timed request since the start into them, and the control server shows
//! them as they are in the `lt_request_duration_seconds` histogram of `/metrics`.

/// Upper bounds in seconds, ascending; the `+Inf` bucket is the endpoint's timed requests.
pub const LATENCY_BUCKETS_S: [f64; 15] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];
