//! Exponential backoff of one user after consecutive failures.

use std::time::Duration;

use lt_scenario::Backoff;
use rand::Rng;

/// The wait after `consecutive_failures` failures in a row (0 means none): `initial ×
/// multiplier^(n-1)`, capped at `max`, and with full jitter uniform in `0..=that`.
pub fn backoff_delay(cfg: &Backoff, consecutive_failures: u32, rng: &mut impl Rng) -> Duration {
    if consecutive_failures == 0 {
        return Duration::ZERO;
    }
    let exponent = (consecutive_failures - 1).min(64) as i32;
    let secs = cfg.initial.as_secs_f64() * cfg.multiplier.powi(exponent);
    let capped = if secs.is_finite() {
        secs.min(cfg.max.as_secs_f64())
    } else {
        cfg.max.as_secs_f64()
    };
    let chosen = if cfg.jitter {
        rng.random_range(0.0..=capped)
    } else {
        capped
    };
    Duration::from_secs_f64(chosen.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(jitter: bool) -> Backoff {
        Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
            multiplier: 2.0,
            jitter,
        }
    }

    #[test]
    fn grows_exponentially_up_to_the_cap() {
        let mut rng = rand::rng();
        let waits: Vec<u128> = (0..8)
            .map(|n| backoff_delay(&cfg(false), n, &mut rng).as_millis())
            .collect();
        assert_eq!(waits, [0, 100, 200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(
            backoff_delay(&cfg(false), u32::MAX, &mut rng),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn jitter_stays_within_the_computed_wait() {
        let mut rng = rand::rng();
        for _ in 0..1000 {
            assert!(backoff_delay(&cfg(true), 3, &mut rng) <= Duration::from_millis(400));
        }
    }
}
