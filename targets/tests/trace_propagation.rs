//! A request with a given `traceparent` to `/distributed/n-plus-one` yields spans from both
//! services in that one trace, the distributed span a descendant of the EC span, `user_id` on
//! both — checked with a real OTLP/HTTP receiver. Own file: the global subscriber is per process.

mod common;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};

use common::otlp::{ReceivedSpan, Receiver, attr, hex};
use targets::telemetry::{self, LogFormat, OtlpEndpoints, TelemetryConfig};
use targets::{Lab, LabConfig, Service};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_across_both_services() {
    let receiver = Receiver::start().await;
    let telemetry = telemetry::init(&TelemetryConfig {
        services: vec![Service::Ec, Service::Distributed],
        otlp: OtlpEndpoints {
            traces: Some(telemetry::traces_url(&receiver.url)),
            ..OtlpEndpoints::default()
        },
        log_format: LogFormat::Text,
        log_filter: "warn".to_owned(),
    })
    .expect("telemetry");

    let dir = tempfile::tempdir().expect("tempdir");
    let lab = Lab::start(LabConfig {
        data_dir: dir.path().to_owned(),
        ec_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        distributed_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        todo_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        scale: common::TEST_SCALE,
        database_url: None,
        chaos_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        redis_url: None,
    })
    .await
    .expect("lab");

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let response = reqwest::Client::new()
        .get(format!("{}/distributed/n-plus-one?limit=2", lab.ec_url()))
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .header("baggage", "session=abc")
        .header("x-user-id", "77")
        .send()
        .await
        .expect("request");
    let (status, body) = common::read(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["trace_id"], trace_id,
        "the caller's trace is continued: {body}"
    );
    assert_eq!(body["distributed"]["trace_id"], trace_id, "{body}");

    // Flush (blocking) and wait for the receiver to have both services' request spans.
    let telemetry = tokio::task::spawn_blocking(move || {
        telemetry.force_flush();
        telemetry
    })
    .await
    .expect("flush");
    let spans = receiver
        .wait_for("both services' request spans", |received| {
            let spans: Vec<ReceivedSpan> = received
                .spans
                .iter()
                .filter(|r| hex(&r.span.trace_id) == trace_id)
                .cloned()
                .collect();
            let has = |service: &str, name: &str| {
                spans
                    .iter()
                    .any(|r| r.service == service && r.span.name == name)
            };
            (has("ec", "GET /distributed/{operation}") && has("distributed", "POST /n-plus-one"))
                .then_some(spans)
        })
        .await;

    let by_id: HashMap<String, &ReceivedSpan> =
        spans.iter().map(|r| (hex(&r.span.span_id), r)).collect();
    let find = |service: &str, name: &str| {
        spans
            .iter()
            .find(|r| r.service == service && r.span.name == name)
            .unwrap_or_else(|| panic!("no {service} span {name}"))
    };
    let ec_server = find("ec", "GET /distributed/{operation}");
    let ec_client = find("ec", "POST /n-plus-one");
    let dist_server = find("distributed", "POST /n-plus-one");

    assert_eq!(
        hex(&ec_server.span.parent_span_id),
        caller_span,
        "EC continues the caller's span"
    );
    // Walk up from the distributed span to the EC server span.
    let mut current = dist_server;
    let mut chain = vec![format!("{}:{}", current.service, current.span.name)];
    while hex(&current.span.span_id) != hex(&ec_server.span.span_id) {
        let parent = hex(&current.span.parent_span_id);
        current = by_id
            .get(&parent)
            .unwrap_or_else(|| panic!("parent {parent} of {chain:?} not received"));
        chain.push(format!("{}:{}", current.service, current.span.name));
    }
    assert_eq!(
        hex(&dist_server.span.parent_span_id),
        hex(&ec_client.span.span_id),
        "{chain:?}"
    );

    for (who, span) in [("ec", ec_server), ("distributed", dist_server)] {
        assert_eq!(
            attr(&span.span.attributes, "user_id").as_deref(),
            Some("77"),
            "{who}"
        );
        assert_eq!(
            attr(&span.span.attributes, "service_name").as_deref(),
            Some(who),
            "{who}"
        );
        assert!(
            attr(&span.span.attributes, "operation_type").is_some(),
            "{who}"
        );
    }
    assert_eq!(
        attr(&dist_server.span.attributes, "query_count").as_deref(),
        Some("3")
    );
    let distributed_queries = spans
        .iter()
        .filter(|r| {
            r.service == "distributed" && attr(&r.span.attributes, "db.statement").is_some()
        })
        .count();
    assert_eq!(distributed_queries, 3, "one db.query span per statement");
    assert!(
        spans
            .iter()
            .filter_map(|r| attr(&r.span.attributes, "db.statement"))
            .all(|sql| sql.contains('$') || !sql.contains("WHERE")),
        "statements are recorded without values"
    );

    lab.shutdown().await.expect("lab stops");
    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .expect("shutdown");
}
