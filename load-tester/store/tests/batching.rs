//! The batching rule: queued writes share one transaction per second, whatever the number of
//! sessions. Only coarse transaction counts are checked, never timings.

mod common;

use std::time::{Duration, Instant};

use common::{create, tick};

#[test]
fn a_burst_from_many_sessions_is_one_transaction() {
    let (_dir, store) = common::store();
    let ids: Vec<String> = (0..5)
        .map(|i| create(&store, &format!("s{i}"), i))
        .collect();

    let before = store.write_transactions();
    for second in 1..=3 {
        for id in &ids {
            store.record_tick(id, &tick(second));
        }
    }
    store.flush().unwrap();
    let transactions = store.write_transactions() - before;
    assert!(
        (1..=2).contains(&transactions),
        "{transactions} transactions"
    );
    for id in &ids {
        assert_eq!(store.seconds(id, None, 10).unwrap().len(), 3);
    }

    // Nothing queued: a flush costs nothing.
    store.flush().unwrap();
    assert_eq!(store.write_transactions() - before, transactions);
}

#[test]
fn a_steady_stream_of_ticks_commits_about_once_a_second() {
    let (_dir, store) = common::store();
    let ids: Vec<String> = (0..5)
        .map(|i| create(&store, &format!("s{i}"), i))
        .collect();

    let before = store.write_transactions();
    let start = Instant::now();
    let mut ticks = 0;
    for second in 1..=30 {
        for id in &ids {
            store.record_tick(id, &tick(second));
            ticks += 1;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    store.flush().unwrap();
    let elapsed = start.elapsed().as_secs();
    let transactions = store.write_transactions() - before;

    // Each batch waits a full second, so at most one per whole second elapsed, plus the flush.
    assert!(
        transactions <= elapsed + 1,
        "{transactions} transactions for {ticks} ticks in {elapsed} s"
    );
    assert!(transactions >= 1);
    for id in &ids {
        assert_eq!(store.seconds(id, None, 100).unwrap().len(), 30);
    }
}

#[test]
fn a_durable_write_takes_the_queued_ones_with_it() {
    let (_dir, store) = common::store();
    let id = create(&store, "s1", 1);
    let before = store.write_transactions();
    store.record_tick(&id, &tick(1));
    store.set_status(&id, "running", None, 5).unwrap();
    assert_eq!(store.write_transactions() - before, 1);
    assert_eq!(
        store.seconds(&id, None, 10).unwrap().len(),
        1,
        "committed with the status"
    );
}

/// Another process holding the database locked (a backup, an operator in `sqlite3`) for several
/// seconds mid-run: the writer keeps what it was given and commits it once the lock is gone, so
/// every second of the session is stored and nothing is counted as dropped.
#[test]
fn a_locked_database_delays_writes_and_loses_none() {
    let (dir, store) = common::store();
    let id = create(&store, "s1", 1);
    store.flush().unwrap();
    let path = dir.path().join("data").join("sessions.db");
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();

    // Ten seconds of ticks arrive while the lock is held for about 7 s (beyond the writer's
    // 5 s busy timeout, so at least one of its transactions fails outright).
    let held = std::time::Instant::now();
    for second in 1..=10 {
        store.record_tick(&id, &tick(second));
        std::thread::sleep(std::time::Duration::from_millis(700));
    }
    other.execute_batch("COMMIT").unwrap();
    drop(other);
    assert!(held.elapsed() >= std::time::Duration::from_secs(6));

    store.record_tick(&id, &tick(11));
    // The writer retries by itself; a flush right away may still meet its backoff.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while store.seconds(&id, None, 100).unwrap().len() < 11 {
        assert!(
            std::time::Instant::now() < deadline,
            "the queued seconds never landed"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let seconds: Vec<u64> = store
        .seconds(&id, None, 100)
        .unwrap()
        .iter()
        .map(|s| s.second)
        .collect();
    assert_eq!(seconds, (1..=11).collect::<Vec<u64>>());
    assert_eq!(store.dropped_writes(), 0);
}
