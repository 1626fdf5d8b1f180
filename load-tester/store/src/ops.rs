//! The writes, as values the writer thread can queue, and the SQL each one runs.
//!
//! [`Batched`] writes (ticks, error samples, events) are idempotent or commutative enough to be
//! delayed and grouped; [`Durable`] writes are committed before their caller returns.

use lt_protocol::{BreakerState, ErrorKey, ErrorSample, Tick};
use rusqlite::{Connection, OptionalExtension, params};

use crate::{AuditEntry, ConfigChange, NewSession, PruneCounts, Result, StoreError};

/// How many distinct trace ids an error group keeps.
const TRACE_IDS_PER_GROUP: usize = 5;

/// A write the writer thread may hold back for up to a second.
#[derive(Debug)]
pub(crate) enum Batched {
    Tick {
        session_id: String,
        tick: Box<Tick>,
    },
    Error {
        session_id: String,
        sample: ErrorSample,
    },
    Event(crate::StoredEvent),
}

/// A write committed before its caller returns.
#[derive(Debug)]
pub(crate) enum Durable {
    CreateSession(NewSession),
    SetWorker {
        id: String,
        pid: u32,
        socket: String,
    },
    SetStatus {
        id: String,
        status: String,
        reason: Option<String>,
        at_ms: u64,
    },
    Finish {
        id: String,
        status: String,
        reason: Option<String>,
        ended_at_ms: u64,
        /// The report, already encoded as JSON, with the totals taken from it.
        summary: Option<Summary>,
    },
    Change(ConfigChange),
    Audit(AuditEntry),
    Setting {
        key: String,
        value: String,
        at_ms: u64,
    },
    Prune {
        ended_before_ms: u64,
    },
}

/// The parts of a report `finish_session` stores.
#[derive(Debug)]
pub(crate) struct Summary {
    pub json: String,
    pub requests: u64,
    pub failures: u64,
    pub rps: f64,
    pub p95_ms: f64,
}

/// What a durable write produced.
#[derive(Debug)]
pub(crate) enum Outcome {
    Done,
    Pruned(PruneCounts),
}

impl Batched {
    /// Runs this write on `conn` (inside the writer's transaction).
    pub(crate) fn apply(&self, conn: &Connection) -> rusqlite::Result<()> {
        match self {
            Batched::Tick { session_id, tick } => apply_tick(conn, session_id, tick),
            Batched::Error { session_id, sample } => apply_error(conn, session_id, sample),
            Batched::Event(e) => conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO events (id, session_id, kind, at_ms, data)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![e.id, e.session_id, e.kind, e.at_ms, e.data])
                .map(drop),
        }
    }

    /// What this write is, for error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Batched::Tick { session_id, tick } => {
                format!("recording second {} of session {session_id}", tick.second)
            }
            Batched::Error { session_id, sample } => {
                format!(
                    "recording an error on {} of session {session_id}",
                    sample.endpoint
                )
            }
            Batched::Event(e) => format!("recording event {} of session {}", e.id, e.session_id),
        }
    }
}

