//! The EC app (port 5001; the seeds' main Flask app): catalogue and order reads, the
//! performance-problem endpoints, the `/distributed/...` routes that call the distributed
//! service with W3C trace context, a demo page, `/health` and `/metrics`.

mod catalog;
mod demo;
mod distributed_calls;
pub mod distributed_client;
mod performance;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;

pub use catalog::{ORDER, ORDER_ITEMS};
pub use distributed_client::{ClientConfig, DistributedClient};
pub use performance::{CARTESIAN, COMPLEX_JOIN, FULL_SCAN};

use crate::db::Db;
use crate::http::api_error::panic_response;
use crate::http::observe::{Observer, observe};
use crate::metrics::Metrics;
use crate::service::Service;

/// Shared state of the EC app.
#[derive(Clone, Debug)]
pub struct EcState {
    db: Db,
    metrics: Arc<Metrics>,
    distributed: DistributedClient,
}

impl EcState {
    /// State over an opened (migrated, seeded) database, calling the distributed service
    /// through `distributed`.
    pub fn new(db: Db, distributed: DistributedClient) -> Self {
        let metrics = Metrics::new(Service::Ec);
        metrics.watch_pool(&db);
        Self {
            db,
            metrics: Arc::new(metrics),
            distributed,
        }
    }
}

impl crate::health::HasDb for EcState {
    fn db(&self) -> &Db {
        &self.db
    }
    fn service(&self) -> Service {
        Service::Ec
    }
}

/// The EC app's router.
pub fn app(state: EcState) -> Router {
    let observer = Observer {
        service: Service::Ec,
        metrics: state.metrics.clone(),
    };
    Router::new()
        .route("/", get(demo::page))
        .route("/health", get(crate::health::health::<EcState>))
        .route("/metrics", get(metrics))
        .merge(catalog::routes())
        .merge(performance::routes())
        .merge(distributed_calls::routes())
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn_with_state(observer, observe))
        .with_state(state)
}

async fn metrics(State(state): State<EcState>, headers: http::HeaderMap) -> impl IntoResponse {
    let format = crate::exposition::Exposition::negotiate(&headers);
    format.response(state.metrics.render(format))
}
