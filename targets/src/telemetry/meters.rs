//! Where services get their OpenTelemetry [`Meter`]: [`meter`] returns the meter of the
//! service's own meter provider (its resource names the service) once [`init`](super::init) or
//! [`otel_layer`](super::otel_layer) set one up with a metrics endpoint, and otherwise the
//! global provider's meter (a no-op unless the process installed one), so instruments can
//! always be created and recording never fails.

use std::collections::HashMap;
use std::sync::{OnceLock, PoisonError, RwLock};

use opentelemetry::InstrumentationScope;
use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry_sdk::metrics::SdkMeterProvider;

use crate::service::Service;

/// Instrumentation scope of every instrument of the target services.
pub const SCOPE: &str = "targets";

fn registry() -> &'static RwLock<HashMap<Service, SdkMeterProvider>> {
    static PROVIDERS: OnceLock<RwLock<HashMap<Service, SdkMeterProvider>>> = OnceLock::new();
    PROVIDERS.get_or_init(RwLock::default)
}

fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(SCOPE)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

/// The meter `service` records its instruments with. Create instruments after telemetry is set
/// up (the binary does so before building any router); instruments created before record into
/// the no-op meter.
pub fn meter(service: Service) -> Meter {
    let providers = registry().read().unwrap_or_else(PoisonError::into_inner);
    match providers.get(&service) {
        Some(provider) => provider.meter_with_scope(scope()),
        None => opentelemetry::global::meter_provider().meter_with_scope(scope()),
    }
}

pub(super) fn register(service: Service, provider: SdkMeterProvider) {
    registry()
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(service, provider);
}

pub(super) fn unregister(service: Service) {
    registry()
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&service);
}
