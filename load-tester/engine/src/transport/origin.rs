//! One origin (scheme, host, port): how to reach it, its `Host` header, and its idle
//! connections.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::HeaderValue;
use http_body_util::Full;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use lt_scenario::address::Url;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;

use super::{TransportError, chain};

/// A connection's sending half.
pub type Sender = http1::SendRequest<Full<Bytes>>;

/// The most idle connections kept per origin; more are closed.
const MAX_IDLE: usize = 4096;

/// What tells origins apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OriginKey {
    https: bool,
    host: String,
    port: u16,
}

impl OriginKey {
    pub fn of(url: &Url) -> Result<Self, String> {
        let https = match url.scheme() {
            "http" => false,
            "https" => true,
            other => return Err(format!("scheme `{other}` is not http or https")),
        };
        let host = url
            .host_str()
            .ok_or_else(|| "the URL has no host".to_string())?
            .to_string();
        let port = url
            .port_or_known_default()
            .ok_or_else(|| "the URL has no port".to_string())?;
        Ok(OriginKey { https, host, port })
    }
}

/// Where connections go.
#[derive(Debug)]
enum Address {
    Ip(SocketAddr),
    /// A name, resolved when a connection is opened.
    Name(String, u16),
}

#[derive(Debug)]
pub struct Origin {
    key: OriginKey,
    address: Address,
    host_header: HeaderValue,
    server_name: ServerName<'static>,
    idle: Mutex<Vec<Sender>>,
}

impl Origin {
    pub fn new(key: OriginKey, url: &Url) -> Result<Self, TransportError> {
        // The host only: the rest of the URL may hold environment values.
        let host = url.host_str().unwrap_or_default();
        let invalid = |what: &str| TransportError::Invalid(format!("{what} `{host}`"));
        let (address, server_name) = match url.host() {
            Some(url::Host::Ipv4(ip)) => (
                Address::Ip(SocketAddr::new(ip.into(), key.port)),
                ServerName::IpAddress(std::net::IpAddr::from(ip).into()),
            ),
            Some(url::Host::Ipv6(ip)) => (
                Address::Ip(SocketAddr::new(ip.into(), key.port)),
                ServerName::IpAddress(std::net::IpAddr::from(ip).into()),
            ),
            Some(url::Host::Domain(name)) => (
                Address::Name(name.to_string(), key.port),
                ServerName::try_from(name.to_string())
                    .map_err(|_| invalid("TLS cannot use the host name"))?,
            ),
            None => return Err(invalid("the URL has no host")),
        };
        // `Host`: the host, and the port unless it is the scheme's own.
        let host_port = match url.port() {
            Some(port) => format!("{}:{port}", key.host),
            None => key.host.clone(),
        };
        let host_header =
            HeaderValue::from_str(&host_port).map_err(|_| invalid("a Host header cannot carry"))?;
        Ok(Origin {
            key,
            address,
            host_header,
            server_name,
            idle: Mutex::new(Vec::new()),
        })
    }

    pub fn host_header(&self) -> &HeaderValue {
        &self.host_header
    }

    /// The most recently used idle connection that is still open, if any.
    pub async fn take_ready(&self) -> Option<Sender> {
        loop {
            let mut sender = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()?;
            // Closed by the target while idle: dropped, and the next one tried.
            if sender.ready().await.is_ok() {
                return Some(sender);
            }
        }
    }

    /// Keeps `sender` for the next request, unless its connection is closed.
    pub fn put(&self, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(sender);
        }
    }

    /// Opens a connection (TCP, then TLS for `https`) and starts driving it.
    pub async fn connect(
        &self,
        tls: Option<&Arc<rustls::ClientConfig>>,
    ) -> Result<Sender, TransportError> {
        let refused = |e: std::io::Error| TransportError::Connect(e.to_string());
        let tcp = match &self.address {
            Address::Ip(addr) => TcpStream::connect(addr).await,
            Address::Name(name, port) => TcpStream::connect((name.as_str(), *port)).await,
        }
        .map_err(refused)?;
        // Requests are written whole: no reason to wait for more bytes before sending them.
        let _ = tcp.set_nodelay(true);
        if !self.key.https {
            return handshake(TokioIo::new(tcp)).await;
        }
        let Some(config) = tls else {
            return Err(TransportError::Connect(
                "TLS is not set up for this run".to_string(),
            ));
        };
        let stream = tokio_rustls::TlsConnector::from(Arc::clone(config))
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|e| TransportError::Connect(format!("TLS handshake: {}", chain(&e))))?;
        handshake(TokioIo::new(stream)).await
    }
}

/// The HTTP/1.1 handshake on `io`; the connection is driven by a task of its own until it
/// closes.
async fn handshake<T>(io: T) -> Result<Sender, TransportError>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, connection) = http1::handshake(io)
        .await
        .map_err(|e| TransportError::Connect(chain(&e)))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}
