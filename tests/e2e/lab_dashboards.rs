//! The lab's dashboards against a real Prometheus: the control server runs with its bundled
//! targets and three short sessions (EC app with the distributed service behind it, Todo API,
//! chaos service), Prometheus scrapes them with the lab's own scrape jobs (addresses made local),
//! and every PromQL expression of every dashboard (and every `label_values` variable) is
//! evaluated through Prometheus's HTTP API: a parse error or an expression with no series fails.
//! Latency panels that show exemplars must find trace ids in Prometheus's exemplar storage.
//! `promtool check metrics` must find nothing on the load tester's or any target's `/metrics`.
//!
//! Needs Prometheus's `prometheus` and `promtool` (`PROMETHEUS_BIN`, `PROMTOOL_BIN` or on the
//! `PATH`). Without them the test says it is skipped, unless `TEST_REQUIRE_PROMETHEUS=1` (CI),
//! which makes their absence a failure.

mod common;
mod control;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use control::Server;
use serde_json::Value;

/// What Grafana's interval variables become: a window that holds many 1 s scrapes.
const RATE_WINDOW: &str = "30s";
/// `$__range`: longer than the whole run.
const RANGE: &str = "10m";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `name` from `env_var` or the `PATH`; `None` (skip) or a panic (required) when missing.
fn tool(name: &str, env_var: &str) -> Option<PathBuf> {
    let found = std::env::var_os(env_var).map(PathBuf::from).or_else(|| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        })
    });
    if found.is_none() {
        let required = std::env::var("TEST_REQUIRE_PROMETHEUS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "TEST_REQUIRE_PROMETHEUS=1 but `{name}` is not on the PATH (nor in {env_var})"
        );
        eprintln!(
            "skipped: `{name}` is not installed (Debian: apt-get install prometheus); \
             set TEST_REQUIRE_PROMETHEUS=1 to make this a failure"
        );
    }
    found
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The lab's Prometheus configuration with its compose addresses replaced by `local` and a 1 s
/// scrape interval. Every target of the lab's file must have a local address.
fn local_scrape_config(local: &BTreeMap<&str, String>) -> (String, Vec<String>) {
    let lab = std::fs::read_to_string(repo().join("lab/prometheus/prometheus.yml"))
        .expect("lab/prometheus/prometheus.yml");
    let mut jobs = Vec::new();
    let mut out = String::new();
    for line in lab.lines() {
        let trimmed = line.trim_start();
        if let Some(job) = trimmed.strip_prefix("- job_name:") {
            jobs.push(job.trim().to_owned());
        }
        let line = if trimmed.starts_with("scrape_interval:") {
            line.replace(trimmed, "scrape_interval: 1s")
        } else if let Some(list) = trimmed.strip_prefix("- targets:") {
            let hosts: Vec<String> = list
                .trim()
                .trim_matches(['[', ']'])
                .split(',')
                .map(|t| t.trim().trim_matches('"').to_owned())
                .collect();
            let addrs: Vec<String> = hosts
                .iter()
                .map(|host| {
                    let addr = local.get(host.as_str()).unwrap_or_else(|| {
                        panic!("the lab scrapes {host}, which this test does not run")
                    });
                    format!("\"{addr}\"")
                })
                .collect();
            line.replace(list.trim(), &format!("[{}]", addrs.join(", ")))
        } else {
            line.to_owned()
        };
        out.push_str(&line);
        out.push('\n');
    }
    (out, jobs)
}

/// One PromQL expression of a dashboard.
struct Query {
    dashboard: String,
    panel: String,
    ref_id: String,
    expr: String,
    exemplar: bool,
}

/// Grafana's variables made concrete: interval ones become windows, every dashboard variable
/// (used as `label=~"$var"`) matches everything.
fn concrete(expr: &str) -> String {
    let mut out = expr
        .replace("$__rate_interval", RATE_WINDOW)
        .replace("$__interval", RATE_WINDOW)
        .replace("$__auto", RATE_WINDOW)
        .replace("$__range", RANGE);
    while let Some(start) = out.find('$') {
        let rest = &out[start + 1..];
        let name_len = match rest.strip_prefix('{') {
            Some(inner) => inner.find('}').expect("closed ${...}") + 2,
            None => rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len()),
        };
        out.replace_range(start..start + 1 + name_len, ".*");
    }
    out
}

fn collect(dashboard: &str, panels: &[Value], queries: &mut Vec<Query>, other: &mut Vec<String>) {
    for panel in panels {
        if let Some(nested) = panel["panels"].as_array() {
            collect(dashboard, nested, queries, other);
        }
        let title = panel["title"].as_str().unwrap_or("(untitled)");
        for target in panel["targets"].as_array().into_iter().flatten() {
            let kind = target["datasource"]["type"]
                .as_str()
                .or(panel["datasource"]["type"].as_str())
                .unwrap_or("prometheus");
            let ref_id = target["refId"].as_str().unwrap_or("?").to_owned();
            if kind != "prometheus" {
                other.push(format!("{dashboard} / {title} / {ref_id} ({kind})"));
                continue;
            }
            let expr = target["expr"].as_str().unwrap_or("").trim();
            assert!(
                !expr.is_empty(),
                "{dashboard} / {title} / {ref_id}: a Prometheus target without an expression"
            );
            queries.push(Query {
                dashboard: dashboard.to_owned(),
                panel: title.to_owned(),
                ref_id,
                expr: expr.to_owned(),
                exemplar: target["exemplar"].as_bool().unwrap_or(false),
            });
        }
    }
}

