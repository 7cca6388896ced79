//! The request as handlers see it: route, decoded path parameters, query, headers, body, request id
//! and caller address, with parsing helpers that turn bad input into 4xx problems.

use crate::auth::Principal;
use crate::problem::{ApiError, FieldError};
use http::{HeaderMap, Method};
use serde::de::DeserializeOwned;

#[derive(Debug)]
pub struct ApiRequest {
    pub request_id: String,
    pub method: Method,
    pub path: String,
    /// The matched route as `METHOD /template`, e.g. `GET /v1/stocks/{symbol}` (metrics, metering).
    pub route: String,
    pub headers: HeaderMap,
    pub source_ip: Option<String>,
    /// The authenticated caller on bearer routes (set by the pipeline before the handler runs).
    pub principal: Option<Principal>,
    pub(crate) params: Vec<(&'static str, String)>,
    pub(crate) query: Vec<(String, Vec<String>)>,
    pub(crate) body: Vec<u8>,
}

/// A page size as given in `field` (a query parameter or a body member): `default` when absent,
/// else a whole number from 1 to `max`.
pub fn page_limit(field: &str, given: Option<usize>, default: usize, max: usize) -> Result<usize, ApiError> {
    match given {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::field(field, format!("must be a whole number from 1 to {max}"))),
    }
}

impl ApiRequest {
    /// A path parameter declared by the route template. Asking for an undeclared one is a bug in
    /// the handler, reported as an internal error rather than a panic.
    pub fn param(&self, name: &str) -> Result<&str, ApiError> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| ApiError::Internal(format!("route {} has no parameter {name}", self.route)))
    }

    /// The `limit` query parameter, a page size: `default` when absent, else a whole number from 1
    /// to `max` ([`page_limit`]).
    pub fn limit(&self, default: usize, max: usize) -> Result<usize, ApiError> {
        // Text that is not a whole number counts as 0, which no page size allows.
        let given = self.query("limit")?.map(|text| text.parse::<usize>().unwrap_or(0));
        page_limit("query.limit", given, default, max)
    }

    /// The query parameter `name` as a calendar date (`YYYY-MM-DD`, parsed once for every layer by
    /// [`bourse_domain::text::parse_date`]), or `None` when absent.
    pub fn date(&self, name: &str) -> Result<Option<time::Date>, ApiError> {
        self.query(name)?
            .map(|text| bourse_domain::text::parse_date(text).map_err(|e| ApiError::field(format!("query.{name}"), e.to_string())))
            .transpose()
    }

    /// The single value of a query parameter; repeating it is a 400.
    pub fn query(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.query.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice()) {
            None | Some([]) => Ok(None),
            Some([one]) => Ok(Some(one.as_str())),
            Some(_) => Err(ApiError::field(format!("query.{name}"), "must be given once")),
        }
    }

    /// Every query parameter as (name, value) pairs, repeated names included.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query.iter().flat_map(|(n, values)| values.iter().map(move |v| (n.clone(), v.clone()))).collect()
    }

    /// Rejects query parameters the route does not know, so that a typo is an error, not ignored.
    pub fn only_query(&self, known: &[&str]) -> Result<(), ApiError> {
        let unknown: Vec<FieldError> = self
            .query
            .iter()
            .filter(|(n, _)| !known.contains(&n.as_str()))
            .map(|(n, _)| FieldError::new(format!("query.{n}"), "unknown query parameter"))
            .collect();
        if unknown.is_empty() { Ok(()) } else { Err(ApiError::Validation(unknown)) }
    }

    /// The authenticated caller; 401 on a route that is not declared `.bearer()`.
    pub fn principal(&self) -> Result<&Principal, ApiError> {
        self.principal.as_ref().ok_or_else(|| ApiError::Unauthorized("a bearer token is required".into()))
    }

    /// The header's value when it is visible ASCII text (`None` when absent or not).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether the request carries the header at all, readable or not.
    pub fn has_header(&self, name: &str) -> bool {
        self.headers.contains_key(name)
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Parses a JSON body into `T` (which should `deny_unknown_fields`). Wrong content type → 415;
    /// syntax errors → 400 malformed-json with line and column; a body of the wrong shape → 400
    /// validation naming the field path.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let content_type = self.header("content-type").unwrap_or("");
        let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if mime != "application/json" && !(mime.starts_with("application/") && mime.ends_with("+json")) {
            return Err(ApiError::UnsupportedMediaType(format!(
                "expected Content-Type application/json, got {:?}",
                crate::router::truncate(content_type, 100)
            )));
        }
        parse_json(&self.body)
    }
}

