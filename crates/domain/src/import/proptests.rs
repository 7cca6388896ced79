//! Property tests of the CSV import (seeds, budgets and replaying a failure: see `property`).
//!
//! - No input panics: random bytes, random CSV-ish text, and valid files mutated (truncated, bytes
//!   and lines inserted, deleted or swapped, other delimiters, BOMs, stray quotes, huge, exponent,
//!   negative and zero numbers, impossible dates, very long cells, 10,000+ rows) in any charset.
//! - Every row is accounted for: each record after the header is imported, skipped with a reason,
//!   or an error naming its row and column (only a Schwab total line is left out), and a record
//!   running over several lines (a stray quote swallowing the rows after it) is never imported.
//! - What is imported is within the documented bounds and is exactly what its cells say.
//! - A valid file generated in either layout, in any style and encoding, gives back exactly the
//!   transactions it was generated from, at their line numbers; the same transactions give the same
//!   fingerprints in both layouts.

use super::property::{Rng, check};
use super::*;
use crate::portfolio::Trade;
use crate::symbol::Symbol;
use rust_decimal::Decimal;
use std::collections::BTreeSet;
use std::str::FromStr;
use std::time::Duration;
use time::Month;

const SEEDS: &[u64] = &[0x1A2B_3C4D_5E6F_7081, 0xC5F];

fn today() -> Date {
    crate::text::parse_date("2026-06-30").unwrap()
}

fn eur() -> Currency {
    Currency::parse("EUR").unwrap()
}

/// At most this much of a failing input is printed.
fn excerpt(text: &str) -> String {
    let shown: String = text.chars().take(1500).collect();
    if shown.len() < text.len() { format!("{shown:?}… ({} bytes)", text.len()) } else { format!("{shown:?}") }
}

// ---- the transactions files are generated from ----

/// A transaction as generated, and as read back from a parsed one.
#[derive(Debug, Clone, PartialEq)]
struct Tx {
    kind: &'static str,
    symbol: String,
    date: Date,
    /// BUY/SELL: quantity, price, fees; DIVIDEND/FEE: amount; SPLIT: none.
    values: Vec<Decimal>,
    ratio: Option<(u32, u32)>,
}

fn project(t: &ParsedTransaction) -> Tx {
    let (values, ratio) = match t.trade {
        Trade::Buy { quantity, price, fees } | Trade::Sell { quantity, price, fees } => {
            (vec![quantity.value(), price.value(), fees.value()], None)
        }
        Trade::Dividend { amount }
        | Trade::Fee { amount }
        | Trade::Deposit { amount }
        | Trade::Withdrawal { amount }
        | Trade::Interest { amount } => (vec![amount.value()], None),
        Trade::Split { numerator, denominator } => (vec![], Some((numerator, denominator))),
    };
    Tx { kind: t.kind(), symbol: t.symbol.to_string(), date: t.trade_date, values, ratio }
}

/// A decimal within the documented bounds (≤ 10^12, ≤ 8 places), often at their edges.
fn decimal(rng: &mut Rng, zero: bool) -> Decimal {
    const EDGES: &[&str] =
        &["1000000000000", "0.00000001", "999999999999.99999999", "1", "0.1", "123456789012.12345678", "100000000000.00000001"];
    let value = if rng.one_in(6) {
        Decimal::from_str(rng.pick::<&str>(EDGES)).unwrap()
    } else {
        let scale = rng.below(9) as u32;
        let digits = 1 + rng.below(u64::from(12 + scale)) as u32;
        let mantissa = ((u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())) % 10u128.pow(digits);
        Decimal::from_i128_with_scale(mantissa as i128, scale)
    };
    if zero && rng.one_in(8) {
        Decimal::ZERO
    } else if value.is_zero() {
        Decimal::new(1, 8)
    } else {
        value
    }
}

fn symbol(rng: &mut Rng) -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let len = 1 + rng.index(Symbol::MAX_LEN);
    let mut text = String::new();
    for i in 0..len {
        let separator = i > 0 && i + 1 < len && !text.ends_with(['.', '-']) && rng.one_in(5);
        text.push(if separator { *rng.pick(&['.', '-']) } else { char::from(*rng.pick(ALNUM)) });
    }
    assert_eq!(Symbol::parse(&text).map(|s| s.to_string()), Ok(text.clone()));
    text
}

fn date(rng: &mut Rng) -> Date {
    let last = today().to_julian_day();
    let first = if rng.one_in(10) {
        Date::from_calendar_date(1900, Month::January, 1).unwrap()
    } else {
        Date::from_calendar_date(1990, Month::January, 1).unwrap()
    };
    if rng.one_in(10) { today() } else { Date::from_julian_day(rng.range(first.to_julian_day().into(), last.into()) as i32).unwrap() }
}

