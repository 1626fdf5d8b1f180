//! Reading an answer: its status against `expect`, its body read through (so the connection is
//! reused), the checks, and the values a flow step captures.
//!
//! The body's bytes are kept only when a check or a capture reads them; otherwise they are only
//! counted.

use lt_protocol::FailureClass;
use lt_scenario::{CaptureSource, Checks};
use serde_json::Value;

use http_body_util::BodyExt;
use tokio::time::Instant;

use crate::plan::{CapturePlan, EndpointPlan};
use crate::transport::{Sent, TransportError, chain};

/// The most body kept for checks and captures; a larger answer fails them.
pub const MAX_KEPT_BODY: usize = 16 * 1024 * 1024;

/// The outcome of one sent request.
#[derive(Debug, Default)]
pub struct Outcome {
    pub failure: Option<(FailureClass, String)>,
    pub status: Option<u16>,
    /// Captured values, by variable slot.
    pub captured: Vec<(usize, Value)>,
    /// `Set-Cookie` values, when the user keeps cookies.
    pub set_cookies: Vec<String>,
}

impl Outcome {
    /// A request that could not be built or sent for a reason other than the network.
    pub fn unexpected(message: String) -> Outcome {
        Outcome {
            failure: Some((FailureClass::Unexpected, message)),
            ..Outcome::default()
        }
    }
}

/// Reads the answer `sent` for `plan` before `deadline` (the request's timeout); `cookies` says
/// whether to keep its `Set-Cookie` values. A body read to its end gives its connection back.
pub async fn read(
    sent: Result<Sent, TransportError>,
    plan: &EndpointPlan,
    cookies: bool,
    deadline: Instant,
) -> Outcome {
    let Sent { response, lease } = match sent {
        Ok(sent) => sent,
        Err(e) => {
            let class = match e {
                TransportError::Timeout(_) => FailureClass::Timeout,
                TransportError::Connect(_) | TransportError::Request(_) => FailureClass::Connect,
                TransportError::Invalid(_) => FailureClass::Unexpected,
            };
            return Outcome {
                failure: Some((class, format!("{e} ({})", plan.display_url))),
                ..Outcome::default()
            };
        }
    };
    let endpoint = &plan.endpoint;
    let answer = &plan.answer;
    let (head, mut body_stream) = response.into_parts();
    let status = head.status.as_u16();
    let header_values: Vec<Option<String>> = answer
        .captures
        .iter()
        .map(|c| match &c.source {
            CaptureSource::Header(name) => head
                .headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            _ => None,
        })
        .collect();
    let set_cookies: Vec<String> = if cookies {
        head.headers
            .get_all(http::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    } else {
        Vec::new()
    };
    let mut body: Vec<u8> = Vec::new();
    let mut size: u64 = 0;
    let mut body_error = None;
    loop {
        match tokio::time::timeout_at(deadline, body_stream.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Ok(chunk) = frame.into_data() {
                    size += chunk.len() as u64;
                    if answer.keeps_body && body.len() + chunk.len() <= MAX_KEPT_BODY {
                        body.extend_from_slice(&chunk);
                    }
                }
            }
            Ok(None) => {
                lease.release();
                break;
            }
            Ok(Some(Err(e))) => {
                body_error = Some((FailureClass::Unexpected, chain(&e)));
                break;
            }
            Err(_) => {
                let timeout = TransportError::Timeout(endpoint.timeout);
                body_error = Some((FailureClass::Timeout, timeout.to_string()));
                break;
            }
        }
    }
    let mut outcome = Outcome {
        status: Some(status),
        set_cookies,
        ..Outcome::default()
    };
    if !endpoint.is_expected(status) {
        let class = match status {
            400..=499 => FailureClass::Status4xx,
            500..=599 => FailureClass::Status5xx,
            _ => FailureClass::Unexpected,
        };
        outcome.failure = Some((class, format!("{status}: {}", endpoint.name)));
        return outcome;
    }
    if let Some((class, message)) = body_error {
        outcome.failure = Some((
            class,
            format!("reading the body: {message} ({})", plan.display_url),
        ));
        return outcome;
    }
    let kept_whole = answer.keeps_body && body.len() as u64 == size;
    // The body as JSON, parsed once when a check or a capture reads it.
    let reads_json = answer.checks.as_ref().is_some_and(|c| !c.json.is_empty())
        || answer
            .captures
            .iter()
            .any(|c| matches!(c.source, CaptureSource::Json(_)));
    let json: Option<Value> = (reads_json && kept_whole)
        .then(|| serde_json::from_slice(&body).ok())
        .flatten();
    if let Some(checks) = &answer.checks
        && let Some(message) = failed_check(checks, &body, size, kept_whole, json.as_ref())
    {
        outcome.failure = Some((FailureClass::Check, message));
        return outcome;
    }
    for (capture, header) in answer.captures.iter().zip(header_values) {
        match captured(capture, header, &body, kept_whole, json.as_ref()) {
            Some(value) => outcome.captured.push((capture.slot, value)),
            None => {
                outcome.failure = Some((
                    FailureClass::Capture,
                    format!(
                        "capture `{}`: {} found nothing in the answer",
                        capture.name, capture.source
                    ),
                ));
                outcome.captured.clear();
                return outcome;
            }
        }
    }
    outcome
}

