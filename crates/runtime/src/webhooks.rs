//! What the portfolio function (registration) and the consumer (every delivery) share about
//! webhooks: the receivers this deployment may reach, the name resolution whose every answer is
//! vetted (`bourse_domain::webhook::vet`), and the key that seals signing secrets at rest.

use crate::Platform;
use crate::secrets::InstanceSecret;
use bourse_config::Stage;
use bourse_domain::webhook::{Reach, Refusal, SealKey, WebhookUrl};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};

/// Public https receivers in production; loopback stand-ins only in the local and test stages,
/// where nothing may reach the internet (the stage is the template's `BOURSE_STAGE`).
pub fn reach(platform: &Platform) -> Reach {
    if platform.config.stage == Stage::Prod { Reach::Public } else { Reach::LoopbackOnly }
}

/// Resolves a host name to its addresses (injected, so tests can play a rebinding resolver).
pub trait Resolver: Send + Sync {
    fn lookup(&self, host: &str, port: u16) -> impl Future<Output = std::io::Result<Vec<IpAddr>>> + Send;
}

/// How long a name may take to resolve (a request waits on it at registration).
const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The system's resolver (in a Lambda: the VPC's), bounded by [`LOOKUP_TIMEOUT`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    async fn lookup(&self, host: &str, port: u16) -> std::io::Result<Vec<IpAddr>> {
        let found = tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "name resolution timed out"))??;
        Ok(found.map(|a| a.ip()).collect())
    }
}

/// The address to connect to for `url`: its literal address, or every address its name resolves
/// to now, vetted together. Called at registration and again before every attempt, whose
/// connection goes to exactly the address returned (a name re-pointed to loopback between the
/// check and the connection is never connected to).
pub async fn pinned_address(url: &WebhookUrl, reach: Reach, resolver: &impl Resolver) -> Result<SocketAddr, Refusal> {
    let addresses = match url.literal_address() {
        Some(address) => vec![address],
        None => resolver.lookup(url.host(), url.port()).await.map_err(|_| Refusal::NoAddress)?,
    };
    bourse_domain::webhook::vet(url, reach, &addresses)
}

/// The sealing key (`WEBHOOK_KEY_SECRET`), fetched once per instance in the background; `None`
/// when this deployment has none (webhook routes then answer 503).
pub fn seal_key(platform: &Platform) -> Option<InstanceSecret<SealKey>> {
    let source = platform.config.webhook_key.clone()?;
    Some(InstanceSecret::prefetch(platform, source, |secret| SealKey::new(secret.expose())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// Answers from a table, and records what was asked; a name may answer differently each time
    /// (a rebinding attacker's DNS).
    #[derive(Default)]
    struct Scripted {
        answers: Mutex<HashMap<String, Vec<Vec<IpAddr>>>>,
    }

    impl Scripted {
        fn answer(self, host: &str, answers: &[&[&str]]) -> Self {
            let parsed = answers.iter().map(|a| a.iter().map(|ip| ip.parse().unwrap()).collect()).collect();
            self.answers.lock().unwrap().insert(host.to_owned(), parsed);
            self
        }
    }

    impl Resolver for Scripted {
        async fn lookup(&self, host: &str, _port: u16) -> std::io::Result<Vec<IpAddr>> {
            let mut answers = self.answers.lock().unwrap();
            let queue = answers.get_mut(host).ok_or_else(|| std::io::Error::other("NXDOMAIN"))?;
            Ok(if queue.len() > 1 { queue.remove(0) } else { queue[0].clone() })
        }
    }

    fn url(text: &str) -> WebhookUrl {
        WebhookUrl::parse(text, Reach::Public).unwrap()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_name_that_resolves_to_loopback_or_private_space_is_refused() {
        let dns = Scripted::default()
            .answer("evil.example.com", &[&["127.0.0.1"]])
            .answer("metadata.example.com", &[&["169.254.169.254"]])
            .answer("v6.example.com", &[&["::1"]])
            .answer("mixed.example.com", &[&["93.184.216.34", "10.0.0.7"]])
            .answer("good.example.com", &[&["93.184.216.34"]]);
        for host in ["evil", "metadata", "v6", "mixed"] {
            let result = pinned_address(&url(&format!("https://{host}.example.com/hook")), Reach::Public, &dns).await;
            assert!(matches!(result, Err(Refusal::Address { .. })), "{host}: {result:?}");
        }
        let good = pinned_address(&url("https://good.example.com/hook"), Reach::Public, &dns).await;
        assert_eq!(good, Ok("93.184.216.34:443".parse().unwrap()));
        let unknown = pinned_address(&url("https://nowhere.example.com/"), Reach::Public, &dns).await;
        assert_eq!(unknown, Err(Refusal::NoAddress));
    }

    /// DNS rebinding: the name passed at registration, then points at loopback. The check before
    /// the attempt sees the new answer and refuses; the address it returns is the one connected to.
    #[tokio::test(flavor = "current_thread")]
    async fn a_name_rebound_to_loopback_after_registration_is_refused_at_delivery() {
        let dns = Scripted::default().answer("rebind.example.com", &[&["93.184.216.34"], &["127.0.0.1"]]);
        let hook = url("https://rebind.example.com/hook");
        assert_eq!(pinned_address(&hook, Reach::Public, &dns).await, Ok("93.184.216.34:443".parse().unwrap()));
        let later = pinned_address(&hook, Reach::Public, &dns).await;
        assert!(matches!(later, Err(Refusal::Address { reason: "loopback", .. })), "{later:?}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn literal_addresses_are_vetted_without_asking_the_resolver() {
        let dns = Scripted::default();
        for literal in [
            "https://10.1.2.3/",
            "https://172.16.5.4/",
            "https://192.168.0.10/",
            "https://[::ffff:127.0.0.1]/",
            "https://[fe80::1]/",
            "https://0.0.0.0/",
        ] {
            let result = pinned_address(&url(literal), Reach::Public, &dns).await;
            assert!(matches!(result, Err(Refusal::Address { .. })), "{literal}: {result:?}");
        }
        let local = WebhookUrl::parse("http://127.0.0.1:9/x", Reach::LoopbackOnly).unwrap();
        assert_eq!(pinned_address(&local, Reach::LoopbackOnly, &dns).await, Ok("127.0.0.1:9".parse().unwrap()));
    }
}
