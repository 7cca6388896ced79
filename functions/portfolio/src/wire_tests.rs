//! Every answer of the portfolio function against its schema in `openapi.yaml`: a sample of each
//! response type, built by the code the handlers use, is serialised and checked (closed objects:
//! an undocumented member fails, as does a missing required one or a wrong type).

use crate::journal::signal_view;
use crate::ledger::derive;
use crate::wire::*;
use crate::{summary, valued};
use bourse_domain::journal::{self as rules, Confidence, Contribution, Direction, Outcome, SignalId, SymbolStats};
use bourse_domain::money::Currency;
use bourse_domain::portfolio::analyse;
use bourse_domain::text::parse_date;
use bourse_domain::transaction::RawTransaction;
use bourse_domain::{PortfolioId, Symbol, TransactionId};
use bourse_http::schema_check::OpenApi;
use bourse_http::{Links, Page};
use bourse_storage::journal::{Closing, SignalRecord};
use bourse_storage::market::Quote;
use bourse_storage::portfolios::{PortfolioRecord, TransactionRecord};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap()
}

fn transaction(id: &str, kind: &str, date: &str, extra: &[(&str, &str)]) -> TransactionRecord {
    let mut raw = RawTransaction { kind: kind.into(), symbol: "AAPL".into(), trade_date: date.into(), ..Default::default() };
    for (name, value) in extra {
        let value = Some((*value).to_owned());
        match *name {
            "quantity" => raw.quantity = value,
            "price" => raw.price = value,
            "fees" => raw.fees = value,
            "amount" => raw.amount = value,
            "ratio" => raw.ratio = value,
            _ => unreachable!(),
        }
    }
    let parsed = raw.parse(parse_date("2026-11-30").unwrap()).unwrap();
    TransactionRecord {
        id: TransactionId::parse(id).unwrap(),
        symbol: parsed.symbol.clone(),
        seq: format!("{:018}", id.len()),
        trade: parsed.trade,
        currency: parsed.currency,
        source: None,
        lots: parsed.lots,
    }
}

fn signal(id: &str, closed: bool) -> SignalRecord {
    SignalRecord {
        id: SignalId::parse(id).unwrap(),
        symbol: Symbol::parse("MSFT").unwrap(),
        direction: Direction::Long,
        entry_price: d("400"),
        target_price: Some(d("450.5")),
        stop_price: None,
        confidence: Confidence::new(70).unwrap(),
        source: Some("rsi-oversold".into()),
        note: None,
        opened_at: "2026-11-25T21:30:00Z".into(),
        created_at: "2026-11-25T21:30:00Z".into(),
        close: closed.then(|| Closing {
            exit_price: d("420"),
            closed_at: "2026-11-26T21:30:00Z".into(),
            note: Some("target nearly met".into()),
            return_pct: d("5"),
            outcome: Outcome::of(d("5")),
        }),
    }
}

