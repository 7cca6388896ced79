//! Messages on the enrichment queue and the scheduled trigger's payload. The producer (screener,
//! portfolio, the schedule) and the consumer share these types, so the wire format is defined once.

use serde::{Deserialize, Serialize};

/// The body of one enrichment-queue message, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum QueueMessage {
    /// A diagnostic that proves the queue reaches the consumer end to end: the consumer records
    /// the id, and the record expires after a day.
    Ping { id: String },
    /// Enrich one symbol for a job: fetch it from the providers, write it, count it once.
    Enrich {
        #[serde(rename = "jobId")]
        job_id: crate::jobs::JobId,
        symbol: crate::symbol::Symbol,
    },
    /// Fan out the day's value snapshots of one shard of the active-portfolio index, one page at a
    /// time: the consumer reads the page after `after` (the index position of the last portfolio
    /// already fanned out), sends one `snapshot-portfolio` message per portfolio, and — when the
    /// shard has more — one `snapshot-shard` message to continue after this page. So any number
    /// of portfolios is covered, each message in bounded time.
    SnapshotShard {
        shard: u32,
        date: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
    },
    /// Write one portfolio's value snapshot for `date` (idempotent: the day overwrites itself).
    SnapshotPortfolio { user: crate::UserId, portfolio: crate::PortfolioId, date: String },
    /// Publish the symbols that completed jobs left pending into the universe: one publish for
    /// every job completed within the interval, sent delayed by the interval.
    PublishUniverse,
    /// Send one e-mail (the mail queue). `id` names it, so a redelivered message that was already
    /// sent is not sent again.
    SendMail { id: String, mail: crate::mail::Mail },
    /// One attempt to deliver `event` to one of `user`'s webhook endpoints (the account queue).
    /// A failed attempt sends attempt + 1, delayed by `webhook::retry_delay`; the attempt's
    /// outcome is recorded with a condition, so a redelivered attempt neither posts twice nor
    /// continues the chain twice.
    DeliverWebhook { user: crate::UserId, webhook: crate::WebhookId, attempt: u32, event: crate::webhook::WebhookEvent },
    /// Sent in place of an e-mail to an address without an account (a password reset for an
    /// unknown address), so that the request costs the same as for a known one; dropped.
    Decoy,
    /// Delete every item of an account whose owner asked for it (the account queue). Each message
    /// deletes a bounded share and sends itself again until nothing is left; then one delayed
    /// `finalPass` catches what requests in flight at the time of the deletion wrote, and the
    /// owner is told. `email` is the account's address (its sign-in limits are keyed by it, and
    /// the goodbye goes to it).
    EraseAccount {
        user: crate::UserId,
        email: String,
        #[serde(default, rename = "finalPass", skip_serializing_if = "std::ops::Not::not")]
        final_pass: bool,
    },
    /// Evaluate the alerts of `symbol` after `after` (the index position `<user>#<alert>` of the
    /// last one evaluated) against what its refresh found: the enrichment evaluates the first
    /// page itself and sends this for the next, so a symbol with many alerts is spread over
    /// messages of bounded work.
    EvaluateAlerts {
        symbol: crate::symbol::Symbol,
        seen: crate::alerts::Observation,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
    },
    /// Tell `user` that an import into `portfolio` finished (sent by the portfolio function once
    /// the import is stored; the consumer's `notify` stores it and delivers it). `file` is the
    /// file's SHA-256 (hex): with `at`, it names the notification, so a redelivery tells once.
    ImportFinished {
        user: crate::UserId,
        portfolio: crate::PortfolioId,
        file: String,
        at: String,
        added: u64,
        duplicates: u64,
        skipped: u64,
    },
    /// Diff the saved-screen alerts after `after` against universe `version` (sent when a new
    /// universe is published; one page per message, continued by the next).
    EvaluateScreenAlerts {
        version: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
    },
}

/// The payload the EventBridge schedule sends (its `Input` in `template.yaml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ScheduledTask {
    /// The daily refresh after the US close.
    ScheduledRefresh,
    /// Every quarter of an hour: finish jobs that stopped making progress (a message lost to
    /// the dead-letter queue never records its symbol's outcome).
    SweepJobs,
}

fn is_date(text: &str) -> bool {
    // The date as written: no blanks around it (it becomes part of a key).
    text.len() == 10 && crate::text::parse_date(text).is_ok()
}

