//! Everything one run shares between its users, its controller and its handle.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::{HeaderName, HeaderValue};
use lt_protocol::{EndReason, Lifecycle, LifecycleState, WorkerEvent};
use lt_scenario::{BreakerScope, Scenario};
use tokio::sync::mpsc::UnboundedSender;

use crate::EngineError;
use crate::breaker::Breaker;
use crate::client_spans::{ClientSpans, endpoint_from_env};
use crate::control::Control;
use crate::errors::ErrorGroups;
use crate::journey::{ChoiceTarget, FlowRuntime, FlowStats, Rows};
use crate::plan::{CapturePlan, EndpointPlan};
use crate::render::Names;
use crate::stats::EndpointStats;
use crate::stop::StopSignal;
use crate::transport::Transport;

/// One request row at run time: an endpoint, or a flow's step.
#[derive(Debug)]
pub struct EndpointRuntime {
    pub plan: EndpointPlan,
    pub stats: EndpointStats,
    /// Its own breaker, with `scope: endpoint`.
    pub breaker: Option<Breaker>,
}

/// Per-user counters, indexed by Goose's user index.
#[derive(Debug, Default)]
pub struct UserSlot {
    /// Requests this user has sent (picks its next user id).
    pub sequence: AtomicU64,
    pub consecutive_failures: AtomicU32,
    /// Whether this user has taken its start offset (see the dispatcher).
    pub started: AtomicBool,
    /// The pause (think time plus any backoff) owed before its next request, in microseconds.
    pub pause_us: AtomicU64,
    /// Whether that pause includes backoff.
    pub pause_is_backoff: AtomicBool,
    /// Set when the data file has no row left for this user (`on_end: stop_user`).
    pub out_of_rows: AtomicBool,
}

/// The state of one run.
#[derive(Debug)]
pub struct RunState {
    pub scenario: Scenario,
    pub session_id: String,
    /// Every request row: the endpoints, then each flow's steps.
    pub endpoints: Vec<EndpointRuntime>,
    pub flows: Vec<FlowRuntime>,
    /// What the weights choose among, in weight order: endpoints, then flows.
    pub choices: Vec<ChoiceTarget>,
    /// Each request row's choice (an endpoint's own, a step's flow's): where its weight is.
    pub row_choice: Vec<usize>,
    /// The data file's rows, when the scenario has one.
    pub rows: Option<Rows>,
    /// Whether users keep state of their own (see `journey.rs`).
    pub user_state: bool,
    /// The one breaker of `scope: global`.
    pub global_breaker: Option<Breaker>,
    pub control: Control,
    pub stop: StopSignal,
    pub errors: ErrorGroups,
    pub users: Vec<UserSlot>,
    pub users_in_backoff: AtomicU32,
    /// `baggage: loadtest.session=<id>`.
    pub baggage: HeaderValue,
    pub user_id_header: Option<HeaderName>,
    /// Reference point for breakers and pacers.
    pub epoch: Instant,
    /// When the run (the schedule, the deadline) started.
    pub started: OnceLock<Instant>,
    pub started_at_ms: OnceLock<u64>,
    /// The client every request is sent with.
    pub transport: Transport,
    /// Spans of failed and slow requests, when an OTLP endpoint is set.
    pub client_spans: Option<ClientSpans>,
    /// Where this generator's users sit in the session (the whole of it unless the session is
    /// split across generators).
    pub place: lt_scenario::segment::Place,
    /// Whether ticks carry the second's histograms whole, for a coordinator to merge.
    pub whole_ticks: bool,
    events: Option<UnboundedSender<WorkerEvent>>,
}

/// The longest request timeout of the scenario: the client's own bound.
pub fn longest_timeout(scenario: &Scenario) -> Duration {
    scenario
        .requests()
        .map(|e| e.timeout)
        .max()
        .unwrap_or(Duration::from_secs(30))
}

