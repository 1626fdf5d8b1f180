//! The Kubernetes launcher: creates a session's Secret and Indexed Job through the API, reads
//! the Job's pod counts, and deletes the Job (and with it, by owner reference, the pods and the
//! Secret).

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, PropagationPolicy};
use kube::{Api, Client};

use crate::error::{Call, LaunchError};
use crate::manifest::{owner_reference, session_job, token_secret};
use crate::pods::GeneratorPods;
use crate::spec::GeneratorSpec;

/// Launches generators as Indexed Jobs with one client (in-cluster: the coordinator's
/// ServiceAccount).
#[derive(Clone)]
pub struct KubernetesLauncher {
    client: Client,
}

impl std::fmt::Debug for KubernetesLauncher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubernetesLauncher").finish_non_exhaustive()
    }
}

/// What a launch created, to read and delete it later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobHandle {
    pub namespace: String,
    pub job: String,
    pub secret: String,
    /// The Job's uid (the Secret's owner).
    pub uid: String,
}

impl KubernetesLauncher {
    pub fn new(client: Client) -> KubernetesLauncher {
        KubernetesLauncher { client }
    }

    /// A launcher with the client the environment configures: the kubeconfig (`KUBECONFIG`,
    /// `~/.kube/config`) when there is one, else the pod's ServiceAccount inside a cluster.
    pub async fn from_environment() -> Result<KubernetesLauncher, LaunchError> {
        let client = Client::try_default().await.map_err(LaunchError::Config)?;
        Ok(KubernetesLauncher::new(client))
    }

    /// Creates the Secret holding `token`, then the Job, then makes the Job the Secret's owner.
    /// On a failure part way, what was created is deleted again.
    pub async fn launch(
        &self,
        spec: &GeneratorSpec,
        token: &str,
    ) -> Result<JobHandle, LaunchError> {
        spec.check()?;
        if token.trim().is_empty() {
            return Err(LaunchError::Spec(crate::error::SpecError {
                field: "token",
                message: "is empty".into(),
            }));
        }
        let namespace = spec.namespace.as_str();
        let (job_name, secret_name) = (spec.job_name(), spec.secret_name());
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let jobs: Api<Job> = Api::namespaced(self.client.clone(), namespace);
        let secret_call = |action, verb| Call {
            action,
            verb,
            resource: "secrets",
            kind: "Secret",
            name: &secret_name,
            namespace,
        };
        let job_call = |action, verb| Call {
            action,
            verb,
            resource: "jobs",
            kind: "Job",
            name: &job_name,
            namespace,
        };

        secrets
            .create(&PostParams::default(), &token_secret(spec, token, None))
            .await
            .map_err(|e| secret_call("creating", "create").error(e))?;
        let job = match jobs
            .create(&PostParams::default(), &session_job(spec))
            .await
        {
            Ok(job) => job,
            Err(e) => {
                let error = job_call("creating", "create").error(e);
                self.delete_secret(namespace, &secret_name).await;
                return Err(error);
            }
        };
        let handle = JobHandle {
            namespace: namespace.to_string(),
            job: job_name.clone(),
            secret: secret_name.clone(),
            uid: job.metadata.uid.clone().unwrap_or_default(),
        };
        let Some(owner) = owner_reference(&job) else {
            self.undo(&handle).await;
            return Err(LaunchError::MissingUid {
                job: job_name,
                namespace: namespace.to_string(),
            });
        };
        let patch = serde_json::json!({ "metadata": { "ownerReferences": [owner] } });
        if let Err(e) = secrets
            .patch(&secret_name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            let error = secret_call("making Job the owner of", "patch").error(e);
            self.undo(&handle).await;
            return Err(error);
        }
        tracing::info!(
            namespace,
            job = %job_name,
            generators = spec.generators,
            "generators launched as an Indexed Job"
        );
        Ok(handle)
    }

    /// Deletes the Job at once (`propagationPolicy: Foreground`, grace period 0): its pods and
    /// the Secret go with it. A Job already gone is not an error.
    pub async fn delete(&self, handle: &JobHandle) -> Result<(), LaunchError> {
        self.delete_job(&handle.namespace, &handle.job).await
    }

    /// Deletes the Job `name` in `namespace` as [`KubernetesLauncher::delete`] does, for a Job
    /// known by name only (one a previous run of the server created).
    pub async fn delete_job(&self, namespace: &str, name: &str) -> Result<(), LaunchError> {
        let jobs: Api<Job> = Api::namespaced(self.client.clone(), namespace);
        let params = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Foreground),
            grace_period_seconds: Some(0),
            ..DeleteParams::default()
        };
        match jobs.delete(name, &params).await {
            Ok(_) => {
                tracing::info!(namespace, job = name, "generators' Job deleted");
                Ok(())
            }
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(e) => Err(Call {
                action: "deleting",
                verb: "delete",
                resource: "jobs",
                kind: "Job",
                name,
                namespace,
            }
            .error(e)),
        }
    }

    /// The Job's pod counts and outcome.
    pub async fn pods(&self, handle: &JobHandle) -> Result<GeneratorPods, LaunchError> {
        let jobs: Api<Job> = Api::namespaced(self.client.clone(), &handle.namespace);
        let job = jobs.get(&handle.job).await.map_err(|e| {
            Call {
                action: "reading",
                verb: "get",
                resource: "jobs",
                kind: "Job",
                name: &handle.job,
                namespace: &handle.namespace,
            }
            .error(e)
        })?;
        Ok(GeneratorPods::from_job(&job))
    }

    /// Deletes what a failed launch created (best effort: the failure is the error reported).
    async fn undo(&self, handle: &JobHandle) {
        if let Err(e) = self.delete(handle).await {
            tracing::warn!(error = %e, "could not delete the Job of a failed launch");
        }
        self.delete_secret(&handle.namespace, &handle.secret).await;
    }

    async fn delete_secret(&self, namespace: &str, name: &str) {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        match secrets.delete(name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(e) => tracing::warn!(
                error = %Call {
                    action: "deleting",
                    verb: "delete",
                    resource: "secrets",
                    kind: "Secret",
                    name,
                    namespace,
                }
                .error(e),
                "could not delete the Secret of a failed launch"
            ),
        }
    }
}