/// Ids become parts of keys: keep them to a safe alphabet.
fn is_key_part(text: &str) -> bool {
    !text.is_empty() && text.len() <= 64 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// An index position `<user>#<id>` a continuation starts after.
fn is_position(after: &str) -> bool {
    after.split_once('#').is_some_and(|(u, p)| is_key_part(u) && is_key_part(p))
}

/// Longest diagnostic id accepted (it becomes part of a key).
pub const MAX_PING_ID_LEN: usize = 64;

/// Why a message body can never be processed, however often it is delivered (a poison message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidMessage {
    /// Not JSON, an unknown `kind`, a missing or unknown field, or a field of the wrong type or
    /// value (an id or a symbol that does not parse).
    #[error("not a queue message: {0}")]
    Shape(String),
    #[error("ping id must be 1 to {MAX_PING_ID_LEN} letters, digits or dashes")]
    PingId,
    #[error("snapshot date must be YYYY-MM-DD, got {0:?}")]
    SnapshotDate(String),
    #[error("a shard continuation names the last <user>#<portfolio> fanned out")]
    ShardContinuation,
    #[error("an alert continuation names the last <user>#<alert> evaluated")]
    AlertContinuation,
    #[error("a mail needs an id of 1 to 64 letters, digits or dashes and a valid recipient")]
    Mail,
    #[error("an erasure names the account's valid e-mail address")]
    ErasureEmail,
    #[error(
        "a webhook delivery needs an attempt from 1 to {} and an event id evt_… of at most 64 key-safe characters",
        crate::webhook::ATTEMPTS
    )]
    WebhookDelivery,
    #[error("an import's notification needs the file's SHA-256 in lower-case hex and an RFC 3339 time")]
    ImportFinished,
}

