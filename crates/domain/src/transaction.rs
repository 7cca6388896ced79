//! A transaction as a person enters it (a JSON body or a CSV row), parsed into a [`Trade`] by one
//! parser, so every input path accepts and refuses exactly the same things.

use crate::ids::TransactionId;
use crate::lots::LotPick;
use crate::money::{Amount, Currency, Quantity};
use crate::portfolio::Trade;
use crate::symbol::Symbol;
use crate::text::parse_date;
use rust_decimal::Decimal;
use time::Date;

/// The fields of a transaction, named so each input can say where an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxField {
    Type,
    Symbol,
    TradeDate,
    Quantity,
    Price,
    Fees,
    Amount,
    Ratio,
    Currency,
    /// A SELL's named lots (specific identification).
    Lots,
}

impl TxField {
    /// The field's name in JSON bodies and in the generic CSV header.
    pub fn name(self) -> &'static str {
        match self {
            TxField::Type => "type",
            TxField::Symbol => "symbol",
            TxField::TradeDate => "trade_date",
            TxField::Quantity => "quantity",
            TxField::Price => "price",
            TxField::Fees => "fees",
            TxField::Amount => "amount",
            TxField::Ratio => "ratio",
            TxField::Currency => "currency",
            TxField::Lots => "lots",
        }
    }
}

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxFieldError {
    pub field: TxField,
    /// Where inside the field, for a list's member: `[1].quantity`; empty otherwise.
    pub at: String,
    pub reason: String,
}

impl TxFieldError {
    pub fn new(field: TxField, reason: impl Into<String>) -> Self {
        TxFieldError { field, at: String::new(), reason: reason.into() }
    }

    /// The error of member `index`'s `member` of a list field.
    pub fn member(field: TxField, index: usize, member: &str, reason: impl Into<String>) -> Self {
        TxFieldError { field, at: format!("[{index}].{member}"), reason: reason.into() }
    }

    /// The field's name and where inside it: `lots[1].quantity`.
    pub fn path(&self) -> String {
        format!("{}{}", self.field.name(), self.at)
    }
}

/// A lot a SELL names: the id of the BUY that opened it and how many of its shares (in shares of
/// the sale's day) the sale takes.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLotPick {
    pub lot_id: String,
    pub quantity: String,
}

/// Most lots one SELL may name.
pub const MAX_LOT_PICKS: usize = 100;

/// A transaction as entered — also the JSON body of `POST …/transactions` — as text, so no binary
/// floating point ever touches an amount.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTransaction {
    #[serde(rename = "type")]
    pub kind: String,
    /// A ticker; absent or empty for the cash kinds (DEPOSIT, WITHDRAWAL, INTEREST), whose
    /// `currency` says which cash they move.
    #[serde(default)]
    pub symbol: String,
    pub trade_date: String,
    pub quantity: Option<String>,
    pub price: Option<String>,
    pub fees: Option<String>,
    pub amount: Option<String>,
    /// For SPLIT: `new:old`, e.g. `2:1`.
    pub ratio: Option<String>,
    pub currency: Option<String>,
    /// For a SELL under specific identification: the lots it sells, whose quantities add up to
    /// the quantity sold. The JSON API only (a CSV row names none).
    #[serde(default)]
    pub lots: Vec<RawLotPick>,
}

/// A valid transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedTransaction {
    /// The ledger it belongs to: the ticker, or for a cash kind the cash ledger of its currency
    /// ([`Symbol::cash`]).
    pub symbol: Symbol,
    pub trade_date: Date,
    pub trade: Trade,
    pub currency: Currency,
    /// A SELL's named lots (checked: distinct, positive, adding up to the quantity sold).
    pub lots: Vec<LotPick>,
}

/// The kinds that move cash rather than a position: no symbol, an amount in `currency`.
pub const CASH_KINDS: [&str; 3] = ["DEPOSIT", "WITHDRAWAL", "INTEREST"];

