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

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("buffer").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_carry_the_ids_of_the_span_they_are_written_in() {
        let provider = SdkTracerProvider::builder().build();
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")))
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .event_format(JsonWithTraceIds::new())
                    .with_writer(move || writer.clone()),
            );
        let (trace_id, span_id) = tracing::subscriber::with_default(subscriber, || {
            tracing::info!("outside");
            let span = tracing::info_span!("request");
            let _entered = span.enter();
            tracing::info!(answer = 42, "inside");
            let cx = span.context();
            let otel = cx.span();
            let sc = otel.span_context();
            (sc.trace_id().to_string(), sc.span_id().to_string())
        });
        let text = String::from_utf8(buffer.0.lock().expect("buffer").clone()).expect("utf-8");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].get("trace_id").is_none(), "{text}");
        assert_eq!(lines[1]["trace_id"], trace_id.as_str());
        assert_eq!(lines[1]["span_id"], span_id.as_str());
        assert_eq!(lines[1]["answer"], 42);
        assert_eq!(lines[1]["message"], "inside");
    }
}
