//! Tax lots: the open lots of one holding and its realised disposals under FIFO, LIFO, specific
//! identification or average cost, each disposal short or long term, wash sales flagged for US
//! users, and the realised gains report per year. Exact decimals throughout.
//!
//! # Lots
//!
//! - A **lot** is the shares of one BUY; its id is that BUY's transaction id ([`LotId`]), which
//!   stays the lot's id through partial sales and splits. Its cost basis is `quantity × price +
//!   fees`.
//! - A **SELL** `q @ p` with fees `f` disposes of `q` shares from open lots, chosen by the
//!   [`LotMethod`]; its proceeds `q·p − f` are shared among the lots it draws on by quantity.
//! - **Cost leaving a lot** for part of it: `cost × taken / held`, to 8 places; the whole lot
//!   leaves with all of its cost, so cost in = cost disposed + cost held, to the last unit. Shares
//!   of proceeds and of a sale's cost under average cost are to 8 places too, the last share taking
//!   the remainder, so the rows of a sale add up to the sale exactly.
//! - A **SPLIT** `n:d` multiplies every open lot's quantity by `n/d` and leaves its cost basis (so
//!   its cost per share scales by `d/n`), its id and its acquisition date alone. Cash in lieu of
//!   fractional shares is not modelled.
//! - A **FEE** (a charge on the position) belongs to no lot: it is summed in [`LotBook::fees`].
//!   A **DIVIDEND** is income, not a disposal, and is ignored here.
//! - Trades come in trade order (the order holdings are derived in); a date earlier than the one
//!   before is refused. Quantities sold beyond what is open are refused, as by the holding.
//!
//! # Methods
//!
//! - **FIFO** sells the earliest-acquired lots first, **LIFO** the latest (order of the BUYs in
//!   the ledger).
//! - **Specific identification**: a SELL names the lots and quantities it sells
//!   ([`LedgerEntry::picks`]), which must add up to the quantity sold. A SELL that names none is
//!   FIFO, the US default for shares not adequately identified.
//! - **Average cost**: every share held costs the same, the pool's cost over its quantity — the
//!   holding's own method, so the realised gain is exactly the holding's. Which lots a sale draws
//!   on (for acquisition dates and so holding periods) is FIFO, as US rules deem for average-basis
//!   shares. Open lots are reported at the average cost.
//!
//! # Holding period
//!
//! US rule (IRS Publication 550): the holding period starts the day after acquisition and includes
//! the day of disposal; more than one year is **long term**. So a sale on the anniversary of the
//! purchase (same month and day a year later) is short term, and the day after long term. The
//! anniversary of a 29 February is 28 February. See [`holding_term`].
//!
//! # Wash sales (US, [`WashSaleRule::Us`])
//!
//! A sale at a loss is a wash sale when shares of the same holding are bought within 30 days
//! before or after it (a 61-day window, the sale day included). For each loss row the engine looks
//! for replacement shares among the BUYs in the window, earliest first, and disallows the loss in
//! proportion to the shares replaced: `loss × replaced / sold`. The disallowed loss is added to the
//! cost basis of the replacement lot (so it is deferred, not lost: when everything is eventually
//! sold, the reportable gains add up to the economic gain), and each replacement share serves one
//! wash sale only. Simplifications, documented so an accountant knows what to check:
//!
//! - one holding at a time: "substantially identical" securities (another share class, options,
//!   another account or a spouse's purchases) are not seen;
//! - the lots sold by the loss sale itself are never its replacement; a purchase in the window
//!   before the sale counts only for the shares of it still held;
//! - the replacement keeps its own acquisition date: the sold shares' holding period is not
//!   added to it (a later sale of it may show short term where the rule makes it long term);
//! - a lot whose shares only partly replace keeps one cost basis: the adjustment is shared by all
//!   its shares, so the total is right and the timing of its recognition may differ slightly.
//!
//! A disposal reports `gain = proceeds − cost basis` (a cost basis that includes losses deferred
//! onto it) and, for a wash sale, the disallowed loss; the reportable gain is their sum.

use crate::ids::TransactionId;
use crate::portfolio::Trade;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use time::{Date, Duration};

/// A lot is named by the transaction id of the BUY that opened it.
pub type LotId = TransactionId;

/// Decimal places of a share of cost or proceeds.
const PLACES: u32 = 8;

