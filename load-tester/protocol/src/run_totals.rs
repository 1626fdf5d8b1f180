//! A run's totals since its start, kept the same way by a generator's controller (from what it
//! measured) and by a coordinator (from its generators' merged seconds): the ticks' running
//! totals and the final [`crate::Report`] (see [`crate::run_report`]) are read from them.

use crate::{EndpointTotals, FailureCounts, FlowTotals, LATENCY_BUCKETS_S, LatencyHistogram};

/// One request row (an endpoint or a flow's step) since the start.
#[derive(Debug, Default, Clone)]
pub struct RowTotals {
    pub requests: u64,
    pub failures: FailureCounts,
    pub short_circuited: u64,
    /// Open model: arrivals dropped for want of a free user (attributed by weight).
    pub dropped: u64,
    pub latency: LatencyHistogram,
    /// With `latency.correction`: the corrected latencies.
    pub corrected: Option<LatencyHistogram>,
}

/// One second of a request row, as a tick carries it, with its latencies.
#[derive(Debug, Clone, Copy)]
pub struct RowSecond<'a> {
    pub requests: u64,
    pub failures: &'a FailureCounts,
    pub short_circuited: u64,
    pub dropped: u64,
    pub latency: &'a LatencyHistogram,
    pub corrected: Option<&'a LatencyHistogram>,
}

impl RowTotals {
    /// Adds one second.
    pub fn add(&mut self, second: RowSecond<'_>) {
        self.requests += second.requests;
        self.failures.merge(second.failures);
        self.short_circuited += second.short_circuited;
        self.dropped += second.dropped;
        self.latency.merge(second.latency);
        if let Some(corrected) = second.corrected {
            self.corrected
                .get_or_insert_with(LatencyHistogram::new)
                .merge(corrected);
        }
    }

    /// The totals a tick carries for this row.
    pub fn tick_totals(&self) -> EndpointTotals {
        let whole = self.latency.latency();
        let timed = self.latency.count();
        EndpointTotals {
            requests: self.requests,
            failures: self.failures,
            short_circuited: self.short_circuited,
            latency: whole,
            timed,
            latency_sum_s: whole.avg / 1000.0 * timed as f64,
            latency_buckets: self.latency.cumulative_counts(&LATENCY_BUCKETS_S),
            dropped: self.dropped,
            corrected_latency: self.corrected.as_ref().map(LatencyHistogram::latency),
        }
    }
}

/// One flow's iterations since the start.
#[derive(Debug, Default, Clone)]
pub struct JourneyTotals {
    pub started: u64,
    pub completed: u64,
    pub failed: u64,
    /// Durations of the completed iterations.
    pub journey: LatencyHistogram,
}

impl JourneyTotals {
    /// Adds one second: iterations started, completed and failed, and the completed ones'
    /// durations.
    pub fn add(&mut self, started: u64, completed: u64, failed: u64, journey: &LatencyHistogram) {
        self.started += started;
        self.completed += completed;
        self.failed += failed;
        self.journey.merge(journey);
    }

    /// The totals a tick carries for this flow.
    pub fn tick_totals(&self) -> FlowTotals {
        FlowTotals {
            started: self.started,
            completed: self.completed,
            failed: self.failed,
            journey: self.journey.latency(),
        }
    }
}

/// The whole run's totals.
#[derive(Debug, Default)]
pub struct RunTotals {
    /// Each request row, in the order of [`crate::run_report::RunShape::rows`].
    pub rows: Vec<RowTotals>,
    /// Each flow, in scenario order.
    pub flows: Vec<JourneyTotals>,
    /// Every timed request.
    pub all: LatencyHistogram,
    /// Open model: how late requests left after their intended time.
    pub schedule_lag: LatencyHistogram,
    /// With `latency.correction`: every row's corrected latencies.
    pub corrected: Option<LatencyHistogram>,
}

impl RunTotals {
    /// Empty totals of `rows` request rows and `flows` flows, with corrected latencies kept when
    /// `corrected`.
    pub fn new(rows: usize, flows: usize, corrected: bool) -> RunTotals {
        let row = RowTotals {
            corrected: corrected.then(LatencyHistogram::new),
            ..RowTotals::default()
        };
        RunTotals {
            rows: vec![row; rows],
            flows: vec![JourneyTotals::default(); flows],
            all: LatencyHistogram::new(),
            schedule_lag: LatencyHistogram::new(),
            corrected: corrected.then(LatencyHistogram::new),
        }
    }

    /// Adds one second of row `i` (and its latencies to the run's).
    pub fn add_row(&mut self, i: usize, second: RowSecond<'_>) {
        if let Some(row) = self.rows.get_mut(i) {
            row.add(second);
        }
        self.all.merge(second.latency);
        if let Some(corrected) = second.corrected {
            self.corrected
                .get_or_insert_with(LatencyHistogram::new)
                .merge(corrected);
        }
    }

    pub fn requests(&self) -> u64 {
        self.rows.iter().map(|r| r.requests).sum()
    }

    pub fn failures(&self) -> u64 {
        self.rows.iter().map(|r| r.failures.total()).sum()
    }

    pub fn dropped(&self) -> u64 {
        self.rows.iter().map(|r| r.dropped).sum()
    }
}