/// Every dashboard's Prometheus queries (variables as `count by (label) (selector)`), and the
/// targets of other datasources.
fn dashboard_queries() -> (Vec<Query>, Vec<String>) {
    let dir = repo().join("lab/grafana/dashboards");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("lab/grafana/dashboards")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no dashboards in {}", dir.display());
    let mut queries = Vec::new();
    let mut other = Vec::new();
    for file in files {
        let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap())
            .unwrap_or_else(|e| {
                panic!("{}: not JSON: {e}", file.display());
            });
        let title = dashboard["title"].as_str().expect("a title").to_owned();
        for var in dashboard["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let Some(definition) = var["definition"].as_str() else {
                continue;
            };
            let inner = definition
                .strip_prefix("label_values(")
                .and_then(|d| d.strip_suffix(')'))
                .unwrap_or_else(|| {
                    panic!(
                        "{title}: variable query {definition} is not label_values(selector, label)"
                    )
                });
            let (selector, label) = inner
                .rsplit_once(',')
                .expect("label_values(selector, label)");
            queries.push(Query {
                dashboard: title.clone(),
                panel: format!("variable ${}", var["name"].as_str().unwrap_or("?")),
                ref_id: "label_values".into(),
                expr: format!("count by ({}) ({})", label.trim(), selector.trim()),
                exemplar: false,
            });
        }
        collect(
            &title,
            dashboard["panels"].as_array().expect("panels"),
            &mut queries,
            &mut other,
        );
    }
    (queries, other)
}

