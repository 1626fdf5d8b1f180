//! Thresholds judged against the whole run's measurements, and the verdicts every run gets.
//!
//! Latency rules are judged on the requests that got a response or timed out: a connection that
//! could not be made has no latency worth the name (it would make `p95 < 2s` pass on a target
//! that is down), and a request the breaker refused was never sent.

use crate::ThresholdOutcome;
use lt_scenario::{Threshold, ThresholdMetric};

use crate::histogram::LatencyHistogram;

/// What a threshold is judged on: one endpoint's (or step's) or all requests' totals, or for a
/// journey rule a flow's ended iterations (failures: those that failed; latency: the completed
/// ones' durations).
#[derive(Debug)]
pub struct Measured<'a> {
    pub requests: u64,
    pub failures: u64,
    /// Open model: arrivals dropped for want of a free user.
    pub dropped: u64,
    pub latency: &'a LatencyHistogram,
}

/// Judges `threshold` on `measured` over a run of `duration_s` seconds. Without any request
/// there is nothing to measure and the rule fails (a gate should not pass on no data).
pub fn judge(threshold: &Threshold, measured: &Measured<'_>, duration_s: f64) -> ThresholdOutcome {
    // Nothing to measure: no request at all, or (for a latency rule) no request that was timed,
    // such as when every connection was refused.
    let untimed = threshold.metric.is_latency() && measured.latency.count() == 0;
    // Dropped arrivals are measured even when none was sent: all dropped is 100 %.
    let nothing = measured.requests == 0
        && !(threshold.metric == ThresholdMetric::Dropped && measured.dropped > 0);
    let observed = if nothing || untimed {
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
            // A journey's rate is its completed iterations per second.
            ThresholdMetric::Rps if threshold.journey => {
                (measured.requests - measured.failures) as f64 / duration_s.max(1e-9)
            }
            ThresholdMetric::Rps => measured.requests as f64 / duration_s.max(1e-9),
            ThresholdMetric::Dropped => {
                measured.dropped as f64 / (measured.requests + measured.dropped) as f64
            }
        })
    };
    ThresholdOutcome {
        rule: threshold.rule.clone(),
        passed: observed.is_some_and(|v| threshold.op.holds(v, threshold.value)),
        observed,
        unit: unit(threshold).to_string(),
    }
}

/// The unit a rule's metric is observed in.
pub fn unit(threshold: &Threshold) -> &'static str {
    match threshold.metric {
        ThresholdMetric::ErrorRate | ThresholdMetric::Dropped => "ratio",
        ThresholdMetric::Rps if threshold.journey => "iterations/s",
        ThresholdMetric::Rps => "requests/s",
        _ => "ms",
    }
}

/// A whole run's figures by name: each request row (endpoints and `flow/step`s), each flow's
/// iterations (for journey rules), and all requests.
#[derive(Debug)]
pub struct RunFigures<'a> {
    pub rows: Vec<(&'a str, Measured<'a>)>,
    pub flows: Vec<(&'a str, Measured<'a>)>,
    pub all: Measured<'a>,
}

/// Every rule of `thresholds` judged on `figures` (a rule naming nothing measured fails with no
/// data), then the default verdicts. A run in one process and a session merged from generators
/// are judged by this one function.
pub fn judge_run(
    thresholds: &[Threshold],
    figures: &RunFigures<'_>,
    duration_s: f64,
) -> Vec<ThresholdOutcome> {
    let mut out: Vec<ThresholdOutcome> = thresholds
        .iter()
        .map(|t| {
            let measured = match &t.endpoint {
                Some(name) if t.journey => figures.flows.iter().find(|(n, _)| n == name),
                Some(name) => figures.rows.iter().find(|(n, _)| n == name),
                None => None,
            }
            .map(|(_, m)| m)
            .or(t.endpoint.is_none().then_some(&figures.all));
            match measured {
                Some(m) => judge(t, m, duration_s),
                None => ThresholdOutcome {
                    rule: t.rule.clone(),
                    passed: false,
                    observed: None,
                    unit: unit(t).to_string(),
                },
            }
        })
        .collect();
    out.extend(default_verdicts(
        thresholds,
        figures.all.requests,
        figures.all.failures,
    ));
    out
}

