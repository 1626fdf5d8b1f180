//! The figures of `/metrics`, also pushed over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`) is set: every `OTEL_METRIC_EXPORT_INTERVAL`
//! milliseconds (default 10 s), one protobuf request with the same series, read from the same
//! sessions at that moment. Counters are cumulative sums, latency a cumulative explicit-bucket
//! histogram over the same bounds, the rest gauges; names are the OpenTelemetry forms of the
//! Prometheus ones (`lt.requests` for `lt_requests_total`, `lt.request.duration` in seconds for
//! `lt_request_duration_seconds`, …), attributes the same labels.
//!
//! The request is encoded directly (the SDK's instruments cannot take a histogram that is
//! already aggregated), and sent with a plain HTTP client on the server's runtime; a collector
//! that does not answer costs one warning per interval, never a session.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lt_protocol::{BreakerState, FailureClass, LATENCY_BUCKETS_S};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

use crate::session::Status;
use crate::state::AppState;

/// How often figures are pushed when `OTEL_METRIC_EXPORT_INTERVAL` is unset.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

/// The OTLP metrics endpoint is not usable.
#[derive(Debug, thiserror::Error)]
#[error("{var} must be an http:// or https:// URL, got `{value}`")]
pub struct EndpointError {
    pub var: &'static str,
    pub value: String,
}

/// Where metrics go, from `lookup` (the environment): the metrics endpoint as given, or the base
/// endpoint with `/v1/metrics`; `None` when neither is set.
pub fn endpoint(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<String>, EndpointError> {
    let read = |var: &'static str| {
        lookup(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .map(|v| (var, v))
    };
    let (var, given, url) = match read("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") {
        Some((var, full)) => (var, full.clone(), full),
        None => match read("OTEL_EXPORTER_OTLP_ENDPOINT") {
            Some((var, base)) => {
                let url = format!("{}/v1/metrics", base.trim_end_matches('/'));
                (var, base, url)
            }
            None => return Ok(None),
        },
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(EndpointError { var, value: given });
    }
    Ok(Some(url))
}

/// The push interval from `OTEL_METRIC_EXPORT_INTERVAL` (milliseconds).
pub fn interval(lookup: impl Fn(&str) -> Option<String>) -> Duration {
    lookup("OTEL_METRIC_EXPORT_INTERVAL")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map_or(DEFAULT_INTERVAL, Duration::from_millis)
}

/// Pushes the figures to `url` every `every` until the task is aborted.
pub async fn push_forever(app: AppState, url: String, every: Duration) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    let started = unix_nanos(SystemTime::now());
    let mut failing = false;
    loop {
        tokio::time::sleep(every).await;
        let body = request(&app, started).encode_to_vec();
        let sent = client
            .post(&url)
            .header("content-type", "application/x-protobuf")
            .body(body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => {
                if failing {
                    tracing::info!(%url, "OTLP metrics export works again");
                }
                failing = false;
            }
            Ok(r) => {
                tracing::warn!(%url, status = r.status().as_u16(), "OTLP metrics export refused");
                failing = true;
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(%url, "OTLP metrics export failed: {e}");
                }
                failing = true;
            }
        }
    }
}

fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..KeyValue::default()
    }
}

/// Collects data points of one series family.
struct Points {
    start: u64,
    now: u64,
    points: Vec<NumberDataPoint>,
}

impl Points {
    fn new(start: u64, now: u64) -> Self {
        Self {
            start,
            now,
            points: Vec::new(),
        }
    }

    fn int(&mut self, attributes: Vec<KeyValue>, value: u64) {
        self.push(
            attributes,
            number_data_point::Value::AsInt(i64::try_from(value).unwrap_or(i64::MAX)),
        );
    }

    fn double(&mut self, attributes: Vec<KeyValue>, value: f64) {
        self.push(attributes, number_data_point::Value::AsDouble(value));
    }

    fn push(&mut self, attributes: Vec<KeyValue>, value: number_data_point::Value) {
        self.points.push(NumberDataPoint {
            attributes,
            start_time_unix_nano: self.start,
            time_unix_nano: self.now,
            value: Some(value),
            ..NumberDataPoint::default()
        });
    }

    fn counter(self, name: &str, description: &str, unit: &str) -> Metric {
        metric_of(
            name,
            description,
            unit,
            metric::Data::Sum(Sum {
                data_points: self.points,
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: true,
            }),
        )
    }

    fn gauge(self, name: &str, description: &str, unit: &str) -> Metric {
        metric_of(
            name,
            description,
            unit,
            metric::Data::Gauge(Gauge {
                data_points: self.points,
            }),
        )
    }
}

fn metric_of(name: &str, description: &str, unit: &str, data: metric::Data) -> Metric {
    Metric {
        name: name.to_owned(),
        description: description.to_owned(),
        unit: unit.to_owned(),
        data: Some(data),
        ..Metric::default()
    }
}

