//! The sessions waiting for their network generators, and the checks a generator's hello passes
//! before its connection is handed to the session's coordinator.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;

use base64::Engine as _;
use lt_protocol::Hello;
use tokio::io::{AsyncRead, AsyncWrite, BufReader, ReadHalf, WriteHalf};
use tokio::sync::mpsc;

use crate::auth::Token;
use crate::session::lock;

/// A generator's connection: TCP, or TLS over TCP.
pub trait Connection: AsyncRead + AsyncWrite + Send + Unpin + std::fmt::Debug {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + std::fmt::Debug> Connection for T {}

/// What the coordinator reads from a generator.
pub type GeneratorRead = BufReader<ReadHalf<Box<dyn Connection>>>;
/// What the coordinator writes to a generator.
pub type GeneratorWrite = WriteHalf<Box<dyn Connection>>;

/// A generator that passed the checks, with its connection.
#[derive(Debug)]
pub struct Joined {
    pub index: u32,
    pub version: u32,
    pub read: GeneratorRead,
    pub write: GeneratorWrite,
}

/// A session's join: its token (as a hash), how many generators, which have joined.
#[derive(Debug)]
struct Expected {
    token: Token,
    count: u32,
    joined: Vec<bool>,
    to_coordinator: mpsc::UnboundedSender<Joined>,
}

impl Expected {
    fn new(token: &str, count: u32, to_coordinator: mpsc::UnboundedSender<Joined>) -> Expected {
        Expected {
            token: Token::from_secret(token),
            count,
            joined: vec![false; count as usize],
            to_coordinator,
        }
    }
}

/// Every session that takes network generators, by id.
#[derive(Debug, Default)]
pub struct Registry {
    sessions: Mutex<HashMap<String, Expected>>,
    /// Where the listener listens, once it does.
    pub address: Mutex<Option<SocketAddr>>,
}

/// A new join token: 32 random bytes, base64url. The secret goes to the launcher only; the
/// registry keeps its hash.
pub fn new_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

impl Registry {
    /// Opens session `id` to `count` generators holding `token`; joins go to the receiver.
    pub fn expect(&self, id: &str, token: &str, count: u32) -> mpsc::UnboundedReceiver<Joined> {
        let (tx, rx) = mpsc::unbounded_channel();
        lock(&self.sessions).insert(id.to_string(), Expected::new(token, count, tx));
        rx
    }

    /// Like [`Registry::expect`], unless another session still waits for generators holding
    /// the same `token` (their hellos could not tell the two apart): then that session's id.
    pub fn expect_alone(
        &self,
        id: &str,
        token: &str,
        count: u32,
    ) -> Result<mpsc::UnboundedReceiver<Joined>, String> {
        let mut sessions = lock(&self.sessions);
        if let Some((other, _)) = sessions
            .iter()
            .find(|(_, e)| !e.joined.iter().all(|j| *j) && e.token.matches(token))
        {
            return Err(other.clone());
        }
        let (tx, rx) = mpsc::unbounded_channel();
        sessions.insert(id.to_string(), Expected::new(token, count, tx));
        Ok(rx)
    }

    /// Closes session `id` to generators (it started, or ended).
    pub fn close(&self, id: &str) {
        lock(&self.sessions).remove(id);
    }

    /// Checks a hello: a running session (by id, or the one whose token it holds), its token
    /// (compared in constant time), an index in range and not yet connected. The error is the
    /// refusal's reason; it never contains the token.
    pub fn admit(&self, hello: &Hello) -> Result<(String, mpsc::UnboundedSender<Joined>), String> {
        let mut sessions = lock(&self.sessions);
        let id = match &hello.session {
            Some(id) => {
                if !sessions.contains_key(id) {
                    return Err(format!("session {id} is not running"));
                }
                id.clone()
            }
            // Without an id, the token names the session: every session's hash is compared, and
            // one still waiting for generators goes first (the external launcher's token is
            // the same for every session; only one session waits for it at a time).
            None => {
                let mut holding: Vec<(&String, &Expected)> = sessions
                    .iter()
                    .filter(|(_, e)| e.token.matches(&hello.token))
                    .collect();
                holding.sort_by_key(|(_, e)| e.joined.iter().all(|j| *j));
                holding
                    .first()
                    .map(|(id, _)| (*id).clone())
                    .ok_or_else(|| "wrong token: no running session has it".to_string())?
            }
        };
        let Some(expected) = sessions.get_mut(&id) else {
            return Err(format!("session {id} is not running"));
        };
        if !expected.token.matches(&hello.token) {
            return Err(format!("wrong token for session {id}"));
        }
        if hello.index >= expected.count {
            return Err(format!(
                "generator index {} is out of range: session {id} has {} generators (0 to {})",
                hello.index,
                expected.count,
                expected.count - 1
            ));
        }
        let slot = &mut expected.joined[hello.index as usize];
        if *slot {
            return Err(format!(
                "generator index {} is already connected",
                hello.index
            ));
        }
        *slot = true;
        Ok((id, expected.to_coordinator.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(session: Option<&str>, index: u32, token: &str) -> Hello {
        Hello {
            versions: vec![lt_protocol::PROTOCOL_VERSION],
            session: session.map(str::to_string),
            index,
            token: token.to_string(),
            clock_ms: 0,
        }
    }

    #[test]
    fn a_hello_is_admitted_once_with_the_right_token_and_index() {
        let registry = Registry::default();
        let token = new_token();
        assert_eq!(token.len(), 43);
        let _rx = registry.expect("s1", &token, 3);
        assert!(registry.admit(&hello(Some("s1"), 0, &token)).is_ok());
        assert_eq!(
            registry.admit(&hello(Some("s1"), 0, &token)).unwrap_err(),
            "generator index 0 is already connected"
        );
        assert_eq!(
            registry.admit(&hello(Some("s1"), 1, "nope")).unwrap_err(),
            "wrong token for session s1"
        );
        assert!(
            registry
                .admit(&hello(Some("s1"), 3, &token))
                .unwrap_err()
                .contains("out of range")
        );
        assert_eq!(
            registry.admit(&hello(Some("s2"), 0, &token)).unwrap_err(),
            "session s2 is not running"
        );
        // Without an id, the token finds its session.
        assert_eq!(registry.admit(&hello(None, 2, &token)).unwrap().0, "s1");
        assert!(registry.admit(&hello(None, 1, "nope")).is_err());
        registry.close("s1");
        assert!(registry.admit(&hello(Some("s1"), 1, &token)).is_err());
    }

    #[test]
    fn a_shared_token_finds_the_session_still_waiting() {
        let registry = Registry::default();
        let token = new_token();
        let _a = registry.expect_alone("a", &token, 1).unwrap();
        assert_eq!(registry.expect_alone("b", &token, 2).unwrap_err(), "a");
        assert_eq!(registry.admit(&hello(None, 0, &token)).unwrap().0, "a");
        // `a` has all its generators: `b` may wait for the same token, and gets the hellos.
        let _b = registry.expect_alone("b", &token, 2).unwrap();
        assert_eq!(registry.admit(&hello(None, 0, &token)).unwrap().0, "b");
        assert_eq!(registry.expect_alone("c", &token, 1).unwrap_err(), "b");
        assert!(registry.expect_alone("c", &new_token(), 1).is_ok());
    }
}