impl Durable {
    /// Runs this write on `conn` (inside the writer's transaction).
    pub(crate) fn apply(&self, conn: &Connection) -> Result<Outcome> {
        let write_err = |source| StoreError::Write {
            what: self.describe(),
            source,
        };
        let found = |changed: usize, id: &str| {
            if changed == 0 {
                Err(StoreError::SessionNotFound { id: id.to_string() })
            } else {
                Ok(Outcome::Done)
            }
        };
        match self {
            Durable::CreateSession(s) => {
                let changed = conn
                    .prepare_cached(
                        "INSERT INTO sessions (id, scenario, source, target, status, created_by,
                             created_at_ms, config_json, overrides_json)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                         ON CONFLICT (id) DO NOTHING",
                    )
                    .and_then(|mut stmt| {
                        stmt.execute(params![
                            s.id,
                            s.scenario,
                            s.source,
                            s.target,
                            s.status,
                            s.created_by,
                            s.created_at_ms,
                            s.config_json,
                            s.overrides_json
                        ])
                    })
                    .map_err(write_err)?;
                if changed == 0 {
                    return Err(StoreError::SessionExists { id: s.id.clone() });
                }
                Ok(Outcome::Done)
            }
            Durable::SetWorker { id, pid, socket } => {
                let changed = conn
                    .execute(
                        "UPDATE sessions SET worker_pid = ?2, worker_socket = ?3 WHERE id = ?1",
                        params![id, pid, socket],
                    )
                    .map_err(write_err)?;
                found(changed, id)
            }
            Durable::SetStatus {
                id,
                status,
                reason,
                at_ms,
            } => {
                let changed = conn
                    .execute(
                        "UPDATE sessions SET
                             status = ?2,
                             reason = IFNULL(?3, reason),
                             started_at_ms = CASE
                                 WHEN ?2 = 'running' AND started_at_ms IS NULL THEN ?4
                                 ELSE started_at_ms END
                         WHERE id = ?1",
                        params![id, status, reason, at_ms],
                    )
                    .map_err(write_err)?;
                found(changed, id)
            }
            Durable::Finish {
                id,
                status,
                reason,
                ended_at_ms,
                summary,
            } => {
                let mut changed = conn
                    .execute(
                        "UPDATE sessions SET status = ?2, reason = IFNULL(?3, reason),
                             ended_at_ms = ?4, active_users = 0
                         WHERE id = ?1",
                        params![id, status, reason, ended_at_ms],
                    )
                    .map_err(write_err)?;
                if let Some(s) = summary {
                    changed = conn
                        .execute(
                            "UPDATE sessions SET summary_json = ?2, requests = ?3, failures = ?4,
                                 rps = ?5, p95_ms = ?6
                             WHERE id = ?1",
                            params![
                                id,
                                s.json,
                                s.requests,
                                s.failures,
                                real(s.rps),
                                real(s.p95_ms)
                            ],
                        )
                        .map_err(write_err)?;
                }
                found(changed, id)
            }
            Durable::Change(c) => {
                let old = json(&c.old, "the old value of a configuration change")?;
                let new = json(&c.new, "the new value of a configuration change")?;
                conn.execute(
                    "INSERT INTO config_changes (session_id, who, at_ms, field, old_json, new_json)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![c.session_id, c.who, c.at_ms, c.field, old, new],
                )
                .map_err(write_err)?;
                Ok(Outcome::Done)
            }
            Durable::Audit(a) => {
                conn.execute(
                    "INSERT INTO audit (at_ms, who, client, action, target, result, status, detail)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        a.at_ms, a.who, a.client, a.action, a.target, a.result, a.status, a.detail
                    ],
                )
                .map_err(write_err)?;
                Ok(Outcome::Done)
            }
            Durable::Setting { key, value, at_ms } => {
                conn.execute(
                    "INSERT INTO settings (key, value, updated_at_ms) VALUES (?1, ?2, ?3)
                     ON CONFLICT (key) DO UPDATE
                         SET value = excluded.value, updated_at_ms = excluded.updated_at_ms",
                    params![key, value, at_ms],
                )
                .map_err(write_err)?;
                Ok(Outcome::Done)
            }
            Durable::Prune { ended_before_ms } => prune(conn, *ended_before_ms).map_err(write_err),
        }
    }

    /// What this write is, for error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Durable::CreateSession(s) => format!("creating session {}", s.id),
            Durable::SetWorker { id, .. } => format!("setting the worker of session {id}"),
            Durable::SetStatus { id, status, .. } => {
                format!("setting the status of session {id} to {status}")
            }
            Durable::Finish { id, status, .. } => format!("finishing session {id} as {status}"),
            Durable::Change(c) => match &c.session_id {
                Some(id) => format!("recording a change of {} in session {id}", c.field),
                None => format!("recording a change of {}", c.field),
            },
            Durable::Audit(a) => format!("recording the audit entry for {}", a.action),
            Durable::Setting { key, .. } => format!("saving setting {key}"),
            Durable::Prune { ended_before_ms } => {
                format!("pruning sessions that ended before {ended_before_ms} ms")
            }
        }
    }
}

