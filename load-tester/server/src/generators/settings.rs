//! The `[generators]` settings: where network generators dial in, and what a lost one does to
//! its session.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What happens to a session when one of its generators is lost (no tick for 3 s, or its
/// connection closed before its report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnLoss {
    /// The session ends `failed`, naming the generator.
    Abort,
    /// The session goes on with the others (degraded, and its report says so).
    Continue,
}

/// Network generators (sessions with `load.generators` above 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct GeneratorSettings {
    /// The generator listener's address, apart from the API's (bound when the first session
    /// with several generators starts).
    #[schema(value_type = String, examples("127.0.0.1:8081"))]
    pub bind: SocketAddr,
    /// What a lost generator does to its session.
    pub on_loss: OnLoss,
    /// TLS on the generator listener (`[generators.tls]`); off by default.
    pub tls: GeneratorTls,
}

/// `[generators.tls]`: with `cert_file` and `key_file` the generator listener speaks TLS only,
/// and the local launcher's generators dial it with `tls://`. Paths are relative to the working
/// directory, as the other settings' paths.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct GeneratorTls {
    /// The listener's certificate chain (PEM), the server's certificate first.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub cert_file: Option<PathBuf>,
    /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1); its content is never shown
    /// or logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub key_file: Option<PathBuf>,
    /// Certificate authorities (PEM) the local launcher's generators trust besides the system's
    /// (`--ca-file`); none: the system's only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub ca_file: Option<PathBuf>,
}

impl GeneratorTls {
    /// Whether the listener speaks TLS.
    pub fn is_on(&self) -> bool {
        self.cert_file.is_some() && self.key_file.is_some()
    }
}

impl Default for GeneratorSettings {
    fn default() -> Self {
        GeneratorSettings {
            bind: SocketAddr::from(([127, 0, 0, 1], 8081)),
            on_loss: OnLoss::Abort,
            tls: GeneratorTls::default(),
        }
    }
}
