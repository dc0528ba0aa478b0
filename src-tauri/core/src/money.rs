//! Money is an integer number of fen. No floats, anywhere.
//!
//! Two text forms exist: what a clerk types ([`Fen::parse_input`], strict, with a ceiling) and
//! what a channel sends as yuan ([`Fen::parse_yuan_wire`], exact decimal text of a JSON number or
//! string). Channels that speak yuan write it with exactly two decimals through [`yuan_json`].

use crate::i18n::{Lang, Localized};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount of money in fen (1/100 yuan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Fen(pub i64);

/// The default ceiling for one payment: ¥50,000.00.
pub const DEFAULT_CEILING: Fen = Fen(5_000_000);

/// Enough integer digits for any real amount, few enough that i64 never overflows.
const MAX_INTEGER_DIGITS: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("the amount is empty")]
    Empty,
    #[error("the amount has spaces around it")]
    Whitespace,
    #[error("the amount is negative")]
    Negative,
    #[error("the amount uses exponent notation")]
    Exponent,
    #[error("the amount contains characters other than ASCII digits and one decimal point")]
    NotAsciiDigits,
    #[error("the amount has more than two decimals")]
    TooManyDecimals,
    #[error("the amount is not a number like 12.34")]
    Malformed,
    #[error("the amount must be more than zero")]
    Zero,
    #[error("the amount {amount} is above the ceiling of {ceiling} per payment")]
    AboveCeiling { amount: Fen, ceiling: Fen },
}

impl Localized for AmountError {
    fn message(&self, lang: Lang) -> String {
        use AmountError::*;
        match self {
            Empty => lang.pick("请输入金额", "Enter an amount").into(),
            Whitespace => lang.pick("金额前后不能有空格", "The amount must not have spaces").into(),
            Negative => lang.pick("金额不能为负数", "The amount cannot be negative").into(),
            Exponent => lang.pick("金额不能用科学计数法", "Write the amount as digits, like 12.34").into(),
            NotAsciiDigits => {
                lang.pick("金额只能包含半角数字和一个小数点", "Use only the digits 0-9 and one decimal point").into()
            }
            TooManyDecimals => lang.pick("金额最多两位小数（分）", "At most two decimals (fen)").into(),
            Malformed => lang.pick("金额格式不对，例如 12.34", "Not an amount; write it like 12.34").into(),
            Zero => lang.pick("金额必须大于零", "The amount must be more than zero").into(),
            AboveCeiling { amount, ceiling } => match lang {
                Lang::Zh => format!("金额 ¥{amount} 超过单笔上限 ¥{ceiling}"),
                Lang::En => format!("¥{amount} is above the limit of ¥{ceiling} per payment"),
            },
        }
    }
}

impl Fen {
    pub const ZERO: Fen = Fen(0);

    /// Parses what a person typed: `12`, `12.3`, `12.34`; nothing else.
    pub fn parse_input(text: &str, ceiling: Fen) -> Result<Fen, AmountError> {
        if text.is_empty() {
            return Err(AmountError::Empty);
        }
        if text.trim() != text {
            return Err(AmountError::Whitespace);
        }
        check_characters(text)?;
        parse_decimal(text, 2, false)?.payable(ceiling)
    }

    /// One payment's amount: more than zero, at most the ceiling.
    pub fn payable(self, ceiling: Fen) -> Result<Fen, AmountError> {
        match self {
            Fen(f) if f < 0 => Err(AmountError::Negative),
            Fen(0) => Err(AmountError::Zero),
            f if f > ceiling => Err(AmountError::AboveCeiling { amount: f, ceiling }),
            f => Ok(f),
        }
    }

    /// Reads a yuan amount sent by a channel, exactly: `100`, `100.0`, `100.00` are 10000 fen;
    /// extra decimals are accepted only when they are zeros (`100.000`); negatives, exponents and
    /// anything else are errors (the caller turns them into an `Unknown` reply).
    pub fn parse_yuan_wire(text: &str) -> Result<Fen, AmountError> {
        if text.is_empty() {
            return Err(AmountError::Empty);
        }
        check_characters(text)?;
        parse_decimal(text, 2, true)
    }

    /// The amount as yuan text with exactly two decimals: `1234` → `12.34`.
    pub fn yuan_text(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }

