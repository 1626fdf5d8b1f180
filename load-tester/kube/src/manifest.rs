//! The objects a session's generators need, as the official API types: the Indexed Job, the
//! Secret with the token, the coordinator's ServiceAccount, Role and RoleBinding, and the
//! Service in front of the coordinator's generator listener.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, EnvVar, EnvVarSource, KeyToPath, PodSecurityContext, PodSpec,
    PodTemplateSpec, ResourceRequirements, SeccompProfile, Secret, SecretKeySelector,
    SecretVolumeSource, SecurityContext, Service, ServiceAccount, ServicePort, ServiceSpec, Volume,
    VolumeMount,
};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::error::SpecError;
use crate::labels::{labels, selector};
use crate::spec::{DEFAULT_GENERATOR_PORT, GENERATOR_SERVICE, GeneratorSpec, Quantities};

/// The environment variable a generator reads its token from (never its command line).
pub const TOKEN_ENV: &str = "LT_GENERATOR_TOKEN";
/// The environment variable naming the session a generator joins (set by the launcher, which
/// knows the session id; printed manifests leave it out).
pub const SESSION_ENV: &str = "LT_SESSION_ID";
/// The Secret's key holding the token.
pub const TOKEN_KEY: &str = "token";
/// The Secret's key holding the certificate authorities generators trust (TLS with a CA).
pub const CA_KEY: &str = "ca.crt";
/// Where a generator pod finds that file: the folder the Secret's `ca.crt` is mounted in.
pub const CA_MOUNT: &str = "/etc/load-tester/generator-tls";
/// The environment variable a generator reads its CA file's path from (`--ca-file`).
pub const CA_FILE_ENV: &str = "LT_GENERATOR_CA_FILE";
/// The pod's volume of the Secret's `ca.crt`.
const CA_VOLUME: &str = "generator-ca";
/// The Secret of printed manifests, holding the token shared by the coordinator (launcher
/// `external`) and the generators people start themselves (one per namespace).
pub const EXTERNAL_TOKEN_SECRET: &str = "load-tester-generator-token";
/// The coordinator's ServiceAccount.
pub const SERVICE_ACCOUNT: &str = "load-tester";
/// The Role (and RoleBinding) that lets the coordinator launch generators.
pub const LAUNCHER_ROLE: &str = "load-tester-launcher";
/// The user and group of the image (`Dockerfile`).
const IMAGE_USER: i64 = 10001;

/// Every object of one session's generators.
#[derive(Debug, Clone)]
pub struct Manifests {
    pub service_account: ServiceAccount,
    pub role: Role,
    pub role_binding: RoleBinding,
    pub service: Service,
    pub job: Job,
}

impl Manifests {
    /// The namespace-wide objects and the session's Job (the Secret is the launcher's, or the
    /// reader's to create: it holds the token).
    pub fn for_spec(spec: &GeneratorSpec) -> Result<Manifests, SpecError> {
        spec.check()?;
        let (service_account, role, role_binding) = coordinator_access(spec);
        Ok(Manifests {
            service_account,
            role,
            role_binding,
            service: generator_service(spec),
            job: generator_job(spec),
        })
    }
}

fn metadata(spec: &GeneratorSpec, name: String, component: &str, session: bool) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(spec.namespace.clone()),
        labels: Some(labels(component, session.then_some(spec.session.as_str()))),
        ..ObjectMeta::default()
    }
}

