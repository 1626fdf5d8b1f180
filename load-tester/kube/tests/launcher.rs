//! The launcher against a stand-in of the Kubernetes API server (`lt_testkit::kube_api`): an
//! axum server on loopback that answers the calls the launcher makes as Kubernetes does (the
//! objects back with a uid, `Status` objects for 403 and 404) and records them. No cluster can
//! run where this is built and tested; this is the one place a stand-in replaces the real thing
//! (`docs/distributed.md`).

use lt_kube::kube::{Client, Config};
use lt_kube::{GeneratorSpec, JobHandle, KubernetesLauncher, LaunchError};
use lt_testkit::kube_api::{self, Method, Recorded, Shared};
use serde_json::json;

/// A stand-in API server on loopback and a launcher whose client talks to it over plain http.
async fn stand_in() -> (Shared, KubernetesLauncher) {
    let (server, addr) = kube_api::start(None).await;
    let config = Config::new(format!("http://{addr}").parse().unwrap());
    let client = Client::try_from(config).unwrap();
    (server, KubernetesLauncher::new(client))
}

fn spec() -> GeneratorSpec {
    let mut spec = GeneratorSpec::new("4f1c2a9be07d", 3);
    spec.namespace = "perf".into();
    spec
}

const TOKEN: &str = "dG9rZW4tZm9yLXRoZS10ZXN0LW9ubHktMzItYnl0ZXM";
const SECRETS: &str = "/api/v1/namespaces/perf/secrets";
const JOBS: &str = "/apis/batch/v1/namespaces/perf/jobs";

fn calls(server: &Shared) -> Vec<Recorded> {
    server.lock().unwrap().calls.clone()
}

#[tokio::test]
async fn launch_creates_the_secret_then_the_job_then_makes_the_job_its_owner() {
    let (server, launcher) = stand_in().await;
    let handle = launcher.launch(&spec(), TOKEN).await.unwrap();
    assert_eq!(
        handle,
        JobHandle {
            namespace: "perf".into(),
            job: "lt-4f1c2a9be07d".into(),
            secret: "lt-4f1c2a9be07d-token".into(),
            uid: "uid-2".into(),
        }
    );
    let calls = calls(&server);
    let summary: Vec<(Method, &str)> = calls
        .iter()
        .map(|c| (c.method.clone(), c.path.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (Method::POST, SECRETS),
            (Method::POST, JOBS),
            (
                Method::PATCH,
                "/api/v1/namespaces/perf/secrets/lt-4f1c2a9be07d-token"
            ),
        ]
    );
    // The Secret: the token (base64, as the API wants `data`), not yet owned.
    let secret = &calls[0].body;
    assert_eq!(
        (secret["apiVersion"].as_str(), secret["kind"].as_str()),
        (Some("v1"), Some("Secret"))
    );
    assert_eq!(
        secret["data"]["token"],
        "ZEc5clpXNHRabTl5TFhSb1pTMTBaWE4wTFc5dWJIa3RNekl0WW5sMFpYTQ=="
    );
    assert!(secret["metadata"].get("ownerReferences").is_none());
    // The Job: indexed, N pods, the token by reference only.
    let job = &calls[1].body;
    assert_eq!(job["kind"], "Job");
    assert_eq!(job["metadata"]["namespace"], "perf");
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    assert_eq!(job["spec"]["completions"], 3);
    assert_eq!(job["spec"]["parallelism"], 3);
    assert_eq!(job["spec"]["backoffLimit"], 0);
    assert!(
        !job.to_string().contains(TOKEN),
        "the token is not in the Job"
    );
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["env"][1],
        json!({ "name": "LT_SESSION_ID", "value": "4f1c2a9be07d" })
    );
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"],
        json!({ "name": "lt-4f1c2a9be07d-token", "key": "token", "optional": false })
    );
    // The patch: a merge patch naming the Job, with the uid the API gave it, as owner.
    assert_eq!(calls[2].content_type, "application/merge-patch+json");
    assert_eq!(
        calls[2].body,
        json!({ "metadata": { "ownerReferences": [{
            "apiVersion": "batch/v1", "kind": "Job", "name": "lt-4f1c2a9be07d", "uid": "uid-2",
        }] } })
    );
    let stored =
        server.lock().unwrap().objects[&format!("{SECRETS}/lt-4f1c2a9be07d-token")].clone();
    assert_eq!(stored["metadata"]["ownerReferences"][0]["uid"], "uid-2");
}

#[tokio::test]
async fn delete_is_foreground_with_no_grace_and_a_second_delete_is_fine() {
    let (server, launcher) = stand_in().await;
    let handle = launcher.launch(&spec(), TOKEN).await.unwrap();
    launcher.delete(&handle).await.unwrap();
    // Already gone (404 Status): not an error.
    launcher.delete(&handle).await.unwrap();
    let calls = calls(&server);
    let deletes: Vec<&Recorded> = calls
        .iter()
        .filter(|c| c.method == Method::DELETE)
        .collect();
    assert_eq!(deletes.len(), 2);
    for delete in deletes {
        assert_eq!(delete.path, format!("{JOBS}/lt-4f1c2a9be07d"));
        assert_eq!(delete.content_type, "application/json");
        assert_eq!(
            delete.body,
            json!({ "propagationPolicy": "Foreground", "gracePeriodSeconds": 0 })
        );
    }
}

