//! Cash and currencies through the portfolio function against DynamoDB Local: a EUR holding in a
//! USD portfolio whose price is flat shows only FX effect; with cash tracked, deposits and
//! withdrawals are the only flows, a withdrawal beyond the balance is refused, and the summary
//! shows the cash; the cash kinds need `track_cash`, in JSON and in CSV alike.

mod auth_support;
mod portfolio_support;

use bourse_domain::fx::RatePoint;
use bourse_domain::history::PricePoint;
use bourse_domain::money::Currency;
use bourse_domain::text::parse_date;
use bourse_integration_tests::{json_body, platform};
use bourse_storage::fx::RateSource;
use portfolio_support::{Client, auth, client};
use rust_decimal::Decimal;
use serde_json::{Value, json};

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

/// Closes of `symbol` at `close` on every day of `[from, to]` (a flat price), written to the market table.
async fn flat_history(symbol: &str, close: &str, from: &str, to: &str) {
    let p = platform("portfolio");
    let market = std::env::var("MARKET_TABLE").unwrap();
    let (mut day, to) = (parse_date(from).unwrap(), parse_date(to).unwrap());
    let mut points = Vec::new();
    while day <= to {
        points.push(PricePoint { date: day, close: d(close) });
        day = day.next_day().unwrap();
    }
    bourse_storage::market::put_history(&p.aws, &market, symbol, &points, false).await.unwrap();
}

