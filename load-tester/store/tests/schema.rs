//! Migrations: a new file gets the current version, reopening changes nothing, and a file from a
//! newer build is refused.

mod common;

use lt_store::{SCHEMA_VERSION, Store, StoreError};

fn user_version(path: &std::path::Path) -> u32 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

fn schema_sql(path: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT IFNULL(sql, name) FROM sqlite_master ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_new_file_is_created_at_the_current_version_in_wal_mode() {
    let (dir, store) = common::store();
    let path = dir.path().join("data").join("sessions.db");
    assert_eq!(store.path(), path);
    drop(store);
    assert_eq!(user_version(&path), SCHEMA_VERSION);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn reopening_changes_nothing_and_keeps_the_data() {
    let (dir, store) = common::store();
    let path = store.path().to_path_buf();
    common::create(&store, "s1", 1_000);
    drop(store);
    let before = schema_sql(&path);

    let store = Store::open(&path).unwrap();
    assert_eq!(store.write_transactions(), 0, "no migration ran");
    assert!(store.session("s1").unwrap().is_some());
    drop(store);
    assert_eq!(schema_sql(&path), before);
    assert_eq!(user_version(&path), SCHEMA_VERSION);
    drop(dir);
}

#[test]
fn a_file_from_a_newer_build_is_refused_naming_the_file_and_both_versions() {
    let (_dir, store) = common::store();
    let path = store.path().to_path_buf();
    drop(store);
    let newer = SCHEMA_VERSION + 1;
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", newer)
        .unwrap();

    let err = Store::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::TooNew { found, known, .. } if found == newer && known == SCHEMA_VERSION),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains(&format!("version {newer}")), "{message}");
    assert!(
        message.contains(&format!("up to {SCHEMA_VERSION}")),
        "{message}"
    );
    // The file is left as it was.
    assert_eq!(user_version(&path), newer);
}
