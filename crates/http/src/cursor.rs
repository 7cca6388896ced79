//! Opaque list cursors: what a list continues after, hex-encoded so that clients treat it as a
//! token, and decoded only into a value the list itself validates. A cursor is never a storage key
//! handed to the store as is.

/// The longest cursor text accepted (bytes before encoding).
pub const MAX_CURSOR_BYTES: usize = 96;

/// The cursor of `position`.
pub fn encode(position: &str) -> String {
    bourse_domain::text::hex(position.as_bytes())
}

/// The position a cursor encodes, or `None` for anything [`encode`] did not make.
pub fn decode(raw: &str) -> Option<String> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) || raw.len() > 2 * MAX_CURSOR_BYTES {
        return None;
    }
    String::from_utf8(bourse_domain::text::unhex(raw)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_nothing_else_decodes() {
        assert_eq!(decode(&encode("2026-01-15-00ff")).as_deref(), Some("2026-01-15-00ff"));
        for bad in ["", "0", "zz", "c3", &"00".repeat(MAX_CURSOR_BYTES + 1), "TX#2026"] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }
}