async fn create(c: &Client, body: Value) -> String {
    let created = c.call("POST", "/v1/portfolios", Some(body)).await;
    let body = json_body(&created);
    assert_eq!(created.status(), 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn post(c: &Client, id: &str, body: Value) -> (u16, Value) {
    let response = c.call("POST", &format!("/v1/portfolios/{id}/transactions"), Some(body)).await;
    (response.status().as_u16(), json_body(&response))
}

async fn returns(c: &Client, id: &str, query: &str) -> Value {
    let response = c.call_with("GET", &format!("/v1/portfolios/{id}/returns"), query, None, &[]).await;
    let body = json_body(&response);
    assert_eq!(response.status(), 200, "{body}");
    body
}

fn decimal(value: &Value) -> Decimal {
    value.as_str().unwrap_or_else(|| panic!("not a decimal: {value}")).parse().unwrap()
}

/// 10 shares at 100 EUR bought before the range, the price flat at 100 EUR, the euro from 1.10
/// to 1.21 USD: in the USD portfolio the value goes from 1,100 to 1,210 USD, a 10 % return that is
/// all FX effect; the price effect is nil.
#[tokio::test]
async fn a_eur_holding_with_a_flat_price_in_a_usd_portfolio_shows_only_fx_effect() {
    flat_history("ZZFLATEUR", "100", "2026-02-20", "2026-03-31").await;
    let p = platform("portfolio");
    let market = std::env::var("MARKET_TABLE").unwrap();
    let rates = [("2026-02-27", "1.10"), ("2026-03-31", "1.21")]
        .map(|(day, rate)| RatePoint { date: parse_date(day).unwrap(), rate: d(rate) })
        .to_vec();
    bourse_storage::fx::put_rates(&p.aws, &market, Currency::EUR, &rates, RateSource { name: "test", generated: false }).await.unwrap();
    let stored = bourse_storage::fx::rates_between(
        &p.aws,
        &market,
        Currency::EUR,
        parse_date("2026-02-01").unwrap(),
        parse_date("2026-04-01").unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(stored, rates, "the range read gives back what was stored, oldest first");

    let auth = auth().await;
    let c = client(&auth).await;
    let id = create(&c, json!({"name": "Dollars", "currency": "USD"})).await;
    let buy =
        json!({"type": "BUY", "symbol": "ZZFLATEUR", "trade_date": "2026-02-27", "quantity": "10", "price": "100", "currency": "eur"});
    let (status, body) = post(&c, &id, buy).await;
    assert_eq!((status, body["transaction"]["currency"].as_str()), (201, Some("EUR")), "{body}");

    let body = returns(&c, &id, "from=2026-03-02&to=2026-03-31").await;
    assert_eq!(body["currency"], "USD");
    assert_eq!((decimal(&body["start_value"]), decimal(&body["end_value"])), (d("1100"), d("1210")), "{body}");
    assert_eq!(decimal(&body["time_weighted"]["cumulative"]), d("0.1"), "{body}");
    assert_eq!(decimal(&body["price_effect"]["time_weighted"]), Decimal::ZERO, "{body}");
    assert_eq!(decimal(&body["fx_effect"]["time_weighted"]), d("0.1"), "{body}");
    assert_eq!(
        (decimal(&body["gain"]), decimal(&body["price_effect"]["gain"]), decimal(&body["fx_effect"]["gain"])),
        (d("110"), d("0"), d("110"))
    );

    // The same holding in a EUR portfolio: no FX effect and no return at all.
    let euros = create(&c, json!({"name": "Euros", "currency": "EUR"})).await;
    let buy = json!({"type": "BUY", "symbol": "ZZFLATEUR", "trade_date": "2026-02-27", "quantity": "10", "price": "100"});
    assert_eq!(post(&c, &euros, buy).await.0, 201, "without a currency, the portfolio's base");
    let body = returns(&c, &euros, "from=2026-03-02&to=2026-03-31").await;
    assert_eq!((body["currency"].as_str(), decimal(&body["end_value"])), (Some("EUR"), d("1000")), "{body}");
    assert_eq!(decimal(&body["fx_effect"]["time_weighted"]), Decimal::ZERO, "{body}");

    // The summary is in the base currency too, at today's rate (the last one stored, 1.21): the
    // EUR cost of 1,000 is 1,210 USD in the USD portfolio and stays 1,000 in the EUR one.
    let summary = async |id: &str| json_body(&c.call("GET", &format!("/v1/portfolios/{id}/summary"), None).await);
    assert_eq!(decimal(&summary(&id).await["cost"]), d("1210"));
    assert_eq!(decimal(&summary(&euros).await["cost"]), d("1000"));

    // Across both portfolios, converted: in USD the two EUR positions gain 10 % by FX alone; in EUR
    // nothing moves.
    let all = |query: &'static str| c.call_with("GET", "/v1/portfolios/returns", query, None, &[]);
    let in_usd = json_body(&all("from=2026-03-02&to=2026-03-31").await);
    assert_eq!(in_usd["currency"], "USD", "{in_usd}");
    assert_eq!((decimal(&in_usd["start_value"]), decimal(&in_usd["end_value"])), (d("2200"), d("2420")), "{in_usd}");
    assert_eq!((decimal(&in_usd["time_weighted"]["cumulative"]), decimal(&in_usd["fx_effect"]["gain"])), (d("0.1"), d("220")));
    for row in in_usd["portfolios"].as_array().unwrap() {
        assert_eq!(decimal(&row["returns"]["end_value"]), d("1210"), "each in USD: {row}");
    }
    let in_eur = json_body(&all("from=2026-03-02&to=2026-03-31&currency=EUR").await);
    assert_eq!((in_eur["currency"].as_str(), decimal(&in_eur["end_value"])), (Some("EUR"), d("2000")), "{in_eur}");
    assert_eq!(decimal(&in_eur["time_weighted"]["cumulative"]), Decimal::ZERO, "{in_eur}");

    // A currency without rates is refused at the edge; one with no stored rate yet is 422.
    let gold = json!({"type": "BUY", "symbol": "ZZFLATEUR", "trade_date": "2026-02-27", "quantity": "1", "price": "1", "currency": "XAU"});
    let (status, body) = post(&c, &id, gold).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (400, Some("body.currency")), "{body}");
    let nzd = create(&c, json!({"name": "Kiwi", "currency": "NZD"})).await;
    let buy = json!({"type": "BUY", "symbol": "ZZFLATEUR", "trade_date": "2026-02-27", "quantity": "1", "price": "1", "currency": "EUR"});
    assert_eq!(post(&c, &nzd, buy).await.0, 201);
    let kiwi = summary(&nzd).await;
    assert_eq!(
        (decimal(&kiwi["cost"]), kiwi["unpriced_symbols"].clone()),
        (Decimal::ZERO, json!(["ZZFLATEUR"])),
        "no NZD rate: left out, named: {kiwi}"
    );
    let response = c.call_with("GET", &format!("/v1/portfolios/{nzd}/returns"), "from=2020-03-02&to=2026-03-31", None, &[]).await;
    assert_eq!(response.status(), 422, "no NZD rate was ever stored for that range: {}", json_body(&response));
}

/// With cash tracked: deposit 1,000, buy 10 × 50 (flat), withdraw 200. The value is shares + cash
/// (1,000, then 800), the only flows are the deposit and the withdrawal, so the return is nil.
#[tokio::test]
async fn with_cash_tracked_deposits_and_withdrawals_are_the_flows_and_the_summary_shows_the_cash() {
    flat_history("ZZFLATUSD", "50", "2026-02-20", "2026-03-31").await;
    let auth = auth().await;
    let c = client(&auth).await;
    let id = create(&c, json!({"name": "Cash", "track_cash": true})).await;
    let deposit = json!({"type": "DEPOSIT", "trade_date": "2026-03-02", "amount": "1000"});
    let (status, body) = post(&c, &id, deposit).await;
    assert_eq!(status, 201, "{body}");
    assert!(body["transaction"].get("symbol").is_none(), "a cash kind has no symbol: {body}");
    let buy = json!({"type": "BUY", "symbol": "ZZFLATUSD", "trade_date": "2026-03-02", "quantity": "10", "price": "50"});
    assert_eq!(post(&c, &id, buy).await.0, 201);
    // 500 is left: 500.01 cannot leave, 200 can.
    let too_much = json!({"type": "WITHDRAWAL", "symbol": "", "trade_date": "2026-03-10", "amount": "500.01"});
    let (status, body) = post(&c, &id, too_much).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (422, Some("body.amount")), "{body}");
    let (status, body) = post(&c, &id, json!({"type": "WITHDRAWAL", "trade_date": "2026-03-10", "amount": "200"})).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = post(&c, &id, json!({"type": "DEPOSIT", "symbol": "ZZFLATUSD", "trade_date": "2026-03-10", "amount": "1"})).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (400, Some("body.symbol")), "{body}");

    let summary = json_body(&c.call("GET", &format!("/v1/portfolios/{id}/summary"), None).await);
    assert_eq!(summary["portfolio"]["track_cash"], true);
    assert_eq!(summary["cash"], json!([{"currency": "USD", "balance": "300", "net_contributions": "800"}]), "{summary}");
    let holdings = c.holdings(&id).await;
    assert_eq!(holdings.iter().map(|h| h["symbol"].as_str().unwrap()).collect::<Vec<_>>(), ["ZZFLATUSD"], "cash is no holding");

    let body = returns(&c, &id, "from=2026-03-02&to=2026-03-31").await;
    assert_eq!((decimal(&body["contributions"]), decimal(&body["withdrawals"])), (d("1000"), d("200")), "{body}");
    assert_eq!((decimal(&body["end_value"]), decimal(&body["gain"])), (d("800"), d("0")), "{body}");
    assert_eq!(decimal(&body["time_weighted"]["cumulative"]), Decimal::ZERO, "{body}");

    // Cash tracking off: the cash transactions stay but are ignored; the buy is the flow again.
    let patched = c.call("PATCH", &format!("/v1/portfolios/{id}"), Some(json!({"track_cash": false}))).await;
    assert_eq!(json_body(&patched)["track_cash"], false);
    let body = returns(&c, &id, "from=2026-03-02&to=2026-03-31").await;
    assert_eq!((decimal(&body["contributions"]), decimal(&body["withdrawals"]), decimal(&body["end_value"])), (d("500"), d("0"), d("500")));
    let summary = json_body(&c.call("GET", &format!("/v1/portfolios/{id}/summary"), None).await);
    assert_eq!(summary["cash"], json!([]));
}

