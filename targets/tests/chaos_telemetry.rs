//! The chaos service's traces, checked with a real OTLP/HTTP receiver: a request span continuing
//! the caller's trace with a client span per store command, and a fault span lasting from the
//! fault's start to its end with both as events. Own file: the global subscriber is per process.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use targets::Service;
use targets::chaos::{self, ChaosConfig, ChaosState};
use targets::telemetry::{self, LogFormat, TelemetryConfig};
use tokio::sync::watch;

type Spans = Arc<Mutex<Vec<(String, Span)>>>;

fn attr(attrs: &[KeyValue], key: &str) -> Option<String> {
    let value = attrs.iter().find(|kv| kv.key == key)?.value.as_ref()?;
    match value.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        any_value::Value::IntValue(i) => Some(i.to_string()),
        _ => None,
    }
}

async fn receive(State(spans): State<Spans>, body: Bytes) -> &'static str {
    let request = ExportTraceServiceRequest::decode(body).expect("valid OTLP protobuf");
    let mut spans = spans.lock().unwrap();
    for resource in request.resource_spans {
        let service = resource
            .resource
            .as_ref()
            .and_then(|r| attr(&r.attributes, "service.name"))
            .unwrap_or_default();
        for scope in resource.scope_spans {
            spans.extend(scope.spans.into_iter().map(|s| (service.clone(), s)));
        }
    }
    ""
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_store_commands_and_faults_are_traced() {
    let spans: Spans = Arc::default();
    let listener = targets::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .unwrap();
    let receiver_url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, _) = watch::channel(false);
    targets::spawn_server(
        listener,
        axum::Router::new()
            .route("/v1/traces", axum::routing::post(receive))
            .with_state(spans.clone()),
        &stop,
    );
    let telemetry = telemetry::init(&TelemetryConfig {
        services: vec![Service::Chaos],
        otlp: telemetry::OtlpEndpoints {
            traces: Some(telemetry::traces_url(&receiver_url)),
            ..telemetry::OtlpEndpoints::default()
        },
        log_format: LogFormat::Text,
        log_filter: "warn".to_owned(),
    })
    .expect("telemetry");

    let listener = targets::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = ChaosState::new(&ChaosConfig::default()).unwrap();
    targets::spawn_server(listener, chaos::app(state), &stop);

    let client = reqwest::Client::new();
    let visit_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let fault_trace = "5cf92f3577b34da6a3ce929d0e0e4737";
    let response = client
        .get(format!("{url}/"))
        .header(
            "traceparent",
            format!("00-{visit_trace}-00f067aa0ba902b7-01"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = client
        .post(format!("{url}/chaos/error"))
        .header(
            "traceparent",
            format!("00-{fault_trace}-00f067aa0ba902b7-01"),
        )
        .body(r#"{"rate": 0.1, "seconds": 0.3}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    tokio::time::sleep(Duration::from_millis(600)).await; // the fault ends by itself

    let telemetry = tokio::task::spawn_blocking(move || {
        telemetry.force_flush();
        telemetry
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let find = |trace: &str, name: &str| {
        spans
            .lock()
            .unwrap()
            .iter()
            .find(|(_, s)| hex(&s.trace_id) == trace && s.name == name)
            .cloned()
    };
    let (service, request, command, fault) = loop {
        if let (Some((service, request)), Some((_, command)), Some((_, fault))) = (
            find(visit_trace, "GET /"),
            find(visit_trace, "INCR"),
            find(fault_trace, "chaos fault error"),
        ) {
            break (service, request, command, fault);
        }
        assert!(
            Instant::now() < deadline,
            "spans not received: {:#?}",
            spans.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(service, "chaos");
    assert_eq!(command.parent_span_id, request.span_id, "INCR inside GET /");
    assert_eq!(
        attr(&command.attributes, "db.system").as_deref(),
        Some("embedded")
    );
    assert_eq!(
        attr(&command.attributes, "db.statement").as_deref(),
        Some("INCR chaos:visits")
    );
    let events: Vec<&str> = fault.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(events, ["fault started", "fault ended"], "{fault:#?}");
    assert_eq!(
        attr(&fault.attributes, "fault.end_reason").as_deref(),
        Some("expired")
    );
    let lasted = fault.end_time_unix_nano - fault.start_time_unix_nano;
    assert!(
        lasted >= 250_000_000,
        "the fault span lasts as long as the fault: {lasted} ns"
    );
    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .unwrap();
}
