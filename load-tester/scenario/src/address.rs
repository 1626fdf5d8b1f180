//! Where requests go: the one parse of a target and of each endpoint's path into the URL the HTTP
//! client sends to.
//!
//! URLs are parsed here once, by the WHATWG rules the HTTP client follows (the `url` crate), and
//! everything that judges or uses a request's destination (the control server's allow-list, the
//! engine's request plan) asks these functions. A check that parsed URLs its own way could be
//! fooled by text the client reads differently (`http://a.test\@127.0.0.1/` is host `a.test` to
//! the client).

pub use url::Url;

use crate::{Endpoint, Scenario};

/// The base URL of `target` (a validated scenario's target), with a trailing `/` so that paths
/// join below it.
pub fn base_url(target: &str) -> Result<Url, String> {
    Url::parse(&format!("{target}/")).map_err(|e| format!("target `{target}`: {e}"))
}

/// The URL `endpoint` is sent to under `base` (from [`base_url`]), with its query.
///
/// A path that starts with `/` stays on the target's host; an absolute http(s) URL names its
/// own. A relative path that would leave the target's origin (e.g. `/\\other.test/x`, which the
/// WHATWG rules read as `//other.test/x`) is refused.
pub fn endpoint_url(base: &Url, endpoint: &Endpoint) -> Result<Url, String> {
    let absolute = is_absolute(&endpoint.path);
    let mut url = if absolute {
        Url::parse(&endpoint.path)
    } else {
        base.join(endpoint.path.trim_start_matches('/'))
    }
    .map_err(|e| format!("path `{}`: {e}", endpoint.path))?;
    if !absolute && url.origin() != base.origin() {
        return Err(format!(
            "path `{}` leaves the target: it resolves to host `{}`; write an absolute URL to call another host",
            endpoint.path,
            host_of(&url)
        ));
    }
    if !endpoint.query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in &endpoint.query {
            pairs.append_pair(k, v);
        }
    }
    Ok(url)
}

/// Every destination of a scenario: its target, then each request's URL (endpoints, then flow
/// steps), in file order. A path with templates starts with `/` and stays on the target (values
/// are encoded as one path segment), so its outline is where it goes.
pub fn destinations(scenario: &Scenario) -> Result<Vec<Url>, String> {
    let base = base_url(&scenario.target)?;
    let mut out = vec![base.clone()];
    for request in scenario.requests() {
        out.push(endpoint_url(&base, request).map_err(|e| format!("{}: {e}", request.name))?);
    }
    Ok(out)
}

/// The host a client connects to, as text: a domain (lowercase, IDNA as punycode), an IPv4
/// address in dotted decimal, or an IPv6 address without brackets.
pub fn host_of(url: &Url) -> String {
    match url.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => String::new(),
    }
}

/// Whether `path` is an absolute http(s) URL rather than a path below the target.
pub(crate) fn is_absolute(path: &str) -> bool {
    let lower = path.get(..8).unwrap_or(path).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Parses an http(s) URL by the WHATWG rules and gives its serialization: the form every later
/// parse agrees with. The error is the reason alone, for the caller to put beside the text.
pub(crate) fn canonical(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("not an http(s) URL with a host".into());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(path: &str) -> Endpoint {
        Endpoint {
            name: "e".into(),
            method: crate::Method::Get,
            path: path.into(),
            query: vec![("q".into(), "a b".into())],
            headers: Vec::new(),
            body: None,
            timeout: std::time::Duration::from_secs(1),
            weight: 1.0,
            expect: None,
            check: None,
            description: None,
        }
    }

    #[test]
    fn flow_steps_are_destinations_too() {
        let yaml = "name: t\ntarget: http://127.0.0.1:5001\nflows:\n  - name: f\n    steps:\n      - { name: a, path: '/items/{{ uuid }}' }\n      - { name: b, path: 'http://other.test:9/x' }\n";
        let scenario = crate::parse("t.yaml", yaml).unwrap();
        let hosts: Vec<String> = destinations(&scenario)
            .unwrap()
            .iter()
            .map(|u| format!("{}:{}", host_of(u), u.port().unwrap_or(80)))
            .collect();
        assert_eq!(hosts, ["127.0.0.1:5001", "127.0.0.1:5001", "other.test:9"]);
    }

    #[test]
    fn paths_join_below_the_target_and_absolute_urls_stand_alone() {
        let base = base_url("http://127.0.0.1:5001/api").unwrap();
        let url = endpoint_url(&base, &endpoint("/products")).unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:5001/api/products?q=a+b");
        let url = endpoint_url(&base, &endpoint("http://other.invalid/x")).unwrap();
        assert_eq!(host_of(&url), "other.invalid");
    }

    #[test]
    fn a_relative_path_cannot_leave_the_target() {
        let base = base_url("http://127.0.0.1:5001").unwrap();
        for path in ["/\\\\evil.invalid/x", "/\\/evil.invalid/x"] {
            let e = endpoint_url(&base, &endpoint(path)).unwrap_err();
            assert!(e.contains("leaves the target"), "{path}: {e}");
            assert!(e.contains("evil.invalid"), "{path}: {e}");
        }
    }
}
