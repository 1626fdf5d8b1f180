//! Which `Host` names the server answers to: the defence against DNS rebinding.
//!
//! Reads are open to loopback clients, so a web page the user visits could otherwise rebind its
//! own name to 127.0.0.1 and read the API from the user's browser: the browser sends the page's
//! name as `Host`. A request whose `Host` is not a name of this server is refused with 421
//! before anything else looks at it. IP literals cannot be rebound, so when the server listens
//! on every address (`0.0.0.0`, `::`) any IP literal is answered; names must be listed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The names this server answers to.
#[derive(Debug, Clone)]
pub struct AllowedHosts {
    names: Arc<[String]>,
    bind: IpAddr,
}

impl AllowedHosts {
    /// `localhost`, the loopback addresses and the bind address, plus `extra` (the
    /// `allowed_hosts` setting; `*` answers any name).
    pub fn new(bind: SocketAddr, extra: &[String]) -> AllowedHosts {
        let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1"]
            .iter()
            .map(|s| s.to_string())
            .chain(extra.iter().map(|e| normalize(e)))
            .filter(|e| !e.is_empty())
            .collect();
        names.push(bind.ip().to_string());
        AllowedHosts {
            names: names.into(),
            bind: bind.ip(),
        }
    }

    /// Whether a `Host` header value (name or address, with or without a port) names us.
    pub fn allows(&self, host: &str) -> bool {
        let name = normalize(host);
        if self.names.iter().any(|n| n == "*" || *n == name) {
            return true;
        }
        match name.parse::<IpAddr>() {
            Ok(ip) => self.bind.is_unspecified() || ip == self.bind,
            Err(_) => false,
        }
    }

    fn listed(&self) -> String {
        self.names.join(", ")
    }
}

/// `host[:port]`, `[v6]:port` or `[v6]` → the bare lowercase name without a trailing dot.
fn normalize(host: &str) -> String {
    let host = host.trim();
    let bare = if let Some(v6) = host.strip_prefix('[') {
        v6.split_once(']').map_or(v6, |(ip, _)| ip)
    } else {
        match host.rsplit_once(':') {
            Some((name, port))
                if port.bytes().all(|b| b.is_ascii_digit()) && !name.contains(':') =>
            {
                name
            }
            _ => host,
        }
    };
    bare.trim_end_matches('.').to_ascii_lowercase()
}

/// Refuses (421) a request whose `Host` (or absolute-form authority) is not one of ours.
/// A request without either (not a browser's) is let through.
pub async fn guard(State(hosts): State<AllowedHosts>, req: Request, next: Next) -> Response {
    let given = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| {
            req.headers()
                .get(header::HOST)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        });
    match given {
        Some(host) if !hosts.allows(&host) => refuse(&hosts, &host),
        _ => next.run(req).await,
    }
}

fn refuse(hosts: &AllowedHosts, host: &str) -> Response {
    let shown: String = host.chars().take(200).collect();
    ApiError::new(
        StatusCode::MISDIRECTED_REQUEST,
        "host_not_allowed",
        format!(
            "Host `{shown}` is not a name of this server (it answers to: {}); behind a reverse proxy or under another name, add it to the allowed_hosts setting (LT_ALLOWED_HOSTS)",
            hosts.listed()
        ),
    )
    .with_details(serde_json::json!({ "host": shown }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt as _;

    use super::*;

    fn on(bind: &str, extra: &[&str]) -> AllowedHosts {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        AllowedHosts::new(bind.parse().unwrap(), &extra)
    }

    #[test]
    fn loopback_names_the_bind_address_and_listed_names_are_ours() {
        let hosts = on("127.0.0.1:8080", &["lt.example.com", "Proxy.Test."]);
        for ok in [
            "localhost",
            "LOCALHOST:8080",
            "localhost.:8080",
            "127.0.0.1:8080",
            "[::1]:8080",
            "[::1]",
            "lt.example.com",
            "proxy.test:443",
        ] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for refused in [
            "evil.test",
            "evil.test:8080",
            "localhost.evil.test",
            "127.0.0.1.evil.test:8080",
            "10.0.0.1:8080",
            "",
        ] {
            assert!(!hosts.allows(refused), "{refused}");
        }
    }

    #[test]
    fn listening_everywhere_answers_ip_literals_but_not_names() {
        let hosts = on("0.0.0.0:8080", &[]);
        assert!(hosts.allows("192.168.1.20:8080"));
        assert!(hosts.allows("[fe80::1]:8080"));
        assert!(!hosts.allows("rebind.evil.test:8080"));
        assert!(on("127.0.0.1:1", &["*"]).allows("anything.test"));
    }

    async fn call(host: Option<&str>) -> (StatusCode, String) {
        let app = Router::new()
            .route("/api/sessions", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn_with_state(
                on("127.0.0.1:8080", &[]),
                guard,
            ));
        let mut req = Request::builder().uri("/api/sessions");
        if let Some(host) = host {
            req = req.header(header::HOST, host);
        }
        let res = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn a_foreign_host_is_refused_with_421_in_the_error_shape() {
        let (status, body) = call(Some("rebind.evil.test:8080")).await;
        assert_eq!(status, StatusCode::MISDIRECTED_REQUEST);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["code"], "host_not_allowed");
        assert_eq!(v["details"]["host"], "rebind.evil.test:8080");
        assert!(v["message"].as_str().unwrap().contains("allowed_hosts"));
        assert_eq!(call(Some("localhost:8080")).await.0, StatusCode::OK);
        assert_eq!(call(None).await.0, StatusCode::OK);
    }
}
