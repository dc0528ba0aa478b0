//! Reading JSON request fields strictly, with a message that names the field, for the
//! channels whose bodies are read as JSON objects (`lakala`, `paysvc`). Unknown fields
//! are ignored; a known field of the wrong type is an error, never a panic.

use serde_json::{Map, Value};

use crate::money::parse_fen;

/// Amounts stay below a trillion yuan, so sums of them never overflow.
const MAX_FEN: i64 = 100_000_000_000_000;

/// The fields of one JSON object.
#[derive(Clone, Copy)]
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    /// `req_data.` when reading a nested object, for messages.
    prefix: &'a str,
}

/// What is wrong with a request, in words for the `msg` of the reply.
pub type Bad = String;

/// A JSON object, or an error message.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, Bad> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("请求体必须是JSON对象".to_owned()),
        Err(_) => Err("请求体不是合法的JSON".to_owned()),
    }
}

impl<'a> Fields<'a> {
    pub fn new(map: &'a Map<String, Value>) -> Fields<'a> {
        Fields { map, prefix: "" }
    }

    fn name(&self, field: &str) -> String {
        format!("{}{field}", self.prefix)
    }

    fn get(&self, field: &str) -> Option<&'a Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    /// A nested object, required.
    pub fn object(&self, field: &str, prefix: &'a str) -> Result<Fields<'a>, Bad> {
        match self.get(field) {
            Some(Value::Object(map)) => Ok(Fields { map, prefix }),
            Some(_) => Err(format!("{}必须是对象", self.name(field))),
            None => Err(format!("缺少{}", self.name(field))),
        }
    }

    /// A nested object if present.
    pub fn opt_object(&self, field: &str, prefix: &'a str) -> Result<Option<Fields<'a>>, Bad> {
        match self.get(field) {
            None => Ok(None),
            Some(_) => self.object(field, prefix).map(Some),
        }
    }

    /// A string, required and not blank.
    pub fn str(&self, field: &str) -> Result<&'a str, Bad> {
        match self.opt_str(field)? {
            Some(s) => Ok(s),
            None => Err(format!("缺少{}", self.name(field))),
        }
    }

    /// A string if present and not blank.
    pub fn opt_str(&self, field: &str) -> Result<Option<&'a str>, Bad> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(format!("{}必须是字符串", self.name(field))),
        }
    }

    /// A string of at most `max` characters.
    pub fn str_max(&self, field: &str, max: usize) -> Result<&'a str, Bad> {
        let s = self.str(field)?;
        if s.chars().count() > max {
            return Err(format!("{}超过{max}个字符", self.name(field)));
        }
        Ok(s)
    }

    /// An order number: 1–32 ASCII letters, digits, `_` or `-`.
    pub fn order_no(&self, field: &str) -> Result<&'a str, Bad> {
        let s = self.str(field)?;
        if valid_order_no(s) {
            Ok(s)
        } else {
            Err(format!("{}格式错误", self.name(field)))
        }
    }

    /// Integer fen written as a JSON string of digits (`"100"`).
    pub fn fen_string(&self, field: &str) -> Result<i64, Bad> {
        match self.get(field) {
            None => Err(format!("缺少{}", self.name(field))),
            Some(Value::String(s)) => parse_fen(s).ok_or_else(|| format!("{}格式错误", self.name(field))),
            Some(_) => Err(format!("{}必须是字符串（整数分）", self.name(field))),
        }
    }

    /// Integer fen written as a JSON integer (`100`).
    pub fn fen_number(&self, field: &str) -> Result<i64, Bad> {
        match self.get(field) {
            None => Err(format!("缺少{}", self.name(field))),
            Some(Value::Number(n)) => n
                .as_i64()
                .filter(|v| *v > 0 && *v < MAX_FEN && n.is_i64())
                .ok_or_else(|| format!("{}格式错误", self.name(field))),
            Some(_) => Err(format!("{}必须是整数（分）", self.name(field))),
        }
    }

    /// An optional 0/1 flag written as a JSON integer.
    pub fn flag(&self, field: &str) -> Result<Option<i64>, Bad> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(v @ (0 | 1)) if n.is_i64() => Ok(Some(v)),
                _ => Err(format!("{}必须是0或1", self.name(field))),
            },
            Some(_) => Err(format!("{}必须是0或1", self.name(field))),
        }
    }
}

/// 1–32 ASCII letters, digits, `_` or `-` (also safe in the customer page's path).
pub fn valid_order_no(s: &str) -> bool {
    (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(text: &str) -> Map<String, Value> {
        parse_object(text.as_bytes()).unwrap_or_default()
    }

    #[test]
    fn reads_strictly() {
        let m = map(r#"{"a":"x","b":"","c":5,"d":"100","e":100,"f":1.0,"g":1,"h":2,"n":null,"o":{"p":"q"}}"#);
        let f = Fields::new(&m);
        assert_eq!(f.str("a"), Ok("x"));
        assert!(f.str("b").is_err());
        assert_eq!(f.opt_str("b"), Ok(None));
        assert_eq!(f.opt_str("n"), Ok(None));
        assert!(f.str("c").is_err());
        assert_eq!(f.fen_string("d"), Ok(100));
        assert!(f.fen_string("e").is_err());
        assert_eq!(f.fen_number("e"), Ok(100));
        assert!(f.fen_number("d").is_err());
        assert!(f.fen_number("f").is_err());
        assert_eq!(f.flag("g"), Ok(Some(1)));
        assert!(f.flag("h").is_err());
        assert_eq!(f.flag("zz"), Ok(None));
        let o = f.object("o", "o.").unwrap_or(f);
        assert_eq!(o.str("p"), Ok("q"));
        assert_eq!(o.str("x"), Err("缺少o.x".to_owned()));
        assert!(f.object("a", "").is_err());
        assert!(parse_object(b"[]").is_err());
        assert!(parse_object(b"{").is_err());
    }

    #[test]
    fn order_numbers() {
        assert!(valid_order_no("DEMO012601151230450001"));
        assert!(valid_order_no("A_1-b"));
        assert!(!valid_order_no(&"A".repeat(33)));
        assert!(!valid_order_no("A/1"));
        assert!(!valid_order_no(""));
    }
}
