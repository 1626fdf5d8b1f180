//! The `[generators]` settings: where network generators dial in, who starts them (the
//! launcher), how long they have to join, and what a lost one does to its session.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use lt_kube::{KubernetesSettings, LauncherKind, TOKEN_ENV};
use serde::{Deserialize, Serialize};

/// The shortest join token the external launcher takes (a generated one is 43 characters).
pub const EXTERNAL_TOKEN_MIN: usize = 32;

/// What happens to a session when one of its generators is lost (no tick for 3 s, or its
/// connection closed before its report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnLoss {
    /// The session ends `failed`, naming the generator.
    Abort,
    /// The session goes on with the others (degraded, and its report says so).
    Continue,
}

/// Network generators (sessions with `load.generators` above 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct GeneratorSettings {
    /// The generator listener's address, apart from the API's (bound when the first session
    /// with several generators starts).
    #[schema(value_type = String, examples("127.0.0.1:8081"))]
    pub bind: SocketAddr,
    /// What a lost generator does to its session.
    pub on_loss: OnLoss,
    /// Who starts a session's generators: `local` processes, a `kubernetes` Indexed Job the
    /// server creates and deletes, or `external` (started by someone else with the token in
    /// `token_env`).
    pub launcher: LauncherKind,
    /// How long every generator of a session has to join once it starts (a duration, `30s`,
    /// `5m`); the session fails when one is missing by then.
    pub join_timeout: String,
    /// The environment variable of the server holding the join token of generators started
    /// by someone else (launcher `external`). Only the name is a setting: the token is never
    /// in settings, answers or logs.
    pub token_env: String,
    /// The Kubernetes launcher's namespace, image and pods (launcher `kubernetes`).
    pub kubernetes: KubernetesSettings,
    /// TLS on the generator listener (`[generators.tls]`); off by default.
    pub tls: GeneratorTls,
}

/// `[generators.tls]`: with `cert_file` and `key_file` the generator listener speaks TLS only,
/// and the local launcher's generators dial it with `tls://`. Paths are relative to the working
/// directory, as the other settings' paths.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct GeneratorTls {
    /// The listener's certificate chain (PEM), the server's certificate first.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub cert_file: Option<PathBuf>,
    /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1); its content is never shown
    /// or logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub key_file: Option<PathBuf>,
    /// Certificate authorities (PEM) the generators trust besides their system's: the local
    /// launcher's `--ca-file`; the Kubernetes launcher puts them in the session's Secret
    /// (`ca.crt`) and mounts it in every pod. None: the system's only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub ca_file: Option<PathBuf>,
}

impl GeneratorTls {
    /// Whether the listener speaks TLS.
    pub fn is_on(&self) -> bool {
        self.cert_file.is_some() && self.key_file.is_some()
    }
}

impl Default for GeneratorSettings {
    fn default() -> Self {
        GeneratorSettings {
            bind: SocketAddr::from(([127, 0, 0, 1], 8081)),
            on_loss: OnLoss::Abort,
            launcher: LauncherKind::Local,
            join_timeout: "30s".to_string(),
            token_env: TOKEN_ENV.to_string(),
            kubernetes: KubernetesSettings::default(),
            tls: GeneratorTls::default(),
        }
    }
}

impl GeneratorSettings {
    /// How long a session's generators have to join.
    pub fn join_timeout(&self) -> Duration {
        lt_scenario::parse_duration(&self.join_timeout).unwrap_or(Duration::from_secs(30))
    }

    /// The join token of external generators, read from the variable `token_env` names. The
    /// error never holds the value.
    pub fn external_token(&self) -> Result<String, String> {
        let name = &self.token_env;
        let value = std::env::var(name).map_err(|_| {
            format!(
                "the launcher `external` reads the generators' join token from the environment \
                 variable {name}, which is not set (or not UTF-8) in the server's environment"
            )
        })?;
        let value = value.trim();
        if value.chars().count() < EXTERNAL_TOKEN_MIN {
            return Err(format!(
                "the join token in {name} must be at least {EXTERNAL_TOKEN_MIN} characters \
                 (the value is not shown)"
            ));
        }
        Ok(value.to_string())
    }

    /// The first setting under `generators` that cannot be used: its full key and what is
    /// wrong.
    pub fn problem(&self) -> Option<(String, String)> {
        match lt_scenario::parse_duration(&self.join_timeout) {
            Err(e) => return Some(("generators.join_timeout".into(), e.to_string())),
            Ok(d) if d.is_zero() => {
                return Some((
                    "generators.join_timeout".into(),
                    "must be longer than 0".into(),
                ));
            }
            Ok(_) => {}
        }
        if let Some((key, message)) = self.kubernetes.problem(self.tls.is_on()) {
            return Some((format!("generators.kubernetes.{key}"), message));
        }
        let name = &self.token_env;
        if name.is_empty()
            || name.starts_with(|c: char| c.is_ascii_digit())
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Some((
                "generators.token_env".into(),
                format!("`{name}` is not an environment variable name (letters, digits and `_`)"),
            ));
        }
        // Every other `LT_*` variable is read as a setting, and a token is not one.
        if name.starts_with("LT_") && name != TOKEN_ENV {
            return Some((
                "generators.token_env".into(),
                format!(
                    "`{name}` would be read as a setting (`LT_*`); use {TOKEN_ENV} or a name \
                     outside `LT_`"
                ),
            ));
        }
        if self.launcher == LauncherKind::External
            && let Err(message) = self.external_token()
        {
            return Some(("generators.token_env".into(), message));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_their_key_under_generators() {
        let ok = GeneratorSettings::default();
        assert_eq!(ok.problem(), None);
        assert_eq!(ok.join_timeout(), Duration::from_secs(30));
        let with = |f: fn(&mut GeneratorSettings)| {
            let mut s = GeneratorSettings::default();
            f(&mut s);
            s.problem().unwrap()
        };
        assert_eq!(
            with(|s| s.join_timeout = "soon".into()).0,
            "generators.join_timeout"
        );
        assert_eq!(
            with(|s| s.kubernetes.namespace = "Perf".into()).0,
            "generators.kubernetes.namespace"
        );
        assert_eq!(
            with(|s| s.kubernetes.memory = Some("lots".into())).0,
            "generators.kubernetes.memory"
        );
        assert!(with(|s| s.token_env = "LT_OTHER".into()).1.contains("LT_"));
        assert!(with(|s| s.token_env = "A-B".into()).1.contains("`A-B`"));
        let (key, message) = with(|s| {
            s.launcher = LauncherKind::External;
            s.token_env = "SURELY_UNSET_LOAD_TESTER_JOIN_TOKEN".into();
        });
        assert_eq!(key, "generators.token_env");
        assert!(message.contains("is not set"), "{message}");
    }
}
