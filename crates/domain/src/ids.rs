//! Ids of what users own. Each is parsed once where it enters — a token's subject, a path, a
//! cursor, a stored item — so keys are only ever built from valid ids, and a user id cannot be
//! passed where a portfolio id belongs.

use crate::text::{is_lower_hex, parse_date};
use time::Date;

/// `as_str`, `Display`, `AsRef<str>`, `From<&Id> for String` and (unless the type derives its own)
/// `Serialize` and a parsing `Deserialize`, as the plain string, for an id that is a newtype over `String`.
macro_rules! text_id {
    (@base $name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&$name> for String {
            fn from(id: &$name) -> String {
                id.0.clone()
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
    ($($name:ident),+) => {
        $(
            $crate::ids::text_id!(@base $name);

            impl serde::Serialize for $name {
                fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    s.serialize_str(&self.0)
                }
            }

            impl<'de> serde::Deserialize<'de> for $name {
                fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    $name::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
                }
            }
        )+
    };
}
pub(crate) use text_id;

/// An id of 128 random bits, written as 32 lower-case hex digits, with its parse error.
macro_rules! random_id {
    ($(#[$doc:meta])* $name:ident, $error:ident, $what:literal) => {
        #[doc = concat!("Why text was refused: ", $what, ".")]
        #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
        #[error($what)]
        pub struct $error;

        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn parse(text: &str) -> Result<Self, $error> {
                if is_lower_hex(text, 32) { Ok($name(text.to_owned())) } else { Err($error) }
            }

            /// From 16 random bytes (the caller supplies the randomness: the domain does no I/O).
            pub fn from_random(bytes: [u8; 16]) -> Self {
                $name(crate::text::hex(&bytes))
            }
        }
    };
}

random_id!(
    /// A portfolio id: 32 lower-case hex digits (128 random bits).
    PortfolioId,
    InvalidPortfolioId,
    "not a portfolio id"
);
random_id!(
    /// A watchlist id: 32 lower-case hex digits (128 random bits).
    WatchlistId,
    InvalidWatchlistId,
    "not a watchlist id"
);
random_id!(
    /// A webhook endpoint's id: 32 lower-case hex digits (128 random bits).
    WebhookId,
    InvalidWebhookId,
    "not a webhook id"
);
random_id!(
    /// A saved screen's id: 32 lower-case hex digits (128 random bits).
    ScreenId,
    InvalidScreenId,
    "not a screen id"
);
random_id!(
    /// An alert's id: 32 lower-case hex digits (128 random bits).
    AlertId,
    InvalidAlertId,
    "not an alert id"
);

random_id!(
    /// An assistant thread's id: 32 lower-case hex digits. Made by [`ThreadId::new`] from the
    /// creation time and random bits, so ids sort by creation (newest first in a descending Query).
    ThreadId,
    InvalidThreadId,
    "not a thread id"
);
random_id!(
    /// A saved provider key's id (the assistant's bring-your-own keys): 32 lower-case hex digits.
    AssistantKeyId,
    InvalidAssistantKeyId,
    "not a key id"
);

impl ThreadId {
    /// 12 hex digits of the creation time in milliseconds, then 20 of randomness.
    pub fn new(created_ms: u64, random: [u8; 10]) -> Self {
        ThreadId(format!("{:012x}{}", created_ms & 0xffff_ffff_ffff, crate::text::hex(&random)))
    }
}

/// Text that is not a transaction id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a transaction id")]
pub struct InvalidTransactionId;

/// A transaction id: `<trade date YYYY-MM-DD>-<16 lower-case hex digits>`. The trade date leads,
/// so the transaction's place in its portfolio (by date) is known from the id alone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(String);

impl TransactionId {
    pub fn parse(text: &str) -> Result<Self, InvalidTransactionId> {
        let valid = text.len() == 27 && text.as_bytes()[10] == b'-' && parse_date(&text[..10]).is_ok() && is_lower_hex(&text[11..], 16);
        if valid { Ok(TransactionId(text.to_owned())) } else { Err(InvalidTransactionId) }
    }

    /// The id of a transaction traded on `trade_date`, unique by the first 16 hex digits of
    /// `hex` (random, or a fingerprint of an imported row).
    pub fn new(trade_date: Date, hex: &str) -> Result<Self, InvalidTransactionId> {
        Self::parse(&format!("{trade_date}-{}", hex.get(..16).ok_or(InvalidTransactionId)?))
    }

    /// The id of a transaction traded on `trade_date`, unique by 8 random bytes.
    pub fn from_random(trade_date: Date, bytes: [u8; 8]) -> Self {
        TransactionId(format!("{trade_date}-{}", crate::text::hex(&bytes)))
    }

    /// `YYYY-MM-DD`.
    pub fn trade_date(&self) -> &str {
        &self.0[..10]
    }
}

text_id!(PortfolioId, WatchlistId, WebhookId, ScreenId, AlertId, TransactionId, ThreadId, AssistantKeyId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portfolio_ids_are_32_lower_hex_digits() {
        let id = PortfolioId::from_random([0xab; 16]);
        assert_eq!(PortfolioId::parse(id.as_str()), Ok(id));
        for bad in ["", "AB".repeat(16).as_str(), &"a".repeat(31), &"a".repeat(33), &format!("{}g", "a".repeat(31))] {
            assert_eq!(PortfolioId::parse(bad), Err(InvalidPortfolioId), "{bad:?}");
        }
    }

    #[test]
    fn a_transaction_id_leads_with_its_trade_date() {
        let date = parse_date("2026-03-09").unwrap();
        let id = TransactionId::new(date, "0123456789abcdef0123").unwrap();
        assert_eq!(id.as_str(), "2026-03-09-0123456789abcdef");
        assert_eq!(id.trade_date(), "2026-03-09");
        assert_eq!(TransactionId::parse(id.as_str()), Ok(id));
        assert_eq!(TransactionId::new(date, "abc"), Err(InvalidTransactionId));
        let random = TransactionId::from_random(date, [0xab; 8]);
        assert_eq!(random.as_str(), "2026-03-09-abababababababab");
        assert_eq!(TransactionId::parse(random.as_str()), Ok(random));
    }

    #[test]
    fn malformed_transaction_ids_are_refused() {
        for bad in [
            "",
            "2026-03-09",
            "2026-03-09-0123456789ABCDEF",
            "2026-02-30-0123456789abcdef",
            "2026-03-09_0123456789abcdef",
            "2026-03-09-0123456789abcdef0",
            "TX#2026-03-09#0123456789abcd",
        ] {
            assert_eq!(TransactionId::parse(bad), Err(InvalidTransactionId), "{bad:?}");
        }
    }
}
