//! Sessions run by several generator processes (`load.generators` above 1), over the network
//! protocol of `docs/distributed.md`: the generator listener and its registry, the per-session
//! coordinator that merges the generators' seconds exactly, the files sent in the welcome, and
//! the launchers (local processes, a Kubernetes Job, or generators started elsewhere).

mod coordinator;
mod files;
mod health;
mod kubernetes;
mod launcher;
mod link;
mod listener;
mod merge;
mod registry;
mod report;
mod settings;
mod tls;

pub use files::{FilesError, MAX_WELCOME_FILES_BYTES, WelcomeFiles, welcome_files};
pub use health::{GeneratorHealth, HealthBoard};
pub use kubernetes::{Client as KubernetesClient, delete_left_behind};
pub use launcher::{LaunchRequest, Launched, start};
pub use registry::Registry;
pub use settings::GeneratorSettings;
pub use tls::tls_problem;
