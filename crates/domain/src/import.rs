//! CSV import of broker statements: text decoding, layout detection, and rows parsed into
//! transactions with every problem located by row and column.
//!
//! Two layouts are understood (the README documents both):
//! - **bourse**, the generic format: a header naming any of `date` (or `tradeDate`), `type`,
//!   `symbol`, `quantity`, `price`, `fees`, `amount`, `ratio`, `currency`, in any order; rows hold
//!   the same values as the JSON API.
//! - **schwab**, Charles Schwab's brokerage "Transaction History" CSV export: `Date`, `Action`,
//!   `Symbol`, `Description`, `Quantity`, `Price`, `Fees & Comm`, `Amount`, with the optional title
//!   line (`"Transactions  for account …"`) and `Transactions Total` trailer of older exports.
//!   Cash movements, options, short sales and corporate actions are listed as skipped, with why.
//!
//! Each accepted row gets a fingerprint: the hash of its canonical transaction and of how many
//! identical rows came before it in the file. Re-uploading a file (or an overlapping export) gives
//! the same fingerprints, which is how duplicates are recognised.

use crate::money::Currency;
use crate::transaction::{ParsedTransaction, RawTransaction, TxField};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use time::Date;

/// Most data rows one import may hold (Schwab's own export stops at 10,000 records).
pub const MAX_ROWS: usize = 10_000;

/// A file refused as a whole: nothing of it is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileRejection {
    #[error("the file is not valid {encoding} text: line {line} holds the byte 0x{byte:02X}; export it as UTF-8, or declare its charset (e.g. Content-Type: text/csv; charset=windows-1252)")]
    Encoding { encoding: &'static str, line: usize, byte: u8 },
    #[error("the file holds NUL bytes, as UTF-16 text without a byte-order mark does; export it as UTF-8")]
    Utf16WithoutBom,
    #[error("the charset {0:?} is not supported; send UTF-8, UTF-16 with a byte-order mark, ISO-8859-1 or Windows-1252")]
    Charset(String),
    #[error("the file holds no rows")]
    Empty,
    #[error("line {line} is not well-formed CSV: {reason}")]
    Malformed { line: usize, reason: String },
    #[error("the header {header:?} matches no known layout: the generic layout needs date, type and symbol columns; a Schwab export starts with Date, Action, Symbol, Description, Quantity, Price, Fees & Comm, Amount")]
    UnknownLayout { header: String },
    #[error("the column {column:?} is not part of the generic layout, which knows date, type, symbol, quantity, price, fees, amount, ratio, currency")]
    UnknownColumn { column: String },
    #[error("the column {column:?} appears twice")]
    DuplicateColumn { column: String },
    #[error("the file has {rows} rows; one import takes at most {max}", max = MAX_ROWS)]
    TooManyRows { rows: usize },
    #[error("the file holds a header but no transactions")]
    NoTransactions,
}

/// The layouts [`parse`] recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Generic,
    Schwab,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::Generic => "bourse",
            Layout::Schwab => "schwab",
        }
    }

    /// The usual header of the column holding `field` in this layout.
    pub fn column_name(self, field: TxField) -> &'static str {
        match (self, field) {
            (Layout::Generic, TxField::TradeDate) => "date",
            (Layout::Generic, f) => f.name(),
            (Layout::Schwab, TxField::TradeDate) => "Date",
            (Layout::Schwab, TxField::Type | TxField::Ratio) => "Action",
            (Layout::Schwab, TxField::Symbol) => "Symbol",
            (Layout::Schwab, TxField::Quantity) => "Quantity",
            (Layout::Schwab, TxField::Price) => "Price",
            (Layout::Schwab, TxField::Fees) => "Fees & Comm",
            (Layout::Schwab, TxField::Amount) => "Amount",
            (Layout::Schwab, TxField::Currency) => "Currency (USD for Schwab)",
        }
    }
}

/// A problem with one cell; `row` is the file's line number (the header of a generic file is 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub row: usize,
    pub column: String,
    pub reason: String,
}

/// A row that is not a transaction Bourse records, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRow {
    pub row: usize,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    pub row: usize,
    pub transaction: ParsedTransaction,
    /// 64 hex digits; equal for the same transaction at the same occurrence in any file.
    pub fingerprint: String,
}

