//! Configuration of every Bourse function, read once from the environment in `main`.
//!
//! A missing or malformed setting stops start-up with a [`ConfigError`] naming it. AWS endpoints use
//! the standard variables (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`), so the same binary talks
//! to the local stand-ins or to AWS. Outside production every endpoint must be set and must point at
//! a loopback address: a local stack or a test can never reach real AWS by accident.

pub mod trust;

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

/// Why the configuration could not be read; names the variable at fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("missing setting {0}")]
    Missing(&'static str),
    #[error("setting {name} is malformed: {reason}")]
    Malformed { name: &'static str, reason: String },
    #[error("setting {name} must point at a loopback address when BOURSE_STAGE is {stage}, got {value}")]
    NotLoopback { name: &'static str, stage: Stage, value: String },
}

/// Where the function runs. Only `Prod` may talk to real AWS endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The developer's local stack.
    Local,
    /// Automated tests.
    Test,
    /// A deployed stack (dev, staging or prod account alike).
    Prod,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Local => "local",
            Stage::Test => "test",
            Stage::Prod => "prod",
        })
    }
}

/// An absolute http(s) URL whose host is known; kept as text for the SDKs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl {
    url: String,
    host: String,
    port: Option<u16>,
}

impl EndpointUrl {
    pub fn parse(name: &'static str, value: &str) -> Result<Self, ConfigError> {
        parse_url(name, value, &["http", "https"])
    }

    pub fn as_str(&self) -> &str {
        &self.url
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    fn is_loopback(&self) -> bool {
        is_loopback_host(&self.host)
    }
}

/// The cache's URL: `rediss://[[user]:password@]host[:port][/db]` (TLS, which ElastiCache with
/// transit encryption requires, and what every profile uses) or `redis://…` (plain, only when set
/// explicitly). The password is never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct CacheUrl {
    url: EndpointUrl,
    tls: bool,
    port: u16,
    db: i64,
    username: Option<String>,
    password: Option<Secret>,
}

impl CacheUrl {
    pub fn parse(name: &'static str, value: &str) -> Result<Self, ConfigError> {
        let url = parse_url(name, value, &["redis", "rediss"])?;
        let malformed = |reason: &str| ConfigError::Malformed { name, reason: reason.to_owned() };
        let (scheme, rest) = value.split_once("://").unwrap_or_default();
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let userinfo = authority.rsplit_once('@').map(|(u, _)| u);
        let (username, password) = match userinfo {
            None => (None, None),
            Some(info) => {
                let (user, password) = info.split_once(':').map_or((info, None), |(u, p)| (u, Some(p)));
                let user = percent_decode(user).ok_or_else(|| malformed("user name is not valid percent-encoded UTF-8"))?;
                let password = password
                    .map(|p| percent_decode(p).ok_or_else(|| malformed("password is not valid percent-encoded UTF-8")))
                    .transpose()?;
                (Some(user).filter(|u| !u.is_empty()), password.filter(|p| !p.is_empty()).map(Secret::new))
            }
        };
        let port = url.port.unwrap_or(6379);
        if port == 0 {
            return Err(malformed("port is not a number from 1 to 65535"));
        }
        let db = match path.trim_matches('/') {
            "" => 0,
            db => db
                .parse::<i64>()
                .ok()
                .filter(|d| (0..=15).contains(d))
                .ok_or_else(|| malformed("database must be a number from 0 to 15"))?,
        };
        Ok(CacheUrl { url, tls: scheme == "rediss", port, db, username, password })
    }

    /// The URL as configured (it may hold a password: log [`CacheUrl`]'s `Debug` instead).
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// True for `rediss://`.
    pub fn tls(&self) -> bool {
        self.tls
    }

    /// The host name or IP address (without brackets), also the name the server's certificate
    /// must carry.
    pub fn host(&self) -> &str {
        self.url.host()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn db(&self) -> i64 {
        self.db
    }

    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    pub fn password(&self) -> Option<&Secret> {
        self.password.as_ref()
    }

    /// The same server with another database (tests and benchmarks isolate themselves so).
    pub fn with_db(&self, db: i64) -> Self {
        CacheUrl { db, ..self.clone() }
    }
}

impl fmt::Debug for CacheUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "rediss" } else { "redis" };
        let auth = if self.password.is_some() { "<redacted>@" } else { "" };
        let host = if self.host().contains(':') { format!("[{}]", self.host()) } else { self.host().to_owned() };
        write!(f, "CacheUrl({scheme}://{auth}{host}:{}/{})", self.port, self.db)
    }
}

/// `%XX` escapes decoded; `None` for a bad escape or invalid UTF-8 (URLs in settings, and the
/// HTTP router's path segments).
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Timeouts of the cache, bounded separately because they differ by orders of magnitude: a TCP
/// connect inside the VPC takes a millisecond, a TLS handshake on a small function tens, a
/// command well under one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheTimeouts {
    /// `CACHE_CONNECT_TIMEOUT_MS` (default 250): the TCP connection.
    pub connect: Duration,
    /// `CACHE_HANDSHAKE_TIMEOUT_MS` (default 1000): the TLS handshake and the Redis `HELLO`.
    pub handshake: Duration,
    /// `CACHE_TIMEOUT_MS` (default 50): each command.
    pub command: Duration,
}

/// The certificate authorities TLS connections trust (the SDK's HTTPS and the cache's `rediss://`):
/// the file named by `SSL_CERT_FILE`, else the system bundle. Read once per process, on first
/// use, and shared: reading the whole certificate directory instead was most of a cold start.
#[derive(Clone, Default)]
pub struct CaBundle {
    file: Option<String>,
    pem: std::sync::Arc<std::sync::OnceLock<Option<std::sync::Arc<[u8]>>>>,
}

/// System CA bundles, in the order they are looked for when `SSL_CERT_FILE` is unset: Debian and
/// Ubuntu, then Amazon Linux 2023 (the Lambda `provided.al2023` runtime) and Fedora.
const SYSTEM_CA_BUNDLES: &[&str] = &["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"];

