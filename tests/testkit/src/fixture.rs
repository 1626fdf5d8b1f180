//! A target that does what the test says and remembers what it got.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::any;

/// How an endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 200 with a short body.
    Ok,
    /// This status.
    Status(u16),
    /// 200 after this long.
    Slow(Duration),
    /// Never answers (until the connection is dropped).
    Hang,
    /// Holds every request until this instant, then answers 200: a target that freezes (a GC
    /// pause, a lock) and then serves everything that waited at once.
    StallUntil(Instant),
}

/// One received request.
#[derive(Debug, Clone)]
pub struct Received {
    pub endpoint: String,
    pub traceparent: Option<String>,
    pub baggage: Option<String>,
    pub user_id: Option<String>,
    pub authorization: Option<String>,
    pub at: Instant,
}

#[derive(Debug, Default)]
struct Shared {
    modes: Mutex<HashMap<String, Mode>>,
    received: Mutex<Vec<Received>>,
}

/// A running fixture target; dropped, it stops serving.
#[derive(Debug)]
pub struct Fixture {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Fixture {
    /// Serves `/e/{name}` for any name on a free port; every endpoint answers 200 until told
    /// otherwise.
    pub async fn start() -> Fixture {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/e/{name}", any(handle))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Fixture { addr, shared, task }
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sets how `/e/{endpoint}` answers from now on.
    pub fn set(&self, endpoint: &str, mode: Mode) {
        self.shared
            .modes
            .lock()
            .unwrap()
            .insert(endpoint.to_string(), mode);
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// How many requests each endpoint received.
    pub fn counts(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for r in self.shared.received.lock().unwrap().iter() {
            *counts.entry(r.endpoint.clone()).or_insert(0) += 1;
        }
        counts
    }

    /// Waits until each of `endpoints` received a request; panics with the counts after 30 s.
    pub async fn wait_for_each(&self, endpoints: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while endpoints
            .iter()
            .any(|e| self.counts().get(*e).copied().unwrap_or(0) == 0)
        {
            assert!(Instant::now() < deadline, "{:?}", self.counts());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> (StatusCode, &'static str) {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    shared.received.lock().unwrap().push(Received {
        endpoint: name.clone(),
        traceparent: header("traceparent"),
        baggage: header("baggage"),
        user_id: header("x-user-id"),
        authorization: header("authorization"),
        at: Instant::now(),
    });
    let mode = shared
        .modes
        .lock()
        .unwrap()
        .get(&name)
        .copied()
        .unwrap_or(Mode::Ok);
    match mode {
        Mode::Ok => (StatusCode::OK, "ok"),
        Mode::Status(code) => (
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "status",
        ),
        Mode::Slow(d) => {
            tokio::time::sleep(d).await;
            (StatusCode::OK, "slow")
        }
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            (StatusCode::OK, "late")
        }
        Mode::StallUntil(until) => {
            tokio::time::sleep_until(until.into()).await;
            (StatusCode::OK, "stalled")
        }
    }
}
