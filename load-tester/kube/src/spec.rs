//! What a session's generators on Kubernetes are: how many, where, from which image, dialling
//! which coordinator.

use crate::error::SpecError;
use crate::names::{dns_label, is_dns_label};

/// The namespace used when none is configured.
pub const DEFAULT_NAMESPACE: &str = "load-tester";
/// The coordinator's generator listener port (`generators.bind`'s default port).
pub const DEFAULT_GENERATOR_PORT: u16 = 8081;
/// Seconds a finished Job (and its pods' logs) stays before Kubernetes removes it.
pub const DEFAULT_TTL_SECONDS: i32 = 3600;
/// The Service in front of the coordinator's generator listener.
pub const GENERATOR_SERVICE: &str = "load-tester-generators";

/// The lab's image (`Dockerfile`, tagged as in `docker-compose.yml`), of this version.
pub fn default_image() -> String {
    format!("load-tester-lab:{}", env!("CARGO_PKG_VERSION"))
}

/// The generator listener as seen from the generators' pods: the Service in `namespace`,
/// `tls://` when the listener speaks TLS.
pub fn default_coordinator_url(namespace: &str, tls: bool) -> String {
    let scheme = if tls { "tls" } else { "tcp" };
    format!("{scheme}://{GENERATOR_SERVICE}.{namespace}.svc:{DEFAULT_GENERATOR_PORT}")
}

/// TLS from the generators to the coordinator (the listener's `[generators.tls]`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CoordinatorTls {
    /// Certificate authorities (PEM) the generators trust besides their system's: carried in
    /// the session's Secret under `ca.crt` and mounted into every pod. `None`: the system's
    /// only.
    pub ca_pem: Option<String>,
}

/// One session's generators on Kubernetes.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratorSpec {
    /// The session id (or, for printed manifests, the scenario's name): names the Job and the
    /// Secret, and is the value of the session label.
    pub session: String,
    /// Generators, N: the Job's completions and parallelism; pod *i* runs segment *i* of N.
    pub generators: u32,
    pub namespace: String,
    /// The image the pods run (it has `load-tester` on its path).
    pub image: String,
    /// What generators dial: `load-tester worker --connect URL`.
    pub coordinator_url: String,
    /// `Some` when the coordinator's generator listener speaks TLS.
    pub tls: Option<CoordinatorTls>,
    /// The Secret holding the token; default `<job name>-token`.
    pub secret_name: Option<String>,
    /// Each generator pod's CPU and memory requests and limits.
    pub resources: Option<Resources>,
    /// Seconds a finished Job stays (`ttlSecondsAfterFinished`).
    pub ttl_seconds_after_finished: i32,
}

/// Requests and limits of a generator container.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    pub requests: Quantities,
    pub limits: Quantities,
}

/// Kubernetes quantities, as written in manifests (`500m`, `1`, `256Mi`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Quantities {
    pub cpu: Option<String>,
    pub memory: Option<String>,
}

impl GeneratorSpec {
    /// `generators` generators of `session` in the default namespace, from the default image,
    /// dialling the default Service.
    pub fn new(session: impl Into<String>, generators: u32) -> GeneratorSpec {
        GeneratorSpec {
            session: session.into(),
            generators,
            namespace: DEFAULT_NAMESPACE.to_string(),
            image: default_image(),
            coordinator_url: default_coordinator_url(DEFAULT_NAMESPACE, false),
            tls: None,
            secret_name: None,
            resources: None,
            ttl_seconds_after_finished: DEFAULT_TTL_SECONDS,
        }
    }

    /// The Job's name: `lt-` and the session as a DNS label, short enough for the names
    /// Kubernetes derives from it (pods `<job>-<index>-<suffix>`, the `job-name` label).
    pub fn job_name(&self) -> String {
        let base = dns_label(&self.session, 40);
        if base.is_empty() {
            "lt-session".to_string()
        } else {
            format!("lt-{base}")
        }
    }

    /// The Secret's name.
    pub fn secret_name(&self) -> String {
        self.secret_name
            .clone()
            .unwrap_or_else(|| format!("{}-token", self.job_name()))
    }

