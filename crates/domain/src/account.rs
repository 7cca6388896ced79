//! Accounts: parse, don't validate. An [`Email`] is normalised (trimmed, lower-cased) so that
//! uniqueness is case-insensitive; a [`Password`] is 8–128 characters and not guessable by a
//! strength estimator; a [`UserId`] is 128 random bits in hex.

use serde::{Serialize, Serializer};
use std::fmt;

/// Why an email address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("must be an email address such as name@example.com")]
    Invalid,
    #[error("must be at most 254 characters")]
    TooLong,
}

/// A normalised email address: trimmed and lower-cased, one `@`, a dotted domain, no spaces or
/// control characters, at most 254 characters (RFC 5321's path limit).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let value = raw.trim().to_lowercase();
        if value.chars().count() > 254 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = value.split_once('@').ok_or(EmailError::Invalid)?;
        let bad_char = |c: char| {
            c.is_whitespace() || c.is_control() || matches!(c, '@' | '<' | '>' | '(' | ')' | ',' | ';' | ':' | '\\' | '"' | '[' | ']')
        };
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'))
            && !domain.chars().any(bad_char);
        if local.is_empty() || local.len() > 64 || local.chars().any(bad_char) || !domain_ok {
            return Err(EmailError::Invalid);
        }
        Ok(Email(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Email {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 128;
/// zxcvbn scores 0–4; 3 means "safely unguessable: moderate protection from offline slow-hash
/// scenario" (≥ 10^8 guesses).
pub const PASSWORD_MIN_SCORE: u8 = 3;

/// Why a password was refused. The messages are safe to show: they never echo the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("must be at least {PASSWORD_MIN_CHARS} characters")]
    TooShort,
    #[error("must be at most {PASSWORD_MAX_CHARS} characters")]
    TooLong,
    #[error("is too easy to guess{0}")]
    Weak(String),
}

/// A password that met the policy at registration. Never printed: `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Words about this service that an attacker guessing a user's password would try first: a new
/// password made of them scores as weak.
pub const CONTEXT_WORDS: &[&str] = &[
    "bourse",
    "bourseapp",
    "portfolio",
    "portfolios",
    "screener",
    "stocks",
    "stock",
    "invest",
    "investing",
    "investor",
    "trading",
    "signals",
    "journal",
    "dividend",
];

impl Password {
    /// A new password: length in characters (not bytes) from 8 to 128, longer is refused rather
    /// than cut; and a zxcvbn score of at least 3, counting as known to an attacker `user_inputs`
    /// (the email: whole, its local part and its domain's labels) and [`CONTEXT_WORDS`].
    pub fn new_for_account(raw: &str, user_inputs: &[&str]) -> Result<Self, PasswordError> {
        let chars = raw.chars().count();
        if chars < PASSWORD_MIN_CHARS {
            return Err(PasswordError::TooShort);
        }
        if chars > PASSWORD_MAX_CHARS {
            return Err(PasswordError::TooLong);
        }
        let mut known: Vec<&str> = CONTEXT_WORDS.to_vec();
        for input in user_inputs {
            known.push(input);
            if let Some((local, domain)) = input.split_once('@') {
                known.push(local);
                known.extend(domain.split('.'));
            }
        }
        let estimate = zxcvbn::zxcvbn(raw, &known);
        if u8::from(estimate.score()) < PASSWORD_MIN_SCORE {
            let hint = estimate.feedback().and_then(|f| f.warning().map(|w| format!(": {w}"))).unwrap_or_default();
            return Err(PasswordError::Weak(hint));
        }
        Ok(Password(raw.to_owned()))
    }

    /// A password presented at login: only the length bound applies (an over-long one can never
    /// match, and hashing it would waste work), strength was checked when it was set.
    pub fn presented(raw: &str) -> Result<Self, PasswordError> {
        if raw.chars().count() > PASSWORD_MAX_CHARS {
            return Err(PasswordError::TooLong);
        }
        Ok(Password(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Why a user id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a user id")]
pub struct UserIdError;

/// A user id: 32 lower-case hex digits (128 random bits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

impl UserId {
    pub fn parse(raw: &str) -> Result<Self, UserIdError> {
        if crate::text::is_lower_hex(raw, 32) { Ok(UserId(raw.to_owned())) } else { Err(UserIdError) }
    }

    /// From 16 random bytes (the caller supplies the randomness: the domain does no I/O).
    pub fn from_random(bytes: [u8; 16]) -> Self {
        UserId(crate::text::hex(&bytes))
    }
}

crate::ids::text_id!(UserId);

/// Where a session signed in from, without keeping the address: an IPv4 address's /24 network,
/// an IPv6 address's /48. `None` for what is not an address.
pub fn approximate_source(address: &str) -> Option<String> {
    match address.trim().parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            Some(format!("{a}.{b}.{c}.0/24"))
        }
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            Some(format!("{}/48", std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_is_kept_only_to_its_network() {
        assert_eq!(approximate_source("203.0.113.77").as_deref(), Some("203.0.113.0/24"));
        assert_eq!(approximate_source("2001:db8:abcd:12::1").as_deref(), Some("2001:db8:abcd::/48"));
        assert_eq!(approximate_source("unknown"), None);
        assert_eq!(approximate_source(""), None);
    }

    #[test]
    fn emails_are_normalised_so_uniqueness_ignores_case() {
        assert_eq!(Email::parse("  Ada.Lovelace@Example.COM ").unwrap().as_str(), "ada.lovelace@example.com");
        assert_eq!(Email::parse("A@b.co").unwrap(), Email::parse("a@B.CO").unwrap());
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in
            ["", "plain", "@example.com", "a@", "a@localhost", "a b@example.com", "a@@example.com", "a@-x.com", "a@x..com", "a\u{0}@x.com"]
        {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn password_length_is_counted_in_characters_and_never_truncated() {
        assert_eq!(Password::new_for_account("short", &[]), Err(PasswordError::TooShort));
        let long = "correct horse battery staple ".repeat(5); // 145 characters
        assert_eq!(Password::new_for_account(&long, &[]), Err(PasswordError::TooLong));
        assert_eq!(Password::presented(&long), Err(PasswordError::TooLong));
        // 128 multi-byte characters are allowed although they are 256 bytes.
        let wide: String = "é€ü漢字かなカナ".chars().cycle().take(128).collect();
        assert!(Password::new_for_account(&wide, &[]).is_ok());
    }

    #[test]
    fn weak_passwords_are_refused_by_the_estimator() {
        for weak in ["password", "password123", "12345678", "qwertyuiop", "ada@example.com1"] {
            assert!(matches!(Password::new_for_account(weak, &["ada@example.com"]), Err(PasswordError::Weak(_))), "{weak}");
        }
        assert!(Password::new_for_account("tangerine-Orbit-47-quietly", &["ada@example.com"]).is_ok());
    }

    #[test]
    fn the_service_s_own_words_count_as_known() {
        // Each is strong enough for zxcvbn alone; the context is what gives it away.
        for weak in ["bourseinvestor", "screenerbourse"] {
            assert!(u8::from(zxcvbn::zxcvbn(weak, &[]).score()) >= PASSWORD_MIN_SCORE, "{weak} is weak even without the context");
            let refused = Password::new_for_account(weak, &["lovelace@example.com"]);
            assert!(matches!(refused, Err(PasswordError::Weak(_))), "{weak}: {refused:?}");
        }
    }

    #[test]
    fn passwords_never_print() {
        let p = Password::presented("hunter2-secret").unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn user_ids_are_32_hex_digits() {
        let id = UserId::from_random([0xab; 16]);
        assert_eq!(UserId::parse(id.as_str()).unwrap(), id);
        assert!(UserId::parse("ABAB").is_err());
        assert!(UserId::parse(&"g".repeat(32)).is_err());
    }
}
