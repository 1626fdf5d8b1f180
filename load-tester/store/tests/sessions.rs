//! A session's life in the store, retention, durability across a drop, and reads alongside
//! writes.

mod common;

use common::{create, report, sample, tick};
use lt_protocol::{FailureClass, FailureCounts};
use lt_store::{SessionFilter, Store, StoreError, StoredEvent};

#[test]
fn a_session_from_creation_to_its_report() {
    let (_dir, store) = common::store();
    store.create_session(&common::new_session("s1")).unwrap();

    let row = store.session("s1").unwrap().unwrap();
    assert_eq!(row.status, "starting");
    assert_eq!(row.config["users"], 10);
    assert_eq!(row.overrides["users"], 5);
    assert_eq!(
        (row.started_at_ms, row.ended_at_ms, row.summary),
        (None, None, None)
    );
    assert_eq!(store.unfinished_sessions().unwrap().len(), 1);

    store.set_worker("s1", 4242, "/run/lt/s1.sock").unwrap();
    store.set_status("s1", "running", None, 5_000).unwrap();
    store.set_status("s1", "running", None, 6_000).unwrap();
    let row = store.session("s1").unwrap().unwrap();
    assert_eq!(row.worker_pid, Some(4242));
    assert_eq!(row.worker_socket.as_deref(), Some("/run/lt/s1.sock"));
    assert_eq!(row.status, "running");
    assert_eq!(
        row.started_at_ms,
        Some(5_000),
        "set once, when it first runs"
    );

    for second in 1..=5 {
        store.record_tick("s1", &tick(second));
    }
    store.flush().unwrap();

    let seconds = store.seconds("s1", None, 100).unwrap();
    assert_eq!(
        seconds.iter().map(|s| s.second).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    let third = &seconds[2];
    let t = tick(3);
    assert_eq!(third.at_ms, t.at_ms);
    assert_eq!(third.active_users, t.active_users);
    assert_eq!(third.target_users, 20);
    assert_eq!(
        (third.requests, third.failures, third.short_circuited),
        (103, 3, 1)
    );
    assert_eq!(third.rps, t.rps);
    assert_eq!(third.latency, t.latency);
    assert_eq!((third.users_in_backoff, third.parked_users), (3, 2));
    assert_eq!(third.errors_last_minute, 21);
    let names: Vec<&str> = third
        .endpoints
        .iter()
        .map(|e| e.endpoint.as_str())
        .collect();
    assert_eq!(names, ["search", "home"], "in the tick's order");
    let search = &third.endpoints[0];
    assert_eq!(search.requests, 63);
    assert_eq!(
        search.failures,
        FailureCounts {
            connect: 1,
            timeout: 2,
            status_4xx: 3,
            status_5xx: 4,
            unexpected: 5,
            capture: 0,
            check: 0,
        }
    );
    assert_eq!(search.latency, t.endpoints[0].latency);
    assert_eq!((search.weight, search.breaker.as_str()), (3.0, "half_open"));
    // How true the second is: drops (the endpoint's too), lag, the generator's figures.
    assert_eq!((search.dropped, third.endpoints[1].dropped), (3, 0));
    let accuracy = third.accuracy.as_ref().expect("stored with the second");
    assert_eq!((accuracy.dropped, accuracy.total_dropped), (3, 6));
    assert_eq!(
        accuracy.schedule_lag_p95_ms,
        Some(t.schedule_lag.unwrap().p95)
    );
    assert_eq!(accuracy.cpu_percent, Some(98.0));
    assert_eq!(accuracy.memory_bytes, Some(50 << 20));
    assert_eq!(accuracy.limited.as_deref(), Some("not adding users"));
    assert_eq!(accuracy.saturated, None);
    assert_eq!(third.endpoints[1].breaker, "closed");
    assert!(seconds.iter().all(|s| s.endpoints.len() == 2));

    let page = store.seconds("s1", Some(2), 2).unwrap();
    assert_eq!(page.iter().map(|s| s.second).collect::<Vec<_>>(), [3, 4]);
    assert!(page.iter().all(|s| s.endpoints.len() == 2));
    assert!(store.seconds("s1", Some(5), 10).unwrap().is_empty());

    let row = store.session("s1").unwrap().unwrap();
    assert_eq!(row.last_second, 5);
    assert_eq!((row.requests, row.failures), (5_000, 50));
    // The session's rate and p95 are the whole run's (5,000 requests in 5 s; the tick's
    // `total_latency`), not its last second's.
    assert_eq!((row.rps, row.p95_ms, row.active_users), (1000.0, 210.0, 15));

    // A replayed older tick neither duplicates rows nor moves the totals back.
    let mut replay = tick(2);
    replay.endpoints.truncate(1);
    store.record_tick("s1", &replay);
    store.flush().unwrap();
    let seconds = store.seconds("s1", None, 100).unwrap();
    assert_eq!(seconds.len(), 5);
    assert_eq!(
        seconds[1].endpoints.len(),
        1,
        "the replay replaces that second"
    );
    assert_eq!(store.session("s1").unwrap().unwrap().last_second, 5);

    store
        .set_status("s1", "stopping", Some("stopped by api"), 9_000)
        .unwrap();
    let summary = report();
    store
        .finish_session("s1", "stopped", None, 9_500, Some(&summary))
        .unwrap();
    let row = store.session("s1").unwrap().unwrap();
    assert_eq!(row.status, "stopped");
    assert_eq!(
        row.reason.as_deref(),
        Some("stopped by api"),
        "kept from stopping"
    );
    assert_eq!(row.ended_at_ms, Some(9_500));
    assert_eq!(row.summary.as_ref(), Some(&summary));
    assert_eq!((row.requests, row.failures), (5_432, 21));
    assert_eq!((row.rps, row.p95_ms, row.active_users), (1086.4, 24.0, 0));
    assert!(store.unfinished_sessions().unwrap().is_empty());

    // A tick arriving after the end keeps the summary's totals.
    store.record_tick("s1", &tick(6));
    store.flush().unwrap();
    assert_eq!(store.session("s1").unwrap().unwrap().requests, 5_432);
}

#[test]
fn unknown_and_duplicate_sessions_are_named() {
    let (_dir, store) = common::store();
    create(&store, "s1", 1);
    let err = store
        .create_session(&common::new_session("s1"))
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::SessionExists { id } if id == "s1"),
        "{err:?}"
    );

    for err in [
        store.set_status("nope", "running", None, 1).unwrap_err(),
        store.set_worker("nope", 1, "x").unwrap_err(),
        store
            .finish_session("nope", "failed", Some("x"), 1, None)
            .unwrap_err(),
    ] {
        assert!(
            matches!(&err, StoreError::SessionNotFound { id } if id == "nope"),
            "{err:?}"
        );
    }
    assert!(store.session("nope").unwrap().is_none());

    let mut bad = common::new_session("s2");
    bad.config_json = "{not json".to_string();
    let err = store.create_session(&bad).unwrap_err();
    assert!(
        err.to_string().contains("config_json of new session s2"),
        "{err}"
    );
}

