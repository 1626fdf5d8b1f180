//! The `[generators]` settings: where network generators dial in, and what a lost one does to
//! its session.

use std::net::SocketAddr;

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
}

impl Default for GeneratorSettings {
    fn default() -> Self {
        GeneratorSettings {
            bind: SocketAddr::from(([127, 0, 0, 1], 8081)),
            on_loss: OnLoss::Abort,
        }
    }
}
