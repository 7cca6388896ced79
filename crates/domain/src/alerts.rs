//! Alerts: what a user asks to be told about (a price crossing a level, a day's move, a market
//! signal on a symbol, a saved screen gaining or losing a match), the rule of firing once per
//! crossing, and the limits per plan. Storage keeps each alert as one item indexed by what it
//! watches (`bourse_storage::alerts`); the consumer evaluates them with these rules.

use crate::money::Quantity;
use crate::plan::Plan;
use crate::saved_screen::MatchChange;
use crate::signals::SignalKind;
use crate::{AlertId, ScreenId, Symbol};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Alerts per user: free 10, pro 100 (each symbol alert is one small item in its symbol's index
/// partition, read once per refresh of the symbol).
pub fn max_alerts(plan: Plan) -> usize {
    match plan {
        Plan::Free => 10,
        Plan::Pro => 100,
    }
}

/// What a screen alert reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScreenChange {
    /// A symbol started matching.
    Gained,
    /// A symbol stopped matching.
    Lost,
    /// Either.
    Any,
}

impl ScreenChange {
    pub fn as_str(self) -> &'static str {
        match self {
            ScreenChange::Gained => "gained",
            ScreenChange::Lost => "lost",
            ScreenChange::Any => "any",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [ScreenChange::Gained, ScreenChange::Lost, ScreenChange::Any].into_iter().find(|c| c.as_str() == text)
    }

    /// Whether `change` is worth telling.
    pub fn fires_on(self, change: &MatchChange) -> bool {
        match self {
            ScreenChange::Gained => !change.gained.is_empty(),
            ScreenChange::Lost => !change.lost.is_empty(),
            ScreenChange::Any => !change.is_empty(),
        }
    }
}

/// A valid alert rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertRule {
    /// The price is at or above `price`.
    PriceAbove { symbol: Symbol, price: Decimal },
    /// The price is at or below `price`.
    PriceBelow { symbol: Symbol, price: Decimal },
    /// The day's change is at least `percent` either way (|change_pct| ≥ percent).
    DayMove { symbol: Symbol, percent: Decimal },
    /// The enrichment found `signal` in the symbol's history.
    Signal { symbol: Symbol, signal: SignalKind },
    /// A saved screen's matches changed as `on` says.
    Screen { screen: ScreenId, on: ScreenChange },
}

/// The kinds, by their wire names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    PriceAbove,
    PriceBelow,
    DayMove,
    Signal,
    Screen,
}

impl AlertKind {
    pub const ALL: [AlertKind; 5] =
        [AlertKind::PriceAbove, AlertKind::PriceBelow, AlertKind::DayMove, AlertKind::Signal, AlertKind::Screen];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::PriceAbove => "price-above",
            AlertKind::PriceBelow => "price-below",
            AlertKind::DayMove => "day-move",
            AlertKind::Signal => "signal",
            AlertKind::Screen => "screen",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        AlertKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// An alert as the API receives it: `kind` and the members that kind needs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlert {
    pub kind: String,
    pub symbol: Option<String>,
    pub price: Option<String>,
    pub percent: Option<String>,
    pub signal: Option<String>,
    pub screen_id: Option<String>,
    pub on: Option<String>,
}

/// Why an alert was refused: the member at fault and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct AlertError {
    pub field: &'static str,
    pub reason: String,
}

fn refuse(field: &'static str, reason: impl Into<String>) -> AlertError {
    AlertError { field, reason: reason.into() }
}