impl ImportRow {
    /// The transaction id this row is stored under: `<trade date>-<16 hex of the fingerprint>`,
    /// the same shape as ids of transactions posted one by one.
    pub fn transaction_id(&self) -> String {
        format!("{}-{}", self.transaction.trade_date, &self.fingerprint[..16])
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedImport {
    pub layout: Layout,
    pub rows: Vec<ImportRow>,
    pub skipped: Vec<SkippedRow>,
    pub errors: Vec<RowError>,
}

/// The file's text. UTF-8 (a byte-order mark is dropped) unless a byte-order mark says UTF-16 or
/// `charset` (from `Content-Type`) names another supported encoding.
pub fn decode(bytes: &[u8], charset: Option<&str>) -> Result<String, FileRejection> {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, u16::from_be_bytes);
    }
    let charset = charset.map(|c| c.trim().trim_matches('"').to_ascii_lowercase());
    match charset.as_deref() {
        None | Some("utf-8" | "utf8" | "us-ascii" | "ascii") => {
            let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
            let text = std::str::from_utf8(bytes).map_err(|e| {
                let at = e.valid_up_to();
                FileRejection::Encoding { encoding: "UTF-8", line: line_of(&bytes[..at]), byte: bytes[at] }
            })?;
            if text.contains('\0') {
                return Err(FileRejection::Utf16WithoutBom);
            }
            Ok(text.to_owned())
        }
        Some("iso-8859-1" | "latin1" | "latin-1" | "l1") => Ok(bytes.iter().map(|&b| char::from(b)).collect()),
        Some("windows-1252" | "cp1252") => bytes
            .iter()
            .enumerate()
            .map(|(i, &b)| windows_1252(b).ok_or(FileRejection::Encoding { encoding: "Windows-1252", line: line_of(&bytes[..i]), byte: b }))
            .collect(),
        Some(other) => Err(FileRejection::Charset(other.to_owned())),
    }
}

