//! What a session left behind: per-second stats, grouped errors, reports, comparisons, and the
//! server's configuration history and audit log.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use super::AppState;
use super::extract::{ApiPath, ApiQuery};
use super::model::{
    Audit, Compared, Comparison, ConfigHistory, Counts, ErrorBody, Errors, Figures, Stats,
};
use super::sessions::{error_rate, load};
use crate::error::{ApiError, ApiResult};
use crate::session::Status;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// Only seconds after this one.
    after: Option<u64>,
    /// At most this many seconds (default 3600, at most 86400).
    limit: Option<usize>,
}

/// `GET /api/sessions/{id}/stats?after=N`: the per-second series, each with its endpoints.
#[utoipa::path(get, path = "/api/sessions/{id}/stats", tag = "history",
    params(("id" = String, Path, description = "The session's id"), StatsQuery),
    responses(
        (status = 200, description = "Stored seconds, oldest first", body = Stats),
        (status = 404, description = "No such session", body = ErrorBody),
    ))]
pub async fn stats(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> ApiResult<Json<Stats>> {
    load(&app, &id).await?;
    let limit = q.limit.unwrap_or(3600).min(86_400);
    let key = id.clone();
    let seconds = app.db(move |s| s.seconds(&key, q.after, limit)).await?;
    Ok(Json(Stats { id, seconds }))
}

/// `GET /api/sessions/{id}/errors`: failures grouped, with sample trace ids. While a session
/// runs, counts come from the sampled error events (at most 20 a second); once its report
/// exists, a group's count is the report's exact one (`counts` says which).
#[utoipa::path(get, path = "/api/sessions/{id}/errors", tag = "history",
    params(("id" = String, Path, description = "The session's id")),
    responses(
        (status = 200, description = "Failures grouped by endpoint, class, status and message kind, with sample trace ids", body = Errors),
        (status = 404, description = "No such session", body = ErrorBody),
    ))]
pub async fn errors(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Errors>> {
    let row = load(&app, &id).await?;
    let key = id.clone();
    let mut groups = app.db(move |s| s.errors(&key)).await?;
    let counts = match &row.summary {
        Some(report) => {
            for group in &mut groups {
                // Both sides keyed by `lt_protocol::ErrorKey`: endpoint, class, status, kind.
                let exact = report.errors.iter().find(|e| {
                    e.endpoint == group.endpoint
                        && group.class.as_deref() == Some(e.class.as_str())
                        && e.status == group.status
                        && e.kind == group.kind
                });
                if let Some(exact) = exact {
                    group.count = exact.count;
                }
            }
            groups.sort_by_key(|g| std::cmp::Reverse(g.count));
            Counts::Exact
        }
        None => Counts::Sampled,
    };
    Ok(Json(Errors {
        id,
        counts,
        errors: groups,
    }))
}

/// `GET /api/sessions/{id}/report.json`: the JSON summary (`docs/report.schema.json`).
#[utoipa::path(get, path = "/api/sessions/{id}/report.json", tag = "history",
    params(("id" = String, Path, description = "The session's id")),
    responses(
        (status = 200, description = "The JSON report (docs/report.schema.json)", content_type = "application/json", body = String),
        (status = 404, description = "No such session, or it has no report (`no_report`)", body = ErrorBody),
    ))]
pub async fn report_json(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    file(&app, &id, "report.json", "application/json").await
}

/// `GET /api/sessions/{id}/junit.xml`: one test case per threshold.
#[utoipa::path(get, path = "/api/sessions/{id}/junit.xml", tag = "history",
    params(("id" = String, Path, description = "The session's id")),
    responses(
        (status = 200, description = "JUnit XML, one test case per threshold", content_type = "application/xml", body = String),
        (status = 404, description = "No such session, or it has no report (`no_report`)", body = ErrorBody),
    ))]
pub async fn junit(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    file(&app, &id, "junit.xml", "application/xml").await
}

