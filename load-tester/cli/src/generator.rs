//! `load-tester worker --connect URL`: a network generator. It dials the coordinator (the control
//! server's generator listener), says hello with the session's token, and runs its segment of the
//! session with ticks that carry their histograms whole, so the coordinator merges them exactly
//! (see `docs/distributed.md`).
//!
//! It never listens. If the coordinator goes away it stops sending at once, stops its run and
//! exits within `--orphan-after` (default 10 s) whatever the run is doing; on `stop_now` it exits
//! its process on the spot, dropping every connection to the target.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lt_engine::{Engine, EngineHandle, RunOptions};
use lt_protocol::{
    Command, Handshake, Hello, SPOKEN_VERSIONS, Welcome, WorkerEvent, decode_command,
    decode_handshake, encode_event, encode_handshake,
};
use lt_scenario::segment::Segment;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;

use crate::args::WorkerArgs;
use crate::exit;

/// How long dialing the coordinator is retried.
const DIAL_LIMIT: Duration = Duration::from_secs(10);
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
    let address = match address_of(&url) {
        Ok(a) => a,
        Err(message) => {
            eprintln!("error: --connect {url}: {message}");
            return exit::INVALID;
        }
    };
    let orphan_after = Duration::from_secs(args.orphan_after.unwrap_or(ORPHAN_AFTER_S));
    let hello = Hello {
        versions: SPOKEN_VERSIONS.to_vec(),
        session: args.session.clone(),
        index,
        token,
        clock_ms: now_ms(),
    };
    crate::runtime::block_on(run(address, hello, orphan_after))
}

/// `HOST:PORT` from `tcp://HOST:PORT` or `HOST:PORT`.
fn address_of(url: &str) -> Result<String, String> {
    let rest = url.strip_prefix("tcp://").unwrap_or(url);
    if rest.contains("://") {
        return Err("the coordinator's address is `HOST:PORT` or `tcp://HOST:PORT`".into());
    }
    let rest = rest.trim_end_matches('/');
    match rest.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
            Ok(rest.to_string())
        }
        _ => Err("expected HOST:PORT, such as 127.0.0.1:8081".into()),
    }
}

async fn run(address: String, hello: Hello, orphan_after: Duration) -> u8 {
    let index = hello.index;
    let stream = match dial(&address).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: connecting to the coordinator at {address}: {e}");
            return exit::FAILED;
        }
    };
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
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
        ..
    } = welcome;
    let Some(segment) = Segment::new(segment.index, segment.count) else {
        eprintln!(
            "error: the coordinator gave segment {} of {}",
            segment.index, segment.count
        );
        return exit::FAILED;
    };
    let scenario = match crate::worker::scenario_of(&launch) {
        Ok(s) => s,
        Err(code) => return code,
    };
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

async fn dial(address: &str) -> std::io::Result<TcpStream> {
    let deadline = tokio::time::Instant::now() + DIAL_LIMIT;
    loop {
        match TcpStream::connect(address).await {
            Ok(s) => return Ok(s),
            Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Sends events and takes commands until the run's events end; when the coordinator goes away,
/// stops the run and makes sure the process is gone within `orphan_after`.
async fn link(
    mut lines: tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>,
    mut write: OwnedWriteHalf,
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

#[cfg(test)]
mod tests {
    use super::address_of;

    #[test]
    fn the_coordinator_address_is_host_and_port() {
        assert_eq!(
            address_of("tcp://127.0.0.1:8081").unwrap(),
            "127.0.0.1:8081"
        );
        assert_eq!(address_of("lt.example:9000").unwrap(), "lt.example:9000");
        assert!(address_of("http://x:1").is_err());
        assert!(address_of("localhost").is_err());
        assert!(address_of("tcp://:80").is_err());
    }
}
