//! A small HTTP/1.1 client on hyper with rustls (aws-lc, already compiled for the AWS SDK): GETs
//! for market data, and JSON POSTs whose answer can be read as it arrives (a chat model's
//! server-sent events). Root certificates (the process's one CA bundle, shared with the SDK and the cache) are read
//! only when a provider uses `https`, and only at the first request (not at a cold start), so the
//! local stack and the tests (plain HTTP to 127.0.0.1) never touch the certificate store.

use crate::ProviderError;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;
use std::time::Duration;

/// Largest body accepted (a full daily history is ≈ 1 MB).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// A response: status, `Retry-After` (seconds form) and the body.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: Bytes,
}

/// A response whose body is read as it arrives, chunk by chunk, up to [`MAX_BODY_BYTES`].
#[derive(Debug)]
pub struct StreamingResponse {
    pub status: u16,
    /// `Retry-After` (seconds form).
    pub retry_after: Option<Duration>,
    body: hyper::body::Incoming,
    read: usize,
}

impl StreamingResponse {
    /// The next chunk of the body as it arrives; `None` at its end. A body growing past
    /// [`MAX_BODY_BYTES`] is [`ProviderError::Malformed`].
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, ProviderError> {
        while let Some(frame) = self.body.frame().await {
            let frame = frame.map_err(|e| ProviderError::Transport(format!("body: {e}")))?;
            if let Ok(data) = frame.into_data() {
                self.read += data.len();
                if self.read > MAX_BODY_BYTES {
                    return Err(ProviderError::Malformed(format!("body over {MAX_BODY_BYTES} bytes")));
                }
                return Ok(Some(data));
            }
        }
        Ok(None)
    }

    /// The rest of the body, whole.
    pub async fn collect(mut self) -> Result<Bytes, ProviderError> {
        let mut body = Vec::new();
        while let Some(chunk) = self.chunk().await? {
            body.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(body))
    }
}

type Hyper = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

#[derive(Clone)]
pub struct HttpClient {
    /// Requests carry a whole body (`Full`: empty for a GET, which then sends no body at all).
    /// Built on the first request, so a function whose providers are never called (or not on a
    /// given instance) never parses a certificate at its cold start.
    client: Arc<std::sync::OnceLock<Result<Hyper, String>>>,
    trust: Option<bourse_config::CaBundle>,
}

impl HttpClient {
    /// `trust`: the CA bundle for `https` providers (`None` when every provider is plain
    /// `http`, as in the local stack and the tests, which then never read a certificate).
    pub fn new(trust: Option<&bourse_config::CaBundle>) -> Result<Self, bourse_config::trust::TlsError> {
        Ok(HttpClient { client: Arc::default(), trust: trust.cloned() })
    }

    /// The client, built on first use (a refused CA bundle is then every request's error).
    fn client(&self) -> Result<&Hyper, ProviderError> {
        let built = self.client.get_or_init(|| {
            let config = match &self.trust {
                Some(bundle) => bourse_config::trust::client_config(bundle, None),
                None => bourse_config::trust::trusting(rustls::RootCertStore::empty()),
            }
            .map_err(|e| e.to_string())?;
            let mut http = HttpConnector::new();
            http.enforce_http(false);
            http.set_connect_timeout(Some(Duration::from_secs(2)));
            http.set_nodelay(true);
            let connector = hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(Arc::unwrap_or_clone(config))
                .https_or_http()
                .enable_http1()
                .wrap_connector(http);
            Ok(Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector))
        });
        built.as_ref().map_err(|e| ProviderError::Transport(format!("TLS configuration: {e}")))
    }

    /// GET `url`; the whole exchange (connect, headers, body) is bounded by `timeout`.
    pub async fn get(&self, url: &str, timeout: Duration) -> Result<HttpResponse, ProviderError> {
        let uri: http::Uri = url.parse().map_err(|e| ProviderError::Transport(format!("bad URL: {e}")))?;
        let request = http::Request::get(uri)
            .header("accept", "application/json")
            .header("user-agent", "bourse-enrich/0.1")
            .body(Full::new(Bytes::new()))
            .map_err(|e| ProviderError::Transport(e.to_string()))?;
        let exchange = async {
            let response = self.client()?.request(request).await.map_err(|e| ProviderError::Transport(e.to_string()))?;
            let status = response.status().as_u16();
            let retry_after = retry_after(response.headers());
            let body = Limited::new(response.into_body(), MAX_BODY_BYTES)
                .collect()
                .await
                .map_err(|e| ProviderError::Malformed(format!("body: {e}")))?
                .to_bytes();
            Ok(HttpResponse { status, retry_after, body })
        };
        tokio::time::timeout(timeout, exchange).await.map_err(|_| ProviderError::Timeout)?
    }

    /// POSTs `body` (JSON) to `url` with `headers` and answers once the response head has
    /// arrived; the body is then read with [`StreamingResponse::chunk`]. Not bounded here: the
    /// caller bounds the whole exchange, body included (a streamed answer outlives this call).
    /// An `Authorization` header is marked sensitive, and no error here ever carries a header's
    /// value.
    pub async fn post_json(&self, url: &str, headers: &[(&str, &str)], body: Bytes) -> Result<StreamingResponse, ProviderError> {
        let uri: http::Uri = url.parse().map_err(|e| ProviderError::Transport(format!("bad URL: {e}")))?;
        let mut request =
            http::Request::post(uri).header(http::header::CONTENT_TYPE, "application/json").header(http::header::USER_AGENT, "bourse/0.1");
        for (name, value) in headers {
            let mut value = http::HeaderValue::from_str(value)
                .map_err(|_| ProviderError::Transport(format!("header {name} has a value that cannot be sent")))?;
            value.set_sensitive(name.eq_ignore_ascii_case("authorization"));
            request = request.header(*name, value);
        }
        let request = request.body(Full::new(body)).map_err(|e| ProviderError::Transport(e.to_string()))?;
        let response = self.client()?.request(request).await.map_err(|e| ProviderError::Transport(e.to_string()))?;
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        Ok(StreamingResponse { status, retry_after, body: response.into_body(), read: 0 })
    }
}

