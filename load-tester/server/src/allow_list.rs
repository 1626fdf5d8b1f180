//! Which hosts sessions may send load to.

use lt_scenario::address::{self, Url};

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

    /// Refuses (403) a scenario that would send a request to a host not on the list: its target
    /// or any endpoint's absolute URL. Hosts are read by [`lt_scenario::address`], the same parse
    /// the engine sends with, so what is judged here is where requests go.
    pub fn check_scenario(&self, scenario: &lt_scenario::Scenario) -> Result<(), ApiError> {
        let urls = lt_scenario::address::destinations(scenario)
            .map_err(|e| ApiError::invalid("invalid_target", e))?;
        urls.iter().try_for_each(|url| self.check(url))
    }

    /// Refuses (403) a URL whose host (or host:port) is not allowed.
    pub fn check(&self, url: &Url) -> Result<(), ApiError> {
        let host = address::host_of(url);
        let port = url.port_or_known_default();
        let allowed = self
            .entries
            .iter()
            .any(|e| e == "*" || *e == host || port.is_some_and(|p| *e == format!("{host}:{p}")));
        if allowed {
            return Ok(());
        }
        let shown = match port {
            Some(p) if host.contains(':') => format!("[{host}]:{p}"),
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "target_not_allowed",
            format!(
                "target `{url}`: requests would go to host `{shown}`, which is not on this server's allow-list (allowed_targets: {})",
                self.entries.join(", ")
            ),
        )
        .with_details(serde_json::json!({ "target": url.as_str(), "host": host, "port": port, "allowed": self.entries })))
    }
}

fn normalize(entry: &str) -> String {
    entry
        .trim_start_matches('[')
        .replace("]:", ":")
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

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
            assert!(list.check(&url(ok)).is_ok(), "{ok}");
        }
        for refused in [
            "http://example.com",
            "https://shop.test",
            "http://127.0.0.2:5001",
            "http://user@evil.test",
        ] {
            let e = list.check(&url(refused)).unwrap_err();
            assert_eq!(e.status, axum::http::StatusCode::FORBIDDEN, "{refused}");
            assert!(e.message.contains("allow-list"), "{}", e.message);
        }
        assert!(
            AllowList::new(&["*".into()])
                .check(&url("http://anything.test"))
                .is_ok()
        );
    }
}
