//! What `bourse-ops` does beyond the admin routes: the ElastiCache control plane
//! (`aws-sdk-elasticache`: describe a replication group, a `TestFailover` drill watched through
//! the functions' health endpoints) and replaying a dead-letter queue.
//!
//! Operator tooling only: nothing here runs in a function. Locally every endpoint is the
//! emulator's or a stand-in's on 127.0.0.1; deployed, the standard AWS environment applies.

use aws_sdk_elasticache::types::ReplicationGroup;
use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName, SendMessageBatchRequestEntry};
use bourse_providers::http_client::HttpClient;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

pub type DynError = Box<dyn std::error::Error + Send + Sync>;

/// An ElastiCache control-plane client from the standard environment: `AWS_REGION`, the keys
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) and the endpoint
/// (`endpoint`, else `AWS_ENDPOINT_URL_ELASTICACHE`, else `AWS_ENDPOINT_URL`, else AWS). With
/// `BOURSE_STAGE` `local` or `test` the endpoint must be set and on a loopback address.
pub fn elasticache_client(endpoint: Option<&str>) -> Result<aws_sdk_elasticache::Client, DynError> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let region = var("AWS_REGION").ok_or("AWS_REGION is not set")?;
    let key = var("AWS_ACCESS_KEY_ID").ok_or("AWS_ACCESS_KEY_ID is not set")?;
    let secret = var("AWS_SECRET_ACCESS_KEY").ok_or("AWS_SECRET_ACCESS_KEY is not set")?;
    let endpoint = endpoint.map(str::to_owned).or_else(|| var("AWS_ENDPOINT_URL_ELASTICACHE")).or_else(|| var("AWS_ENDPOINT_URL"));
    if matches!(var("BOURSE_STAGE").as_deref(), Some("local" | "test")) {
        let url = endpoint.as_deref().ok_or("a local stage needs AWS_ENDPOINT_URL_ELASTICACHE (the emulator)")?;
        let host = url.split("://").nth(1).unwrap_or("").split(['/', ':']).next().unwrap_or("");
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return Err(format!("a local stage reaches only loopback endpoints, not {url}").into());
        }
    }
    let credentials = aws_credential_types::Credentials::new(key, secret, var("AWS_SESSION_TOKEN"), None, "environment");
    let mut config = aws_sdk_elasticache::Config::builder()
        .behavior_version(aws_sdk_elasticache::config::BehaviorVersion::latest())
        .region(aws_types::region::Region::new(region))
        .credentials_provider(credentials);
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint);
    }
    Ok(aws_sdk_elasticache::Client::from_conf(config.build()))
}

/// One node of a replication group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeReport {
    pub cluster_id: String,
    pub node_group: String,
    /// `primary` or `replica`.
    pub role: String,
    pub availability_zone: String,
    pub endpoint: String,
    /// The member cluster's status (`available`, `modifying`, …), or `unknown` when the control
    /// plane does not describe it.
    pub status: String,
}

/// What `bourse-ops cache describe` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupReport {
    pub id: String,
    pub status: String,
    pub engine: String,
    pub engine_version: String,
    pub node_type: String,
    pub primary_endpoint: String,
    pub reader_endpoint: String,
    pub automatic_failover: String,
    pub multi_az: String,
    pub cluster_mode: String,
    /// "required", "preferred" or "off".
    pub transit_encryption: String,
    pub at_rest_encryption: bool,
    /// "AUTH token", "RBAC user groups …" or "none".
    pub auth: String,
    pub nodes: Vec<NodeReport>,
    /// Pending modifications, one line each (empty when none).
    pub pending_changes: Vec<String>,
}

impl GroupReport {
    pub fn primary(&self) -> Option<&NodeReport> {
        self.nodes.iter().find(|n| n.role == "primary")
    }
}

impl std::fmt::Display for GroupReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "replication group {} ({})", self.id, self.status)?;
        writeln!(f, "  engine            {} {} on {}", self.engine, self.engine_version, self.node_type)?;
        writeln!(f, "  primary endpoint  {}", self.primary_endpoint)?;
        writeln!(f, "  reader endpoint   {}", self.reader_endpoint)?;
        writeln!(
            f,
            "  failover          automatic {}, multi-AZ {}, cluster mode {}",
            self.automatic_failover, self.multi_az, self.cluster_mode
        )?;
        writeln!(
            f,
            "  TLS               in transit {}, at rest {}",
            self.transit_encryption,
            if self.at_rest_encryption { "on" } else { "off" }
        )?;
        writeln!(f, "  auth              {}", self.auth)?;
        writeln!(f, "  nodes")?;
        for n in &self.nodes {
            writeln!(f, "    {:<28} {:<8} {:<12} {:<11} {}", n.cluster_id, n.role, n.availability_zone, n.status, n.endpoint)?;
        }
        if self.pending_changes.is_empty() {
            writeln!(f, "  pending changes   none")
        } else {
            self.pending_changes.iter().try_for_each(|c| writeln!(f, "  pending change    {c}"))
        }
    }
}

