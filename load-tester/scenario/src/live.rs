//! The rule book of live changes: what may change while a session runs, checked once, here.
//!
//! The control server checks a change before it sends it (with its caps) and the engine checks it
//! again before it applies it (against the weights in force at that instant); both call
//! [`check_change`], so both give the same verdict in the same words.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::{ThinkTime, check_weights_against, format_duration};

/// A live change as asked: every field is optional, and absent fields keep their value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiveChange {
    /// Users to run now (1 to the scenario's `load.max_users`); replaces the ramp or stages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub users: Option<u32>,
    /// New weights for the named endpoints; the others keep theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<BTreeMap<String, f64>>,
    /// New pause between two requests of one user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think_time: Option<ThinkTime>,
    /// Open-model arrival rate in requests/s; absent: no change; `null`: back to the closed model.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<f64>, nullable = true)]
    pub arrival_rate: Option<Option<f64>>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<f64>>, D::Error> {
    Option::<f64>::deserialize(d).map(Some)
}

impl LiveChange {
    /// Whether the change asks for nothing.
    pub fn is_empty(&self) -> bool {
        self.users.is_none()
            && self.weights.is_none()
            && self.think_time.is_none()
            && self.arrival_rate.is_none()
    }

    /// The names of the fields it sets, in a fixed order.
    pub fn fields(&self) -> Vec<&'static str> {
        let mut fields = Vec::new();
        if self.users.is_some() {
            fields.push("users");
        }
        if self.weights.is_some() {
            fields.push("weights");
        }
        if self.think_time.is_some() {
            fields.push("think_time");
        }
        if self.arrival_rate.is_some() {
            fields.push("arrival_rate");
        }
        fields
    }
}

/// What a change is judged against: the session as it runs now, and the caps of whoever asks.
#[derive(Debug, Clone)]
pub struct LiveLimits<'a> {
    /// The endpoints' names and the weights in force now, in scenario order.
    pub weights: &'a [(&'a str, f64)],
    /// The scenario's `load.max_users`: the users the worker launched.
    pub max_users: u32,
    /// The control server's `max_users_per_session`, when a server asks.
    pub max_users_cap: Option<u32>,
    /// The control server's `max_arrival_rate`, when a server asks.
    pub max_arrival_rate_cap: Option<f64>,
}

/// Why a change was refused. Nothing of a refused change is applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Refusal {
    /// `invalid_change`, `unknown_endpoint` or `cap_exceeded`.
    pub code: String,
    /// One sentence per problem, naming the field and the value.
    pub problems: Vec<String>,
    /// Endpoint names the change gave that the scenario does not have.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown_endpoints: Vec<String>,
    /// The cap that was exceeded, with its limit and what was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<CapExceeded>,
}

/// A server cap a change went over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CapExceeded {
    pub cap: String,
    pub limit: f64,
    pub requested: f64,
}

