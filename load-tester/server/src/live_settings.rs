//! The settings in force, some of which change while the server runs (`PATCH /api/settings`).
//!
//! A change lasts until the server stops: the settings file and `LT_*` variables stay the
//! truth at start, so nothing changed here silently outlives a restart. Every change is checked
//! as a whole before any of it applies, and recorded in the configuration history.

use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};

use crate::settings::Settings;

/// Settings a running server can take: caps, timeouts, the rate limit and retention.
pub const CHANGEABLE: [&str; 6] = [
    "max_users_per_session",
    "max_sessions",
    "max_arrival_rate",
    "retention",
    "stop_timeout",
    "rate_limit",
];

/// One setting that changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Changed {
    pub key: String,
    pub old: Value,
    pub new: Value,
}

/// Why a change was refused: the key and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub key: String,
    pub message: String,
}

/// The settings in force, swapped whole on a change.
#[derive(Debug)]
pub struct LiveSettings(RwLock<Arc<Settings>>);

impl LiveSettings {
    pub fn new(settings: Settings) -> LiveSettings {
        LiveSettings(RwLock::new(Arc::new(settings)))
    }

    /// The settings now; a snapshot that does not move under its holder.
    pub fn get(&self) -> Arc<Settings> {
        Arc::clone(&self.0.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Applies `{key: value, ...}`: every key must be changeable and every value valid, or
    /// nothing changes. Answers what changed (keys whose value stayed are left out).
    pub fn apply(&self, patch: &Map<String, Value>) -> Result<Vec<Changed>, Refused> {
        let mut guard = self.0.write().unwrap_or_else(|p| p.into_inner());
        let current = serde_json::to_value(&**guard).map_err(|e| Refused {
            key: "(settings)".into(),
            message: e.to_string(),
        })?;
        let mut next = current.clone();
        for (key, value) in patch {
            if !CHANGEABLE.contains(&key.as_str()) {
                let message = if current.get(key).is_some()
                    || matches!(key.as_str(), "api_token" | "log_dir")
                {
                    format!(
                        "`{key}` cannot change while the server runs; set it in load-tester.toml or LT_{} and restart (changeable now: {})",
                        key.to_uppercase(),
                        CHANGEABLE.join(", ")
                    )
                } else {
                    format!(
                        "`{key}` is not a setting; changeable now: {}",
                        CHANGEABLE.join(", ")
                    )
                };
                return Err(Refused {
                    key: key.clone(),
                    message,
                });
            }
            next[key] = value.clone();
        }
        let settings: Settings =
            serde_path_to_error::deserialize(next.clone()).map_err(|e| Refused {
                key: e.path().to_string(),
                message: format!("{}", e.into_inner()),
            })?;
        if let Some((key, message)) = settings.problem() {
            return Err(Refused { key, message });
        }
        let changed = patch
            .keys()
            .filter(|k| current[k.as_str()] != next[k.as_str()])
            .map(|k| Changed {
                key: k.clone(),
                old: current[k.as_str()].clone(),
                new: next[k.as_str()].clone(),
            })
            .collect();
        *guard = Arc::new(settings);
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn a_valid_change_applies_and_names_what_moved() {
        let live = LiveSettings::new(Settings::default());
        let before = live.get();
        let changed = live
            .apply(&patch(
                json!({"max_sessions": 3, "stop_timeout": "2s", "rate_limit": 100}),
            ))
            .unwrap();
        let keys: Vec<_> = changed.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["max_sessions", "stop_timeout"]);
        assert_eq!(changed[0].old, json!(16));
        assert_eq!(live.get().max_sessions, 3);
        assert_eq!(live.get().stop_timeout(), std::time::Duration::from_secs(2));
        assert_eq!(before.max_sessions, 16, "a snapshot never moves");
    }

    #[test]
    fn a_bad_change_names_the_key_and_changes_nothing() {
        let live = LiveSettings::new(Settings::default());
        let cases = [
            (
                json!({"max_sessions": 4, "stop_timeout": "soon"}),
                "stop_timeout",
                "soon",
            ),
            (json!({"max_sessions": 0}), "max_sessions", "at least 1"),
            (
                json!({"max_sessions": "lots"}),
                "max_sessions",
                "invalid type",
            ),
            (
                json!({"bind": "0.0.0.0:1"}),
                "bind",
                "cannot change while the server runs",
            ),
            (json!({"api_token": "x"}), "api_token", "cannot change"),
            (json!({"colour": "red"}), "colour", "is not a setting"),
        ];
        for (body, key, text) in cases {
            let refused = live.apply(&patch(body.clone())).unwrap_err();
            assert_eq!(refused.key, key, "{body}");
            assert!(
                refused.message.contains(text),
                "{body}: {}",
                refused.message
            );
            assert_eq!(*live.get(), Settings::default(), "{body} changed something");
        }
    }
}