/// Which open lots a sale draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LotMethod {
    Fifo,
    Lifo,
    Specific,
    AverageCost,
}

impl LotMethod {
    pub const ALL: [LotMethod; 4] = [LotMethod::Fifo, LotMethod::Lifo, LotMethod::Specific, LotMethod::AverageCost];

    /// `FIFO`, `LIFO`, `SPECIFIC` or `AVERAGE`.
    pub fn code(self) -> &'static str {
        match self {
            LotMethod::Fifo => "FIFO",
            LotMethod::Lifo => "LIFO",
            LotMethod::Specific => "SPECIFIC",
            LotMethod::AverageCost => "AVERAGE",
        }
    }

    /// A method by its code, in any case.
    pub fn parse(code: &str) -> Option<LotMethod> {
        let code = code.trim();
        LotMethod::ALL.into_iter().find(|m| m.code().eq_ignore_ascii_case(code))
    }
}

/// Whether wash sales are looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WashSaleRule {
    Off,
    /// The US rule, with the simplifications in the module's documentation.
    Us,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LotRules {
    pub method: LotMethod,
    pub wash_sales: WashSaleRule,
}

/// A quantity of one lot: what a SELL names under specific identification, and what replaced a
/// wash sale's shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotPick {
    pub lot: LotId,
    pub quantity: Decimal,
}

/// Picks as text, `<lot id>:<quantity>` joined by `;` (how a SELL's picks are stored and exported).
pub fn picks_text(picks: &[LotPick]) -> String {
    picks.iter().map(|p| format!("{}:{}", p.lot, p.quantity.normalize())).collect::<Vec<_>>().join(";")
}

/// The picks [`picks_text`] wrote; `None` for anything else (each quantity positive).
pub fn parse_picks(text: &str) -> Option<Vec<LotPick>> {
    text.split(';')
        .map(|pick| {
            let (lot, quantity) = pick.split_once(':')?;
            let quantity: Decimal = quantity.parse().ok()?;
            (quantity > Decimal::ZERO).then_some(LotPick { lot: LotId::parse(lot).ok()?, quantity })
        })
        .collect()
}

/// One transaction of a holding's ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub id: TransactionId,
    pub date: Date,
    pub trade: Trade,
    /// For a SELL under [`LotMethod::Specific`]: the lots it sells (empty: FIFO). Ignored
    /// otherwise.
    pub picks: Vec<LotPick>,
}

/// A lot still (partly) held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenLot {
    pub id: LotId,
    pub acquired: Date,
    /// After splits.
    pub quantity: Decimal,
    /// Of the shares still held, fees and deferred wash-sale losses included.
    pub cost_basis: Decimal,
    /// The part of `cost_basis` that is losses disallowed by wash sales.
    pub wash_adjustment: Decimal,
}

impl OpenLot {
    /// Cost per share, to 8 places.
    pub fn unit_cost(&self) -> Decimal {
        (self.cost_basis / self.quantity).round_dp(PLACES).normalize()
    }
}

/// Short or long term (see [`holding_term`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HoldingTerm {
    Short,
    Long,
}

/// Long term when `disposed` is after the anniversary of `acquired` (the same month and day a year
/// later; 29 February's is 28 February): the holding period starts the day after acquisition,
/// includes the day of disposal, and must be more than one year.
pub fn holding_term(acquired: Date, disposed: Date) -> HoldingTerm {
    let year = acquired.year() + 1;
    let day = acquired.day().min(acquired.month().length(year));
    match Date::from_calendar_date(year, acquired.month(), day) {
        Ok(anniversary) if disposed > anniversary => HoldingTerm::Long,
        _ => HoldingTerm::Short,
    }
}

/// The loss of a disposal disallowed by the wash-sale rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WashSale {
    /// A positive amount: the part of the loss not deductible now, added to the replacements'
    /// cost basis.
    pub disallowed_loss: Decimal,
    /// The replacement lots and how many of the sold shares (in shares of the sale's day) each
    /// replaced.
    pub replacements: Vec<LotPick>,
}

