//! A portfolio's dividends, its exports (transactions, holdings, realised gains) in JSON and CSV,
//! and sales that name their lots, against DynamoDB Local and Redis.

mod auth_support;
mod portfolio_support;

use auth_support::assert_problem;
use bourse_domain::stock::{Metric, Stock};
use bourse_integration_tests::{json_body, platform};
use lambda_http::{Body, Response};
use portfolio_support::{Client, auth, client, new_portfolio};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use time::{Date, Duration, OffsetDateTime};

fn trade(kind: &str, symbol: &str, date: &str, quantity: &str, price: &str) -> Value {
    json!({"type": kind, "symbol": symbol, "trade_date": date, "quantity": quantity, "price": price})
}

fn dividend(symbol: &str, date: Date, amount: &str) -> Value {
    json!({"type": "DIVIDEND", "symbol": symbol, "trade_date": date.to_string(), "amount": amount})
}

async fn post(c: &Client, id: &str, body: Value) -> Value {
    let response = c.call("POST", &format!("/v1/portfolios/{id}/transactions"), Some(body)).await;
    let body = json_body(&response);
    assert_eq!(response.status(), 201, "{body}");
    body
}

fn text(response: &Response<Body>) -> String {
    match response.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8(b.clone()).unwrap(),
        _ => String::new(),
    }
}

/// The JSON value of a member as its CSV cell: absent and null are empty, a bool or a number is
/// its text.
fn cell_of(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(picks)) => picks
            .iter()
            .map(|p| format!("{}:{}", p["lot_id"].as_str().unwrap(), p["quantity"].as_str().unwrap()))
            .collect::<Vec<_>>()
            .join(";"),
        Some(other) => other.to_string(),
    }
}

/// Every CSV row is the JSON item at the same place, column by column (a defused cell is the
/// JSON text after an apostrophe); returns the number of defused cells.
fn assert_agree(items: &[Value], csv_text: &str, what: &str) -> usize {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), items.len(), "{what}: as many rows as items");
    let mut defused = 0;
    for (row, item) in rows.iter().zip(items) {
        let object = item.as_object().unwrap();
        assert!(object.keys().all(|k| header.contains(k) || k == "lots"), "{what}: every member is a column: {item}");
        for (name, cell) in header.iter().zip(row.iter()) {
            let expected = cell_of(object.get(name));
            if cell != expected {
                assert_eq!(cell, format!("'{expected}"), "{what}: {name} of {item}");
                defused += 1;
            }
        }
    }
    defused
}