#[tokio::test]
async fn the_cash_kinds_need_track_cash_in_json_and_csv_alike() {
    let auth = auth().await;
    let c = client(&auth).await;
    let id = create(&c, json!({"name": "No cash"})).await;
    let deposit = json!({"type": "DEPOSIT", "trade_date": "2026-03-02", "amount": "100", "currency": "GBP"});
    let (status, body) = post(&c, &id, deposit.clone()).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (422, Some("body.type")), "{body}");
    let csv = b"date,type,symbol,amount,currency\n2026-03-02,DEPOSIT,,100,GBP\n2026-03-03,INTEREST,,0.5,GBP\n";
    let response = c.upload(&id, "text/csv", csv).await;
    let body = json_body(&response);
    assert_eq!(response.status(), 422, "{body}");
    let cells: Vec<(u64, &str)> =
        body["errors"].as_array().unwrap().iter().map(|e| (e["row"].as_u64().unwrap(), e["column"].as_str().unwrap())).collect();
    assert_eq!(cells, [(2, "type"), (3, "type")]);

    assert_eq!(c.call("PATCH", &format!("/v1/portfolios/{id}"), Some(json!({"track_cash": true}))).await.status(), 200);
    let response = c.upload(&id, "text/csv", csv).await;
    let body = json_body(&response);
    assert_eq!((response.status().as_u16(), body["added"].as_u64()), (200, Some(2)), "{body}");
    assert!(body["unknown_symbols"].as_array().unwrap().is_empty(), "a cash ledger is no symbol to enrich: {body}");
    let summary = json_body(&c.call("GET", &format!("/v1/portfolios/{id}/summary"), None).await);
    assert_eq!(summary["cash"], json!([{"currency": "GBP", "balance": "100.5", "net_contributions": "100"}]), "{summary}");
    // A withdrawal in the file beyond the balance refuses the file.
    let csv = b"date,type,symbol,amount,currency\n2026-03-04,WITHDRAWAL,,101,GBP\n";
    let response = c.upload(&id, "text/csv", csv).await;
    assert_eq!(response.status(), 422, "{}", json_body(&response));
    let empty = c.call("PATCH", &format!("/v1/portfolios/{id}"), Some(json!({}))).await;
    assert_eq!(empty.status(), 400);
}
