//! The `protection` section: circuit breaker, backoff, load reduction and the error budget.
//! Each part is off unless named; named with no value it is on with its defaults; `off` or
//! `false` turns it off.

use std::time::Duration;

use marked_yaml::Node;

use super::reader::{Item, Map, Reader, Scalar, describe, scalar};
use crate::duration::format_duration;
use crate::{
    Backoff, BreakerScope, CircuitBreaker, DEFAULT_MAX_ERRORS_PER_MINUTE, LoadReduction, Protection,
};

const FIELDS: &[&str] = &[
    "circuit_breaker",
    "backoff",
    "load_reduction",
    "max_errors_per_minute",
];

/// Reads the `protection` section; absent, only the error budget is on.
pub(crate) fn read(r: &mut Reader, item: Option<Item<'_>>) -> Option<Protection> {
    let Some(item) = item.filter(|i| !i.is_null()) else {
        return Some(Protection {
            max_errors_per_minute: Some(DEFAULT_MAX_ERRORS_PER_MINUTE),
            ..Protection::default()
        });
    };
    let map = r.map(&item, FIELDS)?;
    let circuit_breaker = part(r, &map, "circuit_breaker", circuit_breaker);
    let backoff = part(r, &map, "backoff", backoff);
    let load_reduction = part(r, &map, "load_reduction", load_reduction);
    let max_errors_per_minute = match map.value("max_errors_per_minute") {
        None => Some(Some(DEFAULT_MAX_ERRORS_PER_MINUTE)),
        Some(i) if is_off(&i) => Some(None),
        Some(i) => r.u64_min(&i, 1).map(Some),
    };
    Some(Protection {
        circuit_breaker: circuit_breaker?,
        backoff: backoff?,
        load_reduction: load_reduction?,
        max_errors_per_minute: max_errors_per_minute?,
    })
}

/// Whether the value is `off` or `false`.
fn is_off(item: &Item<'_>) -> bool {
    match item.node {
        Node::Scalar(s) => {
            matches!(scalar(s), Scalar::Bool(false)) || s.as_str().eq_ignore_ascii_case("off")
        }
        _ => false,
    }
}

/// Whether the value is `on` or `true`.
fn is_on(item: &Item<'_>) -> bool {
    match item.node {
        Node::Scalar(s) => {
            matches!(scalar(s), Scalar::Bool(true)) || s.as_str().eq_ignore_ascii_case("on")
        }
        _ => false,
    }
}

