//! Which target service a piece of work belongs to.
//!
//! The services can run in one process (`targets all`, or the load tester's lab) and share the
//! database code, yet each one's spans must reach its own OpenTelemetry tracer (its own
//! `service.name`). Spans are routed by their `tracing` target, so every span is created through
//! [`service_span!`](crate::service_span) with the target of the service it belongs to.

use std::fmt;

/// A target service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    /// The EC app (port 5001).
    Ec,
    /// The distributed service (port 5002).
    Distributed,
    /// The Todo API (port 8000).
    Todo,
    /// The chaos service (port 8001; seed 004).
    Chaos,
}

impl Service {
    /// The `service.name` this service reports.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ec => "ec",
            Self::Distributed => "distributed",
            Self::Todo => "todo-api",
            Self::Chaos => "chaos",
        }
    }

    /// The `tracing` target prefix of every span this service creates.
    pub const fn span_target(self) -> &'static str {
        match self {
            Self::Ec => EC_TARGET,
            Self::Distributed => DISTRIBUTED_TARGET,
            Self::Todo => TODO_TARGET,
            Self::Chaos => CHAOS_TARGET,
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `tracing` target of the EC service's spans.
pub const EC_TARGET: &str = "targets::ec";
/// `tracing` target of the distributed service's spans.
pub const DISTRIBUTED_TARGET: &str = "targets::distributed";
/// `tracing` target of the Todo API's spans.
pub const TODO_TARGET: &str = "targets::todo";
/// `tracing` target of the chaos service's spans.
pub const CHAOS_TARGET: &str = "targets::chaos";

/// Creates an INFO span with the target of the given [`Service`].
///
/// `service_span!(service, "name", field = value, ...)`; the fields are those of
/// [`tracing::info_span!`].
#[macro_export]
#[doc(hidden)]
macro_rules! service_span {
    ($service:expr, $name:expr $(, $($fields:tt)*)?) => {
        match $service {
            $crate::service::Service::Ec => {
                ::tracing::info_span!(target: "targets::ec", $name $(, $($fields)*)?)
            }
            $crate::service::Service::Distributed => {
                ::tracing::info_span!(target: "targets::distributed", $name $(, $($fields)*)?)
            }
            $crate::service::Service::Todo => {
                ::tracing::info_span!(target: "targets::todo", $name $(, $($fields)*)?)
            }
            $crate::service::Service::Chaos => {
                ::tracing::info_span!(target: "targets::chaos", $name $(, $($fields)*)?)
            }
        }
    };
}
