//! User journeys: flows of steps, values captured from answers, checks on answers, and the data
//! file that feeds users their rows.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::data::DataTable;
use crate::env::Env;
use crate::model::{Endpoint, ThinkTime};

/// A journey: steps one user runs in order, as one weighted choice among the endpoints.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Flow {
    /// Unique among endpoints and flows; names the journey's figures and its weight.
    pub name: String,
    /// Relative weight in the same choice as the endpoints; `0` leaves it out until changed.
    pub weight: f64,
    /// Pause between two steps; `None` means the scenario's think time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub think_time: Option<ThinkTime>,
    /// A cookie jar per user for this flow's steps (the scenario's `cookies` turns it on for all).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cookies: bool,
    pub steps: Vec<Step>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The name of a flow step's figures: `flow/step`.
pub fn row_name(flow: &str, step: &str) -> String {
    format!("{flow}/{step}")
}

/// One step of a flow.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Step {
    /// Unique within the flow.
    pub name: String,
    /// The endpoint whose request this step sends, when written as `use: NAME`.
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub uses: Option<String>,
    /// The request, named `flow/step` (its weight is unused).
    pub request: Endpoint,
    /// Values stored in the user's variables once the step succeeded, in file order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capture: Vec<Capture>,
}

/// One captured value.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Capture {
    /// The variable's name, as later steps write it: `{{ name }}`.
    pub name: String,
    pub from: CaptureSource,
}

/// Where a captured value comes from.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaptureSource {
    /// A JSON Pointer (RFC 6901) into the JSON body, such as `/data/id`.
    Json(String),
    /// A response header, by name.
    Header(String),
    /// A regular expression over the body with one group: the group's text.
    Regex(String),
}

impl fmt::Display for CaptureSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureSource::Json(p) => write!(f, "json `{p}`"),
            CaptureSource::Header(h) => write!(f, "header `{h}`"),
            CaptureSource::Regex(r) => write!(f, "regex `{r}`"),
        }
    }
}

/// Checks on an answer beside its status: a failed one is a failure of class `check`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, utoipa::ToSchema)]
pub struct Checks {
    /// The body must contain this text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    /// JSON Pointers into the body and the values they must equal.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Object)]
    pub json: Vec<(String, serde_json::Value)>,
    /// The body must be at most this many bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_size: Option<u64>,
}

impl Checks {
    /// Whether a check needs the body's bytes (not only its size).
    pub fn needs_body(&self) -> bool {
        self.body_contains.is_some() || !self.json.is_empty()
    }
}

/// The `data` file: rows fed to users as `{{ row.column }}`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DataSpec {
    /// As written: relative to the scenario file (to the scenarios folder in server sessions).
    pub file: String,
    pub mode: DataMode,
    pub on_end: OnEnd,
    /// The file's columns.
    pub columns: Vec<String>,
    /// How many rows it has.
    pub rows: u64,
    /// The rows, loaded once and shared read-only (never serialized: they may hold secrets).
    #[serde(skip)]
    #[schema(ignore)]
    pub table: Arc<DataTable>,
}

/// How users get rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataMode {
    /// Each user keeps one row: user n gets row n.
    PerUser,
    /// Every iteration of any user takes the next row, in file order.
    Shared,
    /// Every iteration takes a row at random.
    Random,
}

/// What happens once the rows run out (`per_user` with more users than rows, or `shared` past
/// the last row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnEnd {
    /// Start over from the first row.
    Cycle,
    /// The user that finds no row stops sending.
    StopUser,
}

/// The environment variables that `{{ env.NAME }}` templates in requests name and that were
/// set when the scenario was read (a default stays in its template). Never serialized, and shown
/// by name only: they may be secrets.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EnvValues(pub Env);

impl fmt::Debug for EnvValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.names()).finish()
    }
}
