//! The knobs a run can turn while it runs: weights, think time, users, arrival rate.
//!
//! Goose freezes its own weights, wait times and user count when a run starts, so these live
//! here, read by the dispatcher on every request and changed by [`crate::EngineHandle`].

use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lt_scenario::{Scenario, ThinkTime};
use rand::Rng;
use tokio::sync::watch;

use crate::arrivals::Arrivals;
use crate::pacer::Pacer;

/// Endpoint weights with their running sums, for a weighted choice by binary search.
#[derive(Debug, Clone)]
struct Weights {
    values: Vec<f64>,
    cumulative: Vec<f64>,
}

impl Weights {
    fn new(values: Vec<f64>) -> Self {
        let mut total = 0.0;
        let cumulative = values
            .iter()
            .map(|w| {
                total += w;
                total
            })
            .collect();
        Weights { values, cumulative }
    }

    fn total(&self) -> f64 {
        self.cumulative.last().copied().unwrap_or(0.0)
    }
}

/// Live state shared by the dispatcher, the controller and the handle.
#[derive(Debug)]
pub struct Control {
    weights: RwLock<Weights>,
    think_min_ms: AtomicU64,
    think_max_ms: AtomicU64,
    /// Open model pacing (`load.arrival_rate`).
    pub arrival: Arrivals,
    /// Closed model cap (`load.rate`).
    pub cap: Pacer,
    /// Users the schedule or a live change asks for.
    target_users: AtomicU32,
    /// Users allowed to send now (target less those parked by load reduction).
    active_users: AtomicU32,
    active_tx: watch::Sender<u32>,
    /// Set once a live change of users replaced the ramp/stage schedule.
    schedule_replaced: AtomicBool,
    /// A network generator's users parked by its coordinator's load reduction.
    parked_by_coordinator: AtomicU32,
    max_users: u32,
}

impl Control {
    /// The knobs as the scenario sets them.
    pub fn new(scenario: &Scenario, epoch: Instant) -> Self {
        let think = scenario.load.think_time;
        let (active_tx, _) = watch::channel(0);
        Control {
            weights: RwLock::new(Weights::new(scenario.weights())),
            think_min_ms: AtomicU64::new(think.min.as_millis() as u64),
            think_max_ms: AtomicU64::new(think.max.as_millis() as u64),
            arrival: Arrivals::new(epoch, scenario.load.arrival_rate)
                .max_wait(scenario.load.arrival_max_wait),
            cap: Pacer::new(epoch, scenario.load.rate),
            target_users: AtomicU32::new(0),
            active_users: AtomicU32::new(0),
            active_tx,
            schedule_replaced: AtomicBool::new(false),
            parked_by_coordinator: AtomicU32::new(0),
            max_users: scenario.load.max_users,
        }
    }

    /// Users the coordinator's load reduction parks on this generator.
    pub fn parked_by_coordinator(&self) -> u32 {
        self.parked_by_coordinator.load(Ordering::Acquire)
    }

    /// Parks `users` by the coordinator's decision (taken into account within 100 ms).
    pub fn park_for_coordinator(&self, users: u32) {
        self.parked_by_coordinator.store(users, Ordering::Release);
    }

    /// Picks an endpoint by weight; `None` when every weight is zero.
    pub fn pick(&self, rng: &mut impl Rng) -> Option<usize> {
        let weights = self.weights.read().unwrap_or_else(|p| p.into_inner());
        let total = weights.total();
        if total <= 0.0 {
            return None;
        }
        let x = rng.random::<f64>() * total;
        let index = weights.cumulative.partition_point(|&c| c <= x);
        // Never land on a zero-weight endpoint through rounding at the top end.
        let index = index.min(weights.values.len() - 1);
        if weights.values[index] > 0.0 {
            Some(index)
        } else {
            weights.values.iter().rposition(|&w| w > 0.0)
        }
    }

    /// Picks an endpoint by weight among those `usable` allows.
    pub fn pick_among(&self, rng: &mut impl Rng, usable: impl Fn(usize) -> bool) -> Option<usize> {
        let weights = self.weights.read().unwrap_or_else(|p| p.into_inner());
        let total: f64 = weights
            .values
            .iter()
            .enumerate()
            .filter(|(i, _)| usable(*i))
            .map(|(_, w)| w)
            .sum();
        if total <= 0.0 {
            return None;
        }
        let mut x = rng.random::<f64>() * total;
        let mut last = None;
        for (i, w) in weights.values.iter().enumerate() {
            if *w <= 0.0 || !usable(i) {
                continue;
            }
            last = Some(i);
            if x < *w {
                return Some(i);
            }
            x -= w;
        }
        last
    }

