//! One run: Goose configured for our dispatcher, the controller beside it, and the report.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use goose::config::GooseConfiguration;
use goose::prelude::*;
use lt_protocol::{EndReason, Lifecycle, LifecycleState, Report, RunFacts, RunShape, WorkerEvent};
use lt_scenario::Scenario;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;

use crate::EngineError;
use crate::controller::{Controller, Totals};
use crate::dispatcher;
use crate::handle::EngineHandle;
use crate::run_state::{RunState, longest_timeout, now_ms};

/// How a run is set up beyond its scenario.
#[derive(Debug, Default)]
pub struct RunOptions {
    /// Sent as `baggage: loadtest.session=<id>`; names the run.
    pub session_id: String,
    /// Where Goose writes its HTML report, if wanted.
    pub html_report: Option<PathBuf>,
    /// Where events go (ticks, lifecycle, error samples, the final report).
    pub events: Option<UnboundedSender<WorkerEvent>>,
    /// This generator's place in a session split across generators (the scenario given is
    /// then its [`Scenario::part`]); `None`: the whole session.
    pub place: Option<lt_scenario::segment::Place>,
    /// Ticks carry the second's histograms whole (a generator of a split session).
    pub whole_ticks: bool,
}

/// A run, ready to start.
#[derive(Debug)]
pub struct Engine {
    state: Arc<RunState>,
    html_report: Option<PathBuf>,
}

impl Engine {
    /// Prepares a run; the handle changes or stops it while it runs.
    pub fn new(
        scenario: Scenario,
        options: RunOptions,
    ) -> Result<(Engine, EngineHandle), EngineError> {
        let session_id = if options.session_id.is_empty() {
            format!("{:016x}", rand::random::<u64>())
        } else {
            options.session_id
        };
        let mut state = RunState::new(scenario, session_id, options.events)?;
        if let Some(place) = options.place {
            state.place = place;
            state.rows = state.rows.map(|rows| rows.placed(place));
        }
        state.whole_ticks = options.whole_ticks;
        let state = Arc::new(state);
        let handle = EngineHandle::new(Arc::clone(&state));
        Ok((
            Engine {
                state,
                html_report: options.html_report,
            },
            handle,
        ))
    }

    /// Runs to the end (its duration, a stop, or the error budget) and returns the report.
    ///
    /// Goose keeps process-wide state (its killswitch, its Ctrl-C handler), so one process runs
    /// one engine at a time.
    pub async fn run(self) -> Result<Report, EngineError> {
        let state = self.state;
        let configuration = goose_configuration(&state.scenario, self.html_report.as_ref())?;
        let goose_metrics = !configuration.no_metrics;
        let client = goose::client::GooseClientBuilder::new()
            .without_cookies()
            .user_agent(concat!("load-tester/", env!("CARGO_PKG_VERSION")))
            .timeout(longest_timeout(&state.scenario));
        let scenario = goose::goose::Scenario::new("load")
            .register_transaction(dispatcher::transaction(Arc::clone(&state), goose_metrics));
        let attack = GooseAttack::initialize_with_config(configuration)
            .map_err(goose_error)?
            .set_client_builder_without_cookies(client)
            .map_err(goose_error)?
            .register_scenario(scenario);

        goose::reset_killswitch();
        let started = Instant::now();
        let _ = state.started.set(started);
        let _ = state.started_at_ms.set(now_ms());
        state.emit(WorkerEvent::Lifecycle(Lifecycle {
            state: LifecycleState::Starting,
            reason: None,
            at_ms: now_ms(),
        }));
        let (done_tx, done_rx) = watch::channel(false);
        let controller = tokio::spawn(Controller::new(Arc::clone(&state), started).run(done_rx));
        state.emit(WorkerEvent::Lifecycle(Lifecycle {
            state: LifecycleState::Running,
            reason: None,
            at_ms: now_ms(),
        }));

        let outcome = attack.execute().await;
        let duration = started.elapsed();
        let _ = done_tx.send(true);
        let totals = controller
            .await
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        goose::reset_killswitch();
        if state.client_spans.is_some() {
            let spans_state = Arc::clone(&state);
            let _ = tokio::task::spawn_blocking(move || {
                if let Some(spans) = &spans_state.client_spans {
                    spans.shutdown();
                }
            })
            .await;
        }

        if let Err(e) = outcome {
            let reason = goose_error(e);
            state.emit(WorkerEvent::Lifecycle(Lifecycle {
                state: LifecycleState::Ended,
                reason: Some(reason.to_string()),
                at_ms: now_ms(),
            }));
            return Err(reason);
        }
        let end_reason = state.stop.reason().unwrap_or(EndReason::Completed);
        let report = build_report(&state, &totals, duration, end_reason);
        state.emit(WorkerEvent::Lifecycle(Lifecycle {
            state: LifecycleState::Ended,
            reason: Some(report.end_reason.describe()),
            at_ms: now_ms(),
        }));
        state.emit(WorkerEvent::Finished(Box::new(report.clone())));
        Ok(report)
    }
}

fn goose_error(e: GooseError) -> EngineError {
    // GooseError's Display hides the detail of some variants; its Debug form keeps it.
    EngineError::Goose(format!("{e}: {e:?}"))
}

/// Goose's settings for our way of running: every user launched at once (our controller parks
/// and wakes them to follow the ramp, the stages and live changes), no end of its own (our
/// controller ends the run through the killswitch), no console output, no controllers on fixed
/// ports (runs in parallel must not collide), no per-transaction metrics, and no request metrics
/// at all unless its HTML report is asked for.
fn goose_configuration(
    scenario: &Scenario,
    html_report: Option<&PathBuf>,
) -> Result<GooseConfiguration, EngineError> {
    let users = scenario.load.max_users.max(1);
    let launch_rate = (u64::from(users) * 20).max(100);
    let timeout_s = longest_timeout(scenario).as_secs_f64().ceil().max(1.0);
    let mut args: Vec<String> = [
        "--host",
        &scenario.target,
        "--users",
        &users.to_string(),
        "--increase-rate",
        &launch_rate.to_string(),
        "--timeout",
        &timeout_s.to_string(),
        "--quiet",
        "--no-print-metrics",
        "--no-error-summary",
        "--no-reset-metrics",
        "--no-transaction-metrics",
        "--no-scenario-metrics",
        "--no-telnet",
        "--no-websocket",
        "--co-mitigation",
        "disabled",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    match html_report {
        Some(path) => {
            args.push("--report-file".into());
            args.push(path.display().to_string());
        }
        // Our own histograms make the report; Goose's metrics would only feed its HTML report.
        None => args.push("--no-metrics".into()),
    }
    GooseConfiguration::parse_args_default(&args).map_err(goose_error)
}

fn build_report(
    state: &RunState,
    totals: &Totals,
    duration: Duration,
    end_reason: EndReason,
) -> Report {
    let shape = RunShape::of(&state.scenario);
    let facts = RunFacts {
        scenario: &state.scenario,
        shape: &shape,
        started_at_ms: state.started_at_ms.get().copied().unwrap_or(0),
        duration_s: duration.as_secs_f64(),
        end_reason,
        max_users: totals.peak_active_users,
        asked_arrivals: (totals.asked_arrivals > 0.0).then_some(totals.asked_arrivals),
        correction: totals.correction.clone(),
        errors: state.errors.snapshot(&state.endpoint_names()),
        generator: totals.generator.clone(),
    };
    lt_protocol::build_report(facts, &totals.run)
}
