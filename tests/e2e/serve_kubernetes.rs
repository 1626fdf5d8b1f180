//! Sessions whose generators the server does not start itself: launcher `kubernetes` (an
//! Indexed Job created through the Kubernetes API and deleted at the session's end) and
//! launcher `external` (generators someone else starts, joining with the server's configured
//! token). Real `load-tester serve`, real `load-tester worker --connect` processes, a recording
//! target, all on loopback.
//!
//! No cluster can run where this is tested: the server talks, through a kubeconfig, to a
//! stand-in cluster: the stand-in API server of `lt_testkit::kube_api` with a kubelet that runs
//! each pod of a created Job as the real generator process, from the pod template's command,
//! arguments and environment (the token resolved from the created Secret, its Secret volumes
//! written to files, `JOB_COMPLETION_INDEX` set), and kills them when the Job is deleted.

mod common;
mod control;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use control::{Server, external_generator};
use lt_testkit::kube_api::{self, Kubelet, Method, Shared};
use lt_testkit::{Fixture, Mode};
use serde_json::{Value, json};

const NAMESPACE: &str = "perf";
const JOBS: &str = "/apis/batch/v1/namespaces/perf/jobs";
const SECRETS: &str = "/api/v1/namespaces/perf/secrets";

/// One generator pod: the real process.
struct Pod {
    job: String,
    child: Child,
}

/// The stand-in's nodes: every pod it started, and whether it starts them at all (a cluster
/// that cannot pull the image does not).
struct Nodes {
    logs: PathBuf,
    start_pods: bool,
    pods: Vec<Pod>,
    created: Vec<Value>,
}

#[derive(Clone)]
struct Cluster(Arc<Mutex<Nodes>>);

impl Cluster {
    fn new(logs: &Path, start_pods: bool) -> Cluster {
        Cluster(Arc::new(Mutex::new(Nodes {
            logs: logs.to_path_buf(),
            start_pods,
            pods: Vec::new(),
            created: Vec::new(),
        })))
    }

    /// Pods whose process still runs.
    fn running(&self) -> usize {
        let mut nodes = self.0.lock().unwrap();
        let mut running = 0;
        for pod in &mut nodes.pods {
            if matches!(pod.child.try_wait(), Ok(None)) {
                running += 1;
            }
        }
        running
    }