fn line_of(before: &[u8]) -> usize {
    before.iter().filter(|&&b| b == b'\n').count() + 1
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, FileRejection> {
    let units = bytes.chunks(2).map(|pair| if pair.len() == 2 { Some(unit([pair[0], pair[1]])) } else { None });
    let mut text = String::with_capacity(bytes.len() / 2);
    for (i, decoded) in char::decode_utf16(units.map(|u| u.unwrap_or(0xDC00))).enumerate() {
        match decoded {
            Ok(c) => text.push(c),
            Err(_) => return Err(FileRejection::Encoding { encoding: "UTF-16", line: text.matches('\n').count() + 1, byte: bytes.get(i * 2).copied().unwrap_or(0) }),
        }
    }
    Ok(text)
}

/// Windows-1252 to Unicode; `None` for its five unassigned bytes.
fn windows_1252(b: u8) -> Option<char> {
    const HIGH: [u16; 32] = [
        0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013,
        0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
    ];
    match b {
        0x80..=0x9F => char::from_u32(u32::from(HIGH[usize::from(b - 0x80)])).filter(|&c| c != '\0'),
        _ => Some(char::from(b)),
    }
}

/// What one data row turned into.
enum RowOutcome {
    Transaction(RawTransaction),
    Skipped(String),
    /// A summary line of the export (not data): left out silently.
    Ignored,
}

/// How one layout reads its rows.
struct Columns {
    layout: Layout,
    /// (field, column index) for the generic layout; Schwab's columns by name.
    index: HashMap<String, usize>,
    /// The header cells as written, to name columns in errors.
    header: Vec<String>,
}

impl Columns {
    fn cell<'r>(&self, record: &'r csv::StringRecord, name: &str) -> Option<&'r str> {
        self.index.get(name).and_then(|&i| record.get(i)).map(str::trim).filter(|v| !v.is_empty())
    }

    /// The file's own name for the column holding `field` (its usual name when absent).
    fn column_of(&self, field: TxField) -> String {
        let usual = self.layout.column_name(field);
        self.index.get(&usual.to_ascii_lowercase()).and_then(|&i| self.header.get(i)).cloned().unwrap_or_else(|| usual.to_owned())
    }

    fn read(&self, record: &csv::StringRecord) -> Result<RowOutcome, RowError> {
        match self.layout {
            Layout::Generic => Ok(RowOutcome::Transaction(RawTransaction {
                kind: self.cell(record, "type").unwrap_or_default().to_owned(),
                symbol: self.cell(record, "symbol").unwrap_or_default().to_owned(),
                trade_date: self.cell(record, "date").unwrap_or_default().to_owned(),
                quantity: self.cell(record, "quantity").map(str::to_owned),
                price: self.cell(record, "price").map(str::to_owned),
                fees: self.cell(record, "fees").map(str::to_owned),
                amount: self.cell(record, "amount").map(str::to_owned),
                ratio: self.cell(record, "ratio").map(str::to_owned),
                currency: self.cell(record, "currency").map(str::to_owned),
            })),
            Layout::Schwab => self.read_schwab(record),
        }
    }

    fn read_schwab(&self, record: &csv::StringRecord) -> Result<RowOutcome, RowError> {
        let row = record.position().map_or(0, |p| p.line() as usize);
        let date = self.cell(record, "date").unwrap_or_default();
        if date.to_ascii_lowercase().starts_with("transactions total") {
            return Ok(RowOutcome::Ignored);
        }
        let action = self.cell(record, "action").unwrap_or_default().to_ascii_lowercase();
        let symbol = self.cell(record, "symbol").unwrap_or_default();
        let skip = |reason: String| Ok(RowOutcome::Skipped(reason));
        if symbol.is_empty() {
            return skip(format!("{action:?} is a cash movement, not a trade"));
        }
        let kind = match action.as_str() {
            "buy" | "reinvest shares" => "BUY",
            "sell" => "SELL",
            a if a.contains("to open") || a.contains("to close") || matches!(a, "expired" | "assigned" | "exchange or exercise") => {
                return skip("options are not supported".into());
            }
            "sell short" | "buy to cover" => return skip("short positions are not supported".into()),
            a if a.contains("split") || a.contains("stock div") || a.contains("merger") || a.contains("spin") || a.contains("lieu") || a.contains("name change") || a.contains("conversion") => {
                return skip(format!("{action:?} is a corporate action: the export lists shares, not a ratio; record it as a SPLIT with its ratio"));
            }
            a if a.contains("div") => "DIVIDEND",
            a if a.contains("fee") || a.contains("foreign tax") => "FEE",
            _ => return skip(format!("{action:?} is not a transaction Bourse records")),
        };
        let trade_date = schwab_date(date).ok_or_else(|| RowError { row, column: self.column_of(TxField::TradeDate), reason: "expected MM/DD/YYYY, optionally followed by \"as of MM/DD/YYYY\"".into() })?;
        let number = |name: &str| self.cell(record, name).map(schwab_number);
        let is_trade = matches!(kind, "BUY" | "SELL");
        Ok(RowOutcome::Transaction(RawTransaction {
            kind: kind.into(),
            symbol: symbol.replace('/', "."),
            trade_date,
            quantity: number("quantity").filter(|_| is_trade),
            price: number("price").filter(|_| is_trade),
            fees: number("fees & comm").filter(|_| is_trade),
            amount: number("amount").filter(|_| !is_trade),
            ratio: None,
            currency: Some(Currency::USD.to_string()),
        }))
    }
}

/// `MM/DD/YYYY` or `MM/DD/YYYY as of MM/DD/YYYY` (the effective date wins) as `YYYY-MM-DD`.
fn schwab_date(raw: &str) -> Option<String> {
    let raw = raw.rsplit(" as of ").next()?.trim();
    let mut parts = raw.split('/');
    let (month, day, year) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || year.len() != 4 || month.len() > 2 || day.len() > 2 {
        return None;
    }
    let (month, day): (u8, u8) = (month.parse().ok()?, day.parse().ok()?);
    Some(format!("{year}-{month:02}-{day:02}"))
}

/// `$1,234.50`, `-$12.00`, `($3.10)` → magnitude as plain decimal text (the kind says the sign).
fn schwab_number(raw: &str) -> String {
    raw.chars().filter(|c| !matches!(c, '$' | ',' | '(' | ')' | '-' | '+' | ' ')).collect()
}

const GENERIC_COLUMNS: &[&str] = &["date", "type", "symbol", "quantity", "price", "fees", "amount", "ratio", "currency"];
const SCHWAB_COLUMNS: &[&str] = &["date", "action", "symbol", "description", "quantity", "price", "fees & comm", "amount"];

