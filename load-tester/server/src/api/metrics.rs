//! `GET /metrics`: Prometheus text for sessions, requests, failures and latency per session and
//! endpoint, and the server's own store and SSE figures.

use std::fmt::Write;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use lt_protocol::FailureClass;

use super::AppState;
use crate::session::Status;

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
    family(
        &mut out,
        "lt_requests_total",
        "counter",
        "Requests sent, per session and endpoint.",
    );
    family(
        &mut out,
        "lt_failures_total",
        "counter",
        "Failed requests, per session, endpoint and class.",
    );
    family(
        &mut out,
        "lt_short_circuited_total",
        "counter",
        "Requests the circuit breaker refused.",
    );
    family(
        &mut out,
        "lt_latency_ms",
        "gauge",
        "Latency over the last second, per session and endpoint.",
    );
    family(
        &mut out,
        "lt_active_users",
        "gauge",
        "Users sending requests now.",
    );
    family(
        &mut out,
        "lt_rps",
        "gauge",
        "Requests per second over the last second.",
    );
    for s in &sessions {
        let view = s.view();
        let sid = escape(&s.id);
        let scenario = escape(&s.scenario);
        // Totals since the start, as the worker's last tick carries them.
        for e in view.last_tick.iter().flat_map(|t| &t.endpoints) {
            let t = &e.totals;
            let labels = format!(
                "session=\"{sid}\",scenario=\"{scenario}\",endpoint=\"{}\"",
                escape(&e.name)
            );
            let _ = writeln!(out, "lt_requests_total{{{labels}}} {}", t.requests);
            let _ = writeln!(
                out,
                "lt_short_circuited_total{{{labels}}} {}",
                t.short_circuited
            );
            for class in FailureClass::ALL {
                let n = t.failures.get(class);
                let _ = writeln!(
                    out,
                    "lt_failures_total{{{labels},class=\"{}\"}} {n}",
                    class.as_str()
                );
            }
        }
        if let Some(tick) = &view.last_tick {
            let _ = writeln!(
                out,
                "lt_active_users{{session=\"{sid}\",scenario=\"{scenario}\"}} {}",
                tick.active_users
            );
            let _ = writeln!(
                out,
                "lt_rps{{session=\"{sid}\",scenario=\"{scenario}\"}} {}",
                tick.rps
            );
            for e in &tick.endpoints {
                let labels = format!(
                    "session=\"{sid}\",scenario=\"{scenario}\",endpoint=\"{}\"",
                    escape(&e.name)
                );
                for (q, v) in [
                    ("0.5", e.latency.p50),
                    ("0.95", e.latency.p95),
                    ("0.99", e.latency.p99),
                ] {
                    let _ = writeln!(out, "lt_latency_ms{{{labels},quantile=\"{q}\"}} {v}");
                }
            }
        }
    }
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
