//! `load-tester k8s manifest`: a shipped scenario's generators as YAML that reads back into the
//! official Kubernetes types; bad input refused as `validate` refuses it.

mod common;

use common::load_tester;
use lt_kube::k8s_openapi::api::batch::v1::Job;
use lt_kube::k8s_openapi::api::core::v1::{Service, ServiceAccount};
use lt_kube::k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use lt_testkit::write_scenario;

const SMOKE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios/smoke.yaml");

/// The documents of a multi-document YAML stream (comments before the first one dropped).
fn documents(yaml: &str) -> Vec<&str> {
    yaml.split("---\n").skip(1).collect()
}

#[tokio::test]
async fn a_shipped_scenario_prints_objects_kubernetes_reads() {
    let out = load_tester(&[
        "k8s",
        "manifest",
        SMOKE,
        "--generators",
        "3",
        "--namespace",
        "perf",
        "--image",
        "load-tester-lab:test",
    ])
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let docs = documents(&out.stdout);
    assert_eq!(docs.len(), 5, "{}", out.stdout);
    let account: ServiceAccount = serde_saphyr::from_str(docs[0]).unwrap();
    let role: Role = serde_saphyr::from_str(docs[1]).unwrap();
    let binding: RoleBinding = serde_saphyr::from_str(docs[2]).unwrap();
    let service: Service = serde_saphyr::from_str(docs[3]).unwrap();
    let job: Job = serde_saphyr::from_str(docs[4]).unwrap();
    for namespace in [
        &account.metadata.namespace,
        &role.metadata.namespace,
        &binding.metadata.namespace,
        &service.metadata.namespace,
        &job.metadata.namespace,
    ] {
        assert_eq!(namespace.as_deref(), Some("perf"));
    }
    assert_eq!(job.metadata.name.as_deref(), Some("lt-smoke"));
    let spec = job.spec.unwrap();
    assert_eq!(spec.completion_mode.as_deref(), Some("Indexed"));
    assert_eq!((spec.completions, spec.parallelism), (Some(3), Some(3)));
    assert_eq!(spec.backoff_limit, Some(0));
    let container = &spec.template.spec.unwrap().containers[0];
    assert_eq!(container.image.as_deref(), Some("load-tester-lab:test"));
    assert_eq!(
        container.args.as_deref().unwrap(),
        [
            "worker",
            "--connect",
            "tcp://load-tester-generators.perf.svc:8081"
        ]
    );
    let env = &container.env.as_ref().unwrap()[0];
    assert_eq!(env.name, "LT_GENERATOR_TOKEN");
    assert_eq!(
        env.value_from
            .as_ref()
            .unwrap()
            .secret_key_ref
            .as_ref()
            .unwrap()
            .name,
        "load-tester-generator-token"
    );
    // How to create the Secret is said, not printed as a placeholder object, and how the
    // coordinator (launcher `external`) gets the same token.
    for said in [
        "kubectl create secret generic load-tester-generator-token --namespace perf --from-literal=token=",
        "launcher = \"external\"",
        "env: [{name: LT_GENERATOR_TOKEN, valueFrom: {secretKeyRef: {name: load-tester-generator-token, key: token}}}]",
    ] {
        assert!(
            out.stdout.contains(said),
            "`{said}` missing:\n{}",
            out.stdout
        );
    }
    assert!(!out.stdout.contains("kind: Secret"));
    assert_eq!(binding.role_ref.name, "load-tester-launcher");
    assert_eq!(
        service.spec.unwrap().ports.unwrap()[0].port,
        8081,
        "the generator listener's port"
    );
}

#[tokio::test]
async fn the_scenarios_generators_by_default() {
    let out = load_tester(&["k8s", "manifest", SMOKE]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let job: Job = serde_saphyr::from_str(documents(&out.stdout)[4]).unwrap();
    assert_eq!(job.metadata.namespace.as_deref(), Some("load-tester"));
    assert_eq!(job.spec.unwrap().completions, Some(1));
}

#[tokio::test]
async fn a_bad_scenario_gets_positioned_problems_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write_scenario(
        dir.path(),
        "bad.yaml",
        "name: bad\ntarget: http://127.0.0.1:1\nload:\n  users: -3\nendpoints:\n  - name: a\n    path: /a\n",
    );
    let bad = bad.display().to_string();
    let out = load_tester(&["k8s", "manifest", &bad, "--generators", "2"]).await;
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("{bad}:4:10: load.users:")),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}

#[tokio::test]
async fn bad_flags_exit_2_naming_the_flag() {
    let out = load_tester(&["k8s", "manifest", SMOKE, "--namespace", "Perf Team"]).await;
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr
            .contains("error: --namespace: `Perf Team` is not a namespace name"),
        "{}",
        out.stderr
    );
    let out = load_tester(&["k8s", "manifest", SMOKE, "--generators", "0"]).await;
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("--generators"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
}

#[tokio::test]
async fn tls_with_an_authority_mounts_it_from_the_secret() {
    let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/e2e/tls/ca.pem");
    let out = load_tester(&["k8s", "manifest", SMOKE, "--ca-file", ca]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.contains(&format!("--from-file=ca.crt={ca}")),
        "{}",
        out.stdout
    );
    let job: Job = serde_saphyr::from_str(documents(&out.stdout)[4]).unwrap();
    let pod = job.spec.unwrap().template.spec.unwrap();
    let container = &pod.containers[0];
    let url = &container.args.as_deref().unwrap()[2];
    assert_eq!(url, "tls://load-tester-generators.load-tester.svc:8081");
    let mount = &container.volume_mounts.as_deref().unwrap()[0];
    let volume = &pod.volumes.as_deref().unwrap()[0];
    assert_eq!(mount.name, volume.name);
    let secret = volume.secret.as_ref().unwrap();
    assert_eq!(
        secret.secret_name.as_deref(),
        Some("load-tester-generator-token")
    );
    let env = container.env.as_deref().unwrap();
    let ca_env = env
        .iter()
        .find(|e| e.name == "LT_GENERATOR_CA_FILE")
        .unwrap();
    assert_eq!(
        ca_env.value.as_deref(),
        Some(format!("{}/ca.crt", mount.mount_path).as_str())
    );

    // A file that holds no certificate is refused, naming the flag; nothing is printed.
    let out = load_tester(&["k8s", "manifest", SMOKE, "--ca-file", SMOKE]).await;
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr.contains("error: --ca-file") && out.stderr.contains("holds no certificate"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
    // TLS with a plain-TCP URL cannot work.
    let out = load_tester(&[
        "k8s",
        "manifest",
        SMOKE,
        "--tls",
        "--coordinator",
        "tcp://coordinator:8081",
    ])
    .await;
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("--coordinator"), "{}", out.stderr);
}
