//! Money at the wire. Held as integer fen (`i64`) everywhere; never a float.
//!
//! Channels that speak yuan (`abc`) read the raw text of a JSON number and write
//! `100.00`-style numbers through [`serde_json::value::RawValue`], so nothing goes
//! through `f64` in either direction.

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

/// The most digits before the decimal point (just under a trillion yuan).
const MAX_YUAN_DIGITS: usize = 12;

/// Reads the raw text of a JSON value as a yuan amount: a plain JSON number with at
/// most two decimals and greater than zero (`12`, `12.3`, `12.34`). Strings,
/// negatives, zero, exponents, three decimals and overflow are `None`.
pub fn parse_yuan(raw: &str) -> Option<i64> {
    let text = raw.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
    let (int, frac) = match text.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (text, None),
    };
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if int.len() > 1 && int.starts_with('0') {
        return None; // not a JSON number
    }
    if int.len() > MAX_YUAN_DIGITS {
        return None; // keeps every sum of amounts far from overflow
    }
    let frac_fen = match frac {
        None => 0,
        Some(f) => {
            if f.is_empty() || f.len() > 2 || !f.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let v: i64 = f.parse().ok()?;
            if f.len() == 1 {
                v * 10
            } else {
                v
            }
        }
    };
    let yuan: i64 = int.parse().ok()?;
    let fen = yuan.checked_mul(100)?.checked_add(frac_fen)?;
    (fen > 0).then_some(fen)
}

/// Reads integer fen written as plain digits (`"100"` in a string, `100` as a JSON
/// number's text): no sign, no leading zero, no decimals, greater than zero.
pub fn parse_fen(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > MAX_YUAN_DIGITS + 2 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if text.starts_with('0') {
        return None;
    }
    text.parse::<i64>().ok().filter(|v| *v > 0)
}

/// Whether the raw text of a JSON number is zero or negative (`0`, `0.00`, `-1.5`):
/// a number, but not an amount anyone can pay.
pub fn not_positive(raw: &str) -> bool {
    let text = raw.trim();
    if let Some(rest) = text.strip_prefix('-') {
        return rest.bytes().next().is_some_and(|b| b.is_ascii_digit());
    }
    let mantissa = text.split(['e', 'E']).next().unwrap_or_default();
    !mantissa.is_empty()
        && mantissa.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && mantissa.bytes().any(|b| b.is_ascii_digit())
        && mantissa.bytes().all(|b| b == b'0' || b == b'.')
}

/// A yuan amount written with exactly two decimals (`1.00`), as [`parse_yuan`] reads it.
pub fn parse_yuan_two_decimals(raw: &str) -> Option<i64> {
    let text = raw.trim();
    let (_, frac) = text.split_once('.')?;
    (frac.len() == 2).then(|| parse_yuan(text)).flatten()
}

/// `1234` → `"12.34"`, `5` → `"0.05"`.
pub fn format_yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// An amount in fen that serializes as a JSON number in yuan with exactly two
/// decimals (`100.00`). Only exact with serde_json's own serializer, which is the
/// only one the sandbox uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Yuan(pub i64);

impl Serialize for Yuan {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(format_yuan(self.0)).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exact_yuan() {
        assert_eq!(parse_yuan("100.00"), Some(10000));
        assert_eq!(parse_yuan("88.88"), Some(8888));
        assert_eq!(parse_yuan("12.3"), Some(1230));
        assert_eq!(parse_yuan("12"), Some(1200));
        assert_eq!(parse_yuan("0.01"), Some(1));
        assert_eq!(parse_yuan(" 1.50 "), Some(150));
        assert_eq!(parse_yuan("999999999999.99"), Some(99_999_999_999_999));
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "\"100.00\"",
            "-1.00",
            "0",
            "0.00",
            "1e3",
            "1E3",
            "1.0e2",
            "12.345",
            "12.",
            ".5",
            "012",
            "+1",
            "null",
            "true",
            "",
            "99999999999999999999",
            "92233720368547758.07",
            "1000000000000.00",
        ] {
            assert_eq!(parse_yuan(bad), None, "{bad}");
        }
    }

    #[test]
    fn integer_fen() {
        assert_eq!(parse_fen("100"), Some(100));
        assert_eq!(parse_fen("1"), Some(1));
        assert_eq!(parse_fen("99999999999999"), Some(99_999_999_999_999));
        for bad in ["", "0", "00", "0100", "-1", "1.00", "1e2", " 1", "+1", "100000000000000", "１"] {
            assert_eq!(parse_fen(bad), None, "{bad}");
        }
    }

    #[test]
    fn zero_and_negative_numbers() {
        for z in ["0", "0.00", "0.0", "-1", "-0.01", "-5.00", "0e3"] {
            assert!(not_positive(z), "{z}");
        }
        for p in ["1", "0.01", "12.5", "\"0\"", "abc", "", "-", "null"] {
            assert!(!not_positive(p), "{p}");
        }
        assert_eq!(parse_yuan_two_decimals("1.00"), Some(100));
        assert_eq!(parse_yuan_two_decimals("88.88"), Some(8888));
        for bad in ["1", "1.0", "1.000", "0.00", "\"1.00\""] {
            assert_eq!(parse_yuan_two_decimals(bad), None, "{bad}");
        }
    }

    #[test]
    fn writes_two_decimals() {
        assert_eq!(format_yuan(10000), "100.00");
        assert_eq!(format_yuan(5), "0.05");
        assert_eq!(format_yuan(-150), "-1.50");
        #[derive(Serialize)]
        struct T {
            amount: Yuan,
        }
        let text = serde_json::to_string(&T { amount: Yuan(8880) }).unwrap_or_default();
        assert_eq!(text, r#"{"amount":88.80}"#);
    }
}