    /// The amount as the shortest yuan text, trailing zeros dropped: `1230` → `12.3`, `1200` →
    /// `12`, `5` → `0.05`. What a reader that parses a JSON number prints back.
    pub fn plain_yuan_text(self) -> String {
        let text = self.yuan_text();
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }

    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).map(Fen)
    }

    pub fn checked_sub(self, other: Fen) -> Option<Fen> {
        self.0.checked_sub(other.0).map(Fen)
    }
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.yuan_text())
    }
}

/// The reasons a text is not an amount that can be told from its characters alone.
fn check_characters(text: &str) -> Result<(), AmountError> {
    if text.starts_with('-') {
        return Err(AmountError::Negative);
    }
    if text.contains(['e', 'E']) {
        return Err(AmountError::Exponent);
    }
    if !text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(AmountError::NotAsciiDigits);
    }
    Ok(())
}

/// `digits[.digits]` with at most `decimals` significant decimals. With `zero_tail`, further
/// decimals are allowed when they are all `0`. Leading zeros are refused (except `0.xx`).
fn parse_decimal(text: &str, decimals: usize, zero_tail: bool) -> Result<Fen, AmountError> {
    let (int_part, frac_part) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text, None),
    };
    if int_part.is_empty() || int_part.len() > MAX_INTEGER_DIGITS {
        return Err(AmountError::Malformed);
    }
    if int_part.len() > 1 && int_part.starts_with('0') {
        return Err(AmountError::Malformed);
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AmountError::Malformed);
    }
    let mut frac_digits = frac_part.unwrap_or("");
    if frac_part.is_some() && frac_digits.is_empty() {
        return Err(AmountError::Malformed);
    }
    if !frac_digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AmountError::Malformed);
    }
    if frac_digits.len() > decimals {
        let (kept, tail) = frac_digits.split_at(decimals);
        if !zero_tail || tail.bytes().any(|b| b != b'0') {
            return Err(AmountError::TooManyDecimals);
        }
        frac_digits = kept;
    }
    let mut fen: i64 = 0;
    for b in int_part.bytes() {
        fen = fen * 10 + i64::from(b - b'0');
    }
    let mut frac: i64 = 0;
    for i in 0..decimals {
        let d = frac_digits.as_bytes().get(i).map_or(0, |b| i64::from(b - b'0'));
        frac = frac * 10 + d;
    }
    Ok(Fen(fen * 100 + frac))
}

/// Serde for yuan on the wire: written as a JSON number with exactly two decimals (`88.88`,
/// `100.00`), read exactly from a JSON number or a string, never through a float.
pub mod yuan_json {
    use super::Fen;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_json::value::RawValue;

