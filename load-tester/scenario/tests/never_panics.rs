//! No input makes the parser panic: arbitrary text, YAML-ish garbage, mutations of a valid
//! scenario, pathological nesting, and very large files, which also stay fast.

use std::fmt::Write as _;
use std::time::Instant;

use lt_scenario::{Diagnostics, parse};
use proptest::prelude::*;

const VALID: &str = r#"name: mixed
description: A weighted mix
target: http://127.0.0.1:5001/
load:
  users: 10
  max_users: 50
  ramp_up: 5s
  duration: 30m
  think_time: { min: 500ms, max: 2s }
  rate: 500
  stages:
    - { users: 5, duration: 1m }
endpoints:
  - name: n-plus-one
    method: GET
    path: /performance/n-plus-one
    query: { limit: 20 }
    headers: { X-Demo: "1" }
    timeout: 10s
    weight: 3
    expect: [200, 404]
  - name: order
    method: POST
    path: /orders
    json: { item: 7, tags: [a, b], note: null }
    weight: 0.5
protection:
  circuit_breaker: { consecutive_failures: 3, scope: global }
  backoff:
  load_reduction: { error_rate: 0.25 }
  max_errors_per_minute: off
thresholds:
  - "p95 < 500ms"
  - "error_rate < 1%"
  - "p99 < 2s for n-plus-one"
user_ids: { from: 1, to: 1000, json_field: user_id }
tracing: { enabled: true, slow: 1s }
"#;

/// Parses, and checks the shape of the answer: a scenario, or at least one diagnostic, each
/// positioned on a real line or explicitly unpositioned.
fn parse_checked(text: &str) -> Result<(), Diagnostics> {
    // Showing any text with its secrets masked never panics either.
    let _ = lt_scenario::redact::mask_secrets(text);
    match parse("fuzz.yaml", text) {
        Ok(_) => Ok(()),
        Err(d) => {
            assert!(!d.is_empty(), "an error without diagnostics for {text:?}");
            for diag in d.iter() {
                assert!(
                    diag.line >= 1 || (diag.line == 0 && diag.column == 0),
                    "bad position in {diag} for {text:?}"
                );
                assert!(!diag.message.is_empty());
            }
            Err(d)
        }
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize),
    Duplicate(usize),
    Replace(usize, char),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let chars = prop::sample::select(vec![
        ' ', '\t', '\n', ':', '-', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"',
        '%', '@', '`', ',', '?', '0', '9', 'x', '.', '~', 'é', '\u{feff}',
    ]);
    prop_oneof![
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Duplicate),
        (any::<usize>(), chars).prop_map(|(at, c)| Mutation::Replace(at, c)),
    ]
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for m in mutations {
        if lines.is_empty() {
            break;
        }
        match *m {
            Mutation::Delete(i) => {
                lines.remove(i % lines.len());
            }
            Mutation::Duplicate(i) => {
                let line = lines[i % lines.len()].clone();
                lines.insert(i % lines.len(), line);
            }
            Mutation::Replace(at, c) => {
                let i = at % lines.len();
                let mut chars: Vec<char> = lines[i].chars().collect();
                if !chars.is_empty() {
                    let j = (at / lines.len()) % chars.len();
                    chars[j] = c;
                }
                lines[i] = chars.into_iter().collect();
            }
        }
    }
    lines.join("\n")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = parse_checked(&text);
    }

    #[test]
    fn yaml_like_garbage_never_panics(text in "[ \t\n:\\-\\[\\]{}#&*!|>'\"%@`,?a-z0-9._~]{0,300}") {
        let _ = parse_checked(&text);
    }

    #[test]
    fn mutated_scenarios_never_panic(mutations in prop::collection::vec(mutation(), 1..8)) {
        let _ = parse_checked(&mutate(VALID, &mutations));
    }

    #[test]
    fn any_scalar_in_any_field_never_panics(
        line in 0usize..46,
        value in prop_oneof![
            Just("-1".to_string()), Just("1e400".to_string()), Just(".nan".to_string()),
            Just("-.inf".to_string()), Just("99999999999999999999999999999999999999999".to_string()),
            Just("0".to_string()), Just("~".to_string()), Just("[]".to_string()), Just("{}".to_string()),
            Just("\"\"".to_string()), Just("0x7fffffffffffffffffffffffffffffff".to_string()),
            Just("18446744073709551615".to_string()), Just("1e-300".to_string()),
            Just("999999999h".to_string()), Just("off".to_string()), Just("true".to_string()),
            "[a-z0-9.%<> ]{0,12}",
        ],
    ) {
        // Put the value after the first `: ` of the line.
        let text: Vec<String> = VALID
            .lines()
            .enumerate()
            .map(|(i, l)| match l.split_once(": ") {
                Some((k, _)) if i == line => format!("{k}: {value}"),
                _ => l.to_string(),
            })
            .collect();
        let _ = parse_checked(&text.join("\n"));
    }
}

