//! The OpenTelemetry providers of one service: a tracer provider (always, so spans get trace
//! ids), and a meter and a logger provider when their OTLP endpoint is set. All three export
//! OTLP/HTTP protobuf and describe the service by the same resource: `service.name`,
//! `service.version` and `service.instance.id` (one per process).

use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;

use super::{OtlpEndpoints, TelemetryError};
use crate::service::Service;

/// How often metrics are exported when `OTEL_METRIC_EXPORT_INTERVAL` (milliseconds) is unset.
pub const DEFAULT_METRIC_INTERVAL: Duration = Duration::from_secs(10);

/// The providers of one service.
#[derive(Debug)]
pub(super) struct ServiceProviders {
    pub(super) service: Service,
    pub(super) tracer: SdkTracerProvider,
    pub(super) meter: Option<SdkMeterProvider>,
    pub(super) logger: Option<SdkLoggerProvider>,
}

/// `service.instance.id` of this process: a random UUID, as the semantic conventions suggest.
pub fn instance_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        uuid::Builder::from_random_bytes(rand::random())
            .into_uuid()
            .to_string()
    })
}

/// The resource every signal of `service` carries.
pub fn resource(service: Service) -> Resource {
    Resource::builder()
        .with_service_name(service.name())
        .with_attributes([
            KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
            KeyValue::new("service.instance.id", instance_id()),
        ])
        .build()
}

/// The blocking reqwest client of the exporters. The SDK exports from its own threads, where no
/// Tokio reactor runs, so the async client cannot be used; building the blocking one inside
/// Tokio panics, so it is built on a plain thread.
fn http_client() -> Result<reqwest::blocking::Client, TelemetryError> {
    std::thread::spawn(|| {
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
    })
    .join()
    .map_err(|_| TelemetryError::HttpClient("client builder thread panicked".to_owned()))?
    .map_err(|e| TelemetryError::HttpClient(e.to_string()))
}

fn exporter_error(
    endpoint: &str,
) -> impl FnOnce(opentelemetry_otlp::ExporterBuildError) -> TelemetryError + '_ {
    move |source| TelemetryError::Exporter {
        endpoint: endpoint.to_owned(),
        source,
    }
}

fn metric_interval() -> Duration {
    std::env::var("OTEL_METRIC_EXPORT_INTERVAL")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map_or(DEFAULT_METRIC_INTERVAL, Duration::from_millis)
}

impl ServiceProviders {
    /// Builds the providers of `service`, exporting to the endpoints that are set.
    pub(super) fn build(service: Service, otlp: &OtlpEndpoints) -> Result<Self, TelemetryError> {
        let mut tracer = SdkTracerProvider::builder().with_resource(resource(service));
        if let Some(endpoint) = &otlp.traces {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_http_client(http_client()?)
                .with_protocol(Protocol::HttpBinary)
                .with_endpoint(endpoint)
                .build()
                .map_err(exporter_error(endpoint))?;
            tracer = tracer.with_batch_exporter(exporter);
        }
        let meter = match &otlp.metrics {
            Some(endpoint) => {
                let exporter = opentelemetry_otlp::MetricExporter::builder()
                    .with_http()
                    .with_http_client(http_client()?)
                    .with_protocol(Protocol::HttpBinary)
                    .with_endpoint(endpoint)
                    .build()
                    .map_err(exporter_error(endpoint))?;
                let reader = PeriodicReader::builder(exporter)
                    .with_interval(metric_interval())
                    .build();
                Some(
                    SdkMeterProvider::builder()
                        .with_resource(resource(service))
                        .with_reader(reader)
                        .build(),
                )
            }
            None => None,
        };
        let logger = match &otlp.logs {
            Some(endpoint) => {
                let exporter = opentelemetry_otlp::LogExporter::builder()
                    .with_http()
                    .with_http_client(http_client()?)
                    .with_protocol(Protocol::HttpBinary)
                    .with_endpoint(endpoint)
                    .build()
                    .map_err(exporter_error(endpoint))?;
                Some(
                    SdkLoggerProvider::builder()
                        .with_resource(resource(service))
                        .with_batch_exporter(exporter)
                        .build(),
                )
            }
            None => None,
        };
        Ok(Self {
            service,
            tracer: tracer.build(),
            meter,
            logger,
        })
    }

    /// Exports everything finished so far. Blocks.
    pub(super) fn force_flush(&self) {
        let service = self.service.name();
        if let Err(e) = self.tracer.force_flush() {
            tracing::warn!(service, "flushing spans failed: {e}");
        }
        if let Some(meter) = &self.meter
            && let Err(e) = meter.force_flush()
        {
            tracing::warn!(service, "flushing metrics failed: {e}");
        }
        if let Some(logger) = &self.logger
            && let Err(e) = logger.force_flush()
        {
            tracing::warn!(service, "flushing logs failed: {e}");
        }
    }

    /// Flushes and stops every provider. Blocks. Errors go to stderr: the subscriber may be
    /// the thing being shut down.
    pub(super) fn shutdown(self) {
        let service = self.service;
        let timeout = Duration::from_secs(5);
        if let Err(e) = self.tracer.shutdown_with_timeout(timeout) {
            eprintln!("targets: shutting down the {service} tracer failed: {e}");
        }
        if let Some(meter) = self.meter
            && let Err(e) = meter.shutdown_with_timeout(timeout)
        {
            eprintln!("targets: shutting down the {service} meter failed: {e}");
        }
        if let Some(logger) = self.logger
            && let Err(e) = logger.shutdown_with_timeout(timeout)
        {
            eprintln!("targets: shutting down the {service} logger failed: {e}");
        }
    }
}
