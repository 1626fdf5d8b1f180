//! The local launcher: the coordinator starts a session's N generators on this machine as
//! `load-tester worker --connect …` processes, each its own process group (so emergency stop
//! SIGKILLs each group, as for a one-process worker), the join token in their environment only.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use lt_protocol::Launch;
use lt_scenario::Scenario;

use super::coordinator::Coordinator;
use super::registry::{Registry, new_token};
use super::settings::GeneratorSettings;

/// What the supervisor knows of a session's local generators.
#[derive(Debug)]
pub struct LocalLaunch {
    /// Each generator's pid (its process group), by index.
    pub pids: Vec<u32>,
    /// The coordinator's side of the session: event lines to read, command lines to write, as
    /// from a one-process worker.
    pub link: tokio::io::DuplexStream,
}

/// Everything [`start_local`] needs.
#[derive(Debug)]
pub struct LocalRequest<'a> {
    pub session_id: &'a str,
    pub dir: &'a Path,
    pub exe: &'a Path,
    pub env: Vec<(String, String)>,
    pub launch: Launch,
    /// The files the scenario reads, for the welcome (see [`super::welcome_files`]).
    pub files: super::WelcomeFiles,
    pub scenario: &'a Scenario,
    pub settings: &'a GeneratorSettings,
    pub registry: &'a Arc<Registry>,
    /// Where the coordinator shows each generator's health.
    pub health: super::HealthBoard,
}

/// Opens the session to its generators, starts them, and starts its coordinator.
pub async fn start_local(request: LocalRequest<'_>) -> Result<LocalLaunch, String> {
    let count = request.scenario.load.generators;
    let address = super::listener::ensure_listening(request.registry, request.settings).await?;
    *crate::session::lock(&request.health) = super::health::joining(count);
    let token = new_token();
    let joins = request.registry.expect(request.session_id, &token, count);
    let mut children = Vec::with_capacity(count as usize);
    let mut pids = Vec::with_capacity(count as usize);
    for index in 0..count {
        match spawn(&request, address, &token, index) {
            Ok(child) => {
                pids.push(child.id().unwrap_or(0));
                children.push(Some(child));
            }
            Err(e) => {
                request.registry.close(request.session_id);
                for pid in &pids {
                    crate::process::kill_group(*pid);
                }
                return Err(e);
            }
        }
    }
    let (ours, theirs) = tokio::io::duplex(1 << 20);
    let coordinator = Coordinator {
        session_id: request.session_id.to_string(),
        scenario: request.scenario.clone(),
        count,
        on_loss: request.settings.on_loss,
        // Generators read the scenario's files from the welcome, not from this machine's
        // scenarios folder (which a generator elsewhere cannot see).
        launch: Launch {
            data_dir: None,
            ..request.launch
        },
        files: request.files,
        joins,
        children,
        registry: Arc::clone(request.registry),
        log: request.dir.join("worker.log"),
        health: request.health,
    };
    tokio::spawn(coordinator.run(theirs));
    Ok(LocalLaunch { pids, link: ours })
}

fn spawn(
    request: &LocalRequest<'_>,
    address: std::net::SocketAddr,
    token: &str,
    index: u32,
) -> Result<tokio::process::Child, String> {
    // A listener on every address is dialed on loopback.
    let mut address = address;
    if address.ip().is_unspecified() {
        address.set_ip(match address.ip() {
            std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let tls = &request.settings.tls;
    let url = if tls.is_on() {
        format!("tls://{address}")
    } else {
        format!("tcp://{address}")
    };
    let log_path: PathBuf = request.dir.join(format!("generator-{index}.log"));
    let log = std::fs::File::create(&log_path)
        .map_err(|e| format!("creating {}: {e}", log_path.display()))?;
    let log_err = log
        .try_clone()
        .map_err(|e| format!("{}: {e}", log_path.display()))?;
    let mut command = tokio::process::Command::new(request.exe);
    command
        .envs(request.env.iter().cloned())
        // The token only in the environment: a command line is visible to every user in `ps`.
        .env("LT_GENERATOR_TOKEN", token)
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("LT_GENERATOR_CA_FILE")
        .arg("worker")
        .arg("--connect")
        .arg(url)
        .arg("--index")
        .arg(index.to_string())
        .arg("--session")
        .arg(request.session_id);
    if let (true, Some(ca_file)) = (tls.is_on(), &tls.ca_file) {
        let ca_file = std::path::absolute(ca_file)
            .map_err(|e| format!("generators.tls.ca_file {}: {e}", ca_file.display()))?;
        command.arg("--ca-file").arg(ca_file);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_err))
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("starting {} worker --connect: {e}", request.exe.display()))
}
