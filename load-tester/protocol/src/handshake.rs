//! How a generator joins a session over the network (see `docs/distributed.md`): it says
//! [`Hello`] with the versions it speaks and the session's token; the coordinator answers
//! [`Welcome`] (the version picked, the generator's segment, the launch, when to start) or
//! [`Refused`] with a reason that names the problem, and closes.

use std::collections::BTreeMap;

use base64::Engine as _;
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
    /// Every file the scenario reads (its data file, its `tls.ca_file`), by the name the scenario
    /// gives it, as the coordinator read it: a generator reads them from here, so it needs no
    /// copy of the coordinator's scenarios folder. Left out when there are none (a generator that
    /// predates it ignores the field).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, FileContent>,
}

/// A file's content in a welcome: UTF-8 text as it is (`{"text":"…"}`), other bytes in standard
/// base64 (`{"base64":"…"}`). Its `Debug` form shows only the size: rows may hold passwords.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileContent {
    Text(String),
    Base64(String),
}

impl FileContent {
    /// The content of `bytes`, as text when they are UTF-8.
    pub fn of(bytes: Vec<u8>) -> FileContent {
        match String::from_utf8(bytes) {
            Ok(text) => FileContent::Text(text),
            Err(e) => FileContent::Base64(
                base64::engine::general_purpose::STANDARD.encode(e.into_bytes()),
            ),
        }
    }

    /// The bytes, or why base64 content cannot be decoded.
    pub fn bytes(&self) -> Result<Vec<u8>, String> {
        match self {
            FileContent::Text(text) => Ok(text.as_bytes().to_vec()),
            FileContent::Base64(encoded) => base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|e| format!("not valid base64: {e}")),
        }
    }
}

impl std::fmt::Debug for FileContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileContent::Text(text) => write!(f, "Text({} bytes)", text.len()),
            FileContent::Base64(encoded) => write!(f, "Base64({} characters)", encoded.len()),
        }
    }
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

#[derive(Deserialize)]
struct Line {
    /// Any version: see [`decode_handshake`].
    #[serde(rename = "v")]
    _v: u32,
    #[serde(flatten)]
    body: Handshake,
}

/// [`Line`] as written: borrowed, so a welcome's files are not copied to be sent.
#[derive(Serialize)]
struct LineOut<'a> {
    v: u32,
    #[serde(flatten)]
    body: &'a Handshake,
}

/// Encodes a handshake message as one line (with the trailing newline).
pub fn encode_handshake(message: &Handshake) -> String {
    let mut line = serde_json::to_string(&LineOut {
        v: PROTOCOL_VERSION,
        body: message,
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
    fn a_welcome_carries_files_as_text_or_base64_and_hides_them_in_debug() {
        let launch = Launch {
            session_id: "s".into(),
            source: "<api>".into(),
            yaml: "name: x".into(),
            overrides: Default::default(),
            data_dir: None,
        };
        let mut welcome = Welcome {
            version: PROTOCOL_VERSION,
            segment: SegmentOf { index: 0, count: 2 },
            launch,
            start_at_ms: 10,
            clock_ms: 9,
            files: BTreeMap::new(),
        };
        // Without files the line is as before, and a line without them reads.
        let line = encode_handshake(&Handshake::Welcome(welcome.clone()));
        assert!(!line.contains("files"), "{line}");
        assert_eq!(
            decode_handshake(line.trim_end()).unwrap(),
            Handshake::Welcome(welcome.clone())
        );
        welcome.files.insert(
            "data/rows.csv".into(),
            FileContent::of(b"name,password\nr1,hunter2\n".to_vec()),
        );
        welcome
            .files
            .insert("bin.dat".into(), FileContent::of(vec![0xff, 0x00, 0x80]));
        let line = encode_handshake(&Handshake::Welcome(welcome.clone()));
        assert!(
            line.contains(r#""data/rows.csv":{"text":"name,password\nr1,hunter2\n"}"#),
            "{line}"
        );
        assert!(line.contains(r#""bin.dat":{"base64":"/wCA"}"#), "{line}");
        let Handshake::Welcome(back) = decode_handshake(line.trim_end()).unwrap() else {
            panic!("{line}")
        };
        assert_eq!(back.files["bin.dat"].bytes().unwrap(), [0xff, 0x00, 0x80]);
        assert_eq!(
            back.files["data/rows.csv"].bytes().unwrap(),
            b"name,password\nr1,hunter2\n"
        );
        assert!(!format!("{back:?}").contains("hunter2"));
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
