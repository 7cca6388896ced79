//! `bourse-dev`: the local stack's tooling. Reads the same environment as the functions
//! (`dev/env.sh`), so it can only ever talk to the local stand-ins.
//!
//! ```text
//! bourse-dev resources [--template template.yaml] [--stack bourse] [--queue-visibility-timeout S]
//!                      [--signing-key-file PEM]   (stored as the secret JWT_SIGNING_KEY_SECRET names)
//!                      (tables, queues, and the KMS keys under their aliases when ASSISTANT_KMS_KEY_ID names one)
//! bourse-dev seed [--data data]
//! bourse-dev poll --queue-url URL[,URL…] --invoke-url URL
//! bourse-dev pipeline-check --queue-url URL [--timeout-seconds 30]
//! bourse-dev init-bench --bin-dir DIR [--rounds 20] [--events events]
//! bourse-dev screener-bench [--runs 200]
//! bourse-dev portfolio-bench [--runs 50]
//! bourse-dev returns-bench [--runs 5]
//! bourse-dev enumeration-bench [--runs 30]
//! bourse-dev enrich-bench [--rate 20] [--latency-ms 100] [--concurrency 5] [--redis-db 5]
//! bourse-dev alerts-bench [--alerts 10000] [--symbols 500] [--concurrency 8]
//! bourse-dev assistant-bench [--runs 20] [--pace-ms 20]
//! ```

use bourse_config::Config;
use bourse_devtools::resources::DynError;
use bourse_devtools::{initbench, poller, resources, template};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(err) = run(args).await {
        eprintln!("bourse-dev: {err}");
        std::process::exit(1);
    }
}

async fn run(args: Vec<String>) -> Result<(), DynError> {
    let (command, options) = args
        .split_first()
        .ok_or("usage: bourse-dev <resources|seed|poll|pipeline-check|init-bench|screener-bench|portfolio-bench|returns-bench|enumeration-bench|enrich-bench|alerts-bench|assistant-bench> [options]")?;
    let options = parse_options(options)?;
    let get = |name: &str| options.get(name).map(String::as_str);
    let need = |name: &str| get(name).ok_or_else(|| format!("{command} needs --{name}"));
    match command.as_str() {
        "resources" => {
            let template =
                template::Template::load(Path::new(get("template").unwrap_or("template.yaml")), get("stack").unwrap_or("bourse"))?;
            let visibility = get("queue-visibility-timeout").map(str::parse::<u64>).transpose()?;
            let clients = clients()?;
            resources::create_all(&clients, &template, visibility).await?;
            // The sender of account e-mails, as a verified SES identity (its domain).
            let config = Config::from_env("devtools")?;
            if let Some(mail) = &config.mail {
                let ses = bourse_storage::clients::build_mail_client(&config.aws, &config.ca_bundle)?;
                resources::ensure_mail_identity(&ses, &mail.from).await?;
            }
            if let Some(path) = get("signing-key-file") {
                let secret_id = std::env::var("JWT_SIGNING_KEY_SECRET").map_err(|_| "--signing-key-file needs JWT_SIGNING_KEY_SECRET")?;
                let pem = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
                resources::put_secret(&clients, &secret_id, "privateKey", pem.trim()).await?;
            }
            // The template's KMS keys, under their aliases: the assistant's ASSISTANT_KMS_KEY_ID
            // names one. Only with that setting, which (outside a deployed stage) the configuration
            // accepts only with a loopback AWS_ENDPOINT_URL_KMS: never a real account's KMS.
            let kms_keys = template.kms_keys()?;
            match &config.assistant.kms_key_id {
                Some(_) if config.stage == bourse_config::Stage::Prod => {
                    return Err("bourse-dev resources makes KMS keys on the local stand-in only (BOURSE_STAGE is a deployed stage)".into());
                }
                Some(key_id) => {
                    if !kms_keys.iter().any(|k| &k.alias == key_id) {
                        let aliases: Vec<&str> = kms_keys.iter().map(|k| k.alias.as_str()).collect();
                        return Err(format!("ASSISTANT_KMS_KEY_ID={key_id} is none of the template's KMS aliases {aliases:?}").into());
                    }
                    let kms = bourse_storage::clients::build_kms_client(&config.aws, &config.ca_bundle)?;
                    for key in &kms_keys {
                        resources::ensure_kms_key(&kms, key).await?;
                    }
                }
                None if !kms_keys.is_empty() => {
                    println!("kms: ASSISTANT_KMS_KEY_ID is not set, no key made (saving an assistant provider key answers 503)");
                }
                None => {}
            }
        }
        "seed" => seed(Path::new(get("data").unwrap_or("data"))).await?,
        "poll" => {
            // One poller per queue (comma-separated), as one event-source mapping per queue.
            let clients = clients()?;
            let mut pollers = Vec::new();
            for queue_url in need("queue-url")?.split(',').filter(|u| !u.is_empty()) {
                let queue_arn = queue_arn(&clients, queue_url).await?;
                pollers.push(poller::Poller {
                    clients: clients.clone(),
                    queue_url: queue_url.to_owned(),
                    queue_arn,
                    region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
                    invoke_url: need("invoke-url")?.to_owned(),
                    batch_size: 10,
                });
            }
            futures_util::future::try_join_all(pollers.iter().map(|p| p.run())).await?;
        }
        "pipeline-check" => {
            let timeout = Duration::from_secs(get("timeout-seconds").unwrap_or("30").parse()?);
            pipeline_check(need("queue-url")?, timeout).await?;
        }
        "enrich-bench" => {
            bourse_devtools::enrichbench::run(bourse_devtools::enrichbench::Settings {
                rate_per_second: get("rate").unwrap_or("20").parse()?,
                latency: Duration::from_millis(get("latency-ms").unwrap_or("100").parse()?),
                concurrency: get("concurrency").unwrap_or("5").parse()?,
                redis_db: get("redis-db").unwrap_or("5").parse()?,
            })
            .await?
        }
        "alerts-bench" => {
            bourse_devtools::alertsbench::run(bourse_devtools::alertsbench::Settings {
                alerts: get("alerts").unwrap_or("10000").parse()?,
                symbols: get("symbols").unwrap_or("500").parse()?,
                concurrency: get("concurrency").unwrap_or("8").parse()?,
            })
            .await?
        }
        "screener-bench" => bourse_devtools::screenerbench::run(get("runs").unwrap_or("200").parse()?).await?,
        "portfolio-bench" => bourse_devtools::portfoliobench::run(get("runs").unwrap_or("50").parse()?).await?,
        "returns-bench" => bourse_devtools::returnsbench::run(get("runs").unwrap_or("5").parse()?).await?,
        "enumeration-bench" => bourse_devtools::enumerationbench::run(get("runs").unwrap_or("30").parse()?).await?,
        "assistant-bench" => {
            bourse_devtools::assistantbench::run(get("runs").unwrap_or("20").parse()?, get("pace-ms").unwrap_or("20").parse()?).await?
        }
        "init-bench" => {
            init_bench(Path::new(need("bin-dir")?), get("rounds").unwrap_or("20").parse()?, Path::new(get("events").unwrap_or("events")))?
        }
        other => return Err(format!("unknown command {other}").into()),
    }
    Ok(())
}

