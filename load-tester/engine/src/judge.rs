//! Thresholds judged against the whole run's measurements.

use lt_protocol::ThresholdOutcome;
use lt_scenario::{Threshold, ThresholdMetric};

use crate::histogram::LatencyHistogram;

/// What a threshold is judged on: one endpoint's or all requests' totals.
#[derive(Debug)]
pub struct Measured<'a> {
    pub requests: u64,
    pub failures: u64,
    pub latency: &'a LatencyHistogram,
}

/// Judges `threshold` on `measured` over a run of `duration_s` seconds. Without any request
/// there is nothing to measure and the rule fails (a gate should not pass on no data).
pub fn judge(threshold: &Threshold, measured: &Measured<'_>, duration_s: f64) -> ThresholdOutcome {
    let observed = if measured.requests == 0 {
        None
    } else {
        let h = measured.latency;
        Some(match threshold.metric {
            ThresholdMetric::P50 => h.quantile_ms(0.50),
            ThresholdMetric::P90 => h.quantile_ms(0.90),
            ThresholdMetric::P95 => h.quantile_ms(0.95),
            ThresholdMetric::P99 => h.quantile_ms(0.99),
            ThresholdMetric::Max => h.latency().max,
            ThresholdMetric::Avg => h.latency().avg,
            ThresholdMetric::ErrorRate => measured.failures as f64 / measured.requests as f64,
            ThresholdMetric::Rps => measured.requests as f64 / duration_s.max(1e-9),
        })
    };
    ThresholdOutcome {
        rule: threshold.rule.clone(),
        passed: observed.is_some_and(|v| threshold.op.holds(v, threshold.value)),
        observed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lt_scenario::Comparison;

    fn rule(metric: ThresholdMetric, op: Comparison, value: f64) -> Threshold {
        Threshold {
            rule: "r".into(),
            metric,
            op,
            value,
            endpoint: None,
        }
    }

    #[test]
    fn judges_each_metric() {
        let mut h = LatencyHistogram::new();
        for ms in 1..=100u64 {
            h.record(ms * 1000);
        }
        let m = Measured {
            requests: 100,
            failures: 2,
            latency: &h,
        };
        assert!(judge(&rule(ThresholdMetric::P95, Comparison::Lt, 200.0), &m, 10.0).passed);
        assert!(!judge(&rule(ThresholdMetric::P95, Comparison::Lt, 50.0), &m, 10.0).passed);
        let e = judge(
            &rule(ThresholdMetric::ErrorRate, Comparison::Lt, 0.01),
            &m,
            10.0,
        );
        assert!(!e.passed);
        assert_eq!(e.observed, Some(0.02));
        let r = judge(&rule(ThresholdMetric::Rps, Comparison::Ge, 10.0), &m, 10.0);
        assert!(r.passed);
        let empty = LatencyHistogram::new();
        let none = Measured {
            requests: 0,
            failures: 0,
            latency: &empty,
        };
        let n = judge(
            &rule(ThresholdMetric::P95, Comparison::Lt, 1e9),
            &none,
            10.0,
        );
        assert!(!n.passed);
        assert_eq!(n.observed, None);
    }
}
