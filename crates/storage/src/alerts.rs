//! Alerts in the app table, one item each: `pk = ALERT#<user>`, `sk = A#<id>` — the rule (`kind`,
//! `symbol`, `price`, `percent`, `signal`, `screenId`, `on`), its state (`armed`, `crossings`: the
//! number of times it fired), a fired crossing whose notification may not be delivered yet
//! (`pending`, `pendingAt`, `pendingTitle`, `pendingBody`), and for a screen alert the screen's
//! last match set (`matches`). The item is indexed by what it watches on `gsi1`:
//! `gsi1pk = ALERTSYM#<symbol>` (a symbol alert) or `ALERTSCREENS` (a screen alert),
//! `gsi1sk = <user>#<id>`, so the consumer reads the alerts of a changed symbol with one Query per
//! page and never scans. The user is in the key: another user's id is not found; the account's
//! erasure deletes the `ALERT#` partition.

use crate::attr::{corrupt, decimal, n, s, text};
use crate::clients::AwsClients;
use crate::error::{StorageError, applied};
use crate::query::{Item, Partition, SortKeys, get_item, query_all};
use crate::schema::{PK, SK, app};
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use bourse_domain::alerts::{AlertRule, RawAlert};
use bourse_domain::{AlertId, Symbol, UserId};
use std::collections::BTreeSet;

/// The index partition of the screen alerts.
pub const SCREEN_ALERTS: &str = "ALERTSCREENS";

/// A fired crossing whose notification is being delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub crossing: u64,
    /// When it fired (epoch milliseconds): the notification's id starts with it.
    pub at_millis: i64,
    pub title: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRecord {
    pub user: UserId,
    pub id: AlertId,
    pub rule: AlertRule,
    /// Fires when its condition next holds (`false` after firing, until the condition clears).
    pub armed: bool,
    pub crossings: u64,
    pub pending: Option<Pending>,
    /// A screen alert's last match set.
    pub matches: BTreeSet<Symbol>,
    pub last_fired_at: Option<String>,
    pub created_at: String,
}

/// The partition of a user's alerts (`ALERT#<user>`).
pub fn alerts_pk(user: &UserId) -> String {
    format!("ALERT#{user}")
}

fn sort_key(id: &AlertId) -> String {
    format!("A#{id}")
}

/// The `gsi1` partition of a symbol's alerts.
pub fn symbol_index_key(symbol: &Symbol) -> String {
    format!("ALERTSYM#{symbol}")
}

/// The `gsi1` partition an alert is found under.
pub fn index_key(rule: &AlertRule) -> String {
    rule.symbol().map_or_else(|| SCREEN_ALERTS.to_owned(), symbol_index_key)
}

fn number_text(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => Some(v.clone()),
        _ => None,
    }
}

fn count(item: &Item, name: &str) -> Result<Option<u64>, StorageError> {
    number_text(item, name).map(|v| v.parse::<u64>().map_err(|_| corrupt(item, name))).transpose()
}

fn alert_from(item: &Item) -> Result<AlertRecord, StorageError> {
    let user =
        text(item, PK).and_then(|pk| pk.strip_prefix("ALERT#")).and_then(|u| UserId::parse(u).ok()).ok_or_else(|| corrupt(item, PK))?;
    let id = text(item, SK).and_then(|sk| sk.strip_prefix("A#")).and_then(|id| AlertId::parse(id).ok()).ok_or_else(|| corrupt(item, SK))?;
    let raw = RawAlert {
        kind: text(item, "kind").ok_or_else(|| corrupt(item, "kind"))?.to_owned(),
        symbol: text(item, "symbol").map(str::to_owned),
        price: number_text(item, "price"),
        percent: number_text(item, "percent"),
        signal: text(item, "signal").map(str::to_owned),
        screen_id: text(item, "screenId").map(str::to_owned),
        on: text(item, "on").map(str::to_owned),
    };
    let rule = raw.parse().map_err(|e| corrupt(item, e.field))?;
    let pending = match count(item, "pending")? {
        None => None,
        Some(crossing) => Some(Pending {
            crossing,
            at_millis: number_text(item, "pendingAt").and_then(|v| v.parse().ok()).ok_or_else(|| corrupt(item, "pendingAt"))?,
            title: text(item, "pendingTitle").unwrap_or_default().to_owned(),
            body: text(item, "pendingBody").unwrap_or_default().to_owned(),
        }),
    };
    let matches = match item.get("matches") {
        None => BTreeSet::new(),
        Some(AttributeValue::L(list)) => list
            .iter()
            .map(|v| v.as_s().ok().and_then(|t| Symbol::parse(t).ok()).ok_or_else(|| corrupt(item, "matches")))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(corrupt(item, "matches")),
    };
    Ok(AlertRecord {
        user,
        id,
        rule,
        armed: matches!(item.get("armed"), Some(AttributeValue::Bool(true))),
        crossings: count(item, "crossings")?.unwrap_or(0),
        pending,
        matches,
        last_fired_at: text(item, "lastFiredAt").map(str::to_owned),
        created_at: text(item, "createdAt").unwrap_or_default().to_owned(),
    })
}