impl CaBundle {
    /// The bundle at `SSL_CERT_FILE` when set, else the system's.
    pub fn new(ssl_cert_file: Option<String>) -> Self {
        CaBundle { file: ssl_cert_file, pem: Default::default() }
    }

    /// The PEM text of the bundle, or `None` when no bundle file could be read.
    pub fn pem(&self) -> Option<std::sync::Arc<[u8]>> {
        self.pem
            .get_or_init(|| {
                self.file
                    .iter()
                    .map(String::as_str)
                    .chain(SYSTEM_CA_BUNDLES.iter().copied())
                    .find_map(|path| std::fs::read(path).ok())
                    .map(std::sync::Arc::from)
            })
            .clone()
    }
}

impl fmt::Debug for CaBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaBundle").field("file", &self.file).finish_non_exhaustive()
    }
}

/// Where a secret comes from. Deployed stages read every secret from Secrets Manager at init
/// (never from an environment variable, which `GetFunctionConfiguration` shows in clear); the
/// local and test stages may also give it inline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// The value itself (`local` and `test` stages only).
    Inline(Secret),
    /// A Secrets Manager secret whose `SecretString` is a JSON object holding the value under `json_key`.
    SecretsManager { secret_id: String, json_key: &'static str },
}

fn parse_url(name: &'static str, value: &str, schemes: &[&str]) -> Result<EndpointUrl, ConfigError> {
    let malformed = |reason: &str| ConfigError::Malformed { name, reason: reason.to_owned() };
    let (scheme, rest) = value.split_once("://").ok_or_else(|| malformed("expected scheme://host[:port]"))?;
    if !schemes.contains(&scheme) {
        return Err(malformed(&format!("scheme must be one of {}", schemes.join(", "))));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        bracketed.split_once(']').map(|(h, _)| h).ok_or_else(|| malformed("unclosed [ in host"))?
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return Err(malformed("host is empty"));
    }
    let port = match authority.rsplit_once(':').filter(|_| !authority.ends_with(']')) {
        Some((_, port)) => Some(port.parse::<u16>().map_err(|_| malformed("port is not a number from 0 to 65535"))?),
        None => None,
    };
    Ok(EndpointUrl { url: value.to_owned(), host: host.to_ascii_lowercase(), port })
}

fn is_loopback_host(host: &str) -> bool {
    host == "localhost" || host == "::1" || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// AWS settings shared by the SDK clients. Credentials are read by the storage crate from the
/// standard variables; only what the code must decide on is here.
#[derive(Debug, Clone)]
pub struct AwsConfig {
    pub region: String,
    pub dynamodb_endpoint: Option<EndpointUrl>,
    pub sqs_endpoint: Option<EndpointUrl>,
    pub secrets_endpoint: Option<EndpointUrl>,
    /// `AWS_ENDPOINT_URL_SESV2`: where e-mail is sent (the consumer only).
    pub ses_endpoint: Option<EndpointUrl>,
    /// `AWS_ENDPOINT_URL_KMS`: the key envelopes of the assistant's saved provider keys.
    pub kms_endpoint: Option<EndpointUrl>,
    /// `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`: the assistant's default model provider.
    pub bedrock_endpoint: Option<EndpointUrl>,
}

/// The assistant's settings (its function only; the others never read them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssistantSettings {
    /// `ASSISTANT_PROVIDER`: who answers for Bourse — `bedrock`, `openai` (an OpenAI-compatible
    /// endpoint, `ASSISTANT_OPENAI_URL`, key `ASSISTANT_OPENAI_KEY_SECRET`/`ASSISTANT_OPENAI_KEY`)
    /// or `none` (every answer is the rule-based fallback). Default `none`: nothing leaves the
    /// machine unless a deployment says so.
    pub provider: AssistantProvider,
    /// `ASSISTANT_MODEL`: the default model of that provider.
    pub model: String,
    /// `ASSISTANT_BYO_ENDPOINTS`: the OpenAI-compatible endpoints users may bring a key for,
    /// `name|base URL` separated by commas. Only these are ever called with a user's key (no
    /// user-supplied URL is fetched). Default: none outside production, OpenAI's in production.
    pub byo_endpoints: Vec<(String, EndpointUrl)>,
    /// `ASSISTANT_KMS_KEY_ID`: the KMS key whose data keys seal saved provider keys. Saving a key
    /// answers 503 without it.
    pub kms_key_id: Option<String>,
    /// `ASSISTANT_PRICES`: the price table (JSON, see `bourse_domain::assistant::cost`).
    pub prices: String,
    /// `ASSISTANT_BUDGET_FREE_USD`, `ASSISTANT_BUDGET_PRO_USD`, `ASSISTANT_DAILY_CAP_USD`: decimal
    /// text, checked by the function (defaults in `bourse_domain::assistant::cost::Budgets`).
    pub budget_free_usd: Option<String>,
    pub budget_pro_usd: Option<String>,
    pub daily_cap_usd: Option<String>,
    /// `ASSISTANT_TIMEOUT_MS` (default 20000): one model call, streaming included.
    pub call_timeout: Duration,
}

/// Who answers the assistant's questions for Bourse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssistantProvider {
    None,
    Bedrock,
    OpenAi { base_url: EndpointUrl, api_key: Option<SecretSource> },
}