/// Runs `promtool check metrics` on `text`; returns what it reported.
fn promtool_check(promtool: &Path, text: &str) -> String {
    let mut child = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        report.trim().to_owned()
    } else {
        format!("exit {:?}: {report}", output.status.code())
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

async fn prom_api(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    params: &[(&str, &str)],
) -> Value {
    let response = client
        .get(format!("{base}{path}?{}", form(params)))
        .send()
        .await
        .expect("Prometheus answers");
    let text = response.text().await.unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

fn ec_scenario(target: &str) -> String {
    format!(
        "name: lab-ec\ntarget: {target}\nload:\n  users: 4\n  duration: 5m\n  think_time: {{ min: 50ms, max: 150ms }}\n\
endpoints:\n\
  - {{ name: products, path: /api/products, query: {{ per_page: 20 }}, weight: 4 }}\n\
  - {{ name: n-plus-one, path: /performance/n-plus-one, query: {{ limit: 10 }}, weight: 2 }}\n\
  - {{ name: full-scan, path: /performance/slow-query/full-scan, weight: 1 }}\n\
  - {{ name: error, path: /performance/error, weight: 1 }}\n\
  - {{ name: distributed, path: /distributed/n-plus-one, weight: 1 }}\n\
protection:\n  max_errors_per_minute: off\n  circuit_breaker: {{ consecutive_failures: 50, open_for: 2s }}\n\
user_ids: {{ from: 1, to: 50 }}\n"
    )
}

fn todo_scenario(target: &str) -> String {
    format!(
        "name: lab-todo\ntarget: {target}\nload:\n  users: 3\n  duration: 5m\n  think_time: {{ min: 50ms, max: 150ms }}\n\
endpoints:\n\
  - {{ name: list, path: /api/v1/todos, weight: 3 }}\n\
  - {{ name: create, method: POST, path: /api/v1/todos, json: {{ title: lab }}, expect: [201], weight: 1 }}\n\
  - {{ name: missing, path: /api/v1/todos/00000000-0000-0000-0000-000000000000, expect: [404], weight: 1 }}\n\
protection:\n  max_errors_per_minute: off\n"
    )
}

fn chaos_scenario(target: &str) -> String {
    format!(
        "name: lab-chaos\ntarget: {target}\nload:\n  users: 2\n  duration: 5m\n  think_time: {{ min: 50ms, max: 150ms }}\n\
endpoints:\n\
  - {{ name: visit, path: /, weight: 1 }}\n\
protection:\n  max_errors_per_minute: off\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_query_finds_series_in_a_real_prometheus() {
    let Some(prometheus) = tool("prometheus", "PROMETHEUS_BIN") else {
        return;
    };
    let Some(promtool) = tool("promtool", "PROMTOOL_BIN") else {
        return;
    };
    let (queries, other) = dashboard_queries();

    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_targets(
        dir.path(),
        &[
            ("LT_EC_PORT", "0"),
            ("LT_DISTRIBUTED_PORT", "0"),
            ("LT_TODO_PORT", "0"),
            ("LT_CHAOS_PORT", "0"),
        ],
    )
    .await;
    let addr_of = |name: &str| {
        server
            .banner
            .split(&format!("{name} http://"))
            .nth(1)
            .and_then(|rest| rest.split([',', '\n']).next())
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no {name} address in:\n{}", server.banner))
    };
    let local: BTreeMap<&str, String> = BTreeMap::from([
        (
            "load-tester:8080",
            server.url.trim_start_matches("http://").to_owned(),
        ),
        ("ec:5001", addr_of("ec")),
        ("distributed:5002", addr_of("distributed")),
        ("todo:8000", addr_of("todo")),
        ("chaos:8001", addr_of("chaos")),
    ]);
    let started_s = now_s();
    let mut sessions = Vec::new();
    for yaml in [
        ec_scenario(&format!("http://{}", local["ec:5001"])),
        todo_scenario(&format!("http://{}", local["todo:8000"])),
        chaos_scenario(&format!("http://{}", local["chaos:8001"])),
    ] {
        sessions.push(server.start_session(&yaml).await);
    }

    let (config, jobs) = local_scrape_config(&local);
    let config_path = dir.path().join("prometheus.yml");
    std::fs::write(&config_path, &config).unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let prom_log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
    let _prometheus = tokio::process::Command::new(&prometheus)
        .arg(format!("--config.file={}", config_path.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--enable-feature=exemplar-storage")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(prom_log)
        .kill_on_drop(true)
        .spawn()
        .expect("start prometheus");
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !client
        .get(format!("{base}/-/ready"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "prometheus did not become ready:\n{}",
            std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Every target's /metrics, as promtool reads it (the text format).
    for (host, addr) in &local {
        let text = client
            .get(format!("http://{addr}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let report = promtool_check(&promtool, &text);
        assert!(
            report.is_empty(),
            "promtool check metrics on {host}'s /metrics:\n{report}"
        );
        println!("promtool check metrics: {host} /metrics clean");
    }

    // Let the sessions run and Prometheus scrape for a while (the rate windows fill).
    tokio::time::sleep(Duration::from_secs(15)).await;
    let targets = prom_api(&client, &base, "/api/v1/targets", &[]).await;
    let active = targets["data"]["activeTargets"]
        .as_array()
        .expect("targets");
    let mut seen_jobs: Vec<String> = Vec::new();
    for t in active {
        let job = t["labels"]["job"].as_str().unwrap_or("?");
        assert_eq!(t["health"], "up", "job {job} is not up: {}", t["lastError"]);
        seen_jobs.push(job.to_owned());
    }
    seen_jobs.sort();
    let mut want_jobs = jobs.clone();
    want_jobs.sort();
    assert_eq!(seen_jobs, want_jobs, "every job of the lab is scraped");
    println!("scrape jobs up: {}", seen_jobs.join(", "));

    let mut failures = Vec::new();
    for q in &queries {
        let expr = concrete(&q.expr);
        let answer = prom_api(&client, &base, "/api/v1/query", &[("query", &expr)]).await;
        let series = answer["data"]["result"].as_array().map_or(0, Vec::len);
        let label = format!("{} / {} / {}", q.dashboard, q.panel, q.ref_id);
        if answer["status"] != "success" {
            failures.push(format!("{label}: {}\n    {expr}", answer["error"]));
            continue;
        }
        if series == 0 {
            failures.push(format!("{label}: no series\n    {expr}"));
            continue;
        }
        let mut note = String::new();
        if q.exemplar {
            let start = format!("{started_s:.3}");
            let end = format!("{:.3}", now_s());
            let found = prom_api(
                &client,
                &base,
                "/api/v1/query_exemplars",
                &[("query", &expr), ("start", &start), ("end", &end)],
            )
            .await;
            let trace_ids: Vec<&str> = found["data"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|s| s["exemplars"].as_array().into_iter().flatten())
                .filter_map(|e| e["labels"]["trace_id"].as_str())
                .filter(|t| t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit()))
                .collect();
            if trace_ids.is_empty() {
                failures.push(format!("{label}: no exemplar with a trace_id\n    {found}"));
                continue;
            }
            note = format!(", {} exemplars (trace ids)", trace_ids.len());
        }
        println!("checked {label}: {series} series{note}");
    }
    for o in &other {
        println!("not PromQL, not evaluated here: {o}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} dashboard queries failed:\n{}",
        failures.len(),
        queries.len(),
        failures.join("\n")
    );
    println!(
        "{} Prometheus queries of {} panels and variables evaluated against a real Prometheus",
        queries.len(),
        queries
            .iter()
            .map(|q| (&q.dashboard, &q.panel))
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    );

    let (status, body) = server.call("POST", "/api/emergency-stop", None).await;
    assert_eq!(status, 200, "{body}");
    drop(sessions);
}

#[test]
fn grafana_variables_become_concrete_promql() {
    assert_eq!(
        concrete(
            r#"sum by (le) (rate(x_bucket{a=~"$session",b=~"${endpoint}"}[$__rate_interval]))"#
        ),
        r#"sum by (le) (rate(x_bucket{a=~".*",b=~".*"}[30s]))"#
    );
    assert_eq!(concrete("increase(x[$__range])"), "increase(x[10m])");
}
