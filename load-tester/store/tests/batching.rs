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
