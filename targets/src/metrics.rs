//! The metrics of one service, kept twice from the same calls: as Prometheus text for
//! `/metrics`, and as OpenTelemetry instruments from [`telemetry::meter`] (exported over OTLP
//! when metrics are exported, no-ops otherwise).
//!
//! | Prometheus (`/metrics`) | OpenTelemetry instrument | labels / attributes |
//! |---|---|---|
//! | `targets_http_requests_total` | counter `targets.http.requests` | route, method, status |
//! | `targets_http_request_duration_seconds` | histogram `targets.http.request.duration` (s) | route, method, status |
//! | `targets_http_requests_in_flight` | up-down counter `targets.http.requests.in_flight` | |
//! | `targets_db_queries_total` | counter `targets.db.queries` | route |
//! | `targets_db_pool_connections{state}` | observable gauge `targets.db.pool.connections` | state = idle, in_use |
//! | `targets_db_pool_max_connections` | observable gauge `targets.db.pool.max_connections` | |
//!
//! OpenTelemetry attributes use the semantic-convention names (`http.route`,
//! `http.request.method`, `http.response.status_code`); every series has `service`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram as OtelHistogram, Meter, UpDownCounter};

use crate::db::Db;
use crate::service::Service;
use crate::telemetry;

/// Upper bounds (seconds) of the latency histogram buckets.
pub const BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

/// (route, method, status)
type RequestKey = (String, String, u16);

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<RequestKey, u64>,
    latency: BTreeMap<RequestKey, Histogram>,
    queries: BTreeMap<String, u64>,
    in_flight: i64,
}

#[derive(Debug)]
struct Instruments {
    requests: Counter<u64>,
    duration: OtelHistogram<f64>,
    in_flight: UpDownCounter<i64>,
    queries: Counter<u64>,
}

impl Instruments {
    fn new(meter: &Meter) -> Self {
        Self {
            requests: meter
                .u64_counter("targets.http.requests")
                .with_description("HTTP requests answered.")
                .with_unit("{request}")
                .build(),
            duration: meter
                .f64_histogram("targets.http.request.duration")
                .with_description("Time to answer a request.")
                .with_unit("s")
                .with_boundaries(BUCKETS.to_vec())
                .build(),
            in_flight: meter
                .i64_up_down_counter("targets.http.requests.in_flight")
                .with_description("Requests being answered.")
                .with_unit("{request}")
                .build(),
            queries: meter
                .u64_counter("targets.db.queries")
                .with_description("SQL statements executed.")
                .with_unit("{statement}")
                .build(),
        }
    }
}

/// The metrics of one service.
#[derive(Debug)]
pub struct Metrics {
    service: Service,
    inner: Mutex<Inner>,
    otel: Instruments,
    service_attr: KeyValue,
    pool: OnceLock<Db>,
}

impl Metrics {
    /// Empty metrics for `service`, with its instruments on [`telemetry::meter`]`(service)`.
    pub fn new(service: Service) -> Self {
        Self {
            service,
            inner: Mutex::new(Inner::default()),
            otel: Instruments::new(&telemetry::meter(service)),
            service_attr: KeyValue::new("service", service.name()),
            pool: OnceLock::new(),
        }
    }

