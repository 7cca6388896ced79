//! Portfolios, holdings and transactions in the app table.
//!
//! Every portfolio-scoped key contains the owner, so another user's id can never address an item
//! (a wrong id is simply not found — 404, never 403) and no ownership read is needed:
//! - portfolio: `pk = USER#<user>`, `sk = PORTFOLIO#<id>` (list = one Query on the user);
//! - holding: `pk = P#<user>#<id>`, `sk = HOLDING#<symbol>`, with a `version` for optimistic
//!   concurrency and a digest of its transaction ids ([`LedgerDigest`]);
//! - transaction: `pk = P#<user>#<id>`, `sk = TX#<trade date>#<tx id>` (date ranges by key); on
//!   `gsi1`: `gsi1pk = P#<user>#<id>#<symbol>`, `gsi1sk = <trade date>#<seq>#<tx id>` (a holding's
//!   ledger in trade order, to re-derive it);
//! - import: `pk = P#<user>#<id>`, `sk = IMPORT#<sha-256 of the file>` (a file already imported).

use crate::attr::{corrupt, decimal as n, s, text};
use crate::clients::AwsClients;
use crate::error::StorageError;
use crate::error::dynamodb_error;
use crate::query::{Partition, SortKeys, get_item, query_all};
use crate::schema::{PK, SK, app};
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use bourse_domain::lots::{LotMethod, LotPick, parse_picks, picks_text};
use bourse_domain::money::Currency;
use bourse_domain::portfolio::{Holding, Trade};
use bourse_domain::{PortfolioId, Symbol, TransactionId, UserId};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::str::FromStr;

pub use crate::query::Item;

pub fn portfolio_pk(user: &UserId, portfolio: &PortfolioId) -> String {
    format!("P#{user}#{portfolio}")
}

fn decimal(item: &Item, name: &str) -> Result<Decimal, StorageError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => Decimal::from_str(v).map_err(|_| corrupt(item, name)),
        None => Ok(Decimal::ZERO),
        _ => Err(corrupt(item, name)),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortfolioRecord {
    pub id: PortfolioId,
    pub name: String,
    /// The base currency: values and returns are in it.
    pub currency: Currency,
    pub created_at: String,
    /// Whether the portfolio tracks cash (`trackCash`; absent on portfolios created before the
    /// setting existed, which is off).
    pub track_cash: bool,
    /// The tax-lot method its lots and realised gains use unless a request names another
    /// (`lotMethod`; absent on portfolios created before the setting existed: FIFO).
    pub lot_method: LotMethod,
}

fn portfolio_from(item: &Item) -> Result<PortfolioRecord, StorageError> {
    let sk = text(item, SK).ok_or_else(|| corrupt(item, SK))?;
    Ok(PortfolioRecord {
        id: sk.strip_prefix("PORTFOLIO#").and_then(|id| PortfolioId::parse(id).ok()).ok_or_else(|| corrupt(item, SK))?,
        name: text(item, "name").ok_or_else(|| corrupt(item, "name"))?.to_owned(),
        currency: Currency::parse(text(item, "currency").unwrap_or_default()).map_err(|_| corrupt(item, "currency"))?,
        created_at: text(item, "createdAt").unwrap_or_default().to_owned(),
        track_cash: matches!(item.get("trackCash"), Some(AttributeValue::Bool(true))),
        lot_method: match text(item, "lotMethod") {
            None => LotMethod::Fifo,
            Some(code) => LotMethod::parse(code).ok_or_else(|| corrupt(item, "lotMethod"))?,
        },
    })
}

