//! The `endpoints` list: each request's name, method, path, query, headers, body, timeout, weight
//! and expected statuses; names unique, weights not all zero.

use std::collections::{BTreeMap, HashMap};

use marked_yaml::Node;

use super::reader::{Item, Map, Pos, Reader, Scalar, describe, scalar, shorten};
use super::url::{Rest, check_http_url};
use crate::{Body, DEFAULT_TIMEOUT, Endpoint, Method};

const FIELDS: &[&str] = &[
    "name",
    "method",
    "path",
    "query",
    "headers",
    "json",
    "body",
    "timeout",
    "weight",
    "expect",
    "description",
];

/// The largest weight; keeps the sum of all weights finite.
pub(crate) const MAX_WEIGHT: f64 = 1e9;

/// How deep a JSON body may nest.
const MAX_JSON_DEPTH: usize = 128;

/// What was read: the endpoints if all are valid, and every name that could be read (for
/// checking names elsewhere even when some endpoint has a problem).
#[derive(Debug, Default)]
pub(crate) struct Endpoints {
    pub list: Option<Vec<Endpoint>>,
    pub names: Vec<String>,
}

/// Reads the `endpoints` field of the top-level mapping; `weights` (from overrides) replace the
/// file's weights of the endpoints they name.
pub(crate) fn read(
    r: &mut Reader,
    top: &Map<'_>,
    weights: Option<&BTreeMap<String, f64>>,
) -> Endpoints {
    let Some(item) = top.get("endpoints") else {
        r.error(top.pos, &top.path, "missing required field `endpoints`");
        return Endpoints::default();
    };
    if item.is_null() {
        r.error_at(&item, "`endpoints` is empty; list at least one endpoint");
        return Endpoints::default();
    }
    let Some(seq) = r.seq(&item) else {
        return Endpoints::default();
    };
    if seq.is_empty() {
        r.error_at(&item, "`endpoints` is empty; list at least one endpoint");
        return Endpoints::default();
    }
    let mut list = Some(Vec::with_capacity(seq.len()));
    let mut names = Vec::with_capacity(seq.len());
    let mut first_line: HashMap<String, usize> = HashMap::new();
    // The weights that could be read, to tell "all zero" even when other fields are wrong.
    let mut all_zero = true;
    for endpoint_item in &seq {
        let mut weight = None;
        let endpoint = read_one(
            r,
            endpoint_item,
            weights,
            &mut first_line,
            &mut names,
            &mut weight,
        );
        all_zero &= weight == Some(0.0);
        list = list.zip(endpoint).map(|(mut v, e)| {
            v.push(e);
            v
        });
    }
    if all_zero {
        r.error_at(
            &item,
            "all endpoint weights are zero; at least one must be above 0",
        );
        list = None;
    }
    Endpoints { list, names }
}

