//! What can go wrong: a spec Kubernetes would refuse, or a call the API refused. Messages name
//! the object and carry the API's own message; the token is never in them.

use crate::manifest::LAUNCHER_ROLE;

/// A spec Kubernetes would refuse, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SpecError {
    pub field: &'static str,
    pub message: String,
}

/// A launcher call that did not happen.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("generators on Kubernetes: {0}")]
    Spec(#[from] SpecError),
    /// The coordinator's ServiceAccount lacks a right (HTTP 403).
    #[error(
        "{action} {object} in namespace {namespace}: forbidden: {message} (the coordinator's \
         ServiceAccount needs the Role `{LAUNCHER_ROLE}` allowing `{verb}` on `{resource}` in \
         namespace {namespace}; `load-tester k8s manifest` prints it)"
    )]
    Forbidden {
        action: &'static str,
        object: String,
        namespace: String,
        verb: &'static str,
        resource: &'static str,
        message: String,
    },
    /// Any other refusal, with the API's status.
    #[error(
        "{action} {object} in namespace {namespace}: the Kubernetes API answered {code} {reason}: {message}"
    )]
    Api {
        action: &'static str,
        object: String,
        namespace: String,
        code: u16,
        reason: String,
        message: String,
    },
    /// The API could not be reached, or its answer could not be read.
    #[error("{action} {object} in namespace {namespace}: {source}")]
    Client {
        action: &'static str,
        object: String,
        namespace: String,
        #[source]
        source: kube::Error,
    },
    #[error("the Kubernetes API created Job {job} in namespace {namespace} without a uid")]
    MissingUid { job: String, namespace: String },
    /// No usable configuration (in-cluster or kubeconfig).
    #[error("Kubernetes client configuration: {0}")]
    Config(#[source] kube::Error),
}

impl LaunchError {
    /// The HTTP status the API answered, when it answered one.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            LaunchError::Forbidden { .. } => Some(403),
            LaunchError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// One call to the API, to name it in errors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call<'a> {
    /// `creating`, `deleting`, …
    pub action: &'static str,
    /// The RBAC verb it needs.
    pub verb: &'static str,
    /// The RBAC resource (`jobs`, `secrets`).
    pub resource: &'static str,
    /// `Job`, `Secret`.
    pub kind: &'static str,
    pub name: &'a str,
    pub namespace: &'a str,
}

impl Call<'_> {
    pub fn error(&self, e: kube::Error) -> LaunchError {
        let object = format!("{} {}", self.kind, self.name);
        let namespace = self.namespace.to_string();
        match e {
            kube::Error::Api(status) if status.code == 403 => LaunchError::Forbidden {
                action: self.action,
                object,
                namespace,
                verb: self.verb,
                resource: self.resource,
                message: status.message,
            },
            kube::Error::Api(status) => LaunchError::Api {
                action: self.action,
                object,
                namespace,
                code: status.code,
                reason: status.reason,
                message: status.message,
            },
            source => LaunchError::Client {
                action: self.action,
                object,
                namespace,
                source,
            },
        }
    }
}
