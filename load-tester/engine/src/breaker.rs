//! The circuit breaker: closed → open after too many failures → half-open probes after
//! `open_for` → closed when every probe succeeds (or open again when one fails).
//!
//! The closed path, taken by nearly every request, is lock-free: one atomic load to admit and at
//! most one atomic write to record. Opening on a failure *ratio* is decided once a second by the
//! ticker from the per-second counts, not per request.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lt_protocol::BreakerState;
use lt_scenario::CircuitBreaker;

const CLOSED: u8 = 0;
const OPEN: u8 = 1;
const HALF_OPEN: u8 = 2;

/// How long a user waits before asking again when half-open probes are all taken.
const PROBE_BUSY_RETRY: Duration = Duration::from_millis(100);

/// Whether a request may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Closed: send it.
    Allowed,
    /// Half-open: send it as a probe; its result decides the breaker.
    Probe,
    /// Open: don't send it; ask again after this long.
    Refused { retry_in: Duration },
}

#[derive(Debug)]
struct Probes {
    in_flight: u32,
    succeeded: u32,
}

/// One breaker, guarding one endpoint or all of them.
#[derive(Debug)]
pub struct Breaker {
    cfg: CircuitBreaker,
    epoch: Instant,
    state: AtomicU8,
    consecutive_failures: AtomicU32,
    /// When an open breaker goes half-open, in ms since `epoch`.
    open_until_ms: AtomicU64,
    probes: Mutex<Probes>,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(cfg: CircuitBreaker, epoch: Instant) -> Self {
        Breaker {
            cfg,
            epoch,
            state: AtomicU8::new(CLOSED),
            consecutive_failures: AtomicU32::new(0),
            open_until_ms: AtomicU64::new(0),
            probes: Mutex::new(Probes {
                in_flight: 0,
                succeeded: 0,
            }),
        }
    }

    /// The state now.
    pub fn state(&self) -> BreakerState {
        match self.state.load(Ordering::Acquire) {
            CLOSED => BreakerState::Closed,
            OPEN => BreakerState::Open,
            _ => BreakerState::HalfOpen,
        }
    }

    fn ms(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_millis() as u64
    }

    /// Asks whether a request may be sent now.
    pub fn admit(&self, now: Instant) -> Admission {
        match self.state.load(Ordering::Acquire) {
            CLOSED => Admission::Allowed,
            OPEN => {
                let until = self.open_until_ms.load(Ordering::Acquire);
                let now_ms = self.ms(now);
                if now_ms < until {
                    return Admission::Refused {
                        retry_in: Duration::from_millis(until - now_ms),
                    };
                }
                let mut probes = self.lock_probes();
                if self.state.load(Ordering::Acquire) == OPEN {
                    probes.in_flight = 0;
                    probes.succeeded = 0;
                    self.state.store(HALF_OPEN, Ordering::Release);
                }
                self.take_probe(&mut probes)
            }
            _ => {
                let mut probes = self.lock_probes();
                self.take_probe(&mut probes)
            }
        }
    }

    fn take_probe(&self, probes: &mut Probes) -> Admission {
        match self.state.load(Ordering::Acquire) {
            CLOSED => Admission::Allowed,
            HALF_OPEN if probes.in_flight + probes.succeeded < self.cfg.half_open_probes => {
                probes.in_flight += 1;
                Admission::Probe
            }
            _ => Admission::Refused {
                retry_in: PROBE_BUSY_RETRY,
            },
        }
    }

    fn lock_probes(&self) -> std::sync::MutexGuard<'_, Probes> {
        self.probes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records the result of a request that `admission` let through. Returns the state the
    /// breaker moved to, if it moved.
    pub fn record(
        &self,
        admission: Admission,
        success: bool,
        now: Instant,
    ) -> Option<BreakerState> {
        match admission {
            Admission::Refused { .. } => None,
            Admission::Probe => {
                let mut probes = self.lock_probes();
                probes.in_flight = probes.in_flight.saturating_sub(1);
                if self.state.load(Ordering::Acquire) != HALF_OPEN {
                    return None;
                }
                if success {
                    probes.succeeded += 1;
                    if probes.succeeded >= self.cfg.half_open_probes {
                        self.consecutive_failures.store(0, Ordering::Release);
                        self.state.store(CLOSED, Ordering::Release);
                        return Some(BreakerState::Closed);
                    }
                    None
                } else {
                    self.open_locked(now);
                    Some(BreakerState::Open)
                }
            }
            Admission::Allowed => {
                if success {
                    if self.consecutive_failures.load(Ordering::Relaxed) != 0 {
                        self.consecutive_failures.store(0, Ordering::Relaxed);
                    }
                    return None;
                }
                let failures = self.consecutive_failures.fetch_add(1, Ordering::AcqRel) + 1;
                if failures >= self.cfg.consecutive_failures {
                    return self.open_if_closed(now);
                }
                None
            }
        }
    }

