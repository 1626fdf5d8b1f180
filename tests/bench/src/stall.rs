//! `GET /stall` on the bench target: a service that freezes for [`STALL_MS`] every
//! [`PERIOD_MS`] (a GC pause, a lock) and otherwise answers at once. A request that arrives
//! during a freeze, or is in flight when one starts, is answered when it ends.
//!
//! Because the freezes are periodic and arrivals intended at a steady rate are spread evenly
//! over the period, the truth is known: a request intended at `t` should take the time left in
//! the freeze it falls in, so a share `STALL / PERIOD` of the requests take a time uniform in
//! `0..STALL` and the rest take the service time (~0). [`true_quantile_ms`] is that
//! distribution's quantile, which the accuracy case compares the reported percentiles with.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The time between the starts of two freezes.
pub const PERIOD_MS: u64 = 2_000;
/// How long each freeze lasts.
pub const STALL_MS: u64 = 300;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// How long a request arriving `since_start` after the target's first stall request waits.
pub fn wait_at(since_start: Duration) -> Duration {
    let ms = since_start.as_millis() as u64 % PERIOD_MS;
    let into = since_start.as_micros() as u64 % (PERIOD_MS * 1000);
    if ms < STALL_MS {
        Duration::from_micros(STALL_MS * 1000 - into)
    } else {
        Duration::ZERO
    }
}

/// `GET /stall`.
pub async fn handler() -> &'static str {
    let epoch = *EPOCH.get_or_init(Instant::now);
    let wait = wait_at(epoch.elapsed());
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    "stalled or not......\n"
}

/// The true latency at quantile `q` (0..1) of requests intended at a steady rate, in ms,
/// leaving out the service time (well under a millisecond here).
pub fn true_quantile_ms(q: f64) -> f64 {
    let stalled = STALL_MS as f64 / PERIOD_MS as f64;
    let into = (q - (1.0 - stalled)) / stalled;
    into.clamp(0.0, 1.0) * STALL_MS as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freezes_then_serves() {
        assert_eq!(
            wait_at(Duration::from_millis(0)),
            Duration::from_millis(300)
        );
        assert_eq!(
            wait_at(Duration::from_millis(100)),
            Duration::from_millis(200)
        );
        assert_eq!(wait_at(Duration::from_millis(300)), Duration::ZERO);
        assert_eq!(
            wait_at(Duration::from_millis(2_250)),
            Duration::from_millis(50)
        );
    }

    #[test]
    fn the_truth_is_the_freeze_share() {
        // 15 % of the requests fall in a freeze: p85 and below are the service time.
        assert_eq!(true_quantile_ms(0.50), 0.0);
        assert!((true_quantile_ms(0.90) - 100.0).abs() < 1e-6);
        assert!((true_quantile_ms(0.95) - 200.0).abs() < 1e-6);
        assert!((true_quantile_ms(0.99) - 280.0).abs() < 1e-6);
    }
}
