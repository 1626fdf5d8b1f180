//! The `tls` section: `{ ca_file, insecure_skip_verify }`, the CA file read through the caller's
//! [`DataFiles`] and its certificates checked here.

use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::reader::{Map, Reader};
use crate::TlsOptions;
use crate::data::DataFiles;

/// Reads `tls` of the top-level mapping.
pub(crate) fn read(r: &mut Reader, top: &Map<'_>, files: &dyn DataFiles) -> Option<TlsOptions> {
    let Some(item) = top.value("tls") else {
        return Some(TlsOptions::default());
    };
    let map = r.map(&item, &["ca_file", "insecure_skip_verify"])?;
    let insecure = match map.value("insecure_skip_verify") {
        Some(i) => r.bool(&i),
        None => Some(false),
    };
    let ca = match map.value("ca_file") {
        None => Some(None),
        Some(i) => r.nonempty_text(&i).and_then(|file| {
            match files
                .read(&file)
                .and_then(|bytes| certificates(&file, &bytes))
            {
                Ok(certs) => Some(Some((file, certs))),
                Err(message) => {
                    r.error_at(&i, message);
                    None
                }
            }
        }),
    };
    let (insecure, ca) = (insecure?, ca?);
    let (ca_file, ca_certs) = match ca {
        Some((file, certs)) => (Some(file), certs),
        None => (None, Vec::new()),
    };
    Some(TlsOptions {
        ca_file,
        ca_certs: Arc::new(ca_certs),
        insecure_skip_verify: insecure,
    })
}

/// The certificates of a PEM file, DER-encoded; a file with none, or with a broken one, is an
/// error naming it.
fn certificates(file: &str, pem: &[u8]) -> Result<Vec<Vec<u8>>, String> {
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
