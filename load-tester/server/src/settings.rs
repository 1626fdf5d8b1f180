//! The server's settings, layered with figment: defaults < `load-tester.toml` < `LT_*`
//! environment variables < command-line flags. A bad setting names its key and its source.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize};

/// Who may read (GET) without a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadAccess {
    /// Clients on loopback read freely; others need the token.
    Loopback,
    /// Anyone who can reach the server reads.
    Open,
    /// Every call needs the token.
    Token,
}

/// Every setting, with its default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Address to listen on.
    #[schema(value_type = String, examples("127.0.0.1:8080"))]
    pub bind: SocketAddr,
    /// Where the store, sessions' files and logs live.
    #[schema(value_type = String)]
    pub data_dir: PathBuf,
    /// Scenario files offered by `GET /api/scenarios`.
    #[schema(value_type = String)]
    pub scenarios_dir: PathBuf,
    /// The API token; generated on first start (and stored hashed) when not set. Never shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub api_token: Option<String>,
    /// Who may read without the token.
    pub read_access: ReadAccess,
    /// Hosts (or host:port) sessions may target; `*` allows any. Comma-separated in `LT_*`.
    #[serde(deserialize_with = "list_or_csv")]
    pub allowed_targets: Vec<String>,
    /// Names (besides localhost, the loopback addresses and the bind address) this server answers
    /// to in `Host`; others get 421 (DNS-rebinding defence). `*` answers any. Comma-separated in
    /// `LT_*`.
    #[serde(deserialize_with = "list_or_csv")]
    pub allowed_hosts: Vec<String>,
    /// Users per session, at most.
    pub max_users_per_session: u32,
    /// Sessions running at once, at most.
    pub max_sessions: u32,
    /// Open-model arrival rate per session, at most (requests/s).
    pub max_arrival_rate: f64,
    /// Per-second stats and events of sessions that ended longer ago than this are pruned.
    pub retention: String,
    /// How long a graceful stop waits for in-flight requests before killing the worker.
    pub stop_timeout: String,
    /// API requests per second per client (burst: twice this); 0 turns the limit off.
    pub rate_limit: u32,
    /// Log folder (rotated daily); default `<data_dir>/logs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub log_dir: Option<PathBuf>,
    /// Rotated log files kept.
    pub log_files: usize,
    /// Start the bundled target services (ec, distributed and todo on embedded SQLite; chaos on its embedded store).
    pub bundled_targets: bool,
    /// Their ports.
    pub ec_port: u16,
    pub distributed_port: u16,
    pub todo_port: u16,
    pub chaos_port: u16,
    /// Seconds a worker keeps running without a server before it stops by itself.
    pub orphan_after_s: u64,
    /// Link template for trace ids (an http or https URL containing `{trace_id}`, e.g. Grafana's
    /// Explore URL for a Tempo datasource); the panel turns trace ids into links with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_url: Option<String>,
    /// Network generators: `[generators]` in the file, `LT_GENERATORS__BIND`,
    /// `LT_GENERATORS__KUBERNETES__NAMESPACE` and so on.
    pub generators: crate::generators::GeneratorSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            scenarios_dir: PathBuf::from("scenarios"),
            api_token: None,
            read_access: ReadAccess::Loopback,
            allowed_targets: vec![
                "localhost".to_string(),
                "127.0.0.1".to_string(),
                "::1".to_string(),
            ],
            allowed_hosts: Vec::new(),
            max_users_per_session: 10_000,
            max_sessions: 16,
            max_arrival_rate: 100_000.0,
            retention: "720h".to_string(),
            stop_timeout: "10s".to_string(),
            rate_limit: 100,
            log_dir: None,
            log_files: 7,
            bundled_targets: true,
            ec_port: 5001,
            distributed_port: 5002,
            todo_port: 8000,
            chaos_port: 8001,
            orphan_after_s: 30,
            trace_url: None,
            generators: crate::generators::GeneratorSettings::default(),
        }
    }
}

/// Values given on the command line; only the ones given are layered.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Flags {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scenarios_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundled_targets: Option<bool>,
}

/// The flags as a figment provider named for error messages.
struct FlagsProvider<'a>(&'a Flags);

impl figment::Provider for FlagsProvider<'_> {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named("command-line flags")
    }

    fn data(
        &self,
    ) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        Serialized::globals(self.0).data()
    }
}

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("setting `{key}` (from {source_name}): {message}")]
pub struct SettingsError {
    pub key: String,
    pub source_name: String,
    pub message: String,
}

