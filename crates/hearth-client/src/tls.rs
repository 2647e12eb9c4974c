//! TLS for `https://` rooms: the system's trust roots by default, or exactly
//! one pinned certificate (a self-signed host whose fingerprint the person
//! was given), never "accept anything".

use std::sync::{Arc, OnceLock};

use hearth_proto::CertFingerprint;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::ClientError;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The TLS settings of a client: system roots, or only `pin`.
pub fn client_config(pin: Option<CertFingerprint>) -> Result<rustls::ClientConfig, ClientError> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Network(format!("TLS set-up: {e}")))?;
    let config = match pin {
        Some(pin) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedCertificate { pin, provider }))
            .with_no_client_auth(),
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(system_verifier(provider)?)
            .with_no_client_auth(),
    };
    Ok(config)
}

/// The system's trust roots, read once per process (reading them is the
/// slow part of making a client).
fn system_verifier(
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, ClientError> {
    static SYSTEM: OnceLock<Result<Arc<rustls_platform_verifier::Verifier>, String>> =
        OnceLock::new();
    let verifier = SYSTEM
        .get_or_init(|| {
            rustls_platform_verifier::Verifier::new(provider)
                .map(Arc::new)
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| ClientError::Network(format!("TLS set-up: {e}")))?;
    Ok(verifier)
}

/// Accepts exactly the certificate with the pinned fingerprint (its
/// signatures still checked), whatever signed it.
#[derive(Debug)]
struct PinnedCertificate {
    pin: CertFingerprint,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = CertFingerprint::of_der(end_entity);
        if presented == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "the server's certificate is not the pinned one (it has fingerprint {presented})"
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A sentence for a person when `error` is a refused certificate.
pub fn certificate_problem(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut source = Some(error);
    while let Some(mut e) = source {
        // An io::Error hides what it wraps from `source()` (and the TLS
        // error comes wrapped twice).
        while let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            e = inner;
        }
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(match tls {
                rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
                | rustls::Error::InvalidCertificate(rustls::CertificateError::BadSignature) => {
                    "the server's certificate is not trusted (it is self-signed or from an unknown authority). If you trust this host, ask it for its certificate fingerprint and pin it".to_owned()
                }
                rustls::Error::InvalidCertificate(rustls::CertificateError::Expired) => {
                    "the server's certificate has expired".to_owned()
                }
                rustls::Error::InvalidCertificate(
                    rustls::CertificateError::NotValidForName
                    | rustls::CertificateError::NotValidForNameContext { .. },
                ) => {
                    "the server's certificate is for another name than this address".to_owned()
                }
                rustls::Error::General(text) => text.clone(),
                other => format!("the secure connection failed: {other}"),
            });
        }
        source = e.source();
    }
    None
}
