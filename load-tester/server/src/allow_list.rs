//! Which hosts sessions may send load to.

use crate::error::ApiError;

/// Hosts (or host:port) the operator allows; `*` allows any.
#[derive(Debug, Clone)]
pub struct AllowList {
    entries: Vec<String>,
}

impl AllowList {
    pub fn new(entries: &[String]) -> AllowList {
        AllowList {
            entries: entries
                .iter()
                .map(|e| normalize(e.trim()))
                .filter(|e| !e.is_empty())
                .collect(),
        }
    }

    /// Adds the bundled targets' host:port.
    pub fn allow(&mut self, entry: &str) {
        self.entries.push(normalize(entry));
    }

    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// Refuses (403) a target URL whose host is not allowed.
    pub fn check(&self, target: &str) -> Result<(), ApiError> {
        let (host, port) = host_and_port(target);
        let allowed = self.entries.iter().any(|e| {
            e == "*" || *e == host || port.as_ref().is_some_and(|p| *e == format!("{host}:{p}"))
        });
        if allowed {
            return Ok(());
        }
        Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "target_not_allowed",
            format!(
                "target `{target}`: host `{host}` is not on this server's allow-list (allowed_targets: {})",
                self.entries.join(", ")
            ),
        )
        .with_details(serde_json::json!({ "target": target, "host": host, "allowed": self.entries })))
    }
}

fn normalize(entry: &str) -> String {
    entry
        .trim_start_matches('[')
        .replace("]:", ":")
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

/// The host (lowercase, IPv6 without brackets) and explicit-or-default port of an http(s) URL.
fn host_and_port(url: &str) -> (String, Option<String>) {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let default_port = if scheme.eq_ignore_ascii_case("https") {
        "443"
    } else {
        "80"
    };
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').unwrap_or((v6, ""));
        let port = after.strip_prefix(':').unwrap_or(default_port);
        return (host.to_ascii_lowercase(), Some(port.to_string()));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => (host.to_ascii_lowercase(), Some(port.to_string())),
        None => (
            authority.to_ascii_lowercase(),
            Some(default_port.to_string()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_host_ports_are_matched() {
        let list = AllowList::new(&[
            "localhost".into(),
            "127.0.0.1".into(),
            "::1".into(),
            "shop.test:8443".into(),
        ]);
        for ok in [
            "http://127.0.0.1:5001",
            "http://LOCALHOST/x",
            "http://[::1]:9000",
            "https://shop.test:8443/api",
        ] {
            assert!(list.check(ok).is_ok(), "{ok}");
        }
        for refused in [
            "http://example.com",
            "https://shop.test",
            "http://127.0.0.2:5001",
            "http://user@evil.test",
        ] {
            let e = list.check(refused).unwrap_err();
            assert_eq!(e.status, axum::http::StatusCode::FORBIDDEN, "{refused}");
            assert!(e.message.contains("allow-list"), "{}", e.message);
        }
        assert!(
            AllowList::new(&["*".into()])
                .check("http://anything.test")
                .is_ok()
        );
    }
}
