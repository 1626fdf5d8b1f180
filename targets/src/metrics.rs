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
//! | `targets_db_query_duration_seconds` | histogram `targets.db.query.duration` (s) | statement |
//! | `targets_db_pool_connections{state}` | observable gauge `targets.db.pool.connections` | state = idle, in_use |
//! | `targets_db_pool_max_connections` | observable gauge `targets.db.pool.max_connections` | |
//!
//! OpenTelemetry attributes use the semantic-convention names (`http.route`,
//! `http.request.method`, `http.response.status_code`, `db.operation.name`); every series has
//! `service`.
//!
//! In the OpenMetrics exposition ([`Exposition::OpenMetrics`]) each request-latency bucket
//! carries an exemplar: the trace id and value of the last request that landed in it, so a
//! latency panel links to a trace behind it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram as OtelHistogram, Meter, UpDownCounter};

use crate::db::Db;
use crate::exposition::Exposition;
use crate::service::Service;
use crate::telemetry;

/// Upper bounds (seconds) of the request latency histogram buckets.
pub const BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Upper bounds (seconds) of the statement duration histogram buckets: finer at the low end,
/// where most statements are, and up to the slow query's seconds.
pub const QUERY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The trace behind one observation.
#[derive(Debug, Clone)]
struct Exemplar {
    trace_id: String,
    value: f64,
    /// Seconds since the Unix epoch.
    at: f64,
}

/// A cumulative histogram over fixed `bounds`, with the last exemplar of each bucket
/// (`exemplars[bounds.len()]` is the `+Inf` bucket's).
#[derive(Debug, Clone)]
struct Histogram {
    bounds: &'static [f64],
    counts: Vec<u64>,
    count: u64,
    sum: f64,
    exemplars: Vec<Option<Exemplar>>,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: vec![0; bounds.len()],
            count: 0,
            sum: 0.0,
            exemplars: Vec::new(),
        }
    }

    fn observe(&mut self, seconds: f64, trace_id: Option<&str>) {
        let mut first = self.bounds.len();
        for (i, bound) in self.bounds.iter().enumerate().rev() {
            if seconds <= *bound {
                self.counts[i] += 1;
                first = i;
            }
        }
        self.count += 1;
        self.sum += seconds;
        if let Some(trace_id) = trace_id.filter(|t| !t.is_empty()) {
            if self.exemplars.is_empty() {
                self.exemplars = vec![None; self.bounds.len() + 1];
            }
            let at = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            self.exemplars[first] = Some(Exemplar {
                trace_id: trace_id.to_owned(),
                value: seconds,
                at,
            });
        }
    }

    /// Writes the `_bucket`, `_sum` and `_count` lines of `name` with `labels` (exemplars only
    /// in OpenMetrics).
    fn render(&self, out: &mut String, name: &str, labels: &str, format: Exposition) {
        let bounds = self
            .bounds
            .iter()
            .map(|b| b.to_string())
            .chain(std::iter::once("+Inf".to_owned()));
        let counts = self
            .counts
            .iter()
            .copied()
            .chain(std::iter::once(self.count));
        for (i, (bound, n)) in bounds.zip(counts).enumerate() {
            let _ = write!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {n}");
            if format == Exposition::OpenMetrics
                && let Some(Some(e)) = self.exemplars.get(i)
            {
                let _ = write!(
                    out,
                    " # {{trace_id=\"{}\"}} {} {:.3}",
                    escape(&e.trace_id),
                    e.value,
                    e.at
                );
            }
            out.push('\n');
        }
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

/// (route, method, status)
type RequestKey = (String, String, u16);

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<RequestKey, u64>,
    latency: BTreeMap<RequestKey, Histogram>,
    queries: BTreeMap<String, u64>,
    /// Statement name → its durations.
    query_durations: BTreeMap<&'static str, Histogram>,
    in_flight: i64,
}