    /// The weights now, in endpoint order.
    pub fn weights(&self) -> Vec<f64> {
        self.weights
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values
            .clone()
    }

    /// Sets some weights (by endpoint index), keeping the others.
    pub fn set_weights(&self, changes: &[(usize, f64)]) {
        let mut weights = self.weights.write().unwrap_or_else(|p| p.into_inner());
        let mut values = weights.values.clone();
        for &(i, w) in changes {
            if let Some(slot) = values.get_mut(i) {
                *slot = w;
            }
        }
        *weights = Weights::new(values);
    }

    /// A think time drawn for the next pause.
    pub fn think_time(&self, rng: &mut impl Rng) -> Duration {
        let min = self.think_min_ms.load(Ordering::Relaxed);
        let max = self.think_max_ms.load(Ordering::Relaxed).max(min);
        draw(
            ThinkTime {
                min: Duration::from_millis(min),
                max: Duration::from_millis(max),
            },
            rng,
        )
    }

    /// The think time's bounds now.
    pub fn think_time_bounds(&self) -> ThinkTime {
        ThinkTime {
            min: Duration::from_millis(self.think_min_ms.load(Ordering::Relaxed)),
            max: Duration::from_millis(self.think_max_ms.load(Ordering::Relaxed)),
        }
    }

    /// Changes the think time.
    pub fn set_think_time(&self, think: ThinkTime) {
        // Two stores, not one: a reader between them takes max(min, max), so a torn read costs at
        // most one pause drawn from the old bounds.
        self.think_min_ms
            .store(think.min.as_millis() as u64, Ordering::Relaxed);
        self.think_max_ms
            .store(think.max.as_millis() as u64, Ordering::Relaxed);
    }

    /// The most users this run can have.
    pub fn max_users(&self) -> u32 {
        self.max_users
    }

    /// Users allowed to send now.
    pub fn active_users(&self) -> u32 {
        self.active_users.load(Ordering::Acquire)
    }

    /// Users asked for now.
    pub fn target_users(&self) -> u32 {
        self.target_users.load(Ordering::Acquire)
    }

    /// Sets the users asked for (by the schedule, or by a live change when `live`).
    pub fn set_target_users(&self, users: u32, live: bool) {
        if live {
            self.schedule_replaced.store(true, Ordering::Release);
        }
        self.target_users
            .store(users.min(self.max_users), Ordering::Release);
    }

    /// Whether a live change replaced the schedule.
    pub fn schedule_replaced(&self) -> bool {
        self.schedule_replaced.load(Ordering::Acquire)
    }

    /// Sets how many users may send now, waking parked users when it grows.
    pub fn set_active_users(&self, active: u32) {
        let active = active.min(self.max_users);
        if self.active_users.swap(active, Ordering::AcqRel) != active {
            self.active_tx.send_replace(active);
        }
    }

    /// Waits until user `index` may send (or the receiver's sender is gone).
    pub async fn wait_until_active(&self, index: u32) {
        let mut rx = self.active_tx.subscribe();
        let _ = rx.wait_for(|&active| index < active).await;
    }
}

/// A pause drawn uniformly in `min..=max` (the scenario's think time, or a flow's own).
pub fn draw(think: ThinkTime, rng: &mut impl Rng) -> Duration {
    if think.min >= think.max {
        return think.min;
    }
    let (min, max) = (think.min.as_micros() as u64, think.max.as_micros() as u64);
    Duration::from_micros(rng.random_range(min..=max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_choice_follows_weights_and_skips_zero() {
        let c = Weights::new(vec![1.0, 0.0, 3.0]);
        assert_eq!(c.total(), 4.0);
        let control_weights = RwLock::new(c);
        let control = Control {
            weights: control_weights,
            think_min_ms: AtomicU64::new(0),
            think_max_ms: AtomicU64::new(0),
            arrival: Arrivals::new(Instant::now(), None),
            cap: Pacer::new(Instant::now(), None),
            target_users: AtomicU32::new(0),
            active_users: AtomicU32::new(0),
            active_tx: watch::channel(0).0,
            schedule_replaced: AtomicBool::new(false),
            parked_by_coordinator: AtomicU32::new(0),
            max_users: 1,
        };
        let mut rng = rand::rng();
        let mut counts = [0u32; 3];
        for _ in 0..40_000 {
            counts[control.pick(&mut rng).unwrap()] += 1;
        }
        assert_eq!(counts[1], 0);
        let share = f64::from(counts[2]) / 40_000.0;
        assert!((share - 0.75).abs() < 0.02, "{counts:?}");
        assert_eq!(control.pick_among(&mut rng, |i| i != 2), Some(0));
        control.set_weights(&[(0, 0.0), (2, 0.0)]);
        assert_eq!(control.pick(&mut rng), None);
    }
}
