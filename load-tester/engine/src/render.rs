//! Templates compiled once per run and rendered per request: names become slot and column
//! indexes, `{{ env.* }}` becomes text, so rendering is a walk over pieces with no lookups.
//!
//! Only requests that have templates come here; a template-free request is sent from bytes
//! prepared before the run (see `plan.rs`).

use std::collections::HashMap;
use std::fmt::Write as _;

use lt_scenario::Env;
use lt_scenario::template::{Builtin, Expr, Part, Template};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use rand::Rng;
use serde_json::Value;

/// What a value inserted in a path is encoded against: everything that is not plain path-segment
/// text, so a captured `a/b?c` stays one segment and cannot leave the target.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// What the names of one request resolve against.
#[derive(Debug, Default)]
pub struct Names<'a> {
    /// Capture names and their slots in the user's variables (a flow's; empty for an endpoint).
    pub vars: HashMap<String, usize>,
    /// The data file's columns.
    pub columns: &'a [String],
    /// The environment values read with the scenario.
    pub env: Env,
}

/// A piece of a compiled template.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Var(usize),
    Row(usize),
    Builtin(Builtin),
}

/// A template ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    pieces: Vec<Piece>,
}

/// What one request renders with.
pub struct Values<'a, R: Rng> {
    /// The user's captured values, by slot.
    pub vars: &'a [Option<Value>],
    /// The user's data row.
    pub row: Option<&'a [String]>,
    pub user_id: &'a str,
    pub session_id: &'a str,
    pub iteration: u64,
    pub rng: &'a mut R,
}

impl Compiled {
    /// Compiles `text` (validated by the scenario's reader, so every name exists).
    pub fn new(text: &str, names: &Names<'_>) -> Compiled {
        let parts = Template::parse(text).map(|t| t.parts).unwrap_or_else(|_| {
            // Unreachable for a validated scenario: send the text as written.
            vec![Part::Text(text.to_string())]
        });
        let mut pieces: Vec<Piece> = Vec::with_capacity(parts.len());
        for part in parts {
            let piece = match part {
                Part::Text(t) => Piece::Text(t),
                Part::Expr(Expr::Env { name, default }) => Piece::Text(
                    lt_scenario::env::lookup(&name, default.as_deref(), &names.env)
                        .unwrap_or_default(),
                ),
                Part::Expr(Expr::Var(name)) => match names.vars.get(&name) {
                    Some(&slot) => Piece::Var(slot),
                    None => Piece::Text(String::new()),
                },
                Part::Expr(Expr::Row(column)) => {
                    match names.columns.iter().position(|c| *c == column) {
                        Some(i) => Piece::Row(i),
                        None => Piece::Text(String::new()),
                    }
                }
                Part::Expr(Expr::Builtin(b)) => Piece::Builtin(b),
            };
            // Keep neighbouring text together (env values become text).
            match (pieces.last_mut(), piece) {
                (Some(Piece::Text(prev)), Piece::Text(t)) => prev.push_str(&t),
                (_, piece) => pieces.push(piece),
            }
        }
        Compiled { pieces }
    }

    /// Whether rendering always gives the same text (only text and env values).
    pub fn is_static(&self) -> bool {
        self.pieces.iter().all(|p| matches!(p, Piece::Text(_)))
    }

    /// The text, when static.
    pub fn text(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [] => Some(""),
            [Piece::Text(t)] => Some(t),
            _ => None,
        }
    }

    /// Renders into `out`; values (not the template's own text) are percent-encoded as one path
    /// segment when `segment`.
    pub fn render_into<R: Rng>(&self, v: &mut Values<'_, R>, out: &mut String, segment: bool) {
        for piece in &self.pieces {
            if let Piece::Text(t) = piece {
                out.push_str(t);
                continue;
            }
            let start = out.len();
            write_value(piece, v, out);
            if segment {
                let value = out.split_off(start);
                out.extend(utf8_percent_encode(&value, SEGMENT));
            }
        }
    }

    /// Renders to a new string.
    pub fn render<R: Rng>(&self, v: &mut Values<'_, R>) -> String {
        let mut out = String::new();
        self.render_into(v, &mut out, false);
        out
    }

    /// Renders as a JSON value: a template that is exactly one expression keeps its value's
    /// type (a captured number stays a number); anything else is text.
    pub fn render_json<R: Rng>(&self, v: &mut Values<'_, R>) -> Value {
        match self.pieces.as_slice() {
            [Piece::Var(slot)] => v
                .vars
                .get(*slot)
                .and_then(Option::as_ref)
                .cloned()
                .unwrap_or(Value::Null),
            [Piece::Builtin(Builtin::Iteration)] => Value::from(v.iteration),
            [Piece::Builtin(Builtin::NowMs)] => Value::from(crate::run_state::now_ms()),
            [Piece::Builtin(Builtin::RandomInt(a, b))] => Value::from(v.rng.random_range(*a..=*b)),
            _ => Value::String(self.render(v)),
        }
    }
}

