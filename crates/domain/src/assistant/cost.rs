//! What a model call costs and whether one may be made: the price table (configuration, USD per
//! million tokens per provider and model), per-plan monthly budgets and the operator's daily cap.
//!
//! Costs are decimal USD, rounded half-even to 9 places (a nano-dollar) per call. A budget is
//! checked *before* a call against what was spent so far: the call that crosses it still
//! completes (its cost is bounded by the request's `max_output_tokens`), the next is refused.
//! Calls with the user's own key are counted and priced for the user's information but never
//! refused by a budget: the user pays that provider, not Bourse.

use super::chat::TokenUsage;
use crate::plan::Plan;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;
use time::{Date, OffsetDateTime};

/// The places a cost is kept to (USD).
pub const COST_SCALE: u32 = 9;

/// USD per million tokens, each way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input_per_million: Decimal,
    pub output_per_million: Decimal,
}

impl Price {
    pub fn cost(&self, usage: TokenUsage) -> Decimal {
        let million = Decimal::from(1_000_000u32);
        let input = Decimal::from(usage.input_tokens) * self.input_per_million / million;
        let output = Decimal::from(usage.output_tokens) * self.output_per_million / million;
        (input + output).round_dp(COST_SCALE)
    }
}

/// Prices by `<provider>/<model>`; `<provider>/*` prices every other model of a provider.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriceTable(BTreeMap<String, Price>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceTableError {
    #[error("the price table is not a JSON object of {{\"<provider>/<model>\": {{input_per_million, output_per_million}}}}: {0}")]
    Syntax(String),
    #[error("price {0:?}: the key must be <provider>/<model> (or <provider>/*)")]
    Key(String),
    #[error("price {0:?}: prices must be zero or more")]
    Negative(String),
}

impl PriceTable {
    /// `{"bedrock/amazon.nova-micro-v1:0": {"input_per_million": "0.035", "output_per_million": "0.14"}}`.
    pub fn parse(json: &str) -> Result<Self, PriceTableError> {
        let table: BTreeMap<String, Price> = serde_json::from_str(json).map_err(|e| PriceTableError::Syntax(e.to_string()))?;
        for (key, price) in &table {
            match key.split_once('/') {
                Some((provider, model)) if !provider.is_empty() && !model.is_empty() => {}
                _ => return Err(PriceTableError::Key(key.clone())),
            }
            if price.input_per_million.is_sign_negative() || price.output_per_million.is_sign_negative() {
                return Err(PriceTableError::Negative(key.clone()));
            }
        }
        Ok(PriceTable(table))
    }

    /// The price of `model` at `provider`: its own entry, else the provider's `*`.
    pub fn price(&self, provider: &str, model: &str) -> Option<Price> {
        self.0.get(&format!("{provider}/{model}")).or_else(|| self.0.get(&format!("{provider}/*"))).copied()
    }

    /// The cost of a call; zero for a model without a price (logged by the caller).
    pub fn cost(&self, provider: &str, model: &str, usage: TokenUsage) -> Decimal {
        self.price(provider, model).map(|p| p.cost(usage)).unwrap_or_default()
    }
}

/// The monthly budgets per plan and the operator's daily cap, in USD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgets {
    pub free_monthly: Decimal,
    pub pro_monthly: Decimal,
    /// All users' calls on Bourse's provider together, per UTC day.
    pub operator_daily: Decimal,
}

impl Default for Budgets {
    fn default() -> Self {
        Budgets { free_monthly: Decimal::new(25, 2), pro_monthly: Decimal::from(5), operator_daily: Decimal::from(50) }
    }
}

impl Budgets {
    /// The defaults with the configured amounts (decimal USD text, zero or more) in their place.
    pub fn configured(free: Option<&str>, pro: Option<&str>, operator_daily: Option<&str>) -> Result<Budgets, String> {
        let amount = |name: &str, text: Option<&str>, default: Decimal| match text {
            None => Ok(default),
            Some(text) => text
                .trim()
                .parse::<Decimal>()
                .ok()
                .filter(|d| !d.is_sign_negative())
                .ok_or_else(|| format!("{name}: {text:?} is not an amount in USD")),
        };
        let defaults = Budgets::default();
        Ok(Budgets {
            free_monthly: amount("ASSISTANT_BUDGET_FREE_USD", free, defaults.free_monthly)?,
            pro_monthly: amount("ASSISTANT_BUDGET_PRO_USD", pro, defaults.pro_monthly)?,
            operator_daily: amount("ASSISTANT_DAILY_CAP_USD", operator_daily, defaults.operator_daily)?,
        })
    }

