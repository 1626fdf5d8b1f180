//! The one Goose transaction every user runs: it picks an endpoint or a flow by the live weights
//! (or goes on with the user's journey under way), asks the breaker, paces, sends the request
//! named by its row (so Goose keeps a row per endpoint and step), reads the answer
//! (`answer.rs`), records it, and leaves the think time plus any backoff as the user's next,
//! idle, step.
//!
//! A parked user (beyond the active count, or everyone while stopping) sends nothing; every wait
//! ends at once when the run stops, so Goose's users exit promptly.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use goose::prelude::*;
use http::HeaderValue;
use http::header::HeaderName;
use lt_protocol::{ErrorSample, FailureClass, WorkerEvent};

use crate::answer::{self, Outcome};
use crate::backoff::backoff_delay;
use crate::breaker::{Admission, Breaker};
use crate::client_spans::ClientRequest;
use crate::control::draw;
use crate::journey::{ChoiceTarget, Iteration, UserState};
use crate::render::Values;
use crate::run_state::{RunState, now_ms};
use crate::traceparent::{new_trace_id, new_traceparent, traceparent_in};
use crate::transport::{Outgoing, TransportError};

const BAGGAGE: HeaderName = HeaderName::from_static("baggage");
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
/// How long a stopping user idles before Goose's exit message reaches it.
const STOPPING_IDLE: Duration = Duration::from_millis(50);
/// The longest a user waits at once when nothing can be sent.
const MAX_IDLE: Duration = Duration::from_secs(1);

/// The dispatcher as a Goose transaction.
///
/// `goose_metrics` says whether Goose keeps request metrics in this run (for its HTML report);
/// only then is Goose's verdict on each request brought in line with the endpoint's `expect`.
///
/// Each call is either an idle step (a small future: the wait) or a send (the request's much
/// larger future, ~2.4 KB): a user thinking, backing off or parked holds only its wait, which is
/// most of what an idle user costs at 10,000 users.
pub fn transaction(state: Arc<RunState>, goose_metrics: bool) -> Transaction {
    Transaction::new(Arc::new(move |user: &mut GooseUser| {
        let state = Arc::clone(&state);
        let step: TransactionFuture<'_> = match next_idle(&state, user.weighted_users_index) {
            Some(idle) => Box::pin(async move {
                idle.wait(&state, user.weighted_users_index).await;
                Ok(())
            }),
            None => Box::pin(async move {
                dispatch(&state, user, goose_metrics).await;
                Ok(())
            }),
        };
        step
    }))
    .set_name("dispatch")
}

type TransactionFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = TransactionResult> + Send + 'a>>;

/// What a user waits for instead of sending.
enum Idle {
    /// The run is stopping: idle until Goose's exit message arrives.
    Stopping,
    /// Beyond the active count: wait to be woken.
    Parked,
    /// Think time, backoff, or the start offset.
    Pause { wait: Duration, backoff: bool },
}

/// Whether this user waits now (and for what) rather than sends.
fn next_idle(state: &RunState, index: usize) -> Option<Idle> {
    if state.stop.is_set() {
        return Some(Idle::Stopping);
    }
    let slot = state.slot(index);
    if index as u32 >= state.control.active_users() || slot.out_of_rows.load(Ordering::Relaxed) {
        return Some(Idle::Parked);
    }
    let pause_us = slot.pause_us.swap(0, Ordering::Relaxed);
    if pause_us > 0 {
        return Some(Idle::Pause {
            wait: Duration::from_micros(pause_us),
            backoff: slot.pause_is_backoff.load(Ordering::Relaxed),
        });
    }
    // Closed model: users started together spread their first requests over one think time
    // (user 0 at once, the last near its end), so that they do not all send, and open a
    // connection each, in the same instant.
    if state.control.arrival.rate().is_none() && !slot.started.swap(true, Ordering::Relaxed) {
        let active = state.control.active_users().max(1);
        let fraction = (index as f64 / f64::from(active)).min(1.0);
        let wait = state.control.think_time(&mut rand::rng()).mul_f64(fraction);
        if !wait.is_zero() {
            return Some(Idle::Pause {
                wait,
                backoff: false,
            });
        }
    }
    None
}