/// Everything a function may need. Each function asks for the parts it uses through the
/// `require_*` accessors so that a setting it does not need is never demanded.
#[derive(Debug, Clone)]
pub struct Config {
    pub stage: Stage,
    pub service: &'static str,
    pub aws: AwsConfig,
    pub app_table: Option<String>,
    pub market_table: Option<String>,
    pub enrich_queue_url: Option<String>,
    pub cache_url: Option<CacheUrl>,
    /// Connect, handshake and command timeouts of the cache: a dead cache must cost milliseconds.
    pub cache_timeouts: CacheTimeouts,
    /// `CACHE_CA_FILE`: a PEM file of extra certificate authorities the cache's TLS trusts
    /// besides [`Config::ca_bundle`] (a private CA).
    pub cache_ca_file: Option<String>,
    /// The certificate authorities every TLS connection trusts (`SSL_CERT_FILE` or the system's).
    pub ca_bundle: CaBundle,
    /// Timeout of one dependency check on the health endpoint.
    pub health_timeout: Duration,
    pub cors_allowed_origins: Vec<String>,
    pub max_body_bytes: usize,
    /// `JWT_PUBLIC_KEYS`: JSON object of key id → Ed25519 public key, used to verify access
    /// tokens (parsed by `bourse-tokens`).
    pub jwt_public_keys: Option<String>,
    /// The auth function's Ed25519 private key (PKCS#8, PEM or base64 DER): the Secrets Manager
    /// secret `JWT_SIGNING_KEY_SECRET` (JSON key `privateKey`), or inline `JWT_SIGNING_KEY`
    /// outside deployed stages. Redacted in `Debug`.
    pub jwt_signing_key: Option<SecretSource>,
    /// `JWT_SIGNING_KID` (auth only): the key id of the signing key.
    pub jwt_signing_kid: Option<String>,
    /// `MARKET_PROVIDERS` (enrich-consumer): the market-data providers in order of preference,
    /// `kind|requests per second|base URL` separated by commas, e.g.
    /// `yahoo-chart|20|https://chart.example,alpha-vantage|5|https://av.example`; `offline` needs
    /// no URL. Default: `offline` (the bundled data), so nothing reaches the internet unless a
    /// deployment says so. API keys: the Secrets Manager secret `PROVIDER_API_KEY_SECRET_<KIND>`
    /// (JSON key `apiKey`), or inline `PROVIDER_API_KEY_<KIND>` outside deployed stages (kind in
    /// upper case, `-` → `_`).
    pub market_providers: Vec<ProviderSetting>,
    /// `ENRICH_MAX_CONCURRENCY`: the event-source mapping's maximum concurrency, by which each
    /// instance divides a provider's limit when the shared limiter (Redis) is down. Default 10.
    pub enrich_max_concurrency: u32,
    /// `UNIVERSE_PUBLISH_INTERVAL_SECONDS` (default 60, at most 900: SQS's longest delay): jobs
    /// completing within this interval are published to the universe together, once.
    pub universe_publish_interval_seconds: u32,
    /// `SCHEDULED_QUEUE_URL`: the queue of scheduled work (the consumer); `ENRICH_QUEUE_URL` when
    /// unset.
    pub scheduled_queue_url: Option<String>,
    /// `MAIL_QUEUE_URL`: the account queue — e-mails to send and accounts to erase (auth
    /// enqueues, the consumer sends and erases, continuing an erasure through it).
    pub mail_queue_url: Option<String>,
    /// `ERASURE_FINAL_PASS_DELAY_SECONDS` (default 60, at most 900): how long after an account's
    /// items are gone the erasure looks once more, for what requests in flight at the time of the
    /// deletion wrote. Longer than an HTTP function's timeout (10 s, 29 s for an import).
    pub erasure_final_pass_delay_seconds: u32,
    /// What the consumer needs to send e-mail: `MAIL_FROM` (a verified SES identity) and
    /// `APP_URL` (the web app the links in messages open).
    pub mail: Option<MailSettings>,
    /// The key that seals webhook signing secrets at rest (portfolio seals, the consumer opens):
    /// the Secrets Manager secret `WEBHOOK_KEY_SECRET` (JSON key `key`, at least 32 characters),
    /// or inline `WEBHOOK_KEY` outside deployed stages. Webhook routes answer 503 without it.
    pub webhook_key: Option<SecretSource>,
    pub assistant: AssistantSettings,
}

/// The sender of Bourse's e-mails and the app their links open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSettings {
    pub from: String,
    pub app_url: String,
}

/// One market-data provider the consumer may query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderSetting {
    pub kind: String,
    pub requests_per_second: u32,
    pub base_url: Option<EndpointUrl>,
    pub api_key: Option<SecretSource>,
}

impl ProviderSetting {
    /// Parses `MARKET_PROVIDERS` (see [`Config::market_providers`]); `keys` looks up API keys.
    pub fn parse_list(value: &str, keys: impl Fn(&str) -> Option<String>) -> Result<Vec<ProviderSetting>, ConfigError> {
        Self::parse_list_with_secrets(value, |kind| {
            Ok(keys(&format!("PROVIDER_API_KEY_{kind}")).map(|v| SecretSource::Inline(Secret::new(v))))
        })
    }

    /// As [`ProviderSetting::parse_list`]; `keys` finds the API key of a kind (`ALPHA_VANTAGE`).
    fn parse_list_with_secrets(
        value: &str,
        keys: impl Fn(&str) -> Result<Option<SecretSource>, ConfigError>,
    ) -> Result<Vec<ProviderSetting>, ConfigError> {
        let malformed = |reason: String| ConfigError::Malformed { name: "MARKET_PROVIDERS", reason };
        let mut out = Vec::new();
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let mut parts = entry.splitn(3, '|');
            let kind = parts.next().unwrap_or_default().trim().to_owned();
            if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
                return Err(malformed(format!("provider kind {kind:?} must be lower-case letters and dashes")));
            }
            let rate = match parts.next().map(str::trim) {
                None | Some("") => 1000,
                Some(text) => text
                    .parse::<u32>()
                    .ok()
                    .filter(|r| *r > 0)
                    .ok_or_else(|| malformed(format!("{kind}: rate {text:?} is not a positive whole number")))?,
            };
            let base_url = match parts.next().map(str::trim).filter(|u| !u.is_empty()) {
                Some(url) => Some(EndpointUrl::parse("MARKET_PROVIDERS", url)?),
                None if kind == "offline" => None,
                None => return Err(malformed(format!("{kind} needs a base URL"))),
            };
            let key_name = kind.to_ascii_uppercase().replace('-', "_");
            out.push(ProviderSetting { api_key: keys(&key_name)?, kind, requests_per_second: rate, base_url });
        }
        if out.is_empty() {
            return Err(malformed("name at least one provider".into()));
        }
        Ok(out)
    }
}