fn write_value<R: Rng>(piece: &Piece, v: &mut Values<'_, R>, out: &mut String) {
    match piece {
        Piece::Text(t) => out.push_str(t),
        Piece::Var(slot) => match v.vars.get(*slot).and_then(Option::as_ref) {
            Some(Value::String(s)) => out.push_str(s),
            Some(Value::Null) | None => {}
            Some(other) => {
                let _ = write!(out, "{other}");
            }
        },
        Piece::Row(i) => {
            if let Some(value) = v.row.and_then(|r| r.get(*i)) {
                out.push_str(value);
            }
        }
        Piece::Builtin(b) => match b {
            Builtin::UserId => out.push_str(v.user_id),
            Builtin::SessionId => out.push_str(v.session_id),
            Builtin::Iteration => {
                let _ = write!(out, "{}", v.iteration);
            }
            Builtin::Uuid => {
                let id = uuid::Builder::from_random_bytes(v.rng.random()).into_uuid();
                let _ = write!(out, "{id}");
            }
            Builtin::NowMs => {
                let _ = write!(out, "{}", crate::run_state::now_ms());
            }
            Builtin::RandomInt(a, b) => {
                let _ = write!(out, "{}", v.rng.random_range(*a..=*b));
            }
            Builtin::RandomChoice(options) => {
                if !options.is_empty() {
                    out.push_str(&options[v.rng.random_range(0..options.len())]);
                }
            }
        },
    }
}

/// A JSON body with templates in its strings.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonTemplate {
    /// No template below: copied as is.
    Fixed(Value),
    Text(Compiled),
    Array(Vec<JsonTemplate>),
    Object(Vec<(String, JsonTemplate)>),
}

impl JsonTemplate {
    /// Compiles `value`'s strings.
    pub fn new(value: &Value, names: &Names<'_>) -> JsonTemplate {
        match value {
            Value::String(s) if Template::detect(s) => {
                let compiled = Compiled::new(s, names);
                match compiled.text() {
                    Some(text) => JsonTemplate::Fixed(Value::String(text.to_string())),
                    None => JsonTemplate::Text(compiled),
                }
            }
            Value::Array(items) => {
                let items: Vec<JsonTemplate> =
                    items.iter().map(|i| JsonTemplate::new(i, names)).collect();
                if items.iter().all(|i| matches!(i, JsonTemplate::Fixed(_))) {
                    JsonTemplate::Fixed(Value::Array(
                        items.into_iter().map(JsonTemplate::into_fixed).collect(),
                    ))
                } else {
                    JsonTemplate::Array(items)
                }
            }
            Value::Object(map) => {
                let fields: Vec<(String, JsonTemplate)> = map
                    .iter()
                    .map(|(k, v)| (k.clone(), JsonTemplate::new(v, names)))
                    .collect();
                if fields
                    .iter()
                    .all(|(_, v)| matches!(v, JsonTemplate::Fixed(_)))
                {
                    JsonTemplate::Fixed(Value::Object(
                        fields
                            .into_iter()
                            .map(|(k, v)| (k, v.into_fixed()))
                            .collect(),
                    ))
                } else {
                    JsonTemplate::Object(fields)
                }
            }
            other => JsonTemplate::Fixed(other.clone()),
        }
    }

    fn into_fixed(self) -> Value {
        match self {
            JsonTemplate::Fixed(v) => v,
            _ => Value::Null,
        }
    }

    /// The value for one request.
    pub fn render<R: Rng>(&self, v: &mut Values<'_, R>) -> Value {
        match self {
            JsonTemplate::Fixed(value) => value.clone(),
            JsonTemplate::Text(c) => c.render_json(v),
            JsonTemplate::Array(items) => Value::Array(items.iter().map(|i| i.render(v)).collect()),
            JsonTemplate::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, t)| (k.clone(), t.render(v)))
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names<'static> {
        static COLUMNS: [String; 0] = [];
        let mut env = Env::default();
        env.set("TOKEN", "t0k".into());
        Names {
            vars: HashMap::from([("id".to_string(), 0), ("tag".to_string(), 1)]),
            columns: &COLUMNS,
            env,
        }
    }

    #[test]
    fn values_render_typed_in_json_and_encoded_in_paths() {
        let names = names();
        let vars = [Some(Value::from(42)), Some(Value::from("a/b c"))];
        let mut rng = rand::rng();
        let mut v = Values {
            vars: &vars,
            row: None,
            user_id: "7",
            session_id: "s1",
            iteration: 3,
            rng: &mut rng,
        };
        let path = Compiled::new("/todos/{{ id }}/{{ tag }}", &names);
        let mut out = String::new();
        path.render_into(&mut v, &mut out, true);
        assert_eq!(out, "/todos/42/a%2Fb%20c");
        let body = JsonTemplate::new(
            &serde_json::json!({"id": "{{ id }}", "t": "x-{{ id }}", "k": "{{ env.TOKEN }}", "n": 1}),
            &names,
        );
        assert_eq!(
            body.render(&mut v),
            serde_json::json!({"id": 42, "t": "x-42", "k": "t0k", "n": 1})
        );
        let fixed = JsonTemplate::new(&serde_json::json!({"k": "{{ env.TOKEN }}"}), &names);
        assert!(matches!(fixed, JsonTemplate::Fixed(_)));
        let header = Compiled::new("{{ user_id }}-{{ iteration }}-{{ session_id }}", &names);
        assert_eq!(header.render(&mut v), "7-3-s1");
        assert!(Compiled::new("Bearer {{ env.TOKEN }}", &names).is_static());
        let uuid = Compiled::new("{{ uuid }}", &names).render(&mut v);
        assert_eq!(uuid.len(), 36);
    }
}
