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
use rustls::pki_types::ServerName;
use std::sync::OnceLock;
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
    tls: OnceLock<Result<tokio_rustls::TlsConnector, bourse_config::trust::TlsError>>,
}

impl Connector {
    pub(crate) fn new(url: CacheUrl, timeouts: CacheTimeouts, trust: CacheTrust) -> Self {
        Connector { url, timeouts, trust, tls: OnceLock::new() }
    }

    /// The database the URL selects (`/N`, default 0).
    pub(crate) fn database(&self) -> i64 {
        self.url.db()
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
            let name =
                ServerName::try_from(host.to_owned()).map_err(|e| CacheError::Tls(format!("{host:?} is not a valid server name: {e}")))?;
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
        let (connection, driver) =
            timeout_at(handshake_deadline, MultiplexedConnection::new_with_config(&info, stream, AsyncConnectionConfig::new()))
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
        self.tls
            .get_or_init(|| {
                let extra = self.trust.extra_ca_file.as_deref().map(|path| ("CACHE_CA_FILE", path));
                bourse_config::trust::client_config(&self.trust.bundle, extra).map(tokio_rustls::TlsConnector::from)
            })
            .clone()
            .map_err(|e| CacheError::Tls(e.to_string()))
    }
}
