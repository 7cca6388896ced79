//! Checks JSON answers against the response schemas of `openapi.yaml` (feature `schema-check`,
//! for tests): each function's tests serialise a sample of every response type and check it here,
//! so a field the document does not declare, a missing required one, a wrong type or a value
//! outside an enum fails the build's tests.
//!
//! A structural validator for the subset of JSON Schema the document uses: `$ref` (local),
//! `type` (one or a list, `null` included), `properties`, `required`, `additionalProperties`,
//! `items`, `enum`, `const`, `allOf`, `oneOf`, `anyOf`, `pattern`, `minimum`, `maximum`,
//! `minItems`, `maxItems`. Objects are closed: a member no schema in force declares is an error
//! unless `additionalProperties` allows it (as `unevaluatedProperties: false` would say), so the
//! answers carry exactly the documented fields.

use serde_json::Value;
use std::collections::BTreeSet;

/// The OpenAPI document, parsed.
pub struct OpenApi {
    doc: Value,
}

/// One operation's documented JSON answer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Answer {
    pub operation_id: String,
    pub status: String,
    pub tags: Vec<String>,
}

impl OpenApi {
    /// The document at `path` (YAML).
    pub fn load(path: impl AsRef<std::path::Path>) -> Self {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        Self::parse(&text)
    }

    /// The workspace's `openapi.yaml`, found from a crate's manifest directory.
    pub fn of_workspace(manifest_dir: &str) -> Self {
        let mut dir = std::path::PathBuf::from(manifest_dir);
        loop {
            let candidate = dir.join("openapi.yaml");
            if candidate.exists() {
                return Self::load(candidate);
            }
            assert!(dir.pop(), "no openapi.yaml above {manifest_dir}");
        }
    }

    pub fn parse(yaml: &str) -> Self {
        let doc: Value = serde_norway::from_str(yaml).expect("the OpenAPI document is YAML");
        OpenApi { doc }
    }

    /// Every operation's answers with a JSON body (status and operation id), for coverage checks.
    pub fn json_answers(&self) -> BTreeSet<Answer> {
        let mut out = BTreeSet::new();
        for (_, item) in self.doc["paths"].as_object().into_iter().flatten() {
            for (_, op) in item.as_object().into_iter().flatten() {
                let Some(id) = op["operationId"].as_str() else { continue };
                let tags: Vec<String> = op["tags"].as_array().into_iter().flatten().filter_map(|t| t.as_str().map(str::to_owned)).collect();
                for (status, response) in op["responses"].as_object().into_iter().flatten() {
                    if self.resolve(response)["content"]["application/json"].is_object() {
                        out.insert(Answer { operation_id: id.to_owned(), status: status.clone(), tags: tags.clone() });
                    }
                }
            }
        }
        out
    }

    /// The schema of `operation_id`'s `status` answer (`application/json`, or
    /// `application/problem+json` for problems).
    pub fn response_schema(&self, operation_id: &str, status: u16) -> &Value {
        for (_, item) in self.doc["paths"].as_object().into_iter().flatten() {
            for (_, op) in item.as_object().into_iter().flatten() {
                if op["operationId"].as_str() != Some(operation_id) {
                    continue;
                }
                let response = self.resolve(&op["responses"][status.to_string()]);
                let content = &response["content"];
                let schema = if content["application/json"].is_object() {
                    &content["application/json"]["schema"]
                } else {
                    &content["application/problem+json"]["schema"]
                };
                assert!(schema.is_object(), "{operation_id} documents no JSON answer for {status}");
                return schema;
            }
        }
        panic!("no operation {operation_id} in the document")
    }

    /// A named schema of `components.schemas`.
    pub fn schema(&self, name: &str) -> &Value {
        let schema = &self.doc["components"]["schemas"][name];
        assert!(schema.is_object(), "no schema {name}");
        schema
    }

