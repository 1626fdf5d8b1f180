//! PostgreSQL connection options.

use std::str::FromStr;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::error::{OpenError, redact};

/// Connects to the PostgreSQL server of `url`, failing within a few seconds when it is down.
pub async fn connect(url: &str) -> Result<PgPool, OpenError> {
    let options = PgConnectOptions::from_str(url).map_err(|source| OpenError::BadUrl {
        url: redact(url),
        source,
    })?;
    PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(|source| OpenError::Connect {
            url: redact(url),
            source,
        })
}
