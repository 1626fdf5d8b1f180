//! How a network generator reaches its coordinator: `tcp://HOST:PORT` in clear text, or
//! `tls://HOST:PORT` checking the listener's certificate against the system's authorities plus
//! `--ca-file` (the engine's TLS client setup, without ALPN), for the name `HOST`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// How long dialing the coordinator is retried (the listener may still be binding).
const DIAL_LIMIT: Duration = Duration::from_secs(10);

/// The link to the coordinator: TCP, or TLS over TCP.
pub trait Connection: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> Connection for T {}

/// Where and how to dial, from `--connect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `HOST:PORT`.
    pub address: String,
    /// The name the certificate must hold (a DNS name or an IP address).
    pub host: String,
    pub tls: bool,
}

/// `--connect`: `tcp://HOST:PORT`, `tls://HOST:PORT` or `HOST:PORT` (clear text).
pub fn target_of(url: &str) -> Result<Target, String> {
    let (tls, rest) = if let Some(rest) = url.strip_prefix("tls://") {
        (true, rest)
    } else {
        (false, url.strip_prefix("tcp://").unwrap_or(url))
    };
    if rest.contains("://") {
        return Err(
            "the coordinator's address is `tcp://HOST:PORT`, `tls://HOST:PORT` or `HOST:PORT`"
                .into(),
        );
    }
    let rest = rest.trim_end_matches('/');
    match rest.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(Target {
            address: rest.to_string(),
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            tls,
        }),
        _ => Err("expected HOST:PORT, such as 127.0.0.1:8081".into()),
    }
}

/// The TLS client of a `tls://` target: the system's authorities plus those of `ca_file`.
pub fn tls_connector(ca_file: Option<&Path>) -> Result<TlsConnector, String> {
    let (certs, source) = match ca_file {
        None => (Vec::new(), String::new()),
        Some(path) => {
            let shown = path.display().to_string();
            let bytes = std::fs::read(path)
                .map_err(|e| format!("--ca-file {shown} cannot be read: {e}"))?;
            let certs = lt_scenario::tls_options::ca_certificates(&shown, &bytes)
                .map_err(|e| format!("--ca-file: {e}"))?;
            (certs, format!("--ca-file `{shown}`"))
        }
    };
    let config = lt_engine::verifying_tls_config(&certs, &source)?;
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Dials `target` (retrying a refused connection for a while) and, for `tls://`, shakes hands.
/// The error says what failed, and for TLS what to check.
pub async fn dial(
    target: &Target,
    tls: Option<&TlsConnector>,
) -> Result<Box<dyn Connection>, String> {
    let address = &target.address;
    let deadline = tokio::time::Instant::now() + DIAL_LIMIT;
    let stream = loop {
        match TcpStream::connect(address).await {
            Ok(s) => break s,
            Err(e) if tokio::time::Instant::now() >= deadline => {
                return Err(format!("connecting to the coordinator at {address}: {e}"));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    let _ = stream.set_nodelay(true);
    let Some(connector) = tls else {
        return Ok(Box::new(stream));
    };
    let name = ServerName::try_from(target.host.clone())
        .map_err(|e| format!("--connect: `{}` is not a host name: {e}", target.host))?;
    match connector.connect(name, stream).await {
        Ok(tls) => Ok(Box::new(tls)),
        Err(e) => {
            let text = e.to_string();
            let hint = if text.contains("certificate") {
                " (the coordinator's certificate is not trusted for this name: give its \
                 authority with --ca-file or LT_GENERATOR_CA_FILE, and dial a name the \
                 certificate holds)"
            } else {
                " (is the coordinator's generator listener clear text? dial it with tcp://)"
            };
            Err(format!(
                "TLS with the coordinator at {address} failed: {text}{hint}"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coordinator_address_is_host_and_port() {
        let clear = target_of("tcp://127.0.0.1:8081").unwrap();
        assert_eq!(clear.address, "127.0.0.1:8081");
        assert!(!clear.tls);
        assert_eq!(
            target_of("lt.example:9000").unwrap().address,
            "lt.example:9000"
        );
        let tls = target_of("tls://lt.example:9000/").unwrap();
        assert_eq!(
            tls,
            Target {
                address: "lt.example:9000".into(),
                host: "lt.example".into(),
                tls: true
            }
        );
        assert_eq!(target_of("tls://[::1]:8081").unwrap().host, "::1");
        assert!(target_of("http://x:1").is_err());
        assert!(target_of("localhost").is_err());
        assert!(target_of("tcp://:80").is_err());
    }

    #[test]
    fn a_ca_file_that_is_not_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let e = tls_connector(Some(&path)).err().unwrap();
        assert!(e.starts_with("--ca-file: CA file"), "{e}");
        assert!(e.contains("holds no certificate"), "{e}");
        assert!(
            tls_connector(Some(&dir.path().join("nope.pem")))
                .err()
                .unwrap()
                .contains("cannot be read")
        );
        assert!(tls_connector(None).is_ok());
    }
}
