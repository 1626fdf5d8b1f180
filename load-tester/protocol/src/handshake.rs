//! How a generator joins a session over the network (see `docs/distributed.md`): it says
//! [`Hello`] with the versions it speaks and the session's token; the coordinator answers
//! [`Welcome`] (the version picked, the generator's segment, the launch, when to start) or
//! [`Refused`] with a reason that names the problem, and closes.

use serde::{Deserialize, Serialize};

use crate::{DecodeError, Launch, PROTOCOL_VERSION};

/// The versions this side speaks, oldest first.
pub const SPOKEN_VERSIONS: [u32; 1] = [PROTOCOL_VERSION];

/// A generator's first line.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hello {
    /// Every protocol version the generator speaks.
    pub versions: Vec<u32>,
    /// The session it was started for; without it, the session whose token this is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// Its index, `0..count`.
    pub index: u32,
    /// The session's join token (a secret: never logged, see the `Debug` form).
    pub token: String,
    /// The generator's clock, milliseconds since the Unix epoch.
    pub clock_ms: u64,
}

impl std::fmt::Debug for Hello {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hello")
            .field("versions", &self.versions)
            .field("session", &self.session)
            .field("index", &self.index)
            .field("token", &"<redacted>")
            .field("clock_ms", &self.clock_ms)
            .finish()
    }
}

/// Which part of the session a generator runs: generator `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentOf {
    pub index: u32,
    pub count: u32,
}

/// The coordinator's yes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    /// The version both speak from now on.
    pub version: u32,
    pub segment: SegmentOf,
    /// The whole session's scenario and overrides; the generator runs its segment of it.
    pub launch: Launch,
    /// When the session's first second starts, on the coordinator's clock.
    pub start_at_ms: u64,
    /// The coordinator's clock when it sent this.
    pub clock_ms: u64,
}

/// The coordinator's no; the connection closes after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refused {
    pub reason: String,
}

/// One handshake line: `{"v":2,"hello":{…}}`, `{"v":2,"welcome":{…}}` or `{"v":2,"refused":{…}}`.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Handshake {
    Hello(Hello),
    Welcome(Welcome),
    Refused(Refused),
}

#[derive(Serialize, Deserialize)]
struct Line {
    v: u32,
    #[serde(flatten)]
    body: Handshake,
}

/// Encodes a handshake message as one line (with the trailing newline).
pub fn encode_handshake(message: &Handshake) -> String {
    let mut line = serde_json::to_string(&Line {
        v: PROTOCOL_VERSION,
        body: message.clone(),
    })
    .unwrap_or_default();
    line.push('\n');
    line
}

/// Decodes a handshake line whatever its envelope's version: the versions a generator speaks
/// are in its hello, and a refusal must be readable by any version.
pub fn decode_handshake(line: &str) -> Result<Handshake, DecodeError> {
    serde_json::from_str::<Line>(line)
        .map(|l| l.body)
        .map_err(|e| DecodeError::Malformed(e.to_string()))
}

/// The highest version both sides speak, or the refusal's reason naming both lists.
pub fn negotiate(theirs: &[u32]) -> Result<u32, String> {
    SPOKEN_VERSIONS
        .iter()
        .rev()
        .find(|v| theirs.contains(v))
        .copied()
        .ok_or_else(|| {
            format!(
                "protocol versions {theirs:?} not supported; this coordinator speaks {:?}",
                SPOKEN_VERSIONS
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_round_trips_and_hides_its_token() {
        let hello = Handshake::Hello(Hello {
            versions: vec![PROTOCOL_VERSION],
            session: Some("abc".into()),
            index: 1,
            token: "s3cret-token".into(),
            clock_ms: 5,
        });
        let line = encode_handshake(&hello);
        assert!(line.starts_with(&format!("{{\"v\":{PROTOCOL_VERSION},\"hello\":")));
        assert_eq!(decode_handshake(line.trim_end()).unwrap(), hello);
        assert!(!format!("{hello:?}").contains("s3cret"));
    }

    #[test]
    fn versions_are_negotiated_or_refused_by_name() {
        assert_eq!(negotiate(&[1, PROTOCOL_VERSION]), Ok(PROTOCOL_VERSION));
        let refused = negotiate(&[99]).unwrap_err();
        assert_eq!(
            refused,
            format!(
                "protocol versions [99] not supported; this coordinator speaks [{PROTOCOL_VERSION}]"
            )
        );
    }
}
