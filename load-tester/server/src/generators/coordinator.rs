//! One session's coordinator: it waits for the session's N generators, welcomes them together
//! with one start time, merges their seconds into ordinary ticks, forwards commands (live
//! changes re-split per segment), watches for lost generators, and ends with one merged report.
//!
//! To the supervisor it looks like one worker: it speaks the same event and command lines over
//! an in-memory stream, so the supervisor's store, SSE and status handling stay as they are.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lt_protocol::{
    ChangeOutcome, Command, EndReason, Handshake, Launch, LifecycleState, LiveConfig, Report,
    SegmentOf, Welcome, WorkerEvent, decode_command, decode_event, encode_command, encode_event,
    encode_handshake,
};
use lt_scenario::segment::Segment;
use lt_scenario::{LiveChange, Refusal, Scenario};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, WriteHalf};
use tokio::process::Child;
use tokio::sync::mpsc;

use super::health::GeneratorState;
use super::link::{Link, broadcast};
use super::merge::Merger;
use super::registry::{Joined, Registry};
use super::report::merge_reports;
use super::settings::OnLoss;
use crate::process::kill_group;

/// How often a Kubernetes Job's pods are read while its generators join.
const POD_POLL: Duration = Duration::from_secs(2);
/// The first second starts this long after the welcomes go out.
const START_DELAY: Duration = Duration::from_secs(1);
/// Ids of the changes that undo a change some generators refused (the supervisor's ids count up
/// from 1 and never reach them).
const UNDO_IDS: u64 = 1 << 63;
/// How long a local generator's exit is waited for once its connection closed.
const EXIT_LIMIT: Duration = Duration::from_secs(5);

/// A session to coordinate.
#[derive(Debug)]
pub struct Coordinator {
    pub session_id: String,
    /// The whole session's scenario (thresholds, error budget).
    pub scenario: Scenario,
    pub count: u32,
    pub on_loss: OnLoss,
    /// How long every generator has to say hello once the session starts.
    pub join_limit: Duration,
    pub launch: Launch,
    /// The scenario's files, sent in every welcome.
    pub files: super::WelcomeFiles,
    pub joins: mpsc::UnboundedReceiver<Joined>,
    /// The local launcher's processes, by index (none for generators started elsewhere).
    pub children: Vec<Option<Child>>,
    /// The Kubernetes launcher's Job, deleted when the session ends in any way.
    pub job: Option<super::kubernetes::Job>,
    pub registry: std::sync::Arc<Registry>,
    /// Where the coordinator notes why a session could not start (the session's log).
    pub log: PathBuf,
    /// Each generator's health, for the API.
    pub health: super::HealthBoard,
}

/// A live change sent to every generator and not answered by all yet.
#[derive(Debug)]
struct PendingChange {
    change: LiveChange,
    answers: Vec<Option<ChangeOutcome>>,
    expected: Vec<bool>,
}

