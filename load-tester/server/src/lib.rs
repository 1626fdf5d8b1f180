//! The control server: a long-running axum server that starts, watches, changes and stops
//! load-test sessions, keeps their history in SQLite, streams them over Server-Sent Events and
//! never loses control of a run.
//!
//! Each session runs in its own worker process (see [`supervisor`]); this crate never runs Goose
//! itself, and is the only one that knows HTTP serving, the store's SQLite file and figment.

mod allow_list;
pub mod api;
mod audit;
mod auth;
mod blocking;
mod error;
mod generators;
mod host_check;
mod hub;
mod live_settings;
mod otlp_metrics;
mod panel;
mod process;
mod rate_limit;
mod scenario_env;
mod session;
pub mod settings;
mod state;
mod supervisor;
#[cfg(test)]
mod test_support;
mod time;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use auth::TokenOrigin;
pub use settings::{Flags, ReadAccess, Settings, SettingsError};
pub use supervisor::RecoverCounts;

use crate::allow_list::AllowList;
use crate::auth::Token;
use crate::hub::Hub;
use crate::live_settings::LiveSettings;
use crate::state::{AppState, Shared};
use crate::supervisor::Supervisor;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("data_dir {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] lt_store::StoreError),
    #[error("bind {addr}: {source} (set another with --bind or LT_BIND)")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("serving: {0}")]
    Serve(std::io::Error),
    #[error("OTLP metrics: {0}")]
    OtlpMetrics(#[from] otlp_metrics::EndpointError),
}

/// How to start beyond the settings.
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// The `load-tester` executable that runs workers (`load-tester worker`).
    pub worker_exe: PathBuf,
    /// Make a new API token even if one is stored.
    pub renew_token: bool,
    /// More allowed target hosts (host:port of the bundled targets).
    pub extra_allowed: Vec<String>,
    /// The bundled targets' URLs by name (`ec`, `distributed`, `todo`, `chaos`), for the
    /// `{{ env.EC_URL }}`-style templates of scenarios.
    pub bundled_urls: Vec<(String, String)>,
}

/// A bound server, ready to serve.
pub struct Started {
    pub addr: SocketAddr,
    pub token: TokenOrigin,
    pub recovered: RecoverCounts,
    pub data_dir: PathBuf,
    state: AppState,
    listener: tokio::net::TcpListener,
    /// Where and how often `/metrics`' figures are pushed over OTLP, when asked.
    otlp_metrics: Option<(String, Duration)>,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Opens the store, settles sessions left from a previous run, and binds.
pub async fn start(settings: Settings, options: StartOptions) -> Result<Started, ServerError> {
    let env = |var: &str| std::env::var(var).ok();
    let otlp_metrics = otlp_metrics::endpoint(env)?.map(|url| (url, otlp_metrics::interval(env)));
    let data_dir = prepare_dir(&settings.data_dir)?;
    let store = {
        let path = data_dir.join("load-tester.db");
        tokio::task::spawn_blocking(move || lt_store::Store::open(&path))
            .await
            .map_err(|e| ServerError::Serve(std::io::Error::other(e)))??
    };
    let (token, origin) = Token::load(
        settings.api_token.as_deref(),
        &store,
        options.renew_token,
        time::now_ms(),
    )?;
    let settings = Arc::new(LiveSettings::new(settings));
    let hub = Arc::new(Hub::new(store.clone())?);
    let supervisor = Supervisor::new(
        Arc::clone(&settings),
        store.clone(),
        Arc::clone(&hub),
        options.worker_exe,
        data_dir.clone(),
        scenario_env::ScenarioEnv::new(
            options
                .bundled_urls
                .into_iter()
                .filter_map(|(name, url)| {
                    let var = scenario_env::BUNDLED_URL_VARS
                        .iter()
                        .find(|(n, _)| *n == name)?
                        .1;
                    Some((var.to_string(), url))
                })
                .collect(),
        ),
    );
    let recovered = supervisor.recover().await?;
    let now = settings.get();
    let mut allow = AllowList::new(&now.allowed_targets);
    for extra in &options.extra_allowed {
        allow.allow(extra);
    }
    let listener = tokio::net::TcpListener::bind(now.bind)
        .await
        .map_err(|source| ServerError::Bind {
            addr: now.bind,
            source,
        })?;
    let addr = listener.local_addr().map_err(ServerError::Serve)?;
    let state = AppState::new(Shared {
        limiter: Arc::default(),
        settings,
        store,
        hub,
        supervisor,
        token,
        allow,
        started: Instant::now(),
    });
    Ok(Started {
        addr,
        token: origin,
        recovered,
        data_dir,
        state,
        listener,
        otlp_metrics,
    })
}

impl Started {
    /// Serves until `shutdown` resolves, then stops every session gracefully.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let state = self.state;
        let pruner = tokio::spawn(prune_forever(state.clone()));
        let pusher = self.otlp_metrics.map(|(url, every)| {
            tracing::info!(%url, ?every, "pushing /metrics' figures over OTLP");
            tokio::spawn(otlp_metrics::push_forever(state.clone(), url, every))
        });
        let hosts = host_check::AllowedHosts::new(self.addr, &state.settings.get().allowed_hosts);
        let app = api::router(state.clone()).merge(panel::router()).layer(
            axum::middleware::from_fn_with_state(hosts, host_check::guard),
        );
        let (stopping_tx, mut stopping_rx) = tokio::sync::watch::channel(false);
        let serve = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stopping_tx.send(true);
        });
        // SSE streams never end by themselves; give open connections a moment, then go.
        let result = tokio::select! {
            r = serve => r.map_err(ServerError::Serve),
            _ = async {
                let _ = stopping_rx.wait_for(|s| *s).await;
                tokio::time::sleep(Duration::from_secs(2)).await;
            } => Ok(()),
        };
        pruner.abort();
        if let Some(pusher) = pusher {
            pusher.abort();
        }
        state.supervisor.shutdown().await;
        let store = state.store.clone();
        let _ = tokio::task::spawn_blocking(move || store.flush()).await;
        result
    }
}

fn prepare_dir(dir: &std::path::Path) -> Result<PathBuf, ServerError> {
    let fail = |source| ServerError::DataDir {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir.join("sessions")).map_err(fail)?;
    dir.canonicalize().map_err(fail)
}

/// Applies the retention setting now and every ten minutes.
async fn prune_forever(state: AppState) {
    loop {
        let retention = state.settings.get().retention();
        let cutoff = time::now_ms().saturating_sub(retention.as_millis() as u64);
        match state.db(move |s| s.prune(cutoff)).await {
            Ok(counts) if counts.seconds + counts.events > 0 => {
                tracing::info!(?counts, "pruned per-second data past the retention")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("pruning: {}", e.message),
        }
        tokio::time::sleep(Duration::from_secs(600)).await;
    }
}
