//! Threshold rules: the `METRIC OP VALUE [for ENDPOINT]` grammar, and the `thresholds` list whose
//! endpoints must exist.

use marked_yaml::Node;

use super::reader::{Item, Reader, Scalar, describe, duration_text, scalar, shorten};
use super::suggest;
use crate::{Comparison, Threshold, ThresholdMetric};

const METRICS: [ThresholdMetric; 9] = [
    ThresholdMetric::P50,
    ThresholdMetric::P90,
    ThresholdMetric::P95,
    ThresholdMetric::P99,
    ThresholdMetric::Max,
    ThresholdMetric::Avg,
    ThresholdMetric::ErrorRate,
    ThresholdMetric::Rps,
    ThresholdMetric::Dropped,
];

/// Parses one rule such as `p95 < 500ms`, `error_rate < 1%`, `p99 < 2s for n-plus-one` or
/// `journey p95 < 2s for checkout`.
pub fn parse_threshold(text: &str) -> Result<Threshold, String> {
    let whole = text.trim();
    if whole.is_empty() {
        return Err("empty threshold; write METRIC OP VALUE, such as `p95 < 500ms`".to_string());
    }
    let (journey, rule) = match whole.split_once(char::is_whitespace) {
        Some((first, rest)) if first.eq_ignore_ascii_case("journey") => (true, rest.trim_start()),
        _ => (false, whole),
    };
    let metric_len = rule
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rule.len());
    let (metric_text, rest) = rule.split_at(metric_len);
    let names: Vec<&str> = METRICS.iter().map(|m| m.as_str()).collect();
    let Some(metric) = METRICS
        .into_iter()
        .find(|m| m.as_str().eq_ignore_ascii_case(metric_text))
    else {
        let hint = match suggest::closest(metric_text, names.iter().copied()) {
            Some(c) => format!(", did you mean `{c}`?"),
            None => format!("; use one of {}", names.join(", ")),
        };
        let shown = if metric_text.is_empty() {
            rule
        } else {
            metric_text
        };
        return Err(format!("unknown metric `{}`{hint}", shorten(shown)));
    };
    let rest = rest.trim_start();
    let (op, rest) = if let Some(r) = rest.strip_prefix("<=") {
        (Comparison::Le, r)
    } else if let Some(r) = rest.strip_prefix(">=") {
        (Comparison::Ge, r)
    } else if let Some(r) = rest.strip_prefix('<') {
        (Comparison::Lt, r)
    } else if let Some(r) = rest.strip_prefix('>') {
        (Comparison::Gt, r)
    } else {
        let got = rest.split_whitespace().next().unwrap_or("nothing");
        return Err(format!(
            "expected `<`, `<=`, `>` or `>=` after `{metric_text}`, got `{}`",
            shorten(got)
        ));
    };
    let rest = rest.trim_start();
    let value_len = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let (value_text, rest) = rest.split_at(value_len);
    if value_text.is_empty() {
        return Err(format!("expected a value after `{}`", op.as_str()));
    }
    let value = value(metric, value_text)?;
    let rest = rest.trim();
    let endpoint = if rest.is_empty() {
        None
    } else {
        match rest.strip_prefix("for") {
            Some(name) if name.starts_with(char::is_whitespace) && !name.trim().is_empty() => {
                Some(name.trim().to_string())
            }
            _ => {
                return Err(format!(
                    "unexpected `{}` after the value; to name an endpoint write `for NAME`",
                    shorten(rest)
                ));
            }
        }
    };
    if journey && endpoint.is_none() {
        return Err(format!("a journey rule names its flow: `{whole} for FLOW`"));
    }
    Ok(Threshold {
        rule: whole.to_string(),
        metric,
        op,
        value,
        endpoint,
        journey,
    })
}

/// The limit in the metric's unit: milliseconds, a ratio, or requests per second.
fn value(metric: ThresholdMetric, text: &str) -> Result<f64, String> {
    match metric {
        ThresholdMetric::ErrorRate | ThresholdMetric::Dropped => {
            let name = metric.as_str();
            let (number, percent) = match text.strip_suffix('%') {
                Some(n) => (n, true),
                None => (text, false),
            };
            let parsed = number
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && !number.starts_with(['+', 'i', 'I', 'n', 'N']));
            let ratio = parsed.map(|v| if percent { v / 100.0 } else { v });
            match ratio {
                Some(r) if (0.0..=1.0).contains(&r) => Ok(r),
                Some(_) => Err(format!(
                    "{name} `{}` is out of range; use 0% to 100% or 0 to 1",
                    shorten(text)
                )),
                None => Err(format!(
                    "expected {} such as 1% or 0.01, got `{}`",
                    if metric == ThresholdMetric::Dropped {
                        "a share of dropped arrivals"
                    } else {
                        "an error rate"
                    },
                    shorten(text)
                )),
            }
        }
        ThresholdMetric::Rps => match text.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 && !text.starts_with(['+', 'i', 'I', 'n', 'N']) => {
                Ok(v)
            }
            _ => Err(format!(
                "expected requests per second such as 100, got `{}`",
                shorten(text)
            )),
        },
        _ => duration_text(text).map(|d| d.as_secs_f64() * 1000.0),
    }
}

