//! Memory over a long run: one `load-tester run` at moderate load (50 users, think time
//! 10 ms..50 ms, `GET /` on the trivial target) for M minutes, its `VmRSS` sampled every 10 s.
//! After a warm-up (the larger of 20 % of the run and 30 s, at most half of it) the memory
//! should be flat: the least-squares slope is printed in KiB per minute and as a share of the
//! mean per 10 minutes, with whether every sample stayed within ±5 % of that mean.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::lt_run::{Bench, RssSample};

/// The `soak` subcommand's arguments.
#[derive(Debug, Args)]
pub struct SoakArgs {
    /// Minutes to run.
    #[arg(long, value_name = "M", default_value_t = 30)]
    pub minutes: u64,
    /// 2 minutes (over --minutes).
    #[arg(long)]
    pub quick: bool,
}

/// The plan: run time and sampling interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoakSettings {
    pub seconds: u64,
    pub sample_every: Duration,
}

impl SoakSettings {
    /// `minutes` (2 when quick), a sample every 10 s.
    pub fn new(minutes: u64, quick: bool) -> SoakSettings {
        SoakSettings {
            seconds: if quick { 2 } else { minutes } * 60,
            sample_every: Duration::from_secs(10),
        }
    }

    /// Only to check that it runs: 20 s, a sample every second.
    pub fn smoke() -> SoakSettings {
        SoakSettings {
            seconds: 20,
            sample_every: Duration::from_secs(1),
        }
    }

    /// Seconds of warm-up left out of the slope.
    pub fn warm_up_s(&self) -> f64 {
        let seconds = self.seconds as f64;
        (seconds * 0.2).max(30.0).min(seconds / 2.0)
    }
}

/// How flat the memory stayed after the warm-up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Flatness {
    pub samples: usize,
    pub mean_kib: f64,
    pub min_kib: u64,
    pub max_kib: u64,
    pub slope_kib_per_min: f64,
    /// The slope over 10 minutes as a percentage of the mean.
    pub pct_per_10_min: f64,
    /// The largest distance of a sample from the mean, in percent of it.
    pub max_deviation_pct: f64,
}

impl Flatness {
    /// Whether every sample after the warm-up stayed within ±5 % of their mean.
    pub fn within_5_pct(&self) -> bool {
        self.max_deviation_pct <= 5.0
    }
}

/// The flatness of the samples taken after `warm_up_s`; `None` with fewer than two.
pub fn flatness(samples: &[RssSample], warm_up_s: f64) -> Option<Flatness> {
    let kept: Vec<&RssSample> = samples.iter().filter(|s| s.at_s >= warm_up_s).collect();
    if kept.len() < 2 {
        return None;
    }
    let n = kept.len() as f64;
    let mean_t = kept.iter().map(|s| s.at_s).sum::<f64>() / n;
    let mean_kib = kept.iter().map(|s| s.rss_kib as f64).sum::<f64>() / n;
    let (mut cov, mut var) = (0.0, 0.0);
    for s in &kept {
        cov += (s.at_s - mean_t) * (s.rss_kib as f64 - mean_kib);
        var += (s.at_s - mean_t).powi(2);
    }
    let slope_per_s = if var > 0.0 { cov / var } else { 0.0 };
    let min_kib = kept.iter().map(|s| s.rss_kib).min()?;
    let max_kib = kept.iter().map(|s| s.rss_kib).max()?;
    let deviation = |kib: u64| (kib as f64 - mean_kib).abs() / mean_kib * 100.0;
    Some(Flatness {
        samples: kept.len(),
        mean_kib,
        min_kib,
        max_kib,
        slope_kib_per_min: slope_per_s * 60.0,
        pct_per_10_min: slope_per_s * 600.0 / mean_kib * 100.0,
        max_deviation_pct: deviation(min_kib).max(deviation(max_kib)),
    })
}

/// The outcome: the text and the flatness behind it.
#[derive(Debug, Clone)]
pub struct SoakOutcome {
    pub markdown: String,
    pub flatness: Option<Flatness>,
}

/// The scenario of the run.
pub fn scenario_yaml(url: &str, seconds: u64) -> String {
    format!(
        "# Written by lt-bench: a long run at moderate load.\n\
         name: bench-soak\n\
         target: {url}\n\
         load:\n  users: 50\n  duration: {seconds}s\n  think_time: {{ min: 10ms, max: 50ms }}\n\
         endpoints:\n  - name: root\n    path: /\n"
    )
}

