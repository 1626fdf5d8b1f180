//! The trivial HTTP target the generators are measured against, and the handle the benchmark
//! keeps on it.
//!
//! The target is this binary's hidden `target` subcommand, run as a child process (pinned to its
//! own CPU when it can be): `GET /` answers 20 bytes and is counted; `GET /sleep` answers after
//! sleeping 50 ms, is counted too and notes its own handler time (see [`crate::service`]);
//! `GET /__count`, `GET /__reset`, `GET /__first` (microseconds from the last reset to the first
//! request after it, or `none`) and `GET /__sleep_stats` are not counted. Besides the count, the target notes when the first request after the
//! last reset arrived and when the latest one did, so requests per second are measured where
//! they land, over the time the generator actually sent them (its start-up and shutdown left
//! out).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::extract::State;
use axum::routing::get;

use crate::service::{SLEEP_MS, ServiceSummary, ServiceTimes};

/// The body of `GET /`: 20 bytes.
pub const BODY: &str = "hello, load tester!\n";

/// What the target counted since its last reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Requests to `/` since the target started.
    pub served: u64,
    /// Microseconds (since the target started, plus one) of the first request after the last
    /// reset; 0 when none came.
    pub first_us: u64,
    /// Microseconds (likewise) of the latest request; 0 when none came since the reset.
    pub last_us: u64,
}

impl Window {
    /// Seconds from the first to the latest request since the reset.
    pub fn active_seconds(&self) -> f64 {
        self.last_us.saturating_sub(self.first_us) as f64 / 1e6
    }

    /// The text `/__count` answers: `served first_us last_us`.
    pub fn to_text(self) -> String {
        format!("{} {} {}\n", self.served, self.first_us, self.last_us)
    }

    /// Reads what [`Window::to_text`] wrote.
    pub fn parse(text: &str) -> Result<Window> {
        let numbers: Vec<u64> = text
            .split_whitespace()
            .map(|n| n.parse::<u64>())
            .collect::<Result<_, _>>()
            .with_context(|| format!("not three numbers: `{}`", text.trim()))?;
        match numbers[..] {
            [served, first_us, last_us] => Ok(Window {
                served,
                first_us,
                last_us,
            }),
            _ => bail!("expected three numbers, got `{}`", text.trim()),
        }
    }
}

/// The target's counters, shared by its handlers.
#[derive(Debug)]
struct Counters {
    epoch: Instant,
    served: AtomicU64,
    first_us: AtomicU64,
    last_us: AtomicU64,
    /// Microseconds (likewise) of the last reset; 0 before the first one.
    reset_us: AtomicU64,
    service: ServiceTimes,
}

impl Counters {
    fn new() -> Counters {
        Counters {
            epoch: Instant::now(),
            served: AtomicU64::new(0),
            first_us: AtomicU64::new(0),
            last_us: AtomicU64::new(0),
            reset_us: AtomicU64::new(0),
            service: ServiceTimes::default(),
        }
    }

    fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64 + 1
    }

    fn record(&self) {
        // Plus one, so that 0 keeps meaning "no request since the reset".
        let now = self.now_us();
        self.served.fetch_add(1, Ordering::Relaxed);
        if self.first_us.load(Ordering::Relaxed) == 0 {
            let _ = self
                .first_us
                .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
        }
        self.last_us.fetch_max(now, Ordering::Relaxed);
    }

    fn window(&self) -> Window {
        Window {
            served: self.served.load(Ordering::Relaxed),
            first_us: self.first_us.load(Ordering::Relaxed),
            last_us: self.last_us.load(Ordering::Relaxed),
        }
    }

    /// Microseconds from the last reset to the first request after it, if one came.
    fn first_since_reset(&self) -> Option<u64> {
        let first = self.first_us.load(Ordering::Relaxed);
        (first != 0).then(|| first.saturating_sub(self.reset_us.load(Ordering::Relaxed)))
    }

    fn reset(&self) -> Window {
        self.reset_us.store(self.now_us(), Ordering::Relaxed);
        self.service.clear();
        self.first_us.store(0, Ordering::Relaxed);
        self.last_us.store(0, Ordering::Relaxed);
        self.window()
    }
}

/// Runs the target on `127.0.0.1:port` (0 = any free port) until killed; prints the port on
/// stdout once it listens.
pub fn serve(port: u16) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
        let port = listener.local_addr().context("no local address")?.port();
        let counters = Arc::new(Counters::new());
        let app = Router::new()
            .route("/", get(root))
            .route("/__count", get(count))
            .route("/__reset", get(reset))
            .route("/__first", get(first))
            .route("/sleep", get(sleep))
            .route("/__sleep_stats", get(sleep_stats))
            .route("/stall", get(crate::stall::handler))
            .with_state(counters);
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{port}").context("cannot print the port")?;
        stdout.flush().context("cannot print the port")?;
        drop(stdout);
        axum::serve(listener, app)
            .await
            .context("the target stopped")
    })
}

async fn root(State(counters): State<Arc<Counters>>) -> &'static str {
    counters.record();
    BODY
}

async fn count(State(counters): State<Arc<Counters>>) -> String {
    counters.window().to_text()
}

