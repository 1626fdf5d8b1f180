//! Checks every `{{ … }}` in a request against what exists where it is written: captures of
//! earlier steps of the same flow, the data file's columns, the environment, the built-ins.

use super::reader::{Item, Reader, shorten};
use super::suggest;
use crate::env::{self, Env};
use crate::template::{BUILTINS, Expr, Template};

/// What templates at one place may name.
#[derive(Debug)]
pub(crate) struct Scope<'a> {
    /// Variables captured by earlier steps of this flow (none for an endpoint).
    pub captures: &'a [String],
    /// The data file's columns; `None` without a `data` file.
    pub columns: Option<&'a [String]>,
    /// Set when the data file could not be read: its columns are unknown, so `row.*` is not
    /// reported again.
    pub data_broken: bool,
    /// What `{{ env.* }}` reads.
    pub env: &'a Env,
}

/// The environment variables requests name, as they were found (see [`crate::EnvValues`]).
pub(crate) type EnvUsed = Env;

/// Checks the templates in `text` (the value of `item`); every problem is recorded. Returns
/// whether the text was fine.
pub(crate) fn check(
    r: &mut Reader,
    item: &Item<'_>,
    text: &str,
    scope: &Scope<'_>,
    used: &mut EnvUsed,
) -> bool {
    if !Template::detect(text) {
        return true;
    }
    let template = match Template::parse(text) {
        Ok(t) => t,
        Err(message) => {
            r.error_at(item, message);
            return false;
        }
    };
    let mut ok = true;
    for expr in template.exprs() {
        if let Some(message) = problem(expr, scope, used) {
            r.error_at(item, message);
            ok = false;
        }
    }
    ok
}

fn problem(expr: &Expr, scope: &Scope<'_>, used: &mut EnvUsed) -> Option<String> {
    match expr {
        Expr::Builtin(_) => None,
        Expr::Env { name, default } => match env::lookup(name, default.as_deref(), scope.env) {
            Ok(_) => {
                if let Some(value) = scope.env.get(name) {
                    used.set(name, value.to_string());
                }
                None
            }
            Err(message) => Some(format!("`{expr}`: {message}")),
        },
        Expr::Row(column) => match scope.columns {
            _ if scope.data_broken => None,
            None => Some(format!(
                "`{expr}` reads the data file, but the scenario has no `data:`; add `data: {{ file: users.csv }}`"
            )),
            Some(columns) if columns.contains(column) => None,
            Some(columns) => Some(format!(
                "`{expr}`: the data file has no column `{}`{}; its columns are {}",
                shorten(column),
                suggest::did_you_mean(column, columns.iter().map(String::as_str)),
                columns
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        },
        Expr::Var(name) if scope.captures.contains(name) => None,
        Expr::Var(name) => {
            let known = scope
                .captures
                .iter()
                .map(String::as_str)
                .chain(BUILTINS.iter().copied());
            let hint = suggest::did_you_mean(name, known);
            let place = if scope.captures.is_empty() {
                "nothing is captured before this point"
            } else {
                "it is not captured by an earlier step of this flow"
            };
            Some(format!(
                "`{expr}` names nothing: {place}{hint} (a step's `capture:` makes names for the steps after it; built-ins are {})",
                BUILTINS.join(", ")
            ))
        }
    }
}
