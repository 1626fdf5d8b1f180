//! The printed manifests read back into the official API types, with the fields that matter.

use lt_kube::k8s_openapi::api::batch::v1::Job;
use lt_kube::k8s_openapi::api::core::v1::{Service, ServiceAccount};
use lt_kube::k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use lt_kube::k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use lt_kube::{GeneratorSpec, Manifests, Quantities, Resources, SESSION_LABEL};

fn spec() -> GeneratorSpec {
    let mut spec = GeneratorSpec::new("Checkout spike", 4);
    spec.namespace = "perf".into();
    spec.image = "load-tester-lab:test".into();
    spec.coordinator_url = "tcp://coordinator.perf.svc:9000".into();
    spec.ttl_seconds_after_finished = 120;
    spec.resources = Some(Resources {
        requests: Quantities {
            cpu: Some("500m".into()),
            memory: Some("256Mi".into()),
        },
        limits: Quantities {
            cpu: None,
            memory: Some("1Gi".into()),
        },
    });
    spec
}

/// The YAML split into its documents.
fn documents(yaml: &str) -> Vec<String> {
    yaml.split("---\n")
        .filter(|d| !d.trim().is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn printed_objects_read_back_as_the_official_types() {
    let yaml = Manifests::for_spec(&spec()).unwrap().to_yaml().unwrap();
    let docs = documents(&yaml);
    assert_eq!(docs.len(), 5, "{yaml}");
    let account: ServiceAccount = serde_saphyr::from_str(&docs[0]).unwrap();
    let role: Role = serde_saphyr::from_str(&docs[1]).unwrap();
    let binding: RoleBinding = serde_saphyr::from_str(&docs[2]).unwrap();
    let service: Service = serde_saphyr::from_str(&docs[3]).unwrap();
    let job: Job = serde_saphyr::from_str(&docs[4]).unwrap();

    for (kind, meta) in [
        ("ServiceAccount", &account.metadata),
        ("Role", &role.metadata),
        ("RoleBinding", &binding.metadata),
        ("Service", &service.metadata),
        ("Job", &job.metadata),
    ] {
        assert_eq!(meta.namespace.as_deref(), Some("perf"), "{kind}");
        let labels = meta.labels.as_ref().unwrap();
        assert_eq!(labels["app.kubernetes.io/name"], "load-tester", "{kind}");
        assert_eq!(labels["app.kubernetes.io/part-of"], "load-tester", "{kind}");
        assert!(labels.contains_key("app.kubernetes.io/component"), "{kind}");
    }

    // The Job: indexed, N at once, never retried.
    let job_spec = job.spec.as_ref().unwrap();
    assert_eq!(job.metadata.name.as_deref(), Some("lt-checkout-spike"));
    assert_eq!(
        job.metadata.labels.as_ref().unwrap()[SESSION_LABEL],
        "Checkout-spike"
    );
    assert_eq!(job_spec.completion_mode.as_deref(), Some("Indexed"));
    assert_eq!(job_spec.completions, Some(4));
    assert_eq!(job_spec.parallelism, Some(4));
    assert_eq!(job_spec.backoff_limit, Some(0));
    assert_eq!(job_spec.ttl_seconds_after_finished, Some(120));
    let pod = job_spec.template.spec.as_ref().unwrap();
    assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
    assert_eq!(pod.automount_service_account_token, Some(false));
    let container = &pod.containers[0];
    assert_eq!(container.image.as_deref(), Some("load-tester-lab:test"));
    let command: Vec<&str> = container
        .command
        .iter()
        .chain(container.args.iter())
        .flatten()
        .map(String::as_str)
        .collect();
    assert_eq!(
        command,
        [
            "load-tester",
            "worker",
            "--connect",
            "tcp://coordinator.perf.svc:9000"
        ]
    );
    let env = container.env.as_ref().unwrap();
    assert_eq!(
        env.len(),
        1,
        "the index comes from Kubernetes' JOB_COMPLETION_INDEX"
    );
    assert_eq!(env[0].name, "LT_GENERATOR_TOKEN");
    assert!(
        env[0].value.is_none(),
        "the token is never written in the Job"
    );
    let key = env[0]
        .value_from
        .as_ref()
        .unwrap()
        .secret_key_ref
        .as_ref()
        .unwrap();
    assert_eq!(
        (key.name.as_str(), key.key.as_str()),
        ("lt-checkout-spike-token", "token")
    );
    let resources = container.resources.as_ref().unwrap();
    assert_eq!(resources.requests.as_ref().unwrap()["cpu"].0, "500m");
    assert_eq!(resources.limits.as_ref().unwrap()["memory"].0, "1Gi");
    assert!(!resources.limits.as_ref().unwrap().contains_key("cpu"));
    // The pods carry the Job's labels, session included.
    let pod_labels = job_spec
        .template
        .metadata
        .as_ref()
        .unwrap()
        .labels
        .as_ref()
        .unwrap();
    assert_eq!(pod_labels["app.kubernetes.io/component"], "generator");
    assert_eq!(pod_labels[SESSION_LABEL], "Checkout-spike");

    // The Role: jobs and secrets only, in this namespace (a Role, not a ClusterRole).
    let rules = role.rules.as_ref().unwrap();
    assert_eq!(rules.len(), 2);
    let mut resources: Vec<&str> = rules
        .iter()
        .flat_map(|r| r.resources.iter().flatten().map(String::as_str))
        .collect();
    resources.sort();
    assert_eq!(resources, ["jobs", "secrets"]);
    for rule in rules {
        assert!(rule.non_resource_urls.is_none());
        assert!(rule.resource_names.is_none());
        for verb in ["create", "get", "list", "watch", "delete"] {
            assert!(rule.verbs.iter().any(|v| v == verb), "{verb} in {rule:?}");
        }
        let allowed: &[&str] = if rule.resources.as_ref().unwrap()[0] == "secrets" {
            &["create", "get", "list", "watch", "delete", "patch"]
        } else {
            &["create", "get", "list", "watch", "delete"]
        };
        assert!(
            rule.verbs.iter().all(|v| allowed.contains(&v.as_str())),
            "{rule:?}"
        );
        let group = if rule.resources.as_ref().unwrap()[0] == "jobs" {
            "batch"
        } else {
            ""
        };
        assert_eq!(rule.api_groups.as_deref(), Some(&[group.to_string()][..]));
    }
    assert_eq!(binding.role_ref.kind, "Role");
    assert_eq!(binding.role_ref.name, role.metadata.name.clone().unwrap());
    let subject = &binding.subjects.as_ref().unwrap()[0];
    assert_eq!(subject.kind, "ServiceAccount");
    assert_eq!(Some(&subject.name), account.metadata.name.as_ref());
    assert_eq!(subject.namespace.as_deref(), Some("perf"));

    // The Service: the coordinator's generator listener, on the URL's port.
    let service_spec = service.spec.as_ref().unwrap();
    let port = &service_spec.ports.as_ref().unwrap()[0];
    assert_eq!(port.port, 9000);
    assert_eq!(port.target_port, Some(IntOrString::Int(8081)));
    assert_eq!(
        service_spec.selector.as_ref().unwrap()["app.kubernetes.io/component"],
        "coordinator"
    );
    assert_eq!(
        service.metadata.name.as_deref(),
        Some("load-tester-generators")
    );
}

#[test]
fn the_secret_holds_the_token_under_its_key_and_is_owned_by_the_job() {
    let spec = spec();
    let mut job = lt_kube::generator_job(&spec);
    job.metadata.uid = Some("0b6b-uid".into());
    let secret = lt_kube::token_secret(&spec, "s3cr3t", Some(&job));
    let yaml = lt_kube::to_yaml_documents(&[&secret]).unwrap();
    let back: lt_kube::k8s_openapi::api::core::v1::Secret =
        serde_saphyr::from_str(&documents(&yaml)[0]).unwrap();
    assert_eq!(
        back.metadata.name.as_deref(),
        Some("lt-checkout-spike-token")
    );
    assert_eq!(back.metadata.namespace.as_deref(), Some("perf"));
    assert_eq!(back.data.unwrap()["token"].0, b"s3cr3t");
    let owner = &back.metadata.owner_references.unwrap()[0];
    assert_eq!(
        (owner.api_version.as_str(), owner.kind.as_str()),
        ("batch/v1", "Job")
    );
    assert_eq!(
        (owner.name.as_str(), owner.uid.as_str()),
        ("lt-checkout-spike", "0b6b-uid")
    );
}

#[test]
fn a_bad_spec_is_refused_before_anything_is_built() {
    let mut spec = spec();
    spec.namespace = "Perf Team".into();
    let e = Manifests::for_spec(&spec).unwrap_err();
    assert_eq!(e.field, "namespace");
    assert!(
        e.to_string()
            .contains("`Perf Team` is not a namespace name")
    );
}

#[test]
fn names_yaml_would_read_as_other_types_stay_strings() {
    for session in ["yes", "on", "NO", "null", "1e3", "012"] {
        let yaml = Manifests::for_spec(&GeneratorSpec::new(session, 1))
            .unwrap()
            .to_yaml()
            .unwrap();
        assert!(
            yaml.contains(&format!("load-tester/session: \"{session}\"")),
            "{yaml}"
        );
    }
}
