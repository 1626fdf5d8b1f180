//! One endpoint's latency since its session started, added up from the ticks' per-second
//! buckets: the `lt_request_duration_seconds` histogram of `/metrics`.

use lt_protocol::{EndpointTick, LATENCY_BUCKETS_S};

/// Cumulative bucket counts over [`LATENCY_BUCKETS_S`], the count and the sum of latencies.
#[derive(Debug, Clone, Default)]
pub struct LatencyTotals {
    /// Requests at or under each bound (empty until the first timed request).
    pub buckets: Vec<u64>,
    pub count: u64,
    /// Seconds.
    pub sum_s: f64,
}

impl LatencyTotals {
    /// Adds one second of an endpoint. A tick without buckets (nothing timed) adds nothing.
    pub fn add(&mut self, tick: &EndpointTick) {
        if tick.latency_buckets.len() != LATENCY_BUCKETS_S.len() {
            return;
        }
        if self.buckets.is_empty() {
            self.buckets = vec![0; LATENCY_BUCKETS_S.len()];
        }
        for (total, n) in self.buckets.iter_mut().zip(&tick.latency_buckets) {
            *total += n;
        }
        // Every request of the second is timed, so the requests are the +Inf bucket; the mean
        // is exact to the histogram's resolution.
        self.count += tick.requests;
        self.sum_s += tick.latency.avg / 1000.0 * tick.requests as f64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lt_protocol::{BreakerState, FailureCounts, Latency};

    fn tick(requests: u64, avg_ms: f64, buckets: Vec<u64>) -> EndpointTick {
        EndpointTick {
            name: "a".into(),
            requests,
            failures: FailureCounts::default(),
            short_circuited: 0,
            latency: Latency {
                avg: avg_ms,
                ..Latency::default()
            },
            weight: 1.0,
            breaker: BreakerState::Closed,
            latency_buckets: buckets,
        }
    }

    #[test]
    fn seconds_add_up_and_empty_ones_are_skipped() {
        let mut totals = LatencyTotals::default();
        totals.add(&tick(0, 0.0, Vec::new()));
        assert!(totals.buckets.is_empty());
        let mut first = vec![2; LATENCY_BUCKETS_S.len()];
        first[0] = 1;
        totals.add(&tick(2, 10.0, first));
        totals.add(&tick(4, 5.0, vec![4; LATENCY_BUCKETS_S.len()]));
        assert_eq!(totals.buckets[0], 5);
        assert_eq!(totals.buckets[14], 6);
        assert_eq!(totals.count, 6);
        assert!((totals.sum_s - 0.04).abs() < 1e-9, "{}", totals.sum_s);
    }
}
