//! Reading `template.yaml`: the one source of truth for tables, queues and KMS keys. The local
//! stack creates its resources from what is read here, and tests check the code against it.

use serde_norway::Value;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("template is not valid YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
    #[error("resource {resource}: {reason}")]
    Shape { resource: String, reason: String },
}

/// The parsed template, with CloudFormation's short-form tags kept as tagged values.
pub struct Template {
    root: Value,
    stack_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySchema {
    pub hash: String,
    pub range: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub name: String,
    pub keys: KeySchema,
    pub projection: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    pub logical_id: String,
    pub name: String,
    /// (attribute name, type) for every key attribute.
    pub attributes: Vec<(String, String)>,
    pub keys: KeySchema,
    pub indexes: Vec<Index>,
    pub ttl_attribute: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDef {
    pub logical_id: String,
    pub name: String,
    pub visibility_timeout: Option<u64>,
    pub retention: Option<u64>,
    /// (logical id of the DLQ, maxReceiveCount)
    pub redrive: Option<(String, u64)>,
}

/// A symmetric KMS key of the template, named by its alias (the local stack creates the key on the
/// stand-in under the same alias, so a function's setting can name it before it exists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsKeyDef {
    /// The `AWS::KMS::Key`'s logical id.
    pub logical_id: String,
    /// `alias/...`, with the stack name substituted.
    pub alias: String,
    pub description: Option<String>,
}

/// An HTTP API route bound to a function: (function logical id, method, path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRoute {
    pub function: String,
    pub method: String,
    pub path: String,
}