impl Refusal {
    /// All problems in one line.
    pub fn message(&self) -> String {
        self.problems.join("; ")
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// Checks a live change. `Ok` means every field may be applied as given.
pub fn check_change(change: &LiveChange, limits: &LiveLimits<'_>) -> Result<(), Refusal> {
    let mut problems = Vec::new();
    let mut unknown = Vec::new();
    if change.is_empty() {
        problems.push("give at least one of users, weights, think_time, arrival_rate".to_string());
    }
    if let Some(users) = change.users {
        let max_users = limits.max_users;
        let limit = limits
            .max_users_cap
            .map_or(max_users, |cap| cap.min(max_users));
        if users == 0 || users > limit {
            let server = limits
                .max_users_cap
                .map(|cap| format!(", the server's max_users_per_session {cap}"))
                .unwrap_or_default();
            problems.push(format!(
                "users: {users} is not allowed; this session takes 1 to {limit} (its scenario's `load.max_users` is {max_users}{server})"
            ));
        }
    }
    if let Some(weights) = &change.weights {
        unknown = weights
            .keys()
            .filter(|name| !limits.weights.iter().any(|(n, _)| n == name))
            .cloned()
            .collect();
        if let Err(errors) = check_weights_against(limits.weights, weights) {
            problems.extend(errors.into_iter().map(|e| format!("weights: {e}")));
        }
    }
    if let Some(t) = change.think_time
        && t.min > t.max
    {
        problems.push(format!(
            "think_time: min (`{}`) is greater than max (`{}`)",
            format_duration(t.min),
            format_duration(t.max)
        ));
    }
    let mut cap = None;
    if let Some(Some(rate)) = change.arrival_rate {
        if !(rate.is_finite() && rate > 0.0) {
            problems.push(format!(
                "arrival_rate: must be a number above 0 requests/s (or null for the closed model), got `{rate}`"
            ));
        } else if let Some(limit) = limits.max_arrival_rate_cap
            && rate > limit
        {
            problems.push(format!(
                "arrival_rate: {rate} is over this server's cap of {limit} (max_arrival_rate)"
            ));
            cap = Some(CapExceeded {
                cap: "max_arrival_rate".to_string(),
                limit,
                requested: rate,
            });
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let code = if !unknown.is_empty() {
        "unknown_endpoint"
    } else if cap.is_some() && problems.len() == 1 {
        "cap_exceeded"
    } else {
        "invalid_change"
    };
    Err(Refusal {
        code: code.to_string(),
        problems,
        unknown_endpoints: unknown,
        cap,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEIGHTS: &[(&str, f64)] = &[("a", 1.0), ("b", 0.0)];

    fn limits() -> LiveLimits<'static> {
        LiveLimits {
            weights: WEIGHTS,
            max_users: 6,
            max_users_cap: None,
            max_arrival_rate_cap: None,
        }
    }

    #[test]
    fn a_change_within_the_scenario_passes() {
        let change = LiveChange {
            users: Some(6),
            weights: Some(BTreeMap::from([("b".into(), 2.0)])),
            arrival_rate: Some(None),
            ..LiveChange::default()
        };
        assert_eq!(check_change(&change, &limits()), Ok(()));
    }

    #[test]
    fn every_problem_is_named_with_its_value() {
        let change = LiveChange {
            users: Some(7),
            weights: Some(BTreeMap::from([("nope".into(), 1.0)])),
            think_time: Some(ThinkTime {
                min: std::time::Duration::from_secs(2),
                max: std::time::Duration::from_secs(1),
            }),
            arrival_rate: Some(Some(-1.0)),
        };
        let refusal = check_change(&change, &limits()).unwrap_err();
        assert_eq!(refusal.code, "unknown_endpoint");
        assert_eq!(refusal.unknown_endpoints, vec!["nope".to_string()]);
        let text = refusal.message();
        for needle in [
            "users: 7",
            "1 to 6",
            "nope",
            "think_time: min (`2s`)",
            "`-1`",
        ] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
    }

    #[test]
    fn caps_are_named_and_tighten_the_limits() {
        let capped = LiveLimits {
            max_users_cap: Some(3),
            max_arrival_rate_cap: Some(10.0),
            ..limits()
        };
        let users = check_change(
            &LiveChange {
                users: Some(4),
                ..LiveChange::default()
            },
            &capped,
        )
        .unwrap_err();
        assert!(
            users.message().contains("max_users_per_session 3"),
            "{users}"
        );
        let rate = check_change(
            &LiveChange {
                arrival_rate: Some(Some(11.0)),
                ..LiveChange::default()
            },
            &capped,
        )
        .unwrap_err();
        assert_eq!(rate.code, "cap_exceeded");
        assert_eq!(rate.cap.unwrap().limit, 10.0);
    }

    #[test]
    fn all_weights_zero_and_empty_changes_are_refused() {
        let zero = LiveChange {
            weights: Some(BTreeMap::from([("a".into(), 0.0)])),
            ..LiveChange::default()
        };
        assert!(
            check_change(&zero, &limits())
                .unwrap_err()
                .message()
                .contains("zero")
        );
        assert_eq!(
            check_change(&LiveChange::default(), &limits())
                .unwrap_err()
                .code,
            "invalid_change"
        );
    }

    #[test]
    fn arrival_rate_null_and_absent_differ() {
        let absent: LiveChange = serde_json::from_str("{}").unwrap();
        let null: LiveChange = serde_json::from_str(r#"{"arrival_rate":null}"#).unwrap();
        assert_eq!(absent.arrival_rate, None);
        assert_eq!(null.arrival_rate, Some(None));
        assert_eq!(
            serde_json::to_string(&null).unwrap(),
            r#"{"arrival_rate":null}"#
        );
    }
}
