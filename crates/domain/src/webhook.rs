//! Webhooks: where a user's notifications are POSTed, how each request is signed, which
//! addresses may receive them, and the retry schedule. Pure: the caller resolves names and
//! connects (`bourse_runtime::webhooks`), the rules and the cryptography are here.
//!
//! - **URL**: `https://host[:443][/path][?query]` (the consumer's network sends on 443 only), ASCII, no user info, no fragment, at most
//!   [`MAX_URL_LEN`] bytes; a host name must end in a label with a letter (so `2130706433` or
//!   `0x7f.1`, which resolvers read as addresses, are refused as names).
//! - **Addresses** ([`vet`]): every address the host resolves to must be public in production
//!   ([`Reach::Public`]): no private (RFC 1918, fc00::/7), loopback, link-local (169.254/16,
//!   fe80::/10), unspecified, multicast, CGNAT (100.64/10), documentation or reserved range, nor an
//!   IPv4-mapped/translated form of one. Outside production ([`Reach::LoopbackOnly`]) only
//!   loopback receivers are allowed, over http or https, so tests run a local receiver and nothing
//!   reaches the internet. The address checked is the one connected to (pinned).
//! - **Signature** ([`signature_header`]): `Bourse-Signature: t=<unix seconds>,v1=<hex
//!   HMAC-SHA256(secret, "<t>.<body>")>`, the key being the secret's text as shown (`whsec_…`).
//! - **Secret at rest** ([`SealKey`]): AES-256-GCM under a key from Secrets Manager, bound to the
//!   user and the endpoint (the associated data), so a copied item opens nowhere else.

use crate::UserId;
use crate::ids::WebhookId;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Endpoints one user may register.
pub const MAX_WEBHOOKS: u32 = 3;
/// Longest URL accepted.
pub const MAX_URL_LEN: usize = 2048;
/// Attempts of one delivery (the first, then one after each of [`RETRY_DELAYS_SECONDS`]).
pub const ATTEMPTS: u32 = 5;
/// The pause before attempts 2, 3, 4 and 5 (SQS delays: at most 900 s each).
pub const RETRY_DELAYS_SECONDS: [i32; 4] = [30, 120, 600, 900];
/// Consecutive failed deliveries (each after all its attempts) that disable an endpoint.
pub const DISABLE_AFTER_FAILED_DELIVERIES: u32 = 3;
/// Longest one attempt may take (connect, TLS, request, response head).
pub const ATTEMPT_TIMEOUT_SECONDS: u64 = 10;
/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "Bourse-Signature";
/// How old a signature a receiver should accept (the advice in the README).
pub const REPLAY_TOLERANCE_SECONDS: i64 = 300;

/// The pause before attempt `next` (2..=[`ATTEMPTS`]), or `None` when there is no such attempt.
pub fn retry_delay(next: u32) -> Option<i32> {
    let index = usize::try_from(next.checked_sub(2)?).ok()?;
    (next <= ATTEMPTS).then(|| RETRY_DELAYS_SECONDS.get(index).copied()).flatten()
}

/// Which receivers this deployment may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Production: https, public addresses only.
    Public,
    /// Outside production: loopback stand-ins only (http or https).
    LoopbackOnly,
}

/// Why a URL or an address was refused (said to the user as the field's problem).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("must be an absolute https URL of at most {MAX_URL_LEN} characters, without user info or fragment")]
    Shape,
    #[error("must use https")]
    NotHttps,
    #[error("the host name is not valid")]
    Host,
    #[error("must use port 443 (the only port deliveries leave on)")]
    Port,
    #[error("the host does not resolve to any address")]
    NoAddress,
    #[error("the host resolves to {address}, a {reason} address webhooks may not reach")]
    Address { address: IpAddr, reason: &'static str },
    #[error("outside production a webhook may only reach a loopback receiver (got {0})")]
    NotLoopback(IpAddr),
}

/// A webhook URL that passed the syntax checks (its addresses are checked by [`vet`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    text: String,
    https: bool,
    host: String,
    port: u16,
    path: String,
}