impl Coordinator {
    /// Runs the session to its end; `link` is the supervisor's side of the stream.
    pub async fn run(mut self, link: DuplexStream) {
        let (from_supervisor, mut to_supervisor) = tokio::io::split(link);
        let mut commands = BufReader::new(from_supervisor).lines();
        let joined = match self.gather(&mut commands).await {
            Ok(joined) => joined,
            Err(reason) => {
                tracing::error!(session = %self.session_id, "{reason}");
                note(&self.log, &reason);
                self.registry.close(&self.session_id);
                self.kill_children();
                self.reap().await;
                self.delete_job().await;
                let _ = to_supervisor.shutdown().await;
                return;
            }
        };
        // The session stays registered until it ends: a late or second hello is refused by name
        // (wrong token, index already connected).
        let (lines_tx, mut lines) = mpsc::unbounded_channel::<(u32, Option<String>)>();
        let start_at_ms = now_ms() + START_DELAY.as_millis() as u64;
        let mut links: Vec<Link> = Vec::with_capacity(self.count as usize);
        // The files go into each welcome in turn and come back out, not copied per generator.
        let mut files = std::mem::take(&mut self.files);
        for j in joined {
            let mut link = Link::new(j.write, Instant::now() + START_DELAY);
            let welcome = Handshake::Welcome(Welcome {
                version: j.version,
                segment: SegmentOf {
                    index: j.index,
                    count: self.count,
                },
                launch: self.launch.clone(),
                start_at_ms,
                clock_ms: now_ms(),
                files,
            });
            link.welcome(&encode_handshake(&welcome)).await;
            files = match welcome {
                Handshake::Welcome(w) => w.files,
                _ => Default::default(),
            };
            let tx = lines_tx.clone();
            let index = j.index;
            let mut read = j.read.lines();
            tokio::spawn(async move {
                while let Ok(Some(line)) = read.next_line().await {
                    if tx.send((index, Some(line))).is_err() {
                        return;
                    }
                }
                let _ = tx.send((index, None));
            });
            links.push(link);
        }
        drop(lines_tx);
        self.set_health(|g| g.state = GeneratorState::Running, None);
        let mut state = Run::new(Merger::new(
            self.count,
            self.scenario.protection.load_reduction.clone(),
        ));
        let mut clock = tokio::time::interval(Duration::from_millis(250));
        let mut supervisor_gone = false;
        while links.iter().any(|l| !l.ended) {
            tokio::select! {
                got = lines.recv() => {
                    let Some((index, line)) = got else { break };
                    let i = index as usize;
                    match line {
                        Some(line) => {
                            links[i].last_seen = Instant::now();
                            self.set_health(
                                |g| {
                                    g.last_heard_ms = Some(now_ms());
                                    // The line and its newline, as they came over the wire.
                                    g.received_bytes += line.len() as u64 + 1;
                                },
                                Some(index),
                            );
                            let out = self.on_line(&mut state, &mut links, i, &line).await;
                            send_all(&mut to_supervisor, out).await;
                        }
                        None => {
                            links[i].ended = true;
                            if links[i].report.is_some() {
                                self.set_health(|g| g.state = GeneratorState::Ended, Some(index));
                            }
                            if links[i].report.is_none() && !links[i].lost && !state.stopping_now {
                                let out = self.lose(&mut state, &mut links, i, "its connection closed").await;
                                send_all(&mut to_supervisor, out).await;
                            }
                        }
                    }
                }
                command = commands.next_line(), if !supervisor_gone => match command {
                    Ok(Some(line)) => match decode_command(&line) {
                        Ok(command) => {
                            let out = self.on_command(&mut state, &mut links, command).await;
                            send_all(&mut to_supervisor, out).await;
                        }
                        Err(e) => tracing::warn!(session = %self.session_id, "a command line: {e}"),
                    },
                    Ok(None) | Err(_) => {
                        // The supervisor let go of the session (the server is going away).
                        supervisor_gone = true;
                        self.kill_children();
                    }
                },
                _ = clock.tick() => {
                    let now = Instant::now();
                    let mut out: Vec<WorkerEvent> = state
                        .merger
                        .tick_clock(now)
                        .into_iter()
                        .map(WorkerEvent::Tick)
                        .collect();
                    self.after_merged(&mut state, &mut links, &out).await;
                    let gone: Vec<(usize, &str)> = (0..links.len())
                        .filter_map(|i| Some((i, links[i].loss(now)?)))
                        .collect();
                    for (i, why) in gone {
                        out.extend(self.lose(&mut state, &mut links, i, why).await);
                    }
                    send_all(&mut to_supervisor, out).await;
                }
            }
        }
        let mut out: Vec<WorkerEvent> = state
            .merger
            .flush()
            .into_iter()
            .map(WorkerEvent::Tick)
            .collect();
        let reports: Vec<Report> = links.iter_mut().filter_map(|l| l.report.take()).collect();
        if state.merger.late_ticks > 0 {
            state.warnings.push(format!(
                "{} generator seconds arrived after their merged second was sent; they are in \
                 the totals",
                state.merger.late_ticks
            ));
        }
        if let Some(report) = merge_reports(
            &self.scenario,
            &reports,
            &state.merger,
            state.end.take(),
            std::mem::take(&mut state.warnings),
        ) {
            out.push(WorkerEvent::Finished(Box::new(report)));
        }
        send_all(&mut to_supervisor, out).await;
        self.registry.close(&self.session_id);
        self.reap().await;
        self.delete_job().await;
        let _ = to_supervisor.shutdown().await;
    }