    /// Every way `value` departs from `operation_id`'s `status` answer; empty when it conforms.
    pub fn check_answer(&self, operation_id: &str, status: u16, value: &Value) -> Vec<String> {
        self.check(value, self.response_schema(operation_id, status))
    }

    /// Every way `value` departs from `schema`; empty when it conforms.
    pub fn check(&self, value: &Value, schema: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        self.closed(value, schema, "$", &mut errors);
        errors
    }

    /// Panics with every departure of `value` from `operation_id`'s `status` answer.
    pub fn assert_answer(&self, operation_id: &str, status: u16, value: &Value) {
        let errors = self.check_answer(operation_id, status, value);
        assert!(errors.is_empty(), "{operation_id} {status} departs from openapi.yaml:\n  {}\nanswer: {value}", errors.join("\n  "));
    }

    /// Panics with every departure of every sample `(operation, status, answer)` from its schema.
    pub fn assert_samples(&self, samples: &[(&str, u16, Value)]) {
        let failures: Vec<String> = samples
            .iter()
            .flat_map(|(operation, status, answer)| {
                self.check_answer(operation, *status, answer).into_iter().map(move |error| format!("{operation} {status}: {error}"))
            })
            .collect();
        assert!(failures.is_empty(), "answers departing from openapi.yaml:\n{}", failures.join("\n"));
    }

    /// Panics unless every JSON answer documented under one of `tags` has a sample, and every
    /// sample is a documented answer.
    pub fn assert_samples_cover(&self, tags: &[&str], samples: &[(&str, u16, Value)]) {
        let documented: BTreeSet<(String, String)> = self
            .json_answers()
            .into_iter()
            .filter(|answer| answer.tags.iter().any(|tag| tags.contains(&tag.as_str())))
            .map(|answer| (answer.operation_id, answer.status))
            .collect();
        let sampled: BTreeSet<(String, String)> =
            samples.iter().map(|(operation, status, _)| ((*operation).to_owned(), status.to_string())).collect();
        assert_eq!(documented, sampled, "documented answers (left) and samples (right) differ");
    }

