//! The middleware every request passes through: continues the caller's trace (`traceparent`,
//! `baggage`), opens the request span with the attributes the seeds ask for (`user_id`,
//! `operation_type`, `service_name`, `query_count`), builds the [`RequestContext`], marks 5xx
//! answers as span errors, adds an `x-trace-id` header, and records the metrics.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;
use tracing::Instrument;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::context::{RequestContext, USER_ID_HEADER, UserId};
use crate::metrics::Metrics;
use crate::query_counter::QueryCounter;
use crate::service::Service;
use crate::telemetry::propagation;

/// State of the [`observe`] middleware.
#[derive(Clone, Debug)]
pub struct Observer {
    /// The service answering.
    pub service: Service,
    /// Its metrics.
    pub metrics: Arc<Metrics>,
}

/// Response header carrying the request's trace id.
pub const TRACE_ID_HEADER: &str = "x-trace-id";

/// See the module documentation.
pub async fn observe(State(observer): State<Observer>, mut req: Request, next: Next) -> Response {
    let service = observer.service;
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let user_id = req
        .headers()
        .get(USER_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(UserId::parse);
    let parent = propagation::extract(req.headers());
    let incoming_trace = propagation::incoming_trace_id(req.headers());

    let span = crate::service_span!(
        service,
        "request",
        otel.name = format!("{method} {route}"),
        otel.kind = "server",
        otel.status_code = Empty,
        otel.status_message = Empty,
        http.request.method = method.as_str(),
        http.route = route.as_str(),
        http.response.status_code = Empty,
        service_name = service.name(),
        user_id = Empty,
        operation_type = Empty,
        query_count = Empty,
        trace_id = Empty,
        span_id = Empty,
    );
    if let Some(user) = &user_id {
        span.record("user_id", user.as_str());
    }
    // Without an OpenTelemetry layer there is nothing to parent; the request still works.
    let _ = span.set_parent(parent);

    observer.metrics.started();
    async move {
        let trace_id = propagation::current_trace_id()
            .or(incoming_trace)
            .unwrap_or_else(propagation::random_trace_id);
        let current = tracing::Span::current();
        current.record("trace_id", trace_id.as_str());
        if let Some(span_id) = propagation::current_span_id() {
            current.record("span_id", span_id.as_str());
        }
        let ctx = RequestContext {
            service,
            trace_id: trace_id.clone(),
            user_id,
            queries: QueryCounter::with_metrics(service, observer.metrics.clone()),
            started: Instant::now(),
        };
        let queries = ctx.queries.clone();
        let started = ctx.started;
        req.extensions_mut().insert(ctx);

        let mut response = next.run(req).await;

        let status = response.status();
        current.record("http.response.status_code", status.as_u16());
        current.record("query_count", queries.get());
        if status.is_server_error() {
            current.record("otel.status_code", "ERROR");
            tracing::warn!(
                status = status.as_u16(),
                route = route.as_str(),
                "request failed"
            );
        } else {
            tracing::debug!(
                status = status.as_u16(),
                route = route.as_str(),
                "request answered"
            );
        }
        if let Ok(value) = HeaderValue::from_str(&trace_id) {
            response.headers_mut().insert(TRACE_ID_HEADER, value);
        }
        observer.metrics.finished(
            &route,
            &method,
            status.as_u16(),
            started.elapsed(),
            queries.get(),
            &trace_id,
        );
        response
    }
    .instrument(span)
    .await
}