/// (operation, status, answer) for every JSON answer of the portfolio and journal routes.
fn samples() -> Vec<(&'static str, u16, Value)> {
    let portfolio = PortfolioRecord {
        id: PortfolioId::parse(&"0".repeat(32)).unwrap(),
        name: "Core".into(),
        currency: Currency::USD,
        created_at: "2026-11-25T21:30:00Z".into(),
        track_cash: true,
        lot_method: bourse_domain::lots::LotMethod::Lifo,
    };
    let view = PortfolioView::from(&portfolio);
    let mut imported = transaction("2026-01-16-00112233445566ff", "BUY", "2026-01-16", &[("quantity", "5"), ("price", "100")]);
    imported.source = Some("schwab".into());
    let ledger = [
        transaction("2026-01-15-0011223344556677", "BUY", "2026-01-15", &[("quantity", "10"), ("price", "150.25"), ("fees", "1")]),
        imported,
        transaction("2026-02-01-0011223344556688", "DIVIDEND", "2026-02-01", &[("amount", "2.4")]),
        transaction("2026-03-01-0011223344556699", "SPLIT", "2026-03-01", &[("ratio", "2:1")]),
        transaction("2026-04-01-00112233445566aa", "SELL", "2026-04-01", &[("quantity", "3"), ("price", "90")]),
    ];
    let aapl = derive(&Symbol::parse("AAPL").unwrap(), ledger.iter().collect()).unwrap();
    let unpriced = derive(&Symbol::parse("ZZZ").unwrap(), vec![]).unwrap();
    let quote = Quote {
        price: Some(d("95.5")),
        change: Some(d("-1.25")),
        change_pct: Some(d("-1.3")),
        sector: Some("Information Technology".into()),
        dividend_yield: Some(d("0.005")),
    };
    let quotes: HashMap<String, Quote> = [("AAPL".to_owned(), quote.clone())].into();
    let holdings = vec![aapl.clone(), unpriced.clone()];
    let mut transactions: Vec<TransactionView> = ledger.iter().map(TransactionView::from).collect();
    // A cash kind: no symbol.
    let deposit = RawTransaction {
        kind: "DEPOSIT".into(),
        trade_date: "2026-01-02".into(),
        amount: Some("5000".into()),
        currency: Some("EUR".into()),
        ..Default::default()
    }
    .parse(parse_date("2026-06-30").unwrap())
    .unwrap();
    transactions.push(TransactionView::from(&TransactionRecord {
        id: TransactionId::parse("2026-01-02-00112233445566bb").unwrap(),
        symbol: deposit.symbol.clone(),
        seq: "0".into(),
        trade: deposit.trade,
        currency: deposit.currency,
        source: None,
        lots: Vec::new(),
    }));
    assert!(transactions.last().is_some_and(|t| t.symbol.is_none()), "a cash kind shows no symbol");
    let cash = bourse_domain::cash::balances(ledger.iter().map(|r| (r.currency, &r.trade)).chain([(deposit.currency, &deposit.trade)]));
    let import = ImportResult {
        layout: "schwab".into(),
        file_sha256: "ab".repeat(32),
        imported_at: "2026-11-25T21:30:00Z".into(),
        rows: 3,
        added: 2,
        duplicates: 0,
        skipped: vec![SkippedRow { row: 4, reason: "a cash movement".into() }],
        symbols: vec![SymbolImport { symbol: "AAPL".into(), added: 2, duplicates: 0 }],
        unknown_symbols: vec!["NEWCO".into()],
        enrichment_job: Some(EnrichmentJob::Queued {
            job_id: "j0123456789abcdef01234567".into(),
            state: "queued".into(),
            links: Links::to("/v1/jobs/j0123456789abcdef01234567"),
        }),
        duplicate_file: false,
    };
    let mut not_queued = import.clone();
    not_queued.enrichment_job = Some(EnrichmentJob::NotQueued { error: "could not be queued".into() });
    let mut nothing_unknown = ImportResult::from_stored(&import.to_stored().unwrap()).unwrap();
    nothing_unknown.enrichment_job = None;
    let (open, closed) = (signal("1795642200000-0123456789ab", false), signal("1795642200001-0123456789ab", true));
    let msft = Symbol::parse("MSFT").unwrap();
    let mut stats = SymbolStats::default();
    stats.add(&msft, Contribution::Open).unwrap();
    stats.add(&msft, Contribution::Open).unwrap();
    stats.close(&msft, d("5")).unwrap();
    let (all, by_symbol) = rules::roll_up(&[(msft.clone(), stats)]);
    let journal_stats = JournalStats {
        all: JournalCounts::from(&all),
        by_symbol: by_symbol
            .iter()
            .map(|(s, summary)| SymbolCounts { symbol: s.as_str().to_owned(), counts: JournalCounts::from(summary) })
            .collect(),
    };
    let empty_stats = JournalStats { all: JournalCounts::from(&rules::roll_up(&[]).0), by_symbol: vec![] };
    let watchlist = bourse_storage::watchlists::WatchlistRecord {
        id: bourse_domain::WatchlistId::parse(&"2".repeat(32)).unwrap(),
        name: "Tech".into(),
        symbols: vec![Symbol::parse("AAPL").unwrap(), Symbol::parse("ZZZ").unwrap()],
        created_at: "2026-11-25T21:30:00Z".into(),
        updated_at: "2026-11-25T21:31:00Z".into(),
        version: 2,
    };
    let listed = WatchlistView::from(&watchlist);
    let detail = WatchlistDetail {
        list: listed.clone(),
        items: watchlist.symbols.iter().map(|s| QuotedSymbol::new(s, quotes.get(s.as_str()))).collect(),
    };
    let screen = bourse_storage::screens::ScreenRecord {
        id: bourse_domain::ScreenId::parse(&"3".repeat(32)).unwrap(),
        definition: bourse_domain::saved_screen::ScreenDefinition::parse("Cheap", "pe < 15 and sector = 'Energy'", None, None, None)
            .unwrap(),
        created_at: "2026-11-25T21:30:00Z".into(),
        updated_at: "2026-11-25T21:31:00Z".into(),
    };
    let screen_view = ScreenView::from(&screen);
    let mut stock = bourse_domain::stock::Stock::new(Symbol::parse("XOM").unwrap(), "Exxon Mobil".into());
    stock.sector = Some("Energy".into());
    stock.set(bourse_domain::stock::Metric::Pe, Some(d("12.5")));
    let results = |cursor: Option<String>| ScreenResults {
        screen: screen_view.clone(),
        scope: "watchlist",
        total: 1,
        universe_version: 7,
        unknown: vec!["ZZZ".into()],
        page: Page::new(vec![ScreenRow::new(&stock, &screen.definition.columns)], cursor),
    };
    let alert = |kind: &str, members: &[(&str, &str)], crossings: u64| {
        let mut raw = bourse_domain::alerts::RawAlert { kind: kind.into(), ..Default::default() };
        for (name, value) in members {
            let value = Some((*value).to_owned());
            match *name {
                "symbol" => raw.symbol = value,
                "price" => raw.price = value,
                "percent" => raw.percent = value,
                "signal" => raw.signal = value,
                "screen_id" => raw.screen_id = value,
                "on" => raw.on = value,
                _ => unreachable!(),
            }
        }
        AlertView::from(&bourse_storage::alerts::AlertRecord {
            user: bourse_domain::UserId::parse(&"1".repeat(32)).unwrap(),
            id: bourse_domain::AlertId::parse(&"4".repeat(32)).unwrap(),
            rule: raw.parse().unwrap(),
            armed: crossings == 0,
            crossings,
            pending: None,
            matches: Default::default(),
            last_fired_at: (crossings > 0).then(|| "2026-11-25T21:35:00Z".to_owned()),
            created_at: "2026-11-25T21:30:00Z".into(),
        })
    };
    let alert_views = vec![
        alert("price-above", &[("symbol", "AAPL"), ("price", "200.5")], 0),
        alert("price-below", &[("symbol", "AAPL"), ("price", "150")], 1),
        alert("day-move", &[("symbol", "MSFT"), ("percent", "5")], 0),
        alert("signal", &[("symbol", "MSFT"), ("signal", "golden-cross")], 2),
        alert("screen", &[("screen_id", &"3".repeat(32)), ("on", "gained")], 0),
    ];
    // The assistant's records, as the export shows them.
    use bourse_storage::assistant::{KeyRecord, MessageRecord, ThreadRecord, ToolCallRecord};
    let thread_id = bourse_domain::ids::ThreadId::parse(&"4".repeat(32)).unwrap();
    let thread = ThreadRecord {
        id: thread_id.clone(),
        title: "Questions".into(),
        created_at: "2026-11-25T21:30:00Z".into(),
        updated_at: "2026-11-25T21:31:00Z".into(),
        messages: 2,
    };
    let answer = MessageRecord {
        seq: 1,
        role: "assistant".into(),
        content: "Your largest position is AAPL.".into(),
        tool_calls: vec![ToolCallRecord { name: "holdings".into(), arguments: "{}".into(), outcome: "ok".into() }],
        mode: Some("model".into()),
        provider: Some("bedrock".into()),
        model: Some("amazon.nova-micro-v1:0".into()),
        input_tokens: 900,
        output_tokens: 80,
        cost: Some("0.0000123".parse().unwrap()),
        created_at: "2026-11-25T21:31:00Z".into(),
    };
    let key = KeyRecord {
        id: bourse_domain::ids::AssistantKeyId::parse(&"5".repeat(32)).unwrap(),
        endpoint: "openai".into(),
        label: "Mine".into(),
        last4: "wxyz".into(),
        data_key: "sealed".into(),
        sealed: "sealed".into(),
        created_at: "2026-11-25T21:30:00Z".into(),
    };
    let first_page = crate::export::AccountExport {
        format: crate::export::FORMAT,
        exported_at: "2026-11-25T21:30:00Z".into(),
        profile: Some(crate::export::ExportProfile {
            user_id: bourse_domain::UserId::parse(&"1".repeat(32)).unwrap(),
            email: "ada@example.com".into(),
            email_verified: true,
            plan: "free".into(),
            created_at: "2026-11-25T21:30:00Z".into(),
        }),
        sessions: vec![crate::export::ExportSession {
            created_at: "2026-11-25T21:30:00Z".into(),
            last_used_at: "2026-11-25T21:30:00Z".into(),
            expires_at: "2026-12-25T21:30:00Z".into(),
            revoked: false,
            user_agent: None,
            approximate_source: Some("203.0.113.0/24".into()),
        }],
        usage: vec![crate::export::ExportUsageDay { date: "2026-11-25".into(), total: 2, routes: [("GET /v1/me".to_owned(), 2)].into() }],
        portfolios: vec![view.clone()],
        watchlists: vec![listed.clone()],
        screens: vec![screen_view.clone()],
        alerts: alert_views.clone(),
        webhooks: vec![WebhookView {
            id: "ab".repeat(16),
            url: "https://hooks.example.com/bourse".into(),
            status: "active",
            created_at: "2026-12-02T12:00:00Z".into(),
            failures: 0,
            disabled_at: None,
        }],
        notification_preferences: Some(PreferencesView { email: true }),
        transactions: transactions
            .iter()
            .map(|t| crate::export::ExportTransaction { portfolio_id: portfolio.id.clone(), transaction: t.clone() })
            .collect(),
        signals: vec![signal_view(&closed)],
        assistant_preferences: Some(bourse_runtime::assistant::preferences_view(&bourse_runtime::assistant::preferences_of(None))),
        assistant_keys: vec![bourse_runtime::assistant::KeyView::from(&key)],
        assistant_threads: vec![],
        assistant_messages: vec![crate::export::ExportMessage {
            thread_id: thread_id.clone(),
            message: bourse_runtime::assistant::MessageView::from(&answer),
        }],
        next_cursor: Some("0a0b".into()),
    };
    let last_page = crate::export::AccountExport {
        format: crate::export::FORMAT,
        exported_at: "2026-11-25T21:30:00Z".into(),
        profile: None,
        sessions: vec![],
        usage: vec![],
        portfolios: vec![],
        watchlists: vec![],
        screens: vec![],
        alerts: vec![],
        webhooks: vec![],
        notification_preferences: None,
        transactions: vec![],
        signals: vec![signal_view(&open)],
        assistant_preferences: None,
        assistant_keys: vec![],
        assistant_threads: vec![bourse_runtime::assistant::ThreadView::from(&thread)],
        assistant_messages: vec![],
        next_cursor: None,
    };
    let note = bourse_storage::inbox::Notification {
        id: bourse_domain::inbox::NotificationId::new(1_795_642_200_000, "0123456789ab").unwrap(),
        kind: bourse_domain::inbox::NotificationKind::JobCompleted,
        title: "Your enrichment job finished".into(),
        body: "1 symbol enriched.".into(),
        link: Some("/v1/jobs/j0123456789abcdef01234567".into()),
        created_at: "2026-11-25T21:30:00Z".into(),
        read: false,
    };
    let inbox_page = InboxPage { items: vec![NotificationView::from(&note)], next_cursor: Some("0a0b".into()), unread: 1 };
    let entries: Vec<bourse_domain::lots::LedgerEntry> = [
        ("2024-01-10-00000000000000a1", "BUY", "2024-01-10", &[("quantity", "10"), ("price", "100"), ("fees", "1")][..]),
        ("2025-03-01-00000000000000a2", "SELL", "2025-03-01", &[("quantity", "4"), ("price", "90")][..]),
        ("2025-03-10-00000000000000a3", "BUY", "2025-03-10", &[("quantity", "2"), ("price", "85")][..]),
    ]
    .iter()
    .map(|(id, kind, date, terms)| {
        let t = transaction(id, kind, date, terms);
        bourse_domain::lots::LedgerEntry { id: t.id.clone(), date: parse_date(date).unwrap(), trade: t.trade, picks: vec![] }
    })
    .collect();
    let rules =
        bourse_domain::lots::LotRules { method: bourse_domain::lots::LotMethod::Fifo, wash_sales: bourse_domain::lots::WashSaleRule::Us };
    let book = bourse_domain::lots::tax_lots(&entries, rules).unwrap();
    let lots_report = LotsReport {
        method: "FIFO",
        wash_sales: "us",
        holdings: vec![HoldingLots {
            symbol: "AAPL".into(),
            open_lots: book.open.iter().map(OpenLotView::from).collect(),
            disposals: book.disposals.iter().map(DisposalView::from).collect(),
            fees: "0".into(),
        }],
        gains_by_year: bourse_domain::lots::gains_by_year(&book.disposals)
            .iter()
            .map(|y| YearGainsView {
                year: y.year,
                short_term: TermGainsView::from(&y.short_term),
                long_term: TermGainsView::from(&y.long_term),
            })
            .collect(),
    };
    assert!(book.disposals.iter().any(|d| d.wash_sale.is_some()), "the sample shows a wash sale");
    let rate = |c: &str, a: Option<&str>| Some(RateView { cumulative: c.into(), annualised: a.map(Into::into) });
    let figures = |start: &str, end: &str, gain: &str, twr: Option<RateView>| ReturnsFigures {
        start_value: start.into(),
        end_value: end.into(),
        contributions: "0".into(),
        withdrawals: "0".into(),
        gain: gain.into(),
        time_weighted: twr.clone(),
        money_weighted: None,
        simple: twr,
    };
    let returns = PeriodReturnsView {
        period: "3Y".into(),
        from: "2023-12-03".into(),
        to: "2026-12-02".into(),
        figures: figures("1000", "1342", "342", rate("0.342", Some("0.10306"))),
        currency: "USD".into(),
        price_effect: EffectView { time_weighted: Some("0.3".into()), gain: "300".into() },
        fx_effect: EffectView { time_weighted: Some("0.042".into()), gain: "42".into() },
        benchmark: Some(BenchmarkView {
            name: "sp500".into(),
            symbol: "SPY".into(),
            index_return: rate("0.3", Some("0.09139")),
            same_money_end_value: Some("1300".into()),
            same_money_gain: Some("300".into()),
            same_money_money_weighted: None,
            excess_time_weighted: rate("0.042", Some("0.01167")),
            excess_money_weighted: None,
        }),
        holdings: vec![HoldingReturnsView {
            symbol: "AAPL".into(),
            figures: figures("1000", "1342", "342", rate("0.342", Some("0.10306"))),
        }],
    };
    let without_benchmark = PeriodReturnsView { benchmark: None, holdings: vec![], ..returns.clone() };
    let all_returns = AllReturnsView {
        combined: returns.clone(),
        portfolios: vec![
            PortfolioReturnsRow {
                portfolio_id: "0123456789abcdef0123456789abcdef".into(),
                name: "Core".into(),
                returns: Some(figures("1000", "1342", "342", rate("0.342", Some("0.10306")))),
            },
            PortfolioReturnsRow { portfolio_id: "fedcba9876543210fedcba9876543210".into(), name: "Empty".into(), returns: None },
        ],
    };
    let gain_rows: Vec<GainRow> = book
        .disposals
        .iter()
        .map(|d| GainRow {
            symbol: "AAPL".into(),
            tax_year: d.disposed.year(),
            disposal: DisposalView::from(d),
            wash_sale: d.wash_sale.is_some(),
        })
        .collect();
    let gains = GainsExport {
        method: "SPECIFIC",
        wash_sales: "us",
        year: Some(2025),
        page: Page::all(gain_rows),
        gains_by_year: crate::lots::year_views(&book.disposals),
    };
    let every_year = GainsExport { year: None, page: Page::all(vec![]), gains_by_year: vec![], ..gains.clone() };
    // A SELL naming its lots shows them.
    let mut named = transaction("2025-03-01-00000000000000a2", "SELL", "2025-03-01", &[("quantity", "4"), ("price", "90")]);
    named.lots = vec![bourse_domain::lots::LotPick { lot: TransactionId::parse("2024-01-10-00000000000000a1").unwrap(), quantity: d("4") }];
    let dividend_ledger: Vec<(time::Date, bourse_domain::portfolio::Trade)> =
        ledger.iter().map(|t| (parse_date(t.trade_date()).unwrap(), t.trade)).collect();
    let payer = [("2026-04-01-00112233445566b1", "2026-04-01"), ("2026-07-01-00112233445566b2", "2026-07-01")]
        .map(|(id, date)| (parse_date(date).unwrap(), transaction(id, "DIVIDEND", date, &[("amount", "1.2")]).trade));
    let dividend_ledger: Vec<_> = dividend_ledger.into_iter().chain(payer).collect();
    let empty_ledger = vec![(parse_date("2026-05-01").unwrap(), ledger[0].trade)];
    let report = bourse_domain::dividends::dividends(
        &[
            bourse_domain::dividends::HoldingInput {
                symbol: Symbol::parse("AAPL").unwrap(),
                ledger: &dividend_ledger,
                price: Some(d("95.5")),
                dividend_yield: Some(d("0.005")),
            },
            bourse_domain::dividends::HoldingInput {
                symbol: Symbol::parse("MSFT").unwrap(),
                ledger: &empty_ledger,
                price: None,
                dividend_yield: None,
            },
        ],
        parse_date("2026-08-01").unwrap(),
    )
    .unwrap();
    assert!(!report.calendar.is_empty() && report.holdings[1].ttm_yield.is_none(), "the sample shows a calendar and an unknown yield");
    let dividends = DividendsView::new(&report, "2026-08-01T21:30:00Z".into());
    let hook = bourse_storage::webhooks::WebhookRecord {
        id: bourse_domain::WebhookId::from_random([0xab; 16]),
        url: "https://hooks.example.com/bourse".into(),
        sealed_secret: "00".into(),
        created_at: "2026-12-02T12:00:00Z".into(),
        active: true,
        failures: 0,
        disabled_at: None,
    };
    let disabled = bourse_storage::webhooks::WebhookRecord {
        active: false,
        failures: 3,
        disabled_at: Some("2026-12-02T13:00:00Z".into()),
        ..hook.clone()
    };
    let created = CreatedWebhook {
        endpoint: WebhookView::from(&hook),
        secret: bourse_domain::webhook::WebhookSecret::from_random([7; 32]).expose().to_owned(),
    };
    vec![
        ("createWebhook", 201, json(&created)),
        ("listWebhooks", 200, json(&Page::all(vec![WebhookView::from(&hook), WebhookView::from(&disabled)]))),
        ("testWebhook", 202, json(&TestQueued { event_id: format!("evt_test_{}", "0f".repeat(16)) })),
        ("getNotificationPreferences", 200, json(&PreferencesView { email: false })),
        ("setNotificationPreferences", 200, json(&PreferencesView { email: true })),
        ("dividends", 200, json(&dividends)),
        ("exportGains", 200, json(&gains)),
        ("exportGains", 200, json(&every_year)),
        ("exportTransactions", 200, json(&Page::new(vec![TransactionView::from(&named)], Some("0a0b".into())))),
        ("exportTransactions", 200, json(&Page::<TransactionView>::all(vec![]))),
        (
            "exportHoldings",
            200,
            json(&Holdings {
                page: Page::all(holdings.iter().map(|h| HoldingView::new(h, quotes.get(h.symbol.as_str()))).collect()),
                as_of: "2026-11-25T21:30:00Z".into(),
            }),
        ),
        ("returns", 200, json(&returns)),
        ("returns", 200, json(&without_benchmark)),
        ("allReturns", 200, json(&all_returns)),
        ("lots", 200, json(&lots_report)),
        ("inbox", 200, json(&inbox_page)),
        ("inboxUnreadCount", 200, json(&UnreadCount { unread: 3 })),
        ("inboxMarkAllRead", 200, json(&MarkedRead { marked: 3 })),
        ("createScreen", 201, json(&screen_view)),
        ("listScreens", 200, json(&Page::all(vec![screen_view.clone()]))),
        ("getScreen", 200, json(&screen_view)),
        ("changeScreen", 200, json(&screen_view)),
        ("screenResults", 200, json(&results(Some("0a0b".into())))),
        ("screenResults", 200, json(&results(None))),
        ("createAlert", 201, json(&alert_views[0])),
        ("listAlerts", 200, json(&Page::all(alert_views.clone()))),
        ("getAlert", 200, json(&alert_views[3])),
        ("getAlert", 200, json(&alert_views[4])),
        ("replaceAlert", 200, json(&alert_views[2])),
        ("createWatchlist", 201, json(&listed)),
        ("listWatchlists", 200, json(&Page::all(vec![listed.clone()]))),
        ("getWatchlist", 200, json(&detail)),
        ("changeWatchlist", 200, json(&listed)),
        ("addToWatchlist", 200, json(&listed)),
        ("exportAccount", 200, json(&first_page)),
        ("exportAccount", 200, json(&last_page)),
        ("createPortfolio", 201, json(&view)),
        ("getPortfolio", 200, json(&view)),
        ("renamePortfolio", 200, json(&view)),
        ("listPortfolios", 200, json(&Page::all(vec![view.clone()]))),
        (
            "addTransaction",
            201,
            json(&AddedTransaction { transaction: transactions[0].clone(), holding: HoldingView::new(&aapl, Some(&quote)) }),
        ),
        ("listTransactions", 200, json(&Page::new(transactions.clone(), Some("0a0b".into())))),
        ("listTransactions", 200, json(&Page::all(transactions))),
        (
            "holdings",
            200,
            json(&Holdings {
                page: Page::all(holdings.iter().map(|h| HoldingView::new(h, quotes.get(h.symbol.as_str()))).collect()),
                as_of: "2026-11-25T21:30:00Z".into(),
            }),
        ),
        ("summary", 200, json(&summary(&portfolio, &holdings, &quotes, &cash))),
        ("summary", 200, json(&summary(&portfolio, &[], &HashMap::new(), &[]))),
        (
            "history",
            200,
            json(&History {
                from: "2026-01-01".into(),
                to: "2026-01-02".into(),
                points: vec![HistoryPoint {
                    date: "2026-01-02".into(),
                    value: "100".into(),
                    cost: "90".into(),
                    realised_pnl: "-1.5".into(),
                    dividends: "0".into(),
                    unpriced_positions: 1,
                    benchmark_value: Some(Some("101.5".into())),
                }],
            }),
        ),
        (
            "history",
            200,
            json(&History {
                from: "2026-01-01".into(),
                to: "2026-01-02".into(),
                points: vec![
                    HistoryPoint {
                        date: "2026-01-01".into(),
                        value: "0".into(),
                        cost: "0".into(),
                        realised_pnl: "0".into(),
                        dividends: "0".into(),
                        unpriced_positions: 0,
                        benchmark_value: Some(None),
                    },
                    HistoryPoint {
                        date: "2026-01-02".into(),
                        value: "0".into(),
                        cost: "0".into(),
                        realised_pnl: "0".into(),
                        dividends: "0".into(),
                        unpriced_positions: 0,
                        benchmark_value: None,
                    },
                ],
            }),
        ),
        ("analysis", 200, json(&analyse(&valued(&holdings, &quotes)))),
        ("analysis", 200, json(&analyse(&[]))),
        ("importCsv", 200, json(&import)),
        ("importCsv", 200, json(&not_queued)),
        ("importCsv", 200, json(&nothing_unknown)),
        ("createSignal", 201, json(&signal_view(&open))),
        ("getSignal", 200, json(&signal_view(&closed))),
        ("closeSignal", 200, json(&signal_view(&closed))),
        ("createSignals", 201, json(&Page::all(vec![signal_view(&open)]))),
        ("listSignals", 200, json(&Page::new(vec![signal_view(&open), signal_view(&closed)], Some("0c".into())))),
        ("listSignals", 200, json(&Page::<SignalView>::all(vec![]))),
        ("journalStats", 200, json(&journal_stats)),
        ("journalStats", 200, json(&empty_stats)),
    ]
}

