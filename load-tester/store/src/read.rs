//! The queries, on the read connection. JSON columns are parsed here; a row that does not parse
//! is an error naming the table, column and row, never a panic.

use lt_protocol::{FailureCounts, Latency, Report};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use crate::{
    AuditEntry, ConfigChange, EndpointSecondRow, ErrorGroupRow, Result, SecondRow, SessionFilter,
    SessionRow, StoreError, StoredEvent,
};

/// How many sessions [`crate::Store::sessions`] lists when the filter sets no limit.
pub const DEFAULT_SESSION_LIMIT: usize = 100;

const SESSION_COLUMNS: &str = "id, scenario, source, target, status, reason, created_by,
    created_at_ms, started_at_ms, ended_at_ms, config_json, overrides_json, worker_pid,
    worker_socket, summary_json, last_second, requests, failures, rps, p95_ms, active_users";

/// Statuses of a session that has not ended.
const UNFINISHED: &str = "('starting', 'running', 'stopping')";

pub(crate) fn session(conn: &Connection, id: &str) -> Result<Option<SessionRow>> {
    let what = || format!("reading session {id}");
    conn.prepare_cached(&format!(
        "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1"
    ))
    .and_then(|mut stmt| stmt.query_row([id], RawSession::from_row).optional())
    .map_err(read_err(what))?
    .map(RawSession::parse)
    .transpose()
}

pub(crate) fn sessions(conn: &Connection, filter: &SessionFilter) -> Result<Vec<SessionRow>> {
    let mut clauses = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if !filter.statuses.is_empty() {
        let marks = vec!["?"; filter.statuses.len()].join(", ");
        clauses.push(format!("status IN ({marks})"));
        args.extend(filter.statuses.iter().cloned().map(Value::Text));
    }
    if let Some(scenario) = &filter.scenario {
        clauses.push("scenario = ?".to_string());
        args.push(Value::Text(scenario.clone()));
    }
    let filter_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    args.push(Value::Integer(sql_limit(
        filter.limit.unwrap_or(DEFAULT_SESSION_LIMIT),
    )));
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM sessions {filter_sql}
         ORDER BY created_at_ms DESC, rowid DESC LIMIT ?"
    );
    query_sessions(conn, &sql, params_from_iter(args), || {
        "listing sessions".to_string()
    })
}

pub(crate) fn unfinished_sessions(conn: &Connection) -> Result<Vec<SessionRow>> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM sessions WHERE status IN {UNFINISHED}
         ORDER BY created_at_ms, rowid"
    );
    query_sessions(conn, &sql, [], || "listing unfinished sessions".to_string())
}