fn transaction(rng: &mut Rng, kinds: &[&'static str]) -> Tx {
    let kind = *rng.pick(kinds);
    let (values, ratio) = match kind {
        "BUY" | "SELL" => {
            (vec![decimal(rng, false), decimal(rng, true), if rng.one_in(3) { Decimal::ZERO } else { decimal(rng, true) }], None)
        }
        "DIVIDEND" | "FEE" => (vec![decimal(rng, true)], None),
        _ => (vec![], Some((1 + rng.below(1000) as u32, 1 + rng.below(1000) as u32))),
    };
    Tx { kind, symbol: symbol(rng), date: date(rng), values, ratio }
}

/// Some transactions, now and then the same one twice (identical rows are distinct transactions).
fn transactions(rng: &mut Rng, kinds: &[&'static str], max: usize) -> Vec<Tx> {
    let mut txs: Vec<Tx> = Vec::new();
    for _ in 0..1 + rng.size(max - 1) {
        let tx = if !txs.is_empty() && rng.one_in(8) { rng.pick(&txs).clone() } else { transaction(rng, kinds) };
        txs.push(tx);
    }
    txs
}

// ---- writing them as files ----

fn mixed_case(rng: &mut Rng, text: &str) -> String {
    match rng.below(4) {
        0 => text.to_ascii_lowercase(),
        1 => text.to_ascii_uppercase(),
        2 => text.chars().map(|c| if rng.one_in(2) { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }).collect(),
        _ => text.to_owned(),
    }
}

/// Spaces around a value (cells are trimmed).
fn padded(rng: &mut Rng, text: String) -> String {
    if rng.one_in(6) { format!("{}{text}{}", " ".repeat(rng.index(3)), " ".repeat(rng.index(3))) } else { text }
}

fn spelled(rng: &mut Rng, text: &str) -> String {
    let text = mixed_case(rng, text);
    padded(rng, text)
}

/// The plain decimal text of a value, spelled in one of the ways that mean it exactly.
fn plain(rng: &mut Rng, value: Decimal) -> String {
    let mut text = value.normalize().to_string();
    if rng.one_in(3) {
        if !text.contains('.') {
            text.push('.');
        }
        text.push_str(&"0".repeat(rng.index(6)));
    }
    if rng.one_in(5) {
        text.insert_str(0, &"0".repeat(1 + rng.index(3)));
    }
    if text.starts_with("0.") && text.len() > 2 && rng.one_in(3) {
        text.remove(0);
    }
    padded(rng, text)
}

/// `1,234.5` or `1234.5`, at least `places` decimals.
fn grouped(rng: &mut Rng, value: Decimal, places: usize) -> String {
    let text = value.normalize().to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let whole = if rng.one_in(4) {
        whole.to_owned()
    } else {
        let digits: Vec<char> = whole.chars().collect();
        digits.rchunks(3).rev().map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join(",")
    };
    let fraction = format!("{fraction:0<places$}");
    if fraction.is_empty() { whole } else { format!("{whole}.{fraction}") }
}

fn dollars(rng: &mut Rng, value: Decimal, negative: bool) -> String {
    let places = if rng.one_in(5) { 0 } else { 2 };
    let body = grouped(rng, value, places);
    match (negative, rng.below(3)) {
        (false, _) => format!("${body}"),
        (true, 0) => format!("-${body}"),
        (true, 1) => format!("(${body})"),
        (true, _) => format!("$-{body}"),
    }
}

fn ymd(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

fn mdy(rng: &mut Rng, date: Date) -> String {
    let (month, day) = (u8::from(date.month()), date.day());
    if rng.one_in(4) { format!("{month}/{day}/{:04}", date.year()) } else { format!("{month:02}/{day:02}/{:04}", date.year()) }
}

/// How a generated file is written.
struct Style {
    eol: &'static str,
    /// 0: only where needed, 1: always, 2: at random.
    quoting: u64,
    blank_lines: bool,
    /// Every line ends with a comma (an empty last column), as some exports do.
    trailing_comma: bool,
}

impl Style {
    /// Trailing commas only for Schwab: the generic layout refuses a header cell naming no column.
    fn random(rng: &mut Rng, trailing_comma: bool) -> Self {
        Style {
            eol: rng.pick::<&str>(&["\n", "\r\n", "\r"]),
            quoting: rng.below(3),
            blank_lines: rng.one_in(4),
            trailing_comma: trailing_comma && rng.one_in(4),
        }
    }
}

/// A file being written, and the line each row lands on.
struct Writer {
    text: String,
    line: usize,
}

impl Writer {
    /// Writes one row; returns its line.
    fn row(&mut self, rng: &mut Rng, style: &Style, cells: &[String]) -> usize {
        if style.blank_lines && rng.one_in(5) {
            let blank = *rng.pick(&["", "   ", ",,", " , "]);
            self.text.push_str(blank);
            self.text.push_str(style.eol);
            self.line += 1;
        }
        let line = self.line;
        let mut cells: Vec<String> = cells
            .iter()
            .map(|cell| {
                let needed = cell.contains([',', '"', '\r', '\n']);
                let quote = needed || style.quoting == 1 || (style.quoting == 2 && rng.one_in(2));
                if quote { format!("\"{}\"", cell.replace('"', "\"\"")) } else { cell.clone() }
            })
            .collect();
        if style.trailing_comma {
            cells.push(String::new());
        }
        self.text.push_str(&cells.join(","));
        self.text.push_str(style.eol);
        self.line += 1 + cells.iter().map(|c| c.matches('\n').count()).sum::<usize>();
        line
    }
}

/// A generated file and what parsing it must give.
struct Generated {
    text: String,
    layout: Layout,
    rows: Vec<(usize, Tx)>,
    skipped: Vec<usize>,
}

const GENERIC_KINDS: &[&str] = &["BUY", "SELL", "DIVIDEND", "FEE", "SPLIT"];
const SCHWAB_KINDS: &[&str] = &["BUY", "SELL", "DIVIDEND", "FEE"];

fn generic_file(rng: &mut Rng, txs: &[Tx], base: Currency) -> Generated {
    let style = Style::random(rng, false);
    let mut keys = vec!["date", "type", "symbol"];
    let has = |kinds: &[&str]| txs.iter().any(|t| kinds.contains(&t.kind));
    for (key, needed) in [
        ("quantity", has(&["BUY", "SELL"])),
        ("price", has(&["BUY", "SELL"])),
        ("fees", has(&["BUY", "SELL"]) && txs.iter().any(|t| t.values.get(2).is_some_and(|f| !f.is_zero()))),
        ("amount", has(&["DIVIDEND", "FEE"])),
        ("ratio", has(&["SPLIT"])),
        ("currency", base != Currency::USD),
    ] {
        if needed || rng.one_in(4) {
            keys.push(key);
        }
    }
    for i in (1..keys.len()).rev() {
        keys.swap(i, rng.index(i + 1));
    }
    let header: Vec<String> = keys
        .iter()
        .map(|&key| {
            let name =
                if key == "date" { rng.pick(&["date", "tradeDate", "trade_date", "Trade Date"]).to_string() } else { key.to_owned() };
            spelled(rng, &name)
        })
        .collect();
    let mut out = Writer { text: String::new(), line: 1 };
    out.row(rng, &style, &header);
    let mut rows = Vec::new();
    for tx in txs {
        let cells: Vec<String> = keys
            .iter()
            .map(|&key| match (key, tx.kind) {
                ("date", _) => padded(rng, ymd(tx.date)),
                ("type", kind) => spelled(rng, kind),
                ("symbol", _) => spelled(rng, &tx.symbol),
                ("quantity", "BUY" | "SELL") => plain(rng, tx.values[0]),
                ("price", "BUY" | "SELL") => plain(rng, tx.values[1]),
                ("fees", "BUY" | "SELL") if !tx.values[2].is_zero() || rng.one_in(2) => plain(rng, tx.values[2]),
                ("fees", "DIVIDEND" | "FEE") if rng.one_in(3) => "0".into(),
                ("amount", "DIVIDEND" | "FEE") => plain(rng, tx.values[0]),
                ("ratio", "SPLIT") => {
                    let (n, d) = tx.ratio.unwrap();
                    if rng.one_in(3) { format!(" {n} : {d} ") } else { format!("{n}:{d}") }
                }
                ("currency", _) if base != Currency::USD || rng.one_in(2) => spelled(rng, base.as_str()),
                _ => String::new(),
            })
            .collect();
        rows.push((out.row(rng, &style, &cells), tx.clone()));
    }
    Generated { text: out.text, layout: Layout::Generic, rows, skipped: Vec::new() }
}

const SCHWAB_HEADER: [&str; 8] = ["Date", "Action", "Symbol", "Description", "Quantity", "Price", "Fees & Comm", "Amount"];

fn description(rng: &mut Rng) -> String {
    const WORDS: &[&str] = &[
        "APPLE INC",
        "BERKSHIRE HATHAWAY B",
        "AT&T",
        "ISHARES 20+ YR",
        "O'REILLY",
        "\"ADR\"",
        "CAFÉ HOLDINGS",
        "ÜBER AG",
        "CLASS A, COMMON",
        "",
    ];
    (0..1 + rng.index(2)).map(|_| *rng.pick(WORDS)).collect::<Vec<_>>().join(" ")
}

/// A Schwab export of `txs` (USD), with rows it skips mixed in.
fn schwab_file(rng: &mut Rng, txs: &[Tx]) -> Generated {
    let style = Style::random(rng, true);
    let mut out = Writer { text: String::new(), line: 1 };
    if rng.one_in(2) {
        out.row(
            rng,
            &Style { trailing_comma: false, ..style },
            &["Transactions  for account Individual ...123 as of 06/01/2026 08:15:42 ET".into()],
        );
    }
    let mut order: Vec<usize> = (0..SCHWAB_HEADER.len()).collect();
    if rng.one_in(5) {
        for i in (1..order.len()).rev() {
            order.swap(i, rng.index(i + 1));
        }
    }
    let header: Vec<String> =
        order.iter().map(|&i| if rng.one_in(6) { mixed_case(rng, SCHWAB_HEADER[i]) } else { SCHWAB_HEADER[i].to_owned() }).collect();
    out.row(rng, &style, &header);
    let (mut rows, mut skipped) = (Vec::new(), Vec::new());
    let write = |rng: &mut Rng, out: &mut Writer, cells: [String; 8]| {
        let cells: Vec<String> = order.iter().map(|&i| cells[i].clone()).collect();
        out.row(rng, &style, &cells)
    };
    for tx in txs {
        while rng.one_in(6) {
            let (action, symbol) = match rng.below(7) {
                0 => (*rng.pick(&["MoneyLink Transfer", "Bank Interest", "Journal", "Wire Funds"]), String::new()),
                1 => (*rng.pick(&["Buy to Open", "Sell to Close", "Expired", "Assigned"]), "AAPL 06/19/2026 200.00 C".to_owned()),
                2 => (*rng.pick(&["Sell Short", "Buy to Cover"]), symbol(rng)),
                3 => {
                    (*rng.pick(&["Stock Split", "Reverse Split", "Spin-off", "Cash In Lieu", "Stock Dividend", "Name Change"]), symbol(rng))
                }
                4 => (*rng.pick(&["Margin Interest", "Misc Cash Entry"]), symbol(rng)),
                5 => ("Qualified Dividend", symbol(rng)),
                _ => ("Foreign Tax Paid", symbol(rng)),
            };
            // A reversed dividend and a refunded tax have the sign of the other.
            let amount = decimal(rng, false);
            let amount = dollars(rng, amount, action != "Foreign Tax Paid");
            let date = date(rng);
            let mdy = mdy(rng, date);
            let description = description(rng);
            skipped.push(write(
                rng,
                &mut out,
                [mdy, action.into(), symbol, description, String::new(), String::new(), String::new(), amount],
            ));
        }
        let date = if rng.one_in(4) {
            let reported = date(rng);
            format!("{} as of {}", mdy(rng, reported), mdy(rng, tx.date))
        } else {
            mdy(rng, tx.date)
        };
        let action = match tx.kind {
            "BUY" => *rng.pick(&["Buy", "Reinvest Shares"]),
            "SELL" => "Sell",
            "DIVIDEND" => *rng.pick(&[
                "Qualified Dividend",
                "Cash Dividend",
                "Reinvest Dividend",
                "Non-Qualified Div",
                "Pr Yr Cash Div",
                "Special Qual Div",
            ]),
            _ => *rng.pick(&["Service Fee", "ADR Mgmt Fee", "Foreign Tax Paid", "Wire Fee"]),
        };
        let symbol = if rng.one_in(2) { tx.symbol.replace('.', "/") } else { tx.symbol.clone() };
        let trade = matches!(tx.kind, "BUY" | "SELL");
        let (quantity, price, fees, amount) = if trade {
            let fees = if tx.values[2].is_zero() && rng.one_in(2) { String::new() } else { dollars(rng, tx.values[2], false) };
            let total = decimal(rng, true);
            (grouped(rng, tx.values[0], 0), format!("${}", grouped(rng, tx.values[1], 2)), fees, dollars(rng, total, tx.kind == "BUY"))
        } else {
            let amount = dollars(rng, tx.values[0], tx.kind == "FEE" && !tx.values[0].is_zero());
            (String::new(), String::new(), String::new(), amount)
        };
        let action = if rng.one_in(6) { mixed_case(rng, action) } else { action.to_owned() };
        let (symbol, description) = (spelled(rng, &symbol), description(rng));
        let line = write(rng, &mut out, [date, action, symbol, description, quantity, price, fees, amount]);
        rows.push((line, tx.clone()));
    }
    if rng.one_in(2) {
        let mut total: [String; 8] = Default::default();
        total[0] = "Transactions Total".into();
        total[7] = "-$405,445.53".into();
        write(rng, &mut out, total);
    }
    Generated { text: out.text, layout: Layout::Schwab, rows, skipped }
}

/// The file's bytes in one of the encodings `decode` reads, with the charset to declare.
fn encode(rng: &mut Rng, text: &str) -> (Vec<u8>, Option<&'static str>) {
    let single_byte = text.chars().all(|c| u32::from(c) < 0x80 || (0xA0..=0xFF).contains(&u32::from(c)));
    match rng.below(6) {
        0 if single_byte => {
            (text.chars().map(|c| c as u8).collect(), Some(*rng.pick(&["ISO-8859-1", "latin1", "windows-1252", "\"cp1252\""])))
        }
        1 => ([0xEF, 0xBB, 0xBF].into_iter().chain(text.bytes()).collect(), None),
        2 => ([0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect(), None),
        3 => ([0xFE, 0xFF].into_iter().chain(text.encode_utf16().flat_map(u16::to_be_bytes)).collect(), Some("utf-8")),
        _ => (text.as_bytes().to_vec(), *rng.pick(&[None, Some("utf-8"), Some("UTF8"), Some(" us-ascii ")])),
    }
}

// ---- what any parse must satisfy ----

/// A record as the csv reader splits the text: its first and last line, and cells.
struct Record {
    row: usize,
    last_line: usize,
    cells: Vec<String>,
}

impl Record {
    fn is_blank(&self) -> bool {
        self.cells.iter().all(|c| c.trim().is_empty())
    }
}

/// Byte offsets where lines start: after `\n`, `\r\n` or a lone `\r`.
fn line_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = vec![0];
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
            starts.push(i + 1);
        }
    }
    starts
}

fn records(text: &str, starts: &[usize]) -> Vec<Record> {
    let line = |offset: usize| starts.partition_point(|&s| s <= offset);
    let bytes = text.as_bytes();
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    let raw: Vec<(usize, Vec<String>)> = reader
        .records()
        .map(|r| r.expect("a &str is valid UTF-8"))
        .map(|r| (r.position().unwrap().byte() as usize, r.iter().map(str::to_owned).collect()))
        .collect();
    (0..raw.len())
        .map(|i| {
            let start = raw[i].0 + bytes[raw[i].0..].iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
            // Up to the next record, less its terminator and any blank lines after it.
            let end = raw.get(i + 1).map_or(bytes.len(), |next| next.0).max(start);
            let content = bytes[start..end].iter().rposition(|&b| b != b'\r' && b != b'\n').map_or(1, |p| p + 1);
            Record { row: line(start), last_line: line(start + content - 1), cells: raw[i].1.clone() }
        })
        .collect()
}

/// The value of plain decimal text, normalised (`-0012.50` → `-12.5`), if it is one.
fn exact(text: &str) -> Option<String> {
    let text = text.trim();
    let (negative, digits) = text.strip_prefix('-').map_or((false, text), |d| (true, d));
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.len() + fraction.len() == 0 || !whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (whole, fraction) = (whole.trim_start_matches('0'), fraction.trim_end_matches('0'));
    let magnitude = match (whole.is_empty(), fraction.is_empty()) {
        (_, true) if whole.is_empty() => return Some("0".into()),
        (_, true) => whole.to_owned(),
        (true, false) => format!("0.{fraction}"),
        (false, false) => format!("{whole}.{fraction}"),
    };
    Some(if negative { format!("-{magnitude}") } else { magnitude })
}

/// A Schwab amount's magnitude and sign, read independently of the importer: `$1,234.50`,
/// `-$1.00`, `$-1.00`, `($1.00)`, `1,000`, `0.0781`.
fn schwab_exact(text: &str) -> Option<(bool, String)> {
    let text = text.trim();
    let (parens, inner) = match text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        Some(inner) => (true, inner.trim()),
        None => (false, text),
    };
    let mut negative = parens;
    let mut rest = inner;
    let mut signs = 0;
    let mut dollar = 0;
    while let Some(c) = rest.chars().next().filter(|c| matches!(c, '-' | '+' | '$')) {
        if c == '$' {
            dollar += 1
        } else {
            signs += 1
        }
        negative |= c == '-';
        rest = rest[1..].trim_start();
    }
    if dollar > 1 || signs > 1 || (parens && signs > 0) {
        return None;
    }
    let (whole, fraction) = rest.split_once('.').unwrap_or((rest, ""));
    let groups: Vec<&str> = whole.split(',').collect();
    let grouped = groups.len() == 1 || (!groups[0].is_empty() && groups[0].len() <= 3 && groups[1..].iter().all(|g| g.len() == 3));
    let plain = if rest.contains('.') { format!("{}.{fraction}", groups.concat()) } else { groups.concat() };
    if !grouped || plain.contains(['-', '+', '$']) {
        return None;
    }
    exact(&plain).map(|magnitude| (negative, magnitude))
}

