//! The fields of one request, shared by endpoints and flow steps: method, path, query, headers,
//! body, timeout, expected statuses and checks, with every template checked against its scope.

use marked_yaml::Node;

use super::reader::{Item, Map, Pos, Reader, Scalar, describe, scalar, shorten};
use super::templates::{self, EnvUsed, Scope};
use super::url::{Rest, check_http_url};
use crate::template::{Part, Template};
use crate::{Body, Checks, DEFAULT_TIMEOUT, Endpoint, Method};

/// The request fields, for the list of a mapping's allowed keys.
pub(crate) const REQUEST_FIELDS: &[&str] = &[
    "method", "path", "query", "headers", "json", "body", "timeout", "expect", "check",
];

/// How deep a JSON body may nest.
const MAX_JSON_DEPTH: usize = 128;

/// Where templates are checked and which environment values they used.
pub(crate) struct Context<'s, 'a> {
    pub scope: &'s Scope<'a>,
    pub used: &'s mut EnvUsed,
}

/// Reads the request fields of `map` into an endpoint named `name` with `weight`.
pub(crate) fn read(
    r: &mut Reader,
    map: &Map<'_>,
    name: Option<String>,
    weight: Option<f64>,
    cx: &mut Context<'_, '_>,
) -> Option<Endpoint> {
    let errors_before = r.count();
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
        Some(i) => r.text(&i).and_then(|p| check_path(r, &i, p, cx)),
        None => {
            r.error(map.pos, &map.path, "missing required field `path`");
            None
        }
    };
    let query = match map.value("query") {
        Some(i) => pairs(r, &i, Kind::Query, cx),
        None => Some(Vec::new()),
    };
    let headers = match map.value("headers") {
        Some(i) => pairs(r, &i, Kind::Header, cx),
        None => Some(Vec::new()),
    };
    let body = match (map.value("json"), map.value("body")) {
        (Some(a), Some(b)) => {
            let later = if b.pos > a.pos { b } else { a };
            r.error_at(&later, "set either `json` or `body`, not both");
            None
        }
        (Some(i), None) => {
            let mut strings = |r: &mut Reader, item: &Item<'_>, text: &str| {
                templates::check(r, item, text, cx.scope, cx.used)
            };
            to_json(r, &i, 0, &mut strings).map(|v| Some(Body::Json(v)))
        }
        (None, Some(i)) => r.text(&i).and_then(|t| {
            templates::check(r, &i, &t, cx.scope, cx.used).then_some(Some(Body::Text(t)))
        }),
        (None, None) => Some(None),
    };
    let timeout = match map.value("timeout") {
        Some(i) => r.positive_duration(&i),
        None => Some(DEFAULT_TIMEOUT),
    };
    let expect = match map.value("expect") {
        Some(i) => read_expect(r, &i).map(Some),
        None => Some(None),
    };
    let check = match map.value("check") {
        Some(i) => read_checks(r, &i).map(Some),
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
        check: check?,
        description: description?,
    })
}

/// `check: { body_contains, json: { POINTER: VALUE }, max_size }`.
fn read_checks(r: &mut Reader, item: &Item<'_>) -> Option<Checks> {
    let map = r.map(item, &["body_contains", "json", "max_size"])?;
    let errors_before = r.count();
    let mut checks = Checks::default();
    if let Some(i) = map.value("body_contains") {
        checks.body_contains = r.nonempty_text(&i);
    }
    if let Some(i) = map.value("json") {
        match i.node {
            Node::Mapping(node) => {
                for (key, value) in node.iter() {
                    let child = Item {
                        node: value,
                        pos: Pos::of_scalar(key),
                        path: format!("{}.{}", i.path, key.as_str()),
                    };
                    if let Err(message) = check_pointer(key.as_str()) {
                        r.error_at(&child, message);
                        continue;
                    }
                    let mut plain = |_: &mut Reader, _: &Item<'_>, _: &str| true;
                    if let Some(v) = to_json(r, &child, 0, &mut plain) {
                        checks.json.push((key.as_str().to_string(), v));
                    }
                }
            }
            _ => r.error_at(
                &i,
                format!(
                    "expected a mapping of JSON Pointers to values, such as {{ \"/status\": \"ok\" }}, got {}",
                    describe(i.node)
                ),
            ),
        }
    }
    if let Some(i) = map.value("max_size") {
        checks.max_size = r.u64_min(&i, 0);
    }
    if checks == Checks::default() && r.count() == errors_before {
        r.error_at(
            item,
            "`check` is empty; give body_contains, json or max_size",
        );
    }
    (r.count() == errors_before).then_some(checks)
}

/// A JSON Pointer (RFC 6901): empty, or `/` followed by reference tokens where `~` is only
/// written `~0` or `~1`.
pub(crate) fn check_pointer(pointer: &str) -> Result<(), String> {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(format!(
            "`{}` is not a JSON Pointer: it must start with `/`, such as `/data/id`",
            shorten(pointer)
        ));
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(format!(
                "`{}` is not a JSON Pointer: `~` must be written `~0` and `/` inside a name `~1`",
                shorten(pointer)
            ));
        }
    }
    Ok(())
}

fn check_path(
    r: &mut Reader,
    item: &Item<'_>,
    path: String,
    cx: &mut Context<'_, '_>,
) -> Option<String> {
    if Template::detect(&path) {
        if !path.starts_with('/') {
            r.error_at(
                item,
                format!(
                    "path `{}` has templates, so it must start with `/`: a request with templates goes to the target",
                    shorten(&path)
                ),
            );
            return None;
        }
        if !templates::check(r, item, &path, cx.scope, cx.used) {
            return None;
        }
        // The text around the templates must be a valid path (values are encoded when sent).
        let outline = Template::parse(&path).ok().map(|t| {
            t.parts
                .iter()
                .map(|p| match p {
                    Part::Text(t) => t.as_str(),
                    Part::Expr(_) => "x",
                })
                .collect::<String>()
        })?;
        check_path(r, item, outline, cx)?;
        return Some(path);
    }
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
fn pairs(
    r: &mut Reader,
    item: &Item<'_>,
    kind: Kind,
    cx: &mut Context<'_, '_>,
) -> Option<Vec<(String, String)>> {
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
        if !templates::check(r, &value_item, &text, cx.scope, cx.used) {
            continue;
        }
        out.push((name.to_string(), text));
    }
    (r.count() == errors_before).then_some(out)
}

/// An HTTP token (RFC 9110).
pub(crate) fn is_header_name(name: &str) -> bool {
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

/// Checks a JSON text value (its templates); false when it has a problem, recorded in `r`.
type StringCheck<'f> = dyn FnMut(&mut Reader, &Item<'_>, &str) -> bool + 'f;

/// Any YAML as JSON, by the YAML 1.2 core schema; every text value goes through `strings`.
fn to_json(
    r: &mut Reader,
    item: &Item<'_>,
    depth: usize,
    strings: &mut StringCheck<'_>,
) -> Option<serde_json::Value> {
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
            Scalar::Text(t) => strings(r, item, t).then(|| Value::String(t.to_string())),
        },
        Node::Sequence(seq) => {
            let errors_before = r.count();
            let values: Vec<Value> = super::reader::items(seq, &item.path)
                .iter()
                .filter_map(|i| to_json(r, i, depth + 1, strings))
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
                if let Some(v) = to_json(r, &child, depth + 1, strings) {
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
