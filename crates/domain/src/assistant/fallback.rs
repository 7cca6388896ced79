//! The answer when no model can answer (none configured, the provider failed or timed out, the
//! budget is spent): the rule-based analysis of each of the user's portfolios, said as such.
//! Deterministic, in English (the analysis' findings are English), labelled `mode: "fallback"`
//! by the caller.

/// Why the fallback answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FallbackReason {
    NoProvider,
    ProviderFailed,
    Timeout,
    BudgetSpent,
}

impl FallbackReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FallbackReason::NoProvider => "no_provider",
            FallbackReason::ProviderFailed => "provider_failed",
            FallbackReason::Timeout => "timeout",
            FallbackReason::BudgetSpent => "budget_spent",
        }
    }

    fn sentence(self) -> &'static str {
        match self {
            FallbackReason::NoProvider => "no AI provider is configured",
            FallbackReason::ProviderFailed => "the AI provider did not answer",
            FallbackReason::Timeout => "the AI provider took too long",
            FallbackReason::BudgetSpent => "this month's AI budget is spent",
        }
    }
}

/// One portfolio as the rule-based analysis sees it (amounts already formatted decimals).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortfolioBrief {
    pub name: String,
    pub currency: String,
    pub value: String,
    pub unrealised_pnl: String,
    pub day_change: String,
    /// The largest position: symbol and weight (a fraction).
    pub largest_position: Option<(String, String)>,
    pub diversification_score: String,
    pub findings: Vec<String>,
}

/// The fallback answer to `question` from the briefs of the user's portfolios.
pub fn fallback_answer(reason: FallbackReason, briefs: &[PortfolioBrief]) -> String {
    let mut out = format!(
        "Fallback mode: {}, so this answer comes from Bourse's rule-based analysis rather than an AI model. \
It is information, not investment advice.\n",
        reason.sentence()
    );
    if briefs.is_empty() {
        out.push_str("\nYou have no portfolios yet: create one and add transactions, and the analysis will describe it here.");
        return out;
    }
    for brief in briefs {
        out.push_str(&format!(
            "\n{name}: value {value} {ccy}, unrealised profit/loss {pnl} {ccy}, today's change {day} {ccy}; diversification score {score}/100.",
            name = brief.name,
            value = brief.value,
            ccy = brief.currency,
            pnl = brief.unrealised_pnl,
            day = brief.day_change,
            score = brief.diversification_score,
        ));
        if let Some((symbol, weight)) = &brief.largest_position {
            out.push_str(&format!(" Largest position: {symbol} ({}).", percent(weight)));
        }
        for finding in &brief.findings {
            out.push_str(&format!("\n- {finding}"));
        }
        out.push('\n');
    }
    out
}

/// `0.4213` → `42.1%` (text that is not a number is shown as is).
fn percent(fraction: &str) -> String {
    match fraction.parse::<rust_decimal::Decimal>() {
        Ok(value) => format!("{}%", (value * rust_decimal::Decimal::ONE_HUNDRED).round_dp(1).normalize()),
        Err(_) => fraction.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fallback_says_why_and_what_the_analysis_found() {
        let brief = PortfolioBrief {
            name: "Core".into(),
            currency: "USD".into(),
            value: "12500.00".into(),
            unrealised_pnl: "1500.00".into(),
            day_change: "-20.5".into(),
            largest_position: Some(("AAPL".into(), "0.4213".into())),
            diversification_score: "38".into(),
            findings: vec!["AAPL is 42% of the portfolio".into()],
        };
        let text = fallback_answer(FallbackReason::Timeout, &[brief]);
        assert!(text.starts_with("Fallback mode: the AI provider took too long"));
        assert!(text.contains("Core: value 12500.00 USD") && text.contains("AAPL (42.1%)") && text.contains("- AAPL is 42%"));
        assert!(fallback_answer(FallbackReason::NoProvider, &[]).contains("no portfolios yet"));
    }
}
