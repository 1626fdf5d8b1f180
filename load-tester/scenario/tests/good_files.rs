//! Valid scenarios: a full example maps to the expected value, defaults fill the gaps,
//! overrides go over the file, and live weight updates are checked.

use std::collections::BTreeMap;
use std::time::Duration;

use lt_scenario::{
    Backoff, Body, BreakerScope, CircuitBreaker, Comparison, Endpoint, Load, LoadReduction, Method,
    Overrides, Protection, Ramp, Scenario, Stage, ThinkTime, Threshold, ThresholdMetric,
    TracingOptions, UserIdSource, UserIds, apply_overrides, check_weights, parse,
    parse_with_overrides,
};
use serde_json::json;

const FULL: &str = r#"
name: mixed
description: A weighted mix
target: http://127.0.0.1:5001/
load:
  users: 10
  max_users: 50
  ramp_up: 5s
  duration: 30m
  think_time: { min: 500ms, max: 2s }
  arrival_rate: 200
  rate: 500
  stages:
    - { users: 5, duration: 1m }
    - { users: 20, duration: 2m }
endpoints:
  - name: n-plus-one
    method: get
    path: /performance/n-plus-one
    query: { limit: 20, verbose: true }
    headers: { X-Demo: "1" }
    timeout: 10s
    weight: 3
    expect: [200, 404]
    description: The slow one
  - name: order
    method: POST
    path: http://127.0.0.1:5001/orders?fast=1
    json: { item: 7, qty: 1.5, gift: false, note: null, code: "007" }
    weight: 0.5
  - name: raw
    method: PUT
    path: /raw
    body: "raw text"
    weight: 0
protection:
  circuit_breaker: { consecutive_failures: 3, failure_ratio: 0.5, window: 20s, min_requests: 5, open_for: 15s, half_open_probes: 2, scope: global }
  backoff: { initial: 200ms, max: 5s, multiplier: 1.5, jitter: false }
  load_reduction: { error_rate: 0.25, window: 30s, reduce_by: 0.3, min_users: 2, restore_every: 10s }
  max_errors_per_minute: 50
thresholds:
  - "p95 < 500ms"
  - "error_rate < 1%"
  - "p99 < 2s for n-plus-one"
user_ids: { from: 1, to: 1000, header: X-Customer, json_field: user_id }
tracing: { enabled: false, slow: 2s }
"#;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn full_expected() -> Scenario {
    Scenario {
        name: "mixed".into(),
        description: Some("A weighted mix".into()),
        target: "http://127.0.0.1:5001".into(),
        load: Load {
            users: 10,
            max_users: 50,
            ramp: Ramp::Over(secs(5)),
            duration: secs(1800),
            think_time: ThinkTime {
                min: Duration::from_millis(500),
                max: secs(2),
            },
            arrival_rate: Some(200.0),
            rate: Some(500.0),
            stages: vec![
                Stage {
                    users: 5,
                    duration: secs(60),
                },
                Stage {
                    users: 20,
                    duration: secs(120),
                },
            ],
            scaled: None,
            arrival_max_wait: lt_scenario::DEFAULT_ARRIVAL_MAX_WAIT,
            limits: Default::default(),
            generators: 1,
        },
        endpoints: vec![
            Endpoint {
                name: "n-plus-one".into(),
                method: Method::Get,
                path: "/performance/n-plus-one".into(),
                query: vec![
                    ("limit".into(), "20".into()),
                    ("verbose".into(), "true".into()),
                ],
                headers: vec![("X-Demo".into(), "1".into())],
                body: None,
                timeout: secs(10),
                weight: 3.0,
                expect: Some(vec![200, 404]),
                check: None,
                description: Some("The slow one".into()),
            },
            Endpoint {
                name: "order".into(),
                method: Method::Post,
                path: "http://127.0.0.1:5001/orders?fast=1".into(),
                query: vec![],
                headers: vec![],
                body: Some(Body::Json(
                    json!({"item": 7, "qty": 1.5, "gift": false, "note": null, "code": "007"}),
                )),
                timeout: secs(30),
                weight: 0.5,
                expect: None,
                check: None,
                description: None,
            },
            Endpoint {
                name: "raw".into(),
                method: Method::Put,
                path: "/raw".into(),
                query: vec![],
                headers: vec![],
                body: Some(Body::Text("raw text".into())),
                timeout: secs(30),
                weight: 0.0,
                expect: None,
                check: None,
                description: None,
            },
        ],
        flows: vec![],
        data: None,
        cookies: false,
        protection: Protection {
            circuit_breaker: Some(CircuitBreaker {
                consecutive_failures: 3,
                failure_ratio: Some(0.5),
                window: secs(20),
                min_requests: 5,
                open_for: secs(15),
                half_open_probes: 2,
                scope: BreakerScope::Global,
            }),
            backoff: Some(Backoff {
                initial: Duration::from_millis(200),
                max: secs(5),
                multiplier: 1.5,
                jitter: false,
            }),
            load_reduction: Some(LoadReduction {
                error_rate: 0.25,
                window: secs(30),
                reduce_by: 0.3,
                min_users: 2,
                restore_every: secs(10),
            }),
            max_errors_per_minute: Some(50),
        },
        thresholds: vec![
            Threshold {
                rule: "p95 < 500ms".into(),
                metric: ThresholdMetric::P95,
                op: Comparison::Lt,
                value: 500.0,
                endpoint: None,
                journey: false,
            },
            Threshold {
                rule: "error_rate < 1%".into(),
                metric: ThresholdMetric::ErrorRate,
                op: Comparison::Lt,
                value: 0.01,
                endpoint: None,
                journey: false,
            },
            Threshold {
                rule: "p99 < 2s for n-plus-one".into(),
                metric: ThresholdMetric::P99,
                op: Comparison::Lt,
                value: 2000.0,
                endpoint: Some("n-plus-one".into()),
                journey: false,
            },
        ],
        user_ids: Some(UserIds {
            ids: UserIdSource::Range { from: 1, to: 1000 },
            header: Some("X-Customer".into()),
            json_field: Some("user_id".into()),
        }),
        tracing: TracingOptions {
            enabled: false,
            slow: secs(2),
        },
        env: Default::default(),
        latency: Default::default(),
        tls: Default::default(),
    }
}