fn endpoint_text(endpoint: Option<&aws_sdk_elasticache::types::Endpoint>) -> String {
    endpoint.map(|e| format!("{}:{}", e.address().unwrap_or("?"), e.port().unwrap_or_default())).unwrap_or_else(|| "-".into())
}

/// DescribeReplicationGroups of `id`, then DescribeCacheClusters of each member (node status and
/// engine version).
pub async fn describe(client: &aws_sdk_elasticache::Client, id: &str) -> Result<GroupReport, DynError> {
    let answer = client
        .describe_replication_groups()
        .replication_group_id(id)
        .send()
        .await
        .map_err(|e| sdk_error("DescribeReplicationGroups", e))?;
    let group: &ReplicationGroup = answer.replication_groups().first().ok_or_else(|| format!("no replication group {id}"))?;
    let mut statuses: HashMap<String, (String, String)> = HashMap::new();
    for member in group.member_clusters() {
        if let Ok(clusters) = client.describe_cache_clusters().cache_cluster_id(member).show_cache_node_info(true).send().await
            && let Some(cluster) = clusters.cache_clusters().first()
        {
            statuses.insert(
                member.clone(),
                (cluster.cache_cluster_status().unwrap_or("unknown").to_owned(), cluster.engine_version().unwrap_or_default().to_owned()),
            );
        }
    }
    let mut nodes = Vec::new();
    let (mut primary_endpoint, mut reader_endpoint) = ("-".to_owned(), "-".to_owned());
    for node_group in group.node_groups() {
        if primary_endpoint == "-" {
            primary_endpoint = endpoint_text(node_group.primary_endpoint());
            reader_endpoint = endpoint_text(node_group.reader_endpoint());
        }
        for member in node_group.node_group_members() {
            let cluster_id = member.cache_cluster_id().unwrap_or_default().to_owned();
            nodes.push(NodeReport {
                node_group: node_group.node_group_id().unwrap_or_default().to_owned(),
                role: member.current_role().unwrap_or("unknown").to_owned(),
                availability_zone: member.preferred_availability_zone().unwrap_or("-").to_owned(),
                endpoint: endpoint_text(member.read_endpoint()),
                status: statuses.get(&cluster_id).map(|(s, _)| s.clone()).unwrap_or_else(|| "unknown".into()),
                cluster_id,
            });
        }
    }
    if let Some(configuration) = group.configuration_endpoint() {
        primary_endpoint = endpoint_text(Some(configuration));
    }
    let engine_version = statuses.values().map(|(_, v)| v.clone()).find(|v| !v.is_empty()).unwrap_or_else(|| "unknown".into());
    let transit_encryption = match (group.transit_encryption_enabled(), group.transit_encryption_mode()) {
        (Some(true), Some(mode)) => mode.as_str().to_owned(),
        (Some(true), None) => "required".to_owned(),
        _ => "off".to_owned(),
    };
    let auth = if group.auth_token_enabled() == Some(true) {
        "AUTH token".to_owned()
    } else if !group.user_group_ids().is_empty() {
        format!("RBAC user groups {}", group.user_group_ids().join(", "))
    } else {
        "none".to_owned()
    };
    let mut pending_changes = Vec::new();
    if let Some(pending) = group.pending_modified_values() {
        if let Some(primary) = pending.primary_cluster_id() {
            pending_changes.push(format!("primary becomes {primary}"));
        }
        if let Some(status) = pending.automatic_failover_status() {
            pending_changes.push(format!("automatic failover {}", status.as_str()));
        }
        if let Some(status) = pending.auth_token_status() {
            pending_changes.push(format!("AUTH token {}", status.as_str()));
        }
        if let Some(enabled) = pending.transit_encryption_enabled() {
            pending_changes.push(format!("transit encryption enabled = {enabled}"));
        }
        if let Some(mode) = pending.transit_encryption_mode() {
            pending_changes.push(format!("transit encryption mode {}", mode.as_str()));
        }
        if let Some(mode) = pending.cluster_mode() {
            pending_changes.push(format!("cluster mode {}", mode.as_str()));
        }
        if pending.resharding().is_some() {
            pending_changes.push("resharding in progress".to_owned());
        }
        if pending.user_groups().is_some() {
            pending_changes.push("user groups changing".to_owned());
        }
    }
    Ok(GroupReport {
        id: group.replication_group_id().unwrap_or(id).to_owned(),
        status: group.status().unwrap_or("unknown").to_owned(),
        engine: group.engine().unwrap_or("unknown").to_owned(),
        engine_version,
        node_type: group.cache_node_type().unwrap_or("unknown").to_owned(),
        primary_endpoint,
        reader_endpoint,
        automatic_failover: group.automatic_failover().map(|s| s.as_str().to_owned()).unwrap_or_else(|| "unknown".into()),
        multi_az: group.multi_az().map(|s| s.as_str().to_owned()).unwrap_or_else(|| "unknown".into()),
        cluster_mode: group.cluster_mode().map(|s| s.as_str().to_owned()).unwrap_or_else(|| "unknown".into()),
        transit_encryption,
        at_rest_encryption: group.at_rest_encryption_enabled() == Some(true),
        auth,
        nodes,
        pending_changes,
    })
}

