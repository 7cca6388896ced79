//! Creates the template's tables, queues and KMS keys on the local stand-ins. Idempotent: what
//! exists and matches is left alone; what exists with another shape is reported (wipe the local
//! data to recreate it).

use crate::template::{KmsKeyDef, TableDef, Template};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex, GlobalSecondaryIndexUpdate, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use bourse_storage::AwsClients;
use std::collections::HashMap;

pub type DynError = Box<dyn std::error::Error + Send + Sync>;

/// Queue URLs by logical id, for the caller to print or export.
pub async fn create_all(
    clients: &AwsClients,
    template: &Template,
    queue_visibility_override: Option<u64>,
) -> Result<HashMap<String, String>, DynError> {
    for table in template.tables()? {
        ensure_table(clients, &table).await?;
    }
    let queues = template.queues()?;
    let mut urls = HashMap::new();
    let mut arns = HashMap::new();
    // Dead-letter queues first: the others' redrive policies name their ARNs.
    let mut ordered: Vec<_> = queues.iter().filter(|q| q.redrive.is_none()).collect();
    ordered.extend(queues.iter().filter(|q| q.redrive.is_some()));
    for queue in ordered {
        let mut request = clients.sqs.create_queue().queue_name(&queue.name);
        if let Some(seconds) = queue_visibility_override.or(queue.visibility_timeout) {
            request = request.attributes(QueueAttributeName::VisibilityTimeout, seconds.to_string());
        }
        if let Some(seconds) = queue.retention {
            request = request.attributes(QueueAttributeName::MessageRetentionPeriod, seconds.to_string());
        }
        if let Some((dlq, max_receive)) = &queue.redrive {
            let arn: &String = arns.get(dlq).ok_or_else(|| format!("{} redrives to unknown queue {dlq}", queue.logical_id))?;
            let policy = serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": max_receive.to_string()});
            request = request.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
        }
        let url = request.send().await?.queue_url.ok_or("CreateQueue returned no URL")?;
        let attributes = clients.sqs.get_queue_attributes().queue_url(&url).attribute_names(QueueAttributeName::QueueArn).send().await?;
        let arn = attributes.attributes.and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned()).ok_or("queue has no ARN")?;
        println!("queue {} ready: {url}", queue.name);
        arns.insert(queue.logical_id.clone(), arn);
        urls.insert(queue.logical_id.clone(), url);
    }
    Ok(urls)
}

fn keys(schema: &crate::template::KeySchema) -> Result<Vec<KeySchemaElement>, DynError> {
    let key = |name: &str, kind: KeyType| KeySchemaElement::builder().attribute_name(name).key_type(kind).build();
    let mut out = vec![key(&schema.hash, KeyType::Hash)?];
    if let Some(range) = &schema.range {
        out.push(key(range, KeyType::Range)?);
    }
    Ok(out)
}

fn attribute_definitions(table: &TableDef) -> Result<Vec<AttributeDefinition>, DynError> {
    table
        .attributes
        .iter()
        .map(|(name, kind)| {
            Ok(AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::from(kind.as_str())).build()?)
        })
        .collect()
}

async fn ensure_table(clients: &AwsClients, table: &TableDef) -> Result<(), DynError> {
    match clients.dynamodb.describe_table().table_name(&table.name).send().await {
        Ok(existing) => {
            let existing = existing.table.ok_or("DescribeTable returned no table")?;
            let index_names: Vec<String> =
                existing.global_secondary_indexes.unwrap_or_default().into_iter().filter_map(|i| i.index_name).collect();
            let unknown: Vec<&String> = index_names.iter().filter(|have| !table.indexes.iter().any(|i| &i.name == *have)).collect();
            if !unknown.is_empty() {
                return Err(format!(
                    "table {} has indexes {unknown:?} the template does not define; wipe the local data (dev/down.sh --wipe) to recreate it",
                    table.name
                )
                .into());
            }
            // An index the template gained since the table was created is added in place, as a
            // stack update would: local data survives.
            for index in table.indexes.iter().filter(|i| !index_names.contains(&i.name)) {
                let create = CreateGlobalSecondaryIndexAction::builder()
                    .index_name(&index.name)
                    .set_key_schema(Some(keys(&index.keys)?))
                    .projection(Projection::builder().projection_type(ProjectionType::from(index.projection.as_str())).build())
                    .build()?;
                clients
                    .dynamodb
                    .update_table()
                    .table_name(&table.name)
                    .set_attribute_definitions(Some(attribute_definitions(table)?))
                    .global_secondary_index_updates(GlobalSecondaryIndexUpdate::builder().create(create).build())
                    .send()
                    .await?;
                println!("table {}: index {} added", table.name, index.name);
            }
            println!("table {} ready (existing)", table.name);
            return Ok(());
        }
        Err(err) if err.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => {}
        Err(err) => return Err(err.into()),
    }
    let mut request = clients
        .dynamodb
        .create_table()
        .table_name(&table.name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(keys(&table.keys)?))
        .set_attribute_definitions(Some(attribute_definitions(table)?));
    for index in &table.indexes {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .set_key_schema(Some(keys(&index.keys)?))
                .projection(Projection::builder().projection_type(ProjectionType::from(index.projection.as_str())).build())
                .build()?,
        );
    }
    request.send().await?;
    if let Some(attribute) = &table.ttl_attribute {
        clients
            .dynamodb
            .update_time_to_live()
            .table_name(&table.name)
            .time_to_live_specification(TimeToLiveSpecification::builder().attribute_name(attribute).enabled(true).build()?)
            .send()
            .await?;
    }
    println!("table {} created", table.name);
    Ok(())
}