/// The names rules may use: requests (endpoints and `flow/step`) and, with `journey`, flows.
#[derive(Debug)]
pub(crate) struct Names<'a> {
    pub requests: &'a [String],
    pub flows: &'a [String],
}

/// Reads the `thresholds` list; `names` are the names a rule may use (`None` when they could not
/// be read).
pub(crate) fn read(
    r: &mut Reader,
    item: Option<Item<'_>>,
    names: Option<&Names<'_>>,
) -> Option<Vec<Threshold>> {
    let Some(item) = item.filter(|i| !i.is_null()) else {
        return Some(Vec::new());
    };
    let seq = r.seq(&item)?;
    let mut out = Some(Vec::with_capacity(seq.len()));
    for rule_item in seq {
        let threshold = read_one(r, &rule_item, names);
        out = out.zip(threshold).map(|(mut v, t)| {
            v.push(t);
            v
        });
    }
    out
}

fn read_one(r: &mut Reader, item: &Item<'_>, names: Option<&Names<'_>>) -> Option<Threshold> {
    let text = match item.node {
        Node::Scalar(s) if scalar(s) != Scalar::Null => s.as_str(),
        node => {
            r.error_at(
                item,
                format!(
                    "expected a rule such as \"p95 < 500ms\", got {}",
                    describe(node)
                ),
            );
            return None;
        }
    };
    let threshold = match parse_threshold(text) {
        Ok(t) => t,
        Err(message) => {
            r.error_at(item, message);
            return None;
        }
    };
    if let (Some(name), Some(names)) = (&threshold.endpoint, names) {
        let (known, what) = if threshold.journey {
            (names.flows, "flow")
        } else {
            (names.requests, "endpoint")
        };
        if !known.contains(name) {
            let hint = if !threshold.journey && names.flows.contains(name) {
                format!(
                    " (`{name}` is a flow: write `journey {}` for its journeys, or name a step `{name}/STEP`)",
                    threshold.rule
                )
            } else {
                suggest::did_you_mean(name, known.iter().map(String::as_str))
            };
            r.error_at(
                item,
                format!("threshold names unknown {what} `{}`{hint}", shorten(name)),
            );
            return None;
        }
    }
    Some(threshold)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rules() {
        let j = parse_threshold("journey p95 < 2s for todo-crud").unwrap();
        assert!(j.journey);
        assert_eq!(j.endpoint.as_deref(), Some("todo-crud"));
        assert!(
            parse_threshold("journey p95 < 2s")
                .unwrap_err()
                .contains("names its flow")
        );
        let t = parse_threshold("  p95 < 500ms ").unwrap();
        assert!(!t.journey);
        assert_eq!(
            (t.rule.as_str(), t.metric, t.op, t.value, t.endpoint),
            (
                "p95 < 500ms",
                ThresholdMetric::P95,
                Comparison::Lt,
                500.0,
                None
            )
        );
        let t = parse_threshold("p99<=2s for n-plus-one").unwrap();
        assert_eq!((t.op, t.value), (Comparison::Le, 2000.0));
        assert_eq!(t.endpoint.as_deref(), Some("n-plus-one"));
        assert_eq!(parse_threshold("error_rate < 1%").unwrap().value, 0.01);
        assert_eq!(parse_threshold("error_rate <= 0.05").unwrap().value, 0.05);
        assert_eq!(parse_threshold("rps >= 100").unwrap().value, 100.0);
        assert_eq!(parse_threshold("max > 1m30s").unwrap().value, 90_000.0);
        assert_eq!(
            parse_threshold("avg < 1s for GET home")
                .unwrap()
                .endpoint
                .as_deref(),
            Some("GET home")
        );
    }

    #[test]
    fn explains_bad_rules() {
        for (rule, message) in [
            ("pp95 < 1s", "unknown metric `pp95`, did you mean `p95`?"),
            (
                "latency < 1s",
                "unknown metric `latency`; use one of p50, p90, p95, p99, max, avg, error_rate, rps, dropped",
            ),
            (
                "< 1s",
                "unknown metric `< 1s`; use one of p50, p90, p95, p99, max, avg, error_rate, rps, dropped",
            ),
            (
                "p95 = 1s",
                "expected `<`, `<=`, `>` or `>=` after `p95`, got `=`",
            ),
            ("p95 <", "expected a value after `<`"),
            (
                "p95 < fast",
                "expected a duration such as 500ms, 2s, 5m or 1h, got `fast`",
            ),
            (
                "p95 < 500",
                "`500` has no unit: write 500ms, 500s, 500m or 500h",
            ),
            (
                "error_rate < 150%",
                "error_rate `150%` is out of range; use 0% to 100% or 0 to 1",
            ),
            (
                "error_rate < lots",
                "expected an error rate such as 1% or 0.01, got `lots`",
            ),
            (
                "rps > -1",
                "expected requests per second such as 100, got `-1`",
            ),
            (
                "p95 < 1s per home",
                "unexpected `per home` after the value; to name an endpoint write `for NAME`",
            ),
            (
                "p95 < 1s for",
                "unexpected `for` after the value; to name an endpoint write `for NAME`",
            ),
            (
                "",
                "empty threshold; write METRIC OP VALUE, such as `p95 < 500ms`",
            ),
        ] {
            assert_eq!(parse_threshold(rule).unwrap_err(), message, "{rule}");
        }
    }
}
