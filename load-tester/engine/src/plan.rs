//! Each request's plan, prepared once before the run: URL with its query, headers, body, and
//! what to read from the answer (checks, captures).
//!
//! Preparing up front keeps per-request work to cloning a few reference-counted values and adding
//! the per-request headers (trace context, user id), and turns a header or URL the HTTP stack
//! would refuse into an error before the first request instead of a failure per request. A
//! request with templates keeps its templates compiled ([`RequestTemplate`]) and is rendered per
//! request; one without is sent from what is prepared here and never renders anything.

use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HOST, HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use lt_scenario::address::{self, Url};
use lt_scenario::template::Template;
use lt_scenario::{Body, CaptureSource, Checks, Endpoint, Method, Scenario};

use crate::EngineError;
use crate::render::{Compiled, JsonTemplate, Names, Values};
use crate::transport::{Route, Transport};

/// The `User-Agent` of every request that does not set its own.
const AGENT: &str = concat!("load-tester/", env!("CARGO_PKG_VERSION"));

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

/// One request, ready to send.
#[derive(Debug, Clone)]
pub struct EndpointPlan {
    pub endpoint: Endpoint,
    pub method: http::Method,
    /// The URL of a request whose path and query have no per-request template.
    pub url: Url,
    /// Where `url` goes (see [`EndpointPlan::bind`]).
    pub route: Option<Route>,
    /// The URL as written, for spans and messages (templates not rendered, so no value of a
    /// user's or of the environment leaves through them).
    pub display_url: String,
    /// Headers that are the same on every request; once bound, `Host`, `User-Agent` and
    /// `Accept` included, so a request is sent with them as they are.
    pub headers: HeaderMap,
    pub body: Option<PlannedBody>,
    pub timeout: Duration,
    /// The parts rendered per request, when the request has templates.
    pub template: Option<Box<RequestTemplate>>,
    /// What is read from the answer.
    pub answer: AnswerPlan,
}

/// The templated parts of a request.
#[derive(Debug, Clone)]
pub struct RequestTemplate {
    base: Url,
    /// Path and query, when either varies per request.
    target: Option<(Compiled, Vec<(String, Compiled)>)>,
    headers: Vec<(HeaderName, Compiled)>,
    body: Option<BodyTemplate>,
}

#[derive(Debug, Clone)]
enum BodyTemplate {
    Json(JsonTemplate),
    Text(Compiled),
}

/// What the answer is read for beyond its status.
#[derive(Debug, Clone, Default)]
pub struct AnswerPlan {
    pub checks: Option<Checks>,
    pub captures: Vec<CapturePlan>,
    /// Whether the body's bytes must be kept (a check or a capture reads them).
    pub keeps_body: bool,
}

/// One capture, compiled.
#[derive(Debug, Clone)]
pub struct CapturePlan {
    pub name: String,
    /// The slot in the user's variables.
    pub slot: usize,
    pub source: CaptureSource,
    pub regex: Option<regex::Regex>,
}

/// A request rendered for one send.
#[derive(Debug)]
pub struct Rendered {
    /// The URL, when its path or query varies (else the plan's).
    pub url: Option<Url>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Option<Bytes>,
}

impl EndpointPlan {
    /// Prepares `endpoint` of `scenario`; `names` resolves its templates (a flow step's
    /// captures, the data columns, the environment).
    pub fn new(
        scenario: &Scenario,
        endpoint: &Endpoint,
        names: &Names<'_>,
    ) -> Result<Self, EngineError> {
        let invalid = |reason: String| EngineError::InvalidEndpoint {
            endpoint: endpoint.name.clone(),
            reason,
        };
        // The same parse the control server's allow-list judged: `lt_scenario::address`.
        let base = address::base_url(&scenario.target).map_err(invalid)?;
        let path = Compiled::new(&endpoint.path, names);
        let query: Vec<(String, Compiled)> = endpoint
            .query
            .iter()
            .map(|(k, v)| (k.clone(), Compiled::new(v, names)))
            .collect();
        let varies = !path.is_static() || query.iter().any(|(_, v)| !v.is_static());
        // A static request's URL (env values put in); for a templated one, its outline.
        let fixed = Endpoint {
            path: path.text().unwrap_or(&endpoint.path).to_string(),
            query: query
                .iter()
                .zip(&endpoint.query)
                .map(|((k, c), (_, v))| (k.clone(), c.text().unwrap_or(v).to_string()))
                .collect(),
            ..endpoint.clone()
        };
        // With templates (environment values included, which may be secrets), only the URL as
        // written is ever shown, in messages as in spans.
        let templated = Template::detect(&endpoint.path)
            || endpoint.query.iter().any(|(_, v)| Template::detect(v));
        let written = || {
            let mut text = format!("{}{}", base.as_str().trim_end_matches('/'), endpoint.path);
            for (i, (k, v)) in endpoint.query.iter().enumerate() {
                text.push(if i == 0 { '?' } else { '&' });
                text.push_str(&format!("{k}={v}"));
            }
            text
        };
        let url = if varies {
            base.clone()
        } else {
            address::endpoint_url(&base, &fixed).map_err(|e| {
                invalid(if templated {
                    format!(
                        "`{}` is not a URL on the target once its templates are filled in",
                        written()
                    )
                } else {
                    e
                })
            })?
        };
        let display_url = if templated {
            written()
        } else {
            url.to_string()
        };

        let mut headers = HeaderMap::new();
        let mut templated_headers = Vec::new();
        for (name, value) in &endpoint.headers {
            let header_name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid(format!("header name `{name}` is not valid")))?;
            let compiled = Compiled::new(value, names);
            match compiled.text() {
                Some(text) => {
                    let header_value = HeaderValue::from_str(text).map_err(|_| {
                        invalid(format!("header `{name}` has a value that is not valid"))
                    })?;
                    headers.append(header_name, header_value);
                }
                None => templated_headers.push((header_name, compiled)),
            }
        }

