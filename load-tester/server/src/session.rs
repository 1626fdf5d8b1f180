//! A session the server is running now: its worker, its live view, and how its events land.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use lt_protocol::{ChangeOutcome, Command, LiveConfig, Tick};
use lt_scenario::LiveChange;
use lt_store::ConfigChange;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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

/// What the server knows of a live session: its status and the worker's last tick. Every live
/// figure (totals, settings in force) is the engine's, as that tick carries it; nothing is
/// re-added here.
#[derive(Debug, Clone)]
pub struct View {
    pub status: Status,
    pub reason: Option<String>,
    pub last_tick: Option<Tick>,
}

/// The worker's answer to a live change, with the changes recorded for it.
#[derive(Debug)]
pub struct ChangeAnswer {
    pub outcome: ChangeOutcome,
    pub recorded: Vec<ConfigChange>,
}

/// A live change sent to the worker and not answered yet.
#[derive(Debug)]
pub struct PendingChange {
    pub who: String,
    pub answer: oneshot::Sender<ChangeAnswer>,
}

/// A running session.
#[derive(Debug)]
pub struct LiveSession {
    pub id: String,
    pub scenario: String,
    /// Endpoint and flow names in weight order (endpoints, then flows).
    pub endpoints: Vec<String>,
    /// Users the worker launched, so the most a live change may ask for.
    pub max_users: u32,
    /// The scenario's settings, in force until the first tick says otherwise.
    initial_config: LiveConfig,
    /// Live changes sent and not answered yet, by command id.
    pending: Mutex<HashMap<u64, PendingChange>>,
    next_change: AtomicU64,
    pid: AtomicU32,
    /// A session run by several generators: the other generators' pids (each its own group).
    other_pids: Mutex<Vec<u32>>,
    /// A session run by several generators: each one as its coordinator last saw it.
    pub generators: crate::generators::HealthBoard,
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
        // What the weights choose among: the endpoints, then the flows.
        let choices = || {
            ["endpoints", "flows"]
                .into_iter()
                .filter_map(|list| config[list].as_array())
                .flatten()
        };
        let endpoints: Vec<String> = choices()
            .filter_map(|e| e["name"].as_str().map(str::to_string))
            .collect();
        let weights = choices()
            .filter_map(|e| Some((e["name"].as_str()?.to_string(), e["weight"].as_f64()?)))
            .collect();
        let load = &config["load"];
        let initial_config = LiveConfig {
            users: load["users"].as_u64().unwrap_or(1) as u32,
            weights,
            think_time: serde_json::from_value(load["think_time"].clone()).unwrap_or_default(),
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
            initial_config,
            pending: Mutex::new(HashMap::new()),
            next_change: AtomicU64::new(1),
            pid: AtomicU32::new(pid),
            other_pids: Mutex::new(Vec::new()),
            generators: Default::default(),
            dir,
            view: Mutex::new(View {
                status,
                reason: None,
                last_tick: None,
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

    /// A session run by several local generators: the first is [`LiveSession::pid`], the
    /// others are kept here.
    pub fn set_other_pids(&self, pids: Vec<u32>) {
        *lock(&self.other_pids) = pids;
    }

    /// SIGKILLs the worker's process group, or every generator's.
    pub fn kill_all(&self) {
        crate::process::kill_group(self.pid());
        for &pid in lock(&self.other_pids).iter() {
            crate::process::kill_group(pid);
        }
    }

    /// Sends a command to the worker (it applies it within a second).
    pub fn send(&self, command: Command) {
        let _ = self.commands.send(command);
    }

    /// Sends a live change to the worker; the receiver gets the worker's verdict once it
    /// answers (or is dropped if the session ends first).
    pub fn send_change(&self, change: LiveChange, who: &str) -> oneshot::Receiver<ChangeAnswer> {
        let id = self.next_change.fetch_add(1, Ordering::Relaxed);
        let (answer, receiver) = oneshot::channel();
        lock(&self.pending).insert(
            id,
            PendingChange {
                who: who.to_string(),
                answer,
            },
        );
        self.send(Command::Change { id, change });
        receiver
    }

    /// Takes the live change the worker just answered, if this server sent it.
    pub fn take_pending(&self, id: u64) -> Option<PendingChange> {
        lock(&self.pending).remove(&id)
    }

    /// The settings in force, as the worker's last tick says (the scenario's before it).
    pub fn config(&self) -> LiveConfig {
        lock(&self.view)
            .last_tick
            .as_ref()
            .map_or_else(|| self.initial_config.clone(), |t| t.config.clone())
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
        lock(&self.view).last_tick = Some(tick.clone());
    }

    /// Waits until the session's worker is gone and its end is recorded.
    pub async fn wait_ended(&self) {
        let mut ended = self.ended.clone();
        let _ = ended.wait_for(|done| *done).await;
    }
}

/// The configuration-history records of an applied live change: one per field it set, old and
/// new as the worker reported them (for weights, only the endpoints it named).
pub fn change_records(session_id: &str, who: &str, outcome: &ChangeOutcome) -> Vec<ConfigChange> {
    if outcome.refused.is_some() {
        return Vec::new();
    }
    let (before, after) = (&outcome.before, &outcome.after);
    fn json<T: Serialize>(value: &T) -> Value {
        serde_json::to_value(value).unwrap_or(Value::Null)
    }
    outcome
        .change
        .fields()
        .into_iter()
        .map(|field| {
            let (old, new) = match field {
                "users" => (json(&before.users), json(&after.users)),
                "weights" => {
                    let named = |config: &LiveConfig| -> std::collections::BTreeMap<String, f64> {
                        outcome
                            .change
                            .weights
                            .iter()
                            .flat_map(|w| w.keys())
                            .filter_map(|k| config.weights.get(k).map(|w| (k.clone(), *w)))
                            .collect()
                    };
                    (json(&named(before)), json(&named(after)))
                }
                "think_time" => (json(&before.think_time), json(&after.think_time)),
                _ => (json(&before.arrival_rate), json(&after.arrival_rate)),
            };
            ConfigChange {
                id: None,
                session_id: Some(session_id.to_string()),
                who: who.to_string(),
                at_ms: outcome.at_ms,
                field: field.to_string(),
                old,
                new,
            }
        })
        .collect()
}

/// Locks, recovering from a poisoned lock (a panicking holder leaves plain data behind).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