/// Stores `value` as the secret `secret_id` (`SecretString` = `{"<json_key>": value}`), creating
/// it or replacing its value: how an operator's key reaches Secrets Manager, here for the local
/// stand-in (`dev/keys.sh` does the same against a real account).
pub async fn put_secret(clients: &AwsClients, secret_id: &str, json_key: &str, value: &str) -> Result<(), DynError> {
    use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
    let body = serde_json::json!({ json_key: value }).to_string();
    match clients.secrets.create_secret().name(secret_id).secret_string(&body).send().await {
        Ok(_) => Ok(()),
        Err(err) if err.code() == Some("ResourceExistsException") => {
            clients.secrets.put_secret_value().secret_id(secret_id).secret_string(&body).send().await?;
            Ok(())
        }
        Err(err) => Err(format!("cannot create secret {secret_id}: {}", err.message().unwrap_or(&err.to_string())).into()),
    }
}

/// Makes the domain of `sender` a verified SES identity (the stand-in verifies at once; on AWS a
/// domain identity needs DNS, done out of band). Idempotent.
pub async fn ensure_mail_identity(ses: &aws_sdk_sesv2::Client, sender: &str) -> Result<(), DynError> {
    let domain = sender.rsplit_once('@').map(|(_, d)| d).ok_or_else(|| format!("MAIL_FROM {sender:?} is not an address"))?;
    match ses.create_email_identity().email_identity(domain).send().await {
        Ok(_) => {}
        Err(err) if err.as_service_error().is_some_and(|e| e.is_already_exists_exception()) => {}
        Err(err) => return Err(format!("cannot create the SES identity {domain}: {err}").into()),
    }
    println!("mail identity {domain} ready");
    Ok(())
}

/// Makes the template's KMS key `key` on the stand-in under its alias, unless the alias already
/// names a usable key: CreateKey (symmetric, ENCRYPT_DECRYPT) + CreateAlias. The functions name the
/// key by its alias (`ASSISTANT_KMS_KEY_ID=alias/...`), which is known before the key exists. The
/// stand-in keeps no state across restarts, so each start of it gets a new key (and the saved
/// provider keys of the previous run no longer open, as with a deleted key).
pub async fn ensure_kms_key(kms: &aws_sdk_kms::Client, key: &KmsKeyDef) -> Result<(), DynError> {
    match kms.describe_key().key_id(&key.alias).send().await {
        Ok(found) => {
            let metadata = found.key_metadata.ok_or("DescribeKey returned no key")?;
            if !metadata.enabled {
                return Err(
                    format!("KMS key {} ({}) is not enabled; restart the stand-ins to get a new one", key.alias, metadata.key_id).into()
                );
            }
            println!("kms key {} ready (existing: {})", key.alias, metadata.key_id);
            return Ok(());
        }
        Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found_exception()) => {}
        Err(err) => return Err(format!("DescribeKey {}: {err}", key.alias).into()),
    }
    let mut create = kms.create_key();
    if let Some(description) = &key.description {
        create = create.description(description);
    }
    let created = create.send().await.map_err(|e| format!("CreateKey for {}: {e}", key.logical_id))?;
    let key_id = created.key_metadata.ok_or("CreateKey returned no key")?.key_id;
    kms.create_alias().alias_name(&key.alias).target_key_id(&key_id).send().await.map_err(|e| format!("CreateAlias {}: {e}", key.alias))?;
    println!("kms key {} created ({key_id})", key.alias);
    Ok(())
}