fn read_one(
    r: &mut Reader,
    item: &Item<'_>,
    weights: Option<&BTreeMap<String, f64>>,
    first_line: &mut HashMap<String, usize>,
    names: &mut Vec<String>,
    weight_read: &mut Option<f64>,
) -> Option<Endpoint> {
    let errors_before = r.count();
    let map = r.map(item, FIELDS)?;
    let name = match map.get("name") {
        None => {
            r.error(map.pos, &map.path, "missing required field `name`");
            None
        }
        Some(i) => r.nonempty_text(&i).and_then(|name| {
            if let Some(line) = first_line.get(&name) {
                r.error_at(
                    &i,
                    format!(
                        "duplicate endpoint name `{}` (first defined at line {line})",
                        shorten(&name)
                    ),
                );
                None
            } else {
                first_line.insert(name.clone(), i.pos.line);
                names.push(name.clone());
                Some(name)
            }
        }),
    };
    let method = match map.value("method") {
        Some(i) => r.text(&i).and_then(|m| {
            let method = Method::parse(m.trim());
            if method.is_none() {
                let all: Vec<&str> = Method::ALL.iter().map(|m| m.as_str()).collect();
                r.error_at(
                    &i,
                    format!(
                        "method `{}` is not supported; use one of {}",
                        shorten(&m),
                        all.join(", ")
                    ),
                );
            }
            method
        }),
        None => Some(Method::Get),
    };
    let path = match map.value("path") {
        Some(i) => r.text(&i).and_then(|p| check_path(r, &i, p)),
        None => {
            r.error(map.pos, &map.path, "missing required field `path`");
            None
        }
    };
    let query = match map.value("query") {
        Some(i) => pairs(r, &i, Kind::Query),
        None => Some(Vec::new()),
    };
    let headers = match map.value("headers") {
        Some(i) => pairs(r, &i, Kind::Header),
        None => Some(Vec::new()),
    };
    let body = match (map.value("json"), map.value("body")) {
        (Some(a), Some(b)) => {
            let later = if b.pos > a.pos { b } else { a };
            r.error_at(&later, "set either `json` or `body`, not both");
            None
        }
        (Some(i), None) => to_json(r, &i, 0).map(|v| Some(Body::Json(v))),
        (None, Some(i)) => r.text(&i).map(|t| Some(Body::Text(t))),
        (None, None) => Some(None),
    };
    let timeout = match map.value("timeout") {
        Some(i) => r.positive_duration(&i),
        None => Some(DEFAULT_TIMEOUT),
    };
    let override_weight = name
        .as_ref()
        .and_then(|n| weights.and_then(|w| w.get(n)).copied());
    let weight = match (override_weight, map.value("weight")) {
        (Some(w), _) => Some(w),
        (None, Some(i)) => r.number_in(&i, 0.0, false, MAX_WEIGHT, false),
        (None, None) => Some(1.0),
    };
    *weight_read = weight;
    let expect = match map.value("expect") {
        Some(i) => read_expect(r, &i).map(Some),
        None => Some(None),
    };
    let description = match map.value("description") {
        Some(i) => r.text(&i).map(Some),
        None => Some(None),
    };
    if r.count() > errors_before {
        return None;
    }
    Some(Endpoint {
        name: name?,
        method: method?,
        path: path?,
        query: query?,
        headers: headers?,
        body: body?,
        timeout: timeout?,
        weight: weight?,
        expect: expect?,
        description: description?,
    })
}

fn check_path(r: &mut Reader, item: &Item<'_>, path: String) -> Option<String> {
    if path.starts_with('/') {
        if path.contains('\\') {
            r.error_at(
                item,
                format!(
                    "path `{}` must not contain a backslash: HTTP clients read it as `/`; encode it (`%5C`)",
                    shorten(&path)
                ),
            );
            return None;
        }
        if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            r.error_at(
                item,
                format!(
                    "path `{}` must not contain spaces or control characters; encode them (`%20`)",
                    shorten(&path)
                ),
            );
            return None;
        }
        return Some(path);
    }
    let lower = path.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return match check_http_url(&path, Rest::QueryAllowed) {
            Ok(url) => Some(url),
            Err(message) => {
                r.error_at(item, message);
                None
            }
        };
    }
    r.error_at(
        item,
        format!(
            "path `{}` must start with `/` (or be an absolute http(s) URL)",
            shorten(&path)
        ),
    );
    None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Query,
    Header,
}

/// A mapping of scalars as `(name, value)` pairs in file order.
fn pairs(r: &mut Reader, item: &Item<'_>, kind: Kind) -> Option<Vec<(String, String)>> {
    let Node::Mapping(node) = item.node else {
        r.error_at(
            item,
            format!("expected a mapping, got {}", describe(item.node)),
        );
        return None;
    };
    let errors_before = r.count();
    let mut out = Vec::with_capacity(node.len());
    for (key, value) in node.iter() {
        let name = key.as_str();
        let path = format!("{}.{name}", item.path);
        let value_item = Item {
            node: value,
            pos: match value {
                Node::Scalar(s) if s.may_coerce() && s.as_str().is_empty() => Pos::of_scalar(key),
                _ => Pos::of(value),
            },
            path,
        };
        if kind == Kind::Header && !is_header_name(name) {
            r.error(
                Pos::of_scalar(key),
                &value_item.path,
                format!(
                    "`{}` is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)",
                    shorten(name)
                ),
            );
            continue;
        }
        let text = match value {
            Node::Scalar(s) if scalar(s) != Scalar::Null => s.as_str().to_string(),
            _ => {
                r.error_at(
                    &value_item,
                    format!("expected a text or number value, got {}", describe(value)),
                );
                continue;
            }
        };
        if kind == Kind::Header && text.chars().any(|c| c.is_control() && c != '\t') {
            r.error_at(
                &value_item,
                format!(
                    "header value {} must not contain line breaks or control characters",
                    describe(value)
                ),
            );
            continue;
        }
        if text == crate::redact::REDACTED {
            r.error_at(
                &value_item,
                format!(
                    "`{}` is the mask the server shows in place of a secret; put the real value here, or start the scenario by its file name",
                    crate::redact::REDACTED
                ),
            );
            continue;
        }
        out.push((name.to_string(), text));
    }
    (r.count() == errors_before).then_some(out)
}

