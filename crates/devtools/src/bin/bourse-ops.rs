//! `bourse-ops`: the operator's command. Reads the same environment as the functions (locally
//! `dev/env.sh`'s profile; deployed, the stack's table names, `CACHE_URL` and AWS credentials).
//!
//! ```text
//! bourse-ops admin grant|revoke --email ADDRESS          the admin role on an account (its next token)
//! bourse-ops sessions end --email ADDRESS               end every session of an account now
//! bourse-ops cache stats                                  INFO (hit ratio, memory, evictions) + keys by prefix
//! bourse-ops cache clear --prefix PREFIX                  delete the keys starting with PREFIX
//! bourse-ops cache warm                                   load the universe, compute the public screener reads
//! bourse-ops cache describe --replication-group ID [--endpoint-url URL]
//! bourse-ops cache failover-drill --replication-group ID --stage STAGE [--node-group 0001]
//!            [--health-url URL[,URL…]] [--watch-seconds 120] [--interval-ms 1000] [--endpoint-url URL]
//! bourse-ops dlq replay --from DLQ_URL --to QUEUE_URL [--dry-run] [--max 1000]
//! ```
//!
//! The `cache stats|clear|warm` commands run the ops function's code in-process, so they need the
//! cache reachable (inside the VPC, or locally); from outside, call the admin routes
//! (`/v1/admin/cache/...`) with an admin's access token instead.

use bourse_devtools::ops::{self, DynError};
use std::collections::HashMap;
use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(err) = run(args).await {
        eprintln!("bourse-ops: {err}");
        std::process::exit(1);
    }
}

const USAGE: &str = "usage: bourse-ops admin grant|revoke --email ADDRESS | sessions end --email ADDRESS | cache stats|clear|warm|describe|failover-drill [options] | dlq replay --from URL --to URL [--dry-run] [--max N]";

/// `--name value` pairs; `--dry-run` is a flag.
fn parse_options(args: &[String]) -> Result<(HashMap<String, String>, bool), DynError> {
    let mut options = HashMap::new();
    let mut dry_run = false;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let name = arg.strip_prefix("--").ok_or_else(|| format!("unexpected argument {arg}\n{USAGE}"))?;
        if name == "dry-run" {
            dry_run = true;
            continue;
        }
        let value = iter.next().ok_or_else(|| format!("--{name} needs a value"))?;
        options.insert(name.to_owned(), value.clone());
    }
    Ok((options, dry_run))
}

fn platform() -> Result<bourse_runtime::Platform, DynError> {
    Ok(bourse_runtime::Platform::from_env("bourse-ops")?)
}

fn print_json(value: &impl serde::Serialize) -> Result<(), DynError> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

async fn run(args: Vec<String>) -> Result<(), DynError> {
    let [group, command, rest @ ..] = args.as_slice() else { return Err(USAGE.into()) };
    let (options, dry_run) = parse_options(rest)?;
    let get = |name: &str| options.get(name).map(String::as_str);
    let need = |name: &str| get(name).ok_or_else(|| format!("{group} {command} needs --{name}"));
    match (group.as_str(), command.as_str()) {
        ("admin", "grant" | "revoke") => {
            let platform = platform()?;
            let table = platform.config.require_app_table()?;
            let email = bourse_domain::account::Email::parse(need("email")?).map_err(|e| format!("--email: {e}"))?;
            let account = bourse_storage::accounts::credentials_by_email(&platform.aws, table, email.as_str())
                .await?
                .ok_or_else(|| format!("no account {}", email.as_str()))?;
            let admin = command == "grant";
            if !bourse_storage::roles::set_admin(&platform.aws, table, &account.user_id, admin).await? {
                return Err(format!("the account {} has no profile", email.as_str()).into());
            }
            println!(
                "{} {}: the admin role is {} (from its next login or refresh; access tokens already issued keep their claim for at most 15 minutes)",
                email.as_str(),
                account.user_id,
                if admin { "granted" } else { "revoked" }
            );
        }
        ("sessions", "end") => {
            let ended = ops::end_sessions(&platform()?, need("email")?).await?;
            println!(
                "{}: {ended} sessions ended (every refresh token is refused, and every access token from its next request)",
                need("email")?
            );
        }
        ("cache", "stats" | "clear" | "warm") => {
            let platform = platform()?;
            let ops = ops_fn::Ops::new(platform)?;
            let problem = |e: bourse_http::ApiError| -> DynError { e.to_string().into() };
            match command.as_str() {
                "stats" => print_json(&ops.stats().await.map_err(problem)?)?,
                "clear" => print_json(&ops.clear(need("prefix")?).await.map_err(problem)?)?,
                _ => print_json(&ops.warm().await.map_err(problem)?)?,
            }
        }
        ("cache", "describe") => {
            let client = ops::elasticache_client(get("endpoint-url"))?;
            print!("{}", ops::describe(&client, need("replication-group")?).await?);
        }
        ("cache", "failover-drill") => {
            let client = ops::elasticache_client(get("endpoint-url"))?;
            let drill = ops::Drill {
                replication_group: need("replication-group")?.to_owned(),
                node_group: get("node-group").map(str::to_owned),
                stage: need("stage")?.to_owned(),
                health_urls: get("health-url").unwrap_or("").split(',').filter(|u| !u.is_empty()).map(str::to_owned).collect(),
                watch: Duration::from_secs(get("watch-seconds").unwrap_or("120").parse()?),
                interval: Duration::from_millis(get("interval-ms").unwrap_or("1000").parse()?),
            };
            print!("{}", ops::failover_drill(&client, &drill).await?);
        }
        ("dlq", "replay") => {
            let platform = platform()?;
            let max: u64 = get("max").unwrap_or("1000").parse()?;
            let report = ops::replay_dlq(&platform.aws.sqs, need("from")?, need("to")?, dry_run, max).await?;
            for (id, body) in &report.messages {
                println!("{id}  {body}");
            }
            if dry_run {
                println!("dry run: {} message(s) on the DLQ would be moved; nothing was moved", report.seen);
            } else {
                println!(
                    "moved {} of {} message(s); {} not sent (still on the DLQ); {} sent but not deleted (on both queues)",
                    report.moved, report.seen, report.failed, report.sent_not_deleted
                );
            }
            if report.failed > 0 || report.sent_not_deleted > 0 {
                return Err("not every message was moved".into());
            }
        }
        _ => return Err(USAGE.into()),
    }
    Ok(())
}
