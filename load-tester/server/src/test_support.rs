//! Calling one layer alone in a unit test: a request as it would arrive from a client address,
//! and its answer read back.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::StatusCode;
use tower::ServiceExt as _;

/// `method path` from `client`, with `token` as the bearer token if given.
pub fn request(method: &str, path: &str, client: &str, token: Option<&str>) -> Request {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        builder = builder.header("authorization", format!("Bearer {t}"));
    }
    let mut req = builder.body(Body::empty()).unwrap();
    let addr: SocketAddr = client.parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    req
}

/// Sends `req` through `app`; the status and the body as JSON (`null` if it is not JSON).
pub async fn call(app: Router, req: Request) -> (StatusCode, serde_json::Value) {
    let res = app.oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}