/// Shares of one lot disposed of by one sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disposal {
    /// The SELL's transaction id.
    pub sale: TransactionId,
    pub lot: LotId,
    pub acquired: Date,
    pub disposed: Date,
    pub quantity: Decimal,
    /// This row's share of the sale's `q·p − fees`.
    pub proceeds: Decimal,
    pub cost_basis: Decimal,
    /// `proceeds − cost_basis`.
    pub gain: Decimal,
    pub term: HoldingTerm,
    pub wash_sale: Option<WashSale>,
}

impl Disposal {
    /// The gain as reported: `gain` plus any loss the wash-sale rule disallows.
    pub fn reportable_gain(&self) -> Decimal {
        self.gain + self.wash_sale.as_ref().map_or(Decimal::ZERO, |w| w.disallowed_loss)
    }
}

/// A holding's lots after its whole ledger.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LotBook {
    /// In acquisition order.
    pub open: Vec<OpenLot>,
    /// In sale order, each sale's rows in the order its lots were drawn on.
    pub disposals: Vec<Disposal>,
    /// FEE transactions: charges on the position that belong to no lot.
    pub fees: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LotError {
    #[error("transaction {0} is dated before the one before it: trades must come in trade order")]
    OutOfOrder(TransactionId),
    #[error("sale {sale} sells {wanted} shares: {held} held")]
    InsufficientQuantity { sale: TransactionId, wanted: Decimal, held: Decimal },
    #[error("sale {sale} names lot {lot}, which is not open")]
    UnknownLot { sale: TransactionId, lot: LotId },
    #[error("sale {sale} takes {wanted} shares of lot {lot}, which holds {held}")]
    LotOverdrawn { sale: TransactionId, lot: LotId, wanted: Decimal, held: Decimal },
    #[error("sale {sale} names {quantity} shares of lot {lot}: a quantity must be positive")]
    EmptyPick { sale: TransactionId, lot: LotId, quantity: Decimal },
    #[error("sale {sale} names lots for {named} shares but sells {sold}")]
    PicksMismatch { sale: TransactionId, named: Decimal, sold: Decimal },
    #[error("a split ratio needs two positive whole numbers")]
    BadSplit,
    #[error("an amount would be beyond a decimal's range")]
    OutOfBounds,
}

fn checked(value: Option<Decimal>) -> Result<Decimal, LotError> {
    value.ok_or(LotError::OutOfBounds)
}

/// `total × part / whole` to 8 places.
fn share(total: Decimal, part: Decimal, whole: Decimal) -> Result<Decimal, LotError> {
    Ok(checked(total.checked_mul(part).and_then(|x| x.checked_div(whole)))?.round_dp(PLACES))
}

/// `total` shared by `weights`, each to 8 places but the last, which takes the remainder.
fn shares(total: Decimal, weights: &[Decimal]) -> Result<Vec<Decimal>, LotError> {
    let whole: Decimal = weights.iter().sum();
    let mut out = Vec::with_capacity(weights.len());
    let mut given = Decimal::ZERO;
    for (i, w) in weights.iter().enumerate() {
        let part = if i + 1 == weights.len() { total - given } else { share(total, *w, whole)? };
        given += part;
        out.push(part);
    }
    Ok(out)
}

/// One open lot as the engine keeps it.
#[derive(Debug, Clone)]
struct Lot {
    /// Its BUY's position in the ledger.
    entry: usize,
    id: LotId,
    acquired: Date,
    quantity: Decimal,
    cost: Decimal,
    wash_adjustment: Decimal,
}

struct Engine<'a> {
    entries: &'a [LedgerEntry],
    rules: LotRules,
    lots: Vec<Lot>,
    book: LotBook,
    /// `units[i]`: the product of the split ratios before entry `i`, so `x` shares at entry `i`
    /// are `x · units[j] / units[i]` shares at entry `j`.
    units: Vec<Decimal>,
    /// Per BUY (ledger position): shares of it already used as wash-sale replacements, in its
    /// own shares.
    replaced: HashMap<usize, Decimal>,
    /// Per BUY not yet reached: losses deferred onto it.
    deferred: HashMap<usize, Decimal>,
}

