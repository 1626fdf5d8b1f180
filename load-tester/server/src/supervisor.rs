//! Runs each session in its own worker process and never loses control of one.
//!
//! A worker is `load-tester worker`, started in its own process group with the session's
//! [`Launch`] on stdin; it listens on a Unix socket in the session's folder and we connect to it.
//! Events come back as versioned JSON lines; commands go the other way. Graceful stop sends
//! `stop` and kills after `stop_timeout`; emergency stop SIGKILLs every group at once and
//! returns once every worker is gone. After a restart, sessions the store says were running are
//! re-attached through their socket, or ended `interrupted` (and any orphan killed).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lt_protocol::{Command, EndReason, Launch, LifecycleState, Report, WorkerEvent};
use lt_store::{NewSession, Store};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::process::Child;

use crate::api::model::{ChangeEvent, LifecycleEvent};
use crate::blocking::off_runtime;
use crate::hub::{Hub, Kind};
use crate::live_settings::LiveSettings;
use crate::process::{kill_group, wait_gone};
use crate::scenario_env::ScenarioEnv;
use crate::session::{LiveSession, Status, TaskEnds, lock};
use crate::time::now_ms;

mod recovery;

pub use recovery::RecoverCounts;

/// How long a new worker has to open its socket.
const CONNECT_LIMIT: Duration = Duration::from_secs(15);
/// How long emergency stop waits for a killed worker to be gone.
const KILL_LIMIT: Duration = Duration::from_secs(5);

/// A worker's line stream: its Unix socket, or a coordinator of several generators.
trait WorkerLink: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> WorkerLink for T {}
type Link = Box<dyn WorkerLink>;

/// A session to start, already validated.
#[derive(Debug)]
pub struct StartRequest {
    pub source: String,
    pub yaml: String,
    pub overrides: lt_scenario::Overrides,
    pub scenario: lt_scenario::Scenario,
    pub who: String,
    /// The scenario's files for its generators' welcomes (none for a one-process session).
    pub files: crate::generators::WelcomeFiles,
}

/// Why a session could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("max_sessions: {running} sessions are running, the cap is {cap}")]
    TooMany { running: usize, cap: u32 },
    #[error("{0}")]
    Io(String),
    /// The launcher could not start the generators (the Kubernetes call that failed and the
    /// API's message, or no client configuration, or no external token).
    #[error("{0}")]
    Launch(String),
    /// Another session waits for generators joining with the same token (launcher `external`).
    #[error("{0}")]
    Busy(String),
    #[error(transparent)]
    Store(#[from] lt_store::StoreError),
}

/// The sessions this server runs.
#[derive(Debug)]
pub struct Supervisor {
    settings: Arc<LiveSettings>,
    store: Store,
    hub: Arc<Hub>,
    exe: PathBuf,
    data_dir: PathBuf,
    scenario_env: ScenarioEnv,
    sessions: Mutex<HashMap<String, Arc<LiveSession>>>,
    /// Sessions waiting for their network generators.
    generators: Arc<crate::generators::Registry>,
    /// The Kubernetes client, built at the first session on Kubernetes.
    kubernetes: crate::generators::KubernetesClient,
}

impl Supervisor {
    pub fn new(
        settings: Arc<LiveSettings>,
        store: Store,
        hub: Arc<Hub>,
        exe: PathBuf,
        data_dir: PathBuf,
        scenario_env: ScenarioEnv,
    ) -> Arc<Supervisor> {
        Arc::new(Supervisor {
            settings,
            store,
            hub,
            exe,
            data_dir,
            scenario_env,
            sessions: Mutex::new(HashMap::new()),
            generators: Arc::default(),
            kubernetes: Default::default(),
        })
    }

    /// The variables a scenario's `{{ env.NAME }}` templates read on this server.
    pub fn scenario_env(&self) -> lt_scenario::Env {
        self.scenario_env
            .env(&self.settings.get().generators.token_env)
    }

