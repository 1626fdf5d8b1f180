//! Shared bits of the end-to-end tests: the binary under test and scenario building.

#![allow(dead_code)]

use std::time::Duration;

use lt_testkit::{RunResult, run_binary};

pub const BIN: &str = env!("CARGO_BIN_EXE_load-tester");

/// Runs `load-tester args…` with a generous limit.
pub async fn load_tester(args: &[&str]) -> RunResult {
    run_binary(BIN, args, &[], Duration::from_secs(120)).await
}

/// A scenario against `target` with these endpoint lines (YAML list items) and extra sections.
pub fn scenario(target: &str, load: &str, endpoints: &str, extra: &str) -> String {
    format!("name: e2e\ntarget: {target}\nload:\n{load}\nendpoints:\n{endpoints}\n{extra}\n")
}

/// Reads a JSON file.
pub fn read_json(path: &std::path::Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

/// Checks `value` against the subset of JSON Schema that `docs/report.schema.json` uses (type,
/// required, properties, additionalProperties: false, items, enum, local `$ref`), returning every
/// mismatch with its JSON path.
pub fn schema_errors(schema: &serde_json::Value, value: &serde_json::Value) -> Vec<String> {
    let mut errors = Vec::new();
    check_schema(schema, schema, value, "$", &mut errors);
    errors
}

fn check_schema(
    root: &serde_json::Value,
    schema: &serde_json::Value,
    value: &serde_json::Value,
    path: &str,
    errors: &mut Vec<String>,
) {
    use serde_json::Value;
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let target = reference
            .trim_start_matches("#/")
            .split('/')
            .fold(root, |node, key| &node[key]);
        return check_schema(root, target, value, path, errors);
    }
    if let Some(types) = schema.get("type") {
        let allowed: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let ok = allowed.contains(&actual) || (actual == "integer" && allowed.contains(&"number"));
        if !ok {
            errors.push(format!("{path}: expected {allowed:?}, got {actual}"));
            return;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        errors.push(format!("{path}: {value} is not one of {options:?}"));
    }
    if let Value::Object(object) = value {
        let properties = schema.get("properties").and_then(Value::as_object);
        for key in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(key) {
                errors.push(format!("{path}: missing `{key}`"));
            }
        }
        for (key, child) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(child_schema) => {
                    check_schema(root, child_schema, child, &format!("{path}.{key}"), errors)
                }
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errors.push(format!("{path}: unexpected `{key}`"))
                }
                None => {}
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check_schema(root, item_schema, item, &format!("{path}[{i}]"), errors);
        }
    }
}
