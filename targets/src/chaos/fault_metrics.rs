//! Metrics of the faults: which are active, how many were started, requests held by a hang and
//! errors injected. Exposed twice: in the service's own `/metrics` (Prometheus text) and as
//! OpenTelemetry instruments of the `chaos` meter (`chaos.faults.active`,
//! `chaos.requests.held`, `chaos.faults.started`, `chaos.errors.injected`), which export once
//! a meter provider is installed and are no-ops before.

use std::fmt::Write as _;
use std::sync::Weak;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, ObservableGauge};

use super::faults::{FaultKind, Faults};

/// Counters and gauges of one service's faults.
pub struct FaultMetrics {
    started: [AtomicU64; FaultKind::ALL.len()],
    injected: AtomicU64,
    held: std::sync::Arc<AtomicI64>,
    otel_started: Counter<u64>,
    otel_injected: Counter<u64>,
    _gauges: Vec<ObservableGauge<i64>>,
    board: Weak<Faults>,
}

impl std::fmt::Debug for FaultMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultMetrics")
            .field("injected", &self.injected)
            .field("held", &self.held)
            .finish_non_exhaustive()
    }
}

impl FaultMetrics {
    /// Metrics reading the active faults from `board`.
    pub(super) fn new(board: Weak<Faults>) -> Self {
        let meter = crate::telemetry::meter(crate::service::Service::Chaos);
        let held = std::sync::Arc::new(AtomicI64::new(0));
        let active_board = board.clone();
        let active = meter
            .i64_observable_gauge("chaos.faults.active")
            .with_description("Active chaos faults by kind (0 or 1).")
            .with_callback(move |observer| {
                if let Some(faults) = active_board.upgrade() {
                    for kind in FaultKind::ALL {
                        observer.observe(
                            i64::from(faults.is_active(kind)),
                            &[KeyValue::new("kind", kind.name())],
                        );
                    }
                }
            })
            .build();
        let held_now = held.clone();
        let held_gauge = meter
            .i64_observable_gauge("chaos.requests.held")
            .with_description("Requests held by a hang right now.")
            .with_callback(move |observer| observer.observe(held_now.load(Ordering::Relaxed), &[]))
            .build();
        Self {
            started: Default::default(),
            injected: AtomicU64::new(0),
            held,
            otel_started: meter
                .u64_counter("chaos.faults.started")
                .with_description("Chaos faults started, by kind.")
                .build(),
            otel_injected: meter
                .u64_counter("chaos.errors.injected")
                .with_description("Requests answered with an injected error.")
                .build(),
            _gauges: vec![active, held_gauge],
            board,
        }
    }

    pub(super) fn started(&self, kind: FaultKind) {
        self.started[kind as usize].fetch_add(1, Ordering::Relaxed);
        self.otel_started
            .add(1, &[KeyValue::new("kind", kind.name())]);
    }

    /// A request was answered with an injected error.
    pub fn injected(&self) {
        self.injected.fetch_add(1, Ordering::Relaxed);
        self.otel_injected.add(1, &[]);
    }

    /// A request is held by a hang until the guard drops.
    pub fn hold(&self) -> HeldGuard {
        self.held.fetch_add(1, Ordering::Relaxed);
        HeldGuard(self.held.clone())
    }

    /// Requests held right now.
    pub fn held(&self) -> i64 {
        self.held.load(Ordering::Relaxed)
    }

    /// The Prometheus text of these metrics.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP targets_chaos_fault_active Whether a fault of this kind is active.\n");
        out.push_str("# TYPE targets_chaos_fault_active gauge\n");
        let board = self.board.upgrade();
        for kind in FaultKind::ALL {
            let active = board.as_ref().is_some_and(|b| b.is_active(kind));
            let _ = writeln!(
                out,
                "targets_chaos_fault_active{{service=\"chaos\",kind=\"{}\"}} {}",
                kind.name(),
                u8::from(active)
            );
        }
        out.push_str("# HELP targets_chaos_faults_started_total Faults started.\n");
        out.push_str("# TYPE targets_chaos_faults_started_total counter\n");
        for kind in FaultKind::ALL {
            let _ = writeln!(
                out,
                "targets_chaos_faults_started_total{{service=\"chaos\",kind=\"{}\"}} {}",
                kind.name(),
                self.started[kind as usize].load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP targets_chaos_requests_held Requests held by a hang.\n");
        out.push_str("# TYPE targets_chaos_requests_held gauge\n");
        let _ = writeln!(
            out,
            "targets_chaos_requests_held{{service=\"chaos\"}} {}",
            self.held()
        );
        out.push_str(
            "# HELP targets_chaos_errors_injected_total Requests answered with an injected error.\n",
        );
        out.push_str("# TYPE targets_chaos_errors_injected_total counter\n");
        let _ = writeln!(
            out,
            "targets_chaos_errors_injected_total{{service=\"chaos\"}} {}",
            self.injected.load(Ordering::Relaxed)
        );
        out
    }
}

/// Counts a held request while it lives.
#[derive(Debug)]
pub struct HeldGuard(std::sync::Arc<AtomicI64>);

impl Drop for HeldGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
