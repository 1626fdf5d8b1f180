//! Trace ids as links: a template such as Grafana's Explore URL for the Tempo datasource, with
//! `{trace_id}` where the id goes. The panel (`trace_url` setting) and the report share it.

use crate::html::esc;

/// The placeholder a trace link template must contain.
pub const TRACE_ID_PLACEHOLDER: &str = "{trace_id}";

/// Why `template` cannot be a trace link template, if it cannot.
pub fn check_trace_url(template: &str) -> Result<(), String> {
    let rest = template
        .strip_prefix("https://")
        .or_else(|| template.strip_prefix("http://"));
    let host_ok = rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !host.contains(TRACE_ID_PLACEHOLDER)
    });
    if !host_ok {
        return Err(format!(
            "must be an http:// or https:// URL with a host, got `{template}`"
        ));
    }
    if template.chars().any(char::is_whitespace) {
        return Err(format!("must not contain spaces, got `{template}`"));
    }
    if !template.contains(TRACE_ID_PLACEHOLDER) {
        return Err(format!(
            "must contain {TRACE_ID_PLACEHOLDER} where the trace id goes, got `{template}`"
        ));
    }
    Ok(())
}

/// A trace id as report HTML: a link when a template is set (only hex ids are made links).
pub(crate) fn trace_link(id: &str, template: Option<&str>) -> String {
    match template {
        Some(t) if !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit()) => format!(
            "<a href=\"{}\" rel=\"noopener noreferrer\" target=\"_blank\"><code>{}</code></a>",
            esc(&t.replace(TRACE_ID_PLACEHOLDER, id)),
            esc(id)
        ),
        _ => format!("<code>{}</code>", esc(id)),
    }
}
