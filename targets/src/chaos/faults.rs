//! The fault board: which faults are active, until when, and what ends them.
//!
//! At most one fault of each [`FaultKind`] is active; starting one replaces the running one of
//! the same kind. Every fault has an end time and a timer that ends it; `/chaos/stop` ends them
//! all early. A fault lives in its own `chaos.fault` span (child of the request that started
//! it), whose events are the start and the end (logged too); a fault ended by `/chaos/stop` also
//! leaves a `fault ended` event in that request's span.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::fault_metrics::FaultMetrics;
use crate::service::Service;

/// The longest any fault may last, in seconds.
pub const MAX_FAULT_SECONDS: f64 = 300.0;

/// A kind of fault; one of each can be active.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// CPU burn on worker threads.
    Load,
    /// Requests are held until the fault ends.
    Hang,
    /// The store is unreachable or slow.
    Dependency,
    /// A share of requests answer an error status.
    Error,
}

impl FaultKind {
    /// Every kind, in status order.
    pub const ALL: [Self; 4] = [Self::Load, Self::Hang, Self::Dependency, Self::Error];

    /// The name used in JSON, logs and metrics.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Load => "load",
            Self::Hang => "hang",
            Self::Dependency => "dependency",
            Self::Error => "error",
        }
    }
}

/// Which requests a hang holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HangScope {
    /// Every route, `/chaos/*` included: the service answers nothing until the time is up.
    All,
    /// Every route but `/chaos/*`, so the hang can be watched and stopped.
    Requests,
}

impl HangScope {
    /// Whether a request to a `/chaos/*` route (`control`) or another route is held.
    pub fn holds(self, control: bool) -> bool {
        match self {
            Self::All => true,
            Self::Requests => !control,
        }
    }
}

/// What the dependency fault does to store calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum DependencyFault {
    /// Every store call fails at once, as if the network path were blocked.
    Down,
    /// Every store call is delayed by this many milliseconds.
    Slow {
        /// Added latency.
        latency_ms: u64,
    },
}

/// The parameters of a fault.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum FaultSpec {
    /// `POST /chaos/load`.
    Load {
        /// Burning threads.
        threads: usize,
        /// Share of each 10 ms slice spent burning, 0 < x ≤ 1.
        intensity: f64,
    },
    /// `POST /chaos/hang`.
    Hang {
        /// Which requests are held.
        scope: HangScope,
    },
    /// `POST /chaos/dependency`.
    Dependency(DependencyFault),
    /// `POST /chaos/error`.
    Error {
        /// Share of requests that fail, 0 < x ≤ 1.
        rate: f64,
        /// The status they answer.
        status: u16,
    },
}

impl FaultSpec {
    /// The kind of this fault.
    pub fn kind(&self) -> FaultKind {
        match self {
            Self::Load { .. } => FaultKind::Load,
            Self::Hang { .. } => FaultKind::Hang,
            Self::Dependency(_) => FaultKind::Dependency,
            Self::Error { .. } => FaultKind::Error,
        }
    }
}

/// Why a fault ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// Its time was up.
    Expired,
    /// `/chaos/stop`, or `/chaos/dependency {state: up}`.
    Stopped,
    /// A new fault of the same kind took its place.
    Replaced,
}

impl EndReason {
    fn name(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::Stopped => "stopped",
            Self::Replaced => "replaced",
        }
    }
}

struct Active {
    id: u64,
    spec: FaultSpec,
    started_at_ms: u64,
    deadline: Instant,
    ends_at_ms: u64,
    span: tracing::Span,
    cancel: Arc<AtomicBool>,
    timer: Option<JoinHandle<()>>,
}

impl Active {
    fn describe(&self) -> Value {
        json!({
            "kind": self.spec.kind(),
            "id": self.id,
            "params": self.spec,
            "started_at_ms": self.started_at_ms,
            "ends_at_ms": self.ends_at_ms,
            "remaining_s": round_ms(self.deadline.saturating_duration_since(Instant::now())),
        })
    }
}

/// A fault just started: its description and the flag that stops its work early.
#[derive(Debug)]
pub struct Started {
    /// As shown by `/chaos/status`.
    pub fault: Value,
    /// The fault it replaced, if one of the same kind was active.
    pub replaced: Option<Value>,
    /// Turns true when the fault ends (the load threads watch it).
    pub cancel: Arc<AtomicBool>,
    /// When it ends by itself.
    pub deadline: Instant,
}

/// The active faults of one chaos service.
#[derive(Debug)]
pub struct Faults {
    board: Mutex<BTreeMap<FaultKind, ActiveDebug>>,
    next_id: AtomicU64,
    hang: watch::Sender<Option<HangScope>>,
    metrics: FaultMetrics,
    me: Weak<Faults>,
}

/// `Active` holds a span and a task handle; this wrapper gives the board a terse `Debug`.
struct ActiveDebug(Active);

impl std::fmt::Debug for ActiveDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", self.0.spec.kind().name(), self.0.id)
    }
}

