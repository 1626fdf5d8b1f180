//! TLS on the generator listener (`[generators.tls]`): the certificate and its key, read and
//! checked when the server starts (a file that cannot be used stops the start, naming its
//! setting) and again when the listener binds. rustls with the aws-lc-rs provider, as the
//! engine's HTTPS client.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::crypto::aws_lc_rs;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use super::settings::GeneratorTls;

/// A `[generators.tls]` setting that cannot be used: its key and what is wrong with it (never
/// the key file's content).
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub struct TlsSettingError {
    pub key: &'static str,
    pub message: String,
}

fn problem(key: &'static str, message: impl Into<String>) -> TlsSettingError {
    TlsSettingError {
        key,
        message: message.into(),
    }
}

/// The listener's acceptor; `None` when TLS is off.
pub fn acceptor(tls: &GeneratorTls) -> Result<Option<TlsAcceptor>, TlsSettingError> {
    let (cert_file, key_file) = match (&tls.cert_file, &tls.key_file) {
        (None, None) => {
            if tls.ca_file.is_some() {
                return Err(problem(
                    "generators.tls.ca_file",
                    "is for generators dialing a TLS listener: set cert_file and key_file too",
                ));
            }
            return Ok(None);
        }
        (Some(_), None) => {
            return Err(problem(
                "generators.tls.key_file",
                "is required with cert_file (the certificate's private key, PEM)",
            ));
        }
        (None, Some(_)) => {
            return Err(problem(
                "generators.tls.cert_file",
                "is required with key_file (the certificate chain, PEM)",
            ));
        }
        (Some(cert), Some(key)) => (cert, key),
    };
    let certs = certificates(cert_file)?;
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| {
        problem(
            "generators.tls.key_file",
            pem_problem(
                key_file,
                &e,
                "private key (a `-----BEGIN PRIVATE KEY-----` block)",
            ),
        )
    })?;
    if let Some(ca_file) = &tls.ca_file {
        let bytes = std::fs::read(ca_file).map_err(|e| {
            problem(
                "generators.tls.ca_file",
                format!("{} cannot be read: {e}", ca_file.display()),
            )
        })?;
        lt_scenario::tls_options::ca_certificates(&ca_file.display().to_string(), &bytes)
            .map_err(|message| problem("generators.tls.ca_file", message))?;
    }
    let config = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| problem("generators.tls", format!("setting up TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            let message = match e {
                rustls::Error::InconsistentKeys(_) => format!(
                    "{}: the key does not belong to the certificate of cert_file {}",
                    key_file.display(),
                    cert_file.display()
                ),
                e => format!("{}: the key cannot be used: {e}", key_file.display()),
            };
            problem("generators.tls.key_file", message)
        })?;
    Ok(Some(TlsAcceptor::from(Arc::new(config))))
}

/// What is wrong with `[generators.tls]`, as the settings' check names it.
pub fn tls_problem(tls: &GeneratorTls) -> Option<(&'static str, String)> {
    acceptor(tls).err().map(|e| (e.key, e.message))
}

fn certificates(file: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSettingError> {
    let key = "generators.tls.cert_file";
    let what = "certificate (a `-----BEGIN CERTIFICATE-----` block)";
    let mut certs = Vec::new();
    for cert in CertificateDer::pem_file_iter(file)
        .map_err(|e| problem(key, pem_problem(file, &e, what)))?
    {
        certs.push(cert.map_err(|e| problem(key, pem_problem(file, &e, what)))?);
    }
    if certs.is_empty() {
        return Err(problem(
            key,
            pem_problem(file, &pem::Error::NoItemsFound, what),
        ));
    }
    Ok(certs)
}

/// What is wrong with a PEM file, without its content.
fn pem_problem(file: &Path, e: &pem::Error, what: &str) -> String {
    let file = file.display();
    match e {
        pem::Error::Io(e) => format!("{file} cannot be read: {e}"),
        pem::Error::NoItemsFound => format!("{file} holds no {what}"),
        _ => format!("{file} is not valid PEM (a section is broken or not base64)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/e2e/tls");

    fn tls(cert: &str, key: &str) -> GeneratorTls {
        GeneratorTls {
            cert_file: Some(format!("{DIR}/{cert}").into()),
            key_file: Some(format!("{DIR}/{key}").into()),
            ca_file: None,
        }
    }

    #[test]
    fn a_certificate_and_its_key_make_an_acceptor() {
        assert!(acceptor(&GeneratorTls::default()).unwrap().is_none());
        assert!(
            acceptor(&tls("server.pem", "server.key"))
                .unwrap()
                .is_some()
        );
        let mut with_ca = tls("server.pem", "server.key");
        with_ca.ca_file = Some(format!("{DIR}/ca.pem").into());
        assert!(acceptor(&with_ca).unwrap().is_some());
    }

    #[test]
    fn an_unusable_file_is_named_by_its_setting() {
        let e = acceptor(&tls("server.pem", "nope.key")).err().unwrap();
        assert_eq!(e.key, "generators.tls.key_file");
        assert!(e.message.contains("cannot be read"), "{e}");
        // A certificate where the key should be.
        let e = acceptor(&tls("server.pem", "ca.pem")).err().unwrap();
        assert_eq!(e.key, "generators.tls.key_file");
        assert!(e.message.contains("holds no private key"), "{e}");
        // A key where the certificate should be.
        let e = acceptor(&tls("server.key", "server.key")).err().unwrap();
        assert_eq!(e.key, "generators.tls.cert_file");
        let only_cert = GeneratorTls {
            key_file: None,
            ..tls("server.pem", "server.key")
        };
        assert_eq!(
            acceptor(&only_cert).err().unwrap().key,
            "generators.tls.key_file"
        );
        let only_ca = GeneratorTls {
            ca_file: Some(format!("{DIR}/ca.pem").into()),
            ..GeneratorTls::default()
        };
        assert_eq!(
            acceptor(&only_ca).err().unwrap().key,
            "generators.tls.ca_file"
        );
    }
}
