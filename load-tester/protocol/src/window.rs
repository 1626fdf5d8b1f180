//! Sliding windows of per-second counts, for the error budget, load reduction and breaker ratios.

use std::collections::VecDeque;

/// Requests and failures of one second.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecondCounts {
    pub requests: u64,
    pub failures: u64,
}

/// The last `capacity` seconds.
#[derive(Debug, Clone)]
pub struct SecondWindow {
    seconds: VecDeque<SecondCounts>,
    capacity: usize,
}

impl SecondWindow {
    /// A window of `capacity` seconds (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        SecondWindow {
            seconds: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    /// Adds the second that just ended, dropping the oldest beyond the capacity.
    pub fn push(&mut self, counts: SecondCounts) {
        if self.seconds.len() == self.capacity {
            self.seconds.pop_front();
        }
        self.seconds.push_back(counts);
    }

    /// Sums over the window.
    pub fn sum(&self) -> SecondCounts {
        self.seconds
            .iter()
            .fold(SecondCounts::default(), |acc, s| SecondCounts {
                requests: acc.requests + s.requests,
                failures: acc.failures + s.failures,
            })
    }

    /// Failures / requests over the window; 0 without requests.
    pub fn error_rate(&self) -> f64 {
        let sum = self.sum();
        if sum.requests == 0 {
            0.0
        } else {
            sum.failures as f64 / sum.requests as f64
        }
    }

    /// Forgets everything (after a reduction, so the next decision sees only new seconds).
    pub fn clear(&mut self) {
        self.seconds.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_last_seconds() {
        let mut w = SecondWindow::new(3);
        for i in 1..=5u64 {
            w.push(SecondCounts {
                requests: 10,
                failures: i,
            });
        }
        assert_eq!(
            w.sum(),
            SecondCounts {
                requests: 30,
                failures: 12
            }
        );
        assert!((w.error_rate() - 0.4).abs() < 1e-9);
    }
}
