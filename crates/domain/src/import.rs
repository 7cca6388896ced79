//! CSV import of broker statements: text decoding, layout detection, and rows parsed into
//! transactions with every problem located by row and column.
//!
//! Two layouts are understood (the README documents both):
//! - **bourse**, the generic format: a header naming any of `date` (or `trade_date`), `type`,
//!   `symbol`, `quantity`, `price`, `fees`, `amount`, `ratio`, `currency`, in any order; rows hold
//!   the same values as the JSON API.
//! - **schwab**, Charles Schwab's brokerage "Transaction History" CSV export: `Date`, `Action`,
//!   `Symbol`, `Description`, `Quantity`, `Price`, `Fees & Comm`, `Amount`, with the optional title
//!   line (`"Transactions  for account …"`) and `Transactions Total` trailer of older exports.
//!   Cash movements, options, short sales, corporate actions, reversed dividends and refunded fees
//!   are listed as skipped, with why.
//!
//! Nothing in a file is dropped silently: a value beyond the header's columns, a value running
//! over several lines (a stray quote) or an amount that is not one (`1,23`) is a row error, and a
//! quote never closed refuses the file. Rows are numbered by line whatever the line endings.
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
    #[error(
        "the file is not valid {encoding} text: line {line} holds the byte 0x{byte:02X}; export it as UTF-8, or declare its charset (e.g. Content-Type: text/csv; charset=windows-1252)"
    )]
    Encoding { encoding: &'static str, line: usize, byte: u8 },
    #[error("the file holds NUL bytes, as UTF-16 text without a byte-order mark does; export it as UTF-8")]
    Utf16WithoutBom,
    #[error("the charset {0:?} is not supported; send UTF-8, UTF-16 with a byte-order mark, ISO-8859-1 or Windows-1252")]
    Charset(String),
    #[error("the file holds no rows")]
    Empty,
    #[error("line {line} is not well-formed CSV: {reason}")]
    Malformed { line: usize, reason: String },
    #[error(
        "the header {header:?} matches no known layout: the generic layout needs date, type and symbol columns; a Schwab export starts with Date, Action, Symbol, Description, Quantity, Price, Fees & Comm, Amount"
    )]
    UnknownLayout { header: String },
    #[error(
        "the column {column:?} is not part of the generic layout, which knows date, type, symbol, quantity, price, fees, amount, ratio, currency"
    )]
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
            // A row never names lots: only the JSON API does.
            (Layout::Schwab, TxField::Lots) => "Action",
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
    pub fn transaction_id(&self) -> Result<crate::TransactionId, crate::ids::InvalidTransactionId> {
        crate::TransactionId::new(self.transaction.trade_date, &self.fingerprint)
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
            .map(|(i, &b)| {
                windows_1252(b).ok_or_else(|| FileRejection::Encoding { encoding: "Windows-1252", line: line_of(&bytes[..i]), byte: b })
            })
            .collect(),
        Some(other) => Err(FileRejection::Charset(other.to_owned())),
    }
}

fn line_of(before: &[u8]) -> usize {
    let mut lines = Lines { bytes: before, at: 0, line: 1 };
    lines.line_at(before.len())
}

/// Line numbers as an editor shows them: `\n`, `\r\n` and a lone `\r` (old Mac exports) each end a
/// line. csv's own positions count `\n` only, and a record's starts before the blank lines it
/// follows, so neither can name a row.
struct Lines<'t> {
    bytes: &'t [u8],
    at: usize,
    line: usize,
}

impl Lines<'_> {
    /// The line of byte `offset`; offsets are asked in increasing order (one pass over the text).
    fn line_at(&mut self, offset: usize) -> usize {
        let end = offset.min(self.bytes.len());
        while self.at < end {
            match self.bytes[self.at] {
                b'\n' => self.line += 1,
                b'\r' if self.bytes.get(self.at + 1) != Some(&b'\n') => self.line += 1,
                _ => {}
            }
            self.at += 1;
        }
        self.line
    }

    /// The line a record starting at `offset` is on: past the blank lines before it.
    fn record(&mut self, offset: usize) -> usize {
        let skipped = self.bytes.get(offset..).map_or(0, |rest| rest.iter().take_while(|&&b| b == b'\r' || b == b'\n').count());
        self.line_at(offset + skipped)
    }
}

