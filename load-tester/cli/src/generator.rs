//! `load-tester worker --connect URL`: a network generator. It dials the coordinator (the control
//! server's generator listener), says hello with the session's token, and runs its segment of the
//! session with ticks that carry their histograms whole, so the coordinator merges them exactly
//! (see `docs/distributed.md`).
//!
//! It never listens. If the coordinator goes away it stops sending at once, stops its run and
//! exits within `--orphan-after` (default 10 s) whatever the run is doing; on `stop_now` it exits
//! its process on the spot, dropping every connection to the target.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lt_engine::{Engine, EngineHandle, RunOptions};
use lt_protocol::{
    Command, FileContent, Handshake, Hello, SPOKEN_VERSIONS, Welcome, WorkerEvent, decode_command,
    decode_handshake, encode_event, encode_handshake,
};
use lt_scenario::DataFiles;
use lt_scenario::data_folder::DataFolder;
use lt_scenario::segment::Segment;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, ReadHalf, WriteHalf};
use tokio::sync::mpsc;

use crate::args::WorkerArgs;
use crate::exit;
use crate::generator_dial::{Connection, Target, dial, target_of, tls_connector};

/// How long the welcome may take (the coordinator sends it once every generator said hello).
const WELCOME_LIMIT: Duration = Duration::from_secs(60);
/// A network generator's default bound between losing its coordinator and exiting.
const ORPHAN_AFTER_S: u64 = 10;
/// The exit code after `stop_now` (the coordinator asked; nothing failed here).
const STOPPED_NOW: i32 = exit::ABORTED as i32;

pub fn main(args: WorkerArgs) -> u8 {
    let Some(url) = args.connect.clone() else {
        eprintln!("error: --connect is required for a network generator");
        return exit::INVALID;
    };
    let Some(token) = args.token.clone().filter(|t| !t.is_empty()) else {
        eprintln!(
            "error: no join token: set LT_GENERATOR_TOKEN (or give --token, visible in `ps`)"
        );
        return exit::INVALID;
    };
    let Some(index) = args.index else {
        eprintln!("error: no generator index: give --index or set JOB_COMPLETION_INDEX");
        return exit::INVALID;
    };
    let target = match target_of(&url) {
        Ok(t) => t,
        Err(message) => {
            eprintln!("error: --connect {url}: {message}");
            return exit::INVALID;
        }
    };
    let tls = if target.tls {
        match tls_connector(args.ca_file.as_deref()) {
            Ok(connector) => Some(connector),
            Err(message) => {
                eprintln!("error: {message}");
                return exit::INVALID;
            }
        }
    } else {
        if args.ca_file.is_some() {
            eprintln!(
                "warning: --ca-file (LT_GENERATOR_CA_FILE) is for tls:// and is not used with \
                 {url}"
            );
        }
        None
    };
    let orphan_after = Duration::from_secs(args.orphan_after.unwrap_or(ORPHAN_AFTER_S));
    let hello = Hello {
        versions: SPOKEN_VERSIONS.to_vec(),
        session: args.session.clone(),
        index,
        token,
        clock_ms: now_ms(),
    };
    crate::runtime::block_on(run(target, tls, hello, orphan_after))
}

