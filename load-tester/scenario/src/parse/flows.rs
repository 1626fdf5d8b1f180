//! The `flows` list: journeys of steps. Each step is a request (the endpoint fields) or `use:` of
//! an endpoint, with `capture:` of values for the steps after it; templates are checked against
//! the captures of earlier steps only.

use std::collections::{BTreeMap, HashMap};

use marked_yaml::Node;

use super::endpoints::MAX_WEIGHT;
use super::reader::{Item, Map, Pos, Reader, describe, shorten};
use super::request::{self, Context, REQUEST_FIELDS, check_pointer, is_header_name};
use super::suggest;
use super::templates::{EnvUsed, Scope};
use crate::template::{BUILTINS, is_identifier};
use crate::{Capture, CaptureSource, Endpoint, Flow, Step, row_name};

const FLOW_FIELDS: &[&str] = &[
    "name",
    "weight",
    "think_time",
    "cookies",
    "steps",
    "description",
];
const STEP_FIELDS: &[&str] = &["name", "use", "capture", "description"];

/// What was read, as for endpoints: the flows if all are valid, their names, the names of their
/// steps' figures (`flow/step`), and whether every weight read is 0.
#[derive(Debug, Default)]
pub(crate) struct Flows {
    pub list: Option<Vec<Flow>>,
    pub names: Vec<String>,
    pub rows: Vec<String>,
    pub all_zero: bool,
}

/// What the flows are read against.
pub(crate) struct Known<'a> {
    /// Endpoint names read (flow names must differ), and the endpoints when all were valid.
    pub endpoint_names: &'a [String],
    pub endpoints: Option<&'a [Endpoint]>,
    /// Override weights by name.
    pub weights: Option<&'a BTreeMap<String, f64>>,
}

/// Reads `flows` of the top-level mapping.
pub(crate) fn read(
    r: &mut Reader,
    top: &Map<'_>,
    known: &Known<'_>,
    base: &Scope<'_>,
    used: &mut EnvUsed,
) -> Flows {
    let mut out = Flows {
        list: Some(Vec::new()),
        all_zero: true,
        ..Flows::default()
    };
    let Some(item) = top.value("flows") else {
        return out;
    };
    let Some(seq) = r.seq(&item) else {
        out.list = None;
        return out;
    };
    let mut first_line: HashMap<String, usize> = HashMap::new();
    for flow_item in &seq {
        let flow = read_flow(r, flow_item, known, base, used, &mut first_line, &mut out);
        out.list = out.list.zip(flow).map(|(mut v, f)| {
            v.push(f);
            v
        });
    }
    out
}

fn read_flow(
    r: &mut Reader,
    item: &Item<'_>,
    known: &Known<'_>,
    base: &Scope<'_>,
    used: &mut EnvUsed,
    first_line: &mut HashMap<String, usize>,
    out: &mut Flows,
) -> Option<Flow> {
    let errors_before = r.count();
    let map = r.map(item, FLOW_FIELDS)?;
    let name = match map.get("name") {
        None => {
            r.error(map.pos, &map.path, "missing required field `name`");
            None
        }
        Some(i) => r
            .nonempty_text(&i)
            .and_then(|name| unique_name(r, &i, name, known.endpoint_names, first_line)),
    };
    if let Some(n) = &name {
        out.names.push(n.clone());
    }
    let override_weight = name
        .as_ref()
        .and_then(|n| known.weights.and_then(|w| w.get(n)).copied());
    let weight = match (override_weight, map.value("weight")) {
        (Some(w), _) => Some(w),
        (None, Some(i)) => r.number_in(&i, 0.0, false, MAX_WEIGHT, false),
        (None, None) => Some(1.0),
    };
    out.all_zero &= weight == Some(0.0);
    let think_time = match map.value("think_time") {
        Some(i) => super::load::read_think_time(r, &i).map(Some),
        None => Some(None),
    };
    let cookies = match map.value("cookies") {
        Some(i) => r.bool(&i),
        None => Some(false),
    };
    let description = match map.value("description") {
        Some(i) => r.text(&i).map(Some),
        None => Some(None),
    };
    let steps = match map.get("steps") {
        None => {
            r.error(map.pos, &map.path, "missing required field `steps`");
            None
        }
        Some(i) => read_steps(r, &i, name.as_deref(), known, base, used, out),
    };
    if r.count() > errors_before {
        return None;
    }
    Some(Flow {
        name: name?,
        weight: weight?,
        think_time: think_time?,
        cookies: cookies?,
        steps: steps?,
        description: description?,
    })
}

