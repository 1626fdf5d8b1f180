//! The schema and its migrations, versioned with `PRAGMA user_version`, and the connection
//! settings every connection gets.
//!
//! [`MIGRATIONS`] is append-only: step `n` (1-based) takes a database from version `n - 1` to
//! `n`. Each step runs in its own transaction together with the version bump, so a crash leaves
//! the file at a whole version. A file with a version above [`SCHEMA_VERSION`] was written by a
//! newer build and is refused rather than guessed at.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use crate::{Result, StoreError};

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// How long a connection waits for a lock held by another connection before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The migration steps, in order. Never edit a released step; add a new one.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "
    CREATE TABLE sessions (
        id             TEXT PRIMARY KEY NOT NULL,
        scenario       TEXT NOT NULL,
        source         TEXT NOT NULL,
        target         TEXT NOT NULL,
        status         TEXT NOT NULL,
        reason         TEXT,
        created_by     TEXT NOT NULL,
        created_at_ms  INTEGER NOT NULL,
        started_at_ms  INTEGER,
        ended_at_ms    INTEGER,
        config_json    TEXT NOT NULL,
        overrides_json TEXT NOT NULL,
        worker_pid     INTEGER,
        worker_socket  TEXT,
        summary_json   TEXT,
        last_second    INTEGER NOT NULL DEFAULT 0,
        requests       INTEGER NOT NULL DEFAULT 0,
        failures       INTEGER NOT NULL DEFAULT 0,
        rps            REAL NOT NULL DEFAULT 0,
        p95_ms         REAL NOT NULL DEFAULT 0,
        active_users   INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX sessions_by_status ON sessions (status, created_at_ms);
    CREATE INDEX sessions_by_created ON sessions (created_at_ms);

    CREATE TABLE session_seconds (
        session_id         TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        second             INTEGER NOT NULL,
        at_ms              INTEGER NOT NULL,
        active_users       INTEGER NOT NULL,
        target_users       INTEGER NOT NULL,
        requests           INTEGER NOT NULL,
        failures           INTEGER NOT NULL,
        short_circuited    INTEGER NOT NULL,
        rps                REAL NOT NULL,
        p50                REAL NOT NULL,
        p90                REAL NOT NULL,
        p95                REAL NOT NULL,
        p99                REAL NOT NULL,
        max                REAL NOT NULL,
        avg                REAL NOT NULL,
        users_in_backoff   INTEGER NOT NULL,
        parked_users       INTEGER NOT NULL,
        errors_last_minute INTEGER NOT NULL,
        PRIMARY KEY (session_id, second)
    ) WITHOUT ROWID;

    CREATE TABLE endpoint_seconds (
        session_id      TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        second          INTEGER NOT NULL,
        endpoint        TEXT NOT NULL,
        position        INTEGER NOT NULL,
        requests        INTEGER NOT NULL,
        failures        INTEGER NOT NULL,
        connect         INTEGER NOT NULL,
        timeout         INTEGER NOT NULL,
        status_4xx      INTEGER NOT NULL,
        status_5xx      INTEGER NOT NULL,
        unexpected      INTEGER NOT NULL,
        short_circuited INTEGER NOT NULL,
        p50             REAL NOT NULL,
        p90             REAL NOT NULL,
        p95             REAL NOT NULL,
        p99             REAL NOT NULL,
        max             REAL NOT NULL,
        avg             REAL NOT NULL,
        weight          REAL NOT NULL,
        breaker         TEXT NOT NULL,
        PRIMARY KEY (session_id, second, endpoint)
    ) WITHOUT ROWID;

    CREATE TABLE errors (
        id             INTEGER PRIMARY KEY,
        session_id     TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        endpoint       TEXT NOT NULL,
        class          TEXT,
        status         INTEGER,
        message        TEXT NOT NULL,
        count          INTEGER NOT NULL,
        first_at_ms    INTEGER NOT NULL,
        last_at_ms     INTEGER NOT NULL,
        trace_ids_json TEXT NOT NULL DEFAULT '[]'
    );
    CREATE UNIQUE INDEX errors_by_group
        ON errors (session_id, endpoint, IFNULL(class, ''), IFNULL(status, -1), message);

    CREATE TABLE events (
        id         INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL,
        kind       TEXT NOT NULL,
        at_ms      INTEGER NOT NULL,
        data       TEXT NOT NULL
    );
    CREATE INDEX events_by_session ON events (session_id, id);

    CREATE TABLE config_changes (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT REFERENCES sessions (id) ON DELETE CASCADE,
        who        TEXT NOT NULL,
        at_ms      INTEGER NOT NULL,
        field      TEXT NOT NULL,
        old_json   TEXT NOT NULL,
        new_json   TEXT NOT NULL
    );
    CREATE INDEX config_changes_by_session ON config_changes (session_id, id);

    CREATE TABLE audit (
        id     INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms  INTEGER NOT NULL,
        who    TEXT NOT NULL,
        client TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        result TEXT NOT NULL,
        status INTEGER NOT NULL,
        detail TEXT
    );

    CREATE TABLE settings (
        key           TEXT PRIMARY KEY NOT NULL,
        value         TEXT NOT NULL,
        updated_at_ms INTEGER NOT NULL
    );
    ",
    // 2: error groups keyed by the message's kind (`lt_protocol::message_kind`), keeping the
    // first message as a sample; older groups keep their message as their kind.
    "
    ALTER TABLE errors ADD COLUMN kind TEXT NOT NULL DEFAULT '';
    UPDATE errors SET kind = message;
    DROP INDEX errors_by_group;
    CREATE UNIQUE INDEX errors_by_kind
        ON errors (session_id, endpoint, IFNULL(class, ''), IFNULL(status, -1), kind);
    ",
    // 3: journeys: failures of a capture or a check, and each second's flow figures (the
    // protocol's `FlowTick` list as JSON: they are read whole, never queried apart).
    "
    ALTER TABLE endpoint_seconds ADD COLUMN capture_failures INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE endpoint_seconds ADD COLUMN check_failures INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE session_seconds ADD COLUMN flows TEXT;
    ",
    // 4: how true each second's figures are: open-model drops (with each endpoint's, in the
    // tick's endpoint order), schedule lag, corrected latency, the generator's own figures.
    "
    CREATE TABLE second_accuracy (
        session_id            TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        second                INTEGER NOT NULL,
        dropped               INTEGER NOT NULL,
        total_dropped         INTEGER NOT NULL,
        endpoint_dropped_json TEXT NOT NULL,
        schedule_lag_p95_ms   REAL,
        schedule_lag_max_ms   REAL,
        corrected_p95_ms      REAL,
        corrected_p99_ms      REAL,
        cpu_percent           REAL,
        memory_bytes          INTEGER,
        timer_lag_ms          REAL,
        saturated             TEXT,
        limited               TEXT,
        PRIMARY KEY (session_id, second)
    ) WITHOUT ROWID;
    ",
];