#[test]
fn sessions_are_listed_newest_first_by_status_and_scenario() {
    let (_dir, store) = common::store();
    for (i, id) in ["a", "b", "c", "d"].into_iter().enumerate() {
        create(&store, id, 1_000 + i as u64);
    }
    store.set_status("b", "running", None, 2_000).unwrap();
    store.set_status("c", "running", None, 2_000).unwrap();
    store
        .finish_session("d", "completed", None, 3_000, None)
        .unwrap();
    let mut other = common::new_session("e");
    other.scenario = "soak".to_string();
    other.created_at_ms = 5_000;
    store.create_session(&other).unwrap();

    let ids = |filter: SessionFilter| -> Vec<String> {
        store
            .sessions(&filter)
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect()
    };
    assert_eq!(ids(SessionFilter::default()), ["e", "d", "c", "b", "a"]);
    assert_eq!(
        ids(SessionFilter {
            statuses: vec!["running".into(), "completed".into()],
            ..Default::default()
        }),
        ["d", "c", "b"]
    );
    assert_eq!(
        ids(SessionFilter {
            scenario: Some("soak".into()),
            ..Default::default()
        }),
        ["e"]
    );
    assert_eq!(
        ids(SessionFilter {
            limit: Some(2),
            ..Default::default()
        }),
        ["e", "d"]
    );
    let unfinished: Vec<String> = store
        .unfinished_sessions()
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(unfinished, ["a", "b", "c", "e"]);
}

#[test]
fn a_row_with_bad_json_is_an_error_naming_it() {
    let (_dir, store) = common::store();
    create(&store, "s1", 1);
    rusqlite::Connection::open(store.path())
        .unwrap()
        .execute("UPDATE sessions SET config_json = '{' WHERE id = 's1'", [])
        .unwrap();
    let err = store.session("s1").unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, StoreError::BadJson { .. }), "{err:?}");
    assert!(
        message.contains("sessions.config_json") && message.contains("s1"),
        "{message}"
    );
    assert!(store.sessions(&SessionFilter::default()).is_err());
}

#[test]
fn a_tick_for_an_unknown_session_is_dropped_alone() {
    let (_dir, store) = common::store();
    create(&store, "s1", 1);
    store.record_tick("ghost", &tick(1));
    store.record_tick("s1", &tick(1));
    store.flush().unwrap();
    assert_eq!(store.dropped_writes(), 1);
    assert_eq!(store.seconds("s1", None, 10).unwrap().len(), 1);
}

