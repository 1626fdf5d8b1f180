//! What a scenario's `{{ env.NAME }}` templates read on this server: its own environment, and
//! the URLs of its bundled targets (`EC_URL`, `DISTRIBUTED_URL`, `TODO_URL`, `CHAOS_URL`, at the
//! addresses they really listen on) unless the environment names them already. Workers get the
//! same fill-ins in theirs, so they read a scenario as the server checked it.

/// The variable each bundled target's URL is given in.
pub const BUNDLED_URL_VARS: [(&str, &str); 4] = [
    ("ec", "EC_URL"),
    ("distributed", "DISTRIBUTED_URL"),
    ("todo", "TODO_URL"),
    ("chaos", "CHAOS_URL"),
];

/// The variables added to the server's own environment for templates.
#[derive(Debug, Clone, Default)]
pub struct ScenarioEnv {
    fill_ins: Vec<(String, String)>,
}

impl ScenarioEnv {
    /// From the bundled targets' `(variable, URL)` pairs; those the environment sets win.
    pub fn new(bundled: Vec<(String, String)>) -> ScenarioEnv {
        ScenarioEnv {
            fill_ins: bundled
                .into_iter()
                .filter(|(name, _)| std::env::var_os(name).is_none())
                .collect(),
        }
    }

    /// What a worker gets besides the server's environment.
    pub fn fill_ins(&self) -> &[(String, String)] {
        &self.fill_ins
    }

    /// The variables templates read now, but for `hidden` (the generators' join token: a
    /// scenario must not send it anywhere).
    pub fn env(&self, hidden: &str) -> lt_scenario::Env {
        lt_scenario::Env::from_vars(
            std::env::vars_os()
                .filter_map(|(name, value)| {
                    Some((name.into_string().ok()?, value.into_string().ok()?))
                })
                .filter(|(name, _)| name != hidden)
                .chain(self.fill_ins.iter().cloned()),
        )
    }
}
