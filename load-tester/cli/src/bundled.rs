//! The bundled target services as a supervised child of the control server: this binary
//! re-executed as `load-tester targets` (see `lab.rs`), restarted when it dies, stopped with the
//! server, its logs in `<log_dir>/targets.log`. The control plane's runtime never runs them.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long the first start may take (it creates and seeds the database).
const READY_WITHIN: Duration = Duration::from_secs(180);
/// Waits between restarts after the child dies: doubling from the first to the last.
const FIRST_RESTART: Duration = Duration::from_secs(1);
const MAX_RESTART: Duration = Duration::from_secs(30);
/// How long a first start keeps trying when the child exits before it is ready.
const START_PATIENCE: Duration = Duration::from_secs(10);
/// How long a stopping child may take before it is killed.
const STOP_WITHIN: Duration = Duration::from_secs(5);

/// How to start the child.
#[derive(Debug, Clone)]
pub struct Spec {
    pub exe: PathBuf,
    pub data_dir: PathBuf,
    pub host: IpAddr,
    pub ports: BTreeMap<&'static str, u16>,
    pub log_file: PathBuf,
}

/// The running child and its supervisor.
#[derive(Debug)]
pub struct BundledTargets {
    /// Where each service listens, by name (`ec`, `distributed`, …).
    pub addrs: BTreeMap<String, SocketAddr>,
    stop: watch::Sender<bool>,
    supervisor: JoinHandle<()>,
}

/// One started child: the process, the pipe whose end stops it, and where it listens.
struct Running {
    child: Child,
    /// Closing it asks the child to stop.
    stdin: Option<ChildStdin>,
    addrs: BTreeMap<String, SocketAddr>,
}

impl BundledTargets {
    /// Starts the child and waits until every service listens.
    pub async fn start(mut spec: Spec) -> anyhow::Result<BundledTargets> {
        // A server restarted right after being killed may find its old child still letting
        // go of the ports (it stops when its pipe closes): try again for a little while.
        let give_up = tokio::time::Instant::now() + START_PATIENCE;
        let running = loop {
            match spawn(&spec).await {
                Ok(running) => break running,
                Err(e) if tokio::time::Instant::now() < give_up => {
                    tracing::warn!("starting the bundled targets: {e:#}; trying again");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(e),
            }
        };
        let addrs = running.addrs.clone();
        // A restart binds the same ports, also where port 0 picked them.
        for (name, port) in spec.ports.iter_mut() {
            if let Some(addr) = addrs.get(*name) {
                *port = addr.port();
            }
        }
        let (stop, stopped) = watch::channel(false);
        let supervisor = tokio::spawn(supervise(spec, running, stopped));
        Ok(BundledTargets {
            addrs,
            stop,
            supervisor,
        })
    }

    /// Stops the child (gracefully, then SIGKILL after a moment) and its supervisor.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.supervisor.await;
    }
}

/// Starts `load-tester targets` and reads its ready line.
async fn spawn(spec: &Spec) -> anyhow::Result<Running> {
    let log = open_log(&spec.log_file)?;
    let mut command = Command::new(&spec.exe);
    command
        .arg("targets")
        .arg("--data-dir")
        .arg(&spec.data_dir)
        .arg("--host")
        .arg(spec.host.to_string());
    for (name, port) in &spec.ports {
        command.arg(format!("--{name}-port")).arg(port.to_string());
    }
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log)
        .env("NO_COLOR", "1")
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {} targets", spec.exe.display()))?;
    let stdin = child.stdin.take().context("the child's stdin")?;
    let stdout = child.stdout.take().context("the child's stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(READY_WITHIN, lines.next_line()).await;
    let line = match ready {
        Ok(Ok(Some(line))) => line,
        Ok(_) => {
            let status = child.wait().await.ok();
            bail!(
                "the bundled targets exited before they were ready ({}); see {}",
                status.map_or("no status".to_string(), |s| s.to_string()),
                spec.log_file.display()
            );
        }
        Err(_) => bail!(
            "the bundled targets were not ready within {} s; see {}",
            READY_WITHIN.as_secs(),
            spec.log_file.display()
        ),
    };
    let addrs = parse_ready(&line)
        .with_context(|| format!("the bundled targets said `{line}` instead of their addresses"))?;
    Ok(Running {
        child,
        stdin: Some(stdin),
        addrs,
    })
}

fn parse_ready(line: &str) -> anyhow::Result<BTreeMap<String, SocketAddr>> {
    let value: serde_json::Value = serde_json::from_str(line)?;
    let ready = value["ready"].as_object().context("no `ready` object")?;
    ready
        .iter()
        .map(|(name, addr)| {
            let addr = addr.as_str().context("an address that is not text")?;
            Ok((name.clone(), addr.parse()?))
        })
        .collect()
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopping(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn open_log(path: &Path) -> anyhow::Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))
}

/// Watches the child: restarts it (with backoff) when it dies, stops it when asked.
async fn supervise(spec: Spec, mut running: Running, mut stop: watch::Receiver<bool>) {
    let mut wait = FIRST_RESTART;
    loop {
        tokio::select! {
            status = running.child.wait() => {
                let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
                tracing::error!(%status, log = %spec.log_file.display(), "the bundled targets exited; restarting them");
                eprintln!(
                    "load-tester: the bundled targets exited ({status}); restarting in {} s (log: {})",
                    wait.as_secs(),
                    spec.log_file.display()
                );
            }
            _ = stopping(&mut stop) => {
                terminate(running).await;
                return;
            }
        }
        loop {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stopping(&mut stop) => return,
            }
            wait = (wait * 2).min(MAX_RESTART);
            match spawn(&spec).await {
                Ok(next) => {
                    if next.addrs != running.addrs {
                        tracing::warn!(before = ?running.addrs, now = ?next.addrs, "the bundled targets came back on other addresses");
                    }
                    running = next;
                    wait = FIRST_RESTART;
                    eprintln!("load-tester: the bundled targets are back");
                    break;
                }
                Err(e) => {
                    tracing::error!("restarting the bundled targets: {e:#}");
                    eprintln!("load-tester: restarting the bundled targets failed: {e:#}");
                }
            }
        }
    }
}

/// Closes the child's stdin (it stops gracefully), then SIGKILL if it lingers.
async fn terminate(mut running: Running) {
    drop(running.stdin.take());
    if tokio::time::timeout(STOP_WITHIN, running.child.wait())
        .await
        .is_err()
    {
        let _ = running.child.start_kill();
        let _ = running.child.wait().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_line_names_every_service() {
        let addrs =
            parse_ready(r#"{"ready":{"distributed":"127.0.0.1:5002","ec":"127.0.0.1:5001"}}"#)
                .unwrap();
        assert_eq!(addrs["ec"], "127.0.0.1:5001".parse().unwrap());
        assert_eq!(addrs.len(), 2);
        assert!(parse_ready("starting…").is_err());
    }
}