fn parse_options(args: &[String]) -> Result<HashMap<String, String>, DynError> {
    let mut options = HashMap::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let name = arg.strip_prefix("--").ok_or_else(|| format!("unexpected argument {arg}"))?;
        let value = iter.next().ok_or_else(|| format!("--{name} needs a value"))?;
        options.insert(name.to_owned(), value.clone());
    }
    Ok(options)
}

fn clients() -> Result<bourse_storage::AwsClients, DynError> {
    let config = Config::from_env("devtools")?;
    Ok(bourse_storage::build_clients(&config.aws, &config.ca_bundle)?)
}

async fn queue_arn(clients: &bourse_storage::AwsClients, queue_url: &str) -> Result<String, DynError> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let attributes = clients.sqs.get_queue_attributes().queue_url(queue_url).attribute_names(QueueAttributeName::QueueArn).send().await?;
    Ok(attributes.attributes.and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned()).ok_or("queue has no ARN")?)
}

/// Loads the bundled reference data into the market table: stock profiles, generated (labelled)
/// price history ending today, the benchmark index's history built from them, and a new universe
/// snapshot version so caches revalidate.
/// Idempotent: the same keys get the same items.
async fn seed(data: &Path) -> Result<(), DynError> {
    let read = |name: &str| std::fs::read_to_string(data.join(name)).map_err(|e| format!("{}: {e}", data.join(name).display()));
    let records = bourse_domain::universe::load_universe(&read("sp500-constituents.csv")?, &read("sp500-financials.csv")?)?;
    let config = Config::from_env("devtools")?;
    let clients = bourse_storage::build_clients(&config.aws, &config.ca_bundle)?;
    let table = config.require_market_table()?;
    let started = Instant::now();
    let now = time::OffsetDateTime::now_utc();
    let mut stocks = Vec::with_capacity(records.len());
    for record in &records {
        let (stock, history) = bourse_domain::history::stock_from_record(record, now.date());
        bourse_storage::market::put_history(&clients, table, stock.symbol.as_str(), &history, true).await?;
        stocks.push(stock);
    }
    // The benchmark's closes: the cap-weighted index of the records (not a stock of the universe).
    let index = bourse_domain::history::benchmark_history(&records, now.date());
    bourse_storage::market::put_history(&clients, table, bourse_domain::performance::BENCHMARK_SYMBOL, &index, true).await?;
    bourse_storage::market::put_stocks(&clients, table, &stocks).await?;
    let version = bourse_storage::market::publish_universe(&clients, table, &stocks, now.unix_timestamp() as u64).await?;
    // Tell warm functions at once; without a cache they find the version in DynamoDB.
    if let Some(cache) = bourse_cache::Cache::from_config(&config) {
        cache.set(bourse_cache::UNIVERSE_VERSION_KEY, version.to_string().as_bytes(), Duration::from_secs(60)).await;
    }
    println!(
        "seeded {} stocks (generated history) into {table} in {} ms; universe version {version}",
        stocks.len(),
        started.elapsed().as_millis()
    );
    Ok(())
}

