//! The notifications inbox: what a user is told (a job finished; later, alerts), newest first,
//! with an unread count kept exact beside the notifications (storage: `bourse_storage::inbox`).

use serde::{Deserialize, Serialize};

/// A notification's id: 13 digits of epoch milliseconds, `-`, 12 lower-case hex digits — newest
/// first is descending id order. A producer that may run twice derives the hex from what it
/// reports, so a second delivery finds the first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NotificationId(String);

/// Text that is not a notification id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a notification id")]
pub struct InvalidNotificationId;

impl NotificationId {
    pub fn new(epoch_millis: i64, hex: &str) -> Result<Self, InvalidNotificationId> {
        crate::text::time_ordered_id(epoch_millis, hex).map(NotificationId).ok_or(InvalidNotificationId)
    }

    pub fn parse(text: &str) -> Result<Self, InvalidNotificationId> {
        if crate::text::is_time_ordered_id(text) { Ok(NotificationId(text.to_owned())) } else { Err(InvalidNotificationId) }
    }
}

crate::ids::text_id!(NotificationId);

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotificationKind {
    /// A job the user started (an enrichment, an import's unknown symbols) finished.
    JobCompleted,
    /// A webhook endpoint was disabled after repeated failed deliveries.
    WebhookDisabled,
    /// One of the user's alerts fired (`bourse_domain::alerts`).
    AlertFired,
    /// A CSV import into one of the user's portfolios finished.
    ImportFinished,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::JobCompleted => "job-completed",
            NotificationKind::WebhookDisabled => "webhook-disabled",
            NotificationKind::AlertFired => "alert-fired",
            NotificationKind::ImportFinished => "import-finished",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "job-completed" => Some(NotificationKind::JobCompleted),
            "webhook-disabled" => Some(NotificationKind::WebhookDisabled),
            "alert-fired" => Some(NotificationKind::AlertFired),
            "import-finished" => Some(NotificationKind::ImportFinished),
            _ => None,
        }
    }
}

/// How long a read notification is kept; unread ones are kept until read or deleted, so the
/// unread count never counts what expired.
pub const READ_RETENTION_SECONDS: i64 = 30 * 24 * 60 * 60;

/// The notification of a finished job: `done` symbols enriched, `failed` not.
pub fn job_completed(done: u64, failed: u64) -> (String, String) {
    let title =
        if failed == 0 { "Your enrichment job finished".to_owned() } else { "Your enrichment job finished with failures".to_owned() };
    let symbols = |n: u64| if n == 1 { "1 symbol".to_owned() } else { format!("{n} symbols") };
    let body = if failed == 0 {
        format!("{} enriched.", symbols(done))
    } else {
        format!("{} enriched, {} failed (the job lists why).", symbols(done), symbols(failed))
    };
    (title, body)
}

/// The notification of a finished import into the portfolio `portfolio_name`: what it added,
/// what it found already there, and what it skipped.
pub fn import_finished(portfolio_name: &str, added: u64, duplicates: u64, skipped: u64) -> (String, String) {
    let transactions = |n: u64| if n == 1 { "1 transaction".to_owned() } else { format!("{n} transactions") };
    let mut body = format!("{} added to {portfolio_name}", transactions(added));
    if duplicates > 0 {
        body.push_str(&format!(", {} already there", transactions(duplicates)));
    }
    if skipped > 0 {
        body.push_str(&format!(", {skipped} {} skipped", if skipped == 1 { "row" } else { "rows" }));
    }
    body.push('.');
    ("Your import finished".to_owned(), body)
}

/// The notice of an endpoint disabled after `failures` failed deliveries in a row.
pub fn webhook_disabled(url: &str, failures: u32) -> (String, String) {
    (
        "A webhook endpoint was disabled".to_owned(),
        format!(
            "{failures} deliveries in a row to {url} failed, so it gets no more events. Fix the receiver, then delete the endpoint and register it again."
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_refuse_other_shapes() {
        let a = NotificationId::new(1_795_642_200_000, "0123456789abcdef").unwrap();
        let b = NotificationId::new(1_795_642_200_001, "000000000000").unwrap();
        assert!(a < b);
        assert_eq!(a.as_str(), "1795642200000-0123456789ab");
        assert_eq!(NotificationId::parse(a.as_str()), Ok(a));
        for bad in ["", "1795642200000-0123456789AB", "179564220000-0123456789abc", "x"] {
            assert_eq!(NotificationId::parse(bad), Err(InvalidNotificationId), "{bad}");
        }
        assert_eq!(NotificationId::new(1, "abc"), Err(InvalidNotificationId));
    }

    #[test]
    fn a_job_notification_counts_what_happened() {
        assert_eq!(job_completed(1, 0).1, "1 symbol enriched.");
        let (title, body) = job_completed(3, 2);
        assert!(title.contains("failures"));
        assert_eq!(body, "3 symbols enriched, 2 symbols failed (the job lists why).");
        for kind in [
            NotificationKind::JobCompleted,
            NotificationKind::WebhookDisabled,
            NotificationKind::AlertFired,
            NotificationKind::ImportFinished,
        ] {
            assert_eq!(NotificationKind::parse(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn an_import_notification_says_what_it_added_found_and_skipped() {
        assert_eq!(import_finished("Main", 1, 0, 0), ("Your import finished".to_owned(), "1 transaction added to Main.".to_owned()));
        assert_eq!(import_finished("ISA", 12, 3, 1).1, "12 transactions added to ISA, 3 transactions already there, 1 row skipped.");
        assert_eq!(import_finished("ISA", 0, 1, 2).1, "0 transactions added to ISA, 1 transaction already there, 2 rows skipped.");
    }
}
