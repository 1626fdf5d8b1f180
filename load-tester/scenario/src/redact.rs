//! Secrets never leave in serialized form: values of headers such as `Authorization` are replaced.

use serde::Serializer;
use serde::ser::SerializeSeq;

/// The text that replaces a secret.
pub const REDACTED: &str = "[redacted]";

/// Whether a header's value is a secret (credentials, cookies, API keys).
pub fn is_secret_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie"
    ) || lower.contains("token")
        || lower.contains("secret")
        || lower.contains("api-key")
        || lower.contains("apikey")
        || lower.contains("password")
}

/// Serializes header pairs with secret values redacted.
pub fn serialize_headers<S: Serializer>(
    headers: &[(String, String)],
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut seq = s.serialize_seq(Some(headers.len()))?;
    for (name, value) in headers {
        let shown = if is_secret_header(name) {
            REDACTED
        } else {
            value.as_str()
        };
        seq.serialize_element(&(name, shown))?;
    }
    seq.end()
}