/// A flow name: not an endpoint's, not another flow's, without `/` (it separates flow and step
/// in figures).
fn unique_name(
    r: &mut Reader,
    item: &Item<'_>,
    name: String,
    endpoints: &[String],
    first_line: &mut HashMap<String, usize>,
) -> Option<String> {
    let problem = if name.contains('/') {
        Some(format!(
            "flow name `{}` must not contain `/` (figures name steps `flow/step`)",
            shorten(&name)
        ))
    } else if endpoints.contains(&name) {
        Some(format!(
            "flow name `{}` is also an endpoint's; endpoints and flows share one list of names (weights, thresholds)",
            shorten(&name)
        ))
    } else {
        first_line.get(&name).map(|line| {
            format!(
                "duplicate flow name `{}` (first defined at line {line})",
                shorten(&name)
            )
        })
    };
    match problem {
        Some(message) => {
            r.error_at(item, message);
            None
        }
        None => {
            first_line.insert(name.clone(), item.pos.line);
            Some(name)
        }
    }
}

fn read_steps(
    r: &mut Reader,
    item: &Item<'_>,
    flow: Option<&str>,
    known: &Known<'_>,
    base: &Scope<'_>,
    used: &mut EnvUsed,
    out: &mut Flows,
) -> Option<Vec<Step>> {
    let seq = r.seq(item)?;
    if seq.is_empty() {
        r.error_at(item, "`steps` is empty; list at least one step");
        return None;
    }
    let errors_before = r.count();
    let mut captured: Vec<String> = Vec::new();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    let mut steps = Vec::with_capacity(seq.len());
    for step_item in &seq {
        let scope = Scope {
            captures: &captured,
            ..*base
        };
        let (step, names) = read_step(r, step_item, flow, known, &scope, used, &mut first_line);
        if let Some(step) = step {
            out.rows.push(step.request.name.clone());
            steps.push(step);
        }
        captured.extend(names);
    }
    (r.count() == errors_before).then_some(steps)
}

/// One step, and the names its captures add (also when the step has other problems, so later
/// steps are not blamed for using them).
fn read_step(
    r: &mut Reader,
    item: &Item<'_>,
    flow: Option<&str>,
    known: &Known<'_>,
    scope: &Scope<'_>,
    used: &mut EnvUsed,
    first_line: &mut HashMap<String, usize>,
) -> (Option<Step>, Vec<String>) {
    let errors_before = r.count();
    let fields: Vec<&str> = STEP_FIELDS.iter().chain(REQUEST_FIELDS).copied().collect();
    let Some(map) = r.map(item, &fields) else {
        return (None, Vec::new());
    };
    let uses = match map.value("use") {
        Some(i) => r
            .nonempty_text(&i)
            .and_then(|e| used_endpoint(r, &i, e, &map, known))
            .map(Some),
        None => Some(None),
    };
    let name = match (map.get("name"), &uses) {
        (Some(i), _) => r
            .nonempty_text(&i)
            .and_then(|name| unique_step(r, &i, name, first_line)),
        (None, Some(Some((endpoint, at)))) => unique_step(r, at, endpoint.name.clone(), first_line),
        (None, Some(None)) => {
            r.error(
                map.pos,
                &map.path,
                "missing required field `name` (or `use: ENDPOINT`)",
            );
            None
        }
        (None, None) => None,
    };
    let (captures, names) = match map.value("capture") {
        Some(i) => read_captures(r, &i),
        None => (Some(Vec::new()), Vec::new()),
    };
    let row = flow.zip(name.as_ref()).map(|(f, s)| row_name(f, s));
    let request = match &uses {
        Some(Some((endpoint, _))) => row.map(|row| Endpoint {
            name: row,
            ..endpoint.clone()
        }),
        Some(None) => {
            let mut cx = Context { scope, used };
            request::read(r, &map, row, Some(0.0), &mut cx)
        }
        None => None,
    };
    let step = (r.count() == errors_before).then_some(()).and_then(|()| {
        Some(Step {
            name: name?,
            uses: uses?.map(|(e, _)| e.name.clone()),
            request: request?,
            capture: captures?,
        })
    });
    (step, names)
}

/// The endpoint a `use:` step names; with `use`, no request field may be given.
fn used_endpoint<'n>(
    r: &mut Reader,
    item: &Item<'n>,
    name: String,
    map: &Map<'n>,
    known: &Known<'_>,
) -> Option<(Endpoint, Item<'n>)> {
    let mut ok = true;
    for field in REQUEST_FIELDS {
        if let Some(i) = map.get(field) {
            r.error_at(
                &i,
                format!(
                    "a `use:` step sends the endpoint's request as it is; remove `{field}`, or write the request here instead of `use`"
                ),
            );
            ok = false;
        }
    }
    if !known.endpoint_names.contains(&name) {
        r.error_at(
            item,
            format!(
                "`use` names unknown endpoint `{}`{}",
                shorten(&name),
                suggest::did_you_mean(&name, known.endpoint_names.iter().map(String::as_str))
            ),
        );
        return None;
    }
    let endpoint = known.endpoints?.iter().find(|e| e.name == name)?;
    ok.then(|| (endpoint.clone(), item.clone()))
}

