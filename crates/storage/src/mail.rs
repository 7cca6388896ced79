//! E-mail: queued by the functions that need to tell a user something (auth), sent by the
//! consumer through SES, each at most once per id as far as a redelivery goes.
//!
//! Keys: a sent mail `pk = MAILSENT#<id>`, `sk = MAILSENT`, `ttl` = sent + 2 days (longer than
//! the queue keeps a message), so a redelivered message that was already sent is skipped.

use crate::attr::{n, s};
use crate::clients::AwsClients;
use crate::error::{StorageError, dynamodb_error};
use crate::query::get_item;
use crate::schema::{PK, SK, TTL};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use bourse_domain::mail::{Mail, Rendered};
use bourse_domain::messages::QueueMessage;

/// How long a sent mail's id is remembered.
const SENT_RECORD_SECONDS: i64 = 2 * 24 * 60 * 60;

/// Queues `mail` under `id` on the mail queue. 1 SendMessageBatch of one entry.
pub async fn enqueue(clients: &AwsClients, queue_url: &str, id: &str, mail: Mail) -> Result<(), StorageError> {
    crate::queue::send_messages(clients, queue_url, &[QueueMessage::SendMail { id: id.to_owned(), mail }], None).await.map(|_| ())
}

/// Whether the mail `id` was sent already. 1 GetItem, strongly consistent (1 RCU).
pub async fn was_sent(clients: &AwsClients, table: &str, id: &str) -> Result<bool, StorageError> {
    Ok(get_item(clients, table, format!("MAILSENT#{id}"), "MAILSENT", true).await?.is_some())
}

/// Remembers that the mail `id` was sent. 1 PutItem (1 WCU).
pub async fn record_sent(clients: &AwsClients, table: &str, id: &str, now: i64) -> Result<(), StorageError> {
    clients
        .dynamodb
        .put_item()
        .table_name(table)
        .item(PK, s(format!("MAILSENT#{id}")))
        .item(SK, s("MAILSENT"))
        .item(TTL, n(now + SENT_RECORD_SECONDS))
        .send()
        .await
        .map(|_| ())
        .map_err(dynamodb_error)
}

/// Sends one message from `from` to `to` (SES v2 SendEmail, 1 request). A refused message (an
/// unverified sender, a suppressed recipient) is [`StorageError::Invalid`]: sending it again
/// cannot help.
pub async fn send(ses: &aws_sdk_sesv2::Client, from: &str, to: &str, message: &Rendered) -> Result<(), StorageError> {
    let content = |text: &str| Content::builder().data(text).charset("UTF-8").build();
    let build = |e: aws_sdk_sesv2::error::BuildError| StorageError::Invalid { service: "ses", message: e.to_string() };
    let body = Body::builder().text(content(&message.text).map_err(build)?).html(content(&message.html).map_err(build)?).build();
    let email = EmailContent::builder().simple(Message::builder().subject(content(&message.subject).map_err(build)?).body(body).build());
    let result = ses
        .send_email()
        .from_email_address(from)
        .destination(Destination::builder().to_addresses(to).build())
        .content(email.build())
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_message_rejected() || e.is_bad_request_exception()) => {
            Err(StorageError::Invalid { service: "ses", message: e.to_string() })
        }
        Err(e) => Err(StorageError::from_sdk("ses", e)),
    }
}
