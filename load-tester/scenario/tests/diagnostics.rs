//! Bad scenarios and the exact diagnostics they get: every problem, in file order, with its
//! position, field path and a message naming the bad value.

use lt_scenario::parse;

/// Parses `yaml` as `file.yaml` and compares the full list of diagnostics.
#[track_caller]
fn check(yaml: &str, expected: &[&str]) {
    let actual: Vec<String> = match parse("file.yaml", yaml) {
        Ok(_) => Vec::new(),
        Err(d) => d.iter().map(ToString::to_string).collect(),
    };
    assert_eq!(
        actual,
        expected,
        "\nactual:\n{}\n",
        actual
            .iter()
            .map(|a| format!("            {a:?},"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The valid [`BASE`] scenario with `extra` lines after it (from line 7).
fn with(extra: &str) -> String {
    format!("{BASE}{extra}")
}

/// Lines 1..=6; endpoints start at line 4.
const BASE: &str = "name: base
target: http://127.0.0.1:5001
endpoints:
  - name: home
    path: /
    weight: 1
";

#[test]
fn base_is_valid() {
    check(BASE, &[]);
}

#[test]
fn unknown_fields_suggest_the_closest_name() {
    check(
        &with("thresolds: []\n"),
        &["file.yaml:7:1: thresolds: unknown field `thresolds`, did you mean `thresholds`?"],
    );
    check(
        &with("load:\n  thnk_time: 1s\n"),
        &["file.yaml:8:3: load.thnk_time: unknown field `thnk_time`, did you mean `think_time`?"],
    );
    check(
        &with("  - name: cart\n    path: /cart\n    wieght: 2\n"),
        &["file.yaml:9:5: endpoints[1].wieght: unknown field `wieght`, did you mean `weight`?"],
    );
    check(
        &with("protection:\n  backof: {}\n"),
        &["file.yaml:8:3: protection.backof: unknown field `backof`, did you mean `backoff`?"],
    );
    check(
        &with("protection:\n  circuit_breaker: { open: 1s }\n"),
        &[
            "file.yaml:8:22: protection.circuit_breaker.open: unknown field `open`; expected one of `consecutive_failures`, `failure_ratio`, `window`, `min_requests`, `open_for`, `half_open_probes`, `scope`",
        ],
    );
    check(
        "colour: red\nname: x\ntarget: http://x\nendpoints: [{name: a, path: /}]\n",
        &[
            "file.yaml:1:1: colour: unknown field `colour`; expected one of `name`, `description`, `target`, `load`, `data`, `cookies`, `endpoints`, `flows`, `protection`, `thresholds`, `user_ids`, `tracing`, `latency`, `tls`",
        ],
    );
}

#[test]
fn load_values() {
    check(
        &with("load:\n  users: 4\n  generators: 0\n"),
        &["file.yaml:9:15: load.generators: generators must be at least 1, got `0`"],
    );
    check(
        &with("load:\n  users: 4\n  generators: 5000\n"),
        &["file.yaml:9:15: load.generators: generators must be at most 1000, got `5000`"],
    );
    check(
        &with("load:\n  users: 2\n  generators: 3\n"),
        &[
            "file.yaml:9:15: load.generators: generators (`3`) is more than max_users (`2`): every generator needs at least one user",
        ],
    );
    check(&with("load:\n  users: 3\n  generators: 3\n"), &[]);
    check(
        &with("load:\n  users: -3\n"),
        &["file.yaml:8:10: load.users: users must be at least 1, got `-3`"],
    );
    check(
        &with("load:\n  users: 0\n"),
        &["file.yaml:8:10: load.users: users must be at least 1, got `0`"],
    );
    check(
        &with("load:\n  users: ten\n"),
        &["file.yaml:8:10: load.users: expected an integer, got `ten`"],
    );
    check(
        &with("load:\n  users: \"10\"\n"),
        &[
            "file.yaml:8:10: load.users: expected an integer, got the quoted text `\"10\"`; remove the quotes",
        ],
    );
    check(
        &with("load:\n  users: 99999999999\n"),
        &["file.yaml:8:10: load.users: users must be at most 4294967295, got `99999999999`"],
    );
    check(
        &with("load:\n  think_time: { min: 5s, max: 1s }\n"),
        &["file.yaml:8:22: load.think_time.min: min (`5s`) is greater than max (`1s`)"],
    );
    check(
        &with("load:\n  duration: fast\n  ramp_up: 5\n  think_time: { min: 1x }\n"),
        &[
            "file.yaml:8:13: load.duration: expected a duration such as 500ms, 2s, 5m or 1h, got `fast`",
            "file.yaml:9:12: load.ramp_up: `5` has no unit: write 5ms, 5s, 5m or 5h",
            "file.yaml:10:22: load.think_time.min: `1x` has an unknown unit `x`: use ms, s, m or h",
        ],
    );
    check(
        &with("load:\n  ramp_up: 5s\n  increase_rate: 2\n"),
        &["file.yaml:9:18: load.increase_rate: set either `ramp_up` or `increase_rate`, not both"],
    );
    check(
        &with("load:\n  ramp_up: 10m\n  duration: 5m\n"),
        &["file.yaml:8:12: load.ramp_up: ramp_up (`10m`) must be shorter than duration (`5m`)"],
    );
    check(
        &with("load:\n  users: 100\n  increase_rate: 0.1\n  duration: 10m\n"),
        &[
            "file.yaml:9:18: load.increase_rate: starting 100 users at 0.1 per second takes 16m40s, which is not shorter than duration (`10m`)",
        ],
    );
    check(
        &with("load:\n  users: 10\n  max_users: 5\n"),
        &["file.yaml:9:14: load.max_users: max_users (`5`) is less than users (`10`)"],
    );
    check(
        &with(
            "load:\n  duration: 2m\n  max_users: 10\n  stages:\n    - { users: 20, duration: 1m }\n    - { users: 5, duration: 30s }\n",
        ),
        &["file.yaml:11:16: load.stages[0].users: users (`20`) is above max_users (`10`)"],
    );
    check(
        &with(
            "load:\n  stages:\n    - { users: 0, duration: 0s }\n    - { duration: 1m }\n    - 5\n",
        ),
        &[
            "file.yaml:9:16: load.stages[0].users: users must be at least 1, got `0`",
            "file.yaml:9:29: load.stages[0].duration: duration must be longer than 0, got `0s`",
            "file.yaml:10:7: load.stages[1]: missing required field `users`",
            "file.yaml:11:7: load.stages[2]: expected a mapping, got `5`",
        ],
    );
    check(
        &with(
            "load:\n  duration: 2m\n  stages:\n    - { users: 20, duration: 1m }\n    - { users: 5, duration: 90s }\n",
        ),
        &["file.yaml:10:5: load.stages: the stages add up to 2m30s, longer than duration (`2m`)"],
    );
    check(
        &with("load:\n  arrival_rate: 0\n  rate: -1\n"),
        &[
            "file.yaml:8:17: load.arrival_rate: arrival_rate must be above 0, got `0`",
            "file.yaml:9:9: load.rate: rate must be above 0, got `-1`",
        ],
    );
    check(
        &with("load: [1, 2]\n"),
        &["file.yaml:7:7: load: expected a mapping, got a sequence"],
    );
}

/// A scenario whose `endpoints` list is `endpoints` (starting at line 4).
fn endpoints(endpoints: &str) -> String {
    format!("name: e\ntarget: http://x\nendpoints:\n{endpoints}")
}

#[test]
fn endpoint_values() {
    check(
        &endpoints("  - { name: a, path: /, weight: 0 }\n  - { name: b, path: /b, weight: 0 }\n"),
        &["file.yaml:4:3: endpoints: all endpoint weights are zero; at least one must be above 0"],
    );
    check(
        &endpoints(
            "  - { name: a, path: /, weight: -1 }\n  - { name: b, path: /b, weight: .inf }\n",
        ),
        &[
            "file.yaml:4:33: endpoints[0].weight: weight must be at least 0, got `-1`",
            "file.yaml:5:34: endpoints[1].weight: weight must be a finite number, got `.inf`",
        ],
    );
    check(
        &endpoints(
            "  - name: home\n    path: /\n  - name: cart\n    path: /c\n  - name: home\n    path: /h\n",
        ),
        &[
            "file.yaml:8:11: endpoints[2].name: duplicate endpoint name `home` (first defined at line 4)",
        ],
    );
    check(
        &endpoints("  - name: a\n    method: TRACE\n    path: /\n"),
        &[
            "file.yaml:5:13: endpoints[0].method: method `TRACE` is not supported; use one of GET, POST, PUT, PATCH, DELETE, HEAD",
        ],
    );
    check(
        &endpoints("  - name: a\n    method: get\n"),
        &["file.yaml:4:5: endpoints[0]: missing required field `path`"],
    );
    check(
        &endpoints("  - path: /\n  - name: \"\"\n    path: /x\n"),
        &[
            "file.yaml:4:5: endpoints[0]: missing required field `name`",
            "file.yaml:5:11: endpoints[1].name: name must not be empty",
        ],
    );
    check(
        &endpoints("  - name: a\n    path: users/1\n  - name: b\n    path: ftp://x/y\n"),
        &[
            "file.yaml:5:11: endpoints[0].path: path `users/1` must start with `/` (or be an absolute http(s) URL)",
            "file.yaml:7:11: endpoints[1].path: path `ftp://x/y` must start with `/` (or be an absolute http(s) URL)",
        ],
    );
    check(
        &endpoints(
            "  - name: a\n    path: /\n    expect: [200, 700, ok]\n  - name: b\n    path: /\n    expect: []\n",
        ),
        &[
            "file.yaml:6:19: endpoints[0].expect[1]: status `700` is not an HTTP status code (100 to 599)",
            "file.yaml:6:24: endpoints[0].expect[2]: expected an integer, got `ok`",
            "file.yaml:9:13: endpoints[1].expect: expect must list at least one status code, such as [200]",
        ],
    );
    check(
        &endpoints("  - name: a\n    path: /\n    json: { a: 1 }\n    body: text\n"),
        &["file.yaml:7:11: endpoints[0].body: set either `json` or `body`, not both"],
    );
    check(
        &endpoints(
            "  - name: a\n    path: /\n    timeout: 0s\n    headers: { Bad Name: x, X-Ok: [1] }\n    query: { q: { deep: 1 } }\n",
        ),
        &[
            "file.yaml:6:14: endpoints[0].timeout: timeout must be longer than 0, got `0s`",
            "file.yaml:7:16: endpoints[0].headers.Bad Name: `Bad Name` is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)",
            "file.yaml:7:35: endpoints[0].headers.X-Ok: expected a text or number value, got a sequence",
            "file.yaml:8:17: endpoints[0].query.q: expected a text or number value, got a mapping",
        ],
    );
    check(
        &endpoints("  - name: a\n    path: /\n    json: { n: .nan }\n"),
        &[
            "file.yaml:6:16: endpoints[0].json.n: JSON has no value for `.nan`; quote it to send text",
        ],
    );
    check(
        "name: e\ntarget: http://x\nendpoints: []\n",
        &["file.yaml:3:12: endpoints: `endpoints` is empty; list at least one endpoint"],
    );
    check(
        "name: e\ntarget: http://x\nendpoints:\n  home: /\n",
        &["file.yaml:4:3: endpoints: expected a sequence, got a mapping"],
    );
    check(
        &endpoints("  - /home\n"),
        &["file.yaml:4:5: endpoints[0]: expected a mapping, got `/home`"],
    );
}

#[test]
fn top_level_values() {
    check(
        "name: x\ntarget: ftp://x\nendpoints: [{name: a, path: /}]\n",
        &["file.yaml:2:9: target: `ftp://x` is not an http(s) URL"],
    );
    check(
        "name: x\ntarget: http://x/?a=1\nendpoints: [{name: a, path: /}]\n",
        &[
            "file.yaml:2:9: target: `http://x/?a=1` must not have a query or fragment; put them on the endpoints",
        ],
    );
    check(
        "name: x\nendpoints: [{name: a, path: /}]\n",
        &["file.yaml:1:1: target: missing; set it in the file, with --target or TARGET_APP_URL"],
    );
    check(
        "description: d\n",
        &[
            "file.yaml:1:1: missing required field `name`",
            "file.yaml:1:1: target: missing; set it in the file, with --target or TARGET_APP_URL",
            "file.yaml:1:1: missing required field `endpoints` (or `flows`)",
        ],
    );
    check(
        "name:\ntarget: http://x\nendpoints: [{name: a, path: /}]\n",
        &["file.yaml:1:1: name: expected text, got nothing"],
    );
}

#[test]
fn protection_values() {
    check(
        &with("protection:\n  max_errors_per_minute: 0\n"),
        &[
            "file.yaml:8:26: protection.max_errors_per_minute: max_errors_per_minute must be at least 1, got `0`",
        ],
    );
    check(
        &with(
            "protection:\n  circuit_breaker: { failure_ratio: 1.5, open_for: soon, scope: all }\n  backoff: { initial: 5s, max: 1s, multiplier: 0.5 }\n  load_reduction: { reduce_by: 1, min_users: 0 }\n",
        ),
        &[
            "file.yaml:8:37: protection.circuit_breaker.failure_ratio: failure_ratio must be at most 1, got `1.5`",
            "file.yaml:8:52: protection.circuit_breaker.open_for: expected a duration such as 500ms, 2s, 5m or 1h, got `soon`",
            "file.yaml:8:65: protection.circuit_breaker.scope: scope `all` is not known; use `endpoint` or `global`",
            "file.yaml:9:23: protection.backoff.initial: initial (`5s`) is greater than max (`1s`)",
            "file.yaml:9:48: protection.backoff.multiplier: multiplier must be at least 1, got `0.5`",
            "file.yaml:10:32: protection.load_reduction.reduce_by: reduce_by must be below 1, got `1`",
            "file.yaml:10:46: protection.load_reduction.min_users: min_users must be at least 1, got `0`",
        ],
    );
    check(
        &with("protection:\n  backoff: sometimes\n"),
        &[
            "file.yaml:8:12: protection.backoff: expected a mapping, `off` or nothing (for the defaults), got `sometimes`",
        ],
    );
}

#[test]
fn thresholds_and_user_ids() {
    check(
        &with("thresholds:\n  - \"p95 <\"\n  - p95 < 1s for hme\n  - { p95: 1s }\n"),
        &[
            "file.yaml:8:5: thresholds[0]: expected a value after `<`",
            "file.yaml:9:5: thresholds[1]: threshold names unknown endpoint `hme`, did you mean `home`?",
            "file.yaml:10:5: thresholds[2]: expected a rule such as \"p95 < 500ms\", got a mapping",
        ],
    );
    check(
        &with("thresholds:\n  - latency < 1s\n"),
        &[
            "file.yaml:8:5: thresholds[0]: unknown metric `latency`; use one of p50, p90, p95, p99, max, avg, error_rate, rps, dropped",
        ],
    );
    check(
        &with("user_ids: { from: 10, to: 1, header: \"X Id\" }\n"),
        &[
            "file.yaml:7:19: user_ids.from: from (`10`) is greater than to (`1`)",
            "file.yaml:7:38: user_ids.header: `X Id` is not a valid header name",
        ],
    );
    check(
        &with("user_ids: { list: [], from: 1 }\ntracing: { enabled: yes }\n"),
        &[
            "file.yaml:7:19: user_ids.list: set either `from`/`to` or `list`, not both",
            "file.yaml:8:21: tracing.enabled: expected true or false, got `yes`",
        ],
    );
}

#[test]
fn yaml_problems() {
    check(
        "",
        &[
            "file.yaml: the file is empty; a scenario needs at least `name`, `target` and `endpoints`",
        ],
    );
    check(
        "# nothing yet\n---\n",
        &[
            "file.yaml: the file is empty; a scenario needs at least `name`, `target` and `endpoints`",
        ],
    );
    check(
        "- name: x\n",
        &[
            "file.yaml:1:1: expected a mapping of fields (`name: ...`) at the top level, got a sequence",
        ],
    );
    check(
        "just text\n",
        &[
            "file.yaml:1:1: expected a mapping of fields (`name: ...`) at the top level, got a single value",
        ],
    );
    check(
        "name: x\ntarget: [http://x\n",
        &["file.yaml:3:1: invalid YAML: while parsing a flow sequence, expected ',' or ']'"],
    );
    check(
        "name: x\nload:\n\tusers: 1\n",
        &["file.yaml:3:2: invalid YAML: tabs disallowed within this context (block indentation)"],
    );
    check(
        "name: x\ntarget: http://x\nendpoints: [{name: a, path: /}]\nload:\n  users: 1\n  users: 2\n",
        &["file.yaml:6:3: load.users: duplicate key `users` (first defined at line 5)"],
    );
    check(
        "name: &n x\n",
        &[
            "file.yaml:1:10: anchors and aliases (`&name`, `*name`) are not supported; write the value out",
        ],
    );
    check(
        "name: !!str x\n",
        &["file.yaml:1:13: YAML tags such as `!!str` are not supported; quote the value instead"],
    );
    check(
        "\u{feff}name: x\ntarget: http://x\nendpoints: [{name: a, path: /, wieght: 1}]\n",
        &["file.yaml:3:32: endpoints[0].wieght: unknown field `wieght`, did you mean `weight`?"],
    );
}

#[test]
fn every_problem_is_reported_together_in_file_order() {
    check(
        "name: mixed
target: ftp://x
load:
  users: -3
  think_time: { min: 5s, max: 1s }
  thnk_time: 2s
endpoints:
  - name: home
    path: /
    weight: 0
    method: TRACE
  - name: home
    path: nope
    weight: 0
protection:
  max_errors_per_minute: 0
thresholds:
  - p95 < 1s for hom
  - p95 < fast
name: again
",
        &[
            "file.yaml:2:9: target: `ftp://x` is not an http(s) URL",
            "file.yaml:4:10: load.users: users must be at least 1, got `-3`",
            "file.yaml:5:22: load.think_time.min: min (`5s`) is greater than max (`1s`)",
            "file.yaml:6:3: load.thnk_time: unknown field `thnk_time`, did you mean `think_time`?",
            "file.yaml:8:3: endpoints: all endpoint weights are zero; at least one must be above 0",
            "file.yaml:11:13: endpoints[0].method: method `TRACE` is not supported; use one of GET, POST, PUT, PATCH, DELETE, HEAD",
            "file.yaml:12:11: endpoints[1].name: duplicate endpoint name `home` (first defined at line 8)",
            "file.yaml:13:11: endpoints[1].path: path `nope` must start with `/` (or be an absolute http(s) URL)",
            "file.yaml:16:26: protection.max_errors_per_minute: max_errors_per_minute must be at least 1, got `0`",
            "file.yaml:18:5: thresholds[0]: threshold names unknown endpoint `hom`, did you mean `home`?",
            "file.yaml:19:5: thresholds[1]: expected a duration such as 500ms, 2s, 5m or 1h, got `fast`",
            "file.yaml:20:1: name: duplicate key `name` (first defined at line 1)",
        ],
    );
}