    /// Waits until no pod's process runs.
    async fn wait_no_pods(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.running() > 0 {
            assert!(
                Instant::now() < deadline,
                "generator pods still run after {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for pod in &mut self.pods {
            let _ = pod.child.kill();
            let _ = pod.child.wait();
        }
    }
}

/// The value under `key` of the Secret `name` of the namespace.
fn secret_value(
    objects: &BTreeMap<String, Value>,
    namespace: &str,
    name: &Value,
    key: &Value,
) -> Vec<u8> {
    let path = format!(
        "/api/v1/namespaces/{namespace}/secrets/{}",
        name.as_str().unwrap()
    );
    let data = objects[&path]["data"][key.as_str().unwrap()]
        .as_str()
        .unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap()
}

/// A container's environment as the kubelet gives it: values, and `secretKeyRef`s resolved
/// from the Secrets of the namespace.
fn container_env(
    container: &Value,
    namespace: &str,
    objects: &BTreeMap<String, Value>,
) -> Vec<(String, String)> {
    let mut env = Vec::new();
    for var in container["env"].as_array().into_iter().flatten() {
        let name = var["name"].as_str().unwrap().to_string();
        if let Some(value) = var["value"].as_str() {
            env.push((name, value.to_string()));
        } else if let Some(key_ref) = var["valueFrom"]["secretKeyRef"].as_object() {
            let value = secret_value(objects, namespace, &key_ref["name"], &key_ref["key"]);
            env.push((name, String::from_utf8(value).unwrap()));
        }
    }
    env
}

/// The container's Secret volumes as the kubelet mounts them, written under `root` (a real
/// kubelet mounts them at their `mountPath`; the stand-in cannot write there, so it returns
/// each mount path with the folder standing for it).
fn secret_mounts(
    job: &Value,
    root: &Path,
    namespace: &str,
    objects: &BTreeMap<String, Value>,
) -> Vec<(String, PathBuf)> {
    let pod = &job["spec"]["template"]["spec"];
    let mut mounts = Vec::new();
    for mount in pod["containers"][0]["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = mount["name"].as_str().unwrap();
        let volume = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .unwrap();
        let secret = &volume["secret"];
        let folder = root.join(name);
        std::fs::create_dir_all(&folder).unwrap();
        for item in secret["items"].as_array().unwrap() {
            let bytes = secret_value(objects, namespace, &secret["secretName"], &item["key"]);
            std::fs::write(folder.join(item["path"].as_str().unwrap()), bytes).unwrap();
        }
        mounts.push((mount["mountPath"].as_str().unwrap().to_string(), folder));
    }
    mounts
}

impl Kubelet for Cluster {
    fn job_created(&mut self, job: &Value, objects: &BTreeMap<String, Value>) {
        let mut nodes = self.0.lock().unwrap();
        nodes.created.push(job.clone());
        if !nodes.start_pods {
            return;
        }
        let name = job["metadata"]["name"].as_str().unwrap().to_string();
        let namespace = job["metadata"]["namespace"].as_str().unwrap();
        let container = &job["spec"]["template"]["spec"]["containers"][0];
        let mounts = secret_mounts(
            job,
            &nodes.logs.join(format!("{name}-volumes")),
            namespace,
            objects,
        );
        // Paths into a mounted volume point at the folder standing for it.
        let env: Vec<(String, String)> = container_env(container, namespace, objects)
            .into_iter()
            .map(|(key, value)| {
                let local = mounts.iter().find_map(|(mount, folder)| {
                    let rest = value.strip_prefix(mount.as_str())?;
                    Some(format!("{}{rest}", folder.display()))
                });
                (key, local.unwrap_or(value))
            })
            .collect();
        let command: Vec<&str> = container["command"]
            .as_array()
            .unwrap()
            .iter()
            .chain(container["args"].as_array().unwrap())
            .map(|a| a.as_str().unwrap())
            .collect();
        // The image's `load-tester` is the binary under test.
        assert_eq!(command[0], "load-tester");
        for index in 0..job["spec"]["completions"].as_u64().unwrap() {
            let log =
                std::fs::File::create(nodes.logs.join(format!("{name}-{index}.log"))).unwrap();
            let child = std::process::Command::new(common::BIN)
                .args(&command[1..])
                .env_clear()
                .envs(env.iter().cloned())
                .env("JOB_COMPLETION_INDEX", index.to_string())
                .env("LT_LOG", "info")
                .stdin(Stdio::null())
                .stdout(Stdio::from(log.try_clone().unwrap()))
                .stderr(Stdio::from(log))
                .spawn()
                .unwrap();
            nodes.pods.push(Pod {
                job: name.clone(),
                child,
            });
        }
    }

    fn job_deleted(&mut self, job: &Value) {
        let name = job["metadata"]["name"].as_str().unwrap();
        let mut nodes = self.0.lock().unwrap();
        for pod in nodes.pods.iter_mut().filter(|p| p.job == name) {
            let _ = pod.child.kill();
            let _ = pod.child.wait();
        }
    }