impl WebhookUrl {
    /// Parses `text` for `reach` (production takes https only).
    pub fn parse(text: &str, reach: Reach) -> Result<Self, Refusal> {
        if text.is_empty() || text.len() > MAX_URL_LEN || !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Refusal::Shape);
        }
        let (scheme, rest) = text.split_once("://").ok_or(Refusal::Shape)?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" if reach == Reach::LoopbackOnly => false,
            "http" => return Err(Refusal::NotHttps),
            _ => return Err(Refusal::Shape),
        };
        if rest.contains('#') {
            return Err(Refusal::Shape);
        }
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.contains('@') || authority.is_empty() {
            return Err(Refusal::Shape);
        }
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (host, after) = bracketed.split_once(']').ok_or(Refusal::Host)?;
            host.parse::<Ipv6Addr>().map_err(|_| Refusal::Host)?;
            (host.to_owned(), after)
        } else {
            let (host, after) = authority.find(':').map_or((authority, ""), |i| authority.split_at(i));
            if host.parse::<Ipv4Addr>().is_err() && !is_host_name(host) {
                return Err(Refusal::Host);
            }
            (host.to_ascii_lowercase(), after)
        };
        let port = match port {
            "" => {
                if https {
                    443
                } else {
                    80
                }
            }
            p => p.strip_prefix(':').and_then(|p| p.parse::<u16>().ok()).filter(|p| *p != 0).ok_or(Refusal::Shape)?,
        };
        // The consumer's network sends HTTPS on 443 only (its security group).
        if reach == Reach::Public && port != 443 {
            return Err(Refusal::Port);
        }
        let path = match path {
            "" => "/".to_owned(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_owned(),
        };
        Ok(WebhookUrl { text: text.to_owned(), https, host, port, path })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn is_https(&self) -> bool {
        self.https
    }

    /// The host as written (a name, or an address without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The request target: path and query.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The host when it is an address literal (no resolution needed).
    pub fn literal_address(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

/// A DNS name: dot-separated labels of letters, digits and inner hyphens, the last one holding a
/// letter.
fn is_host_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    let labels: Vec<&str> = host.split('.').collect();
    !host.is_empty()
        && host.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels.last().is_some_and(|l| l.bytes().any(|b| b.is_ascii_alphabetic()))
}

/// Why `address` is not a public unicast address, or `None` when it is.
pub fn non_public(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                // The connection goes to the IPv4 address: judge that one.
                return non_public_v4(v4);
            }
            let segments = v6.segments();
            let embedded_v4 = || Ipv4Addr::new((segments[6] >> 8) as u8, segments[6] as u8, (segments[7] >> 8) as u8, segments[7] as u8);
            if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_loopback() {
                Some("loopback")
            } else if segments[..6] == [0; 6] {
                Some("IPv4-compatible (deprecated)")
            } else if segments[0] & 0xfe00 == 0xfc00 {
                Some("private (unique local)")
            } else if segments[0] & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if segments[0] & 0xffc0 == 0xfec0 {
                Some("site-local")
            } else if segments[0] & 0xff00 == 0xff00 {
                Some("multicast")
            } else if segments[0] == 0x2001 && segments[1] == 0x0db8 {
                Some("documentation")
            } else if segments[..2] == [0x64, 0xff9b] {
                // NAT64 translates to the embedded IPv4 address: judge that one.
                non_public_v4(embedded_v4())
            } else if segments[0] == 0x2002 {
                Some("6to4")
            } else {
                None
            }
        }
    }
}

fn non_public_v4(v4: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = v4.octets();
    match (a, b, c) {
        (0, _, _) => Some("unspecified"),
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => Some("private"),
        (100, 64..=127, _) => Some("shared (CGNAT)"),
        (127, _, _) => Some("loopback"),
        (169, 254, _) => Some("link-local"),
        (192, 0, 0) => Some("IETF protocol"),
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => Some("documentation"),
        (198, 18..=19, _) => Some("benchmarking"),
        (224..=239, _, _) => Some("multicast"),
        (240..=255, _, _) => Some("reserved"),
        _ => None,
    }
}