    /// Waits until every generator said hello (or one of ours exited, or the time is up, or the
    /// session was stopped).
    async fn gather(
        &mut self,
        commands: &mut tokio::io::Lines<BufReader<tokio::io::ReadHalf<DuplexStream>>>,
    ) -> Result<Vec<Joined>, String> {
        let deadline = tokio::time::Instant::now() + self.join_limit;
        let mut joined: Vec<Joined> = Vec::new();
        let mut poll = tokio::time::interval(Duration::from_millis(50));
        let mut pod_poll = tokio::time::interval(POD_POLL);
        pod_poll.tick().await;
        while joined.len() < self.count as usize {
            tokio::select! {
                j = self.joins.recv() => match j {
                    Some(j) => joined.push(j),
                    None => return Err("the generator listener closed".into()),
                },
                command = commands.next_line() => match command {
                    Ok(Some(line)) => match decode_command(&line) {
                        Ok(Command::StopNow) => {
                            self.delete_job_now();
                            return Err("stopped before every generator joined".into());
                        }
                        Ok(Command::Stop) => return Err("stopped before every generator joined".into()),
                        _ => {}
                    },
                    Ok(None) | Err(_) => return Err("the session was let go before it started".into()),
                },
                _ = poll.tick() => {
                    for (i, child) in self.children.iter_mut().enumerate() {
                        if let Some(c) = child
                            && let Ok(Some(status)) = c.try_wait()
                        {
                            return Err(format!(
                                "generator {i} of {} exited before it joined ({status}); see generator-{i}.log",
                                self.count
                            ));
                        }
                    }
                    if tokio::time::Instant::now() >= deadline {
                        let pods = match &self.job {
                            Some(job) => format!("; {}", job.describe_pods().await),
                            None => String::new(),
                        };
                        return Err(format!(
                            "only {} of {} generators joined within {:?} \
                             (generators.join_timeout){pods}",
                            joined.len(),
                            self.count,
                            self.join_limit,
                        ));
                    }
                }
                // A generator pod that failed will never join: no need to wait for the bound.
                _ = pod_poll.tick(), if self.job.is_some() => {
                    if let Some(job) = &self.job
                        && let Some(pods) = job.failed_pods().await
                    {
                        return Err(format!(
                            "a generator failed before all joined ({} of {} joined); {pods}",
                            joined.len(),
                            self.count
                        ));
                    }
                }
            }
        }
        joined.sort_by_key(|j| j.index);
        Ok(joined)
    }

