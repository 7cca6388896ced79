//! The request pipeline every HTTP function runs, written once:
//! request id → CORS preflight → body limit → routing → [bearer routes: authentication →
//! usage metering] → handler (counted) → problem mapping → ETag / 304 → compression → security and
//! CORS headers → JSON log line + EMF metrics.

use crate::auth::{Access, AccessControl, RateLimit, bearer_token};
use crate::cors::Cors;
use crate::encoding::{self, MIN_COMPRESS_BYTES};
use crate::problem::{ApiError, PROBLEM_CONTENT_TYPE};
use crate::reply::{CachePolicy, EventStream, Reply, if_none_match_hits, weak_etag};
use crate::request::ApiRequest;
use crate::router::{Route, match_route};
use bourse_telemetry::{RequestMetrics, measured, take_cold_start};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

/// What the pipeline needs to know about the function.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub service: &'static str,
    pub version: &'static str,
    pub cors: Cors,
    pub max_body_bytes: usize,
}

/// A function's request handler: given the matched route id and the parsed request, answer.
pub trait Handler<R>: Send + Sync + 'static {
    fn handle(&self, route: R, request: ApiRequest) -> impl Future<Output = Result<Reply, ApiError>> + Send;
}

pub struct HttpApp<R: 'static, H> {
    settings: HttpSettings,
    routes: &'static [Route<R>],
    handler: H,
    access: Option<AccessControl>,
    /// One EMF metric line per request (on unless [`HttpApp::without_metrics`]).
    emit_metrics: bool,
}

