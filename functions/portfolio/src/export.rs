//! `GET /v1/me/export`: everything the service holds of the caller, as one JSON document — or the
//! transactions as CSV (`format=csv`). An account of any size is exported in pages of at most
//! [`PAGE_RECORDS`] transactions and signals, so each request does bounded work: the first page
//! holds the profile, sessions, usage, portfolios, watchlists, saved screens, alerts, webhook
//! endpoints, notification preferences and the assistant's preferences and saved keys (their
//! last four characters); every page continues the transactions (portfolio by portfolio), then
//! the journal's signals, then the assistant's messages and threads; `next_cursor` (JSON) or a
//! `Link: …; rel="next"` header (CSV: transactions only) names the next page, absent on the last.

use crate::table::{self, CsvRecord, Format};
use crate::wire::{PortfolioView, SignalView, TransactionView};
use crate::{Portfolio, journal::signal_view};
use bourse_domain::clock::{DAY, rfc3339, utc_date};
use bourse_domain::ids::ThreadId;
use bourse_domain::journal::SignalId;
use bourse_domain::{PortfolioId, TransactionId, UserId};
use bourse_http::{ApiError, ApiRequest, Reply};
use bourse_runtime::assistant::{
    KeyView, MessageView, PreferencesView as AssistantPreferencesView, ThreadView, preferences_of, preferences_view,
};
use bourse_runtime::storage_problem;
use bourse_storage::assistant::{self as chat, ChatPosition, ChatRecord};
use bourse_storage::portfolios::{self as store, TransactionRange};
use bourse_storage::{accounts, journal, sessions, usage};
use serde::Serialize;
use std::collections::BTreeMap;

/// Transactions, signals and the assistant's messages and threads per page.
pub const PAGE_RECORDS: usize = 1_000;
/// The export's format name: a consumer of the document checks it.
pub const FORMAT: &str = "bourse-export-1";
/// Usage is kept 100 days.
const USAGE_DAYS: i64 = 100;

/// `AccountExport`: one page of the export.
#[derive(Debug, Serialize)]
pub struct AccountExport {
    pub format: &'static str,
    pub exported_at: String,
    /// First page only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<ExportProfile>,
    pub sessions: Vec<ExportSession>,
    pub usage: Vec<ExportUsageDay>,
    pub portfolios: Vec<PortfolioView>,
    pub watchlists: Vec<crate::wire::WatchlistView>,
    pub screens: Vec<crate::wire::ScreenView>,
    pub alerts: Vec<crate::wire::AlertView>,
    /// First page only: the webhook endpoints (never their secrets).
    pub webhooks: Vec<crate::wire::WebhookView>,
    /// First page only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_preferences: Option<crate::wire::PreferencesView>,
    pub transactions: Vec<ExportTransaction>,
    pub signals: Vec<SignalView>,
    /// First page only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assistant_preferences: Option<AssistantPreferencesView>,
    /// First page only: the saved provider keys (their last four characters, never the key).
    pub assistant_keys: Vec<KeyView>,
    pub assistant_threads: Vec<ThreadView>,
    pub assistant_messages: Vec<ExportMessage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// An assistant message with the thread it belongs to.
#[derive(Debug, Serialize)]
pub struct ExportMessage {
    pub thread_id: ThreadId,
    #[serde(flatten)]
    pub message: MessageView,
}

#[derive(Debug, Serialize)]
pub struct ExportProfile {
    pub user_id: UserId,
    pub email: String,
    pub email_verified: bool,
    pub plan: String,
    pub created_at: String,
}

/// A session as stored: ended ones too, until they expire.
#[derive(Debug, Serialize)]
pub struct ExportSession {
    pub created_at: String,
    pub last_used_at: String,
    pub expires_at: String,
    pub revoked: bool,
    pub user_agent: Option<String>,
    pub approximate_source: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ExportUsageDay {
    pub date: String,
    pub total: u64,
    pub routes: BTreeMap<String, u64>,
}

/// A transaction with the portfolio it belongs to.
#[derive(Debug, Serialize)]
pub struct ExportTransaction {
    pub portfolio_id: PortfolioId,
    #[serde(flatten)]
    pub transaction: TransactionView,
}

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Position {
    Start,
    /// The transactions of `portfolio` (or the first portfolio after it, if it is gone), after
    /// the transaction `after` (from its newest, when `None`).
    Transactions {
        portfolio: PortfolioId,
        after: Option<TransactionId>,
    },
    /// The signals after `after`, newest first.
    Signals {
        after: Option<SignalId>,
    },
    /// The assistant's messages, then threads, after `after`.
    Assistant {
        after: Option<ChatPosition>,
    },
}

impl Position {
    fn encode(&self) -> String {
        let text = match self {
            Position::Start => String::new(),
            Position::Transactions { portfolio, after } => format!("t:{portfolio}:{}", after.as_ref().map_or("", |a| a.as_str())),
            Position::Signals { after } => format!("s:{}", after.as_ref().map_or("", |a| a.as_str())),
            Position::Assistant { after: None } => "a:".to_owned(),
            Position::Assistant { after: Some(ChatPosition::Message { thread, seq }) } => format!("a:m:{thread}:{seq}"),
            Position::Assistant { after: Some(ChatPosition::Threads) } => "a:p".to_owned(),
            Position::Assistant { after: Some(ChatPosition::Thread(thread)) } => format!("a:t:{thread}"),
        };
        bourse_http::cursor::encode(&text)
    }