impl Idle {
    async fn wait(self, state: &RunState, index: usize) {
        match self {
            Idle::Stopping => tokio::time::sleep(STOPPING_IDLE).await,
            Idle::Parked if state.slot(index).out_of_rows.load(Ordering::Relaxed) => {
                // No data row left for this user: it sends nothing more in this run.
                state.stop.sleep(Duration::MAX).await;
            }
            Idle::Parked => {
                tokio::select! {
                    _ = state.control.wait_until_active(index as u32) => {}
                    _ = state.stop.sleep(Duration::MAX) => {}
                }
            }
            Idle::Pause { wait, backoff } => {
                if backoff {
                    state.set_in_backoff(true);
                }
                state.stop.sleep(wait).await;
                if backoff {
                    state.set_in_backoff(false);
                }
            }
        }
    }
}

/// Sends one request (after any arrival-slot wait) and leaves the pause that follows it in the
/// user's slot for the next, idle, step. A user with state of its own (journeys, templates, data,
/// cookies) has it taken out of its Goose session data for the call and put back after.
async fn dispatch(state: &RunState, user: &mut GooseUser, goose_metrics: bool) {
    if !state.user_state {
        send_next(state, user, goose_metrics, None).await;
        return;
    }
    let mut me = match user.get_session_data_mut::<UserState>() {
        Some(me) => std::mem::take(me),
        None => UserState::default(),
    };
    send_next(state, user, goose_metrics, Some(&mut me)).await;
    match user.get_session_data_mut::<UserState>() {
        Some(slot) => *slot = me,
        None => user.set_session_data(me),
    }
}

/// What this send is: a choice's first request, or the next step of a journey under way.
struct Next {
    row: usize,
    admission: Admission,
    /// The flow and step, when it is a step.
    step: Option<(usize, usize)>,
}

