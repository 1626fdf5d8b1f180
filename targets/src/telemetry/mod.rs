//! Logs and traces: a `tracing` subscriber with text or JSON logs, and one OpenTelemetry tracer
//! provider per service (so each service's spans carry its own `service.name`, even when both
//! run in one process), exporting over OTLP/HTTP protobuf when an endpoint is configured.
//!
//! [`init`] installs the global subscriber (the binary calls it). A process that already has a
//! subscriber (e.g. the load tester) can instead add the layer from [`otel_layer`] to its own,
//! or use none at all: the services work without any of this, they just export nothing.

pub mod propagation;

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

use crate::service::Service;

/// Log line format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, with the span list (including `trace_id` and `span_id`).
    Json,
}

/// What [`init`] sets up.
#[derive(Clone, Debug)]
pub struct TelemetryConfig {
    /// Services whose spans are traced (one tracer provider each).
    pub services: Vec<Service>,
    /// Full OTLP/HTTP traces URL (`…/v1/traces`); `None` exports nothing.
    pub otlp_traces_endpoint: Option<String>,
    /// Log format.
    pub log_format: LogFormat,
    /// `EnvFilter` directives for logs.
    pub log_filter: String,
}

impl TelemetryConfig {
    /// Reads `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT` +
    /// `/v1/traces`, and `RUST_LOG` (default `info,sqlx=warn`).
    pub fn from_env(services: Vec<Service>, log_format: LogFormat) -> Self {
        let var = |name| {
            std::env::var(name)
                .ok()
                .filter(|v: &String| !v.trim().is_empty())
        };
        let otlp_traces_endpoint = var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .or_else(|| var("OTEL_EXPORTER_OTLP_ENDPOINT").map(|base| traces_url(&base)));
        Self {
            services,
            otlp_traces_endpoint,
            log_format,
            log_filter: var("RUST_LOG").unwrap_or_else(|| "info,sqlx=warn".to_owned()),
        }
    }
}

/// `base` (an `OTEL_EXPORTER_OTLP_ENDPOINT`-style URL) with the traces path appended.
pub fn traces_url(base: &str) -> String {
    format!("{}/v1/traces", base.trim_end_matches('/'))
}

/// Setting up telemetry failed.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The OTLP exporter could not be built (e.g. a bad endpoint URL).
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

/// Owns the tracer providers; flush them before exit with [`Telemetry::shutdown`].
#[derive(Debug, Default)]
pub struct Telemetry {
    providers: Vec<(Service, SdkTracerProvider)>,
}

impl Telemetry {
    /// Exports every finished span now. Blocks: call from `spawn_blocking` in async code.
    pub fn force_flush(&self) {
        for (service, provider) in &self.providers {
            if let Err(e) = provider.force_flush() {
                tracing::warn!(service = service.name(), "flushing spans failed: {e}");
            }
        }
    }

    /// Flushes and stops every provider. Blocks: call from `spawn_blocking` in async code.
    pub fn shutdown(self) {
        for (service, provider) in self.providers {
            if let Err(e) = provider.shutdown_with_timeout(Duration::from_secs(5)) {
                eprintln!("targets: shutting down the {service} tracer failed: {e}");
            }
        }
    }
}

fn provider(service: Service, endpoint: Option<&str>) -> Result<SdkTracerProvider, TelemetryError> {
    let resource = Resource::builder()
        .with_service_name(service.name())
        .build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    if let Some(endpoint) = endpoint {
        // The SDK exports from its own thread, where no Tokio reactor runs: use the blocking
        // reqwest client, built on a plain thread because building it inside Tokio panics.
        let client = std::thread::spawn(|| {
            reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
        })
        .join()
        .map_err(|_| TelemetryError::HttpClient("client builder thread panicked".to_owned()))?
        .map_err(|e| TelemetryError::HttpClient(e.to_string()))?;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint)
            .build()
            .map_err(|source| TelemetryError::Exporter {
                endpoint: endpoint.to_owned(),
                source,
            })?;
        builder = builder.with_batch_exporter(exporter);
    }
    Ok(builder.build())
}

/// Boxed layer type returned by [`otel_layer`].
pub type BoxedLayer<S> = Box<dyn Layer<S> + Send + Sync + 'static>;

/// One OpenTelemetry layer per service, each seeing only its service's spans (by target), to
/// add to any registry-based subscriber; plus the [`Telemetry`] owning the providers.
pub fn otel_layer<S>(
    services: &[Service],
    endpoint: Option<&str>,
) -> Result<(BoxedLayer<S>, Telemetry), TelemetryError>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    let mut layers: Vec<BoxedLayer<S>> = Vec::new();
    let mut telemetry = Telemetry::default();
    for &service in services {
        let provider = provider(service, endpoint)?;
        let tracer = provider.tracer(service.name());
        let filter = Targets::new().with_target(service.span_target(), tracing::Level::INFO);
        layers.push(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_error_records_to_exceptions(true)
                .with_filter(filter)
                .boxed(),
        );
        telemetry.providers.push((service, provider));
    }
    Ok((Box::new(layers), telemetry))
}

/// Installs the global subscriber: logs (text or JSON) filtered by `log_filter`, and the
/// OpenTelemetry layer of every service in `config`.
pub fn init(config: &TelemetryConfig) -> Result<Telemetry, TelemetryError> {
    let filter = EnvFilter::try_new(&config.log_filter).map_err(|e| TelemetryError::Filter {
        filter: config.log_filter.clone(),
        message: e.to_string(),
    })?;
    let fmt: BoxedLayer<Registry> = match config.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer().with_filter(filter).boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .with_filter(filter)
            .boxed(),
    };
    let (otel, telemetry) =
        otel_layer::<Registry>(&config.services, config.otlp_traces_endpoint.as_deref())?;
    tracing_subscriber::registry()
        .with(vec![fmt, otel])
        .try_init()
        .map_err(|e| TelemetryError::AlreadyInstalled(e.to_string()))?;
    Ok(telemetry)
}
