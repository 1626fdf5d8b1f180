//! The scale-out case: one session run by 1, 2 and 4 local generators (`load.generators`)
//! through a real control server against the trivial target. It prints the server's CPU (the
//! coordinator: merging, plus the store and API work every session has, which the 1-generator
//! row shows alone) per merged tick and per generator, and whether the merge is exact: the
//! merged session's requests against what the target served. On a small machine the generators
//! share the CPU with the server, so this is a cost figure, not a speed-up.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::{Value, json};

use crate::lt_run::Bench;
use crate::os;

const TOKEN: &str = "lt-bench-scale-out-token-0123456789";

#[derive(Debug, Args)]
pub struct ScaleOutArgs {
    /// Generator counts to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    pub generators: Vec<u32>,
    /// Seconds each session runs.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Users of each session (split over its generators).
    #[arg(long, default_value_t = 8)]
    pub users: u32,
    /// Endpoints of the scenario (a generator's tick carries each one's histograms).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub endpoints: u32,
}

/// One session's figures.
#[derive(Debug)]
struct Row {
    generators: u32,
    ticks: u64,
    server_cpu_s: f64,
    merged_requests: u64,
    served: u64,
    /// Bytes the coordinator received per generator tick (its last look at `live.generators`),
    /// when the session ran on several generators.
    bytes_per_tick: Option<f64>,
}

pub fn run(args: &ScaleOutArgs) -> Result<()> {
    let bench = Bench::start()?;
    let mut rows = Vec::new();
    for &n in &args.generators {
        rows.push(measure(&bench, n, args).with_context(|| format!("{n} generators"))?);
    }
    println!("## Scale-out: one session on N local generators\n");
    println!(
        "{} users, {} s, think time 10 ms, {} endpoint(s), against the trivial target; server CPU \
         from /proc; bytes as counted by the coordinator (`live.generators[].received_bytes`).\n",
        args.users, args.seconds, args.endpoints
    );
    println!(
        "| generators | merged ticks | server CPU (ms) | per merged tick (ms) | per tick and generator (ms) | bytes per generator tick | merged requests | target served | exact |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        let per_tick = r.cpu_per_tick_ms();
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {} | {} |",
            r.generators,
            r.ticks,
            r.server_cpu_s * 1000.0,
            per_tick,
            per_tick / f64::from(r.generators),
            r.bytes_per_tick
                .map_or_else(|| "–".to_string(), |b| format!("{b:.0}")),
            r.merged_requests,
            r.served,
            if r.merged_requests == r.served {
                "yes"
            } else {
                "no"
            }
        );
    }
    if let Some(line) = extrapolation(&rows, 100) {
        println!("\n{line}");
    }
    Ok(())
}

impl Row {
    fn cpu_per_tick_ms(&self) -> f64 {
        self.server_cpu_s * 1000.0 / self.ticks.max(1) as f64
    }
}

/// What `target` generators would cost the coordinator, from the rows: each generator sends one
/// tick a second; the coordinator's own CPU per generator tick is the growth of the server's CPU
/// per merged tick from the one-generator row (which has no coordinator) to the largest row.
fn extrapolation(rows: &[Row], target: u32) -> Option<String> {
    let base = rows.iter().find(|r| r.generators == 1)?;
    let top = rows
        .iter()
        .filter(|r| r.generators > 1)
        .max_by_key(|r| r.generators)?;
    let bytes = top.bytes_per_tick?;
    let coordinator_ms =
        (top.cpu_per_tick_ms() - base.cpu_per_tick_ms()) / f64::from(top.generators);
    Some(format!(
        "Extrapolated to {target} generators (from the {}-generator row): {target} ticks/s and \
         {:.0} KB/s at the coordinator, {:.1} ms of its CPU per generator tick, so about {:.0} ms \
         of CPU per second ({:.0} % of one core).",
        top.generators,
        bytes * f64::from(target) / 1000.0,
        coordinator_ms,
        coordinator_ms * f64::from(target),
        coordinator_ms * f64::from(target) / 10.0,
    ))
}