    /// Also reports the connections of `db`'s pool (idle, in use, maximum): rendered at
    /// `/metrics` and observed by gauges. Only the first call counts.
    pub fn watch_pool(&self, db: &Db) {
        if self.pool.set(db.clone()).is_err() {
            return;
        }
        let meter = telemetry::meter(self.service);
        let (pool, service) = (db.clone(), self.service_attr.clone());
        meter
            .u64_observable_gauge("targets.db.pool.connections")
            .with_description("Connections of the database pool by state.")
            .with_unit("{connection}")
            .with_callback(move |gauge| {
                let stats = pool.pool_stats();
                gauge.observe(
                    u64::from(stats.idle),
                    &[service.clone(), KeyValue::new("state", "idle")],
                );
                gauge.observe(
                    u64::from(stats.in_use()),
                    &[service.clone(), KeyValue::new("state", "in_use")],
                );
            })
            .build();
        let (pool, service) = (db.clone(), self.service_attr.clone());
        meter
            .u64_observable_gauge("targets.db.pool.max_connections")
            .with_description("The most connections the database pool opens.")
            .with_unit("{connection}")
            .with_callback(move |gauge| {
                gauge.observe(
                    u64::from(pool.pool_stats().max),
                    std::slice::from_ref(&service),
                );
            })
            .build();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A request started.
    pub fn started(&self) {
        self.lock().in_flight += 1;
        self.otel
            .in_flight
            .add(1, std::slice::from_ref(&self.service_attr));
    }

    /// A request on `route` finished with `status` after `elapsed`, having run `queries`
    /// statements.
    pub fn finished(
        &self,
        route: &str,
        method: &str,
        status: u16,
        elapsed: Duration,
        queries: u64,
    ) {
        let seconds = elapsed.as_secs_f64();
        {
            let mut inner = self.lock();
            inner.in_flight -= 1;
            let key = (route.to_owned(), method.to_owned(), status);
            *inner.requests.entry(key.clone()).or_default() += 1;
            inner.latency.entry(key).or_default().observe(seconds);
            *inner.queries.entry(route.to_owned()).or_default() += queries;
        }
        let attrs = [
            self.service_attr.clone(),
            KeyValue::new("http.route", route.to_owned()),
            KeyValue::new("http.request.method", method.to_owned()),
            KeyValue::new("http.response.status_code", i64::from(status)),
        ];
        self.otel.requests.add(1, &attrs);
        self.otel.duration.record(seconds, &attrs);
        self.otel
            .in_flight
            .add(-1, std::slice::from_ref(&self.service_attr));
        self.otel.queries.add(
            queries,
            &[
                self.service_attr.clone(),
                KeyValue::new("http.route", route.to_owned()),
            ],
        );
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let inner = self.lock();
        let service = self.service.name();
        let mut out = String::new();
        out.push_str("# HELP targets_http_requests_total HTTP requests answered.\n");
        out.push_str("# TYPE targets_http_requests_total counter\n");
        for ((route, method, status), n) in &inner.requests {
            let _ = writeln!(
                out,
                "targets_http_requests_total{{service=\"{service}\",route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        out.push_str("# HELP targets_http_request_duration_seconds Time to answer a request.\n");
        out.push_str("# TYPE targets_http_request_duration_seconds histogram\n");
        for ((route, method, status), h) in &inner.latency {
            let labels = format!(
                "service=\"{service}\",route=\"{}\",method=\"{method}\",status=\"{status}\"",
                escape(route)
            );
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "targets_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "targets_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "targets_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "targets_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        out.push_str("# HELP targets_db_queries_total SQL statements executed.\n");
        out.push_str("# TYPE targets_db_queries_total counter\n");
        for (route, n) in &inner.queries {
            let _ = writeln!(
                out,
                "targets_db_queries_total{{service=\"{service}\",route=\"{}\"}} {n}",
                escape(route)
            );
        }
        out.push_str("# HELP targets_http_requests_in_flight Requests being answered.\n");
        out.push_str("# TYPE targets_http_requests_in_flight gauge\n");
        let _ = writeln!(
            out,
            "targets_http_requests_in_flight{{service=\"{service}\"}} {}",
            inner.in_flight
        );
        if let Some(db) = self.pool.get() {
            let stats = db.pool_stats();
            out.push_str(
                "# HELP targets_db_pool_connections Connections of the database pool by state.\n",
            );
            out.push_str("# TYPE targets_db_pool_connections gauge\n");
            for (state, n) in [("idle", stats.idle), ("in_use", stats.in_use())] {
                let _ = writeln!(
                    out,
                    "targets_db_pool_connections{{service=\"{service}\",state=\"{state}\"}} {n}"
                );
            }
            out.push_str("# HELP targets_db_pool_max_connections The most connections the database pool opens.\n");
            out.push_str("# TYPE targets_db_pool_max_connections gauge\n");
            let _ = writeln!(
                out,
                "targets_db_pool_max_connections{{service=\"{service}\"}} {}",
                stats.max
            );
        }
        out
    }
}

/// `label` escaped for a Prometheus label value.
pub fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_buckets() {
        let m = Metrics::new(Service::Ec);
        m.started();
        m.finished("/health", "GET", 200, Duration::from_millis(20), 1);
        let text = m.render();
        assert!(text.contains(
            "targets_http_requests_total{service=\"ec\",route=\"/health\",method=\"GET\",status=\"200\"} 1"
        ));
        assert!(text.contains(
            "targets_http_request_duration_seconds_bucket{service=\"ec\",route=\"/health\",method=\"GET\",status=\"200\",le=\"0.025\"} 1"
        ));
        assert!(text.contains("le=\"0.01\"} 0"));
        assert!(text.contains("targets_db_queries_total{service=\"ec\",route=\"/health\"} 1"));
        assert!(text.contains("targets_http_requests_in_flight{service=\"ec\"} 0"));
        assert!(!text.contains("targets_db_pool"), "no pool watched: {text}");
    }
}