const MINIMAL: &str =
    "name: smoke\ntarget: https://example.com\nendpoints:\n  - name: home\n    path: /\n";

#[test]
fn full_example_parses_to_the_expected_scenario() {
    assert_eq!(parse("full.yaml", FULL), Ok(full_expected()));
}

#[test]
fn defaults_fill_what_the_file_leaves_out() {
    let s = parse("min.yaml", MINIMAL).unwrap();
    assert_eq!(s.description, None);
    assert_eq!(
        s.load,
        Load {
            users: 10,
            max_users: 10,
            ramp: Ramp::Immediate,
            duration: secs(1800),
            think_time: ThinkTime {
                min: secs(1),
                max: secs(5)
            },
            arrival_rate: None,
            rate: None,
            stages: vec![],
            scaled: None,
            arrival_max_wait: lt_scenario::DEFAULT_ARRIVAL_MAX_WAIT,
            limits: Default::default(),
            generators: 1,
        }
    );
    let home = &s.endpoints[0];
    assert_eq!(
        (
            home.method,
            home.timeout,
            home.weight,
            &home.expect,
            &home.body
        ),
        (Method::Get, secs(30), 1.0, &None, &None)
    );
    assert_eq!(
        s.protection,
        Protection {
            circuit_breaker: None,
            backoff: None,
            load_reduction: None,
            max_errors_per_minute: Some(100),
        }
    );
    assert_eq!(s.thresholds, vec![]);
    assert_eq!(s.user_ids, None);
    assert_eq!(s.tracing, TracingOptions::default());
}

const TWO: &str = "name: two\ntarget: http://a\nload:\n  users: 4\n  max_users: 8\n  ramp_up: 10s\n  duration: 1m\nendpoints:\n  - name: home\n    path: /\n  - name: cart\n    path: /cart\n    weight: 2\n";

#[test]
fn overrides_go_over_the_file() {
    let o = Overrides {
        target: Some("http://b:81/".into()),
        users: Some(20),
        duration: Some(secs(300)),
        think_time: Some(ThinkTime {
            min: Duration::ZERO,
            max: Duration::ZERO,
        }),
        arrival_rate: Some(50.0),
        weights: Some(BTreeMap::from([("home".to_string(), 0.0)])),
        ramp_up: None,
        generators: None,
    };
    let s = parse_with_overrides("two.yaml", TWO, &o).unwrap();
    assert_eq!(s.target, "http://b:81");
    assert_eq!((s.load.users, s.load.max_users), (20, 20));
    assert_eq!(s.load.duration, secs(300));
    assert_eq!(s.load.think_time.max, Duration::ZERO);
    assert_eq!(s.load.arrival_rate, Some(50.0));
    assert_eq!(s.weights(), vec![0.0, 2.0]);

    // The same overrides over the parsed file give the same scenario.
    let base = parse("two.yaml", TWO).unwrap();
    assert_eq!(apply_overrides(&base, &o), Ok(s));
    assert_eq!(apply_overrides(&base, &Overrides::default()), Ok(base));
}

