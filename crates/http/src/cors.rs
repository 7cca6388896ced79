//! CORS for function URLs and the local stack. Behind API Gateway the HTTP API answers preflight
//! itself from `template.yaml`'s `CorsConfiguration`; these constants are the same values, and a
//! test checks the template against them.

use http::{HeaderMap, HeaderValue, header};

pub const ALLOW_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
pub const ALLOW_HEADERS: &[&str] = &["authorization", "content-type", "idempotency-key", "if-none-match", "x-request-id"];
pub const EXPOSE_HEADERS: &[&str] = &[
    "etag",
    "x-request-id",
    "retry-after",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "content-encoding",
    "www-authenticate",
    "link",
];
pub const MAX_AGE_SECONDS: u32 = 600;

#[derive(Debug, Clone, Default)]
pub struct Cors {
    allowed_origins: Vec<String>,
}

impl Cors {
    /// `*` in the list allows any origin (credentials are never allowed, so this is safe for a
    /// bearer-token API).
    pub fn new(allowed_origins: Vec<String>) -> Self {
        Cors { allowed_origins }
    }

    fn allowed<'a>(&self, headers: &'a HeaderMap) -> Option<&'a HeaderValue> {
        let origin = headers.get(header::ORIGIN)?;
        let text = origin.to_str().ok()?;
        self.allowed_origins.iter().any(|o| o == "*" || o.eq_ignore_ascii_case(text)).then_some(origin)
    }

    /// Headers for an actual (non-preflight) response.
    pub fn apply(&self, request: &HeaderMap, response: &mut HeaderMap) {
        response.append(header::VARY, HeaderValue::from_static("origin"));
        if let Some(origin) = self.allowed(request) {
            response.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            response.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSE_HEADERS_VALUE));
        }
    }

    /// Headers for a preflight answer; none when the origin is not allowed, so the browser refuses.
    pub fn preflight(&self, request: &HeaderMap, response: &mut HeaderMap) {
        response.append(header::VARY, HeaderValue::from_static("origin"));
        if let Some(origin) = self.allowed(request) {
            response.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            response.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOW_METHODS_VALUE));
            response.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOW_HEADERS_VALUE));
            response.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(MAX_AGE_SECONDS));
        }
    }
}

const ALLOW_METHODS_VALUE: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
const ALLOW_HEADERS_VALUE: &str = "authorization, content-type, idempotency-key, if-none-match, x-request-id";
const EXPOSE_HEADERS_VALUE: &str =
    "etag, x-request-id, retry-after, ratelimit-limit, ratelimit-remaining, ratelimit-reset, content-encoding, www-authenticate, link";

#[cfg(test)]
mod tests {
    use super::*;

    /// What a browser reads from the answers: every method and request header the API takes is
    /// granted by the preflight, and every response header a client needs is exposed.
    #[test]
    fn answers_grant_every_method_and_header_the_api_uses() {
        let cors = Cors::new(vec!["*".into()]);
        let mut request = HeaderMap::new();
        request.insert(header::ORIGIN, HeaderValue::from_static("https://any.example"));
        let (mut preflight, mut actual) = (HeaderMap::new(), HeaderMap::new());
        cors.preflight(&request, &mut preflight);
        cors.apply(&request, &mut actual);
        let listed = |map: &HeaderMap, name: header::HeaderName| -> Vec<String> {
            map[name].to_str().unwrap().split(',').map(|v| v.trim().to_ascii_lowercase()).collect()
        };
        for method in ["get", "post", "patch", "delete", "options"] {
            assert!(listed(&preflight, header::ACCESS_CONTROL_ALLOW_METHODS).contains(&method.to_owned()), "{method}");
        }
        for name in ["authorization", "content-type", "idempotency-key", "if-none-match"] {
            assert!(listed(&preflight, header::ACCESS_CONTROL_ALLOW_HEADERS).contains(&name.to_owned()), "{name}");
        }
        for name in ["etag", "retry-after", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "x-request-id", "link"] {
            assert!(listed(&actual, header::ACCESS_CONTROL_EXPOSE_HEADERS).contains(&name.to_owned()), "{name}");
        }
        // The same lists the template's CorsConfiguration is checked against.
        assert_eq!(
            listed(&preflight, header::ACCESS_CONTROL_ALLOW_METHODS),
            ALLOW_METHODS.iter().map(|m| m.to_ascii_lowercase()).collect::<Vec<_>>()
        );
        assert_eq!(listed(&actual, header::ACCESS_CONTROL_EXPOSE_HEADERS), EXPOSE_HEADERS.to_vec());
        assert_eq!(listed(&preflight, header::ACCESS_CONTROL_ALLOW_HEADERS), ALLOW_HEADERS.to_vec());
    }

    #[test]
    fn only_listed_origins_get_cors_headers() {
        let cors = Cors::new(vec!["https://app.example".into()]);
        let mut req = HeaderMap::new();
        req.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        let mut resp = HeaderMap::new();
        cors.preflight(&req, &mut resp);
        assert!(resp.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        req.insert(header::ORIGIN, HeaderValue::from_static("https://app.example"));
        cors.preflight(&req, &mut resp);
        assert_eq!(resp[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example");
        assert_eq!(resp[header::ACCESS_CONTROL_MAX_AGE], "600");
    }
}
