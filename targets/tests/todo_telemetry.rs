//! One request to the Todo API with a given `traceparent` reaches a real OTLP/HTTP receiver as
//! all three signals, decoded from the protobuf the exporters send: the server span in that
//! trace with its business and `db.query` children and `user_id`; data points of the request
//! counter and latency histogram (and the todo and pool gauges); a log record whose trace id
//! is the span's. Own file: the global subscriber is per process.

mod common;

use common::otlp::{Received, ReceivedSpan, Receiver, attr, hex};
use common::{Kind, TestLab};
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use targets::Service;
use targets::telemetry::{self, LogFormat, OtlpEndpoints, TelemetryConfig};

const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN: &str = "b7ad6b7169203331";

fn spans_of_trace(received: &Received) -> Vec<ReceivedSpan> {
    received
        .spans
        .iter()
        .filter(|r| r.service == "todo-api" && hex(&r.span.trace_id) == TRACE_ID)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_exports_its_trace_metrics_and_logs() {
    let receiver = Receiver::start().await;
    let telemetry = telemetry::init(&TelemetryConfig {
        services: vec![Service::Todo],
        otlp: OtlpEndpoints::from_base(&receiver.url),
        log_format: LogFormat::Json,
        log_filter: "info,sqlx=warn".to_owned(),
    })
    .expect("telemetry");
    let Some(lab) = TestLab::start(Kind::Sqlite).await else {
        return;
    };

    let response = lab
        .client
        .post(lab.todo("/api/v1/todos"))
        .header("traceparent", format!("00-{TRACE_ID}-{CALLER_SPAN}-01"))
        .header("baggage", "session=s-1")
        .header("x-user-id", "77")
        .header("content-type", "application/json")
        .body(r#"{"title": "Water the plants", "description": "secret-value"}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(
        response
            .headers()
            .get("x-trace-id")
            .and_then(|v| v.to_str().ok()),
        Some(TRACE_ID)
    );
    let (status, body) = common::read(response).await;
    assert_eq!(status, 201, "{body}");

    let telemetry = tokio::task::spawn_blocking(move || {
        telemetry.force_flush();
        telemetry
    })
    .await
    .expect("flush");

    // Traces: server span -> todo.create -> db.query (todos.insert).
    let spans = receiver
        .wait_for("the server, business and database spans", |received| {
            let spans = spans_of_trace(received);
            let names = ["POST /api/v1/todos", "todo.create", "todos.insert"];
            names
                .iter()
                .all(|n| spans.iter().any(|s| s.span.name == *n))
                .then_some(spans)
        })
        .await;
    let find = |name: &str| {
        spans
            .iter()
            .find(|s| s.span.name == name)
            .unwrap_or_else(|| panic!("no span {name}: {spans:#?}"))
    };
    let server = find("POST /api/v1/todos");
    let step = find("todo.create");
    let insert = find("todos.insert");
    assert_eq!(
        hex(&server.span.parent_span_id),
        CALLER_SPAN,
        "continues the caller"
    );
    assert_eq!(server.span.kind, SpanKind::Server as i32);
    let server_attr = |key: &str| attr(&server.span.attributes, key);
    assert_eq!(server_attr("user_id").as_deref(), Some("77"));
    assert_eq!(server_attr("http.route").as_deref(), Some("/api/v1/todos"));
    assert_eq!(server_attr("http.request.method").as_deref(), Some("POST"));
    assert_eq!(
        server_attr("http.response.status_code").as_deref(),
        Some("201")
    );
    assert_eq!(hex(&step.span.parent_span_id), hex(&server.span.span_id));
    assert_eq!(
        attr(&step.span.attributes, "todo.id").as_deref(),
        body["id"].as_str()
    );
    assert_eq!(hex(&insert.span.parent_span_id), hex(&step.span.span_id));
    assert_eq!(insert.span.kind, SpanKind::Client as i32);
    let statement = attr(&insert.span.attributes, "db.statement").expect("db.statement");
    assert!(statement.starts_with("INSERT INTO todos"), "{statement}");
    assert!(
        statement.contains("$2") && !statement.contains("secret-value"),
        "no values: {statement}"
    );
    assert_eq!(
        attr(&insert.span.attributes, "db.response.rows").as_deref(),
        Some("1")
    );
    assert_eq!(
        attr(&insert.span.attributes, "db.system").as_deref(),
        Some("sqlite")
    );

    // Metrics: the request counter and latency histogram for this route and status, and the
    // gauges.
    let is_this_request = |attrs: &[opentelemetry_proto::tonic::common::v1::KeyValue]| {
        attr(attrs, "http.route").as_deref() == Some("/api/v1/todos")
            && attr(attrs, "http.request.method").as_deref() == Some("POST")
            && attr(attrs, "http.response.status_code").as_deref() == Some("201")
    };
    let (count, histogram_count, todos_total) = receiver
        .wait_for(
            "request counter, latency histogram and todo gauge",
            |received| {
                let of = |name: &'static str| {
                    received
                        .metrics
                        .iter()
                        .filter(move |m| m.service == "todo-api" && m.metric.name == name)
                };
                let count = of("targets.http.requests").find_map(|m| match &m.metric.data {
                    Some(metric::Data::Sum(sum)) => sum
                        .data_points
                        .iter()
                        .find(|p| is_this_request(&p.attributes))
                        .and_then(|p| match p.value {
                            Some(number_data_point::Value::AsInt(n)) => Some(n),
                            _ => None,
                        }),
                    _ => None,
                })?;
                let histogram =
                    of("targets.http.request.duration").find_map(|m| match &m.metric.data {
                        Some(metric::Data::Histogram(h)) => h
                            .data_points
                            .iter()
                            .find(|p| is_this_request(&p.attributes))
                            .map(|p| (p.count, p.sum, p.explicit_bounds.len())),
                        _ => None,
                    })?;
                let total = of("todos.total").find_map(|m| match &m.metric.data {
                    Some(metric::Data::Gauge(g)) => {
                        g.data_points.first().and_then(|p| match p.value {
                            Some(number_data_point::Value::AsInt(n)) => Some(n),
                            _ => None,
                        })
                    }
                    _ => None,
                })?;
                of("targets.db.pool.connections").next()?;
                of("targets.http.requests.in_flight").next()?;
                Some((count, histogram, total))
            },
        )
        .await;
    assert_eq!(count, 1);
    let (n, sum, bounds) = histogram_count;
    assert_eq!(n, 1);
    assert!(sum.is_some_and(|s| s > 0.0));
    assert_eq!(bounds, targets::metrics::BUCKETS.len());
    assert!(todos_total >= 100, "seeded todos: {todos_total}");

    // Logs: the "todo created" event, in the server span of that trace.
    let record = receiver
        .wait_for("the log record of the request", |received| {
            received
                .logs
                .iter()
                .find(|l| {
                    l.service == "todo-api"
                        && hex(&l.record.trace_id) == TRACE_ID
                        && matches!(
                            l.record.body.as_ref().and_then(|b| b.value.as_ref()),
                            Some(any_value::Value::StringValue(s)) if s == "todo created"
                        )
                })
                .cloned()
        })
        .await;
    assert_eq!(hex(&record.record.span_id), hex(&server.span.span_id));
    assert_eq!(record.record.severity_text, "INFO");
    assert_eq!(
        attr(&record.record.attributes, "todo.id").as_deref(),
        body["id"].as_str()
    );

    println!(
        "decoded from OTLP/HTTP:\n  span {} trace={} span={} parent={} user_id=77 children: {} -> {} ({statement})\n  metric targets.http.requests{{http.route=/api/v1/todos, POST, 201}} = {count}; targets.http.request.duration count={n} sum={:?}s; todos.total = {todos_total}\n  log {:?} severity={} trace={} span={}",
        server.span.name,
        hex(&server.span.trace_id),
        hex(&server.span.span_id),
        hex(&server.span.parent_span_id),
        step.span.name,
        insert.span.name,
        sum,
        record.record.body,
        record.record.severity_text,
        hex(&record.record.trace_id),
        hex(&record.record.span_id),
    );

    lab.stop().await;
    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .expect("shutdown");
}