fn symbol_list(symbols: &BTreeSet<Symbol>) -> AttributeValue {
    AttributeValue::L(symbols.iter().map(|x| s(x.as_str())).collect())
}

/// Writes `record` whole, armed and with no crossing pending: a new alert when `new`
/// (`attribute_not_exists`), else a replacement of an existing one (`attribute_exists`: a changed
/// rule starts again armed). 1 PutItem, 1 WCU. `false` when the condition failed.
pub async fn put_alert(clients: &AwsClients, table: &str, record: &AlertRecord, new: bool) -> Result<bool, StorageError> {
    let mut put = clients
        .dynamodb
        .put_item()
        .table_name(table)
        .item(PK, s(alerts_pk(&record.user)))
        .item(SK, s(sort_key(&record.id)))
        .item("kind", s(record.rule.kind().as_str()))
        .item("armed", AttributeValue::Bool(true))
        .item("crossings", n(record.crossings))
        .item("matches", symbol_list(&record.matches))
        .item("createdAt", s(record.created_at.clone()))
        .item(app::GSI1_PK, s(index_key(&record.rule)))
        .item(app::GSI1_SK, s(format!("{}#{}", record.user, record.id)))
        .expression_attribute_names("#pk", PK)
        .condition_expression(if new { "attribute_not_exists(#pk)" } else { "attribute_exists(#pk)" });
    put = match &record.rule {
        AlertRule::PriceAbove { symbol, price } | AlertRule::PriceBelow { symbol, price } => {
            put.item("symbol", s(symbol.as_str())).item("price", decimal(*price))
        }
        AlertRule::DayMove { symbol, percent } => put.item("symbol", s(symbol.as_str())).item("percent", decimal(*percent)),
        AlertRule::Signal { symbol, signal } => put.item("symbol", s(symbol.as_str())).item("signal", s(signal.name())),
        AlertRule::Screen { screen, on } => put.item("screenId", s(screen.as_str())).item("on", s(on.as_str())),
    };
    if let Some(fired) = &record.last_fired_at {
        put = put.item("lastFiredAt", s(fired.clone()));
    }
    applied(put.send().await)
}

/// Seeds many alerts at once (benchmarks and tests of the evaluation's cost; no route uses it):
/// ⌈N/25⌉ BatchWriteItem of the items [`put_alert`] writes, unconditionally.
pub async fn put_alerts_unchecked(clients: &AwsClients, table: &str, records: &[AlertRecord]) -> Result<(), StorageError> {
    let writes = records
        .iter()
        .map(|r| {
            let mut item = Item::from([
                (PK.to_owned(), s(alerts_pk(&r.user))),
                (SK.to_owned(), s(sort_key(&r.id))),
                ("kind".to_owned(), s(r.rule.kind().as_str())),
                ("armed".to_owned(), AttributeValue::Bool(r.armed)),
                ("crossings".to_owned(), n(r.crossings)),
                ("createdAt".to_owned(), s(r.created_at.clone())),
                (app::GSI1_PK.to_owned(), s(index_key(&r.rule))),
                (app::GSI1_SK.to_owned(), s(format!("{}#{}", r.user, r.id))),
            ]);
            match &r.rule {
                AlertRule::PriceAbove { symbol, price } | AlertRule::PriceBelow { symbol, price } => {
                    item.insert("symbol".into(), s(symbol.as_str()));
                    item.insert("price".into(), decimal(*price));
                }
                AlertRule::DayMove { symbol, percent } => {
                    item.insert("symbol".into(), s(symbol.as_str()));
                    item.insert("percent".into(), decimal(*percent));
                }
                AlertRule::Signal { symbol, signal } => {
                    item.insert("symbol".into(), s(symbol.as_str()));
                    item.insert("signal".into(), s(signal.name()));
                }
                AlertRule::Screen { screen, on } => {
                    item.insert("screenId".into(), s(screen.as_str()));
                    item.insert("on".into(), s(on.as_str()));
                    item.insert("matches".into(), symbol_list(&r.matches));
                }
            }
            crate::batch::Write::Put(item)
        })
        .collect();
    crate::batch::write_all(clients, table, writes).await
}

/// A user's alerts, in id order. 1 Query `pk = ALERT#<user>` (≤ 100 small items: one page),
/// strongly consistent.
pub async fn list_alerts(clients: &AwsClients, table: &str, user: &UserId) -> Result<Vec<AlertRecord>, StorageError> {
    let pk = alerts_pk(user);
    let items = query_all(clients, Partition::of(table, &pk).consistent(), SortKeys::BeginsWith("A#"), None).await?;
    items.iter().map(alert_from).collect()
}

/// One alert of a user (`None` when it does not exist or is someone else's). 1 GetItem, strongly
/// consistent.
pub async fn get_alert(clients: &AwsClients, table: &str, user: &UserId, id: &AlertId) -> Result<Option<AlertRecord>, StorageError> {
    let found = get_item(clients, table, alerts_pk(user), sort_key(id), true).await?;
    found.as_ref().map(alert_from).transpose()
}