fn query_sessions(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
    what: impl Fn() -> String,
) -> Result<Vec<SessionRow>> {
    let raw = conn
        .prepare_cached(sql)
        .and_then(|mut stmt| {
            stmt.query_map(args, RawSession::from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(read_err(what))?;
    raw.into_iter().map(RawSession::parse).collect()
}

pub(crate) fn seconds(
    conn: &Connection,
    id: &str,
    after_second: Option<u64>,
    limit: usize,
) -> Result<Vec<SecondRow>> {
    let what = || format!("reading the seconds of session {id}");
    // One snapshot for both queries, so each second comes with the endpoints committed with it.
    let snapshot = conn.unchecked_transaction().map_err(read_err(what))?;
    let conn: &Connection = &snapshot;
    let after = after_second.map_or(-1, |s| i64::try_from(s).unwrap_or(i64::MAX));
    let mut rows = conn
        .prepare_cached(
            "SELECT second, at_ms, active_users, target_users, requests, failures,
                 short_circuited, rps, p50, p90, p95, p99, max, avg, users_in_backoff,
                 parked_users, errors_last_minute, flows
             FROM session_seconds WHERE session_id = ?1 AND second > ?2
             ORDER BY second LIMIT ?3",
        )
        .and_then(|mut stmt| {
            stmt.query_map(params![id, after, sql_limit(limit)], |row| {
                Ok(SecondRow {
                    second: row.get(0)?,
                    at_ms: row.get(1)?,
                    active_users: row.get(2)?,
                    target_users: row.get(3)?,
                    requests: row.get(4)?,
                    failures: row.get(5)?,
                    short_circuited: row.get(6)?,
                    rps: row.get(7)?,
                    latency: latency(row, 8)?,
                    users_in_backoff: row.get(14)?,
                    parked_users: row.get(15)?,
                    errors_last_minute: row.get(16)?,
                    endpoints: Vec::new(),
                    accuracy: None,
                    flows: row
                        .get::<_, Option<String>>(17)?
                        .and_then(|text| serde_json::from_str(&text).ok())
                        .unwrap_or_default(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(read_err(what))?;

    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(rows);
    };
    let (first, last) = (first.second, last.second);
    let endpoints = conn
        .prepare_cached(
            "SELECT second, endpoint, requests, connect, timeout, status_4xx, status_5xx,
                 unexpected, short_circuited, p50, p90, p95, p99, max, avg, weight, breaker,
                 capture_failures, check_failures
             FROM endpoint_seconds WHERE session_id = ?1 AND second BETWEEN ?2 AND ?3
             ORDER BY second, position",
        )
        .and_then(|mut stmt| {
            stmt.query_map(params![id, first, last], |row| {
                let second: u64 = row.get(0)?;
                let endpoint = EndpointSecondRow {
                    endpoint: row.get(1)?,
                    requests: row.get(2)?,
                    failures: FailureCounts {
                        connect: row.get(3)?,
                        timeout: row.get(4)?,
                        status_4xx: row.get(5)?,
                        status_5xx: row.get(6)?,
                        unexpected: row.get(7)?,
                        capture: row.get(17)?,
                        check: row.get(18)?,
                    },
                    short_circuited: row.get(8)?,
                    latency: latency(row, 9)?,
                    weight: row.get(15)?,
                    breaker: row.get(16)?,
                    dropped: 0,
                };
                Ok((second, endpoint))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(read_err(what))?;

    // Both lists are in second order.
    let mut slot = rows.iter_mut().peekable();
    for (second, endpoint) in endpoints {
        while slot.next_if(|row| row.second < second).is_some() {}
        if let Some(row) = slot.peek_mut()
            && row.second == second
        {
            row.endpoints.push(endpoint);
        }
    }
    crate::accuracy::attach(conn, id, &mut rows).map_err(read_err(what))?;
    Ok(rows)
}

pub(crate) fn errors(conn: &Connection, id: &str) -> Result<Vec<ErrorGroupRow>> {
    let raw = conn
        .prepare_cached(
            "SELECT id, endpoint, class, status, message, count, first_at_ms, last_at_ms,
                 trace_ids_json, kind
             FROM errors WHERE session_id = ?1
             ORDER BY count DESC, last_at_ms DESC, id",
        )
        .and_then(|mut stmt| {
            stmt.query_map([id], |row| {
                let group = ErrorGroupRow {
                    endpoint: row.get(1)?,
                    class: row.get(2)?,
                    status: row.get(3)?,
                    message: row.get(4)?,
                    kind: row.get(9)?,
                    count: row.get(5)?,
                    first_at_ms: row.get(6)?,
                    last_at_ms: row.get(7)?,
                    trace_ids: Vec::new(),
                };
                Ok((row.get::<_, i64>(0)?, group, row.get::<_, String>(8)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(read_err(|| format!("reading the errors of session {id}")))?;
    raw.into_iter()
        .map(|(row, mut group, trace_ids)| {
            group.trace_ids = parse("errors", "trace_ids_json", row, &trace_ids)?;
            Ok(group)
        })
        .collect()
}

pub(crate) fn config_changes(
    conn: &Connection,
    session_id: Option<&str>,
    limit: usize,
) -> Result<Vec<ConfigChange>> {
    const COLUMNS: &str = "id, session_id, who, at_ms, field, old_json, new_json";
    let limit = sql_limit(limit);
    let raw: Vec<(ConfigChange, String, String)> = conn
        .prepare_cached(&match session_id {
            Some(_) => format!(
                "SELECT {COLUMNS} FROM config_changes WHERE session_id = ?2
                 ORDER BY id DESC LIMIT ?1"
            ),
            None => format!("SELECT {COLUMNS} FROM config_changes ORDER BY id DESC LIMIT ?1"),
        })
        .and_then(|mut stmt| {
            let row = |row: &Row<'_>| {
                let change = ConfigChange {
                    id: row.get(0)?,
                    session_id: row.get(1)?,
                    who: row.get(2)?,
                    at_ms: row.get(3)?,
                    field: row.get(4)?,
                    old: serde_json::Value::Null,
                    new: serde_json::Value::Null,
                };
                Ok((change, row.get::<_, String>(5)?, row.get::<_, String>(6)?))
            };
            match session_id {
                Some(id) => stmt.query_map(params![limit, id], row)?.collect(),
                None => stmt.query_map([limit], row)?.collect(),
            }
        })
        .map_err(read_err(|| "reading the configuration history".to_string()))?;
    raw.into_iter()
        .map(|(mut change, old, new)| {
            let row = change.id.unwrap_or_default();
            change.old = parse("config_changes", "old_json", row, &old)?;
            change.new = parse("config_changes", "new_json", row, &new)?;
            Ok(change)
        })
        .collect()
}

pub(crate) fn audit(conn: &Connection, limit: usize) -> Result<Vec<AuditEntry>> {
    conn.prepare_cached(
        "SELECT id, at_ms, who, client, action, target, result, status, detail
         FROM audit ORDER BY id DESC LIMIT ?1",
    )
    .and_then(|mut stmt| {
        stmt.query_map([sql_limit(limit)], |row| {
            Ok(AuditEntry {
                id: row.get(0)?,
                at_ms: row.get(1)?,
                who: row.get(2)?,
                client: row.get(3)?,
                action: row.get(4)?,
                target: row.get(5)?,
                result: row.get(6)?,
                status: row.get(7)?,
                detail: row.get(8)?,
            })
        })?
        .collect()
    })
    .map_err(read_err(|| "reading the audit log".to_string()))
}

pub(crate) fn events_after(
    conn: &Connection,
    after_id: u64,
    session_id: Option<&str>,
    limit: usize,
) -> Result<Vec<StoredEvent>> {
    const COLUMNS: &str = "id, session_id, kind, at_ms, data";
    let after = i64::try_from(after_id).unwrap_or(i64::MAX);
    let limit = sql_limit(limit);
    let event = |row: &Row<'_>| {
        Ok(StoredEvent {
            id: row.get(0)?,
            session_id: row.get(1)?,
            kind: row.get(2)?,
            at_ms: row.get(3)?,
            data: row.get(4)?,
        })
    };
    match session_id {
        Some(id) => conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM events WHERE session_id = ?1 AND id > ?2
                 ORDER BY id LIMIT ?3"
            ))
            .and_then(|mut stmt| stmt.query_map(params![id, after, limit], event)?.collect()),
        None => conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM events WHERE id > ?1 ORDER BY id LIMIT ?2"
            ))
            .and_then(|mut stmt| stmt.query_map(params![after, limit], event)?.collect()),
    }
    .map_err(read_err(|| format!("reading events after {after_id}")))
}

pub(crate) fn max_event_id(conn: &Connection) -> Result<u64> {
    conn.query_row("SELECT IFNULL(MAX(id), 0) FROM events", [], |row| {
        row.get(0)
    })
    .map_err(read_err(|| "reading the last event id".to_string()))
}

pub(crate) fn setting(conn: &Connection, key: &str) -> Result<Option<String>> {
    conn.prepare_cached("SELECT value FROM settings WHERE key = ?1")
        .and_then(|mut stmt| stmt.query_row([key], |row| row.get(0)).optional())
        .map_err(read_err(|| format!("reading setting {key}")))
}

/// A sessions row before its JSON columns are parsed.
struct RawSession {
    row: SessionRow,
    config_json: String,
    overrides_json: String,
    summary_json: Option<String>,
}

impl RawSession {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<RawSession> {
        Ok(RawSession {
            row: SessionRow {
                id: row.get(0)?,
                scenario: row.get(1)?,
                source: row.get(2)?,
                target: row.get(3)?,
                status: row.get(4)?,
                reason: row.get(5)?,
                created_by: row.get(6)?,
                created_at_ms: row.get(7)?,
                started_at_ms: row.get(8)?,
                ended_at_ms: row.get(9)?,
                config: serde_json::Value::Null,
                overrides: serde_json::Value::Null,
                worker_pid: row.get(12)?,
                worker_socket: row.get(13)?,
                summary: None,
                last_second: row.get(15)?,
                requests: row.get(16)?,
                failures: row.get(17)?,
                rps: row.get(18)?,
                p95_ms: row.get(19)?,
                active_users: row.get(20)?,
            },
            config_json: row.get(10)?,
            overrides_json: row.get(11)?,
            summary_json: row.get(14)?,
        })
    }

    fn parse(self) -> Result<SessionRow> {
        let RawSession {
            mut row,
            config_json,
            overrides_json,
            summary_json,
        } = self;
        let id = row.id.clone();
        row.config = parse("sessions", "config_json", &id, &config_json)?;
        row.overrides = parse("sessions", "overrides_json", &id, &overrides_json)?;
        row.summary = summary_json
            .map(|json| parse::<Report>("sessions", "summary_json", &id, &json))
            .transpose()?;
        Ok(row)
    }
}

fn latency(row: &Row<'_>, first: usize) -> rusqlite::Result<Latency> {
    Ok(Latency {
        p50: row.get(first)?,
        p90: row.get(first + 1)?,
        p95: row.get(first + 2)?,
        p99: row.get(first + 3)?,
        max: row.get(first + 4)?,
        avg: row.get(first + 5)?,
    })
}

fn parse<T: serde::de::DeserializeOwned>(
    table: &'static str,
    column: &'static str,
    row: impl ToString,
    json: &str,
) -> Result<T> {
    serde_json::from_str(json).map_err(|source| StoreError::BadJson {
        table,
        column,
        row: row.to_string(),
        source,
    })
}

fn read_err(what: impl Fn() -> String) -> impl Fn(rusqlite::Error) -> StoreError {
    move |source| StoreError::Read {
        what: what(),
        source,
    }
}

/// A row count as SQLite's LIMIT takes it.
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}