/// A secret setting: never printed, not even by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env(service: &'static str) -> Result<Self, ConfigError> {
        Self::from_vars(service, std::env::vars().collect())
    }

    /// Reads an explicit set of variables (tests use this; `from_env` wraps it).
    pub fn from_vars(service: &'static str, vars: HashMap<String, String>) -> Result<Self, ConfigError> {
        let env = Env(vars);
        let stage = match env.required("BOURSE_STAGE")? {
            "local" => Stage::Local,
            "test" => Stage::Test,
            "dev" | "staging" | "prod" => Stage::Prod,
            other => {
                return Err(ConfigError::Malformed {
                    name: "BOURSE_STAGE",
                    reason: format!("expected local, test, dev, staging or prod, got {other:?}"),
                });
            }
        };
        let region = env.optional("AWS_REGION").or_else(|| env.optional("AWS_DEFAULT_REGION"));
        let region = region.ok_or(ConfigError::Missing("AWS_REGION"))?.to_owned();
        let endpoint = |specific: &'static str| -> Result<Option<EndpointUrl>, ConfigError> {
            match (env.optional(specific), env.optional("AWS_ENDPOINT_URL")) {
                (Some(url), _) => EndpointUrl::parse(specific, url).map(Some),
                (None, Some(url)) => EndpointUrl::parse("AWS_ENDPOINT_URL", url).map(Some),
                (None, None) => Ok(None),
            }
        };
        let aws = AwsConfig {
            region,
            dynamodb_endpoint: endpoint("AWS_ENDPOINT_URL_DYNAMODB")?,
            sqs_endpoint: endpoint("AWS_ENDPOINT_URL_SQS")?,
            secrets_endpoint: endpoint("AWS_ENDPOINT_URL_SECRETS_MANAGER")?,
            ses_endpoint: endpoint("AWS_ENDPOINT_URL_SESV2")?,
            kms_endpoint: endpoint("AWS_ENDPOINT_URL_KMS")?,
            bedrock_endpoint: endpoint("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")?,
        };
        let deployed = stage == Stage::Prod;
        let cache_url = env.optional("CACHE_URL").map(|v| CacheUrl::parse("CACHE_URL", v)).transpose()?;
        let config = Config {
            stage,
            service,
            aws,
            app_table: env.optional("APP_TABLE").map(str::to_owned),
            market_table: env.optional("MARKET_TABLE").map(str::to_owned),
            enrich_queue_url: env.optional("ENRICH_QUEUE_URL").map(str::to_owned),
            cache_url,
            cache_timeouts: CacheTimeouts {
                connect: env.millis("CACHE_CONNECT_TIMEOUT_MS", 250)?,
                handshake: env.millis("CACHE_HANDSHAKE_TIMEOUT_MS", 1000)?,
                command: env.millis("CACHE_TIMEOUT_MS", 50)?,
            },
            cache_ca_file: env.optional("CACHE_CA_FILE").map(str::to_owned),
            ca_bundle: CaBundle::new(env.optional("SSL_CERT_FILE").map(str::to_owned)),
            health_timeout: env.millis("HEALTH_TIMEOUT_MS", 500)?,
            cors_allowed_origins: cors_origins(stage, env.optional("CORS_ALLOWED_ORIGINS")),
            max_body_bytes: env.number("MAX_BODY_BYTES", 256 * 1024)?,
            jwt_public_keys: env.optional("JWT_PUBLIC_KEYS").map(str::to_owned),
            jwt_signing_key: env.secret(deployed, "JWT_SIGNING_KEY_SECRET", "JWT_SIGNING_KEY", "JWT_SIGNING_KEY", "privateKey")?,
            jwt_signing_kid: env.optional("JWT_SIGNING_KID").map(str::to_owned),
            market_providers: ProviderSetting::parse_list_with_secrets(env.optional("MARKET_PROVIDERS").unwrap_or("offline"), |kind| {
                let (secret_var, inline_var) = (format!("PROVIDER_API_KEY_SECRET_{kind}"), format!("PROVIDER_API_KEY_{kind}"));
                env.secret(deployed, &secret_var, &inline_var, "PROVIDER_API_KEY_<KIND>", "apiKey")
            })?,
            enrich_max_concurrency: env.number("ENRICH_MAX_CONCURRENCY", 10)?.clamp(1, 1000) as u32,
            universe_publish_interval_seconds: env.number("UNIVERSE_PUBLISH_INTERVAL_SECONDS", 60)?.min(900) as u32,
            scheduled_queue_url: env.optional("SCHEDULED_QUEUE_URL").map(str::to_owned),
            mail_queue_url: env.optional("MAIL_QUEUE_URL").map(str::to_owned),
            erasure_final_pass_delay_seconds: env.number("ERASURE_FINAL_PASS_DELAY_SECONDS", 60)?.min(900) as u32,
            mail: match (env.optional("MAIL_FROM"), env.optional("APP_URL")) {
                (Some(from), Some(app_url)) => {
                    Some(MailSettings { from: from.to_owned(), app_url: app_url.trim_end_matches('/').to_owned() })
                }
                (Some(_), None) => return Err(ConfigError::Missing("APP_URL")),
                (None, _) => None,
            },
            webhook_key: env.secret(deployed, "WEBHOOK_KEY_SECRET", "WEBHOOK_KEY", "WEBHOOK_KEY", "key")?,
            assistant: AssistantSettings::from_env(&env, deployed)?,
        };
        config.check_isolation()?;
        Ok(config)
    }

    /// Outside production nothing may reach AWS: every endpoint in use must be set and loopback.
    fn check_isolation(&self) -> Result<(), ConfigError> {
        if self.stage == Stage::Prod {
            return Ok(());
        }
        let assistant = &self.assistant;
        let mut assistant_urls: Vec<(&'static str, Option<&EndpointUrl>)> =
            assistant.byo_endpoints.iter().map(|(_, url)| ("ASSISTANT_BYO_ENDPOINTS", Some(url))).collect();
        match &assistant.provider {
            AssistantProvider::OpenAi { base_url, .. } => assistant_urls.push(("ASSISTANT_OPENAI_URL", Some(base_url))),
            AssistantProvider::Bedrock => assistant_urls.push(("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", self.aws.bedrock_endpoint.as_ref())),
            AssistantProvider::None => {}
        }
        if assistant.kms_key_id.is_some() {
            assistant_urls.push(("AWS_ENDPOINT_URL_KMS", self.aws.kms_endpoint.as_ref()));
        }
        for (name, url) in assistant_urls {
            let url = url.ok_or(ConfigError::Missing(name))?;
            if !url.is_loopback() {
                return Err(ConfigError::NotLoopback { name, stage: self.stage, value: url.as_str().to_owned() });
            }
        }
        let endpoints =
            [("AWS_ENDPOINT_URL_DYNAMODB", self.aws.dynamodb_endpoint.as_ref()), ("AWS_ENDPOINT_URL_SQS", self.aws.sqs_endpoint.as_ref())];
        for (name, url) in endpoints {
            let url = url.ok_or(ConfigError::Missing(name))?;
            if !url.is_loopback() {
                return Err(ConfigError::NotLoopback { name, stage: self.stage, value: url.as_str().to_owned() });
            }
        }
        let assistant_key = match &self.assistant.provider {
            AssistantProvider::OpenAi { api_key, .. } => api_key.clone(),
            _ => None,
        };
        let uses_secrets_manager = [&self.jwt_signing_key, &self.webhook_key, &assistant_key]
            .into_iter()
            .chain(self.market_providers.iter().map(|p| &p.api_key))
            .any(|source| matches!(source, Some(SecretSource::SecretsManager { .. })));
        if uses_secrets_manager {
            let name = "AWS_ENDPOINT_URL_SECRETS_MANAGER";
            let url = self.aws.secrets_endpoint.as_ref().ok_or(ConfigError::Missing(name))?;
            if !url.is_loopback() {
                return Err(ConfigError::NotLoopback { name, stage: self.stage, value: url.as_str().to_owned() });
            }
        }
        if self.mail.is_some() {
            let name = "AWS_ENDPOINT_URL_SESV2";
            let url = self.aws.ses_endpoint.as_ref().ok_or(ConfigError::Missing(name))?;
            if !url.is_loopback() {
                return Err(ConfigError::NotLoopback { name, stage: self.stage, value: url.as_str().to_owned() });
            }
        }
        if let Some(cache) = &self.cache_url
            && !cache.url.is_loopback()
        {
            // Debug form: the URL may hold a password.
            return Err(ConfigError::NotLoopback { name: "CACHE_URL", stage: self.stage, value: format!("{cache:?}") });
        }
        for provider in &self.market_providers {
            if let Some(url) = provider.base_url.as_ref().filter(|u| !u.is_loopback()) {
                return Err(ConfigError::NotLoopback { name: "MARKET_PROVIDERS", stage: self.stage, value: url.as_str().to_owned() });
            }
        }
        if let Some(queue) = &self.enrich_queue_url {
            let url = EndpointUrl::parse("ENRICH_QUEUE_URL", queue)?;
            if !url.is_loopback() {
                return Err(ConfigError::NotLoopback { name: "ENRICH_QUEUE_URL", stage: self.stage, value: queue.clone() });
            }
        }
        Ok(())
    }

    pub fn require_app_table(&self) -> Result<&str, ConfigError> {
        self.app_table.as_deref().ok_or(ConfigError::Missing("APP_TABLE"))
    }

    pub fn require_market_table(&self) -> Result<&str, ConfigError> {
        self.market_table.as_deref().ok_or(ConfigError::Missing("MARKET_TABLE"))
    }

    pub fn require_enrich_queue_url(&self) -> Result<&str, ConfigError> {
        self.enrich_queue_url.as_deref().ok_or(ConfigError::Missing("ENRICH_QUEUE_URL"))
    }

    pub fn require_jwt_public_keys(&self) -> Result<&str, ConfigError> {
        self.jwt_public_keys.as_deref().ok_or(ConfigError::Missing("JWT_PUBLIC_KEYS"))
    }

    /// Where the signing key comes from, and its id (auth only).
    pub fn require_jwt_signing_key(&self) -> Result<(&str, &SecretSource), ConfigError> {
        let key = self.jwt_signing_key.as_ref().ok_or(ConfigError::Missing("JWT_SIGNING_KEY_SECRET"))?;
        let kid = self.jwt_signing_kid.as_deref().ok_or(ConfigError::Missing("JWT_SIGNING_KID"))?;
        Ok((kid, key))
    }

    pub fn require_mail_queue_url(&self) -> Result<&str, ConfigError> {
        self.mail_queue_url.as_deref().ok_or(ConfigError::Missing("MAIL_QUEUE_URL"))
    }

    pub fn require_mail(&self) -> Result<&MailSettings, ConfigError> {
        self.mail.as_ref().ok_or(ConfigError::Missing("MAIL_FROM"))
    }

    pub fn require_cache_url(&self) -> Result<&CacheUrl, ConfigError> {
        self.cache_url.as_ref().ok_or(ConfigError::Missing("CACHE_URL"))
    }
}