/// The trimmed text of an optional field; blank counts as absent.
fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn required(field: TxField, value: &Option<String>) -> Result<&str, TxFieldError> {
    present(value).ok_or_else(|| TxFieldError::new(field, "is required for this type"))
}

/// `new:old`, two whole numbers from 1 to 1000.
fn parse_ratio(raw: &str) -> Option<(u32, u32)> {
    let (a, b) = raw.split_once(':')?;
    let (a, b) = (a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?);
    ((1..=1000).contains(&a) && (1..=1000).contains(&b)).then_some((a, b))
}

impl RawTransaction {
    /// The same transaction, in `currency` unless it names one (a transaction without a currency
    /// is in the portfolio's base currency, on every input path).
    pub fn in_currency_by_default(self, currency: Currency) -> RawTransaction {
        match present(&self.currency) {
            Some(_) => self,
            None => RawTransaction { currency: Some(currency.to_string()), ..self },
        }
    }

    /// Every error at once (a person fixes a row in one go), or the transaction. Trade dates after
    /// `today` are refused.
    pub fn parse(&self, today: Date) -> Result<ParsedTransaction, Vec<TxFieldError>> {
        let mut errors = Vec::new();
        let mut check = |field: TxField, result: Result<(), String>| {
            if let Err(reason) = result {
                errors.push(TxFieldError::new(field, reason));
            }
        };
        let kind = self.kind.trim().to_ascii_uppercase();
        let cash = CASH_KINDS.contains(&kind.as_str());
        let trade_date = parse_date(&self.trade_date)
            .map_err(|e| e.to_string())
            .and_then(|d| if d > today { Err("must not be in the future".to_owned()) } else { Ok(d) });
        let currency = match self.currency.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            None => Ok(Currency::USD),
            Some(c) => Currency::parse_supported(c).map_err(|e| e.to_string()),
        };
        let symbol = match (cash, self.symbol.trim().is_empty()) {
            (false, _) => Symbol::parse(&self.symbol).map_err(|e| e.to_string()),
            (true, true) => currency.clone().map(Symbol::cash).map_err(|_| "needs a valid currency".to_owned()),
            (true, false) => Err(format!("a {kind} moves cash and has no symbol: leave it empty and give the currency")),
        };
        // A cash kind's ledger is its currency's: a bad currency is one error, not two.
        if !(cash && currency.is_err()) {
            check(TxField::Symbol, symbol.as_ref().map(|_| ()).map_err(Clone::clone));
        }
        check(TxField::TradeDate, trade_date.as_ref().map(|_| ()).map_err(Clone::clone));
        check(TxField::Currency, currency.as_ref().map(|_| ()).map_err(Clone::clone));

