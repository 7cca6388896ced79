//! CSV import against DynamoDB Local, Redis and the SQS stand-in: the generic layout and a Schwab
//! export, duplicate detection, files refused as a whole, encodings, limits, and holdings that
//! come out the same whichever way their transactions arrived.

mod auth_support;
mod portfolio_support;

use bourse_integration_tests::{json_body, platform, repo_root};
use portfolio_support::{auth, client, new_portfolio};
use serde_json::{Value, json};

fn example(name: &str) -> Vec<u8> {
    std::fs::read(repo_root().join("docs/import").join(name)).unwrap()
}

const CSV: &str = "text/csv";

#[tokio::test]
async fn the_generic_example_imports_and_the_same_file_again_adds_nothing() {
    let auth = auth().await;
    let c = client(&auth).await;
    let id = new_portfolio(&c).await;
    let first = c.upload(&id, CSV, &example("generic-example.csv")).await;
    let body = json_body(&first);
    assert_eq!(first.status(), 200, "{body}");
    assert_eq!(
        (body["layout"].as_str(), body["added"].as_u64(), body["duplicates"].as_u64(), body["duplicate_file"].as_bool()),
        (Some("bourse"), Some(7), Some(0), Some(false))
    );
    assert_eq!(body["unknown_symbols"], json!([]));
    assert!(body["enrichment_job"].is_null());

    // AAPL: 10 bought at 185.20 + 1 fee, 4 sold at 190 − 1 fee: average cost 185.30, realised
    // 4 × (190 − 185.30) − 1 = 17.80, plus a 2.40 dividend.
    let aapl = c.holding(&id, "AAPL").await;
    assert_eq!(
        (aapl["quantity"].as_str(), aapl["average_cost"].as_str(), aapl["realised_pnl"].as_str(), aapl["dividends"].as_str()),
        (Some("6"), Some("185.3"), Some("17.8"), Some("2.4"))
    );
    // MSFT: 4 at 372.50 + 1 fee = 1491, split 2:1 → 8 shares, then 2 at 210 → 10 costing 1911.
    let msft = c.holding(&id, "MSFT").await;
    assert_eq!((msft["quantity"].as_str(), msft["cost_basis"].as_str()), (Some("10"), Some("1911")));

    let again = c.upload(&id, CSV, &example("generic-example.csv")).await;
    let body = json_body(&again);
    assert_eq!(again.status(), 200, "{body}");
    assert_eq!((body["added"].as_u64(), body["duplicates"].as_u64(), body["duplicate_file"].as_bool()), (Some(0), Some(7), Some(true)));
    assert_eq!(c.transaction_count(&id).await, 7);

    // An overlapping export (other bytes, the same rows and one more): only the new row lands.
    let overlapping = format!(
        "{}2026-06-01,BUY,AAPL,1,200,0,,,USD\n",
        String::from_utf8(example("generic-example.csv")).unwrap().replace("185.20", "185.2")
    );
    let body = json_body(&c.upload(&id, CSV, overlapping.as_bytes()).await);
    assert_eq!(
        (body["added"].as_u64(), body["duplicates"].as_u64(), body["duplicate_file"].as_bool()),
        (Some(1), Some(7), Some(false)),
        "{body}"
    );
    assert_eq!(c.transaction_count(&id).await, 8);
    assert_eq!(c.holding(&id, "AAPL").await["quantity"], "7");
}

