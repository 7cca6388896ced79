//! The read-only tools a model may call over the caller's own data. Each is an API read the
//! assistant runs in-process with the caller's own token, so a tool sees exactly what the caller
//! may see through the API (another user's portfolio id is "not found", as it would be there).
//!
//! A model's arguments are untrusted input: [`Tool::parse`] checks them like a request body
//! (known fields only, typed ids, bounded text) before anything runs, and a refusal is reported
//! back to the model as the tool's result, never run.

use super::chat::{ToolCall, ToolSpec};
use crate::ids::PortfolioId;
use crate::returns::Period;
use crate::symbol::Symbol;
use serde_json::{Value, json};

/// The longest screener filter a tool call may send.
pub const MAX_FILTER_CHARS: usize = 500;
/// The most stocks a screener tool call lists.
pub const MAX_SCREEN_ROWS: u32 = 20;

/// A tool call whose name and arguments were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tool {
    ListPortfolios,
    PortfolioSummary { portfolio_id: PortfolioId },
    Holdings { portfolio_id: PortfolioId },
    Returns { portfolio_id: PortfolioId, period: Period },
    Analysis { portfolio_id: PortfolioId },
    JournalStats,
    Screen { filter: String, limit: u32 },
    StockDetail { symbol: Symbol },
}

/// Why a tool call was not run: said to the model as the tool's result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolRefusal {
    #[error("there is no tool named {0:?}")]
    UnknownTool(String),
    #[error("the arguments must be a JSON object")]
    NotAnObject,
    #[error("unknown argument {0:?}")]
    UnknownArgument(String),
    #[error("argument {field:?}: {reason}")]
    BadArgument { field: &'static str, reason: String },
}

/// A GET or POST the tool runs against the API, in-process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolRead {
    /// `GET` or `POST` (the screener's query is a POST that reads).
    pub method: &'static str,
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    /// A JSON body (POST only).
    pub body: Option<String>,
}

