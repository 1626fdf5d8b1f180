//! Steering a running engine: live changes and stop.

use std::collections::BTreeMap;
use std::sync::Arc;

use lt_protocol::{Command, EndReason, WorkerEvent};
use lt_scenario::ThinkTime;

use crate::run_state::{RunState, now_ms};

/// Why a live change was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    #[error(
        "users: {users} is not allowed; this run takes 1 to {max_users} (its `load.max_users`)"
    )]
    Users { users: u32, max_users: u32 },
    #[error("weights: {}", .0.join("; "))]
    Weights(Vec<String>),
    #[error("think_time: min ({min_ms} ms) is greater than max ({max_ms} ms)")]
    ThinkTime { min_ms: u64, max_ms: u64 },
    #[error(
        "arrival_rate: {0} is not allowed; give a rate above 0 requests/s, or none for the closed model"
    )]
    ArrivalRate(f64),
}

/// A cloneable handle on a running engine.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    state: Arc<RunState>,
}

impl EngineHandle {
    pub(crate) fn new(state: Arc<RunState>) -> Self {
        EngineHandle { state }
    }

    /// Applies a live change (or a stop). Takes effect within a second; watchers get a
    /// `change` event.
    pub fn apply(&self, command: Command) -> Result<(), CommandError> {
        let control = &self.state.control;
        match &command {
            Command::SetUsers { users } => {
                let max_users = control.max_users();
                if *users == 0 || *users > max_users {
                    return Err(CommandError::Users {
                        users: *users,
                        max_users,
                    });
                }
                control.set_target_users(*users, true);
            }
            Command::SetWeights { weights } => {
                lt_scenario::check_weights(&self.with_current_weights(), weights)
                    .map_err(CommandError::Weights)?;
                let changes: Vec<(usize, f64)> = weights
                    .iter()
                    .filter_map(|(name, w)| {
                        self.state
                            .scenario
                            .endpoints
                            .iter()
                            .position(|e| &e.name == name)
                            .map(|i| (i, *w))
                    })
                    .collect();
                control.set_weights(&changes);
            }
            Command::SetThinkTime { min_ms, max_ms } => {
                if min_ms > max_ms {
                    return Err(CommandError::ThinkTime {
                        min_ms: *min_ms,
                        max_ms: *max_ms,
                    });
                }
                control.set_think_time(ThinkTime {
                    min: std::time::Duration::from_millis(*min_ms),
                    max: std::time::Duration::from_millis(*max_ms),
                });
            }
            Command::SetArrivalRate { rate } => {
                if let Some(r) = rate
                    && !(r.is_finite() && *r > 0.0)
                {
                    return Err(CommandError::ArrivalRate(*r));
                }
                control.arrival.set_rate(*rate);
            }
            Command::Stop => {
                self.stop("a stop command");
                return Ok(());
            }
        }
        self.state.emit(WorkerEvent::Change {
            command,
            at_ms: now_ms(),
        });
        Ok(())
    }

    /// Stops the run gracefully; `by` says who asked (shown as the end reason).
    pub fn stop(&self, by: &str) {
        self.state
            .request_stop(EndReason::Stopped { by: by.to_string() });
    }

    /// The run's session id (sent in `baggage`).
    pub fn session_id(&self) -> &str {
        &self.state.session_id
    }

    /// The current weights by endpoint name.
    pub fn weights(&self) -> BTreeMap<String, f64> {
        self.state
            .endpoint_names()
            .into_iter()
            .zip(self.state.control.weights())
            .collect()
    }

    /// The scenario with today's weights, for validating a change against them.
    fn with_current_weights(&self) -> lt_scenario::Scenario {
        let mut scenario = self.state.scenario.clone();
        for (endpoint, w) in scenario
            .endpoints
            .iter_mut()
            .zip(self.state.control.weights())
        {
            endpoint.weight = w;
        }
        scenario
    }
}
