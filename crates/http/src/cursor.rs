//! Opaque list cursors: what a list continues after, hex-encoded so that clients treat it as a
//! token, and decoded only into a value the list itself validates. A cursor is never a storage key
//! handed to the store as is.

/// The longest cursor text accepted (bytes before encoding).
pub const MAX_CURSOR_BYTES: usize = 96;

/// The cursor of `position`.
pub fn encode(position: &str) -> String {
    position.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The position a cursor encodes, or `None` for anything [`encode`] did not make.
pub fn decode(raw: &str) -> Option<String> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) || raw.len() > 2 * MAX_CURSOR_BYTES {
        return None;
    }
    let bytes: Vec<u8> =
        (0..raw.len()).step_by(2).map(|i| raw.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect::<Option<_>>()?;
    String::from_utf8(bytes).ok()
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