        let json_field = scenario
            .user_ids
            .as_ref()
            .and_then(|u| u.json_field.clone());
        let mut body_template = None;
        let body = match &endpoint.body {
            None => None,
            Some(Body::Text(text)) => {
                let compiled = Compiled::new(text, names);
                match compiled.text() {
                    Some(t) => Some(PlannedBody::Fixed(Bytes::from(t.to_string()))),
                    None => {
                        body_template = Some(BodyTemplate::Text(compiled));
                        None
                    }
                }
            }
            Some(Body::Json(value)) => {
                if !headers.contains_key(CONTENT_TYPE) {
                    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                }
                let template = JsonTemplate::new(value, names);
                match (template, json_field) {
                    (JsonTemplate::Fixed(serde_json::Value::Object(object)), Some(field)) => {
                        Some(PlannedBody::JsonWithUserId { object, field })
                    }
                    (JsonTemplate::Fixed(value), _) => {
                        Some(PlannedBody::Fixed(Bytes::from(value.to_string())))
                    }
                    (template, _) => {
                        body_template = Some(BodyTemplate::Json(template));
                        None
                    }
                }
            }
        };
        let template =
            (varies || !templated_headers.is_empty() || body_template.is_some()).then(|| {
                Box::new(RequestTemplate {
                    base,
                    target: varies.then_some((path, query)),
                    headers: templated_headers,
                    body: body_template,
                })
            });

