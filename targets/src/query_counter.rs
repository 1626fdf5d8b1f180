//! Per-request count of the SQL statements really executed.
//!
//! Every database call goes through [`Db`](crate::db::Db) methods that take a `&QueryCounter`
//! and increment it once per statement sent, so the `query_count` the endpoints report is the
//! number of statements executed, not a number the handler claims.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::metrics::Metrics;
use crate::service::Service;

/// Counts statements for one request and knows which service issued them (and, for a
/// request's counter, the metrics its statement durations go to).
#[derive(Clone, Debug)]
pub struct QueryCounter {
    count: Arc<AtomicU64>,
    service: Service,
    metrics: Option<Arc<Metrics>>,
}

impl QueryCounter {
    /// A counter at zero for work done by `service` outside a request (durations not kept).
    pub fn new(service: Service) -> Self {
        Self {
            count: Arc::new(AtomicU64::new(0)),
            service,
            metrics: None,
        }
    }

    /// A counter at zero for a request of `service`, whose statement durations go to `metrics`.
    pub fn with_metrics(service: Service, metrics: Arc<Metrics>) -> Self {
        Self {
            count: Arc::new(AtomicU64::new(0)),
            service,
            metrics: Some(metrics),
        }
    }

    /// Records how long the statement named `statement` took.
    pub fn timed(&self, statement: &'static str, elapsed: Duration) {
        if let Some(metrics) = &self.metrics {
            metrics.query_finished(statement, elapsed);
        }
    }

    /// Records one executed statement.
    pub fn increment(&self) {
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Statements executed so far.
    pub fn get(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The service the statements are executed for.
    pub fn service(&self) -> Service {
        self.service
    }
}
