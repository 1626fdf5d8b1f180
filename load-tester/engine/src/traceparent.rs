//! W3C trace context for each request: a fresh, sampled trace per request, or for each step of a
//! flow's iteration the iteration's one trace with a span id of its own.

use http::HeaderValue;
use rand::Rng;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A new `traceparent` value (`00-<32 hex trace id>-<16 hex span id>-01`), its trace id and its
/// span id (the parent the target's span continues; a client span, if one is made, takes it).
pub fn new_traceparent(rng: &mut impl Rng) -> (HeaderValue, TraceId, u64) {
    traceparent_in(new_trace_id(rng), rng)
}

/// A random, non-zero trace id.
pub fn new_trace_id(rng: &mut impl Rng) -> u128 {
    let trace: u128 = rng.random();
    trace.max(1)
}

/// A `traceparent` in the trace `trace`, with a new span id.
pub fn traceparent_in(trace: u128, rng: &mut impl Rng) -> (HeaderValue, TraceId, u64) {
    let mut span: u64 = rng.random();
    if span == 0 {
        span = 1;
    }
    let mut buf = [0u8; 55];
    buf[..3].copy_from_slice(b"00-");
    write_hex(&mut buf[3..35], trace);
    buf[35] = b'-';
    write_hex(&mut buf[36..52], u128::from(span));
    buf[52..].copy_from_slice(b"-01");
    // Only ASCII hex and dashes: always a valid header value.
    let value = HeaderValue::from_bytes(&buf).unwrap_or_else(|_| HeaderValue::from_static("00"));
    (value, TraceId(trace), span)
}

fn write_hex(out: &mut [u8], mut value: u128) {
    for slot in out.iter_mut().rev() {
        *slot = HEX[(value & 0xf) as usize];
        value >>= 4;
    }
}

/// A trace id, kept compactly and shown as 32 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceId(pub u128);

impl std::fmt::Display for TraceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_w3c_format_and_unique() {
        let mut rng = rand::rng();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let (value, id, span) = new_traceparent(&mut rng);
            let text = value.to_str().unwrap();
            let parts: Vec<&str> = text.split('-').collect();
            assert_eq!(parts.len(), 4, "{text}");
            assert_eq!(parts[0], "00");
            assert_eq!(parts[1], id.to_string());
            assert_eq!(parts[1].len(), 32);
            assert_eq!(parts[2], format!("{span:016x}"));
            assert_eq!(parts[3], "01");
            assert_ne!(parts[1], "0".repeat(32));
            assert!(seen.insert(parts[1].to_string()));
        }
    }
}
