//! HTTP client of the distributed service: injects W3C trace context and the user id, retries
//! refused connections a bounded number of times, and tells a timeout from an unreachable
//! service.

use std::time::{Duration, Instant};

use http::HeaderMap;
use serde_json::Value;
use tracing::Instrument;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::http::context::{USER_ID_HEADER, UserId};
use crate::service::Service;
use crate::telemetry::propagation;

/// How the EC app reaches the distributed service.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Base URL, e.g. `http://127.0.0.1:5002`.
    pub base_url: String,
    /// Whole-request timeout (the slow query may take up to 30 s).
    pub timeout: Duration,
    /// Timeout of establishing a connection.
    pub connect_timeout: Duration,
    /// Retries after a connection error (not after a timeout).
    pub connect_retries: u32,
    /// Pause between retries.
    pub retry_delay: Duration,
}

impl ClientConfig {
    /// Defaults for `base_url`: 40 s timeout, 1 s connect timeout, 2 retries 100 ms apart.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            timeout: Duration::from_secs(40),
            connect_timeout: Duration::from_secs(1),
            connect_retries: 2,
            retry_delay: Duration::from_millis(100),
        }
    }
}

/// A bad distributed-service URL or client setup.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL does not parse or is not `http://host:port`.
    #[error("bad distributed service URL {url:?}: {reason}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// Why.
        reason: String,
    },
    /// reqwest refused the configuration.
    #[error("cannot build the HTTP client of the distributed service: {0}")]
    Build(String),
}

/// Why a call did not get an HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Connection refused or failed, after every retry.
    #[error("distributed service at {url} is unreachable after {attempts} attempts: {message}")]
    Unavailable {
        /// The URL called.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// Last error.
        message: String,
    },
    /// No answer within the timeout.
    #[error("distributed service at {url} did not answer within {timeout_ms} ms")]
    Timeout {
        /// The URL called.
        url: String,
        /// The timeout.
        timeout_ms: u128,
    },
    /// An answer that is not JSON.
    #[error("distributed service at {url} answered {status} with a non-JSON body: {message}")]
    BadResponse {
        /// The URL called.
        url: String,
        /// The status.
        status: u16,
        /// Parse error.
        message: String,
    },
}

/// An HTTP answer of the distributed service.
#[derive(Debug)]
pub struct CallOutcome {
    /// Its status.
    pub status: u16,
    /// Its JSON body.
    pub body: Value,
    /// Time from the first attempt to the answer.
    pub elapsed: Duration,
    /// Attempts made.
    pub attempts: u32,
}

/// The client (cheap to clone).
#[derive(Clone, Debug)]
pub struct DistributedClient {
    base: reqwest::Url,
    http: reqwest::Client,
    config: ClientConfig,
}

impl DistributedClient {
    /// Validates the URL and builds the client.
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let bad = |reason: String| ClientError::BadUrl {
            url: config.base_url.clone(),
            reason,
        };
        let base = reqwest::Url::parse(&config.base_url).map_err(|e| bad(e.to_string()))?;
        if base.scheme() != "http" {
            return Err(bad(format!("scheme must be http, got {:?}", base.scheme())));
        }
        if base.host_str().is_none_or(str::is_empty) {
            return Err(bad("no host".to_owned()));
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| ClientError::Build(e.to_string()))?;
        Ok(Self { base, http, config })
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// `POST {base}/{operation}` with `body`, inside a client span whose context is injected
    /// as `traceparent`/`baggage`. `trace_id` is the caller's trace id, used to build a
    /// `traceparent` when no OpenTelemetry layer is installed.
    pub async fn call(
        &self,
        operation: &str,
        body: &Value,
        user: Option<&UserId>,
        trace_id: &str,
    ) -> Result<CallOutcome, CallError> {
        let url = format!("{}/{operation}", self.base.as_str().trim_end_matches('/'));
        let span = crate::service_span!(
            Service::Ec,
            "distributed.call",
            otel.name = format!("POST /{operation}"),
            otel.kind = "client",
            otel.status_code = Empty,
            http.request.method = "POST",
            url.full = url.as_str(),
            http.response.status_code = Empty,
            service_name = Service::Ec.name(),
            operation_type = operation,
            user_id = user.map(UserId::as_str),
            attempts = Empty,
        );
        async {
            let mut headers = HeaderMap::new();
            let cx = tracing::Span::current().context();
            propagation::inject(&cx, &mut headers);
            if !headers.contains_key("traceparent")
                && let Ok(v) = propagation::synthetic_traceparent(trace_id).parse()
            {
                headers.insert("traceparent", v);
            }
            if let Some(user) = user
                && let Ok(v) = user.as_str().parse()
            {
                headers.insert(USER_ID_HEADER, v);
            }
            let result = self.send_with_retries(&url, headers, body).await;
            let current = tracing::Span::current();
            match &result {
                Ok(outcome) => {
                    current.record("http.response.status_code", outcome.status);
                    current.record("attempts", outcome.attempts);
                    if outcome.status >= 500 {
                        current.record("otel.status_code", "ERROR");
                    }
                }
                Err(e) => {
                    current.record("otel.status_code", "ERROR");
                    tracing::warn!("{e}");
                }
            }
            result
        }
        .instrument(span)
        .await
    }

    async fn send_with_retries(
        &self,
        url: &str,
        headers: HeaderMap,
        body: &Value,
    ) -> Result<CallOutcome, CallError> {
        let started = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let sent = self
                .http
                .post(url)
                .headers(headers.clone())
                .json(body)
                .send()
                .await;
            match sent {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let bytes = response
                        .bytes()
                        .await
                        .map_err(|e| self.classify(url, attempts, &e))?;
                    let body =
                        serde_json::from_slice(&bytes).map_err(|e| CallError::BadResponse {
                            url: url.to_owned(),
                            status,
                            message: e.to_string(),
                        })?;
                    return Ok(CallOutcome {
                        status,
                        body,
                        elapsed: started.elapsed(),
                        attempts,
                    });
                }
                Err(e) if e.is_connect() && attempts <= self.config.connect_retries => {
                    tracing::debug!(
                        attempt = attempts,
                        "connecting to the distributed service failed, retrying: {e}"
                    );
                    tokio::time::sleep(self.config.retry_delay).await;
                }
                Err(e) => return Err(self.classify(url, attempts, &e)),
            }
        }
    }

    fn classify(&self, url: &str, attempts: u32, e: &reqwest::Error) -> CallError {
        if e.is_timeout() && !e.is_connect() {
            CallError::Timeout {
                url: url.to_owned(),
                timeout_ms: self.config.timeout.as_millis(),
            }
        } else {
            CallError::Unavailable {
                url: url.to_owned(),
                attempts,
                message: error_chain(e),
            }
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}