impl<R, H> HttpApp<R, H>
where
    R: Copy + Send + Sync + std::fmt::Debug + 'static,
    H: Handler<R>,
{
    pub fn new(settings: HttpSettings, routes: &'static [Route<R>], handler: H) -> Self {
        HttpApp { settings, routes, handler, access: None, emit_metrics: true }
    }

    /// No EMF metric line per request: for an app served in-process by another function (the
    /// operator's cache warm-up runs the screener's reads), whose requests are not traffic and
    /// would distort the dashboard's latency and hit ratio.
    pub fn without_metrics(mut self) -> Self {
        self.emit_metrics = false;
        self
    }

    /// Enables bearer routes: the authenticator and usage meter the pipeline calls before their
    /// handler. Without it a bearer route fails closed (401).
    pub fn with_access(mut self, access: AccessControl) -> Self {
        self.access = Some(access);
        self
    }

    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// Serves Lambda invocations until the runtime stops.
    pub async fn run(self) -> Result<(), lambda_http::Error> {
        let app = Arc::new(self);
        lambda_http::run(lambda_http::service_fn(move |event: Request| {
            let app = Arc::clone(&app);
            async move { Ok::<_, lambda_http::Error>(app.serve(event).await) }
        }))
        .await
    }

    /// Serves Lambda invocations with response streaming (a function URL in `RESPONSE_STREAM`
    /// mode): an event-stream answer is sent chunk by chunk as it is produced; every other answer
    /// is sent whole, exactly as [`HttpApp::run`] would.
    pub async fn run_streaming(self) -> Result<(), lambda_http::Error> {
        let app = Arc::new(self);
        lambda_http::run_with_streaming_response(lambda_http::service_fn(move |event: Request| {
            let app = Arc::clone(&app);
            async move { Ok::<_, lambda_http::Error>(app.serve_streaming(event).await) }
        }))
        .await
    }

    /// Answers one event. Never fails: every error becomes a problem response. An event-stream
    /// answer is collected whole (an API Gateway HTTP API buffers responses anyway).
    pub async fn serve(&self, event: Request) -> Response<Body> {
        let (mut response, stream) = self.serve_parts(event).await;
        if let Some(mut stream) = stream {
            let mut text = String::new();
            while let Some(chunk) = stream.recv().await {
                text.push_str(&chunk);
            }
            *response.body_mut() = Body::Text(text);
        }
        response
    }

    /// As [`HttpApp::serve`], with an event-stream answer's chunks delivered as they come.
    pub async fn serve_streaming(&self, event: Request) -> Response<StreamingBody> {
        let (response, stream) = self.serve_parts(event).await;
        response.map(|body| match stream {
            Some(stream) => StreamingBody::Events(stream),
            None => StreamingBody::Whole(match body {
                Body::Empty => None,
                Body::Text(text) => Some(bytes::Bytes::from(text)),
                Body::Binary(bytes) => Some(bytes::Bytes::from(bytes)),
                _ => None,
            }),
        })
    }

    async fn serve_parts(&self, event: Request) -> (Response<Body>, Option<EventStream>) {
        let started = Instant::now();
        let cold_start = take_cold_start();
        let request_id = request_id(&event);
        let span = tracing::info_span!("request", request_id = %request_id);
        async {
            let method = event.method().clone();
            let path = route_path(&event);
            let request_headers = event.headers().clone();
            let (route, outcome, counters, rate) = if is_preflight(&event) {
                ("OPTIONS *".to_owned(), Ok(Reply::no_content()), Default::default(), None)
            } else {
                match self.prepare(event, &request_id) {
                    Ok((id, access, request)) => {
                        let route = request.route.clone();
                        let ((outcome, rate), counters) = measured(self.guarded(id, access, request)).await;
                        (route, outcome, counters, rate)
                    }
                    Err(err) => (format!("{method} (unrouted)"), Err(err), Default::default(), None),
                }
            };
            let preflight = route == "OPTIONS *";
            let (mut response, stream) = self.respond(outcome, &request_headers, &request_id, &path);
            if let Some(rate) = rate {
                response.headers_mut().extend(rate.headers());
            }
            if preflight {
                self.settings.cors.preflight(&request_headers, response.headers_mut());
            } else {
                self.settings.cors.apply(&request_headers, response.headers_mut());
            }
            let status = response.status().as_u16();
            let latency = started.elapsed();
            tracing::info!(
                method = %method,
                route = %route,
                status,
                latency_ms = latency.as_secs_f64() * 1000.0,
                cold_start,
                dynamodb_requests = counters.dynamodb_requests(),
                "request served"
            );
            if self.emit_metrics {
                RequestMetrics { service: self.settings.service, route: &route, status, latency, cold_start, counters: &counters }
                    .emit(&request_id);
            }
            (response, stream)
        }
        .instrument(span)
        .await
    }

    /// Bearer routes: authenticate, meter (one atomic count, refused over quota), then the
    /// handler with the principal. Public routes go straight to the handler.
    async fn guarded(&self, id: R, access: Access, mut request: ApiRequest) -> (Result<Reply, ApiError>, Option<RateLimit>) {
        if access == Access::Bearer {
            let Some(control) = &self.access else {
                tracing::error!(route = %request.route, "bearer route served without an authenticator");
                return (Err(ApiError::Unauthorized("a bearer token is required".into())), None);
            };
            let principal = match bearer_token(&request.headers) {
                Ok(token) => control.authenticator.authenticate(token).await,
                Err(err) => Err(err),
            };
            let principal = match principal {
                Ok(principal) => principal,
                Err(err) => return (Err(err), None),
            };
            let rate = match control.meter.record(&principal, &request.route).await {
                Ok(rate) => rate,
                Err(err) => return (Err(err), None),
            };
            if rate.exceeded {
                let err = ApiError::TooManyRequests {
                    detail: format!("the daily quota of {} requests is used up; it resets at 00:00 UTC", rate.limit),
                    retry_after: std::time::Duration::from_secs(rate.reset_seconds),
                };
                return (Err(err), Some(rate));
            }
            request.principal = Some(principal);
            return (self.handler.handle(id, request).await, Some(rate));
        }
        (self.handler.handle(id, request).await, None)
    }

    /// Body limit and routing; builds the handler's request.
    fn prepare(&self, event: Request, request_id: &str) -> Result<(R, Access, ApiRequest), ApiError> {
        let path = route_path(&event);
        let matched = match_route(self.routes, event.method(), &path)?;
        let limit = matched.route.max_body_bytes.unwrap_or(self.settings.max_body_bytes);
        if event.body().len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        let source_ip = source_ip(&event);
        let mut query: Vec<(String, Vec<String>)> = Vec::new();
        for (name, value) in event.query_string_parameters_ref().into_iter().flat_map(|q| q.iter()) {
            match query.iter_mut().find(|(n, _)| n == name) {
                Some((_, values)) => values.push(value.to_owned()),
                None => query.push((name.to_owned(), vec![value.to_owned()])),
            }
        }
        let (parts, body) = event.into_parts();
        let request = ApiRequest {
            request_id: request_id.to_owned(),
            route: format!("{} {}", matched.route.method, matched.route.path),
            method: parts.method,
            path,
            headers: parts.headers,
            source_ip,
            principal: None,
            params: matched.params,
            query,
            body: body.to_vec(),
        };
        Ok((matched.route.id, matched.route.access, request))
    }

    /// Turns the handler's outcome into the HTTP response.
    fn respond(
        &self,
        outcome: Result<Reply, ApiError>,
        request_headers: &HeaderMap,
        request_id: &str,
        path: &str,
    ) -> (Response<Body>, Option<EventStream>) {
        let mut stream = None;
        let (status, content_type, body, cache, extra) = match outcome {
            Ok(reply) => {
                stream = reply.stream;
                (reply.status, reply.content_type, reply.body, reply.cache, reply.headers)
            }
            Err(err) => {
                if err.status().is_server_error() {
                    tracing::error!(error = %err, "request failed");
                } else {
                    tracing::info!(problem = err.slug(), "request refused");
                }
                let doc = err.to_problem(request_id, path);
                let extra =
                    err.headers().into_iter().filter_map(|(name, value)| HeaderValue::from_str(&value).ok().map(|v| (name, v))).collect();
                (err.status(), PROBLEM_CONTENT_TYPE, Some(doc.to_string().into_bytes()), CachePolicy::NoStore, extra)
            }
        };
        let mut headers = HeaderMap::new();
        security_headers(&mut headers);
        if let Ok(id) = HeaderValue::from_str(request_id) {
            headers.insert("x-request-id", id);
        }
        for (name, value) in extra {
            headers.append(name, value);
        }
        let mut status = status;
        let mut body = body;
        match cache {
            CachePolicy::NoStore => {
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            }
            CachePolicy::Public { max_age } => {
                let value = format!("public, max-age={}", max_age.as_secs());
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("no-cache")));
                if let Some(bytes) = body.as_deref().filter(|_| status == StatusCode::OK) {
                    let etag = weak_etag(bytes);
                    let matches = request_headers
                        .get(header::IF_NONE_MATCH)
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| if_none_match_hits(v, &etag));
                    if let Ok(value) = HeaderValue::from_str(&etag) {
                        headers.insert(header::ETAG, value);
                    }
                    if matches {
                        status = StatusCode::NOT_MODIFIED;
                        body = None;
                    }
                }
            }
        }
        if stream.is_some() {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            // Proxies that buffer by default (nginx) pass the events on as they come.
            headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
        }
        let body = match body {
            None => Body::Empty,
            Some(bytes) => {
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
                encode(bytes, request_headers, &mut headers)
            }
        };
        let mut response = Response::new(body);
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        (response, stream)
    }
}

