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

/// The last guard of the one error shape: an error answer that is not JSON (from a layer or an
/// extractor the API does not wrap itself) is answered again as `{code, message, details}` with
/// its status, its text as the message and its headers kept.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let reason = status.canonical_reason().unwrap_or("error");
    let message = if text.is_empty() {
        reason.to_string()
    } else {
        text
    };
    let mut answer = ApiError::new(status, code_of(status), message).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}

/// A code for an error answer nobody gave one.
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_request",
        s if s.is_server_error() => "internal",
        _ => "request_refused",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_plain_text_error_is_answered_again_in_the_one_shape() {
        let plain = (
            StatusCode::PAYLOAD_TOO_LARGE,
            [(header::RETRY_AFTER, "3")],
            "Failed to buffer the request body",
        )
            .into_response();
        let answer = json_errors(plain).await;
        assert_eq!(answer.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(answer.headers()[header::RETRY_AFTER], "3");
        let body = axum::body::to_bytes(answer.into_body(), 1 << 16)
            .await
            .unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["code"], "body_too_large");
        assert_eq!(v["message"], "Failed to buffer the request body");
        let ok = json_errors((StatusCode::OK, "fine").into_response()).await;
        assert_eq!(ok.status(), StatusCode::OK);
    }
}
