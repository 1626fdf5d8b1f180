//! Traces, metrics and logs of the target services, over OTLP/HTTP protobuf.
//!
//! Each service gets its own providers ([`providers`]), so each one's signals carry its own
//! `service.name` even when several run in one process:
//! - traces: a `tracing-opentelemetry` layer per service, seeing only that service's spans (by
//!   `tracing` target, see [`Service::span_target`]);
//! - metrics: a meter provider per service; services create their instruments from
//!   [`meter`]`(service)`, which is a no-op meter when metrics are not exported;
//! - logs: `tracing` events bridged to OpenTelemetry log records per service (an event belongs
//!   to the service whose span it was written in, or whose target it has), carrying the trace
//!   and span id of that span; the JSON lines on stdout carry the same ids ([`json_log`]).
//!
//! Nothing is exported, and nothing fails, when no endpoint is set. [`init`] installs the
//! global subscriber (the binary calls it). A process that already has a subscriber (e.g. the
//! load tester) can instead add the layer from [`otel_layer`] to its own, or use none at all:
//! the services work without any of this, they just export nothing.

pub mod json_log;
mod meters;
pub mod propagation;
mod providers;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::filter::{EnvFilter, FilterExt as _, Targets};
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

pub use meters::{SCOPE, meter};
pub use providers::{DEFAULT_METRIC_INTERVAL, instance_id, resource};

use crate::service::Service;
use providers::ServiceProviders;

/// Log line format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line with `trace_id` and `span_id` of the current span, and the
    /// span list.
    Json,
}

/// Full OTLP/HTTP URLs per signal; a signal whose URL is `None` is not exported.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OtlpEndpoints {
    /// `…/v1/traces`.
    pub traces: Option<String>,
    /// `…/v1/metrics`.
    pub metrics: Option<String>,
    /// `…/v1/logs`.
    pub logs: Option<String>,
}

impl OtlpEndpoints {
    /// All three signals to the collector at `base` (an `OTEL_EXPORTER_OTLP_ENDPOINT`-style URL).
    pub fn from_base(base: &str) -> Self {
        Self {
            traces: Some(signal_url(base, "traces")),
            metrics: Some(signal_url(base, "metrics")),
            logs: Some(signal_url(base, "logs")),
        }
    }