async fn export(c: &Client, id: &str, what: &str, query: &str) -> (Value, String) {
    let path = format!("/v1/portfolios/{id}/export/{what}");
    let json_answer = c.call_with("GET", &path, query, None, &[]).await;
    assert_eq!(json_answer.status(), 200, "{what}: {}", json_body(&json_answer));
    let csv_query = if query.is_empty() { "format=csv".to_owned() } else { format!("{query}&format=csv") };
    let csv_answer = c.call_with("GET", &path, &csv_query, None, &[]).await;
    assert_eq!(csv_answer.status(), 200);
    assert!(csv_answer.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(csv_answer.headers()["content-disposition"].to_str().unwrap().contains(&format!("-{what}.csv")));
    (json_body(&json_answer), text(&csv_answer))
}

/// Transactions, holdings and gains: the CSV of each is its JSON record by record; a sector a
/// provider sent as a formula is defused, negative amounts stay numbers; wash sales are flagged.
#[tokio::test]
async fn each_export_agrees_in_json_and_csv_record_by_record() {
    let auth = auth().await;
    let c = client(&auth).await;
    let p = platform("portfolio");
    let mut stock = Stock::new(bourse_domain::Symbol::parse("ZXEA").unwrap(), "Export A".into());
    stock.sector = Some("=HYPERLINK(\"http://x\")".into());
    stock.set(Metric::Price, Some(Decimal::from(95)));
    bourse_storage::market::put_stocks(&p.aws, p.config.require_market_table().unwrap(), &[stock]).await.unwrap();
    let id = new_portfolio(&c).await;
    // FIFO: the SELL takes 4 of the 2024-01-10 lot (cost 400) for 360: a loss of 40; the BUY 7
    // days later replaces 2 of the 4 shares: 20 of the loss disallowed (a wash sale).
    for body in [
        trade("BUY", "ZXEA", "2024-01-10", "10", "100"),
        trade("BUY", "ZXEB", "2024-02-01", "3", "10"),
        trade("SELL", "ZXEA", "2025-03-03", "4", "90"),
        trade("BUY", "ZXEA", "2025-03-10", "2", "85"),
        trade("SELL", "ZXEB", "2025-04-01", "1", "12"),
    ] {
        post(&c, &id, body).await;
    }
    post(&c, &id, json!({"type": "DIVIDEND", "symbol": "ZXEA", "trade_date": "2025-05-01", "amount": "3.5"})).await;

    let (transactions, csv) = export(&c, &id, "transactions", "").await;
    let items = transactions["items"].as_array().unwrap();
    assert_eq!(items.len(), 6);
    assert!(transactions.get("next_cursor").is_none());
    assert_eq!(assert_agree(items, &csv, "transactions"), 0);

    let (holdings, csv) = export(&c, &id, "holdings", "").await;
    let items = holdings["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(assert_agree(items, &csv, "holdings"), 1, "the formula-like sector, and nothing else, is defused");
    assert!(csv.contains("'=HYPERLINK"));

    let (gains, csv) = export(&c, &id, "gains", "").await;
    let rows = gains["items"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(assert_agree(rows, &csv, "gains"), 0);
    let washed = rows.iter().find(|r| r["symbol"] == "ZXEA").unwrap();
    assert_eq!((&washed["gain"], &washed["disallowed_loss"], &washed["reportable_gain"]), (&json!("-40"), &json!("20"), &json!("-20")));
    assert_eq!((&washed["wash_sale"], &washed["tax_year"], &washed["term"]), (&json!(true), &json!(2025), &json!("long")));
    assert!(csv.contains(",-40,"), "a negative amount stays a number: {csv}");
    let other = rows.iter().find(|r| r["symbol"] == "ZXEB").unwrap();
    assert_eq!((&other["gain"], &other["wash_sale"]), (&json!("2"), &json!(false)));

    // One tax year; a year with no sales is an empty report; bad parameters name their field.
    let (in_2025, _) = export(&c, &id, "gains", "year=2025").await;
    assert_eq!((in_2025["year"].as_i64(), in_2025["items"].as_array().unwrap().len()), (Some(2025), 2));
    let (in_2024, csv) = export(&c, &id, "gains", "year=2024").await;
    assert!(in_2024["items"].as_array().unwrap().is_empty());
    assert_eq!(csv.lines().count(), 1, "the header only");
    for (what, query, field) in [
        ("gains", "year=24", "query.year"),
        ("gains", "method=HIFO", "query.method"),
        ("holdings", "format=xlsx", "query.format"),
        ("transactions", "cursor=zz", "query.cursor"),
        ("transactions", "colour=red", "query.colour"),
    ] {
        let response = c.call_with("GET", &format!("/v1/portfolios/{id}/export/{what}"), query, None, &[]).await;
        assert_problem(&response, 400);
        assert_eq!(json_body(&response)["errors"][0]["field"], field, "{what}?{query}");
    }
}

/// The transactions export pages like the account's: the CSV header once, `Link` to the next page,
/// every transaction exactly once.
#[tokio::test]
async fn the_transactions_export_pages_with_a_link() {
    let auth = auth().await;
    let c = client(&auth).await;
    let id = new_portfolio(&c).await;
    let mut file = String::from("date,type,symbol,quantity,price,fees,amount,ratio,currency\n");
    for i in 0..1_050 {
        file.push_str(&format!("2025-{:02}-{:02},BUY,ZXP,1,{}.{:02},0,,,USD\n", 1 + i % 12, 1 + i % 28, 10 + i / 100, i % 100));
    }
    assert_eq!(c.upload(&id, "text/csv", file.as_bytes()).await.status(), 200);
    let path = format!("/v1/portfolios/{id}/export/transactions");
    let (mut ids, mut query, mut pages) = (std::collections::HashSet::new(), "format=csv".to_owned(), 0);
    loop {
        let response = c.call_with("GET", &path, &query, None, &[]).await;
        assert_eq!(response.status(), 200);
        let body = text(&response);
        let mut reader = csv::ReaderBuilder::new().has_headers(pages == 0).from_reader(body.as_bytes());
        for row in reader.records() {
            assert!(ids.insert(row.unwrap()[0].to_owned()), "a transaction on two pages");
        }
        pages += 1;
        let Some(link) = response.headers().get("link") else { break };
        let cursor = link.to_str().unwrap().split("cursor=").nth(1).unwrap().split('>').next().unwrap().to_owned();
        query = format!("format=csv&cursor={cursor}");
        assert!(pages < 10);
    }
    assert_eq!((pages, ids.len()), (2, 1_050));
}

/// Another user's portfolio id is 404 on every new route, in either format.
#[tokio::test]
async fn another_users_portfolio_is_not_found() {
    let auth = auth().await;
    let (alice, mallory) = (client(&auth).await, client(&auth).await);
    let id = new_portfolio(&alice).await;
    post(&alice, &id, trade("BUY", "ZXN", "2025-01-10", "1", "1")).await;
    for path in ["dividends", "export/transactions", "export/holdings", "export/gains"] {
        for query in ["", "format=csv"] {
            let query = if path == "dividends" { "" } else { query };
            let response = mallory.call_with("GET", &format!("/v1/portfolios/{id}/{path}"), query, None, &[]).await;
            assert_problem(&response, 404);
        }
        let ours = alice.call("GET", &format!("/v1/portfolios/{id}/{path}"), None).await;
        assert_eq!(ours.status(), 200, "{path}");
    }
}

/// A SELL names its lots: checked against the ledger (field errors), stored, shown, used by the
/// SPECIFIC method and the gains export; a BUY a recorded sale names cannot be deleted.
#[tokio::test]
async fn a_sale_names_the_lots_it_sells() {
    let auth = auth().await;
    let c = client(&auth).await;
    let id = new_portfolio(&c).await;
    let a = post(&c, &id, trade("BUY", "ZXL", "2024-01-10", "10", "100")).await["transaction"]["id"].as_str().unwrap().to_owned();
    let b = post(&c, &id, trade("BUY", "ZXL", "2024-06-03", "10", "150")).await["transaction"]["id"].as_str().unwrap().to_owned();
    let sale = |quantity: &str, lots: Value| {
        let mut body = trade("SELL", "ZXL", "2025-08-01", quantity, "200");
        body["lots"] = lots;
        body
    };
    let path = format!("/v1/portfolios/{id}/transactions");
    for (status, body, field) in [
        (400, sale("5", json!([{"lot_id": "junk", "quantity": "5"}])), "body.lots[0].lot_id"),
        (400, sale("5", json!([{"lot_id": b, "quantity": "2"}, {"lot_id": b, "quantity": "3"}])), "body.lots[1].lot_id"),
        (400, sale("5", json!([{"lot_id": b, "quantity": "0"}])), "body.lots[0].quantity"),
        (400, sale("5", json!([{"lot_id": b, "quantity": "4"}])), "body.lots"),
        (400, sale("5", json!([{"lot_id": b, "quantity": "5", "colour": "red"}])), "body.lots[0]"),
        (
            400,
            {
                let mut buy = trade("BUY", "ZXL", "2025-08-01", "5", "200");
                buy["lots"] = json!([{"lot_id": a, "quantity": "5"}]);
                buy
            },
            "body.lots",
        ),
        // Well-formed, but no BUY of this holding has that id; then more than the lot holds.
        (422, sale("5", json!([{"lot_id": "2024-01-11-0123456789abcdef", "quantity": "5"}])), "body.lots[0].lot_id"),
        (422, sale("12", json!([{"lot_id": a, "quantity": "12"}])), "body.lots[0].quantity"),
    ] {
        let response = c.call("POST", &path, Some(body.clone())).await;
        assert_problem(&response, status);
        let problem = json_body(&response);
        assert!(problem["errors"][0]["field"].as_str().unwrap().starts_with(field), "{body}: {problem}");
    }
    assert_eq!(c.transaction_count(&id).await, 2, "nothing refused was recorded");

    let sold = post(&c, &id, sale("5", json!([{"lot_id": b, "quantity": "5"}]))).await;
    assert_eq!(sold["transaction"]["lots"], json!([{"lot_id": b, "quantity": "5"}]));
    let listed = json_body(&c.call("GET", &path, None).await);
    assert_eq!(listed["items"][0]["lots"], json!([{"lot_id": b, "quantity": "5"}]), "stored and read back");

    // SPECIFIC sells the lot named (cost 5 × 150), FIFO the first (5 × 100).
    let disposal = |query: &'static str| {
        let (c, id) = (&c, &id);
        async move {
            let report = json_body(&c.call_with("GET", &format!("/v1/portfolios/{id}/lots"), query, None, &[]).await);
            report["holdings"][0]["disposals"][0].clone()
        }
    };
    let specific = disposal("method=specific").await;
    assert_eq!((&specific["lot_id"], &specific["cost_basis"], &specific["gain"]), (&json!(b), &json!("750"), &json!("250")));
    let fifo = disposal("method=FIFO").await;
    assert_eq!((&fifo["lot_id"], &fifo["cost_basis"]), (&json!(a), &json!("500")));
    let (gains, csv) = export(&c, &id, "gains", "method=SPECIFIC").await;
    assert_eq!((&gains["method"], &gains["items"][0]["lot_id"]), (&json!("SPECIFIC"), &json!(b)));
    assert_agree(gains["items"].as_array().unwrap(), &csv, "gains");
    let (transactions, csv) = export(&c, &id, "transactions", "").await;
    assert_agree(transactions["items"].as_array().unwrap(), &csv, "transactions");
    assert!(csv.contains(&format!("{b}:5")));

    // The BUY the sale names cannot go; the other can.
    let response = c.call("DELETE", &format!("{path}/{b}"), None).await;
    assert_problem(&response, 422);
    assert_eq!(c.transaction_count(&id).await, 3);
    assert_eq!(c.call("DELETE", &format!("{path}/{a}"), None).await.status(), 204);
}

/// Dividends of a quarterly payer over the last year, dated from today: TTM income, the
/// projection from TTM dividends per share, the next four dates, and the totals by year.
#[tokio::test]
async fn dividends_of_a_quarterly_payer() {
    let auth = auth().await;
    let c = client(&auth).await;
    let id = new_portfolio(&c).await;
    let today = OffsetDateTime::now_utc().date();
    let last = today - Duration::days(20);
    post(&c, &id, trade("BUY", "ZXD", &(today - Duration::days(400)).to_string(), "100", "10")).await;
    let paid: Vec<Date> = [273, 182, 91, 0].iter().map(|back| last - Duration::days(*back)).collect();
    for date in &paid {
        post(&c, &id, dividend("ZXD", *date, "25")).await;
    }
    let response = c.call("GET", &format!("/v1/portfolios/{id}/dividends"), None).await;
    let report = json_body(&response);
    assert_eq!(response.status(), 200, "{report}");
    // Four payments of 25 on 100 shares: 1 a share a year, 100 projected; no price: no yield.
    assert_eq!((&report["ttm_income"], &report["projected_income_12m"]), (&json!("100"), &json!("100")));
    let holding = &report["holdings"][0];
    assert_eq!(
        (&holding["ttm_per_share"], &holding["projection_basis"], &holding["cadence"]),
        (&json!("1"), &json!("trailing"), &json!("quarterly"))
    );
    assert_eq!((&holding["ttm_yield"], &holding["yield_on_cost"]), (&Value::Null, &json!("0.1")));
    let calendar = report["calendar"].as_array().unwrap();
    assert_eq!(calendar.len(), 4, "{report}");
    assert!(calendar.iter().all(|p| p["amount"] == "25" && p["date"].as_str().unwrap() > today.to_string().as_str()));
    let by_year: Decimal =
        report["by_year"].as_array().unwrap().iter().map(|y| y["amount"].as_str().unwrap().parse::<Decimal>().unwrap()).sum();
    let by_month: Decimal =
        report["by_month"].as_array().unwrap().iter().map(|m| m["amount"].as_str().unwrap().parse::<Decimal>().unwrap()).sum();
    assert_eq!((by_year, by_month), (Decimal::from(100), Decimal::from(100)));
    assert_problem(&c.call_with("GET", &format!("/v1/portfolios/{id}/dividends"), "from=2025-01-01", None, &[]).await, 400);
}

/// The portfolio's lot method is the default of its lots and its gains report: set at creation,
/// changed with PATCH, overridden by a request's `method`.
#[tokio::test]
async fn the_portfolios_lot_method_is_the_default_a_request_may_override() {
    let auth = auth().await;
    let c = client(&auth).await;
    let created = c.call("POST", "/v1/portfolios", Some(json!({"name": "Lifo", "lot_method": "lifo"}))).await;
    let portfolio = json_body(&created);
    assert_eq!((created.status().as_u16(), portfolio["lot_method"].as_str()), (201, Some("LIFO")), "{portfolio}");
    let id = portfolio["id"].as_str().unwrap().to_owned();
    post(&c, &id, trade("BUY", "ZLM", "2025-01-02", "10", "100")).await;
    post(&c, &id, trade("BUY", "ZLM", "2025-02-03", "10", "200")).await;
    post(&c, &id, trade("SELL", "ZLM", "2025-03-03", "5", "300")).await;
    let open = |body: &Value| -> Vec<(String, String)> {
        body["holdings"][0]["open_lots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["acquired"].as_str().unwrap().to_owned(), l["quantity"].as_str().unwrap().to_owned()))
            .collect()
    };
    let lots_path = format!("/v1/portfolios/{id}/lots");
    let lots = async |query: &str| c.call_with("GET", &lots_path, query, None, &[]).await;
    let lifo = json_body(&lots("").await);
    assert_eq!(lifo["method"], "LIFO", "{lifo}");
    assert_eq!(open(&lifo), [("2025-01-02".to_owned(), "10".to_owned()), ("2025-02-03".to_owned(), "5".to_owned())], "{lifo}");
    let gains = json_body(&c.call_with("GET", &format!("/v1/portfolios/{id}/export/gains"), "", None, &[]).await);
    assert_eq!(gains["method"], "LIFO", "{gains}");

    // Another method for the portfolio; a request still names its own.
    let changed = c.call("PATCH", &format!("/v1/portfolios/{id}"), Some(json!({"lot_method": "FIFO"}))).await;
    assert_eq!((changed.status().as_u16(), json_body(&changed)["lot_method"].as_str()), (200, Some("FIFO")));
    let fifo = json_body(&lots("").await);
    assert_eq!(open(&fifo), [("2025-01-02".to_owned(), "5".to_owned()), ("2025-02-03".to_owned(), "10".to_owned())], "{fifo}");
    assert_eq!(json_body(&lots("method=LIFO").await)["method"], "LIFO");
    let listed = json_body(&c.call("GET", "/v1/portfolios", None).await);
    assert_eq!(listed["items"][0]["lot_method"], "FIFO", "{listed}");

    // Bad values are the field's 400.
    let bad = c.call("PATCH", &format!("/v1/portfolios/{id}"), Some(json!({"lot_method": "HIFO"}))).await;
    assert_problem(&bad, 400);
    assert_eq!(json_body(&bad)["errors"][0]["field"], "body.lot_method");
    let bad = c.call("POST", "/v1/portfolios", Some(json!({"name": "x", "lot_method": 3}))).await;
    assert_eq!(bad.status().as_u16(), 400);
}