        let quantity = |errors: &mut Vec<TxFieldError>| {
            required(TxField::Quantity, &self.quantity)
                .and_then(|q| Quantity::parse(q).map_err(|e| TxFieldError::new(TxField::Quantity, e.to_string())))
                .map_err(|e| errors.push(e))
                .ok()
        };
        let amount = |field: TxField, value: &Option<String>, errors: &mut Vec<TxFieldError>| {
            required(field, value)
                .and_then(|a| Amount::parse(a).map_err(|e| TxFieldError::new(field, e.to_string())))
                .map_err(|e| errors.push(e))
                .ok()
        };
        let fees = match present(&self.fees) {
            None => Some(Amount::ZERO),
            Some(f) => Amount::parse(f).map_err(|e| errors.push(TxFieldError::new(TxField::Fees, e.to_string()))).ok(),
        };
        let trade = match kind.as_str() {
            "BUY" | "SELL" => {
                let (quantity, price) = (quantity(&mut errors), amount(TxField::Price, &self.price, &mut errors));
                match (quantity, price, fees) {
                    (Some(quantity), Some(price), Some(fees)) if kind == "BUY" => Some(Trade::Buy { quantity, price, fees }),
                    (Some(quantity), Some(price), Some(fees)) => Some(Trade::Sell { quantity, price, fees }),
                    _ => None,
                }
            }
            "DIVIDEND" | "FEE" | "DEPOSIT" | "WITHDRAWAL" | "INTEREST" => {
                // Fees of a dividend or a fee would be counted nowhere: refuse rather than drop them.
                if fees.is_some_and(|f| f != Amount::ZERO) {
                    errors.push(TxFieldError::new(TxField::Fees, "only BUY and SELL carry fees; record a separate FEE"));
                }
                amount(TxField::Amount, &self.amount, &mut errors).map(|amount| match kind.as_str() {
                    "DIVIDEND" => Trade::Dividend { amount },
                    "FEE" => Trade::Fee { amount },
                    "DEPOSIT" => Trade::Deposit { amount },
                    "WITHDRAWAL" => Trade::Withdrawal { amount },
                    _ => Trade::Interest { amount },
                })
            }
            "SPLIT" => match present(&self.ratio) {
                None => {
                    errors.push(TxFieldError::new(TxField::Ratio, "is required for this type"));
                    None
                }
                Some(raw) => match parse_ratio(raw) {
                    Some((numerator, denominator)) => Some(Trade::Split { numerator, denominator }),
                    None => {
                        errors.push(TxFieldError::new(TxField::Ratio, "two whole numbers from 1 to 1000 as new:old, e.g. 2:1"));
                        None
                    }
                },
            },
            _ => {
                errors.push(TxFieldError::new(TxField::Type, "one of BUY, SELL, DIVIDEND, FEE, SPLIT, DEPOSIT, WITHDRAWAL, INTEREST"));
                None
            }
        };
        let lots = self.parse_lots(trade.as_ref(), &mut errors);
        match (symbol, trade_date, currency, trade) {
            (Ok(symbol), Ok(trade_date), Ok(currency), Some(trade)) if errors.is_empty() => {
                Ok(ParsedTransaction { symbol, trade_date, trade, currency, lots })
            }
            _ => Err(errors),
        }
    }

    /// The named lots: only a SELL names any; each a transaction id and a positive quantity, no
    /// lot twice, adding up to the quantity sold. Whether each is an open lot of the holding is
    /// the ledger's question (`lots::tax_lots`).
    fn parse_lots(&self, trade: Option<&Trade>, errors: &mut Vec<TxFieldError>) -> Vec<LotPick> {
        if self.lots.is_empty() {
            return Vec::new();
        }
        let sold = match trade {
            Some(Trade::Sell { quantity, .. }) => quantity.value(),
            Some(_) => {
                errors.push(TxFieldError::new(TxField::Lots, "only a SELL names lots"));
                return Vec::new();
            }
            None => return Vec::new(),
        };
        if self.lots.len() > MAX_LOT_PICKS {
            errors.push(TxFieldError::new(TxField::Lots, format!("at most {MAX_LOT_PICKS} lots")));
            return Vec::new();
        }
        let mut picks: Vec<LotPick> = Vec::with_capacity(self.lots.len());
        for (i, raw) in self.lots.iter().enumerate() {
            let lot = TransactionId::parse(raw.lot_id.trim())
                .map_err(|_| "must be the id of a BUY of this holding".to_owned())
                .and_then(|lot| if picks.iter().any(|p| p.lot == lot) { Err("names a lot already named".to_owned()) } else { Ok(lot) });
            let quantity = Quantity::parse(raw.quantity.trim()).map_err(|e| e.to_string());
            match (lot, quantity) {
                (Ok(lot), Ok(quantity)) => picks.push(LotPick { lot, quantity: quantity.value() }),
                (lot, quantity) => {
                    if let Err(reason) = lot {
                        errors.push(TxFieldError::member(TxField::Lots, i, "lot_id", reason));
                    }
                    if let Err(reason) = quantity {
                        errors.push(TxFieldError::member(TxField::Lots, i, "quantity", reason));
                    }
                }
            }
        }
        let named: Decimal = picks.iter().map(|p| p.quantity).sum();
        if picks.len() == self.lots.len() && named != sold {
            errors.push(TxFieldError::new(
                TxField::Lots,
                format!("the lots name {} shares; the sale sells {}", named.normalize(), sold.normalize()),
            ));
        }
        picks
    }
}