struct Env(HashMap<String, String>);

impl Env {
    /// A set, non-blank value.
    fn optional(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    fn required(&self, name: &'static str) -> Result<&str, ConfigError> {
        self.optional(name).ok_or(ConfigError::Missing(name))
    }

    fn number(&self, name: &'static str, default: usize) -> Result<usize, ConfigError> {
        match self.optional(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| ConfigError::Malformed { name, reason: format!("expected a whole number, got {v:?}") }),
        }
    }

    /// A secret from Secrets Manager (`secret_var` names the secret) or inline (`inline_var`);
    /// a deployed stage refuses inline secrets (`error_name` is the setting errors name).
    fn secret(
        &self,
        deployed: bool,
        secret_var: &str,
        inline_var: &str,
        error_name: &'static str,
        json_key: &'static str,
    ) -> Result<Option<SecretSource>, ConfigError> {
        match (self.optional(secret_var), self.optional(inline_var)) {
            (Some(id), _) => Ok(Some(SecretSource::SecretsManager { secret_id: id.to_owned(), json_key })),
            (None, Some(_)) if deployed => Err(ConfigError::Malformed {
                name: error_name,
                reason: format!("a deployed stage reads {inline_var} from Secrets Manager (set {secret_var}), never from the environment"),
            }),
            (None, Some(value)) => Ok(Some(SecretSource::Inline(Secret::new(value)))),
            (None, None) => Ok(None),
        }
    }