/// `Action: Code: message` for an answer of the service; the whole context otherwise (no answer).
fn sdk_error<E>(action: &str, err: aws_sdk_elasticache::error::SdkError<E>) -> DynError
where
    E: aws_sdk_elasticache::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err.as_service_error() {
        Some(service) => format!("{action}: {}: {}", service.code().unwrap_or("error"), service.message().unwrap_or("(no message)")).into(),
        None => format!("{action}: {}", aws_sdk_elasticache::error::DisplayErrorContext(&err)).into(),
    }
}

/// Health samples of the functions during a drill.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HealthWatch {
    pub samples: u64,
    /// 200 with `"status": "ok"`.
    pub ok: u64,
    /// 200 with `"status": "degraded"` (a dependency down, answers served from DynamoDB).
    pub degraded: u64,
    /// Anything else: a 5xx, no answer, a timeout.
    pub errors: u64,
    /// Seconds from the start of the watch to the first sample that was not ok, and to the first
    /// ok sample after it.
    pub first_not_ok_s: Option<f64>,
    pub recovered_s: Option<f64>,
}

impl HealthWatch {
    pub fn error_rate(&self) -> f64 {
        if self.samples == 0 { 0.0 } else { self.errors as f64 / self.samples as f64 }
    }
}

/// Polls each of `urls` (GET, 2 s timeout) every `interval` for `duration`.
pub async fn watch_health(urls: &[String], duration: Duration, interval: Duration) -> Result<HealthWatch, DynError> {
    let client = HttpClient::new(Some(&bourse_config::CaBundle::new(std::env::var("SSL_CERT_FILE").ok())))?;
    let started = Instant::now();
    let mut watch = HealthWatch::default();
    while started.elapsed() < duration {
        let round = Instant::now();
        let mut all_ok = true;
        for url in urls {
            watch.samples += 1;
            match client.get(url, Duration::from_secs(2)).await {
                Ok(answer) if answer.status == 200 && answer.body.windows(10).any(|w| w == b"\"degraded\"") => {
                    watch.degraded += 1;
                    all_ok = false;
                }
                Ok(answer) if answer.status == 200 => watch.ok += 1,
                _ => {
                    watch.errors += 1;
                    all_ok = false;
                }
            }
        }
        let at = started.elapsed().as_secs_f64();
        if !all_ok && watch.first_not_ok_s.is_none() {
            watch.first_not_ok_s = Some(at);
        }
        if all_ok && watch.first_not_ok_s.is_some() && watch.recovered_s.is_none() {
            watch.recovered_s = Some(at);
        }
        tokio::time::sleep(interval.saturating_sub(round.elapsed())).await;
    }
    Ok(watch)
}

/// A failover drill's settings.
#[derive(Debug, Clone)]
pub struct Drill {
    pub replication_group: String,
    /// The node group whose primary fails over (default: the first).
    pub node_group: Option<String>,
    /// The stage the group serves; `prod` is refused.
    pub stage: String,
    /// Health endpoints watched during the drill (e.g. `<api>/v1/screener/health`).
    pub health_urls: Vec<String>,
    pub watch: Duration,
    pub interval: Duration,
}

/// What a drill saw.
#[derive(Debug, Clone)]
pub struct DrillReport {
    pub before: GroupReport,
    pub after: GroupReport,
    pub node_group: String,
    pub health: HealthWatch,
    pub took: Duration,
}

