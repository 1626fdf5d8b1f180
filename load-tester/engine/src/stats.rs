//! Per-endpoint counters and latency histograms recorded by the dispatcher and drained once a
//! second by the controller.
//!
//! Recording takes one atomic add and one short lock on one of a few histogram shards (chosen by
//! user), so users on different cores rarely meet. Draining swaps the counters to zero and moves
//! the shards' values into the caller's histogram, so memory stays bounded however long the run.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use lt_protocol::{FailureClass, FailureCounts};

use crate::histogram::LatencyHistogram;

const SHARDS: usize = 4;

/// What one endpoint did since the last drain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drained {
    pub requests: u64,
    pub failures: FailureCounts,
    pub short_circuited: u64,
}

/// One endpoint's live measurements.
#[derive(Debug)]
pub struct EndpointStats {
    requests: AtomicU64,
    failures: [AtomicU64; 7],
    short_circuited: AtomicU64,
    shards: [Mutex<LatencyHistogram>; SHARDS],
}

impl Default for EndpointStats {
    fn default() -> Self {
        EndpointStats {
            requests: AtomicU64::new(0),
            failures: Default::default(),
            short_circuited: AtomicU64::new(0),
            shards: Default::default(),
        }
    }
}

fn class_index(class: FailureClass) -> usize {
    match class {
        FailureClass::Connect => 0,
        FailureClass::Timeout => 1,
        FailureClass::Status4xx => 2,
        FailureClass::Status5xx => 3,
        FailureClass::Unexpected => 4,
        FailureClass::Capture => 5,
        FailureClass::Check => 6,
    }
}

impl EndpointStats {
    /// Records one sent request: its latency and, if it failed, how.
    pub fn record(&self, user: usize, micros: u64, failure: Option<FailureClass>) {
        // A connection that could not be made has no latency: it is counted, not timed.
        if failure != Some(FailureClass::Connect) {
            let mut shard = self.shards[user % SHARDS]
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            shard.record(micros);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        if let Some(class) = failure {
            self.failures[class_index(class)].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records a request that failed before it could be sent (a rendered value the HTTP stack
    /// refuses): counted, not timed.
    pub fn record_unsent(&self, class: FailureClass) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.failures[class_index(class)].fetch_add(1, Ordering::Relaxed);
    }

    /// Records a request the breaker refused.
    pub fn short_circuit(&self) {
        self.short_circuited.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes everything recorded since the last drain; latencies go into `into`.
    pub fn drain(&self, into: &mut LatencyHistogram) -> Drained {
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            into.merge(&shard);
            shard.reset();
        }
        let mut failures = FailureCounts::default();
        for class in FailureClass::ALL {
            failures.add(
                class,
                self.failures[class_index(class)].swap(0, Ordering::Relaxed),
            );
        }
        Drained {
            requests: self.requests.swap(0, Ordering::Relaxed),
            failures,
            short_circuited: self.short_circuited.swap(0, Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drain_takes_everything_once() {
        let s = EndpointStats::default();
        s.record(0, 1000, None);
        s.record(1, 2000, Some(FailureClass::Status5xx));
        s.record(2, 3000, Some(FailureClass::Timeout));
        s.short_circuit();
        let mut h = LatencyHistogram::new();
        let d = s.drain(&mut h);
        assert_eq!(d.requests, 3);
        assert_eq!(d.failures.total(), 2);
        assert_eq!(d.failures.status_5xx, 1);
        assert_eq!(d.short_circuited, 1);
        assert_eq!(h.count(), 3);
        let mut h2 = LatencyHistogram::new();
        assert_eq!(s.drain(&mut h2), Drained::default());
        assert_eq!(h2.count(), 0);
    }
}
