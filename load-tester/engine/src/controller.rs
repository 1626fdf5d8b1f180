//! The run's clock: every 100 ms it follows the schedule, watches for the end and for signals;
//! every second it drains the measurements into a [`Tick`], judges the error budget, load
//! reduction and breaker ratios, and keeps the run's totals for the final report.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use lt_protocol::{
    EndReason, EndpointTick, FlowTick, Latency, ReductionState, RowSecond, RunTotals, Tick,
    WorkerEvent,
};
use tokio::sync::watch;

use crate::arrivals::split_by_weight;
use crate::correction::Corrector;
use crate::histogram::LatencyHistogram;
use crate::reduction::Reduction;
use crate::run_state::{RunState, now_ms};
use crate::schedule::target_users;
use crate::self_monitor::SelfMonitor;
use crate::window::{SecondCounts, SecondWindow};

const STEP: Duration = Duration::from_millis(100);
const BUDGET_WINDOW_SECONDS: usize = 60;

/// The run's totals, for the report.
#[derive(Debug, Default)]
pub struct Totals {
    /// Rows, flows and latencies (the shared kind a coordinator keeps too).
    pub run: RunTotals,
    pub peak_active_users: u32,
    /// Open model: arrivals asked for (the rate integrated over the run).
    pub asked_arrivals: f64,
    /// With `latency.correction`: the correction as last applied, as people read it.
    pub correction: Option<String>,
    pub generator: Option<lt_protocol::GeneratorReport>,
}

/// The controller's state.
#[derive(Debug)]
pub struct Controller {
    state: Arc<RunState>,
    totals: Totals,
    breaker_windows: Vec<SecondWindow>,
    global_breaker_window: SecondWindow,
    budget: SecondWindow,
    reduction: Option<Reduction>,
    second: u64,
    last_tick: Instant,
    second_latency: LatencyHistogram,
    monitor: SelfMonitor,
    corrector: Option<Corrector>,
    /// Why users are held back this second (a generator limit), if they are.
    limited: Option<String>,
    /// With `whole_ticks`: this second's flow journeys, encoded for the coordinator.
    journeys_whole: Vec<String>,
}

impl Controller {
    /// A controller for a run that starts now.
    pub fn new(state: Arc<RunState>, started: Instant) -> Self {
        let n = state.endpoints.len();
        let breaker_window = state
            .scenario
            .protection
            .circuit_breaker
            .as_ref()
            .map_or(1, |b| b.window.as_secs().max(1) as usize);
        // A network generator's reduction is its coordinator's, judged on merged seconds.
        let reduction = state
            .scenario
            .protection
            .load_reduction
            .clone()
            .filter(|_| !state.whole_ticks)
            .map(Reduction::new);
        let corrector = Corrector::of(&state.scenario);
        Controller {
            totals: Totals {
                run: RunTotals::new(n, state.flows.len(), corrector.is_some()),
                correction: corrector.map(|_| String::new()),
                ..Totals::default()
            },
            monitor: SelfMonitor::start(state.scenario.load.limits, started),
            corrector,
            limited: None,
            journeys_whole: Vec::new(),
            breaker_windows: vec![SecondWindow::new(breaker_window); n],
            global_breaker_window: SecondWindow::new(breaker_window),
            budget: SecondWindow::new(BUDGET_WINDOW_SECONDS),
            reduction,
            second: 0,
            last_tick: started,
            second_latency: LatencyHistogram::new(),
            state,
        }
    }