    pub fn monthly(&self, plan: Plan) -> Decimal {
        match plan {
            Plan::Free => self.free_monthly,
            Plan::Pro => self.pro_monthly,
        }
    }

    /// Whether a call on Bourse's provider may be made now, given what was spent.
    pub fn check(
        &self,
        plan: Plan,
        spent_this_month: Decimal,
        spent_today_by_all: Decimal,
        now: OffsetDateTime,
    ) -> Result<(), BudgetSpent> {
        if spent_this_month >= self.monthly(plan) {
            return Err(BudgetSpent { scope: BudgetScope::UserMonthly, resets_at: next_month(now.date()) });
        }
        if spent_today_by_all >= self.operator_daily {
            return Err(BudgetSpent { scope: BudgetScope::OperatorDaily, resets_at: now.date().next_day().unwrap_or(now.date()) });
        }
        Ok(())
    }
}

/// Which budget is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetScope {
    UserMonthly,
    OperatorDaily,
}

/// A refused call: which budget, and the UTC day it starts again (at 00:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetSpent {
    pub scope: BudgetScope,
    pub resets_at: Date,
}

/// The first day of the month after `date`'s.
pub fn next_month(date: Date) -> Date {
    let (year, month) =
        if date.month() == time::Month::December { (date.year() + 1, time::Month::January) } else { (date.year(), date.month().next()) };
    Date::from_calendar_date(year, month, 1).unwrap_or(date)
}

/// `YYYY-MM` of a date: the key of a month's spend.
pub fn month_key(date: Date) -> String {
    format!("{:04}-{:02}", date.year(), u8::from(date.month()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn table() -> PriceTable {
        PriceTable::parse(
            r#"{"bedrock/amazon.nova-micro-v1:0": {"input_per_million": "0.035", "output_per_million": "0.14"},
                "openai/*": {"input_per_million": "0.15", "output_per_million": "0.6"}}"#,
        )
        .unwrap()
    }

    #[test]
    fn cost_is_tokens_times_the_price_per_million() {
        let usage = TokenUsage { input_tokens: 1_234, output_tokens: 567 };
        // 1234 × 0.035 / 1e6 + 567 × 0.14 / 1e6 = 0.00004319 + 0.00007938
        assert_eq!(table().cost("bedrock", "amazon.nova-micro-v1:0", usage), "0.00012257".parse::<Decimal>().unwrap());
        // The wildcard prices any model of the provider: 1234 × 0.15 / 1e6 + 567 × 0.6 / 1e6.
        assert_eq!(table().cost("openai", "gpt-4o-mini", usage), "0.0005253".parse::<Decimal>().unwrap());
        assert_eq!(table().cost("bedrock", "unknown", usage), Decimal::ZERO);
    }

    #[test]
    fn bad_tables_are_refused() {
        assert!(matches!(PriceTable::parse("[]"), Err(PriceTableError::Syntax(_))));
        assert!(matches!(
            PriceTable::parse(r#"{"nomodel": {"input_per_million": "1", "output_per_million": "1"}}"#),
            Err(PriceTableError::Key(_))
        ));
        assert!(matches!(
            PriceTable::parse(r#"{"a/b": {"input_per_million": "-1", "output_per_million": "1"}}"#),
            Err(PriceTableError::Negative(_))
        ));
        assert!(matches!(PriceTable::parse(r#"{"a/b": {"input_per_million": "1"}}"#), Err(PriceTableError::Syntax(_))));
    }

    #[test]
    fn budgets_refuse_once_spent_and_say_when_they_reset() {
        let budgets = Budgets::default();
        let now = datetime!(2026-12-31 23:00 UTC);
        assert!(budgets.check(Plan::Free, Decimal::new(24, 2), Decimal::ZERO, now).is_ok());
        let spent = budgets.check(Plan::Free, Decimal::new(25, 2), Decimal::ZERO, now).unwrap_err();
        assert_eq!(spent, BudgetSpent { scope: BudgetScope::UserMonthly, resets_at: date!(2027 - 01 - 01) });
        assert!(budgets.check(Plan::Pro, Decimal::new(25, 2), Decimal::ZERO, now).is_ok());
        let capped = budgets.check(Plan::Pro, Decimal::ZERO, Decimal::from(50), datetime!(2026-02-28 12:00 UTC)).unwrap_err();
        assert_eq!(capped, BudgetSpent { scope: BudgetScope::OperatorDaily, resets_at: date!(2026 - 03 - 01) });
        assert_eq!(month_key(date!(2026 - 03 - 09)), "2026-03");
    }
}