fn is_loopback(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

/// The address to connect to for `url`, given every address its host resolved to: all of them
/// must be allowed under `reach` (one bad answer refuses the URL, so a name with a public and a
/// loopback record cannot be used to reach the loopback one); the first is returned, to be
/// connected to as is.
pub fn vet(url: &WebhookUrl, reach: Reach, addresses: &[IpAddr]) -> Result<SocketAddr, Refusal> {
    let first = *addresses.first().ok_or(Refusal::NoAddress)?;
    for &address in addresses {
        match reach {
            Reach::Public => {
                if let Some(reason) = non_public(address) {
                    return Err(Refusal::Address { address, reason });
                }
            }
            Reach::LoopbackOnly if !is_loopback(address) => return Err(Refusal::NotLoopback(address)),
            Reach::LoopbackOnly => {}
        }
    }
    if reach == Reach::Public && !url.is_https() {
        return Err(Refusal::NotHttps);
    }
    Ok(SocketAddr::new(first, url.port()))
}

/// A signing secret: `whsec_` and 64 hex digits (32 random bytes). Shown once, at creation;
/// its text is the HMAC key. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

/// Text that is not a signing secret (a corrupt or wrongly opened item).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a webhook secret")]
pub struct InvalidSecret;

impl WebhookSecret {
    pub fn from_random(bytes: [u8; 32]) -> Self {
        WebhookSecret(format!("whsec_{}", crate::text::hex(&bytes)))
    }

    pub fn parse(text: &str) -> Result<Self, InvalidSecret> {
        match text.strip_prefix("whsec_") {
            Some(hex) if crate::text::is_lower_hex(hex, 64) => Ok(WebhookSecret(text.to_owned())),
            _ => Err(InvalidSecret),
        }
    }

    /// The text to show the user, once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// `t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn signature_header(secret: &WebhookSecret, timestamp: i64, body: &[u8]) -> String {
    use aws_lc_rs::hmac;
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.0.as_bytes());
    let mut context = hmac::Context::with_key(&key);
    context.update(format!("{timestamp}.").as_bytes());
    context.update(body);
    format!("t={timestamp},v1={}", crate::text::hex(context.sign().as_ref()))
}

/// The key that seals signing secrets at rest: AES-256 with the SHA-256 of the configured key
/// text (which must hold at least 32 characters).
pub struct SealKey(LessSafeKey);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(…)")
    }
}

/// Why a secret could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the sealing key must be at least 32 characters")]
    ShortKey,
    #[error("a sealed secret did not open (another key, another endpoint, or altered)")]
    Open,
}

impl SealKey {
    pub fn new(key_text: &str) -> Result<Self, SealError> {
        use sha2::Digest;
        if key_text.trim().len() < 32 {
            return Err(SealError::ShortKey);
        }
        let digest = sha2::Sha256::digest(key_text.trim().as_bytes());
        let key = UnboundKey::new(&AES_256_GCM, digest.as_slice()).map_err(|_| SealError::ShortKey)?;
        Ok(SealKey(LessSafeKey::new(key)))
    }

    /// `hex(nonce ‖ ciphertext ‖ tag)`; `nonce` is 12 random bytes from the caller.
    pub fn seal(&self, secret: &WebhookSecret, user: &UserId, webhook: &WebhookId, nonce: [u8; NONCE_LEN]) -> Result<String, SealError> {
        let mut data = secret.0.as_bytes().to_vec();
        self.0
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad(user, webhook).as_bytes()), &mut data)
            .map_err(|_| SealError::Open)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(crate::text::hex(&out))
    }

    pub fn open(&self, sealed: &str, user: &UserId, webhook: &WebhookId) -> Result<WebhookSecret, SealError> {
        let bytes = crate::text::unhex(sealed).filter(|b| b.len() > NONCE_LEN).ok_or(SealError::Open)?;
        let (nonce, data) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Open)?;
        let mut data = data.to_vec();
        let plain = self.0.open_in_place(nonce, Aad::from(aad(user, webhook).as_bytes()), &mut data).map_err(|_| SealError::Open)?;
        let text = std::str::from_utf8(plain).map_err(|_| SealError::Open)?;
        WebhookSecret::parse(text).map_err(|_| SealError::Open)
    }
}

fn aad(user: &UserId, webhook: &WebhookId) -> String {
    format!("bourse-webhook:{user}:{webhook}")
}

/// The body of one webhook request: a typed event whose `id` stays the same across retries (the
/// receiver dedupes on it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEvent {
    /// `evt_` and the notification's id (or `evt_test_…` for a test ping).
    pub id: String,
    /// The notification's kind (`job-completed`, …), or `webhook-test`.
    #[serde(rename = "type")]
    pub kind: String,
    /// RFC 3339, UTC.
    pub created: String,
    pub data: EventData,
}

/// The notification an event carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventData {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    pub created_at: String,
}

/// The `type` of a test ping.
pub const TEST_EVENT_KIND: &str = "webhook-test";

impl WebhookEvent {
    /// The event id of a notification.
    pub fn id_of(notification_id: &str) -> String {
        format!("evt_{notification_id}")
    }

