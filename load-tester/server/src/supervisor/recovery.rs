//! A restarted server's first look at the sessions the store says were running: re-attach to
//! workers that are still alive, end the rest `interrupted`, and delete the Kubernetes Jobs of
//! those that ran there.

use std::sync::Arc;

use lt_kube::LauncherKind;
use tokio::net::UnixStream;

use super::{KILL_LIMIT, Link, Supervisor};
use crate::blocking::off_runtime;
use crate::process::{is_worker_alive, kill_group, wait_gone};
use crate::session::{LiveSession, Status, lock};
use crate::time::now_ms;

/// What [`Supervisor::recover`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RecoverCounts {
    pub reattached: usize,
    pub interrupted: usize,
}

impl Supervisor {
    /// Finds sessions the store says were running: re-attaches to live workers, ends the rest
    /// `interrupted` (killing any orphan).
    pub async fn recover(self: &Arc<Self>) -> Result<RecoverCounts, lt_store::StoreError> {
        let mut counts = RecoverCounts::default();
        // Sessions whose generators ran as a Kubernetes Job the old server created.
        let mut jobs_left = Vec::new();
        let on_kubernetes = self.settings.get().generators.launcher == LauncherKind::Kubernetes;
        for row in off_runtime(|| self.store.unfinished_sessions())? {
            let pid = row.worker_pid.unwrap_or(0);
            let link = match (&row.worker_socket, pid) {
                (Some(socket), pid) if pid > 0 && is_worker_alive(pid) => {
                    UnixStream::connect(socket)
                        .await
                        .ok()
                        .map(|s| Box::new(s) as Link)
                }
                _ => None,
            };
            let dir = self.session_dir(&row.id);
            if let Some(stream) = link {
                let status = Status::parse(&row.status).unwrap_or(Status::Running);
                let (session, ends) =
                    LiveSession::new(row.id.clone(), pid, dir, &row.config, status);
                let session = Arc::new(session);
                lock(&self.sessions).insert(row.id.clone(), Arc::clone(&session));
                let me = Arc::clone(self);
                tokio::spawn(async move { me.drive(session, None, Ok(stream), ends).await });
                tracing::info!(session = %row.id, pid, "re-attached to a running worker");
                counts.reattached += 1;
            } else {
                let reason = if pid > 0 && is_worker_alive(pid) {
                    kill_group(pid);
                    wait_gone(pid, KILL_LIMIT).await;
                    "the control server restarted and the worker could not be reached; it was killed"
                } else {
                    "the control server restarted and the worker was gone"
                };
                off_runtime(|| {
                    self.store.finish_session(
                        &row.id,
                        Status::Interrupted.as_str(),
                        Some(reason),
                        now_ms(),
                        None,
                    )
                })?;
                self.publish_lifecycle(&row.id, Status::Interrupted, Some(reason.to_string()));
                tracing::warn!(session = %row.id, "{reason}");
                counts.interrupted += 1;
                if on_kubernetes && row.config["load"]["generators"].as_u64().unwrap_or(1) > 1 {
                    jobs_left.push(row.id.clone());
                }
            }
        }
        if !jobs_left.is_empty() {
            let me = Arc::clone(self);
            tokio::spawn(async move {
                let settings = me.settings.get().generators.clone();
                crate::generators::delete_left_behind(&me.kubernetes, &settings, &jobs_left).await;
            });
        }
        Ok(counts)
    }
}