/// How the file names its columns: index of each known column.
fn column_index(header: &[String], layout: Layout) -> impl Fn(&str) -> Option<usize> + '_ {
    move |key: &str| {
        header.iter().position(|h| {
            let h = h.trim().to_ascii_lowercase();
            match layout {
                Layout::Schwab => h == key,
                Layout::Generic => {
                    let h = h.replace([' ', '_'], "");
                    h == key || (key == "date" && h == "tradedate")
                }
            }
        })
    }
}

/// Every property of a successful parse of `text` that does not depend on how it was made.
fn check_parse(text: &str, parsed: &ParsedImport, base: Currency) {
    let starts = line_starts(text);
    let all = records(text, &starts);
    let mut nonblank = all.iter().filter(|r| !r.is_blank()).peekable();
    let is_title = |r: &Record| r.cells[0].trim_start().starts_with("Transactions ") && r.cells[1..].iter().all(|c| c.trim().is_empty());
    let title = nonblank.next_if(|r| is_title(r));
    let header = nonblank.next().expect("a parsed file has a header");
    let data: Vec<&Record> = nonblank.collect();
    let index = column_index(&header.cells, parsed.layout);
    let cell = |record: &Record, key: &str| index(key).and_then(|i| record.cells.get(i)).map(|c| c.trim().to_owned()).unwrap_or_default();
    let is_summary = |r: &Record| parsed.layout == Layout::Schwab && cell(r, "date").to_ascii_lowercase().starts_with("transactions total");

    // (b) Every data record is imported, skipped or in error, exactly one of them, at its line.
    let imported: Vec<usize> = parsed.rows.iter().map(|r| r.row).collect();
    let skipped: Vec<usize> = parsed.skipped.iter().map(|r| r.row).collect();
    let failed: BTreeSet<usize> = parsed.errors.iter().map(|e| e.row).collect();
    let (imported_set, skipped_set): (BTreeSet<usize>, BTreeSet<usize>) =
        (imported.iter().copied().collect(), skipped.iter().copied().collect());
    assert_eq!(imported_set.len(), imported.len(), "a row imported twice");
    assert_eq!(skipped_set.len(), skipped.len(), "a row skipped twice");
    assert!(
        imported_set.is_disjoint(&skipped_set) && imported_set.is_disjoint(&failed) && skipped_set.is_disjoint(&failed),
        "a row in two outcomes"
    );
    let rows: BTreeSet<usize> = data.iter().map(|r| r.row).collect();
    assert_eq!(rows.len(), data.len(), "two records on one line");
    let reported: BTreeSet<usize> = imported_set.union(&skipped_set).chain(&failed).copied().collect();
    assert!(reported.is_subset(&rows), "rows reported that are no record: {:?}", reported.difference(&rows).collect::<Vec<_>>());
    for record in &data {
        assert!(reported.contains(&record.row) || is_summary(record), "row {} was dropped silently: {:?}", record.row, record.cells);
        // A record over several lines: rows swallowed by a stray quote must never pass as one.
        if record.last_line > record.row {
            assert!(
                failed.contains(&record.row),
                "rows {}..={} were read as one and not refused: {:?}",
                record.row,
                record.last_line,
                record.cells
            );
        }
    }
    // (A total line refused for what it holds is an error like any row.)
    assert_eq!(
        imported.len() + skipped.len() + failed.len() + data.iter().filter(|r| is_summary(r) && !reported.contains(&r.row)).count(),
        data.len()
    );
    // Every line holding something lies in a record the parse accounted for.
    let mut holder = 0;
    for line in header.last_line + 1..=starts.len() {
        let content = &text[starts[line - 1]..starts.get(line).copied().unwrap_or(text.len())];
        while all.get(holder + 1).is_some_and(|r| r.row <= line) {
            holder += 1;
        }
        if content.chars().any(|c| !c.is_whitespace() && c != ',' && c != '"') {
            let record = &all[holder];
            assert!(
                record.row <= line && record.last_line >= line && !record.is_blank() && rows.contains(&record.row),
                "line {line} ({}) is in no row",
                excerpt(content)
            );
        }
    }
    let _ = title;

    // Errors and reasons name a row and a column, and stay short whatever the file holds.
    let usual: Vec<&str> = [
        TxField::TradeDate,
        TxField::Type,
        TxField::Symbol,
        TxField::Quantity,
        TxField::Price,
        TxField::Fees,
        TxField::Amount,
        TxField::Ratio,
        TxField::Currency,
    ]
    .into_iter()
    .map(|f| parsed.layout.column_name(f))
    .collect();
    for error in &parsed.errors {
        let shown = |h: &str| h.trim() == error.column || error.column.strip_suffix('…').is_some_and(|start| h.trim().starts_with(start));
        let named = header.cells.iter().any(|h| shown(h))
            || usual.contains(&error.column.as_str())
            || error.column.strip_prefix("column ").is_some_and(|n| n.parse::<usize>().is_ok());
        assert!(named, "{error:?} names no column");
        assert!(!error.reason.is_empty() && error.reason.len() <= 300, "{error:?}");
    }
    for skip in &parsed.skipped {
        assert!(!skip.reason.is_empty() && skip.reason.len() <= 300, "{skip:?}");
    }

    // (d) What is imported is within the documented bounds, and (exactness) is what its cells say.
    let limit = Decimal::from(1_000_000_000_000u64);
    let by_row: std::collections::HashMap<usize, &Record> = data.iter().map(|r| (r.row, *r)).collect();
    for row in &parsed.rows {
        let tx = &row.transaction;
        let t = project(tx);
        // A row without a currency is in the base; one that names a currency has rates for it.
        assert!(tx.trade_date <= today() && (tx.currency == base || Currency::SUPPORTED.contains(&tx.currency)), "{row:?}");
        assert_eq!(Symbol::parse_stored(tx.symbol.as_str()).as_ref(), Ok(&tx.symbol));
        for (i, value) in t.values.iter().enumerate() {
            let quantity = i == 0 && matches!(t.kind, "BUY" | "SELL");
            assert!(
                *value <= limit && value.normalize().scale() <= 8 && (*value > Decimal::ZERO || (!quantity && value.is_zero())),
                "{row:?}"
            );
        }
        if let Some((n, d)) = t.ratio {
            assert!((1..=1000).contains(&n) && (1..=1000).contains(&d), "{row:?}");
        }
        let record = by_row[&row.row];
        let keys: &[&str] = match (parsed.layout, t.kind) {
            (Layout::Generic, "BUY" | "SELL") => &["quantity", "price", "fees"],
            (Layout::Generic, "DIVIDEND" | "FEE") => &["amount"],
            (Layout::Schwab, "BUY" | "SELL") => &["quantity", "price", "fees & comm"],
            (Layout::Schwab, _) => &["amount"],
            _ => &[],
        };
        for (key, value) in keys.iter().zip(&t.values) {
            let written = cell(record, key);
            let read = if written.is_empty() && key.starts_with("fees") {
                Some("0".to_owned())
            } else if parsed.layout == Layout::Schwab {
                schwab_exact(&written).map(|(negative, magnitude)| {
                    // A dividend is a credit and a fee a debit; the other sign is not imported.
                    assert!(
                        value.is_zero() || !matches!((t.kind, negative), ("DIVIDEND", true) | ("FEE", false)),
                        "{key} {written:?} imported as {}",
                        t.kind
                    );
                    magnitude
                })
            } else {
                exact(&written)
            };
            assert_eq!(read.as_deref(), Some(value.normalize().to_string().as_str()), "row {}: {key} written {written:?}", row.row);
        }
        let written_date = match parsed.layout {
            Layout::Generic => cell(record, "date"),
            Layout::Schwab => {
                let date = cell(record, "date");
                let effective = date.rsplit(" as of ").next().unwrap().trim().to_owned();
                let parts: Vec<&str> = effective.split('/').collect();
                assert!(
                    parts.len() == 3 && parts[2].len() == 4 && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())),
                    "date {date:?}"
                );
                format!("{}-{:0>2}-{:0>2}", parts[2], parts[0], parts[1])
            }
        };
        assert_eq!(written_date, ymd(tx.trade_date), "row {}", row.row);
    }
    let fingerprints: BTreeSet<&str> = parsed.rows.iter().map(|r| r.fingerprint.as_str()).collect();
    assert_eq!(fingerprints.len(), parsed.rows.len(), "two rows share a fingerprint");
}

