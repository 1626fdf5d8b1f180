//! The open model's arrivals (`load.arrival_rate`): a fixed timeline of intended send times,
//! independent of how fast the target answers.
//!
//! Arrival k is due at the timeline's start plus k intervals (the interval follows live rate
//! changes from the next arrival on). A free user takes the next arrival and waits for its time;
//! the request's latency counts from that intended time, not from when it left, so a target
//! that stalls while every user waits on it shows the stall in every request that should have
//! left meanwhile (coordinated omission; wrk2 and Gil Tene's "How NOT to measure latency").
//! How late a request left is its *schedule lag*, recorded apart.
//!
//! An arrival that finds no free user waits for one, up to `load.arrival_max_wait`; one older
//! than that is **dropped**: never sent, counted, and reported (k6's `dropped_iterations`). The
//! controller expires arrivals every step too, so a stall's drops land in the seconds they
//! happen in, not when a user comes back.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::histogram::LatencyHistogram;

/// `next_ns` before the first arrival: the timeline starts when the first user takes a turn.
const UNSET: u64 = u64::MAX;
const SHARDS: usize = 4;

/// One arrival taken by a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Turn {
    /// When the request should be sent: its latency counts from here.
    pub intended: Instant,
    /// How long to wait for it from now (zero when it is already due).
    pub wait: Duration,
}

/// The open model's timeline of arrivals, shared by every user.
#[derive(Debug)]
pub struct Arrivals {
    epoch: Instant,
    /// Nanoseconds between two arrivals; 0 means no arrival rate (the closed model).
    interval_ns: AtomicU64,
    /// The rate as asked (`f64` bits), so it reads back exactly.
    rate_bits: AtomicU64,
    /// The next arrival nobody has taken, in ns since `epoch` ([`UNSET`] before the first).
    next_ns: AtomicU64,
    max_wait_ns: AtomicU64,
    /// Arrivals dropped since the controller last took them.
    dropped: AtomicU64,
    /// How late requests left after their intended time, since the last drain.
    lag: [Mutex<LatencyHistogram>; SHARDS],
}

impl Arrivals {
    /// A timeline at `rate` arrivals/s (`None`: off), dropping arrivals that wait longer than
    /// [`lt_scenario::DEFAULT_ARRIVAL_MAX_WAIT`] until [`Arrivals::max_wait`] says otherwise.
    pub fn new(epoch: Instant, rate: Option<f64>) -> Self {
        let arrivals = Arrivals {
            epoch,
            interval_ns: AtomicU64::new(0),
            rate_bits: AtomicU64::new(0),
            next_ns: AtomicU64::new(UNSET),
            max_wait_ns: AtomicU64::new(lt_scenario::DEFAULT_ARRIVAL_MAX_WAIT.as_nanos() as u64),
            dropped: AtomicU64::new(0),
            lag: Default::default(),
        };
        arrivals.set_rate(rate);
        arrivals
    }

    /// The same timeline with another bound on an arrival's wait for a free user.
    pub fn max_wait(self, wait: Duration) -> Self {
        self.max_wait_ns.store(
            wait.as_nanos().min(u128::from(u64::MAX / 2)) as u64,
            Ordering::Relaxed,
        );
        self
    }

    /// Changes the rate from the next arrival on; `None` or a non-positive rate turns it off.
    pub fn set_rate(&self, rate: Option<f64>) {
        let (interval, rate) = match rate {
            Some(r) if r.is_finite() && r > 0.0 => (((1e9 / r) as u64).max(1), r),
            _ => (0, 0.0),
        };
        let was_off = self.interval_ns.swap(interval, Ordering::AcqRel) == 0;
        self.rate_bits.store(rate.to_bits(), Ordering::Release);
        if was_off && interval > 0 {
            // Turned on: the timeline starts at the next turn, owing nothing from before.
            self.next_ns.store(UNSET, Ordering::Release);
        }
    }

    /// The rate now, as asked, if on.
    pub fn rate(&self) -> Option<f64> {
        match self.interval_ns.load(Ordering::Acquire) {
            0 => None,
            _ => Some(f64::from_bits(self.rate_bits.load(Ordering::Acquire))),
        }
    }

    fn ns(&self, at: Instant) -> u64 {
        (at.saturating_duration_since(self.epoch).as_nanos() as u64).min(UNSET - 1)
    }

