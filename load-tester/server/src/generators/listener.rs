//! The generator listener: a TCP listener apart from the API's (its own address, none of the
//! API's limits, CORS or token), speaking TLS when `[generators.tls]` gives it a certificate.
//! Each connection's first line is a generator's hello; a refused one gets the reason and is
//! closed, an admitted one goes to its session's coordinator, which welcomes it once every
//! generator of the session is there.

use std::sync::Arc;
use std::time::Duration;

use lt_protocol::{Handshake, Refused, decode_handshake, encode_handshake, negotiate};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use super::registry::{Connection, Joined, Registry};
use super::settings::GeneratorSettings;

/// How long a new connection has to say hello (and, with TLS, to shake hands first).
const HELLO_LIMIT: Duration = Duration::from_secs(10);
/// The longest hello line read.
const HELLO_MAX: u64 = 64 * 1024;
/// The first byte of a TLS client's first record (a handshake); a clear-text hello starts `{`.
const TLS_HANDSHAKE: u8 = 0x16;

/// Binds the listener at `settings.bind` (once; later calls keep the first), with TLS when
/// `settings.tls` says so, and serves it for good. The error names the setting at fault.
pub async fn ensure_listening(
    registry: &Arc<Registry>,
    settings: &GeneratorSettings,
) -> Result<std::net::SocketAddr, String> {
    // One bind at a time: two sessions starting together must not race for the port.
    static BINDING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _guard = BINDING.lock().await;
    if let Some(addr) = *crate::session::lock(&registry.address) {
        return Ok(addr);
    }
    let acceptor = super::tls::acceptor(&settings.tls).map_err(|e| e.to_string())?;
    let listener = TcpListener::bind(settings.bind)
        .await
        .map_err(|e| format!("generators.bind {}: {e}", settings.bind))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("generators.bind {}: {e}", settings.bind))?;
    if acceptor.is_none() && !addr.ip().is_loopback() {
        tracing::warn!(
            %addr,
            "the generator listener is not on loopback and has no TLS ([generators.tls]): join \
             tokens and launches cross the network in clear text"
        );
    }
    *crate::session::lock(&registry.address) = Some(addr);
    tracing::info!(%addr, tls = acceptor.is_some(), "generator listener");
    tokio::spawn(serve(listener, acceptor, Arc::clone(registry)));
    Ok(addr)
}

async fn serve(listener: TcpListener, acceptor: Option<TlsAcceptor>, registry: Arc<Registry>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let registry = Arc::clone(&registry);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Err(reason) = greet(stream, acceptor.as_ref(), &registry).await {
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

/// The connection, through TLS when the listener has it, and the reason it will be refused
/// whatever its hello says. A generator dialing in clear text a TLS listener is refused in clear
/// text (after its hello is read), so it can read why; one dialing TLS a clear-text listener
/// cannot read a refusal and is only closed (its own TLS error says the rest).
async fn open(
    stream: TcpStream,
    acceptor: Option<&TlsAcceptor>,
) -> Result<(Box<dyn Connection>, Option<String>), String> {
    let _ = stream.set_nodelay(true);
    let mut first = [0u8; 1];
    let tls_hello = match tokio::time::timeout(HELLO_LIMIT, stream.peek(&mut first)).await {
        Err(_) => return Err(format!("no hello within {HELLO_LIMIT:?}")),
        Ok(Err(e)) => return Err(format!("reading the hello: {e}")),
        Ok(Ok(0)) => return Err("the connection closed before a hello".into()),
        Ok(Ok(_)) => first[0] == TLS_HANDSHAKE,
    };
    match (acceptor, tls_hello) {
        (None, false) => Ok((Box::new(stream), None)),
        (Some(acceptor), true) => {
            match tokio::time::timeout(HELLO_LIMIT, acceptor.accept(stream)).await {
                Err(_) => Err(format!("no TLS handshake within {HELLO_LIMIT:?}")),
                Ok(Err(e)) => Err(format!("the TLS handshake failed: {e}")),
                Ok(Ok(tls)) => Ok((Box::new(tls), None)),
            }
        }
        (Some(_), false) => Ok((
            Box::new(stream),
            Some(
                "this generator listener speaks TLS: dial it with tls://HOST:PORT (a clear-text \
                 generator, tcp://, was refused)"
                    .into(),
            ),
        )),
        (None, true) => Err(
            "a generator dialed with TLS, but this generator listener is clear text: dial it \
             with tcp://HOST:PORT, or set [generators.tls] on the server"
                .into(),
        ),
    }
}

/// Reads the hello and admits or refuses it; the error is the refusal's reason.
async fn greet(
    stream: TcpStream,
    acceptor: Option<&TlsAcceptor>,
    registry: &Registry,
) -> Result<(), String> {
    let (connection, refused) = open(stream, acceptor).await?;
    let (read, mut write) = tokio::io::split(connection);
    let mut read = BufReader::new(read);
    let mut line = String::new();
    let got = tokio::time::timeout(
        HELLO_LIMIT,
        (&mut read).take(HELLO_MAX).read_line(&mut line),
    )
    .await;
    let checked = match (refused, got) {
        (Some(reason), _) => Err(reason),
        (None, Err(_)) => Err(format!("no hello within {HELLO_LIMIT:?}")),
        (None, Ok(Err(e))) => Err(format!("reading the hello: {e}")),
        (None, Ok(Ok(_))) => match decode_handshake(line.trim_end()) {
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
            refuse(&mut write, &reason).await;
            Err(reason)
        }
    }
}

/// Sends the refusal and closes.
async fn refuse(mut write: impl tokio::io::AsyncWrite + Unpin, reason: &str) {
    let refusal = Handshake::Refused(Refused {
        reason: reason.to_string(),
    });
    let _ = write.write_all(encode_handshake(&refusal).as_bytes()).await;
    let _ = write.shutdown().await;
}
