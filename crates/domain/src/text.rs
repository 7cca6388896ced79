//! The text forms every layer shares, written once: calendar dates (`YYYY-MM-DD`), instants
//! (RFC 3339) and bytes as lower-case hex. Handlers, the consumer, storage and the providers parse
//! and print these through here, so each form is accepted and written the same way everywhere.

use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

/// Why a calendar date was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("expected a date as YYYY-MM-DD")]
    Shape,
    #[error("dates start at 1900-01-01")]
    BeforeRange,
}

/// A calendar date `YYYY-MM-DD` (surrounding blanks ignored): exactly four digits of year (no
/// sign, no fifth digit), from 1900. A date starts keys and ids that must stay `YYYY-MM-DD…` to
/// sort and be found again, and date arithmetic on it (a range of a year back) never leaves the
/// representable range.
pub fn parse_date(raw: &str) -> Result<Date, DateError> {
    let raw = raw.trim();
    let shaped = raw.len() == 10 && raw.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = shaped.then(|| Date::parse(raw, &format).ok()).flatten().ok_or(DateError::Shape)?;
    if date.year() < 1900 {
        return Err(DateError::BeforeRange);
    }
    Ok(date)
}

/// Why an RFC 3339 time was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("expected an RFC 3339 time, e.g. 2026-11-25T21:30:00Z")]
    Shape,
}

/// `at` in RFC 3339, e.g. `2026-11-25T21:30:00Z` (fractional seconds only when `at` has them).
pub fn rfc3339(at: OffsetDateTime) -> String {
    // Formatting fails only for years beyond 9999, which no clock of ours reaches.
    at.format(&Rfc3339).unwrap_or_default()
}

/// An RFC 3339 time (surrounding blanks ignored), in whatever offset it names.
pub fn parse_rfc3339(raw: &str) -> Result<OffsetDateTime, TimeError> {
    OffsetDateTime::parse(raw.trim(), &Rfc3339).map_err(|_| TimeError::Shape)
}

/// `bytes` as lower-case hex, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The bytes of hex text (either case), or `None` for an odd length or a non-hex digit.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    // Digit by digit: `u8::from_str_radix` would also take a sign ("+f").
    let digit = |b: u8| char::from(b).to_digit(16).map(|d| d as u8);
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes.chunks(2).map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?)).collect()
}

/// True for a lower-case hex string of exactly `len` digits (how minted ids are checked).
/// Whether `text` is a time-ordered id: 13 digits of epoch milliseconds, `-`, 12 lower-case hex
/// digits (ids of this shape sort by creation time).
pub fn is_time_ordered_id(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 26 && bytes[13] == b'-' && bytes[..13].iter().all(u8::is_ascii_digit) && is_lower_hex(&text[14..], 12)
}

/// The time-ordered id at `epoch_millis` with the first 12 hex digits of `hex` (lower-cased);
/// `None` when `hex` is shorter or not hex.
pub fn time_ordered_id(epoch_millis: i64, hex: &str) -> Option<String> {
    let id = format!("{:013}-{}", epoch_millis.max(0), hex.get(..12)?.to_ascii_lowercase());
    is_time_ordered_id(&id).then_some(id)
}

pub fn is_lower_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_four_digit_years_from_1900() {
        assert_eq!(parse_date(" 2026-01-15 ").unwrap().to_string(), "2026-01-15");
        assert_eq!(parse_date("2024-02-29").unwrap().to_string(), "2024-02-29");
        // A signed or six-digit year would start an id the service could never find again.
        for bad in [
            "-0001-01-01",
            "+2026-01-02",
            "+02026-01-02",
            "02026-01-02",
            "2026-1-02",
            "2026-02-30",
            "2025-02-29",
            "2026-13-01",
            "2026/01/15",
            "2026-11-25T00",
            "tomorrow",
            "",
        ] {
            assert_eq!(parse_date(bad), Err(DateError::Shape), "{bad}");
        }
        for early in ["0000-01-01", "1899-12-31"] {
            assert_eq!(parse_date(early), Err(DateError::BeforeRange), "{early}");
        }
        assert_eq!(DateError::Shape.to_string(), "expected a date as YYYY-MM-DD");
    }

    #[test]
    fn times_round_trip_through_rfc_3339() {
        let at = parse_rfc3339(" 2026-11-25T21:30:00Z").unwrap();
        assert_eq!(at.unix_timestamp(), 1_795_642_200);
        assert_eq!(rfc3339(at), "2026-11-25T21:30:00Z");
        assert_eq!(rfc3339(at + time::Duration::milliseconds(250)), "2026-11-25T21:30:00.25Z");
        assert!(!parse_rfc3339("2026-11-25T22:30:00+01:00").unwrap().offset().is_utc());
        assert_eq!(parse_rfc3339("2026-11-25"), Err(TimeError::Shape));
    }

    #[test]
    fn hex_round_trips_and_refuses_what_it_did_not_make() {
        assert_eq!(hex(&[0x00, 0xab, 0x0f, 0xff]), "00ab0fff");
        assert_eq!(hex(&[]), "");
        assert_eq!(unhex("00ab0fff").unwrap(), [0x00, 0xab, 0x0f, 0xff]);
        assert_eq!(unhex("00AB").unwrap(), [0x00, 0xab]);
        for bad in ["0", "zz", "0g", "+1", "é1"] {
            assert_eq!(unhex(bad), None, "{bad}");
        }
        assert!(is_lower_hex("00ab", 4));
        assert!(!is_lower_hex("00AB", 4));
        assert!(!is_lower_hex("00ab", 6));
    }
}