/// Where a quoted value that is never closed opens, read as the csv reader reads (a quote opens a
/// value only at its start; `""` inside it is one quote). The reader takes everything after such
/// a quote, every following row included, as that one value, and says nothing.
fn unclosed_quote(text: &str) -> Option<usize> {
    #[derive(Clone, Copy)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted(usize),
        QuoteInQuoted(usize),
    }
    let mut state = State::FieldStart;
    for (i, &b) in text.as_bytes().iter().enumerate() {
        state = match (state, b) {
            (State::FieldStart, b'"') => State::Quoted(i),
            (State::Quoted(at), b'"') => State::QuoteInQuoted(at),
            (State::Quoted(at), _) => State::Quoted(at),
            (State::QuoteInQuoted(at), b'"') => State::Quoted(at),
            (_, b',' | b'\r' | b'\n') => State::FieldStart,
            _ => State::Unquoted,
        };
    }
    match state {
        State::Quoted(at) => Some(at),
        _ => None,
    }
}

/// Longest cell text repeated in a message: a hostile file could otherwise have a megabyte echoed
/// into the error of each of its rows.
const SHOWN: usize = 60;

fn shown(text: &str) -> String {
    match text.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, FileRejection> {
    let units = bytes.chunks(2).map(|pair| if pair.len() == 2 { Some(unit([pair[0], pair[1]])) } else { None });
    let mut text = String::with_capacity(bytes.len() / 2);
    for (i, decoded) in char::decode_utf16(units.map(|u| u.unwrap_or(0xDC00))).enumerate() {
        match decoded {
            Ok(c) => text.push(c),
            Err(_) => {
                return Err(FileRejection::Encoding {
                    encoding: "UTF-16",
                    line: text.matches('\n').count() + 1,
                    byte: bytes.get(i * 2).copied().unwrap_or(0),
                });
            }
        }
    }
    Ok(text)
}

/// Windows-1252 to Unicode; `None` for its five unassigned bytes.
fn windows_1252(b: u8) -> Option<char> {
    const HIGH: [u16; 32] = [
        0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019,
        0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
    ];
    match b {
        0x80..=0x9F => char::from_u32(u32::from(HIGH[usize::from(b - 0x80)])).filter(|&c| c != '\0'),
        _ => Some(char::from(b)),
    }
}

/// What one data row turned into.
enum RowOutcome {
    // Boxed: a row's text is much larger than the other outcomes.
    Transaction(Box<RawTransaction>),
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

    fn read(&self, row: usize, record: &csv::StringRecord) -> Result<RowOutcome, RowError> {
        match self.layout {
            Layout::Generic => Ok(RowOutcome::Transaction(Box::new(RawTransaction {
                kind: self.cell(record, "type").unwrap_or_default().to_owned(),
                symbol: self.cell(record, "symbol").unwrap_or_default().to_owned(),
                trade_date: self.cell(record, "date").unwrap_or_default().to_owned(),
                quantity: self.cell(record, "quantity").map(str::to_owned),
                price: self.cell(record, "price").map(str::to_owned),
                fees: self.cell(record, "fees").map(str::to_owned),
                amount: self.cell(record, "amount").map(str::to_owned),
                ratio: self.cell(record, "ratio").map(str::to_owned),
                currency: self.cell(record, "currency").map(str::to_owned),
                lots: Vec::new(),
            }))),
            Layout::Schwab => self.read_schwab(row, record),
        }
    }

    /// The `Transactions Total` line of an older Schwab export.
    fn is_summary(&self, record: &csv::StringRecord) -> bool {
        self.layout == Layout::Schwab
            && self.cell(record, "date").is_some_and(|date| date.to_ascii_lowercase().starts_with("transactions total"))
    }

    fn read_schwab(&self, row: usize, record: &csv::StringRecord) -> Result<RowOutcome, RowError> {
        if self.is_summary(record) {
            return Ok(RowOutcome::Ignored);
        }
        let date = self.cell(record, "date").unwrap_or_default();
        let action = self.cell(record, "action").unwrap_or_default().to_ascii_lowercase();
        let symbol = self.cell(record, "symbol").unwrap_or_default();
        let skip = |reason: String| Ok(RowOutcome::Skipped(reason));
        if symbol.is_empty() {
            return skip(format!("{:?} is a cash movement, not a trade", shown(&action)));
        }
        let kind = match action.as_str() {
            "buy" | "reinvest shares" => "BUY",
            "sell" => "SELL",
            a if a.contains("to open") || a.contains("to close") || matches!(a, "expired" | "assigned" | "exchange or exercise") => {
                return skip("options are not supported".into());
            }
            "sell short" | "buy to cover" => return skip("short positions are not supported".into()),
            a if a.contains("split")
                || a.contains("stock div")
                || a.contains("merger")
                || a.contains("spin")
                || a.contains("lieu")
                || a.contains("name change")
                || a.contains("conversion") =>
            {
                return skip(format!(
                    "{:?} is a corporate action: the export lists shares, not a ratio; record it as a SPLIT with its ratio",
                    shown(&action)
                ));
            }
            a if a.contains("div") => "DIVIDEND",
            a if a.contains("fee") || a.contains("foreign tax") => "FEE",
            _ => return skip(format!("{:?} is not a transaction Bourse records", shown(&action))),
        };
        let trade_date = schwab_date(date).ok_or_else(|| RowError {
            row,
            column: self.column_of(TxField::TradeDate),
            reason: "expected MM/DD/YYYY, optionally followed by \"as of MM/DD/YYYY\"".into(),
        })?;
        let number = |name: &str| self.cell(record, name).map(schwab_number);
        let magnitude = |name: &str| number(name).map(|n| n.map_or_else(str::to_owned, |(_, magnitude)| magnitude));
        let is_trade = matches!(kind, "BUY" | "SELL");
        // The sign of a trade's cells only says which way the cash went; a dividend is a credit
        // and a fee a debit, so the other sign is a reversal or a refund, not one of them.
        match (kind, number("amount")) {
            ("DIVIDEND", Some(Ok((true, m)))) if !is_zero(&m) => {
                return skip(
                    "a negative dividend (a reversal or an adjustment) is not imported; correct the dividend it reverses by hand".into(),
                );
            }
            ("FEE", Some(Ok((false, m)))) if !is_zero(&m) => {
                return skip("a credited fee or tax (a refund) is not imported; correct the fee it refunds by hand".into());
            }
            _ => {}
        }
        Ok(RowOutcome::Transaction(Box::new(RawTransaction {
            kind: kind.into(),
            symbol: symbol.replace('/', "."),
            trade_date,
            quantity: magnitude("quantity").filter(|_| is_trade),
            price: magnitude("price").filter(|_| is_trade),
            fees: magnitude("fees & comm").filter(|_| is_trade),
            amount: magnitude("amount").filter(|_| !is_trade),
            ratio: None,
            currency: Some(Currency::USD.to_string()),
            lots: Vec::new(),
        })))
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

/// `$1,234.50`, `-$12.00`, `($3.10)`, `1,000` → whether negative, and the magnitude as plain
/// decimal text. Anything else is handed on as written (`Err`), to be refused as not a number:
/// never guessed at (`1,23` is not 123, `1-2` not 12).
fn schwab_number(raw: &str) -> Result<(bool, String), &str> {
    let mut rest = raw.trim();
    let parenthesised = rest.len() >= 2 && rest.starts_with('(') && rest.ends_with(')');
    if parenthesised {
        rest = rest[1..rest.len() - 1].trim();
    }
    // A sign before or after the dollar sign: `-$12.00`, `$-12.00`.
    let mut sign = None;
    let mut dollar = false;
    while let Some(c @ ('-' | '+' | '$')) = rest.chars().next() {
        if c == '$' && std::mem::replace(&mut dollar, true) || c != '$' && sign.replace(c).is_some() {
            return Err(raw);
        }
        rest = rest[1..].trim_start();
    }
    let (whole, fraction) = rest.split_once('.').unwrap_or((rest, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mut groups = whole.split(',');
    let first = groups.next().unwrap_or("");
    let grouped = if whole.contains(',') {
        (1..=3).contains(&first.len()) && digits(first) && groups.all(|g| g.len() == 3 && digits(g))
    } else {
        digits(whole)
    };
    if !grouped || !digits(fraction) || whole.len() + fraction.len() == 0 || (parenthesised && sign.is_some()) {
        return Err(raw);
    }
    let plain = if rest.contains('.') { format!("{}.{fraction}", whole.replace(',', "")) } else { whole.replace(',', "") };
    Ok((parenthesised || sign == Some('-'), plain))
}

fn is_zero(plain: &str) -> bool {
    plain.bytes().all(|b| b == b'0' || b == b'.')
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
        return Err(FileRejection::UnknownLayout {
            header: names.iter().map(|n| shown(n)).collect::<Vec<_>>().join(",").chars().take(200).collect(),
        });
    }
    for (i, (name, low)) in names.iter().zip(&lower).enumerate() {
        let key = canonical(low);
        // Spaces and underscores are ignored, but a name that long is no spelling of a column
        // (and it would be repeated in the error of every row).
        if !GENERIC_COLUMNS.contains(&key.as_str()) || name.len() > SHOWN {
            return Err(FileRejection::UnknownColumn { column: shown(name) });
        }
        if index.insert(key, i).is_some() {
            return Err(FileRejection::DuplicateColumn { column: name.clone() });
        }
    }
    Ok(Columns { layout: Layout::Generic, index, header: names })
}

/// Parses a decoded file. A problem with the file as a whole is a [`FileRejection`]; problems
/// with rows are collected in [`ParsedImport::errors`] (every one, not just the first).
/// A row that gives no currency is in `base` (the portfolio's base currency), as a transaction
/// posted without one is; any supported currency may be given.
pub fn parse(text: &str, today: Date, base: Currency) -> Result<ParsedImport, FileRejection> {
    let mut lines = Lines { bytes: text.as_bytes(), at: 0, line: 1 };
    if let Some(at) = unclosed_quote(text) {
        let reason = "a quoted value opens on this line and is never closed, so every row after it would be read as part of it; a quote inside a quoted value is written twice (\"\")";
        return Err(FileRejection::Malformed { line: line_of(&text.as_bytes()[..at]), reason: reason.into() });
    }
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    // (row, record) of the rows that hold something; past the limit they are only counted, so a
    // refusal says how many there are.
    let mut records = Vec::new();
    let mut count = 0;
    for record in reader.records() {
        let record = record.map_err(|e| FileRejection::Malformed {
            line: e.position().map_or(0, |p| lines.record(p.byte() as usize)),
            reason: e.to_string(),
        })?;
        if record.iter().any(|cell| !cell.trim().is_empty()) {
            count += 1;
            if records.len() <= MAX_ROWS + 2 {
                records.push((lines.record(record.position().map_or(0, |p| p.byte() as usize)), record));
            }
        }
    }
    let mut records = records.into_iter().peekable();
    // Older Schwab exports open with a title line before the header.
    let is_title = |(_, r): &(usize, csv::StringRecord)| {
        r.get(0).is_some_and(|c| c.trim_start().starts_with("Transactions ")) && r.iter().skip(1).all(|c| c.trim().is_empty())
    };
    if records.peek().is_some_and(is_title) {
        records.next();
        count -= 1;
    }
    let (_, header) = records.next().ok_or(FileRejection::Empty)?;
    let columns = columns(&header)?;
    let data: Vec<(usize, csv::StringRecord)> = records.collect();
    // A full Schwab export is 10,000 records and its total line.
    let rows = count - 1 - data.iter().filter(|(_, record)| columns.is_summary(record)).count();
    if rows > MAX_ROWS {
        return Err(FileRejection::TooManyRows { rows });
    }
    let mut parsed = ParsedImport { layout: columns.layout, rows: Vec::new(), skipped: Vec::new(), errors: Vec::new() };
    let mut seen: HashMap<String, usize> = HashMap::new();
    for &(row, ref record) in &data {
        // flexible() lets a row be longer than the header; what lies beyond would be dropped
        // (`150,25` read as 150): refused instead. Empty trailing cells are fine.
        if let Some(extra) = record.iter().skip(columns.header.len()).position(|cell| !cell.trim().is_empty()) {
            let reason = format!(
                "the header names {} columns and this row has a value beyond them; a value holding a comma (a decimal comma, a thousands separator) must be quoted",
                columns.header.len()
            );
            parsed.errors.push(RowError { row, column: format!("column {}", columns.header.len() + extra + 1), reason });
            continue;
        }
        // A value over several lines is a quote opened and closed on a later line: the rows in
        // between were read into it (and the cells after it taken from the last of them).
        if let Some(i) = record.iter().position(|cell| cell.contains(['\r', '\n'])) {
            let column = columns.header.get(i).map_or_else(|| format!("column {}", i + 1), |name| shown(name));
            parsed.errors.push(RowError { row, column, reason: "the value runs over several lines: a quote opened in it is closed only on a later line, so the rows between were read into it; a quote inside a quoted value is written twice (\"\")".into() });
            continue;
        }
        let raw = match columns.read(row, record) {
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
        match raw.in_currency_by_default(base).parse(today) {
            Ok(transaction) => {
                let canonical = transaction.canonical();
                let occurrence = seen.entry(canonical.clone()).or_default();
                let digest = Sha256::digest(format!("{canonical}#{occurrence}").as_bytes());
                *occurrence += 1;
                let fingerprint = crate::text::hex(&digest);
                parsed.rows.push(ImportRow { row, transaction, fingerprint });
            }
            Err(errors) => {
                parsed.errors.extend(errors.into_iter().map(|e| RowError { row, column: columns.column_of(e.field), reason: e.reason }))
            }
        }
    }
    if parsed.rows.is_empty() && parsed.errors.is_empty() && parsed.skipped.is_empty() {
        return Err(FileRejection::NoTransactions);
    }
    Ok(parsed)
}

#[cfg(test)]
pub(crate) mod property;
#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portfolio::Trade;

    fn today() -> Date {
        crate::text::parse_date("2026-06-30").unwrap()
    }

    const GENERIC: &str = "date,type,symbol,quantity,price,fees,amount,ratio,currency\n\
        2026-01-02,BUY,AAPL,10,150.25,1,,,USD\n\
        2026-01-02,BUY,AAPL,10,150.25,1,,,USD\n\
        2026-02-03,DIVIDEND,AAPL,,,,2.40,,\n\
        2026-03-04,SPLIT,AAPL,,,,,2:1,\n";

    #[test]
    fn cash_rows_have_an_empty_symbol_as_in_a_json_body() {
        let text = "date,type,symbol,amount,currency\n\
            2026-01-02,DEPOSIT,,1000,EUR\n\
            2026-01-03,withdrawal,,250,\n\
            2026-01-04,INTEREST,,1.5,GBP\n\
            2026-01-05,DEPOSIT,AAPL,1,\n";
        let parsed = parse(text, today(), Currency::USD).unwrap();
        let rows: Vec<(&str, &str, &str)> =
            parsed.rows.iter().map(|r| (r.transaction.kind(), r.transaction.symbol.as_str(), r.transaction.currency.as_str())).collect();
        assert_eq!(rows, [("DEPOSIT", "$EUR", "EUR"), ("WITHDRAWAL", "$USD", "USD"), ("INTEREST", "$GBP", "GBP")]);
        // The same refusal as the JSON API: a cash kind names no symbol.
        assert_eq!(parsed.errors.iter().map(|e| (e.row, e.column.as_str())).collect::<Vec<_>>(), [(5, "symbol")]);
    }

    #[test]
    fn the_generic_layout_parses_and_identical_rows_stay_distinct() {
        let parsed = parse(GENERIC, today(), Currency::USD).unwrap();
        assert_eq!(parsed.layout, Layout::Generic);
        assert!(parsed.errors.is_empty() && parsed.skipped.is_empty());
        // Rows without a currency are in the portfolio's; rows that give one keep theirs.
        let in_euros = parse(GENERIC, today(), Currency::EUR).unwrap();
        let currencies: Vec<&str> = in_euros.rows.iter().map(|r| r.transaction.currency.as_str()).collect();
        assert_eq!(currencies, ["USD", "USD", "EUR", "EUR"]);
        let rows: Vec<usize> = parsed.rows.iter().map(|r| r.row).collect();
        assert_eq!(rows, [2, 3, 4, 5]);
        assert_ne!(parsed.rows[0].fingerprint, parsed.rows[1].fingerprint, "two identical buys are two transactions");
        assert_eq!(parsed.rows[3].transaction.trade, Trade::Split { numerator: 2, denominator: 1 });
        assert_eq!(parsed.rows[0].transaction_id().unwrap().as_str().len(), "2026-01-02-".len() + 16);
        // The same file, columns reordered and spelled differently, gives the same fingerprints.
        let reordered =
            "Symbol,Trade Date,Type,Price,Quantity,Fees\nAAPL,2026-01-02,buy,150.250,10,1.00\nAAPL,2026-01-02,buy,150.25,10,1\n";
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
        assert!(
            matches!(parse("date,type,symbol,colour\n", today(), Currency::USD), Err(FileRejection::UnknownColumn { column }) if column == "colour")
        );
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
        let kinds: Vec<(usize, &str, &str, String)> = parsed
            .rows
            .iter()
            .map(|r| (r.row, r.transaction.kind(), r.transaction.symbol.as_str(), r.transaction.trade_date.to_string()))
            .collect();
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
        assert_eq!(
            parsed.errors,
            [RowError { row: 2, column: "Date".into(), reason: "expected MM/DD/YYYY, optionally followed by \"as of MM/DD/YYYY\"".into() }]
        );
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

    // Regressions of defects found while writing the property tests (import/proptests.rs).

    fn error_rows(text: &str) -> Vec<(usize, String)> {
        parse(text, today(), Currency::USD).unwrap().errors.into_iter().map(|e| (e.row, e.column)).collect()
    }

    #[test]
    fn rows_are_numbered_by_their_line_after_blank_lines_and_with_any_line_ending() {
        // csv's positions point before the blank lines a record follows, and count `\n` only.
        assert_eq!(
            error_rows("date,type,symbol,amount\n\n\n2026-01-02,FEE,A,x\n\r\n\n2026-01-02,FEE,A,y\n"),
            [(4, "amount".into()), (7, "amount".into())]
        );
        assert_eq!(
            error_rows("date,type,symbol,amount\r2026-01-02,FEE,A,x\r\r2026-01-02,FEE,A,y\r"),
            [(2, "amount".into()), (4, "amount".into())]
        );
        assert_eq!(
            error_rows("date,type,symbol,amount\r\n2026-01-02,FEE,A,\"x\r\nx\"\r\n2026-01-02,FEE,A,y"),
            [(2, "amount".into()), (4, "amount".into())]
        );
    }

    #[test]
    fn an_unclosed_quote_refuses_the_file_instead_of_swallowing_the_rows_after_it() {
        // The ratio of a BUY is not read: the rows after the stray quote vanished into it.
        let text = "date,type,symbol,quantity,price,ratio\n2026-01-02,BUY,AAPL,1,1,\"\n2026-01-02,BUY,AAPL,1,1\n2026-01-02,BUY,AAPL,1,1\n";
        assert!(matches!(parse(text, today(), Currency::USD), Err(FileRejection::Malformed { line: 2, .. })));
        assert!(parse("date,type,symbol,amount\n2026-01-02,FEE,\"A\"\"\",\"1\"\n", today(), Currency::USD).is_ok(), "doubled quotes close");
    }

    #[test]
    fn values_beyond_the_header_are_row_errors_not_dropped() {
        // An unquoted decimal comma: `150,25` read as 150 and 25, and the 25 ignored.
        assert_eq!(error_rows("date,type,symbol,quantity,price\n2026-01-02,BUY,AAPL,1,150,25\n"), [(2, "column 6".into())]);
        // Empty cells beyond the header (trailing commas) are fine.
        assert!(error_rows("date,type,symbol,amount\n2026-01-02,FEE,A,1,,\n").is_empty());
    }

    #[test]
    fn a_value_over_several_lines_is_a_row_error() {
        // A quote closed on the next line merged two rows into one of the right width: A bought
        // at B's quantity and price, and B gone.
        let schwab = "Date,Action,Symbol,Description,Quantity,Price,Fees & Comm,Amount\n01/02/2026,Buy,A,\"x,1,$1,,-$1\n01/02/2026,Buy,B,\"y\",2,$2,,-$2\n";
        let parsed = parse(schwab, today(), Currency::USD).unwrap();
        assert!(parsed.rows.is_empty());
        assert_eq!(parsed.errors.iter().map(|e| (e.row, e.column.as_str())).collect::<Vec<_>>(), [(2, "Description")]);
    }

    #[test]
    fn long_cells_are_not_echoed_whole_into_every_error() {
        // A 100 KB header naming `date` was repeated into the error of every row.
        let header = format!("date{},type,symbol", "_".repeat(100_000));
        let rejected = parse(&format!("{header}\nx,FEE,A\n"), today(), Currency::USD);
        assert!(matches!(&rejected, Err(FileRejection::UnknownColumn { column }) if column.len() < 100));
        let schwab =
            format!("Date,Action,Symbol,Description,Quantity,Price,Fees & Comm,Amount\n01/02/2026,{},A,,,,,\n", "x".repeat(100_000));
        let skipped = parse(&schwab, today(), Currency::USD).unwrap().skipped;
        assert!(skipped[0].reason.len() < 200, "{}", skipped[0].reason.len());
    }

    #[test]
    fn a_file_of_too_many_rows_is_refused_with_its_real_count() {
        let many = format!("date,type,symbol,amount\n{}", "2026-01-02,FEE,A,1\n".repeat(3 * MAX_ROWS));
        assert_eq!(parse(&many, today(), Currency::USD), Err(FileRejection::TooManyRows { rows: 3 * MAX_ROWS }));
    }

    #[test]
    fn a_full_schwab_export_with_its_total_line_is_not_too_long() {
        let rows = "\"01/02/2026\",\"Buy\",\"A\",\"\",\"1\",\"$1\",\"\",\"-$1\"\n".repeat(MAX_ROWS);
        let text = format!(
            "\"Transactions  for account ...123\"\n{}{rows}\"Transactions Total\",\"\",\"\",\"\",\"\",\"\",\"\",\"-$10,000.00\"\n",
            SCHWAB.lines().nth(1).unwrap().to_owned() + "\n"
        );
        assert_eq!(parse(&text, today(), Currency::USD).map(|p| p.rows.len()), Ok(MAX_ROWS));
    }

    #[test]
    fn a_large_windows_1252_file_decodes_in_linear_time() {
        // The error of each byte (with its line, counted from the start) was built eagerly: 264 KB
        // took 96 s in a debug build, a 2 MiB upload hours.
        let text = "date,type,symbol,amount\n2026-01-02,FEE,A,1\n".repeat(6_000);
        let started = std::time::Instant::now();
        assert_eq!(decode(text.as_bytes(), Some("windows-1252")).unwrap(), text);
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "{:?}", started.elapsed());
    }

    #[test]
    fn schwab_amounts_are_read_as_written_or_refused() {
        let row = |action: &str, quantity: &str, amount: &str| {
            let text = format!(
                "Date,Action,Symbol,Description,Quantity,Price,Fees & Comm,Amount\n01/02/2026,{action},A,,\"{quantity}\",$2.50,,\"{amount}\"\n"
            );
            let parsed = parse(&text, today(), Currency::USD).unwrap();
            (parsed.rows.first().map(|r| r.transaction.canonical()), parsed.errors.first().map(|e| e.column.clone()), parsed.skipped.len())
        };
        assert_eq!(row("Buy", "1,000.5", "-$2,501.25").0.unwrap(), "2026-01-02|A|kind=BUY|quantity=1000.5|price=2.5|fees=0|currency=USD");
        // A European decimal comma, a dash or a space inside digits were dropped: 1,23 became 123.
        for garbled in ["1,23", "1-2", "1 000", "12,3456", "(5", "$$5", "1,000,00"] {
            assert_eq!(row("Buy", garbled, "").1.as_deref(), Some("Quantity"), "{garbled}");
        }
        assert!(
            row("Qualified Dividend", "", "($3.75)").0.is_none() && row("Qualified Dividend", "", "($3.75)").2 == 1,
            "a reversed dividend is not income"
        );
        assert!(
            row("Foreign Tax Paid", "", "$0.53").0.is_none() && row("Foreign Tax Paid", "", "$0.53").2 == 1,
            "a refunded tax is not a fee"
        );
        assert_eq!(row("Foreign Tax Paid", "", "-$0.53").0.unwrap(), "2026-01-02|A|kind=FEE|amount=0.53|currency=USD");
    }
}