impl ParsedTransaction {
    pub fn kind(&self) -> &'static str {
        self.trade.kind()
    }

    /// A canonical text of everything that makes this transaction what it is: equal transactions
    /// have equal texts however they were written (`1.50` and `1.5`, `brk.b` and `BRK.B`).
    pub fn canonical(&self) -> String {
        let terms: Vec<String> = self.trade.terms().into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{}|{}|kind={}|{}|currency={}", self.trade_date, self.symbol, self.kind(), terms.join("|"), self.currency)
    }
}

/// One term of a trade as text: the name it is stored and shown under, and its value (decimals
/// normalised, so `1.50` is `1.5`; a ratio is `new:old`).
pub type Term = (&'static str, String);

impl Trade {
    /// `BUY`, `SELL`, `DIVIDEND`, `FEE`, `SPLIT`, `DEPOSIT`, `WITHDRAWAL` or `INTEREST`.
    pub fn kind(&self) -> &'static str {
        match self {
            Trade::Buy { .. } => "BUY",
            Trade::Sell { .. } => "SELL",
            Trade::Dividend { .. } => "DIVIDEND",
            Trade::Fee { .. } => "FEE",
            Trade::Split { .. } => "SPLIT",
            Trade::Deposit { .. } => "DEPOSIT",
            Trade::Withdrawal { .. } => "WITHDRAWAL",
            Trade::Interest { .. } => "INTEREST",
        }
    }

    /// The trade's terms besides its kind, in a fixed order.
    pub fn terms(&self) -> Vec<Term> {
        let text = |d: rust_decimal::Decimal| d.normalize().to_string();
        match self {
            Trade::Buy { quantity, price, fees } | Trade::Sell { quantity, price, fees } => {
                vec![("quantity", text(quantity.value())), ("price", text(price.value())), ("fees", text(fees.value()))]
            }
            Trade::Dividend { amount }
            | Trade::Fee { amount }
            | Trade::Deposit { amount }
            | Trade::Withdrawal { amount }
            | Trade::Interest { amount } => vec![("amount", text(amount.value()))],
            Trade::Split { numerator, denominator } => vec![("ratio", format!("{numerator}:{denominator}"))],
        }
    }

    /// The trade of `kind` whose terms `term` looks up by name (as [`Trade::terms`] wrote them);
    /// `None` if they do not make one. For stored trades: input goes through
    /// [`RawTransaction::parse`], which says what is wrong.
    pub fn from_terms<'a>(kind: &str, term: impl Fn(&str) -> Option<&'a str>) -> Option<Trade> {
        let fees = term("fees").map(Amount::parse).transpose().ok()?.unwrap_or(Amount::ZERO);
        Some(match kind {
            "BUY" => Trade::Buy { quantity: Quantity::parse(term("quantity")?).ok()?, price: Amount::parse(term("price")?).ok()?, fees },
            "SELL" => Trade::Sell { quantity: Quantity::parse(term("quantity")?).ok()?, price: Amount::parse(term("price")?).ok()?, fees },
            "DIVIDEND" => Trade::Dividend { amount: Amount::parse(term("amount")?).ok()? },
            "FEE" => Trade::Fee { amount: Amount::parse(term("amount")?).ok()? },
            "DEPOSIT" => Trade::Deposit { amount: Amount::parse(term("amount")?).ok()? },
            "WITHDRAWAL" => Trade::Withdrawal { amount: Amount::parse(term("amount")?).ok()? },
            "INTEREST" => Trade::Interest { amount: Amount::parse(term("amount")?).ok()? },
            "SPLIT" => {
                let (numerator, denominator) = parse_ratio(term("ratio")?)?;
                Trade::Split { numerator, denominator }
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        parse_date("2026-06-30").unwrap()
    }

    fn raw(kind: &str) -> RawTransaction {
        RawTransaction { kind: kind.into(), symbol: "aapl".into(), trade_date: "2026-01-15".into(), ..Default::default() }
    }

    #[test]
    fn a_buy_parses_and_round_trips_through_its_stored_terms() {
        let tx = RawTransaction { quantity: Some("10".into()), price: Some("1.50".into()), fees: Some("0.99".into()), ..raw("buy") }
            .parse(today())
            .unwrap();
        assert_eq!(tx.symbol.as_str(), "AAPL");
        assert_eq!(tx.kind(), "BUY");
        let terms = tx.trade.terms();
        assert_eq!(Trade::from_terms("BUY", |name| terms.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())), Some(tx.trade));
        assert_eq!(tx.canonical(), "2026-01-15|AAPL|kind=BUY|quantity=10|price=1.5|fees=0.99|currency=USD");
    }

    #[test]
    fn every_error_is_reported_at_once_with_its_field() {
        let errors =
            RawTransaction { symbol: "no good!".into(), trade_date: "2026-13-01".into(), quantity: Some("-1".into()), ..raw("SELL") }
                .parse(today())
                .unwrap_err();
        let fields: Vec<TxField> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, [TxField::Symbol, TxField::TradeDate, TxField::Quantity, TxField::Price]);
    }

    #[test]
    fn future_dates_unknown_types_and_fees_on_dividends_are_refused() {
        let future =
            RawTransaction { trade_date: "2026-07-01".into(), amount: Some("1".into()), ..raw("DIVIDEND") }.parse(today()).unwrap_err();
        assert_eq!(future[0].field, TxField::TradeDate);
        assert_eq!(raw("SHORT").parse(today()).unwrap_err()[0].field, TxField::Type);
        let fees = RawTransaction { amount: Some("1".into()), fees: Some("0.5".into()), ..raw("DIVIDEND") }.parse(today()).unwrap_err();
        assert_eq!(fees[0].field, TxField::Fees);
    }

    #[test]
    fn a_sale_names_distinct_positive_lots_adding_up_to_what_it_sells() {
        let pick = |lot: &str, q: &str| RawLotPick { lot_id: lot.into(), quantity: q.into() };
        let sale = |lots: Vec<RawLotPick>| RawTransaction { quantity: Some("10".into()), price: Some("5".into()), lots, ..raw("SELL") };
        let (a, b) = ("2026-01-02-00000000000000aa", "2026-01-03-00000000000000bb");
        let ok = sale(vec![pick(a, "4"), pick(b, "6.0")]).parse(today()).unwrap();
        assert_eq!(
            ok.lots.iter().map(|p| (p.lot.as_str(), p.quantity)).collect::<Vec<_>>(),
            [(a, Decimal::from(4)), (b, Decimal::from(6))]
        );
        let paths = |r: RawTransaction| r.parse(today()).unwrap_err().iter().map(TxFieldError::path).collect::<Vec<_>>();
        assert_eq!(paths(sale(vec![pick("nope", "4"), pick(b, "-1")])), ["lots[0].lot_id", "lots[1].quantity"]);
        assert_eq!(paths(sale(vec![pick(a, "4"), pick(a, "6")])), ["lots[1].lot_id"]);
        assert_eq!(paths(sale(vec![pick(a, "4"), pick(b, "5")])), ["lots"]);
        let buy = RawTransaction { quantity: Some("10".into()), price: Some("5".into()), lots: vec![pick(a, "10")], ..raw("BUY") };
        assert_eq!(paths(buy), ["lots"]);
        assert!(sale(vec![]).parse(today()).unwrap().lots.is_empty());
    }

    #[test]
    fn splits_need_a_sane_ratio() {
        let ok = RawTransaction { ratio: Some(" 3 : 2 ".into()), ..raw("SPLIT") }.parse(today()).unwrap();
        assert_eq!(ok.trade, Trade::Split { numerator: 3, denominator: 2 });
        for bad in ["0:1", "2", "1001:1", "a:b"] {
            let errors = RawTransaction { ratio: Some(bad.into()), ..raw("SPLIT") }.parse(today()).unwrap_err();
            assert_eq!(errors[0].field, TxField::Ratio, "{bad}");
        }
    }

    #[test]
    fn cash_kinds_have_no_symbol_and_belong_to_their_currency_s_cash_ledger() {
        let cash = |kind: &str, symbol: &str, currency: Option<&str>| RawTransaction {
            kind: kind.into(),
            symbol: symbol.into(),
            trade_date: "2026-01-15".into(),
            amount: Some("250.5".into()),
            currency: currency.map(Into::into),
            ..Default::default()
        };
        let deposit = cash("deposit", "", Some("eur")).parse(today()).unwrap();
        assert_eq!(
            (deposit.symbol.cash_currency(), deposit.trade),
            (Some(Currency::EUR), Trade::Deposit { amount: Amount::parse("250.5").unwrap() })
        );
        assert_eq!(deposit.canonical(), "2026-01-15|$EUR|kind=DEPOSIT|amount=250.5|currency=EUR");
        let withdrawal = cash("WITHDRAWAL", "  ", None).parse(today()).unwrap();
        assert_eq!((withdrawal.symbol.as_str(), withdrawal.kind()), ("$USD", "WITHDRAWAL"));
        assert_eq!(cash("INTEREST", "", None).parse(today()).unwrap().trade.kind(), "INTEREST");
        // A symbol on a cash kind, a currency without rates, a missing amount: each names its field.
        assert_eq!(cash("DEPOSIT", "AAPL", None).parse(today()).unwrap_err()[0].field, TxField::Symbol);
        let fields = |errors: Vec<TxFieldError>| errors.iter().map(|e| e.field).collect::<Vec<_>>();
        assert_eq!(fields(cash("DEPOSIT", "", Some("XAU")).parse(today()).unwrap_err()), [TxField::Currency]);
        let no_amount = RawTransaction { amount: None, ..cash("WITHDRAWAL", "", None) };
        assert_eq!(fields(no_amount.parse(today()).unwrap_err()), [TxField::Amount]);
        // A BUY still needs its symbol.
        let buy = RawTransaction { kind: "BUY".into(), quantity: Some("1".into()), price: Some("1".into()), ..cash("BUY", "", None) };
        assert_eq!(fields(buy.parse(today()).unwrap_err()), [TxField::Symbol]);
        // Stored terms round-trip.
        let terms = deposit.trade.terms();
        assert_eq!(Trade::from_terms("DEPOSIT", |n| terms.iter().find(|(k, _)| *k == n).map(|(_, v)| v.as_str())), Some(deposit.trade));
    }

    #[test]
    fn a_json_body_may_leave_out_the_symbol_of_a_cash_kind() {
        let body: RawTransaction =
            serde_json::from_str(r#"{"type": "DEPOSIT", "trade_date": "2026-01-15", "amount": "100", "currency": "GBP"}"#).unwrap();
        assert_eq!(body.parse(today()).unwrap().symbol.as_str(), "$GBP");
    }

    #[test]
    fn canonical_text_ignores_spelling_differences() {
        let a = RawTransaction { quantity: Some("2.50".into()), price: Some("100".into()), ..raw("buy") }.parse(today()).unwrap();
        let b = RawTransaction {
            symbol: " AAPL ".into(),
            quantity: Some("2.5".into()),
            price: Some("100.000".into()),
            fees: Some("0".into()),
            currency: Some("usd".into()),
            ..raw("BUY")
        }
        .parse(today())
        .unwrap();
        assert_eq!(a.canonical(), b.canonical());
    }
}
