//! How many todos exist and how many are completed: read from the database when `/metrics` is
//! scraped and every [`REFRESH`] in the background, kept for the `todos`,
//! `todos_completed` and `todos_completion_ratio` series and their OpenTelemetry gauges
//! (`todos.total`, `todos.completed`, `todos.completion_ratio`).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use opentelemetry::KeyValue;

use super::store::{self, Totals};
use crate::db::{Db, DbError};
use crate::query_counter::QueryCounter;
use crate::service::Service;
use crate::telemetry;

/// How often the background task re-reads the totals.
pub const REFRESH: Duration = Duration::from_secs(5);

/// The last totals read.
#[derive(Debug, Default)]
pub struct TodoStats {
    total: AtomicI64,
    completed: AtomicI64,
}

impl TodoStats {
    /// Stats at zero with their gauges registered on [`telemetry::meter`].
    pub fn new() -> Arc<Self> {
        let stats = Arc::new(Self::default());
        let meter = telemetry::meter(Service::Todo);
        let service = KeyValue::new("service", Service::Todo.name());
        let weak = Arc::downgrade(&stats);
        let attrs = [service.clone()];
        meter
            .i64_observable_gauge("todos.total")
            .with_description("Todos stored.")
            .with_unit("{todo}")
            .with_callback(move |gauge| {
                if let Some(stats) = weak.upgrade() {
                    gauge.observe(stats.get().total, &attrs);
                }
            })
            .build();
        let weak = Arc::downgrade(&stats);
        let attrs = [service.clone()];
        meter
            .i64_observable_gauge("todos.completed")
            .with_description("Completed todos.")
            .with_unit("{todo}")
            .with_callback(move |gauge| {
                if let Some(stats) = weak.upgrade() {
                    gauge.observe(stats.get().completed, &attrs);
                }
            })
            .build();
        let weak = Arc::downgrade(&stats);
        let attrs = [service];
        meter
            .f64_observable_gauge("todos.completion_ratio")
            .with_description("Completed todos / all todos (0 when there are none).")
            .with_unit("1")
            .with_callback(move |gauge| {
                if let Some(stats) = weak.upgrade() {
                    gauge.observe(ratio(stats.get()), &attrs);
                }
            })
            .build();
        stats
    }

    /// The last totals read.
    pub fn get(&self) -> Totals {
        Totals {
            total: self.total.load(Ordering::Relaxed),
            completed: self.completed.load(Ordering::Relaxed),
        }
    }

    fn set(&self, totals: Totals) {
        self.total.store(totals.total, Ordering::Relaxed);
        self.completed.store(totals.completed, Ordering::Relaxed);
    }

    /// Reads the totals from `db` (one statement counted on `queries`) and keeps them.
    pub async fn refresh(&self, db: &Db, queries: &QueryCounter) -> Result<Totals, DbError> {
        let totals = store::totals(db, queries).await?;
        self.set(totals);
        Ok(totals)
    }

    /// The Prometheus lines of the totals.
    pub fn render(&self, out: &mut String) {
        let totals = self.get();
        let service = Service::Todo.name();
        for (name, help, value) in [
            ("todos", "Todos stored.", totals.total as f64),
            (
                "todos_completed",
                "Completed todos.",
                totals.completed as f64,
            ),
            (
                "todos_completion_ratio",
                "Completed todos / all todos (0 when there are none).",
                ratio(totals),
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            let _ = writeln!(out, "{name}{{service=\"{service}\"}} {value}");
        }
    }
}

/// Completed / total, 0 when there are none.
pub fn ratio(totals: Totals) -> f64 {
    if totals.total > 0 {
        totals.completed as f64 / totals.total as f64
    } else {
        0.0
    }
}

/// Re-reads the totals every [`REFRESH`] while `stats` is alive (i.e. while the router that
/// owns it is), when called inside a Tokio runtime.
pub fn spawn_refresher(stats: &Arc<TodoStats>, db: &Db) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let weak: Weak<TodoStats> = Arc::downgrade(stats);
    let db = db.clone();
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(REFRESH);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(stats) = weak.upgrade() else {
                return;
            };
            if db.is_closed() {
                return;
            }
            if let Err(e) = stats.refresh(&db, &QueryCounter::new(Service::Todo)).await {
                tracing::debug!(target: "targets::todo", "refreshing the todo totals failed: {e}");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_is_zero_without_todos() {
        assert_eq!(ratio(Totals::default()), 0.0);
        assert_eq!(
            ratio(Totals {
                total: 4,
                completed: 1
            }),
            0.25
        );
        let stats = TodoStats::default();
        stats.set(Totals {
            total: 4,
            completed: 1,
        });
        let mut out = String::new();
        stats.render(&mut out);
        assert!(out.contains("todos{service=\"todo-api\"} 4\n"), "{out}");
        assert!(
            out.contains("todos_completion_ratio{service=\"todo-api\"} 0.25\n"),
            "{out}"
        );
    }
}