    fn resolve<'a>(&'a self, mut schema: &'a Value) -> &'a Value {
        while let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("only local references: {reference}"));
            schema = self.doc.pointer(pointer).unwrap_or_else(|| panic!("dangling reference {reference}"));
        }
        schema
    }

    /// Checks `value` at a value position (the root, a member, an item): besides the schema's
    /// own rules, no member may be left undeclared.
    fn closed(&self, value: &Value, schema: &Value, path: &str, errors: &mut Vec<String>) {
        let (declared, open) = self.matches(value, schema, path, errors);
        if let (Value::Object(members), false) = (value, open) {
            for name in members.keys().filter(|name| !declared.contains(*name)) {
                errors.push(format!("{path}.{name}: not in the schema"));
            }
        }
    }

    /// Checks `value` against `schema`; returns the members the schema declares and whether it
    /// leaves the object open (`additionalProperties` true or a schema, or no `properties` at
    /// all: a free-form object).
    fn matches(&self, value: &Value, schema: &Value, path: &str, errors: &mut Vec<String>) -> (BTreeSet<String>, bool) {
        let schema = self.resolve(schema);
        let mut declared = BTreeSet::new();
        let mut open = false;
        let mut constrains_members = false;
        for sub in schema["allOf"].as_array().into_iter().flatten() {
            let (names, sub_open) = self.matches(value, sub, path, errors);
            declared.extend(names);
            open |= sub_open;
            constrains_members = true;
        }
        for (keyword, exactly_one) in [("oneOf", true), ("anyOf", false)] {
            let Some(branches) = schema[keyword].as_array() else { continue };
            let mut fitting = Vec::new();
            for branch in branches {
                let mut branch_errors = Vec::new();
                let (names, branch_open) = self.matches(value, branch, path, &mut branch_errors);
                if let (Value::Object(members), false) = (value, branch_open) {
                    let strays = members.keys().filter(|name| !names.contains(*name) && !declared.contains(*name));
                    branch_errors.extend(strays.map(|name| format!("{path}.{name}: not in the schema")));
                }
                if branch_errors.is_empty() {
                    fitting.push((names, branch_open));
                }
            }
            if fitting.is_empty() || (exactly_one && fitting.len() > 1) {
                errors.push(format!("{path}: matches {} of the {keyword} branches", fitting.len()));
                // Already reported: its members are not listed again as undeclared.
                open |= fitting.is_empty();
            }
            for (names, branch_open) in fitting {
                declared.extend(names);
                open |= branch_open;
            }
            constrains_members = true;
        }
        if let Some(kinds) = schema.get("type") {
            let kinds: Vec<&str> = match kinds {
                Value::String(kind) => vec![kind.as_str()],
                Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            if !kinds.iter().any(|kind| is_a(value, kind)) {
                errors.push(format!("{path}: {} is not of type {}", short(value), kinds.join(" or ")));
                return (declared, true);
            }
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            errors.push(format!("{path}: {} is not one of {}", short(value), Value::Array(allowed.clone())));
        }
        if let Some(constant) = schema.get("const")
            && constant != value
        {
            errors.push(format!("{path}: {} is not {constant}", short(value)));
        }
        match value {
            Value::Object(members) => {
                let properties = schema["properties"].as_object();
                for (name, sub) in properties.into_iter().flatten() {
                    declared.insert(name.clone());
                    if let Some(member) = members.get(name) {
                        self.closed(member, sub, &format!("{path}.{name}"), errors);
                    }
                }
                for name in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                    if !members.contains_key(name) {
                        errors.push(format!("{path}.{name}: required, missing"));
                    }
                }
                match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        let own: BTreeSet<&String> = properties.into_iter().flatten().map(|(name, _)| name).collect();
                        for name in members.keys().filter(|name| !own.contains(name)) {
                            errors.push(format!("{path}.{name}: additionalProperties is false"));
                        }
                    }
                    Some(Value::Bool(true)) => open = true,
                    Some(extra) => {
                        for (name, member) in members.iter().filter(|(name, _)| !properties.is_some_and(|p| p.contains_key(*name))) {
                            self.closed(member, extra, &format!("{path}.{name}"), errors);
                            declared.insert(name.clone());
                        }
                    }
                    None if properties.is_none() && !constrains_members && schema.get("required").is_none() => open = true,
                    None => {}
                }
            }
            Value::Array(items) => {
                if let Some(sub) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.closed(item, sub, &format!("{path}[{i}]"), errors);
                    }
                }
                if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                    && (items.len() as u64) < min
                {
                    errors.push(format!("{path}: fewer than {min} items"));
                }
                if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                    && items.len() as u64 > max
                {
                    errors.push(format!("{path}: more than {max} items"));
                }
            }
            Value::String(text) => {
                if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
                    && let Ok(regex) = regex_lite::Regex::new(pattern)
                    && !regex.is_match(text)
                {
                    errors.push(format!("{path}: {text:?} does not match {pattern}"));
                }
            }
            Value::Number(number) => {
                let n = number.as_f64().unwrap_or(f64::NAN);
                if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
                    && n < min
                {
                    errors.push(format!("{path}: {n} is below {min}"));
                }
                if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
                    && n > max
                {
                    errors.push(format!("{path}: {n} is above {max}"));
                }
            }
            _ => {}
        }
        (declared, open)
    }
}