/// The settings file used when `--config` is not given (only if it exists).
pub const DEFAULT_FILE: &str = "load-tester.toml";

impl Settings {
    /// Layers defaults, the settings file, `LT_*` variables and the flags, and checks the result.
    pub fn load(file: Option<&Path>, flags: &Flags) -> Result<Settings, SettingsError> {
        if let Some(path) = file
            && !path.is_file()
        {
            return Err(SettingsError {
                key: "config".into(),
                source_name: "--config".into(),
                message: format!("the file {} does not exist", path.display()),
            });
        }
        let file = file.unwrap_or(Path::new(DEFAULT_FILE));
        let figment = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(file))
            // `LT_LOG` is the log filter, `LT_GENERATOR_TOKEN` a join token (never a setting).
            .merge(
                Env::prefixed("LT_")
                    .ignore(&["log", "generator_token"])
                    .split("__"),
            )
            .merge(FlagsProvider(flags));
        let settings: Settings = figment.extract().map_err(|e| from_figment(&figment, e))?;
        settings.check(&figment)?;
        Ok(settings)
    }

    /// The graceful-stop bound.
    pub fn stop_timeout(&self) -> Duration {
        lt_scenario::parse_duration(&self.stop_timeout).unwrap_or(Duration::from_secs(10))
    }

    /// How long per-second data is kept after a session ends.
    pub fn retention(&self) -> Duration {
        lt_scenario::parse_duration(&self.retention).unwrap_or(Duration::from_secs(30 * 86_400))
    }

    /// The log folder.
    pub fn log_dir(&self) -> PathBuf {
        self.log_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("logs"))
    }

    fn check(&self, figment: &Figment) -> Result<(), SettingsError> {
        // The files of `[generators.tls]` are read here, once, not on every live change.
        let tls = || {
            crate::generators::tls_problem(&self.generators.tls)
                .map(|(key, message)| (key.to_string(), message))
        };
        match self.problem().or_else(tls) {
            None => Ok(()),
            Some((key, message)) => Err(SettingsError {
                source_name: source_of(figment, &key),
                key,
                message,
            }),
        }
    }

    /// The first setting that is out of range, with what is wrong with it.
    pub fn problem(&self) -> Option<(String, String)> {
        self.own_problem()
            .map(|(key, message)| (key.to_string(), message))
            .or_else(|| self.generators.problem())
    }

    fn own_problem(&self) -> Option<(&'static str, String)> {
        for (key, value) in [
            ("retention", &self.retention),
            ("stop_timeout", &self.stop_timeout),
        ] {
            if let Err(e) = lt_scenario::parse_duration(value) {
                return Some((key, e.to_string()));
            }
        }
        if self.max_users_per_session == 0 {
            return Some((
                "max_users_per_session",
                "must be at least 1, got `0`".into(),
            ));
        }
        if self.max_sessions == 0 {
            return Some(("max_sessions", "must be at least 1, got `0`".into()));
        }
        if !(self.max_arrival_rate.is_finite() && self.max_arrival_rate > 0.0) {
            return Some((
                "max_arrival_rate",
                format!("must be a number above 0, got `{}`", self.max_arrival_rate),
            ));
        }
        if let Some(token) = &self.api_token
            && token.trim().len() < 16
        {
            return Some((
                "api_token",
                "must be at least 16 characters (the value is not shown)".into(),
            ));
        }
        if let Some(template) = &self.trace_url
            && let Err(message) = lt_report::check_trace_url(template)
        {
            return Some(("trace_url", message));
        }
        for (key, list) in [
            ("allowed_targets", &self.allowed_targets),
            ("allowed_hosts", &self.allowed_hosts),
        ] {
            if let Some(entry) = list
                .iter()
                .find(|e| e.trim().is_empty() || e.contains(['/', '@', ' ']))
            {
                return Some((key, format!("`{entry}` is not a host or host:port")));
            }
        }
        None
    }
}

fn from_figment(figment: &Figment, e: figment::Error) -> SettingsError {
    let key = e.path.join(".");
    let source_name = e
        .metadata
        .as_ref()
        .map(describe_source)
        .unwrap_or_else(|| source_of(figment, &key));
    let mut message = e.kind.to_string();
    if key == "api_token" {
        message = "is not valid (the value is not shown)".into();
    }
    SettingsError {
        key: if key.is_empty() {
            "(settings)".into()
        } else {
            key
        },
        source_name,
        message,
    }
}

