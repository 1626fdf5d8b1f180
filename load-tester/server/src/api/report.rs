//! `GET /api/sessions/{id}/report`: the session's HTML report (`lt-report`), drawn from the store
//! for every session however it ended: with its summary when it wrote one, from its stored
//! seconds when it was killed first. Served sandboxed, so a report never acts in the panel's
//! origin.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use lt_report::{Change, EndpointSecond, ErrorRow, ReportInput, Second, flows_from_seconds};
use lt_store::{ErrorGroupRow, SecondRow};

use super::AppState;
use super::extract::ApiPath;
use super::model::ErrorBody;
use super::sessions::load;
use crate::error::ApiResult;

/// Seconds a report charts at most (a day).
const MAX_SECONDS: usize = 86_400;

#[utoipa::path(get, path = "/api/sessions/{id}/report", tag = "history",
    params(("id" = String, Path, description = "The session's id")),
    responses(
        (status = 200, description = "The HTML report: one self-contained file, served with a sandboxing Content-Security-Policy", content_type = "text/html", body = String),
        (status = 404, description = "No such session", body = ErrorBody),
    ))]
pub async fn report_html(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let row = load(&app, &id).await?;
    let key = id.clone();
    let (seconds, groups, changes) = app
        .db(move |s| {
            Ok((
                s.seconds(&key, None, MAX_SECONDS)?,
                s.errors(&key)?,
                s.config_changes(Some(&key), 10_000)?,
            ))
        })
        .await?;
    let duration_s = match (&row.summary, row.started_at_ms, row.ended_at_ms) {
        (Some(r), _, _) => r.duration_s,
        (None, Some(start), Some(end)) => end.saturating_sub(start) as f64 / 1000.0,
        _ => row.last_second as f64,
    };
    let errors = match &row.summary {
        Some(r) => ErrorRow::from_report(r),
        None => groups.into_iter().map(error_row).collect(),
    };
    let mut changes: Vec<Change> = changes
        .into_iter()
        .map(|c| Change {
            at_ms: c.at_ms,
            who: c.who,
            field: c.field,
            old: c.old,
            new: c.new,
        })
        .collect();
    changes.sort_by_key(|c| c.at_ms);
    // The flows' whole run: the summary's, or their totals as of the last stored second.
    let flows = match &row.summary {
        Some(r) => r.flows.clone(),
        None => flows_from_seconds(seconds.iter().map(|s| (s.second, s.flows.as_slice()))),
    };
    let input = ReportInput {
        description: row.config["description"].as_str().map(str::to_string),
        load: row.config["load"].clone(),
        scenario: row.scenario,
        target: row.target,
        session_id: id.clone(),
        status: row.status,
        reason: row.reason,
        started_at_ms: row.started_at_ms,
        duration_s,
        summary: row.summary,
        flows,
        seconds: seconds.iter().map(second).collect(),
        changes,
        errors,
        trace_url: app.settings.get().trace_url.clone(),
    };
    let html = lt_report::render(&input);
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            (
                header::CONTENT_SECURITY_POLICY,
                lt_report::CONTENT_SECURITY_POLICY.to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{id}-report.html\""),
            ),
        ],
        html,
    )
        .into_response())
}

fn second(s: &SecondRow) -> Second {
    let mut by_class = lt_protocol::FailureCounts::default();
    for e in &s.endpoints {
        by_class.merge(&e.failures);
    }
    Second {
        second: s.second,
        rps: s.rps,
        requests: s.requests,
        failures: s.failures,
        by_class,
        short_circuited: s.short_circuited,
        p50: s.latency.p50,
        p95: s.latency.p95,
        p99: s.latency.p99,
        active_users: s.active_users,
        target_users: s.target_users,
        users_in_backoff: s.users_in_backoff,
        parked_users: s.parked_users,
        errors_last_minute: s.errors_last_minute,
        endpoints: s
            .endpoints
            .iter()
            .map(|e| EndpointSecond {
                name: e.endpoint.clone(),
                requests: e.requests,
                failures: e.failures.total(),
                breaker: e.breaker.clone(),
            })
            .collect(),
        dropped: s.accuracy.as_ref().map_or(0, |a| a.dropped),
        cpu_percent: s.accuracy.as_ref().and_then(|a| a.cpu_percent),
        saturated: s.accuracy.as_ref().and_then(|a| a.saturated.clone()),
        limited: s.accuracy.as_ref().and_then(|a| a.limited.clone()),
    }
}

fn error_row(g: ErrorGroupRow) -> ErrorRow {
    ErrorRow {
        endpoint: g.endpoint,
        class: g.class.unwrap_or_else(|| "slow".to_string()),
        status: g.status,
        message: g.message,
        count: g.count,
        trace_ids: g.trace_ids,
    }
}