/// Opens `path` (creating the file) with the settings every store connection uses: WAL,
/// `synchronous = NORMAL`, a busy timeout and foreign keys.
pub(crate) fn connect(path: &Path) -> Result<Connection> {
    let open_err = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    let conn = Connection::open(path).map_err(open_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(open_err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(
            path = %path.display(),
            journal_mode = %mode,
            "the session store could not switch to WAL; reads will wait for writes"
        );
    }
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
        .map_err(open_err)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Opens `path` like [`connect`], for reads only.
pub(crate) fn connect_read_only(path: &Path) -> Result<Connection> {
    let conn = connect(path)?;
    conn.pragma_update(None, "query_only", true)
        .map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(conn)
}

/// Brings the database up to [`SCHEMA_VERSION`], or refuses a newer one.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let found: u32 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    for (version, sql) in (1..).zip(MIGRATIONS).skip(found as usize) {
        let step = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version)?;
            tx.commit()
        };
        step(conn).map_err(|source| StoreError::Migrate {
            path: path.to_path_buf(),
            version,
            source,
        })?;
        tracing::info!(path = %path.display(), version, "migrated the session store");
    }
    Ok(())
}

/// The version a database file is at.
#[cfg(test)]
pub(crate) fn version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_applies_on_an_empty_database_and_records_its_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut conn = connect(&path).unwrap();
        migrate(&mut conn, &path).unwrap();
        assert_eq!(version(&conn).unwrap(), SCHEMA_VERSION);
    }
}
