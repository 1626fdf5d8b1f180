//! The one Goose transaction every user runs: it picks an endpoint by the live weights, asks the
//! breaker, paces, sends the request named by its endpoint (so Goose keeps a row per endpoint),
//! classifies the outcome, records it, and leaves the think time plus any backoff as the user's
//! next, idle, step.
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

use crate::backoff::backoff_delay;
use crate::breaker::{Admission, Breaker};
use crate::client_spans::ClientRequest;
use crate::plan::EndpointPlan;
use crate::run_state::{RunState, now_ms};
use crate::traceparent::new_traceparent;

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
    if index as u32 >= state.control.active_users() {
        return Some(Idle::Parked);
    }
    let slot = state.slot(index);
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

/// The outcome of one sent request.
struct Outcome {
    failure: Option<(FailureClass, String)>,
    status: Option<u16>,
}

impl Outcome {
    /// A request that could not be built or sent for a reason other than the network.
    fn unexpected(message: String) -> Outcome {
        Outcome {
            failure: Some((FailureClass::Unexpected, message)),
            status: None,
        }
    }
}

/// Sends one request (after any arrival-slot wait) and leaves the pause that follows it in the
/// user's slot for the next, idle, step.
async fn dispatch(state: &RunState, user: &mut GooseUser, goose_metrics: bool) {
    let index = user.weighted_users_index;
    let slot = state.slot(index);
    let open_model = state.control.arrival.rate().is_some();

    // Open model: take the next arrival and wait for its intended time, which the latency counts
    // from (see `arrivals.rs`); closed model: respect the cap.
    let intended = match state.control.arrival.claim(Instant::now()) {
        Some(turn) => {
            if !state.stop.sleep(turn.wait).await {
                return;
            }
            Some(turn.intended)
        }
        _ => {
            if let Some(wait) = state.control.cap.claim(Instant::now())
                && !state.stop.sleep(wait).await
            {
                return;
            }
            None
        }
    };

    let (endpoint, admission) = match choose(state) {
        Choice::Send(endpoint, admission) => (endpoint, admission),
        Choice::Wait(wait) => {
            state.stop.sleep(wait).await;
            return;
        }
    };

    let runtime = &state.endpoints[endpoint];
    let plan = &runtime.plan;
    let sequence = slot.sequence.fetch_add(1, Ordering::Relaxed);
    let user_id = state.user_id(index, sequence);

    let mut builder = state
        .http
        .request(plan.method.clone(), plan.url.clone())
        .timeout(plan.timeout);
    if !plan.headers.is_empty() {
        builder = builder.headers(plan.headers.clone());
    }
    let trace = if state.scenario.tracing.enabled {
        let (traceparent, id, span) = new_traceparent(&mut rand::rng());
        builder = builder
            .header(TRACEPARENT, traceparent)
            .header(BAGGAGE, state.baggage.clone());
        Some((id, span))
    } else {
        None
    };
    let trace_id = trace.map(|(id, _)| id);
    if let (Some(header), Some(id)) = (&state.user_id_header, &user_id)
        && let Ok(value) = HeaderValue::from_str(id)
    {
        builder = builder.header(header.clone(), value);
    }
    if let Some(body) = plan.body_for(user_id.as_deref()) {
        builder = builder.body(body);
    }
    let started = Instant::now();
    let outcome = send(state, user, builder, plan, goose_metrics).await;
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

    runtime.stats.record(
        index,
        latency.as_micros() as u64,
        outcome.failure.as_ref().map(|(c, _)| *c),
    );
    if let Some(breaker) = breaker_for(state, endpoint) {
        breaker.record(admission, !failed, now);
    }
    let slow = latency >= state.scenario.tracing.slow;
    if (failed || slow)
        && let (Some(spans), Some((id, span))) = (&state.client_spans, trace)
    {
        spans.record(&ClientRequest {
            trace_id: id.0,
            span_id: span,
            method: plan.method.as_str(),
            url: plan.url.as_str(),
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
    let trace_text = trace_id.map(|t| t.to_string());
    match &outcome.failure {
        Some((class, message)) => {
            state.errors.record(
                endpoint,
                *class,
                outcome.status,
                message,
                trace_text.clone(),
            );
            if state.errors.take_sample() {
                state.emit(WorkerEvent::Error(ErrorSample {
                    endpoint: plan.endpoint.name.clone(),
                    class: Some(*class),
                    status: outcome.status,
                    message: message.clone(),
                    trace_id: trace_text,
                    latency_ms: latency.as_secs_f64() * 1000.0,
                    at_ms: now_ms(),
                }));
            }
        }
        None if slow && state.errors.take_sample() => {
            state.emit(WorkerEvent::Error(ErrorSample {
                endpoint: plan.endpoint.name.clone(),
                class: None,
                status: outcome.status,
                message: format!("slow: {:.0} ms", latency.as_secs_f64() * 1000.0),
                trace_id: trace_text,
                latency_ms: latency.as_secs_f64() * 1000.0,
                at_ms: now_ms(),
            }));
        }
        None => {}
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
        let think = if open_model {
            Duration::ZERO
        } else {
            state.control.think_time(&mut rng)
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

/// Sends through Goose when it keeps request metrics (its HTML report then has a row per
/// endpoint, and its verdict is brought in line with `expect`), else straight through the
/// user's client: Goose's bookkeeping of each request would be work nobody reads.
async fn send(
    state: &RunState,
    user: &mut GooseUser,
    builder: reqwest::RequestBuilder,
    plan: &EndpointPlan,
    goose_metrics: bool,
) -> Outcome {
    let endpoint = &plan.endpoint;
    if !goose_metrics {
        let mut response = match builder.build() {
            Ok(request) => state.http.execute(request).await,
            Err(e) => return Outcome::unexpected(error_chain(&e)),
        };
        return classify(&mut response, endpoint).await;
    }
    // Goose sends with the user's client: make it ours (a cheap handle on one shared pool).
    user.client = state.http.clone();
    let mut request = GooseRequest::builder()
        .method(goose_method(&plan.method))
        .name(endpoint.name.as_str())
        .set_request_builder(builder);
    if let Some([code]) = endpoint.expect.as_deref() {
        request = request.expect_status_code(*code);
    }
    match user.request(request.build()).await {
        Ok(mut goose) => {
            let outcome = classify(&mut goose.response, endpoint).await;
            match (&outcome.failure, goose.request.success) {
                (Some((_, message)), true) => {
                    let _ = user.set_failure(message, &mut goose.request, None, None);
                }
                (None, false) => {
                    let _ = user.set_success(&mut goose.request);
                }
                _ => {}
            }
            outcome
        }
        Err(e) => Outcome::unexpected(e.to_string()),
    }
}

/// What a user does next.
enum Choice {
    /// Send to this endpoint, as admitted.
    Send(usize, Admission),
    /// Nothing can be sent (every weight zero, or every breaker open): wait this long.
    Wait(Duration),
}

/// Picks an endpoint the breakers let through, counting each refusal as short-circuited.
fn choose(state: &RunState) -> Choice {
    let now = Instant::now();
    let mut rng = rand::rng();
    let Some(first) = state.control.pick(&mut rng) else {
        return Choice::Wait(MAX_IDLE);
    };
    let mut refused: Vec<usize> = Vec::new();
    let mut shortest_wait = MAX_IDLE;
    let mut candidate = Some(first);
    while let Some(endpoint) = candidate {
        let admission = match breaker_for(state, endpoint) {
            Some(breaker) => breaker.admit(now),
            None => Admission::Allowed,
        };
        match admission {
            Admission::Refused { retry_in } => {
                state.endpoints[endpoint].stats.short_circuit();
                shortest_wait = shortest_wait.min(retry_in);
                if state.global_breaker.is_some() {
                    break;
                }
                refused.push(endpoint);
                candidate = state
                    .control
                    .pick_among(&mut rng, |i| !refused.contains(&i));
            }
            admitted => return Choice::Send(endpoint, admitted),
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

/// Classifies a response (reading its body through, so the connection can be reused).
async fn classify(
    response: &mut Result<reqwest::Response, reqwest::Error>,
    endpoint: &lt_scenario::Endpoint,
) -> Outcome {
    match response.as_mut() {
        Err(e) => {
            let class = if e.is_timeout() {
                FailureClass::Timeout
            } else {
                FailureClass::Connect
            };
            Outcome {
                failure: Some((class, error_chain(e))),
                status: None,
            }
        }
        Ok(response) => {
            let status = response.status().as_u16();
            let mut body_error = None;
            loop {
                match response.chunk().await {
                    Ok(Some(_)) => continue,
                    Ok(None) => break,
                    Err(e) => {
                        body_error = Some(e);
                        break;
                    }
                }
            }
            let failure = if !endpoint.is_expected(status) {
                let class = match status {
                    400..=499 => FailureClass::Status4xx,
                    500..=599 => FailureClass::Status5xx,
                    _ => FailureClass::Unexpected,
                };
                Some((class, format!("{status}: {}", endpoint.name)))
            } else {
                body_error.map(|e| {
                    let class = if e.is_timeout() {
                        FailureClass::Timeout
                    } else {
                        FailureClass::Unexpected
                    };
                    (class, format!("reading the body: {}", error_chain(&e)))
                })
            };
            Outcome {
                failure,
                status: Some(status),
            }
        }
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn goose_method(method: &reqwest::Method) -> GooseMethod {
    match *method {
        reqwest::Method::POST => GooseMethod::Post,
        reqwest::Method::PUT => GooseMethod::Put,
        reqwest::Method::PATCH => GooseMethod::Patch,
        reqwest::Method::DELETE => GooseMethod::Delete,
        reqwest::Method::HEAD => GooseMethod::Head,
        _ => GooseMethod::Get,
    }
}