/// Creates a portfolio. 1 PutItem (1 WCU), `attribute_not_exists(pk)` so an id is never reused.
pub async fn create_portfolio(clients: &AwsClients, table: &str, user: &UserId, record: &PortfolioRecord) -> Result<(), StorageError> {
    clients
        .dynamodb
        .put_item()
        .table_name(table)
        .item(PK, s(format!("USER#{user}")))
        .item(SK, s(format!("PORTFOLIO#{}", record.id)))
        .item("name", s(record.name.clone()))
        .item("currency", s(record.currency.as_str()))
        .item("createdAt", s(record.created_at.clone()))
        .item("trackCash", AttributeValue::Bool(record.track_cash))
        .item("lotMethod", s(record.lot_method.code()))
        // The sparse index of active portfolios, spread over shards so the daily snapshot
        // fan-out reads N small partitions instead of scanning.
        .item(app::GSI1_PK, s(active_shard_key(user, &record.id)))
        .item(app::GSI1_SK, s(format!("{user}#{}", record.id)))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .send()
        .await
        .map(|_| ())
        .map_err(dynamodb_error)
}

/// Shards of the active-portfolio index.
pub const ACTIVE_SHARDS: u32 = 16;

/// `ACTIVE#<n>`, n = FNV-1a of user and portfolio modulo [`ACTIVE_SHARDS`].
pub fn active_shard_key(user: &UserId, portfolio: &PortfolioId) -> String {
    let hash = user
        .as_str()
        .bytes()
        .chain([b'#'])
        .chain(portfolio.as_str().bytes())
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("ACTIVE#{}", hash % u64::from(ACTIVE_SHARDS))
}

/// A portfolio and its owner: what the active-portfolio index lists.
pub type OwnedPortfolio = (UserId, PortfolioId);

/// The owner and portfolio of an index position `<user>#<portfolio>` (`None` for what is not one).
fn owned_portfolio(position: &str) -> Option<OwnedPortfolio> {
    let (user, portfolio) = position.split_once('#')?;
    Some((UserId::parse(user).ok()?, PortfolioId::parse(portfolio).ok()?))
}

/// The (user, portfolio) pairs of one shard of the active-portfolio index (a test's view of it).
/// 1 Query per 1 MB on `gsi1`: `gsi1pk = ACTIVE#<shard>`.
pub async fn active_portfolios(clients: &AwsClients, table: &str, shard: u32) -> Result<Vec<OwnedPortfolio>, StorageError> {
    let key = format!("ACTIVE#{shard}");
    let items = query_all(clients, Partition::on_index(table, app::GSI1, app::GSI1_PK, app::GSI1_SK, &key), SortKeys::All, None).await?;
    Ok(items.iter().filter_map(|item| owned_portfolio(text(item, app::GSI1_SK)?)).collect())
}

/// One page of a shard of the active-portfolio index, for the daily snapshot fan-out: up to
/// `limit` (user, portfolio) pairs after the index position `after` (`<user>#<portfolio>`), and
/// the position to continue after when the shard has more. 1 Query on `gsi1`
/// (`gsi1pk = ACTIVE#<shard> AND gsi1sk > :after`, `Limit`), projecting `gsi1sk` only.
pub async fn active_portfolios_page(
    clients: &AwsClients,
    table: &str,
    shard: u32,
    after: Option<&str>,
    limit: i32,
) -> Result<(Vec<OwnedPortfolio>, Option<String>), StorageError> {
    let (items, next) = crate::query::gsi1_page(clients, table, &format!("ACTIVE#{shard}"), after, limit, true).await?;
    let pairs = items.iter().filter_map(|item| text(item, app::GSI1_SK)).filter_map(owned_portfolio).collect();
    Ok((pairs, next))
}

/// An unconditional PutItem of the item `sort_key` in a portfolio's partition; the caller adds its
/// attributes and sends it.
fn put_in_portfolio(clients: &AwsClients, table: &str, user: &UserId, portfolio: &PortfolioId, sort_key: String) -> PutItemFluentBuilder {
    clients.dynamodb.put_item().table_name(table).item(PK, s(portfolio_pk(user, portfolio))).item(SK, s(sort_key))
}

/// Stores a day's snapshot: 1 PutItem `pk = P#<user>#<id>, sk = SNAP#<date>` (idempotent: the same
/// day overwrites itself).
pub async fn put_snapshot(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    portfolio: &PortfolioId,
    date: &str,
    snapshot: &bourse_domain::portfolio::DailySnapshot,
) -> Result<(), StorageError> {
    put_in_portfolio(clients, table, user, portfolio, format!("SNAP#{date}"))
        .item("date", s(date))
        .item("value", n(snapshot.value))
        .item("cost", n(snapshot.cost))
        .item("realisedPnl", n(snapshot.realised_pnl))
        .item("dividends", n(snapshot.dividends))
        .item("unpricedPositions", AttributeValue::N(snapshot.unpriced_positions.to_string()))
        .send()
        .await
        .map(|_| ())
        .map_err(dynamodb_error)
}

