//! The checks on URLs: the scenario's `target` and absolute endpoint paths must be http(s) URLs
//! with a host.

use super::reader::shorten;
use crate::address::canonical;

/// What a URL may carry after its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rest {
    /// A base URL: no `?query` or `#fragment`.
    BaseOnly,
    /// A request URL: a query is fine, a fragment is not.
    QueryAllowed,
}

/// Checks an http(s) URL; a base URL is returned without trailing slashes.
pub(crate) fn check_http_url(text: &str, rest: Rest) -> Result<String, String> {
    let shown = shorten(text);
    let lower = text.to_ascii_lowercase();
    let after_scheme = if lower.starts_with("http://") {
        text.get(7..)
    } else if lower.starts_with("https://") {
        text.get(8..)
    } else {
        None
    };
    let Some(after_scheme) = after_scheme else {
        return Err(format!("`{shown}` is not an http(s) URL"));
    };
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "`{shown}` must not contain spaces or control characters"
        ));
    }
    let authority_end = after_scheme
        .find(['/', '?', '#'])
        .unwrap_or(after_scheme.len());
    let authority = after_scheme.get(..authority_end).unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = split_port(host_port);
    if host.is_empty() {
        return Err(format!("`{shown}` has no host"));
    }
    if let Some(port) = port
        && port.parse::<u16>().is_err()
    {
        return Err(format!("`{shown}` has an invalid port `{}`", shorten(port)));
    }
    // The WHATWG parse decides what the client will use: a backslash, an encoded or numeric
    // host all come out here in the one form every later parse agrees with.
    let url =
        canonical(text).map_err(|reason| format!("`{shown}` is not a valid URL: {reason}"))?;
    match rest {
        Rest::BaseOnly if url.query().is_some() || url.fragment().is_some() => Err(format!(
            "`{shown}` must not have a query or fragment; put them on the endpoints"
        )),
        Rest::QueryAllowed if url.fragment().is_some() => {
            Err(format!("`{shown}` must not have a fragment (`#...`)"))
        }
        Rest::BaseOnly => Ok(url.as_str().trim_end_matches('/').to_string()),
        Rest::QueryAllowed => Ok(url.into()),
    }
}

/// `host:port` → (`host`, `port`), leaving IPv6 literals such as `[::1]` whole.
fn split_port(host_port: &str) -> (&str, Option<&str>) {
    if let Some(end) = host_port.rfind(']') {
        let (host, after) = host_port.split_at(end + 1);
        return (host, after.strip_prefix(':'));
    }
    match host_port.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (host_port, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_http_urls_and_drops_trailing_slashes() {
        let ok = |t| check_http_url(t, Rest::BaseOnly).unwrap();
        assert_eq!(ok("http://127.0.0.1:5001/"), "http://127.0.0.1:5001");
        assert_eq!(ok("HTTPS://example.com/api//"), "https://example.com/api");
        assert_eq!(
            ok("http://a.invalid\\@127.0.0.1/"),
            "http://a.invalid/@127.0.0.1"
        );
        assert_eq!(ok("http://0x7f.1:80"), "http://127.0.0.1");
        assert_eq!(ok("http://[::1]:8080"), "http://[::1]:8080");
        assert_eq!(ok("http://user@host"), "http://user@host");
    }

    #[test]
    fn refuses_other_urls_naming_them() {
        let err = |t| check_http_url(t, Rest::BaseOnly).unwrap_err();
        assert_eq!(err("ftp://x"), "`ftp://x` is not an http(s) URL");
        assert_eq!(
            err("localhost:5001"),
            "`localhost:5001` is not an http(s) URL"
        );
        assert_eq!(err("http://"), "`http://` has no host");
        assert_eq!(err("http://:80/"), "`http://:80/` has no host");
        assert_eq!(
            err("http://h:99999"),
            "`http://h:99999` has an invalid port `99999`"
        );
        assert!(err("http://h/?a=1").contains("query"));
        assert!(err("http://h /").contains("spaces"));
        assert!(check_http_url("http://h/a?b=1", Rest::QueryAllowed).is_ok());
    }
}