    /// `OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT` (full URLs), each falling back to
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/<signal>`.
    pub fn from_env() -> Self {
        let base = env_var("OTEL_EXPORTER_OTLP_ENDPOINT");
        let signal = |name: &str, path: &str| {
            env_var(name).or_else(|| base.as_deref().map(|b| signal_url(b, path)))
        };
        Self {
            traces: signal("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "traces"),
            metrics: signal("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "metrics"),
            logs: signal("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "logs"),
        }
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// What [`init`] sets up.
#[derive(Clone, Debug)]
pub struct TelemetryConfig {
    /// Services whose signals are exported (one set of providers each).
    pub services: Vec<Service>,
    /// Where to export.
    pub otlp: OtlpEndpoints,
    /// Log format.
    pub log_format: LogFormat,
    /// `EnvFilter` directives for logs (stdout and exported).
    pub log_filter: String,
}

impl TelemetryConfig {
    /// Endpoints from the `OTEL_EXPORTER_OTLP_*` variables ([`OtlpEndpoints::from_env`]) and
    /// `RUST_LOG` (default `info,sqlx=warn`).
    pub fn from_env(services: Vec<Service>, log_format: LogFormat) -> Self {
        Self {
            services,
            otlp: OtlpEndpoints::from_env(),
            log_format,
            log_filter: env_var("RUST_LOG").unwrap_or_else(|| "info,sqlx=warn".to_owned()),
        }
    }
}

/// `base` (an `OTEL_EXPORTER_OTLP_ENDPOINT`-style URL) with `/v1/<signal>` appended.
pub fn signal_url(base: &str, signal: &str) -> String {
    format!("{}/v1/{signal}", base.trim_end_matches('/'))
}

/// `base` with the traces path appended.
pub fn traces_url(base: &str) -> String {
    signal_url(base, "traces")
}

/// Setting up telemetry failed.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// An OTLP exporter could not be built (e.g. a bad endpoint URL).
    #[error("cannot build the OTLP exporter for endpoint {endpoint:?}: {source}")]
    Exporter {
        /// The endpoint.
        endpoint: String,
        /// Why.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// The HTTP client of the exporter could not be built.
    #[error("cannot build the OTLP HTTP client: {0}")]
    HttpClient(String),
    /// `RUST_LOG` or the given filter is invalid.
    #[error("bad log filter {filter:?}: {message}")]
    Filter {
        /// The filter.
        filter: String,
        /// Why.
        message: String,
    },
    /// A global subscriber was already installed.
    #[error("a global tracing subscriber is already installed: {0}")]
    AlreadyInstalled(String),
}

/// Owns the providers; flush them before exit with [`Telemetry::shutdown`].
#[derive(Debug, Default)]
pub struct Telemetry {
    providers: Vec<ServiceProviders>,
}

impl Telemetry {
    /// Exports every finished span, the current metrics and the pending log records now.
    /// Blocks: call from `spawn_blocking` in async code.
    pub fn force_flush(&self) {
        for providers in &self.providers {
            providers.force_flush();
        }
    }

    /// Flushes and stops every provider. Blocks: call from `spawn_blocking` in async code.
    pub fn shutdown(self) {
        for providers in self.providers {
            meters::unregister(providers.service);
            providers.shutdown();
        }
    }
}

/// Boxed layer type returned by [`otel_layer`].
pub type BoxedLayer<S> = Box<dyn Layer<S> + Send + Sync + 'static>;

fn parse_filter(directives: &str) -> Result<EnvFilter, TelemetryError> {
    EnvFilter::try_new(directives).map_err(|e| TelemetryError::Filter {
        filter: directives.to_owned(),
        message: e.to_string(),
    })
}

/// Per service: a tracing layer seeing only its spans and, when logs are exported, a log
/// bridge seeing only its events (filtered by `log_filter`). Registers each service's meter
/// provider for [`meter`]. Add the layer to any registry-based subscriber and keep the
/// [`Telemetry`].
pub fn otel_layer<S>(
    services: &[Service],
    otlp: &OtlpEndpoints,
    log_filter: &str,
) -> Result<(BoxedLayer<S>, Telemetry), TelemetryError>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    let mut layers: Vec<BoxedLayer<S>> = Vec::new();
    let mut telemetry = Telemetry::default();
    for &service in services {
        let providers = ServiceProviders::build(service, otlp)?;
        let tracer = providers.tracer.tracer(service.name());
        let spans = Targets::new().with_target(service.span_target(), tracing::Level::INFO);
        layers.push(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_error_records_to_exceptions(true)
                .with_filter(spans)
                .boxed(),
        );
        if let Some(logger) = &providers.logger {
            let events = ServiceEvents { service }.and(parse_filter(log_filter)?);
            layers.push(
                OpenTelemetryTracingBridge::new(logger)
                    .with_filter(events)
                    .boxed(),
            );
        }
        if let Some(meter) = &providers.meter {
            meters::register(service, meter.clone());
        }
        telemetry.providers.push(providers);
    }
    Ok((Box::new(layers), telemetry))
}

/// Lets through the events of one service: written inside one of its spans, or with its
/// target. Spans are not needed by the log bridge.
#[derive(Clone, Copy, Debug)]
struct ServiceEvents {
    service: Service,
}

impl<S> Filter<S> for ServiceEvents
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn enabled(&self, meta: &Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        meta.is_event()
    }

    fn event_enabled(&self, event: &Event<'_>, cx: &Context<'_, S>) -> bool {
        let target = self.service.span_target();
        event.metadata().target().starts_with(target)
            || cx.event_scope(event).is_some_and(|mut scope| {
                scope.any(|span| span.metadata().target().starts_with(target))
            })
    }
}

/// Installs the global subscriber: logs (text or JSON) filtered by `log_filter`, and the
/// OpenTelemetry layers of every service in `config`.
pub fn init(config: &TelemetryConfig) -> Result<Telemetry, TelemetryError> {
    let filter = parse_filter(&config.log_filter)?;
    let fmt: BoxedLayer<Registry> = match config.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer().with_filter(filter).boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .event_format(json_log::JsonWithTraceIds::new())
            .with_filter(filter)
            .boxed(),
    };
    let (otel, telemetry) =
        otel_layer::<Registry>(&config.services, &config.otlp, &config.log_filter)?;
    tracing_subscriber::registry()
        .with(vec![fmt, otel])
        .try_init()
        .map_err(|e| TelemetryError::AlreadyInstalled(e.to_string()))?;
    Ok(telemetry)
}
