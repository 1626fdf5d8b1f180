//! `{{ env.NAME }}` and `{{ env.NAME | default('value') }}`: where the service under test is, and
//! secrets, come from the environment (CI, the control server's bundled targets), with a default
//! for a laptop. `target` is expanded when the scenario is read; in requests the values are read
//! then too and kept beside the scenario (never in its serialized form, see
//! [`crate::EnvValues`]). The caller hands the variables in ([`Env`]); this crate reads no
//! environment itself.

use std::collections::BTreeMap;

use crate::template::{Expr, Part, Template};

/// The environment variables templates may read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env(BTreeMap<String, String>);

impl Env {
    /// From `(name, value)` pairs, such as `std::env::vars()`.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Env {
        Env(vars.into_iter().collect())
    }

    /// Sets `name` unless it is set already (an explicit variable wins over a fill-in).
    pub fn fill(&mut self, name: &str, value: String) {
        self.0.entry(name.to_string()).or_insert(value);
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The variables' names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Sets `name`, replacing any value.
    pub fn set(&mut self, name: &str, value: String) {
        self.0.insert(name.to_string(), value);
    }
}

/// Expands every `{{ env.NAME }}` / `{{ env.NAME | default('value') }}` in `text`; any other
/// `{{ … }}`, a malformed one, or a variable that is not set and has no default is an error
/// naming it.
pub fn expand(text: &str, env: &Env) -> Result<String, String> {
    let template = Template::parse(text)?;
    let mut out = String::with_capacity(text.len());
    for part in &template.parts {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Expr(Expr::Env { name, default }) => {
                out.push_str(&lookup(name, default.as_deref(), env)?)
            }
            Part::Expr(other) => {
                return Err(format!(
                    "`{other}` is not a template this field takes; write `{{{{ env.NAME }}}}` or `{{{{ env.NAME | default('value') }}}}`"
                ));
            }
        }
    }
    Ok(out)
}

/// The value of `{{ env.NAME }}`: the variable, else the default, else an error naming it.
pub fn lookup(name: &str, default: Option<&str>, env: &Env) -> Result<String, String> {
    match (env.get(name), default) {
        (Some(value), _) => Ok(value.to_string()),
        (None, Some(default)) => Ok(default.to_string()),
        (None, None) => Err(format!(
            "the environment variable `{name}` is not set and the template has no default; set it, or write `{{{{ env.{name} | default('value') }}}}`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env::from_vars([("EC_URL".to_string(), "http://127.0.0.1:15001".to_string())])
    }

    #[test]
    fn variables_and_defaults_expand() {
        assert_eq!(
            expand("{{ env.EC_URL }}", &env()).unwrap(),
            "http://127.0.0.1:15001"
        );
        assert_eq!(
            expand("{{env.TODO_URL|default('http://127.0.0.1:8000')}}", &env()).unwrap(),
            "http://127.0.0.1:8000"
        );
        assert_eq!(
            expand("{{ env.EC_URL | default(\"x\") }}/v1", &env()).unwrap(),
            "http://127.0.0.1:15001/v1"
        );
        assert_eq!(expand("http://plain", &env()).unwrap(), "http://plain");
    }

    #[test]
    fn problems_name_the_template_and_the_variable() {
        let missing = expand("{{ env.NOPE }}", &env()).unwrap_err();
        assert!(missing.contains("`NOPE` is not set"), "{missing}");
        let other = expand("{{ order_id }}", &env()).unwrap_err();
        assert!(
            other.contains("`{{ order_id }}` is not a template"),
            "{other}"
        );
        let filter = expand("{{ env.X | upper }}", &env()).unwrap_err();
        assert!(filter.contains("default('value')"), "{filter}");
        assert!(expand("{{ env.X ", &env()).unwrap_err().contains("closing"));
        assert!(
            expand("{{ env.9X }}", &env())
                .unwrap_err()
                .contains("not an environment variable name")
        );
        let mut filled = env();
        filled.fill("EC_URL", "ignored".into());
        filled.fill("TODO_URL", "http://t".into());
        assert_eq!(filled.get("EC_URL"), Some("http://127.0.0.1:15001"));
        assert_eq!(filled.get("TODO_URL"), Some("http://t"));
    }
}
