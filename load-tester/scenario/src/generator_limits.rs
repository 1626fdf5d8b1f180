//! What the load generator itself may use: users are not added beyond these limits.

use serde::Serialize;

/// `load.max_memory` and `load.max_cpu`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, utoipa::ToSchema)]
pub struct GeneratorLimits {
    /// Resident memory of the generator process, in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_memory: Option<u64>,
    /// CPU of the generator process, in percent of one core (`150` is one and a half cores).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_cpu: Option<f64>,
}

impl GeneratorLimits {
    /// Whether no limit is set.
    pub fn is_empty(&self) -> bool {
        self.max_memory.is_none() && self.max_cpu.is_none()
    }
}