#[test]
fn every_answer_matches_its_schema() {
    OpenApi::of_workspace(env!("CARGO_MANIFEST_DIR")).assert_samples(&samples());
}

#[test]
fn every_documented_answer_has_a_sample() {
    OpenApi::of_workspace(env!("CARGO_MANIFEST_DIR"))
        .assert_samples_cover(&["portfolio", "journal", "watchlists", "inbox", "webhooks", "screens", "alerts"], &samples());
}

#[test]
fn answers_are_snake_case_and_echo_no_stored_attribute() {
    for (operation, _, answer) in samples() {
        let mut stack = vec![answer];
        while let Some(value) = stack.pop() {
            match value {
                Value::Object(members) => {
                    // An assistant message's `seq` is its documented place in its thread.
                    let assistant_message = members.contains_key("role") && members.contains_key("tool_calls");
                    for (name, member) in members {
                        // Status names, and the routes usage is counted by (`GET /v1/me`), are values used as keys.
                        let upper_ok = matches!(name.as_str(), "OPEN" | "CLOSED") || name.contains(" /");
                        assert!(upper_ok || !name.chars().any(|c| c.is_ascii_uppercase()), "{operation}: {name}");
                        assert!(name != "seq" || assistant_message, "{operation} echoes a stored attribute");
                        stack.push(member);
                    }
                }
                Value::Array(items) => stack.extend(items),
                _ => {}
            }
        }
    }
}

#[test]
fn stored_import_results_keep_their_camel_case_and_read_back() {
    let stored = r#"{"added":2,"duplicateFile":false,"duplicates":1,"enrichmentJob":{"jobId":"j0123456789abcdef01234567","links":{"self":"/v1/jobs/j0123456789abcdef01234567"},"state":"queued"},"fileSha256":"ab","importedAt":"2026-11-25T21:30:00Z","layout":"bourse","rows":3,"skipped":[],"symbols":[{"added":2,"duplicates":1,"symbol":"AAPL"}],"unknownSymbols":["NEWCO"]}"#;
    let result = ImportResult::from_stored(stored).unwrap();
    assert_eq!(result.file_sha256, "ab");
    assert!(matches!(&result.enrichment_job, Some(EnrichmentJob::Queued { job_id, .. }) if job_id.starts_with('j')));
    assert_eq!(result.to_stored().unwrap(), stored);
    let answer = json(&result);
    assert_eq!(answer["enrichment_job"]["job_id"], "j0123456789abcdef01234567");
    assert_eq!(answer["unknown_symbols"][0], "NEWCO");
}
