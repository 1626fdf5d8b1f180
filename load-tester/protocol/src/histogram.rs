//! Latency histograms: HDR, mergeable, bounded in memory however long the run.
//!
//! Values are recorded in microseconds with two significant digits (1 % precision) up to one
//! hour; a larger value is clamped to the maximum. One histogram takes about 25 KB. A generator
//! sends its seconds' histograms whole ([`LatencyHistogram::encode`], HdrHistogram's V2
//! encoding in base64) so a coordinator adds them up exactly: the same bounds everywhere.

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};

use crate::Latency;

/// The longest encoded histogram a reader accepts (a full one is far smaller).
const MAX_ENCODED: usize = 1 << 20;

/// Why an encoded histogram could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistogramError(pub String);

impl std::fmt::Display for HistogramError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a latency histogram could not be read: {}", self.0)
    }
}

impl std::error::Error for HistogramError {}

const MAX_MICROS: u64 = 3_600_000_000;
const SIGNIFICANT_DIGITS: u8 = 2;

/// A latency histogram in microseconds.
#[derive(Clone)]
pub struct LatencyHistogram {
    inner: Histogram<u64>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatencyHistogram")
            .field("count", &self.count())
            .finish()
    }
}

impl LatencyHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        // The bounds are constants that hdrhistogram accepts, so this cannot fail.
        let inner =
            Histogram::new_with_bounds(1, MAX_MICROS, SIGNIFICANT_DIGITS).unwrap_or_else(|_| {
                Histogram::new(SIGNIFICANT_DIGITS).unwrap_or_else(|_| unreachable!())
            });
        LatencyHistogram { inner }
    }

    /// Records one latency in microseconds.
    pub fn record(&mut self, micros: u64) {
        self.inner.saturating_record(micros.clamp(1, MAX_MICROS));
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.inner.add(&other.inner);
    }

    /// Adds every value of `other` the way HdrHistogram's `record_correct` would have recorded
    /// it: a value above `interval_us` also adds `value - k × interval_us` for each k ≥ 1 while
    /// that is at least `interval_us` (the requests a stalled user would have sent).
    pub fn merge_corrected(&mut self, other: &LatencyHistogram, interval_us: u64) {
        // Same bounds on both sides and every added value is below `other`'s: cannot fail.
        let _ = self.inner.add_correct(&other.inner, interval_us);
    }

    /// The histogram whole: HdrHistogram's V2 encoding (counts run-length and varint coded), in
    /// base64 (standard alphabet, padded).
    pub fn encode(&self) -> String {
        let mut bytes = Vec::new();
        // Writing to a Vec cannot fail, and our bounds are within what V2 encodes.
        let _ = V2Serializer::new().serialize(&self.inner, &mut bytes);
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// Reads what [`LatencyHistogram::encode`] wrote; values outside our bounds are refused, so
    /// every histogram that is merged has the same bounds and precision.
    pub fn decode(text: &str) -> Result<LatencyHistogram, HistogramError> {
        if text.len() > MAX_ENCODED {
            return Err(HistogramError(format!(
                "{} bytes, more than {MAX_ENCODED}",
                text.len()
            )));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| HistogramError(format!("not base64: {e}")))?;
        let read: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| HistogramError(format!("{e:?}")))?;
        let mut out = LatencyHistogram::new();
        out.inner
            .add(&read)
            .map_err(|e| HistogramError(format!("values outside 1 µs to 1 h: {e:?}")))?;
        Ok(out)
    }

    /// Empties the histogram, keeping its memory.
    pub fn reset(&mut self) {
        self.inner.reset();
    }

    /// How many values.
    pub fn count(&self) -> u64 {
        self.inner.len()
    }

    /// The value at quantile `q` (0..=1), in milliseconds; 0 when empty.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.inner.is_empty() {
            return 0.0;
        }
        self.inner.value_at_quantile(q) as f64 / 1000.0
    }

    /// How many values are at or under each of `bounds_s` (seconds, ascending); empty when the
    /// histogram is.
    pub fn cumulative_counts(&self, bounds_s: &[f64]) -> Vec<u64> {
        if self.inner.is_empty() {
            return Vec::new();
        }
        bounds_s
            .iter()
            .map(|bound| {
                let micros = (bound * 1e6) as u64;
                self.inner.count_between(0, micros.min(MAX_MICROS))
            })
            .collect()
    }

    /// The usual figures, in milliseconds.
    pub fn latency(&self) -> Latency {
        if self.inner.is_empty() {
            return Latency::default();
        }
        Latency {
            p50: self.quantile_ms(0.50),
            p90: self.quantile_ms(0.90),
            p95: self.quantile_ms(0.95),
            p99: self.quantile_ms(0.99),
            max: self.inner.max() as f64 / 1000.0,
            avg: self.inner.mean() / 1000.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_within_one_percent_and_merge_is_exact() {
        let mut a = LatencyHistogram::new();
        let mut b = LatencyHistogram::new();
        for i in 1..=1000u64 {
            if i % 2 == 0 {
                a.record(i * 1000);
            } else {
                b.record(i * 1000);
            }
        }
        a.merge(&b);
        assert_eq!(a.count(), 1000);
        let l = a.latency();
        assert!((l.p50 - 500.0).abs() <= 5.0, "{l:?}");
        assert!((l.p99 - 990.0).abs() <= 10.0, "{l:?}");
        assert!((l.max - 1000.0).abs() <= 10.0, "{l:?}");
    }

    #[test]
    fn cumulative_counts_follow_the_bounds() {
        let mut h = LatencyHistogram::new();
        assert!(h.cumulative_counts(&[0.01]).is_empty());
        for micros in [500, 4_000, 9_000, 20_000, 2_000_000] {
            h.record(micros);
        }
        assert_eq!(
            h.cumulative_counts(&[0.001, 0.01, 0.1, 1.0, 5.0]),
            vec![1, 3, 4, 4, 5]
        );
    }

    #[test]
    fn encoding_round_trips_exactly() {
        let mut h = LatencyHistogram::new();
        for micros in [1, 999, 1_000, 12_345, 2_000_000, MAX_MICROS] {
            h.record(micros);
        }
        let back = LatencyHistogram::decode(&h.encode()).unwrap();
        assert_eq!(back.count(), h.count());
        assert_eq!(back.latency(), h.latency());
        assert_eq!(
            back.cumulative_counts(&[0.001, 0.01, 1.0, 10.0]),
            h.cumulative_counts(&[0.001, 0.01, 1.0, 10.0])
        );
        let empty = LatencyHistogram::decode(&LatencyHistogram::new().encode()).unwrap();
        assert_eq!(empty.count(), 0);
        assert!(LatencyHistogram::decode("not base64!").is_err());
        assert!(LatencyHistogram::decode("AAAA").is_err());
    }

    #[test]
    fn huge_values_are_clamped_not_lost() {
        let mut h = LatencyHistogram::new();
        h.record(u64::MAX);
        h.record(0);
        assert_eq!(h.count(), 2);
    }
}
