//! Starting a session's N generators, by the setting `generators.launcher`: `local` processes
//! on this machine (`load-tester worker --connect …`, each its own process group, so emergency
//! stop SIGKILLs each group as for a one-process worker, the join token in their environment
//! only); a `kubernetes` Indexed Job; or `external` generators that someone else starts with the
//! server's configured token. Then the session's coordinator.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use lt_kube::LauncherKind;
use lt_protocol::Launch;
use lt_scenario::Scenario;

use super::coordinator::Coordinator;
use super::registry::{Registry, new_token};
use super::settings::GeneratorSettings;
use crate::supervisor::StartError;

/// What the supervisor knows of a session's generators.
#[derive(Debug)]
pub struct Launched {
    /// Each local generator's pid (its process group), by index; none for generators that run
    /// elsewhere.
    pub pids: Vec<u32>,
    /// The coordinator's side of the session: event lines to read, command lines to write, as
    /// from a one-process worker.
    pub link: tokio::io::DuplexStream,
}

/// Everything [`start`] needs.
#[derive(Debug)]
pub struct LaunchRequest<'a> {
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
    /// The server's Kubernetes client (built at the first session on Kubernetes).
    pub kubernetes: &'a super::kubernetes::Client,
    /// Where the coordinator shows each generator's health.
    pub health: super::HealthBoard,
}

/// Opens the session to its generators, has them started by the configured launcher, and
/// starts its coordinator. On an error nothing is left running or created.
pub async fn start(request: LaunchRequest<'_>) -> Result<Launched, StartError> {
    let id = request.session_id;
    let count = request.scenario.load.generators;
    let settings = request.settings;
    let registry = request.registry;
    let address = super::listener::ensure_listening(registry, settings)
        .await
        .map_err(StartError::Io)?;
    let (token, joins) = if settings.launcher == LauncherKind::External {
        let token = settings.external_token().map_err(StartError::Launch)?;
        let joins = registry.expect_alone(id, &token, count).map_err(|other| {
            StartError::Busy(format!(
                "session {other} is still waiting for its generators, which join with the same \
                 token (launcher `external`); start this one once they have joined"
            ))
        })?;
        (token, joins)
    } else {
        let token = new_token();
        let joins = registry.expect(id, &token, count);
        (token, joins)
    };
    *crate::session::lock(&request.health) = super::health::joining(count);
    let mut children = Vec::new();
    let mut pids = Vec::new();
    let mut job = None;
    match settings.launcher {
        LauncherKind::Local => {
            for index in 0..count {
                match spawn(&request, address, &token, index) {
                    Ok(child) => {
                        pids.push(child.id().unwrap_or(0));
                        children.push(Some(child));
                    }
                    Err(e) => {
                        registry.close(id);
                        for pid in &pids {
                            crate::process::kill_group(*pid);
                        }
                        return Err(StartError::Io(e));
                    }
                }
            }
        }
        LauncherKind::Kubernetes => {
            match super::kubernetes::launch(request.kubernetes, settings, id, count, &token).await {
                Ok(launched) => job = Some(launched),
                Err(e) => {
                    registry.close(id);
                    return Err(StartError::Launch(e));
                }
            }
        }
        LauncherKind::External => tracing::info!(
            session = %id,
            generators = count,
            "the session waits for {count} generators started elsewhere (launcher `external`)"
        ),
    }
    let (ours, theirs) = tokio::io::duplex(1 << 20);
    let coordinator = Coordinator {
        session_id: id.to_string(),
        scenario: request.scenario.clone(),
        count,
        on_loss: settings.on_loss,
        join_limit: settings.join_timeout(),
        // Generators read the scenario's files from the welcome, not from this machine's
        // scenarios folder (which a generator elsewhere cannot see).
        launch: Launch {
            data_dir: None,
            ..request.launch
        },
        files: request.files,
        joins,
        children,
        job,
        registry: Arc::clone(registry),
        log: request.dir.join("worker.log"),
        health: request.health,
    };
    tokio::spawn(coordinator.run(theirs));
    Ok(Launched { pids, link: ours })
}

fn spawn(
    request: &LaunchRequest<'_>,
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
        .env_remove(&request.settings.token_env)
        // The token only in the environment: a command line is visible to every user in `ps`.
        .env(lt_kube::TOKEN_ENV, token)
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove(lt_kube::CA_FILE_ENV)
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