/// The open lots and the disposals of one holding's ledger (in trade order) under `rules`.
pub fn tax_lots(entries: &[LedgerEntry], rules: LotRules) -> Result<LotBook, LotError> {
    let mut units = Vec::with_capacity(entries.len());
    let mut factor = Decimal::ONE;
    for entry in entries {
        units.push(factor);
        if let Trade::Split { numerator, denominator } = entry.trade {
            if numerator == 0 || denominator == 0 {
                return Err(LotError::BadSplit);
            }
            factor = checked(factor.checked_mul(Decimal::from(numerator)).and_then(|f| f.checked_div(Decimal::from(denominator))))?;
        }
    }
    let mut engine =
        Engine { entries, rules, lots: Vec::new(), book: LotBook::default(), units, replaced: HashMap::new(), deferred: HashMap::new() };
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 && entry.date < entries[i - 1].date {
            return Err(LotError::OutOfOrder(entry.id.clone()));
        }
        engine.apply(i)?;
    }
    if rules.method == LotMethod::AverageCost {
        engine.pool()?;
    }
    let Engine { lots, mut book, .. } = engine;
    book.open = lots
        .into_iter()
        .map(|lot| OpenLot {
            id: lot.id,
            acquired: lot.acquired,
            quantity: lot.quantity.normalize(),
            cost_basis: lot.cost.normalize(),
            wash_adjustment: lot.wash_adjustment.normalize(),
        })
        .collect();
    book.fees = book.fees.normalize();
    Ok(book)
}

