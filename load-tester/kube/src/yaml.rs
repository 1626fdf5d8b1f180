//! Objects as a multi-document YAML stream, as `kubectl apply -f` reads it.

use serde::Serialize;

use crate::manifest::{CA_KEY, Manifests, TOKEN_ENV, TOKEN_KEY};
use crate::spec::GeneratorSpec;

/// Documents separated by `---`, in the order given.
pub fn to_yaml_documents<T: Serialize>(objects: &[T]) -> Result<String, serde_saphyr::ser::Error> {
    let mut out = String::new();
    for object in objects {
        push_document(&mut out, object)?;
    }
    Ok(out)
}

fn push_document<T: Serialize>(
    out: &mut String,
    object: &T,
) -> Result<(), serde_saphyr::ser::Error> {
    out.push_str("---\n");
    let text = serde_saphyr::to_string(object)?;
    out.push_str(&text);
    if !text.ends_with('\n') {
        out.push('\n');
    }
    Ok(())
}

impl Manifests {
    /// The objects in the order they can be applied: the coordinator's access, the Service,
    /// then the Job.
    pub fn to_yaml(&self) -> Result<String, serde_saphyr::ser::Error> {
        let mut out = String::new();
        push_document(&mut out, &self.service_account)?;
        push_document(&mut out, &self.role)?;
        push_document(&mut out, &self.role_binding)?;
        push_document(&mut out, &self.service)?;
        push_document(&mut out, &self.job)?;
        Ok(out)
    }
}

/// YAML comment lines saying how to create the Secret the Job reads its token from (it is not
/// printed: a placeholder applied over the real Secret would replace the token), and how the
/// coordinator gets the same token (`[generators] launcher = "external"`, the variable
/// [`TOKEN_ENV`] by default). With `ca_file` (the authorities the generators trust, as the
/// reader names the file), the Secret holds it too, under [`CA_KEY`].
pub fn secret_instructions(spec: &GeneratorSpec, ca_file: Option<&str>) -> String {
    let (ca_key, ca_option) = match ca_file {
        Some(path) => (
            format!(" and the TLS authorities under `{CA_KEY}`"),
            format!(" --from-file={CA_KEY}={path}"),
        ),
        None => (String::new(), String::new()),
    };
    format!(
        "# The generators read their join token from the Secret `{secret}` (key `{TOKEN_KEY}`){ca_key},\n\
         # which is not printed here. Create it once, with a new random token:\n\
         #   kubectl create secret generic {secret} --namespace {ns} --from-literal={TOKEN_KEY}=\"$(head -c 32 /dev/urandom | base64)\"{ca_option}\n\
         # The coordinator needs the same token: run `load-tester serve` with `[generators]\n\
         # launcher = \"external\"` and the token in its environment variable {TOKEN_ENV} (the name\n\
         # is the setting `generators.token_env`), e.g. in its container:\n\
         #   env: [{{name: {TOKEN_ENV}, valueFrom: {{secretKeyRef: {{name: {secret}, key: {TOKEN_KEY}}}}}}}]\n\
         # Start the session first, then apply the Job: its generators join the session that waits\n\
         # for them (within `generators.join_timeout`).\n",
        secret = spec.secret_name(),
        ns = spec.namespace,
    )
}