fn columns(header: &csv::StringRecord) -> Result<Columns, FileRejection> {
    let names: Vec<String> = header.iter().map(|h| h.trim().to_owned()).collect();
    let lower: Vec<String> = names.iter().map(|h| h.to_ascii_lowercase()).collect();
    let mut index = HashMap::new();
    if SCHWAB_COLUMNS.iter().all(|c| lower.iter().any(|h| h == c)) {
        for (i, name) in lower.iter().enumerate() {
            index.entry(name.clone()).or_insert(i);
        }
        return Ok(Columns { layout: Layout::Schwab, index, header: names });
    }
    let canonical = |h: &str| match h.replace([' ', '_'], "").as_str() {
        "tradedate" => "date".to_owned(),
        other => other.to_owned(),
    };
    if !["date", "type", "symbol"].iter().all(|c| lower.iter().any(|h| canonical(h) == *c)) {
        return Err(FileRejection::UnknownLayout { header: names.join(",").chars().take(200).collect() });
    }
    for (i, (name, low)) in names.iter().zip(&lower).enumerate() {
        let key = canonical(low);
        if !GENERIC_COLUMNS.contains(&key.as_str()) {
            return Err(FileRejection::UnknownColumn { column: name.chars().take(60).collect() });
        }
        if index.insert(key, i).is_some() {
            return Err(FileRejection::DuplicateColumn { column: name.clone() });
        }
    }
    Ok(Columns { layout: Layout::Generic, index, header: names })
}

