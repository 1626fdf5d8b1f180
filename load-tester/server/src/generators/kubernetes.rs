//! The Kubernetes launcher as the coordinator uses it: one client for the server (built at the
//! first session that needs it), a session's Indexed Job created through it, read for the pods'
//! state while generators join, and deleted when the session ends in any way.

use std::time::Duration;

use lt_kube::{JobHandle, KubernetesLauncher, LaunchError};
use tokio::sync::OnceCell;

use super::settings::GeneratorSettings;

/// How long reading the Job's pods may take before a message goes without them.
const READ_LIMIT: Duration = Duration::from_secs(5);
/// How long the end of a session waits for the Job's deletion (it goes on in the background
/// after that, and its failure is logged).
const DELETE_LIMIT: Duration = Duration::from_secs(10);

/// The server's Kubernetes client: none until a session asks for it; a failure to build it is
/// not kept (the next session tries again).
pub type Client = OnceCell<KubernetesLauncher>;

/// A session's Job, from its launch to its deletion.
#[derive(Debug)]
pub struct Job {
    launcher: KubernetesLauncher,
    handle: JobHandle,
    /// Whether its deletion was asked for already.
    deleting: bool,
}

/// Creates session `session`'s Secret and Indexed Job of `count` generators holding `token`.
/// The error names the Kubernetes call that failed; nothing is left behind then.
pub async fn launch(
    client: &Client,
    settings: &GeneratorSettings,
    session: &str,
    count: u32,
    token: &str,
) -> Result<Job, String> {
    let launcher = client
        .get_or_try_init(KubernetesLauncher::from_environment)
        .await
        .map_err(describe)?
        .clone();
    let spec = settings
        .kubernetes
        .spec(session, count, coordinator_tls(settings)?);
    let handle = launcher.launch(&spec, token).await.map_err(describe)?;
    Ok(Job {
        launcher,
        handle,
        deleting: false,
    })
}

/// Deletes the Jobs of `sessions`, which ended `interrupted` when the server restarted: their
/// coordinator went with the old server, so nothing else would delete them (their generators
/// exit by themselves within `orphan_after`). Each Job is named as [`launch`] named it, in the
/// configured namespace; one already gone is not an error, a failure is logged.
pub async fn delete_left_behind(
    client: &Client,
    settings: &GeneratorSettings,
    sessions: &[String],
) {
    let launcher = match client
        .get_or_try_init(KubernetesLauncher::from_environment)
        .await
    {
        Ok(launcher) => launcher,
        Err(e) => {
            tracing::error!(
                "the Jobs of {} interrupted session(s) could not be deleted: {}",
                sessions.len(),
                describe(e)
            );
            return;
        }
    };
    for session in sessions {
        let spec = settings.kubernetes.spec(session, 1, None);
        let job = spec.job_name();
        match tokio::time::timeout(DELETE_LIMIT, launcher.delete_job(&spec.namespace, &job)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(%session, %job, "the interrupted session's Job could not be deleted: {e}")
            }
            Err(_) => {
                tracing::error!(%session, %job, "deleting the interrupted session's Job took longer than {DELETE_LIMIT:?}")
            }
        }
    }
}

/// TLS as the pods dial it: on when the listener speaks TLS, with `generators.tls.ca_file`'s
/// authorities (read now; it was checked when the server started).
fn coordinator_tls(
    settings: &GeneratorSettings,
) -> Result<Option<lt_kube::CoordinatorTls>, String> {
    let tls = &settings.tls;
    if !tls.is_on() {
        return Ok(None);
    }
    let ca_pem = match &tls.ca_file {
        Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
            format!(
                "setting `generators.tls.ca_file`: {} cannot be read: {e}",
                path.display()
            )
        })?),
        None => None,
    };
    Ok(Some(lt_kube::CoordinatorTls { ca_pem }))
}

/// A launcher error as the start's error (a spec error names the launcher already).
fn describe(e: LaunchError) -> String {
    match e {
        LaunchError::Spec(_) => e.to_string(),
        _ => format!("generators on Kubernetes: {e}"),
    }
}

impl Job {
    /// `job lt-… pods: 3 asked: 1 ready, …`, or why they could not be read.
    pub async fn describe_pods(&self) -> String {
        let name = &self.handle.job;
        match tokio::time::timeout(READ_LIMIT, self.launcher.pods(&self.handle)).await {
            Ok(Ok(pods)) => format!("job {name} pods: {pods}"),
            Ok(Err(e)) => format!("job {name} pods could not be read: {e}"),
            Err(_) => format!("job {name} pods could not be read within {READ_LIMIT:?}"),
        }
    }

    /// Whether a generator pod (or the Job) failed, and the pods' state; `None` when the Job
    /// cannot be read (a passing API problem is not a session's failure).
    pub async fn failed_pods(&self) -> Option<String> {
        let pods = tokio::time::timeout(READ_LIMIT, self.launcher.pods(&self.handle))
            .await
            .ok()?
            .ok()?;
        pods.has_failed()
            .then(|| format!("job {} pods: {pods}", self.handle.job))
    }

    /// Deletes the Job (and with it its pods and the Secret) in the background: emergency stop
    /// never waits on the API. A failure is logged.
    pub fn delete_in_background(&mut self) -> Option<tokio::task::JoinHandle<()>> {
        if self.deleting {
            return None;
        }
        self.deleting = true;
        let (launcher, handle) = (self.launcher.clone(), self.handle.clone());
        Some(tokio::spawn(async move {
            if let Err(e) = launcher.delete(&handle).await {
                tracing::error!(
                    namespace = %handle.namespace,
                    job = %handle.job,
                    "the generators' Job could not be deleted: {e}"
                );
            }
        }))
    }

    /// Deletes the Job at a session's end, waiting for it up to a bound.
    pub async fn delete(&mut self) {
        if let Some(task) = self.delete_in_background()
            && tokio::time::timeout(DELETE_LIMIT, task).await.is_err()
        {
            tracing::warn!(
                job = %self.handle.job,
                "deleting the generators' Job takes longer than {DELETE_LIMIT:?}; it goes on in \
                 the background"
            );
        }
    }
}
