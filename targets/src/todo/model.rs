//! The todo as stored and answered, and the checks on what callers send: the JSON body of
//! create/replace/update, the list's query string and the id in the path. Every check reports
//! all bad fields at once, each with the value sent.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use crate::http::api_error::FieldProblem;

/// Longest title, in characters.
pub const TITLE_MAX: usize = 200;
/// Longest description, in characters.
pub const DESCRIPTION_MAX: usize = 10_000;
/// Todos per page by default.
pub const DEFAULT_LIMIT: i64 = 20;
/// Most todos per page.
pub const MAX_LIMIT: i64 = 100;
/// Largest `skip`.
pub const MAX_SKIP: i64 = 1_000_000_000;
/// The fields a body may have.
pub const FIELDS: [&str; 3] = ["title", "description", "completed"];

/// A todo row (both backends; PostgreSQL's UUID is read as text).
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Todo {
    /// UUID, lowercase hyphenated.
    pub id: String,
    /// 1 to 200 characters.
    pub title: String,
    /// Free text or none.
    pub description: Option<String>,
    /// Done or not.
    pub completed: bool,
    /// When created (set by the service).
    pub created_at: DateTime<Utc>,
    /// When last changed (set by the service).
    pub updated_at: DateTime<Utc>,
}

/// An instant as the API writes it: RFC 3339 UTC with microseconds.
pub fn timestamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl Todo {
    /// The JSON answered for this todo.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "completed": self.completed,
            "created_at": timestamp(&self.created_at),
            "updated_at": timestamp(&self.updated_at),
        })
    }
}

/// Which request a body belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `POST`: `title` required; `description` (null) and `completed` (false) optional.
    Create,
    /// `PUT`: a full replacement, same rules as create.
    Replace,
    /// `PATCH`: any non-empty subset of the fields.
    Patch,
}

/// What a valid body sets; `None` leaves a field as it is (only in [`Mode::Patch`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// New title.
    pub title: Option<String>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// New state.
    pub completed: Option<bool>,
}

/// Checks a JSON body for `mode`.
pub fn parse_changes(body: &Value, mode: Mode) -> Result<Changes, Vec<FieldProblem>> {
    let Some(object) = body.as_object() else {
        return Err(vec![FieldProblem::new(
            "body",
            &kind_only(body),
            format!("must be a JSON object, got {}", kind(body)),
        )]);
    };
    let mut problems = Vec::new();
    for key in object.keys() {
        if !FIELDS.contains(&key.as_str()) {
            problems.push(FieldProblem::new(
                key.as_str(),
                &object[key],
                format!("unknown field; expected {}", FIELDS.join(", ")),
            ));
        }
    }
    let mut changes = Changes {
        title: title(object, mode, &mut problems),
        description: description(object, &mut problems),
        completed: completed(object, &mut problems),
    };
    if mode != Mode::Patch {
        changes.description.get_or_insert(None);
        changes.completed.get_or_insert(false);
    } else if object.is_empty() {
        problems.push(FieldProblem::new(
            "body",
            body,
            format!("must set at least one of {}", FIELDS.join(", ")),
        ));
    }
    if problems.is_empty() {
        Ok(changes)
    } else {
        Err(problems)
    }
}

fn title(
    object: &Map<String, Value>,
    mode: Mode,
    problems: &mut Vec<FieldProblem>,
) -> Option<String> {
    match object.get("title") {
        None if mode == Mode::Patch => None,
        None => {
            problems.push(FieldProblem::new("title", &Value::Null, "is required"));
            None
        }
        Some(Value::String(s)) => {
            let chars = s.chars().count();
            if s.trim().is_empty() {
                problems.push(FieldProblem::new(
                    "title",
                    &object["title"],
                    "must not be empty or only spaces",
                ));
                None
            } else if chars > TITLE_MAX {
                problems.push(FieldProblem::new(
                    "title",
                    &object["title"],
                    format!("must be at most {TITLE_MAX} characters, got {chars}"),
                ));
                None
            } else {
                Some(s.clone())
            }
        }
        Some(other) => {
            problems.push(FieldProblem::new(
                "title",
                other,
                format!("must be a string, got {}", kind(other)),
            ));
            None
        }
    }
}

fn description(
    object: &Map<String, Value>,
    problems: &mut Vec<FieldProblem>,
) -> Option<Option<String>> {
    match object.get("description") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => {
            let chars = s.chars().count();
            if chars > DESCRIPTION_MAX {
                problems.push(FieldProblem::new(
                    "description",
                    &object["description"],
                    format!("must be at most {DESCRIPTION_MAX} characters, got {chars}"),
                ));
                None
            } else {
                Some(Some(s.clone()))
            }
        }
        Some(other) => {
            problems.push(FieldProblem::new(
                "description",
                other,
                format!("must be a string or null, got {}", kind(other)),
            ));
            None
        }
    }
}

fn completed(object: &Map<String, Value>, problems: &mut Vec<FieldProblem>) -> Option<bool> {
    match object.get("completed") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => {
            problems.push(FieldProblem::new(
                "completed",
                other,
                format!("must be true or false, got {}", kind(other)),
            ));
            None
        }
    }
}

/// The JSON type of `value`, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Scalars echo as they are; a whole array is not echoed back.
fn kind_only(value: &Value) -> Value {
    match value {
        Value::Array(_) => Value::from("[…]"),
        other => other.clone(),
    }
}

