//! Steering a running engine: live changes and stop.

use std::sync::Arc;

use lt_protocol::{ChangeOutcome, Command, EndReason, LiveConfig, WorkerEvent};
use lt_scenario::{LiveChange, LiveLimits, Refusal};

use crate::run_state::{RunState, now_ms};

/// A cloneable handle on a running engine.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    state: Arc<RunState>,
}

impl EngineHandle {
    pub(crate) fn new(state: Arc<RunState>) -> Self {
        EngineHandle { state }
    }

    /// Applies a command: a live change (see [`EngineHandle::change`]) or a stop.
    pub fn apply(&self, command: Command) -> Result<LiveConfig, Refusal> {
        match command {
            Command::Change { id, change } => self.change(id, change),
            // A network generator exits on `stop_now` before it gets here; an engine that is
            // handed one stops as it would for `stop`.
            Command::Stop | Command::StopNow => {
                self.stop("a stop command");
                Ok(self.state.live_config())
            }
            Command::Park { users } => {
                self.state.control.park_for_coordinator(users);
                Ok(self.state.live_config())
            }
        }
    }

    /// Checks a live change with the scenario's rule book ([`lt_scenario::check_change`])
    /// against the settings in force, and applies all of it or none. Takes effect within a
    /// second; watchers get a `change` event with the verdict and the settings before and after,
    /// refused or not.
    pub fn change(&self, id: u64, change: LiveChange) -> Result<LiveConfig, Refusal> {
        let control = &self.state.control;
        let before = self.state.live_config();
        let names = self.state.choice_names();
        let current: Vec<(&str, f64)> = names.iter().copied().zip(control.weights()).collect();
        let verdict = lt_scenario::check_change(
            &change,
            &LiveLimits {
                weights: &current,
                max_users: control.max_users(),
                max_users_cap: None,
                max_arrival_rate_cap: None,
            },
        );
        if verdict.is_ok() {
            if let Some(users) = change.users {
                control.set_target_users(users, true);
            }
            if let Some(weights) = &change.weights {
                let changes: Vec<(usize, f64)> = weights
                    .iter()
                    .filter_map(|(name, w)| names.iter().position(|n| n == name).map(|i| (i, *w)))
                    .collect();
                control.set_weights(&changes);
            }
            if let Some(think) = change.think_time {
                control.set_think_time(think);
            }
            if let Some(rate) = change.arrival_rate {
                control.arrival.set_rate(rate);
            }
        }
        let after = self.state.live_config();
        self.state.emit(WorkerEvent::Change(Box::new(ChangeOutcome {
            id,
            change,
            before,
            after: after.clone(),
            refused: verdict.clone().err(),
            at_ms: now_ms(),
        })));
        verdict.map(|()| after)
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
}
