//! Alert evaluation, never a Scan. A symbol's refresh that changed what alerts look at (its
//! price, its day's change, or a signal found in its history) evaluates that symbol's alerts:
//! one Query of the index partition `ALERTSYM#<symbol>` per page of [`ALERT_PAGE`]; the first page
//! inside the enrichment, the next ones in `evaluate-alerts` messages, one page each. A new
//! universe version evaluates the saved-screen alerts the same way (`evaluate-screen-alerts`, one
//! page per message): each screen's matches over the new universe against the match set the alert
//! stored.
//!
//! Firing, once per crossing: a conditional UpdateItem records the crossing (`crossings + 1`,
//! disarmed, the notification's text pending) only if the alert is still at the crossing read;
//! then the notification (id from the alert and the crossing number) goes through
//! [`Consumer::notify`], and a second UpdateItem clears the pending mark. A redelivered evaluation
//! finds the crossing recorded (nothing fires twice) and, if the notification was not delivered,
//! delivers the same one. An alert re-arms when its condition is seen not to hold.

use crate::{Consumer, MessageError};
use bourse_domain::alerts::{AlertRule, Observation, Transition, crossing_hex, describe_screen_change, transition};
use bourse_domain::inbox::{NotificationId, NotificationKind};
use bourse_domain::messages::QueueMessage;
use bourse_domain::saved_screen::{diff, matches};
use bourse_domain::text::rfc3339;
use bourse_domain::{ScreenId, Symbol, UserId};
use bourse_storage::alerts::{self as store, AlertRecord, Pending, SCREEN_ALERTS};
use bourse_storage::inbox::Notification;
use futures_util::StreamExt;
use std::collections::{BTreeSet, HashMap};
use time::OffsetDateTime;

/// Alerts read and evaluated per page (per message).
pub const ALERT_PAGE: i32 = 100;
/// Alerts of a page changed at the same time.
const IN_FLIGHT: usize = 16;

/// What one page of evaluation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evaluated {
    pub evaluated: usize,
    pub fired: usize,
    pub rearmed: usize,
    /// Where the next page starts (its continuation message was sent), `None` after the last.
    pub next: Option<String>,
}

enum Outcome {
    Fired,
    Rearmed,
    Unchanged,
}

impl Consumer {
    /// Evaluates one page of `symbol`'s alerts (after `after`) against `seen`, and sends the next
    /// page's message when there is one. 1 Query + per alert that fires 2 UpdateItem + the
    /// notification, per alert that re-arms 1 UpdateItem; nothing for the others.
    pub async fn evaluate_symbol_alerts(
        &self,
        symbol: &Symbol,
        seen: &Observation,
        after: Option<&str>,
    ) -> Result<Evaluated, MessageError> {
        let (aws, app) = (&self.platform.aws, self.app_table.as_str());
        let (alerts, next) = store::alerts_page(aws, app, &store::symbol_index_key(symbol), after, ALERT_PAGE).await?;
        let outcomes = self
            .each(&alerts, |alert| async move {
                let outcome = match transition(alert.armed, alert.rule.holds(seen)) {
                    Some(Transition::Fire) => {
                        let (title, body) = alert.rule.describe(seen);
                        if self.fire(alert, title, body, None).await? { Outcome::Fired } else { Outcome::Unchanged }
                    }
                    Some(Transition::Rearm) => {
                        if store::rearm(aws, app, alert).await? {
                            Outcome::Rearmed
                        } else {
                            Outcome::Unchanged
                        }
                    }
                    None => Outcome::Unchanged,
                };
                Ok::<Outcome, MessageError>(outcome)
            })
            .await?;
        let continuation =
            next.clone().map(|after| QueueMessage::EvaluateAlerts { symbol: symbol.clone(), seen: seen.clone(), after: Some(after) });
        self.tally(alerts.len(), outcomes, next, continuation).await
    }

