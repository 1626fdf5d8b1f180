//! HTTP pieces both services share: the error shape, extractors that answer JSON on bad input,
//! the per-request context, the performance response shape, and the observing middleware.

pub mod api_error;
pub mod context;
pub mod extract;
pub mod observe;
pub mod perf;

use std::future::Future;

use tokio::net::TcpListener;

/// Serves `router` on `listener` until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
