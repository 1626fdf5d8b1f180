//! The messages a running load test sends and receives, version [`PROTOCOL_VERSION`].
//!
//! A worker (the engine running one session) sends [`WorkerEvent`]s: a [`Tick`] once a second,
//! lifecycle changes, error samples, applied changes, and the final [`Report`]. It accepts
//! [`Command`]s. On the wire each message is one line of JSON wrapped in an [`Envelope`] that
//! carries the version, so a server can refuse a worker that speaks another one. The format is
//! documented in `docs/protocol.md`; the `Report` is also the `--report` JSON file, with a JSON
//! Schema in `docs/report.schema.json`.

mod command;
mod error_key;
mod event;
mod generator;
mod handshake;
mod histogram;
pub mod judge;
mod latency_buckets;
mod launch;
pub mod reduction;
mod report;
mod run_report;
mod run_totals;
mod tick_histograms;
pub mod window;

pub use command::Command;
pub use error_key::{ErrorKey, message_kind};
pub use event::{
    BreakerState, ChangeOutcome, EndpointTick, EndpointTotals, ErrorSample, FailureClass,
    FailureCounts, FlowTick, FlowTotals, Latency, Lifecycle, LifecycleState, LiveConfig,
    ReductionState, Tick, WorkerEvent,
};
pub use generator::{GeneratorReport, GeneratorStats};
pub use handshake::{
    FileContent, Handshake, Hello, Refused, SPOKEN_VERSIONS, SegmentOf, Welcome, decode_handshake,
    encode_handshake, negotiate,
};
pub use histogram::{HistogramError, LatencyHistogram};
pub use latency_buckets::LATENCY_BUCKETS_S;
pub use launch::Launch;
pub use report::{
    EndReason, EndpointReport, ErrorGroup, FlowReport, INSECURE_TLS_WARNING, Report,
    ThresholdOutcome,
};
pub use run_report::{FlowName, RowName, RunFacts, RunShape, build_report};
pub use run_totals::{JourneyTotals, RowSecond, RowTotals, RunTotals};
pub use tick_histograms::TickHistograms;

use serde::{Deserialize, Serialize};

/// The version of this message set. Bump on any incompatible change.
pub const PROTOCOL_VERSION: u32 = 2;

/// One message on the wire: `{"v":1,"event":{...}}` or `{"v":1,"command":{...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub v: u32,
    #[serde(flatten)]
    pub body: T,
}

/// Body of an event envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventBody {
    pub event: WorkerEvent,
}

/// Body of a command envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandBody {
    pub command: Command,
}

/// Encodes an event as one line of JSON (with the trailing newline).
pub fn encode_event(event: &WorkerEvent) -> String {
    encode(&Envelope {
        v: PROTOCOL_VERSION,
        body: EventBody {
            event: event.clone(),
        },
    })
}

/// Encodes a command as one line of JSON (with the trailing newline).
pub fn encode_command(command: &Command) -> String {
    encode(&Envelope {
        v: PROTOCOL_VERSION,
        body: CommandBody {
            command: command.clone(),
        },
    })
}

fn encode<T: Serialize>(value: &T) -> String {
    // Serializing these plain data types cannot fail: no maps with non-string keys, no NaN keys.
    let mut line = serde_json::to_string(value)
        .unwrap_or_else(|e| format!("{{\"v\":{PROTOCOL_VERSION},\"encode_error\":\"{e}\"}}"));
    line.push('\n');
    line
}

/// Why a line could not be decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum DecodeError {
    /// Not JSON of the expected shape.
    Malformed(String),
    /// Another protocol version.
    Version { got: u32 },
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Malformed(e) => write!(f, "malformed message: {e}"),
            DecodeError::Version { got } => write!(
                f,
                "protocol version {got} is not supported (this side speaks {PROTOCOL_VERSION})"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

fn decode<T: for<'de> Deserialize<'de>>(line: &str) -> Result<T, DecodeError> {
    #[derive(Deserialize)]
    struct Version {
        v: u32,
    }
    let version: Version =
        serde_json::from_str(line).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if version.v != PROTOCOL_VERSION {
        return Err(DecodeError::Version { got: version.v });
    }
    serde_json::from_str(line).map_err(|e| DecodeError::Malformed(e.to_string()))
}

/// Decodes one line holding an event envelope.
pub fn decode_event(line: &str) -> Result<WorkerEvent, DecodeError> {
    decode::<Envelope<EventBody>>(line).map(|e| e.body.event)
}

/// Decodes one line holding a command envelope.
pub fn decode_command(line: &str) -> Result<Command, DecodeError> {
    decode::<Envelope<CommandBody>>(line).map(|e| e.body.command)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn commands_round_trip_as_versioned_lines() {
        let commands = [
            Command::Change {
                id: 3,
                change: lt_scenario::LiveChange {
                    users: Some(7),
                    weights: Some(BTreeMap::from([("a".to_string(), 2.0)])),
                    arrival_rate: Some(None),
                    ..Default::default()
                },
            },
            Command::Change {
                id: 4,
                change: lt_scenario::LiveChange {
                    arrival_rate: Some(Some(12.5)),
                    ..Default::default()
                },
            },
            Command::Stop,
        ];
        for c in commands {
            let line = encode_command(&c);
            assert!(line.starts_with("{\"v\":2,"), "{line}");
            assert!(line.ends_with('\n'));
            assert_eq!(decode_command(line.trim_end()).unwrap(), c);
        }
    }

    #[test]
    fn another_version_is_refused_by_name() {
        let err = decode_command(r#"{"v":1,"command":"stop"}"#).unwrap_err();
        assert_eq!(err, DecodeError::Version { got: 1 });
        assert!(err.to_string().contains("version 1"));
    }
}