impl Tool {
    pub fn name(&self) -> &'static str {
        match self {
            Tool::ListPortfolios => "list_portfolios",
            Tool::PortfolioSummary { .. } => "portfolio_summary",
            Tool::Holdings { .. } => "holdings",
            Tool::Returns { .. } => "returns",
            Tool::Analysis { .. } => "analysis",
            Tool::JournalStats => "journal_stats",
            Tool::Screen { .. } => "screen",
            Tool::StockDetail { .. } => "stock_detail",
        }
    }

    /// Checks a model's call: a known tool, an object with only the tool's arguments, each valid.
    pub fn parse(call: &ToolCall) -> Result<Tool, ToolRefusal> {
        let empty = serde_json::Map::new();
        let args = match &call.arguments {
            Value::Object(map) => map,
            Value::Null => &empty,
            // Some models send the arguments as a JSON string.
            Value::String(text) if text.trim().is_empty() => &empty,
            _ => return Err(ToolRefusal::NotAnObject),
        };
        let known: &[&str] = match call.name.as_str() {
            "list_portfolios" | "journal_stats" => &[],
            "portfolio_summary" | "holdings" | "analysis" => &["portfolio_id"],
            "returns" => &["portfolio_id", "period"],
            "screen" => &["filter", "limit"],
            "stock_detail" => &["symbol"],
            other => return Err(ToolRefusal::UnknownTool(truncate(other, 64))),
        };
        if let Some(unknown) = args.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(ToolRefusal::UnknownArgument(truncate(unknown, 64)));
        }
        let text = |field: &'static str| -> Result<&str, ToolRefusal> {
            args.get(field).and_then(Value::as_str).ok_or(ToolRefusal::BadArgument { field, reason: "required, a string".into() })
        };
        let portfolio = || -> Result<PortfolioId, ToolRefusal> {
            PortfolioId::parse(text("portfolio_id")?)
                .map_err(|_| ToolRefusal::BadArgument { field: "portfolio_id", reason: "not a portfolio id (32 hex digits)".into() })
        };
        Ok(match call.name.as_str() {
            "list_portfolios" => Tool::ListPortfolios,
            "journal_stats" => Tool::JournalStats,
            "portfolio_summary" => Tool::PortfolioSummary { portfolio_id: portfolio()? },
            "holdings" => Tool::Holdings { portfolio_id: portfolio()? },
            "analysis" => Tool::Analysis { portfolio_id: portfolio()? },
            "returns" => {
                let period = match args.get("period") {
                    None | Some(Value::Null) => Period::YearToDate,
                    Some(Value::String(code)) => Period::parse(code)
                        .ok_or(ToolRefusal::BadArgument { field: "period", reason: "one of 1D, WTD, MTD, YTD, 1Y, 3Y, 5Y, MAX".into() })?,
                    Some(_) => return Err(ToolRefusal::BadArgument { field: "period", reason: "a string".into() }),
                };
                Tool::Returns { portfolio_id: portfolio()?, period }
            }
            "screen" => {
                let filter = text("filter")?.trim();
                if filter.is_empty() || filter.chars().count() > MAX_FILTER_CHARS || filter.chars().any(char::is_control) {
                    return Err(ToolRefusal::BadArgument {
                        field: "filter",
                        reason: format!("1 to {MAX_FILTER_CHARS} characters of the screener language"),
                    });
                }
                let limit = match args.get("limit") {
                    None | Some(Value::Null) => 10,
                    Some(v) => match v.as_u64() {
                        Some(n @ 1..=20) => n as u32,
                        _ => {
                            return Err(ToolRefusal::BadArgument {
                                field: "limit",
                                reason: format!("a whole number from 1 to {MAX_SCREEN_ROWS}"),
                            });
                        }
                    },
                };
                Tool::Screen { filter: filter.to_owned(), limit }
            }
            "stock_detail" => Tool::StockDetail {
                symbol: Symbol::parse(text("symbol")?).map_err(|e| ToolRefusal::BadArgument { field: "symbol", reason: e.to_string() })?,
            },
            _ => unreachable!("every known name was matched above"),
        })
    }

    /// The API read this tool is.
    pub fn read(&self) -> ToolRead {
        let get = |path: String| ToolRead { method: "GET", path, query: vec![], body: None };
        match self {
            Tool::ListPortfolios => get("/v1/portfolios".into()),
            Tool::PortfolioSummary { portfolio_id } => get(format!("/v1/portfolios/{portfolio_id}/summary")),
            Tool::Holdings { portfolio_id } => get(format!("/v1/portfolios/{portfolio_id}/holdings")),
            Tool::Returns { portfolio_id, period } => ToolRead {
                query: vec![("period", period.code().to_owned()), ("benchmark", "sp500".into())],
                ..get(format!("/v1/portfolios/{portfolio_id}/returns"))
            },
            Tool::Analysis { portfolio_id } => get(format!("/v1/portfolios/{portfolio_id}/analysis")),
            Tool::JournalStats => get("/v1/journal/stats".into()),
            Tool::Screen { filter, limit } => ToolRead {
                method: "POST",
                path: "/v1/screener/query".into(),
                query: vec![],
                body: Some(json!({ "filter": filter, "limit": limit }).to_string()),
            },
            Tool::StockDetail { symbol } => get(format!("/v1/stocks/{symbol}")),
        }
    }

    /// What every model is told about the tools.
    pub fn specs() -> Vec<ToolSpec> {
        let none = json!({ "type": "object", "properties": {}, "additionalProperties": false });
        let portfolio = json!({
            "type": "object",
            "properties": { "portfolio_id": { "type": "string", "description": "A portfolio id from list_portfolios" } },
            "required": ["portfolio_id"],
            "additionalProperties": false
        });
        vec![
            ToolSpec { name: "list_portfolios", description: "The user's portfolios: id, name, base currency.", parameters: none.clone() },
            ToolSpec {
                name: "portfolio_summary",
                description: "A portfolio's value, cost, profit and loss, day change, allocation by position and sector, top movers, cash.",
                parameters: portfolio.clone(),
            },
            ToolSpec {
                name: "holdings",
                description: "A portfolio's positions: quantity, cost, value, profit and loss.",
                parameters: portfolio.clone(),
            },
            ToolSpec {
                name: "returns",
                description: "A portfolio's time-weighted, money-weighted and simple returns over a period, against the S&P 500.",
                parameters: json!({
                    "type": "object",
                    "properties": {
                        "portfolio_id": { "type": "string" },
                        "period": { "type": "string", "enum": ["1D", "WTD", "MTD", "YTD", "1Y", "3Y", "5Y", "MAX"] }
                    },
                    "required": ["portfolio_id"],
                    "additionalProperties": false
                }),
            },
            ToolSpec {
                name: "analysis",
                description: "The rule-based analysis of a portfolio: largest position, sector weights, concentration, diversification score, fee drag, findings.",
                parameters: portfolio,
            },
            ToolSpec {
                name: "journal_stats",
                description: "Statistics of the user's trading-signals journal (hit rate, average return).",
                parameters: none,
            },
            ToolSpec {
                name: "screen",
                description: "Runs a stock screen over the S&P 500 universe with the screener language, e.g. \"pe < 15 and dividend_yield > 3\".",
                parameters: json!({
                    "type": "object",
                    "properties": {
                        "filter": { "type": "string", "maxLength": MAX_FILTER_CHARS },
                        "limit": { "type": "integer", "minimum": 1, "maximum": MAX_SCREEN_ROWS }
                    },
                    "required": ["filter"],
                    "additionalProperties": false
                }),
            },
            ToolSpec {
                name: "stock_detail",
                description: "One stock's profile, price, valuation, fundamentals and signals.",
                parameters: json!({
                    "type": "object",
                    "properties": { "symbol": { "type": "string", "description": "A ticker such as AAPL or BRK.B" } },
                    "required": ["symbol"],
                    "additionalProperties": false
                }),
            },
        ]
    }
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, arguments: Value) -> ToolCall {
        ToolCall { id: "c1".into(), name: name.into(), arguments }
    }

    const ID: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn valid_calls_become_reads() {
        let tool = Tool::parse(&call("returns", json!({"portfolio_id": ID, "period": "1Y"}))).unwrap();
        let read = tool.read();
        assert_eq!(read.path, format!("/v1/portfolios/{ID}/returns"));
        assert_eq!(read.query, vec![("period", "1Y".to_owned()), ("benchmark", "sp500".to_owned())]);
        assert_eq!(Tool::parse(&call("list_portfolios", Value::Null)).unwrap().read().path, "/v1/portfolios");
        let screen = Tool::parse(&call("screen", json!({"filter": "pe < 15"}))).unwrap();
        assert_eq!(screen, Tool::Screen { filter: "pe < 15".into(), limit: 10 });
        assert_eq!(screen.read().method, "POST");
        let detail = Tool::parse(&call("stock_detail", json!({"symbol": "brk.b"}))).unwrap();
        assert_eq!(detail.read().path, "/v1/stocks/BRK.B");
    }

    #[test]
    fn bad_calls_are_refused_before_anything_runs() {
        let refused = |name: &str, args: Value| Tool::parse(&call(name, args)).unwrap_err();
        assert!(matches!(refused("delete_portfolio", json!({})), ToolRefusal::UnknownTool(_)));
        assert!(matches!(refused("holdings", json!([1])), ToolRefusal::NotAnObject));
        assert!(matches!(refused("holdings", json!({"portfolio_id": ID, "user_id": "x"})), ToolRefusal::UnknownArgument(_)));
        assert!(matches!(
            refused("holdings", json!({"portfolio_id": "../../USER#x"})),
            ToolRefusal::BadArgument { field: "portfolio_id", .. }
        ));
        assert!(matches!(refused("holdings", json!({})), ToolRefusal::BadArgument { field: "portfolio_id", .. }));
        assert!(matches!(
            refused("returns", json!({"portfolio_id": ID, "period": "forever"})),
            ToolRefusal::BadArgument { field: "period", .. }
        ));
        assert!(matches!(refused("screen", json!({"filter": "x".repeat(501)})), ToolRefusal::BadArgument { field: "filter", .. }));
        assert!(matches!(refused("screen", json!({"filter": "pe < 3", "limit": 1000})), ToolRefusal::BadArgument { field: "limit", .. }));
        assert!(matches!(refused("stock_detail", json!({"symbol": "not a symbol!"})), ToolRefusal::BadArgument { field: "symbol", .. }));
    }

    #[test]
    fn every_tool_has_a_spec_and_a_parser() {
        for spec in Tool::specs() {
            assert_eq!(spec.parameters["type"], "object", "{}", spec.name);
            let refusal = Tool::parse(&call(spec.name, json!({})));
            assert!(!matches!(refusal, Err(ToolRefusal::UnknownTool(_))), "{}", spec.name);
        }
    }
}