impl RawAlert {
    /// The rule, with every member checked: the kind's members required, the others absent.
    pub fn parse(&self) -> Result<AlertRule, AlertError> {
        let kind = AlertKind::parse(&self.kind).ok_or_else(|| {
            let kinds: Vec<&str> = AlertKind::ALL.iter().map(|k| k.as_str()).collect();
            refuse("kind", format!("one of {}", kinds.join(", ")))
        })?;
        let allowed: &[&str] = match kind {
            AlertKind::PriceAbove | AlertKind::PriceBelow => &["symbol", "price"],
            AlertKind::DayMove => &["symbol", "percent"],
            AlertKind::Signal => &["symbol", "signal"],
            AlertKind::Screen => &["screen_id", "on"],
        };
        let given = [
            ("symbol", self.symbol.is_some()),
            ("price", self.price.is_some()),
            ("percent", self.percent.is_some()),
            ("signal", self.signal.is_some()),
            ("screen_id", self.screen_id.is_some()),
            ("on", self.on.is_some()),
        ];
        if let Some((field, _)) = given.iter().find(|(field, present)| *present && !allowed.contains(field)) {
            return Err(refuse(field, format!("not a member of a {} alert", kind.as_str())));
        }
        let symbol = || -> Result<Symbol, AlertError> {
            let text = self.symbol.as_deref().ok_or_else(|| refuse("symbol", "required"))?;
            Symbol::parse(text).map_err(|e| refuse("symbol", e.to_string()))
        };
        let positive = |field: &'static str, value: &Option<String>| -> Result<Decimal, AlertError> {
            let text = value.as_deref().ok_or_else(|| refuse(field, "required"))?;
            Quantity::parse(text).map(Quantity::value).map_err(|e| refuse(field, e.to_string()))
        };
        Ok(match kind {
            AlertKind::PriceAbove => AlertRule::PriceAbove { symbol: symbol()?, price: positive("price", &self.price)? },
            AlertKind::PriceBelow => AlertRule::PriceBelow { symbol: symbol()?, price: positive("price", &self.price)? },
            AlertKind::DayMove => AlertRule::DayMove { symbol: symbol()?, percent: positive("percent", &self.percent)? },
            AlertKind::Signal => {
                let text = self.signal.as_deref().ok_or_else(|| refuse("signal", "required"))?;
                let signal = SignalKind::parse(text).ok_or_else(|| {
                    let names: Vec<&str> = SignalKind::ALL.iter().map(|k| k.name()).collect();
                    refuse("signal", format!("one of {}", names.join(", ")))
                })?;
                AlertRule::Signal { symbol: symbol()?, signal }
            }
            AlertKind::Screen => {
                let text = self.screen_id.as_deref().ok_or_else(|| refuse("screen_id", "required"))?;
                let screen = ScreenId::parse(text).map_err(|e| refuse("screen_id", e.to_string()))?;
                let on = match self.on.as_deref() {
                    None => ScreenChange::Any,
                    Some(text) => ScreenChange::parse(text).ok_or_else(|| refuse("on", "one of gained, lost, any"))?,
                };
                AlertRule::Screen { screen, on }
            }
        })
    }
}

impl AlertRule {
    pub fn kind(&self) -> AlertKind {
        match self {
            AlertRule::PriceAbove { .. } => AlertKind::PriceAbove,
            AlertRule::PriceBelow { .. } => AlertKind::PriceBelow,
            AlertRule::DayMove { .. } => AlertKind::DayMove,
            AlertRule::Signal { .. } => AlertKind::Signal,
            AlertRule::Screen { .. } => AlertKind::Screen,
        }
    }

    /// The symbol a symbol alert watches (`None` for a screen alert).
    pub fn symbol(&self) -> Option<&Symbol> {
        match self {
            AlertRule::PriceAbove { symbol, .. }
            | AlertRule::PriceBelow { symbol, .. }
            | AlertRule::DayMove { symbol, .. }
            | AlertRule::Signal { symbol, .. } => Some(symbol),
            AlertRule::Screen { .. } => None,
        }
    }

    /// Whether a symbol alert's condition holds for `seen`; `None` when the data it needs is
    /// missing (nothing changes then) or for a screen alert (those fire on a diff, see
    /// [`crate::saved_screen::diff`]).
    pub fn holds(&self, seen: &Observation) -> Option<bool> {
        match self {
            AlertRule::PriceAbove { price, .. } => seen.price.map(|p| p >= *price),
            AlertRule::PriceBelow { price, .. } => seen.price.map(|p| p <= *price),
            AlertRule::DayMove { percent, .. } => seen.change_pct.map(|c| c.abs() >= *percent),
            AlertRule::Signal { signal, .. } => Some(seen.signals.contains(signal)),
            AlertRule::Screen { .. } => None,
        }
    }

