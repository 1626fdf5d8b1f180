//! The control server pushes `/metrics`' figures over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT`
//! is set: a real receiver gets the same series (requests, failures, the latency histogram over
//! the same buckets, users, breakers) for a running session, agreeing with `/metrics`.

mod common;
mod control;

use control::{Server, scenario_yaml};
use lt_testkit::otlp::{Receiver, attr};
use lt_testkit::{Fixture, Mode};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;

/// The value of `lt_requests_total` for `session` and `endpoint` in a `/metrics` text.
fn scraped_requests(text: &str, session: &str, endpoint: &str) -> u64 {
    text.lines()
        .find(|l| {
            l.starts_with("lt_requests_total{")
                && l.contains(&format!("session=\"{session}\""))
                && l.contains(&format!("endpoint=\"{endpoint}\""))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no lt_requests_total for {session}/{endpoint} in\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_figures_are_pushed_over_otlp() {
    let receiver = Receiver::start().await;
    let target = Fixture::start().await;
    target.set("b", Mode::Status(503));
    let dir = tempfile::tempdir().unwrap();
    let metrics_url = format!("{}/v1/metrics", receiver.url);
    let server = Server::start(
        dir.path(),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url.as_str()),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", metrics_url.as_str()),
            ("OTEL_METRIC_EXPORT_INTERVAL", "300"),
        ],
    )
    .await;
    let id = server
        .start_session(&scenario_yaml(&target.url(), 2, &["a", "b"], ""))
        .await;

    // Wait until a push carries a histogram with requests in it for this session.
    let (count, buckets, sum) = receiver
        .wait_for("lt.request.duration with requests", |r| {
            r.metrics
                .iter()
                .filter(|m| m.service == "load-tester" && m.metric.name == "lt.request.duration")
                .filter_map(|m| match &m.metric.data {
                    Some(Data::Histogram(h)) => Some(h),
                    _ => None,
                })
                .flat_map(|h| &h.data_points)
                .find(|p| {
                    attr(&p.attributes, "session").as_deref() == Some(id.as_str())
                        && attr(&p.attributes, "endpoint").as_deref() == Some("a")
                        && p.count > 5
                })
                .map(|p| (p.count, p.bucket_counts.clone(), p.sum.unwrap_or(0.0)))
        })
        .await;
    assert_eq!(buckets.len(), 16, "15 bounds and the overflow bucket");
    assert_eq!(
        buckets.iter().sum::<u64>(),
        count,
        "per-bucket counts add up"
    );
    assert!(sum > 0.0, "{sum}");

    let received = receiver.received();
    let names: std::collections::BTreeSet<&str> = received
        .metrics
        .iter()
        .filter(|m| m.service == "load-tester")
        .map(|m| m.metric.name.as_str())
        .collect();
    for want in [
        "lt.sessions",
        "lt.requests",
        "lt.failures",
        "lt.short_circuited",
        "lt.request.duration",
        "lt.active_users",
        "lt.target_users",
        "lt.users_in_backoff",
        "lt.breaker_open",
        "lt.store.write_transactions",
        "lt.store.dropped_writes",
        "lt.sse_clients",
    ] {
        assert!(names.contains(want), "{want} missing from {names:?}");
    }
    let pushed = |name: &str, endpoint: &str, class: Option<&str>| -> i64 {
        received
            .metrics
            .iter()
            .filter(|m| m.metric.name == name)
            .filter_map(|m| match &m.metric.data {
                Some(Data::Sum(s)) => Some(s),
                _ => None,
            })
            .flat_map(|s| &s.data_points)
            .filter(|p| {
                attr(&p.attributes, "session").as_deref() == Some(id.as_str())
                    && attr(&p.attributes, "endpoint").as_deref() == Some(endpoint)
                    && class.is_none_or(|c| attr(&p.attributes, "class").as_deref() == Some(c))
            })
            .filter_map(|p| match p.value {
                Some(Value::AsInt(v)) => Some(v),
                _ => None,
            })
            .max()
            .unwrap_or(-1)
    };
    let failed = pushed("lt.failures", "b", Some("status_5xx"));
    assert!(
        failed > 0,
        "the 503s are pushed as status_5xx failures: {failed}"
    );
    let pushed_a = pushed("lt.requests", "a", None);
    let scraped = reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let scraped_a = scraped_requests(&scraped, &id, "a");
    assert!(
        pushed_a > 0 && pushed_a as u64 <= scraped_a,
        "the pushed count ({pushed_a}) is one /metrics showed on the way to {scraped_a}"
    );
    println!(
        "pushed over OTLP: {} metrics; requests to a {pushed_a} (scraped later: {scraped_a}), latency count {count}",
        names.len()
    );
    let (status, body) = server.call("POST", "/api/emergency-stop", None).await;
    assert_eq!(status, 200, "{body}");
}