// ---- the properties ----

#[test]
fn valid_files_in_either_layout_give_back_exactly_their_transactions() {
    check("valid_files_in_either_layout_give_back_exactly_their_transactions", SEEDS, 1000, Duration::from_secs(3), |rng| {
        let schwab = rng.one_in(2);
        let base = if !schwab && rng.one_in(4) { eur() } else { Currency::USD };
        let txs = transactions(rng, if schwab { SCHWAB_KINDS } else { GENERIC_KINDS }, 40);
        let file = if schwab { schwab_file(rng, &txs) } else { generic_file(rng, &txs, base) };
        let (bytes, charset) = encode(rng, &file.text);
        let text = decode(&bytes, charset).unwrap_or_else(|e| panic!("{e}: {}", excerpt(&file.text)));
        assert_eq!(text, file.text);
        let parsed = parse(&text, today(), base).unwrap_or_else(|e| panic!("{e}: {}", excerpt(&text)));
        assert_eq!(parsed.layout, file.layout);
        assert!(parsed.errors.is_empty(), "{:?}\n{}", &parsed.errors[..parsed.errors.len().min(5)], excerpt(&text));
        assert_eq!(parsed.skipped.iter().map(|s| s.row).collect::<Vec<_>>(), file.skipped, "{}", excerpt(&text));
        let got: Vec<(usize, Tx)> = parsed.rows.iter().map(|r| (r.row, project(&r.transaction))).collect();
        assert_eq!(got, file.rows, "{}", excerpt(&text));
        check_parse(&text, &parsed, base);
        // The same transactions in the other layout are the same transactions: same fingerprints.
        if base == Currency::USD && txs.iter().all(|t| t.kind != "SPLIT") {
            let other = if schwab { generic_file(rng, &txs, base) } else { schwab_file(rng, &txs) };
            let again = parse(&other.text, today(), base).unwrap();
            assert!(again.errors.is_empty(), "{:?}\n{}", &again.errors[..again.errors.len().min(5)], excerpt(&other.text));
            let fingerprints = |p: &ParsedImport| p.rows.iter().map(|r| r.fingerprint.clone()).collect::<Vec<_>>();
            assert_eq!(fingerprints(&again), fingerprints(&parsed), "{}", excerpt(&other.text));
        }
    });
}