    /// A test ping's event (`hex`: 32 random hex digits).
    pub fn test(hex: &str, created: &str) -> Self {
        WebhookEvent {
            id: format!("evt_test_{hex}"),
            kind: TEST_EVENT_KIND.to_owned(),
            created: created.to_owned(),
            data: EventData {
                id: hex.to_owned(),
                kind: TEST_EVENT_KIND.to_owned(),
                title: "Test event".to_owned(),
                body: "Your Bourse webhook endpoint received this test event.".to_owned(),
                link: None,
                created_at: created.to_owned(),
            },
        }
    }

    /// An id that can be part of a key: `evt_` then letters, digits, `-` or `_`, at most 64.
    pub fn has_valid_id(&self) -> bool {
        self.id.len() <= 64
            && self
                .id
                .strip_prefix("evt_")
                .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    }
}

/// A user's delivery preferences (default: inbox and webhooks only, no e-mail).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryPreferences {
    /// Each notification also by e-mail, to the account's address.
    pub email: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> WebhookUrl {
        WebhookUrl::parse(text, Reach::Public).unwrap()
    }

    #[test]
    fn urls_are_absolute_https_without_user_info() {
        let u = url("https://hooks.example.com:443/in?x=1");
        assert_eq!((u.host(), u.port(), u.path(), u.is_https()), ("hooks.example.com", 443, "/in?x=1", true));
        assert_eq!(WebhookUrl::parse("https://hooks.example.com:8443/in", Reach::Public), Err(Refusal::Port));
        assert_eq!(url("https://Example.COM").path(), "/");
        assert_eq!(url("https://[2606:4700::1111]/x").host(), "2606:4700::1111");
        for bad in [
            "",
            "hooks.example.com/x",
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "https://example.com/#frag",
            "https://exa mple.com/",
            "https://example.com:0/",
            "https://example.com:99999/",
            "https://例え.jp/",
            "https://[::1/",
        ] {
            assert!(WebhookUrl::parse(bad, Reach::Public).is_err(), "{bad}");
        }
        assert_eq!(WebhookUrl::parse("http://example.com/", Reach::Public), Err(Refusal::NotHttps));
        // Numeric forms resolvers would read as 127.0.0.1 are not names.
        for numeric in ["https://2130706433/", "https://0x7f.1/", "https://127.1/", "https://-a.example.com/"] {
            assert_eq!(WebhookUrl::parse(numeric, Reach::Public), Err(Refusal::Host), "{numeric}");
        }
        assert!(WebhookUrl::parse(&format!("https://example.com/{}", "a".repeat(MAX_URL_LEN)), Reach::Public).is_err());
        assert!(WebhookUrl::parse("http://127.0.0.1:8080/hook", Reach::LoopbackOnly).is_ok());
    }

    #[test]
    fn private_loopback_link_local_and_reserved_addresses_are_refused() {
        let hook = url("https://hooks.example.com/");
        let refused = [
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.254",
            "192.168.1.1",
            "127.0.0.1",
            "127.8.9.10",
            "::1",
            "169.254.169.254",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "0.0.0.0",
            "::",
            "100.64.0.1",
            "100.127.255.255",
            "224.0.0.1",
            "ff02::1",
            "255.255.255.255",
            "64:ff9b::7f00:1",
            "::127.0.0.1",
            "2001:db8::1",
        ];
        for address in refused {
            let ip: IpAddr = address.parse().unwrap();
            assert!(matches!(vet(&hook, Reach::Public, &[ip]), Err(Refusal::Address { .. })), "{address} must be refused");
        }
        for public in ["93.184.216.34", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:93.184.216.34", "64:ff9b::5db8:d822"] {
            let ip: IpAddr = public.parse().unwrap();
            assert_eq!(vet(&hook, Reach::Public, &[ip]), Ok(SocketAddr::new(ip, 443)), "{public} is public");
        }
        // One bad answer among good ones refuses the host.
        let mixed: Vec<IpAddr> = vec!["93.184.216.34".parse().unwrap(), "127.0.0.1".parse().unwrap()];
        assert!(vet(&hook, Reach::Public, &mixed).is_err());
        assert_eq!(vet(&hook, Reach::Public, &[]), Err(Refusal::NoAddress));
    }

    #[test]
    fn outside_production_only_loopback_receivers_are_reached() {
        let local = WebhookUrl::parse("http://localhost:9000/hook", Reach::LoopbackOnly).unwrap();
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(vet(&local, Reach::LoopbackOnly, &[loopback]), Ok(SocketAddr::new(loopback, 9000)));
        let public: IpAddr = "93.184.216.34".parse().unwrap();
        assert_eq!(vet(&local, Reach::LoopbackOnly, &[public]), Err(Refusal::NotLoopback(public)));
        // Production never takes plain http, even to a public address.
        let plain = WebhookUrl::parse("http://localhost:9000/hook", Reach::LoopbackOnly).unwrap();
        assert_eq!(vet(&plain, Reach::Public, &[public]), Err(Refusal::NotHttps));
    }

    /// HMAC-SHA256 written out from its definition (RFC 2104) over `sha2`, independent of the
    /// production code's aws-lc HMAC.
    fn hmac_by_hand(key: &[u8], message: &[u8]) -> Vec<u8> {
        use sha2::{Digest, Sha256};
        let mut block = [0u8; 64];
        if key.len() > 64 {
            block[..32].copy_from_slice(Sha256::digest(key).as_slice());
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
        let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
        Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().to_vec()
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        let secret = WebhookSecret::parse(&format!("whsec_{}", "0f".repeat(32))).unwrap();
        let body = br#"{"id":"evt_1","type":"job-completed"}"#;
        let header = signature_header(&secret, 1_796_212_800, body);
        let mut signed = b"1796212800.".to_vec();
        signed.extend_from_slice(body);
        let expected = crate::text::hex(&hmac_by_hand(secret.expose().as_bytes(), &signed));
        assert_eq!(header, format!("t=1796212800,v1={expected}"));
        // Another body, time or secret gives another signature.
        assert_ne!(signature_header(&secret, 1_796_212_801, body), header);
        assert_ne!(signature_header(&WebhookSecret::from_random([0; 32]), 1_796_212_800, body), header);
        assert_eq!(WebhookSecret::parse("whsec_short"), Err(InvalidSecret));
    }

    #[test]
    fn the_retry_schedule_stays_within_sqs_delays() {
        assert_eq!((1..=ATTEMPTS + 1).map(retry_delay).collect::<Vec<_>>(), [None, Some(30), Some(120), Some(600), Some(900), None]);
        assert!(RETRY_DELAYS_SECONDS.iter().all(|d| (0..=900).contains(d)));
    }

    #[test]
    fn secrets_seal_to_their_endpoint_only() {
        let key = SealKey::new("0123456789abcdef0123456789abcdef").unwrap();
        let secret = WebhookSecret::from_random([7; 32]);
        assert_eq!(secret.expose().len(), 6 + 64);
        assert_eq!(format!("{secret:?}"), "WebhookSecret(…)");
        let user = UserId::parse(&"a".repeat(32)).unwrap();
        let hook = WebhookId::from_random([1; 16]);
        let sealed = key.seal(&secret, &user, &hook, [9; NONCE_LEN]).unwrap();
        assert!(!sealed.contains(&secret.expose()[6..]));
        assert_eq!(key.open(&sealed, &user, &hook), Ok(secret.clone()));
        let other_hook = WebhookId::from_random([2; 16]);
        assert_eq!(key.open(&sealed, &user, &other_hook), Err(SealError::Open));
        let other_key = SealKey::new("another key of at least thirty-two chars").unwrap();
        assert_eq!(other_key.open(&sealed, &user, &hook), Err(SealError::Open));
        let mut altered = sealed.clone().into_bytes();
        altered[40] = if altered[40] == b'0' { b'1' } else { b'0' };
        assert_eq!(key.open(std::str::from_utf8(&altered).unwrap(), &user, &hook), Err(SealError::Open));
        assert_eq!(SealKey::new("short").err(), Some(SealError::ShortKey));
    }

    #[test]
    fn events_carry_a_key_safe_id() {
        let event = WebhookEvent::test(&"ab".repeat(16), "2026-12-02T12:00:00Z");
        assert!(event.has_valid_id());
        let text = serde_json::to_string(&event).unwrap();
        assert!(text.starts_with(r#"{"id":"evt_test_abab"#), "{text}");
        assert!(text.contains(r#""type":"webhook-test""#));
        assert_eq!(serde_json::from_str::<WebhookEvent>(&text).unwrap(), event);
        let bad = WebhookEvent { id: "evt_a#b".into(), ..event };
        assert!(!bad.has_valid_id());
    }
}
