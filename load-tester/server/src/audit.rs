//! The audit log: every management call (anything but a read), who made it, from where, and
//! how it ended, refusals included.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use lt_store::AuditEntry;

use crate::auth::Caller;
use crate::error::ErrorCode;
use crate::time::now_ms;

/// Records mutating calls after they are answered, in `store`.
pub async fn record(
    State(store): State<lt_store::Store>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if crate::auth::is_read(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    let action = format!("{} {}", request.method(), request.uri().path());
    let target = session_in_path(request.uri().path());
    let response = next.run(request).await;
    let who = response
        .extensions()
        .get::<Caller>()
        .map(|c| c.0.clone())
        .unwrap_or_else(|| "anonymous".into());
    let status = response.status();
    let result = match response.extensions().get::<ErrorCode>() {
        Some(code) => code.0.to_string(),
        None if status.is_success() => "ok".into(),
        None => format!("http_{}", status.as_u16()),
    };
    let entry = AuditEntry {
        id: None,
        at_ms: now_ms(),
        who,
        client: client.to_string(),
        action,
        target,
        result,
        status: status.as_u16(),
        detail: None,
    };
    // Durable before the answer leaves, so a caller can read its own entry right after.
    let recorded = tokio::task::spawn_blocking(move || store.record_audit(&entry)).await;
    if let Ok(Err(e)) = recorded {
        tracing::error!("recording an audit entry: {e}");
    }
    response
}

fn session_in_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/api/sessions/")?;
    let id = rest.split('/').next()?;
    (!id.is_empty()).then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{call, request};

    #[tokio::test]
    async fn the_layer_alone_records_changes_and_refusals_but_not_reads() {
        let dir = tempfile::tempdir().unwrap();
        let store = lt_store::Store::open(&dir.path().join("s.db")).unwrap();
        let app = axum::Router::new()
            .route(
                "/api/sessions/{id}/stop",
                axum::routing::post(|| async { "stopping" }),
            )
            .route(
                "/api/sessions",
                axum::routing::get(|| async { "list" })
                    .post(|| async { crate::error::ApiError::invalid("invalid_scenario", "no") }),
            )
            .layer(axum::middleware::from_fn_with_state(store.clone(), record));
        call(
            app.clone(),
            request("GET", "/api/sessions", "127.0.0.1:5", None),
        )
        .await;
        call(
            app.clone(),
            request("POST", "/api/sessions/abc/stop", "127.0.0.1:5", None),
        )
        .await;
        call(app, request("POST", "/api/sessions", "10.0.0.9:7", None)).await;
        let entries = store.audit(10).unwrap();
        assert_eq!(entries.len(), 2, "{entries:?}");
        let refused = &entries[0];
        assert_eq!(refused.action, "POST /api/sessions");
        assert_eq!(refused.result, "invalid_scenario");
        assert_eq!(refused.status, 422);
        assert_eq!(refused.client, "10.0.0.9:7");
        let stop = &entries[1];
        assert_eq!(stop.target.as_deref(), Some("abc"));
        assert_eq!(stop.result, "ok");
    }
}
