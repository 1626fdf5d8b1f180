//! `load-tester k8s manifest FILE`: the Kubernetes objects that run a scenario's generators, as
//! multi-document YAML for people who apply manifests themselves.

use crate::args::{K8sArgs, K8sCommand, K8sManifestArgs};
use crate::exit;

pub fn main(args: &K8sArgs) -> u8 {
    match &args.command {
        K8sCommand::Manifest(args) => manifest(args),
    }
}

fn manifest(args: &K8sManifestArgs) -> u8 {
    let Some(scenario) = crate::validate::read(&args.file) else {
        return exit::INVALID;
    };
    // The flag, else the scenario's `load.generators`.
    let generators = args.generators.unwrap_or(scenario.load.generators);
    let mut spec = lt_kube::GeneratorSpec::new(scenario.name.clone(), generators);
    spec.namespace = args.namespace.clone();
    // The token the coordinator (launcher `external`) and these generators share.
    spec.secret_name = Some(lt_kube::EXTERNAL_TOKEN_SECRET.to_string());
    if let Some(path) = &args.ca_file {
        match read_ca(path) {
            Ok(pem) => spec.tls = Some(lt_kube::CoordinatorTls { ca_pem: Some(pem) }),
            Err(message) => {
                eprintln!("error: --ca-file {message}");
                return exit::INVALID;
            }
        }
    } else if args.tls {
        spec.tls = Some(lt_kube::CoordinatorTls::default());
    }
    spec.coordinator_url = args
        .coordinator
        .clone()
        .unwrap_or_else(|| lt_kube::default_coordinator_url(&args.namespace, spec.tls.is_some()));
    if let Some(image) = &args.image {
        spec.image = image.clone();
    }
    spec.ttl_seconds_after_finished = args.ttl;
    let manifests = match lt_kube::Manifests::for_spec(&spec) {
        Ok(manifests) => manifests,
        Err(e) => {
            eprintln!("error: --{}: {}", flag_of(e.field), e.message);
            return exit::INVALID;
        }
    };
    let yaml = match manifests.to_yaml() {
        Ok(yaml) => yaml,
        Err(e) => {
            eprintln!("error: writing the manifests: {e}");
            return exit::FAILED;
        }
    };
    print!(
        "# Generators of the scenario `{name}` ({file}): an Indexed Job of {generators} pod{s} in\n\
         # namespace {ns}, each running its segment of the load; they dial\n\
         #   {url}\n\
         # The coordinator (`load-tester serve`) runs as the ServiceAccount `{account}` in pods\n\
         # labelled app.kubernetes.io/name=load-tester, app.kubernetes.io/component=coordinator,\n\
         # its generator listener on port {port} (the Service below points there).\n\
         {secret}",
        name = one_line(&scenario.name),
        file = one_line(&args.file.display().to_string()),
        s = if generators == 1 { "" } else { "s" },
        ns = spec.namespace,
        url = spec.coordinator_url,
        account = lt_kube::SERVICE_ACCOUNT,
        port = lt_kube::DEFAULT_GENERATOR_PORT,
        secret = lt_kube::secret_instructions(
            &spec,
            args.ca_file
                .as_ref()
                .map(|p| one_line(&p.display().to_string()))
                .as_deref()
        ),
    );
    print!("{yaml}");
    exit::OK
}

/// The PEM file `path`, checked to hold certificates.
fn read_ca(path: &std::path::Path) -> Result<String, String> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
    lt_scenario::tls_options::ca_certificates(&shown, text.as_bytes())?;
    Ok(text)
}

/// The flag that sets a spec's field.
fn flag_of(field: &str) -> &str {
    match field {
        "coordinator_url" => "coordinator",
        "ttl_seconds_after_finished" => "ttl",
        other => other,
    }
}

/// Text for a YAML comment line.
fn one_line(text: &str) -> String {
    text.replace(char::is_control, " ")
}
