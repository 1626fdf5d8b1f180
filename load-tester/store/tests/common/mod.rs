//! Builders shared by the store's tests: a store in a temporary folder, sessions, ticks, reports.
#![allow(dead_code)]

use lt_protocol::{
    BreakerState, EndReason, EndpointReport, EndpointTick, ErrorSample, FailureClass,
    FailureCounts, Latency, ReductionState, Report, Tick,
};
use lt_store::{NewSession, Store};
use tempfile::TempDir;

/// A fresh store in its own folder (kept alive by the returned `TempDir`).
pub fn store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("data").join("sessions.db")).unwrap();
    (dir, store)
}

pub fn new_session(id: &str) -> NewSession {
    NewSession {
        id: id.to_string(),
        scenario: "smoke".to_string(),
        source: "smoke.yaml".to_string(),
        target: "http://127.0.0.1:5001".to_string(),
        status: "starting".to_string(),
        created_by: "tester".to_string(),
        created_at_ms: 1_000,
        config_json: r#"{"name":"smoke","users":10}"#.to_string(),
        overrides_json: r#"{"users":5}"#.to_string(),
    }
}

/// Creates `id` and returns it.
pub fn create(store: &Store, id: &str, created_at_ms: u64) -> String {
    store
        .create_session(&NewSession {
            created_at_ms,
            ..new_session(id)
        })
        .unwrap();
    id.to_string()
}

fn latency(base: f64) -> Latency {
    Latency {
        p50: base,
        p90: base * 1.5,
        p95: base * 2.0,
        p99: base * 3.0,
        max: base * 4.0,
        avg: base * 1.1,
    }
}

/// Second `second` of a run with two endpoints, `home` and `search`.
pub fn tick(second: u64) -> Tick {
    let s = second as f64;
    Tick {
        second,
        at_ms: 10_000 + second * 1_000,
        elapsed_s: s,
        remaining_s: 60.0 - s,
        active_users: 10 + second as u32,
        target_users: 20,
        requests: 100 + second,
        failures: second,
        short_circuited: 1,
        rps: 100.0 + s,
        latency: latency(10.0 + s),
        total_requests: 1_000 * second,
        total_failures: 10 * second,
        total_latency: latency(100.0 + s),
        errors_last_minute: 7 * second,
        load_reduction: Some(ReductionState {
            parked_users: 2,
            window_error_rate: 0.1,
        }),
        users_in_backoff: 3,
        endpoints: vec![
            EndpointTick {
                name: "search".to_string(),
                requests: 60 + second,
                failures: FailureCounts {
                    connect: 1,
                    timeout: 2,
                    status_4xx: 3,
                    status_5xx: 4,
                    unexpected: 5,
                    capture: 0,
                    check: 0,
                },
                short_circuited: 1,
                latency: latency(20.0 + s),
                weight: 3.0,
                breaker: BreakerState::HalfOpen,
                totals: Default::default(),
                dropped: second,
                corrected_latency: None,
            },
            EndpointTick {
                name: "home".to_string(),
                requests: 40,
                failures: FailureCounts::default(),
                short_circuited: 0,
                latency: latency(5.0),
                weight: 1.0,
                breaker: BreakerState::Closed,
                totals: Default::default(),
                dropped: 0,
                corrected_latency: None,
            },
        ],
        flows: vec![],
        config: lt_protocol::LiveConfig {
            users: 20,
            weights: [("home".to_string(), 1.0), ("search".to_string(), 3.0)].into(),
            think_time: Default::default(),
            arrival_rate: None,
        },
        dropped: second,
        total_dropped: second * (second + 1) / 2,
        schedule_lag: Some(latency(1.0 + s)),
        corrected_latency: None,
        total_corrected_latency: None,
        generator: Some(lt_protocol::GeneratorStats {
            cpu_percent: 95.0 + s,
            cores: 2,
            memory_bytes: 50 << 20,
            timer_lag_ms: 2.5,
            saturated: None,
            limited: Some("not adding users".to_string()),
        }),
        histograms: None,
    }
}

pub fn report() -> Report {
    Report {
        scenario: "smoke".to_string(),
        target: "http://127.0.0.1:5001".to_string(),
        started_at_ms: 5_000,
        duration_s: 5.0,
        end_reason: EndReason::Completed,
        requests: 5_432,
        failures: 21,
        short_circuited: 5,
        rps: 1086.4,
        error_rate: 21.0 / 5432.0,
        latency_ms: latency(12.0),
        max_users: 15,
        endpoints: vec![EndpointReport {
            name: "home".to_string(),
            method: "GET".to_string(),
            requests: 5_432,
            failures: 21,
            failures_by_class: FailureCounts {
                status_5xx: 21,
                ..FailureCounts::default()
            },
            short_circuited: 5,
            rps: 1086.4,
            latency_ms: latency(12.0),
            dropped: 0,
            latency_corrected_ms: None,
        }],
        flows: vec![],
        thresholds: vec![],
        errors: vec![],
        dropped: 0,
        asked_rate: None,
        schedule_lag_ms: None,
        latency_corrected_ms: None,
        latency_correction: None,
        generator: None,
        insecure_tls: false,
    }
}

pub fn sample(
    endpoint: &str,
    class: Option<FailureClass>,
    status: Option<u16>,
    trace_id: Option<&str>,
    at_ms: u64,
) -> ErrorSample {
    ErrorSample {
        endpoint: endpoint.to_string(),
        class,
        status,
        message: match class {
            Some(_) => format!("HTTP {}", status.unwrap_or(0)),
            None => "slow".to_string(),
        },
        trace_id: trace_id.map(str::to_string),
        latency_ms: 12.5,
        at_ms,
    }
}