    fn millis(&self, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
        let ms = self.number(name, default as usize)?;
        if ms == 0 {
            return Err(ConfigError::Malformed { name, reason: "must be at least 1 millisecond".into() });
        }
        Ok(Duration::from_millis(ms as u64))
    }
}

impl AssistantSettings {
    fn from_env(env: &Env, deployed: bool) -> Result<Self, ConfigError> {
        let malformed = |name: &'static str, reason: String| ConfigError::Malformed { name, reason };
        let provider = match env.optional("ASSISTANT_PROVIDER").unwrap_or("none") {
            "none" => AssistantProvider::None,
            "bedrock" => AssistantProvider::Bedrock,
            "openai" => {
                let url = env.optional("ASSISTANT_OPENAI_URL").ok_or(ConfigError::Missing("ASSISTANT_OPENAI_URL"))?;
                AssistantProvider::OpenAi {
                    base_url: EndpointUrl::parse("ASSISTANT_OPENAI_URL", url)?,
                    api_key: env.secret(
                        deployed,
                        "ASSISTANT_OPENAI_KEY_SECRET",
                        "ASSISTANT_OPENAI_KEY",
                        "ASSISTANT_OPENAI_KEY",
                        "apiKey",
                    )?,
                }
            }
            other => return Err(malformed("ASSISTANT_PROVIDER", format!("expected none, bedrock or openai, got {other:?}"))),
        };
        let default_model = match provider {
            AssistantProvider::OpenAi { .. } => "gpt-4o-mini",
            _ => "amazon.nova-micro-v1:0",
        };
        let default_byo = if deployed { "openai|https://api.openai.com/v1" } else { "" };
        let mut byo_endpoints = Vec::new();
        for entry in env.optional("ASSISTANT_BYO_ENDPOINTS").unwrap_or(default_byo).split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, url) =
                entry.split_once('|').ok_or_else(|| malformed("ASSISTANT_BYO_ENDPOINTS", format!("{entry:?}: expected name|base URL")))?;
            if name.is_empty() || name.len() > 32 || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
                return Err(malformed("ASSISTANT_BYO_ENDPOINTS", format!("{name:?}: names are 1 to 32 of a-z, 0-9 and -")));
            }
            byo_endpoints.push((name.to_owned(), EndpointUrl::parse("ASSISTANT_BYO_ENDPOINTS", url.trim())?));
        }
        Ok(AssistantSettings {
            provider,
            model: env.optional("ASSISTANT_MODEL").unwrap_or(default_model).to_owned(),
            byo_endpoints,
            kms_key_id: env.optional("ASSISTANT_KMS_KEY_ID").map(str::to_owned),
            prices: env.optional("ASSISTANT_PRICES").unwrap_or(DEFAULT_ASSISTANT_PRICES).to_owned(),
            budget_free_usd: env.optional("ASSISTANT_BUDGET_FREE_USD").map(str::to_owned),
            budget_pro_usd: env.optional("ASSISTANT_BUDGET_PRO_USD").map(str::to_owned),
            daily_cap_usd: env.optional("ASSISTANT_DAILY_CAP_USD").map(str::to_owned),
            call_timeout: env.millis("ASSISTANT_TIMEOUT_MS", 20_000)?,
        })
    }
}

/// The price table when `ASSISTANT_PRICES` is unset: Amazon Nova Micro and Lite on Bedrock and
/// OpenAI's gpt-4o-mini, USD per million tokens (list prices; a deployment sets its own).
pub const DEFAULT_ASSISTANT_PRICES: &str = r#"{"bedrock/amazon.nova-micro-v1:0":{"input_per_million":"0.035","output_per_million":"0.14"},"bedrock/amazon.nova-lite-v1:0":{"input_per_million":"0.06","output_per_million":"0.24"},"openai/gpt-4o-mini":{"input_per_million":"0.15","output_per_million":"0.6"}}"#;

/// Origins a local web app is served from (`bash dev/up.sh` serves the reference app on port 3000).
pub const LOCAL_WEB_ORIGINS: &[&str] = &["http://localhost:3000", "http://127.0.0.1:3000"];