/// Runs the soak and describes it.
pub fn measure(settings: &SoakSettings) -> Result<SoakOutcome> {
    let mut bench = Bench::start()?;
    let yaml = scenario_yaml(&bench.target.url(), settings.seconds);
    eprintln!("soak: {} s ...", settings.seconds);
    let run = bench
        .run(
            "soak",
            &yaml,
            &[],
            settings.sample_every,
            Duration::from_secs(settings.seconds + 120),
        )
        .context("the soak run")?;
    if run.requests() == 0 {
        bail!("the soak run sent no request");
    }
    let warm_up = settings.warm_up_s();
    let flat = flatness(&run.samples, warm_up);
    let mut out = format!(
        "`load-tester run`: 50 users, think time 10 ms..50 ms, `GET /`, {} s; `VmRSS` every {} \
         s; slope by least squares over the samples after {warm_up:.0} s of warm-up.\n\n\
         - requests at the target: {} ({:.0} req/s)\n- RSS MiB every {} s: {}\n",
        settings.seconds,
        settings.sample_every.as_secs(),
        run.requests(),
        run.rps(),
        settings.sample_every.as_secs(),
        compact(&run.samples)
    );
    match &flat {
        Some(f) => out.push_str(&format!(
            "- after warm-up ({} samples): mean {:.1} MiB, min–max {:.1}–{:.1} MiB, slope {:+.1} \
             KiB/min ({:+.2} % of the mean per 10 min), largest deviation from the mean \
             {:.2} %: {}\n",
            f.samples,
            f.mean_kib / 1024.0,
            f.min_kib as f64 / 1024.0,
            f.max_kib as f64 / 1024.0,
            f.slope_kib_per_min,
            f.pct_per_10_min,
            f.max_deviation_pct,
            if f.within_5_pct() {
                "within ±5 %"
            } else {
                "NOT within ±5 %"
            }
        )),
        None => out.push_str("- too few samples after the warm-up for a slope\n"),
    }
    Ok(SoakOutcome {
        markdown: out,
        flatness: flat,
    })
}

/// The samples in MiB with one decimal, separated by spaces.
pub fn compact(samples: &[RssSample]) -> String {
    samples
        .iter()
        .map(|s| format!("{:.1}", s.rss_kib as f64 / 1024.0))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `lt-bench soak`: prints the samples and the slope.
pub fn run(args: &SoakArgs) -> Result<()> {
    if args.minutes == 0 && !args.quick {
        bail!("--minutes must be at least 1");
    }
    let outcome = measure(&SoakSettings::new(args.minutes, args.quick))?;
    println!("# lt-bench soak\n\n{}", outcome.markdown);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(points: &[(f64, u64)]) -> Vec<RssSample> {
        points
            .iter()
            .map(|&(at_s, rss_kib)| RssSample { at_s, rss_kib })
            .collect()
    }

    #[test]
    fn warm_up_is_twenty_percent_or_thirty_seconds() {
        assert_eq!(SoakSettings::new(30, false).warm_up_s(), 360.0);
        assert_eq!(SoakSettings::new(30, true).warm_up_s(), 30.0);
        assert_eq!(SoakSettings::smoke().warm_up_s(), 10.0);
    }

    #[test]
    fn slope_of_a_straight_line() {
        // 0..=10 minutes, 2000 KiB per minute over 100,000 KiB; the first point is warm-up.
        let points: Vec<(f64, u64)> = (0..=10)
            .map(|m| (m as f64 * 60.0, 100_000 + m * 2_000))
            .collect();
        let mut s = series(&points);
        s[0].rss_kib = 1;
        let f = flatness(&s, 30.0).unwrap();
        assert_eq!(f.samples, 10);
        assert!((f.slope_kib_per_min - 2000.0).abs() < 1e-6);
        assert!((f.mean_kib - 111_000.0).abs() < 1e-6);
        assert!((f.pct_per_10_min - 20_000.0 / 111_000.0 * 100.0).abs() < 1e-6);
        assert!(!f.within_5_pct());
    }

    #[test]
    fn flat_memory_is_within_five_percent() {
        let s = series(&[(40.0, 100), (50.0, 102), (60.0, 98), (70.0, 100)]);
        let f = flatness(&s, 30.0).unwrap();
        assert!(f.slope_kib_per_min.abs() < 10.0);
        assert!((f.max_deviation_pct - 2.0).abs() < 1e-9);
        assert!(f.within_5_pct());
        assert!(flatness(&s, 65.0).is_none());
        assert_eq!(compact(&series(&[(0.0, 1024), (1.0, 1536)])), "1.0 1.5");
    }
}