impl QueueMessage {
    /// Parses and checks a message body; the error says why it can never succeed.
    pub fn parse(body: &str) -> Result<Self, InvalidMessage> {
        let message: QueueMessage = serde_json::from_str(body).map_err(|e| InvalidMessage::Shape(e.to_string()))?;
        match &message {
            QueueMessage::Ping { id } if id.len() > MAX_PING_ID_LEN || !is_key_part(id) => Err(InvalidMessage::PingId),
            QueueMessage::SnapshotShard { date, .. } | QueueMessage::SnapshotPortfolio { date, .. } if !is_date(date) => {
                Err(InvalidMessage::SnapshotDate(date.clone()))
            }
            QueueMessage::SendMail { id, mail } if !is_key_part(id) || crate::Email::parse(mail.to()).is_err() => Err(InvalidMessage::Mail),
            QueueMessage::EraseAccount { email, .. } if crate::Email::parse(email).is_err() => Err(InvalidMessage::ErasureEmail),
            QueueMessage::ImportFinished { file, at, .. }
                if !crate::text::is_lower_hex(file, 64) || crate::text::parse_rfc3339(at).is_err() =>
            {
                Err(InvalidMessage::ImportFinished)
            }
            QueueMessage::DeliverWebhook { attempt, event, .. }
                if !(1..=crate::webhook::ATTEMPTS).contains(attempt) || !event.has_valid_id() =>
            {
                Err(InvalidMessage::WebhookDelivery)
            }
            QueueMessage::SnapshotShard { after: Some(after), .. } if !is_position(after) => Err(InvalidMessage::ShardContinuation),
            QueueMessage::EvaluateAlerts { after: Some(after), .. } | QueueMessage::EvaluateScreenAlerts { after: Some(after), .. }
                if !is_position(after) =>
            {
                Err(InvalidMessage::AlertContinuation)
            }
            _ => Ok(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_with_their_kind() {
        let ping = QueueMessage::Ping { id: "abc-1".into() };
        let text = serde_json::to_string(&ping).unwrap();
        assert_eq!(text, r#"{"kind":"ping","id":"abc-1"}"#);
        assert_eq!(QueueMessage::parse(&text).unwrap(), ping);
        let shard = QueueMessage::SnapshotShard { shard: 7, date: "2026-11-25".into(), after: None };
        assert_eq!(serde_json::to_string(&shard).unwrap(), r#"{"kind":"snapshot-shard","shard":7,"date":"2026-11-25"}"#);
        assert_eq!(QueueMessage::parse(&serde_json::to_string(&shard).unwrap()).unwrap(), shard);
        let next = QueueMessage::SnapshotShard { shard: 7, date: "2026-11-25".into(), after: Some("u1#p1".into()) };
        assert_eq!(QueueMessage::parse(&serde_json::to_string(&next).unwrap()).unwrap(), next);
        assert!(QueueMessage::parse(r#"{"kind":"snapshot-shard","shard":1,"date":"2026-11-25","after":"no-separator"}"#).is_err());
        assert!(QueueMessage::parse(r#"{"kind":"snapshot-shard","shard":1,"date":"25/11/2026"}"#).is_err());
        assert!(QueueMessage::parse(r#"{"kind":"snapshot-portfolio","user":"a#b","portfolio":"p","date":"2026-11-25"}"#).is_err());
        let task: ScheduledTask = serde_json::from_str(r#"{"kind":"scheduled-refresh"}"#).unwrap();
        assert_eq!(task, ScheduledTask::ScheduledRefresh);
    }

    #[test]
    fn poison_messages_are_refused_with_a_reason() {
        let shape = |body: &str| matches!(QueueMessage::parse(body), Err(InvalidMessage::Shape(_)));
        assert!(shape("not json"));
        assert!(shape(r#"{"kind":"unknown"}"#));
        assert!(shape(r#"{"kind":"ping","id":"a","extra":1}"#));
        assert!(shape(r#"{"kind":"enrich","jobId":"nope","symbol":"AAPL"}"#));
        assert!(shape(r#"{"kind":"enrich","jobId":"refresh-2026-11-25","symbol":"A B"}"#));
        assert_eq!(QueueMessage::parse(r#"{"kind":"ping","id":"a b"}"#), Err(InvalidMessage::PingId));
        assert_eq!(QueueMessage::parse(r#"{"kind":"ping","id":""}"#), Err(InvalidMessage::PingId));
        let long = format!(r#"{{"kind":"ping","id":"{}"}}"#, "a".repeat(MAX_PING_ID_LEN + 1));
        assert_eq!(QueueMessage::parse(&long), Err(InvalidMessage::PingId));
        let (user, portfolio) = ("0".repeat(32), "f".repeat(32));
        let snapshot = |user: &str, portfolio: &str, date: &str| {
            QueueMessage::parse(&format!(r#"{{"kind":"snapshot-portfolio","user":"{user}","portfolio":"{portfolio}","date":"{date}"}}"#))
        };
        assert!(snapshot(&user, &portfolio, "2026-11-25").is_ok());
        assert_eq!(snapshot(&user, &portfolio, "2026-02-30"), Err(InvalidMessage::SnapshotDate("2026-02-30".into())));
        assert!(matches!(snapshot("a#b", &portfolio, "2026-11-25"), Err(InvalidMessage::Shape(_))));
        assert!(matches!(snapshot(&user, &portfolio.to_uppercase(), "2026-11-25"), Err(InvalidMessage::Shape(_))));
        let after = r#"{"kind":"snapshot-shard","shard":1,"date":"2026-11-25","after":"u1"}"#;
        assert_eq!(QueueMessage::parse(after), Err(InvalidMessage::ShardContinuation));
    }

    #[test]
    fn mail_messages_carry_an_id_and_a_valid_recipient() {
        let ok = r#"{"kind":"send-mail","id":"m-1","mail":{"template":"password-changed","to":"ada@example.com"}}"#;
        assert!(matches!(QueueMessage::parse(ok), Ok(QueueMessage::SendMail { .. })));
        let bad_to = r#"{"kind":"send-mail","id":"m-1","mail":{"template":"password-changed","to":"nobody"}}"#;
        assert_eq!(QueueMessage::parse(bad_to), Err(InvalidMessage::Mail));
        let bad_id = r#"{"kind":"send-mail","id":"a b","mail":{"template":"password-changed","to":"ada@example.com"}}"#;
        assert_eq!(QueueMessage::parse(bad_id), Err(InvalidMessage::Mail));
    }

    #[test]
    fn an_erasure_names_a_user_and_a_valid_address() {
        let ok = r#"{"kind":"erase-account","user":"0123456789abcdef0123456789abcdef","email":"a@b.co"}"#;
        let Ok(QueueMessage::EraseAccount { final_pass, .. }) = QueueMessage::parse(ok) else { panic!("{ok} should parse") };
        assert!(!final_pass);
        let last = r#"{"kind":"erase-account","user":"0123456789abcdef0123456789abcdef","email":"a@b.co","finalPass":true}"#;
        assert!(matches!(QueueMessage::parse(last), Ok(QueueMessage::EraseAccount { final_pass: true, .. })));
        let bad_email = r#"{"kind":"erase-account","user":"0123456789abcdef0123456789abcdef","email":"nope"}"#;
        assert_eq!(QueueMessage::parse(bad_email), Err(InvalidMessage::ErasureEmail));
        assert_eq!(QueueMessage::parse(r#"{"kind":"decoy"}"#), Ok(QueueMessage::Decoy));
        let bad_user = r#"{"kind":"erase-account","user":"USER#x","email":"a@b.co"}"#;
        assert!(matches!(QueueMessage::parse(bad_user), Err(InvalidMessage::Shape(_))));
    }

    #[test]
    fn webhook_deliveries_carry_an_attempt_in_range_and_a_key_safe_event_id() {
        let event = crate::webhook::WebhookEvent::test(&"ab".repeat(16), "2026-12-02T12:00:00Z");
        let message = |attempt: u32, event: &crate::webhook::WebhookEvent| {
            let m = QueueMessage::DeliverWebhook {
                user: crate::UserId::parse(&"a".repeat(32)).unwrap(),
                webhook: crate::WebhookId::from_random([3; 16]),
                attempt,
                event: event.clone(),
            };
            QueueMessage::parse(&serde_json::to_string(&m).unwrap()).map(|_| ())
        };
        assert_eq!(message(1, &event), Ok(()));
        assert_eq!(message(crate::webhook::ATTEMPTS, &event), Ok(()));
        assert_eq!(message(0, &event), Err(InvalidMessage::WebhookDelivery));
        assert_eq!(message(crate::webhook::ATTEMPTS + 1, &event), Err(InvalidMessage::WebhookDelivery));
        let bad = crate::webhook::WebhookEvent { id: "evt_x#y".into(), ..event };
        assert_eq!(message(1, &bad), Err(InvalidMessage::WebhookDelivery));
    }

    #[test]
    fn alert_evaluations_carry_what_was_seen_and_where_to_continue() {
        let seen = crate::alerts::Observation {
            price: Some(rust_decimal::Decimal::new(12345, 2)),
            change_pct: None,
            signals: vec![crate::signals::SignalKind::GoldenCross],
        };
        let message = QueueMessage::EvaluateAlerts { symbol: crate::Symbol::parse("AAPL").unwrap(), seen, after: Some("u#a".into()) };
        let text = serde_json::to_string(&message).unwrap();
        assert_eq!(QueueMessage::parse(&text).unwrap(), message);
        let screens = QueueMessage::EvaluateScreenAlerts { version: 7, after: None };
        assert_eq!(serde_json::to_string(&screens).unwrap(), r#"{"kind":"evaluate-screen-alerts","version":7}"#);
        let bad = r#"{"kind":"evaluate-screen-alerts","version":7,"after":"nope"}"#;
        assert_eq!(QueueMessage::parse(bad), Err(InvalidMessage::AlertContinuation));
    }

    #[test]
    fn an_import_notification_carries_the_files_digest_and_a_time() {
        let message = |file: &str, at: &str| QueueMessage::ImportFinished {
            user: crate::UserId::parse(&"a".repeat(32)).unwrap(),
            portfolio: crate::PortfolioId::parse(&"b".repeat(32)).unwrap(),
            file: file.into(),
            at: at.into(),
            added: 3,
            duplicates: 1,
            skipped: 0,
        };
        let good = message(&"0f".repeat(32), "2026-12-02T12:00:00Z");
        assert_eq!(QueueMessage::parse(&serde_json::to_string(&good).unwrap()), Ok(good));
        for bad in [
            message("0F".repeat(32).as_str(), "2026-12-02T12:00:00Z"),
            message("0f", "2026-12-02T12:00:00Z"),
            message(&"0f".repeat(32), "yesterday"),
        ] {
            assert_eq!(QueueMessage::parse(&serde_json::to_string(&bad).unwrap()), Err(InvalidMessage::ImportFinished));
        }
    }

    #[test]
    fn enrich_messages_carry_a_job_and_a_symbol() {
        let text = r#"{"kind":"enrich","jobId":"refresh-2026-11-25","symbol":"brk.b"}"#;
        let QueueMessage::Enrich { job_id, symbol } = QueueMessage::parse(text).unwrap() else { panic!() };
        assert_eq!((job_id.as_str(), symbol.as_str()), ("refresh-2026-11-25", "BRK.B"));
        let back = serde_json::to_string(&QueueMessage::Enrich { job_id, symbol }).unwrap();
        assert_eq!(back, r#"{"kind":"enrich","jobId":"refresh-2026-11-25","symbol":"BRK.B"}"#);
    }
}
