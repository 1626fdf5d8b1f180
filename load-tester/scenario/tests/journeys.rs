//! Journeys: flows, captures, templates, checks and data files, read and checked with positions.

use std::collections::BTreeMap;

use lt_scenario::data::{DataFiles, MAX_DATA_BYTES, too_large};
use lt_scenario::{CaptureSource, DataMode, Env, Inputs, OnEnd, Overrides, Scenario, parse_with};

/// Data files held in memory, as a caller's reader would hand them over.
struct Files(BTreeMap<&'static str, Vec<u8>>);

impl DataFiles for Files {
    fn read(&self, file: &str) -> Result<Vec<u8>, String> {
        match self.0.get(file) {
            Some(bytes) if bytes.len() as u64 > MAX_DATA_BYTES => {
                Err(too_large(file, bytes.len() as u64))
            }
            Some(bytes) => Ok(bytes.clone()),
            None => Err(format!("data file `{file}` cannot be read: not found")),
        }
    }
}

fn files() -> Files {
    Files(BTreeMap::from([
        (
            "data/users.csv",
            b"email,password\na@example.com,one\nb@example.com,two\n".to_vec(),
        ),
        ("big.csv", vec![b'a'; 100 * 1024 * 1024]),
    ]))
}

fn env() -> Env {
    Env::from_vars([("API_TOKEN".to_string(), "s3cret".to_string())])
}

fn read(yaml: &str) -> Result<Scenario, Vec<String>> {
    parse_with(
        "j.yaml",
        yaml,
        &Overrides::default(),
        &Inputs {
            env: &env(),
            files: &files(),
        },
    )
    .map_err(|d| d.iter().map(ToString::to_string).collect())
}

#[track_caller]
fn check(yaml: &str, expected: &[&str]) {
    let actual = read(yaml).err().unwrap_or_default();
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

/// Lines 1..=5: a target and one endpoint; flows start at line 6.
const HEAD: &str = "name: j
target: http://127.0.0.1:5001
endpoints:
  - name: list-todos
    path: /api/v1/todos
";

const GOOD: &str = "data: { file: data/users.csv, mode: shared, on_end: stop_user }
cookies: true
flows:
  - name: todo-crud
    weight: 2
    think_time: { min: 200ms, max: 1s }
    steps:
      - name: create
        method: POST
        path: /api/v1/todos
        headers: { Authorization: 'Bearer {{ env.API_TOKEN }}' }
        json: { title: 'buy milk {{ uuid }}', description: 'for {{ row.email }}', n: '{{ random_int(1, 5) }}' }
        expect: [201]
        capture:
          id: { json: /id }
          created: { header: Date }
          title: { regex: '\"title\":\"([^\"]+)\"' }
      - name: read
        path: /api/v1/todos/{{ id }}
        check: { body_contains: milk, json: { /completed: false }, max_size: 10000 }
      - name: done
        method: PATCH
        path: /api/v1/todos/{{ id }}
        query: { seen: '{{ created }}' }
        headers: { X-Seen: '{{ created }}' }
        json: { completed: true, id: '{{ id }}' }
      - use: list-todos
thresholds:
  - p95 < 300ms for todo-crud/create
  - journey p95 < 2s for todo-crud
";

#[test]
fn a_journey_reads_whole() {
    let s = read(&format!("{HEAD}{GOOD}")).unwrap();
    assert!(s.cookies);
    let data = s.data.as_ref().unwrap();
    assert_eq!(
        (data.mode, data.on_end, data.rows),
        (DataMode::Shared, OnEnd::StopUser, 2)
    );
    assert_eq!(data.columns, ["email", "password"]);
    let flow = &s.flows[0];
    assert_eq!((flow.name.as_str(), flow.weight), ("todo-crud", 2.0));
    let names: Vec<&str> = flow.steps.iter().map(|s| s.request.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "todo-crud/create",
            "todo-crud/read",
            "todo-crud/done",
            "todo-crud/list-todos"
        ]
    );
    assert_eq!(flow.steps[3].uses.as_deref(), Some("list-todos"));
    assert_eq!(flow.steps[3].request.path, "/api/v1/todos");
    assert_eq!(
        flow.steps[0].capture[0].from,
        CaptureSource::Json("/id".into())
    );
    assert_eq!(s.choices(), [("list-todos", 1.0), ("todo-crud", 2.0)]);
    assert_eq!(s.requests().count(), 5);
    assert!(s.thresholds[1].journey);
    // The environment's values are kept beside the scenario, never in its serialized form.
    assert_eq!(s.env.0.get("API_TOKEN"), Some("s3cret"));
    let json = serde_json::to_string(&s).unwrap();
    assert!(!json.contains("s3cret"), "{json}");
    assert!(!json.contains("a@example.com"), "{json}");
    assert!(!format!("{s:?}").contains("s3cret"));
}

#[test]
fn invalid_journeys_get_positioned_diagnostics() {
    let flow = |steps: &str| format!("{HEAD}flows:\n  - name: f\n    steps:\n{steps}");
    // Steps start at line 9.
    for (yaml, expected) in [
        (
            flow("      - name: a\n        path: /a/{{ idd }}\n"),
            vec![
                "j.yaml:10:15: flows[0].steps[0].path: `{{ idd }}` names nothing: nothing is captured before this point (a step's `capture:` makes names for the steps after it; built-ins are user_id, session_id, iteration, uuid, now_ms, random_int, random_choice)",
            ],
        ),
        (
            flow(
                "      - name: a\n        path: /a\n        capture: { idd: { json: /id } }\n      - name: b\n        path: /b/{{ id }}\n",
            ),
            vec![
                "j.yaml:13:15: flows[0].steps[1].path: `{{ id }}` names nothing: it is not captured by an earlier step of this flow, did you mean `idd`? (a step's `capture:` makes names for the steps after it; built-ins are user_id, session_id, iteration, uuid, now_ms, random_int, random_choice)",
            ],
        ),
        (
            flow(
                "      - name: a\n        path: /a\n        capture: { id: { json: /id } }\n        headers: { X: '{{ id }}' }\n",
            ),
            vec![
                "j.yaml:12:23: flows[0].steps[0].headers.X: `{{ id }}` names nothing: nothing is captured before this point (a step's `capture:` makes names for the steps after it; built-ins are user_id, session_id, iteration, uuid, now_ms, random_int, random_choice)",
            ],
        ),
        (
            flow("      - name: a\n        path: /a\n      - name: a\n        path: /b\n"),
            vec![
                "j.yaml:11:15: flows[0].steps[1].name: duplicate step name `a` in this flow (first defined at line 9)",
            ],
        ),
        (
            flow("      - use: lst-todos\n"),
            vec![
                "j.yaml:9:14: flows[0].steps[0].use: `use` names unknown endpoint `lst-todos`, did you mean `list-todos`?",
            ],
        ),
        (
            flow("      - use: list-todos\n        path: /x\n"),
            vec![
                "j.yaml:10:15: flows[0].steps[0].path: a `use:` step sends the endpoint's request as it is; remove `path`, or write the request here instead of `use`",
            ],
        ),
        (
            flow("      - name: a\n        path: /a\n        capture: { id: {} }\n"),
            vec![
                "j.yaml:11:20: flows[0].steps[0].capture.id: a capture needs its source: `json: /pointer`, `header: Name` or `regex: '…(group)…'`",
            ],
        ),
        (
            flow("      - name: a\n        path: /a\n        capture: { id: { json: data/id } }\n"),
            vec![
                "j.yaml:11:32: flows[0].steps[0].capture.id.json: `data/id` is not a JSON Pointer: it must start with `/`, such as `/data/id`",
            ],
        ),
        (
            flow(
                "      - name: a\n        path: /a\n        capture: { id: { regex: 'id=\\d+' } }\n",
            ),
            vec![
                "j.yaml:11:33: flows[0].steps[0].capture.id.regex: regex `id=\\d+` must have exactly one group `( … )` (the value captured), it has 0",
            ],
        ),
        (
            flow("      - name: a\n        path: /a/{{ row.email }}\n"),
            vec![
                "j.yaml:10:15: flows[0].steps[0].path: `{{ row.email }}` reads the data file, but the scenario has no `data:`; add `data: { file: users.csv }`",
            ],
        ),
        (
            format!(
                "data: {{ file: data/users.csv }}\n{}",
                flow("      - name: a\n        path: /a/{{ row.mail }}\n")
            ),
            vec![
                "j.yaml:11:15: flows[0].steps[0].path: `{{ row.mail }}`: the data file has no column `mail`, did you mean `email`?; its columns are `email`, `password`",
            ],
        ),
        (
            format!(
                "data: {{ file: data/missing.csv }}\n{}",
                flow("      - name: a\n        path: /a\n")
            ),
            vec!["j.yaml:1:15: data.file: data file `data/missing.csv` cannot be read: not found"],
        ),
        (
            format!(
                "data: {{ file: big.csv }}\n{}",
                flow("      - name: a\n        path: /a\n")
            ),
            vec![
                "j.yaml:1:15: data.file: data file `big.csv` is 100.0 MiB (104857600 bytes); the limit is 50.0 MiB (52428800 bytes): use a smaller sample of rows",
            ],
        ),
        (
            flow(
                "      - name: a\n        path: /a\n        headers: { Authorization: 'Bearer {{ env.NO_SUCH }}' }\n",
            ),
            vec![
                "j.yaml:11:35: flows[0].steps[0].headers.Authorization: `{{ env.NO_SUCH }}`: the environment variable `NO_SUCH` is not set and the template has no default; set it, or write `{{ env.NO_SUCH | default('value') }}`",
            ],
        ),
        (
            flow("      - name: a\n        path: /a\n        check: { json: { status: ok } }\n"),
            vec![
                "j.yaml:11:26: flows[0].steps[0].check.json.status: `status` is not a JSON Pointer: it must start with `/`, such as `/data/id`",
            ],
        ),
        (
            format!(
                "{HEAD}flows:\n  - name: list-todos\n    steps:\n      - name: a\n        path: /a\n"
            ),
            vec![
                "j.yaml:7:11: flows[0].name: flow name `list-todos` is also an endpoint's; endpoints and flows share one list of names (weights, thresholds)",
            ],
        ),
        (
            format!(
                "{}thresholds:\n  - p95 < 1s for f/b\n  - journey p95 < 1s for g\n  - p95 < 1s for f\n",
                flow("      - name: a\n        path: /a\n")
            ),
            vec![
                "j.yaml:12:5: thresholds[0]: threshold names unknown endpoint `f/b`, did you mean `f/a`?",
                "j.yaml:13:5: thresholds[1]: threshold names unknown flow `g`, did you mean `f`?",
                "j.yaml:14:5: thresholds[2]: threshold names unknown endpoint `f` (`f` is a flow: write `journey p95 < 1s for f` for its journeys, or name a step `f/STEP`)",
            ],
        ),
    ] {
        check(&yaml, &expected);
    }
}