/// Snapshots from `from` to `to` (dates inclusive), oldest first.
/// 1 Query per 1 MB: `pk = P#<user>#<id> AND sk BETWEEN SNAP#<from> AND SNAP#<to>`.
pub async fn snapshots_between(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    portfolio: &PortfolioId,
    from: &str,
    to: &str,
) -> Result<Vec<(String, bourse_domain::portfolio::DailySnapshot)>, StorageError> {
    let pk = portfolio_pk(user, portfolio);
    let (from, to) = (format!("SNAP#{from}"), format!("SNAP#{to}"));
    query_all(clients, Partition::of(table, &pk), SortKeys::Between(&from, &to), None)
        .await?
        .iter()
        .map(|item| {
            let snapshot = bourse_domain::portfolio::DailySnapshot {
                value: decimal(item, "value")?,
                cost: decimal(item, "cost")?,
                realised_pnl: decimal(item, "realisedPnl")?,
                dividends: decimal(item, "dividends")?,
                unpriced_positions: decimal(item, "unpricedPositions")?.try_into().map_err(|_| corrupt(item, "unpricedPositions"))?,
            };
            Ok((text(item, "date").unwrap_or_default().to_owned(), snapshot))
        })
        .collect()
}

/// A user's portfolios. 1 Query `pk = USER#<user> AND begins_with(sk, PORTFOLIO#)` (one page per
/// MB, followed).
pub async fn list_portfolios(clients: &AwsClients, table: &str, user: &UserId) -> Result<Vec<PortfolioRecord>, StorageError> {
    let pk = format!("USER#{user}");
    let items = query_all(clients, Partition::of(table, &pk), SortKeys::BeginsWith("PORTFOLIO#"), None).await?;
    items.iter().map(portfolio_from).collect()
}

/// One portfolio of a user (`None` when it does not exist or is someone else's).
/// 1 GetItem `pk = USER#<user>, sk = PORTFOLIO#<id>`, strongly consistent (1 RCU): a rename or
/// delete is seen at once, including by the views cached from it.
pub async fn get_portfolio(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    id: &PortfolioId,
) -> Result<Option<PortfolioRecord>, StorageError> {
    let found = get_item(clients, table, format!("USER#{user}"), format!("PORTFOLIO#{id}"), true).await?;
    found.as_ref().map(portfolio_from).transpose()
}

/// What a PATCH of a portfolio changes (at least one member).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortfolioChange<'a> {
    pub name: Option<&'a str>,
    pub track_cash: Option<bool>,
    pub lot_method: Option<LotMethod>,
}

/// Renames a portfolio, turns its cash tracking on or off and/or sets its lot method; `false` when
/// it does not exist.
/// 1 UpdateItem with `attribute_exists(pk)`.
pub async fn change_portfolio(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    id: &PortfolioId,
    change: PortfolioChange<'_>,
) -> Result<bool, StorageError> {
    let mut sets = Vec::new();
    let mut update = clients
        .dynamodb
        .update_item()
        .table_name(table)
        .key(PK, s(format!("USER#{user}")))
        .key(SK, s(format!("PORTFOLIO#{id}")))
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#pk", PK);
    if let Some(name) = change.name {
        sets.push("#name = :name");
        update = update.expression_attribute_names("#name", "name").expression_attribute_values(":name", s(name));
    }
    if let Some(track_cash) = change.track_cash {
        sets.push("trackCash = :cash");
        update = update.expression_attribute_values(":cash", AttributeValue::Bool(track_cash));
    }
    if let Some(method) = change.lot_method {
        sets.push("lotMethod = :method");
        update = update.expression_attribute_values(":method", s(method.code()));
    }
    if sets.is_empty() {
        return get_portfolio(clients, table, user, id).await.map(|p| p.is_some());
    }
    match update.update_expression(format!("SET {}", sets.join(", "))).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
        Err(e) => Err(dynamodb_error(e)),
    }
}

