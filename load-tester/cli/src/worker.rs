//! `load-tester worker`: runs one session for the control server, in its own process.
//!
//! The server writes a [`Launch`] as JSON to our stdin and connects to the Unix socket we listen
//! on (`--socket`); over it we send [`WorkerEvent`]s and take [`Command`]s, one versioned JSON
//! line each. Goose writes to stdout, so stdout is never the channel. If the connection drops
//! (the server restarted), events queue up until a server connects again; if none does within
//! `--orphan-after`, the run stops by itself so no worker outlives its supervisor for long.

use std::collections::VecDeque;
use std::io::Read;
use std::time::Duration;

use lt_engine::{Engine, EngineHandle, RunOptions};
use lt_protocol::{Launch, WorkerEvent, decode_command, encode_event};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use crate::args::WorkerArgs;
use crate::exit;
use crate::run::{exit_code, write_report_files};

/// Events kept for a server that is not connected; the oldest go first beyond this.
const BACKLOG_LIMIT: usize = 20_000;

pub fn main(args: WorkerArgs) -> u8 {
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("error: reading the launch message from stdin: {e}");
        return exit::INVALID;
    }
    let launch: Launch = match serde_json::from_str(&input) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: the launch message on stdin is not valid: {e}");
            return exit::INVALID;
        }
    };
    let scenario = match scenario_of(&launch) {
        Ok(s) => s,
        Err(code) => return code,
    };
    crate::runtime::block_on(run(launch.session_id, scenario, args))
}

/// The launch's scenario, read as `validate` reads it; the diagnostics go to stderr.
pub fn scenario_of(launch: &Launch) -> Result<lt_scenario::Scenario, u8> {
    // Data files are read where the server read them: inside its scenarios folder.
    let folder = launch
        .data_dir
        .as_ref()
        .map(lt_scenario::data_folder::DataFolder::inside);
    let files: &dyn lt_scenario::DataFiles = match &folder {
        Some(folder) => folder,
        None => &lt_scenario::NoDataFiles,
    };
    scenario_reading(launch, files)
}

/// The launch's scenario with its data files read through `files`.
pub fn scenario_reading(
    launch: &Launch,
    files: &dyn lt_scenario::DataFiles,
) -> Result<lt_scenario::Scenario, u8> {
    // The server hands its own variables and its bundled targets' URLs down, so the worker
    // reads `{{ env.* }}` templates as the server did.
    let env = crate::runtime::process_env();
    let inputs = lt_scenario::Inputs { env: &env, files };
    match lt_scenario::parse_with(&launch.source, &launch.yaml, &launch.overrides, &inputs) {
        Ok(s) => Ok(s),
        Err(d) => {
            eprintln!("{d}");
            Err(exit::INVALID)
        }
    }
}

async fn run(session_id: String, scenario: lt_scenario::Scenario, args: WorkerArgs) -> u8 {
    // Clap requires both without `--connect`, and `--connect` never comes here.
    let (Some(socket), Some(out)) = (args.socket, args.out) else {
        eprintln!("error: give --socket and --out (or --connect)");
        return exit::INVALID;
    };
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("error: --out {}: {e}", out.display());
        return exit::FAILED;
    }
    let _ = std::fs::remove_file(&socket);
    let listener = match UnixListener::bind(&socket) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: --socket {}: {e}", socket.display());
            return exit::FAILED;
        }
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let options = RunOptions {
        session_id,
        // The server draws the session's report from its store; Goose keeps no metrics.
        html_report: None,
        events: Some(tx),
        ..RunOptions::default()
    };
    let (engine, handle) = match Engine::new(scenario, options) {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID;
        }
    };
    let (done_tx, done_rx) = oneshot::channel();
    let orphan_after = Duration::from_secs(args.orphan_after.unwrap_or(30));
    let link = tokio::spawn(link(listener, rx, handle.clone(), orphan_after, done_rx));
    let sigterm = crate::runtime::stop_on_sigterm(&handle);

    let result = engine.run().await;
    sigterm.abort();
    drop(handle);
    let code = match &result {
        Ok(report) => match write_report_files(
            report,
            Some(&out.join("report.json")),
            Some(&out.join("junit.xml")),
        ) {
            Ok(()) => exit_code(report),
            Err(e) => {
                eprintln!("error: {e:#}");
                exit::FAILED
            }
        },
        Err(e) => {
            eprintln!("error: the run failed: {e}");
            exit::FAILED
        }
    };
    // Hand over what is left (the final report above all), waiting a while for a server.
    let _ = done_tx.send(());
    let _ = tokio::time::timeout(orphan_after + Duration::from_secs(5), link).await;
    let _ = std::fs::remove_file(&socket);
    code
}

