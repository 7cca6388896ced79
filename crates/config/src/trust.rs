//! The TLS client every outbound connection of ours uses (the cache's `rediss://`, the market-data
//! providers' `https://`): rustls on the aws-lc provider the SDK already links, trusting the one
//! CA bundle the process loads ([`CaBundle`], shared with the SDK's HTTPS client) plus, where a
//! setting names one, a file of extra authorities.

use crate::CaBundle;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::sync::Arc;

/// A client configuration trusting `bundle` and the PEM certificates in `extra_ca_file`
/// (`setting` names where that file came from, for the error).
pub fn client_config(bundle: &CaBundle, extra_ca_file: Option<(&str, &str)>) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(pem) = bundle.pem() {
        // A system bundle may hold a certificate webpki cannot use; skip those, as browsers do.
        roots.add_parsable_certificates(CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok));
    }
    if let Some((setting, path)) = extra_ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("cannot read {setting} {path}: {e}"))?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{setting} {path} is not PEM certificates: {e}"))?;
        if certs.is_empty() {
            return Err(format!("{setting} {path} holds no certificate"));
        }
        let (_, refused) = roots.add_parsable_certificates(certs);
        if refused > 0 {
            return Err(format!("{setting} {path}: {refused} certificate(s) are not usable trust anchors"));
        }
    }
    if roots.is_empty() {
        return Err("no trusted certificate authority: no CA bundle could be read (set SSL_CERT_FILE)".into());
    }
    trusting(roots)
}

/// A client configuration on aws-lc trusting exactly `roots` (empty for a client that only ever
/// speaks plain HTTP).
pub fn trusting(roots: rustls::RootCertStore) -> Result<Arc<rustls::ClientConfig>, String> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
