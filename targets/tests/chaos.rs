//! The chaos service over real HTTP on 127.0.0.1:0: every route, every fault (starts, shows in
//! status, ends by itself, ends early on `/chaos/stop`, bad parameters refused), on the embedded
//! store and on real Redis (`TEST_REDIS_URL`), and a Redis killed and restarted under it.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use targets::chaos::{self, ChaosConfig, ChaosState};
use tokio::sync::watch;

struct Chaos {
    url: String,
    client: reqwest::Client,
    state: ChaosState,
    _stop: watch::Sender<bool>,
}

impl Chaos {
    async fn start(redis_url: Option<String>) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let listener = targets::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = ChaosState::new(&ChaosConfig {
            redis_url,
            key_prefix: format!(
                "chaos-test:{}:{}:{:x}:",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed),
                rand::random::<u32>()
            ),
            ..ChaosConfig::default()
        })
        .expect("chaos state");
        let (stop, _) = watch::channel(false);
        targets::spawn_server(listener, chaos::app(state.clone()), &stop);
        Self {
            url,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
            state,
            _stop: stop,
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(body)).await
    }

    async fn status(&self) -> Value {
        let (code, body) = self.get("/chaos/status").await;
        assert_eq!(code, 200, "{body}");
        body
    }

    async fn active(&self) -> Vec<String> {
        self.status().await["faults"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["kind"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Waits (at most 10 s) until no fault of `kind` is active.
    async fn until_ended(&self, kind: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.active().await.iter().any(|k| k == kind) {
            assert!(Instant::now() < deadline, "{kind} did not end by itself");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn redis_url() -> Option<String> {
    match std::env::var("TEST_REDIS_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            eprintln!("skipped: TEST_REDIS_URL not set");
            None
        }
    }
}

async fn routes_work(chaos: &Chaos, store: &str) {
    let (code, first) = chaos.get("/").await;
    assert_eq!(code, 200, "{first}");
    assert_eq!(first["store"], store);
    assert!(first["store_ms"].as_f64().unwrap() >= 0.0);
    let (_, second) = chaos.get("/").await;
    assert_eq!(
        second["visits"].as_i64().unwrap(),
        first["visits"].as_i64().unwrap() + 1
    );

    let (code, body) = chaos
        .call(
            "PUT",
            "/kv/user-1",
            Some(json!({"value": {"name": "Ada", "n": 1}})),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(body["created"], true);
    let (code, body) = chaos
        .call("PUT", "/kv/user-1", Some(json!({"value": "second"})))
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["created"], false);
    let (code, body) = chaos.get("/kv/user-1").await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["value"], "second");
    let (code, body) = chaos.get("/kv/nobody").await;
    assert_eq!(code, 404, "{body}");
    assert_eq!(body["code"], "not_found");
    let long = "k".repeat(201);
    let (code, body) = chaos.get(&format!("/kv/{long}")).await;
    assert_eq!(code, 422, "{body}");
    assert_eq!(body["details"]["problems"][0]["field"], "key");
    let (code, body) = chaos.call("PUT", "/kv/x", Some(json!({"valeu": 1}))).await;
    assert_eq!(code, 422, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("valeu"),
        "{body}"
    );

    let (code, health) = chaos.get("/health").await;
    assert_eq!(code, 200, "{health}");
    assert_eq!(health["store"]["kind"], store);
    assert_eq!(chaos.status().await["store"]["kind"], store);
    let metrics = chaos
        .client
        .get(format!("{}/metrics", chaos.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("targets_chaos_fault_active{service=\"chaos\",kind=\"hang\"} 0"),
        "{metrics}"
    );
    assert!(metrics.contains("targets_http_requests_total{service=\"chaos\",route=\"/kv/{key}\""));
}

#[tokio::test]
async fn routes_answer_on_the_embedded_store() {
    let chaos = Chaos::start(None).await;
    routes_work(&chaos, "embedded").await;
}

#[tokio::test]
async fn routes_answer_on_real_redis() {
    let Some(url) = redis_url() else { return };
    let chaos = Chaos::start(Some(url)).await;
    routes_work(&chaos, "redis").await;
    let status = chaos.status().await;
    assert_eq!(status["store"]["pool"]["max_size"], 50, "{status}");
}

#[tokio::test]
async fn an_error_burst_answers_its_status_then_ends_by_itself_or_on_stop() {
    let chaos = Chaos::start(None).await;
    let (code, body) = chaos
        .post(
            "/chaos/error",
            json!({"rate": 1.0, "status": 503, "seconds": 0.8}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert!(
        body["fault"]["ends_at_ms"].as_u64().unwrap()
            > body["fault"]["started_at_ms"].as_u64().unwrap()
    );
    let (code, body) = chaos.get("/").await;
    assert_eq!(code, 503, "{body}");
    assert_eq!(body["code"], "chaos_error");
    // The control routes are never hit by the error fault.
    assert_eq!(chaos.active().await, ["error"]);
    chaos.until_ended("error").await;
    assert_eq!(chaos.get("/").await.0, 200);

    chaos
        .post("/chaos/error", json!({"rate": 1.0, "seconds": 60}))
        .await;
    assert_eq!(chaos.get("/").await.0, 500);
    let (code, body) = chaos.post("/chaos/stop", json!({})).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["ended"][0]["kind"], "error");
    assert_eq!(chaos.get("/").await.0, 200);
    assert!(chaos.active().await.is_empty());

    // Even a fault far shorter than a request ends by itself.
    chaos
        .post("/chaos/error", json!({"rate": 1.0, "seconds": 0.001}))
        .await;
    chaos.until_ended("error").await;
}

#[tokio::test]
async fn a_hang_holds_requests_until_it_ends_and_stop_releases_them() {
    let chaos = Chaos::start(None).await;
    let (code, body) = chaos.post("/chaos/hang", json!({"seconds": 1.0})).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["fault"]["params"]["scope"], "requests");
    let started = Instant::now();
    let client = chaos.client.clone();
    let url = chaos.url.clone();
    let held = tokio::spawn(async move { client.get(format!("{url}/")).send().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !held.is_finished(),
        "the request was answered during the hang"
    );
    let status = chaos.status().await;
    assert_eq!(status["held_requests"], 1, "{status}");
    let response = held.await.unwrap().expect("released, not refused");
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(800));
    chaos.until_ended("hang").await;

    // A long hang ends early on /chaos/stop, releasing what it held.
    chaos.post("/chaos/hang", json!({"seconds": 120})).await;
    let client = chaos.client.clone();
    let url = chaos.url.clone();
    let held = tokio::spawn(async move { client.get(format!("{url}/health")).send().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!held.is_finished());
    let stopped_at = Instant::now();
    let (_, body) = chaos.post("/chaos/stop", json!({})).await;
    assert_eq!(body["ended"][0]["kind"], "hang");
    let response = tokio::time::timeout(Duration::from_secs(5), held)
        .await
        .expect("released at once")
        .unwrap()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(stopped_at.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_hang_of_scope_all_holds_the_control_routes_too() {
    let chaos = Chaos::start(None).await;
    chaos
        .post("/chaos/hang", json!({"seconds": 0.8, "scope": "all"}))
        .await;
    let started = Instant::now();
    let (code, status) = chaos.get("/chaos/status").await;
    assert_eq!(code, 200);
    assert!(started.elapsed() >= Duration::from_millis(600), "{status}");
    chaos.until_ended("hang").await;
}

async fn dependency_faults(chaos: &Chaos) {
    let (code, body) = chaos
        .post("/chaos/dependency", json!({"state": "down", "seconds": 60}))
        .await;
    assert_eq!(code, 200, "{body}");
    let started = Instant::now();
    let (code, body) = chaos.get("/").await;
    assert_eq!(code, 503, "{body}");
    assert_eq!(body["code"], "dependency_unavailable");
    let (code, body) = chaos.get("/health").await;
    assert_eq!(code, 503, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("check failed"),
        "{body}"
    );
    assert!(started.elapsed() < Duration::from_secs(2), "failed fast");
    let (code, body) = chaos
        .post("/chaos/dependency", json!({"state": "up"}))
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["ended"]["kind"], "dependency");
    assert_eq!(chaos.get("/").await.0, 200);
    assert_eq!(chaos.get("/health").await.0, 200);

    chaos
        .post(
            "/chaos/dependency",
            json!({"state": "slow", "latency_ms": 300, "seconds": 1.5}),
        )
        .await;
    let (code, body) = chaos.get("/").await;
    assert_eq!(code, 200, "{body}");
    assert!(body["store_ms"].as_f64().unwrap() >= 250.0, "{body}");
    chaos.until_ended("dependency").await;
    let (_, body) = chaos.get("/").await;
    assert!(body["store_ms"].as_f64().unwrap() < 250.0, "{body}");

    // Slower than the command timeout: the call gives up and says so.
    chaos
        .post(
            "/chaos/dependency",
            json!({"state": "slow", "latency_ms": 5000, "seconds": 30}),
        )
        .await;
    let (code, body) = chaos.get("/kv/a").await;
    assert_eq!(code, 504, "{body}");
    assert_eq!(body["code"], "dependency_timeout");
    chaos.post("/chaos/stop", json!({})).await;
}

#[tokio::test]
async fn the_dependency_goes_down_or_slow_and_comes_back_on_the_embedded_store() {
    dependency_faults(&Chaos::start(None).await).await;
}

#[tokio::test]
async fn the_dependency_goes_down_or_slow_and_comes_back_on_real_redis() {
    let Some(url) = redis_url() else { return };
    dependency_faults(&Chaos::start(Some(url)).await).await;
}

#[tokio::test]
async fn load_burns_until_its_time_is_up_or_stop() {
    let chaos = Chaos::start(None).await;
    let (code, body) = chaos
        .post(
            "/chaos/load",
            json!({"threads": 1, "seconds": 0.5, "intensity": 0.5}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["fault"]["params"]["threads"], 1);
    assert_eq!(chaos.active().await, ["load"]);
    assert_eq!(chaos.get("/").await.0, 200);
    chaos.until_ended("load").await;
    chaos
        .post(
            "/chaos/load",
            json!({"threads": 1, "seconds": 60, "intensity": 0.2}),
        )
        .await;
    let (_, body) = chaos.post("/chaos/stop", json!({})).await;
    assert_eq!(body["ended"][0]["kind"], "load");
    assert!(chaos.active().await.is_empty());
    assert!(
        !chaos
            .state
            .faults()
            .is_active(chaos::faults::FaultKind::Load)
    );
}

#[tokio::test]
async fn several_faults_show_together_and_stop_ends_them_all() {
    let chaos = Chaos::start(None).await;
    chaos
        .post("/chaos/error", json!({"rate": 0.1, "seconds": 60}))
        .await;
    chaos
        .post(
            "/chaos/dependency",
            json!({"state": "slow", "latency_ms": 10, "seconds": 60}),
        )
        .await;
    // A second error fault replaces the first.
    let (_, body) = chaos
        .post("/chaos/error", json!({"rate": 0.2, "seconds": 60}))
        .await;
    assert_eq!(body["replaced"]["params"]["rate"], 0.1);
    let status = chaos.status().await;
    let faults = status["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 2, "{status}");
    for fault in faults {
        assert!(fault["ends_at_ms"].as_u64().unwrap() > fault["started_at_ms"].as_u64().unwrap());
        assert!(fault["remaining_s"].as_f64().unwrap() > 50.0);
    }
    let (_, body) = chaos.post("/chaos/stop", json!({})).await;
    assert_eq!(body["ended"].as_array().unwrap().len(), 2);
    assert!(chaos.active().await.is_empty());
}

#[tokio::test]
async fn bad_parameters_are_refused_naming_the_field_and_the_bound() {
    let chaos = Chaos::start(None).await;
    let cores = std::thread::available_parallelism().unwrap().get();
    let cases = [
        (
            "/chaos/load",
            json!({"seconds": 0}),
            "seconds",
            "at most 300",
        ),
        (
            "/chaos/load",
            json!({"seconds": 301}),
            "seconds",
            "at most 300",
        ),
        (
            "/chaos/load",
            json!({"threads": 0}),
            "threads",
            "must be 1 to",
        ),
        (
            "/chaos/load",
            json!({"threads": cores + 1}),
            "threads",
            "cores",
        ),
        (
            "/chaos/load",
            json!({"intensity": 1.5}),
            "intensity",
            "at most 1",
        ),
        (
            "/chaos/hang",
            json!({"seconds": -1}),
            "seconds",
            "more than 0",
        ),
        ("/chaos/hang", json!({"scope": "some"}), "scope", "all"),
        (
            "/chaos/dependency",
            json!({"state": "sideways"}),
            "state",
            "down",
        ),
        (
            "/chaos/dependency",
            json!({"state": "slow", "latency_ms": 0}),
            "latency_ms",
            "30000",
        ),
        (
            "/chaos/dependency",
            json!({"state": "down", "latency_ms": 5}),
            "latency_ms",
            "only with state slow",
        ),
        (
            "/chaos/dependency",
            json!({"state": "up", "seconds": 5}),
            "seconds",
            "not allowed",
        ),
        ("/chaos/error", json!({"rate": 0}), "rate", "at most 1"),
        (
            "/chaos/error",
            json!({"status": 200}),
            "status",
            "400 to 599",
        ),
        (
            "/chaos/error",
            json!({"rate": 0.5, "sconds": 3}),
            "",
            "sconds",
        ),
    ];
    for (path, body, field, bound) in cases {
        let (code, answer) = chaos.post(path, body.clone()).await;
        assert_eq!(code, 422, "{path} {body}: {answer}");
        assert_eq!(answer["code"], "validation", "{answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(field), "{path} {body}: {message}");
        assert!(message.contains(bound), "{path} {body}: {message}");
    }
    let (code, _) = chaos.post("/chaos/dependency", json!({})).await;
    assert_eq!(code, 422);
    assert!(chaos.active().await.is_empty(), "nothing was started");
}

/// A `redis-server` of this test's own on a free port.
struct OwnRedis {
    port: u16,
    child: Option<tokio::process::Child>,
}

impl OwnRedis {
    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    async fn start(port: u16) -> Option<Self> {
        let child = tokio::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn();
        let Ok(child) = child else {
            eprintln!("skipped: redis-server cannot be started");
            return None;
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen on {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(Self {
            port,
            child: Some(child),
        })
    }

    async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }
}

#[tokio::test]
async fn a_redis_killed_mid_run_fails_fast_and_recovers_when_it_restarts() {
    if redis_url().is_none() {
        return;
    }
    let port = OwnRedis::free_port();
    let Some(mut redis) = OwnRedis::start(port).await else {
        return;
    };
    let chaos = Chaos::start(Some(format!("redis://127.0.0.1:{}", redis.port))).await;
    assert_eq!(chaos.get("/").await.0, 200);
    assert_eq!(chaos.get("/health").await.0, 200);

    redis.kill().await;
    let started = Instant::now();
    let (code, body) = chaos.get("/health").await;
    assert_eq!(code, 503, "{body}");
    assert_eq!(body["code"], "dependency_unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "health took {:?}",
        started.elapsed()
    );
    let started = Instant::now();
    let (code, body) = chaos.get("/").await;
    assert!(code == 503 || code == 504, "{code} {body}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "/ took {:?}",
        started.elapsed()
    );

    let _restarted = OwnRedis::start(port).await.expect("restart");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (health, _) = chaos.get("/health").await;
        let (root, _) = chaos.get("/").await;
        if health == 200 && root == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "did not recover: /health {health}, / {root}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
