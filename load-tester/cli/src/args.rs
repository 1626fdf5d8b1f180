//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Drive realistic load at services you own, and gate releases on it.
#[derive(Debug, Parser)]
#[command(
    name = "load-tester",
    version,
    about,
    after_help = "With no command, `load-tester` is `load-tester serve`: the control panel and \
    API on http://127.0.0.1:8080 with the bundled targets."
)]
pub struct Cli {
    /// More log output on stderr (-v, -vv); `LT_LOG` takes a full filter.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do; without one, `serve`.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check scenario files and print every problem as FILE:LINE:COLUMN: field: message.
    Validate(ValidateArgs),
    /// Run one scenario headless: live progress, a summary, reports, and a CI exit code.
    #[command(
        after_help = "Exit codes: 0 every threshold passed; 1 a threshold failed; \
        2 invalid input or usage; 3 aborted (error budget) or stopped by a signal; \
        4 the run could not start or finish."
    )]
    Run(RunArgs),
    /// Serve the control API and panel on 127.0.0.1:8080, with the bundled targets.
    Serve(ServeArgs),
    /// Run one session for the control server (started by it; not for direct use).
    #[command(hide = true)]
    Worker(WorkerArgs),
    /// Run the bundled target services for the control server (started by it).
    #[command(hide = true)]
    Targets(TargetsArgs),
    /// Kubernetes: print the manifests that run a scenario's generators as an Indexed Job.
    K8s(K8sArgs),
    /// Print the control API's OpenAPI document (generated from the code), as `docs/openapi.json`.
    Openapi,
}

#[derive(Debug, Args)]
pub struct TargetsArgs {
    /// Folder of their SQLite database.
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    #[arg(long, default_value_t = 5001)]
    pub ec_port: u16,
    #[arg(long, default_value_t = 5002)]
    pub distributed_port: u16,
    #[arg(long, default_value_t = 8000)]
    pub todo_port: u16,
    #[arg(long, default_value_t = 8001)]
    pub chaos_port: u16,
}

