//! The figures that say how true a second's measurements are, kept beside its row: open-model
//! drops (also per endpoint), schedule lag, corrected latency, and the generator's own CPU,
//! memory, timer lag and warnings (table `second_accuracy`, migration 3).

use lt_protocol::Tick;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::types::SecondRow;

/// What a second says about its own accuracy.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SecondAccuracy {
    /// Open model: arrivals dropped this second.
    pub dropped: u64,
    /// Open model: arrivals dropped since the start.
    pub total_dropped: u64,
    /// Open model: how late requests left after their intended time (p95, max), in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_lag_p95_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_lag_max_ms: Option<f64>,
    /// With `latency.correction`: the second's corrected p95 and p99, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrected_p95_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrected_p99_ms: Option<f64>,
    /// The generator's CPU in percent of one core, resident memory and worst timer lag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer_lag_ms: Option<f64>,
    /// The generator's saturation warning, if it was saturated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saturated: Option<String>,
    /// Why users were held back by a generator limit, if they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limited: Option<String>,
}

/// Stores a tick's accuracy figures (replacing a replayed second's).
pub(crate) fn apply(conn: &Connection, session_id: &str, t: &Tick) -> rusqlite::Result<()> {
    let g = t.generator.as_ref();
    let dropped: Vec<u64> = t.endpoints.iter().map(|e| e.dropped).collect();
    conn.prepare_cached(
        "INSERT OR REPLACE INTO second_accuracy (session_id, second, dropped, total_dropped,
             endpoint_dropped_json, schedule_lag_p95_ms, schedule_lag_max_ms, corrected_p95_ms,
             corrected_p99_ms, cpu_percent, memory_bytes, timer_lag_ms, saturated, limited)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        session_id,
        t.second,
        t.dropped,
        t.total_dropped,
        serde_json::to_string(&dropped).unwrap_or_else(|_| "[]".into()),
        t.schedule_lag.map(|l| l.p95),
        t.schedule_lag.map(|l| l.max),
        t.corrected_latency.map(|l| l.p95),
        t.corrected_latency.map(|l| l.p99),
        g.map(|g| g.cpu_percent),
        g.map(|g| g.memory_bytes),
        g.map(|g| g.timer_lag_ms),
        g.and_then(|g| g.saturated.clone()),
        g.and_then(|g| g.limited.clone()),
    ])?;
    Ok(())
}

/// Fills `rows` (in second order) with their accuracy figures and their endpoints' drops.
pub(crate) fn attach(conn: &Connection, id: &str, rows: &mut [SecondRow]) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT dropped, total_dropped, endpoint_dropped_json, schedule_lag_p95_ms,
             schedule_lag_max_ms, corrected_p95_ms, corrected_p99_ms, cpu_percent, memory_bytes,
             timer_lag_ms, saturated, limited
         FROM second_accuracy WHERE session_id = ?1 AND second = ?2",
    )?;
    for row in rows.iter_mut() {
        let found = stmt
            .query_row(params![id, row.second], |r| {
                let per_endpoint: String = r.get(2)?;
                Ok((
                    SecondAccuracy {
                        dropped: r.get(0)?,
                        total_dropped: r.get(1)?,
                        schedule_lag_p95_ms: r.get(3)?,
                        schedule_lag_max_ms: r.get(4)?,
                        corrected_p95_ms: r.get(5)?,
                        corrected_p99_ms: r.get(6)?,
                        cpu_percent: r.get(7)?,
                        memory_bytes: r.get(8)?,
                        timer_lag_ms: r.get(9)?,
                        saturated: r.get(10)?,
                        limited: r.get(11)?,
                    },
                    serde_json::from_str::<Vec<u64>>(&per_endpoint).unwrap_or_default(),
                ))
            })
            .optional()?;
        if let Some((accuracy, per_endpoint)) = found {
            for (endpoint, dropped) in row.endpoints.iter_mut().zip(per_endpoint) {
                endpoint.dropped = dropped;
            }
            row.accuracy = Some(accuracy);
        }
    }
    Ok(())
}

/// Deletes the accuracy rows of sessions that ended before `ended_before_ms`.
pub(crate) fn prune(conn: &Connection, ended_before_ms: u64) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM second_accuracy WHERE session_id IN
             (SELECT id FROM sessions WHERE ended_at_ms IS NOT NULL AND ended_at_ms < ?1)",
        [ended_before_ms],
    )
}