    /// Opens the breaker because the failure ratio over the window is too high (called by the
    /// ticker once a second). Returns the new state if it moved.
    pub fn check_ratio(&self, requests: u64, failures: u64, now: Instant) -> Option<BreakerState> {
        let ratio = self.cfg.failure_ratio?;
        if requests >= u64::from(self.cfg.min_requests)
            && requests > 0
            && failures as f64 / requests as f64 >= ratio
        {
            return self.open_if_closed(now);
        }
        None
    }

    fn open_if_closed(&self, now: Instant) -> Option<BreakerState> {
        let _probes = self.lock_probes();
        if self.state.load(Ordering::Acquire) == CLOSED {
            self.open_locked(now);
            return Some(BreakerState::Open);
        }
        None
    }

    fn open_locked(&self, now: Instant) {
        let until = self.ms(now) + self.cfg.open_for.as_millis() as u64;
        self.open_until_ms.store(until, Ordering::Release);
        self.consecutive_failures.store(0, Ordering::Release);
        self.state.store(OPEN, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lt_scenario::BreakerScope;

    fn breaker(probes: u32) -> (Breaker, Instant) {
        let epoch = Instant::now();
        let cfg = CircuitBreaker {
            consecutive_failures: 3,
            failure_ratio: Some(0.5),
            window: Duration::from_secs(10),
            min_requests: 10,
            open_for: Duration::from_secs(5),
            half_open_probes: probes,
            scope: BreakerScope::Endpoint,
        };
        (Breaker::new(cfg, epoch), epoch)
    }

    #[test]
    fn opens_after_consecutive_failures_and_a_success_resets_the_count() {
        let (b, t) = breaker(1);
        b.record(Admission::Allowed, false, t);
        b.record(Admission::Allowed, false, t);
        b.record(Admission::Allowed, true, t);
        b.record(Admission::Allowed, false, t);
        b.record(Admission::Allowed, false, t);
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(
            b.record(Admission::Allowed, false, t),
            Some(BreakerState::Open)
        );
        assert!(
            matches!(b.admit(t), Admission::Refused { retry_in } if retry_in == Duration::from_secs(5))
        );
    }

    #[test]
    fn half_open_probe_closes_on_success_and_reopens_on_failure() {
        let (b, t) = breaker(2);
        for _ in 0..3 {
            b.record(Admission::Allowed, false, t);
        }
        let later = t + Duration::from_secs(5);
        assert_eq!(b.admit(later), Admission::Probe);
        assert_eq!(b.admit(later), Admission::Probe);
        assert!(matches!(b.admit(later), Admission::Refused { .. }));
        assert_eq!(b.record(Admission::Probe, true, later), None);
        assert_eq!(
            b.record(Admission::Probe, true, later),
            Some(BreakerState::Closed)
        );
        assert_eq!(b.admit(later), Admission::Allowed);

        for _ in 0..3 {
            b.record(Admission::Allowed, false, later);
        }
        let probe_time = later + Duration::from_secs(5);
        assert_eq!(b.admit(probe_time), Admission::Probe);
        assert_eq!(
            b.record(Admission::Probe, false, probe_time),
            Some(BreakerState::Open)
        );
        assert!(matches!(b.admit(probe_time), Admission::Refused { .. }));
    }

    #[test]
    fn ratio_opens_only_with_enough_requests() {
        let (b, t) = breaker(1);
        assert_eq!(b.check_ratio(9, 9, t), None);
        assert_eq!(b.check_ratio(10, 4, t), None);
        assert_eq!(b.check_ratio(10, 5, t), Some(BreakerState::Open));
    }
}
