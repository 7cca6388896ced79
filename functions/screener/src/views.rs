//! JSON shapes of the screener's answers. Numbers are exact decimal strings; field names are the
//! catalogue's (`GET /v1/screener/fields`), the same the filter language uses.

use bourse_domain::signals::stock_signals;
use bourse_domain::stock::{Metric, Stock};
use serde_json::{Map, Value, json};

/// A stock with every known metric; missing ones are `null`.
pub fn stock_summary(stock: &Stock) -> Value {
    let mut out = Map::new();
    out.insert("symbol".into(), json!(stock.symbol.as_str()));
    out.insert("name".into(), json!(stock.name));
    out.insert("sector".into(), json!(stock.sector));
    out.insert("sub_industry".into(), json!(stock.sub_industry));
    for metric in Metric::ALL {
        out.insert(metric.info().name.into(), json!(stock.metric(metric).map(|v| v.normalize().to_string())));
    }
    out.insert("enriched_at".into(), json!(stock.enriched_at));
    out.insert("history_generated".into(), json!(stock.history_generated));
    Value::Object(out)
}

/// The detail view: the summary plus the 52-week range and the stock's signals.
pub fn stock_detail(stock: &Stock) -> Value {
    let mut out = stock_summary(stock);
    let range = |m: Metric| stock.metric(m).map(|v| v.normalize().to_string());
    out["week52_range"] =
        json!({"low": range(Metric::Week52Low), "high": range(Metric::Week52High), "pct_from_high": range(Metric::PctFrom52wHigh)});
    out["signals"] = json!(stock_signals(stock));
    out
}
