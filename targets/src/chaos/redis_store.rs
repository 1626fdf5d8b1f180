//! Redis through `deadpool-redis`: a bounded pool (50 connections, as in the seed) of `redis`
//! multiplexed connections, each with connect and response timeouts, opened on demand and
//! checked with a `PING` when taken from the pool.

use std::time::Duration;

use deadpool_redis::redis::{self, AsyncConnectionConfig};
use deadpool_redis::{Manager, Pool, PoolError, Runtime, Timeouts};

use super::ChaosError;
use super::store::StoreError;

/// Connections the pool opens at most (the seed's `max_connections`).
pub const DEFAULT_POOL_SIZE: usize = 50;

/// Opening a connection gives up after this long.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// A command without an answer for this long fails.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Waiting for a free pooled connection gives up after this long.
const WAIT_TIMEOUT: Duration = Duration::from_secs(1);

const STORE: &str = "redis";

/// A Redis connection pool.
pub struct RedisStore {
    pool: Pool,
    url: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.url)
            .field("pool", &self.pool.status())
            .finish()
    }
}

impl RedisStore {
    /// A pool for `url` (`redis://[user:password@]host[:port][/db]`); connects on first use.
    pub fn new(url: &str, pool_size: usize) -> Result<Self, ChaosError> {
        let redacted = crate::db::redact(url);
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        let manager = Manager::new_with_config(url, config).map_err(|e| ChaosError::RedisUrl {
            url: redacted.clone(),
            message: e.to_string(),
        })?;
        let pool = Pool::builder(manager)
            .max_size(pool_size)
            .timeouts(Timeouts {
                wait: Some(WAIT_TIMEOUT),
                create: Some(CONNECT_TIMEOUT),
                recycle: Some(RESPONSE_TIMEOUT),
            })
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| ChaosError::RedisUrl {
                url: redacted.clone(),
                message: e.to_string(),
            })?;
        Ok(Self {
            pool,
            url: redacted,
        })
    }

    /// The URL, password redacted.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Pool size, open and idle connections, waiting callers.
    pub fn pool_status(&self) -> serde_json::Value {
        let s = self.pool.status();
        serde_json::json!({
            "max_size": s.max_size,
            "open": s.size,
            "idle": s.available,
            "waiting": s.waiting,
        })
    }

    /// Closes every idle connection (busy ones close when they come back broken).
    pub fn drop_idle(&self) {
        self.pool.retain(|_, _| false);
    }

    async fn connection(&self) -> Result<deadpool_redis::Connection, StoreError> {
        self.pool.get().await.map_err(|e| match e {
            PoolError::Timeout(_) => StoreError::Timeout {
                store: STORE,
                after: WAIT_TIMEOUT,
            },
            PoolError::Backend(e) => failed(&e),
            other => StoreError::Failed {
                store: STORE,
                message: other.to_string(),
            },
        })
    }

    /// `INCR key`.
    pub async fn incr(&self, key: &str) -> Result<i64, StoreError> {
        let mut conn = self.connection().await?;
        redis::cmd("INCR")
            .arg(key)
            .query_async(&mut conn)
            .await
            .map_err(|e| failed(&e))
    }

    /// `GET key`.
    pub async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let mut conn = self.connection().await?;
        redis::cmd("GET")
            .arg(key)
            .query_async(&mut conn)
            .await
            .map_err(|e| failed(&e))
    }

    /// `SET key value GET`: answers whether the key existed.
    pub async fn set(&self, key: &str, value: &str) -> Result<bool, StoreError> {
        let mut conn = self.connection().await?;
        let old: Option<String> = redis::cmd("SET")
            .arg(key)
            .arg(value)
            .arg("GET")
            .query_async(&mut conn)
            .await
            .map_err(|e| failed(&e))?;
        Ok(old.is_some())
    }

    /// `PING`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.connection().await?;
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(|e| failed(&e))?;
        Ok(())
    }
}

fn failed(e: &redis::RedisError) -> StoreError {
    if e.is_timeout() {
        StoreError::Timeout {
            store: STORE,
            after: RESPONSE_TIMEOUT,
        }
    } else {
        StoreError::Failed {
            store: STORE,
            message: e.to_string(),
        }
    }
}
