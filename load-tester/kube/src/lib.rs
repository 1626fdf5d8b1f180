//! Generators as a Kubernetes Indexed Job (see `docs/distributed.md`, "Launchers"): the objects
//! a session needs (`manifest`), printed as YAML for people who apply them themselves (`yaml`),
//! and the launcher that creates and deletes them through the Kubernetes API (`launcher`).
//! Knows Kubernetes and nothing of the control server.

mod error;
mod labels;
mod launcher;
mod manifest;
mod names;
mod pods;
mod settings;
mod spec;
mod yaml;

pub use error::{LaunchError, SpecError};
pub use labels::{SESSION_LABEL, labels};
pub use launcher::{JobHandle, KubernetesLauncher};
pub use manifest::{
    CA_FILE_ENV, CA_KEY, CA_MOUNT, EXTERNAL_TOKEN_SECRET, LAUNCHER_ROLE, Manifests,
    SERVICE_ACCOUNT, SESSION_ENV, TOKEN_ENV, TOKEN_KEY, coordinator_access, generator_job,
    generator_service, session_job, token_secret,
};
pub use pods::GeneratorPods;
pub use settings::{KubernetesSettings, LauncherKind};
pub use spec::{
    CoordinatorTls, DEFAULT_GENERATOR_PORT, DEFAULT_NAMESPACE, DEFAULT_TTL_SECONDS,
    GENERATOR_SERVICE, GeneratorSpec, Quantities, Resources, default_coordinator_url,
    default_image,
};
pub use yaml::{secret_instructions, to_yaml_documents};

/// The Kubernetes API types this crate builds (the one API version the workspace selects).
pub use k8s_openapi;
/// The Kubernetes client (for building a [`kube::Client`] from a [`kube::Config`]).
pub use kube;
