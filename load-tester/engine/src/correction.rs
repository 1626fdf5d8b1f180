//! The closed model's correction for coordinated omission (`latency.correction:
//! expected_interval`), HdrHistogram's `record_correct` applied to each second's histogram.
//!
//! In the closed model a user waits for its answer before it sends again, so a target that
//! stalls for S seconds gets one slow request from each user instead of the S / interval
//! requests the user would have sent at its usual cadence: the stall hides in a handful of
//! values. The correction adds those missing requests back, each with the latency it would have
//! seen (`S - interval`, `S - 2 × interval`, … down to the interval). The measured latencies
//! stay as they are; the corrected ones are reported beside them.

use std::time::Duration;

use lt_scenario::{LatencyCorrection, Scenario, ThinkTime};

use crate::histogram::LatencyHistogram;

/// The shortest interval used: finer would add a value per microsecond of a long stall.
const MIN_INTERVAL_US: u64 = 1_000;

/// The correction of one run.
#[derive(Debug, Clone, Copy)]
pub struct Corrector {
    /// The interval the scenario fixes; `None` to derive it from think time and latency.
    fixed: Option<Duration>,
}

impl Corrector {
    /// The scenario's correction, if it asks for one.
    pub fn of(scenario: &Scenario) -> Option<Corrector> {
        match scenario.latency.correction {
            LatencyCorrection::None => None,
            LatencyCorrection::ExpectedInterval { interval } => Some(Corrector { fixed: interval }),
        }
    }

    /// The expected interval between two requests of one user, in microseconds: the fixed one,
    /// or the mean think time plus `median_ms`, the median latency so far.
    pub fn interval_us(&self, think: ThinkTime, median_ms: f64) -> u64 {
        let us = match self.fixed {
            Some(d) => d.as_micros() as u64,
            None => {
                let mean_think = (think.min + think.max) / 2;
                mean_think.as_micros() as u64 + (median_ms * 1000.0).max(0.0) as u64
            }
        };
        us.max(MIN_INTERVAL_US)
    }

    /// `raw` corrected with `interval_us`.
    pub fn correct(&self, raw: &LatencyHistogram, interval_us: u64) -> LatencyHistogram {
        let mut out = LatencyHistogram::new();
        out.merge_corrected(raw, interval_us);
        out
    }

    /// The correction as people read it, with the interval last used.
    pub fn describe(&self, last_interval_us: u64) -> String {
        let seconds = last_interval_us as f64 / 1e6;
        match self.fixed {
            Some(_) => format!("expected_interval {seconds:.3} s"),
            None => {
                format!("expected_interval {seconds:.3} s (auto: mean think time + median latency)")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of docs/scenario-format.md: a user with a 100 ms cadence sends 100 requests
    /// of 1 ms and meets one stall of 1 s. Measured, the stall is one value in 101: p50, p90 and
    /// p99 stay at 1 ms. Corrected, it brings the 9 requests the user would have sent during
    /// the stall (900, 800, …, 100 ms): 110 values, the last 10 from 100 ms to 1 s, so p95 (the
    /// 105th value) is 500 ms and p99 (the 109th) 900 ms.
    #[test]
    fn a_synthetic_stall_gives_the_documented_percentiles() {
        let mut raw = LatencyHistogram::new();
        for _ in 0..100 {
            raw.record(1_000);
        }
        raw.record(1_000_000);
        let c = Corrector {
            fixed: Some(Duration::from_millis(100)),
        };
        let interval = c.interval_us(ThinkTime::default(), 0.0);
        assert_eq!(interval, 100_000);
        let corrected = c.correct(&raw, interval);

        let measured = raw.latency();
        assert_eq!(raw.count(), 101);
        assert!((measured.p99 - 1.0).abs() < 0.02, "{measured:?}");

        let l = corrected.latency();
        assert_eq!(corrected.count(), 110);
        assert!((l.p50 - 1.0).abs() < 0.02, "{l:?}");
        assert!((l.p90 - 1.0).abs() < 0.02, "{l:?}");
        assert!((l.p95 - 500.0).abs() <= 5.0, "{l:?}");
        assert!((l.p99 - 900.0).abs() <= 9.0, "{l:?}");
        assert!((l.max - 1000.0).abs() <= 10.0, "{l:?}");
    }

    #[test]
    fn the_automatic_interval_is_mean_think_time_plus_the_median() {
        let c = Corrector { fixed: None };
        let think = ThinkTime {
            min: Duration::from_millis(100),
            max: Duration::from_millis(300),
        };
        assert_eq!(c.interval_us(think, 5.0), 205_000);
        let none = ThinkTime {
            min: Duration::ZERO,
            max: Duration::ZERO,
        };
        assert_eq!(c.interval_us(none, 0.0), MIN_INTERVAL_US);
    }
}