        Ok(EndpointPlan {
            endpoint: endpoint.clone(),
            method: to_http(endpoint.method),
            url,
            route: None,
            display_url,
            headers,
            body,
            timeout: endpoint.timeout,
            template,
            answer: AnswerPlan {
                keeps_body: endpoint.check.as_ref().is_some_and(Checks::needs_body),
                checks: endpoint.check.clone(),
                captures: Vec::new(),
            },
        })
    }

    /// Routes the plan's URL on `transport` and completes its headers with the ones every
    /// request carries (`Host`, and `User-Agent` and `Accept` unless the endpoint sets them), so
    /// nothing is parsed or merged per request.
    pub fn bind(&mut self, transport: &Transport) -> Result<(), EngineError> {
        let route = transport
            .route(&self.url)
            .map_err(|e| EngineError::InvalidEndpoint {
                endpoint: self.endpoint.name.clone(),
                reason: e.to_string(),
            })?;
        let templated: Vec<&HeaderName> = self
            .template
            .iter()
            .flat_map(|t| t.headers.iter().map(|(name, _)| name))
            .collect();
        let own = |name: &HeaderName| self.headers.contains_key(name) || templated.contains(&name);
        let mut headers = HeaderMap::with_capacity(self.headers.len() + 3);
        for (name, value) in [
            (HOST, route.host_header().clone()),
            (USER_AGENT, HeaderValue::from_static(AGENT)),
            (ACCEPT, HeaderValue::from_static("*/*")),
        ] {
            if !own(&name) {
                headers.insert(name, value);
            }
        }
        for (name, value) in &self.headers {
            headers.append(name.clone(), value.clone());
        }
        self.headers = headers;
        self.route = Some(route);
        Ok(())
    }

    /// Adds a flow step's captures, each in its slot of the user's variables.
    pub fn with_captures(mut self, captures: Vec<CapturePlan>) -> Self {
        self.answer.keeps_body |= captures
            .iter()
            .any(|c| !matches!(c.source, CaptureSource::Header(_)));
        self.answer.captures = captures;
        self
    }

    /// Renders the templated parts for one send, with the user id for `user_ids.json_field`.
    /// A rendered value the HTTP stack would refuse (a header with a line break) is an error
    /// naming the field.
    pub fn render<R: rand::Rng>(
        &self,
        template: &RequestTemplate,
        values: &mut Values<'_, R>,
        json_user_id: Option<(&str, &str)>,
    ) -> Result<Rendered, String> {
        let url = match &template.target {
            None => None,
            Some((path, query)) => {
                let mut rendered = String::with_capacity(self.endpoint.path.len() + 32);
                path.render_into(values, &mut rendered, true);
                // Messages name the path as written: the rendered one holds users' values.
                let written = &self.endpoint.path;
                let mut url = template
                    .base
                    .join(rendered.trim_start_matches('/'))
                    .map_err(|e| format!("path `{written}` rendered to no URL: {e}"))?;
                if url.origin() != template.base.origin() {
                    return Err(format!("path `{written}` rendered to a URL off the target"));
                }
                if !query.is_empty() {
                    let mut pairs = url.query_pairs_mut();
                    for (k, v) in query {
                        pairs.append_pair(k, &v.render(values));
                    }
                }
                Some(url)
            }
        };
        let mut headers = Vec::with_capacity(template.headers.len());
        for (name, value) in &template.headers {
            let text = value.render(values);
            let value = HeaderValue::from_str(&text)
                .map_err(|_| format!("header `{name}` rendered to a value that is not valid"))?;
            headers.push((name.clone(), value));
        }
        let body = match &template.body {
            None => None,
            Some(BodyTemplate::Text(t)) => Some(Bytes::from(t.render(values))),
            Some(BodyTemplate::Json(t)) => {
                let mut value = t.render(values);
                if let (serde_json::Value::Object(object), Some((field, id))) =
                    (&mut value, json_user_id)
                {
                    object.insert(field.to_string(), json_id(id));
                }
                Some(Bytes::from(value.to_string()))
            }
        };
        Ok(Rendered { url, headers, body })
    }

    /// The body to send for the user with id `user_id`.
    pub fn body_for(&self, user_id: Option<&str>) -> Option<Bytes> {
        match &self.body {
            None => None,
            Some(PlannedBody::Fixed(bytes)) => Some(bytes.clone()),
            Some(PlannedBody::JsonWithUserId { object, field }) => {
                let mut object = object.clone();
                if let Some(id) = user_id {
                    object.insert(field.clone(), json_id(id));
                }
                Some(Bytes::from(serde_json::Value::Object(object).to_string()))
            }
        }
    }
}

/// A user id in a JSON body: a number when it is one.
fn json_id(id: &str) -> serde_json::Value {
    id.parse::<u64>()
        .map(serde_json::Value::from)
        .unwrap_or_else(|_| serde_json::Value::from(id))
}

fn to_http(method: Method) -> http::Method {
    match method {
        Method::Get => http::Method::GET,
        Method::Post => http::Method::POST,
        Method::Put => http::Method::PUT,
        Method::Patch => http::Method::PATCH,
        Method::Delete => http::Method::DELETE,
        Method::Head => http::Method::HEAD,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Environment values go into the URL that is sent, never into the one shown (spans,
    /// messages): they may be secrets.
    #[test]
    fn environment_values_are_sent_but_never_shown() {
        let yaml = "name: t\ntarget: http://127.0.0.1:5001\nendpoints:\n  - { name: one, path: /x, query: { key: '{{ env.API_KEY }}' } }\n";
        let env = lt_scenario::Env::from_vars([("API_KEY".to_string(), "s3cret".to_string())]);
        let scenario =
            lt_scenario::parse_with_env("t.yaml", yaml, &Default::default(), &env).unwrap();
        let names = Names {
            env: scenario.env.0.clone(),
            ..Names::default()
        };
        let plan = EndpointPlan::new(&scenario, &scenario.endpoints[0], &names).unwrap();
        assert_eq!(plan.url.as_str(), "http://127.0.0.1:5001/x?key=s3cret");
        assert!(
            plan.template.is_none(),
            "an environment value is prepared once"
        );
        assert_eq!(
            plan.display_url,
            "http://127.0.0.1:5001/x?key={{ env.API_KEY }}"
        );
    }

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
            .map(|e| {
                EndpointPlan::new(&scenario, e, &Names::default())
                    .unwrap()
                    .url
            })
            .collect();
        assert_eq!(planned, checked[1..]);
        assert_eq!(planned[0].as_str(), "http://a.invalid/@127.0.0.1:5001/x");
        assert_eq!(planned[1].as_str(), "http://127.0.0.1:5002/y?z=1");
    }
}