    /// The notification's title and body when the alert fires on `seen`.
    pub fn describe(&self, seen: &Observation) -> (String, String) {
        let shown = |v: Option<Decimal>| v.map_or_else(|| "unknown".to_owned(), |v| v.normalize().to_string());
        match self {
            AlertRule::PriceAbove { symbol, price } => {
                (format!("{symbol} is at or above {price}"), format!("{symbol} trades at {}.", shown(seen.price)))
            }
            AlertRule::PriceBelow { symbol, price } => {
                (format!("{symbol} is at or below {price}"), format!("{symbol} trades at {}.", shown(seen.price)))
            }
            AlertRule::DayMove { symbol, percent } => {
                (format!("{symbol} moved {percent}% or more today"), format!("{symbol} changed {}% today.", shown(seen.change_pct)))
            }
            AlertRule::Signal { symbol, signal } => {
                (format!("{symbol}: {}", signal.name()), format!("The {} signal fired on {symbol}.", signal.name()))
            }
            AlertRule::Screen { .. } => ("A saved screen changed".to_owned(), String::new()),
        }
    }
}

/// What the consumer knows of a symbol after a refresh: what symbol alerts look at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Observation {
    pub price: Option<Decimal>,
    pub change_pct: Option<Decimal>,
    /// The signals the enrichment found in the symbol's history.
    pub signals: Vec<SignalKind>,
}

/// What an evaluation does to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Armed and the condition holds: tell the user, disarm.
    Fire,
    /// Fired and the condition cleared: arm again for the next crossing.
    Rearm,
}

/// The crossing rule: an armed alert fires when its condition holds and stays quiet until the
/// condition clears, which re-arms it. Unknown (missing data) changes nothing.
pub fn transition(armed: bool, holds: Option<bool>) -> Option<Transition> {
    match (armed, holds) {
        (true, Some(true)) => Some(Transition::Fire),
        (false, Some(false)) => Some(Transition::Rearm),
        _ => None,
    }
}

/// The 12 hex digits of a crossing's notification id: they derive from the alert and the
/// crossing's number only, so a redelivered evaluation delivers the same notification.
pub fn crossing_hex(alert: &AlertId, crossing: u64) -> String {
    let digest = Sha256::digest(format!("alert:{alert}:{crossing}").as_bytes());
    crate::text::hex(&digest[..6])
}