async fn file(
    app: &AppState,
    id: &str,
    name: &str,
    content_type: &'static str,
) -> ApiResult<Response> {
    let row = load(app, id).await?;
    let path = app.supervisor.session_dir(id).join(name);
    match tokio::fs::read(&path).await {
        Ok(bytes) => Ok((
            [
                (header::CONTENT_TYPE, content_type.to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("inline; filename=\"{id}-{name}\""),
                ),
            ],
            bytes,
        )
            .into_response()),
        Err(_) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_report",
            format!(
                "session `{id}` has no {name}: reports are written when a session ends normally (it is {})",
                row.status
            ),
        )),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompareQuery {
    /// The first session's id.
    a: String,
    /// The second session's id.
    b: String,
}

/// `GET /api/compare?a=ID&b=ID`: two sessions' figures side by side, with b − a.
#[utoipa::path(get, path = "/api/compare", tag = "history", params(CompareQuery),
    responses(
        (status = 200, description = "Two sessions' whole-run figures and their differences", body = Comparison),
        (status = 404, description = "No such session", body = ErrorBody),
    ))]
pub async fn compare(
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<CompareQuery>,
) -> ApiResult<Json<Comparison>> {
    let a = compared(&load(&app, &q.a).await?);
    let b = compared(&load(&app, &q.b).await?);
    let delta = figure_values(&a.figures)
        .into_iter()
        .zip(figure_values(&b.figures))
        .filter_map(|((name, x), (_, y))| Some((name.to_string(), y? - x?)))
        .collect::<BTreeMap<_, _>>();
    Ok(Json(Comparison { a, b, delta }))
}

fn compared(row: &lt_store::SessionRow) -> Compared {
    let mut figures = Figures {
        requests: row.requests,
        failures: row.failures,
        error_rate: error_rate(row.failures, row.requests),
        rps: row.rps,
        p95_ms: row.p95_ms,
        p50_ms: None,
        p99_ms: None,
        duration_s: None,
    };
    if let Some(s) = &row.summary {
        figures.rps = s.rps;
        figures.p50_ms = Some(s.latency_ms.p50);
        figures.p95_ms = s.latency_ms.p95;
        figures.p99_ms = Some(s.latency_ms.p99);
        figures.duration_s = Some(s.duration_s);
    }
    Compared {
        id: row.id.clone(),
        scenario: row.scenario.clone(),
        status: Status::parse(&row.status).unwrap_or(Status::Failed),
        figures,
    }
}

/// Every figure by name, `None` where a session lacks it.
fn figure_values(f: &Figures) -> [(&'static str, Option<f64>); 8] {
    [
        ("requests", Some(f.requests as f64)),
        ("failures", Some(f.failures as f64)),
        ("error_rate", Some(f.error_rate)),
        ("rps", Some(f.rps)),
        ("p95_ms", Some(f.p95_ms)),
        ("p50_ms", f.p50_ms),
        ("p99_ms", f.p99_ms),
        ("duration_s", f.duration_s),
    ]
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Only this session's changes.
    session: Option<String>,
    /// At most this many (default 200, at most 10000).
    limit: Option<usize>,
}

/// `GET /api/config/history?session=ID`: every live change, newest first.
#[utoipa::path(get, path = "/api/config/history", tag = "history", params(HistoryQuery),
    responses((status = 200, description = "Live changes and setting changes: who, when, old, new; newest first", body = ConfigHistory)))]
pub async fn config_history(
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<ConfigHistory>> {
    let limit = q.limit.unwrap_or(200).min(10_000);
    let changes = app
        .db(move |s| s.config_changes(q.session.as_deref(), limit))
        .await?;
    Ok(Json(ConfigHistory { changes }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// At most this many (default 200, at most 10000).
    limit: Option<usize>,
}

/// `GET /api/audit`: management calls, newest first.
#[utoipa::path(get, path = "/api/audit", tag = "history", params(AuditQuery),
    responses((status = 200, description = "Management calls: who, what, result, client; newest first", body = Audit)))]
pub async fn audit(
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Audit>> {
    let limit = q.limit.unwrap_or(200).min(10_000);
    let entries = app.db(move |s| s.audit(limit)).await?;
    Ok(Json(Audit { entries }))
}