fn apply_tick(conn: &Connection, session_id: &str, t: &Tick) -> rusqlite::Result<()> {
    let l = &t.latency;
    let parked = t.load_reduction.map_or(0, |r| r.parked_users);
    conn.prepare_cached(
        "INSERT OR REPLACE INTO session_seconds (session_id, second, at_ms, active_users,
             target_users, requests, failures, short_circuited, rps, p50, p90, p95, p99, max, avg,
             users_in_backoff, parked_users, errors_last_minute, flows)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
             ?19)",
    )?
    .execute(params![
        session_id,
        t.second,
        t.at_ms,
        t.active_users,
        t.target_users,
        t.requests,
        t.failures,
        t.short_circuited,
        real(t.rps),
        real(l.p50),
        real(l.p90),
        real(l.p95),
        real(l.p99),
        real(l.max),
        real(l.avg),
        t.users_in_backoff,
        parked,
        t.errors_last_minute,
        (!t.flows.is_empty())
            .then(|| serde_json::to_string(&t.flows).ok())
            .flatten(),
    ])?;

    // A replayed second replaces the endpoints it had, all of them.
    conn.prepare_cached("DELETE FROM endpoint_seconds WHERE session_id = ?1 AND second = ?2")?
        .execute(params![session_id, t.second])?;
    let mut insert = conn.prepare_cached(
        "INSERT OR REPLACE INTO endpoint_seconds (session_id, second, endpoint, position,
             requests, failures, connect, timeout, status_4xx, status_5xx, unexpected,
             short_circuited, p50, p90, p95, p99, max, avg, weight, breaker, capture_failures,
             check_failures)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
             ?19, ?20, ?21, ?22)",
    )?;
    for (position, e) in (0_i64..).zip(&t.endpoints) {
        let f = &e.failures;
        let l = &e.latency;
        insert.execute(params![
            session_id,
            t.second,
            e.name,
            position,
            e.requests,
            f.total(),
            f.connect,
            f.timeout,
            f.status_4xx,
            f.status_5xx,
            f.unexpected,
            e.short_circuited,
            real(l.p50),
            real(l.p90),
            real(l.p95),
            real(l.p99),
            real(l.max),
            real(l.avg),
            real(e.weight),
            breaker_str(e.breaker),
            f.capture,
            f.check,
        ])?;
    }
    crate::accuracy::apply(conn, session_id, t)?;

    // Totals move forward only: an old tick replayed late, or one arriving after the session
    // ended (whose totals then come from its summary), leaves them alone. The rate and the p95
    // are the whole run's, so a session that ends without a report still shows whole-run figures.
    conn.prepare_cached(
        "UPDATE sessions SET last_second = ?2, requests = ?3, failures = ?4, rps = ?5,
             p95_ms = ?6, active_users = ?7
         WHERE id = ?1 AND last_second <= ?2 AND ended_at_ms IS NULL",
    )?
    .execute(params![
        session_id,
        t.second,
        t.total_requests,
        t.total_failures,
        real(t.total_requests as f64 / t.elapsed_s.max(1e-3)),
        real(t.total_latency.p95),
        t.active_users,
    ])?;
    Ok(())
}