async fn reset(State(counters): State<Arc<Counters>>) -> String {
    counters.reset().to_text()
}

async fn first(State(counters): State<Arc<Counters>>) -> String {
    match counters.first_since_reset() {
        Some(us) => format!("{us}\n"),
        None => "none\n".into(),
    }
}

async fn sleep(State(counters): State<Arc<Counters>>) -> &'static str {
    let started = Instant::now();
    counters.record();
    tokio::time::sleep(Duration::from_millis(SLEEP_MS)).await;
    counters
        .service
        .record(started.elapsed().as_micros() as u64);
    BODY
}

async fn sleep_stats(State(counters): State<Arc<Counters>>) -> String {
    counters.service.summary().to_text()
}

/// The target running as a child process; killed when dropped.
#[derive(Debug)]
pub struct TargetProcess {
    child: Child,
    port: u16,
}

impl TargetProcess {
    /// Starts `argv` (this binary's `target --port 0`, maybe behind `taskset`), its stderr
    /// going to `log`, and reads the port it prints.
    pub fn start(argv: &[String], log: &Path) -> Result<TargetProcess> {
        let (program, args) = argv.split_first().context("empty target command")?;
        let log_file = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start the target `{}`", argv.join(" ")))?;
        let stdout = child.stdout.take().context("the target has no stdout")?;
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let port = read.context("cannot read the target's port").and_then(|_| {
            line.trim()
                .parse::<u16>()
                .with_context(|| format!("the target printed `{}`, not a port", line.trim()))
        });
        let port = match port {
            Ok(port) => port,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                let log_text = std::fs::read_to_string(log).unwrap_or_default();
                return Err(e.context(format!("the target did not start: {}", log_text.trim())));
            }
        };
        Ok(TargetProcess { child, port })
    }

    /// The base URL, without a trailing `/`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts a new window and returns the count so far.
    pub fn reset(&self) -> Result<Window> {
        Window::parse(&self.get("/__reset")?).context("bad answer from the target's /__reset")
    }

    /// The count and the window since the last reset.
    pub fn window(&self) -> Result<Window> {
        Window::parse(&self.get("/__count")?).context("bad answer from the target's /__count")
    }

    /// The time from the last reset to the first request after it, if one came.
    pub fn first_since_reset(&self) -> Result<Option<Duration>> {
        let text = self.get("/__first")?;
        match text.trim() {
            "none" => Ok(None),
            us => us
                .parse::<u64>()
                .map(|us| Some(Duration::from_micros(us)))
                .with_context(|| format!("bad answer from the target's /__first: `{us}`")),
        }
    }

    /// The handler times of `GET /sleep` since the last reset.
    pub fn sleep_stats(&self) -> Result<ServiceSummary> {
        ServiceSummary::parse(&self.get("/__sleep_stats")?)
            .context("bad answer from the target's /__sleep_stats")
    }

    /// Whether the target process is still running.
    pub fn check_alive(&mut self) -> Result<()> {
        match self.child.try_wait().context("cannot check the target")? {
            None => Ok(()),
            Some(status) => bail!("the target exited ({status})"),
        }
    }

    /// A one-off HTTP/1.0 GET on its own connection; returns the body.
    fn get(&self, path: &str) -> Result<String> {
        let what = || format!("GET {path} on the target (port {})", self.port);
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).with_context(what)?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .with_context(what)?;
        write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").with_context(what)?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).with_context(what)?;
        let (head, body) = answer
            .split_once("\r\n\r\n")
            .with_context(|| format!("{}: no end of headers", what()))?;
        if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
            bail!(
                "{}: answered `{}`",
                what(),
                head.lines().next().unwrap_or("")
            );
        }
        Ok(body.to_string())
    }
}

impl Drop for TargetProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_twenty_bytes() {
        assert_eq!(BODY.len(), 20);
    }

    #[test]
    fn window_text_round_trips() {
        let w = Window {
            served: 123_456,
            first_us: 1_000_001,
            last_us: 6_000_001,
        };
        assert_eq!(Window::parse(&w.to_text()).unwrap(), w);
        assert!((w.active_seconds() - 5.0).abs() < 1e-9);
        assert!(Window::parse("1 2").is_err());
        assert!(Window::parse("1 2 x").is_err());
    }

    #[test]
    fn counters_open_a_window_at_the_first_request_after_a_reset() {
        let c = Counters::new();
        assert_eq!(c.window().first_us, 0);
        c.record();
        c.record();
        let w = c.window();
        assert_eq!(w.served, 2);
        assert!(w.first_us >= 1 && w.last_us >= w.first_us);
        let after_reset = c.reset();
        assert_eq!(
            after_reset,
            Window {
                served: 2,
                first_us: 0,
                last_us: 0
            }
        );
        std::thread::sleep(Duration::from_millis(2));
        c.record();
        let w2 = c.window();
        assert_eq!(w2.served, 3);
        assert!(w2.first_us > w.last_us);
        let since = c.first_since_reset().unwrap();
        assert!((2_000..1_000_000).contains(&since), "{since}");
        c.reset();
        assert_eq!(c.first_since_reset(), None);
    }
}