    fn decode(raw: &str) -> Result<Self, ApiError> {
        let bad = || ApiError::field("query.cursor", "not a cursor of the export");
        let text = bourse_http::cursor::decode(raw).ok_or_else(bad)?;
        match text.split(':').collect::<Vec<_>>().as_slice() {
            ["t", portfolio, after] => Ok(Position::Transactions {
                portfolio: PortfolioId::parse(portfolio).map_err(|_| bad())?,
                after: match *after {
                    "" => None,
                    id => Some(TransactionId::parse(id).map_err(|_| bad())?),
                },
            }),
            ["s", after] => Ok(Position::Signals {
                after: match *after {
                    "" => None,
                    id => Some(SignalId::parse(id).map_err(|_| bad())?),
                },
            }),
            ["a", ""] => Ok(Position::Assistant { after: None }),
            ["a", "m", thread, seq] => Ok(Position::Assistant {
                after: Some(ChatPosition::Message {
                    thread: ThreadId::parse(thread).map_err(|_| bad())?,
                    seq: seq.parse().map_err(|_| bad())?,
                }),
            }),
            ["a", "p"] => Ok(Position::Assistant { after: Some(ChatPosition::Threads) }),
            ["a", "t", thread] => {
                Ok(Position::Assistant { after: Some(ChatPosition::Thread(ThreadId::parse(thread).map_err(|_| bad())?)) })
            }
            _ => Err(bad()),
        }
    }
}

/// What one page holds of the transactions and signals, and where the next begins.
struct Records {
    transactions: Vec<ExportTransaction>,
    signals: Vec<SignalView>,
    threads: Vec<ThreadView>,
    messages: Vec<ExportMessage>,
    next: Option<Position>,
}

impl Portfolio {
    /// `GET /v1/me/export?format=json|csv&cursor=…`. Cost per page: 1 Query (portfolios) + 1 Query
    /// per portfolio page of transactions + 1–10 Queries of signals, and on the first page 1
    /// GetItem (profile) + 1 Query on `gsi1` (sessions) + 1 Query (usage) + 1 Query (watchlists and
    /// saved screens, each) + 1 Query (alerts) + 1 Query (webhooks and preferences) + 1 GetItem
    /// (assistant preferences) + 1 Query (saved keys); then 1 Query per page of the assistant's
    /// messages and threads.
    pub(crate) async fn export(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&["format", "cursor"])?;
        let format = Format::of(request)?;
        let position = request.query("cursor")?.map(Position::decode).transpose()?.unwrap_or(Position::Start);
        let (aws, table) = (&self.platform.aws, self.app_table.as_str());
        let portfolios = store::list_portfolios(aws, table, user).await.map_err(storage_problem)?;
        let records = self.records(user, &portfolios, &position, format).await?;
        let next_cursor = records.next.as_ref().map(Position::encode);
        if format == Format::Csv {
            let names: BTreeMap<&PortfolioId, &str> = portfolios.iter().map(|p| (&p.id, p.name.as_str())).collect();
            let body = transactions_csv(&records.transactions, &names, position == Position::Start)?;
            let next = next_cursor.map(|cursor| format!("/v1/me/export?format=csv&cursor={cursor}"));
            return table::csv_reply(body, "bourse-transactions.csv", next);
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut page = AccountExport {
            format: FORMAT,
            exported_at: rfc3339(now),
            profile: None,
            sessions: Vec::new(),
            usage: Vec::new(),
            portfolios: Vec::new(),
            watchlists: Vec::new(),
            screens: Vec::new(),
            alerts: Vec::new(),
            webhooks: Vec::new(),
            notification_preferences: None,
            transactions: records.transactions,
            signals: records.signals,
            assistant_preferences: None,
            assistant_keys: Vec::new(),
            assistant_threads: records.threads,
            assistant_messages: records.messages,
            next_cursor,
        };
        if position == Position::Start {
            let profile = accounts::profile(aws, table, user)
                .await
                .map_err(storage_problem)?
                .ok_or_else(|| ApiError::NotFound("no such user".into()))?;
            page.profile = Some(ExportProfile {
                user_id: profile.user_id,
                email: profile.email,
                email_verified: profile.email_verified,
                plan: profile.plan,
                created_at: profile.created_at,
            });
            page.sessions = sessions::list_sessions(aws, table, user)
                .await
                .map_err(storage_problem)?
                .into_iter()
                .map(|s| ExportSession {
                    created_at: rfc3339(s.created_at),
                    last_used_at: rfc3339(s.last_used_at),
                    expires_at: rfc3339(s.expires_at),
                    revoked: s.revoked,
                    user_agent: s.user_agent,
                    approximate_source: s.source,
                })
                .collect();
            let (from, to) = (utc_date(now - USAGE_DAYS * DAY), utc_date(now));
            page.usage = usage::usage_between(aws, table, user, &from, &to)
                .await
                .map_err(storage_problem)?
                .into_iter()
                .map(|d| ExportUsageDay { date: d.date, total: d.total, routes: d.routes })
                .collect();
            page.portfolios = portfolios.iter().map(PortfolioView::from).collect();
            page.watchlists = bourse_storage::watchlists::list_watchlists(aws, table, user)
                .await
                .map_err(storage_problem)?
                .iter()
                .map(crate::wire::WatchlistView::from)
                .collect();
            page.screens = bourse_storage::screens::list_screens(aws, table, user)
                .await
                .map_err(storage_problem)?
                .iter()
                .map(crate::wire::ScreenView::from)
                .collect();
            page.alerts = bourse_storage::alerts::list_alerts(aws, table, user)
                .await
                .map_err(storage_problem)?
                .iter()
                .map(crate::wire::AlertView::from)
                .collect();
            let delivery = bourse_storage::webhooks::settings(aws, table, user).await.map_err(storage_problem)?;
            page.webhooks = delivery.webhooks.iter().map(crate::wire::WebhookView::from).collect();
            page.notification_preferences = Some(crate::wire::PreferencesView::from(delivery.preferences));
            let preferences = chat::preferences(aws, table, user).await.map_err(storage_problem)?;
            page.assistant_preferences = Some(preferences_view(&preferences_of(preferences)));
            page.assistant_keys = chat::list_keys(aws, table, user).await.map_err(storage_problem)?.iter().map(KeyView::from).collect();
        }
        Reply::ok(&page)
    }

