//! What a handler knows about the request it serves: the service, the trace id, the user id and
//! the statement counter. Created by the [`observe`](super::observe) middleware.

use std::time::Instant;

use axum::extract::FromRequestParts;
use http::request::Parts;
use serde_json::Value;

use crate::query_counter::QueryCounter;
use crate::service::Service;

/// The header carrying the caller's user id (the seeds' `user_id` custom attribute).
pub const USER_ID_HEADER: &str = "x-user-id";

/// Per-request context, available to handlers as an extractor.
#[derive(Clone, Debug)]
pub struct RequestContext {
    /// The service answering.
    pub service: Service,
    /// Hex trace id of the request's trace (continued from `traceparent` when present).
    pub trace_id: String,
    /// The user id from the `X-User-Id` header, if any.
    pub user_id: Option<UserId>,
    /// Statements executed for this request.
    pub queries: QueryCounter,
    /// When the middleware started the request.
    pub started: Instant,
}

impl RequestContext {
    /// The header's user id, else `fallback` (a query or body field); recorded on the span.
    pub fn user_id_or(&self, fallback: Option<UserId>) -> Option<UserId> {
        let user = self.user_id.clone().or(fallback);
        if let Some(user) = &user {
            tracing::Span::current().record("user_id", user.as_str());
        }
        user
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Self>()
            .cloned()
            .unwrap_or_else(|| Self {
                service: Service::Ec,
                trace_id: crate::telemetry::propagation::random_trace_id(),
                user_id: None,
                queries: QueryCounter::new(Service::Ec),
                started: Instant::now(),
            }))
    }
}

/// A user id as sent by the caller: a number (`123`) or any short string (`user-7`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "Value")]
pub struct UserId(String);

impl UserId {
    /// Parses a header or field value; `None` when empty or longer than 128 bytes.
    pub fn parse(raw: &str) -> Option<Self> {
        let trimmed = raw.trim();
        (!trimmed.is_empty() && trimmed.len() <= 128).then(|| Self(trimmed.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// JSON form: a number when the id is an integer, else a string.
    pub fn to_json(&self) -> Value {
        self.0
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(self.0.clone()))
    }
}

impl TryFrom<Value> for UserId {
    type Error = String;

    fn try_from(value: Value) -> Result<Self, Self::Error> {
        let text = match &value {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            other => return Err(format!("expected a number or a string, got {other}")),
        };
        Self::parse(&text).ok_or_else(|| "must be 1 to 128 characters".to_owned())
    }
}

/// JSON for an optional user id (`null` when absent).
pub fn user_json(user: Option<&UserId>) -> Value {
    user.map_or(Value::Null, UserId::to_json)
}