fn is_a(value: &Value, kind: &str) -> bool {
    match kind {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 { format!("{}…", text.chars().take(60).collect::<String>()) } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DOC: &str = r##"
openapi: 3.1.0
paths:
  /things:
    get:
      operationId: listThings
      tags: [things]
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                required: [items]
                properties:
                  items: { type: array, items: { $ref: "#/components/schemas/Thing" } }
                  next_cursor: { type: string }
components:
  schemas:
    Thing:
      type: object
      required: [id, created_at, kind]
      properties:
        id: { type: string, pattern: "^[0-9a-f]{4}$" }
        created_at: { type: string }
        kind: { type: string, enum: [a, b] }
        note: { type: [string, "null"] }
        extra: { type: object, additionalProperties: { type: integer } }
        either: { oneOf: [{ type: object, required: [x], properties: { x: { type: integer } } }, { type: "null" }] }
"##;

    fn thing() -> Value {
        json!({"id": "00ff", "created_at": "t", "kind": "a", "note": null})
    }

    #[test]
    fn a_conforming_answer_passes() {
        let api = OpenApi::parse(DOC);
        let mut t = thing();
        t["extra"] = json!({"any": 1});
        t["either"] = json!({"x": 2});
        assert_eq!(api.check_answer("listThings", 200, &json!({"items": [t, thing()], "next_cursor": "0a"})), Vec::<String>::new());
        assert_eq!(api.json_answers().len(), 1);
    }

    #[test]
    fn departures_are_named() {
        let api = OpenApi::parse(DOC);
        let check = |item: Value| api.check_answer("listThings", 200, &json!({"items": [item]}));
        let mut camel = thing();
        camel.as_object_mut().unwrap().remove("created_at");
        camel["createdAt"] = json!("t");
        let errors = check(camel);
        assert!(errors.contains(&"$.items[0].created_at: required, missing".to_string()), "{errors:?}");
        assert!(errors.contains(&"$.items[0].createdAt: not in the schema".to_string()), "{errors:?}");
        assert_eq!(check(json!({"id": "00ff", "created_at": 1, "kind": "a"})), ["$.items[0].created_at: 1 is not of type string"]);
        assert_eq!(check(json!({"id": "00ff", "created_at": "t", "kind": "c"})), [r#"$.items[0].kind: "c" is not one of ["a","b"]"#]);
        assert_eq!(check(json!({"id": "zz", "created_at": "t", "kind": "a"})).len(), 1);
        let mut bad_branch = thing();
        bad_branch["either"] = json!({"x": 1, "y": 2});
        assert_eq!(check(bad_branch), ["$.items[0].either: matches 0 of the oneOf branches"]);
        let errors = api.check_answer("listThings", 200, &json!({"items": [], "next_cursor": null}));
        assert_eq!(errors, ["$.next_cursor: null is not of type string"]);
    }

    /// The answers this crate writes for every function: health and problems.
    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn health_and_problems_match_the_document() {
        use crate::{ApiError, DependencyCheck, FieldError, health_reply};
        let api = OpenApi::of_workspace(env!("CARGO_MANIFEST_DIR"));
        let checks = vec![
            DependencyCheck::critical("dynamodb", async { Ok(()) }),
            DependencyCheck::optional("cache", async { Err("connection refused".to_string()) }),
        ];
        let reply = health_reply("auth", "1.0.0", checks, std::time::Duration::from_millis(50)).await.unwrap();
        let body: Value = serde_json::from_slice(reply.body.as_deref().unwrap()).unwrap();
        for operation in ["authHealth", "portfolioHealth", "screenerHealth", "assistantHealth"] {
            api.assert_answer(operation, 200, &body);
        }
        let problems = [
            (
                ApiError::Validation(vec![FieldError::new("query.limit", "1 to 100"), FieldError::cell(3, "Quantity", "not a number")]),
                "Problem",
            ),
            (ApiError::NotFound("no such thing".into()), "Problem"),
            (ApiError::Internal("hidden".into()), "Problem"),
            (
                ApiError::TooManyRequests { detail: "slow down".into(), retry_after: std::time::Duration::from_secs(3) },
                "TooManyRequestsProblem",
            ),
        ];
        for (error, schema) in problems {
            let doc = error.to_problem("req-1", "/v1/me");
            let errors = api.check(&doc, api.schema(schema));
            assert!(errors.is_empty(), "{schema}: {errors:?} in {doc}");
        }
    }
}
