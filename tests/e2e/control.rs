//! Shared bits of the control-server tests: a real `load-tester serve` on a free port, a client,
//! an SSE reader, and a look at which worker processes live.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

use crate::common::BIN;

pub const TOKEN: &str = "e2e-token-0123456789abcdef";

/// A running `load-tester serve`.
pub struct Server {
    pub child: Child,
    pub url: String,
    /// What it printed up to the line naming its URL.
    pub banner: String,
    pub data_dir: PathBuf,
    pub client: reqwest::Client,
}

impl Server {
    /// Starts a server on 127.0.0.1:0 with its data in `data_dir`, without bundled targets.
    pub async fn start(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
        Server::start_with_scenarios(data_dir, &scenarios, env).await
    }

    /// Like [`Server::start`], offering the scenario files in `scenarios`.
    pub async fn start_with_scenarios(
        data_dir: &Path,
        scenarios: &Path,
        env: &[(&str, &str)],
    ) -> Server {
        Server::launch(data_dir, scenarios, env, false).await
    }

    /// Like [`Server::start`], its generators started by someone else (`launcher =
    /// "external"`): they join its generator listener on `port` with `token`.
    pub async fn start_external(data_dir: &Path, port: u16, token: &str) -> Server {
        let bind = format!("127.0.0.1:{port}");
        Server::start(
            data_dir,
            &[
                ("LT_GENERATORS__LAUNCHER", "external"),
                ("LT_GENERATORS__BIND", bind.as_str()),
                ("LT_GENERATOR_TOKEN", token),
            ],
        )
        .await
    }

    /// Like [`Server::start`], with the bundled targets (in their own process).
    pub async fn start_with_targets(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
        Server::launch(data_dir, &scenarios, env, true).await
    }

