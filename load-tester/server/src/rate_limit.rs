//! Per-client rate limit on the API: a token bucket per address; over it, 429.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::AppState;
use crate::error::ApiError;
use crate::session::lock;

/// Buckets kept before idle ones are forgotten.
const MAX_CLIENTS: usize = 10_000;

/// Token buckets by client address.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// `per_second` requests per second per client, bursts of twice that; 0 turns it off.
    pub fn new(per_second: u32) -> RateLimiter {
        RateLimiter {
            per_second: f64::from(per_second),
            burst: f64::from(per_second) * 2.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request's token; `Err(seconds to wait)` when there is none.
    pub fn take(&self, client: IpAddr, now: Instant) -> Result<(), f64> {
        if self.per_second <= 0.0 {
            return Ok(());
        }
        let mut buckets = lock(&self.buckets);
        if buckets.len() >= MAX_CLIENTS {
            let burst = self.burst;
            let rate = self.per_second;
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * self.per_second;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err((1.0 - bucket.tokens) / self.per_second)
        }
    }
}

/// Answers 429 to a client over its rate.
pub async fn limit(
    State(app): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    match app.limiter.take(client.ip(), Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(wait_s) => {
            let retry = wait_s.ceil().max(1.0) as u64;
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "more than {} requests/s from {}; retry in {retry} s (setting `rate_limit`)",
                    app.settings.rate_limit,
                    client.ip()
                ),
            )
            .with_details(serde_json::json!({ "limit_per_second": app.settings.rate_limit, "retry_after_s": retry }))
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&retry.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_the_rate() {
        let limiter = RateLimiter::new(10);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..20 {
            assert!(limiter.take(ip, t0).is_ok());
        }
        assert!(limiter.take(ip, t0).is_err());
        assert!(limiter.take(other, t0).is_ok(), "buckets are per client");
        assert!(limiter.take(ip, t0 + Duration::from_millis(150)).is_ok());
        assert!(RateLimiter::new(0).take(ip, t0).is_ok());
    }
}
