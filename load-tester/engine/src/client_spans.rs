//! Client spans for the requests worth a look: failed or slow ones (`tracing.slow`), exported
//! over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`)
//! is set, so a failed request in the tracing backend shows the client's view (start, end,
//! status, endpoint, session, user) as the root of the trace the target continues.
//!
//! The hot path stays lean: a request carries only its `traceparent` (ids drawn by the
//! dispatcher); nothing is built for a fast success. A span is made after the fact, only for a
//! failed or slow request, with the ids the request already carried: the trace id, and as span id
//! the parent id the target saw. The SDK draws ids itself, so the tracer's id generator hands it
//! the request's ids (set on this thread just before the span is built), and the span's times
//! are the request's. Spans leave in batches from the SDK's own thread; when its queue is full,
//! spans are dropped rather than waited for.

use std::cell::Cell;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{
    SpanBuilder, SpanId, SpanKind, Status, TraceId, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{
    IdGenerator, RandomIdGenerator, Sampler, SdkTracer, SdkTracerProvider,
};

/// `service.name` of the load tester's spans.
pub const SERVICE_NAME: &str = "load-tester";

/// The client spans could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ClientSpansError {
    #[error("{var} must be an http:// or https:// URL, got `{value}`")]
    BadEndpoint { var: &'static str, value: String },
    #[error("cannot build the OTLP exporter for {endpoint}: {reason}")]
    Exporter { endpoint: String, reason: String },
}

/// Where spans go, from the environment: the traces endpoint as given, or the base endpoint with
/// `/v1/traces`; `None` when neither is set.
pub fn endpoint_from_env() -> Result<Option<String>, ClientSpansError> {
    endpoint_from(|var| std::env::var(var).ok())
}

/// [`endpoint_from_env`] over any lookup of variables.
fn endpoint_from(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, ClientSpansError> {
    let read = |var: &'static str| {
        lookup(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .map(|v| (var, v))
    };
    let (var, given, url) = match read("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        Some((var, full)) => (var, full.clone(), full),
        None => match read("OTEL_EXPORTER_OTLP_ENDPOINT") {
            Some((var, base)) => {
                let url = format!("{}/v1/traces", base.trim_end_matches('/'));
                (var, base, url)
            }
            None => return Ok(None),
        },
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ClientSpansError::BadEndpoint { var, value: given });
    }
    Ok(Some(url))
}

thread_local! {
    /// The (trace, span) ids the next span built on this thread takes.
    static GIVEN_IDS: Cell<Option<(u128, u64)>> = const { Cell::new(None) };
}

/// Hands the SDK the ids a request already carried (random ones when none are given).
#[derive(Debug, Default)]
struct GivenIds(RandomIdGenerator);

impl IdGenerator for GivenIds {
    fn new_trace_id(&self) -> TraceId {
        match GIVEN_IDS.with(Cell::get) {
            Some((trace, _)) => TraceId::from_bytes(trace.to_be_bytes()),
            None => self.0.new_trace_id(),
        }
    }

    fn new_span_id(&self) -> SpanId {
        match GIVEN_IDS.with(Cell::get) {
            Some((_, span)) => SpanId::from_bytes(span.to_be_bytes()),
            None => self.0.new_span_id(),
        }
    }
}

/// One request as its span shows it.
#[derive(Debug)]
pub struct ClientRequest<'a> {
    pub trace_id: u128,
    /// The `traceparent`'s parent id: the span the target's server span is a child of.
    pub span_id: u64,
    pub method: &'a str,
    pub url: &'a str,
    pub endpoint: &'a str,
    pub user_id: Option<&'a str>,
    pub status: Option<u16>,
    /// The failure's class and message; `None` for a slow success.
    pub failure: Option<(&'a str, &'a str)>,
    pub latency: Duration,
    /// When the response ended (or the request failed).
    pub ended: SystemTime,
}

/// The exporter of one run's client spans.
#[derive(Debug)]
pub struct ClientSpans {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    session: KeyValue,
    scenario: KeyValue,
}