/// The title and body of a screen alert that fired on `change`.
pub fn describe_screen_change(screen_name: &str, change: &MatchChange) -> (String, String) {
    let list = |symbols: &[Symbol]| symbols.iter().map(Symbol::as_str).collect::<Vec<_>>().join(", ");
    let title = format!("Screen \u{201c}{screen_name}\u{201d} changed");
    let mut parts = Vec::new();
    if !change.gained.is_empty() {
        parts.push(format!("New matches: {}.", list(&change.gained)));
    }
    if !change.lost.is_empty() {
        parts.push(format!("No longer matching: {}.", list(&change.lost)));
    }
    (title, parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn raw(kind: &str) -> RawAlert {
        RawAlert { kind: kind.into(), ..RawAlert::default() }
    }

    #[test]
    fn rules_parse_with_the_members_of_their_kind_only() {
        let above = RawAlert { symbol: Some("aapl".into()), price: Some("200.5".into()), ..raw("price-above") };
        assert_eq!(above.parse(), Ok(AlertRule::PriceAbove { symbol: Symbol::parse("AAPL").unwrap(), price: d("200.5") }));
        let missing = RawAlert { symbol: Some("AAPL".into()), ..raw("price-below") };
        assert_eq!(missing.parse().unwrap_err().field, "price");
        let foreign = RawAlert { symbol: Some("AAPL".into()), price: Some("1".into()), percent: Some("2".into()), ..raw("price-above") };
        assert_eq!(foreign.parse().unwrap_err().field, "percent");
        let negative = RawAlert { symbol: Some("AAPL".into()), percent: Some("-2".into()), ..raw("day-move") };
        assert_eq!(negative.parse().unwrap_err().field, "percent");
        assert_eq!(raw("nope").parse().unwrap_err().field, "kind");
        let signal = RawAlert { symbol: Some("MSFT".into()), signal: Some("golden-cross".into()), ..raw("signal") };
        assert!(matches!(signal.parse(), Ok(AlertRule::Signal { signal: SignalKind::GoldenCross, .. })));
        let bad_signal = RawAlert { symbol: Some("MSFT".into()), signal: Some("moon".into()), ..raw("signal") };
        assert_eq!(bad_signal.parse().unwrap_err().field, "signal");
        let screen = RawAlert { screen_id: Some("0".repeat(32)), on: Some("lost".into()), ..raw("screen") };
        assert!(matches!(screen.parse(), Ok(AlertRule::Screen { on: ScreenChange::Lost, .. })));
        let bad_screen = RawAlert { screen_id: Some("x".into()), ..raw("screen") };
        assert_eq!(bad_screen.parse().unwrap_err().field, "screen_id");
    }

    #[test]
    fn conditions_hold_on_the_data_and_are_unknown_without_it() {
        let symbol = Symbol::parse("AAPL").unwrap();
        let seen = Observation { price: Some(d("200")), change_pct: Some(d("-5.2")), signals: vec![SignalKind::RsiOversold] };
        assert_eq!(AlertRule::PriceAbove { symbol: symbol.clone(), price: d("200") }.holds(&seen), Some(true));
        assert_eq!(AlertRule::PriceAbove { symbol: symbol.clone(), price: d("200.01") }.holds(&seen), Some(false));
        assert_eq!(AlertRule::PriceBelow { symbol: symbol.clone(), price: d("199") }.holds(&seen), Some(false));
        assert_eq!(AlertRule::DayMove { symbol: symbol.clone(), percent: d("5") }.holds(&seen), Some(true), "a fall counts");
        assert_eq!(AlertRule::DayMove { symbol: symbol.clone(), percent: d("6") }.holds(&seen), Some(false));
        assert_eq!(AlertRule::Signal { symbol: symbol.clone(), signal: SignalKind::RsiOversold }.holds(&seen), Some(true));
        assert_eq!(AlertRule::Signal { symbol: symbol.clone(), signal: SignalKind::GoldenCross }.holds(&seen), Some(false));
        assert_eq!(AlertRule::PriceAbove { symbol, price: d("1") }.holds(&Observation::default()), None);
    }

    #[test]
    fn an_alert_fires_once_per_crossing_and_rearms_when_it_clears() {
        // Prices over successive refreshes against "above 100": fire at the first crossing only,
        // re-arm below, fire again at the next crossing.
        let rule = AlertRule::PriceAbove { symbol: Symbol::parse("X").unwrap(), price: d("100") };
        let mut armed = true;
        let mut fired = Vec::new();
        for (i, price) in ["90", "101", "105", "99", "100", "120"].iter().enumerate() {
            let seen = Observation { price: Some(d(price)), ..Observation::default() };
            match transition(armed, rule.holds(&seen)) {
                Some(Transition::Fire) => {
                    fired.push(i);
                    armed = false;
                }
                Some(Transition::Rearm) => armed = true,
                None => {}
            }
        }
        assert_eq!(fired, vec![1, 4]);
        assert_eq!(transition(true, None), None);
        assert_eq!(transition(false, None), None);
    }

    #[test]
    fn crossing_ids_depend_on_the_alert_and_the_crossing_only() {
        let a = AlertId::parse(&"a".repeat(32)).unwrap();
        let b = AlertId::parse(&"b".repeat(32)).unwrap();
        assert_eq!(crossing_hex(&a, 1), crossing_hex(&a, 1));
        assert_ne!(crossing_hex(&a, 1), crossing_hex(&a, 2));
        assert_ne!(crossing_hex(&a, 1), crossing_hex(&b, 1));
        assert_eq!(crossing_hex(&a, 1).len(), 12);
    }

    #[test]
    fn screen_changes_fire_on_what_was_asked() {
        let s = |t: &str| Symbol::parse(t).unwrap();
        let gained = MatchChange { gained: vec![s("A")], lost: vec![] };
        let lost = MatchChange { gained: vec![], lost: vec![s("B")] };
        assert!(ScreenChange::Gained.fires_on(&gained) && !ScreenChange::Gained.fires_on(&lost));
        assert!(ScreenChange::Lost.fires_on(&lost) && !ScreenChange::Lost.fires_on(&gained));
        assert!(ScreenChange::Any.fires_on(&lost) && !ScreenChange::Any.fires_on(&MatchChange::default()));
        let (_, body) = describe_screen_change("Value", &MatchChange { gained: vec![s("A")], lost: vec![s("B"), s("C")] });
        assert_eq!(body, "New matches: A. No longer matching: B, C.");
    }
}