fn unique_step(
    r: &mut Reader,
    item: &Item<'_>,
    name: String,
    first_line: &mut HashMap<String, usize>,
) -> Option<String> {
    if name.contains('/') {
        r.error_at(
            item,
            format!(
                "step name `{}` must not contain `/` (figures name steps `flow/step`)",
                shorten(&name)
            ),
        );
        return None;
    }
    if let Some(line) = first_line.get(&name) {
        r.error_at(
            item,
            format!(
                "duplicate step name `{}` in this flow (first defined at line {line})",
                shorten(&name)
            ),
        );
        return None;
    }
    first_line.insert(name.clone(), item.pos.line);
    Some(name)
}

/// `capture: { NAME: { json: POINTER } | { header: NAME } | { regex: RE } }`; also returns every
/// name read.
fn read_captures(r: &mut Reader, item: &Item<'_>) -> (Option<Vec<Capture>>, Vec<String>) {
    let Node::Mapping(node) = item.node else {
        r.error_at(
            item,
            format!(
                "expected a mapping of names to sources, such as {{ id: {{ json: /id }} }}, got {}",
                describe(item.node)
            ),
        );
        return (None, Vec::new());
    };
    let errors_before = r.count();
    let mut out = Vec::with_capacity(node.len());
    let mut names = Vec::with_capacity(node.len());
    for (key, value) in node.iter() {
        let name = key.as_str().to_string();
        let at = Item {
            node: value,
            pos: Pos::of_scalar(key),
            path: format!("{}.{name}", item.path),
        };
        names.push(name.clone());
        if let Some(problem) = capture_name_problem(&name) {
            r.error_at(&at, problem);
            continue;
        }
        if let Some(from) = read_source(r, &at) {
            out.push(Capture { name, from });
        }
    }
    ((r.count() == errors_before).then_some(out), names)
}

fn capture_name_problem(name: &str) -> Option<String> {
    if !is_identifier(name) {
        Some(format!(
            "capture name `{}` must be letters, digits and `_`, not starting with a digit",
            shorten(name)
        ))
    } else if BUILTINS.contains(&name) || name == "row" || name == "env" {
        Some(format!(
            "capture name `{name}` is taken by a built-in; choose another"
        ))
    } else {
        None
    }
}

fn read_source(r: &mut Reader, item: &Item<'_>) -> Option<CaptureSource> {
    let Node::Mapping(node) = item.node else {
        r.error_at(
            item,
            format!(
                "a capture needs its source: {{ json: /pointer }}, {{ header: Name }} or {{ regex: '…(group)…' }}, got {}",
                describe(item.node)
            ),
        );
        return None;
    };
    let map = r.map(item, &["json", "header", "regex"])?;
    let given: Vec<&str> = ["json", "header", "regex"]
        .into_iter()
        .filter(|k| node.get_node(k).is_some())
        .collect();
    let kind = match given.as_slice() {
        [one] => *one,
        [] => {
            r.error_at(
                item,
                "a capture needs its source: `json: /pointer`, `header: Name` or `regex: '…(group)…'`",
            );
            return None;
        }
        many => {
            r.error_at(
                item,
                format!(
                    "a capture takes one source, got {}",
                    many.iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            );
            return None;
        }
    };
    let source_item = map.get(kind)?;
    let text = match source_item.node {
        Node::Scalar(_) if !source_item.is_null() => r.text(&source_item)?,
        _ if kind == "json" && source_item.is_null() => String::new(),
        _ => {
            r.error_at(
                &source_item,
                format!("expected text, got {}", describe(source_item.node)),
            );
            return None;
        }
    };
    let problem = match kind {
        "json" => check_pointer(&text).err(),
        "header" => {
            (!is_header_name(&text)).then(|| format!("`{}` is not a header name", shorten(&text)))
        }
        _ => regex_problem(&text),
    };
    if let Some(message) = problem {
        r.error_at(&source_item, message);
        return None;
    }
    Some(match kind {
        "json" => CaptureSource::Json(text),
        "header" => CaptureSource::Header(text),
        _ => CaptureSource::Regex(text),
    })
}

fn regex_problem(text: &str) -> Option<String> {
    match regex::Regex::new(text) {
        Err(e) => Some(format!(
            "`{}` is not a regular expression: {}",
            shorten(text),
            e.to_string().lines().last().unwrap_or_default().trim()
        )),
        Ok(re) if re.captures_len() != 2 => Some(format!(
            "regex `{}` must have exactly one group `( … )` (the value captured), it has {}",
            shorten(text),
            re.captures_len() - 1
        )),
        Ok(_) => None,
    }
}
