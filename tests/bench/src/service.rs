//! The target's own measure of its `GET /sleep` handler: how long each call took inside the
//! handler (the fixed sleep plus the timer's slack), so the latency the engine reports can be
//! compared with the service time the target actually gave. `/__sleep_stats` answers the
//! summary as `count mean_us p50_us p99_us`; `/__reset` clears it.

use std::sync::Mutex;

use anyhow::{Context, Result, bail};

/// How long `GET /sleep` sleeps.
pub const SLEEP_MS: u64 = 50;

/// Handler times of `GET /sleep` since the last reset, in microseconds.
#[derive(Debug, Default)]
pub struct ServiceTimes {
    samples: Mutex<Vec<u64>>,
}

impl ServiceTimes {
    /// Notes one handler time.
    pub fn record(&self, micros: u64) {
        if let Ok(mut samples) = self.samples.lock() {
            samples.push(micros);
        }
    }

    /// Forgets every handler time.
    pub fn clear(&self) {
        if let Ok(mut samples) = self.samples.lock() {
            samples.clear();
        }
    }

    /// The summary of the handler times so far.
    pub fn summary(&self) -> ServiceSummary {
        match self.samples.lock() {
            Ok(samples) => ServiceSummary::of(&samples),
            Err(_) => ServiceSummary::default(),
        }
    }
}

/// Count, mean, median and 99th percentile of handler times, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ServiceSummary {
    pub count: u64,
    pub mean_us: f64,
    pub p50_us: u64,
    pub p99_us: u64,
}

impl ServiceSummary {
    /// The summary of `samples` (nearest-rank percentiles); all zero when there are none.
    pub fn of(samples: &[u64]) -> ServiceSummary {
        if samples.is_empty() {
            return ServiceSummary::default();
        }
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let sum: u64 = sorted.iter().sum();
        ServiceSummary {
            count: sorted.len() as u64,
            mean_us: sum as f64 / sorted.len() as f64,
            p50_us: nearest_rank(&sorted, 50.0),
            p99_us: nearest_rank(&sorted, 99.0),
        }
    }

    /// The text `/__sleep_stats` answers.
    pub fn to_text(self) -> String {
        format!(
            "{} {:.1} {} {}\n",
            self.count, self.mean_us, self.p50_us, self.p99_us
        )
    }

    /// Reads what [`ServiceSummary::to_text`] wrote.
    pub fn parse(text: &str) -> Result<ServiceSummary> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [count, mean, p50, p99] = fields[..] else {
            bail!("expected four numbers, got `{}`", text.trim());
        };
        let int = |s: &str| {
            s.parse::<u64>()
                .with_context(|| format!("`{s}` is not a whole number"))
        };
        Ok(ServiceSummary {
            count: int(count)?,
            mean_us: mean
                .parse::<f64>()
                .with_context(|| format!("`{mean}` is not a number"))?,
            p50_us: int(p50)?,
            p99_us: int(p99)?,
        })
    }
}

/// The nearest-rank percentile `p` (0–100) of sorted values (not empty).
fn nearest_rank(sorted: &[u64], p: f64) -> u64 {
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_handler_times() {
        let samples: Vec<u64> = (1..=100).collect();
        let s = ServiceSummary::of(&samples);
        assert_eq!((s.count, s.p50_us, s.p99_us), (100, 50, 99));
        assert!((s.mean_us - 50.5).abs() < 1e-9);
        assert_eq!(ServiceSummary::of(&[]), ServiceSummary::default());
        assert_eq!(ServiceSummary::of(&[7]).p99_us, 7);
    }

    #[test]
    fn text_round_trips() {
        let s = ServiceSummary {
            count: 3,
            mean_us: 50_123.5,
            p50_us: 50_100,
            p99_us: 51_000,
        };
        assert_eq!(ServiceSummary::parse(&s.to_text()).unwrap(), s);
        assert!(ServiceSummary::parse("1 2 3").is_err());
        assert!(ServiceSummary::parse("1 x 3 4").is_err());
    }

    #[test]
    fn recorder_clears() {
        let t = ServiceTimes::default();
        t.record(10);
        t.record(30);
        assert_eq!(t.summary().count, 2);
        t.clear();
        assert_eq!(t.summary().count, 0);
    }
}