fn measure(bench: &Bench, generators: u32, args: &ScaleOutArgs) -> Result<Row> {
    let data = bench.path(&format!("serve-{generators}"));
    std::fs::create_dir_all(&data)?;
    let (mut server, url) = start_server(&bench.load_tester, &data)?;
    let result = (|| {
        let before = bench.target.reset()?;
        let pid = server.id();
        let ticks_per_s = os::clock_ticks_per_second();
        let cpu_before = os::read_stat(pid)?.cpu_seconds(ticks_per_s);
        let endpoints: String = (0..args.endpoints)
            .map(|i| format!("  - {{ name: e{i}, path: \"/?e={i}\" }}\n"))
            .collect();
        let yaml = format!(
            "name: scale-out-bench\ntarget: {}\nload:\n  users: {}\n  generators: {generators}\n  \
             duration: {}s\n  think_time: {{ min: 10ms, max: 10ms }}\nendpoints:\n{endpoints}\
             protection:\n  max_errors_per_minute: off\n",
            bench.target.url(),
            args.users,
            args.seconds
        );
        let (status, body) = call(
            &url,
            "POST",
            "/api/sessions",
            Some(json!({ "scenario_yaml": yaml })),
        )?;
        if status != 201 {
            bail!("starting the session: {status} {body}");
        }
        let id = body["id"].as_str().context("no session id")?.to_string();
        let deadline = Instant::now() + Duration::from_secs(args.seconds + 60);
        let mut bytes_per_tick = None;
        loop {
            let (_, s) = call(&url, "GET", &format!("/api/sessions/{id}"), None)?;
            if let Some(per_tick) = received_per_tick(&s) {
                bytes_per_tick = Some(per_tick);
            }
            match s["status"].as_str() {
                Some("completed") => break,
                Some("failed" | "aborted" | "stopped" | "interrupted") => {
                    bail!("the session ended {}: {}", s["status"], s["reason"])
                }
                _ => {}
            }
            if Instant::now() > deadline {
                bail!("the session did not end in time");
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        let cpu_after = os::read_stat(pid)?.cpu_seconds(ticks_per_s);
        let (_, stats) = call(&url, "GET", &format!("/api/sessions/{id}/stats"), None)?;
        let seconds = stats["seconds"].as_array().cloned().unwrap_or_default();
        let after = bench.target.window()?;
        Ok(Row {
            generators,
            ticks: seconds.len() as u64,
            server_cpu_s: cpu_after - cpu_before,
            merged_requests: seconds.iter().filter_map(|s| s["requests"].as_u64()).sum(),
            served: after.served - before.served,
            bytes_per_tick,
        })
    })();
    let _ = server.kill();
    let _ = server.wait();
    result
}

/// Bytes the coordinator received per generator tick so far, from a session's
/// `live.generators` (a generator's `second` is its count of ticks, from 1); `None` before the first.
fn received_per_tick(session: &Value) -> Option<f64> {
    let generators = session["live"]["generators"].as_array()?;
    let bytes: u64 = generators
        .iter()
        .filter_map(|g| g["received_bytes"].as_u64())
        .sum();
    let ticks: u64 = generators.iter().filter_map(|g| g["second"].as_u64()).sum();
    (ticks > 0 && bytes > 0).then(|| bytes as f64 / ticks as f64)
}

/// `load-tester serve` on a free port with its data in `data`; returns it and its URL.
fn start_server(load_tester: &Path, data: &Path) -> Result<(Child, String)> {
    let mut child = Command::new(load_tester)
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--no-targets",
            "--data-dir",
        ])
        .arg(data)
        .arg("--scenarios-dir")
        .arg(data)
        .current_dir(data)
        .env("LT_API_TOKEN", TOKEN)
        .env("LT_GENERATORS__BIND", "127.0.0.1:0")
        .env("LT_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start load-tester serve")?;
    let stderr = child.stderr.take().context("no stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = String::new();
    let url = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(rest) = line.split("control server on ").nth(1) {
                    break rest.trim().trim_end_matches('/').to_string();
                }
                seen.push_str(&line);
                seen.push('\n');
            }
            _ => {
                let _ = child.kill();
                bail!("the server did not start:\n{seen}");
            }
        }
    };
    // Keep draining its log so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Ok((child, url))
}

/// One HTTP/1.1 call with the token, on its own connection; returns the status and JSON body.
fn call(url: &str, method: &str, path: &str, body: Option<Value>) -> Result<(u16, Value)> {
    let host = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).with_context(|| format!("connecting to {host}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let (head, rest) = answer.split_once("\r\n\r\n").context("no end of headers")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no status")?;
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let text = if chunked {
        unchunk(rest)
    } else {
        rest.to_string()
    };
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

/// The body of a chunked answer.
fn unchunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}
