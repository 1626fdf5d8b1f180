//! The TLS client configuration of a run: the system's certificate authorities plus the
//! scenario's `tls.ca_file`, or, with `tls.insecure_skip_verify`, no certificate check at all
//! (handshake signatures are still verified).

use std::sync::Arc;

use lt_scenario::TlsOptions;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

/// The client configuration for `options`.
pub fn client_config(options: &TlsOptions) -> Result<Arc<ClientConfig>, String> {
    let mut config = if options.insecure_skip_verify {
        let provider = Arc::new(aws_lc_rs::default_provider());
        builder(Arc::clone(&provider))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth()
    } else {
        let file = options.ca_file.as_deref().unwrap_or_default();
        verifying_config(&options.ca_certs, &format!("tls.ca_file `{file}`"))?
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A client configuration that checks the server's certificate against the system's
/// certificate authorities plus `ca_certs` (DER), without ALPN; `ca_source` names where the
/// extra authorities came from in errors (such as ``tls.ca_file `ca.pem` ``).
pub fn verifying_config(ca_certs: &[Vec<u8>], ca_source: &str) -> Result<ClientConfig, String> {
    let mut roots = RootCertStore::empty();
    // Certificates of the system that cannot be read are left out, as every client does.
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    for der in ca_certs {
        roots
            .add(CertificateDer::from(der.clone()))
            .map_err(|e| format!("{ca_source}: a certificate cannot be trusted: {e}"))?;
    }
    Ok(builder(Arc::new(aws_lc_rs::default_provider()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn builder(
    provider: Arc<CryptoProvider>,
) -> Result<rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier>, String> {
    ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("setting up TLS: {e}"))
}

/// `insecure_skip_verify`: any certificate, for any name.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
