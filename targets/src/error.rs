//! Errors of starting the target services; each names the value at fault.

use std::net::SocketAddr;

/// Starting a service or the lab failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Opening, migrating or seeding the database failed.
    #[error(transparent)]
    Database(#[from] crate::db::OpenError),
    /// The listen address is taken or not allowed.
    #[error("cannot listen on {addr}: {source}{hint}", hint = bind_hint(source))]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The distributed service URL is unusable.
    #[error(transparent)]
    DistributedClient(#[from] crate::ec::distributed_client::ClientError),
    /// The chaos service's store settings are unusable.
    #[error(transparent)]
    Chaos(#[from] crate::chaos::ChaosError),
    /// A server task failed.
    #[error("the {service} server failed: {source}")]
    Serve {
        /// Which service.
        service: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn bind_hint(source: &std::io::Error) -> &'static str {
    match source.kind() {
        std::io::ErrorKind::AddrInUse => {
            " (is another process using this port? pick another with --port)"
        }
        std::io::ErrorKind::PermissionDenied => " (ports below 1024 need privileges)",
        _ => "",
    }
}

/// Binds a TCP listener on `addr`, naming it in the error.
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, Error> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })
}
