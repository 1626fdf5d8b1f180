//! Error groups, events, the configuration history, the audit log and settings.

mod common;

use common::{create, sample};
use lt_protocol::{ErrorSample, FailureClass};
use lt_store::{AuditEntry, ConfigChange, StoredEvent};
use serde_json::json;

#[test]
fn error_samples_are_grouped_with_their_most_recent_trace_ids() {
    let (_dir, store) = common::store();
    let id = create(&store, "s1", 1);
    let timeout = Some(FailureClass::Status5xx);
    for i in 0..10_u64 {
        let trace = format!("trace-{i}");
        store.record_error(
            &id,
            &sample("search", timeout, Some(503), Some(&trace), 1_000 + i),
        );
    }
    // A repeated trace id is not listed twice.
    store.record_error(
        &id,
        &sample("search", timeout, Some(503), Some("trace-7"), 1_005),
    );
    // Slow but successful: its own group. Another status: its own group.
    store.record_error(&id, &sample("search", None, None, Some("slow-1"), 2_000));
    store.record_error(&id, &sample("search", None, None, None, 2_500));
    store.record_error(&id, &sample("search", timeout, Some(502), None, 3_000));
    store.flush().unwrap();

    let groups = store.errors(&id).unwrap();
    assert_eq!(groups.len(), 3, "{groups:#?}");
    let first = &groups[0];
    assert_eq!(first.endpoint, "search");
    assert_eq!(first.class.as_deref(), Some("status_5xx"));
    assert_eq!(first.status, Some(503));
    assert_eq!(first.message, "HTTP 503");
    assert_eq!(first.count, 11);
    assert_eq!((first.first_at_ms, first.last_at_ms), (1_000, 1_009));
    assert_eq!(
        first.trace_ids,
        ["trace-7", "trace-9", "trace-8", "trace-6", "trace-5"]
    );

    let slow = &groups[1];
    assert_eq!(
        (slow.class.as_deref(), slow.status, slow.count),
        (None, None, 2)
    );
    assert_eq!((slow.first_at_ms, slow.last_at_ms), (2_000, 2_500));
    assert_eq!(slow.trace_ids, ["slow-1"]);

    let other = &groups[2];
    assert_eq!((other.status, other.count), (Some(502), 1));
    assert!(other.trace_ids.is_empty());
    assert!(store.errors("nope").unwrap().is_empty());
}

fn event(id: u64, session_id: &str, data: &str) -> StoredEvent {
    StoredEvent {
        id,
        session_id: session_id.to_string(),
        kind: "tick".to_string(),
        at_ms: 1_000 + id,
        data: data.to_string(),
    }
}

#[test]
fn events_come_back_in_id_order_for_one_session_or_all() {
    let (_dir, store) = common::store();
    assert_eq!(store.max_event_id().unwrap(), 0);
    // Recorded out of order; read back in order.
    for (id, session) in [(3, "a"), (1, "a"), (2, "b"), (4, "b"), (5, "a"), (6, "a")] {
        store.record_event(&event(id, session, &format!("{{\"n\":{id}}}")));
    }
    store.record_event(&event(3, "a", "duplicate"));
    store.flush().unwrap();

    let ids = |events: Vec<StoredEvent>| events.into_iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.events_after(0, None, 100).unwrap()),
        [1, 2, 3, 4, 5, 6]
    );
    assert_eq!(ids(store.events_after(2, None, 2).unwrap()), [3, 4]);
    assert_eq!(
        ids(store.events_after(1, Some("a"), 100).unwrap()),
        [3, 5, 6]
    );
    assert_eq!(ids(store.events_after(0, Some("b"), 1).unwrap()), [2]);
    assert!(store.events_after(6, None, 100).unwrap().is_empty());

    let third = &store.events_after(2, None, 1).unwrap()[0];
    assert_eq!(
        third,
        &event(3, "a", "{\"n\":3}"),
        "the duplicate id was ignored"
    );
    assert_eq!(store.max_event_id().unwrap(), 6);
}

