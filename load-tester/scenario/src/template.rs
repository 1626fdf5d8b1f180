//! `{{ … }}` templates in requests: what a value may name and how it is written.
//!
//! A template is text with expressions between `{{` and `}}`:
//! - `{{ name }}`: a value captured by an earlier step of the same flow;
//! - `{{ row.column }}`: a column of the user's row of the `data` file;
//! - `{{ env.NAME }}` / `{{ env.NAME | default('value') }}`: an environment variable, read once
//!   when the scenario is read (see [`crate::env`]);
//! - built-ins: `user_id`, `session_id`, `iteration`, `uuid`, `now_ms`, `random_int(a, b)`,
//!   `random_choice(a, b, …)`.
//!
//! This module only reads the text; what a name refers to is checked by the parser (captures in
//! scope, data columns) and rendered by the engine.

use std::fmt;

/// The built-in values.
pub const BUILTINS: [&str; 7] = [
    "user_id",
    "session_id",
    "iteration",
    "uuid",
    "now_ms",
    "random_int",
    "random_choice",
];

/// Text with expressions.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub parts: Vec<Part>,
}

/// A piece of a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(String),
    Expr(Expr),
}

/// What an expression names.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A captured variable.
    Var(String),
    /// A column of the user's data row.
    Row(String),
    /// An environment variable, with its default.
    Env {
        name: String,
        default: Option<String>,
    },
    Builtin(Builtin),
}

/// A built-in value.
#[derive(Debug, Clone, PartialEq)]
pub enum Builtin {
    /// The user's id from `user_ids` (else the user's number, from 1).
    UserId,
    /// The session's id.
    SessionId,
    /// The user's iteration number, from 1.
    Iteration,
    /// A random UUID (version 4).
    Uuid,
    /// Milliseconds since the Unix epoch.
    NowMs,
    /// An integer in `a..=b`.
    RandomInt(i64, i64),
    /// One of the values.
    RandomChoice(Vec<String>),
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Var(name) => write!(f, "{{{{ {name} }}}}"),
            Expr::Row(column) => write!(f, "{{{{ row.{column} }}}}"),
            Expr::Env {
                name,
                default: None,
            } => write!(f, "{{{{ env.{name} }}}}"),
            Expr::Env {
                name,
                default: Some(d),
            } => write!(f, "{{{{ env.{name} | default('{d}') }}}}"),
            Expr::Builtin(b) => write!(f, "{{{{ {} }}}}", b.name()),
        }
    }
}

impl Builtin {
    /// The built-in's name.
    pub fn name(&self) -> &'static str {
        match self {
            Builtin::UserId => "user_id",
            Builtin::SessionId => "session_id",
            Builtin::Iteration => "iteration",
            Builtin::Uuid => "uuid",
            Builtin::NowMs => "now_ms",
            Builtin::RandomInt(..) => "random_int",
            Builtin::RandomChoice(_) => "random_choice",
        }
    }
}

impl Template {
    /// Whether `text` has anything that looks like a template (the fast check before parsing).
    pub fn detect(text: &str) -> bool {
        text.contains("{{")
    }

    /// Reads `text`; a `{{` without `}}`, an empty or malformed expression is an error naming it.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or_else(|| {
                format!(
                    "`{{{{` without its closing `}}}}` in `{}`",
                    crate::parse::shorten(text)
                )
            })?;
            parts.push(Part::Expr(parse_expr(after[..end].trim())?));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// Whether there is no expression at all.
    pub fn is_static(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Text(_)))
    }

    /// The one expression, when the whole text is exactly one (a JSON value written as
    /// `"{{ id }}"` then keeps the captured type).
    pub fn single(&self) -> Option<&Expr> {
        match self.parts.as_slice() {
            [Part::Expr(e)] => Some(e),
            _ => None,
        }
    }

    /// The expressions, in order.
    pub fn exprs(&self) -> impl Iterator<Item = &Expr> {
        self.parts.iter().filter_map(|p| match p {
            Part::Expr(e) => Some(e),
            Part::Text(_) => None,
        })
    }
}

const USAGE: &str = "write a captured name (`{{ id }}`), a data column (`{{ row.email }}`), \
    `{{ env.NAME }}`, or a built-in (user_id, session_id, iteration, uuid, now_ms, \
    random_int(a, b), random_choice(a, b))";