/// The first check that fails, as a message naming it.
fn failed_check(
    checks: &Checks,
    body: &[u8],
    size: u64,
    kept_whole: bool,
    json: Option<&Value>,
) -> Option<String> {
    if let Some(max) = checks.max_size
        && size > max
    {
        return Some(format!(
            "check max_size: the body is {size} bytes, more than {max}"
        ));
    }
    if checks.needs_body() && !kept_whole {
        return Some(format!(
            "check: the body is {size} bytes, more than the {MAX_KEPT_BODY} a check reads"
        ));
    }
    if let Some(text) = &checks.body_contains
        && !contains(body, text.as_bytes())
    {
        return Some(format!("check body_contains: `{text}` is not in the body"));
    }
    if !checks.json.is_empty() {
        let Some(value) = json else {
            return Some("check json: the body is not JSON".to_string());
        };
        for (pointer, expected) in &checks.json {
            match value.pointer(pointer) {
                Some(found) if found == expected => {}
                Some(found) => {
                    return Some(format!(
                        "check json `{pointer}`: expected {expected}, got {}",
                        short(found)
                    ));
                }
                None => {
                    return Some(format!(
                        "check json `{pointer}`: expected {expected}, found nothing"
                    ));
                }
            }
        }
    }
    None
}

fn captured(
    capture: &CapturePlan,
    header: Option<String>,
    body: &[u8],
    kept_whole: bool,
    json: Option<&Value>,
) -> Option<Value> {
    match &capture.source {
        CaptureSource::Header(_) => header.map(Value::String),
        _ if !kept_whole => None,
        CaptureSource::Json(pointer) => json?.pointer(pointer).cloned(),
        CaptureSource::Regex(_) => {
            let text = String::from_utf8_lossy(body);
            let caps = capture.regex.as_ref()?.captures(&text)?;
            caps.get(1).map(|m| Value::String(m.as_str().to_string()))
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// A JSON value cut to a length that fits in a message.
fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Names;

    /// A transport error names the URL as written, not the one sent with its values in.
    #[tokio::test]
    async fn transport_errors_name_the_url_as_written() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let yaml = format!(
            "name: t\ntarget: http://127.0.0.1:{port}\nendpoints:\n  - {{ name: one, path: /x, query: {{ key: '{{{{ env.API_KEY }}}}' }} }}\n"
        );
        let env = lt_scenario::Env::from_vars([("API_KEY".to_string(), "s3cret".to_string())]);
        let scenario =
            lt_scenario::parse_with_env("t.yaml", &yaml, &Default::default(), &env).unwrap();
        let names = Names {
            env: scenario.env.0.clone(),
            ..Names::default()
        };
        let mut plan = EndpointPlan::new(&scenario, &scenario.endpoints[0], &names).unwrap();
        let transport = crate::transport::Transport::new(&scenario).unwrap();
        plan.bind(&transport).unwrap();
        let request = crate::transport::Outgoing {
            method: plan.method.clone(),
            headers: plan.headers.clone(),
            body: Default::default(),
        };
        let deadline = Instant::now() + plan.timeout;
        let route = plan.route.as_ref().unwrap();
        let sent = transport
            .send(route, &plan.url, request, deadline, plan.timeout)
            .await;
        let outcome = read(sent, &plan, false, deadline).await;
        let (class, message) = outcome.failure.unwrap();
        assert_eq!(class, FailureClass::Connect);
        assert!(!message.contains("s3cret"), "{message}");
        assert!(message.contains("{{ env.API_KEY }}"), "{message}");
    }
}
