//! What the server's handlers and layers share, and the part each layer takes of it.
//!
//! A leaf: the layers (`auth`, `rate_limit`, `audit`) define the state they need and know
//! nothing of this module or of the API; [`FromRef`] hands each its part, so every layer can be
//! tested alone with its own small state.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::FromRef;
use lt_store::Store;

use crate::allow_list::AllowList;
use crate::auth::{AuthState, Token};
use crate::error::ApiError;
use crate::hub::Hub;
use crate::live_settings::LiveSettings;
use crate::rate_limit::{RateLimiter, RateState};
use crate::supervisor::Supervisor;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

#[derive(Debug)]
pub struct Shared {
    pub settings: Arc<LiveSettings>,
    pub store: Store,
    pub hub: Arc<Hub>,
    pub supervisor: Arc<Supervisor>,
    pub token: Token,
    pub allow: AllowList,
    pub limiter: Arc<RateLimiter>,
    pub started: Instant,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }

    /// Runs a blocking store call off the async threads.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, lt_store::StoreError> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| ApiError::internal("a store task", e))?
            .map_err(ApiError::from)
    }
}

impl FromRef<AppState> for AuthState {
    fn from_ref(app: &AppState) -> AuthState {
        AuthState {
            token: app.token.clone(),
            settings: Arc::clone(&app.settings),
        }
    }
}

impl FromRef<AppState> for RateState {
    fn from_ref(app: &AppState) -> RateState {
        RateState {
            limiter: Arc::clone(&app.limiter),
            settings: Arc::clone(&app.settings),
        }
    }
}