/// One optional part: absent or off → `None`; empty or on → defaults; a mapping → read.
fn part<T>(
    r: &mut Reader,
    map: &Map<'_>,
    name: &str,
    read: fn(&mut Reader, Option<&Map<'_>>) -> Option<T>,
) -> Option<Option<T>> {
    let Some(item) = map.get(name) else {
        return Some(None);
    };
    if is_off(&item) {
        return Some(None);
    }
    if item.is_null() || is_on(&item) {
        return read(r, None).map(Some);
    }
    if !matches!(item.node, Node::Mapping(_)) {
        r.error_at(
            &item,
            format!(
                "expected a mapping, `off` or nothing (for the defaults), got {}",
                describe(item.node)
            ),
        );
        return None;
    }
    let fields: &[&str] = match name {
        "circuit_breaker" => &[
            "consecutive_failures",
            "failure_ratio",
            "window",
            "min_requests",
            "open_for",
            "half_open_probes",
            "scope",
        ],
        "backoff" => &["initial", "max", "multiplier", "jitter"],
        _ => &[
            "error_rate",
            "window",
            "reduce_by",
            "min_users",
            "restore_every",
        ],
    };
    let inner = r.map(&item, fields)?;
    read(r, Some(&inner)).map(Some)
}

/// A field's value, or `default` when absent.
fn or_default<T>(
    r: &mut Reader,
    map: Option<&Map<'_>>,
    name: &str,
    default: T,
    read: impl FnOnce(&mut Reader, &Item<'_>) -> Option<T>,
) -> Option<T> {
    match map.and_then(|m| m.value(name)) {
        Some(i) => read(r, &i),
        None => Some(default),
    }
}

fn circuit_breaker(r: &mut Reader, map: Option<&Map<'_>>) -> Option<CircuitBreaker> {
    let consecutive_failures =
        or_default(r, map, "consecutive_failures", 5, |r, i| r.u32_min(i, 1));
    let failure_ratio = or_default(r, map, "failure_ratio", None, |r, i| {
        r.number_in(i, 0.0, true, 1.0, false).map(Some)
    });
    let window = or_default(r, map, "window", Duration::from_secs(10), |r, i| {
        r.positive_duration(i)
    });
    let min_requests = or_default(r, map, "min_requests", 10, |r, i| r.u32_min(i, 1));
    let open_for = or_default(r, map, "open_for", Duration::from_secs(10), |r, i| {
        r.positive_duration(i)
    });
    let half_open_probes = or_default(r, map, "half_open_probes", 1, |r, i| r.u32_min(i, 1));
    let scope = or_default(r, map, "scope", BreakerScope::Endpoint, |r, i| {
        let text = r.text(i)?;
        match text.as_str() {
            "endpoint" => Some(BreakerScope::Endpoint),
            "global" => Some(BreakerScope::Global),
            _ => {
                r.error_at(
                    i,
                    format!(
                        "scope {} is not known; use `endpoint` or `global`",
                        describe(i.node)
                    ),
                );
                None
            }
        }
    });
    Some(CircuitBreaker {
        consecutive_failures: consecutive_failures?,
        failure_ratio: failure_ratio?,
        window: window?,
        min_requests: min_requests?,
        open_for: open_for?,
        half_open_probes: half_open_probes?,
        scope: scope?,
    })
}

fn backoff(r: &mut Reader, map: Option<&Map<'_>>) -> Option<Backoff> {
    let initial = or_default(r, map, "initial", Duration::from_millis(100), |r, i| {
        r.positive_duration(i)
    });
    let max = or_default(r, map, "max", Duration::from_secs(10), |r, i| {
        r.positive_duration(i)
    });
    let multiplier = or_default(r, map, "multiplier", 2.0, |r, i| {
        r.number_in(i, 1.0, false, 1000.0, false)
    });
    let jitter = or_default(r, map, "jitter", true, |r, i| r.bool(i));
    let (initial, max) = (initial?, max?);
    if initial > max {
        let message = format!(
            "initial (`{}`) is greater than max (`{}`)",
            format_duration(initial),
            format_duration(max)
        );
        let at = map.and_then(|m| m.value("initial").or_else(|| m.value("max")));
        if let Some(i) = at {
            r.error_at(&i, message);
        }
        return None;
    }
    Some(Backoff {
        initial,
        max,
        multiplier: multiplier?,
        jitter: jitter?,
    })
}

fn load_reduction(r: &mut Reader, map: Option<&Map<'_>>) -> Option<LoadReduction> {
    let error_rate = or_default(r, map, "error_rate", 0.5, |r, i| {
        r.number_in(i, 0.0, true, 1.0, false)
    });
    let window = or_default(r, map, "window", Duration::from_secs(10), |r, i| {
        r.positive_duration(i)
    });
    let reduce_by = or_default(r, map, "reduce_by", 0.5, |r, i| {
        r.number_in(i, 0.0, true, 1.0, true)
    });
    let min_users = or_default(r, map, "min_users", 1, |r, i| r.u32_min(i, 1));
    let restore_every = or_default(r, map, "restore_every", Duration::from_secs(5), |r, i| {
        r.positive_duration(i)
    });
    Some(LoadReduction {
        error_rate: error_rate?,
        window: window?,
        reduce_by: reduce_by?,
        min_users: min_users?,
        restore_every: restore_every?,
    })
}
