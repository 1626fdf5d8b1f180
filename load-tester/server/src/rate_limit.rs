//! Per-client rate limit on the API: a token bucket per address; over it, 429.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::live_settings::LiveSettings;
use crate::session::lock;

/// Buckets kept before idle ones are forgotten.
const MAX_CLIENTS: usize = 10_000;

/// Token buckets by client address.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// Takes one request's token at `per_second` requests per second per client (bursts of
    /// twice that; 0 turns the limit off); `Err(seconds to wait)` when there is none.
    pub fn take(&self, client: IpAddr, now: Instant, per_second: u32) -> Result<(), f64> {
        if per_second == 0 {
            return Ok(());
        }
        let rate = f64::from(per_second);
        let burst = rate * 2.0;
        let mut buckets = lock(&self.buckets);
        if buckets.len() >= MAX_CLIENTS {
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * rate;
        bucket.tokens = (bucket.tokens + refill).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err((1.0 - bucket.tokens) / rate)
        }
    }
}

/// What the rate limit needs: the buckets and the settings in force (`rate_limit`).
#[derive(Debug, Clone)]
pub struct RateState {
    pub limiter: std::sync::Arc<RateLimiter>,
    pub settings: std::sync::Arc<LiveSettings>,
}

/// Answers 429 to a client over its rate.
pub async fn limit(
    State(app): State<RateState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let per_second = app.settings.get().rate_limit;
    match app.limiter.take(client.ip(), Instant::now(), per_second) {
        Ok(()) => next.run(request).await,
        Err(wait_s) => {
            let retry = wait_s.ceil().max(1.0) as u64;
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "more than {} requests/s from {}; retry in {retry} s (setting `rate_limit`)",
                    per_second,
                    client.ip()
                ),
            )
            .with_details(
                serde_json::json!({ "limit_per_second": per_second, "retry_after_s": retry }),
            )
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
        let limiter = RateLimiter::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..20 {
            assert!(limiter.take(ip, t0, 10).is_ok());
        }
        assert!(limiter.take(ip, t0, 10).is_err());
        assert!(
            limiter.take(other, t0, 10).is_ok(),
            "buckets are per client"
        );
        assert!(
            limiter
                .take(ip, t0 + Duration::from_millis(150), 10)
                .is_ok()
        );
        assert!(RateLimiter::default().take(ip, t0, 0).is_ok());
    }

    #[tokio::test]
    async fn the_layer_alone_answers_429_with_retry_after() {
        use crate::test_support::{call, request};
        let settings = crate::settings::Settings {
            rate_limit: 1,
            ..Default::default()
        };
        let state = RateState {
            limiter: std::sync::Arc::default(),
            settings: std::sync::Arc::new(LiveSettings::new(settings)),
        };
        let app = axum::Router::new()
            .route("/x", axum::routing::get(|| async { "ok" }))
            .layer(axum::middleware::from_fn_with_state(state, limit));
        for _ in 0..2 {
            let (status, _) = call(app.clone(), request("GET", "/x", "10.0.0.1:1", None)).await;
            assert_eq!(status, StatusCode::OK);
        }
        let (status, body) = call(app.clone(), request("GET", "/x", "10.0.0.1:1", None)).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(body["code"], "rate_limited");
        assert_eq!(body["details"]["limit_per_second"], 1);
        let (status, _) = call(app, request("GET", "/x", "10.0.0.2:1", None)).await;
        assert_eq!(status, StatusCode::OK, "another client has its own bucket");
    }
}
