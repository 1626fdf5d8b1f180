//! The closed model's rate cap (`load.rate`), shared by all users. (The open model's arrivals
//! are `arrivals.rs`: they keep their intended times and count what they drop.)
//!
//! Each request claims the next free slot on a shared timeline (`interval = 1 / rate`) and waits
//! for it. A slot in the past is moved to now, so a run that falls behind (every user busy) does
//! not build a backlog and then burst: a cap owes nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A shared pacing timeline.
#[derive(Debug)]
pub struct Pacer {
    epoch: Instant,
    /// Nanoseconds between two slots; 0 means no pacing.
    interval_ns: AtomicU64,
    /// The next free slot, in ns since `epoch`.
    next_ns: AtomicU64,
}

impl Pacer {
    /// A pacer at `rate` requests/s (`None`: off).
    pub fn new(epoch: Instant, rate: Option<f64>) -> Self {
        let pacer = Pacer {
            epoch,
            interval_ns: AtomicU64::new(0),
            next_ns: AtomicU64::new(0),
        };
        pacer.set_rate(rate);
        pacer
    }

    /// Changes the rate; `None` or a non-positive rate turns pacing off.
    pub fn set_rate(&self, rate: Option<f64>) {
        let interval = match rate {
            Some(r) if r.is_finite() && r > 0.0 => ((1e9 / r) as u64).max(1),
            _ => 0,
        };
        self.interval_ns.store(interval, Ordering::Release);
    }

    /// Claims the next slot and says how long to wait for it (`None` when pacing is off).
    pub fn claim(&self, now: Instant) -> Option<Duration> {
        let interval = self.interval_ns.load(Ordering::Acquire);
        if interval == 0 {
            return None;
        }
        let now_ns = now.saturating_duration_since(self.epoch).as_nanos() as u64;
        let mut current = self.next_ns.load(Ordering::Acquire);
        loop {
            let slot = current.max(now_ns);
            match self.next_ns.compare_exchange_weak(
                current,
                slot + interval,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(Duration::from_nanos(slot - now_ns)),
                Err(seen) => current = seen,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_spaced_by_the_interval_and_the_past_is_not_owed() {
        let t = Instant::now();
        let p = Pacer::new(t, Some(10.0));
        assert_eq!(p.claim(t), Some(Duration::ZERO));
        assert_eq!(p.claim(t), Some(Duration::from_millis(100)));
        assert_eq!(p.claim(t), Some(Duration::from_millis(200)));
        // Ten seconds later: no backlog of 97 owed requests.
        let later = t + Duration::from_secs(10);
        assert_eq!(p.claim(later), Some(Duration::ZERO));
        assert_eq!(p.claim(later), Some(Duration::from_millis(100)));
        p.set_rate(None);
        assert_eq!(p.claim(later), None);
    }
}
