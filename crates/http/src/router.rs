//! Table-driven routing: each function declares its routes once as a static table; matching gives
//! the route and its path parameters, or 404 / 405 (with `Allow`). The same table feeds the OpenAPI
//! consistency test and the per-route metrics.

use crate::auth::Access;
use crate::problem::ApiError;
use http::Method;

/// One route: method, path template (`/v1/stocks/{symbol}`), the function's own route id, and who
/// may call it. `get`/`post`/… make public routes; `bearer_get`/`bearer_post`/… require an access
/// token (and meter the request).
#[derive(Debug, Clone)]
pub struct Route<R: 'static> {
    pub method: Method,
    pub path: &'static str,
    pub id: R,
    pub access: Access,
    /// A body limit of its own (an upload), instead of the function's.
    pub max_body_bytes: Option<usize>,
}

impl<R> Route<R> {
    pub const fn get(path: &'static str, id: R) -> Self {
        Route { method: Method::GET, path, id, access: Access::Public, max_body_bytes: None }
    }

    pub const fn post(path: &'static str, id: R) -> Self {
        Route { method: Method::POST, path, id, access: Access::Public, max_body_bytes: None }
    }

    pub const fn put(path: &'static str, id: R) -> Self {
        Route { method: Method::PUT, path, id, access: Access::Public, max_body_bytes: None }
    }

    pub const fn patch(path: &'static str, id: R) -> Self {
        Route { method: Method::PATCH, path, id, access: Access::Public, max_body_bytes: None }
    }

    pub const fn delete(path: &'static str, id: R) -> Self {
        Route { method: Method::DELETE, path, id, access: Access::Public, max_body_bytes: None }
    }

    // Bearer routes: a valid access token is required, the handler receives the
    // [`crate::Principal`], and the request is metered against the caller's plan.

    pub const fn bearer_get(path: &'static str, id: R) -> Self {
        Route { method: Method::GET, path, id, access: Access::Bearer, max_body_bytes: None }
    }

    pub const fn bearer_post(path: &'static str, id: R) -> Self {
        Route { method: Method::POST, path, id, access: Access::Bearer, max_body_bytes: None }
    }

    pub const fn bearer_put(path: &'static str, id: R) -> Self {
        Route { method: Method::PUT, path, id, access: Access::Bearer, max_body_bytes: None }
    }

    pub const fn bearer_patch(path: &'static str, id: R) -> Self {
        Route { method: Method::PATCH, path, id, access: Access::Bearer, max_body_bytes: None }
    }

    pub const fn bearer_delete(path: &'static str, id: R) -> Self {
        Route { method: Method::DELETE, path, id, access: Access::Bearer, max_body_bytes: None }
    }

    /// This route takes bodies up to `bytes` (e.g. a file upload) instead of the function's limit.
    pub const fn with_body_limit(mut self, bytes: usize) -> Self {
        self.max_body_bytes = Some(bytes);
        self
    }
}

/// A matched route with its decoded path parameters.
#[derive(Debug)]
pub struct Matched<R: 'static> {
    pub route: &'static Route<R>,
    pub params: Vec<(&'static str, String)>,
}

/// Finds the route for `method` and `path`. A path that matches under other methods only is 405.
pub fn match_route<R: Copy>(routes: &'static [Route<R>], method: &Method, path: &str) -> Result<Matched<R>, ApiError> {
    let mut allowed = Vec::new();
    for route in routes {
        let Some(params) = match_path(route.path, path) else { continue };
        if route.method == *method {
            return Ok(Matched { route, params });
        }
        allowed.push(route.method.clone());
    }
    if allowed.is_empty() {
        Err(ApiError::NotFound(format!("no resource at {}", truncate(path, 200))))
    } else {
        Err(ApiError::MethodNotAllowed { allow: allowed })
    }
}

/// The methods a path answers to (for CORS preflight and 405).
pub fn methods_for<R>(routes: &'static [Route<R>], path: &str) -> Vec<Method> {
    routes.iter().filter(|r| match_path(r.path, path).is_some()).map(|r| r.method.clone()).collect()
}

fn match_path(template: &'static str, path: &str) -> Option<Vec<(&'static str, String)>> {
    let mut params = Vec::new();
    let mut want = template.split('/');
    let mut got = path.split('/');
    loop {
        match (want.next(), got.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(g)) => {
                if let Some(name) = w.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
                    let value = percent_decode(g)?;
                    if value.is_empty() {
                        return None;
                    }
                    params.push((name, value));
                } else if w != g {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// Decodes `%XX` escapes; `None` for a malformed escape or non-UTF-8 result (the route then
/// does not match and the client gets a 404 rather than a mangled parameter).
fn percent_decode(segment: &str) -> Option<String> {
    if !segment.contains('%') {
        return Some(segment.to_owned());
    }
    bourse_config::percent_decode(segment)
}

pub(crate) fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum R {
        List,
        Detail,
        Create,
    }

    static ROUTES: &[Route<R>] =
        &[Route::get("/v1/stocks", R::List), Route::post("/v1/stocks", R::Create), Route::get("/v1/stocks/{symbol}", R::Detail)];

    #[test]
    fn matches_templates_and_decodes_parameters() {
        let m = match_route(ROUTES, &Method::GET, "/v1/stocks/BRK%2EB").unwrap();
        assert_eq!(m.route.id, R::Detail);
        assert_eq!(m.params, vec![("symbol", "BRK.B".to_string())]);
        assert_eq!(match_route(ROUTES, &Method::POST, "/v1/stocks").unwrap().route.id, R::Create);
    }

    #[test]
    fn unknown_path_is_404_and_wrong_method_is_405_with_allow() {
        assert!(matches!(match_route(ROUTES, &Method::GET, "/v1/nope"), Err(ApiError::NotFound(_))));
        assert!(matches!(match_route(ROUTES, &Method::GET, "/v1/stocks/"), Err(ApiError::NotFound(_))));
        assert!(matches!(match_route(ROUTES, &Method::GET, "/v1/stocks/a/b"), Err(ApiError::NotFound(_))));
        match match_route(ROUTES, &Method::DELETE, "/v1/stocks") {
            Err(ApiError::MethodNotAllowed { allow }) => assert_eq!(allow, vec![Method::GET, Method::POST]),
            other => panic!("expected 405, got {other:?}"),
        }
    }

    #[test]
    fn malformed_escapes_do_not_match() {
        assert!(matches!(match_route(ROUTES, &Method::GET, "/v1/stocks/%zz"), Err(ApiError::NotFound(_))));
        assert!(matches!(match_route(ROUTES, &Method::GET, "/v1/stocks/%ff"), Err(ApiError::NotFound(_))));
        assert!(matches!(match_route(ROUTES, &Method::GET, "/v1/stocks/%4"), Err(ApiError::NotFound(_))));
    }
}