/// Deletes a portfolio and everything in it: 1 Query per 1 MB of its items (keys only), then
/// BatchWriteItem deletes of 25, then the portfolio item. `false` when it did not exist.
pub async fn delete_portfolio(clients: &AwsClients, table: &str, user: &UserId, id: &PortfolioId) -> Result<bool, StorageError> {
    if get_portfolio(clients, table, user, id).await?.is_none() {
        return Ok(false);
    }
    let pk = portfolio_pk(user, id);
    let keys = query_all(clients, Partition::of(table, &pk), SortKeys::All, Some("pk, sk")).await?;
    crate::batch::write_all(clients, table, keys.into_iter().map(crate::batch::Write::Delete).collect()).await?;
    clients
        .dynamodb
        .delete_item()
        .table_name(table)
        .key(PK, s(format!("USER#{user}")))
        .key(SK, s(format!("PORTFOLIO#{id}")))
        .send()
        .await
        .map_err(dynamodb_error)?;
    Ok(true)
}

/// A holding with what guards its writes: the version it was read at (0 = not stored yet) and
/// the digest of the transaction ids it was derived from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedHolding {
    pub holding: Holding,
    pub version: u64,
    pub ledger: LedgerDigest,
    /// The latest trade date among its transactions (an upper bound after deletes): a new
    /// transaction on or after it can be applied on top; an earlier one means re-deriving.
    pub latest_trade_date: String,
    /// The currency it trades in: that of the latest transaction written to it (`currency`;
    /// absent on holdings written before currencies existed, which were in the base currency).
    pub currency: Option<Currency>,
}

/// XOR of a 64-bit hash of every transaction id of a holding. Adding or removing a transaction
/// toggles its hash in, so the digest is kept up to date in the same write as the holding, and a
/// read of the ledger from the (eventually consistent) index can be checked for completeness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LedgerDigest(u64);

impl LedgerDigest {
    pub fn toggled(self, transaction_id: &TransactionId) -> Self {
        let hash = transaction_id.as_str().bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
        LedgerDigest(self.0 ^ hash)
    }

    pub fn of<'a>(ids: impl IntoIterator<Item = &'a TransactionId>) -> Self {
        ids.into_iter().fold(LedgerDigest::default(), LedgerDigest::toggled)
    }
}

impl VersionedHolding {
    /// The holding as [`write_ledger_change`] leaves it after adding and removing these
    /// transactions: the next version, the digest and latest trade date updated.
    pub fn after(&self, added: &[TransactionRecord], removed: &[TransactionRecord], next: Holding) -> VersionedHolding {
        let ledger = added.iter().chain(removed).fold(self.ledger, |digest, r| digest.toggled(&r.id));
        let latest = added.iter().map(|r| r.trade_date()).fold(self.latest_trade_date.as_str(), |a, b| a.max(b)).to_owned();
        let currency = added.iter().max_by(|a, b| a.ledger_position().cmp(&b.ledger_position())).map(|r| r.currency).or(self.currency);
        VersionedHolding { holding: next, version: self.version + 1, ledger, latest_trade_date: latest, currency }
    }
}

fn holding_from(item: &Item) -> Result<VersionedHolding, StorageError> {
    let symbol = Symbol::parse_stored(text(item, "symbol").unwrap_or_default()).map_err(|_| corrupt(item, "symbol"))?;
    Ok(VersionedHolding {
        holding: Holding {
            symbol,
            quantity: decimal(item, "quantity")?,
            cost_basis: decimal(item, "costBasis")?,
            realised_pnl: decimal(item, "realisedPnl")?,
            dividends: decimal(item, "dividends")?,
            fees: decimal(item, "fees")?,
        },
        version: decimal(item, "version")?.try_into().map_err(|_| corrupt(item, "version"))?,
        ledger: LedgerDigest(u64::from_str_radix(text(item, "ledger").unwrap_or("0"), 16).map_err(|_| corrupt(item, "ledger"))?),
        latest_trade_date: text(item, "latestTradeDate").unwrap_or_default().to_owned(),
        currency: text(item, "currency").map(|c| Currency::parse(c).map_err(|_| corrupt(item, "currency"))).transpose()?,
    })
}