#[test]
fn configuration_changes_round_trip_newest_first() {
    let (_dir, store) = common::store();
    let id = create(&store, "s1", 1);
    let change = |session_id: Option<&str>, field: &str, old, new, at_ms| ConfigChange {
        id: None,
        session_id: session_id.map(str::to_string),
        who: "alice".to_string(),
        at_ms,
        field: field.to_string(),
        old,
        new,
    };
    store
        .record_change(&change(Some(&id), "users", json!(10), json!(20), 1))
        .unwrap();
    store
        .record_change(&change(
            None,
            "setting:max_users",
            json!(100),
            json!(500),
            2,
        ))
        .unwrap();
    store
        .record_change(&change(
            Some(&id),
            "weights",
            json!({"a": 1.0}),
            json!({"a": 2.5}),
            3,
        ))
        .unwrap();

    let all = store.config_changes(None, 10).unwrap();
    assert_eq!(all.iter().map(|c| c.at_ms).collect::<Vec<_>>(), [3, 2, 1]);
    assert!(all.iter().all(|c| c.id.is_some()));
    let mut expected = change(
        Some(&id),
        "weights",
        json!({"a": 1.0}),
        json!({"a": 2.5}),
        3,
    );
    expected.id = all[0].id;
    assert_eq!(all[0], expected);
    assert_eq!(all[1].session_id, None);

    let of_session = store.config_changes(Some(&id), 10).unwrap();
    assert_eq!(
        of_session
            .iter()
            .map(|c| c.field.as_str())
            .collect::<Vec<_>>(),
        ["weights", "users"]
    );
    assert_eq!(store.config_changes(None, 1).unwrap().len(), 1);
    assert!(store.config_changes(Some("other"), 10).unwrap().is_empty());
}

#[test]
fn the_audit_log_round_trips_newest_first() {
    let (_dir, store) = common::store();
    let entry = |i: u64| AuditEntry {
        id: None,
        at_ms: 1_000 + i,
        who: "token:ops".to_string(),
        client: "127.0.0.1:5555".to_string(),
        action: "POST /api/sessions".to_string(),
        target: i.is_multiple_of(2).then(|| format!("s{i}")),
        result: if i == 2 {
            "too_many_sessions".to_string()
        } else {
            "ok".to_string()
        },
        status: if i == 2 { 429 } else { 201 },
        detail: (i == 2).then(|| "limit 4".to_string()),
    };
    for i in 0..3 {
        store.record_audit(&entry(i)).unwrap();
    }
    let log = store.audit(2).unwrap();
    assert_eq!(log.len(), 2);
    let mut expected = entry(2);
    expected.id = log[0].id;
    assert_eq!(log[0], expected);
    assert_eq!(log[1].at_ms, 1_001);
    assert_eq!(store.audit(10).unwrap().len(), 3);
}

#[test]
fn settings_are_set_and_replaced() {
    let (_dir, store) = common::store();
    assert_eq!(store.setting("api_token_hash").unwrap(), None);
    store
        .set_setting("api_token_hash", "sha256:abc", 1)
        .unwrap();
    assert_eq!(
        store.setting("api_token_hash").unwrap().as_deref(),
        Some("sha256:abc")
    );
    store
        .set_setting("api_token_hash", "sha256:def", 2)
        .unwrap();
    assert_eq!(
        store.setting("api_token_hash").unwrap().as_deref(),
        Some("sha256:def")
    );
}

/// Messages that differ only in their numbers (a slow request's time, a port) are one group,
/// keyed by the message's kind, with the first message kept as its sample.
#[test]
fn samples_of_one_kind_form_one_group_whatever_their_numbers() {
    let (_dir, store) = common::store();
    let id = create(&store, "s1", 1);
    for (ms, at) in [(2916, 1_000), (31, 2_000), (4410, 3_000)] {
        store.record_error(
            &id,
            &ErrorSample {
                message: format!("slow: {ms} ms"),
                latency_ms: f64::from(ms),
                ..sample("search", None, None, None, at)
            },
        );
    }
    store.flush().unwrap();
    let groups = store.errors(&id).unwrap();
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0].count, 3);
    assert_eq!(groups[0].message, "slow: 2916 ms");
    assert_eq!(groups[0].kind, "slow: # ms");
}
