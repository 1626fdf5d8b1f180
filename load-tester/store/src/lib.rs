//! The control server's session store: sessions, their per-second and per-endpoint stats,
//! grouped errors with sample trace ids, the server-sent events (for `Last-Event-ID` resumes),
//! the configuration history, the audit log and the server's settings, in one SQLite file in
//! WAL mode.
//!
//! [`Store`] is a cheap, cloneable handle. Every call blocks (call it from
//! `tokio::task::spawn_blocking` in async code), but the per-second writes
//! ([`Store::record_tick`], [`Store::record_error`], [`Store::record_event`]) only queue: one
//! writer thread commits everything queued at most once a second, in one transaction for all
//! sessions. The management writes (creating a session, status changes, history, audit,
//! settings) are committed, with whatever is queued, before they return. Reads use their own
//! connection and see committed data only.

mod accuracy;
mod error;
mod ops;
mod read;
mod schema;
mod types;
mod writer;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use lt_protocol::{ErrorSample, Report, Tick};
use rusqlite::Connection;

pub use accuracy::SecondAccuracy;
pub use error::{Result, StoreError};
pub use read::DEFAULT_SESSION_LIMIT;
pub use schema::SCHEMA_VERSION;
pub use types::{
    AuditEntry, ConfigChange, EndpointSecondRow, ErrorGroupRow, NewSession, PruneCounts, SecondRow,
    SessionFilter, SessionRow, StoredEvent,
};
pub use writer::MAX_QUEUED_WRITES;

use ops::{Batched, Durable, Outcome, Summary};
use writer::Writer;