/// The body of a streaming function's response: a whole answer, or an event stream's chunks.
pub enum StreamingBody {
    Whole(Option<bytes::Bytes>),
    Events(EventStream),
}

impl http_body::Body for StreamingBody {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::task::Poll;
        match self.get_mut() {
            StreamingBody::Whole(body) => Poll::Ready(body.take().map(|bytes| Ok(http_body::Frame::data(bytes)))),
            StreamingBody::Events(stream) => match stream.poll_recv(cx) {
                Poll::Ready(Some(chunk)) => Poll::Ready(Some(Ok(http_body::Frame::data(bytes::Bytes::from(chunk))))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

/// Compresses when worth it and accepted; otherwise sends text.
fn encode(bytes: Vec<u8>, request_headers: &HeaderMap, headers: &mut HeaderMap) -> Body {
    headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    let accepted = request_headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).and_then(encoding::negotiate);
    if let Some(chosen) = accepted.filter(|_| bytes.len() >= MIN_COMPRESS_BYTES)
        && let Ok(compressed) = encoding::compress(&bytes, chosen)
    {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(chosen.token()));
        return Body::Binary(compressed);
    }
    match String::from_utf8(bytes) {
        Ok(text) => Body::Text(text),
        Err(e) => Body::Binary(e.into_bytes()),
    }
}

fn security_headers(headers: &mut HeaderMap) {
    headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=63072000; includeSubDomains"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}

/// The path the client asked for, without an API Gateway stage prefix: routes are stage-agnostic.
fn route_path(event: &Request) -> String {
    let raw = event.raw_http_path();
    let raw = if raw.is_empty() { event.uri().path() } else { raw };
    let stage = match event.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.stage.as_deref(),
        _ => None,
    };
    match stage.filter(|s| *s != "$default") {
        Some(stage) => match raw.strip_prefix(&format!("/{stage}")) {
            Some(rest) if rest.starts_with('/') => rest.to_owned(),
            _ => raw.to_owned(),
        },
        None => raw.to_owned(),
    }
}

fn is_preflight(event: &Request) -> bool {
    event.method() == Method::OPTIONS && event.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// API Gateway's request id (v2 or v1 payload, function URLs), else the Lambda invocation id, else
/// a fresh random one.
fn request_id(event: &Request) -> String {
    let from_gateway = match event.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.request_id.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    };
    from_gateway
        .filter(|id| !id.is_empty() && id.len() <= 128)
        .or_else(|| event.lambda_context_ref().map(|c| c.request_id.clone()).filter(|id| !id.is_empty()))
        .unwrap_or_else(own_request_id)
}

fn source_ip(event: &Request) -> Option<String> {
    match event.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.identity.source_ip.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// A request id of our own (when neither API Gateway nor Lambda gave one): 128 random bits as
/// hex, or — should the OS generator fail — the time and a per-process counter, still unique.
fn own_request_id() -> String {
    bourse_domain::random::hex_id(&bourse_domain::random::OsRandom).unwrap_or_else(|_| {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        format!("t{nanos:x}-{:x}", COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    })
}
