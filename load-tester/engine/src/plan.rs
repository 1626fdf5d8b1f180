//! Each endpoint's request, prepared once before the run: URL with its query, headers, body.
//!
//! Preparing up front keeps per-request work to cloning a few reference-counted values and adding
//! the per-request headers (trace context, user id), and turns a header or URL the HTTP stack
//! would refuse into an error before the first request instead of a failure per request.

use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use lt_scenario::{Body, Endpoint, Method, Scenario};
use reqwest::Url;

use crate::EngineError;

/// A prepared body.
#[derive(Debug, Clone)]
pub enum PlannedBody {
    /// Sent as is.
    Fixed(Bytes),
    /// A JSON object that gets the user id set in `field` per request.
    JsonWithUserId {
        object: serde_json::Map<String, serde_json::Value>,
        field: String,
    },
}

/// One endpoint, ready to send.
#[derive(Debug, Clone)]
pub struct EndpointPlan {
    pub endpoint: Endpoint,
    pub method: reqwest::Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Option<PlannedBody>,
    pub timeout: Duration,
}

impl EndpointPlan {
    /// Prepares `endpoint` of `scenario`.
    pub fn new(scenario: &Scenario, endpoint: &Endpoint) -> Result<Self, EngineError> {
        let invalid = |reason: String| EngineError::InvalidEndpoint {
            endpoint: endpoint.name.clone(),
            reason,
        };
        let base = Url::parse(&format!("{}/", scenario.target))
            .map_err(|e| invalid(format!("target `{}`: {e}", scenario.target)))?;
        let mut url =
            if endpoint.path.starts_with("http://") || endpoint.path.starts_with("https://") {
                Url::parse(&endpoint.path)
            } else {
                base.join(endpoint.path.trim_start_matches('/'))
            }
            .map_err(|e| invalid(format!("path `{}`: {e}", endpoint.path)))?;
        if !endpoint.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &endpoint.query {
                pairs.append_pair(k, v);
            }
        }

        let mut headers = HeaderMap::new();
        for (name, value) in &endpoint.headers {
            let header_name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid(format!("header name `{name}` is not valid")))?;
            let header_value = HeaderValue::from_str(value)
                .map_err(|_| invalid(format!("header `{name}` has a value that is not valid")))?;
            headers.append(header_name, header_value);
        }

        let json_field = scenario
            .user_ids
            .as_ref()
            .and_then(|u| u.json_field.clone());
        let body = match &endpoint.body {
            None => None,
            Some(Body::Text(text)) => Some(PlannedBody::Fixed(Bytes::from(text.clone()))),
            Some(Body::Json(value)) => {
                if !headers.contains_key(CONTENT_TYPE) {
                    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                }
                match (value, json_field) {
                    (serde_json::Value::Object(object), Some(field)) => {
                        Some(PlannedBody::JsonWithUserId {
                            object: object.clone(),
                            field,
                        })
                    }
                    _ => Some(PlannedBody::Fixed(Bytes::from(value.to_string()))),
                }
            }
        };

        Ok(EndpointPlan {
            endpoint: endpoint.clone(),
            method: to_reqwest(endpoint.method),
            url,
            headers,
            body,
            timeout: endpoint.timeout,
        })
    }

    /// The body to send for the user with id `user_id`.
    pub fn body_for(&self, user_id: Option<&str>) -> Option<Bytes> {
        match &self.body {
            None => None,
            Some(PlannedBody::Fixed(bytes)) => Some(bytes.clone()),
            Some(PlannedBody::JsonWithUserId { object, field }) => {
                let mut object = object.clone();
                if let Some(id) = user_id {
                    let value = id
                        .parse::<u64>()
                        .map(serde_json::Value::from)
                        .unwrap_or_else(|_| serde_json::Value::from(id));
                    object.insert(field.clone(), value);
                }
                Some(Bytes::from(serde_json::Value::Object(object).to_string()))
            }
        }
    }
}

fn to_reqwest(method: Method) -> reqwest::Method {
    match method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
        Method::Head => reqwest::Method::HEAD,
    }
}