async fn run(
    target: Target,
    tls: Option<tokio_rustls::TlsConnector>,
    hello: Hello,
    orphan_after: Duration,
) -> u8 {
    let index = hello.index;
    let address = &target.address;
    let stream = match dial(&target, tls.as_ref()).await {
        Ok(s) => s,
        Err(message) => {
            eprintln!("error: {message}");
            return exit::FAILED;
        }
    };
    let (read, mut write) = tokio::io::split(stream);
    let mut lines = BufReader::new(read).lines();
    if let Err(e) = write
        .write_all(encode_handshake(&Handshake::Hello(hello)).as_bytes())
        .await
    {
        eprintln!("error: saying hello to the coordinator at {address}: {e}");
        return exit::FAILED;
    }
    let welcome = match tokio::time::timeout(WELCOME_LIMIT, lines.next_line()).await {
        Err(_) => {
            eprintln!(
                "error: the coordinator at {address} did not answer within {WELCOME_LIMIT:?}"
            );
            return exit::FAILED;
        }
        Ok(Err(e)) => {
            eprintln!("error: reading the coordinator's answer: {e}");
            return exit::FAILED;
        }
        Ok(Ok(None)) => {
            eprintln!(
                "error: the coordinator at {address} closed the connection without an answer"
            );
            return exit::FAILED;
        }
        Ok(Ok(Some(line))) => match decode_handshake(&line) {
            Ok(Handshake::Welcome(w)) => w,
            Ok(Handshake::Refused(r)) => {
                eprintln!(
                    "error: the coordinator refused generator {index}: {}",
                    r.reason
                );
                return exit::INVALID;
            }
            Ok(Handshake::Hello(_)) | Err(_) => {
                eprintln!("error: the coordinator's answer is not a welcome: {line}");
                return exit::FAILED;
            }
        },
    };
    let received_ms = now_ms();
    let Welcome {
        segment,
        launch,
        start_at_ms,
        clock_ms,
        files,
        ..
    } = welcome;
    let Some(segment) = Segment::new(segment.index, segment.count) else {
        eprintln!(
            "error: the coordinator gave segment {} of {}",
            segment.index, segment.count
        );
        return exit::FAILED;
    };
    let files = match Sent::new(files, launch.data_dir.as_ref()) {
        Ok(files) => files,
        Err(message) => {
            eprintln!("error: the coordinator's welcome: {message}");
            return exit::FAILED;
        }
    };
    // Its `{{ env.* }}` never read the join token (see `runtime::process_env`).
    let scenario = match crate::worker::scenario_reading(&launch, &files) {
        Ok(s) => s,
        Err(code) => return code,
    };
    drop(files);
    let (part, place) = scenario.part(segment);
    let (part_users, part_max_users, part_rate) =
        (part.load.users, part.load.max_users, part.load.arrival_rate);
    let (tx, events) = mpsc::unbounded_channel();
    let options = RunOptions {
        session_id: launch.session_id.clone(),
        html_report: None,
        events: Some(tx),
        place: Some(place),
        whole_ticks: true,
    };
    let (engine, handle) = match Engine::new(part, options) {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID;
        }
    };
    // Start with the others: the coordinator's start time, on our clock (the one-way delay of
    // the welcome is left out: sub-millisecond on loopback, a few ms in a cluster).
    let wait = start_at_ms.saturating_sub(clock_ms);
    let spent = now_ms().saturating_sub(received_ms);
    tokio::time::sleep(Duration::from_millis(wait.saturating_sub(spent))).await;
    tracing::info!(
        index = segment.index(),
        count = segment.count(),
        users = part_users,
        max_users = part_max_users,
        arrival_rate = ?part_rate,
        "generator starting its segment"
    );
    let link = tokio::spawn(link(lines, write, events, handle.clone(), orphan_after));
    let sigterm = crate::runtime::stop_on_sigterm(&handle);
    let result = engine.run().await;
    sigterm.abort();
    drop(handle);
    let code = match &result {
        Ok(report) => crate::run::exit_code(report),
        Err(e) => {
            eprintln!("error: the run failed: {e}");
            exit::FAILED
        }
    };
    // Hand over what is left (the final report above all), bounded.
    let _ = tokio::time::timeout(orphan_after, link).await;
    code
}

/// The data files of the welcome; a file it lacks is read from the launch's `data_dir` when an
/// older coordinator gave one.
struct Sent {
    files: BTreeMap<String, Vec<u8>>,
    folder: Option<DataFolder>,
}

impl Sent {
    fn new(
        files: BTreeMap<String, FileContent>,
        data_dir: Option<&String>,
    ) -> Result<Sent, String> {
        let files = files
            .into_iter()
            .map(|(name, content)| {
                content
                    .bytes()
                    .map(|bytes| (name.clone(), bytes))
                    .map_err(|e| format!("file `{name}`: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Sent {
            files,
            folder: data_dir.map(DataFolder::inside),
        })
    }
}

impl DataFiles for Sent {
    fn read(&self, file: &str) -> Result<Vec<u8>, String> {
        match (self.files.get(file), &self.folder) {
            (Some(bytes), _) if bytes.len() as u64 > lt_scenario::data::MAX_DATA_BYTES => {
                Err(lt_scenario::data::too_large(file, bytes.len() as u64))
            }
            (Some(bytes), _) => Ok(bytes.clone()),
            (None, Some(folder)) => folder.read(file),
            (None, None) => Err(format!(
                "data file `{file}` was not in the coordinator's welcome"
            )),
        }
    }
}

/// Sends events and takes commands until the run's events end; when the coordinator goes away,
/// stops the run and makes sure the process is gone within `orphan_after`.
async fn link(
    mut lines: tokio::io::Lines<BufReader<ReadHalf<Box<dyn Connection>>>>,
    mut write: WriteHalf<Box<dyn Connection>>,
    mut events: mpsc::UnboundedReceiver<WorkerEvent>,
    handle: EngineHandle,
    orphan_after: Duration,
) {
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => {
                    if write.write_all(encode_event(&event).as_bytes()).await.is_err() {
                        break;
                    }
                }
                None => {
                    let _ = write.shutdown().await;
                    return;
                }
            },
            line = lines.next_line() => match line {
                Ok(Some(line)) => apply(&handle, &line),
                Ok(None) | Err(_) => break,
            },
        }
    }
    // The coordinator is gone: nothing more is sent, the run stops, and the process exits
    // within the bound even if the run's in-flight requests take longer.
    tracing::warn!("the coordinator went away; stopping");
    handle.stop("the coordinator went away");
    std::thread::spawn(move || {
        std::thread::sleep(orphan_after);
        eprintln!("error: the coordinator went away; exiting after {orphan_after:?}");
        std::process::exit(i32::from(exit::FAILED));
    });
    while events.recv().await.is_some() {}
}

fn apply(handle: &EngineHandle, line: &str) {
    match decode_command(line) {
        Ok(Command::StopNow) => {
            // Emergency stop: the process goes, and with it every connection to the target.
            std::process::exit(STOPPED_NOW);
        }
        Ok(command) => {
            if let Err(e) = handle.apply(command) {
                tracing::info!("a live change from the coordinator was refused: {e}");
            }
        }
        Err(e) => tracing::warn!("a line from the coordinator was not a command: {e}"),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
