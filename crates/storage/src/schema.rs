//! Key and index names. They must match `template.yaml` (checked by the devtools template test),
//! since the local stack creates its tables from the template.

/// Partition key of every table.
pub const PK: &str = "pk";
/// Sort key of every table.
pub const SK: &str = "sk";
/// Expiry attribute (epoch seconds) every table enables TTL on.
pub const TTL: &str = "ttl";

/// Both tables have two sparse general-purpose indexes with these names; what each holds is
/// said per table below.
pub const GSI1: &str = "gsi1";
pub const GSI1_PK: &str = "gsi1pk";
pub const GSI1_SK: &str = "gsi1sk";
pub const GSI2: &str = "gsi2";
pub const GSI2_PK: &str = "gsi2pk";
pub const GSI2_SK: &str = "gsi2sk";
/// The App table's owner index (keys only): items whose key does not name their user.
pub const GSI3: &str = "gsi3";
pub const GSI3_PK: &str = "gsi3pk";
pub const GSI3_SK: &str = "gsi3sk";

/// App table (user-owned data): gsi1 holds journal signals by symbol, open jobs and the
/// active-portfolio shards; gsi2 journal signals by status; gsi3 (keys only) the items of a user
/// whose own key does not name the user — refresh tokens, account tokens, idempotency records and
/// jobs — so that deleting an account finds them without a Scan.
pub mod app {
    pub use super::{GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, GSI3, GSI3_PK, GSI3_SK};

    /// The owner-index partition of a user's items.
    pub fn owner_pk(user: &bourse_domain::UserId) -> String {
        format!("OWNER#{user}")
    }
}

/// Market table (stocks, quotes, history, market signals): gsi1 holds stocks by sector ordered by
/// market cap; gsi2 the prefix search on symbol and name words.
pub mod market {
    pub use super::{GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK};
}

/// Every (table, index, hash key, range key) the code relies on; `None` index is the base table.
pub const KEY_SCHEMAS: &[(&str, Option<&str>, &str, &str)] = &[
    ("AppTable", None, PK, SK),
    ("AppTable", Some(app::GSI1), app::GSI1_PK, app::GSI1_SK),
    ("AppTable", Some(app::GSI2), app::GSI2_PK, app::GSI2_SK),
    ("AppTable", Some(app::GSI3), app::GSI3_PK, app::GSI3_SK),
    ("MarketTable", None, PK, SK),
    ("MarketTable", Some(market::GSI1), market::GSI1_PK, market::GSI1_SK),
    ("MarketTable", Some(market::GSI2), market::GSI2_PK, market::GSI2_SK),
];

/// The item every health check reads: a fixed key that costs one eventually consistent read
/// (0.5 RCU) whether or not the item exists.
pub const HEALTH_KEY: &str = "HEALTH";