    /// The first problem that Kubernetes would refuse, or that would make the Job useless.
    pub fn check(&self) -> Result<(), SpecError> {
        let problem = |field: &'static str, message: String| Err(SpecError { field, message });
        if self.generators == 0 {
            return problem("generators", "must be at least 1".into());
        }
        if i32::try_from(self.generators).is_err() {
            return problem("generators", format!("{} is too many", self.generators));
        }
        if !is_dns_label(&self.namespace) {
            return problem(
                "namespace",
                format!(
                    "`{}` is not a namespace name (lowercase letters, digits and `-`, at most 63)",
                    self.namespace
                ),
            );
        }
        if self.image.trim().is_empty() || self.image.chars().any(char::is_whitespace) {
            return problem(
                "image",
                format!("`{}` is not an image reference", self.image),
            );
        }
        if self.coordinator_url.trim().is_empty()
            || self.coordinator_url.chars().any(char::is_whitespace)
        {
            return problem(
                "coordinator_url",
                format!("`{}` is not a URL", self.coordinator_url),
            );
        }
        if self.tls.is_some() && self.coordinator_url.starts_with("tcp://") {
            return problem(
                "coordinator_url",
                format!(
                    "`{}` is plain TCP, but the generator listener speaks TLS: dial it with \
                     `tls://`",
                    self.coordinator_url
                ),
            );
        }
        if let Some(name) = &self.secret_name
            && dns_label(name, 253) != *name
        {
            return problem(
                "secret_name",
                format!("`{name}` is not a Secret name (lowercase letters, digits and `-`)"),
            );
        }
        if let Some(resources) = &self.resources {
            for (field, value) in [
                ("cpu", &resources.requests.cpu),
                ("memory", &resources.requests.memory),
                ("cpu", &resources.limits.cpu),
                ("memory", &resources.limits.memory),
            ] {
                if let Some(value) = value
                    && !is_quantity(value)
                {
                    return problem(
                        field,
                        format!("`{value}` is not a quantity (such as `500m`, `2`, `512Mi`)"),
                    );
                }
            }
        }
        if self.ttl_seconds_after_finished < 0 {
            return problem("ttl_seconds_after_finished", "must not be negative".into());
        }
        Ok(())
    }
}

/// A Kubernetes quantity as people write them: a decimal number and an optional suffix.
fn is_quantity(text: &str) -> bool {
    const SUFFIXES: [&str; 14] = [
        "", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
    ];
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(number_end);
    !number.is_empty()
        && number.chars().filter(|c| *c == '.').count() <= 1
        && number.chars().any(|c| c.is_ascii_digit())
        && SUFFIXES.contains(&suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_session() {
        let spec = GeneratorSpec::new("4f1c2a9be07d", 3);
        assert_eq!(spec.job_name(), "lt-4f1c2a9be07d");
        assert_eq!(spec.secret_name(), "lt-4f1c2a9be07d-token");
        let spec = GeneratorSpec::new("Checkout spike (EU)", 3);
        assert_eq!(spec.job_name(), "lt-checkout-spike-eu");
        let long = GeneratorSpec::new("x".repeat(100), 1);
        assert!(long.job_name().len() <= 43);
        assert_eq!(GeneratorSpec::new("ééé", 1).job_name(), "lt-session");
    }

    #[test]
    fn defaults_point_at_the_service_in_the_namespace() {
        let spec = GeneratorSpec::new("s", 1);
        assert_eq!(
            spec.coordinator_url,
            "tcp://load-tester-generators.load-tester.svc:8081"
        );
        assert!(spec.image.starts_with("load-tester-lab:"));
        assert_eq!(spec.check(), Ok(()));
    }

    #[test]
    fn problems_name_the_field() {
        let with = |f: fn(&mut GeneratorSpec)| {
            let mut spec = GeneratorSpec::new("s", 2);
            f(&mut spec);
            spec.check().unwrap_err().field
        };
        assert_eq!(with(|s| s.generators = 0), "generators");
        assert_eq!(with(|s| s.namespace = "Prod".into()), "namespace");
        assert_eq!(with(|s| s.image = " ".into()), "image");
        assert_eq!(
            with(|s| s.coordinator_url = String::new()),
            "coordinator_url"
        );
        assert_eq!(with(|s| s.secret_name = Some("A b".into())), "secret_name");
        assert_eq!(
            with(|s| s.tls = Some(CoordinatorTls::default())),
            "coordinator_url"
        );
        assert_eq!(
            with(|s| s.ttl_seconds_after_finished = -1),
            "ttl_seconds_after_finished"
        );
    }

    #[test]
    fn quantities_are_checked() {
        let memory = |value: &str| {
            let mut spec = GeneratorSpec::new("s", 1);
            spec.resources = Some(Resources {
                limits: Quantities {
                    memory: Some(value.into()),
                    ..Quantities::default()
                },
                ..Resources::default()
            });
            spec.check()
        };
        assert_eq!(memory("512Mi"), Ok(()));
        assert_eq!(memory("0.5"), Ok(()));
        assert_eq!(memory("1.5Gi"), Ok(()));
        for bad in ["", "Mi", "512 MB", "1..2", "lots"] {
            assert_eq!(memory(bad).unwrap_err().field, "memory", "{bad}");
        }
    }
}