    /// Up to [`PAGE_RECORDS`] transactions from `position` on, portfolio after portfolio (in id
    /// order), then (JSON only) signals to fill the page.
    async fn records(
        &self,
        user: &UserId,
        portfolios: &[store::PortfolioRecord],
        position: &Position,
        format: Format,
    ) -> Result<Records, ApiError> {
        let (aws, table) = (&self.platform.aws, self.app_table.as_str());
        let mut records = Records { transactions: Vec::new(), signals: Vec::new(), threads: Vec::new(), messages: Vec::new(), next: None };
        let (mut index, mut after) = match position {
            Position::Start => (0, None),
            // A portfolio deleted since the last page: go on with the next one.
            Position::Transactions { portfolio, after } => match portfolios.iter().position(|p| &p.id >= portfolio) {
                Some(i) if &portfolios[i].id == portfolio => (i, after.clone()),
                Some(i) => (i, None),
                None => (portfolios.len(), None),
            },
            Position::Signals { .. } | Position::Assistant { .. } => (portfolios.len(), None),
        };
        while let Some(portfolio) = portfolios.get(index) {
            let room = PAGE_RECORDS - records.transactions.len();
            if room == 0 {
                records.next = Some(Position::Transactions { portfolio: portfolio.id.clone(), after: None });
                return Ok(records);
            }
            let range = TransactionRange { from: "0000-01-01", to: "9999-12-31", limit: room as i32, after: after.as_ref() };
            let (page, more) = store::list_transactions(aws, table, user, &portfolio.id, range).await.map_err(storage_problem)?;
            records.transactions.extend(
                page.iter().map(|t| ExportTransaction { portfolio_id: portfolio.id.clone(), transaction: TransactionView::from(t) }),
            );
            if let Some(last) = more {
                records.next = Some(Position::Transactions { portfolio: portfolio.id.clone(), after: Some(last.id) });
                return Ok(records);
            }
            index += 1;
            after = None;
        }
        if format == Format::Csv {
            return Ok(records);
        }
        if !matches!(position, Position::Assistant { .. }) {
            let room = PAGE_RECORDS - records.transactions.len();
            if room == 0 {
                records.next = Some(Position::Signals { after: None });
                return Ok(records);
            }
            let after = match position {
                Position::Signals { after } => after.as_ref(),
                _ => None,
            };
            let (signals, more) =
                journal::list_signals(aws, table, user, &journal::SignalFilter::default(), room, after).await.map_err(storage_problem)?;
            records.signals = signals.iter().map(signal_view).collect();
            if let Some(last) = more {
                records.next = Some(Position::Signals { after: Some(last) });
                return Ok(records);
            }
        }
        let room = PAGE_RECORDS - records.transactions.len() - records.signals.len();
        if room == 0 {
            records.next = Some(Position::Assistant { after: None });
            return Ok(records);
        }
        let after = match position {
            Position::Assistant { after } => after.as_ref(),
            _ => None,
        };
        let (chat_records, more) = chat::chat_records_page(aws, table, user, after, room as i32).await.map_err(storage_problem)?;
        for record in &chat_records {
            match record {
                ChatRecord::Thread(thread) => records.threads.push(ThreadView::from(thread)),
                ChatRecord::Message { thread, message } => {
                    records.messages.push(ExportMessage { thread_id: thread.clone(), message: MessageView::from(message) })
                }
            }
        }
        records.next = more.map(|last| Position::Assistant { after: Some(last) });
        Ok(records)
    }
}

/// The account export's CSV columns: the portfolio, then a transaction's own columns.
fn csv_header() -> Vec<&'static str> {
    ["portfolio_id", "portfolio_name"].into_iter().chain(TransactionView::HEADER.iter().copied()).collect()
}

/// Transactions as CSV (the header on the first page only, so pages concatenate), each row the
/// portfolio's id and name before the transaction's cells.
fn transactions_csv(transactions: &[ExportTransaction], names: &BTreeMap<&PortfolioId, &str>, header: bool) -> Result<Vec<u8>, ApiError> {
    let columns = csv_header();
    let rows = transactions.iter().map(|row| {
        let name = names.get(&row.portfolio_id).copied().unwrap_or_default();
        [row.portfolio_id.as_str().to_owned(), name.to_owned()].into_iter().chain(row.transaction.cells()).collect::<Vec<String>>()
    });
    table::csv_document(header.then_some(columns.as_slice()), rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_nothing_else_decodes() {
        let portfolio = PortfolioId::parse(&"a".repeat(32)).unwrap();
        let tx = TransactionId::new(time::macros::date!(2026 - 01 - 15), "0123456789abcdef").unwrap();
        for position in [
            Position::Transactions { portfolio: portfolio.clone(), after: None },
            Position::Transactions { portfolio, after: Some(tx) },
            Position::Signals { after: None },
            Position::Assistant { after: None },
            Position::Assistant { after: Some(ChatPosition::Message { thread: ThreadId::parse(&"0".repeat(32)).unwrap(), seq: 3 }) },
            Position::Assistant { after: Some(ChatPosition::Threads) },
            Position::Assistant { after: Some(ChatPosition::Thread(ThreadId::parse(&"1".repeat(32)).unwrap())) },
        ] {
            assert_eq!(Position::decode(&position.encode()).unwrap(), position);
        }
        for raw in [
            "",
            "zz",
            &bourse_http::cursor::encode("t:nope:"),
            &bourse_http::cursor::encode("x:1"),
            &bourse_http::cursor::encode("a:M#1 OR 1=1"),
            &bourse_http::cursor::encode("a:m:0:x"),
            &bourse_http::cursor::encode("a:t:PREFS"),
        ] {
            assert!(Position::decode(raw).is_err(), "{raw}");
        }
    }
}