#[test]
fn prune_drops_old_seconds_and_events_but_keeps_sessions_summaries_and_errors() {
    let (_dir, store) = common::store();
    let old = create(&store, "old", 1);
    let recent = create(&store, "recent", 2);
    let running = create(&store, "running", 3);
    store.set_status(&running, "running", None, 10).unwrap();
    let mut event_id = 0;
    for id in [&old, &recent, &running] {
        for second in 1..=3 {
            store.record_tick(id, &tick(second));
            event_id += 1;
            store.record_event(&StoredEvent {
                id: event_id,
                session_id: id.clone(),
                kind: "tick".to_string(),
                at_ms: second,
                data: "{}".to_string(),
            });
        }
        store.record_error(
            id,
            &sample("home", Some(FailureClass::Timeout), None, Some("t1"), 5),
        );
    }
    store
        .finish_session(&old, "completed", None, 1_000, Some(&report()))
        .unwrap();
    store
        .finish_session(&recent, "completed", None, 5_000, None)
        .unwrap();

    let counts = store.prune(2_000).unwrap();
    assert_eq!(
        (counts.seconds, counts.endpoint_seconds, counts.events),
        (3, 6, 3)
    );

    assert!(store.seconds(&old, None, 10).unwrap().is_empty());
    assert!(store.events_after(0, Some(&old), 10).unwrap().is_empty());
    let kept = store.session(&old).unwrap().unwrap();
    assert_eq!(kept.summary, Some(report()));
    assert_eq!(store.errors(&old).unwrap().len(), 1);

    for id in [&recent, &running] {
        assert_eq!(store.seconds(id, None, 10).unwrap().len(), 3, "{id}");
        assert_eq!(
            store.events_after(0, Some(id), 10).unwrap().len(),
            3,
            "{id}"
        );
    }
    assert_eq!(store.prune(2_000).unwrap(), Default::default());
}

#[test]
fn dropping_the_store_commits_what_was_queued() {
    let (_dir, store) = common::store();
    let path = store.path().to_path_buf();
    create(&store, "s1", 1);
    let clone = store.clone();
    for second in 1..=3 {
        clone.record_tick("s1", &tick(second));
    }
    clone.record_error(
        "s1",
        &sample(
            "home",
            Some(FailureClass::Status5xx),
            Some(503),
            Some("t"),
            9,
        ),
    );
    clone.record_event(&StoredEvent {
        id: 7,
        session_id: "s1".to_string(),
        kind: "lifecycle".to_string(),
        at_ms: 9,
        data: r#"{"state":"running"}"#.to_string(),
    });
    drop(store);
    drop(clone);

    let store = Store::open(&path).unwrap();
    assert_eq!(store.seconds("s1", None, 10).unwrap().len(), 3);
    assert_eq!(store.session("s1").unwrap().unwrap().last_second, 3);
    assert_eq!(store.errors("s1").unwrap()[0].count, 1);
    assert_eq!(store.max_event_id().unwrap(), 7);
}

#[test]
fn reads_from_several_threads_while_ticks_are_written() {
    fn assert_handle<T: Clone + Send + Sync + 'static>() {}
    assert_handle::<Store>();

    let (_dir, store) = common::store();
    for i in 0..3 {
        create(&store, &format!("s{i}"), i);
    }
    let readers: Vec<_> = (0..4)
        .map(|r| {
            let store = store.clone();
            std::thread::spawn(move || {
                let id = format!("s{}", r % 3);
                let mut last_seen = 0;
                for _ in 0..200 {
                    let seconds = store.seconds(&id, None, 1_000).unwrap();
                    assert!(
                        seconds.len() >= last_seen,
                        "committed seconds never go away"
                    );
                    last_seen = seconds.len();
                    assert!(seconds.iter().all(|s| s.endpoints.len() == 2));
                    store.session(&id).unwrap().unwrap();
                    store.sessions(&SessionFilter::default()).unwrap();
                    store.events_after(0, None, 10).unwrap();
                }
                last_seen
            })
        })
        .collect();
    for second in 1..=40 {
        for i in 0..3 {
            store.record_tick(&format!("s{i}"), &tick(second));
        }
        if second.is_multiple_of(10) {
            store.flush().unwrap();
        }
    }
    for reader in readers {
        reader.join().unwrap();
    }
    store.flush().unwrap();
    for i in 0..3 {
        let seconds = store.seconds(&format!("s{i}"), None, 1_000).unwrap();
        assert_eq!(seconds.len(), 40);
        assert_eq!(seconds[39].endpoints[0].breaker, "half_open");
    }
    assert_eq!(store.dropped_writes(), 0);
}