    /// One line from generator `i`: what goes on to the supervisor.
    async fn on_line(
        &self,
        state: &mut Run,
        links: &mut [Link],
        i: usize,
        line: &str,
    ) -> Vec<WorkerEvent> {
        let event = match decode_event(line) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(session = %self.session_id, generator = i, "a generator line: {e}");
                return Vec::new();
            }
        };
        match event {
            WorkerEvent::Tick(tick) => {
                self.set_health(
                    |g| {
                        g.second = tick.second;
                        g.total_requests = tick.total_requests;
                        g.cpu_percent = tick.generator.as_ref().map(|s| s.cpu_percent);
                        g.saturated = tick.generator.as_ref().and_then(|s| s.saturated.clone());
                    },
                    Some(i as u32),
                );
                let out: Vec<WorkerEvent> = state
                    .merger
                    .add(i as u32, tick, Instant::now())
                    .into_iter()
                    .map(WorkerEvent::Tick)
                    .collect();
                self.after_merged(state, links, &out).await;
                out
            }
            // Each state once: the first generator to get there speaks for the session.
            WorkerEvent::Lifecycle(l) => {
                if state.forwarded.contains(&l.state) {
                    Vec::new()
                } else {
                    state.forwarded.push(l.state);
                    vec![WorkerEvent::Lifecycle(l)]
                }
            }
            WorkerEvent::Error(e) => vec![WorkerEvent::Error(e)],
            WorkerEvent::Change(outcome) => {
                if let Some(index) = state.undoing.remove(&outcome.id) {
                    if let Some(refusal) = &outcome.refused {
                        let why = refusal.problems.join("; ");
                        tracing::warn!(session = %self.session_id, generator = index, "undoing a live change was refused: {why}");
                        state.warnings.push(format!(
                            "generator {index} of {} refused to undo a live change the others refused: {why}",
                            self.count
                        ));
                    }
                    return Vec::new();
                }
                let (events, undo) = state.answer(i, *outcome);
                for (index, change) in undo {
                    state.undo_serial += 1;
                    let id = UNDO_IDS | state.undo_serial;
                    state.undoing.insert(id, index);
                    let line = encode_command(&Command::Change { id, change });
                    links[index].send(&line).await;
                }
                events
            }
            WorkerEvent::Finished(report) => {
                links[i].report = Some(*report);
                Vec::new()
            }
        }
    }

    /// A command from the supervisor.
    async fn on_command(
        &mut self,
        state: &mut Run,
        links: &mut [Link],
        command: Command,
    ) -> Vec<WorkerEvent> {
        match command {
            Command::Stop => {
                broadcast(links, &Command::Stop).await;
                Vec::new()
            }
            Command::StopNow => {
                state.stopping_now = true;
                broadcast(links, &Command::StopNow).await;
                // Generators exit on `stop_now`; the Job's deletion is the backstop, and the
                // emergency stop does not wait for the API.
                self.delete_job_now();
                Vec::new()
            }
            // The coordinator's own decision, never the supervisor's.
            Command::Park { .. } => Vec::new(),
            Command::Change { id, change } => {
                let live: Vec<bool> = links.iter().map(|l| !l.ended && !l.lost).collect();
                if let Some(users) = change.users
                    && users < self.count
                {
                    let config = state.last_config();
                    return vec![WorkerEvent::Change(Box::new(ChangeOutcome {
                        id,
                        change: change.clone(),
                        before: config.clone(),
                        after: config,
                        refused: Some(Refusal {
                            code: "invalid_change".into(),
                            problems: vec![format!(
                                "users: this session runs on {} generators, so at least {} users, got `{users}`",
                                self.count, self.count
                            )],
                            unknown_endpoints: Vec::new(),
                            cap: None,
                        }),
                        at_ms: now_ms(),
                    }))];
                }
                self.send_shares(links, |segment| Command::Change {
                    id,
                    change: LiveChange {
                        users: change.users.map(|u| segment.share_of(u)),
                        arrival_rate: change.arrival_rate.map(|r| r.map(|r| segment.rate_of(r))),
                        ..change.clone()
                    },
                })
                .await;
                state.changes.insert(
                    id,
                    PendingChange {
                        change,
                        answers: vec![None; links.len()],
                        expected: live,
                    },
                );
                Vec::new()
            }
        }
    }

    /// Notes the settings in force, judges the error budget on merged seconds (crossing it
    /// stops every generator) and hands load reduction's decision to the generators, each its
    /// share of the parked users.
    async fn after_merged(&self, state: &mut Run, links: &mut [Link], merged: &[WorkerEvent]) {
        let max = self.scenario.protection.max_errors_per_minute;
        for event in merged {
            if let WorkerEvent::Tick(tick) = event {
                state.config = Some(tick.config.clone());
                if let Some(reduction) = tick.load_reduction
                    && reduction.parked_users != state.parked
                {
                    state.parked = reduction.parked_users;
                    self.send_shares(links, |segment| Command::Park {
                        users: segment.share_of(reduction.parked_users),
                    })
                    .await;
                }
                if let Some(max) = max
                    && tick.errors_last_minute > max
                    && state.end.is_none()
                {
                    state.end = Some(EndReason::Aborted {
                        reason: format!(
                            "error budget exceeded: {} failures in the last 60 s \
                             (max_errors_per_minute: {max})",
                            tick.errors_last_minute
                        ),
                    });
                    broadcast(links, &Command::Stop).await;
                }
            }
        }
    }

    /// Sends each live generator the command made for its segment, to all at once.
    async fn send_shares(&self, links: &mut [Link], command: impl Fn(Segment) -> Command) {
        let sends = links.iter_mut().enumerate().filter_map(|(i, link)| {
            let segment = Segment::new(i as u32, self.count)?;
            let line = encode_command(&command(segment));
            Some(async move { link.send(&line).await })
        });
        futures_util::future::join_all(sends).await;
    }

    /// Generator `i` is lost: by `on_loss`, the session ends failed or goes on degraded.
    async fn lose(
        &mut self,
        state: &mut Run,
        links: &mut [Link],
        i: usize,
        why: &str,
    ) -> Vec<WorkerEvent> {
        links[i].lost = true;
        self.set_health(|g| g.state = GeneratorState::Lost, Some(i as u32));
        // A local generator that stopped talking is killed, so none is left behind.
        if let Some(Some(child)) = self.children.get(i)
            && let Some(pid) = child.id()
        {
            kill_group(pid);
        }
        let count = self.count;
        tracing::warn!(session = %self.session_id, generator = i, "generator {i} of {count} lost: {why}");
        let out: Vec<WorkerEvent> = state
            .merger
            .lose(i as u32, Instant::now())
            .into_iter()
            .map(WorkerEvent::Tick)
            .collect();
        match self.on_loss {
            OnLoss::Abort => {
                if state.end.is_none() {
                    state.end = Some(EndReason::Failed {
                        reason: format!("generator {i} of {count} lost: {why}"),
                    });
                }
                broadcast(links, &Command::Stop).await;
            }
            OnLoss::Continue => {
                let live = links.iter().filter(|l| !l.ended && !l.lost).count();
                state.warnings.push(format!(
                    "generator {i} of {count} lost: {why}; the session went on degraded with {live} generators"
                ));
            }
        }
        out
    }

    /// Updates generator `index`'s health (every generator's with `None`).
    fn set_health(&self, update: impl Fn(&mut super::GeneratorHealth), index: Option<u32>) {
        let mut board = crate::session::lock(&self.health);
        for g in board
            .iter_mut()
            .filter(|g| index.is_none_or(|i| i == g.index))
        {
            update(g);
        }
    }

    /// Has the Kubernetes Job deleted in the background (emergency stop).
    fn delete_job_now(&mut self) {
        if let Some(job) = &mut self.job {
            job.delete_in_background();
        }
    }

    /// Deletes the Kubernetes Job at the session's end (bounded; a failure is logged).
    async fn delete_job(&mut self) {
        if let Some(job) = &mut self.job {
            job.delete().await;
        }
    }

    fn kill_children(&self) {
        for child in self.children.iter().flatten() {
            if let Some(pid) = child.id() {
                kill_group(pid);
            }
        }
    }

    /// Waits for every local generator to exit (killing one that does not within the bound).
    async fn reap(&mut self) {
        for child in self.children.iter_mut().flatten() {
            if tokio::time::timeout(EXIT_LIMIT, child.wait())
                .await
                .is_err()
            {
                if let Some(pid) = child.id() {
                    kill_group(pid);
                }
                let _ = child.wait().await;
            }
        }
    }
}