/// One holding, strongly consistent (the base of a read-modify-write). 1 GetItem (1 RCU).
pub async fn get_holding(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    portfolio: &PortfolioId,
    symbol: &Symbol,
) -> Result<VersionedHolding, StorageError> {
    let found = get_item(clients, table, portfolio_pk(user, portfolio), format!("HOLDING#{symbol}"), true).await?;
    match found {
        Some(item) => holding_from(&item),
        None => Ok(VersionedHolding {
            holding: Holding::new(symbol.clone()),
            version: 0,
            ledger: LedgerDigest::default(),
            latest_trade_date: String::new(),
            currency: None,
        }),
    }
}

/// Every holding of a portfolio (positions only: the cash ledgers' items, `HOLDING#$<currency>`,
/// are left out). 1 Query `pk = P#<user>#<id> AND begins_with(sk, HOLDING#)`,
/// strongly consistent (1 RCU per 4 KB: what the cached views are computed from must include
/// every write before it); one page up to 1 MB ≈ 5,000 holdings, further pages followed.
pub async fn list_holdings(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    portfolio: &PortfolioId,
) -> Result<Vec<Holding>, StorageError> {
    Ok(list_positions(clients, table, user, portfolio).await?.into_iter().map(|(holding, _)| holding).collect())
}

/// [`list_holdings`] with each holding's currency (`None`: the base currency). Same request.
pub async fn list_positions(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    portfolio: &PortfolioId,
) -> Result<Vec<(Holding, Option<Currency>)>, StorageError> {
    let pk = portfolio_pk(user, portfolio);
    let items = query_all(clients, Partition::of(table, &pk).consistent(), SortKeys::BeginsWith("HOLDING#"), None).await?;
    items
        .iter()
        .map(|item| holding_from(item).map(|h| (h.holding, h.currency)))
        .filter(|h| h.as_ref().map_or(true, |(h, _)| h.symbol.cash_currency().is_none()))
        .collect()
}

/// A stored transaction. Its trade date leads its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionRecord {
    pub id: TransactionId,
    pub symbol: Symbol,
    /// Order among transactions of the same trade date: the time it was recorded (13-digit epoch
    /// milliseconds) and, for imports, the row (5 digits).
    pub seq: String,
    pub trade: Trade,
    pub currency: Currency,
    /// The import layout, for imported transactions.
    pub source: Option<String>,
    /// For a SELL: the lots it names (specific identification); empty otherwise. Stored as
    /// `lots = <lot id>:<quantity>;…` ([`bourse_domain::lots::picks_text`]).
    pub lots: Vec<LotPick>,
}

impl TransactionRecord {
    /// `YYYY-MM-DD`.
    pub fn trade_date(&self) -> &str {
        self.id.trade_date()
    }

    /// Position in a holding's ledger: trade date, then the order recorded.
    pub fn ledger_position(&self) -> (&str, &str, &TransactionId) {
        (self.trade_date(), &self.seq, &self.id)
    }
}

/// The base-table sort key of transaction `id`: `TX#<trade date>#<id>` (its trade date leads its
/// id, so the key is known without a lookup).
fn transaction_sort_key(id: &TransactionId) -> String {
    format!("TX#{}#{id}", id.trade_date())
}