/// Text inserted by mutations: what breaks CSV, numbers and dates.
const JUNK: &[&str] = &[
    ",",
    "\"",
    "\"\"",
    "\n",
    "\r",
    "\r\n",
    ";",
    "\t",
    "\u{feff}",
    "\0",
    "é",
    "€",
    "💸",
    " ",
    "1e5",
    "1E-3",
    "-1",
    "-0",
    "0",
    "+5",
    "NaN",
    "inf",
    "1,5",
    "1_000",
    "١٢٣",
    "99999999999999999999999999999",
    "79228162514264337593543950336",
    "1000000000000.00000001",
    "1000000000001",
    "0.000000001",
    "1.00000000000000000000000000001",
    "0.0000000000000000000000000000001",
    "-0001-01-01",
    "+2026-01-02",
    "0000-01-01",
    "9999-12-31",
    "2026-02-30",
    "2027-01-01",
    "13/45/2026",
    "01/02/20266",
    "02/30/2026 as of",
    "$",
    "(",
    ")",
    "$-",
    "($1,23)",
    ",,,",
    "Transactions Total",
    "Transactions ",
    "Buy",
    "Sell Short",
    "SPLIT",
    "DIVIDEND",
    "1001:1",
    "0:1",
    "3:2:1",
    ":",
    "USD",
    "usd",
    "XXXX",
    "date",
    "type",
    "symbol",
    "Date,Action,Symbol,Description,Quantity,Price,Fees & Comm,Amount",
];

