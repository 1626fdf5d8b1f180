//! JSON log lines that carry the OpenTelemetry ids of the span they were written in: the
//! `tracing-subscriber` JSON line with `trace_id` and `span_id` first, the same ids the log
//! records exported over OTLP carry, so a line on stdout leads to its trace.

use std::fmt;

use opentelemetry::trace::TraceContextExt;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{Format, Json, JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent};
use tracing_subscriber::registry::LookupSpan;

/// Formats events as `tracing-subscriber` JSON plus `trace_id`/`span_id` of the current span
/// (its OpenTelemetry context is active while the span is entered).
#[derive(Debug)]
pub struct JsonWithTraceIds {
    inner: Format<Json>,
}

impl JsonWithTraceIds {
    /// Flattened fields, the span list, no current-span duplicate.
    pub fn new() -> Self {
        Self {
            inner: tracing_subscriber::fmt::format()
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(true),
        }
    }
}

impl Default for JsonWithTraceIds {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> FormatEvent<S, JsonFields> for JsonWithTraceIds
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        let cx = opentelemetry::Context::current();
        let span = cx.span();
        let sc = span.span_context();
        match line.strip_prefix('{') {
            Some(rest) if sc.is_valid() => write!(
                writer,
                "{{\"trace_id\":\"{}\",\"span_id\":\"{}\",{rest}",
                sc.trace_id(),
                sc.span_id()
            ),
            _ => writer.write_str(&line),
        }
    }
}
