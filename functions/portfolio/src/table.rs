//! The CSV side of the exports (the account's and a portfolio's): one writer, one rule for cells a
//! spreadsheet would run, and the `format` parameter they share. A record written as CSV has its
//! columns and cells here ([`CsvRecord`]), next to the JSON type it is, so both formats of an
//! export carry the same fields in the same order.

use crate::wire::{HoldingView, TransactionView};
use bourse_http::{ApiError, ApiRequest, Reply};
use rust_decimal::Decimal;
use std::str::FromStr;

/// `format=json` (the default) or `format=csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Csv,
}

impl Format {
    pub(crate) fn of(request: &ApiRequest) -> Result<Format, ApiError> {
        match request.query("format")? {
            None | Some("json") => Ok(Format::Json),
            Some("csv") => Ok(Format::Csv),
            Some(_) => Err(ApiError::field("query.format", "must be json or csv")),
        }
    }
}

/// A JSON answer's record as a CSV row: the columns are its members' names, in order, and an
/// absent member is an empty cell.
pub(crate) trait CsvRecord {
    const HEADER: &'static [&'static str];
    fn cells(&self) -> Vec<String>;
}

/// Rows as CSV, the header first when `header` is given (a later page of a paged export has none,
/// so pages concatenate). Every cell is [`defuse`]d.
pub(crate) fn csv_document(header: Option<&[&str]>, rows: impl IntoIterator<Item = Vec<String>>) -> Result<Vec<u8>, ApiError> {
    let failed = |e: csv::Error| ApiError::Internal(format!("writing the CSV: {e}"));
    let mut writer = csv::Writer::from_writer(Vec::new());
    if let Some(header) = header {
        writer.write_record(header).map_err(failed)?;
    }
    for row in rows {
        writer.write_record(row.iter().map(|cell| defuse(cell))).map_err(failed)?;
    }
    writer.into_inner().map_err(|e| ApiError::Internal(format!("writing the CSV: {e}")))
}

/// A cell a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, carriage return first)
/// is prefixed with `'`; a number (`-12.5`) is a number, never a formula, and stays as it is.
pub(crate) fn defuse(cell: &str) -> String {
    let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && Decimal::from_str(cell).is_err();
    if formula { format!("'{cell}") } else { cell.to_owned() }
}

/// A CSV answer offered as `filename`, with a `Link: <next>; rel="next"` header when another page
/// follows.
pub(crate) fn csv_reply(body: Vec<u8>, filename: &str, next: Option<String>) -> Result<Reply, ApiError> {
    let reply = Reply::csv(body, filename)?;
    match next {
        Some(url) => reply.header(http::header::LINK, &format!("<{url}>; rel=\"next\"")),
        None => Ok(reply),
    }
}

fn opt(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

impl CsvRecord for TransactionView {
    const HEADER: &'static [&'static str] =
        &["id", "trade_date", "type", "symbol", "quantity", "price", "fees", "amount", "ratio", "currency", "source", "lots"];

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.as_str().to_owned(),
            self.trade_date.clone(),
            self.kind.clone(),
            opt(&self.symbol),
            opt(&self.quantity),
            opt(&self.price),
            opt(&self.fees),
            opt(&self.amount),
            opt(&self.ratio),
            self.currency.clone(),
            opt(&self.source),
            // `<lot id>:<quantity>` per named lot, `;`-separated.
            self.lots.iter().map(|l| format!("{}:{}", l.lot_id, l.quantity)).collect::<Vec<_>>().join(";"),
        ]
    }
}

impl CsvRecord for HoldingView {
    const HEADER: &'static [&'static str] = &[
        "symbol",
        "quantity",
        "average_cost",
        "cost_basis",
        "realised_pnl",
        "dividends",
        "fees",
        "price",
        "market_value",
        "unrealised_pnl",
        "day_change",
        "sector",
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.symbol.clone(),
            self.quantity.clone(),
            opt(&self.average_cost),
            self.cost_basis.clone(),
            self.realised_pnl.clone(),
            self.dividends.clone(),
            self.fees.clone(),
            opt(&self.price),
            opt(&self.market_value),
            opt(&self.unrealised_pnl),
            opt(&self.day_change),
            opt(&self.sector),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_numbers_and_plain_text_are_not() {
        assert_eq!(defuse("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defuse("-1+2"), "'-1+2");
        assert_eq!(defuse("+1"), "+1");
        assert_eq!(defuse("-12.5"), "-12.5");
        assert_eq!(defuse("Core"), "Core");
        let csv = csv_document(Some(&["a", "b"]), [vec!["=1+1".to_owned(), "-3".to_owned()]]).unwrap();
        assert_eq!(String::from_utf8(csv).unwrap(), "a,b\n'=1+1,-3\n");
    }
}