#[tokio::test]
async fn a_schwab_export_imports_trades_skips_the_rest_and_queues_unknown_symbols() {
    let auth = auth().await;
    let c = client(&auth).await;
    let id = new_portfolio(&c).await;
    let response = c.upload(&id, "text/csv; charset=utf-8", &example("schwab-example.csv")).await;
    let body = json_body(&response);
    assert_eq!(response.status(), 200, "{body}");
    assert_eq!((body["layout"].as_str(), body["added"].as_u64()), (Some("schwab"), Some(8)));
    let skipped: Vec<u64> = body["skipped"].as_array().unwrap().iter().map(|s| s["row"].as_u64().unwrap()).collect();
    assert_eq!(skipped, [6, 12, 13], "the transfer, the split and the option: {body}");
    assert_eq!(body["unknown_symbols"], json!(["ZZZZ"]));

    let jnj = c.holding(&id, "JNJ").await;
    assert_eq!((jnj["quantity"].as_str(), jnj["dividends"].as_str()), (Some("15.0781"), Some("24.8")));
    assert_eq!(c.holding(&id, "BRK.B").await["quantity"], "3");
    let zzzz = c.holding(&id, "ZZZZ").await;
    assert_eq!((zzzz["quantity"].as_str(), zzzz["fees"].as_str(), zzzz["price"].as_str()), (Some("20"), Some("1.07"), None));

    // The unknown symbol went to the jobs mechanism: a csv-import job of this user, queued.
    let job_id = bourse_domain::jobs::JobId::parse(body["enrichment_job"]["job_id"].as_str().unwrap()).unwrap();
    let p = platform("portfolio");
    let table = p.config.require_app_table().unwrap();
    let job = bourse_storage::jobs::get_job(&p.aws, table, &job_id).await.unwrap().unwrap();
    let symbols = bourse_storage::jobs::job_symbols(&p.aws, table, &job_id).await.unwrap();
    assert_eq!((job.kind.as_str(), job.progress.total, job.enqueued), ("csv-import", 1, true));
    assert_eq!(symbols, vec![bourse_domain::Symbol::parse("ZZZZ").unwrap()]);
}

#[tokio::test]
async fn rows_in_error_are_all_reported_and_nothing_is_written() {
    let auth = auth().await;
    let c = client(&auth).await;
    let id = new_portfolio(&c).await;
    let file = "date,type,symbol,quantity,price,fees\n\
        2026-01-02,BUY,AAPL,10,100,0\n\
        2026-01-03,BUY,MSFT,ten,100,0\n\
        2026-13-01,BUY,MSFT,1,100,0\n\
        2026-01-04,BUY,MSFT,1,100,-1\n";
    let response = c.upload(&id, CSV, file.as_bytes()).await;
    let body = json_body(&response);
    assert_eq!(response.status(), 422, "{body}");
    let errors: Vec<(u64, &str)> =
        body["errors"].as_array().unwrap().iter().map(|e| (e["row"].as_u64().unwrap(), e["column"].as_str().unwrap())).collect();
    assert_eq!(errors, [(3, "quantity"), (4, "date"), (5, "fees")]);
    assert!(c.holdings(&id).await.is_empty(), "the valid AAPL row was not written either");

    // A sale of more than the file (and the portfolio) holds is located too, and also stops
    // every other symbol.
    let oversold = "date,type,symbol,quantity,price\n2026-01-02,BUY,AAPL,1,100\n2026-01-02,BUY,MSFT,2,100\n2026-01-03,SELL,MSFT,3,100\n";
    let body = json_body(&c.upload(&id, CSV, oversold.as_bytes()).await);
    assert_eq!(
        (body["status"].as_u64(), body["errors"][0]["row"].as_u64(), body["errors"][0]["column"].as_str()),
        (Some(422), Some(4), Some("quantity")),
        "{body}"
    );
    assert!(c.holdings(&id).await.is_empty());

    // Files refused as a whole: no layout, a header only, an unknown column; a currency without rates.
    for (file, expected) in [
        ("when,what\n1,2\n", "matches no known layout"),
        ("date,type,symbol\n", "no transactions"),
        ("date,type,symbol,colour\n2026-01-02,FEE,A,red\n", "colour"),
    ] {
        let body = json_body(&c.upload(&id, CSV, file.as_bytes()).await);
        assert_eq!(body["status"], 422, "{body}");
        assert!(body["detail"].as_str().unwrap().contains(expected), "{body}");
    }
    let gold = json_body(&c.upload(&id, CSV, b"date,type,symbol,amount,currency\n2026-01-02,FEE,AAPL,1,XAU\n").await);
    assert_eq!((gold["status"].as_u64(), gold["errors"][0]["column"].as_str()), (Some(422), Some("currency")));
    assert_eq!(c.transaction_count(&id).await, 0);
}