async fn send_next(
    state: &RunState,
    user: &mut GooseUser,
    goose_metrics: bool,
    mut me: Option<&mut UserState>,
) {
    let index = user.weighted_users_index;
    let slot = state.slot(index);
    let open_model = state.control.arrival.rate().is_some();
    let continuing = me
        .as_deref()
        .and_then(|m| m.active.as_ref())
        .map(|a| (a.flow, a.step));

    // Open model: an arrival is a choice (one endpoint request or a whole journey): the user takes
    // the next arrival and waits for its intended time, which the latency counts from (see
    // `arrivals.rs`); a journey's later steps follow its think time, not the arrival rate.
    // Closed model: the cap holds for every request.
    let intended = if open_model {
        match continuing {
            Some(_) => None,
            None => match state.control.arrival.claim(Instant::now()) {
                Some(turn) => {
                    if !state.stop.sleep(turn.wait).await {
                        return;
                    }
                    Some(turn.intended)
                }
                None => None,
            },
        }
    } else {
        if let Some(wait) = state.control.cap.claim(Instant::now())
            && !state.stop.sleep(wait).await
        {
            return;
        }
        None
    };

    let next = match continuing {
        Some((flow, step)) => {
            let row = state.flows[flow].first_row + step;
            let admission = match breaker_for(state, row) {
                Some(breaker) => breaker.admit(Instant::now()),
                None => Admission::Allowed,
            };
            if let Admission::Refused { retry_in } = admission {
                // The step is not sent: the journey ends here.
                state.endpoints[row].stats.short_circuit();
                if let Some(me) = me.as_deref_mut() {
                    end_iteration(state, index, me, false);
                }
                state.stop.sleep(retry_in.min(MAX_IDLE)).await;
                return;
            }
            Next {
                row,
                admission,
                step: Some((flow, step)),
            }
        }
        None => match choose(state) {
            Choice::Send(choice, row, admission) => {
                let step = match state.choices[choice] {
                    ChoiceTarget::Flow(f) => Some((f, 0)),
                    ChoiceTarget::Endpoint(_) => None,
                };
                Next {
                    row,
                    admission,
                    step,
                }
            }
            Choice::Wait(wait) => {
                state.stop.sleep(wait).await;
                return;
            }
        },
    };

    // A new iteration: an endpoint request, or a journey's first step.
    if continuing.is_none()
        && let Some(me) = me.as_deref_mut()
    {
        me.iteration += 1;
        if let Some(rows) = &state.rows {
            match rows.pick(index, &mut rand::rng()) {
                Some(row) => me.row = Some(row),
                None => {
                    // `on_end: stop_user`: this user has no row left and stops sending.
                    slot.out_of_rows.store(true, Ordering::Relaxed);
                    return;
                }
            }
        }
        if let Some((flow, _)) = next.step {
            let runtime = &state.flows[flow];
            runtime.stats.started();
            me.active = Some(Iteration {
                flow,
                step: 0,
                vars: vec![None; runtime.vars],
                trace: new_trace_id(&mut rand::rng()),
                started: Instant::now(),
            });
        }
    }

    let row = next.row;
    let runtime = &state.endpoints[row];
    let plan = &runtime.plan;
    let sequence = slot.sequence.fetch_add(1, Ordering::Relaxed);
    let user_id = state.user_id(index, sequence);
    let cookies = match next.step {
        Some((flow, _)) => state.flows[flow].cookies,
        None => state.scenario.cookies,
    };

    // Everything random or rendered happens here, before the first await (the thread's random
    // generator does not cross one).
    let prepared = {
        let mut rng = rand::rng();
        let rendered = match (&plan.template, me.as_deref()) {
            (Some(template), Some(me)) => {
                let number;
                let id = match &user_id {
                    Some(id) => id.as_str(),
                    None => {
                        number = (index + 1).to_string();
                        number.as_str()
                    }
                };
                let data = state.scenario.data.as_ref();
                let mut values = Values {
                    vars: me.active.as_ref().map_or(&[], |a| a.vars.as_slice()),
                    row: data
                        .zip(me.row)
                        .and_then(|(d, r)| d.table.rows.get(r))
                        .map(|r| &r[..]),
                    user_id: id,
                    session_id: &state.session_id,
                    iteration: me.iteration,
                    rng: &mut rng,
                };
                let json_field = state
                    .scenario
                    .user_ids
                    .as_ref()
                    .and_then(|u| u.json_field.as_deref());
                Some(plan.render(template, &mut values, json_field.zip(user_id.as_deref())))
            }
            _ => None,
        };
        let trace = state.scenario.tracing.enabled.then(|| {
            match me.as_deref().and_then(|m| m.active.as_ref()) {
                Some(active) => traceparent_in(active.trace, &mut rng),
                None => new_traceparent(&mut rng),
            }
        });
        (rendered, trace)
    };
    let (rendered, trace) = prepared;
    let rendered = match rendered.transpose() {
        Ok(r) => r,
        Err(message) => {
            // A value that cannot be sent (a header with a line break): this request fails.
            let outcome = Outcome::unexpected(format!("{}: {message}", plan.endpoint.name));
            runtime.stats.record_unsent(FailureClass::Unexpected);
            record_failure(state, row, &outcome, None, Duration::ZERO);
            after_send(state, index, me, next.step, &outcome, open_model);
            return;
        }
    };
    let (url, rendered_headers, rendered_body) = match rendered {
        Some(r) => (r.url, r.headers, r.body),
        None => (None, Vec::new(), None),
    };
    // A rendered path stays on the plan's origin (`render` checks it): only its request-target
    // is new.
    let rendered_route = match (&url, &plan.route) {
        (Some(u), Some(route)) => route.to(u).map(Some),
        _ => Ok(None),
    };
    let route = match &rendered_route {
        Ok(Some(route)) => Some(route),
        Ok(None) => plan.route.as_ref(),
        Err(e) => {
            let outcome = Outcome::unexpected(format!("{}: {e}", plan.endpoint.name));
            runtime.stats.record_unsent(FailureClass::Unexpected);
            record_failure(state, row, &outcome, None, Duration::ZERO);
            after_send(state, index, me, next.step, &outcome, open_model);
            return;
        }
    };
    let url = url.as_ref().unwrap_or(&plan.url);
    let mut headers = plan.headers.clone();
    if let Some(trace) = &trace {
        headers.append(TRACEPARENT, trace.0.clone());
        headers.append(BAGGAGE, state.baggage.clone());
    }
    let trace = trace.map(|(_, id, span)| (id, span));
    let trace_id = trace.map(|(id, _)| id);
    if let (Some(header), Some(id)) = (&state.user_id_header, &user_id)
        && let Ok(value) = HeaderValue::from_str(id)
    {
        headers.append(header.clone(), value);
    }
    // The jar judges cookies by the URL: kept only when the user has one.
    if cookies
        && let Some(jar) = me.as_deref().and_then(|m| m.jar.as_ref())
        && let Some(header) = cookie_header(jar, url)
    {
        headers.append(http::header::COOKIE, header);
    }
    for (name, value) in rendered_headers {
        headers.append(name, value);
    }
    let request = Outgoing {
        method: plan.method.clone(),
        headers,
        body: rendered_body
            .or_else(|| plan.body_for(user_id.as_deref()))
            .unwrap_or_default(),
    };
    let started = Instant::now();
    let deadline = tokio::time::Instant::from_std(started + plan.timeout);
    let sent = match route {
        Some(route) => {
            state
                .transport
                .send(route, url, request, deadline, plan.timeout)
                .await
        }
        None => Err(TransportError::Invalid(
            "the request has no route".to_string(),
        )),
    };
    let outcome = answer::read(sent, plan, cookies, deadline).await;
    let latency = match intended {
        Some(at) => {
            state
                .control
                .arrival
                .record_lag(index, started.saturating_duration_since(at));
            at.elapsed()
        }
        None => started.elapsed(),
    };
    let now = Instant::now();
    let failed = outcome.failure.is_some();
    if goose_metrics {
        // Goose's own report (`--goose-html`) gets every request, with our verdict.
        let error = outcome
            .failure
            .as_ref()
            .map(|(_, message)| message.as_str());
        let _ = user
            .record_custom_request_duration(
                plan.method.as_str(),
                &plan.endpoint.name,
                latency,
                !failed,
                outcome.status,
                error,
            )
            .await;
    }

    runtime.stats.record(
        index,
        latency.as_micros() as u64,
        outcome.failure.as_ref().map(|(c, _)| *c),
    );
    if let Some(breaker) = breaker_for(state, row) {
        breaker.record(next.admission, !failed, now);
    }
    let slow = latency >= state.scenario.tracing.slow;
    if (failed || slow)
        && let (Some(spans), Some((id, span))) = (&state.client_spans, trace)
    {
        spans.record(&ClientRequest {
            trace_id: id.0,
            span_id: span,
            method: plan.method.as_str(),
            url: &plan.display_url,
            endpoint: &plan.endpoint.name,
            user_id: user_id.as_deref(),
            status: outcome.status,
            failure: outcome
                .failure
                .as_ref()
                .map(|(class, message)| (class.as_str(), message.as_str())),
            latency,
            ended: SystemTime::now(),
        });
    }
    if failed {
        record_failure(state, row, &outcome, trace_id, latency);
    } else if slow && state.errors.take_sample() {
        state.emit(WorkerEvent::Error(ErrorSample {
            endpoint: plan.endpoint.name.clone(),
            class: None,
            status: outcome.status,
            message: format!("slow: {:.0} ms", latency.as_secs_f64() * 1000.0),
            trace_id: trace_id.map(|t| t.to_string()),
            latency_ms: latency.as_secs_f64() * 1000.0,
            at_ms: now_ms(),
        }));
    }
    if let Some(me) = me.as_deref_mut() {
        if cookies && !outcome.set_cookies.is_empty() {
            let jar = me.jar.get_or_insert_with(Default::default);
            for set_cookie in &outcome.set_cookies {
                let _ = jar.parse(set_cookie, url);
            }
        }
        if let Some(active) = me.active.as_mut() {
            for (slot, value) in &outcome.captured {
                if let Some(var) = active.vars.get_mut(*slot) {
                    *var = Some(value.clone());
                }
            }
        }
    }
    after_send(state, index, me, next.step, &outcome, open_model);
}