/// A page request of the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListQuery {
    /// Todos to skip, newest first.
    pub skip: i64,
    /// Todos to answer, 1 to [`MAX_LIMIT`].
    pub limit: i64,
    /// Only completed (`true`) or open (`false`) todos.
    pub completed: Option<bool>,
}

/// Checks the list's query parameters (`skip`, `limit`, `completed`; others are ignored).
pub fn parse_list_query(pairs: &[(String, String)]) -> Result<ListQuery, Vec<FieldProblem>> {
    let mut query = ListQuery {
        skip: 0,
        limit: DEFAULT_LIMIT,
        completed: None,
    };
    let mut problems = Vec::new();
    for (key, raw) in pairs {
        let field = format!("query.{key}");
        let value = Value::from(raw.as_str());
        match key.as_str() {
            "skip" => match raw.trim().parse::<i64>() {
                Ok(n) if (0..=MAX_SKIP).contains(&n) => query.skip = n,
                _ => problems.push(FieldProblem::new(
                    field,
                    &value,
                    format!("must be an integer from 0 to {MAX_SKIP}"),
                )),
            },
            "limit" => match raw.trim().parse::<i64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => query.limit = n,
                _ => problems.push(FieldProblem::new(
                    field,
                    &value,
                    format!("must be an integer from 1 to {MAX_LIMIT}"),
                )),
            },
            "completed" => match raw.as_str() {
                "true" => query.completed = Some(true),
                "false" => query.completed = Some(false),
                _ => problems.push(FieldProblem::new(field, &value, "must be true or false")),
            },
            _ => {}
        }
    }
    if problems.is_empty() {
        Ok(query)
    } else {
        Err(problems)
    }
}

/// Checks the `{id}` of a path: a UUID, answered in lowercase hyphenated form.
pub fn parse_id(raw: &str) -> Result<String, FieldProblem> {
    uuid::Uuid::try_parse(raw)
        .map(|id| id.hyphenated().to_string())
        .map_err(|e| {
            FieldProblem::new(
                "path.id",
                &Value::from(raw),
                format!("must be a UUID such as 00000000-0000-4000-8000-000000000001 ({e})"),
            )
        })
}

/// A new random (version 4) UUID.
pub fn new_id() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .hyphenated()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(problems: &[FieldProblem]) -> Vec<&str> {
        problems.iter().map(|p| p.field.as_str()).collect()
    }

    #[test]
    fn create_needs_a_title_and_defaults_the_rest() {
        let changes = parse_changes(&json!({"title": "Buy milk"}), Mode::Create).unwrap();
        assert_eq!(changes.title.as_deref(), Some("Buy milk"));
        assert_eq!(changes.description, Some(None));
        assert_eq!(changes.completed, Some(false));
        let problems = parse_changes(&json!({}), Mode::Create).unwrap_err();
        assert_eq!(fields(&problems), ["title"]);
    }

    #[test]
    fn every_bad_field_is_reported_with_its_value() {
        let body = json!({"title": "", "completed": "yes", "priority": 3, "description": 7});
        let problems = parse_changes(&body, Mode::Create).unwrap_err();
        assert_eq!(
            fields(&problems),
            ["priority", "title", "description", "completed"]
        );
        assert_eq!(problems[3].value, json!("yes"));
        assert_eq!(problems[3].message, "must be true or false, got a string");
    }

    #[test]
    fn titles_are_counted_in_characters() {
        let ok = "é".repeat(TITLE_MAX);
        assert!(parse_changes(&json!({ "title": ok }), Mode::Create).is_ok());
        let long = "é".repeat(TITLE_MAX + 1);
        let problems = parse_changes(&json!({ "title": long }), Mode::Create).unwrap_err();
        assert_eq!(
            problems[0].message,
            "must be at most 200 characters, got 201"
        );
        assert!(problems[0].value.as_str().unwrap().ends_with('…'));
    }

    #[test]
    fn patch_takes_any_subset_but_not_nothing() {
        let changes = parse_changes(&json!({"completed": true}), Mode::Patch).unwrap();
        assert_eq!(
            changes,
            Changes {
                completed: Some(true),
                ..Changes::default()
            }
        );
        assert!(parse_changes(&json!({}), Mode::Patch).is_err());
        assert!(parse_changes(&json!([1]), Mode::Patch).is_err());
    }

    #[test]
    fn list_query_is_bounded() {
        let pairs = |items: &[(&str, &str)]| -> Vec<(String, String)> {
            items
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let q = parse_list_query(&pairs(&[
            ("skip", "5"),
            ("limit", "100"),
            ("completed", "true"),
        ]))
        .unwrap();
        assert_eq!((q.skip, q.limit, q.completed), (5, 100, Some(true)));
        let problems = parse_list_query(&pairs(&[
            ("skip", "-1"),
            ("limit", "101"),
            ("completed", "1"),
        ]))
        .unwrap_err();
        assert_eq!(
            fields(&problems),
            ["query.skip", "query.limit", "query.completed"]
        );
    }

    #[test]
    fn ids_are_uuids() {
        assert_eq!(
            parse_id("00000000-0000-4000-8000-00000000000A").unwrap(),
            "00000000-0000-4000-8000-00000000000a"
        );
        assert_eq!(parse_id("42").unwrap_err().field, "path.id");
        assert_eq!(new_id().len(), 36);
    }
}
