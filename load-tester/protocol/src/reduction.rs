//! Load reduction (a generator's own, or a coordinator's over its generators' merged seconds):
//! while the error rate over the window is above the limit, park a share of the
//! active users (never below `min_users`); once it is back under half the limit, bring them back
//! step by step (half of those parked at each step, one step per `restore_every`).

use lt_scenario::LoadReduction;

use crate::window::{SecondCounts, SecondWindow};

/// Load reduction's state, advanced once a second.
#[derive(Debug)]
pub struct Reduction {
    cfg: LoadReduction,
    window: SecondWindow,
    window_seconds: u64,
    restore_every_seconds: u64,
    parked: u32,
    /// No new reduction before this second (the window must first see the reduced load).
    quiet_until: u64,
    last_change: u64,
}

impl Reduction {
    /// Starts with nobody parked.
    pub fn new(cfg: LoadReduction) -> Self {
        let window_seconds = cfg.window.as_secs().max(1);
        let restore_every_seconds = cfg.restore_every.as_secs().max(1);
        Reduction {
            window: SecondWindow::new(window_seconds as usize),
            cfg,
            window_seconds,
            restore_every_seconds,
            parked: 0,
            quiet_until: 0,
            last_change: 0,
        }
    }

    /// Users parked now.
    pub fn parked(&self) -> u32 {
        self.parked
    }

    /// The error rate over the window.
    pub fn window_error_rate(&self) -> f64 {
        self.window.error_rate()
    }

    /// Takes second number `second`'s counts with `target` users wanted; returns the users to
    /// park from now on.
    pub fn on_second(&mut self, second: u64, counts: SecondCounts, target: u32) -> u32 {
        self.window.push(counts);
        let rate = self.window.error_rate();
        let active = target.saturating_sub(self.parked);
        if rate > self.cfg.error_rate
            && second >= self.quiet_until
            && self.window.sum().requests > 0
        {
            let floor = self.cfg.min_users.min(target);
            let wanted = (f64::from(active) * self.cfg.reduce_by).ceil() as u32;
            let allowed = active.saturating_sub(floor);
            let more = wanted.min(allowed);
            if more > 0 {
                self.parked += more;
                self.quiet_until = second + self.window_seconds;
                self.last_change = second;
                self.window.clear();
            }
        } else if self.parked > 0
            && rate < self.cfg.error_rate / 2.0
            && second >= self.last_change + self.restore_every_seconds
        {
            let step = self.parked.div_ceil(2);
            self.parked -= step;
            self.last_change = second;
        }
        // Never park more than the target allows (the target may have dropped).
        self.parked = self
            .parked
            .min(target.saturating_sub(self.cfg.min_users.min(target)));
        self.parked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn parks_on_high_errors_and_restores_in_steps() {
        let mut r = Reduction::new(LoadReduction {
            error_rate: 0.5,
            window: Duration::from_secs(2),
            reduce_by: 0.5,
            min_users: 2,
            restore_every: Duration::from_secs(1),
        });
        let bad = SecondCounts {
            requests: 10,
            failures: 9,
        };
        let good = SecondCounts {
            requests: 10,
            failures: 0,
        };
        assert_eq!(r.on_second(1, bad, 20), 10);
        // Quiet for a window: no second cut yet.
        assert_eq!(r.on_second(2, bad, 20), 10);
        assert_eq!(r.on_second(3, bad, 20), 15);
        // Never below min_users: 20 - 18 = 2.
        assert_eq!(r.on_second(5, bad, 20), 18);
        assert_eq!(r.on_second(7, bad, 20), 18);
        // Recovery: half of the parked back at each step.
        assert_eq!(r.on_second(8, good, 20), 18);
        assert_eq!(r.on_second(9, good, 20), 9);
        assert_eq!(r.on_second(10, good, 20), 4);
        assert_eq!(r.on_second(11, good, 20), 2);
        assert_eq!(r.on_second(12, good, 20), 1);
        assert_eq!(r.on_second(13, good, 20), 0);
    }
}
