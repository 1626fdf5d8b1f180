//! The HTML report of a load test: one self-contained file (inline CSS, data and the uPlot
//! charting library, vendored in `assets/` under its MIT license), readable offline, with the
//! run's verdict, load profile, per-second charts, endpoints, flows (journeys), failures by
//! class, thresholds with units, the protections' timeline and the grouped errors with their
//! trace ids.
//!
//! Pure: it renders a [`ReportInput`] to text. `load-tester run --html` fills the input from its
//! ticks; the control server from its store, for every session however it ended.

mod accuracy;
mod html;
mod input;
mod timeline;
mod trace_link;

pub use html::{esc, render};
pub use input::{
    Change, EndpointSecond, ErrorRow, ReportInput, Second, breaker_name, flows_from_seconds,
};
pub use timeline::{Event, protections};
pub use trace_link::{TRACE_ID_PLACEHOLDER, check_trace_url};

/// The `Content-Security-Policy` a report is served with: scripts may run (the charts), but the
/// page is sandboxed in an origin of its own, so it can never act in the panel's origin, and it
/// loads nothing.
pub const CONTENT_SECURITY_POLICY: &str = "sandbox allow-scripts allow-popups allow-popups-to-escape-sandbox; default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";

#[cfg(test)]
mod tests {
    use super::*;
    use lt_protocol::{EndReason, Latency, Report, ThresholdOutcome};
    use serde_json::json;

    fn input(name: &str, description: &str) -> ReportInput {
        ReportInput {
            scenario: name.to_string(),
            description: Some(description.to_string()),
            target: "http://127.0.0.1:1".into(),
            session_id: "s-1".into(),
            status: "completed".into(),
            reason: None,
            started_at_ms: Some(1_795_000_000_000),
            duration_s: 20.0,
            load: json!({ "users": 10, "ramp": { "over": "5s" }, "duration": "20s",
                          "stages": [{ "users": 50, "duration": "5s" }, { "users": 10, "duration": "5s" }] }),
            summary: Some(Report {
                scenario: name.to_string(),
                target: "http://127.0.0.1:1".into(),
                started_at_ms: 1_795_000_000_000,
                duration_s: 20.0,
                end_reason: EndReason::Completed,
                requests: 100,
                failures: 2,
                short_circuited: 0,
                rps: 5.0,
                error_rate: 0.02,
                latency_ms: Latency {
                    p50: 3.0,
                    p90: 5.0,
                    p95: 6.0,
                    p99: 9.0,
                    max: 12.0,
                    avg: 3.5,
                },
                max_users: 10,
                endpoints: Vec::new(),
                flows: vec![],
                thresholds: vec![ThresholdOutcome {
                    rule: "p95 < 5ms".into(),
                    passed: false,
                    observed: Some(6.0),
                    unit: "ms".into(),
                }],
                errors: Vec::new(),
                dropped: 0,
                asked_rate: None,
                schedule_lag_ms: None,
                latency_corrected_ms: None,
                latency_correction: None,
                generator: None,
                insecure_tls: false,
            }),
            flows: Vec::new(),
            seconds: Vec::new(),
            changes: Vec::new(),
            errors: vec![ErrorRow {
                endpoint: "<b>e</b>".into(),
                class: "status_5xx".into(),
                status: Some(500),
                message: "</script><script>alert(1)</script>".into(),
                count: 3,
                trace_ids: vec!["0af7651916cd43dd8448eb211c80319c".into()],
            }],
            trace_url: Some("http://grafana.test/explore?trace={trace_id}".into()),
        }
    }

    #[test]
    fn scenario_text_is_text_never_markup() {
        let html = render(&input(
            "<img src=x onerror=alert(1)>",
            "<script>alert('d')</script>",
        ));
        assert!(!html.contains("<img src=x"), "name became markup");
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(!html.contains("<script>alert('d')"));
        assert!(!html.contains("<b>e</b>"));
        assert!(!html.contains("</script><script>alert(1)"));
        // Exactly the report's own three scripts.
        assert_eq!(html.matches("<script").count(), 3);
    }

    fn flow(name: &str, completed: u64, p95: f64) -> lt_protocol::FlowReport {
        lt_protocol::FlowReport {
            name: name.into(),
            started: completed + 2,
            completed,
            failed: 1,
            rate: completed as f64 / 20.0,
            journey_ms: Latency {
                p50: p95 / 2.0,
                p95,
                p99: p95 * 2.0,
                ..Latency::default()
            },
        }
    }