#[derive(Debug)]
struct Instruments {
    requests: Counter<u64>,
    duration: OtelHistogram<f64>,
    in_flight: UpDownCounter<i64>,
    queries: Counter<u64>,
    query_duration: OtelHistogram<f64>,
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
            query_duration: meter
                .f64_histogram("targets.db.query.duration")
                .with_description("Time to run one SQL statement (or store command).")
                .with_unit("s")
                .with_boundaries(QUERY_BUCKETS.to_vec())
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
    /// statements, in the trace `trace_id` (kept as the exemplar of its latency bucket).
    pub fn finished(
        &self,
        route: &str,
        method: &str,
        status: u16,
        elapsed: Duration,
        queries: u64,
        trace_id: &str,
    ) {
        let seconds = elapsed.as_secs_f64();
        {
            let mut inner = self.lock();
            inner.in_flight -= 1;
            let key = (route.to_owned(), method.to_owned(), status);
            *inner.requests.entry(key.clone()).or_default() += 1;
            inner
                .latency
                .entry(key)
                .or_insert_with(|| Histogram::new(&BUCKETS))
                .observe(seconds, Some(trace_id));
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

    /// A statement (or store command) named `statement` ran for `elapsed`.
    pub fn query_finished(&self, statement: &'static str, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        self.lock()
            .query_durations
            .entry(statement)
            .or_insert_with(|| Histogram::new(&QUERY_BUCKETS))
            .observe(seconds, None);
        self.otel.query_duration.record(
            seconds,
            &[
                self.service_attr.clone(),
                KeyValue::new("db.operation.name", statement),
            ],
        );
    }

    /// The text exposition in `format` (without OpenMetrics' `# EOF`, which
    /// [`Exposition::response`] adds once every part is written).
    pub fn render(&self, format: Exposition) -> String {
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
            h.render(
                &mut out,
                "targets_http_request_duration_seconds",
                &labels,
                format,
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
        if !inner.query_durations.is_empty() {
            out.push_str("# HELP targets_db_query_duration_seconds Time to run one SQL statement (or store command).\n");
            out.push_str("# TYPE targets_db_query_duration_seconds histogram\n");
            for (statement, h) in &inner.query_durations {
                let labels = format!("service=\"{service}\",statement=\"{}\"", escape(statement));
                h.render(
                    &mut out,
                    "targets_db_query_duration_seconds",
                    &labels,
                    format,
                );
            }
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
        m.finished(
            "/health",
            "GET",
            200,
            Duration::from_millis(20),
            1,
            "0af7651916cd43dd8448eb211c80319c",
        );
        m.query_finished("health.ping", Duration::from_micros(700));
        let text = m.render(Exposition::Text);
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
        assert!(text.contains(
            "targets_db_query_duration_seconds_bucket{service=\"ec\",statement=\"health.ping\",le=\"0.001\"} 1"
        ));
        assert!(text.contains("le=\"0.0005\"} 0"));
        assert!(
            !text.contains("trace_id"),
            "no exemplars in the text format: {text}"
        );
    }

    #[test]
    fn openmetrics_buckets_carry_the_last_trace_of_each_bucket() {
        let m = Metrics::new(Service::Todo);
        for (ms, trace) in [(3, "aa"), (20, "bb"), (22, "cc"), (90_000, "dd")] {
            m.started();
            m.finished("/x", "GET", 200, Duration::from_millis(ms), 0, trace);
        }
        let text = m.render(Exposition::OpenMetrics);
        let line = |le: &str| {
            text.lines()
                .find(|l| l.contains(&format!("le=\"{le}\"")))
                .unwrap_or_else(|| panic!("no le={le} in {text}"))
                .to_owned()
        };
        assert!(
            line("0.005").contains("} 1 # {trace_id=\"aa\"} 0.003 "),
            "{text}"
        );
        assert!(
            line("0.025").contains("} 3 # {trace_id=\"cc\"} 0.022 "),
            "{text}"
        );
        assert!(!line("0.01").contains('#'), "{text}");
        assert!(
            line("+Inf").contains("} 4 # {trace_id=\"dd\"} 90 "),
            "{text}"
        );
    }
}