fn mutate(rng: &mut Rng, text: &mut Vec<u8>) {
    let at = |rng: &mut Rng, text: &Vec<u8>| rng.index(text.len() + 1);
    match rng.below(10) {
        0 => {
            let start = at(rng, text);
            let end = (start + 1 + rng.index(8)).min(text.len());
            text.drain(start..end);
        }
        1 | 2 => {
            let i = at(rng, text);
            let junk = *rng.pick(JUNK);
            text.splice(i..i, junk.bytes());
        }
        3 => {
            // A cell replaced.
            let commas: Vec<usize> = text.iter().enumerate().filter(|&(_, &b)| b == b',').map(|(i, _)| i + 1).collect();
            if let Some(&start) = (!commas.is_empty()).then(|| rng.pick(&commas)) {
                let end = text[start..].iter().position(|&b| matches!(b, b',' | b'\n' | b'\r')).map_or(text.len(), |p| start + p);
                let junk = *rng.pick(JUNK);
                text.splice(start..end, junk.bytes());
            }
        }
        4 => {
            let (from, to) = (*rng.pick(b",\"\n"), *rng.pick(b";\t|'\r"));
            text.iter_mut().filter(|b| **b == from).for_each(|b| *b = to);
        }
        5 => text.truncate(at(rng, text)),
        6 => {
            // A line duplicated, dropped or moved.
            let lines: Vec<Vec<u8>> = text.split_inclusive(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
            if !lines.is_empty() {
                let mut lines = lines;
                let (i, j) = (rng.index(lines.len()), rng.index(lines.len()));
                match rng.below(3) {
                    0 => lines.insert(j, lines[i].clone()),
                    1 => drop(lines.remove(i)),
                    _ => lines.swap(i, j),
                }
                *text = lines.concat();
            }
        }
        7 => {
            // A very long cell.
            let i = at(rng, text);
            let fill = *rng.pick(&["9", "x", " ", "\"", ",", "é", "0."]);
            text.splice(i..i, fill.repeat(1000 + rng.index(100_000) / fill.len()).bytes());
        }
        8 => {
            let i = at(rng, text);
            text.insert(i, rng.below(256) as u8);
        }
        _ => {
            let i = rng.index(text.len().max(1));
            if let Some(b) = text.get_mut(i) {
                *b ^= 1 << rng.below(8);
            }
        }
    }
}

/// Hostile input: bytes, CSV-ish text, or a valid file mutated; and a charset to declare.
fn hostile(rng: &mut Rng) -> (Vec<u8>, Option<&'static str>) {
    let charset = match rng.below(10) {
        0 => *rng.pick(&[Some("utf-16"), Some("shift_jis"), Some("")]),
        1 | 2 => *rng.pick(&[Some("latin1"), Some("windows-1252")]),
        _ => *rng.pick(&[None, Some("utf-8")]),
    };
    let bytes = match rng.below(8) {
        0 => (0..rng.size(400)).map(|_| rng.below(256) as u8).collect(),
        1 => {
            const PIECES: &[&str] = &[
                ",",
                ",",
                "\"",
                "\n",
                "\r\n",
                " ",
                "a",
                "1",
                ".",
                "-",
                "$",
                "é",
                "\u{feff}",
                "date",
                "type",
                "symbol",
                "BUY",
                "2026-01-02",
            ];
            let mut text: String = (0..rng.size(300)).map(|_| *rng.pick(PIECES)).collect();
            if rng.one_in(2) {
                text.insert_str(0, "date,type,symbol,quantity,price,fees,amount,ratio,currency\n");
            }
            text.into_bytes()
        }
        2 => {
            // Rows of junk cells under a valid header.
            let header = if rng.one_in(2) {
                SCHWAB_HEADER.join(",")
            } else {
                "date,type,symbol,quantity,price,fees,amount,ratio,currency".to_owned()
            };
            let rows: Vec<String> =
                (0..rng.size(30)).map(|_| (0..rng.size(12)).map(|_| *rng.pick(JUNK)).collect::<Vec<_>>().join(",")).collect();
            format!("{header}\n{}", rows.join("\n")).into_bytes()
        }
        3 if rng.one_in(50) => {
            // Around the row limit (rare: a case of its own costs as much as a hundred others).
            let mut text = String::from("date,type,symbol,amount\n");
            for _ in 0..MAX_ROWS - 2 + rng.index(5) {
                text.push_str(if rng.one_in(1000) { "x,FEE,A,1\n" } else { "2026-01-02,FEE,A,1\n" });
            }
            text.into_bytes()
        }
        _ => {
            let schwab = rng.one_in(2);
            let txs = transactions(rng, if schwab { SCHWAB_KINDS } else { GENERIC_KINDS }, 20);
            let file = if schwab { schwab_file(rng, &txs) } else { generic_file(rng, &txs, Currency::USD) };
            let mut bytes = file.text.into_bytes();
            for _ in 0..1 + rng.size(4) {
                mutate(rng, &mut bytes);
            }
            bytes
        }
    };
    (bytes, charset)
}

#[test]
fn no_input_panics_and_every_row_is_accounted_for_within_bounds() {
    check("no_input_panics_and_every_row_is_accounted_for_within_bounds", SEEDS, 3000, Duration::from_secs(3), |rng| {
        let (bytes, charset) = hostile(rng);
        let base = if rng.one_in(5) { eur() } else { Currency::USD };
        let text = match decode(&bytes, charset) {
            Ok(text) => text,
            Err(rejection) => return assert!(!rejection.to_string().is_empty()),
        };
        match parse(&text, today(), base) {
            Ok(parsed) => check_parse(&text, &parsed, base),
            // (The header of an unknown layout is shown escaped: up to 200 characters, 6 bytes each.)
            Err(rejection) => assert!(rejection.to_string().len() < 2000, "{}", excerpt(&rejection.to_string())),
        }
    });
}

#[test]
fn the_largest_files_parse_whole_and_one_row_more_is_refused() {
    let mut rng = Rng::new(super::property::env_seed().unwrap_or(SEEDS[0]));
    let txs: Vec<Tx> = (0..MAX_ROWS).map(|_| transaction(&mut rng, GENERIC_KINDS)).collect();
    let file = generic_file(&mut rng, &txs, Currency::USD);
    let parsed = parse(&file.text, today(), Currency::USD).unwrap();
    assert!(parsed.errors.is_empty(), "{:?}", &parsed.errors[..parsed.errors.len().min(5)]);
    assert_eq!(parsed.rows.iter().map(|r| (r.row, project(&r.transaction))).collect::<Vec<_>>(), file.rows);
    check_parse(&file.text, &parsed, Currency::USD);
    // One row more (whatever columns the header has, a row of too few cells is still a row).
    let longer = format!("{}2026-01-02,FEE,A,1\n", file.text);
    assert!(matches!(parse(&longer, today(), Currency::USD), Err(FileRejection::TooManyRows { rows }) if rows == MAX_ROWS + 1));
}