/// The Indexed Job: N pods, pod *i* (`JOB_COMPLETION_INDEX`, set by Kubernetes) runs segment
/// *i* as `load-tester worker --connect URL`, its token from the Secret (and, with TLS and a
/// CA, the CA file mounted from the Secret's `ca.crt`). Never restarted
/// (`backoffLimit: 0`, `restartPolicy: Never`): a restarted generator would start its segment
/// over.
pub fn generator_job(spec: &GeneratorSpec) -> Job {
    let n = i32::try_from(spec.generators).unwrap_or(i32::MAX);
    let meta = metadata(spec, spec.job_name(), "generator", true);
    let with_ca = spec.tls.as_ref().is_some_and(|t| t.ca_pem.is_some());
    let mut env = vec![EnvVar {
        name: TOKEN_ENV.into(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: spec.secret_name(),
                key: TOKEN_KEY.into(),
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }];
    if with_ca {
        env.push(EnvVar {
            name: CA_FILE_ENV.into(),
            value: Some(format!("{CA_MOUNT}/{CA_KEY}")),
            ..EnvVar::default()
        });
    }
    let container = Container {
        name: "generator".into(),
        image: Some(spec.image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(vec!["load-tester".into()]),
        args: Some(vec![
            "worker".into(),
            "--connect".into(),
            spec.coordinator_url.clone(),
        ]),
        env: Some(env),
        volume_mounts: with_ca.then(|| {
            vec![VolumeMount {
                name: CA_VOLUME.into(),
                mount_path: CA_MOUNT.into(),
                read_only: Some(true),
                ..VolumeMount::default()
            }]
        }),
        resources: spec.resources.as_ref().map(|r| ResourceRequirements {
            requests: quantities(&r.requests),
            limits: quantities(&r.limits),
            ..ResourceRequirements::default()
        }),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Capabilities::default()
            }),
            ..SecurityContext::default()
        }),
        ..Container::default()
    };
    Job {
        metadata: meta.clone(),
        spec: Some(JobSpec {
            completion_mode: Some("Indexed".into()),
            completions: Some(n),
            parallelism: Some(n),
            backoff_limit: Some(0),
            ttl_seconds_after_finished: Some(spec.ttl_seconds_after_finished),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: meta.labels,
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    restart_policy: Some("Never".into()),
                    // Generators never call the Kubernetes API.
                    automount_service_account_token: Some(false),
                    enable_service_links: Some(false),
                    security_context: Some(PodSecurityContext {
                        run_as_non_root: Some(true),
                        run_as_user: Some(IMAGE_USER),
                        run_as_group: Some(IMAGE_USER),
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".into(),
                            ..SeccompProfile::default()
                        }),
                        ..PodSecurityContext::default()
                    }),
                    containers: vec![container],
                    volumes: with_ca.then(|| {
                        vec![Volume {
                            name: CA_VOLUME.into(),
                            secret: Some(SecretVolumeSource {
                                secret_name: Some(spec.secret_name()),
                                items: Some(vec![KeyToPath {
                                    key: CA_KEY.into(),
                                    path: CA_KEY.into(),
                                    mode: None,
                                }]),
                                optional: Some(false),
                                ..SecretVolumeSource::default()
                            }),
                            ..Volume::default()
                        }]
                    }),
                    ..PodSpec::default()
                }),
            },
            ..JobSpec::default()
        }),
        status: None,
    }
}

/// The Job the launcher creates for a running session: [`generator_job`] with the session id
/// in [`SESSION_ENV`], so the coordinator can refuse a generator started for another session.
pub fn session_job(spec: &GeneratorSpec) -> Job {
    let mut job = generator_job(spec);
    let pod = job.spec.as_mut().and_then(|s| s.template.spec.as_mut());
    for container in pod.into_iter().flat_map(|p| p.containers.iter_mut()) {
        container.env.get_or_insert_with(Vec::new).push(EnvVar {
            name: SESSION_ENV.into(),
            value: Some(spec.session.clone()),
            ..EnvVar::default()
        });
    }
    job
}

fn quantities(q: &Quantities) -> Option<BTreeMap<String, Quantity>> {
    let map: BTreeMap<String, Quantity> = [("cpu", &q.cpu), ("memory", &q.memory)]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), Quantity(v.clone()))))
        .collect();
    (!map.is_empty()).then_some(map)
}

/// The Secret holding the session's token under [`TOKEN_KEY`] (and the TLS authorities under
/// [`CA_KEY`] when the spec has them), owned by `owner` (the Job) when given, so deleting the
/// Job deletes it.
pub fn token_secret(spec: &GeneratorSpec, token: &str, owner: Option<&Job>) -> Secret {
    let mut meta = metadata(spec, spec.secret_name(), "generator", true);
    meta.owner_references = owner.and_then(owner_reference).map(|r| vec![r]);
    let mut data = BTreeMap::from([(TOKEN_KEY.to_string(), ByteString(token.as_bytes().to_vec()))]);
    if let Some(ca) = spec.tls.as_ref().and_then(|t| t.ca_pem.as_ref()) {
        data.insert(CA_KEY.to_string(), ByteString(ca.as_bytes().to_vec()));
    }
    Secret {
        metadata: meta,
        type_: Some("Opaque".into()),
        data: Some(data),
        ..Secret::default()
    }
}

/// A reference to `job` as the owner of another object; `None` until the API has given the Job
/// its uid. Not `blockOwnerDeletion`: that would need rights on the Job's finalizers.
pub(crate) fn owner_reference(job: &Job) -> Option<OwnerReference> {
    Some(OwnerReference {
        api_version: "batch/v1".into(),
        kind: "Job".into(),
        name: job.metadata.name.clone()?,
        uid: job.metadata.uid.clone()?,
        ..OwnerReference::default()
    })
}