/// Serves one server connection at a time until the run is over and its events are delivered.
async fn link(
    listener: UnixListener,
    mut events: mpsc::UnboundedReceiver<WorkerEvent>,
    handle: EngineHandle,
    orphan_after: Duration,
    mut done: oneshot::Receiver<()>,
) {
    let mut backlog: VecDeque<String> = VecDeque::new();
    let mut finished = false;
    loop {
        // Wait for a server, queueing events meanwhile.
        let mut deadline = tokio::time::Instant::now() + orphan_after;
        let stream = loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => break Some(stream),
                    Err(e) => tracing::warn!("accepting a server connection: {e}"),
                },
                Some(event) = events.recv(), if !finished => queue(&mut backlog, &event),
                _ = &mut done, if !finished => {
                    finished = true;
                    drain(&mut events, &mut backlog);
                }
                _ = tokio::time::sleep_until(deadline) => {
                    if finished {
                        break None;
                    }
                    handle.stop("the control server went away");
                    deadline = tokio::time::Instant::now() + orphan_after;
                }
            }
        };
        let Some(stream) = stream else { return };
        match serve_connection(
            stream,
            &mut events,
            &handle,
            &mut backlog,
            &mut done,
            &mut finished,
        )
        .await
        {
            Connection::Delivered => return,
            Connection::Lost => continue,
        }
    }
}

enum Connection {
    /// The run is over and every event was written.
    Delivered,
    /// The server went away; wait for another.
    Lost,
}

async fn serve_connection(
    stream: UnixStream,
    events: &mut mpsc::UnboundedReceiver<WorkerEvent>,
    handle: &EngineHandle,
    backlog: &mut VecDeque<String>,
    done: &mut oneshot::Receiver<()>,
    finished: &mut bool,
) -> Connection {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    loop {
        while let Some(line) = backlog.front() {
            if write.write_all(line.as_bytes()).await.is_err() {
                return Connection::Lost;
            }
            backlog.pop_front();
        }
        if *finished {
            let _ = write.shutdown().await;
            return Connection::Delivered;
        }
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => queue(backlog, &event),
                None => *finished = true,
            },
            _ = &mut *done => {
                *finished = true;
                drain(events, backlog);
            }
            line = lines.next_line() => match line {
                Ok(Some(line)) => apply(handle, &line),
                Ok(None) | Err(_) => return Connection::Lost,
            },
        }
    }
}

fn queue(backlog: &mut VecDeque<String>, event: &WorkerEvent) {
    if backlog.len() >= BACKLOG_LIMIT {
        backlog.pop_front();
    }
    backlog.push_back(encode_event(event));
}

/// Queues what the run sent before it finished.
fn drain(events: &mut mpsc::UnboundedReceiver<WorkerEvent>, backlog: &mut VecDeque<String>) {
    while let Ok(event) = events.try_recv() {
        queue(backlog, &event);
    }
}

fn apply(handle: &EngineHandle, line: &str) {
    match decode_command(line) {
        Ok(command) => {
            // A refusal goes back to the server as the `change` event's verdict.
            if let Err(e) = handle.apply(command) {
                tracing::info!("a live change from the server was refused: {e}");
            }
        }
        Err(e) => tracing::warn!("a line from the server was not a command: {e}"),
    }
}
