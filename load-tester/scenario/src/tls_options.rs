//! How the engine's HTTPS connections check the target's certificate: extra trusted authorities
//! (`ca_file`) and the loudly flagged `insecure_skip_verify`.

use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::Serialize;

/// The `tls` section.
#[derive(Debug, Clone, PartialEq, Default, Serialize, utoipa::ToSchema)]
pub struct TlsOptions {
    /// A PEM file of certificate authorities trusted besides the system's, relative to the
    /// scenario file (inside the scenarios folder for server sessions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// The certificates of `ca_file`, DER-encoded, read when the scenario was read.
    #[serde(skip)]
    #[schema(ignore)]
    pub ca_certs: Arc<Vec<Vec<u8>>>,
    /// Accept any certificate for any name: the traffic can then be read and changed by anyone
    /// on the path. Flagged in the output and in every report.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub insecure_skip_verify: bool,
}

impl TlsOptions {
    /// Whether the section says anything (an absent section is the default).
    pub fn is_default(&self) -> bool {
        self.ca_file.is_none() && !self.insecure_skip_verify
    }
}

/// The certificates of a PEM file of certificate authorities, DER-encoded; a file with none, or
/// with a broken one, is an error naming it (`file` as the caller names it).
pub fn ca_certificates(file: &str, pem: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut certs = Vec::new();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| format!("CA file `{file}` is not valid PEM: {e}"))?;
        certs.push(cert.as_ref().to_vec());
    }
    if certs.is_empty() {
        return Err(format!(
            "CA file `{file}` holds no certificate (expected PEM blocks `-----BEGIN CERTIFICATE-----`)"
        ));
    }
    Ok(certs)
}