    #[test]
    fn flows_show_their_iterations_and_journeys_over_the_whole_run() {
        let mut with_flows = input("journeys", "d");
        with_flows.flows = vec![
            flow("<i>checkout</i>", 40, 840.0),
            flow("never-done", 0, 0.0),
        ];
        let html = render(&with_flows);
        let table = &html[html.find("id=\"flows\"").expect("a flows table")..];
        let table = &table[..table.find("</table>").unwrap()];
        assert!(html.contains("Flows (journeys), whole run"));
        assert!(table.contains("&lt;i&gt;checkout&lt;/i&gt;") && !table.contains("<i>"));
        assert!(
            table.contains("<td class=\"n\">42</td><td class=\"n\">40</td><td class=\"n\">1</td><td class=\"n\">2.00</td><td class=\"n\">420 ms</td><td class=\"n\">840 ms</td><td class=\"n\">1.68 s</td>"),
            "{table}"
        );
        // No completed iteration: no journey figures rather than 0 ms.
        assert!(table.contains("never-done</td><td class=\"n\">2</td><td class=\"n\">0</td><td class=\"n\">1</td><td class=\"n\">0.00</td><td class=\"n\">–</td>"));
        assert!(
            !render(&input("plain", "d")).contains("id=\"flows\""),
            "no flows, no table"
        );
    }

    #[test]
    fn failures_show_every_class_capture_and_check_included() {
        let mut i = input("journeys", "d");
        let summary = i.summary.as_mut().unwrap();
        summary.endpoints = vec![lt_protocol::EndpointReport {
            name: "todo-crud/read".into(),
            method: "GET".into(),
            requests: 10,
            failures: 5,
            failures_by_class: lt_protocol::FailureCounts {
                status_5xx: 1,
                capture: 3,
                check: 1,
                ..Default::default()
            },
            short_circuited: 0,
            rps: 0.5,
            latency_ms: Latency::default(),
            dropped: 0,
            latency_corrected_ms: None,
        }];
        let html = render(&i);
        assert!(html.contains(
            "connect 0 · timeout 0 · 4xx 0 · 5xx 1 · unexpected 0 · capture 3 · check 1</p>"
        ));
        // Without a summary, from the seconds.
        i.summary = None;
        i.seconds = vec![crate::Second {
            second: 1,
            rps: 1.0,
            requests: 1,
            failures: 1,
            by_class: lt_protocol::FailureCounts {
                check: 1,
                ..Default::default()
            },
            short_circuited: 0,
            p50: 1.0,
            p95: 1.0,
            p99: 1.0,
            active_users: 1,
            target_users: 1,
            users_in_backoff: 0,
            parked_users: 0,
            errors_last_minute: 1,
            endpoints: vec![],
            dropped: 0,
            cpu_percent: None,
            saturated: None,
            limited: None,
        }];
        assert!(render(&i).contains("capture 0 · check 1</p>"));
    }

    #[test]
    fn flows_without_a_summary_are_the_last_second_that_has_them() {
        let tick = |started, completed| lt_protocol::FlowTick {
            name: "checkout".into(),
            started: 1,
            completed: 1,
            failed: 0,
            journey: Latency::default(),
            weight: 2.0,
            totals: lt_protocol::FlowTotals {
                started,
                completed,
                failed: 0,
                journey: Latency {
                    p95: 700.0,
                    ..Latency::default()
                },
            },
        };
        let seconds = [(1, vec![tick(3, 2)]), (2, vec![tick(9, 8)]), (3, vec![])];
        let flows = flows_from_seconds(seconds.iter().map(|(s, f)| (*s, f.as_slice())));
        assert_eq!(flows.len(), 1);
        assert_eq!((flows[0].started, flows[0].completed), (9, 8));
        assert_eq!(flows[0].rate, 4.0, "8 completed over 2 seconds");
        assert_eq!(
            flows[0].journey_ms.p95, 700.0,
            "the whole run's, never a second's"
        );
        assert!(flows_from_seconds(std::iter::empty()).is_empty());
    }

    #[test]
    fn the_report_is_whole_and_says_what_it_shows() {
        let html = render(&input("smoke", "d"));
        assert!(html.starts_with("<!doctype html>"));
        assert!(
            !html.contains(" src=\"http") && !html.contains("<link"),
            "nothing is loaded"
        );
        assert!(html.contains("uPlot"));
        assert!(
            html.contains("FAIL") && html.contains("6.00 ms"),
            "verdict with its unit"
        );
        assert!(html.contains("ramp to 10 users over 5s, for 20s"));
        assert!(html.contains("then stages: 50 users for 5s → 10 users for 5s"));
        assert!(html.contains("2026-11-18 "), "{}", &html[..0]);
        assert!(html.contains(
            "<a href=\"http://grafana.test/explore?trace=0af7651916cd43dd8448eb211c80319c\""
        ));
        assert!(
            !html.contains("id=\"accuracy\""),
            "nothing to say about accuracy"
        );
    }

    #[test]
    fn dropped_arrivals_and_generator_warnings_are_shown() {
        let mut i = input("open", "d");
        let summary = i.summary.as_mut().unwrap();
        summary.dropped = 25;
        summary.asked_rate = Some(50.0);
        summary.generator = Some(lt_protocol::GeneratorReport {
            peak_cpu_percent: 195.0,
            cores: 2,
            warnings: vec!["generator CPU 195% … results may be distorted".into()],
            ..Default::default()
        });
        let html = render(&i);
        assert!(html.contains("id=\"accuracy\""));
        assert!(html.contains(
            "25 arrivals dropped (20.00 %): not enough users for this rate; raise users"
        ));
        assert!(html.contains("asked <b>50.0</b> arrivals/s"));
        assert!(html.contains("results may be distorted"));
    }
}