impl Faults {
    /// An empty board, with its OpenTelemetry instruments registered.
    pub fn new() -> Arc<Self> {
        Arc::new_cyclic(|me: &Weak<Self>| Self {
            board: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(1),
            hang: watch::channel(None).0,
            metrics: FaultMetrics::new(me.clone()),
            me: me.clone(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<FaultKind, ActiveDebug>> {
        self.board
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts `spec` for `seconds` (already checked to be within bounds), replacing the active
    /// fault of the same kind. Must be called inside a Tokio runtime (the end timer is a task).
    pub fn start(&self, spec: FaultSpec, seconds: f64) -> Started {
        let kind = spec.kind();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let length = Duration::from_secs_f64(seconds);
        let now_ms = epoch_ms();
        let deadline = Instant::now() + length;
        let ends_at_ms = now_ms + u64::try_from(length.as_millis()).unwrap_or(u64::MAX);
        let span = crate::service_span!(
            Service::Chaos,
            "chaos.fault",
            otel.name = format!("chaos fault {}", kind.name()),
            fault.kind = kind.name(),
            fault.id = id,
            fault.seconds = seconds,
            fault.end_reason = tracing::field::Empty,
        );
        let params = serde_json::to_string(&spec).unwrap_or_default();
        // The fault span is a child of the request that started it, so the caller's trace shows
        // the fault, its start and (when it ends) its end.
        tracing::info!(parent: &span, fault = kind.name(), fault_id = id, %params, seconds, ends_at_ms, "fault started");
        let cancel = Arc::new(AtomicBool::new(false));
        let active = Active {
            id,
            spec,
            started_at_ms: now_ms,
            deadline,
            ends_at_ms,
            span,
            cancel: cancel.clone(),
            timer: None,
        };
        let fault = active.describe();
        let previous = {
            let mut board = self.lock();
            if let FaultSpec::Hang { scope } = &active.spec {
                self.hang.send_replace(Some(*scope));
            }
            board.insert(kind, ActiveDebug(active))
        };
        // The timer starts once the fault is on the board, so even a very short fault is found
        // and ended by it; it is stored so that an early stop can cancel it.
        let me = self.me.clone();
        let timer = tokio::spawn(async move {
            tokio::time::sleep_until(deadline.into()).await;
            if let Some(faults) = me.upgrade() {
                faults.end_if(kind, id, EndReason::Expired);
            }
        });
        match self.lock().get_mut(&kind) {
            Some(ActiveDebug(active)) if active.id == id => active.timer = Some(timer),
            _ => timer.abort(),
        }
        let replaced = previous.map(|ActiveDebug(old)| {
            let described = old.describe();
            finish(old, EndReason::Replaced);
            described
        });
        self.metrics.started(kind);
        Started {
            fault,
            replaced,
            cancel,
            deadline,
        }
    }

    /// Ends the active fault of `kind` if it is still fault `id`.
    fn end_if(&self, kind: FaultKind, id: u64, reason: EndReason) {
        if let Some(active) = self.remove(kind, Some(id)) {
            finish(active, reason);
        }
    }

    /// Ends the active fault of `kind`, if any; answers what it was.
    pub fn stop(&self, kind: FaultKind) -> Option<Value> {
        self.remove(kind, None).map(|active| {
            let described = active.describe();
            finish(active, EndReason::Stopped);
            described
        })
    }

    /// Ends every active fault; answers what they were.
    pub fn stop_all(&self) -> Vec<Value> {
        FaultKind::ALL
            .into_iter()
            .filter_map(|kind| self.stop(kind))
            .collect()
    }

    /// Takes the fault of `kind` (only if it is fault `id`, when given) off the board; a hang
    /// taken off releases the held requests.
    fn remove(&self, kind: FaultKind, id: Option<u64>) -> Option<Active> {
        let mut board = self.lock();
        let matches = board
            .get(&kind)
            .is_some_and(|ActiveDebug(a)| id.is_none_or(|id| a.id == id));
        if !matches {
            return None;
        }
        if kind == FaultKind::Hang {
            self.hang.send_replace(None);
        }
        board.remove(&kind).map(|ActiveDebug(a)| a)
    }

    /// Every active fault as `/chaos/status` shows it.
    pub fn describe(&self) -> Vec<Value> {
        self.lock().values().map(|a| a.0.describe()).collect()
    }

    /// Whether a fault of `kind` is active.
    pub fn is_active(&self, kind: FaultKind) -> bool {
        self.lock().contains_key(&kind)
    }

    /// The active dependency fault, if any.
    pub fn dependency(&self) -> Option<DependencyFault> {
        match self.lock().get(&FaultKind::Dependency) {
            Some(ActiveDebug(Active {
                spec: FaultSpec::Dependency(fault),
                ..
            })) => Some(*fault),
            _ => None,
        }
    }

    /// The active error fault's `(rate, status)`, if any.
    pub fn error(&self) -> Option<(f64, u16)> {
        match self.lock().get(&FaultKind::Error) {
            Some(ActiveDebug(Active {
                spec: FaultSpec::Error { rate, status },
                ..
            })) => Some((*rate, *status)),
            _ => None,
        }
    }

    /// The hang's scope as it changes (`None` while no hang is on).
    pub fn hang(&self) -> watch::Receiver<Option<HangScope>> {
        self.hang.subscribe()
    }

    /// The fault counters and gauges.
    pub fn metrics(&self) -> &FaultMetrics {
        &self.metrics
    }
}

impl Drop for Faults {
    fn drop(&mut self) {
        let board = std::mem::take(
            self.board
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for (_, ActiveDebug(active)) in board {
            finish(active, EndReason::Stopped);
        }
    }
}

/// Stops a fault's work and timer and closes its span with the end event.
fn finish(active: Active, reason: EndReason) {
    active.cancel.store(true, Ordering::Relaxed);
    if reason != EndReason::Expired
        && let Some(timer) = &active.timer
    {
        timer.abort();
    }
    let kind = active.spec.kind().name();
    active.span.record("fault.end_reason", reason.name());
    tracing::info!(parent: &active.span, fault = kind, fault_id = active.id, reason = reason.name(), "fault ended");
    if reason == EndReason::Stopped {
        // In the span of the request that stopped it too.
        tracing::info!(
            fault = kind,
            fault_id = active.id,
            reason = reason.name(),
            "fault ended"
        );
    }
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn round_ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}
