//! `{{ env.NAME }}` and `{{ env.NAME | default('value') }}` in a scenario's `target`: where the
//! service under test is comes from the environment (CI, the control server's bundled targets),
//! with a default for a laptop. The caller hands the variables in ([`Env`]); this crate reads no
//! environment itself.

use std::collections::BTreeMap;

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
}

/// Expands every `{{ env.NAME }}` / `{{ env.NAME | default('value') }}` in `text`; any other
/// `{{ … }}`, a malformed one, or a variable that is not set and has no default is an error
/// naming it.
pub fn expand(text: &str, env: &Env) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("`{{{{` without its closing `}}}}` in `{text}`"))?;
        let inner = after[..end].trim();
        out.push_str(&resolve(inner, env)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn resolve(inner: &str, env: &Env) -> Result<String, String> {
    let shown = format!("{{{{ {inner} }}}}");
    let usage = "write `{{ env.NAME }}` or `{{ env.NAME | default('value') }}`";
    let (name, default) = match inner.split_once('|') {
        Some((name, filter)) => (name.trim(), Some(default_of(filter.trim(), &shown)?)),
        None => (inner, None),
    };
    let Some(var) = name.strip_prefix("env.") else {
        return Err(format!(
            "`{shown}` is not a template this field takes; {usage}"
        ));
    };
    if var.is_empty()
        || var.starts_with(|c: char| c.is_ascii_digit())
        || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(format!(
            "`{shown}`: `{var}` is not an environment variable name; {usage}"
        ));
    }
    match (env.get(var), default) {
        (Some(value), _) => Ok(value.to_string()),
        (None, Some(default)) => Ok(default),
        (None, None) => Err(format!(
            "`{shown}`: the environment variable `{var}` is not set and the template has no default; set it, or write `{{{{ env.{var} | default('value') }}}}`"
        )),
    }
}

/// `default('value')` or `default("value")`.
fn default_of(filter: &str, shown: &str) -> Result<String, String> {
    let arg = filter
        .strip_prefix("default(")
        .and_then(|a| a.strip_suffix(')'))
        .map(str::trim);
    let value = arg.and_then(|a| {
        a.strip_prefix('\'')
            .and_then(|v| v.strip_suffix('\''))
            .or_else(|| a.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
    });
    value
        .map(str::to_string)
        .ok_or_else(|| format!("`{shown}`: the only filter is `default('value')`, got `{filter}`"))
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
