//! The one error shape of both services: `{status: "error", code, message, details}`, plus the
//! performance fields (`user_id`, `trace_id`, `data`) when the error ends a performance call.
//!
//! 5xx errors are logged and marked as errors on the request span.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Value, json};

use super::context::{RequestContext, user_json};
use crate::db::DbError;

/// One bad input field: its path (`title`, `query.limit`, `path.id`), the value sent (long text
/// cut to [`FieldProblem::MAX_ECHO`] characters) and what is wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldProblem {
    /// Where the value was.
    pub field: String,
    /// What was sent (`null` when the field was missing).
    pub value: Value,
    /// What is wrong, e.g. `must be at most 200 characters, got 201`.
    pub message: String,
}

impl FieldProblem {
    /// Longest text echoed back in `value`.
    pub const MAX_ECHO: usize = 100;

    /// A problem with `field`, echoing `value`.
    pub fn new(field: impl Into<String>, value: &Value, message: impl Into<String>) -> Self {
        let value = match value {
            Value::String(s) if s.chars().count() > Self::MAX_ECHO => Value::from(format!(
                "{}…",
                s.chars().take(Self::MAX_ECHO).collect::<String>()
            )),
            other => other.clone(),
        };
        Self {
            field: field.into(),
            value,
            message: message.into(),
        }
    }
}

/// An error answered as JSON.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Value,
    extra: serde_json::Map<String, Value>,
}

impl ApiError {
    /// An error with `status`, machine-readable `code` and human `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: json!({}),
            extra: serde_json::Map::new(),
        }
    }

    /// 422: one or more input problems. `problems` are `(field, message)` pairs; the message
    /// lists them all.
    pub fn validation(problems: Vec<(String, String)>) -> Self {
        let message = problems
            .iter()
            .map(|(field, msg)| format!("{field}: {msg}"))
            .collect::<Vec<_>>()
            .join("; ");
        let fields: Vec<Value> = problems
            .iter()
            .map(|(field, msg)| json!({"field": field, "message": msg}))
            .collect();
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", message)
            .with_details(json!({ "problems": fields }))
    }

    /// 422 naming each bad field with the value sent: `details.problems` is a list of
    /// `{field, value, message}`, the message lists them all.
    pub fn invalid_fields(problems: Vec<FieldProblem>) -> Self {
        let message = problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect::<Vec<_>>()
            .join("; ");
        let fields: Vec<Value> = problems
            .into_iter()
            .map(|p| json!({"field": p.field, "value": p.value, "message": p.message}))
            .collect();
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", message)
            .with_details(json!({ "problems": fields }))
    }

    /// 404 for a missing row.
    pub fn not_found(what: &str, id: i64) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} {id} does not exist"),
        )
        .with_details(json!({"resource": what, "id": id}))
    }

    /// 500 for a failed statement, naming the database's error class.
    pub fn database(err: &DbError) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "database_error",
            format!("statement {} failed: {}", err.statement(), err.message()),
        )
        .with_details(json!({
            "statement": err.statement(),
            "error_class": err.class(),
            "database_message": err.message(),
        }))
    }

    /// Replaces the `details` object.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// Adds the performance fields of `ctx`: `user_id`, `trace_id` and `data` with the elapsed
    /// time and the statements really executed.
    pub fn with_context(
        mut self,
        ctx: &RequestContext,
        user: Option<&super::context::UserId>,
    ) -> Self {
        self.extra.insert("user_id".into(), user_json(user));
        self.extra
            .insert("trace_id".into(), Value::from(ctx.trace_id.clone()));
        self.extra.insert(
            "data".into(),
            json!({
                "results": [],
                "execution_time": ctx.started.elapsed().as_secs_f64(),
                "query_count": ctx.queries.get(),
            }),
        );
        self
    }

    /// Adds a top-level field.
    pub fn with_field(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_owned(), value);
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            let span = tracing::Span::current();
            span.record("otel.status_code", "ERROR");
            span.record("otel.status_message", self.message.as_str());
            tracing::error!(
                code = self.code,
                status = self.status.as_u16(),
                "{}",
                self.message
            );
        }
        let mut body = serde_json::Map::new();
        body.insert("status".into(), Value::from("error"));
        body.insert("code".into(), Value::from(self.code));
        body.insert("message".into(), Value::from(self.message));
        body.insert("details".into(), self.details);
        body.extend(self.extra);
        (self.status, Json(Value::Object(body))).into_response()
    }
}

/// The JSON answered when a handler panicked (used with tower-http's `CatchPanicLayer`).
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".to_owned());
    let trace_id = crate::telemetry::propagation::current_trace_id();
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "panic",
        format!("handler panicked: {detail}"),
    )
    .with_field("trace_id", trace_id.map_or(Value::Null, Value::from))
    .into_response()
}