#[test]
fn the_valid_scenario_is_valid() {
    assert_eq!(parse_checked(VALID), Ok(()));
}

#[test]
fn pathological_nesting_is_refused_not_overflowed() {
    let texts = [
        format!("name:\n{}x\n", "- ".repeat(20_000)),
        format!("name: {}x{}\n", "[".repeat(20_000), "]".repeat(20_000)),
        format!("name: {}\n", "{a: ".repeat(20_000)),
        format!(
            "endpoints:\n  - json: {}1{}\n",
            "[".repeat(250),
            "]".repeat(250)
        ),
        format!("a:\n{}b: 1\n", " ".repeat(100_000)),
        "? ".repeat(20_000),
        ": ".repeat(20_000),
    ];
    for text in &texts {
        let _ = parse_checked(text);
    }
}

#[test]
fn huge_numbers_and_long_names_are_named_not_fatal() {
    let long = "x".repeat(100_000);
    let text = format!(
        "name: {long}\ntarget: http://{long}\nload:\n  users: {}\nendpoints:\n  - name: {long}\n    path: /{long}\n    weight: 1e308\n  - name: b\n    path: /\n    weight: 1e308\nthresholds:\n  - p95 < 1s for {long}x\n{long}: 1\n",
        "9".repeat(5000)
    );
    let diags = parse_checked(&text).unwrap_err();
    assert!(diags.iter().all(|d| d.message.len() < 1000), "{diags}");
}

/// A valid scenario with `n` endpoints, four lines each.
fn many_endpoints(n: usize, bad: bool) -> String {
    let mut text = String::from("name: big\ntarget: http://127.0.0.1:5001\nendpoints:\n");
    for i in 0..n {
        let weight = if bad { "-1" } else { "1" };
        let _ = write!(
            text,
            "  - name: endpoint-{i}\n    path: /items/{i}\n    weight: {weight}\n    timeout: 5s\n"
        );
    }
    text
}

#[test]
fn a_ten_thousand_line_file_parses_quickly() {
    let text = many_endpoints(2500, false);
    assert!(text.lines().count() >= 10_000);
    let started = Instant::now();
    let scenario = parse("big.yaml", &text).unwrap();
    assert_eq!(scenario.endpoints.len(), 2500);
    assert!(
        started.elapsed().as_secs() < 10,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn an_error_in_every_endpoint_of_a_huge_file_is_reported() {
    let text = many_endpoints(2500, true);
    let started = Instant::now();
    let diags = parse("big.yaml", &text).unwrap_err();
    assert_eq!(diags.len(), 2500);
    for (i, d) in diags.iter().enumerate() {
        assert_eq!(d.line, 4 + 4 * i + 2);
        assert_eq!(d.path, format!("endpoints[{i}].weight"));
    }
    assert!(
        started.elapsed().as_secs() < 10,
        "took {:?}",
        started.elapsed()
    );
}