/// Deletes an alert; `false` when it did not exist. 1 DeleteItem with `attribute_exists(pk)`.
pub async fn delete_alert(clients: &AwsClients, table: &str, user: &UserId, id: &AlertId) -> Result<bool, StorageError> {
    crate::query::delete_existing(clients, table, alerts_pk(user), sort_key(id)).await
}

/// One page of the alerts under an index partition ([`index_key`]): 1 Query on `gsi1`,
/// `gsi1pk = <key> AND gsi1sk > <after>`, `Limit` = `limit` (eventually consistent: an alert
/// created a moment ago may be missed by this refresh, never by the next). Returns the page and,
/// when there may be more, the position to continue after.
pub async fn alerts_page(
    clients: &AwsClients,
    table: &str,
    key: &str,
    after: Option<&str>,
    limit: i32,
) -> Result<(Vec<AlertRecord>, Option<String>), StorageError> {
    let (items, next) = crate::query::gsi1_page(clients, table, key, after, limit, false).await?;
    let alerts = items.iter().map(alert_from).collect::<Result<Vec<_>, _>>()?;
    Ok((alerts, next))
}

/// Records that `alert` fired its next crossing (`crossings + 1`) at `pending.at_millis`: 1
/// UpdateItem `SET armed = false, crossings = :next, pending…, lastFiredAt [, matches]` if
/// `crossings = :read` and no crossing is pending — so of two evaluations racing, or a
/// redelivered one, exactly one records it. `false` when the condition failed.
pub async fn record_fired(
    clients: &AwsClients,
    table: &str,
    alert: &AlertRecord,
    pending: &Pending,
    fired_at: &str,
    matches: Option<&BTreeSet<Symbol>>,
) -> Result<bool, StorageError> {
    let mut set = "SET armed = :false, crossings = :next, pending = :next, pendingAt = :at, pendingTitle = :title, pendingBody = :body, \
                   lastFiredAt = :fired"
        .to_owned();
    let mut update = alert_update(clients, table, alert)
        .condition_expression("attribute_exists(#pk) AND crossings = :read AND attribute_not_exists(pending)")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_values(":false", AttributeValue::Bool(false))
        .expression_attribute_values(":next", n(pending.crossing))
        .expression_attribute_values(":read", n(alert.crossings))
        .expression_attribute_values(":at", n(pending.at_millis))
        .expression_attribute_values(":title", s(pending.title.clone()))
        .expression_attribute_values(":body", s(pending.body.clone()))
        .expression_attribute_values(":fired", s(fired_at));
    if let Some(matches) = matches {
        set.push_str(", matches = :matches");
        update = update.expression_attribute_values(":matches", symbol_list(matches));
    }
    applied(update.update_expression(set).send().await)
}

/// An UpdateItem of `alert`'s item (its condition and expressions added by the caller).
fn alert_update(clients: &AwsClients, table: &str, alert: &AlertRecord) -> UpdateItemFluentBuilder {
    clients.dynamodb.update_item().table_name(table).key(PK, s(alerts_pk(&alert.user))).key(SK, s(sort_key(&alert.id)))
}

/// The crossing's notification was delivered: 1 UpdateItem `REMOVE pending…` if `pending = :crossing`.
pub async fn clear_pending(clients: &AwsClients, table: &str, alert: &AlertRecord, crossing: u64) -> Result<bool, StorageError> {
    let update = alert_update(clients, table, alert)
        .update_expression("REMOVE pending, pendingAt, pendingTitle, pendingBody")
        .condition_expression("pending = :crossing")
        .expression_attribute_values(":crossing", n(crossing));
    applied(update.send().await)
}

/// Arms a fired alert again (its condition cleared): 1 UpdateItem `SET armed = true` if
/// `crossings = :read AND armed = false`.
pub async fn rearm(clients: &AwsClients, table: &str, alert: &AlertRecord) -> Result<bool, StorageError> {
    let update = alert_update(clients, table, alert)
        .update_expression("SET armed = :true")
        .condition_expression("crossings = :read AND armed = :false")
        .expression_attribute_values(":true", AttributeValue::Bool(true))
        .expression_attribute_values(":false", AttributeValue::Bool(false))
        .expression_attribute_values(":read", n(alert.crossings));
    applied(update.send().await)
}

/// A screen alert's match set changed without firing (not the change it reports): 1 UpdateItem
/// `SET matches` if `crossings = :read` (a concurrent fire wins).
pub async fn store_matches(
    clients: &AwsClients,
    table: &str,
    alert: &AlertRecord,
    matches: &BTreeSet<Symbol>,
) -> Result<bool, StorageError> {
    let update = alert_update(clients, table, alert)
        .update_expression("SET matches = :matches")
        .condition_expression("crossings = :read")
        .expression_attribute_values(":matches", symbol_list(matches))
        .expression_attribute_values(":read", n(alert.crossings));
    applied(update.send().await)
}
