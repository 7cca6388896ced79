//! Opening a connection to the cache: TCP, then TLS for `rediss://` (ElastiCache with transit
//! encryption requires it), then the Redis handshake — each step bounded by its own timeout,
//! because a TCP connect inside the VPC takes a millisecond while a TLS handshake on a 256 MB
//! function takes tens.
//!
//! The TLS is ours rather than the redis crate's: it runs on the aws-lc provider the SDK already
//! links, and its trust roots come from the CA bundle the process loads once (the one the SDK's
//! HTTPS uses), plus `CACHE_CA_FILE` for a private CA — instead of re-reading the system's
//! certificate directory at every connect.

use crate::CacheError;
use bourse_config::{CaBundle, CacheTimeouts, CacheUrl};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisConnectionInfo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::sync::{Arc, OnceLock};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};

/// Where the cache's TLS finds the certificate authorities it trusts.
#[derive(Debug, Clone, Default)]
pub struct CacheTrust {
    /// The process's CA bundle (`SSL_CERT_FILE` or the system's).
    pub bundle: CaBundle,
    /// `CACHE_CA_FILE`: extra authorities (PEM), e.g. a private CA.
    pub extra_ca_file: Option<String>,
}

/// A byte stream the Redis connection runs over: plain TCP or TLS over TCP.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

pub(crate) struct Connector {
    url: CacheUrl,
    timeouts: CacheTimeouts,
    trust: CacheTrust,
    /// Built on the first TLS connect and kept: parsing the bundle costs about a millisecond.
    tls: OnceLock<Result<tokio_rustls::TlsConnector, String>>,
}

impl Connector {
    pub(crate) fn new(url: CacheUrl, timeouts: CacheTimeouts, trust: CacheTrust) -> Self {
        Connector { url, timeouts, trust, tls: OnceLock::new() }
    }

    pub(crate) fn timeouts(&self) -> CacheTimeouts {
        self.timeouts
    }

    /// A multiplexed connection; its driver runs on the current runtime until the connection drops.
    pub(crate) async fn connect(&self) -> Result<MultiplexedConnection, CacheError> {
        let (host, port) = (self.url.host(), self.url.port());
        let tcp = timeout(self.timeouts.connect, TcpStream::connect((host, port)))
            .await
            .map_err(|_| CacheError::Timeout { step: "connect", millis: self.timeouts.connect.as_millis() })?
            .map_err(CacheError::Connect)?;
        // Small request/response pairs: never wait for Nagle.
        let _ = tcp.set_nodelay(true);

        let handshake_deadline = Instant::now() + self.timeouts.handshake;
        let handshake_timeout = || CacheError::Timeout { step: "handshake", millis: self.timeouts.handshake.as_millis() };
        let stream: Box<dyn Stream> = if self.url.tls() {
            let connector = self.tls_connector()?;
            let name = ServerName::try_from(host.to_owned()).map_err(|e| CacheError::Tls(format!("{host:?} is not a valid server name: {e}")))?;
            let tls = timeout_at(handshake_deadline, connector.connect(name, tcp))
                .await
                .map_err(|_| handshake_timeout())?
                .map_err(|e| CacheError::Tls(e.to_string()))?;
            Box::new(tls)
        } else {
            Box::new(tcp)
        };

        let info = RedisConnectionInfo {
            db: self.url.db(),
            username: self.url.username().map(str::to_owned),
            password: self.url.password().map(|p| p.expose().to_owned()),
            ..RedisConnectionInfo::default()
        };
        let (connection, driver) = timeout_at(handshake_deadline, MultiplexedConnection::new_with_config(&info, stream, AsyncConnectionConfig::new()))
            .await
            .map_err(|_| handshake_timeout())??;
        tokio::spawn(driver);
        Ok(connection)
    }

    #[cfg(test)]
    pub(crate) fn tls_error_for_tests(&self) -> String {
        self.tls_connector().err().map(|e| e.to_string()).unwrap_or_default()
    }

    fn tls_connector(&self) -> Result<tokio_rustls::TlsConnector, CacheError> {
        self.tls.get_or_init(|| build_tls(&self.trust)).clone().map_err(CacheError::Tls)
    }
}

/// A TLS client trusting the bundle and the extra CA file, on the aws-lc provider.
fn build_tls(trust: &CacheTrust) -> Result<tokio_rustls::TlsConnector, String> {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(pem) = trust.bundle.pem() {
        // A system bundle may hold a certificate webpki cannot use; skip those, as browsers do.
        roots.add_parsable_certificates(CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok));
    }
    if let Some(path) = &trust.extra_ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("cannot read CACHE_CA_FILE {path}: {e}"))?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("CACHE_CA_FILE {path} is not PEM certificates: {e}"))?;
        if certs.is_empty() {
            return Err(format!("CACHE_CA_FILE {path} holds no certificate"));
        }
        let (_, refused) = roots.add_parsable_certificates(certs);
        if refused > 0 {
            return Err(format!("CACHE_CA_FILE {path}: {refused} certificate(s) are not usable trust anchors"));
        }
    }
    if roots.is_empty() {
        return Err("no trusted certificate authority: set SSL_CERT_FILE or CACHE_CA_FILE".into());
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}