fn source_of(figment: &Figment, key: &str) -> String {
    figment
        .find_metadata(key)
        .map(describe_source)
        .unwrap_or_else(|| "defaults".into())
}

fn describe_source(metadata: &figment::Metadata) -> String {
    match &metadata.source {
        Some(figment::Source::File(path)) => format!("{} ({})", path.display(), metadata.name),
        _ if metadata.name.contains("environment") => "`LT_*` environment variables".into(),
        _ => metadata.name.to_string(),
    }
}

/// Accepts a list, or one comma-separated string (as environment variables give).
fn list_or_csv<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Input {
        List(Vec<String>),
        Csv(String),
    }
    Ok(match Input::deserialize(d)? {
        Input::List(items) => items,
        Input::Csv(text) => text
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    })
}

#[cfg(test)]
// figment's Jail hands closures its own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn layers_defaults_file_env_then_flags() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "load-tester.toml",
                "bind = \"127.0.0.1:9000\"\nmax_sessions = 3\nrate_limit = 7\n",
            )?;
            jail.set_env("LT_MAX_SESSIONS", "5");
            jail.set_env("LT_ALLOWED_TARGETS", "example.test, 10.0.0.1:8000");
            jail.set_env("LT_LOG", "debug");
            let flags = Flags {
                data_dir: Some("elsewhere".into()),
                ..Flags::default()
            };
            let s = Settings::load(None, &flags).map_err(|e| e.to_string())?;
            assert_eq!(s.bind, "127.0.0.1:9000".parse().unwrap());
            assert_eq!(s.max_sessions, 5);
            assert_eq!(s.rate_limit, 7);
            assert_eq!(s.data_dir, PathBuf::from("elsewhere"));
            assert_eq!(s.allowed_targets, vec!["example.test", "10.0.0.1:8000"]);
            assert_eq!(s.max_users_per_session, 10_000);
            Ok(())
        });
    }

    #[test]
    fn a_trace_url_with_its_placeholder_is_taken() {
        figment::Jail::expect_with(|jail| {
            let url = "http://localhost:3000/explore?left=%7B%22query%22%3A%22{trace_id}%22%7D";
            jail.set_env("LT_TRACE_URL", url);
            let s = Settings::load(None, &Flags::default()).map_err(|e| e.to_string())?;
            assert_eq!(s.trace_url.as_deref(), Some(url));
            Ok(())
        });
        assert_eq!(Settings::default().trace_url, None);
    }

    #[test]
    fn a_flag_beats_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("LT_BIND", "127.0.0.1:9100");
            let flags = Flags {
                bind: Some("127.0.0.1:9200".into()),
                ..Flags::default()
            };
            let s = Settings::load(None, &flags).map_err(|e| e.to_string())?;
            assert_eq!(s.bind, "127.0.0.1:9200".parse().unwrap());
            Ok(())
        });
    }

    #[test]
    fn bad_settings_name_their_key_and_source() {
        let cases: &[(&str, &str, &str, &[&str])] = &[
            ("", "LT_MAX_SESSIONS", "many", &["max_sessions", "LT_"]),
            ("", "LT_BIND", "nowhere", &["bind", "LT_"]),
            (
                "stop_timeout = \"soon\"\n",
                "",
                "",
                &["stop_timeout", "load-tester.toml", "soon"],
            ),
            (
                "max_users_per_session = 0\n",
                "",
                "",
                &["max_users_per_session", "load-tester.toml"],
            ),
            (
                "colour = \"red\"\n",
                "",
                "",
                &["colour", "load-tester.toml"],
            ),
            ("", "LT_API_TOKEN", "short", &["api_token", "16 characters"]),
            (
                "",
                "LT_ALLOWED_TARGETS",
                "http://x/y",
                &["allowed_targets", "http://x/y"],
            ),
            (
                "",
                "LT_TRACE_URL",
                "http://grafana:3000/explore",
                &["trace_url", "LT_", "{trace_id}"],
            ),
            (
                "trace_url = \"ftp://x/{trace_id}\"\n",
                "",
                "",
                &["trace_url", "load-tester.toml", "http://", "ftp://x"],
            ),
            (
                "",
                "LT_TRACE_URL",
                "https:///{trace_id}",
                &["trace_url", "with a host"],
            ),
            (
                "",
                "LT_GENERATORS__LAUNCHER",
                "cloud",
                &["generators.launcher", "LT_", "cloud"],
            ),
            (
                "[generators.kubernetes]\nnamespace = \"Perf Team\"\n",
                "",
                "",
                &[
                    "generators.kubernetes.namespace",
                    "load-tester.toml",
                    "Perf Team",
                ],
            ),
            (
                "",
                "LT_GENERATORS__KUBERNETES__CPU",
                "fast",
                &["generators.kubernetes.cpu", "LT_", "fast"],
            ),
            (
                "[generators.kubernetes]\nnamespaces = \"x\"\n",
                "",
                "",
                &["namespaces", "load-tester.toml"],
            ),
            (
                "[generators]\nlauncher = \"external\"\ntoken_env = \"E2E_NOT_SET_JOIN_TOKEN\"\n",
                "",
                "",
                &[
                    "generators.token_env",
                    "load-tester.toml",
                    "E2E_NOT_SET_JOIN_TOKEN",
                    "not set",
                ],
            ),
            (
                "",
                "LT_GENERATORS__JOIN_TIMEOUT",
                "forever",
                &["generators.join_timeout", "LT_"],
            ),
        ];
        for (file, var, value, wanted) in cases {
            figment::Jail::expect_with(|jail| {
                jail.create_file("load-tester.toml", file)?;
                if !var.is_empty() {
                    jail.set_env(var, value);
                }
                let err = Settings::load(None, &Flags::default())
                    .unwrap_err()
                    .to_string();
                for w in *wanted {
                    assert!(err.contains(w), "`{err}` should mention `{w}`");
                }
                assert!(!err.contains("short"), "the token leaked: {err}");
                Ok(())
            });
        }
    }

    #[test]
    fn generators_launchers_layer_like_every_setting_and_the_token_stays_out() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "load-tester.toml",
                "[generators]\nlauncher = \"kubernetes\"\n[generators.kubernetes]\nnamespace = \"perf\"\nmemory = \"512Mi\"\n",
            )?;
            jail.set_env("LT_GENERATORS__KUBERNETES__IMAGE", "registry.test/lt:1");
            let s = Settings::load(None, &Flags::default()).map_err(|e| e.to_string())?;
            assert_eq!(s.generators.launcher, lt_kube::LauncherKind::Kubernetes);
            assert_eq!(s.generators.kubernetes.namespace, "perf");
            assert_eq!(s.generators.kubernetes.image, "registry.test/lt:1");
            assert_eq!(s.generators.kubernetes.memory.as_deref(), Some("512Mi"));

            // External: the token from the variable named by `token_env`, never a setting.
            let secret = "an-external-join-token-of-enough-length-0123";
            jail.set_env("LT_GENERATORS__LAUNCHER", "external");
            jail.set_env("LT_GENERATOR_TOKEN", secret);
            let s = Settings::load(None, &Flags::default()).map_err(|e| e.to_string())?;
            assert_eq!(s.generators.launcher, lt_kube::LauncherKind::External);
            assert_eq!(s.generators.external_token().as_deref(), Ok(secret));
            let shown = serde_json::to_string(&s).unwrap();
            assert!(!shown.contains(secret), "{shown}");
            jail.set_env("LT_GENERATOR_TOKEN", "short");
            let e = Settings::load(None, &Flags::default())
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("generators.token_env") && e.contains("at least 32"),
                "{e}"
            );
            assert!(!e.contains("short"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn an_unusable_generator_tls_file_stops_the_start_naming_its_setting() {
        let cert = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/e2e/tls/server.pem"
        );
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "load-tester.toml",
                &format!("[generators.tls]\ncert_file = \"{cert}\"\nkey_file = \"missing.key\"\n"),
            )?;
            let err = Settings::load(None, &Flags::default())
                .unwrap_err()
                .to_string();
            for w in [
                "setting `generators.tls.key_file`",
                "load-tester.toml",
                "missing.key cannot be read",
            ] {
                assert!(err.contains(w), "`{err}` should mention `{w}`");
            }
            jail.create_file("bad.key", "not a key")?;
            jail.set_env("LT_GENERATORS__TLS__KEY_FILE", "bad.key");
            let err = Settings::load(None, &Flags::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("`LT_*` environment variables"), "{err}");
            assert!(err.contains("bad.key holds no private key"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn a_missing_config_file_is_named() {
        let err = Settings::load(Some(Path::new("/nonexistent/lt.toml")), &Flags::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/lt.toml"), "{err}");
    }
}
