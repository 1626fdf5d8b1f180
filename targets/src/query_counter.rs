//! Per-request count of the SQL statements really executed.
//!
//! Every database call goes through [`Db`](crate::db::Db) methods that take a `&QueryCounter`
//! and increment it once per statement sent, so the `query_count` the endpoints report is the
//! number of statements executed, not a number the handler claims.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::service::Service;

/// Counts statements for one request and knows which service issued them.
#[derive(Clone, Debug)]
pub struct QueryCounter {
    count: Arc<AtomicU64>,
    service: Service,
}

impl QueryCounter {
    /// A counter at zero for work done by `service`.
    pub fn new(service: Service) -> Self {
        Self {
            count: Arc::new(AtomicU64::new(0)),
            service,
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