    /// The folder of session `id` (its reports and worker log).
    pub fn session_dir(&self, id: &str) -> PathBuf {
        self.data_dir.join("sessions").join(id)
    }

    /// The live session `id`, if it is running here.
    pub fn get(&self, id: &str) -> Option<Arc<LiveSession>> {
        lock(&self.sessions).get(id).cloned()
    }

    /// Every live session.
    pub fn all(&self) -> Vec<Arc<LiveSession>> {
        let mut all: Vec<_> = lock(&self.sessions).values().cloned().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// Starts a worker for `request`; the session is `starting` until the worker reports.
    pub async fn start(
        self: &Arc<Self>,
        request: StartRequest,
    ) -> Result<Arc<LiveSession>, StartError> {
        let id = new_session_id();
        let dir = self.session_dir(&id);
        std::fs::create_dir_all(&dir)
            .map_err(|e| StartError::Io(format!("creating {}: {e}", dir.display())))?;
        let socket = socket_path(&dir, &id);
        let config = serde_json::to_value(&request.scenario).unwrap_or(Value::Null);
        let (session, ends) = {
            let mut sessions = lock(&self.sessions);
            let running = sessions.len();
            let cap = self.settings.get().max_sessions;
            if running >= cap as usize {
                return Err(StartError::TooMany { running, cap });
            }
            let (session, ends) =
                LiveSession::new(id.clone(), 0, dir.clone(), &config, Status::Starting);
            let session = Arc::new(session);
            sessions.insert(id.clone(), Arc::clone(&session));
            (session, ends)
        };
        let started = if request.scenario.load.generators > 1 {
            self.launch_generators(&session, &dir, &request).await
        } else {
            self.spawn_worker(&id, &dir, &socket, &request)
                .await
                .map(|(child, pid)| Started::Worker(child, pid))
        };
        let started = match started {
            Ok(started) => started,
            Err(e) => {
                lock(&self.sessions).remove(&id);
                return Err(e);
            }
        };
        let pid = started.pid();
        session.set_pid(pid);
        if let Started::Generators(launched) = &started {
            session.set_other_pids(launched.pids.iter().skip(1).copied().collect());
        }
        if lock(&session.emergency).is_some() {
            session.kill_all();
        }
        let new = NewSession {
            id: id.clone(),
            scenario: request.scenario.name.clone(),
            source: request.source.clone(),
            target: request.scenario.target.clone(),
            status: Status::Starting.as_str().to_string(),
            created_by: request.who.clone(),
            created_at_ms: now_ms(),
            config_json: config.to_string(),
            overrides_json: serde_json::to_string(&request.overrides).unwrap_or_default(),
        };
        let stored = off_runtime(|| {
            self.store.create_session(&new).and_then(|()| {
                self.store
                    .set_worker(&id, pid, &socket.display().to_string())
            })
        });
        if let Err(e) = stored {
            session.kill_all();
            lock(&self.sessions).remove(&id);
            return Err(e.into());
        }
        self.publish_lifecycle(&id, Status::Starting, None);
        let me = Arc::clone(self);
        let task_session = Arc::clone(&session);
        tokio::spawn(async move {
            match started {
                Started::Worker(mut child, _) => {
                    let link = connect(&socket, &mut child).await;
                    let link = link.map(|s| Box::new(s) as Link);
                    me.drive(task_session, Some(child), link, ends).await;
                }
                Started::Generators(launched) => {
                    let link = Ok(Box::new(launched.link) as Link);
                    me.drive(task_session, None, link, ends).await;
                }
            }
        });
        tracing::info!(session = %id, pid, scenario = %request.scenario.name, "session started");
        Ok(session)
    }

    async fn spawn_worker(
        &self,
        id: &str,
        dir: &Path,
        socket: &Path,
        request: &StartRequest,
    ) -> Result<(Child, u32), StartError> {
        let log = std::fs::File::create(dir.join("worker.log")).map_err(|e| {
            StartError::Io(format!("creating the worker log in {}: {e}", dir.display()))
        })?;
        let log_err = log
            .try_clone()
            .map_err(|e| StartError::Io(format!("the worker log: {e}")))?;
        let mut child = tokio::process::Command::new(&self.exe)
            .envs(self.scenario_env.fill_ins().iter().cloned())
            .env_remove(&self.settings.get().generators.token_env)
            .arg("worker")
            .arg("--socket")
            .arg(socket)
            .arg("--out")
            .arg(dir)
            .arg("--orphan-after")
            .arg(self.settings.get().orphan_after_s.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| StartError::Io(format!("starting {} worker: {e}", self.exe.display())))?;
        let pid = child.id().unwrap_or(0);
        let launch = self.launch_of(id, request);
        if let Some(mut stdin) = child.stdin.take() {
            let text = serde_json::to_string(&launch).unwrap_or_default();
            let written = async {
                stdin.write_all(text.as_bytes()).await?;
                stdin.shutdown().await
            }
            .await;
            if let Err(e) = written {
                kill_group(pid);
                return Err(StartError::Io(format!(
                    "handing the scenario to the worker: {e}"
                )));
            }
        }
        Ok((child, pid))
    }

    /// What a worker (or every generator) of session `id` runs.
    fn launch_of(&self, id: &str, request: &StartRequest) -> Launch {
        Launch {
            session_id: id.to_string(),
            source: request.source.clone(),
            yaml: request.yaml.clone(),
            overrides: request.overrides.clone(),
            // Data files are read inside the scenarios folder, wherever the worker runs from.
            data_dir: std::path::absolute(&self.settings.get().scenarios_dir)
                .ok()
                .map(|p| p.display().to_string()),
        }
    }

    /// Starts a session's generators (by the configured launcher) and its coordinator.
    async fn launch_generators(
        &self,
        session: &LiveSession,
        dir: &Path,
        request: &StartRequest,
    ) -> Result<Started, StartError> {
        let id = session.id.as_str();
        let health = Arc::clone(&session.generators);
        let settings = self.settings.get();
        crate::generators::start(crate::generators::LaunchRequest {
            session_id: id,
            dir,
            exe: &self.exe,
            env: self.scenario_env.fill_ins().to_vec(),
            launch: self.launch_of(id, request),
            files: request.files.clone(),
            scenario: &request.scenario,
            settings: &settings.generators,
            registry: &self.generators,
            kubernetes: &self.kubernetes,
            health,
        })
        .await
        .map(Started::Generators)
    }

    /// Stops `session` gracefully; the worker is killed if it is not done after `stop_timeout`.
    pub fn stop(&self, session: &LiveSession, who: &str) {
        {
            let mut requested = lock(&session.stop_requested);
            if requested.is_some() {
                return;
            }
            *requested = Some(who.to_string());
        }
        session.send(Command::Stop);
        session.stop_asked.notify_one();
        if !session.status().is_final() {
            session.set_status(Status::Stopping, Some(format!("stop requested by {who}")));
            let _ = off_runtime(|| {
                self.store.set_status(
                    &session.id,
                    Status::Stopping.as_str(),
                    Some(&format!("stop requested by {who}")),
                    now_ms(),
                )
            });
            self.publish_lifecycle(
                &session.id,
                Status::Stopping,
                Some(format!("stop requested by {who}")),
            );
        }
    }

    /// Kills every session's worker at once; returns how many, once all are gone and recorded.
    pub async fn emergency_stop(&self, who: &str) -> usize {
        let sessions = self.all();
        for s in &sessions {
            *lock(&s.emergency) = Some(who.to_string());
            // Network generators elsewhere exit on `stop_now`; local ones are killed too.
            s.send(Command::StopNow);
            s.kill_all();
        }
        let waits = sessions.iter().map(|s| async move {
            if tokio::time::timeout(KILL_LIMIT, s.wait_ended()).await.is_err() {
                // Should not happen (SIGKILL cannot be caught); kill again and say so.
                s.kill_all();
                tracing::error!(session = %s.id, pid = s.pid(), "a worker outlived SIGKILL for {KILL_LIMIT:?}");
            }
        });
        futures_util::future::join_all(waits).await;
        tracing::warn!(count = sessions.len(), by = who, "emergency stop");
        sessions.len()
    }

    /// Stops every session gracefully (server shutdown) and waits, bounded by `stop_timeout`.
    pub async fn shutdown(&self) {
        let sessions = self.all();
        for s in &sessions {
            self.stop(s, "server shutdown");
        }
        let limit = self.settings.get().stop_timeout() + Duration::from_secs(2);
        for s in &sessions {
            if tokio::time::timeout(limit, s.wait_ended()).await.is_err() {
                s.kill_all();
            }
        }
    }

    /// Follows one worker until it is gone, then records how the session ended.
    async fn drive(
        self: Arc<Self>,
        session: Arc<LiveSession>,
        mut child: Option<Child>,
        link: Result<Link, String>,
        mut ends: TaskEnds,
    ) {
        let mut report: Option<Report> = None;
        let mut exit: Option<std::process::ExitStatus> = None;
        let mut killed_after_stop = false;
        let stop_timeout = self.settings.get().stop_timeout();
        let mut stop_deadline: Option<tokio::time::Instant> = None;
        match link {
            Ok(stream) => {
                let (read, mut write) = tokio::io::split(stream);
                let mut lines = BufReader::new(read).lines();
                loop {
                    tokio::select! {
                        _ = session.stop_asked.notified(), if stop_deadline.is_none() && !killed_after_stop => {
                            stop_deadline = Some(tokio::time::Instant::now() + stop_timeout);
                        }
                        line = lines.next_line() => match line {
                            Ok(Some(line)) => self.on_line(&session, &line, &mut report),
                            Ok(None) | Err(_) => break,
                        },
                        Some(command) = ends.commands.recv() => {
                            let line = lt_protocol::encode_command(&command);
                            if let Err(e) = write.write_all(line.as_bytes()).await {
                                tracing::warn!(session = %session.id, "sending a command: {e}");
                            }
                        }
                        status = wait_child(&mut child) => {
                            exit = status;
                            // Whatever the worker wrote before it died is still in the socket.
                            while let Ok(Ok(Some(line))) =
                                tokio::time::timeout(Duration::from_millis(200), lines.next_line()).await
                            {
                                self.on_line(&session, &line, &mut report);
                            }
                            break;
                        }
                        _ = sleep_until(stop_deadline) => {
                            killed_after_stop = true;
                            session.kill_all();
                            stop_deadline = None;
                        }
                    }
                }
            }
            Err(reason) => {
                tracing::error!(session = %session.id, "{reason}");
                session.kill_all();
            }
        }
        // The socket is closed: the worker is exiting (or was killed). Wait for it, bounded.
        if exit.is_none() {
            let limit = if lock(&session.emergency).is_some() {
                KILL_LIMIT
            } else {
                stop_timeout
            };
            match &mut child {
                Some(c) => match tokio::time::timeout(limit, c.wait()).await {
                    Ok(status) => exit = status.ok(),
                    Err(_) => {
                        session.kill_all();
                        exit = c.wait().await.ok();
                    }
                },
                None => {
                    if !wait_gone(session.pid(), limit).await {
                        session.kill_all();
                        wait_gone(session.pid(), KILL_LIMIT).await;
                    }
                }
            }
        }
        let (status, reason) = self.outcome(&session, report.as_ref(), exit, killed_after_stop);
        let finished = off_runtime(|| {
            self.store.finish_session(
                &session.id,
                status.as_str(),
                reason.as_deref(),
                now_ms(),
                report.as_ref(),
            )
        });
        if let Err(e) = finished {
            tracing::error!(session = %session.id, "recording the end: {e}");
        }
        session.set_status(status, reason.clone());
        self.publish_lifecycle(&session.id, status, reason.clone());
        lock(&self.sessions).remove(&session.id);
        let _ = ends.ended.send(true);
        tracing::info!(session = %session.id, status = status.as_str(), reason = reason.as_deref().unwrap_or(""), "session ended");
    }

    fn outcome(
        &self,
        session: &LiveSession,
        report: Option<&Report>,
        exit: Option<std::process::ExitStatus>,
        killed_after_stop: bool,
    ) -> (Status, Option<String>) {
        if let Some(who) = lock(&session.emergency).clone() {
            return (Status::Aborted, Some(format!("emergency stop by {who}")));
        }
        let stopped_by = lock(&session.stop_requested).clone();
        if let Some(report) = report {
            return match &report.end_reason {
                EndReason::Completed => (Status::Completed, None),
                EndReason::Stopped { by } => (
                    Status::Stopped,
                    Some(format!(
                        "stopped by {}",
                        stopped_by.as_deref().unwrap_or(by)
                    )),
                ),
                EndReason::Aborted { reason } => (Status::Aborted, Some(reason.clone())),
                EndReason::Failed { reason } => (Status::Failed, Some(reason.clone())),
            };
        }
        if let Some(who) = stopped_by {
            let how = if killed_after_stop {
                format!(
                    "; the worker was killed after {}",
                    self.settings.get().stop_timeout
                )
            } else {
                String::new()
            };
            return (Status::Stopped, Some(format!("stopped by {who}{how}")));
        }
        let status = match exit {
            Some(s) => describe_exit(s),
            None => "the worker is gone (its exit status is unknown)".to_string(),
        };
        let last = last_log_line(&session.dir.join("worker.log"));
        let reason = match last {
            Some(line) => format!("{status}: {line}"),
            None => status,
        };
        (Status::Failed, Some(reason))
    }

    fn on_line(&self, session: &LiveSession, line: &str, report: &mut Option<Report>) {
        let event = match lt_protocol::decode_event(line) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(session = %session.id, "a worker line could not be read: {e}");
                return;
            }
        };
        match event {
            WorkerEvent::Tick(tick) => {
                session.record_tick(&tick);
                self.store.record_tick(&session.id, &tick);
                self.hub.publish(
                    &session.id,
                    Kind::Tick,
                    tick.at_ms,
                    with_session(&session.id, &tick),
                );
            }
            WorkerEvent::Lifecycle(l) => {
                let status = match l.state {
                    LifecycleState::Running => Status::Running,
                    LifecycleState::Stopping => Status::Stopping,
                    LifecycleState::Starting | LifecycleState::Ended => return,
                };
                if session.status() == status {
                    return;
                }
                session.set_status(status, l.reason.clone());
                let _ = off_runtime(|| {
                    self.store.set_status(
                        &session.id,
                        status.as_str(),
                        l.reason.as_deref(),
                        l.at_ms,
                    )
                });
                self.publish_lifecycle(&session.id, status, l.reason);
            }
            WorkerEvent::Error(sample) => {
                self.store.record_error(&session.id, &sample);
                self.hub.publish(
                    &session.id,
                    Kind::Error,
                    sample.at_ms,
                    with_session(&session.id, &sample),
                );
            }
            WorkerEvent::Change(outcome) => self.on_change(session, *outcome),
            WorkerEvent::Finished(r) => *report = Some(*r),
        }
    }

    /// The worker's verdict on a live change: what it applied is published as `change` events
    /// and recorded in the configuration history with who asked; the caller gets the verdict.
    fn on_change(&self, session: &LiveSession, outcome: lt_protocol::ChangeOutcome) {
        let pending = session.take_pending(outcome.id);
        let who = pending
            .as_ref()
            .map_or_else(|| "the worker".to_string(), |p| p.who.clone());
        let recorded = crate::session::change_records(&session.id, &who, &outcome);
        for change in &recorded {
            let data = ChangeEvent {
                session_id: session.id.clone(),
                who: change.who.clone(),
                field: change.field.clone(),
                old: change.old.clone(),
                new: change.new.clone(),
                at_ms: change.at_ms,
            };
            self.hub
                .publish(&session.id, Kind::Change, change.at_ms, to_json(&data));
        }
        // A durable write waits for its commit: off the runtime, and the caller is answered
        // once the history holds the change.
        let store = self.store.clone();
        let id = session.id.clone();
        tokio::task::spawn_blocking(move || {
            for change in &recorded {
                if let Err(e) = store.record_change(change) {
                    tracing::error!(session = %id, "recording a live change: {e}");
                }
            }
            if let Some(pending) = pending {
                let _ = pending
                    .answer
                    .send(crate::session::ChangeAnswer { outcome, recorded });
            }
        });
    }

    pub fn publish_lifecycle(&self, id: &str, status: Status, reason: Option<String>) {
        let at_ms = now_ms();
        let data = LifecycleEvent {
            session_id: id.to_string(),
            status,
            reason,
            at_ms,
        };
        self.hub.publish(id, Kind::Lifecycle, at_ms, to_json(&data));
    }
}