fn holding_write(table: &str, pk: &str, current: &VersionedHolding, after: &VersionedHolding) -> Result<TransactWriteItem, StorageError> {
    let next = &after.holding;
    let mut update = Update::builder()
        .table_name(table)
        .key(PK, s(pk))
        .key(SK, s(format!("HOLDING#{}", next.symbol)))
        .update_expression(match after.currency {
            Some(_) => "SET #sym = :sym, quantity = :q, costBasis = :c, realisedPnl = :r, dividends = :d, fees = :f, ledger = :ledger, latestTradeDate = :latest, currency = :cur, #v = :next",
            None => "SET #sym = :sym, quantity = :q, costBasis = :c, realisedPnl = :r, dividends = :d, fees = :f, ledger = :ledger, latestTradeDate = :latest, #v = :next",
        })
        .expression_attribute_names("#sym", "symbol")
        .expression_attribute_names("#v", "version")
        .expression_attribute_values(":sym", s(next.symbol.as_str()))
        .expression_attribute_values(":q", n(next.quantity))
        .expression_attribute_values(":c", n(next.cost_basis))
        .expression_attribute_values(":r", n(next.realised_pnl))
        .expression_attribute_values(":d", n(next.dividends))
        .expression_attribute_values(":f", n(next.fees))
        .expression_attribute_values(":ledger", s(format!("{:016x}", after.ledger.0)))
        .expression_attribute_values(":latest", s(after.latest_trade_date.clone()))
        .expression_attribute_values(":next", AttributeValue::N(after.version.to_string()));
    if let Some(currency) = after.currency {
        update = update.expression_attribute_values(":cur", s(currency.as_str()));
    }
    update = if current.version == 0 {
        update.condition_expression("attribute_not_exists(#v)")
    } else {
        update
            .condition_expression("#v = :expected")
            .expression_attribute_values(":expected", AttributeValue::N(current.version.to_string()))
    };
    Ok(TransactWriteItem::builder()
        .update(update.build().map_err(|e| StorageError::Corrupt { key: pk.to_owned(), reason: e.to_string() })?)
        .build())
}

fn transaction_put(table: &str, pk: &str, record: &TransactionRecord) -> Result<TransactWriteItem, StorageError> {
    let mut put = Put::builder()
        .table_name(table)
        .item(PK, s(pk))
        .item(SK, s(transaction_sort_key(&record.id)))
        .item("id", s(record.id.as_str()))
        .item("symbol", s(record.symbol.as_str()))
        .item("tradeDate", s(record.trade_date()))
        .item("seq", s(record.seq.clone()))
        .item("kind", s(record.trade.kind()))
        .item("currency", s(record.currency.as_str()))
        .item(app::GSI1_PK, s(format!("{pk}#{}", record.symbol)))
        .item(app::GSI1_SK, s(format!("{}#{}#{}", record.trade_date(), record.seq, record.id)))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", PK);
    for (name, value) in record.trade.terms() {
        put = put.item(name, s(value));
    }
    if let Some(source) = &record.source {
        put = put.item("source", s(source.clone()));
    }
    if !record.lots.is_empty() {
        put = put.item("lots", s(picks_text(&record.lots)));
    }
    Ok(TransactWriteItem::builder()
        .put(put.build().map_err(|e| StorageError::Corrupt { key: pk.to_owned(), reason: e.to_string() })?)
        .build())
}

/// One change of a holding's ledger: the transactions added and removed, the holding as read
/// (its version is the write's condition) and the holding the change produces.
#[derive(Debug, Clone, Copy)]
pub struct LedgerChange<'a> {
    pub added: &'a [TransactionRecord],
    pub removed: &'a [TransactionRecord],
    pub current: &'a VersionedHolding,
    pub next: &'a Holding,
}

/// Most transactions one [`write_ledger_change`] may add: DynamoDB's 100 items per transaction,
/// less the holding.
pub const MAX_LEDGER_CHANGE: usize = 99;

