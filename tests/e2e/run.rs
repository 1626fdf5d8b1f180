//! `load-tester run` against a real fixture target: weights, trace context, user ids, reports,
//! thresholds and exit codes.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{BIN, load_tester, read_json, scenario};
use lt_testkit::{Fixture, Mode, RunResult, write_scenario};

/// A port nobody listens on: bind, read the port, close.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

const FAST: &str = "  users: 4\n  duration: 3s\n  think_time: { min: 0s, max: 0s }";

/// Where `run` writes its JSON, JUnit and HTML reports.
struct Reports {
    json: PathBuf,
    junit: PathBuf,
    html: PathBuf,
}

/// Runs `file` writing all three reports into `dir` (made if missing).
async fn run_with_reports(file: &Path, dir: &Path) -> (RunResult, Reports) {
    let reports = Reports {
        json: dir.join("report.json"),
        junit: dir.join("junit.xml"),
        html: dir.join("report.html"),
    };
    let out = load_tester(&[
        "run",
        file.to_str().unwrap(),
        "--report",
        reports.json.to_str().unwrap(),
        "--junit",
        reports.junit.to_str().unwrap(),
        "--html",
        reports.html.to_str().unwrap(),
    ])
    .await;
    (out, reports)
}

/// The JSON report, checked against `docs/report.schema.json`.
fn report_within_its_schema(path: &Path) -> serde_json::Value {
    let json = read_json(path);
    let schema = read_json(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/report.schema.json"
    )));
    let problems = common::schema_errors(&schema, &json);
    assert!(
        problems.is_empty(),
        "the report breaks its schema: {problems:#?}"
    );
    json
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weights_1_2_7_give_matching_shares_and_reports_are_written() {
    let target = Fixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = scenario(
        &target.url(),
        FAST,
        "  - { name: a, path: /e/a, weight: 1 }\n  - { name: b, path: /e/b, weight: 2 }\n  - { name: c, path: /e/c, weight: 7 }",
        "thresholds:\n  - \"p99 < 5s\"\n  - \"error_rate < 1%\"",
    );
    let file = write_scenario(dir.path(), "w.yaml", &yaml);
    // Into a folder that does not exist yet: `run` makes it.
    let (out, reports) = run_with_reports(&file, &dir.path().join("out")).await;
    let Reports {
        json: report,
        junit,
        html,
    } = reports;
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);

    let counts = target.counts();
    let total: usize = counts.values().sum();
    assert!(total >= 2000, "only {total} requests: {counts:?}");
    for (name, weight) in [("a", 0.1), ("b", 0.2), ("c", 0.7)] {
        let share = *counts.get(name).unwrap_or(&0) as f64 / total as f64;
        assert!(
            (share - weight).abs() < 0.03,
            "{name}: {share:.3} vs {weight}: {counts:?}"
        );
    }

    let json = report_within_its_schema(&report);
    assert_eq!(json["end_reason"]["kind"], "completed");
    let reported = json["requests"].as_u64().unwrap();
    // The target may see a few requests whose answers arrived after the run's last tick.
    assert!(
        reported as usize <= total && reported as usize + 50 >= total,
        "{reported} vs {total}"
    );
    assert_eq!(json["endpoints"].as_array().unwrap().len(), 3);
    assert_eq!(json["thresholds"][0]["passed"], true);
    assert!(
        std::fs::read_to_string(&junit)
            .unwrap()
            .contains("failures=\"0\"")
    );
    let html = std::fs::read_to_string(&html).unwrap();
    assert!(
        html.contains("<html") && html.contains("GET a"),
        "the HTML report"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_has_a_valid_unique_traceparent_baggage_and_user_id_in_range() {
    let target = Fixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = scenario(
        &target.url(),
        "  users: 3\n  duration: 2s\n  think_time: { min: 0s, max: 5ms }",
        "  - { name: a, path: /e/a }",
        "user_ids: { from: 100, to: 119 }",
    );
    let file = write_scenario(dir.path(), "t.yaml", &yaml);
    let out = load_tester(&["run", file.to_str().unwrap(), "--session-id", "s-42"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let received = target.received();
    assert!(received.len() > 100, "{}", received.len());
    let mut trace_ids = HashSet::new();
    let mut user_ids = HashSet::new();
    for r in &received {
        let tp = r
            .traceparent
            .as_deref()
            .expect("traceparent on every request");
        let parts: Vec<&str> = tp.split('-').collect();
        assert_eq!(parts.len(), 4, "{tp}");
        assert_eq!(parts[0], "00");
        assert!(parts[1].len() == 32 && parts[1].chars().all(|c| c.is_ascii_hexdigit()));
        assert!(parts[2].len() == 16 && parts[2].chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(parts[1], "0".repeat(32));
        assert_eq!(parts[3], "01", "sampled flag");
        assert!(
            trace_ids.insert(parts[1].to_string()),
            "trace id {} repeated",
            parts[1]
        );
        assert_eq!(r.baggage.as_deref(), Some("loadtest.session=s-42"));
        let id: u64 = r.user_id.as_deref().expect("X-User-Id").parse().unwrap();
        assert!((100..=119).contains(&id), "{id}");
        user_ids.insert(id);
    }
    assert_eq!(
        user_ids.len(),
        20,
        "users cycle through every id: {user_ids:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_threshold_exits_1_and_junit_names_the_rule() {
    let target = Fixture::start().await;
    target.set("slow", Mode::Slow(Duration::from_millis(30)));
    let dir = tempfile::tempdir().unwrap();
    let yaml = scenario(
        &target.url(),
        "  users: 2\n  duration: 2s\n  think_time: { min: 0s, max: 0s }",
        "  - { name: slow, path: /e/slow }",
        "thresholds:\n  - \"p95 < 5ms for slow\"\n  - \"error_rate < 1%\"",
    );
    let file = write_scenario(dir.path(), "f.yaml", &yaml);
    let junit = dir.path().join("junit.xml");
    let out = load_tester(&[
        "run",
        file.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("FAIL  p95 < 5ms for slow"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("PASS  error_rate < 1%"),
        "{}",
        out.stdout
    );
    // Observed values carry their unit; the defaults are judged and named too.
    let p95_line = out
        .stdout
        .lines()
        .find(|l| l.contains("p95 < 5ms for slow"))
        .unwrap();
    assert!(p95_line.ends_with(" ms)"), "{p95_line}");
    assert!(
        out.stdout
            .contains("PASS  error_rate < 1%  (observed 0.00 %)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("PASS  at least one request succeeded (default)"),
        "{}",
        out.stdout
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains(" ms\" type=\"threshold\"/>"), "{xml}");
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(xml.contains("failures=\"1\""), "{xml}");
    assert!(
        xml.contains("<testcase classname=\"thresholds\" name=\"p95 &lt; 5ms for slow\""),
        "{xml}"
    );
    assert!(
        xml.contains("<failure message=\"p95 &lt; 5ms for slow: observed"),
        "{xml}"
    );
    assert_eq!(
        xml.matches("<testcase").count(),
        xml.matches("</testcase>").count()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_answering_500_aborts_on_the_error_budget_with_exit_3() {
    let target = Fixture::start().await;
    target.set("boom", Mode::Status(500));
    let dir = tempfile::tempdir().unwrap();
    let yaml = scenario(
        &target.url(),
        "  users: 2\n  duration: 30s\n  think_time: { min: 0s, max: 1ms }",
        "  - { name: boom, path: /e/boom }",
        "protection:\n  max_errors_per_minute: 50",
    );
    let file = write_scenario(dir.path(), "b.yaml", &yaml);
    let report = dir.path().join("r.json");
    let out = load_tester(&[
        "run",
        file.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.code, Some(3), "{}\n{}", out.stdout, out.stderr);
    let json = read_json(&report);
    assert_eq!(json["end_reason"]["kind"], "aborted");
    assert!(
        json["end_reason"]["reason"]
            .as_str()
            .unwrap()
            .contains("max_errors_per_minute: 50"),
        "{json}"
    );
    assert!(json["duration_s"].as_f64().unwrap() < 20.0, "aborted early");
    assert!(
        json["endpoints"][0]["failures_by_class"]["status_5xx"]
            .as_u64()
            .unwrap()
            > 50
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_recorded_not_a_crash() {
    let port = closed_port();
    let dir = tempfile::tempdir().unwrap();
    let yaml = scenario(
        &format!("http://127.0.0.1:{port}"),
        "  users: 2\n  duration: 20s\n  think_time: { min: 0s, max: 1ms }",
        "  - { name: gone, path: /e/gone }",
        "protection:\n  circuit_breaker: { consecutive_failures: 3, open_for: 200ms }\n  max_errors_per_minute: 20",
    );
    let file = write_scenario(dir.path(), "c.yaml", &yaml);
    let report = dir.path().join("r.json");
    let out = load_tester(&[
        "run",
        file.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.code, Some(3), "{}\n{}", out.stdout, out.stderr);
    let json = read_json(&report);
    let endpoint = &json["endpoints"][0];
    assert!(
        endpoint["failures_by_class"]["connect"].as_u64().unwrap() > 20,
        "{json}"
    );
    assert!(
        endpoint["short_circuited"].as_u64().unwrap() > 0,
        "the breaker opened: {json}"
    );
    assert_eq!(json["end_reason"]["kind"], "aborted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_gracefully_and_still_writes_the_reports() {
    let target = Fixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = scenario(
        &target.url(),
        "  users: 2\n  duration: 5m\n  think_time: { min: 10ms, max: 20ms }",
        "  - { name: a, path: /e/a }",
        "",
    );
    let file = write_scenario(dir.path(), "s.yaml", &yaml);
    let report = dir.path().join("r.json");
    let child = tokio::process::Command::new(BIN)
        .args([
            "run",
            file.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
            "--quiet",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Wait for traffic, then ask it to stop.
    for _ in 0..100 {
        if target.received().len() > 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pid = child.id().unwrap().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("stopped within 30 s")
        .unwrap();
    assert_eq!(status.status.code(), Some(3));
    let json = read_json(&report);
    assert_eq!(json["end_reason"]["kind"], "stopped");
    assert_eq!(json["end_reason"]["by"], "signal (SIGTERM)");
    assert!(json["requests"].as_u64().unwrap() > 20);
}

#[tokio::test]
async fn bad_flags_exit_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_scenario(
        dir.path(),
        "ok.yaml",
        "name: ok\ntarget: http://127.0.0.1:1\nendpoints:\n  - { name: a, path: /a }\n",
    );
    let out = load_tester(&["run", file.to_str().unwrap(), "--duration", "soon"]).await;
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr.contains("--duration") && out.stderr.contains("soon"),
        "{}",
        out.stderr
    );
    let out = load_tester(&["run", file.to_str().unwrap(), "--users", "0"]).await;
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("overrides.users"), "{}", out.stderr);
    let out = load_tester(&["run", file.to_str().unwrap(), "--target", "ftp://x"]).await;
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("ftp://x"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_writes_each_endpoints_second_as_the_run_goes() {
    let target = Fixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = scenario(
        &target.url(),
        "  users: 2\n  duration: 4s\n  think_time: { min: 5ms, max: 10ms }",
        "  - { name: a, path: /e/a }\n  - { name: b, path: /e/b }",
        "",
    );
    let file = write_scenario(dir.path(), "o.yaml", &yaml);
    let jsonl = dir.path().join("series/run.jsonl");
    let report = dir.path().join("report.json");
    let run = tokio::spawn({
        let (file, jsonl, report) = (file.clone(), jsonl.clone(), report.clone());
        async move {
            load_tester(&[
                "run",
                file.to_str().unwrap(),
                "--quiet",
                "--out",
                jsonl.to_str().unwrap(),
                "--report",
                report.to_str().unwrap(),
            ])
            .await
        }
    });
    // While it runs, the seconds already ended are in the file.
    tokio::time::sleep(Duration::from_millis(2_600)).await;
    let early = std::fs::read_to_string(&jsonl).unwrap_or_default();
    assert!(early.lines().count() >= 2, "{early}");
    let out = run.await.unwrap();
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let seconds: HashSet<u64> = lines
        .iter()
        .map(|l| l["second"].as_u64().unwrap())
        .collect();
    assert!(seconds.len() >= 3, "{seconds:?}");
    assert_eq!(
        lines.len(),
        seconds.len() * 2,
        "one line per endpoint per second"
    );
    let requests: u64 = lines.iter().map(|l| l["requests"].as_u64().unwrap()).sum();
    assert_eq!(requests, read_json(&report)["requests"].as_u64().unwrap());
    assert!(
        lines
            .iter()
            .all(|l| l["p95_ms"].is_number() && l["breaker"] == "closed")
    );

    // The same as CSV, with a header; another extension is refused naming the flag.
    let csv = dir.path().join("run.csv");
    let out = load_tester(&[
        "run",
        file.to_str().unwrap(),
        "--quiet",
        "--duration",
        "2s",
        "--out",
        csv.to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.starts_with("second,at_ms,endpoint,requests,failures,"),
        "{text}"
    );
    assert!(text.lines().count() >= 3, "{text}");
    let out = load_tester(&["run", file.to_str().unwrap(), "--out", "x.txt"]).await;
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("--out"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shorter_duration_scales_the_ramp_and_says_so() {
    let target = Fixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = scenario(
        &target.url(),
        "  users: 4\n  ramp_up: 20s\n  duration: 40s\n  think_time: { min: 5ms, max: 10ms }",
        "  - { name: a, path: /e/a }",
        "",
    );
    let file = write_scenario(dir.path(), "ramp.yaml", &yaml);
    let out = load_tester(&["run", file.to_str().unwrap(), "--quiet", "--duration", "4s"]).await;
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("duration 40s → 4s scaled the profile by 0.100: ramp_up 20s → 2s"),
        "{}",
        out.stderr
    );
    assert!(!target.received().is_empty());
    // --ramp-up sets the ramp; one that does not fit names the flag's override.
    let out = load_tester(&[
        "run",
        file.to_str().unwrap(),
        "--duration",
        "4s",
        "--ramp-up",
        "5s",
    ])
    .await;
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("overrides.ramp_up"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_latency_rule_is_not_passed_by_connection_failures() {
    // A target that is down answers nothing: its refused connections are counted, not timed,
    // so `p95 < 2s` has nothing to measure and fails instead of passing on their quick errors.
    let port = closed_port();
    let dir = tempfile::tempdir().unwrap();
    let yaml = scenario(
        &format!("http://127.0.0.1:{port}"),
        "  users: 2\n  duration: 2s\n  think_time: { min: 5ms, max: 10ms }",
        "  - { name: gone, path: /e/gone }",
        "protection:\n  max_errors_per_minute: off\nthresholds:\n  - \"p95 < 2s\"",
    );
    let file = write_scenario(dir.path(), "down.yaml", &yaml);
    let out = load_tester(&["run", file.to_str().unwrap(), "--quiet"]).await;
    assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("FAIL  p95 < 2s  (observed no data)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("FAIL  at least one request succeeded (default)  (observed 0 requests)"),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journey_run_reports_its_flows_and_capture_and_check_failures_in_every_file() {
    let target = Fixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let flows = "flows:
  - name: good
    weight: 2
    steps:
      - name: one
        path: /e/one
        capture: { v: { regex: '(o)k' } }
      - name: two
        path: /e/two-{{ v }}
  - name: picky
    weight: 1
    steps:
      - name: only
        path: /e/picky
        check: { body_contains: nope }
  - name: lost
    weight: 1
    steps:
      - name: only
        path: /e/lost
        capture: { v: { regex: '(nope)' } }
protection:
  max_errors_per_minute: off
thresholds:
  - journey p95 < 5s for good
  - journey rps > 0.1 for good
  - p95 < 5s for good/two
  - error_rate < 50%";
    let yaml = scenario(
        &target.url(),
        FAST,
        "  - { name: a, path: /e/a, weight: 1 }",
        flows,
    );
    let file = write_scenario(dir.path(), "j.yaml", &yaml);
    let (out, reports) = run_with_reports(&file, dir.path()).await;
    let Reports {
        json: report,
        junit,
        html,
    } = reports;
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    assert!(
        target.counts().contains_key("two-o"),
        "the capture reached the path: {:?}",
        target.counts()
    );

    let json = report_within_its_schema(&report);
    let flow = |name: &str| {
        json["flows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("no flow {name}: {}", json["flows"]))
            .clone()
    };
    assert!(flow("good")["completed"].as_u64().unwrap() > 0);
    assert!(flow("good")["journey_ms"]["p95"].as_f64().unwrap() > 0.0);
    assert_eq!(flow("picky")["completed"], 0);
    assert!(flow("picky")["failed"].as_u64().unwrap() > 0);
    let endpoint = |name: &str| {
        json["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no row {name}"))
            .clone()
    };
    assert!(
        endpoint("picky/only")["failures_by_class"]["check"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(
        endpoint("lost/only")["failures_by_class"]["capture"]
            .as_u64()
            .unwrap()
            > 0
    );
    let units: Vec<&str> = json["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["unit"].as_str())
        .collect();
    assert!(units.contains(&"iterations/s"), "{units:?}");

    let junit = std::fs::read_to_string(&junit).unwrap();
    assert!(
        junit.contains("name=\"journey p95 &lt; 5s for good\""),
        "{junit}"
    );
    let html = std::fs::read_to_string(&html).unwrap();
    assert!(html.contains("Flows (journeys), whole run") && html.contains("<td>good</td>"));
    assert!(html.contains("GET picky/only"));
    let classes = &html[html.find("id=\"failure-classes\"").unwrap()..];
    let classes = &classes[..classes.find("</p>").unwrap()];
    assert!(
        !classes.contains("capture 0") && !classes.contains("check 0"),
        "{classes}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_model_that_drops_arrivals_says_so_everywhere() {
    let target = Fixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = scenario(
        &target.url(),
        "  users: 1\n  arrival_rate: 40\n  arrival_max_wait: 0s\n  duration: 3s",
        "  - { name: slow, path: /e/slow }",
        "thresholds:\n  - dropped < 1%",
    );
    // One user and 100 ms a request: at most 10 of the 40 arrivals a second find it free.
    target.set("slow", Mode::Slow(Duration::from_millis(100)));
    let file = write_scenario(dir.path(), "open.yaml", &yaml);
    let (out, reports) = run_with_reports(&file, dir.path()).await;
    let Reports {
        json: report,
        junit,
        html,
    } = reports;
    assert_eq!(out.code, Some(1), "the dropped rule fails: {}", out.stderr);

    let json = report_within_its_schema(&report);
    let dropped = json["dropped"].as_u64().unwrap();
    assert!(dropped >= 40, "dropped {dropped}");
    assert_eq!(json["endpoints"][0]["dropped"].as_u64(), Some(dropped));
    assert!((json["asked_rate"].as_f64().unwrap() - 40.0).abs() < 4.0);
    assert!(json["schedule_lag_ms"]["p50"].is_number());

    assert!(
        out.stdout
            .contains("not enough users for this rate; raise users"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("open model: asked 40.0 arrivals/s"));
    assert!(out.stdout.contains("FAIL  dropped < 1%"), "{}", out.stdout);
    let junit = std::fs::read_to_string(&junit).unwrap();
    assert!(
        junit.contains(&format!("{dropped} arrivals dropped")),
        "{junit}"
    );
    let html = std::fs::read_to_string(&html).unwrap();
    assert!(html.contains("arrivals dropped"), "the HTML report says so");
}