#[tokio::test]
async fn pods_are_read_from_the_jobs_status() {
    let (server, launcher) = stand_in().await;
    let handle = launcher.launch(&spec(), TOKEN).await.unwrap();
    server
        .lock()
        .unwrap()
        .objects
        .get_mut(&format!("{JOBS}/lt-4f1c2a9be07d"))
        .unwrap()["status"] = json!({ "active": 2, "ready": 2, "succeeded": 0, "failed": 1 });
    let pods = launcher.pods(&handle).await.unwrap();
    assert_eq!(
        (pods.expected, pods.active, pods.ready, pods.failed),
        (3, 2, 2, 1)
    );
    assert!(pods.has_failed());
    let last = calls(&server).pop().unwrap();
    assert_eq!(
        (last.method, last.path),
        (Method::GET, format!("{JOBS}/lt-4f1c2a9be07d"))
    );

    launcher.delete(&handle).await.unwrap();
    let gone = launcher.pods(&handle).await.unwrap_err();
    assert_eq!(gone.status_code(), Some(404));
    assert!(
        gone.to_string()
            .contains("reading Job lt-4f1c2a9be07d in namespace perf: the Kubernetes API answered 404 NotFound: jobs.batch \"lt-4f1c2a9be07d\" not found"),
        "{gone}"
    );
}

#[tokio::test]
async fn a_forbidden_job_names_the_role_it_needs_and_leaves_no_secret_behind() {
    let (server, launcher) = stand_in().await;
    server
        .lock()
        .unwrap()
        .forbidden
        .push((Method::POST, JOBS.to_string()));
    let e = launcher.launch(&spec(), TOKEN).await.unwrap_err();
    assert!(matches!(e, LaunchError::Forbidden { .. }), "{e:?}");
    let text = e.to_string();
    for expected in [
        "creating Job lt-4f1c2a9be07d in namespace perf: forbidden:",
        "cannot create resource \"jobs\" in API group \"batch\"",
        "needs the Role `load-tester-launcher` allowing `create` on `jobs` in namespace perf",
    ] {
        assert!(text.contains(expected), "`{expected}` missing in: {text}");
    }
    assert!(!text.contains(TOKEN) && !format!("{e:?}").contains(TOKEN));
    // The Secret created first is deleted again.
    let calls = calls(&server);
    let last = calls.last().unwrap();
    assert_eq!(
        (&last.method, last.path.as_str()),
        (
            &Method::DELETE,
            "/api/v1/namespaces/perf/secrets/lt-4f1c2a9be07d-token"
        )
    );
    assert!(server.lock().unwrap().objects.is_empty());
}

#[tokio::test]
async fn a_refused_owner_patch_deletes_the_job_and_the_secret() {
    let (server, launcher) = stand_in().await;
    server
        .lock()
        .unwrap()
        .forbidden
        .push((Method::PATCH, SECRETS.to_string()));
    let e = launcher.launch(&spec(), TOKEN).await.unwrap_err();
    assert!(
        e.to_string().contains("allowing `patch` on `secrets`"),
        "{e}"
    );
    assert!(server.lock().unwrap().objects.is_empty());
    let methods: Vec<Method> = calls(&server).into_iter().map(|c| c.method).collect();
    assert_eq!(
        methods,
        [
            Method::POST,
            Method::POST,
            Method::PATCH,
            Method::DELETE,
            Method::DELETE
        ]
    );
}

#[tokio::test]
async fn an_existing_secret_is_reported_with_the_apis_message() {
    let (_server, launcher) = stand_in().await;
    launcher.launch(&spec(), TOKEN).await.unwrap();
    let e = launcher.launch(&spec(), TOKEN).await.unwrap_err();
    assert_eq!(e.status_code(), Some(409));
    assert!(
        e.to_string().starts_with(
            "creating Secret lt-4f1c2a9be07d-token in namespace perf: the Kubernetes API answered 409 AlreadyExists"
        ),
        "{e}"
    );
}

#[tokio::test]
async fn a_bad_spec_makes_no_call() {
    let (server, launcher) = stand_in().await;
    let mut spec = spec();
    spec.generators = 0;
    let e = launcher.launch(&spec, TOKEN).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "generators on Kubernetes: generators: must be at least 1"
    );
    spec.generators = 1;
    let e = launcher.launch(&spec, " ").await.unwrap_err();
    assert_eq!(e.to_string(), "generators on Kubernetes: token: is empty");
    assert!(calls(&server).is_empty());
}