/// Counts a failure in its group and, within the sample rate, reports it.
fn record_failure(
    state: &RunState,
    row: usize,
    outcome: &Outcome,
    trace_id: Option<crate::traceparent::TraceId>,
    latency: Duration,
) {
    let Some((class, message)) = &outcome.failure else {
        return;
    };
    let trace_text = trace_id.map(|t| t.to_string());
    state
        .errors
        .record(row, *class, outcome.status, message, trace_text.clone());
    if state.errors.take_sample() {
        state.emit(WorkerEvent::Error(ErrorSample {
            endpoint: state.endpoints[row].plan.endpoint.name.clone(),
            class: Some(*class),
            status: outcome.status,
            message: message.clone(),
            trace_id: trace_text,
            latency_ms: latency.as_secs_f64() * 1000.0,
            at_ms: now_ms(),
        }));
    }
}

/// Moves the journey on (or ends it) and leaves the pause before the user's next send: think
/// time (a flow's own between its steps) plus backoff after consecutive failures.
fn after_send(
    state: &RunState,
    index: usize,
    me: Option<&mut UserState>,
    step: Option<(usize, usize)>,
    outcome: &Outcome,
    open_model: bool,
) {
    let slot = state.slot(index);
    let failed = outcome.failure.is_some();
    let mut between_steps = None;
    if let (Some(me), Some((flow, step))) = (me, step) {
        let runtime = &state.flows[flow];
        if failed {
            end_iteration(state, index, me, false);
        } else if step + 1 >= runtime.steps {
            end_iteration(state, index, me, true);
        } else {
            if let Some(active) = me.active.as_mut() {
                active.step = step + 1;
            }
            between_steps = Some(runtime.think_time);
        }
    }

    // Backoff after consecutive failures, reset by a success.
    let consecutive = if failed {
        slot.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1
    } else {
        if slot.consecutive_failures.load(Ordering::Relaxed) != 0 {
            slot.consecutive_failures.store(0, Ordering::Relaxed);
        }
        0
    };
    let (think, backoff) = {
        let mut rng = rand::rng();
        let think = match between_steps {
            Some(Some(own)) => draw(own, &mut rng),
            // Between steps without a think time of the flow's own: the scenario's (none in
            // the open model, where arrivals pace the load).
            _ if open_model => Duration::ZERO,
            _ => state.control.think_time(&mut rng),
        };
        let backoff = match (&state.scenario.protection.backoff, consecutive) {
            (Some(cfg), n) if n > 0 => backoff_delay(cfg, n, &mut rng),
            _ => Duration::ZERO,
        };
        (think, backoff)
    };
    let pause = think + backoff;
    if !pause.is_zero() {
        slot.pause_is_backoff
            .store(!backoff.is_zero(), Ordering::Relaxed);
        slot.pause_us
            .store((pause.as_micros() as u64).max(1), Ordering::Relaxed);
    }
}