impl std::fmt::Display for DrillReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let primary = |r: &GroupReport| r.primary().map(|n| n.cluster_id.clone()).unwrap_or_else(|| "-".into());
        writeln!(f, "failover drill of {} node group {} ({:.0} s)", self.before.id, self.node_group, self.took.as_secs_f64())?;
        writeln!(f, "  primary           {} -> {}", primary(&self.before), primary(&self.after))?;
        writeln!(f, "  status after      {}", self.after.status)?;
        let h = &self.health;
        writeln!(
            f,
            "  health samples    {} (ok {}, degraded {}, errors {}; error rate {:.1} %)",
            h.samples,
            h.ok,
            h.degraded,
            h.errors,
            h.error_rate() * 100.0
        )?;
        match (h.first_not_ok_s, h.recovered_s) {
            (None, _) => writeln!(f, "  degradation       none seen"),
            (Some(from), Some(to)) => writeln!(f, "  degradation       from {from:.1} s, recovered at {to:.1} s ({:.1} s)", to - from),
            (Some(from), None) => writeln!(f, "  degradation       from {from:.1} s, NOT recovered by the end of the watch"),
        }
    }
}

/// Stages where a drill may run: anything but production.
/// Ends every session of the account with `email` at once, as its owner's "log out everywhere"
/// does: the mark every refresh checks, then each live session revoked in DynamoDB and in the
/// cache (its access tokens are refused from the next request). Returns how many were ended.
pub async fn end_sessions(platform: &bourse_runtime::Platform, email: &str) -> Result<usize, DynError> {
    let table = platform.config.require_app_table()?;
    let email = bourse_domain::account::Email::parse(email).map_err(|e| format!("--email: {e}"))?;
    let account = bourse_storage::accounts::credentials_by_email(&platform.aws, table, email.as_str())
        .await?
        .ok_or_else(|| format!("no account {}", email.as_str()))?;
    let now = platform.clock.now();
    bourse_storage::accounts::end_sessions_before(&platform.aws, table, &account.user_id, now).await?;
    let cache = bourse_runtime::access::Sessions::new(platform)?;
    let mut ended = 0;
    for session in bourse_storage::sessions::list_sessions(&platform.aws, table, &account.user_id).await? {
        if !session.revoked {
            bourse_storage::sessions::revoke_family(&platform.aws, table, &session.family_id, now).await?;
            cache.cache_revoked(&session.family_id).await;
            ended += 1;
        }
    }
    Ok(ended)
}

pub fn drill_allowed(stage: &str) -> Result<(), DynError> {
    match stage {
        "prod" | "production" => Err("TestFailover drills run only outside production (stage prod refused)".into()),
        "" => Err("name the stage the replication group serves (--stage dev|staging|local)".into()),
        _ => Ok(()),
    }
}

/// Refuses in production, checks that the node group has a replica to promote, starts
/// `TestFailover`, then watches the health endpoints (and the group) for the watch period.
pub async fn failover_drill(client: &aws_sdk_elasticache::Client, drill: &Drill) -> Result<DrillReport, DynError> {
    drill_allowed(&drill.stage)?;
    let started = Instant::now();
    let before = describe(client, &drill.replication_group).await?;
    let node_group = match &drill.node_group {
        Some(group) => group.clone(),
        None => before.nodes.first().map(|n| n.node_group.clone()).ok_or("the replication group has no nodes")?,
    };
    let members = before.nodes.iter().filter(|n| n.node_group == node_group).count();
    if members < 2 || before.automatic_failover != "enabled" {
        return Err(format!(
            "node group {node_group} has {members} node(s) and automatic failover {}: nothing to fail over to",
            before.automatic_failover
        )
        .into());
    }
    client
        .test_failover()
        .replication_group_id(&drill.replication_group)
        .node_group_id(&node_group)
        .send()
        .await
        .map_err(|e| sdk_error("TestFailover", e))?;
    let health = watch_health(&drill.health_urls, drill.watch, drill.interval).await?;
    let after = describe(client, &drill.replication_group).await?;
    Ok(DrillReport { before, after, node_group, health, took: started.elapsed() })
}

/// What a DLQ replay did (or, dry, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    pub dry_run: bool,
    /// Messages seen on the DLQ (each once).
    pub seen: u64,
    /// Sent to the target and deleted from the DLQ (0 on a dry run).
    pub moved: u64,
    /// Sent but whose deletion failed: they are on both queues (the consumer's redelivery
    /// handling makes the second delivery a no-op); named in the output.
    pub sent_not_deleted: u64,
    /// Not sent (left on the DLQ, visible again).
    pub failed: u64,
    /// (message id, first 120 characters of the body) of each message seen.
    pub messages: Vec<(String, String)>,
}