    /// Takes the next arrival (dropping those that waited past the bound); `None` when off.
    pub fn claim(&self, now: Instant) -> Option<Turn> {
        let interval = self.interval_ns.load(Ordering::Acquire);
        if interval == 0 {
            return None;
        }
        let now_ns = self.ns(now);
        let oldest = now_ns.saturating_sub(self.max_wait_ns.load(Ordering::Relaxed));
        let mut current = self.next_ns.load(Ordering::Acquire);
        loop {
            let (slot, dropped) = if current == UNSET {
                (now_ns, 0)
            } else {
                overdue(current, oldest, interval)
            };
            match self.next_ns.compare_exchange_weak(
                current,
                slot.saturating_add(interval),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if dropped > 0 {
                        self.dropped.fetch_add(dropped, Ordering::Relaxed);
                    }
                    return Some(Turn {
                        intended: self.epoch + Duration::from_nanos(slot),
                        wait: Duration::from_nanos(slot.saturating_sub(now_ns)),
                    });
                }
                Err(seen) => current = seen,
            }
        }
    }

    /// Drops the arrivals nobody took that have waited past the bound (the controller calls
    /// this every step, so drops are counted in the second they happen).
    pub fn expire(&self, now: Instant) {
        let interval = self.interval_ns.load(Ordering::Acquire);
        if interval == 0 {
            return;
        }
        let oldest = self
            .ns(now)
            .saturating_sub(self.max_wait_ns.load(Ordering::Relaxed));
        let mut current = self.next_ns.load(Ordering::Acquire);
        loop {
            if current == UNSET {
                return;
            }
            let (first_kept, dropped) = overdue(current, oldest, interval);
            if dropped == 0 {
                return;
            }
            match self.next_ns.compare_exchange_weak(
                current,
                first_kept,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    self.dropped.fetch_add(dropped, Ordering::Relaxed);
                    return;
                }
                Err(seen) => current = seen,
            }
        }
    }

    /// Takes the count of arrivals dropped since the last call.
    pub fn take_dropped(&self) -> u64 {
        self.dropped.swap(0, Ordering::Relaxed)
    }

    /// Records how late user `user`'s request left after its intended time.
    pub fn record_lag(&self, user: usize, lag: Duration) {
        let mut shard = self.lag[user % SHARDS]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        shard.record(lag.as_micros() as u64);
    }

    /// Moves the schedule lag recorded since the last drain into `into`.
    pub fn drain_lag(&self, into: &mut LatencyHistogram) {
        for shard in &self.lag {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            into.merge(&shard);
            shard.reset();
        }
    }
}

/// From the next untaken arrival `current`: the first one not older than `oldest`, and how
/// many before it are dropped.
fn overdue(current: u64, oldest: u64, interval: u64) -> (u64, u64) {
    if current >= oldest {
        return (current, 0);
    }
    let dropped = (oldest - current).div_ceil(interval);
    (
        current.saturating_add(dropped.saturating_mul(interval)),
        dropped,
    )
}

/// Splits `n` dropped arrivals over endpoints in proportion to `weights` (largest remainder,
/// so the parts add up to `n`); all zero weights leave them on the first endpoint.
pub fn split_by_weight(n: u64, weights: &[f64]) -> Vec<u64> {
    let mut parts = vec![0; weights.len()];
    if n == 0 || weights.is_empty() {
        return parts;
    }
    let total: f64 = weights.iter().filter(|w| **w > 0.0).sum();
    if total <= 0.0 {
        parts[0] = n;
        return parts;
    }
    let mut remainders = Vec::with_capacity(weights.len());
    let mut given = 0;
    for (i, w) in weights.iter().enumerate() {
        let share = n as f64 * w.max(0.0) / total;
        parts[i] = share.floor() as u64;
        given += parts[i];
        remainders.push((share - share.floor(), i));
    }
    remainders.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (_, i) in remainders.into_iter().take((n - given.min(n)) as usize) {
        parts[i] += 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn arrivals_keep_their_intended_times_and_wait_at_most_the_bound() {
        let t = Instant::now();
        let a = Arrivals::new(t, Some(10.0)).max_wait(ms(250));
        assert_eq!(a.claim(t).map(|x| x.wait), Some(Duration::ZERO));
        assert_eq!(a.claim(t).map(|x| x.wait), Some(ms(100)));
        // Every user busy for 300 ms: the arrival due at 200 ms is taken late, from its time.
        let late = a.claim(t + ms(300)).unwrap();
        assert_eq!(late.intended, t + ms(200));
        assert_eq!(late.wait, Duration::ZERO);
        assert_eq!(a.take_dropped(), 0);
        // A stall of a second: arrivals due at 300..=700 ms waited past 250 ms and are dropped;
        // the one due at 800 ms is taken 200 ms late.
        let after_stall = a.claim(t + ms(1000)).unwrap();
        assert_eq!(after_stall.intended, t + ms(800));
        assert_eq!(a.take_dropped(), 5);
    }

    #[test]
    fn the_controller_expires_arrivals_nobody_takes() {
        let t = Instant::now();
        let a = Arrivals::new(t, Some(100.0)).max_wait(ms(0));
        a.expire(t + ms(500));
        assert_eq!(
            a.take_dropped(),
            0,
            "the timeline starts with the first turn"
        );
        a.claim(t);
        a.expire(t + ms(1000));
        // Due at 10, 20, …, 990 ms (99 arrivals), none taken.
        assert_eq!(a.take_dropped(), 99);
        assert_eq!(a.claim(t + ms(1000)).unwrap().intended, t + ms(1000));
    }

    #[test]
    fn off_means_no_turns() {
        let t = Instant::now();
        let a = Arrivals::new(t, None);
        assert_eq!(a.claim(t), None);
        a.set_rate(Some(2.0));
        assert_eq!(a.rate(), Some(2.0));
        assert!(a.claim(t + ms(5000)).is_some());
        assert_eq!(a.take_dropped(), 0, "turning on owes nothing from before");
    }

    #[test]
    fn drops_split_by_weight_add_up() {
        assert_eq!(split_by_weight(10, &[1.0, 1.0]), vec![5, 5]);
        assert_eq!(split_by_weight(7, &[3.0, 1.0, 0.0]).iter().sum::<u64>(), 7);
        assert_eq!(split_by_weight(4, &[3.0, 1.0]), vec![3, 1]);
        assert_eq!(split_by_weight(3, &[0.0, 0.0]), vec![3, 0]);
        assert_eq!(split_by_weight(0, &[1.0]), vec![0]);
    }
}