/// Ends the user's journey under way: completed (every step succeeded) or failed.
fn end_iteration(state: &RunState, index: usize, me: &mut UserState, completed: bool) {
    if let Some(active) = me.active.take() {
        let took = completed.then(|| active.started.elapsed().as_micros() as u64);
        state.flows[active.flow].stats.ended(index, took);
    }
}

/// The `Cookie` header of the user's jar for `url`, if it has any cookie for it.
fn cookie_header(
    jar: &cookie_store::CookieStore,
    url: &lt_scenario::address::Url,
) -> Option<HeaderValue> {
    let mut text = String::new();
    for (name, value) in jar.get_request_values(url) {
        if !text.is_empty() {
            text.push_str("; ");
        }
        text.push_str(name);
        text.push('=');
        text.push_str(value);
    }
    (!text.is_empty())
        .then(|| HeaderValue::from_str(&text).ok())
        .flatten()
}

/// What a user does next.
enum Choice {
    /// Send this choice's first request (its row), as admitted.
    Send(usize, usize, Admission),
    /// Nothing can be sent (every weight zero, or every breaker open): wait this long.
    Wait(Duration),
}

/// Picks an endpoint or flow whose (first) request the breakers let through, counting each
/// refusal as short-circuited.
fn choose(state: &RunState) -> Choice {
    let now = Instant::now();
    let mut rng = rand::rng();
    let Some(first) = state.control.pick(&mut rng) else {
        return Choice::Wait(MAX_IDLE);
    };
    let mut refused: Vec<usize> = Vec::new();
    let mut shortest_wait = MAX_IDLE;
    let mut candidate = Some(first);
    while let Some(choice) = candidate {
        let row = state.first_row(choice);
        let admission = match breaker_for(state, row) {
            Some(breaker) => breaker.admit(now),
            None => Admission::Allowed,
        };
        match admission {
            Admission::Refused { retry_in } => {
                state.endpoints[row].stats.short_circuit();
                shortest_wait = shortest_wait.min(retry_in);
                if state.global_breaker.is_some() {
                    break;
                }
                refused.push(choice);
                candidate = state
                    .control
                    .pick_among(&mut rng, |i| !refused.contains(&i));
            }
            admitted => return Choice::Send(choice, row, admitted),
        }
    }
    Choice::Wait(shortest_wait)
}

fn breaker_for(state: &RunState, endpoint: usize) -> Option<&Breaker> {
    state
        .global_breaker
        .as_ref()
        .or(state.endpoints[endpoint].breaker.as_ref())
}
