//! What the protections did, second by second: breakers opening and closing, users backing off,
//! load reduction parking users, and the error budget.

use std::collections::BTreeMap;

use crate::input::Second;

/// One line of the timeline: when (the run's second) and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub second: u64,
    pub text: String,
}

/// The protections' story from the seconds, in order.
pub fn protections(seconds: &[Second]) -> Vec<Event> {
    let mut events = Vec::new();
    let mut breakers: BTreeMap<&str, &str> = BTreeMap::new();
    for s in seconds {
        for e in &s.endpoints {
            let before = breakers.insert(&e.name, &e.breaker).unwrap_or("closed");
            if before != e.breaker {
                events.push(Event {
                    second: s.second,
                    text: format!(
                        "breaker of `{}` {}",
                        e.name,
                        match e.breaker.as_str() {
                            "open" => "opened",
                            "half_open" => "half-open: probing",
                            _ => "closed",
                        }
                    ),
                });
            }
        }
    }
    spans(
        seconds,
        |s| s.users_in_backoff,
        "users in backoff",
        &mut events,
    );
    spans(
        seconds,
        |s| s.parked_users,
        "users parked by load reduction",
        &mut events,
    );
    events.sort_by_key(|e| e.second);
    events
}

/// Each stretch of seconds where `value` is above 0, with its peak.
fn spans(seconds: &[Second], value: impl Fn(&Second) -> u32, what: &str, out: &mut Vec<Event>) {
    let mut open: Option<(u64, u64, u32)> = None;
    let close = |span: (u64, u64, u32), out: &mut Vec<Event>| {
        let (from, to, peak) = span;
        out.push(Event {
            second: from,
            text: if from == to {
                format!("{peak} {what} (second {from})")
            } else {
                format!("up to {peak} {what}, seconds {from} to {to}")
            },
        });
    };
    for s in seconds {
        let v = value(s);
        open = match (open, v) {
            (None, 0) => None,
            (None, v) => Some((s.second, s.second, v)),
            (Some(span), 0) => {
                close(span, out);
                None
            }
            (Some((from, _, peak)), v) => Some((from, s.second, peak.max(v))),
        };
    }
    if let Some(span) = open {
        close(span, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::EndpointSecond;

    fn second(n: u64, breaker: &str, backoff: u32) -> Second {
        Second {
            second: n,
            rps: 0.0,
            requests: 0,
            failures: 0,
            by_class: Default::default(),
            short_circuited: 0,
            p50: 0.0,
            p95: 0.0,
            p99: 0.0,
            active_users: 1,
            target_users: 1,
            users_in_backoff: backoff,
            parked_users: 0,
            errors_last_minute: 0,
            endpoints: vec![EndpointSecond {
                name: "bad".into(),
                requests: 0,
                failures: 0,
                breaker: breaker.into(),
            }],
            dropped: 0,
            cpu_percent: None,
            saturated: None,
            limited: None,
        }
    }

    #[test]
    fn breaker_changes_and_backoff_stretches_are_told_in_order() {
        let seconds = [
            second(1, "closed", 0),
            second(2, "open", 2),
            second(3, "open", 4),
            second(4, "half_open", 0),
            second(5, "closed", 0),
        ];
        let texts: Vec<String> = protections(&seconds)
            .into_iter()
            .map(|e| format!("{}: {}", e.second, e.text))
            .collect();
        assert_eq!(
            texts,
            [
                "2: breaker of `bad` opened",
                "2: up to 4 users in backoff, seconds 2 to 3",
                "4: breaker of `bad` half-open: probing",
                "5: breaker of `bad` closed",
            ]
        );
    }
}