impl Engine<'_> {
    fn apply(&mut self, i: usize) -> Result<(), LotError> {
        let entries = self.entries;
        let entry = &entries[i];
        match entry.trade {
            Trade::Buy { quantity, price, fees } => {
                let deferred = self.deferred.remove(&i).unwrap_or_default();
                let cost = checked(
                    quantity
                        .value()
                        .checked_mul(price.value())
                        .and_then(|c| c.checked_add(fees.value()))
                        .and_then(|c| c.checked_add(deferred)),
                )?;
                self.lots.push(Lot {
                    entry: i,
                    id: entry.id.clone(),
                    acquired: entry.date,
                    quantity: quantity.value(),
                    cost,
                    wash_adjustment: deferred,
                });
            }
            Trade::Sell { quantity, price, fees } => self.sell(i, quantity.value(), price.value(), fees.value())?,
            // Income and cash movements open or close no lot.
            Trade::Dividend { .. } | Trade::Deposit { .. } | Trade::Withdrawal { .. } | Trade::Interest { .. } => {}
            Trade::Fee { amount } => self.book.fees = checked(self.book.fees.checked_add(amount.value()))?,
            Trade::Split { numerator, denominator } => {
                for lot in &mut self.lots {
                    lot.quantity = checked(
                        lot.quantity.checked_mul(Decimal::from(numerator)).and_then(|q| q.checked_div(Decimal::from(denominator))),
                    )?;
                }
            }
        }
        Ok(())
    }

    /// The lots a sale of `quantity` draws on, as (position in `lots`, shares taken).
    fn draws(&self, i: usize, quantity: Decimal) -> Result<Vec<(usize, Decimal)>, LotError> {
        let entry = &self.entries[i];
        let in_order = |order: &mut dyn Iterator<Item = usize>| {
            let mut left = quantity;
            let mut draws = Vec::new();
            for at in order {
                if left.is_zero() {
                    break;
                }
                let take = left.min(self.lots[at].quantity);
                draws.push((at, take));
                left -= take;
            }
            draws
        };
        Ok(match self.rules.method {
            LotMethod::Lifo => in_order(&mut (0..self.lots.len()).rev()),
            LotMethod::Specific if !entry.picks.is_empty() => {
                let mut draws: Vec<(usize, Decimal)> = Vec::new();
                for pick in &entry.picks {
                    let error =
                        |held| LotError::LotOverdrawn { sale: entry.id.clone(), lot: pick.lot.clone(), wanted: pick.quantity, held };
                    if pick.quantity <= Decimal::ZERO {
                        return Err(LotError::EmptyPick { sale: entry.id.clone(), lot: pick.lot.clone(), quantity: pick.quantity });
                    }
                    let at = self
                        .lots
                        .iter()
                        .position(|lot| lot.id == pick.lot)
                        .ok_or_else(|| LotError::UnknownLot { sale: entry.id.clone(), lot: pick.lot.clone() })?;
                    match draws.iter_mut().find(|(a, _)| *a == at) {
                        Some((_, taken)) => *taken = checked(taken.checked_add(pick.quantity))?,
                        None => draws.push((at, pick.quantity)),
                    }
                    let taken = draws.iter().find(|(a, _)| *a == at).map_or(Decimal::ZERO, |d| d.1);
                    if taken > self.lots[at].quantity {
                        return Err(error(self.lots[at].quantity));
                    }
                }
                let named = draws.iter().map(|d| d.1).sum::<Decimal>();
                if named != quantity {
                    return Err(LotError::PicksMismatch { sale: entry.id.clone(), named, sold: quantity });
                }
                draws
            }
            LotMethod::Fifo | LotMethod::Specific | LotMethod::AverageCost => in_order(&mut (0..self.lots.len())),
        })
    }

    fn sell(&mut self, i: usize, quantity: Decimal, price: Decimal, fees: Decimal) -> Result<(), LotError> {
        let entries = self.entries;
        let entry = &entries[i];
        let held: Decimal = self.lots.iter().map(|l| l.quantity).sum();
        if quantity > held {
            return Err(LotError::InsufficientQuantity { sale: entry.id.clone(), wanted: quantity, held });
        }
        let draws = self.draws(i, quantity)?;
        let taken: Vec<Decimal> = draws.iter().map(|d| d.1).collect();
        let net = checked(quantity.checked_mul(price).and_then(|v| v.checked_sub(fees)))?;
        let proceeds = shares(net, &taken)?;
        let costs = if self.rules.method == LotMethod::AverageCost {
            let pool: Decimal = self.lots.iter().map(|l| l.cost).sum();
            let removed = if quantity == held { pool } else { share(pool, quantity, held)? };
            shares(removed, &taken)?
        } else {
            draws
                .iter()
                .map(|&(at, take)| {
                    let lot = &self.lots[at];
                    if take == lot.quantity { Ok(lot.cost) } else { share(lot.cost, take, lot.quantity) }
                })
                .collect::<Result<_, _>>()?
        };
        let first_row = self.book.disposals.len();
        let sold_lots: Vec<LotId> = draws.iter().map(|&(at, _)| self.lots[at].id.clone()).collect();
        for ((&(at, take), proceeds), cost) in draws.iter().zip(proceeds).zip(&costs) {
            let lot = &self.lots[at];
            self.book.disposals.push(Disposal {
                sale: entry.id.clone(),
                lot: lot.id.clone(),
                acquired: lot.acquired,
                disposed: entry.date,
                quantity: take.normalize(),
                proceeds: proceeds.normalize(),
                cost_basis: cost.normalize(),
                gain: (proceeds - cost).normalize(),
                term: holding_term(lot.acquired, entry.date),
                wash_sale: None,
            });
        }
        if self.rules.method == LotMethod::AverageCost {
            let pool: Decimal = self.lots.iter().map(|l| l.cost).sum::<Decimal>() - costs.iter().sum::<Decimal>();
            for &(at, take) in &draws {
                self.lots[at].quantity -= take;
            }
            self.lots.retain(|l| !l.quantity.is_zero());
            self.spread(pool)?;
        } else {
            for (&(at, take), cost) in draws.iter().zip(&costs) {
                self.lots[at].quantity -= take;
                self.lots[at].cost -= cost;
            }
            self.lots.retain(|l| !l.quantity.is_zero());
        }
        if self.rules.wash_sales == WashSaleRule::Us {
            for row in first_row..self.book.disposals.len() {
                self.wash(i, row, &sold_lots)?;
            }
        }
        Ok(())
    }

    /// Average cost: `pool` shared among the open lots by quantity.
    fn spread(&mut self, pool: Decimal) -> Result<(), LotError> {
        let quantities: Vec<Decimal> = self.lots.iter().map(|l| l.quantity).collect();
        if quantities.is_empty() {
            return Ok(());
        }
        for (lot, cost) in self.lots.iter_mut().zip(shares(pool, &quantities)?) {
            lot.cost = cost;
        }
        Ok(())
    }

    /// Average cost: the open lots at the pool's average.
    fn pool(&mut self) -> Result<(), LotError> {
        let pool = self.lots.iter().map(|l| l.cost).sum();
        self.spread(pool)
    }

    /// Looks for replacements of a loss row of the sale at entry `sale`, defers what they
    /// disallow onto them, and records it on the row.
    fn wash(&mut self, sale: usize, row: usize, sold_lots: &[LotId]) -> Result<(), LotError> {
        let disposal = &self.book.disposals[row];
        if !disposal.gain.is_sign_negative() || disposal.gain.is_zero() {
            return Ok(());
        }
        let (loss, sold, day) = (-disposal.gain, disposal.quantity, disposal.disposed);
        let window = (day - Duration::days(30))..=(day + Duration::days(30));
        let mut need = sold;
        let mut disallowed = Decimal::ZERO;
        let mut replacements = Vec::new();
        let entries = self.entries;
        for (b, entry) in entries.iter().enumerate() {
            if need.is_zero() || entry.date > *window.end() {
                break;
            }
            let Trade::Buy { quantity, .. } = entry.trade else { continue };
            if !window.contains(&entry.date) || sold_lots.contains(&entry.id) {
                continue;
            }
            // In the BUY's own shares: what has not replaced yet, and, for a purchase already
            // made, no more than is still held.
            let to_buy = |x: Decimal| checked(x.checked_mul(self.units[b]).and_then(|x| x.checked_div(self.units[sale])));
            let mut available = quantity.value() - self.replaced.get(&b).copied().unwrap_or_default();
            if b < sale {
                let held = self.lots.iter().find(|l| l.entry == b).map_or(Decimal::ZERO, |l| l.quantity);
                available = available.min(to_buy(held)?);
            }
            if available <= Decimal::ZERO {
                continue;
            }
            let available_at_sale = checked(available.checked_mul(self.units[sale]).and_then(|x| x.checked_div(self.units[b])))?;
            let take = need.min(available_at_sale);
            let used = if take == available_at_sale { available } else { to_buy(take)? };
            need -= take;
            let part = if need.is_zero() { loss - disallowed } else { share(loss, take, sold)? };
            disallowed += part;
            *self.replaced.entry(b).or_default() += used;
            replacements.push(LotPick { lot: entry.id.clone(), quantity: take.normalize() });
            if b < sale {
                if let Some(lot) = self.lots.iter_mut().find(|l| l.entry == b) {
                    lot.cost += part;
                    lot.wash_adjustment += part;
                }
            } else {
                *self.deferred.entry(b).or_default() += part;
            }
        }
        if !disallowed.is_zero() {
            self.book.disposals[row].wash_sale = Some(WashSale { disallowed_loss: disallowed.normalize(), replacements });
        }
        Ok(())
    }
}

