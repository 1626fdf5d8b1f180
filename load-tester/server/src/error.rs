//! The one error shape of the API: `{"code", "message", "details"}` with a fitting status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An API failure. User errors carry their message; internal ones are logged and answered
/// generically.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Value::Null,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} `{id}` does not exist"),
        )
    }

    /// 422 for a request whose content is wrong.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 422 with the scenario's positioned diagnostics, as `load-tester validate` prints them.
    pub fn diagnostics(d: &lt_scenario::Diagnostics) -> Self {
        let lines: Vec<String> = d.iter().map(|d| d.to_string()).collect();
        ApiError::invalid(
            "invalid_scenario",
            format!(
                "the scenario has {} problem{}",
                d.len(),
                if d.len() == 1 { "" } else { "s" }
            ),
        )
        .with_details(json!({ "diagnostics": d, "text": lines }))
    }

    /// A cap was exceeded.
    pub fn cap(cap: &str, limit: impl Into<Value>, requested: impl Into<Value>) -> Self {
        let (limit, requested) = (limit.into(), requested.into());
        ApiError::invalid(
            "cap_exceeded",
            format!("{cap}: {requested} is over this server's cap of {limit}"),
        )
        .with_details(json!({ "cap": cap, "limit": limit, "requested": requested }))
    }

    /// Something broke on our side; the cause goes to the log, not the client.
    pub fn internal(context: &str, e: impl std::fmt::Display) -> Self {
        tracing::error!("{context}: {e}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("{context} failed; the server log has the cause"),
        )
    }
}

impl From<lt_store::StoreError> for ApiError {
    fn from(e: lt_store::StoreError) -> Self {
        ApiError::internal("the session store", e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "code": self.code, "message": self.message, "details": self.details });
        let mut response = (self.status, axum::Json(body)).into_response();
        response.extensions_mut().insert(ErrorCode(self.code));
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"load-tester\""),
            );
        }
        response
    }
}

/// The `code` of an error answer, for the audit log.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

/// Results of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