impl RunState {
    /// Prepares a run of `scenario`.
    pub fn new(
        scenario: Scenario,
        session_id: String,
        events: Option<UnboundedSender<WorkerEvent>>,
    ) -> Result<Self, EngineError> {
        let epoch = Instant::now();
        let breaker_cfg = scenario.protection.circuit_breaker.clone();
        let per_endpoint = breaker_cfg
            .as_ref()
            .filter(|b| b.scope == BreakerScope::Endpoint);
        let runtime = |plan: EndpointPlan| EndpointRuntime {
            plan,
            stats: EndpointStats::default(),
            breaker: per_endpoint.map(|cfg| Breaker::new(cfg.clone(), epoch)),
        };
        let columns: &[String] = scenario.data.as_ref().map_or(&[], |d| &d.columns);
        let names = Names {
            vars: Default::default(),
            columns,
            env: scenario.env.0.clone(),
        };
        let mut endpoints = scenario
            .endpoints
            .iter()
            .map(|e| EndpointPlan::new(&scenario, e, &names).map(runtime))
            .collect::<Result<Vec<_>, EngineError>>()?;
        let mut choices: Vec<ChoiceTarget> =
            (0..endpoints.len()).map(ChoiceTarget::Endpoint).collect();
        let mut flows = Vec::with_capacity(scenario.flows.len());
        for (f, flow) in scenario.flows.iter().enumerate() {
            // Each capture name is one slot of the user's variables for this flow.
            let mut names = Names {
                vars: Default::default(),
                columns,
                env: scenario.env.0.clone(),
            };
            for capture in flow.steps.iter().flat_map(|s| &s.capture) {
                let next = names.vars.len();
                names.vars.entry(capture.name.clone()).or_insert(next);
            }
            let first_row = endpoints.len();
            for step in &flow.steps {
                let captures = step
                    .capture
                    .iter()
                    .map(|c| CapturePlan {
                        name: c.name.clone(),
                        slot: names.vars[&c.name],
                        regex: match &c.from {
                            lt_scenario::CaptureSource::Regex(re) => regex::Regex::new(re).ok(),
                            _ => None,
                        },
                        source: c.from.clone(),
                    })
                    .collect();
                let plan = EndpointPlan::new(&scenario, &step.request, &names)?;
                endpoints.push(runtime(plan.with_captures(captures)));
            }
            flows.push(FlowRuntime {
                name: flow.name.clone(),
                first_row,
                steps: flow.steps.len(),
                think_time: flow.think_time,
                cookies: flow.cookies || scenario.cookies,
                vars: names.vars.len(),
                stats: FlowStats::default(),
            });
            choices.push(ChoiceTarget::Flow(f));
        }
        let mut row_choice = vec![0; endpoints.len()];
        for (c, choice) in choices.iter().enumerate() {
            let rows = match *choice {
                ChoiceTarget::Endpoint(i) => i..i + 1,
                ChoiceTarget::Flow(f) => flows[f].first_row..flows[f].first_row + flows[f].steps,
            };
            row_choice[rows].fill(c);
        }
        let rows = scenario
            .data
            .as_ref()
            .map(|d| Rows::new(d.mode, d.on_end, d.table.rows.len()));
        let user_state = !flows.is_empty()
            || scenario.cookies
            || rows.is_some()
            || endpoints.iter().any(|e| e.plan.template.is_some());
        let global_breaker = breaker_cfg
            .filter(|b| b.scope == BreakerScope::Global)
            .map(|cfg| Breaker::new(cfg, epoch));
        let baggage = HeaderValue::from_str(&format!("loadtest.session={session_id}"))
            .map_err(|_| EngineError::InvalidSessionId(session_id.clone()))?;
        let user_id_header = match scenario.user_ids.as_ref().and_then(|u| u.header.as_ref()) {
            Some(name) => Some(HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                EngineError::InvalidEndpoint {
                    endpoint: "user_ids".into(),
                    reason: format!("header name `{name}` is not valid"),
                }
            })?),
            None => None,
        };
        let users = (0..scenario.load.max_users)
            .map(|_| UserSlot::default())
            .collect();
        let control = Control::new(&scenario, epoch);
        let transport = Transport::new(&scenario).map_err(EngineError::Internal)?;
        for runtime in &mut endpoints {
            runtime.plan.bind(&transport)?;
        }
        let client_spans = match endpoint_from_env()? {
            Some(endpoint) if scenario.tracing.enabled => {
                Some(ClientSpans::new(&endpoint, &session_id, &scenario.name)?)
            }
            _ => None,
        };
        Ok(RunState {
            transport,
            client_spans,
            endpoints,
            flows,
            choices,
            row_choice,
            rows,
            user_state,
            global_breaker,
            control,
            stop: StopSignal::default(),
            errors: ErrorGroups::default(),
            users,
            users_in_backoff: AtomicU32::new(0),
            baggage,
            user_id_header,
            epoch,
            started: OnceLock::new(),
            started_at_ms: OnceLock::new(),
            place: lt_scenario::segment::Place::whole(scenario.load.max_users),
            whole_ticks: false,
            events,
            scenario,
            session_id,
        })
    }

    /// Sends an event to whoever watches; a watcher that went away is not an error.
    pub fn emit(&self, event: WorkerEvent) {
        if let Some(tx) = &self.events {
            let _ = tx.send(event);
        }
    }

    /// Stops the run for `reason` (the first reason wins) and tells watchers.
    pub fn request_stop(&self, reason: EndReason) {
        let described = reason.describe();
        if self.stop.trigger(reason) {
            self.emit(WorkerEvent::Lifecycle(Lifecycle {
                state: LifecycleState::Stopping,
                reason: Some(described),
                at_ms: now_ms(),
            }));
        }
    }

    /// User `index`'s slot (Goose's user indexes stay below `max_users`; a larger one shares the
    /// last slot rather than panicking).
    pub fn slot(&self, index: usize) -> &UserSlot {
        &self.users[index.min(self.users.len() - 1)]
    }

    /// The user id for user `index`'s `sequence`-th request: users walk the id list in steps of
    /// the session's `max_users` from their index in the session, so together (across
    /// generators too) they cycle through every id.
    pub fn user_id(&self, index: usize, sequence: u64) -> Option<String> {
        let ids = &self.scenario.user_ids.as_ref()?.ids;
        let n = self.place.global_user(index) as u64
            + sequence.wrapping_mul(u64::from(self.place.whole_max_users));
        Some(ids.nth(n))
    }

    /// The live settings in force now.
    pub fn live_config(&self) -> lt_protocol::LiveConfig {
        let control = &self.control;
        lt_protocol::LiveConfig {
            users: control.target_users(),
            weights: self
                .choice_names()
                .into_iter()
                .map(str::to_string)
                .zip(control.weights())
                .collect(),
            think_time: control.think_time_bounds(),
            arrival_rate: control.arrival.rate(),
        }
    }

    /// The request rows' names, in order (endpoints, then `flow/step`).
    pub fn endpoint_names(&self) -> Vec<String> {
        self.endpoints
            .iter()
            .map(|e| e.plan.endpoint.name.clone())
            .collect()
    }

    /// The names of what the weights choose among, in weight order.
    pub fn choice_names(&self) -> Vec<&str> {
        self.choices
            .iter()
            .map(|c| match *c {
                ChoiceTarget::Endpoint(i) => self.endpoints[i].plan.endpoint.name.as_str(),
                ChoiceTarget::Flow(f) => self.flows[f].name.as_str(),
            })
            .collect()
    }

    /// The row whose request a choice sends first.
    pub fn first_row(&self, choice: usize) -> usize {
        match self.choices[choice] {
            ChoiceTarget::Endpoint(i) => i,
            ChoiceTarget::Flow(f) => self.flows[f].first_row,
        }
    }

    /// Counts a user entering (`true`) or leaving backoff.
    pub fn set_in_backoff(&self, entering: bool) {
        if entering {
            self.users_in_backoff.fetch_add(1, Ordering::Relaxed);
        } else {
            self.users_in_backoff.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