    pub fn serialize<S: Serializer>(fen: &Fen, s: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(fen.yuan_text()).map_err(serde::ser::Error::custom)?;
        serde::Serialize::serialize(&raw, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Fen, D::Error> {
        let raw: Box<RawValue> = Deserialize::deserialize(d)?;
        from_raw(&raw).map_err(D::Error::custom)
    }

    /// The text of a raw JSON number or string, parsed exactly.
    pub fn from_raw(raw: &RawValue) -> Result<Fen, super::AmountError> {
        let text = raw.get();
        let inner = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
        Fen::parse_yuan_wire(inner)
    }

    /// For optional fields in replies: absent or `null` is `None`; a present amount must parse.
    pub mod option {
        use super::*;

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Fen>, D::Error> {
            let raw: Option<Box<RawValue>> = Deserialize::deserialize(d)?;
            match raw {
                None => Ok(None),
                Some(r) if r.get() == "null" => Ok(None),
                Some(r) => from_raw(&r).map(Some).map_err(D::Error::custom),
            }
        }
    }
}

/// Serde for integer fen on the wire (Lakala, the cash desk): written as a JSON integer, read
/// exactly from a JSON integer or a string of digits, never through a float.
pub mod fen_json {
    use super::Fen;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_json::value::RawValue;

    pub fn serialize<S: Serializer>(fen: &Fen, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(fen.0)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Fen, D::Error> {
        let raw: Box<RawValue> = Deserialize::deserialize(d)?;
        from_raw(&raw).map_err(D::Error::custom)
    }

    /// `100`, `"100"` (and `100.00`, whose decimals are zeros) are 100 fen; anything else is an error.
    pub fn from_raw(raw: &RawValue) -> Result<Fen, super::AmountError> {
        let text = raw.get();
        let inner = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
        if inner.is_empty() {
            return Err(super::AmountError::Empty);
        }
        super::check_characters(inner)?;
        let digits = match inner.split_once('.') {
            Some((int, zeros)) if !zeros.is_empty() && zeros.bytes().all(|b| b == b'0') => int,
            Some(_) => return Err(super::AmountError::TooManyDecimals),
            None => inner,
        };
        // The same bound as yuan amounts, two digits longer for the fen.
        let well_formed = !digits.is_empty()
            && digits.len() <= super::MAX_INTEGER_DIGITS + 2
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !(digits.len() > 1 && digits.starts_with('0'));
        if !well_formed {
            return Err(super::AmountError::Malformed);
        }
        digits.parse::<i64>().map(Fen).map_err(|_| super::AmountError::Malformed)
    }

    /// Written as a JSON string of digits (`"100"`), as Lakala's scan calls want it.
    pub mod string {
        use super::Fen;
        use serde::Serializer;

        pub fn serialize<S: Serializer>(fen: &Fen, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&fen.0.to_string())
        }
    }

    /// For optional fields in replies: absent or `null` is `None`; a present amount must parse.
    pub mod option {
        use super::*;

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Fen>, D::Error> {
            let raw: Option<Box<RawValue>> = Deserialize::deserialize(d)?;
            match raw {
                None => Ok(None),
                Some(r) if r.get() == "null" => Ok(None),
                Some(r) => from_raw(&r).map(Some).map_err(D::Error::custom),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn plain_yuan_text_drops_trailing_zeros_only() {
        let plain = |f| super::Fen(f).plain_yuan_text();
        assert_eq!(
            (plain(1230), plain(1200), plain(1234), plain(5), plain(10000), plain(0)),
            (
                "12.3".to_string(),
                "12".to_string(),
                "12.34".to_string(),
                "0.05".to_string(),
                "100".to_string(),
                "0".to_string()
            )
        );
    }

    use super::*;

    fn parse(s: &str) -> Result<Fen, AmountError> {
        Fen::parse_input(s, DEFAULT_CEILING)
    }

    #[test]
    fn integer_fen_on_the_wire_is_read_exactly() {
        use serde_json::value::RawValue;
        let read = |t: &str| fen_json::from_raw(&RawValue::from_string(t.to_string()).unwrap());
        assert_eq!(read("100"), Ok(Fen(100)));
        assert_eq!(read("\"100\""), Ok(Fen(100)));
        assert_eq!(read("100.00"), Ok(Fen(100)));
        assert!(read("100.5").is_err());
        assert!(read("-1").is_err());
        assert!(read("1e2").is_err());
        assert!(read("\"\"").is_err());
        assert!(read("99999999999999999999999").is_err());
    }

    #[test]
    fn accepts_whole_one_and_two_decimals() {
        assert_eq!(parse("12"), Ok(Fen(1200)));
        assert_eq!(parse("12.3"), Ok(Fen(1230)));
        assert_eq!(parse("12.34"), Ok(Fen(1234)));
        assert_eq!(parse("0.01"), Ok(Fen(1)));
        assert_eq!(parse("50000"), Ok(Fen(5_000_000)));
        assert_eq!(parse("50000.00"), Ok(Fen(5_000_000)));
    }

    #[test]
    fn rejects_every_form_the_design_names() {
        assert_eq!(parse("12.345"), Err(AmountError::TooManyDecimals));
        assert_eq!(parse("-1"), Err(AmountError::Negative));
        assert_eq!(parse("1e3"), Err(AmountError::Exponent));
        assert_eq!(parse(""), Err(AmountError::Empty));
        assert_eq!(parse(" 1"), Err(AmountError::Whitespace));
        assert_eq!(parse("1 "), Err(AmountError::Whitespace));
        assert_eq!(parse("１２"), Err(AmountError::NotAsciiDigits));
        assert_eq!(parse("12．34"), Err(AmountError::NotAsciiDigits));
        assert_eq!(
            parse("50000.01"),
            Err(AmountError::AboveCeiling { amount: Fen(5_000_001), ceiling: DEFAULT_CEILING })
        );
    }

    #[test]
    fn rejects_other_malformed_text() {
        for bad in ["12.", ".5", "1.2.3", "012", "00.5", "+1", "1,000", "¥12", "12元", "0x10"] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(parse("0"), Err(AmountError::Zero));
        assert_eq!(parse("0.00"), Err(AmountError::Zero));
        assert_eq!(parse("9999999999999999999"), Err(AmountError::Malformed));
    }

    #[test]
    fn ceiling_is_configurable() {
        assert_eq!(Fen::parse_input("100", Fen(10_000)), Ok(Fen(10_000)));
        assert!(matches!(Fen::parse_input("100.01", Fen(10_000)), Err(AmountError::AboveCeiling { .. })));
    }

    #[test]
    fn every_rejection_has_a_message_in_both_languages() {
        let errs = [
            AmountError::Empty,
            AmountError::Whitespace,
            AmountError::Negative,
            AmountError::Exponent,
            AmountError::NotAsciiDigits,
            AmountError::TooManyDecimals,
            AmountError::Malformed,
            AmountError::Zero,
            AmountError::AboveCeiling { amount: Fen(1), ceiling: Fen(0) },
        ];
        for e in errs {
            let zh = e.message(Lang::Zh);
            let en = e.message(Lang::En);
            assert!(!zh.is_empty() && !en.is_empty() && zh != en, "{e:?}");
            assert!(!zh.is_ascii(), "Chinese text for {e:?}");
        }
        assert_eq!(
            AmountError::AboveCeiling { amount: Fen(5_000_001), ceiling: DEFAULT_CEILING }.message(Lang::En),
            "¥50000.01 is above the limit of ¥50000.00 per payment"
        );
    }

    #[test]
    fn formats_yuan_with_two_decimals() {
        assert_eq!(Fen(1).yuan_text(), "0.01");
        assert_eq!(Fen(10_000).yuan_text(), "100.00");
        assert_eq!(Fen(8888).yuan_text(), "88.88");
        assert_eq!(Fen(-5).yuan_text(), "-0.05");
    }

    #[test]
    fn wire_yuan_is_exact() {
        assert_eq!(Fen::parse_yuan_wire("100.00"), Ok(Fen(10_000)));
        assert_eq!(Fen::parse_yuan_wire("100"), Ok(Fen(10_000)));
        assert_eq!(Fen::parse_yuan_wire("0.1"), Ok(Fen(10)));
        assert_eq!(Fen::parse_yuan_wire("88.880"), Ok(Fen(8888)));
        assert_eq!(Fen::parse_yuan_wire("88.881"), Err(AmountError::TooManyDecimals));
        assert_eq!(Fen::parse_yuan_wire("1e2"), Err(AmountError::Exponent));
        assert_eq!(Fen::parse_yuan_wire("-1.00"), Err(AmountError::Negative));
        // A value a float would round: 0.1 + 0.2 style inputs stay exact.
        assert_eq!(Fen::parse_yuan_wire("19999999.99"), Ok(Fen(1_999_999_999)));
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Body {
        #[serde(with = "yuan_json")]
        amount: Fen,
        #[serde(default, deserialize_with = "yuan_json::option::deserialize")]
        refund: Option<Fen>,
    }

    #[test]
    fn json_numbers_round_trip_exactly() {
        let json = serde_json::to_string(&Body { amount: Fen(10_000), refund: None }).unwrap();
        assert_eq!(json, r#"{"amount":100.00,"refund":null}"#);
        let json = serde_json::to_string(&Body { amount: Fen(8888), refund: None }).unwrap();
        assert!(json.starts_with(r#"{"amount":88.88,"#), "{json}");

        let b: Body = serde_json::from_str(r#"{"amount":100.00}"#).unwrap();
        assert_eq!(b, Body { amount: Fen(10_000), refund: None });
        let b: Body = serde_json::from_str(r#"{"amount":"0.07","refund":0.07}"#).unwrap();
        assert_eq!(b, Body { amount: Fen(7), refund: Some(Fen(7)) });
        assert!(serde_json::from_str::<Body>(r#"{"amount":1.005}"#).is_err());
        assert!(serde_json::from_str::<Body>(r#"{"amount":1e2}"#).is_err());
        assert!(serde_json::from_str::<Body>(r#"{"amount":true}"#).is_err());
    }
}