#[test]
fn the_target_may_come_only_from_overrides() {
    let text = "name: x\nendpoints: [{name: a, path: /}]\n";
    let o = Overrides {
        target: Some("https://t".into()),
        ..Overrides::default()
    };
    assert_eq!(
        parse_with_overrides("x.yaml", text, &o).unwrap().target,
        "https://t"
    );
}

fn override_errors(text: &str, o: &Overrides) -> Vec<String> {
    parse_with_overrides("two.yaml", text, o)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn bad_overrides_are_reported_against_overrides() {
    let o = Overrides {
        target: Some("ftp://x".into()),
        users: Some(0),
        duration: Some(Duration::ZERO),
        think_time: Some(ThinkTime {
            min: secs(5),
            max: secs(1),
        }),
        arrival_rate: Some(f64::NAN),
        weights: Some(BTreeMap::from([
            ("hom".to_string(), 1.0),
            ("cart".to_string(), -1.0),
        ])),
        ramp_up: None,
        generators: None,
    };
    assert_eq!(
        override_errors(TWO, &o),
        [
            "overrides: overrides.target: `ftp://x` is not an http(s) URL",
            "overrides: overrides.users: users must be at least 1, got `0`",
            "overrides: overrides.duration: duration must be longer than 0, got `0s`",
            "overrides: overrides.think_time: min (`5s`) is greater than max (`1s`)",
            "overrides: overrides.arrival_rate: arrival_rate must be a number above 0, got `NaN`",
            "overrides: overrides.weights.cart: weight of `cart` must be a number from 0 to 1000000000, got `-1`",
            "overrides: overrides.weights.hom: unknown endpoint `hom`, did you mean `home`?",
        ]
    );
    let base = parse("two.yaml", TWO).unwrap();
    let err = apply_overrides(&base, &o).unwrap_err();
    assert_eq!(err.len(), 7);
    assert!(err.iter().all(|d| d.file == "overrides" && d.line == 0));
}

#[test]
fn a_shorter_duration_scales_the_ramp_and_stages_and_says_so() {
    let o = Overrides {
        duration: Some(secs(6)),
        ..Overrides::default()
    };
    // The ramp (10s of a 1m run) becomes 1s of a 6s run.
    let s = parse_with_overrides("two.yaml", TWO, &o).unwrap();
    assert_eq!(s.load.ramp, lt_scenario::Ramp::Over(secs(1)));
    assert_eq!(
        s.load.scaled.as_deref(),
        Some("duration 1m → 6s scaled the profile by 0.100: ramp_up 10s → 1s")
    );
    let base = parse("two.yaml", TWO).unwrap();
    assert_eq!(apply_overrides(&base, &o).unwrap().load, s.load);
    // Stages shrink with it.
    let staged = TWO.replace(
        "  ramp_up: 10s\n",
        "  stages:\n    - { users: 8, duration: 20s }\n    - { users: 2, duration: 40s }\n",
    );
    let s = parse_with_overrides("staged.yaml", &staged, &o).unwrap();
    let stages: Vec<Duration> = s.load.stages.iter().map(|s| s.duration).collect();
    assert_eq!(stages, [secs(2), secs(4)]);
    // A run long enough for the profile keeps it; a ramp given with the duration is taken as
    // given, and one that does not fit is the override's problem.
    let long = Overrides {
        duration: Some(secs(30)),
        ..Overrides::default()
    };
    let s = parse_with_overrides("two.yaml", TWO, &long).unwrap();
    assert_eq!(
        (s.load.ramp, s.load.scaled),
        (lt_scenario::Ramp::Over(secs(10)), None)
    );
    let both = Overrides {
        duration: Some(secs(6)),
        ramp_up: Some(secs(2)),
        ..Overrides::default()
    };
    let s = parse_with_overrides("two.yaml", TWO, &both).unwrap();
    assert_eq!(s.load.ramp, lt_scenario::Ramp::Over(secs(2)));
    let too_long = Overrides {
        ramp_up: Some(secs(90)),
        ..Overrides::default()
    };
    assert_eq!(
        override_errors(TWO, &too_long),
        ["overrides: overrides.ramp_up: ramp_up (`1m30s`) must be shorter than duration (`1m`)"]
    );
}

#[test]
fn overrides_are_checked_against_the_rest_of_the_file() {
    // Weights that leave nothing to call.
    let o = Overrides {
        duration: Some(secs(5)),
        weights: Some(BTreeMap::from([
            ("home".to_string(), 0.0),
            ("cart".to_string(), 0.0),
        ])),
        ..Overrides::default()
    };
    assert_eq!(
        override_errors(TWO, &o),
        ["two.yaml:9:3: endpoints: all endpoint weights are zero; at least one must be above 0",]
    );
    let base = parse("two.yaml", TWO).unwrap();
    let err: Vec<String> = apply_overrides(&base, &o)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        err,
        [
            "overrides: overrides.weights: all endpoint weights would be zero; at least one must be above 0"
        ]
    );
}

