//! The chaos service's dependency: Redis (through a bounded connection pool) or, without a
//! Redis URL, an embedded in-process store with the same commands.
//!
//! Every command runs in a client span (`INCR`, `GET`, `SET`, `PING`), is counted in the
//! request's `query_count`, passes through the dependency fault (down: fails at once, as if the
//! network path were blocked; slow: waits first), and is bounded by [`COMMAND_TIMEOUT`], so a
//! dead or stalled Redis makes requests fail fast instead of piling up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::Instrument;
use tracing::field::Empty;

use super::faults::{DependencyFault, Faults};
use super::redis_store::RedisStore;
use crate::query_counter::QueryCounter;
use crate::service::Service;

/// The bound of every store command, the injected latency of a slow dependency included.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// Which store is in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// A Redis server.
    Redis,
    /// The in-process map.
    Embedded,
}

impl StoreKind {
    /// `redis` or `embedded`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Redis => "redis",
            Self::Embedded => "embedded",
        }
    }
}

/// A store command failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The dependency fault is `down`.
    #[error("{store} is unreachable: the dependency fault is on (state down)")]
    FaultDown {
        /// `redis` or `embedded`.
        store: &'static str,
    },
    /// No answer within the bound.
    #[error("{store} did not answer within {} ms", .after.as_millis())]
    Timeout {
        /// `redis` or `embedded`.
        store: &'static str,
        /// The bound.
        after: Duration,
    },
    /// Connecting or the command failed.
    #[error("{store} failed: {message}")]
    Failed {
        /// `redis` or `embedded`.
        store: &'static str,
        /// The client's message.
        message: String,
    },
}

impl StoreError {
    /// `timeout`, `fault_down` or `failed`.
    pub fn class(&self) -> &'static str {
        match self {
            Self::FaultDown { .. } => "fault_down",
            Self::Timeout { .. } => "timeout",
            Self::Failed { .. } => "failed",
        }
    }
}

#[derive(Debug)]
enum Backend {
    Redis(RedisStore),
    Embedded(Mutex<HashMap<String, String>>),
}

/// The store with the dependency fault applied.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Arc<Backend>,
    faults: Arc<Faults>,
}

impl Store {
    /// The embedded store.
    pub fn embedded(faults: Arc<Faults>) -> Self {
        Self {
            backend: Arc::new(Backend::Embedded(Mutex::new(HashMap::new()))),
            faults,
        }
    }

    /// Redis at `url`, through a pool of at most `pool_size` connections (opened on demand).
    pub fn redis(
        url: &str,
        pool_size: usize,
        faults: Arc<Faults>,
    ) -> Result<Self, super::ChaosError> {
        Ok(Self {
            backend: Arc::new(Backend::Redis(RedisStore::new(url, pool_size)?)),
            faults,
        })
    }

    /// Which store this is.
    pub fn kind(&self) -> StoreKind {
        match &*self.backend {
            Backend::Redis(_) => StoreKind::Redis,
            Backend::Embedded(_) => StoreKind::Embedded,
        }
    }

    /// What `/health` and `/chaos/status` show about the store.
    pub fn describe(&self) -> serde_json::Value {
        let mut out = serde_json::json!({ "kind": self.kind().name() });
        if let Backend::Redis(redis) = &*self.backend {
            out["url"] = redis.url().into();
            out["pool"] = redis.pool_status();
        }
        out
    }

    /// Drops the idle pooled connections (a `down` fault starting: the connections are gone).
    pub fn drop_connections(&self) {
        if let Backend::Redis(redis) = &*self.backend {
            redis.drop_idle();
        }
    }

    /// `INCR key`.
    pub async fn incr(&self, counter: &QueryCounter, key: &str) -> Result<i64, StoreError> {
        self.command(counter, "INCR", key, async {
            match &*self.backend {
                Backend::Redis(redis) => redis.incr(key).await,
                Backend::Embedded(map) => {
                    let mut map = lock(map);
                    let next = map
                        .get(key)
                        .map_or(Ok(0), |v| v.parse::<i64>())
                        .map_err(|_| StoreError::Failed {
                            store: "embedded",
                            message: format!("value of {key} is not an integer"),
                        })?
                        .saturating_add(1);
                    map.insert(key.to_owned(), next.to_string());
                    Ok(next)
                }
            }
        })
        .await
    }

    /// `GET key`.
    pub async fn get(
        &self,
        counter: &QueryCounter,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        self.command(counter, "GET", key, async {
            match &*self.backend {
                Backend::Redis(redis) => redis.get(key).await,
                Backend::Embedded(map) => Ok(lock(map).get(key).cloned()),
            }
        })
        .await
    }

    /// `SET key value`; answers whether the key existed before.
    pub async fn set(
        &self,
        counter: &QueryCounter,
        key: &str,
        value: &str,
    ) -> Result<bool, StoreError> {
        self.command(counter, "SET", key, async {
            match &*self.backend {
                Backend::Redis(redis) => redis.set(key, value).await,
                Backend::Embedded(map) => {
                    Ok(lock(map).insert(key.to_owned(), value.to_owned()).is_some())
                }
            }
        })
        .await
    }

    /// `PING`, bounded by `limit` (for `/health`; not counted as a request's command).
    pub async fn ping(&self, limit: Duration) -> Result<Duration, StoreError> {
        let started = Instant::now();
        let counter = QueryCounter::new(Service::Chaos);
        let run = self.command(&counter, "PING", "", async {
            match &*self.backend {
                Backend::Redis(redis) => redis.ping().await,
                Backend::Embedded(_) => Ok(()),
            }
        });
        match tokio::time::timeout(limit, run).await {
            Ok(result) => result.map(|()| started.elapsed()),
            Err(_) => Err(StoreError::Timeout {
                store: self.kind().name(),
                after: limit,
            }),
        }
    }

    async fn command<T>(
        &self,
        counter: &QueryCounter,
        name: &'static str,
        key: &str,
        run: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        counter.increment();
        let store = self.kind().name();
        let statement = if key.is_empty() {
            name.to_owned()
        } else {
            format!("{name} {key}")
        };
        let span = crate::service_span!(
            Service::Chaos,
            "store.command",
            otel.name = name,
            otel.kind = "client",
            otel.status_code = Empty,
            db.system = store,
            db.operation = name,
            db.statement = statement.as_str(),
            service_name = Service::Chaos.name(),
            chaos.dependency = Empty,
        );
        let faults = self.faults.clone();
        let started = Instant::now();
        let result = async {
            let fault = faults.dependency();
            let timed = tokio::time::timeout(COMMAND_TIMEOUT, async {
                match fault {
                    Some(DependencyFault::Down) => {
                        tracing::Span::current().record("chaos.dependency", "down");
                        return Err(StoreError::FaultDown { store });
                    }
                    Some(DependencyFault::Slow { latency_ms }) => {
                        tracing::Span::current().record("chaos.dependency", "slow");
                        tokio::time::sleep(Duration::from_millis(latency_ms)).await;
                    }
                    None => {}
                }
                run.await
            })
            .await;
            timed.unwrap_or(Err(StoreError::Timeout {
                store,
                after: COMMAND_TIMEOUT,
            }))
        }
        .instrument(span.clone())
        .await;
        counter.timed(name, started.elapsed());
        if let Err(e) = &result {
            span.record("otel.status_code", "ERROR");
            tracing::warn!(parent: &span, command = name, class = e.class(), "store command failed: {e}");
        }
        result
    }
}

fn lock(
    map: &Mutex<HashMap<String, String>>,
) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
    map.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
