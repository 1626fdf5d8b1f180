//! Each endpoint's request, prepared once before the run: URL with its query, headers, body.
//!
//! Preparing up front keeps per-request work to cloning a few reference-counted values and adding
//! the per-request headers (trace context, user id), and turns a header or URL the HTTP stack
//! would refuse into an error before the first request instead of a failure per request.

use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use lt_scenario::address::{self, Url};
use lt_scenario::{Body, Endpoint, Method, Scenario};

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
        // The same parse the control server's allow-list judged: `lt_scenario::address`.
        let base = address::base_url(&scenario.target).map_err(invalid)?;
        let url = address::endpoint_url(&base, endpoint).map_err(invalid)?;

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

#[cfg(test)]
mod tests {
    use super::*;

    /// The engine sends to exactly the URLs the control server's allow-list judged: both come
    /// from `lt_scenario::address` over the same validated scenario.
    #[test]
    fn the_engine_sends_to_the_urls_the_allow_list_checked() {
        let yaml = "name: t\ntarget: 'http://a.invalid\\@127.0.0.1:5001/'\nendpoints:\n  - { name: one, path: /x }\n  - { name: two, path: 'http://0x7f000001:5002/y?z=1' }\n";
        let scenario = lt_scenario::parse("t.yaml", yaml).unwrap();
        let checked = address::destinations(&scenario).unwrap();
        assert_eq!(address::host_of(&checked[0]), "a.invalid");
        let planned: Vec<Url> = scenario
            .endpoints
            .iter()
            .map(|e| EndpointPlan::new(&scenario, e).unwrap().url)
            .collect();
        assert_eq!(planned, checked[1..]);
        assert_eq!(planned[0].as_str(), "http://a.invalid/@127.0.0.1:5001/x");
        assert_eq!(planned[1].as_str(), "http://127.0.0.1:5002/y?z=1");
    }
}