/// Changes one holding's ledger and stores the holding it produces, in one TransactWriteItems:
/// each added transaction `attribute_not_exists`, each removed one (by record) `attribute_exists`,
/// and the holding `version = current.version` with its digest and latest trade date updated.
/// Up to [`MAX_LEDGER_CHANGE`] changes; ≈ 2 WCU per item. A concurrent writer (or a transaction
/// that already exists) makes it fail with [`StorageError::Conflict`]: nothing is written and
/// the caller re-reads and retries. Returns the holding as now stored.
pub async fn write_ledger_change(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    portfolio: &PortfolioId,
    change: LedgerChange<'_>,
) -> Result<VersionedHolding, StorageError> {
    let LedgerChange { added, removed, current, next } = change;
    if added.len() + removed.len() > MAX_LEDGER_CHANGE {
        return Err(StorageError::Corrupt {
            key: next.symbol.to_string(),
            reason: format!("{} ledger changes in one transaction", added.len() + removed.len()),
        });
    }
    let pk = portfolio_pk(user, portfolio);
    let mut items = Vec::with_capacity(added.len() + removed.len() + 1);
    for record in added {
        items.push(transaction_put(table, &pk, record)?);
    }
    for record in removed {
        let delete = Delete::builder()
            .table_name(table)
            .key(PK, s(pk.clone()))
            .key(SK, s(transaction_sort_key(&record.id)))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .map_err(|e| StorageError::Corrupt { key: pk.clone(), reason: e.to_string() })?;
        items.push(TransactWriteItem::builder().delete(delete).build());
    }
    let after = current.after(added, removed, next.clone());
    items.push(holding_write(table, &pk, current, &after)?);
    clients.dynamodb.transact_write_items().set_transact_items(Some(items)).send().await.map_err(dynamodb_error)?;
    Ok(after)
}

fn transaction_from(item: &Item) -> Result<TransactionRecord, StorageError> {
    let kind = text(item, "kind").unwrap_or_default();
    Ok(TransactionRecord {
        id: TransactionId::parse(text(item, "id").unwrap_or_default()).map_err(|_| corrupt(item, "id"))?,
        symbol: Symbol::parse_stored(text(item, "symbol").unwrap_or_default()).map_err(|_| corrupt(item, "symbol"))?,
        seq: text(item, "seq").unwrap_or_default().to_owned(),
        trade: Trade::from_terms(kind, |name| text(item, name)).ok_or_else(|| corrupt(item, "kind"))?,
        currency: Currency::parse(text(item, "currency").unwrap_or_default()).map_err(|_| corrupt(item, "currency"))?,
        source: text(item, "source").map(str::to_owned),
        lots: match text(item, "lots") {
            None => Vec::new(),
            Some(lots) => parse_picks(lots).ok_or_else(|| corrupt(item, "lots"))?,
        },
    })
}

/// Which transactions a page lists: trade dates in `[from, to]` (`YYYY-MM-DD`), at most `limit`,
/// after the transaction `after` (as the previous page ended).
#[derive(Debug, Clone, Copy)]
pub struct TransactionRange<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub limit: i32,
    pub after: Option<&'a TransactionId>,
}

/// Every transaction of a portfolio, in ledger order per symbol (symbol, then trade date, then the
/// order recorded). 1 Query `pk = P#<user>#<id> AND begins_with(sk, TX#)` per MB, strongly
/// consistent (≈ 1 RCU per 4 KB: 10,000 transactions ≈ 500 RCU).
pub async fn all_transactions(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    portfolio: &PortfolioId,
) -> Result<Vec<TransactionRecord>, StorageError> {
    let pk = portfolio_pk(user, portfolio);
    let items = query_all(clients, Partition::of(table, &pk).consistent(), SortKeys::BeginsWith("TX#"), None).await?;
    let mut records = items.iter().map(transaction_from).collect::<Result<Vec<_>, _>>()?;
    records.sort_by(|a, b| (a.symbol.as_str(), a.ledger_position()).cmp(&(b.symbol.as_str(), b.ledger_position())));
    Ok(records)
}