/// `CORS_ALLOWED_ORIGINS` (comma-separated); the `local` and `test` stages also allow
/// [`LOCAL_WEB_ORIGINS`], so a page on the local stack works with no setting, while a deployed
/// stage allows only what it is given.
fn cors_origins(stage: Stage, value: Option<&str>) -> Vec<String> {
    let local = if stage == Stage::Prod { &[][..] } else { LOCAL_WEB_ORIGINS };
    let given = value.unwrap_or("").split(',').map(str::trim).filter(|o| !o.is_empty());
    let mut origins: Vec<String> = local.iter().copied().chain(given).map(str::to_owned).collect();
    origins.dedup();
    origins
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn local() -> Vec<(&'static str, &'static str)> {
        vec![
            ("BOURSE_STAGE", "local"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:18000"),
            ("AWS_ENDPOINT_URL_SQS", "http://localhost:14566"),
            ("CACHE_URL", "rediss://127.0.0.1:16379"),
            ("APP_TABLE", "bourse-app"),
        ]
    }

    #[test]
    fn mail_outside_production_goes_only_to_a_loopback_ses() {
        let mut v = local();
        v.push(("MAIL_FROM", "no-reply@bourse.example"));
        assert_eq!(Config::from_vars("enrich-consumer", vars(&v)).unwrap_err(), ConfigError::Missing("APP_URL"));
        v.push(("APP_URL", "http://localhost:3000/"));
        assert_eq!(Config::from_vars("enrich-consumer", vars(&v)).unwrap_err(), ConfigError::Missing("AWS_ENDPOINT_URL_SESV2"));
        v.push(("AWS_ENDPOINT_URL_SESV2", "https://email.us-east-1.amazonaws.com"));
        assert!(matches!(Config::from_vars("enrich-consumer", vars(&v)), Err(ConfigError::NotLoopback { .. })));
        v.pop();
        v.push(("AWS_ENDPOINT_URL_SESV2", "http://127.0.0.1:14566"));
        let config = Config::from_vars("enrich-consumer", vars(&v)).unwrap();
        assert_eq!(config.require_mail().unwrap().app_url, "http://localhost:3000");
    }

    #[test]
    fn local_stack_settings_are_accepted() {
        let config = Config::from_vars("auth", vars(&local())).unwrap();
        assert_eq!(config.stage, Stage::Local);
        assert_eq!(config.require_app_table().unwrap(), "bourse-app");
        assert_eq!(config.cache_timeouts.command, Duration::from_millis(50));
        assert_eq!(config.cache_timeouts.handshake, Duration::from_millis(1000));
        assert_eq!(config.require_market_table(), Err(ConfigError::Missing("MARKET_TABLE")));
    }

    #[test]
    fn market_providers_default_to_offline_and_stay_on_loopback_outside_prod() {
        let config = Config::from_vars("enrich-consumer", vars(&local())).unwrap();
        assert_eq!(config.market_providers.len(), 1);
        assert_eq!((config.market_providers[0].kind.as_str(), config.market_providers[0].base_url.as_ref()), ("offline", None));
        let mut v = local();
        v.push(("MARKET_PROVIDERS", "yahoo-chart|20|http://127.0.0.1:9001, alpha-vantage|5|http://127.0.0.1:9002"));
        v.push(("PROVIDER_API_KEY_ALPHA_VANTAGE", "k123"));
        let config = Config::from_vars("enrich-consumer", vars(&v)).unwrap();
        let p = &config.market_providers;
        assert_eq!((p[0].kind.as_str(), p[0].requests_per_second, p[0].api_key.is_none()), ("yahoo-chart", 20, true));
        assert_eq!(p[1].api_key, Some(SecretSource::Inline(Secret::new("k123"))));
        assert!(!format!("{config:?}").contains("k123"), "keys are redacted");
        let mut v = local();
        v.push(("MARKET_PROVIDERS", "yahoo-chart|20|https://chart.example"));
        assert!(matches!(Config::from_vars("x", vars(&v)).unwrap_err(), ConfigError::NotLoopback { name: "MARKET_PROVIDERS", .. }));
        for bad in ["yahoo-chart|20", "Yahoo|1|http://127.0.0.1:1", "offline|0", ","] {
            let mut v = local();
            v.push(("MARKET_PROVIDERS", bad));
            assert!(matches!(Config::from_vars("x", vars(&v)).unwrap_err(), ConfigError::Malformed { .. }), "{bad}");
        }
    }

    #[test]
    fn local_stages_allow_the_local_web_origins_and_a_deployed_stage_only_what_it_is_given() {
        let config = Config::from_vars("auth", vars(&local())).unwrap();
        assert_eq!(config.cors_allowed_origins, ["http://localhost:3000", "http://127.0.0.1:3000"]);
        let mut v = local();
        v.push(("CORS_ALLOWED_ORIGINS", " http://127.0.0.1:23000 ,,http://localhost:5173"));
        let config = Config::from_vars("auth", vars(&v)).unwrap();
        assert_eq!(
            config.cors_allowed_origins,
            ["http://localhost:3000", "http://127.0.0.1:3000", "http://127.0.0.1:23000", "http://localhost:5173"]
        );
        assert!(cors_origins(Stage::Prod, None).is_empty(), "production requires an explicit origin");
        assert_eq!(cors_origins(Stage::Prod, Some("https://app.example.com")), ["https://app.example.com"]);
        assert_eq!(cors_origins(Stage::Test, None), LOCAL_WEB_ORIGINS);
    }

    #[test]
    fn missing_stage_is_named() {
        let mut v = local();
        v.retain(|(k, _)| *k != "BOURSE_STAGE");
        assert_eq!(Config::from_vars("auth", vars(&v)).unwrap_err(), ConfigError::Missing("BOURSE_STAGE"));
    }

    #[test]
    fn local_stage_refuses_real_aws_endpoints() {
        let mut v = local();
        v.retain(|(k, _)| *k != "AWS_ENDPOINT_URL_DYNAMODB");
        assert_eq!(Config::from_vars("auth", vars(&v)).unwrap_err(), ConfigError::Missing("AWS_ENDPOINT_URL_DYNAMODB"));
        v.push(("AWS_ENDPOINT_URL_DYNAMODB", "https://dynamodb.us-east-1.amazonaws.com"));
        assert!(matches!(
            Config::from_vars("auth", vars(&v)).unwrap_err(),
            ConfigError::NotLoopback { name: "AWS_ENDPOINT_URL_DYNAMODB", .. }
        ));
    }

    #[test]
    fn the_generic_endpoint_applies_to_every_service() {
        let mut v = local();
        v.retain(|(k, _)| !k.starts_with("AWS_ENDPOINT_URL"));
        v.push(("AWS_ENDPOINT_URL", "http://127.0.0.1:4000"));
        let config = Config::from_vars("auth", vars(&v)).unwrap();
        assert_eq!(config.aws.sqs_endpoint.unwrap().as_str(), "http://127.0.0.1:4000");
    }

    #[test]
    fn malformed_values_name_the_setting() {
        let mut v = local();
        v.push(("CACHE_TIMEOUT_MS", "fast"));
        assert!(matches!(Config::from_vars("auth", vars(&v)).unwrap_err(), ConfigError::Malformed { name: "CACHE_TIMEOUT_MS", .. }));
        let mut v = local();
        v.retain(|(k, _)| *k != "CACHE_URL");
        v.push(("CACHE_URL", "http://127.0.0.1:6379"));
        assert!(matches!(Config::from_vars("auth", vars(&v)).unwrap_err(), ConfigError::Malformed { name: "CACHE_URL", .. }));
        let mut v = local();
        v.retain(|(k, _)| *k != "BOURSE_STAGE");
        v.push(("BOURSE_STAGE", "production"));
        assert!(matches!(Config::from_vars("auth", vars(&v)).unwrap_err(), ConfigError::Malformed { name: "BOURSE_STAGE", .. }));
    }

    #[test]
    fn urls_are_parsed_strictly() {
        assert_eq!(EndpointUrl::parse("X", "http://[::1]:80/").unwrap().host(), "::1");
        assert!(EndpointUrl::parse("X", "http://:80").is_err());
        assert!(EndpointUrl::parse("X", "http://host:99999").is_err());
        assert!(EndpointUrl::parse("X", "localhost:80").is_err());
        assert!(CacheUrl::parse("X", "rediss://user:pw@cache.internal:6379").is_ok());
    }

    #[test]
    fn the_signing_key_is_never_printed() {
        let mut v = local();
        v.push(("JWT_SIGNING_KEY", "MC4CAQAwBQYDK2VwBCIEIPrivateKeyMaterial"));
        v.push(("JWT_SIGNING_KID", "k1"));
        let config = Config::from_vars("auth", vars(&v)).unwrap();
        assert!(!format!("{config:?}").contains("PrivateKeyMaterial"));
        assert_eq!(config.require_jwt_signing_key().unwrap().0, "k1");
        assert_eq!(config.require_jwt_public_keys(), Err(ConfigError::Missing("JWT_PUBLIC_KEYS")));
    }

    #[test]
    fn cache_urls_carry_tls_port_database_and_credentials() {
        let url = CacheUrl::parse("CACHE_URL", "rediss://app:p%40ss@cache.internal:6380/5").unwrap();
        assert!(url.tls());
        assert_eq!((url.host(), url.port(), url.db(), url.username()), ("cache.internal", 6380, 5, Some("app")));
        assert_eq!(url.password().unwrap().expose(), "p@ss");
        assert!(!format!("{url:?}").contains("p@ss") && !format!("{url:?}").contains("p%40ss"), "{url:?}");
        let plain = CacheUrl::parse("CACHE_URL", "redis://[::1]").unwrap();
        assert!(!plain.tls());
        assert_eq!((plain.host(), plain.port(), plain.db(), plain.username()), ("::1", 6379, 0, None));
        assert_eq!(url.with_db(3).db(), 3);
        for bad in ["rediss://h:0", "rediss://h/16", "rediss://h/x", "rediss://u:%zz@h", "https://h"] {
            assert!(CacheUrl::parse("CACHE_URL", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cache_timeouts_are_set_separately() {
        let mut v = local();
        v.extend([
            ("CACHE_CONNECT_TIMEOUT_MS", "100"),
            ("CACHE_HANDSHAKE_TIMEOUT_MS", "2000"),
            ("CACHE_TIMEOUT_MS", "20"),
            ("CACHE_CA_FILE", "/tmp/ca.pem"),
        ]);
        let config = Config::from_vars("auth", vars(&v)).unwrap();
        let t = config.cache_timeouts;
        assert_eq!((t.connect, t.handshake, t.command), (Duration::from_millis(100), Duration::from_secs(2), Duration::from_millis(20)));
        assert_eq!(config.cache_ca_file.as_deref(), Some("/tmp/ca.pem"));
    }

    #[test]
    fn secrets_come_from_secrets_manager_and_a_deployed_stage_refuses_them_inline() {
        let prod = [("BOURSE_STAGE", "prod"), ("AWS_REGION", "eu-west-1")];
        let mut v = prod.to_vec();
        v.extend([("JWT_SIGNING_KEY_SECRET", "bourse/jwt-signing-key"), ("JWT_SIGNING_KID", "k1")]);
        v.extend([("MARKET_PROVIDERS", "alpha-vantage|5|https://av.example"), ("PROVIDER_API_KEY_SECRET_ALPHA_VANTAGE", "bourse/av")]);
        let config = Config::from_vars("auth", vars(&v)).unwrap();
        let wanted = SecretSource::SecretsManager { secret_id: "bourse/jwt-signing-key".into(), json_key: "privateKey" };
        assert_eq!(config.require_jwt_signing_key().unwrap(), ("k1", &wanted));
        let wanted = SecretSource::SecretsManager { secret_id: "bourse/av".into(), json_key: "apiKey" };
        assert_eq!(config.market_providers[0].api_key.as_ref(), Some(&wanted));

        let mut v = prod.to_vec();
        v.push(("JWT_SIGNING_KEY", "MC4CAQAwBQYDK2VwBCIEIPrivateKeyMaterial"));
        let err = Config::from_vars("auth", vars(&v)).unwrap_err();
        assert!(matches!(err, ConfigError::Malformed { name: "JWT_SIGNING_KEY", .. }), "{err}");
        assert!(!err.to_string().contains("PrivateKeyMaterial"));
        let mut v = prod.to_vec();
        v.extend([("MARKET_PROVIDERS", "alpha-vantage|5|https://av.example"), ("PROVIDER_API_KEY_ALPHA_VANTAGE", "k")]);
        assert!(matches!(Config::from_vars("x", vars(&v)).unwrap_err(), ConfigError::Malformed { name: "PROVIDER_API_KEY_<KIND>", .. }));

        // Outside production, Secrets Manager must be a loopback stand-in.
        let mut v = local();
        v.push(("JWT_SIGNING_KEY_SECRET", "bourse/jwt-signing-key"));
        assert_eq!(Config::from_vars("auth", vars(&v)).unwrap_err(), ConfigError::Missing("AWS_ENDPOINT_URL_SECRETS_MANAGER"));
        v.push(("AWS_ENDPOINT_URL_SECRETS_MANAGER", "https://secretsmanager.us-east-1.amazonaws.com"));
        assert!(matches!(
            Config::from_vars("auth", vars(&v)).unwrap_err(),
            ConfigError::NotLoopback { name: "AWS_ENDPOINT_URL_SECRETS_MANAGER", .. }
        ));
    }

    #[test]
    fn production_may_use_default_endpoints() {
        let config = Config::from_vars("auth", vars(&[("BOURSE_STAGE", "prod"), ("AWS_REGION", "eu-west-1")])).unwrap();
        assert!(config.aws.dynamodb_endpoint.is_none());
    }
}
