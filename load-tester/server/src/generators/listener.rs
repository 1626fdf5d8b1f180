//! The generator listener: a TCP listener apart from the API's (its own address, none of the
//! API's limits, CORS or token). Each connection's first line is a generator's hello; a refused
//! one gets the reason and is closed, an admitted one goes to its session's coordinator, which
//! welcomes it once every generator of the session is there.

use std::sync::Arc;
use std::time::Duration;

use lt_protocol::{Handshake, Refused, decode_handshake, encode_handshake, negotiate};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::registry::{Joined, Registry};

/// How long a new connection has to say hello.
const HELLO_LIMIT: Duration = Duration::from_secs(10);
/// The longest hello line read.
const HELLO_MAX: u64 = 64 * 1024;

/// Binds the listener at `bind` (once; later calls keep the first) and serves it for good.
pub async fn ensure_listening(
    registry: &Arc<Registry>,
    bind: std::net::SocketAddr,
) -> std::io::Result<std::net::SocketAddr> {
    // One bind at a time: two sessions starting together must not race for the port.
    static BINDING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _guard = BINDING.lock().await;
    if let Some(addr) = *crate::session::lock(&registry.address) {
        return Ok(addr);
    }
    let listener = TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        tracing::warn!(
            %addr,
            "the generator listener is not on loopback and has no TLS yet: join tokens and \
             launches cross the network in clear text"
        );
    }
    *crate::session::lock(&registry.address) = Some(addr);
    tracing::info!(%addr, "generator listener");
    tokio::spawn(serve(listener, Arc::clone(registry)));
    Ok(addr)
}

async fn serve(listener: TcpListener, registry: Arc<Registry>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let registry = Arc::clone(&registry);
                tokio::spawn(async move {
                    if let Err(reason) = greet(stream, &registry).await {
                        tracing::warn!(%peer, "a generator was refused: {reason}");
                    }
                });
            }
            Err(e) => {
                tracing::warn!("accepting a generator: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Reads the hello and admits or refuses it; the error is the refusal's reason.
async fn greet(stream: TcpStream, registry: &Registry) -> Result<(), String> {
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut line = String::new();
    let got = tokio::time::timeout(
        HELLO_LIMIT,
        (&mut read).take(HELLO_MAX).read_line(&mut line),
    )
    .await;
    let checked = match got {
        Err(_) => Err(format!("no hello within {HELLO_LIMIT:?}")),
        Ok(Err(e)) => Err(format!("reading the hello: {e}")),
        Ok(Ok(_)) => match decode_handshake(line.trim_end()) {
            Ok(Handshake::Hello(hello)) => negotiate(&hello.versions).and_then(|version| {
                registry
                    .admit(&hello)
                    .map(|(session, to)| (session, to, hello.index, version))
            }),
            Ok(_) => Err("the first line must be a hello".to_string()),
            Err(e) => Err(format!("the first line is not a hello: {e}")),
        },
    };
    match checked {
        Ok((session, to, index, version)) => {
            tracing::info!(session = %session, index, "a generator joined");
            let joined = Joined {
                index,
                version,
                read,
                write,
            };
            if to.send(joined).is_err() {
                tracing::warn!(session = %session, index, "the session ended as a generator joined");
            }
            Ok(())
        }
        Err(reason) => {
            let refusal = Handshake::Refused(Refused {
                reason: reason.clone(),
            });
            let _ = write.write_all(encode_handshake(&refusal).as_bytes()).await;
            let _ = write.shutdown().await;
            Err(reason)
        }
    }
}
