//! What can go wrong, each case saying which file or which operation it was about.

use std::path::PathBuf;

/// A session store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the folder {path} for the session store: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot open the session store {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },

    #[error(
        "the session store {path} has schema version {found}, but this build knows versions up \
         to {known}; run a newer load-tester or point it at another file"
    )]
    TooNew {
        path: PathBuf,
        found: u32,
        known: u32,
    },

    #[error("cannot migrate the session store {path} to schema version {version}: {source}")]
    Migrate {
        path: PathBuf,
        version: u32,
        source: rusqlite::Error,
    },

    #[error("cannot start the session store's writer thread: {0}")]
    Spawn(std::io::Error),

    /// A write (or the transaction around it) failed.
    #[error("session store: {what}: {source}")]
    Write {
        what: String,
        source: rusqlite::Error,
    },

    /// A read failed.
    #[error("session store: {what}: {source}")]
    Read {
        what: String,
        source: rusqlite::Error,
    },

    /// A value given to the store is not the JSON it should be, or could not be encoded.
    #[error("session store: {what}: {source}")]
    Json {
        what: String,
        source: serde_json::Error,
    },

    /// A stored JSON column does not parse.
    #[error("session store: {table}.{column} of row {row} is not valid JSON: {source}")]
    BadJson {
        table: &'static str,
        column: &'static str,
        row: String,
        source: serde_json::Error,
    },

    #[error("no session {id} in the session store")]
    SessionNotFound { id: String },

    #[error("a session with id {id} is already in the session store")]
    SessionExists { id: String },

    /// The writer thread is no longer running, so nothing can be written.
    #[error("the session store's writer thread has stopped")]
    WriterGone,
}

/// The store's result type.
pub type Result<T> = std::result::Result<T, StoreError>;