/// The figures of `/metrics` now, as one OTLP request.
pub fn request(app: &AppState, start: u64) -> ExportMetricsServiceRequest {
    let now = unix_nanos(SystemTime::now());
    let sessions = app.supervisor.all();
    let mut metrics = Vec::new();

    let mut by_status = Points::new(start, now);
    for status in [Status::Starting, Status::Running, Status::Stopping] {
        let n = sessions.iter().filter(|s| s.status() == status).count();
        by_status.int(vec![attr("status", status.as_str())], n as u64);
    }
    metrics.push(by_status.gauge(
        "lt.sessions",
        "Sessions this server runs now, by status.",
        "{session}",
    ));

    let mut requests = Points::new(start, now);
    let mut failures = Points::new(start, now);
    let mut short_circuited = Points::new(start, now);
    let mut latency = Vec::new();
    let mut active = Points::new(start, now);
    let mut target = Points::new(start, now);
    let mut backoff = Points::new(start, now);
    let mut breaker_open = Points::new(start, now);
    for s in &sessions {
        let view = s.view();
        let session = || vec![attr("session", &s.id), attr("scenario", &s.scenario)];
        // Totals since the start, as the worker's last tick carries them.
        for e in view.last_tick.iter().flat_map(|t| &t.endpoints) {
            let t = &e.totals;
            let labels = || {
                let mut l = session();
                l.push(attr("endpoint", &e.name));
                l
            };
            requests.int(labels(), t.requests);
            short_circuited.int(labels(), t.short_circuited);
            for class in FailureClass::ALL {
                let mut l = labels();
                l.push(attr("class", class.as_str()));
                failures.int(l, t.failures.get(class));
            }
            // OTLP buckets are per bucket, not cumulative; the last one is above every bound.
            let cumulative = &t.latency_buckets;
            let mut bucket_counts = Vec::with_capacity(LATENCY_BUCKETS_S.len() + 1);
            let mut below = 0;
            for i in 0..LATENCY_BUCKETS_S.len() {
                let at_or_under = cumulative.get(i).copied().unwrap_or(0);
                bucket_counts.push(at_or_under.saturating_sub(below));
                below = at_or_under;
            }
            bucket_counts.push(t.timed.saturating_sub(below));
            latency.push(HistogramDataPoint {
                attributes: labels(),
                start_time_unix_nano: start,
                time_unix_nano: now,
                count: t.timed,
                sum: Some(t.latency_sum_s),
                bucket_counts,
                explicit_bounds: LATENCY_BUCKETS_S.to_vec(),
                ..HistogramDataPoint::default()
            });
        }
        if let Some(tick) = &view.last_tick {
            active.int(session(), u64::from(tick.active_users));
            target.int(session(), u64::from(tick.target_users));
            backoff.int(session(), u64::from(tick.users_in_backoff));
            for e in &tick.endpoints {
                let mut l = session();
                l.push(attr("endpoint", &e.name));
                breaker_open.int(l, u64::from(e.breaker == BreakerState::Open));
            }
        }
    }
    metrics.push(requests.counter(
        "lt.requests",
        "Requests sent, per session and endpoint.",
        "{request}",
    ));
    metrics.push(failures.counter(
        "lt.failures",
        "Failed requests, per session, endpoint and class.",
        "{request}",
    ));
    metrics.push(short_circuited.counter(
        "lt.short_circuited",
        "Requests the circuit breaker refused.",
        "{request}",
    ));
    metrics.push(metric_of(
        "lt.request.duration",
        "Latency of requests sent, from sending to the end of the body, per session and endpoint.",
        "s",
        metric::Data::Histogram(Histogram {
            data_points: latency,
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        }),
    ));
    metrics.push(active.gauge("lt.active_users", "Users sending requests now.", "{user}"));
    metrics.push(target.gauge(
        "lt.target_users",
        "Users the schedule or the last change asks for.",
        "{user}",
    ));
    metrics.push(backoff.gauge(
        "lt.users_in_backoff",
        "Users waiting out a backoff now.",
        "{user}",
    ));
    metrics.push(breaker_open.gauge(
        "lt.breaker_open",
        "1 while the endpoint's circuit breaker is open (requests short-circuited), else 0.",
        "1",
    ));

    let mut store_writes = Points::new(start, now);
    store_writes.int(Vec::new(), app.store.write_transactions());
    metrics.push(store_writes.counter(
        "lt.store.write_transactions",
        "SQLite write transactions since the server started.",
        "{transaction}",
    ));
    let mut dropped = Points::new(start, now);
    dropped.int(Vec::new(), app.store.dropped_writes());
    metrics.push(dropped.counter(
        "lt.store.dropped_writes",
        "Batched store writes dropped because the queue was full.",
        "{write}",
    ));
    let mut sse = Points::new(start, now);
    sse.double(Vec::new(), app.hub.clients() as f64);
    metrics.push(sse.gauge(
        "lt.sse_clients",
        "Server-Sent Events clients connected.",
        "{client}",
    ));

    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![
                    attr("service.name", "load-tester"),
                    attr("service.version", env!("CARGO_PKG_VERSION")),
                ],
                ..Resource::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "lt-server".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..InstrumentationScope::default()
                }),
                metrics,
                ..ScopeMetrics::default()
            }],
            ..ResourceMetrics::default()
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |var| {
            pairs
                .iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_endpoint_and_interval_come_from_the_environment() {
        assert_eq!(endpoint(env(&[])).unwrap(), None);
        assert_eq!(
            endpoint(env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/")]))
                .unwrap()
                .as_deref(),
            Some("http://c:4318/v1/metrics")
        );
        assert_eq!(
            endpoint(env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "https://m/x")
            ]))
            .unwrap()
            .as_deref(),
            Some("https://m/x")
        );
        let err = endpoint(env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "c:4318")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("OTEL_EXPORTER_OTLP_ENDPOINT") && err.contains("`c:4318`"));
        assert_eq!(interval(env(&[])), DEFAULT_INTERVAL);
        assert_eq!(
            interval(env(&[("OTEL_METRIC_EXPORT_INTERVAL", "250")])),
            Duration::from_millis(250)
        );
        assert_eq!(
            interval(env(&[("OTEL_METRIC_EXPORT_INTERVAL", "soon")])),
            DEFAULT_INTERVAL
        );
    }
}