    async fn launch(
        data_dir: &Path,
        scenarios: &Path,
        env: &[(&str, &str)],
        bundled_targets: bool,
    ) -> Server {
        let mut command = tokio::process::Command::new(BIN);
        command
            .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args((!bundled_targets).then_some("--no-targets"))
            .arg("--scenarios-dir")
            .arg(scenarios)
            .current_dir(data_dir)
            .env("LT_API_TOKEN", TOKEN)
            .env("LT_LOG", "info")
            .env_remove("TARGET_APP_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawn load-tester serve");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = String::new();
        let url = tokio::time::timeout(Duration::from_secs(180), async {
            while let Ok(Some(line)) = lines.next_line().await {
                seen.push_str(&line);
                seen.push('\n');
                if let Some(rest) = line.split("control server on ").nth(1) {
                    return Some(rest.trim().trim_end_matches('/').to_string());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("the server did not start:\n{seen}"));
        // Keep draining its log so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Server {
            child,
            url,
            banner: seen,
            data_dir: data_dir.to_path_buf(),
            client: reqwest::Client::new(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("server pid")
    }

    /// Sends `method path` with the token and an optional JSON body; returns status and JSON.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call_as(method, path, body, Some(TOKEN)).await
    }

    pub async fn call_as(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, format!("{}{path}", self.url));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        if let Some(b) = body {
            request = request
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call("GET", path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// Starts a session from inline YAML; returns its id.
    pub async fn start_session(&self, yaml: &str) -> String {
        let (status, body) = self
            .call(
                "POST",
                "/api/sessions",
                Some(json!({ "scenario_yaml": yaml })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("id").to_string()
    }

    /// Waits until session `id` has status `want`.
    pub async fn wait_status(&self, id: &str, want: &str, limit: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let s = self.get(&format!("/api/sessions/{id}")).await;
            if s["status"] == want {
                return s;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "session {id} is `{}` ({}), not `{want}`, after {limit:?}",
                s["status"],
                s["reason"]
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Opens an SSE stream.
    pub async fn events(&self, path: &str, last_event_id: Option<u64>) -> Sse {
        let mut request = self.client.get(format!("{}{path}", self.url));
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        let response = request.send().await.expect("open the event stream");
        assert_eq!(response.status(), 200);
        Sse {
            response,
            buffer: String::new(),
        }
    }

    /// Kills the server with SIGKILL (its workers live on in their own process groups).
    pub async fn kill9(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// One Server-Sent Event.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: u64,
    pub kind: String,
    pub data: Value,
}

/// Reads events off an SSE response.
pub struct Sse {
    response: reqwest::Response,
    buffer: String,
}

impl Sse {
    /// The next event (comments and heartbeats skipped), within `limit`.
    pub async fn next(&mut self, limit: Duration) -> Option<Event> {
        tokio::time::timeout(limit, async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    if let Some(event) = parse_block(&block) {
                        return Some(event);
                    }
                    continue;
                }
                match self.response.chunk().await {
                    Ok(Some(bytes)) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                    _ => return None,
                }
            }
        })
        .await
        .ok()
        .flatten()
    }

    /// The next event for which `pred` holds.
    pub async fn until(&mut self, limit: Duration, pred: impl Fn(&Event) -> bool) -> Event {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Some(e) if pred(&e) => return e,
                Some(_) => continue,
                None => panic!("no matching event within {limit:?}"),
            }
        }
    }
}

fn parse_block(block: &str) -> Option<Event> {
    let (mut id, mut kind, mut data) = (None, String::new(), String::new());
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("id:") {
            id = v.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix("event:") {
            kind = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    Some(Event {
        id: id?,
        kind,
        data: serde_json::from_str(&data).ok()?,
    })
}

/// Pids of live worker processes whose command line mentions `needle` (a data dir or a session
/// id), zombies excluded.
pub fn worker_pids(needle: &str) -> Vec<u32> {
    pids_of("worker", needle)
}

/// Live processes of `load-tester <subcommand>` whose command line mentions `needle`.
pub fn pids_of(subcommand: &str, needle: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return pids;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                s.rsplit_once(')')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
            })
            .unwrap_or(true);
        if cmd.contains(&format!(" {subcommand} ")) && cmd.contains(needle) && !zombie {
            pids.push(pid);
        }
    }
    pids
}

/// SIGKILLs a process.
pub fn kill9(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status();
}

/// A scenario against `target` with endpoints `/e/<name>` for each name.
pub fn scenario_yaml(target: &str, users: u32, endpoints: &[&str], extra: &str) -> String {
    let mut yaml = format!(
        "name: control-e2e\ntarget: {target}\nload:\n  users: {users}\n  max_users: {}\n  duration: 5m\n  think_time: {{ min: 20ms, max: 40ms }}\nendpoints:\n",
        users * 2
    );
    for name in endpoints {
        yaml.push_str(&format!("  - {{ name: {name}, path: /e/{name} }}\n"));
    }
    yaml.push_str("protection:\n  max_errors_per_minute: off\n");
    yaml.push_str(extra);
    yaml
}

/// `load-tester worker --connect tcp://127.0.0.1:PORT --index I` with `token` in its
/// environment, as someone starts an external generator by hand; its stderr is piped.
pub fn external_generator(port: u16, index: u32, token: &str) -> Child {
    tokio::process::Command::new(BIN)
        .args(["worker", "--connect", &format!("tcp://127.0.0.1:{port}")])
        .args(["--index", &index.to_string()])
        .env("LT_GENERATOR_TOKEN", token)
        .env_remove("LT_SESSION_ID")
        .env_remove("JOB_COMPLETION_INDEX")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// `load-tester serve` (no bundled targets, data in `data_dir`, the API token set) with `env`,
/// expected to refuse to start: how it ended (a server that does start is killed at 60 s).
pub async fn serve_refusing(data_dir: &Path, env: &[(&str, &str)]) -> lt_testkit::RunResult {
    let data = data_dir.display().to_string();
    let mut env = env.to_vec();
    env.push(("LT_API_TOKEN", TOKEN));
    lt_testkit::run_binary(
        BIN,
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--no-targets",
            "--data-dir",
            &data,
        ],
        &env,
        Duration::from_secs(60),
    )
    .await
}
