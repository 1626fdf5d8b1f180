//! The API's extractors: axum's `Query`, `Path` and body extractors, with every rejection in the
//! one error shape, naming the parameter and the value that was refused.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::error::ApiError;

/// The largest request body the API reads (scenario YAML included).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Query parameters, strictly: a bad one is 400 naming the parameter and its value.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let pairs = form_urlencoded::parse(query.as_bytes());
        let de = serde_urlencoded::Deserializer::new(pairs);
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let name = e.path().to_string();
                let value = form_urlencoded::parse(query.as_bytes())
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.into_owned());
                let reason = e.into_inner().to_string();
                let message = match &value {
                    Some(v) => format!(
                        "query parameter `{name}`: `{}` is not valid: {reason}",
                        shorten(v)
                    ),
                    None if name == "." || name.is_empty() => format!("query string: {reason}"),
                    None => format!("query parameter `{name}`: {reason}"),
                };
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", message)
                    .with_details(json!({ "parameter": name, "value": value }))
            })
    }
}

/// Path parameters: a segment that does not decode (e.g. invalid UTF-8 in `%FF`) is 400.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(e) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_path",
                format!("path `{}`: {}", shorten(parts.uri.path()), e.body_text()),
            )
            .with_details(json!({ "path": parts.uri.path() }))),
        }
    }
}

/// The raw body, at most [`BODY_LIMIT`] bytes (413 beyond).
#[derive(Debug)]
pub struct ApiBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(ApiBody)
            .map_err(body_rejection)
    }
}

impl ApiBody {
    /// The body as UTF-8 text (400 naming the first bad byte otherwise).
    pub fn text(self) -> Result<String, ApiError> {
        String::from_utf8(self.0.to_vec()).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                format!("the body is not UTF-8 text: byte {at} starts an invalid sequence"),
            )
            .with_details(json!({ "byte": at }))
        })
    }
}

fn body_rejection(e: BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is larger than the API's limit of {BODY_LIMIT} bytes (1 MiB)"),
        )
        .with_details(json!({ "limit_bytes": BODY_LIMIT }));
    }
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_body",
        format!("the body could not be read: {}", e.body_text()),
    )
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= 80 {
        return text.to_string();
    }
    let cut: String = text.chars().take(80).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::{get, post};
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Q {
        #[allow(dead_code)]
        limit: Option<usize>,
    }

    fn app() -> Router {
        Router::new()
            .route("/q", get(|ApiQuery(_): ApiQuery<Q>| async { "ok" }))
            .route(
                "/p/{id}",
                get(|ApiPath(id): ApiPath<String>| async move { id }),
            )
            .route(
                "/b",
                post(|body: ApiBody| async move { body.text().map(|t| t.len().to_string()) }),
            )
            .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
    }

    async fn call(method: &str, uri: &str, body: Vec<u8>) -> (StatusCode, serde_json::Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::from(body))
            .unwrap();
        crate::test_support::call(app(), req).await
    }

    #[tokio::test]
    async fn every_rejection_is_json_naming_what_was_refused() {
        let (status, body) = call("GET", "/q?limit=lots", vec![]).await;
        assert_eq!(status, 400);
        assert_eq!(body["code"], "invalid_query");
        assert_eq!(body["details"]["parameter"], "limit");
        assert!(
            body["message"].as_str().unwrap().contains("`lots`"),
            "{body}"
        );

        let (status, body) = call("GET", "/p/%FF%FE", vec![]).await;
        assert_eq!(status, 400);
        assert_eq!(body["code"], "invalid_path");

        let (status, body) = call("POST", "/b", vec![b'a', 0xff, b'b']).await;
        assert_eq!(status, 400);
        assert_eq!(body["code"], "invalid_body");
        assert_eq!(body["details"]["byte"], 1);

        let (status, body) = call("POST", "/b", vec![b'x'; BODY_LIMIT + 1]).await;
        assert_eq!(status, 413);
        assert_eq!(body["code"], "body_too_large");

        assert_eq!(call("GET", "/q?limit=5", vec![]).await.0, 200);
        assert_eq!(call("POST", "/b", b"fine".to_vec()).await.0, 200);
    }
}