/// The error rate above which a run fails when its scenario sets no `error_rate` rule.
pub const DEFAULT_ERROR_CEILING: f64 = 0.10;

/// What every run is judged on besides its rules: at least one request succeeded, and, unless
/// the scenario has its own `error_rate` rule for all requests, at most
/// [`DEFAULT_ERROR_CEILING`] of them failed. (Like Locust's exit code on failures: a run whose
/// requests failed does not pass a CI gate by having no thresholds.)
pub fn default_verdicts(
    thresholds: &[Threshold],
    requests: u64,
    failures: u64,
) -> Vec<ThresholdOutcome> {
    let succeeded = requests.saturating_sub(failures);
    let mut out = vec![ThresholdOutcome {
        rule: "at least one request succeeded (default)".to_string(),
        passed: succeeded > 0,
        observed: Some(succeeded as f64),
        unit: "requests".to_string(),
    }];
    let own_error_rule = thresholds
        .iter()
        .any(|t| t.metric == ThresholdMetric::ErrorRate && t.endpoint.is_none());
    if !own_error_rule {
        let rate = (requests > 0).then(|| failures as f64 / requests as f64);
        out.push(ThresholdOutcome {
            rule: format!(
                "error_rate < {}% (default; an error_rate threshold replaces it)",
                DEFAULT_ERROR_CEILING * 100.0
            ),
            passed: rate.is_some_and(|r| r < DEFAULT_ERROR_CEILING),
            observed: rate,
            unit: "ratio".to_string(),
        });
    }
    out
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
            journey: false,
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
            dropped: 0,
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
            dropped: 0,
            latency: &empty,
        };
        let n = judge(
            &rule(ThresholdMetric::P95, Comparison::Lt, 1e9),
            &none,
            10.0,
        );
        assert!(!n.passed);
        assert_eq!(n.observed, None);
        assert_eq!(n.unit, "ms");
        // Requests that were all refused connections: counted, never timed.
        let refused = Measured {
            requests: 40,
            failures: 40,
            dropped: 0,
            latency: &empty,
        };
        let r = judge(
            &rule(ThresholdMetric::P95, Comparison::Lt, 2000.0),
            &refused,
            10.0,
        );
        assert!(!r.passed);
        assert_eq!(r.observed_text(), "no data");
        assert_eq!(e.observed_text(), "2.00 %");
    }

    #[test]
    fn dropped_arrivals_are_a_share_of_all_arrivals() {
        let h = LatencyHistogram::new();
        let m = Measured {
            requests: 95,
            failures: 0,
            dropped: 5,
            latency: &h,
        };
        let d = judge(
            &rule(ThresholdMetric::Dropped, Comparison::Lt, 0.01),
            &m,
            10.0,
        );
        assert!(!d.passed);
        assert_eq!(d.observed_text(), "5.00 %");
        let all_dropped = Measured {
            requests: 0,
            dropped: 7,
            ..m
        };
        let a = judge(
            &rule(ThresholdMetric::Dropped, Comparison::Lt, 0.01),
            &all_dropped,
            10.0,
        );
        assert_eq!(a.observed, Some(1.0));
        let clean = Measured { dropped: 0, ..m };
        assert!(
            judge(
                &rule(ThresholdMetric::Dropped, Comparison::Lt, 0.01),
                &clean,
                10.0
            )
            .passed
        );
    }

    #[test]
    fn every_run_needs_a_success_and_a_low_error_rate_unless_it_says_otherwise() {
        let all_failed = default_verdicts(&[], 38, 38);
        assert_eq!(all_failed.len(), 2);
        assert!(all_failed.iter().all(|v| !v.passed), "{all_failed:?}");
        let fine = default_verdicts(&[], 100, 9);
        assert!(fine.iter().all(|v| v.passed), "{fine:?}");
        let own = [rule(ThresholdMetric::ErrorRate, Comparison::Le, 1.0)];
        let allowed = default_verdicts(&own, 100, 90);
        assert_eq!(allowed.len(), 1, "an error_rate rule replaces the ceiling");
        assert!(allowed[0].passed);
        assert!(!default_verdicts(&[], 0, 0)[0].passed);
    }
}