#[test]
fn live_weight_updates_are_checked() {
    let s = parse("two.yaml", TWO).unwrap();
    let update = |pairs: &[(&str, f64)]| {
        let w: BTreeMap<String, f64> = pairs.iter().map(|(n, w)| (n.to_string(), *w)).collect();
        check_weights(&s, &w)
    };
    assert_eq!(update(&[]), Ok(()));
    assert_eq!(update(&[("home", 0.0), ("cart", 5.5)]), Ok(()));
    assert_eq!(update(&[("home", 0.0)]), Ok(()));
    assert_eq!(
        update(&[("hom", 1.0), ("cart", f64::INFINITY), ("home", -2.0)]),
        Err(vec![
            "weight of `cart` must be a number from 0 to 1000000000, got `inf`".to_string(),
            "unknown endpoint `hom`, did you mean `home`? (weight `1`)".to_string(),
            "weight of `home` must be a number from 0 to 1000000000, got `-2`".to_string(),
        ])
    );
    assert_eq!(
        update(&[("home", 0.0), ("cart", 0.0)]),
        Err(vec![
            "setting `cart` to 0, `home` to 0 would make all endpoint weights zero; at least one must be above 0"
                .to_string()
        ])
    );
    assert_eq!(
        update(&[("zzz", 1.0)]),
        Err(vec!["unknown endpoint `zzz` (weight `1`)".to_string()])
    );
}

/// The YAML blocks of the format reference, in order.
fn doc_examples() -> Vec<String> {
    let doc = include_str!("../../../docs/scenario-format.md");
    doc.split("```yaml\n")
        .skip(1)
        .filter_map(|block| block.split_once("```").map(|(yaml, _)| yaml.to_string()))
        .collect()
}

#[test]
fn the_reference_examples_are_valid() {
    let examples = doc_examples();
    let (smallest, complete) = (&examples[0], &examples[examples.len() - 1]);
    assert_eq!(parse("smoke.yaml", smallest).unwrap().endpoints.len(), 1);
    let s = parse("mixed.yaml", complete).unwrap();
    assert_eq!(s.endpoints.len(), 3);
    assert_eq!(s.load.stages.len(), 2);
    assert!(s.protection.circuit_breaker.is_some() && s.user_ids.is_some());
    // The section snippets are valid as parts of a scenario (with the endpoints, flow, data
    // file and CA file the examples name).
    struct Users;
    impl lt_scenario::DataFiles for Users {
        fn read(&self, file: &str) -> Result<Vec<u8>, String> {
            match file {
                "data/users.csv" => Ok(b"email,password\na@example.com,1\n".to_vec()),
                "certs/staging-ca.pem" => {
                    Ok(include_bytes!("../../../tests/e2e/tls/ca.pem").to_vec())
                }
                other => Err(format!("no {other}")),
            }
        }
    }
    let endpoints = "endpoints: [{name: n-plus-one, path: /}, {name: list-todos, path: /todos}]\n";
    let flows = "flows: [{name: todo-crud, steps: [{name: create, path: /todos}]}]\n";
    for snippet in &examples[1..examples.len() - 1] {
        let flows = if snippet.contains("flows:") {
            ""
        } else {
            flows
        };
        let text = if snippet.starts_with("endpoints:") {
            format!("name: x\ntarget: http://x\n{snippet}")
        } else if snippet.starts_with("target:") {
            format!("name: x\n{snippet}\n{endpoints}")
        } else {
            format!("name: x\ntarget: http://x\n{endpoints}{flows}{snippet}")
        };
        let inputs = lt_scenario::Inputs {
            env: &lt_scenario::Env::default(),
            files: &Users,
        };
        if let Err(e) =
            lt_scenario::parse_with("snippet.yaml", &text, &Overrides::default(), &inputs)
        {
            panic!("{snippet}\n{e}");
        }
    }
}
