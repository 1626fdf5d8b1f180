//! `GET /metrics`: Prometheus text for sessions, requests, failures and latency per session and
//! endpoint, and the server's own store and SSE figures.
//!
//! Every figure is the worker's, as its last tick carries it (the server adds nothing up).
//! Latency is a real histogram in seconds (`lt_request_duration_seconds`, buckets
//! [`LATENCY_BUCKETS_S`], cumulative since the session started), so `histogram_quantile` over
//! any window works; `promtool check metrics` finds nothing to report.

use std::fmt::Write;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use lt_protocol::{BreakerState, FailureClass, LATENCY_BUCKETS_S, Tick};

use super::AppState;
use crate::session::{Status, View};

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "server",
    responses((status = 200, description = "Sessions, requests, failures and latency per session and endpoint; the server's own figures", content_type = "text/plain", body = String)))]
pub async fn serve(State(app): State<AppState>) -> impl IntoResponse {
    let mut out = String::with_capacity(4096);
    let sessions = app.supervisor.all();
    family(
        &mut out,
        "lt_sessions",
        "gauge",
        "Sessions this server runs now, by status.",
    );
    for status in [Status::Starting, Status::Running, Status::Stopping] {
        let n = sessions.iter().filter(|s| s.status() == status).count();
        let _ = writeln!(out, "lt_sessions{{status=\"{}\"}} {n}", status.as_str());
    }

    // Every family's samples follow its own HELP and TYPE lines.
    let views: Vec<(String, View)> = sessions
        .iter()
        .map(|s| {
            let labels = format!(
                "session=\"{}\",scenario=\"{}\"",
                escape(&s.id),
                escape(&s.scenario)
            );
            (labels, s.view())
        })
        .collect();
    let endpoints = || {
        views.iter().flat_map(|(session, view)| {
            view.last_tick.iter().flat_map(move |tick| {
                tick.endpoints.iter().map(move |e| {
                    (
                        format!("{session},endpoint=\"{}\"", escape(&e.name)),
                        &e.totals,
                    )
                })
            })
        })
    };
    family(
        &mut out,
        "lt_requests_total",
        "counter",
        "Requests sent, per session and endpoint.",
    );
    for (labels, t) in endpoints() {
        let _ = writeln!(out, "lt_requests_total{{{labels}}} {}", t.requests);
    }
    family(
        &mut out,
        "lt_failures_total",
        "counter",
        "Failed requests, per session, endpoint and class.",
    );
    for (labels, t) in endpoints() {
        for class in FailureClass::ALL {
            let n = t.failures.get(class);
            let _ = writeln!(
                out,
                "lt_failures_total{{{labels},class=\"{}\"}} {n}",
                class.as_str()
            );
        }
    }
    family(
        &mut out,
        "lt_short_circuited_total",
        "counter",
        "Requests the circuit breaker refused.",
    );
    for (labels, t) in endpoints() {
        let _ = writeln!(
            out,
            "lt_short_circuited_total{{{labels}}} {}",
            t.short_circuited
        );
    }
    family(
        &mut out,
        "lt_request_duration_seconds",
        "histogram",
        "Latency of requests that got a response or timed out, from sending to the end of the body, per session and endpoint.",
    );
    for (labels, t) in endpoints() {
        for (i, bound) in LATENCY_BUCKETS_S.iter().enumerate() {
            let n = t.latency_buckets.get(i).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "lt_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "lt_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
            t.timed
        );
        let _ = writeln!(
            out,
            "lt_request_duration_seconds_sum{{{labels}}} {}",
            t.latency_sum_s
        );
        let _ = writeln!(
            out,
            "lt_request_duration_seconds_count{{{labels}}} {}",
            t.timed
        );
    }

    let ticks = || {
        views
            .iter()
            .filter_map(|(labels, view)| view.last_tick.as_ref().map(|tick| (labels, tick)))
    };
    type TickFigure = fn(&Tick) -> String;
    let per_session: [(&str, &str, TickFigure); 4] = [
        ("lt_active_users", "Users sending requests now.", |t| {
            t.active_users.to_string()
        }),
        (
            "lt_target_users",
            "Users the schedule or the last change asks for.",
            |t| t.target_users.to_string(),
        ),
        (
            "lt_users_in_backoff",
            "Users waiting out a backoff now.",
            |t| t.users_in_backoff.to_string(),
        ),
        ("lt_rps", "Requests per second over the last second.", |t| {
            t.rps.to_string()
        }),
    ];
    for (name, help, figure) in per_session {
        family(&mut out, name, "gauge", help);
        for (labels, tick) in ticks() {
            let _ = writeln!(out, "{name}{{{labels}}} {}", figure(tick));
        }
    }
    family(
        &mut out,
        "lt_breaker_open",
        "gauge",
        "1 while the endpoint's circuit breaker is open (requests short-circuited), else 0.",
    );
    for (labels, tick) in ticks() {
        for e in &tick.endpoints {
            let open = u8::from(e.breaker == BreakerState::Open);
            let _ = writeln!(
                out,
                "lt_breaker_open{{{labels},endpoint=\"{}\"}} {open}",
                escape(&e.name)
            );
        }
    }

    super::metrics_accuracy::write(&mut out, ticks(), family, escape);

    family(
        &mut out,
        "lt_store_write_transactions_total",
        "counter",
        "SQLite write transactions since the server started.",
    );
    let _ = writeln!(
        out,
        "lt_store_write_transactions_total {}",
        app.store.write_transactions()
    );
    family(
        &mut out,
        "lt_store_dropped_writes_total",
        "counter",
        "Batched store writes dropped because the queue was full.",
    );
    let _ = writeln!(
        out,
        "lt_store_dropped_writes_total {}",
        app.store.dropped_writes()
    );
    family(
        &mut out,
        "lt_sse_clients",
        "gauge",
        "Server-Sent Events clients connected.",
    );
    let _ = writeln!(out, "lt_sse_clients {}", app.hub.clients());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Escapes a label value.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