/// A page of transactions in `range`, newest first.
/// 1 Query `pk = P#<user>#<id> AND sk BETWEEN TX#<from> AND TX#<to>~` with `Limit`, starting after
/// the sort key of the transaction `range.after`; also returns the last record when more may follow.
pub async fn list_transactions(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    portfolio: &PortfolioId,
    range: TransactionRange<'_>,
) -> Result<(Vec<TransactionRecord>, Option<TransactionRecord>), StorageError> {
    let TransactionRange { from, to, limit, after } = range;
    let pk = portfolio_pk(user, portfolio);
    let start = after.map(|id| HashMap::from([(PK.to_owned(), s(pk.clone())), (SK.to_owned(), s(transaction_sort_key(id)))]));
    let output = clients
        .dynamodb
        .query()
        .table_name(table)
        .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_names("#sk", SK)
        .expression_attribute_values(":pk", s(pk))
        .expression_attribute_values(":from", s(format!("TX#{from}")))
        .expression_attribute_values(":to", s(format!("TX#{to}~")))
        .scan_index_forward(false)
        .limit(limit)
        .set_exclusive_start_key(start)
        .send()
        .await
        .map_err(dynamodb_error)?;
    let records = output.items.unwrap_or_default().iter().map(transaction_from).collect::<Result<Vec<_>, _>>()?;
    let next = if output.last_evaluated_key.is_some() { records.last().cloned() } else { None };
    Ok((records, next))
}

/// One holding's ledger: its symbol's transactions in ledger order (trade date, then the order
/// recorded). 1 Query on `gsi1`: `gsi1pk = P#<user>#<id>#<symbol>` (ascending
/// `gsi1sk = <trade date>#<seq>#<tx id>`). The index is eventually consistent, so the ids are
/// checked against the holding's digest: an index that has not caught up with `holding` gives
/// [`StorageError::Conflict`], and the caller retries as for a concurrent writer.
pub async fn ledger(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    portfolio: &PortfolioId,
    holding: &VersionedHolding,
) -> Result<Vec<TransactionRecord>, StorageError> {
    let key = format!("{}#{}", portfolio_pk(user, portfolio), holding.holding.symbol);
    let partition = Partition::on_index(table, app::GSI1, app::GSI1_PK, app::GSI1_SK, &key);
    let records: Vec<TransactionRecord> =
        query_all(clients, partition, SortKeys::All, None).await?.iter().map(transaction_from).collect::<Result<_, _>>()?;
    if LedgerDigest::of(records.iter().map(|r| &r.id)) != holding.ledger {
        return Err(StorageError::Conflict(format!("the ledger index of {} has not caught up yet", holding.holding.symbol)));
    }
    Ok(records)
}

/// One transaction by its id (`<trade date>-<random>`, so its key is known without a lookup).
/// 1 GetItem `pk = P#<user>#<id>, sk = TX#<date>#<transaction id>`, strongly consistent.
pub async fn get_transaction(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    portfolio: &PortfolioId,
    transaction_id: &TransactionId,
) -> Result<Option<TransactionRecord>, StorageError> {
    let found = get_item(clients, table, portfolio_pk(user, portfolio), transaction_sort_key(transaction_id), true).await?;
    found.as_ref().map(transaction_from).transpose()
}

/// A file already imported into a portfolio: its SHA-256 and the answer its import gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRecord {
    pub file_sha256: String,
    pub imported_at: String,
    /// The import's result document (JSON), shown again when the same file comes back.
    pub result: String,
}

/// An earlier import of the same file. 1 GetItem `pk = P#<user>#<id>, sk = IMPORT#<sha-256>`,
/// strongly consistent (1 RCU).
pub async fn get_import(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    portfolio: &PortfolioId,
    file_sha256: &str,
) -> Result<Option<ImportRecord>, StorageError> {
    let found = get_item(clients, table, portfolio_pk(user, portfolio), format!("IMPORT#{file_sha256}"), true).await?;
    Ok(found.map(|item| ImportRecord {
        file_sha256: file_sha256.to_owned(),
        imported_at: text(&item, "importedAt").unwrap_or_default().to_owned(),
        result: text(&item, "result").unwrap_or("{}").to_owned(),
    }))
}

/// Records a completed import. 1 PutItem (≈ 1 WCU per KB of result); written last, so a file
/// whose import was interrupted is not taken for imported.
pub async fn put_import(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    portfolio: &PortfolioId,
    record: &ImportRecord,
) -> Result<(), StorageError> {
    put_in_portfolio(clients, table, user, portfolio, format!("IMPORT#{}", record.file_sha256))
        .item("importedAt", s(record.imported_at.clone()))
        .item("result", s(record.result.clone()))
        .send()
        .await
        .map(|_| ())
        .map_err(dynamodb_error)
}
