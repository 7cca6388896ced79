//! Bourse's domain: values that cannot hold bad data, and the rules over them. No AWS types, no
//! I/O: everything here is unit-tested directly.

pub mod account;
pub mod alerts;
pub mod assistant;
pub mod backoff;
pub mod cash;
pub mod clock;
pub mod dividends;
pub mod fx;
pub mod gcra;
pub mod history;
pub mod ids;
pub mod import;
pub mod inbox;
pub mod indicators;
pub mod jobs;
pub mod journal;
pub mod login_throttle;
pub mod lots;
pub mod mail;
pub mod market_data;
pub mod messages;
pub mod money;
pub mod password_hash;
pub mod performance;
pub mod plan;
pub mod portfolio;
pub mod random;
pub mod returns;
pub mod saved_screen;
pub mod screener;
pub mod sectors;
pub mod signals;
pub mod stock;
pub mod symbol;
pub mod text;
pub mod transaction;
pub mod universe;
pub mod valuation;
pub mod watchlist;
pub mod webhook;

pub use account::{Email, Password, UserId};
pub use clock::{Clock, ManualClock, SystemClock};
pub use ids::{AlertId, PortfolioId, ScreenId, TransactionId, WatchlistId, WebhookId};
pub use plan::{Plan, QuotaState};
pub use symbol::{Symbol, SymbolError};