impl Template {
    pub fn load(path: &Path, stack_name: &str) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read { path: path.display().to_string(), source })?;
        Self::parse(&text, stack_name)
    }

    pub fn parse(text: &str, stack_name: &str) -> Result<Self, TemplateError> {
        Ok(Template { root: serde_norway::from_str(text)?, stack_name: stack_name.to_owned() })
    }

    fn resources(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.root
            .get("Resources")
            .and_then(Value::as_mapping)
            .into_iter()
            .flat_map(|m| m.iter())
            .filter_map(|(k, v)| Some((k.as_str()?, v)))
    }

    fn of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        self.resources().filter(move |(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
    }

    /// A literal string or a `!Sub` whose only variable is the stack name.
    fn name(&self, resource: &str, value: Option<&Value>) -> Result<String, TemplateError> {
        let shape = |reason: &str| TemplateError::Shape { resource: resource.to_owned(), reason: reason.to_owned() };
        match value {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Tagged(tagged)) if tagged.tag == "Sub" => {
                let text = tagged.value.as_str().ok_or_else(|| shape("!Sub of a non-string"))?;
                let resolved = text.replace("${AWS::StackName}", &self.stack_name);
                if resolved.contains("${") {
                    return Err(shape("its name uses a substitution other than ${AWS::StackName}"));
                }
                Ok(resolved)
            }
            _ => Err(shape("needs a literal name or !Sub \"${AWS::StackName}-...\"")),
        }
    }

    pub fn tables(&self) -> Result<Vec<TableDef>, TemplateError> {
        self.of_type("AWS::DynamoDB::Table").map(|(id, r)| self.table(id, r)).collect()
    }

    fn table(&self, id: &str, resource: &Value) -> Result<TableDef, TemplateError> {
        let shape = |reason: &str| TemplateError::Shape { resource: id.to_owned(), reason: reason.to_owned() };
        let props = resource.get("Properties").ok_or_else(|| shape("no Properties"))?;
        let attributes = props
            .get("AttributeDefinitions")
            .and_then(Value::as_sequence)
            .ok_or_else(|| shape("no AttributeDefinitions"))?
            .iter()
            .map(|a| {
                let name = a.get("AttributeName").and_then(Value::as_str);
                let kind = a.get("AttributeType").and_then(Value::as_str);
                match (name, kind) {
                    (Some(n), Some(k)) => Ok((n.to_owned(), k.to_owned())),
                    _ => Err(shape("attribute definition without name or type")),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let keys = key_schema(props.get("KeySchema")).ok_or_else(|| shape("bad KeySchema"))?;
        let indexes = props
            .get("GlobalSecondaryIndexes")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .map(|gsi| {
                let name = gsi.get("IndexName").and_then(Value::as_str).ok_or_else(|| shape("index without IndexName"))?;
                let keys = key_schema(gsi.get("KeySchema")).ok_or_else(|| shape("index with bad KeySchema"))?;
                let projection =
                    gsi.get("Projection").and_then(|p| p.get("ProjectionType")).and_then(Value::as_str).unwrap_or("ALL").to_owned();
                Ok(Index { name: name.to_owned(), keys, projection })
            })
            .collect::<Result<Vec<_>, TemplateError>>()?;
        let ttl_attribute = props
            .get("TimeToLiveSpecification")
            .filter(|t| t.get("Enabled").and_then(Value::as_bool) == Some(true))
            .and_then(|t| t.get("AttributeName"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(TableDef { logical_id: id.to_owned(), name: self.name(id, props.get("TableName"))?, attributes, keys, indexes, ttl_attribute })
    }

    pub fn queues(&self) -> Result<Vec<QueueDef>, TemplateError> {
        self.of_type("AWS::SQS::Queue")
            .map(|(id, r)| {
                let props = r.get("Properties");
                let number = |key: &str| props.and_then(|p| p.get(key)).and_then(Value::as_u64);
                let redrive = props.and_then(|p| p.get("RedrivePolicy")).map(|policy| {
                    let target = match policy.get("deadLetterTargetArn") {
                        // !GetAtt EnrichDLQ.Arn
                        Some(Value::Tagged(t)) if t.tag == "GetAtt" => {
                            t.value.as_str().and_then(|s| s.strip_suffix(".Arn")).map(str::to_owned)
                        }
                        _ => None,
                    };
                    let count = policy.get("maxReceiveCount").and_then(Value::as_u64);
                    match (target, count) {
                        (Some(t), Some(c)) => Ok((t, c)),
                        _ => Err(TemplateError::Shape {
                            resource: id.to_owned(),
                            reason: "RedrivePolicy needs !GetAtt <Queue>.Arn and maxReceiveCount".into(),
                        }),
                    }
                });
                Ok(QueueDef {
                    logical_id: id.to_owned(),
                    name: self.name(id, props.and_then(|p| p.get("QueueName")))?,
                    visibility_timeout: number("VisibilityTimeout"),
                    retention: number("MessageRetentionPeriod"),
                    redrive: redrive.transpose()?,
                })
            })
            .collect()
    }

    /// Every `AWS::KMS::Alias` and the key it names. A key without an alias is an error: the local
    /// stack could not name it before creating it.
    pub fn kms_keys(&self) -> Result<Vec<KmsKeyDef>, TemplateError> {
        let mut keys = Vec::new();
        for (id, alias) in self.of_type("AWS::KMS::Alias") {
            let shape = |reason: &str| TemplateError::Shape { resource: id.to_owned(), reason: reason.to_owned() };
            let props = alias.get("Properties");
            let name = self.name(id, props.and_then(|p| p.get("AliasName")))?;
            if !name.starts_with("alias/") {
                return Err(shape("AliasName must begin with alias/"));
            }
            let target = match props.and_then(|p| p.get("TargetKeyId")) {
                Some(Value::Tagged(t)) if t.tag == "Ref" => t.value.as_str().map(str::to_owned),
                _ => None,
            }
            .ok_or_else(|| shape("TargetKeyId needs !Ref <a key of this template>"))?;
            let key = self
                .of_type("AWS::KMS::Key")
                .find(|(key_id, _)| *key_id == target)
                .map(|(_, key)| key)
                .ok_or_else(|| shape("TargetKeyId names no AWS::KMS::Key of this template"))?;
            let key_props = key.get("Properties");
            let text = |k: &str| key_props.and_then(|p| p.get(k)).and_then(Value::as_str);
            if text("KeySpec").is_some_and(|s| s != "SYMMETRIC_DEFAULT") || text("KeyUsage").is_some_and(|u| u != "ENCRYPT_DECRYPT") {
                return Err(shape("the local stack makes symmetric ENCRYPT_DECRYPT keys only"));
            }
            keys.push(KmsKeyDef { logical_id: target, alias: name, description: text("Description").map(str::to_owned) });
        }
        for (id, _) in self.of_type("AWS::KMS::Key") {
            if !keys.iter().any(|k| k.logical_id == id) {
                return Err(TemplateError::Shape {
                    resource: id.to_owned(),
                    reason: "a KMS key needs an AWS::KMS::Alias naming it".into(),
                });
            }
        }
        Ok(keys)
    }

    /// Every `HttpApi` event of every serverless function.
    pub fn api_routes(&self) -> Vec<ApiRoute> {
        let mut routes = Vec::new();
        for (id, function) in self.of_type("AWS::Serverless::Function") {
            let events = function.get("Properties").and_then(|p| p.get("Events")).and_then(Value::as_mapping);
            for (_, event) in events.into_iter().flatten() {
                if event.get("Type").and_then(Value::as_str) != Some("HttpApi") {
                    continue;
                }
                let props = event.get("Properties");
                let field = |k: &str| props.and_then(|p| p.get(k)).and_then(Value::as_str).unwrap_or_default().to_owned();
                routes.push(ApiRoute { function: id.to_owned(), method: field("Method"), path: field("Path") });
            }
        }
        routes
    }

    /// Any value by a path of mapping keys, e.g. `["Globals", "Function", "Environment"]`.
    pub fn at(&self, path: &[&str]) -> Option<&Value> {
        path.iter().try_fold(&self.root, |v, key| v.get(*key))
    }

    /// The raw document (for whole-template checks).
    pub fn root(&self) -> &Value {
        &self.root
    }
}

fn key_schema(value: Option<&Value>) -> Option<KeySchema> {
    let mut hash = None;
    let mut range = None;
    for key in value?.as_sequence()? {
        let name = key.get("AttributeName")?.as_str()?.to_owned();
        match key.get("KeyType")?.as_str()? {
            "HASH" => hash = Some(name),
            "RANGE" => range = Some(name),
            _ => return None,
        }
    }
    Some(KeySchema { hash: hash?, range })
}

/// Does an API Gateway route path (with `{param}` and `{proxy+}`) cover a concrete template path
/// of our router (with `{param}`)?
pub fn gateway_path_covers(gateway: &str, route: &str) -> bool {
    let mut g = gateway.split('/');
    let mut r = route.split('/');
    loop {
        match (g.next(), r.next()) {
            (None, None) => return true,
            (Some(gs), Some(_)) if gs.ends_with("+}") => return true,
            (Some(gs), Some(rs)) => {
                let g_param = gs.starts_with('{');
                let r_param = rs.starts_with('{');
                if !(g_param || (!r_param && gs == rs)) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}