impl ClientSpans {
    /// Client spans to `endpoint` (an OTLP/HTTP traces URL) for the run `session_id` of
    /// `scenario`.
    pub fn new(
        endpoint: &str,
        session_id: &str,
        scenario: &str,
    ) -> Result<ClientSpans, ClientSpansError> {
        let exporter_error = |reason: String| ClientSpansError::Exporter {
            endpoint: endpoint.to_owned(),
            reason,
        };
        // The SDK exports from its own thread, where no Tokio reactor runs: the blocking client,
        // which must itself be built outside Tokio.
        let client = std::thread::spawn(|| {
            reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
        })
        .join()
        .map_err(|_| exporter_error("the HTTP client's builder thread panicked".into()))?
        .map_err(|e| exporter_error(e.to_string()))?;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint)
            .build()
            .map_err(|e| exporter_error(e.to_string()))?;
        let provider = SdkTracerProvider::builder()
            .with_resource(
                Resource::builder()
                    .with_service_name(SERVICE_NAME)
                    .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
                    .build(),
            )
            .with_sampler(Sampler::AlwaysOn)
            .with_id_generator(GivenIds::default())
            .with_batch_exporter(exporter)
            .build();
        let tracer = provider.tracer("lt-engine");
        Ok(ClientSpans {
            provider,
            tracer,
            session: KeyValue::new("loadtest.session", session_id.to_owned()),
            scenario: KeyValue::new("loadtest.scenario", scenario.to_owned()),
        })
    }

    /// Queues the span of one failed or slow request.
    pub fn record(&self, request: &ClientRequest<'_>) {
        let started = request
            .ended
            .checked_sub(request.latency)
            .unwrap_or(request.ended);
        let mut attributes = vec![
            KeyValue::new("http.request.method", request.method.to_owned()),
            KeyValue::new("url.full", request.url.to_owned()),
            KeyValue::new("loadtest.endpoint", request.endpoint.to_owned()),
            self.session.clone(),
            self.scenario.clone(),
            KeyValue::new(
                "loadtest.latency_ms",
                request.latency.as_secs_f64() * 1000.0,
            ),
        ];
        if let Some(status) = request.status {
            attributes.push(KeyValue::new(
                "http.response.status_code",
                i64::from(status),
            ));
        }
        if let Some(user) = request.user_id {
            attributes.push(KeyValue::new("user_id", user.to_owned()));
        }
        match request.failure {
            Some((class, _)) => attributes.push(KeyValue::new("error.type", class.to_owned())),
            None => attributes.push(KeyValue::new("loadtest.slow", true)),
        }
        let builder = SpanBuilder::from_name(format!("{} {}", request.method, request.endpoint))
            .with_kind(SpanKind::Client)
            .with_start_time(started)
            .with_attributes(attributes);
        GIVEN_IDS.with(|ids| ids.set(Some((request.trace_id, request.span_id))));
        let mut span = self.tracer.build_with_context(builder, &Context::new());
        GIVEN_IDS.with(|ids| ids.set(None));
        if let Some((_, message)) = request.failure {
            opentelemetry::trace::Span::set_status(&mut span, Status::error(message.to_owned()));
        }
        opentelemetry::trace::Span::end_with_timestamp(&mut span, request.ended);
    }

    /// Exports what is queued and stops the exporter. Blocks: call it off the async runtime.
    pub fn shutdown(&self) {
        if let Err(e) = self.provider.force_flush() {
            tracing::warn!("exporting client spans failed: {e}");
        }
        if let Err(e) = self.provider.shutdown() {
            tracing::debug!("stopping the client span exporter: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_comes_from_the_environment_and_must_be_http() {
        let from = |traces: Option<&str>, base: Option<&str>| {
            endpoint_from(|var| match var {
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" => traces.map(str::to_owned),
                "OTEL_EXPORTER_OTLP_ENDPOINT" => base.map(str::to_owned),
                _ => None,
            })
        };
        assert_eq!(from(None, None).unwrap(), None);
        assert_eq!(from(None, Some(" ")).unwrap(), None);
        assert_eq!(
            from(None, Some("http://collector:4318/"))
                .unwrap()
                .as_deref(),
            Some("http://collector:4318/v1/traces")
        );
        assert_eq!(
            from(Some("https://x/traces"), Some("http://collector:4318"))
                .unwrap()
                .as_deref(),
            Some("https://x/traces")
        );
        let err = from(None, Some("collector:4318")).unwrap_err().to_string();
        assert!(
            err.contains("OTEL_EXPORTER_OTLP_ENDPOINT") && err.contains("`collector:4318`"),
            "{err}"
        );
    }
}
