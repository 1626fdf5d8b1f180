//! The two text formats `/metrics` answers in: the Prometheus text format (0.0.4, the default,
//! what `promtool check metrics` reads) and OpenMetrics 1.0 when the scraper's `Accept` asks for
//! it (Prometheus does), whose histogram buckets may carry exemplars (trace ids).
//!
//! Renderers write the Prometheus text form, naming counter families with their `_total`; for
//! OpenMetrics, [`Exposition::response`] renames those families (`# TYPE x counter` for samples
//! `x_total`) and ends the body with `# EOF`. Only the exemplars differ at render time.

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, header};

/// A text exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposition {
    /// `text/plain; version=0.0.4`.
    Text,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Exposition {
    /// OpenMetrics when `Accept` lists `application/openmetrics-text`, else the text format.
    pub fn negotiate(headers: &HeaderMap) -> Self {
        let wants_openmetrics = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|item| {
                let mut parts = item.split(';').map(str::trim);
                let media = parts.next().unwrap_or("");
                let refused = parts.any(|p| p.replace(' ', "") == "q=0");
                media.eq_ignore_ascii_case("application/openmetrics-text") && !refused
            });
        if wants_openmetrics {
            Self::OpenMetrics
        } else {
            Self::Text
        }
    }

    /// The response carrying `body` (rendered in this format) with its content type.
    pub fn response(self, body: String) -> Response {
        match self {
            Self::Text => (
                [(
                    header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                body,
            )
                .into_response(),
            Self::OpenMetrics => (
                [(
                    header::CONTENT_TYPE,
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                )],
                to_openmetrics(&body),
            )
                .into_response(),
        }
    }
}

/// Renames counter families to their OpenMetrics names and appends `# EOF`.
fn to_openmetrics(text: &str) -> String {
    let counters: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.strip_suffix(" counter"))
        .filter(|name| name.ends_with("_total"))
        .collect();
    let mut out = String::with_capacity(text.len() + 8);
    for line in text.lines() {
        let renamed = ["# TYPE ", "# HELP "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(&name)
                .then(|| format!("{prefix}{} {tail}", name.trim_end_matches("_total")))
        });
        match renamed {
            Some(line) => out.push_str(&line),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out.push_str("# EOF\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_from_accept() {
        let cases = [
            ("", Exposition::Text),
            ("text/plain", Exposition::Text),
            (
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                Exposition::OpenMetrics,
            ),
            ("application/openmetrics-text; q=0", Exposition::Text),
        ];
        for (accept, want) in cases {
            let mut headers = HeaderMap::new();
            if !accept.is_empty() {
                headers.insert(header::ACCEPT, accept.parse().unwrap());
            }
            assert_eq!(Exposition::negotiate(&headers), want, "{accept}");
        }
    }

    #[test]
    fn counters_lose_total_in_their_family_name_only() {
        let text = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 2\n# HELP b B.\n# TYPE b gauge\nb 1\n";
        assert_eq!(
            to_openmetrics(text),
            "# HELP a A.\n# TYPE a counter\na_total{x=\"1\"} 2\n# HELP b B.\n# TYPE b gauge\nb 1\n# EOF\n"
        );
    }
}