/// A handle to the session store. Clones share one writer thread and one read connection; the
/// last one dropped commits what is queued.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Writer,
    reader: Mutex<Connection>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens or creates the database at `path` (creating its folder), migrates it to
    /// [`SCHEMA_VERSION`] and starts the writer thread.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let mut write_conn = schema::connect(path)?;
        schema::migrate(&mut write_conn, path)?;
        let reader = schema::connect_read_only(path)?;
        Ok(Store {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                writer: Writer::spawn(write_conn)?,
                reader: Mutex::new(reader),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    // --- Durable writes: committed before they return. ---

    /// Records a new session. Fails with [`StoreError::SessionExists`] if the id is taken, and
    /// with [`StoreError::Json`] if `config_json` or `overrides_json` is not JSON.
    pub fn create_session(&self, s: &NewSession) -> Result<()> {
        check_json(&s.config_json, || {
            format!("config_json of new session {}", s.id)
        })?;
        check_json(&s.overrides_json, || {
            format!("overrides_json of new session {}", s.id)
        })?;
        self.durable(Durable::CreateSession(s.clone())).map(drop)
    }

    /// Records the worker process running session `id`.
    pub fn set_worker(&self, id: &str, pid: u32, socket: &str) -> Result<()> {
        self.durable(Durable::SetWorker {
            id: id.to_string(),
            pid,
            socket: socket.to_string(),
        })
        .map(drop)
    }

    /// Sets the status of session `id`, and its start time when it first becomes `"running"`.
    /// A `None` reason keeps the one already recorded.
    pub fn set_status(
        &self,
        id: &str,
        status: &str,
        reason: Option<&str>,
        at_ms: u64,
    ) -> Result<()> {
        self.durable(Durable::SetStatus {
            id: id.to_string(),
            status: status.to_string(),
            reason: reason.map(str::to_string),
            at_ms,
        })
        .map(drop)
    }

    /// Ends session `id`: its final status, end time and, when there is one, its report, whose
    /// totals replace the ones kept from ticks. Active users go to 0. A `None` reason keeps the
    /// one already recorded.
    pub fn finish_session(
        &self,
        id: &str,
        status: &str,
        reason: Option<&str>,
        ended_at_ms: u64,
        summary: Option<&Report>,
    ) -> Result<()> {
        let summary = summary
            .map(|r| -> Result<Summary> {
                Ok(Summary {
                    json: ops::json(r, &format!("the report of session {id}"))?,
                    requests: r.requests,
                    failures: r.failures,
                    rps: r.rps,
                    p95_ms: r.latency_ms.p95,
                })
            })
            .transpose()?;
        self.durable(Durable::Finish {
            id: id.to_string(),
            status: status.to_string(),
            reason: reason.map(str::to_string),
            ended_at_ms,
            summary,
        })
        .map(drop)
    }

    /// Adds an entry to the configuration history (its `id` is ignored).
    pub fn record_change(&self, c: &ConfigChange) -> Result<()> {
        self.durable(Durable::Change(c.clone())).map(drop)
    }

    /// Adds an entry to the audit log (its `id` is ignored).
    pub fn record_audit(&self, a: &AuditEntry) -> Result<()> {
        self.durable(Durable::Audit(a.clone())).map(drop)
    }

    /// Sets a server setting.
    pub fn set_setting(&self, key: &str, value: &str, at_ms: u64) -> Result<()> {
        self.durable(Durable::Setting {
            key: key.to_string(),
            value: value.to_string(),
            at_ms,
        })
        .map(drop)
    }

    // --- Batched writes: queued, committed within about a second. ---

    /// Queues one second of a session: its row, its endpoints' rows (replacing any earlier
    /// record of the same second) and the session's totals.
    pub fn record_tick(&self, session_id: &str, tick: &Tick) {
        self.inner.writer.enqueue(Batched::Tick {
            session_id: session_id.to_string(),
            tick: Box::new(tick.clone()),
        });
    }

    /// Queues an error sample, counted into its group (endpoint, class, status, message).
    pub fn record_error(&self, session_id: &str, sample: &ErrorSample) {
        self.inner.writer.enqueue(Batched::Error {
            session_id: session_id.to_string(),
            sample: sample.clone(),
        });
    }

    /// Queues a server-sent event; one whose id is already stored is ignored.
    pub fn record_event(&self, e: &StoredEvent) {
        self.inner.writer.enqueue(Batched::Event(e.clone()));
    }

    /// Blocks until everything queued before this call is committed.
    pub fn flush(&self) -> Result<()> {
        self.inner.writer.flush()
    }

    // --- Reads: committed data only. ---

    /// One session.
    pub fn session(&self, id: &str) -> Result<Option<SessionRow>> {
        read::session(&self.reader(), id)
    }

    /// Sessions, newest first.
    pub fn sessions(&self, filter: &SessionFilter) -> Result<Vec<SessionRow>> {
        read::sessions(&self.reader(), filter)
    }

    /// Sessions whose status is `"starting"`, `"running"` or `"stopping"`, oldest first.
    pub fn unfinished_sessions(&self) -> Result<Vec<SessionRow>> {
        read::unfinished_sessions(&self.reader())
    }

    /// Up to `limit` seconds of session `id` after `after_second` (from the first when `None`),
    /// in order, each with its endpoints.
    pub fn seconds(
        &self,
        id: &str,
        after_second: Option<u64>,
        limit: usize,
    ) -> Result<Vec<SecondRow>> {
        read::seconds(&self.reader(), id, after_second, limit)
    }

    /// The error groups of session `id`, most frequent first.
    pub fn errors(&self, id: &str) -> Result<Vec<ErrorGroupRow>> {
        read::errors(&self.reader(), id)
    }

    /// The configuration history of one session, or of everything when `None`, newest first.
    pub fn config_changes(
        &self,
        session_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ConfigChange>> {
        read::config_changes(&self.reader(), session_id, limit)
    }

    /// The audit log, newest first.
    pub fn audit(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        read::audit(&self.reader(), limit)
    }

    /// Up to `limit` events with ids above `after_id`, of one session or all, in id order.
    pub fn events_after(
        &self,
        after_id: u64,
        session_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        read::events_after(&self.reader(), after_id, session_id, limit)
    }

    /// The highest committed event id, 0 when there is none.
    pub fn max_event_id(&self) -> Result<u64> {
        read::max_event_id(&self.reader())
    }

    /// A server setting.
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        read::setting(&self.reader(), key)
    }

    // --- Maintenance and figures. ---

    /// Deletes the seconds, endpoint seconds and events of sessions that ended before
    /// `ended_before_ms`, keeping their session rows, summaries and error groups.
    pub fn prune(&self, ended_before_ms: u64) -> Result<PruneCounts> {
        match self.durable(Durable::Prune { ended_before_ms })? {
            Outcome::Pruned(counts) => Ok(counts),
            Outcome::Done => Ok(PruneCounts::default()),
        }
    }

    /// Write transactions committed since open.
    pub fn write_transactions(&self) -> u64 {
        self.inner.writer.transactions()
    }

    /// Batched writes lost: pushed out of a full queue, or failed when committed.
    pub fn dropped_writes(&self) -> u64 {
        self.inner.writer.dropped()
    }

    fn durable(&self, op: Durable) -> Result<Outcome> {
        self.inner.writer.durable(op)
    }

    /// The read connection. A panic while it was held cannot leave it in a worse state than an
    /// error would, so a poisoned lock is used as is.
    fn reader(&self) -> MutexGuard<'_, Connection> {
        self.inner
            .reader
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn check_json(json: &str, what: impl FnOnce() -> String) -> Result<()> {
    serde_json::from_str::<serde::de::IgnoredAny>(json)
        .map(drop)
        .map_err(|source| StoreError::Json {
            what: format!("{} is not JSON", what()),
            source,
        })
}