    fn job_status(&mut self, job: &Value) -> Option<Value> {
        let name = job["metadata"]["name"].as_str().unwrap();
        let expected = job["spec"]["completions"].as_u64().unwrap();
        let mut nodes = self.0.lock().unwrap();
        if !nodes.start_pods {
            // Pods scheduled, their image never pulled: active, never ready.
            return Some(json!({ "active": expected, "ready": 0 }));
        }
        let (mut active, mut succeeded, mut failed) = (0, 0, 0);
        for pod in nodes.pods.iter_mut().filter(|p| p.job == name) {
            match pod.child.try_wait() {
                Ok(None) => active += 1,
                Ok(Some(s)) if s.success() => succeeded += 1,
                _ => failed += 1,
            }
        }
        Some(json!({ "active": active, "ready": active, "succeeded": succeeded, "failed": failed }))
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server whose launcher is `kubernetes`, its client configured (kubeconfig) for the
/// stand-in cluster, its generators dialing its generator listener on loopback.
async fn kubernetes_server(
    dir: &Path,
    start_pods: bool,
    extra: &[(&str, &str)],
) -> (Server, Shared, Cluster) {
    let cluster = Cluster::new(dir, start_pods);
    let (api, addr) = kube_api::start(Some(Box::new(cluster.clone()))).await;
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, kube_api::kubeconfig(addr, NAMESPACE)).unwrap();
    let server = start_on_cluster(dir, extra).await;
    (server, api, cluster)
}

/// `load-tester serve` with its data in `dir/data`, for the cluster of `dir/kubeconfig`.
async fn start_on_cluster(dir: &Path, extra: &[(&str, &str)]) -> Server {
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let tls = extra
        .iter()
        .any(|(k, _)| k.starts_with("LT_GENERATORS__TLS__"));
    let url = format!("{}://127.0.0.1:{port}", if tls { "tls" } else { "tcp" });
    let kubeconfig = dir.join("kubeconfig").display().to_string();
    let mut env = vec![
        ("KUBECONFIG", kubeconfig.as_str()),
        ("LT_GENERATORS__LAUNCHER", "kubernetes"),
        ("LT_GENERATORS__BIND", bind.as_str()),
        ("LT_GENERATORS__KUBERNETES__NAMESPACE", NAMESPACE),
        ("LT_GENERATORS__KUBERNETES__COORDINATOR_URL", url.as_str()),
    ];
    env.extend_from_slice(extra);
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    Server::start(&data, &env).await
}

/// A scenario for `generators` generators against the fixture: `a` (weight 3) and `b`.
fn yaml(target: &str, users: u32, generators: u32, duration: &str) -> String {
    format!(
        "name: on-kubernetes\ntarget: {target}\nload:\n  users: {users}\n  generators: {generators}\n  \
         duration: {duration}\n  think_time: {{ min: 20ms, max: 40ms }}\nendpoints:\n  \
         - {{ name: a, path: /e/a, weight: 3 }}\n  - {{ name: b, path: /e/b, weight: 1 }}\n\
         protection:\n  max_errors_per_minute: off\n"
    )
}

fn calls(api: &Shared, method: Method, path: &str) -> Vec<Value> {
    api.lock()
        .unwrap()
        .calls
        .iter()
        .filter(|c| c.method == method && c.path == path)
        .map(|c| c.body.clone())
        .collect()
}

/// The server's log file (everything it logged).
fn server_log(server: &Server) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(server.data_dir.join("logs"))
        .unwrap()
        .flatten()
    {
        text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_runs_as_an_indexed_job_that_is_deleted_at_its_end() {
    let target = Fixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (server, api, cluster) = kubernetes_server(dir.path(), true, &[]).await;
    let id = server.start_session(&yaml(&target.url(), 6, 3, "4s")).await;
    let s = server
        .wait_status(&id, "completed", Duration::from_secs(90))
        .await;

    // The Secret, then the Job: in the configured namespace, 3 pods, the token by reference.
    let job_name = format!("lt-{id}");
    let secrets = calls(&api, Method::POST, SECRETS);
    assert_eq!(secrets.len(), 1);
    let token = base64::engine::general_purpose::STANDARD
        .decode(secrets[0]["data"]["token"].as_str().unwrap())
        .unwrap();
    let token = String::from_utf8(token).unwrap();
    assert!(token.len() >= 32);
    let jobs = calls(&api, Method::POST, JOBS);
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(job["metadata"]["name"], job_name.as_str());
    assert_eq!(job["metadata"]["namespace"], NAMESPACE);
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    assert_eq!(job["spec"]["parallelism"], 3);
    assert_eq!(job["spec"]["completions"], 3);
    assert!(!job.to_string().contains(&token));

    // Deleted at the end (foreground), and with it the Secret: nothing is left.
    let deletes = calls(&api, Method::DELETE, &format!("{JOBS}/{job_name}"));
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    assert_eq!(deletes[0]["propagationPolicy"], "Foreground");
    let left: Vec<String> = api.lock().unwrap().objects.keys().cloned().collect();
    assert!(left.is_empty(), "{left:?}");
    cluster.wait_no_pods(Duration::from_secs(5)).await;

    // The merged session is what the target received.
    let received = target.received().len() as u64;
    assert!(received > 50, "{received}");
    assert_eq!(s["summary"]["requests"].as_u64(), Some(received), "{s}");

    // The token is in no answer and no log.
    let answers = [
        server.get(&format!("/api/sessions/{id}")).await,
        server.get("/api/settings").await,
    ];
    for answer in answers {
        assert!(!answer.to_string().contains(&token), "{answer}");
    }
    assert!(!server_log(&server).contains(&token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_deletes_the_job_of_the_session_it_lost() {
    let target = Fixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (server, api, cluster) = kubernetes_server(dir.path(), true, &[]).await;
    let id = server.start_session(&yaml(&target.url(), 6, 3, "5m")).await;
    server
        .wait_status(&id, "running", Duration::from_secs(60))
        .await;
    let job = format!("{JOBS}/lt-{id}");
    assert!(api.lock().unwrap().objects.contains_key(&job));

    // The server dies with its coordinator; the Job and its pods are left behind.
    server.kill9().await;
    assert!(calls(&api, Method::DELETE, &job).is_empty());

    // Started again on the same data, it ends the session `interrupted` and deletes the Job.
    let server = start_on_cluster(dir.path(), &[]).await;
    let s = server
        .wait_status(&id, "interrupted", Duration::from_secs(10))
        .await;
    assert!(s["reason"].as_str().unwrap().contains("restarted"), "{s}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while calls(&api, Method::DELETE, &job).is_empty() {
        assert!(Instant::now() < deadline, "the Job was not deleted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cluster.wait_no_pods(Duration::from_secs(5)).await;
    let left: Vec<String> = api.lock().unwrap().objects.keys().cloned().collect();
    assert!(left.is_empty(), "{left:?}");
}

/// The test certificates (`tests/e2e/tls`): an authority, and a certificate it signed for
/// 127.0.0.1.
const TLS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/e2e/tls");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_trust_the_listener_by_the_authority_in_their_secret() {
    let target = Fixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, ca) = (
        format!("{TLS_DIR}/server.pem"),
        format!("{TLS_DIR}/server.key"),
        format!("{TLS_DIR}/ca.pem"),
    );
    let (server, api, cluster) = kubernetes_server(
        dir.path(),
        true,
        &[
            ("LT_GENERATORS__TLS__CERT_FILE", cert.as_str()),
            ("LT_GENERATORS__TLS__KEY_FILE", key.as_str()),
            ("LT_GENERATORS__TLS__CA_FILE", ca.as_str()),
        ],
    )
    .await;
    let id = server.start_session(&yaml(&target.url(), 4, 2, "3s")).await;
    let s = server
        .wait_status(&id, "completed", Duration::from_secs(90))
        .await;

    // The authority travelled in the session's Secret and is mounted where the generators look.
    let secret = &calls(&api, Method::POST, SECRETS)[0];
    let sent = base64::engine::general_purpose::STANDARD
        .decode(secret["data"]["ca.crt"].as_str().unwrap())
        .unwrap();
    assert_eq!(sent, std::fs::read(&ca).unwrap());
    let job = &calls(&api, Method::POST, JOBS)[0];
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    assert!(container["args"][2].as_str().unwrap().starts_with("tls://"));
    let env = container["env"].to_string();
    assert!(
        env.contains("/etc/load-tester/generator-tls/ca.crt"),
        "{env}"
    );

    // The listener speaks TLS only, so the pods' requests arriving means they trusted it.
    let received = target.received().len() as u64;
    assert!(received > 10, "{received}");
    assert_eq!(s["summary"]["requests"].as_u64(), Some(received), "{s}");
    cluster.wait_no_pods(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emergency_stop_silences_the_pods_and_deletes_the_job() {
    let target = Fixture::start().await;
    target.set("hang", Mode::Hang);
    let dir = tempfile::tempdir().unwrap();
    let (server, api, cluster) = kubernetes_server(dir.path(), true, &[]).await;
    let hanging = format!(
        "name: on-kubernetes-hang\ntarget: {}\nload:\n  users: 6\n  generators: 3\n  duration: 5m\n  \
         think_time: {{ min: 20ms, max: 40ms }}\nendpoints:\n  - {{ name: a, path: /e/a }}\n  \
         - {{ name: hang, path: /e/hang }}\nprotection:\n  max_errors_per_minute: off\n",
        target.url()
    );
    let id = server.start_session(&hanging).await;
    server
        .wait_status(&id, "running", Duration::from_secs(60))
        .await;
    target.wait_for_each(&["a", "hang"]).await;
    assert_eq!(cluster.running(), 3);
    let (status, body) = server.call("POST", "/api/emergency-stop", None).await;
    let returned = Instant::now();
    assert_eq!(status, 200, "{body}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let late = target
        .received()
        .into_iter()
        .filter(|r| r.at > returned + Duration::from_millis(200))
        .count();
    assert_eq!(late, 0, "requests arrived after the stop");
    let s = server
        .wait_status(&id, "aborted", Duration::from_secs(10))
        .await;
    assert!(
        s["reason"].as_str().unwrap().contains("emergency stop"),
        "{s}"
    );
    // The Job is deleted (in the background), and its pods with it.
    let job = format!("{JOBS}/lt-{id}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while calls(&api, Method::DELETE, &job).is_empty() {
        assert!(Instant::now() < deadline, "the Job was not deleted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cluster.wait_no_pods(Duration::from_secs(5)).await;
    assert!(api.lock().unwrap().objects.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_job_is_a_clear_start_error_and_leaves_nothing() {
    let target = Fixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (server, api, cluster) = kubernetes_server(dir.path(), true, &[]).await;
    api.lock()
        .unwrap()
        .forbidden
        .push((Method::POST, JOBS.to_string()));
    let (status, body) = server
        .call(
            "POST",
            "/api/sessions",
            Some(json!({ "scenario_yaml": yaml(&target.url(), 4, 2, "5s") })),
        )
        .await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["code"], "launch_failed", "{body}");
    let message = body["message"].as_str().unwrap();
    for said in [
        "generators on Kubernetes: creating Job lt-",
        "in namespace perf: forbidden:",
        "cannot create resource \"jobs\" in API group \"batch\"",
        "the Role `load-tester-launcher` allowing `create` on `jobs`",
    ] {
        assert!(message.contains(said), "`{said}` missing in {message}");
    }
    // The Secret created first was deleted; no session runs, none was stored.
    assert!(api.lock().unwrap().objects.is_empty());
    assert_eq!(cluster.running(), 0);
    let sessions = server.get("/api/sessions").await;
    assert_eq!(
        sessions["sessions"].as_array().map(Vec::len),
        Some(0),
        "{sessions}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generators_that_never_join_fail_the_session_with_the_pods_state() {
    let target = Fixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (server, api, _cluster) =
        kubernetes_server(dir.path(), false, &[("LT_GENERATORS__JOIN_TIMEOUT", "2s")]).await;
    let id = server.start_session(&yaml(&target.url(), 4, 2, "5s")).await;
    let s = server
        .wait_status(&id, "failed", Duration::from_secs(30))
        .await;
    let reason = s["reason"].as_str().unwrap();
    for said in [
        "only 0 of 2 generators joined within 2s",
        &format!("job lt-{id} pods: 2 asked: 0 ready, 2 starting"),
    ] {
        assert!(reason.contains(said), "`{said}` missing in {reason}");
    }
    assert!(
        api.lock().unwrap().objects.is_empty(),
        "the Job was deleted"
    );
    assert!(target.received().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_generators_join_with_the_configured_token() {
    let target = Fixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let token = "external-join-token-for-the-e2e-test-0123456789";
    let server = Server::start_external(dir.path(), port, token).await;
    let id = server.start_session(&yaml(&target.url(), 4, 2, "3s")).await;
    // One session waits for the token's generators at a time.
    let (status, body) = server
        .call(
            "POST",
            "/api/sessions",
            Some(json!({ "scenario_yaml": yaml(&target.url(), 4, 2, "3s") })),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "generators_busy", "{body}");

    let generator = |index: u32, token: &str| external_generator(port, index, token);
    // A wrong token is refused by name, without the token.
    let wrong = generator(0, "not-the-configured-token-at-all-0123456789")
        .wait_with_output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert_eq!(wrong.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("wrong token"), "{stderr}");
    assert!(!stderr.contains(token));

    let generators = [generator(0, token), generator(1, token)];
    let s = server
        .wait_status(&id, "completed", Duration::from_secs(60))
        .await;
    for g in generators {
        let out = g.wait_with_output().await.unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let received = target.received().len() as u64;
    assert!(received > 20, "{received}");
    assert_eq!(s["summary"]["requests"].as_u64(), Some(received), "{s}");
    // The settings say which variable holds the token, never the token.
    let settings = server.get("/api/settings").await;
    assert_eq!(
        settings["generators"]["token_env"], "LT_GENERATOR_TOKEN",
        "{settings}"
    );
    assert!(!settings.to_string().contains(token));
    assert!(!server_log(&server).contains(token));
}

#[tokio::test]
async fn a_bad_launcher_setting_stops_the_server_naming_its_key() {
    let dir = tempfile::tempdir().unwrap();

    for (var, value, key) in [
        (
            "LT_GENERATORS__KUBERNETES__NAMESPACE",
            "Perf Team",
            "generators.kubernetes.namespace",
        ),
        ("LT_GENERATORS__LAUNCHER", "cloud", "generators.launcher"),
    ] {
        let out = control::serve_refusing(dir.path(), &[(var, value)]).await;
        assert_ne!(out.code, Some(0), "{}", out.stderr);
        assert!(
            out.stderr.contains(&format!(
                "setting `{key}` (from `LT_*` environment variables)"
            )),
            "{}",
            out.stderr
        );
    }
    // The external launcher without its token in the environment.
    let out = control::serve_refusing(
        dir.path(),
        &[
            ("LT_GENERATORS__LAUNCHER", "external"),
            ("LT_GENERATORS__TOKEN_ENV", "E2E_UNSET_JOIN_TOKEN"),
        ],
    )
    .await;
    assert_ne!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains("setting `generators.token_env`")
            && out
                .stderr
                .contains("E2E_UNSET_JOIN_TOKEN, which is not set"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_kubernetes_client_configuration_is_a_clear_start_error() {
    let target = Fixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-kubeconfig").display().to_string();
    let server = Server::start(
        dir.path(),
        &[
            ("LT_GENERATORS__LAUNCHER", "kubernetes"),
            ("KUBECONFIG", missing.as_str()),
            ("LT_GENERATORS__BIND", &format!("127.0.0.1:{}", free_port())),
        ],
    )
    .await;
    // Not kept when it fails: every start tries again, and says why.
    for _ in 0..2 {
        let (status, body) = server
            .call(
                "POST",
                "/api/sessions",
                Some(json!({ "scenario_yaml": yaml(&target.url(), 4, 2, "5s") })),
            )
            .await;
        assert_eq!(status, 502, "{body}");
        assert_eq!(body["code"], "launch_failed", "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.starts_with("generators on Kubernetes: Kubernetes client configuration:"),
            "{message}"
        );
    }
}