/// Parses a decoded file. A problem with the file as a whole is a [`FileRejection`]; problems
/// with rows are collected in [`ParsedImport::errors`] (every one, not just the first).
/// Transactions in another currency than `base` (the portfolio's) are row errors: FX is not
/// supported yet.
pub fn parse(text: &str, today: Date, base: Currency) -> Result<ParsedImport, FileRejection> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut records = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| FileRejection::Malformed { line: e.position().map_or(0, |p| p.line() as usize), reason: e.to_string() })?;
        if record.iter().any(|cell| !cell.trim().is_empty()) {
            records.push(record);
        }
        if records.len() > MAX_ROWS + 2 {
            break;
        }
    }
    let mut records = records.into_iter().peekable();
    // Older Schwab exports open with a title line before the header.
    let is_title = |r: &csv::StringRecord| r.get(0).is_some_and(|c| c.trim_start().starts_with("Transactions ")) && r.iter().skip(1).all(|c| c.trim().is_empty());
    if records.peek().is_some_and(is_title) {
        records.next();
    }
    let header = records.next().ok_or(FileRejection::Empty)?;
    let columns = columns(&header)?;
    let data: Vec<csv::StringRecord> = records.collect();
    if data.len() > MAX_ROWS {
        return Err(FileRejection::TooManyRows { rows: data.len() });
    }
    let mut parsed = ParsedImport { layout: columns.layout, rows: Vec::new(), skipped: Vec::new(), errors: Vec::new() };
    let mut seen: HashMap<String, usize> = HashMap::new();
    for record in &data {
        let row = record.position().map_or(0, |p| p.line() as usize);
        let raw = match columns.read(record) {
            Ok(RowOutcome::Transaction(raw)) => raw,
            Ok(RowOutcome::Skipped(reason)) => {
                parsed.skipped.push(SkippedRow { row, reason });
                continue;
            }
            Ok(RowOutcome::Ignored) => continue,
            Err(error) => {
                parsed.errors.push(error);
                continue;
            }
        };
        match raw.parse(today) {
            Ok(transaction) if transaction.currency != base => parsed.errors.push(RowError {
                row,
                column: columns.column_of(TxField::Currency),
                reason: format!("{} is not the portfolio's currency {base}; other currencies need FX, which is not supported yet", transaction.currency),
            }),
            Ok(transaction) => {
                let canonical = transaction.canonical();
                let occurrence = seen.entry(canonical.clone()).or_default();
                let digest = Sha256::digest(format!("{canonical}#{occurrence}").as_bytes());
                *occurrence += 1;
                let fingerprint = digest.iter().map(|b| format!("{b:02x}")).collect();
                parsed.rows.push(ImportRow { row, transaction, fingerprint });
            }
            Err(errors) => parsed.errors.extend(errors.into_iter().map(|e| RowError { row, column: columns.column_of(e.field), reason: e.reason })),
        }
    }
    if parsed.rows.is_empty() && parsed.errors.is_empty() && parsed.skipped.is_empty() {
        return Err(FileRejection::NoTransactions);
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portfolio::Trade;

    fn today() -> Date {
        crate::transaction::parse_date("2026-06-30").unwrap()
    }

    const GENERIC: &str = "date,type,symbol,quantity,price,fees,amount,ratio,currency\n\
        2026-01-02,BUY,AAPL,10,150.25,1,,,USD\n\
        2026-01-02,BUY,AAPL,10,150.25,1,,,USD\n\
        2026-02-03,DIVIDEND,AAPL,,,,2.40,,\n\
        2026-03-04,SPLIT,AAPL,,,,,2:1,\n";

    #[test]
    fn the_generic_layout_parses_and_identical_rows_stay_distinct() {
        let parsed = parse(GENERIC, today(), Currency::USD).unwrap();
        assert_eq!(parsed.layout, Layout::Generic);
        assert!(parsed.errors.is_empty() && parsed.skipped.is_empty());
        let in_euros = parse(GENERIC, today(), Currency::parse("EUR").unwrap()).unwrap();
        assert_eq!(in_euros.errors.len(), 4, "every row is in USD");
        assert_eq!(in_euros.errors[0].column, "currency");
        let rows: Vec<usize> = parsed.rows.iter().map(|r| r.row).collect();
        assert_eq!(rows, [2, 3, 4, 5]);
        assert_ne!(parsed.rows[0].fingerprint, parsed.rows[1].fingerprint, "two identical buys are two transactions");
        assert_eq!(parsed.rows[3].transaction.trade, Trade::Split { numerator: 2, denominator: 1 });
        assert_eq!(parsed.rows[0].transaction_id().len(), "2026-01-02-".len() + 16);
        // The same file, columns reordered and spelled differently, gives the same fingerprints.
        let reordered = "Symbol,Trade Date,Type,Price,Quantity,Fees\nAAPL,2026-01-02,buy,150.250,10,1.00\nAAPL,2026-01-02,buy,150.25,10,1\n";
        let again = parse(reordered, today(), Currency::USD).unwrap();
        assert_eq!(again.rows[0].fingerprint, parsed.rows[0].fingerprint);
        assert_eq!(again.rows[1].fingerprint, parsed.rows[1].fingerprint);
    }

    #[test]
    fn every_bad_cell_is_reported_with_row_and_column() {
        let text = "date,type,symbol,quantity,price\n2026-01-02,BUY,AAPL,ten,1\n2026-13-02,BUY,AAPL,1,1\n2026-01-02,HOLD,!!,1,1\n";
        let parsed = parse(text, today(), Currency::USD).unwrap();
        let errors: Vec<(usize, &str)> = parsed.errors.iter().map(|e| (e.row, e.column.as_str())).collect();
        assert_eq!(errors, [(2, "quantity"), (3, "date"), (4, "symbol"), (4, "type")]);
        assert!(parsed.rows.is_empty());
    }

    #[test]
    fn files_that_are_not_one_of_the_layouts_are_rejected_whole() {
        assert_eq!(parse("", today(), Currency::USD), Err(FileRejection::Empty));
        assert!(matches!(parse("when,what\n1,2\n", today(), Currency::USD), Err(FileRejection::UnknownLayout { .. })));
        assert!(matches!(parse("date,type,symbol,colour\n", today(), Currency::USD), Err(FileRejection::UnknownColumn { column }) if column == "colour"));
        assert!(matches!(parse("date,type,symbol,Symbol\n", today(), Currency::USD), Err(FileRejection::DuplicateColumn { .. })));
        assert_eq!(parse("date,type,symbol\n", today(), Currency::USD), Err(FileRejection::NoTransactions));
        let many = format!("date,type,symbol,amount\n{}", "2026-01-02,FEE,A,1\n".repeat(MAX_ROWS + 1));
        assert_eq!(parse(&many, today(), Currency::USD), Err(FileRejection::TooManyRows { rows: MAX_ROWS + 1 }));
    }

    const SCHWAB: &str = "\"Transactions  for account Individual ...123 as of 11/20/2026 09:30:12 ET\"\n\
        \"Date\",\"Action\",\"Symbol\",\"Description\",\"Quantity\",\"Price\",\"Fees & Comm\",\"Amount\"\n\
        \"03/14/2026\",\"Buy\",\"BRK/B\",\"BERKSHIRE HATHAWAY B\",\"1,000\",\"$412.3456\",\"$0.65\",\"-$412,346.25\"\n\
        \"03/16/2026 as of 03/13/2026\",\"Sell\",\"MSFT\",\"MICROSOFT CORP\",\"5\",\"$380.10\",\"\",\"$1,900.50\"\n\
        \"04/01/2026\",\"Qualified Dividend\",\"MSFT\",\"MICROSOFT CORP\",\"\",\"\",\"\",\"$3.75\"\n\
        \"04/02/2026\",\"Foreign Tax Paid\",\"TSM\",\"TAIWAN SEMICONDUCTOR\",\"\",\"\",\"\",\"-$0.53\"\n\
        \"04/03/2026\",\"MoneyLink Transfer\",\"\",\"Tfr BANK\",\"\",\"\",\"\",\"$5,000.00\"\n\
        \"04/04/2026\",\"Stock Split\",\"NVDA\",\"NVIDIA CORP\",\"90\",\"\",\"\",\"\"\n\
        \"04/05/2026\",\"Buy to Open\",\"AAPL 06/19/2026 200.00 C\",\"CALL APPLE\",\"1\",\"$2.00\",\"$0.65\",\"-$200.65\"\n\
        \"Transactions Total\",\"\",\"\",\"\",\"\",\"\",\"\",\"-$405,445.53\"\n";

    #[test]
    fn a_schwab_export_maps_trades_and_explains_what_it_skips() {
        let parsed = parse(SCHWAB, today(), Currency::USD).unwrap();
        assert_eq!(parsed.layout, Layout::Schwab);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let kinds: Vec<(usize, &str, &str, String)> =
            parsed.rows.iter().map(|r| (r.row, r.transaction.kind(), r.transaction.symbol.as_str(), r.transaction.trade_date.to_string())).collect();
        assert_eq!(
            kinds,
            [
                (3, "BUY", "BRK.B", "2026-03-14".to_owned()),
                (4, "SELL", "MSFT", "2026-03-13".to_owned()),
                (5, "DIVIDEND", "MSFT", "2026-04-01".to_owned()),
                (6, "FEE", "TSM", "2026-04-02".to_owned())
            ]
        );
        assert_eq!(parsed.rows[0].transaction.canonical(), "2026-03-14|BRK.B|kind=BUY|quantity=1000|price=412.3456|fees=0.65|currency=USD");
        let skipped: Vec<usize> = parsed.skipped.iter().map(|s| s.row).collect();
        assert_eq!(skipped, [7, 8, 9], "cash, a split and an option; the total line is not data");
        assert!(parsed.skipped[1].reason.contains("SPLIT"));
    }

    #[test]
    fn a_bad_schwab_date_names_the_date_column() {
        let text = "\"Date\",\"Action\",\"Symbol\",\"Description\",\"Quantity\",\"Price\",\"Fees & Comm\",\"Amount\"\n\"2026-03-14\",\"Buy\",\"MSFT\",\"M\",\"1\",\"$1\",\"\",\"-$1\"\n";
        let parsed = parse(text, today(), Currency::USD).unwrap();
        assert_eq!(parsed.errors, [RowError { row: 2, column: "Date".into(), reason: "expected MM/DD/YYYY, optionally followed by \"as of MM/DD/YYYY\"".into() }]);
    }

    #[test]
    fn encodings_are_decoded_or_refused_with_the_line_at_fault() {
        assert_eq!(decode(b"\xEF\xBB\xBFdate\n", None).unwrap(), "date\n");
        let latin = b"date,type,symbol\n2026-01-02,FEE,A\nCaf\xE9\n";
        assert_eq!(decode(latin, None), Err(FileRejection::Encoding { encoding: "UTF-8", line: 3, byte: 0xE9 }));
        assert_eq!(decode(latin, Some("ISO-8859-1")).unwrap().lines().last(), Some("Café"));
        assert_eq!(decode(b"\x80 \x93x\x94", Some("windows-1252")).unwrap(), "€ “x”");
        assert!(matches!(decode(b"\x81", Some("windows-1252")), Err(FileRejection::Encoding { .. })));
        let utf16: Vec<u8> = [0xFF, 0xFE].into_iter().chain("date,é\n".encode_utf16().flat_map(u16::to_le_bytes)).collect();
        assert_eq!(decode(&utf16, None).unwrap(), "date,é\n");
        let no_bom: Vec<u8> = "date\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(decode(&no_bom, None), Err(FileRejection::Utf16WithoutBom));
        assert_eq!(decode(b"x", Some("shift_jis")), Err(FileRejection::Charset("shift_jis".into())));
    }
}