fn parse_expr(inner: &str) -> Result<Expr, String> {
    let shown = format!("{{{{ {inner} }}}}");
    if inner.is_empty() {
        return Err(format!("`{shown}` is empty; {USAGE}"));
    }
    if let Some(rest) = inner.strip_prefix("env.") {
        return env_expr(rest, &shown);
    }
    if inner.contains('|') {
        return Err(format!(
            "`{shown}`: only `env.NAME` takes a filter (`| default('value')`)"
        ));
    }
    if let Some(column) = inner.strip_prefix("row.") {
        if column.is_empty()
            || !column
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!(
                "`{shown}`: `{column}` is not a column name (letters, digits, `_` and `-`)"
            ));
        }
        return Ok(Expr::Row(column.to_string()));
    }
    if let Some(open) = inner.find('(') {
        let name = inner[..open].trim();
        let Some(args) = inner[open + 1..].strip_suffix(')') else {
            return Err(format!("`{shown}`: `(` without its closing `)`"));
        };
        let args = split_args(args);
        return match name {
            "random_int" => {
                let numbers: Vec<Option<i64>> = args.iter().map(|a| a.parse().ok()).collect();
                match numbers.as_slice() {
                    [Some(a), Some(b)] if a <= b => Ok(Expr::Builtin(Builtin::RandomInt(*a, *b))),
                    [Some(_), Some(_)] => Err(format!("`{shown}`: random_int(a, b) needs a ≤ b")),
                    _ => Err(format!(
                        "`{shown}`: random_int takes two integers, such as random_int(1, 100)"
                    )),
                }
            }
            "random_choice" if !args.is_empty() && args.iter().all(|a| !a.is_empty()) => {
                Ok(Expr::Builtin(Builtin::RandomChoice(
                    args.iter().map(|a| unquote(a)).collect(),
                )))
            }
            "random_choice" => Err(format!(
                "`{shown}`: random_choice takes one or more values, such as random_choice('a', 'b')"
            )),
            other => Err(format!(
                "`{shown}`: `{other}` is not a built-in function; use random_int(a, b) or random_choice(a, b)"
            )),
        };
    }
    if !is_identifier(inner) {
        return Err(format!("`{shown}` is not a template; {USAGE}"));
    }
    Ok(match inner {
        "user_id" => Expr::Builtin(Builtin::UserId),
        "session_id" => Expr::Builtin(Builtin::SessionId),
        "iteration" => Expr::Builtin(Builtin::Iteration),
        "uuid" => Expr::Builtin(Builtin::Uuid),
        "now_ms" => Expr::Builtin(Builtin::NowMs),
        "random_int" | "random_choice" => {
            return Err(format!(
                "`{shown}`: `{inner}` needs its arguments, such as {inner}(…)"
            ));
        }
        name => Expr::Var(name.to_string()),
    })
}

fn env_expr(rest: &str, shown: &str) -> Result<Expr, String> {
    let usage = "write `{{ env.NAME }}` or `{{ env.NAME | default('value') }}`";
    let (name, default) = match rest.split_once('|') {
        Some((name, filter)) => (name.trim(), Some(default_of(filter.trim(), shown)?)),
        None => (rest.trim(), None),
    };
    if name.is_empty()
        || name.starts_with(|c: char| c.is_ascii_digit())
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(format!(
            "`{shown}`: `{name}` is not an environment variable name; {usage}"
        ));
    }
    Ok(Expr::Env {
        name: name.to_string(),
        default,
    })
}

/// `default('value')` or `default("value")`.
fn default_of(filter: &str, shown: &str) -> Result<String, String> {
    filter
        .strip_prefix("default(")
        .and_then(|a| a.strip_suffix(')'))
        .map(str::trim)
        .and_then(quoted)
        .map(str::to_string)
        .ok_or_else(|| format!("`{shown}`: the only filter is `default('value')`, got `{filter}`"))
}

fn quoted(text: &str) -> Option<&str> {
    text.strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .or_else(|| text.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
}

fn unquote(text: &str) -> String {
    quoted(text).unwrap_or(text).to_string()
}

fn split_args(args: &str) -> Vec<String> {
    if args.trim().is_empty() {
        return Vec::new();
    }
    args.split(',').map(|a| a.trim().to_string()).collect()
}

/// A name a template can use for a captured value: letters, digits and `_`, not starting with a
/// digit.
pub(crate) fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_kind_of_expression() {
        let t = Template::parse("/todos/{{ id }}?u={{user_id}}&r={{ row.e-mail }}").unwrap();
        let exprs: Vec<&Expr> = t.exprs().collect();
        assert_eq!(
            exprs,
            [
                &Expr::Var("id".into()),
                &Expr::Builtin(Builtin::UserId),
                &Expr::Row("e-mail".into())
            ]
        );
        assert_eq!(
            Template::parse("{{ random_int(1, 10) }}").unwrap().single(),
            Some(&Expr::Builtin(Builtin::RandomInt(1, 10)))
        );
        assert_eq!(
            Template::parse("{{ random_choice('a', b) }}")
                .unwrap()
                .single(),
            Some(&Expr::Builtin(Builtin::RandomChoice(vec![
                "a".into(),
                "b".into()
            ])))
        );
        assert_eq!(
            Template::parse("{{ env.TOKEN | default('x') }}")
                .unwrap()
                .single(),
            Some(&Expr::Env {
                name: "TOKEN".into(),
                default: Some("x".into())
            })
        );
        assert!(Template::parse("plain").unwrap().is_static());
    }

    #[test]
    fn malformed_expressions_are_named() {
        for (text, expected) in [
            ("{{ id ", "closing"),
            ("{{ }}", "is empty"),
            ("{{ a b }}", "is not a template"),
            ("{{ random_int(5, 1) }}", "a ≤ b"),
            ("{{ random_int(x, 1) }}", "two integers"),
            ("{{ random_choice() }}", "one or more"),
            ("{{ upper(x) }}", "not a built-in"),
            ("{{ uuid | default('x') }}", "only `env.NAME`"),
            ("{{ env.X | upper }}", "default('value')"),
            ("{{ row. }}", "not a column name"),
        ] {
            let e = Template::parse(text).unwrap_err();
            assert!(e.contains(expected), "{text}: {e}");
        }
    }
}