/// The totals of one holding term in one year. Columns as on a US capital gains form: proceeds,
/// cost basis, the adjustment (wash-sale losses disallowed) and the gain after it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TermGains {
    pub disposals: u32,
    pub proceeds: Decimal,
    pub cost_basis: Decimal,
    /// `proceeds − cost_basis`.
    pub gain: Decimal,
    pub disallowed_loss: Decimal,
    /// `gain + disallowed_loss`.
    pub reportable_gain: Decimal,
}

impl TermGains {
    fn add(&mut self, d: &Disposal) {
        self.disposals += 1;
        self.proceeds += d.proceeds;
        self.cost_basis += d.cost_basis;
        self.gain += d.gain;
        self.disallowed_loss += d.wash_sale.as_ref().map_or(Decimal::ZERO, |w| w.disallowed_loss);
        self.reportable_gain += d.reportable_gain();
    }

    fn normalize(mut self) -> Self {
        for x in [&mut self.proceeds, &mut self.cost_basis, &mut self.gain, &mut self.disallowed_loss, &mut self.reportable_gain] {
            *x = x.normalize();
        }
        self
    }
}

/// The realised gains of one calendar year (of the disposal dates), short and long term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearGains {
    pub year: i32,
    pub short_term: TermGains,
    pub long_term: TermGains,
}

/// The realised gains report: disposals (of one holding or many, in one currency) by year of
/// disposal and holding term, earliest year first; years without disposals are left out.
pub fn gains_by_year(disposals: &[Disposal]) -> Vec<YearGains> {
    let mut years: BTreeMap<i32, (TermGains, TermGains)> = BTreeMap::new();
    for d in disposals {
        let (short, long) = years.entry(d.disposed.year()).or_default();
        match d.term {
            HoldingTerm::Short => short.add(d),
            HoldingTerm::Long => long.add(d),
        }
    }
    years.into_iter().map(|(year, (short, long))| YearGains { year, short_term: short.normalize(), long_term: long.normalize() }).collect()
}

#[cfg(test)]
mod tests;