/// `Retry-After` in its seconds form (the date form is ignored).
fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok()).map(Duration::from_secs)
}

/// Maps the statuses every provider shares: 429 → rate limited, 5xx → server error.
pub(crate) fn common_status(response: &HttpResponse) -> Result<(), ProviderError> {
    match response.status {
        200..=299 => Ok(()),
        429 => Err(ProviderError::RateLimited { retry_after: response.retry_after }),
        500..=599 => Err(ProviderError::Server(response.status)),
        _ => Ok(()), // 404 and friends carry a provider-specific body; the caller decides.
    }
}

/// Parses a JSON body; a truncated or malformed body is [`ProviderError::Malformed`].
pub(crate) fn json(response: &HttpResponse) -> Result<serde_json::Value, ProviderError> {
    serde_json::from_slice(&response.body).map_err(|e| ProviderError::Malformed(format!("HTTP {}: {e}", response.status)))
}

/// One webhook request: where it connects, what it says.
pub struct PinnedPost<'a> {
    /// The vetted address: connected to as is, never resolved again here.
    pub address: std::net::SocketAddr,
    /// The URL's host, for `Host` and the TLS server name (SNI, certificate check).
    pub host: &'a str,
    pub https: bool,
    /// Path and query.
    pub path: &'a str,
    pub headers: &'a [(&'a str, String)],
    pub body: Bytes,
}

/// POSTs to exactly `post.address` (so a name re-pointed after it was vetted cannot redirect the
/// connection), over TLS checked against `host` when `https`, and answers the status of the
/// response head. Redirects are answered, never followed; the body is not read. The whole
/// exchange is bounded by `timeout`; a new connection each time (no pool: one per attempt).
pub async fn post_pinned(tls: &Arc<rustls::ClientConfig>, post: PinnedPost<'_>, timeout: Duration) -> Result<u16, ProviderError> {
    let PinnedPost { address, host, https, path, headers, body } = post;
    let transport = |e: &dyn std::fmt::Display| ProviderError::Transport(e.to_string());
    let default_port = if https { 443 } else { 80 };
    let bracketed = if host.contains(':') { format!("[{host}]") } else { host.to_owned() };
    let authority = if address.port() == default_port { bracketed } else { format!("{bracketed}:{}", address.port()) };
    let mut request = http::Request::post(path)
        .header(http::header::HOST, authority)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::USER_AGENT, "Bourse-Webhooks/1.0");
    for (name, value) in headers {
        request = request.header(*name, value.as_str());
    }
    let request = request.body(http_body_util::Full::new(body)).map_err(|e| transport(&e))?;
    let exchange = async {
        let tcp = tokio::net::TcpStream::connect(address).await.map_err(|e| transport(&e))?;
        let _ = tcp.set_nodelay(true);
        if https {
            let name = rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|e| transport(&e))?;
            let stream = tokio_rustls::TlsConnector::from(Arc::clone(tls)).connect(name, tcp).await.map_err(|e| transport(&e))?;
            send_once(hyper_util::rt::TokioIo::new(stream), request).await
        } else {
            send_once(hyper_util::rt::TokioIo::new(tcp), request).await
        }
    };
    tokio::time::timeout(timeout, exchange).await.map_err(|_| ProviderError::Timeout)?
}

async fn send_once<S>(io: S, request: http::Request<http_body_util::Full<Bytes>>) -> Result<u16, ProviderError>
where
    S: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await.map_err(|e| ProviderError::Transport(e.to_string()))?;
    let driver = tokio::spawn(connection);
    let response = sender.send_request(request).await.map_err(|e| ProviderError::Transport(e.to_string()));
    driver.abort();
    Ok(response?.status().as_u16())
}
