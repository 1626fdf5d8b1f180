//! The audit log: every management call (anything but a read), who made it, from where, and
//! how it ended, refusals included.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use lt_store::AuditEntry;

use crate::api::AppState;
use crate::auth::Caller;
use crate::error::ErrorCode;
use crate::time::now_ms;

/// Records mutating calls after they are answered.
pub async fn record(
    State(app): State<AppState>,
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
    let store = app.store.clone();
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