    /// Diffs one page of the saved-screen alerts (after `after`) against universe `version`, and
    /// sends the next page's message when there is one. 1 Query (the universe snapshot) + 1 Query
    /// (the page) + 1 BatchGetItem (the page's screens) + per alert whose matches changed 1
    /// UpdateItem, or 2 and the notification when the change is one it reports.
    pub async fn evaluate_screen_alerts(&self, version: u64, after: Option<&str>) -> Result<Evaluated, MessageError> {
        let (aws, app, market) = (&self.platform.aws, self.app_table.as_str(), self.market_table.as_str());
        let (alerts, next) = store::alerts_page(aws, app, SCREEN_ALERTS, after, ALERT_PAGE).await?;
        let wanted: Vec<(UserId, ScreenId)> = alerts
            .iter()
            .filter_map(|a| match &a.rule {
                AlertRule::Screen { screen, .. } => Some((a.user.clone(), screen.clone())),
                _ => None,
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let (stocks, screens) = if wanted.is_empty() {
            (Vec::new(), HashMap::new())
        } else {
            let stocks = bourse_storage::market::load_universe(aws, market, version).await?;
            let screens: HashMap<(UserId, ScreenId), _> = bourse_storage::screens::get_screens(aws, app, &wanted)
                .await?
                .into_iter()
                .map(|(user, screen)| ((user, screen.id.clone()), screen.definition))
                .collect();
            (stocks, screens)
        };
        let (stocks, screens) = (&stocks, &screens);
        let outcomes = self
            .each(&alerts, |alert| async move {
                // A screen deleted since the alert was made: nothing to compare.
                let AlertRule::Screen { screen, on } = &alert.rule else { return Ok::<Outcome, MessageError>(Outcome::Unchanged) };
                let Some(definition) = screens.get(&(alert.user.clone(), screen.clone())) else { return Ok(Outcome::Unchanged) };
                let now = matches(&definition.filter, stocks);
                let change = diff(&alert.matches, &now);
                let outcome = if change.is_empty() {
                    Outcome::Unchanged
                } else if on.fires_on(&change) {
                    let (title, body) = describe_screen_change(&definition.name, &change);
                    if self.fire(alert, title, body, Some(&now)).await? { Outcome::Fired } else { Outcome::Unchanged }
                } else {
                    store::store_matches(aws, app, alert, &now).await?;
                    Outcome::Unchanged
                };
                Ok(outcome)
            })
            .await?;
        let continuation = next.clone().map(|after| QueueMessage::EvaluateScreenAlerts { version, after: Some(after) });
        self.tally(alerts.len(), outcomes, next, continuation).await
    }

    /// Runs `evaluate` over the page, [`IN_FLIGHT`] at a time; an alert with a crossing still
    /// pending has its notification delivered first and is evaluated again on the next refresh.
    async fn each<'a, F, Fut>(&'a self, alerts: &'a [AlertRecord], evaluate: F) -> Result<Vec<Outcome>, MessageError>
    where
        F: Fn(&'a AlertRecord) -> Fut,
        Fut: Future<Output = Result<Outcome, MessageError>> + 'a,
    {
        let evaluate = &evaluate;
        let outcomes: Vec<Result<Outcome, MessageError>> = futures_util::stream::iter(alerts)
            .map(|alert| async move {
                match &alert.pending {
                    Some(pending) => self.deliver_crossing(alert, pending).await.map(|()| Outcome::Unchanged),
                    None => evaluate(alert).await,
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        outcomes.into_iter().collect()
    }

    /// Counts the page's outcomes and sends the continuation, if any, to the scheduled queue.
    async fn tally(
        &self,
        evaluated: usize,
        outcomes: Vec<Outcome>,
        next: Option<String>,
        continuation: Option<QueueMessage>,
    ) -> Result<Evaluated, MessageError> {
        let mut done = Evaluated { evaluated, next, ..Evaluated::default() };
        for outcome in outcomes {
            match outcome {
                Outcome::Fired => done.fired += 1,
                Outcome::Rearmed => done.rearmed += 1,
                Outcome::Unchanged => {}
            }
        }
        if let Some(message) = continuation {
            bourse_storage::queue::send_messages(&self.platform.aws, self.scheduled_queue()?, &[message], None).await?;
        }
        Ok(done)
    }

    /// Records the alert's next crossing and tells its owner; `false` when another evaluation
    /// recorded it first (that one tells).
    async fn fire(
        &self,
        alert: &AlertRecord,
        title: String,
        body: String,
        matches: Option<&BTreeSet<Symbol>>,
    ) -> Result<bool, MessageError> {
        let now = self.platform.clock.now_utc();
        let at_millis = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        let pending = Pending { crossing: alert.crossings + 1, at_millis, title, body };
        if !store::record_fired(&self.platform.aws, &self.app_table, alert, &pending, &rfc3339(now), matches).await? {
            return Ok(false);
        }
        self.deliver_crossing(alert, &pending).await?;
        Ok(true)
    }

    /// Delivers a recorded crossing's notification (a second delivery of it stores nothing) and
    /// clears the pending mark.
    async fn deliver_crossing(&self, alert: &AlertRecord, pending: &Pending) -> Result<(), MessageError> {
        let id = NotificationId::new(pending.at_millis, &crossing_hex(&alert.id, pending.crossing))
            .map_err(|e| MessageError::Transient(format!("notification id of alert {}: {e}", alert.id)))?;
        let created = OffsetDateTime::from_unix_timestamp_nanos(i128::from(pending.at_millis) * 1_000_000)
            .map_err(|e| MessageError::Transient(format!("crossing time of alert {}: {e}", alert.id)))?;
        let notification = Notification {
            id,
            kind: NotificationKind::AlertFired,
            title: pending.title.clone(),
            body: pending.body.clone(),
            link: Some(format!("/v1/alerts/{}", alert.id)),
            created_at: rfc3339(created),
            read: false,
        };
        self.notify(&alert.user, &notification).await?;
        store::clear_pending(&self.platform.aws, &self.app_table, alert, pending.crossing).await?;
        Ok(())
    }
}

/// What a refresh of one symbol shows alerts, and whether it differs from what was known before
/// (the previous price or day's change; any signal found is news).
pub fn observation(
    before: &bourse_domain::stock::Stock,
    after: &bourse_domain::stock::Stock,
    signals: &[bourse_domain::signals::Signal],
) -> (Observation, bool) {
    use bourse_domain::stock::Metric;
    let seen = Observation {
        price: after.metric(Metric::Price),
        change_pct: after.metric(Metric::ChangePct),
        signals: signals.iter().map(|s| s.kind).collect(),
    };
    let changed =
        before.metric(Metric::Price) != seen.price || before.metric(Metric::ChangePct) != seen.change_pct || !seen.signals.is_empty();
    (seen, changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bourse_domain::signals::{Signal, SignalKind};
    use bourse_domain::stock::{Metric, Stock};
    use rust_decimal::Decimal;

    #[test]
    fn only_a_moved_price_or_change_or_a_signal_found_is_news() {
        let mut before = Stock::new(Symbol::parse("AAPL").unwrap(), "Apple".into());
        before.set(Metric::Price, Some(Decimal::new(1905, 1)));
        before.set(Metric::ChangePct, Some(Decimal::new(12, 1)));
        let same = before.clone();
        assert!(!observation(&before, &same, &[]).1, "nothing moved: the symbol's alerts are not read");
        let mut moved = before.clone();
        moved.set(Metric::Price, Some(Decimal::new(1906, 1)));
        let (seen, changed) = observation(&before, &moved, &[]);
        assert!(changed);
        assert_eq!(seen.price, Some(Decimal::new(1906, 1)));
        let mut day = before.clone();
        day.set(Metric::ChangePct, Some(Decimal::new(-3, 0)));
        assert!(observation(&before, &day, &[]).1);
        let cross = Signal { kind: SignalKind::GoldenCross, detail: String::new() };
        let (seen, changed) = observation(&before, &same, &[cross]);
        assert!(changed);
        assert_eq!(seen.signals, vec![SignalKind::GoldenCross]);
    }
}