#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// Settings file (TOML); default `load-tester.toml` when it exists.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Address to listen on (`LT_BIND`), such as 127.0.0.1:8080.
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// Where sessions, the store and logs live (`LT_DATA_DIR`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Scenario files offered by the API (`LT_SCENARIOS_DIR`).
    #[arg(long, value_name = "DIR")]
    pub scenarios_dir: Option<PathBuf>,
    /// Do not start the bundled target services (`LT_BUNDLED_TARGETS=false`).
    #[arg(long)]
    pub no_targets: bool,
    /// Replace the stored API token with a new one and print it.
    #[arg(long)]
    pub new_token: bool,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Unix socket to listen on for the server's connection (one worker per session).
    #[arg(long, value_name = "PATH", required_unless_present = "connect")]
    pub socket: Option<PathBuf>,
    /// Folder for the session's reports.
    #[arg(long, value_name = "DIR", required_unless_present = "connect")]
    pub out: Option<PathBuf>,
    /// Seconds without a server connection after which the run stops by itself (default 30
    /// with `--socket`, 10 with `--connect`).
    #[arg(long, value_name = "SECONDS")]
    pub orphan_after: Option<u64>,
    /// Network generator: the coordinator's generator listener, `tcp://HOST:PORT` (or
    /// `HOST:PORT`), or `tls://HOST:PORT` when it speaks TLS; the generator runs its segment of
    /// the session and dials in.
    #[arg(long, value_name = "URL", conflicts_with = "socket")]
    pub connect: Option<String>,
    /// With `tls://`: certificate authorities (PEM) trusted besides the system's, such as a file
    /// mounted from a Kubernetes Secret or ConfigMap.
    #[arg(long, value_name = "PEM", env = lt_kube::CA_FILE_ENV)]
    pub ca_file: Option<PathBuf>,
    /// The session's join token (prefer the environment: a command line is visible in `ps`).
    #[arg(
        long,
        value_name = "TOKEN",
        env = lt_kube::TOKEN_ENV,
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// This generator's index in the session, from 0 (a Kubernetes Indexed Job sets
    /// `JOB_COMPLETION_INDEX`).
    #[arg(long, value_name = "I", env = "JOB_COMPLETION_INDEX")]
    pub index: Option<u32>,
    /// The session to join (the coordinator refuses a generator started for another).
    #[arg(long, value_name = "ID", env = lt_kube::SESSION_ENV)]
    pub session: Option<String>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Scenario files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Base URL of the target (over the file's `target` and `TARGET_APP_URL`).
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Concurrent users.
    #[arg(long, value_name = "N")]
    pub users: Option<u32>,
    /// Run length, such as 30s, 5m or 1h.
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Time to start all users, such as 10s (0s: at once); over the file's ramp.
    #[arg(long, value_name = "DURATION")]
    pub ramp_up: Option<String>,
    /// Open model: requests per second across all users.
    #[arg(long, value_name = "RATE")]
    pub arrival_rate: Option<f64>,
    /// Write the JSON summary here.
    #[arg(long, value_name = "PATH.json")]
    pub report: Option<PathBuf>,
    /// Write JUnit XML here (one test case per threshold).
    #[arg(long, value_name = "PATH.xml")]
    pub junit: Option<PathBuf>,
    /// Write the HTML report here: one self-contained file (charts, profile, thresholds,
    /// protections, errors), readable offline.
    #[arg(long, value_name = "PATH.html")]
    pub html: Option<PathBuf>,
    /// Makes trace ids in the HTML report links: a URL with `{trace_id}` where the id goes
    /// (for example Grafana's Explore URL for the Tempo datasource).
    #[arg(long, value_name = "URL", env = "LT_TRACE_URL")]
    pub trace_url: Option<String>,
    /// Also write Goose's own HTML report here (Goose then keeps per-request metrics, which
    /// costs CPU).
    #[arg(long, value_name = "PATH.html")]
    pub goose_html: Option<PathBuf>,
    /// Write the per-second, per-endpoint series here as the run goes (.jsonl or .csv).
    #[arg(long, value_name = "PATH.jsonl|PATH.csv")]
    pub out: Option<PathBuf>,
    /// Session id sent in `baggage: loadtest.session=<id>` (default: random).
    #[arg(long, value_name = "ID")]
    pub session_id: Option<String>,
    /// No live progress line.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct K8sArgs {
    #[command(subcommand)]
    pub command: K8sCommand,
}

#[derive(Debug, Subcommand)]
pub enum K8sCommand {
    /// Print, as YAML for `kubectl apply -f`, the Indexed Job of a scenario's generators, the
    /// coordinator's ServiceAccount, Role and RoleBinding, and the Service generators dial.
    #[command(after_help = "Exit codes: 0 printed; 2 invalid scenario or flag.")]
    Manifest(K8sManifestArgs),
}

#[derive(Debug, Args)]
pub struct K8sManifestArgs {
    /// The scenario file (read and checked as `validate` does).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Generators (the Job's pods), each running its segment of the load [default: the
    /// scenario's `load.generators`].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub generators: Option<u32>,
    /// Namespace of every object.
    #[arg(long, value_name = "NS", default_value = lt_kube::DEFAULT_NAMESPACE)]
    pub namespace: String,
    /// Image the generator pods run [default: the lab's image, load-tester-lab:VERSION].
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// What generators dial [default: tcp://load-tester-generators.NS.svc:8081, the printed
    /// Service; tls://… with --tls].
    #[arg(long, value_name = "URL")]
    pub coordinator: Option<String>,
    /// The coordinator's generator listener speaks TLS (`[generators.tls]`): generators dial
    /// tls://.
    #[arg(long)]
    pub tls: bool,
    /// Certificate authorities (PEM) the generators trust besides their system's: the Job
    /// mounts them from the Secret's `ca.crt` (implies --tls).
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Seconds a finished Job stays before Kubernetes removes it.
    #[arg(long, value_name = "SECONDS", default_value_t = lt_kube::DEFAULT_TTL_SECONDS)]
    pub ttl: i32,
}
