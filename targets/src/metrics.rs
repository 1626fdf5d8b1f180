//! Prometheus metrics of one service: requests by route/method/status, a latency histogram per
//! route, statements executed per route, and requests in flight. Rendered as text at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use crate::service::Service;

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 13] = [
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

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
    queries: BTreeMap<String, u64>,
    in_flight: i64,
}

/// The metrics of one service.
#[derive(Debug)]
pub struct Metrics {
    service: Service,
    inner: Mutex<Inner>,
}

impl Metrics {
    /// Empty metrics for `service`.
    pub fn new(service: Service) -> Self {
        Self {
            service,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A request started.
    pub fn started(&self) {
        self.lock().in_flight += 1;
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
        let mut inner = self.lock();
        inner.in_flight -= 1;
        *inner
            .requests
            .entry((route.to_owned(), method.to_owned(), status))
            .or_default() += 1;
        inner
            .latency
            .entry(route.to_owned())
            .or_default()
            .observe(elapsed.as_secs_f64());
        *inner.queries.entry(route.to_owned()).or_default() += queries;
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
        for (route, h) in &inner.latency {
            let route = escape(route);
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "targets_http_request_duration_seconds_bucket{{service=\"{service}\",route=\"{route}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "targets_http_request_duration_seconds_bucket{{service=\"{service}\",route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "targets_http_request_duration_seconds_sum{{service=\"{service}\",route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "targets_http_request_duration_seconds_count{{service=\"{service}\",route=\"{route}\"}} {}",
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
        out
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"")
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
        assert!(text.contains("le=\"0.025\"} 1"));
        assert!(text.contains("le=\"0.01\"} 0"));
        assert!(text.contains("targets_db_queries_total{service=\"ec\",route=\"/health\"} 1"));
        assert!(text.contains("targets_http_requests_in_flight{service=\"ec\"} 0"));
    }
}
