//! Errors of opening and querying the database.

use std::borrow::Cow;

use super::Backend;

/// Opening, migrating or seeding the database failed. Messages name the (password-redacted) URL.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The URL is neither `sqlite:` nor `postgres:`.
    #[error(
        "unsupported database URL {url:?}: expected sqlite://<file> or postgres://user@host/db"
    )]
    UnsupportedUrl {
        /// The URL given.
        url: String,
    },
    /// The URL could not be parsed.
    #[error("bad database URL {url:?}: {source}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// Why.
        #[source]
        source: sqlx::Error,
    },
    /// The server or file could not be reached.
    #[error("cannot connect to database {url:?}: {source}")]
    Connect {
        /// The URL given.
        url: String,
        /// Why.
        #[source]
        source: sqlx::Error,
    },
    /// The data directory of an SQLite file could not be created.
    #[error("cannot create data directory {path:?}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A migration failed.
    #[error("cannot migrate database {url:?}: {source}")]
    Migrate {
        /// The URL given.
        url: String,
        /// Why.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// Seeding failed.
    #[error("cannot seed database {url:?}: {source}")]
    Seed {
        /// The URL given.
        url: String,
        /// Why.
        #[source]
        source: DbError,
    },
}

/// A statement failed.
#[derive(Debug, thiserror::Error)]
#[error("statement {statement} failed ({class}): {source}")]
pub struct DbError {
    statement: &'static str,
    class: String,
    #[source]
    source: sqlx::Error,
}

impl DbError {
    /// Wraps the sqlx error of `statement`.
    pub fn new(statement: &'static str, backend: Backend, source: sqlx::Error) -> Self {
        let class = classify(backend, &source);
        Self {
            statement,
            class,
            source,
        }
    }

    /// The name of the failed statement.
    pub fn statement(&self) -> &'static str {
        self.statement
    }

    /// The database's error class: the SQLSTATE on PostgreSQL (e.g. `42P01`), the result code
    /// name on SQLite (e.g. `SQLITE_ERROR`), or the kind of client-side failure.
    pub fn class(&self) -> &str {
        &self.class
    }

    /// The database's own message.
    pub fn message(&self) -> Cow<'_, str> {
        match &self.source {
            sqlx::Error::Database(e) => Cow::Borrowed(e.message()),
            other => Cow::Owned(other.to_string()),
        }
    }

    /// Whether the database could not be reached or used at all (no connection, pool timed out,
    /// I/O failure, locked, refusing connections or shutting down), as opposed to rejecting this
    /// one statement: the service answers 503 for these.
    pub fn is_unavailable(&self) -> bool {
        match &self.source {
            sqlx::Error::Database(_) => {
                let class = self.class.as_str();
                // PostgreSQL: 08 connection exception, 57P0x shutdown/cannot connect now,
                // 3D000 database gone, 55000 not accepting connections, 53 resources.
                class.starts_with("08")
                    || class.starts_with("57P")
                    || class.starts_with("53")
                    || class == "3D000"
                    || class == "55000"
                    || matches!(
                        class,
                        "SQLITE_BUSY"
                            | "SQLITE_LOCKED"
                            | "SQLITE_CANTOPEN"
                            | "SQLITE_IOERR"
                            | "SQLITE_READONLY"
                            | "SQLITE_FULL"
                            | "SQLITE_NOTADB"
                    )
            }
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => true,
            _ => false,
        }
    }

    /// Whether the database itself rejected the statement (as opposed to a pool or I/O failure).
    pub fn is_database_error(&self) -> bool {
        matches!(self.source, sqlx::Error::Database(_))
    }
}

fn classify(backend: Backend, error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(e) => {
            let code = e.code().map(|c| c.into_owned()).unwrap_or_default();
            match backend {
                Backend::Postgres => code,
                Backend::Sqlite => code
                    .parse::<i32>()
                    .map(|c| sqlite_code_name(c).to_owned())
                    .unwrap_or(code),
            }
        }
        sqlx::Error::PoolTimedOut => "pool_timed_out".to_owned(),
        sqlx::Error::PoolClosed => "pool_closed".to_owned(),
        sqlx::Error::Io(_) => "io".to_owned(),
        sqlx::Error::RowNotFound => "row_not_found".to_owned(),
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => "decode".to_owned(),
        _ => "client".to_owned(),
    }
}

/// Name of an SQLite primary result code (the low byte of an extended code).
fn sqlite_code_name(code: i32) -> &'static str {
    match code & 0xff {
        1 => "SQLITE_ERROR",
        2 => "SQLITE_INTERNAL",
        3 => "SQLITE_PERM",
        4 => "SQLITE_ABORT",
        5 => "SQLITE_BUSY",
        6 => "SQLITE_LOCKED",
        7 => "SQLITE_NOMEM",
        8 => "SQLITE_READONLY",
        9 => "SQLITE_INTERRUPT",
        10 => "SQLITE_IOERR",
        11 => "SQLITE_CORRUPT",
        13 => "SQLITE_FULL",
        14 => "SQLITE_CANTOPEN",
        19 => "SQLITE_CONSTRAINT",
        20 => "SQLITE_MISMATCH",
        21 => "SQLITE_MISUSE",
        25 => "SQLITE_RANGE",
        26 => "SQLITE_NOTADB",
        _ => "SQLITE_UNKNOWN",
    }
}

/// `url` with any password replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_passwords_only() {
        for (input, expected) in [
            ("postgres://u:secret@h/db", "postgres://u:***@h/db"),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("sqlite://./data/ec.db", "sqlite://./data/ec.db"),
        ] {
            assert_eq!(redact(input), expected);
        }
    }

    #[test]
    fn sqlite_codes_are_named_by_primary_code() {
        assert_eq!(sqlite_code_name(1), "SQLITE_ERROR");
        assert_eq!(sqlite_code_name(2067), "SQLITE_CONSTRAINT");
    }
}