/// Sends a ping through the queue and waits until the consumer has recorded it.
async fn pipeline_check(queue_url: &str, timeout: Duration) -> Result<(), DynError> {
    let config = Config::from_env("devtools")?;
    let clients = bourse_storage::build_clients(&config.aws, &config.ca_bundle)?;
    let table = config.require_app_table()?;
    let id = format!("check-{}", std::process::id());
    let body = serde_json::to_string(&bourse_domain_ping(&id))?;
    clients.sqs.send_message().queue_url(queue_url).message_body(body).send().await?;
    let started = Instant::now();
    loop {
        if let Some(at) = bourse_storage::diagnostics::ping_received_at(&clients, table, &id).await? {
            println!("ping {id} consumed at {at} ({} ms after sending)", started.elapsed().as_millis());
            return Ok(());
        }
        if started.elapsed() > timeout {
            return Err(format!("ping {id} was not consumed within {} s", timeout.as_secs()).into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn bourse_domain_ping(id: &str) -> serde_json::Value {
    serde_json::json!({"kind": "ping", "id": id})
}

fn init_bench(bin_dir: &Path, rounds: usize, events: &Path) -> Result<(), DynError> {
    let read = |path: PathBuf| std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()));
    let subjects = vec![
        initbench::Subject { name: "hello-lambda".into(), binary: bin_dir.join("hello-lambda"), event: "{}".into() },
        initbench::Subject { name: "auth".into(), binary: bin_dir.join("auth"), event: read(events.join("auth/health.json"))? },
        initbench::Subject {
            name: "portfolio".into(),
            binary: bin_dir.join("portfolio"),
            event: read(events.join("portfolio/health.json"))?,
        },
        initbench::Subject { name: "screener".into(), binary: bin_dir.join("screener"), event: read(events.join("screener/health.json"))? },
        initbench::Subject {
            name: "assistant".into(),
            binary: bin_dir.join("assistant"),
            event: read(events.join("assistant/health.json"))?,
        },
        // The streaming binary behind the function URL: the same health request, answered as a stream.
        initbench::Subject {
            name: "assistant-stream".into(),
            binary: bin_dir.join("assistant-stream"),
            event: read(events.join("assistant/health.json"))?,
        },
        initbench::Subject {
            name: "enrich-consumer".into(),
            binary: bin_dir.join("enrich-consumer"),
            event: read(events.join("enrich-consumer/sqs-batch.json"))?,
        },
    ];
    let results = initbench::run(&subjects, rounds)?;
    let (baseline, _, _) = initbench::summary(&results[0].init);
    println!("cold init over {rounds} rounds (ms; spawn -> first /next), first invocation handler time (ms), binary size");
    println!(
        "{:<16} {:>8} {:>8} {:>8} {:>9} {:>10} {:>10} {:>10} {:>7}",
        "function", "init med", "min", "max", "x hello", "1st call", "size", "zipped", "errors"
    );
    for (subject, result) in subjects.iter().zip(&results) {
        let (median, min, max) = initbench::summary(&result.init);
        let (first, _, _) = initbench::summary(&result.first_invoke);
        let (raw, zipped) = initbench::sizes(&subject.binary)?;
        println!(
            "{:<16} {:>8.2} {:>8.2} {:>8.2} {:>8.2}x {:>10.2} {:>9.1}M {:>9.1}M {:>7}",
            subject.name,
            median,
            min,
            max,
            median / baseline,
            first,
            raw as f64 / 1048576.0,
            zipped as f64 / 1048576.0,
            result.errors
        );
    }
    // Every function's deployment package must stay within 5 MB (the zip holds the deflated
    // bootstrap and a few bytes of headers): small packages load faster at a cold start.
    let mut over = Vec::new();
    for subject in subjects.iter().skip(1) {
        let (_, zipped) = initbench::sizes(&subject.binary)?;
        let verdict = if zipped <= MAX_PACKAGE_BYTES { "ok  " } else { "FAIL" };
        println!("{verdict} {} package {:.2} MB (limit {:.0} MB)", subject.name, zipped as f64 / 1e6, MAX_PACKAGE_BYTES as f64 / 1e6);
        if zipped > MAX_PACKAGE_BYTES {
            over.push(subject.name.clone());
        }
    }
    if !over.is_empty() {
        return Err(format!("deployment packages over 5 MB: {}", over.join(", ")).into());
    }
    Ok(())
}

/// The largest deployment package a function may have, in bytes (deflated bootstrap).
const MAX_PACKAGE_BYTES: u64 = 5_000_000;
