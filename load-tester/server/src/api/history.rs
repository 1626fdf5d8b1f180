//! What a session left behind: per-second stats, grouped errors, reports, comparisons, and the
//! server's configuration history and audit log.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::extract::{ApiPath, ApiQuery};
use super::sessions::{error_rate, load};
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Deserialize)]
pub struct StatsQuery {
    /// Only seconds after this one.
    after: Option<u64>,
    limit: Option<usize>,
}

/// `GET /api/sessions/{id}/stats?after=N`: the per-second series, each with its endpoints.
pub async fn stats(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> ApiResult<Json<Value>> {
    load(&app, &id).await?;
    let limit = q.limit.unwrap_or(3600).min(86_400);
    let key = id.clone();
    let seconds = app.db(move |s| s.seconds(&key, q.after, limit)).await?;
    Ok(Json(json!({ "id": id, "seconds": seconds })))
}

/// `GET /api/sessions/{id}/errors`: failures grouped, with sample trace ids. While a session
/// runs, counts come from the sampled error events (at most 20 a second); once its report
/// exists, a group's count is the report's exact one (`counts` says which).
pub async fn errors(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
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
            "exact"
        }
        None => "sampled",
    };
    Ok(Json(
        json!({ "id": id, "counts": counts, "errors": groups }),
    ))
}

/// `GET /api/sessions/{id}/report`: Goose's HTML report.
pub async fn report_html(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    file(&app, &id, "report.html", "text/html; charset=utf-8").await
}

/// `GET /api/sessions/{id}/report.json`: the JSON summary (`docs/report.schema.json`).
pub async fn report_json(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    file(&app, &id, "report.json", "application/json").await
}

/// `GET /api/sessions/{id}/junit.xml`: one test case per threshold.
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

#[derive(Debug, Deserialize)]
pub struct CompareQuery {
    a: String,
    b: String,
}

/// `GET /api/compare?a=ID&b=ID`: two sessions' figures side by side, with b − a.
pub async fn compare(
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<CompareQuery>,
) -> ApiResult<Json<Value>> {
    let a = load(&app, &q.a).await?;
    let b = load(&app, &q.b).await?;
    let figures = |row: &lt_store::SessionRow| {
        let mut f = json!({
            "requests": row.requests,
            "failures": row.failures,
            "error_rate": error_rate(row.failures, row.requests),
            "rps": row.rps,
            "p95_ms": row.p95_ms,
        });
        if let Some(s) = &row.summary {
            f["rps"] = json!(s.rps);
            f["p50_ms"] = json!(s.latency_ms.p50);
            f["p95_ms"] = json!(s.latency_ms.p95);
            f["p99_ms"] = json!(s.latency_ms.p99);
            f["duration_s"] = json!(s.duration_s);
        }
        f
    };
    let (fa, fb) = (figures(&a), figures(&b));
    let mut delta = serde_json::Map::new();
    if let (Some(ma), Some(mb)) = (fa.as_object(), fb.as_object()) {
        for (k, va) in ma {
            if let (Some(x), Some(y)) = (va.as_f64(), mb.get(k).and_then(Value::as_f64)) {
                delta.insert(k.clone(), json!(y - x));
            }
        }
    }
    Ok(Json(json!({
        "a": { "id": a.id, "scenario": a.scenario, "status": a.status, "figures": fa },
        "b": { "id": b.id, "scenario": b.scenario, "status": b.status, "figures": fb },
        "delta": delta,
    })))
}

#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    session: Option<String>,
    limit: Option<usize>,
}

/// `GET /api/config/history?session=ID`: every live change, newest first.
pub async fn config_history(
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<Value>> {
    let limit = q.limit.unwrap_or(200).min(10_000);
    let changes = app
        .db(move |s| s.config_changes(q.session.as_deref(), limit))
        .await?;
    Ok(Json(json!({ "changes": changes })))
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    limit: Option<usize>,
}

/// `GET /api/audit`: management calls, newest first.
pub async fn audit(
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Value>> {
    let limit = q.limit.unwrap_or(200).min(10_000);
    let entries = app.db(move |s| s.audit(limit)).await?;
    Ok(Json(json!({ "entries": entries })))
}