fn apply_error(conn: &Connection, session_id: &str, s: &ErrorSample) -> rusqlite::Result<()> {
    let class = s.class.map(|c| c.as_str());
    let key = ErrorKey::new(&s.endpoint, s.class, s.status, &s.message);
    // The same expressions as the unique index `errors_by_kind`, so the lookup uses it.
    let existing: Option<(i64, String)> = conn
        .prepare_cached(
            "SELECT id, trace_ids_json FROM errors
             WHERE session_id = ?1 AND endpoint = ?2 AND IFNULL(class, '') = ?3
                 AND IFNULL(status, -1) = ?4 AND kind = ?5",
        )?
        .query_row(
            params![
                session_id,
                s.endpoint,
                class.unwrap_or(""),
                s.status.map_or(-1, i64::from),
                key.kind
            ],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;

    match existing {
        Some((id, trace_ids_json)) => {
            // A damaged list is replaced rather than blocking the group's count.
            let mut trace_ids: Vec<String> =
                serde_json::from_str(&trace_ids_json).unwrap_or_default();
            if let Some(trace_id) = &s.trace_id {
                trace_ids.retain(|t| t != trace_id);
                trace_ids.insert(0, trace_id.clone());
                trace_ids.truncate(TRACE_IDS_PER_GROUP);
            }
            conn.prepare_cached(
                "UPDATE errors SET count = count + 1, first_at_ms = MIN(first_at_ms, ?2),
                     last_at_ms = MAX(last_at_ms, ?2), trace_ids_json = ?3
                 WHERE id = ?1",
            )?
            .execute(params![id, s.at_ms, to_sql_json(&trace_ids)?])?;
        }
        None => {
            let trace_ids: Vec<&String> = s.trace_id.iter().collect();
            conn.prepare_cached(
                "INSERT INTO errors (session_id, endpoint, class, status, message, kind, count,
                     first_at_ms, last_at_ms, trace_ids_json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7, ?8)",
            )?
            .execute(params![
                session_id,
                s.endpoint,
                class,
                s.status,
                s.message,
                key.kind,
                s.at_ms,
                to_sql_json(&trace_ids)?
            ])?;
        }
    }
    Ok(())
}

fn prune(conn: &Connection, ended_before_ms: u64) -> rusqlite::Result<Outcome> {
    const ENDED: &str =
        "SELECT id FROM sessions WHERE ended_at_ms IS NOT NULL AND ended_at_ms < ?1";
    let endpoint_seconds = conn.execute(
        &format!("DELETE FROM endpoint_seconds WHERE session_id IN ({ENDED})"),
        [ended_before_ms],
    )?;
    let seconds = conn.execute(
        &format!("DELETE FROM session_seconds WHERE session_id IN ({ENDED})"),
        [ended_before_ms],
    )?;
    let events = conn.execute(
        &format!("DELETE FROM events WHERE session_id IN ({ENDED})"),
        [ended_before_ms],
    )?;
    crate::accuracy::prune(conn, ended_before_ms)?;
    Ok(Outcome::Pruned(PruneCounts {
        seconds: seconds as u64,
        endpoint_seconds: endpoint_seconds as u64,
        events: events as u64,
    }))
}

/// The breaker state as stored and as [`crate::EndpointSecondRow::breaker`] reports it.
fn breaker_str(state: BreakerState) -> &'static str {
    match state {
        BreakerState::Closed => "closed",
        BreakerState::Open => "open",
        BreakerState::HalfOpen => "half_open",
    }
}

/// SQLite stores NaN as NULL, which the NOT NULL columns refuse; a NaN figure means "no data".
fn real(x: f64) -> f64 {
    if x.is_nan() { 0.0 } else { x }
}

/// Encodes `value` as JSON for a column, naming `what` if it cannot be.
pub(crate) fn json<T: serde::Serialize + ?Sized>(value: &T, what: &str) -> Result<String> {
    serde_json::to_string(value).map_err(|source| StoreError::Json {
        what: format!("cannot encode {what}"),
        source,
    })
}

/// Encodes `value` as JSON inside a statement, as a conversion error of the statement.
fn to_sql_json<T: serde::Serialize + ?Sized>(value: &T) -> rusqlite::Result<String> {
    serde_json::to_string(value).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}
