//! The run's stop signal: set once, wakes every sleeping user at once.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lt_protocol::EndReason;
use tokio::sync::Notify;

/// Set when the run must stop; remembers the first reason.
#[derive(Debug, Default)]
pub struct StopSignal {
    flag: AtomicBool,
    notify: Notify,
    reason: Mutex<Option<EndReason>>,
}

impl StopSignal {
    /// Stops the run for `reason`; returns false when it was already stopping (the first reason
    /// is kept).
    pub fn trigger(&self, reason: EndReason) -> bool {
        let mut slot = self.reason.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_some() {
            return false;
        }
        *slot = Some(reason);
        self.flag.store(true, Ordering::Release);
        self.notify.notify_waiters();
        true
    }

    /// Whether the run is stopping.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    /// The first reason given, if stopping.
    pub fn reason(&self) -> Option<EndReason> {
        self.reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Sleeps for `d` unless the run stops first. Returns true when the whole time passed.
    pub async fn sleep(&self, d: Duration) -> bool {
        if d.is_zero() {
            return !self.is_set();
        }
        let notified = self.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.is_set() {
            return false;
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = notified => false,
        }
    }
}