/// Moves the messages of `dlq` back to `target`, each exactly once: a message is deleted from
/// the DLQ only after the target accepted it, a message seen once in a run is never sent again in
/// that run (a redelivery of it is skipped), and what could not be sent is made visible again. A
/// dry run receives and lists the messages, then makes them all visible again, moving nothing.
/// Stops when a receive (1 s long poll) finds nothing, or after `max` messages.
pub async fn replay_dlq(sqs: &aws_sdk_sqs::Client, dlq: &str, target: &str, dry_run: bool, max: u64) -> Result<ReplayReport, DynError> {
    let mut report = ReplayReport { dry_run, ..ReplayReport::default() };
    let mut seen: HashSet<String> = HashSet::new();
    let mut release: Vec<String> = Vec::new();
    while report.seen < max {
        let batch = u64::min(10, max - report.seen) as i32;
        let received = sqs
            .receive_message()
            .queue_url(dlq)
            .max_number_of_messages(batch)
            .wait_time_seconds(1)
            // Hidden while this run handles them; a dry run releases them at the end.
            .visibility_timeout(120)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        let mut entries = Vec::new();
        let mut handles: HashMap<String, String> = HashMap::new();
        for (i, message) in messages.into_iter().enumerate() {
            let (Some(id), Some(handle)) = (message.message_id.clone(), message.receipt_handle.clone()) else { continue };
            if !seen.insert(id.clone()) {
                // Received again within this run (its hiding ran out): handled already.
                release.push(handle);
                continue;
            }
            report.seen += 1;
            let body = message.body.clone().unwrap_or_default();
            report.messages.push((id.clone(), body.chars().take(120).collect()));
            if dry_run {
                release.push(handle);
                continue;
            }
            let attributes: HashMap<String, MessageAttributeValue> = message.message_attributes.clone().unwrap_or_default();
            let entry_id = format!("m{i}");
            handles.insert(entry_id.clone(), handle);
            entries.push(
                SendMessageBatchRequestEntry::builder()
                    .id(entry_id)
                    .message_body(body)
                    .set_message_attributes((!attributes.is_empty()).then_some(attributes))
                    .build()?,
            );
        }
        if entries.is_empty() {
            continue;
        }
        let sent = sqs.send_message_batch().queue_url(target).set_entries(Some(entries)).send().await?;
        for failure in sent.failed() {
            report.failed += 1;
            if let Some(handle) = handles.remove(failure.id()) {
                release.push(handle);
            }
            eprintln!("bourse-ops: not sent, left on the DLQ: {} ({})", failure.id(), failure.message().unwrap_or_default());
        }
        let delete: Vec<_> = sent
            .successful()
            .iter()
            .filter_map(|ok| handles.get(ok.id()).map(|h| (ok.id().to_owned(), h.clone())))
            .map(|(id, handle)| aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder().id(id).receipt_handle(handle).build())
            .collect::<Result<_, _>>()?;
        let sent_count = delete.len() as u64;
        let deleted = sqs.delete_message_batch().queue_url(dlq).set_entries(Some(delete)).send().await?;
        for failure in deleted.failed() {
            eprintln!("bourse-ops: sent but not deleted from the DLQ: {} ({})", failure.id(), failure.message().unwrap_or_default());
        }
        report.sent_not_deleted += deleted.failed().len() as u64;
        report.moved += sent_count - deleted.failed().len() as u64;
    }
    for chunk in release.chunks(10) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, handle)| {
                aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(format!("r{i}"))
                    .receipt_handle(handle)
                    .visibility_timeout(0)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        sqs.change_message_visibility_batch().queue_url(dlq).set_entries(Some(entries)).send().await?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drills_are_refused_in_production() {
        assert!(drill_allowed("prod").is_err());
        assert!(drill_allowed("production").is_err());
        assert!(drill_allowed("").is_err());
        assert!(drill_allowed("staging").is_ok());
        assert!(drill_allowed("local").is_ok());
    }

    #[test]
    fn the_error_rate_counts_errors_over_samples() {
        assert_eq!(HealthWatch::default().error_rate(), 0.0);
        let watch = HealthWatch { samples: 8, ok: 5, degraded: 1, errors: 2, ..HealthWatch::default() };
        assert_eq!(watch.error_rate(), 0.25);
    }
}
