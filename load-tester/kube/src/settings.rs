//! The launcher settings, as the server's settings file holds them under `[generators]`:
//! `launcher = "local" | "kubernetes" | "external"` and `[generators.kubernetes]`. Plain serde
//! types (with their OpenAPI schema): the server layers and reports them (figment names the key
//! and its source).

use serde::{Deserialize, Serialize};

use crate::spec::{
    CoordinatorTls, DEFAULT_NAMESPACE, DEFAULT_TTL_SECONDS, GeneratorSpec, default_image,
};

/// Where a session's generators run, and who starts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LauncherKind {
    /// The coordinator starts them as processes on its own machine.
    #[default]
    Local,
    /// The coordinator creates an Indexed Job (and its token's Secret) in a Kubernetes namespace
    /// and deletes it when the session ends.
    Kubernetes,
    /// The coordinator starts nothing: generators started by someone else (the printed
    /// manifests, `kubectl apply`) join with the token the coordinator was given.
    External,
}

/// `[generators.kubernetes]`: where and how the Kubernetes launcher runs generators.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct KubernetesSettings {
    /// Namespace of the Jobs and Secrets (the coordinator's Role must be there).
    pub namespace: String,
    /// Image of the generator pods.
    pub image: String,
    /// What generators dial, `tcp://HOST:PORT` (or `tls://HOST:PORT`); default the Service
    /// `load-tester-generators` in the namespace (`tcp://load-tester-generators.<namespace>.svc:8081`,
    /// `tls://…` when `[generators.tls]` is on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coordinator_url: Option<String>,
    /// `ttlSecondsAfterFinished` of the Jobs.
    pub ttl_seconds: i32,
    /// CPU each generator pod requests (`500m`, `2`); none by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Memory each generator pod requests and is limited to (`512Mi`); none by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
}

impl Default for KubernetesSettings {
    fn default() -> Self {
        KubernetesSettings {
            namespace: DEFAULT_NAMESPACE.to_string(),
            image: default_image(),
            coordinator_url: None,
            ttl_seconds: DEFAULT_TTL_SECONDS,
            cpu: None,
            memory: None,
        }
    }
}

impl KubernetesSettings {
    /// The spec of one session's `generators` generators, dialling a listener with `tls` (or
    /// plain TCP).
    pub fn spec(
        &self,
        session: &str,
        generators: u32,
        tls: Option<CoordinatorTls>,
    ) -> GeneratorSpec {
        let mut spec = GeneratorSpec::new(session, generators);
        spec.namespace = self.namespace.clone();
        spec.image = self.image.clone();
        spec.coordinator_url = self.coordinator_url.clone().unwrap_or_else(|| {
            crate::spec::default_coordinator_url(&self.namespace, tls.is_some())
        });
        spec.tls = tls;
        spec.ttl_seconds_after_finished = self.ttl_seconds;
        if self.cpu.is_some() || self.memory.is_some() {
            spec.resources = Some(crate::spec::Resources {
                requests: crate::spec::Quantities {
                    cpu: self.cpu.clone(),
                    memory: self.memory.clone(),
                },
                limits: crate::spec::Quantities {
                    cpu: None,
                    memory: self.memory.clone(),
                },
            });
        }
        spec
    }

    /// The first setting Kubernetes would refuse, or that cannot reach a listener that speaks
    /// TLS when `tls` is set: its key (under `generators.kubernetes`) and what is wrong.
    pub fn problem(&self, tls: bool) -> Option<(&'static str, String)> {
        let tls = tls.then(CoordinatorTls::default);
        let e = self.spec("settings", 1, tls).check().err()?;
        let key = match e.field {
            "ttl_seconds_after_finished" => "ttl_seconds",
            other => other,
        };
        Some((key, e.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_a_spec_from_them() {
        let settings: KubernetesSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(settings, KubernetesSettings::default());
        assert_eq!(settings.problem(false), None);
        assert_eq!(settings.problem(true), None);
        let spec = settings.spec("4f1c2a9be07d", 3, None);
        assert_eq!(spec.namespace, "load-tester");
        assert_eq!(spec.generators, 3);
        assert_eq!(
            spec.coordinator_url,
            "tcp://load-tester-generators.load-tester.svc:8081"
        );
        assert_eq!(spec.resources, None);
        let spec = settings.spec("4f1c2a9be07d", 3, Some(CoordinatorTls::default()));
        assert_eq!(
            spec.coordinator_url,
            "tls://load-tester-generators.load-tester.svc:8081"
        );
        let kind: LauncherKind = serde_json::from_str("\"kubernetes\"").unwrap();
        assert_eq!(kind, LauncherKind::Kubernetes);
        assert_eq!(LauncherKind::default(), LauncherKind::Local);
    }

    #[test]
    fn resources_requests_and_memory_limit() {
        let settings: KubernetesSettings =
            serde_json::from_str(r#"{"namespace":"perf","cpu":"1","memory":"512Mi"}"#).unwrap();
        let resources = settings.spec("s", 1, None).resources.unwrap();
        assert_eq!(resources.requests.cpu.as_deref(), Some("1"));
        assert_eq!(resources.limits.memory.as_deref(), Some("512Mi"));
        assert_eq!(resources.limits.cpu, None);
    }

    #[test]
    fn problems_name_the_settings_key() {
        let unknown = serde_json::from_str::<KubernetesSettings>(r#"{"namespaces":"x"}"#);
        assert!(unknown.unwrap_err().to_string().contains("namespaces"));
        let settings = KubernetesSettings {
            namespace: "Perf".into(),
            ..KubernetesSettings::default()
        };
        assert_eq!(settings.problem(false).unwrap().0, "namespace");
        let settings = KubernetesSettings {
            ttl_seconds: -5,
            ..KubernetesSettings::default()
        };
        assert_eq!(settings.problem(false).unwrap().0, "ttl_seconds");
        let plain = KubernetesSettings {
            coordinator_url: Some("tcp://coordinator.perf:8081".into()),
            ..KubernetesSettings::default()
        };
        assert_eq!(plain.problem(false), None);
        let (key, message) = plain.problem(true).unwrap();
        assert_eq!(key, "coordinator_url");
        assert!(message.contains("tls://"), "{message}");
    }
}