/// JSON to `T`, with errors mapped as described on [`ApiRequest::json`].
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::MalformedJson("the body is empty; a JSON document is required".into()));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = match path.as_str() {
                    "." => "body".to_owned(),
                    p if p.starts_with('[') => format!("body{p}"),
                    p => format!("body.{p}"),
                };
                ApiError::Validation(vec![FieldError::new(field, strip_position(&inner.to_string()))])
            }
            _ => ApiError::MalformedJson(inner.to_string()),
        }
    })?;
    de.end().map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    Ok(value)
}

/// serde's data errors end in "at line L column C", which is noise once the field is named.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Order {
        symbol: String,
        legs: Vec<Leg>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Leg {
        quantity: u32,
    }

    fn with_query(pairs: &[(&str, &str)]) -> ApiRequest {
        let mut query: Vec<(String, Vec<String>)> = Vec::new();
        for (name, value) in pairs {
            match query.iter_mut().find(|(n, _)| n == name) {
                Some((_, values)) => values.push((*value).to_owned()),
                None => query.push(((*name).to_owned(), vec![(*value).to_owned()])),
            }
        }
        ApiRequest {
            request_id: "r".into(),
            method: Method::GET,
            path: "/v1/x".into(),
            route: "GET /v1/x".into(),
            headers: HeaderMap::new(),
            source_ip: None,
            principal: None,
            params: Vec::new(),
            query,
            body: Vec::new(),
        }
    }

    fn reason(result: Result<impl std::fmt::Debug, ApiError>) -> (String, String) {
        match result {
            Err(ApiError::Validation(errors)) => (errors[0].field.clone(), errors[0].reason.clone()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn limits_are_whole_numbers_within_the_page_size() {
        assert_eq!(with_query(&[]).limit(50, 100).unwrap(), 50);
        assert_eq!(with_query(&[("limit", "1")]).limit(50, 100).unwrap(), 1);
        assert_eq!(with_query(&[("limit", "100")]).limit(50, 100).unwrap(), 100);
        for bad in ["0", "101", "-1", "ten", "", "1.5"] {
            let expected = ("query.limit".to_owned(), "must be a whole number from 1 to 100".to_owned());
            assert_eq!(reason(with_query(&[("limit", bad)]).limit(50, 100)), expected, "{bad}");
        }
        assert_eq!(reason(with_query(&[("limit", "1"), ("limit", "2")]).limit(50, 100)).1, "must be given once");
        assert_eq!(page_limit("body.limit", Some(7), 50, 100).unwrap(), 7);
        assert_eq!(reason(page_limit("body.limit", Some(0), 50, 100)).0, "body.limit");
    }

    #[test]
    fn dates_are_parsed_by_the_domain() {
        assert_eq!(with_query(&[]).date("from").unwrap(), None);
        assert_eq!(with_query(&[("from", "2026-11-25")]).date("from").unwrap().unwrap().to_string(), "2026-11-25");
        let expected = ("query.to".to_owned(), "expected a date as YYYY-MM-DD".to_owned());
        assert_eq!(reason(with_query(&[("to", "25/11/2026")]).date("to")), expected);
    }

    #[test]
    fn syntax_errors_are_malformed_json_with_position() {
        match parse_json::<Order>(br#"{"symbol": "#) {
            Err(ApiError::MalformedJson(detail)) => assert!(detail.contains("line 1"), "{detail}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse_json::<Order>(b"  "), Err(ApiError::MalformedJson(_))));
        assert!(matches!(parse_json::<Order>(br#"{"symbol":"A","legs":[]} x"#), Err(ApiError::MalformedJson(_))));
    }

    #[test]
    fn shape_errors_name_the_field() {
        match parse_json::<Order>(br#"{"symbol":"A","legs":[{"quantity":-1}]}"#) {
            Err(ApiError::Validation(errors)) => assert_eq!(errors[0].field, "body.legs[0].quantity"),
            other => panic!("{other:?}"),
        }
        match parse_json::<Order>(br#"{"symbol":"A","legs":[],"extra":1}"#) {
            Err(ApiError::Validation(errors)) => assert!(errors[0].reason.contains("unknown field `extra`")),
            other => panic!("{other:?}"),
        }
        match parse_json::<Order>(br#"[1]"#) {
            Err(ApiError::Validation(errors)) => assert_eq!(errors[0].field, "body[0]"),
            other => panic!("{other:?}"),
        }
    }
}
