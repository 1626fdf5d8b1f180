//! What a control server hands a worker process when it starts one session.

use serde::{Deserialize, Serialize};

/// The session a worker runs, written as JSON to the worker's stdin (never to a file or the
/// command line, so header secrets in the scenario stay out of `ps` and off the disk).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Launch {
    /// The session id (sent in `baggage`).
    pub session_id: String,
    /// Where the scenario came from, used in diagnostics (a file name, or `<api>`).
    pub source: String,
    /// The scenario's YAML text.
    pub yaml: String,
    /// Values put over the file's.
    #[serde(default)]
    pub overrides: lt_scenario::Overrides,
    /// The folder the scenario's `data` file is read from (never outside it); `None`: the
    /// scenario may not name one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
}