/// A started session's processes: one worker, or several generators and their coordinator.
enum Started {
    Worker(Child, u32),
    Generators(crate::generators::Launched),
}

impl Started {
    /// The pid the store keeps for the session (the first generator's).
    fn pid(&self) -> u32 {
        match self {
            Started::Worker(_, pid) => *pid,
            Started::Generators(l) => l.pids.first().copied().unwrap_or(0),
        }
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn with_session<T: serde::Serialize>(id: &str, value: &T) -> String {
    let mut v = serde_json::to_value(value).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.insert("session_id".into(), Value::String(id.to_string()));
    }
    v.to_string()
}

async fn wait_child(child: &mut Option<Child>) -> Option<std::process::ExitStatus> {
    match child {
        Some(c) => c.wait().await.ok(),
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Connects to a new worker's socket, retrying until it listens or exits. (Its exit is read
/// from the child handle: right after the fork, /proc still shows the server's command line.)
async fn connect(socket: &Path, child: &mut Child) -> Result<UnixStream, String> {
    let deadline = tokio::time::Instant::now() + CONNECT_LIMIT;
    loop {
        match UnixStream::connect(socket).await {
            Ok(stream) => return Ok(stream),
            Err(e) => {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!(
                        "{} before it opened {}",
                        describe_exit(status),
                        socket.display()
                    ));
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(format!(
                        "the worker did not open {} within {CONNECT_LIMIT:?}: {e}",
                        socket.display()
                    ));
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("the worker exited with status {code}"),
        (None, Some(signal)) => format!("the worker was killed by signal {signal}"),
        _ => format!("the worker ended: {status}"),
    }
}

/// The last non-empty line of a log, read from its end (the last 8 KiB), so a long log costs
/// no more than a short one.
fn last_log_line(path: &Path) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    const TAIL: u64 = 8 * 1024;
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(TAIL))).ok()?;
    let mut tail = Vec::with_capacity(TAIL as usize);
    file.take(TAIL).read_to_end(&mut tail).ok()?;
    let text = String::from_utf8_lossy(&tail);
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?;
    Some(line.chars().take(300).collect())
}

/// A short random id, such as `4f1c2a9be07d`.
fn new_session_id() -> String {
    format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

/// The socket in the session's folder, or under the temp folder when that path is too long for
/// a Unix socket.
fn socket_path(dir: &Path, id: &str) -> PathBuf {
    let path = dir.join("worker.sock");
    if path.as_os_str().len() < 100 {
        path
    } else {
        std::env::temp_dir().join(format!("lt-{id}.sock"))
    }
}

#[cfg(test)]
mod tests {
    use super::last_log_line;

    #[test]
    fn the_last_log_line_is_read_from_the_end_of_a_long_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("worker.log");
        let mut text = format!("{}\n", "x".repeat(100)).repeat(5_000);
        text.push_str("the worker failed: bad things\n\n");
        std::fs::write(&path, text).unwrap();
        assert_eq!(
            last_log_line(&path).as_deref(),
            Some("the worker failed: bad things")
        );
        assert_eq!(last_log_line(&dir.path().join("none.log")), None);
    }
}
