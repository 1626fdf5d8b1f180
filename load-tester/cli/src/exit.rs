//! The exit codes, documented in the README and `docs/cli.md`.

/// Every threshold passed (or there were none) and the run completed.
pub const OK: u8 = 0;
/// The run completed but a threshold failed.
pub const THRESHOLD_FAILED: u8 = 1;
/// A scenario, flag or file was invalid.
pub const INVALID: u8 = 2;
/// The run was aborted by the error budget, or stopped by a signal.
pub const ABORTED: u8 = 3;
/// The run could not start or finish (the engine failed, a report could not be written).
pub const FAILED: u8 = 4;