/// An HTTP token (RFC 9110).
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Status codes that count as success: one or a list, each 100..=599.
fn read_expect(r: &mut Reader, item: &Item<'_>) -> Option<Vec<u16>> {
    let codes: Vec<Item<'_>> = match item.node {
        Node::Sequence(_) => r.seq(item)?,
        Node::Scalar(_) => vec![item.clone()],
        Node::Mapping(_) => {
            r.error_at(
                item,
                format!(
                    "expected a list of status codes, got {}",
                    describe(item.node)
                ),
            );
            return None;
        }
    };
    if codes.is_empty() {
        r.error_at(
            item,
            "expect must list at least one status code, such as [200]",
        );
        return None;
    }
    let mut out = Some(Vec::with_capacity(codes.len()));
    for code_item in codes {
        let code = r.int(&code_item).and_then(|c| match u16::try_from(c) {
            Ok(c) if (100..=599).contains(&c) => Some(c),
            _ => {
                r.error_at(
                    &code_item,
                    format!(
                        "status {} is not an HTTP status code (100 to 599)",
                        describe(code_item.node)
                    ),
                );
                None
            }
        });
        out = out.zip(code).map(|(mut v, c)| {
            v.push(c);
            v
        });
    }
    out
}

/// Any YAML as JSON, by the YAML 1.2 core schema.
fn to_json(r: &mut Reader, item: &Item<'_>, depth: usize) -> Option<serde_json::Value> {
    use serde_json::Value;
    if depth > MAX_JSON_DEPTH {
        r.error_at(
            item,
            format!("the JSON body nests more than {MAX_JSON_DEPTH} levels deep"),
        );
        return None;
    }
    match item.node {
        Node::Scalar(s) => match scalar(s) {
            Scalar::Null => Some(Value::Null),
            Scalar::Bool(b) => Some(Value::Bool(b)),
            Scalar::Int(i) => {
                if let Ok(i) = i64::try_from(i) {
                    Some(Value::from(i))
                } else if let Ok(u) = u64::try_from(i) {
                    Some(Value::from(u))
                } else {
                    json_float(r, item, s.as_str().parse().unwrap_or(f64::NAN))
                }
            }
            Scalar::BigInt(t) => json_float(r, item, t.parse().unwrap_or(f64::NAN)),
            Scalar::Float(f) => json_float(r, item, f),
            Scalar::Text(t) => Some(Value::String(t.to_string())),
        },
        Node::Sequence(seq) => {
            let errors_before = r.count();
            let values: Vec<Value> = super::reader::items(seq, &item.path)
                .iter()
                .filter_map(|i| to_json(r, i, depth + 1))
                .collect();
            (r.count() == errors_before).then_some(Value::Array(values))
        }
        Node::Mapping(map) => {
            let errors_before = r.count();
            let mut object = serde_json::Map::new();
            for (key, value) in map.iter() {
                let child = Item {
                    node: value,
                    pos: Pos::of(value),
                    path: format!("{}.{}", item.path, key.as_str()),
                };
                if let Some(v) = to_json(r, &child, depth + 1) {
                    object.insert(key.as_str().to_string(), v);
                }
            }
            (r.count() == errors_before).then_some(Value::Object(object))
        }
    }
}

fn json_float(r: &mut Reader, item: &Item<'_>, f: f64) -> Option<serde_json::Value> {
    match serde_json::Number::from_f64(f) {
        Some(n) => Some(serde_json::Value::Number(n)),
        None => {
            r.error_at(
                item,
                format!(
                    "JSON has no value for {}; quote it to send text",
                    describe(item.node)
                ),
            );
            None
        }
    }
}
