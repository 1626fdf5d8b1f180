//! The async runtime each command runs in, and the signal that stops it.

use std::future::Future;
use std::time::Duration;

use lt_engine::EngineHandle;

use crate::exit;

/// Runs `main` on a multi-threaded runtime and returns its exit code. Goose leaves blocking tasks
/// behind (its logger, its Ctrl-C thread), so the runtime is not waited for beyond a moment;
/// `main` itself must finish what matters (the server awaits its store's last flush).
pub fn block_on(main: impl Future<Output = u8>) -> u8 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::FAILED;
        }
    };
    let code = runtime.block_on(main);
    runtime.shutdown_timeout(Duration::from_millis(200));
    code
}

/// Resolves on SIGTERM (never, if it cannot be watched).
pub async fn sigterm() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            term.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

/// Stops the run gracefully on SIGTERM (Goose handles SIGINT itself; the engine notices through
/// its killswitch). Abort the task once the run is over: it holds a handle.
pub fn stop_on_sigterm(handle: &EngineHandle) -> tokio::task::JoinHandle<()> {
    let handle = handle.clone();
    tokio::spawn(async move {
        sigterm().await;
        handle.stop("signal (SIGTERM)");
    })
}

/// This process's environment variables (those with UTF-8 names and values), for a scenario's
/// `{{ env.NAME }}` templates; never a generator's join token ([`lt_kube::TOKEN_ENV`]), which
/// no scenario may send anywhere.
pub fn process_env() -> lt_scenario::Env {
    lt_scenario::Env::from_vars(
        std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .filter(|(name, _)| name != lt_kube::TOKEN_ENV),
    )
}

/// Data files beside the scenario file `path` (its folder).
pub fn data_beside(path: &std::path::Path) -> lt_scenario::data_folder::DataFolder {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    lt_scenario::data_folder::DataFolder::beside(dir)
}