/// What the coordinator keeps while the session runs.
#[derive(Debug)]
struct Run {
    merger: Merger,
    /// Lifecycle states already forwarded.
    forwarded: Vec<LifecycleState>,
    changes: HashMap<u64, PendingChange>,
    /// The coordinator's own end: a lost generator, the error budget.
    end: Option<EndReason>,
    warnings: Vec<String>,
    stopping_now: bool,
    /// The settings in force, as the last merged second says.
    config: Option<LiveConfig>,
    /// Users parked by load reduction, as last sent to the generators.
    parked: u32,
    /// Changes sent to undo a generator's part of a refused change, by id: the generator.
    undoing: HashMap<u64, usize>,
    undo_serial: u64,
}

impl Run {
    fn new(merger: Merger) -> Run {
        Run {
            merger,
            forwarded: Vec::new(),
            changes: HashMap::new(),
            end: None,
            warnings: Vec::new(),
            stopping_now: false,
            config: None,
            parked: 0,
            undoing: HashMap::new(),
            undo_serial: 0,
        }
    }

    fn last_config(&self) -> LiveConfig {
        self.config.clone().unwrap_or(LiveConfig {
            users: 0,
            weights: Default::default(),
            think_time: Default::default(),
            arrival_rate: None,
        })
    }

    /// Generator `i`'s verdict on a change; once every generator answered, the session's, and
    /// what to send to undo the generators' parts that applied if another refused (a change is
    /// all or nothing, across generators as in one process).
    fn answer(
        &mut self,
        i: usize,
        outcome: ChangeOutcome,
    ) -> (Vec<WorkerEvent>, Vec<(usize, LiveChange)>) {
        let id = outcome.id;
        let Some(pending) = self.changes.get_mut(&id) else {
            return (Vec::new(), Vec::new());
        };
        if let Some(slot) = pending.answers.get_mut(i) {
            *slot = Some(outcome);
        }
        let done = pending
            .answers
            .iter()
            .zip(&pending.expected)
            .all(|(a, expected)| a.is_some() || !expected);
        if !done {
            return (Vec::new(), Vec::new());
        }
        let Some(pending) = self.changes.remove(&id) else {
            return (Vec::new(), Vec::new());
        };
        let answers: Vec<(usize, ChangeOutcome)> = pending
            .answers
            .into_iter()
            .enumerate()
            .filter_map(|(i, a)| a.map(|a| (i, a)))
            .collect();
        if answers.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let before = sum_configs(answers.iter().map(|(_, a)| &a.before));
        let refused = answers.iter().find_map(|(_, a)| a.refused.clone());
        let undo: Vec<(usize, LiveChange)> = match refused {
            Some(_) => answers
                .iter()
                .filter(|(_, a)| a.refused.is_none())
                .map(|(i, a)| (*i, undo_of(a)))
                .collect(),
            None => Vec::new(),
        };
        let merged = ChangeOutcome {
            id,
            change: pending.change,
            after: match refused {
                Some(_) => before.clone(),
                None => sum_configs(answers.iter().map(|(_, a)| &a.after)),
            },
            before,
            refused,
            at_ms: answers.iter().map(|(_, a)| a.at_ms).max().unwrap_or(0),
        };
        (vec![WorkerEvent::Change(Box::new(merged))], undo)
    }
}

