//! A session the server is running now: its worker, its live view, and how its events land.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use lt_protocol::{Command, FailureCounts, Tick};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{mpsc, watch};

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Starting,
    Running,
    Stopping,
    Stopped,
    Completed,
    Aborted,
    Failed,
    Interrupted,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Starting,
        Status::Running,
        Status::Stopping,
        Status::Stopped,
        Status::Completed,
        Status::Aborted,
        Status::Failed,
        Status::Interrupted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Starting => "starting",
            Status::Running => "running",
            Status::Stopping => "stopping",
            Status::Stopped => "stopped",
            Status::Completed => "completed",
            Status::Aborted => "aborted",
            Status::Failed => "failed",
            Status::Interrupted => "interrupted",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the session is over.
    pub fn is_final(self) -> bool {
        !matches!(self, Status::Starting | Status::Running | Status::Stopping)
    }
}

/// A session's live settings, as last changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveConfig {
    pub users: u32,
    pub weights: BTreeMap<String, f64>,
    pub think_time: Value,
    pub arrival_rate: Option<f64>,
}

/// One endpoint since the start.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EndpointTotals {
    pub requests: u64,
    pub failures: FailureCounts,
    pub short_circuited: u64,
    /// For `/metrics` only.
    #[serde(skip)]
    pub latency: crate::latency_totals::LatencyTotals,
}

/// What the API shows of a live session.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    pub status: Status,
    pub reason: Option<String>,
    pub config: LiveConfig,
    pub last_tick: Option<Tick>,
    pub totals: BTreeMap<String, EndpointTotals>,
}

/// A running session.
#[derive(Debug)]
pub struct LiveSession {
    pub id: String,
    pub scenario: String,
    /// Endpoint names in scenario order.
    pub endpoints: Vec<String>,
    /// Users the worker launched, so the most a live change may ask for.
    pub max_users: u32,
    pid: AtomicU32,
    pub dir: PathBuf,
    pub view: Mutex<View>,
    commands: mpsc::UnboundedSender<Command>,
    ended: watch::Receiver<bool>,
    /// Set by an emergency stop: who asked.
    pub emergency: Mutex<Option<String>>,
    /// Set by a graceful stop: who asked.
    pub stop_requested: Mutex<Option<String>>,
    /// Wakes the worker's task when a graceful stop is asked (it starts the kill timer).
    pub stop_asked: tokio::sync::Notify,
}

/// The ends of a session's channels its worker task keeps.
#[derive(Debug)]
pub struct TaskEnds {
    pub commands: mpsc::UnboundedReceiver<Command>,
    pub ended: watch::Sender<bool>,
}

impl LiveSession {
    /// A live session from its resolved configuration (the redacted scenario JSON).
    pub fn new(
        id: String,
        pid: u32,
        dir: PathBuf,
        config: &Value,
        status: Status,
    ) -> (LiveSession, TaskEnds) {
        let endpoints: Vec<String> = config["endpoints"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|e| e["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let weights = config["endpoints"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|e| Some((e["name"].as_str()?.to_string(), e["weight"].as_f64()?)))
                    .collect()
            })
            .unwrap_or_default();
        let load = &config["load"];
        let live = LiveConfig {
            users: load["users"].as_u64().unwrap_or(1) as u32,
            weights,
            think_time: load["think_time"].clone(),
            arrival_rate: load["arrival_rate"].as_f64(),
        };
        let (commands_tx, commands_rx) = mpsc::unbounded_channel();
        let (ended_tx, ended_rx) = watch::channel(false);
        let session = LiveSession {
            id,
            scenario: config["name"].as_str().unwrap_or_default().to_string(),
            endpoints,
            max_users: load["max_users"]
                .as_u64()
                .or(load["users"].as_u64())
                .unwrap_or(1) as u32,
            pid: AtomicU32::new(pid),
            dir,
            view: Mutex::new(View {
                status,
                reason: None,
                config: live,
                last_tick: None,
                totals: BTreeMap::new(),
            }),
            commands: commands_tx,
            ended: ended_rx,
            emergency: Mutex::new(None),
            stop_requested: Mutex::new(None),
            stop_asked: tokio::sync::Notify::new(),
        };
        (
            session,
            TaskEnds {
                commands: commands_rx,
                ended: ended_tx,
            },
        )
    }

    /// The worker's pid (and process group); 0 until it is started.
    pub fn pid(&self) -> u32 {
        self.pid.load(Ordering::Relaxed)
    }

    pub fn set_pid(&self, pid: u32) {
        self.pid.store(pid, Ordering::Relaxed);
    }

    /// Sends a command to the worker (it applies it within a second).
    pub fn send(&self, command: Command) {
        let _ = self.commands.send(command);
    }

    /// A copy of what the API shows.
    pub fn view(&self) -> View {
        lock(&self.view).clone()
    }

    pub fn status(&self) -> Status {
        lock(&self.view).status
    }

    pub fn set_status(&self, status: Status, reason: Option<String>) {
        let mut view = lock(&self.view);
        view.status = status;
        view.reason = reason;
    }

    /// Takes a tick into the view.
    pub fn record_tick(&self, tick: &Tick) {
        let mut view = lock(&self.view);
        for e in &tick.endpoints {
            let totals = view.totals.entry(e.name.clone()).or_default();
            totals.requests += e.requests;
            totals.failures.merge(&e.failures);
            totals.short_circuited += e.short_circuited;
            totals.latency.add(e);
        }
        view.last_tick = Some(tick.clone());
    }

    /// Waits until the session's worker is gone and its end is recorded.
    pub async fn wait_ended(&self) {
        let mut ended = self.ended.clone();
        let _ = ended.wait_for(|done| *done).await;
    }
}

/// Locks, recovering from a poisoned lock (a panicking holder leaves plain data behind).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