#[tokio::test]
async fn encodings_limits_media_types_and_other_users() {
    let auth = auth().await;
    let c = client(&auth).await;
    let id = new_portfolio(&c).await;
    // Latin-1 bytes sent as UTF-8: refused with the line at fault; declared, they are read.
    let latin1 = b"date,type,symbol,amount\n2026-01-02,FEE,AAPL,1\n2026-01-03,FEE,AAPL,1\xA0\n";
    let body = json_body(&c.upload(&id, CSV, latin1).await);
    assert_eq!(body["status"], 422, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("line 3"), "{body}");
    assert_eq!(c.transaction_count(&id).await, 0);
    let body = json_body(&c.upload(&id, "text/csv; charset=ISO-8859-1", latin1).await);
    assert_eq!(body["added"], 2, "a no-break space is trimmed like any space: {body}");
    // UTF-16 with a byte-order mark (Excel's "Unicode text") is read; without one it is refused.
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain("date,type,symbol,amount\n2026-02-02,FEE,MSFT,1\n".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    assert_eq!(json_body(&c.upload(&id, CSV, &utf16).await)["added"], 1);
    assert_eq!(json_body(&c.upload(&id, CSV, &utf16[2..]).await)["status"], 422);

    // Too big to take at all; too many rows to import; not CSV.
    let huge = vec![b'x'; portfolio_fn::MAX_IMPORT_BYTES + 1];
    assert_eq!(c.upload(&id, CSV, &huge).await.status(), 413);
    let many = format!("date,type,symbol,amount\n{}", "2026-01-02,FEE,AAPL,1\n".repeat(bourse_domain::import::MAX_ROWS + 1));
    let body = json_body(&c.upload(&id, CSV, many.as_bytes()).await);
    assert_eq!(body["status"], 422);
    assert!(body["detail"].as_str().unwrap().contains("at most"), "{body}");
    assert_eq!(c.upload(&id, "application/json", b"{}").await.status(), 415);
    assert_eq!(c.transaction_count(&id).await, 3);

    let mallory = client(&auth).await;
    assert_eq!(mallory.upload(&id, CSV, &example("generic-example.csv")).await.status(), 404);
    assert_eq!(c.transaction_count(&id).await, 3, "nothing of Mallory's landed");
}

#[tokio::test]
async fn a_long_history_of_one_symbol_is_written_in_steps_and_holdings_follow_trade_order() {
    let auth = auth().await;
    let c = client(&auth).await;
    let id = new_portfolio(&c).await;
    // 250 monthly purchases of one share: three TransactWriteItems of at most 99 + the holding.
    let mut file = String::from("date,type,symbol,quantity,price\n");
    for month in 0..250 {
        file.push_str(&format!("{}-{:02}-01,BUY,KO,1,{}\n", 2000 + month / 12, month % 12 + 1, 40 + month % 7));
    }
    let (response, counted) = bourse_telemetry::measured(c.upload(&id, CSV, file.as_bytes())).await;
    assert_eq!(json_body(&response)["added"], 250);
    let count = |op: &str| counted.dynamodb_operations.iter().filter(|o| *o == op).count();
    // docs/table-design.md: the ownership GetItem + the file's GetItem + the holding's GetItem,
    // ⌈250/99⌉ = 3 TransactWriteItems, 1 BatchGetItem (which symbols are known), 1 PutItem (the
    // file), and the usage meter's UpdateItem — nothing else, no Query (the holding was new).
    let counts = ["GetItem", "TransactWriteItems", "BatchGetItem", "PutItem", "UpdateItem", "Query"].map(count);
    assert_eq!(counts, [3, 3, 1, 1, 1, 0], "{:?}", counted.dynamodb_operations);
    assert_eq!(counted.dynamodb_operations.len(), 9, "{:?}", counted.dynamodb_operations);
    assert_eq!(c.holding(&id, "KO").await["quantity"], "250");

    // A back-dated transaction re-derives the holding in trade order: realised P&L is that of
    // selling at the average cost *at the time of the sale*.
    let path = format!("/v1/portfolios/{id}/transactions");
    let tx = |body: Value| c.call("POST", &path, Some(body));
    assert_eq!(
        tx(json!({"type": "BUY", "symbol": "PEP", "trade_date": "2026-01-02", "quantity": "10", "price": "100"})).await.status(),
        201
    );
    assert_eq!(
        tx(json!({"type": "SELL", "symbol": "PEP", "trade_date": "2026-03-02", "quantity": "5", "price": "150"})).await.status(),
        201
    );
    assert_eq!(c.holding(&id, "PEP").await["realised_pnl"], "250");
    assert_eq!(
        tx(json!({"type": "BUY", "symbol": "PEP", "trade_date": "2026-02-02", "quantity": "10", "price": "200"})).await.status(),
        201
    );
    let pep = c.holding(&id, "PEP").await;
    assert_eq!((pep["quantity"].as_str(), pep["realised_pnl"].as_str(), pep["cost_basis"].as_str()), (Some("15"), Some("0"), Some("2250")));
}

/// A back-dated import has its whole history at once: every day from its first trade, valued at
/// the closes of those days, with no snapshot ever taken.
#[tokio::test]
async fn a_back_dated_import_shows_its_whole_history_at_once() {
    let auth = auth().await;
    let c = client(&auth).await;
    let id = new_portfolio(&c).await;
    let file =
        "date,type,symbol,quantity,price,fees\n2026-02-02,BUY,AAPL,10,150,1\n2026-02-16,BUY,XOM,4,100,0\n2026-03-02,SELL,AAPL,4,160,1\n";
    let imported = c.upload(&id, CSV, file.as_bytes()).await;
    assert_eq!(imported.status(), 200, "{}", json_body(&imported));
    let response = c.call_with("GET", &format!("/v1/portfolios/{id}/history"), "from=2026-01-01&to=2026-03-31", None, &[]).await;
    let history = json_body(&response);
    assert_eq!(response.status(), 200, "{history}");
    let points = history["points"].as_array().unwrap();
    // 2 February to 31 March, every day.
    assert_eq!((points.len(), points[0]["date"].as_str()), (58, Some("2026-02-02")), "{history}");

    let p = platform("portfolio");
    let market = p.config.require_market_table().unwrap().to_owned();
    let date = |s: &str| bourse_domain::text::parse_date(s).unwrap();
    let closes = |symbol: &'static str| {
        let (aws, market) = (p.aws.clone(), market.clone());
        async move { bourse_storage::market::query_history(&aws, &market, symbol, date("2026-01-20"), date("2026-03-31")).await.unwrap().0 }
    };
    let (aapl, xom) = (closes("AAPL").await, closes("XOM").await);
    let at = |series: &[bourse_domain::history::PricePoint], day| series.iter().rev().find(|c| c.date <= day).unwrap().close;
    let d = |s: &str| s.parse::<rust_decimal::Decimal>().unwrap();
    for point in points {
        let day = date(point["date"].as_str().unwrap());
        let (aapl_held, xom_held) = match day.to_string().as_str() {
            s if s < "2026-02-16" => (10, 0),
            s if s < "2026-03-02" => (10, 4),
            _ => (6, 4),
        };
        let expected = at(&aapl, day) * rust_decimal::Decimal::from(aapl_held) + at(&xom, day) * rust_decimal::Decimal::from(xom_held);
        assert_eq!(d(point["value"].as_str().unwrap()), expected, "{point}");
    }
    // Cost and realised P&L as the holdings have them: 1,501 for 10 AAPL, 4 leave with 600.4 and
    // 639 of proceeds: 38.6 realised; 900.6 + 400 held.
    let last = points.last().unwrap();
    assert_eq!((last["cost"].as_str(), last["realised_pnl"].as_str()), (Some("1300.6"), Some("38.6")), "{last}");
    assert_eq!(last["unpriced_positions"], 0);
}