    /// Runs until `done` turns true (Goose returned), then takes a last tick and hands back the
    /// totals.
    pub async fn run(mut self, mut done: watch::Receiver<bool>) -> Totals {
        self.state.errors.refill_samples();
        self.follow_schedule(Instant::now());
        let mut interval = tokio::time::interval(STEP);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // Second n ends at start + n s exactly: the tick waits for that deadline, not for
            // the first 100 ms step after it, so seconds never drift with the scheduler.
            let deadline = self.deadline();
            tokio::select! {
                _ = interval.tick() => {}
                _ = tokio::time::sleep_until(deadline.into()) => {}
                changed = done.changed() => {
                    if changed.is_err() || *done.borrow() {
                        break;
                    }
                }
            }
            self.step(Instant::now());
        }
        let now = Instant::now();
        if now.duration_since(self.last_tick) >= Duration::from_millis(1) {
            self.tick(now);
        }
        self.totals.generator = Some(self.monitor.report());
        self.totals
    }

    fn started(&self) -> Instant {
        self.state
            .started
            .get()
            .copied()
            .unwrap_or(self.state.epoch)
    }

    fn step(&mut self, now: Instant) {
        let state = &self.state;
        if !state.stop.is_set() {
            if goose::is_killswitch_triggered() {
                // Goose's own Ctrl-C handler fired.
                state.request_stop(EndReason::Stopped {
                    by: "signal (SIGINT)".into(),
                });
            } else if now.duration_since(self.started()) >= state.scenario.load.duration {
                state.request_stop(EndReason::Completed);
            }
        }
        if let Some(reason) = state.stop.reason() {
            // Repeated on purpose: Goose clears the killswitch when its run starts, so a stop
            // asked for during start-up must be asked again.
            goose::trigger_killswitch(&reason.describe());
        }
        if !state.stop.is_set() {
            // Open model: arrivals no user took in time are dropped in the second they expire.
            state.control.arrival.expire(now);
        }
        self.follow_schedule(now);
        if now >= self.deadline() {
            self.tick(now);
        }
    }

    /// When the current second ends: the run's start plus the next whole second.
    fn deadline(&self) -> Instant {
        self.started() + Duration::from_secs(self.second + 1)
    }

    fn follow_schedule(&mut self, now: Instant) {
        let control = &self.state.control;
        if !control.schedule_replaced() {
            let elapsed = now.duration_since(self.started());
            control.set_target_users(target_users(&self.state.scenario.load, elapsed), false);
        }
        let parked = self
            .reduction
            .as_ref()
            .map_or_else(|| control.parked_by_coordinator(), Reduction::parked);
        let wanted = control.target_users().saturating_sub(parked);
        // The generator's own limits (max_memory, max_cpu) hold users back, and say so.
        let (active, limited) = self.monitor.allowed_users(wanted, control.active_users());
        self.limited = limited;
        control.set_active_users(active);
        self.totals.peak_active_users = self.totals.peak_active_users.max(active);
    }

    fn tick(&mut self, now: Instant) {
        let seconds = now.duration_since(self.last_tick).as_secs_f64().max(1e-3);
        self.last_tick = now;
        // Numbered by the clock: a controller held up past several deadlines (a stalled
        // generator) gives one tick for all of them, numbered by the second it ends in, so
        // the gap shows instead of every later second being shifted.
        let whole = now.duration_since(self.started()).as_secs();
        self.second = (self.second + 1).max(whole);
        let state = Arc::clone(&self.state);
        let weights = state.control.weights();
        let mut all_second = SecondCounts::default();
        let mut short_circuited = 0;
        self.second_latency.reset();
        let mut endpoints = Vec::with_capacity(state.endpoints.len());
        let accuracy = self.accuracy(now, seconds, &weights);
        // With `latency.correction`: the interval from the run's median so far.
        let correction = self.corrector.map(|c| {
            let median = self.totals.run.all.quantile_ms(0.5);
            (c, c.interval_us(state.control.think_time_bounds(), median))
        });
        let mut second_corrected = correction.map(|_| LatencyHistogram::new());
        let mut endpoints_whole = Vec::new();
        let mut corrected_whole = Vec::new();
        for (i, runtime) in state.endpoints.iter().enumerate() {
            let mut latency = LatencyHistogram::new();
            let drained = runtime.stats.drain(&mut latency);
            let counts = SecondCounts {
                requests: drained.requests,
                failures: drained.failures.total(),
            };
            all_second.requests += counts.requests;
            all_second.failures += counts.failures;
            short_circuited += drained.short_circuited;
            let corrected = correction.map(|(c, interval)| c.correct(&latency, interval));
            self.totals.run.add_row(
                i,
                RowSecond {
                    requests: drained.requests,
                    failures: &drained.failures,
                    short_circuited: drained.short_circuited,
                    dropped: accuracy.dropped[i],
                    latency: &latency,
                    corrected: corrected.as_ref(),
                },
            );
            self.second_latency.merge(&latency);
            if let (Some(second), Some(c)) = (second_corrected.as_mut(), corrected.as_ref()) {
                second.merge(c);
            }

            self.breaker_windows[i].push(counts);
            if let Some(breaker) = &runtime.breaker {
                let sum = self.breaker_windows[i].sum();
                breaker.check_ratio(sum.requests, sum.failures, now);
            }
            endpoints.push(EndpointTick {
                name: runtime.plan.endpoint.name.clone(),
                requests: drained.requests,
                failures: drained.failures,
                short_circuited: drained.short_circuited,
                latency: latency.latency(),
                weight: weights.get(state.row_choice[i]).copied().unwrap_or(0.0),
                breaker: breaker_state(&state, i),
                totals: self.totals.run.rows[i].tick_totals(),
                dropped: accuracy.dropped[i],
                corrected_latency: corrected.as_ref().map(LatencyHistogram::latency),
            });
            if state.whole_ticks {
                endpoints_whole.push(latency.encode());
                if let Some(c) = &corrected {
                    corrected_whole.push(c.encode());
                }
            }
        }
        if let Some((c, interval)) = correction {
            self.totals.correction = Some(c.describe(interval));
        }
        let flows = self.flow_ticks(&weights);
        self.global_breaker_window.push(all_second);
        if let Some(breaker) = &state.global_breaker {
            let sum = self.global_breaker_window.sum();
            breaker.check_ratio(sum.requests, sum.failures, now);
        }

        // The error budget.
        self.budget.push(all_second);
        let errors_last_minute = self.budget.sum().failures;
        if let Some(max) = state.scenario.protection.max_errors_per_minute
            && errors_last_minute > max
        {
            state.request_stop(EndReason::Aborted {
                reason: format!(
                    "error budget exceeded: {errors_last_minute} failures in the last 60 s \
                     (max_errors_per_minute: {max})"
                ),
            });
        }

        // Load reduction.
        let target = state.control.target_users();
        let load_reduction = self.reduction.as_mut().map(|r| {
            let parked = r.on_second(self.second, all_second, target);
            ReductionState {
                parked_users: parked,
                window_error_rate: r.window_error_rate(),
            }
        });
        self.follow_schedule(now);
        state.errors.refill_samples();

        let elapsed = now.duration_since(self.started());
        let latency: Latency = self.second_latency.latency();
        state.emit(WorkerEvent::Tick(Tick {
            second: self.second,
            at_ms: now_ms(),
            elapsed_s: elapsed.as_secs_f64(),
            remaining_s: state
                .scenario
                .load
                .duration
                .saturating_sub(elapsed)
                .as_secs_f64(),
            active_users: state.control.active_users(),
            target_users: state.control.target_users(),
            requests: all_second.requests,
            failures: all_second.failures,
            short_circuited,
            rps: all_second.requests as f64 / seconds,
            latency,
            total_requests: self.totals.run.requests(),
            total_failures: self.totals.run.failures(),
            total_latency: self.totals.run.all.latency(),
            errors_last_minute,
            load_reduction,
            users_in_backoff: state.users_in_backoff.load(Ordering::Relaxed),
            endpoints,
            flows,
            config: state.live_config(),
            dropped: accuracy.dropped.iter().sum(),
            total_dropped: self.totals.run.dropped(),
            schedule_lag: accuracy.schedule_lag,
            corrected_latency: second_corrected.as_ref().map(LatencyHistogram::latency),
            total_corrected_latency: self
                .totals
                .run
                .corrected
                .as_ref()
                .map(LatencyHistogram::latency),
            generator: accuracy.generator,
            histograms: state.whole_ticks.then(|| lt_protocol::TickHistograms {
                endpoints: endpoints_whole,
                flows: std::mem::take(&mut self.journeys_whole),
                corrected: corrected_whole,
                schedule_lag: accuracy.schedule_lag_whole,
            }),
        }));
    }

    /// Drains the flows' iterations into their totals and this second's ticks.
    fn flow_ticks(&mut self, weights: &[f64]) -> Vec<FlowTick> {
        let state = &self.state;
        let mut out = Vec::with_capacity(state.flows.len());
        for (f, runtime) in state.flows.iter().enumerate() {
            let mut journey = LatencyHistogram::new();
            let drained = runtime.stats.drain(&mut journey);
            let totals = &mut self.totals.run.flows[f];
            totals.add(drained.started, drained.completed, drained.failed, &journey);
            if state.whole_ticks {
                self.journeys_whole.push(journey.encode());
            }
            out.push(FlowTick {
                name: runtime.name.clone(),
                started: drained.started,
                completed: drained.completed,
                failed: drained.failed,
                journey: journey.latency(),
                weight: weights
                    .get(state.row_choice[runtime.first_row])
                    .copied()
                    .unwrap_or(0.0),
                totals: totals.tick_totals(),
            });
        }
        out
    }

    /// The second's open-model drops (split over endpoints by weight) and schedule lag, and
    /// the generator's own figures.
    fn accuracy(&mut self, now: Instant, seconds: f64, weights: &[f64]) -> Accuracy {
        let arrivals = &self.state.control.arrival;
        let rate = arrivals.rate();
        self.totals.asked_arrivals += rate.unwrap_or(0.0) * seconds;
        // Split by the choices' weights; a journey's share goes to its first step, the request
        // its arrival would have sent first.
        let mut dropped = vec![0; self.state.endpoints.len()];
        for (choice, n) in split_by_weight(arrivals.take_dropped(), weights)
            .into_iter()
            .enumerate()
        {
            if let Some(d) = dropped.get_mut(self.state.first_row(choice)) {
                *d += n;
            }
        }
        let mut schedule_lag_whole = None;
        let whole_ticks = self.state.whole_ticks;
        let schedule_lag = rate.map(|_| {
            let mut lag = LatencyHistogram::new();
            arrivals.drain_lag(&mut lag);
            self.totals.run.schedule_lag.merge(&lag);
            if whole_ticks {
                schedule_lag_whole = Some(lag.encode());
            }
            lag.latency()
        });
        let generator = self.monitor.sample(now).map(|mut g| {
            if let Some(message) = &self.limited {
                self.monitor.note_limited(message);
                g.limited = Some(message.clone());
            }
            g
        });
        Accuracy {
            dropped,
            schedule_lag,
            schedule_lag_whole,
            generator,
        }
    }
}

/// The open model's and the generator's figures for one second.
#[derive(Debug)]
struct Accuracy {
    dropped: Vec<u64>,
    schedule_lag: Option<Latency>,
    /// With `whole_ticks`: the schedule lag's histogram, encoded.
    schedule_lag_whole: Option<String>,
    generator: Option<lt_protocol::GeneratorStats>,
}

fn breaker_state(state: &RunState, endpoint: usize) -> lt_protocol::BreakerState {
    state
        .global_breaker
        .as_ref()
        .or(state.endpoints[endpoint].breaker.as_ref())
        .map_or(lt_protocol::BreakerState::Closed, |b| b.state())
}
