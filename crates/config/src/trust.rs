//! The TLS client every outbound connection of ours uses (the cache's `rediss://`, the market-data
//! providers' `https://`): rustls on the aws-lc provider the SDK already links, trusting the one
//! CA bundle the process loads ([`CaBundle`], shared with the SDK's HTTPS client) plus, where a
//! setting names one, a file of extra authorities.

use crate::CaBundle;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::sync::Arc;

/// Why no TLS client configuration could be built. `setting` and `path` name the file of extra
/// authorities and the setting it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {setting} {path}: {reason}")]
    Unreadable { setting: String, path: String, reason: String },
    #[error("{setting} {path} is not PEM certificates: {reason}")]
    NotPem { setting: String, path: String, reason: String },
    #[error("{setting} {path} holds no certificate")]
    NoCertificate { setting: String, path: String },
    #[error("{setting} {path}: {refused} certificate(s) are not usable trust anchors")]
    Unusable { setting: String, path: String, refused: usize },
    #[error("no trusted certificate authority: no CA bundle could be read (set SSL_CERT_FILE)")]
    NoAuthority,
    /// The TLS library refused the configuration itself.
    #[error("{0}")]
    Config(String),
}

/// A client configuration trusting `bundle` and the PEM certificates in `extra_ca_file`
/// (`setting` names where that file came from, for the error).
pub fn client_config(bundle: &CaBundle, extra_ca_file: Option<(&str, &str)>) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(pem) = bundle.pem() {
        // A system bundle may hold a certificate webpki cannot use; skip those, as browsers do.
        roots.add_parsable_certificates(CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok));
    }
    if let Some((setting, path)) = extra_ca_file {
        let (setting, path) = (setting.to_owned(), path.to_owned());
        let pem = match std::fs::read(&path) {
            Ok(pem) => pem,
            Err(e) => return Err(TlsError::Unreadable { setting, path, reason: e.to_string() }),
        };
        let certs = match CertificateDer::pem_slice_iter(&pem).collect::<Result<Vec<_>, _>>() {
            Ok(certs) => certs,
            Err(e) => return Err(TlsError::NotPem { setting, path, reason: e.to_string() }),
        };
        if certs.is_empty() {
            return Err(TlsError::NoCertificate { setting, path });
        }
        let (_, refused) = roots.add_parsable_certificates(certs);
        if refused > 0 {
            return Err(TlsError::Unusable { setting, path, refused });
        }
    }
    if roots.is_empty() {
        return Err(TlsError::NoAuthority);
    }
    trusting(roots)
}

/// A client configuration on aws-lc trusting exactly `roots` (empty for a client that only ever
/// speaks plain HTTP).
pub fn trusting(roots: rustls::RootCertStore) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
