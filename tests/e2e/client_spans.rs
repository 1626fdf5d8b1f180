//! Client spans through a real OTLP/HTTP receiver: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, a
//! headless run exports one span per failed or slow request, as the root of the trace the target
//! received (same trace id; its span id is the `traceparent`'s parent id), and none for the fast
//! successful ones.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{BIN, scenario};
use lt_testkit::otlp::{self, Receiver};
use lt_testkit::{Fixture, Mode, run_binary, write_scenario};

/// (trace id, parent id) of a `traceparent`.
fn ids(traceparent: &str) -> (String, String) {
    let parts: Vec<&str> = traceparent.split('-').collect();
    (parts[1].to_owned(), parts[2].to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_and_slow_requests_become_root_client_spans_and_fast_successes_do_not() {
    let receiver = Receiver::start().await;
    let target = Fixture::start().await;
    target.set("fail", Mode::Status(500));
    target.set("slow", Mode::Slow(Duration::from_millis(300)));
    let dir = tempfile::tempdir().unwrap();
    let yaml = scenario(
        &target.url(),
        "  users: 2\n  duration: 3s\n  think_time: { min: 10ms, max: 30ms }",
        "  - { name: ok, path: /e/ok, weight: 6 }\n  - { name: fail, path: /e/fail, weight: 2 }\n  - { name: slow, path: /e/slow, weight: 1 }",
        "protection:\n  max_errors_per_minute: off\ntracing: { slow: 200ms }\nuser_ids: { from: 7, to: 9 }",
    );
    let file = write_scenario(dir.path(), "spans.yaml", &yaml);
    let traces = format!("{}/v1/traces", receiver.url);
    let out = run_binary(
        BIN,
        &["run", file.to_str().unwrap(), "--session-id", "spans-1"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url.as_str()),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces.as_str()),
        ],
        Duration::from_secs(120),
    )
    .await;
    // The failing endpoint fails the default thresholds or none: only the run must have finished.
    assert!(matches!(out.code, Some(0 | 1)), "{}", out.stderr);

    let received = target.received();
    let by_endpoint = |name: &str| -> Vec<(String, String)> {
        received
            .iter()
            .filter(|r| r.endpoint == name)
            .map(|r| ids(r.traceparent.as_deref().expect("traceparent")))
            .collect()
    };
    let (ok, fail, slow) = (by_endpoint("ok"), by_endpoint("fail"), by_endpoint("slow"));
    assert!(
        ok.len() > 20 && !fail.is_empty() && !slow.is_empty(),
        "ok {} fail {} slow {}",
        ok.len(),
        fail.len(),
        slow.len()
    );

    // The run flushes its spans before it ends, so they are all here.
    let spans = receiver.received().spans;
    let mut by_trace: HashMap<String, Vec<&otlp::ReceivedSpan>> = HashMap::new();
    for s in &spans {
        assert_eq!(s.service, "load-tester", "{s:?}");
        by_trace
            .entry(otlp::hex(&s.span.trace_id))
            .or_default()
            .push(s);
    }
    assert_eq!(
        spans.len(),
        fail.len() + slow.len(),
        "one span per failed or slow request, none for the {} fast successes",
        ok.len()
    );
    for (trace, _) in &ok {
        assert!(
            !by_trace.contains_key(trace),
            "a fast success got a span: {trace}"
        );
    }
    for (endpoint, requests, failed) in [("fail", &fail, true), ("slow", &slow, false)] {
        for (trace, parent) in requests.iter() {
            let found = by_trace
                .get(trace)
                .unwrap_or_else(|| panic!("no span for the {endpoint} request in trace {trace}"));
            assert_eq!(found.len(), 1, "one span per request: {found:?}");
            let span = &found[0].span;
            let attr = |key: &str| otlp::attr(&span.attributes, key);
            assert_eq!(
                otlp::hex(&span.span_id),
                *parent,
                "the target's parent is the client span"
            );
            assert!(
                span.parent_span_id.is_empty(),
                "the client span is the root"
            );
            assert_eq!(span.kind, 3, "SPAN_KIND_CLIENT");
            assert_eq!(span.name, format!("GET {endpoint}"));
            assert!(span.end_time_unix_nano > span.start_time_unix_nano);
            assert_eq!(attr("loadtest.endpoint").as_deref(), Some(endpoint));
            assert_eq!(attr("loadtest.session").as_deref(), Some("spans-1"));
            assert_eq!(attr("http.request.method").as_deref(), Some("GET"));
            assert!(
                attr("url.full").is_some_and(|u| u.ends_with(&format!("/e/{endpoint}"))),
                "{:?}",
                attr("url.full")
            );
            let user: u32 = attr("user_id").expect("user_id").parse().unwrap();
            assert!((7..=9).contains(&user), "{user}");
            let status = span.status.as_ref().map_or(0, |s| s.code);
            if failed {
                assert_eq!(attr("http.response.status_code").as_deref(), Some("500"));
                assert_eq!(attr("error.type").as_deref(), Some("status_5xx"));
                assert_eq!(status, 2, "STATUS_CODE_ERROR");
            } else {
                assert_eq!(attr("http.response.status_code").as_deref(), Some("200"));
                assert_eq!(attr("loadtest.slow").as_deref(), Some("true"));
                assert_ne!(status, 2, "a slow success is not an error");
                let ms: f64 = attr("loadtest.latency_ms").unwrap().parse().unwrap();
                assert!(ms >= 200.0, "{ms}");
            }
        }
    }
    println!(
        "{} client spans for {} failed and {} slow requests; none for {} fast successes",
        spans.len(),
        fail.len(),
        slow.len(),
        ok.len()
    );
}

#[tokio::test]
async fn a_bad_otlp_endpoint_is_refused_by_name() {
    let target = Fixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = scenario(
        &target.url(),
        "  users: 1\n  duration: 1s",
        "  - { name: ok, path: /e/ok }",
        "",
    );
    let file = write_scenario(dir.path(), "bad.yaml", &yaml);
    let out = run_binary(
        BIN,
        &["run", file.to_str().unwrap()],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ""),
        ],
        Duration::from_secs(60),
    )
    .await;
    assert_ne!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains("OTEL_EXPORTER_OTLP_ENDPOINT") && out.stderr.contains("collector:4318"),
        "{}",
        out.stderr
    );
    assert!(target.received().is_empty(), "nothing sent");
}