/// The coordinator's ServiceAccount, and the Role and RoleBinding that let it launch and delete
/// generators in this namespace only: `create`, `get`, `list`, `watch`, `delete` on `jobs` and
/// `secrets`, and `patch` on `secrets` (to make the Job the Secret's owner).
pub fn coordinator_access(spec: &GeneratorSpec) -> (ServiceAccount, Role, RoleBinding) {
    let verbs = |extra: &[&str]| -> Vec<String> {
        ["create", "get", "list", "watch", "delete"]
            .iter()
            .chain(extra)
            .map(|v| v.to_string())
            .collect()
    };
    let account = ServiceAccount {
        metadata: metadata(spec, SERVICE_ACCOUNT.into(), "coordinator", false),
        ..ServiceAccount::default()
    };
    let role = Role {
        metadata: metadata(spec, LAUNCHER_ROLE.into(), "coordinator", false),
        rules: Some(vec![
            PolicyRule {
                api_groups: Some(vec!["batch".into()]),
                resources: Some(vec!["jobs".into()]),
                verbs: verbs(&[]),
                ..PolicyRule::default()
            },
            PolicyRule {
                api_groups: Some(vec![String::new()]),
                resources: Some(vec!["secrets".into()]),
                verbs: verbs(&["patch"]),
                ..PolicyRule::default()
            },
        ]),
    };
    let binding = RoleBinding {
        metadata: metadata(spec, LAUNCHER_ROLE.into(), "coordinator", false),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: LAUNCHER_ROLE.into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: SERVICE_ACCOUNT.into(),
            namespace: Some(spec.namespace.clone()),
            ..Subject::default()
        }]),
    };
    (account, role, binding)
}

/// The Service generators dial: the coordinator's pods (labels `app.kubernetes.io/name:
/// load-tester`, `app.kubernetes.io/component: coordinator`), generator listener port.
pub fn generator_service(spec: &GeneratorSpec) -> Service {
    let port = port_of(&spec.coordinator_url).unwrap_or(DEFAULT_GENERATOR_PORT);
    Service {
        metadata: metadata(spec, GENERATOR_SERVICE.into(), "coordinator", false),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(selector("coordinator")),
            ports: Some(vec![ServicePort {
                name: Some("generators".into()),
                protocol: Some("TCP".into()),
                port: i32::from(port),
                target_port: Some(IntOrString::Int(i32::from(DEFAULT_GENERATOR_PORT))),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

/// The port written in a URL such as `tcp://host:8081` or `host:8081`.
fn port_of(url: &str) -> Option<u16> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next()?;
    let (_, port) = authority.rsplit_once(':')?;
    port.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_from_urls() {
        assert_eq!(port_of("tcp://a.b.svc:9000"), Some(9000));
        assert_eq!(port_of("a:81/x"), Some(81));
        assert_eq!(port_of("tls://a"), None);
        assert_eq!(port_of("tcp://[::1]:7"), Some(7));
    }

    #[test]
    fn the_owner_is_known_only_with_a_uid() {
        let spec = GeneratorSpec::new("s", 1);
        let mut job = generator_job(&spec);
        assert!(owner_reference(&job).is_none());
        job.metadata.uid = Some("u-1".into());
        let owner = owner_reference(&job).unwrap();
        assert_eq!((owner.kind.as_str(), owner.uid.as_str()), ("Job", "u-1"));
        let secret = token_secret(&spec, "t", Some(&job));
        assert_eq!(secret.metadata.owner_references.unwrap()[0].name, "lt-s");
    }

    #[test]
    fn a_ca_travels_in_the_secret_and_is_mounted_where_the_generator_looks() {
        let mut spec = GeneratorSpec::new("s", 2);
        let pod = |spec: &GeneratorSpec| generator_job(spec).spec.unwrap().template.spec.unwrap();
        let plain = pod(&spec);
        assert_eq!(plain.volumes, None);
        assert_eq!(plain.containers[0].env.as_ref().unwrap().len(), 1);
        assert!(
            !token_secret(&spec, "t", None)
                .data
                .unwrap()
                .contains_key(CA_KEY)
        );

        spec.tls = Some(crate::CoordinatorTls {
            ca_pem: Some("-----BEGIN CERTIFICATE-----\n…".into()),
        });
        let data = token_secret(&spec, "t", None).data.unwrap();
        assert!(data[CA_KEY].0.starts_with(b"-----BEGIN CERTIFICATE-----"));
        let pod = pod(&spec);
        let volume = &pod.volumes.as_ref().unwrap()[0];
        let source = volume.secret.as_ref().unwrap();
        assert_eq!(source.secret_name.as_deref(), Some("lt-s-token"));
        assert_eq!(source.items.as_ref().unwrap()[0].key, CA_KEY);
        let container = &pod.containers[0];
        let mount = &container.volume_mounts.as_ref().unwrap()[0];
        assert_eq!(
            (mount.name.as_str(), mount.read_only),
            (volume.name.as_str(), Some(true))
        );
        let env = container.env.as_ref().unwrap();
        let ca = env.iter().find(|e| e.name == CA_FILE_ENV).unwrap();
        assert_eq!(
            ca.value.as_deref(),
            Some(format!("{}/{CA_KEY}", mount.mount_path).as_str())
        );
    }
}