/// The change that puts back what `applied` changed on one generator.
fn undo_of(applied: &ChangeOutcome) -> LiveChange {
    let (change, before) = (&applied.change, &applied.before);
    LiveChange {
        users: change.users.map(|_| before.users),
        weights: change.weights.as_ref().map(|weights| {
            weights
                .keys()
                .filter_map(|name| before.weights.get(name).map(|w| (name.clone(), *w)))
                .collect()
        }),
        think_time: change.think_time.map(|_| before.think_time),
        arrival_rate: change.arrival_rate.map(|_| before.arrival_rate),
    }
}

/// The session's settings from its generators': users and rates added up, the rest as any has.
fn sum_configs<'a>(configs: impl Iterator<Item = &'a LiveConfig>) -> LiveConfig {
    let mut out: Option<LiveConfig> = None;
    for c in configs {
        match &mut out {
            None => out = Some(c.clone()),
            Some(o) => {
                o.users += c.users;
                o.arrival_rate = match (o.arrival_rate, c.arrival_rate) {
                    (Some(a), Some(b)) => Some(a + b),
                    (a, b) => a.or(b),
                };
            }
        }
    }
    out.unwrap_or(LiveConfig {
        users: 0,
        weights: Default::default(),
        think_time: Default::default(),
        arrival_rate: None,
    })
}

async fn send_all(to: &mut WriteHalf<DuplexStream>, events: Vec<WorkerEvent>) {
    for event in events {
        if to.write_all(encode_event(&event).as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Appends a line to the session's log (the supervisor reads its last line as the reason).
fn note(log: &PathBuf, line: &str) {
    use std::io::Write;
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        let _ = writeln!(f, "error: {line}");
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(users: u32, a: f64) -> LiveConfig {
        LiveConfig {
            users,
            weights: [("a".to_string(), a), ("b".to_string(), 1.0)].into(),
            think_time: Default::default(),
            arrival_rate: None,
        }
    }

    #[test]
    fn a_change_one_generator_refused_is_undone_on_the_others_and_refused_for_the_session() {
        let mut state = Run::new(Merger::new(2, None));
        let change = LiveChange {
            users: Some(6),
            weights: Some([("a".to_string(), 0.0)].into()),
            ..LiveChange::default()
        };
        state.changes.insert(
            7,
            PendingChange {
                change: change.clone(),
                answers: vec![None, None],
                expected: vec![true, true],
            },
        );
        let part = LiveChange {
            users: Some(3),
            ..change.clone()
        };
        let applied = ChangeOutcome {
            id: 7,
            change: part.clone(),
            before: config(2, 3.0),
            after: config(3, 0.0),
            refused: None,
            at_ms: 10,
        };
        let refusal = Refusal {
            code: "invalid_change".into(),
            problems: vec!["users: over this generator's cap".into()],
            unknown_endpoints: Vec::new(),
            cap: None,
        };
        let refused = ChangeOutcome {
            id: 7,
            change: part,
            before: config(2, 3.0),
            after: config(2, 3.0),
            refused: Some(refusal.clone()),
            at_ms: 12,
        };
        let (events, undo) = state.answer(0, applied);
        assert!(events.is_empty() && undo.is_empty());
        let (events, undo) = state.answer(1, refused);
        // Generator 0 gets back exactly what it had, and only what the change touched.
        let expected = LiveChange {
            users: Some(2),
            weights: Some([("a".to_string(), 3.0)].into()),
            ..LiveChange::default()
        };
        assert_eq!(undo, vec![(0, expected)]);
        let [WorkerEvent::Change(outcome)] = events.as_slice() else {
            panic!("{events:?}")
        };
        assert_eq!(outcome.refused, Some(refusal));
        assert_eq!(outcome.before, outcome.after);
        assert_eq!(outcome.before.users, 4);
        assert_eq!(outcome.at_ms, 12);
    }
}
