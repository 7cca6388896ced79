//! The stock universe from the bundled S&P 500 reference data (`data/`).
//!
//! The two files are snapshots of different dates: a symbol may be in one only. Every symbol of
//! either file is kept, and what is not known stays `None` (a sector of `None` is shown as
//! unknown); a missing number is missing, never zero.

use crate::symbol::Symbol;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UniverseError {
    #[error("{file} row {row}: {reason}")]
    Row { file: &'static str, row: usize, reason: String },
    #[error("{file}: {reason}")]
    File { file: &'static str, reason: String },
}

/// One stock of the universe as the reference data knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct StockRecord {
    pub symbol: Symbol,
    pub name: String,
    /// GICS sector (from the constituents file only).
    pub sector: Option<String>,
    pub sub_industry: Option<String>,
    pub headquarters: Option<String>,
    pub price: Option<Decimal>,
    pub price_to_earnings: Option<Decimal>,
    /// A fraction: 0.0175 is 1.75 %.
    pub dividend_yield: Option<Decimal>,
    pub earnings_per_share: Option<Decimal>,
    pub week52_low: Option<Decimal>,
    pub week52_high: Option<Decimal>,
    /// USD.
    pub market_cap: Option<Decimal>,
    pub ebitda: Option<Decimal>,
    pub price_to_sales: Option<Decimal>,
    pub price_to_book: Option<Decimal>,
    pub in_constituents: bool,
    pub in_financials: bool,
}

impl StockRecord {
    pub(crate) fn new(symbol: Symbol, name: String) -> Self {
        StockRecord {
            symbol,
            name,
            sector: None,
            sub_industry: None,
            headquarters: None,
            price: None,
            price_to_earnings: None,
            dividend_yield: None,
            earnings_per_share: None,
            week52_low: None,
            week52_high: None,
            market_cap: None,
            ebitda: None,
            price_to_sales: None,
            price_to_book: None,
            in_constituents: false,
            in_financials: false,
        }
    }

    /// Share (0–100) of the fields a screener uses that are known.
    pub fn data_quality(&self) -> u8 {
        let known = [
            self.sector.is_some(),
            self.sub_industry.is_some(),
            self.price.is_some(),
            self.price_to_earnings.is_some(),
            self.dividend_yield.is_some(),
            self.earnings_per_share.is_some(),
            self.week52_low.is_some(),
            self.week52_high.is_some(),
            self.market_cap.is_some(),
            self.ebitda.is_some(),
            self.price_to_sales.is_some(),
            self.price_to_book.is_some(),
        ];
        let count = known.iter().filter(|k| **k).count();
        (count * 100 / known.len()) as u8
    }
}

/// Joins the constituents and financials files on symbol; sorted by symbol.
pub fn load_universe(constituents_csv: &str, financials_csv: &str) -> Result<Vec<StockRecord>, UniverseError> {
    let mut stocks: BTreeMap<Symbol, StockRecord> = BTreeMap::new();

    const CONSTITUENTS: &str = "sp500-constituents.csv";
    let mut reader = csv::Reader::from_reader(constituents_csv.as_bytes());
    let headers =
        header_index(&mut reader, CONSTITUENTS, &["Symbol", "Security", "GICS Sector", "GICS Sub-Industry", "Headquarters Location"])?;
    for (i, row) in reader.records().enumerate() {
        let row_no = i + 2; // 1-based, after the header
        let row = row.map_err(|e| UniverseError::Row { file: CONSTITUENTS, row: row_no, reason: e.to_string() })?;
        let cell = |name: &str| text(row.get(headers[name]));
        let symbol = parse_symbol(cell("Symbol"), CONSTITUENTS, row_no)?;
        let record = stocks.entry(symbol.clone()).or_insert_with(|| StockRecord::new(symbol, String::new()));
        record.name = cell("Security").unwrap_or_default().to_owned();
        record.sector = cell("GICS Sector").map(str::to_owned);
        record.sub_industry = cell("GICS Sub-Industry").map(str::to_owned);
        record.headquarters = cell("Headquarters Location").map(str::to_owned);
        record.in_constituents = true;
    }

    const FINANCIALS: &str = "sp500-financials.csv";
    let mut reader = csv::Reader::from_reader(financials_csv.as_bytes());
    let columns = [
        "Symbol",
        "Name",
        "Sector",
        "Price",
        "Price/Earnings",
        "Dividend Yield",
        "Earnings/Share",
        "52 Week Low",
        "52 Week High",
        "Market Cap",
        "EBITDA",
        "Price/Sales",
        "Price/Book",
    ];
    let headers = header_index(&mut reader, FINANCIALS, &columns)?;
    for (i, row) in reader.records().enumerate() {
        let row_no = i + 2;
        let row = row.map_err(|e| UniverseError::Row { file: FINANCIALS, row: row_no, reason: e.to_string() })?;
        let cell = |name: &str| text(row.get(headers[name]));
        let number = |name: &str| -> Result<Option<Decimal>, UniverseError> {
            cell(name)
                .map(|v| {
                    Decimal::from_str(v).or_else(|_| Decimal::from_scientific(v)).map_err(|_| UniverseError::Row {
                        file: FINANCIALS,
                        row: row_no,
                        reason: format!("{name} is not a number: {v:?}"),
                    })
                })
                .transpose()
        };
        let symbol = parse_symbol(cell("Symbol"), FINANCIALS, row_no)?;
        let record = stocks.entry(symbol.clone()).or_insert_with(|| StockRecord::new(symbol, String::new()));
        if record.name.is_empty() {
            record.name = cell("Name").unwrap_or_default().to_owned();
        }
        // The financials file's "Sector" column holds the sub-industry; keep the constituents'
        // value when both exist (it is the GICS one).
        if record.sub_industry.is_none() {
            record.sub_industry = cell("Sector").map(str::to_owned);
        }
        record.price = number("Price")?;
        record.price_to_earnings = number("Price/Earnings")?;
        record.dividend_yield = number("Dividend Yield")?;
        record.earnings_per_share = number("Earnings/Share")?;
        record.week52_low = number("52 Week Low")?;
        record.week52_high = number("52 Week High")?;
        record.market_cap = number("Market Cap")?;
        record.ebitda = number("EBITDA")?;
        record.price_to_sales = number("Price/Sales")?;
        record.price_to_book = number("Price/Book")?;
        record.in_financials = true;
    }
    Ok(stocks.into_values().collect())
}

fn header_index(reader: &mut csv::Reader<&[u8]>, file: &'static str, required: &[&str]) -> Result<BTreeMap<String, usize>, UniverseError> {
    let headers = reader.headers().map_err(|e| UniverseError::File { file, reason: e.to_string() })?;
    let index: BTreeMap<String, usize> = headers.iter().enumerate().map(|(i, h)| (h.trim().to_owned(), i)).collect();
    for name in required {
        if !index.contains_key(*name) {
            return Err(UniverseError::File { file, reason: format!("missing column {name:?}") });
        }
    }
    Ok(index)
}

fn text(cell: Option<&str>) -> Option<&str> {
    cell.map(str::trim).filter(|v| !v.is_empty())
}

fn parse_symbol(cell: Option<&str>, file: &'static str, row: usize) -> Result<Symbol, UniverseError> {
    let raw = cell.ok_or(UniverseError::Row { file, row, reason: "no symbol".into() })?;
    Symbol::parse(raw).map_err(|e| UniverseError::Row { file, row, reason: format!("symbol {raw:?}: {e}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONSTITUENTS: &str = include_str!("../../../data/sp500-constituents.csv");
    const FINANCIALS: &str = include_str!("../../../data/sp500-financials.csv");

    #[test]
    fn the_bundled_data_loads_every_symbol_of_either_file() {
        let universe = load_universe(CONSTITUENTS, FINANCIALS).unwrap();
        let both = universe.iter().filter(|s| s.in_constituents && s.in_financials).count();
        let only_constituents = universe.iter().filter(|s| s.in_constituents && !s.in_financials).count();
        let only_financials = universe.iter().filter(|s| !s.in_constituents && s.in_financials).count();
        // The data's README: 503 rows each, 465 in both, 38 of each file not in the other.
        assert_eq!((both, only_constituents, only_financials), (465, 38, 38));
        assert_eq!(universe.len(), 541);
        assert!(universe.iter().all(|s| !s.name.is_empty()));
    }

    #[test]
    fn missing_values_stay_missing_and_sectors_come_from_gics() {
        let universe = load_universe(CONSTITUENTS, FINANCIALS).unwrap();
        let mmm = universe.iter().find(|s| s.symbol.as_str() == "MMM").unwrap();
        assert_eq!(mmm.sector.as_deref(), Some("Industrials"));
        assert_eq!(mmm.price, Some(Decimal::from_str("178.96").unwrap()));
        assert_eq!(mmm.market_cap, Some(Decimal::from(92_293_693_440u64)));
        assert_eq!(mmm.dividend_yield, Some(Decimal::from_str("0.0175").unwrap()));
        assert_eq!(mmm.data_quality(), 100);
        let no_dividend = universe.iter().filter(|s| s.in_financials && s.dividend_yield.is_none()).count();
        assert!(no_dividend > 0 && universe.iter().all(|s| s.dividend_yield != Some(Decimal::ZERO) || s.in_financials));
        let financials_only = universe.iter().find(|s| !s.in_constituents).unwrap();
        assert_eq!(financials_only.sector, None);
        assert!(financials_only.data_quality() < 100);
    }

    #[test]
    fn bad_rows_are_reported_with_file_and_row() {
        let err = load_universe("Symbol,Security,GICS Sector,GICS Sub-Industry,Headquarters Location\nA B,x,,,\n", "").unwrap_err();
        assert!(matches!(err, UniverseError::Row { file: "sp500-constituents.csv", row: 2, .. }), "{err:?}");
        let err = load_universe("Symbol\n", "").unwrap_err();
        assert!(matches!(err, UniverseError::File { .. }));
    }
}
