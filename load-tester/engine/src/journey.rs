//! Journeys at run time: the flows (their steps are request rows like endpoints), each user's
//! own state (iteration, variables, data row, cookie jar), and the flows' iteration figures.
//!
//! A user's state lives in its Goose session data, touched only by that user, and exists only
//! when the scenario needs it (flows, templates, a data file or cookies), so a plain scenario's
//! users stay as small as before.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use lt_scenario::{DataMode, OnEnd, ThinkTime};
use rand::Rng;
use serde_json::Value;

use crate::histogram::LatencyHistogram;

const SHARDS: usize = 4;

/// What a user chooses among: an endpoint's row, or a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChoiceTarget {
    Endpoint(usize),
    Flow(usize),
}

/// One flow at run time.
#[derive(Debug)]
pub struct FlowRuntime {
    pub name: String,
    /// The request row of its first step; its steps are the rows after it.
    pub first_row: usize,
    pub steps: usize,
    /// Between steps; `None` means the scenario's (live) think time.
    pub think_time: Option<ThinkTime>,
    pub cookies: bool,
    /// How many variables its captures fill.
    pub vars: usize,
    pub stats: FlowStats,
}

/// A flow's iterations since the last drain.
#[derive(Debug, Default)]
pub struct FlowStats {
    started: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
    shards: [Mutex<LatencyHistogram>; SHARDS],
}

/// What one flow did since the last drain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowDrained {
    pub started: u64,
    pub completed: u64,
    pub failed: u64,
}

impl FlowStats {
    pub fn started(&self) {
        self.started.fetch_add(1, Ordering::Relaxed);
    }

    /// An iteration that ended: completed (with its duration) or failed.
    pub fn ended(&self, user: usize, completed_in: Option<u64>) {
        match completed_in {
            Some(micros) => {
                self.shards[user % SHARDS]
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .record(micros);
                self.completed.fetch_add(1, Ordering::Relaxed);
            }
            None => {
                self.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Takes everything since the last drain; durations go into `into`.
    pub fn drain(&self, into: &mut LatencyHistogram) -> FlowDrained {
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            into.merge(&shard);
            shard.reset();
        }
        FlowDrained {
            started: self.started.swap(0, Ordering::Relaxed),
            completed: self.completed.swap(0, Ordering::Relaxed),
            failed: self.failed.swap(0, Ordering::Relaxed),
        }
    }
}

/// One user's own state.
#[derive(Debug, Default, Clone)]
pub struct UserState {
    /// Iterations begun: each endpoint request and each run of a flow is one.
    pub iteration: u64,
    /// The data row of the current iteration.
    pub row: Option<usize>,
    /// The user's cookies, when a jar is on.
    pub jar: Option<cookie_store::CookieStore>,
    /// The flow iteration under way.
    pub active: Option<Iteration>,
}

/// One run of a flow by one user.
#[derive(Debug, Clone)]
pub struct Iteration {
    pub flow: usize,
    /// The next step to send.
    pub step: usize,
    pub vars: Vec<Option<Value>>,
    /// The trace every step of this iteration shares.
    pub trace: u128,
    pub started: Instant,
}

/// Hands out data rows.
#[derive(Debug)]
pub struct Rows {
    mode: DataMode,
    on_end: OnEnd,
    count: usize,
    next: AtomicU64,
    /// The session's index of this generator's first user (per-user rows).
    first_user: usize,
    /// Shared rows taken by this generator: `stripe.0, stripe.0 + stripe.1, …`.
    stripe: (u64, u64),
}

impl Rows {
    pub fn new(mode: DataMode, on_end: OnEnd, count: usize) -> Self {
        Rows {
            mode,
            on_end,
            count: count.max(1),
            next: AtomicU64::new(0),
            first_user: 0,
            stripe: (0, 1),
        }
    }

    /// The rows of a generator at `place`: per-user rows by the session's user index, shared
    /// rows striped across generators (each still taken once per pass).
    pub fn placed(self, place: lt_scenario::segment::Place) -> Self {
        Rows {
            first_user: place.first_user as usize,
            stripe: (
                u64::from(place.segment.index()),
                u64::from(place.segment.count()),
            ),
            ..self
        }
    }

    /// The row of user `user`'s next iteration; `None` when the rows ran out for it
    /// (`on_end: stop_user`).
    pub fn pick(&self, user: usize, rng: &mut impl Rng) -> Option<usize> {
        let n = match self.mode {
            DataMode::PerUser => self.first_user + user,
            DataMode::Shared => {
                let taken = self.next.fetch_add(1, Ordering::Relaxed);
                (taken * self.stripe.1 + self.stripe.0) as usize
            }
            DataMode::Random => return Some(rng.random_range(0..self.count)),
        };
        match self.on_end {
            OnEnd::Cycle => Some(n % self.count),
            OnEnd::StopUser => (n < self.count).then_some(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_follow_their_mode() {
        let mut rng = rand::rng();
        let per_user = Rows::new(DataMode::PerUser, OnEnd::Cycle, 3);
        assert_eq!(
            (0..5)
                .map(|u| per_user.pick(u, &mut rng))
                .collect::<Vec<_>>(),
            [Some(0), Some(1), Some(2), Some(0), Some(1)]
        );
        let shared = Rows::new(DataMode::Shared, OnEnd::StopUser, 2);
        assert_eq!(
            (0..3).map(|_| shared.pick(9, &mut rng)).collect::<Vec<_>>(),
            [Some(0), Some(1), None]
        );
        let stop = Rows::new(DataMode::PerUser, OnEnd::StopUser, 2);
        assert_eq!(stop.pick(2, &mut rng), None);
        let random = Rows::new(DataMode::Random, OnEnd::StopUser, 4);
        assert!((0..100).all(|_| random.pick(0, &mut rng).is_some_and(|r| r < 4)));
    }
}
