//! A real OTLP/HTTP receiver for tests: serves `/v1/traces`, `/v1/metrics` and `/v1/logs` on
//! 127.0.0.1:0, decodes the protobuf requests the exporters send, and keeps what arrived with
//! the `service.name` of its resource.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::Metric;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

/// A received span.
#[derive(Clone, Debug)]
pub struct ReceivedSpan {
    pub service: String,
    pub span: Span,
}

/// A received metric (one export of one instrument).
#[derive(Clone, Debug)]
pub struct ReceivedMetric {
    pub service: String,
    pub metric: Metric,
}

/// A received log record.
#[derive(Clone, Debug)]
pub struct ReceivedLog {
    pub service: String,
    pub record: LogRecord,
}

/// Everything received so far.
#[derive(Clone, Debug, Default)]
pub struct Received {
    pub spans: Vec<ReceivedSpan>,
    pub metrics: Vec<ReceivedMetric>,
    pub logs: Vec<ReceivedLog>,
}

type Store = Arc<Mutex<Received>>;

/// The running receiver; stops when dropped.
#[derive(Debug)]
pub struct Receiver {
    /// Base URL (`OTEL_EXPORTER_OTLP_ENDPOINT` style).
    pub url: String,
    store: Store,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Text of a string or integer value.
pub fn text(value: Option<&AnyValue>) -> Option<String> {
    match value?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        any_value::Value::IntValue(i) => Some(i.to_string()),
        any_value::Value::BoolValue(b) => Some(b.to_string()),
        any_value::Value::DoubleValue(d) => Some(d.to_string()),
        _ => None,
    }
}

/// The attribute `key` as text.
pub fn attr(attrs: &[KeyValue], key: &str) -> Option<String> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| text(kv.value.as_ref()))
}

/// Lowercase hex of an id.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn service(resource: Option<&Resource>) -> String {
    resource
        .and_then(|r| attr(&r.attributes, "service.name"))
        .unwrap_or_default()
}

async fn traces(State(store): State<Store>, body: Bytes) -> &'static str {
    let request = ExportTraceServiceRequest::decode(body).expect("valid OTLP trace protobuf");
    let mut store = store.lock().expect("store");
    for resource_spans in request.resource_spans {
        let service = service(resource_spans.resource.as_ref());
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                store.spans.push(ReceivedSpan {
                    service: service.clone(),
                    span,
                });
            }
        }
    }
    ""
}

async fn metrics(State(store): State<Store>, body: Bytes) -> &'static str {
    let request = ExportMetricsServiceRequest::decode(body).expect("valid OTLP metrics protobuf");
    let mut store = store.lock().expect("store");
    for resource_metrics in request.resource_metrics {
        let service = service(resource_metrics.resource.as_ref());
        for scope in resource_metrics.scope_metrics {
            for metric in scope.metrics {
                store.metrics.push(ReceivedMetric {
                    service: service.clone(),
                    metric,
                });
            }
        }
    }
    ""
}

async fn logs(State(store): State<Store>, body: Bytes) -> &'static str {
    let request = ExportLogsServiceRequest::decode(body).expect("valid OTLP logs protobuf");
    let mut store = store.lock().expect("store");
    for resource_logs in request.resource_logs {
        let service = service(resource_logs.resource.as_ref());
        for scope in resource_logs.scope_logs {
            for record in scope.log_records {
                store.logs.push(ReceivedLog {
                    service: service.clone(),
                    record,
                });
            }
        }
    }
    ""
}

impl Receiver {
    /// Starts the receiver on 127.0.0.1:0.
    pub async fn start() -> Self {
        let store: Store = Arc::default();
        let router = axum::Router::new()
            .route("/v1/traces", post(traces))
            .route("/v1/metrics", post(metrics))
            .route("/v1/logs", post(logs))
            .with_state(store.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { url, store, task }
    }

    /// A copy of what arrived so far.
    pub fn received(&self) -> Received {
        self.store.lock().expect("store").clone()
    }

    /// Polls until `found` returns something (within 10 s), or panics with `what` and all
    /// that arrived.
    pub async fn wait_for<T>(&self, what: &str, found: impl Fn(&Received) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let received = self.received();
            if let Some(value) = found(&received) {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "not received: {what}; got {} spans, {} metrics, {} logs: {received:#?}",
                received.spans.len(),
                received.metrics.len(),
                received.logs.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
