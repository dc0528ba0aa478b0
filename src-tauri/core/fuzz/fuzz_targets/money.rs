//! Money text: what a clerk types (`Fen::parse_input`), what a channel sends as yuan
//! (`Fen::parse_yuan_wire`, `yuan_json`) or as integer fen (`fen_json`), exact and float-free.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paydesk_core::money::{fen_json, yuan_json, Fen, DEFAULT_CEILING};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Yuan {
    #[serde(with = "yuan_json")]
    amount: Fen,
    #[serde(default, deserialize_with = "yuan_json::option::deserialize", skip_serializing)]
    refund: Option<Fen>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Fens {
    #[serde(with = "fen_json")]
    amount: Fen,
    #[serde(default, deserialize_with = "fen_json::option::deserialize", skip_serializing)]
    refund: Option<Fen>,
}

fn raw(text: String) -> Box<RawValue> {
    RawValue::from_string(text).expect("valid JSON")
}

fuzz_target!(|data: &[u8]| {
    // Any i64 formats, and formats back exactly while it has at most 12 yuan digits.
    if let Some(bytes) = data.get(..8) {
        let f = Fen(i64::from_le_bytes(bytes.try_into().unwrap()));
        let text = f.yuan_text();
        if (0..100_000_000_000_000).contains(&f.0) {
            assert_eq!(Fen::parse_yuan_wire(&text), Ok(f), "{text}");
        }
        let _ = f.payable(DEFAULT_CEILING);
        let _ = f.checked_add(Fen(1)).and_then(|g| g.checked_sub(f));
    }

    let Ok(text) = std::str::from_utf8(data) else { return };

    for ceiling in [DEFAULT_CEILING, Fen(100), Fen(i64::MAX)] {
        if let Ok(f) = Fen::parse_input(text, ceiling) {
            assert!(f > Fen::ZERO && f <= ceiling, "{text:?} -> {f:?}");
            assert_eq!(Fen::parse_input(&f.yuan_text(), ceiling), Ok(f), "{text:?}");
            assert_eq!(Fen::parse_yuan_wire(text), Ok(f), "typed {text:?} reads otherwise on the wire");
        }
    }
    if let Ok(f) = Fen::parse_yuan_wire(text) {
        assert!(f >= Fen::ZERO, "{text:?} -> {f:?}");
        assert_eq!(Fen::parse_yuan_wire(&f.yuan_text()), Ok(f), "{text:?}");
        // Written as the wire wants it and read back: the same amount.
        let json = serde_json::to_string(&Yuan { amount: f, refund: None }).unwrap();
        assert_eq!(serde_json::from_str::<Yuan>(&json).unwrap(), Yuan { amount: f, refund: None }, "{json}");
        let json = format!(r#"{{"amount":"{0}","refund":{0}}}"#, f.yuan_text());
        assert_eq!(serde_json::from_str::<Yuan>(&json).unwrap(), Yuan { amount: f, refund: Some(f) }, "{json}");
    }

    // The raw JSON readers, on whatever JSON value the text is.
    if let Ok(value) = serde_json::from_str::<Box<RawValue>>(text) {
        if let Ok(f) = yuan_json::from_raw(&value) {
            assert!(f >= Fen::ZERO);
            assert_eq!(yuan_json::from_raw(&raw(f.yuan_text())), Ok(f));
            assert_eq!(yuan_json::from_raw(&raw(format!("\"{}\"", f.yuan_text()))), Ok(f));
        }
        if let Ok(f) = fen_json::from_raw(&value) {
            assert!(f >= Fen::ZERO);
            assert_eq!(fen_json::from_raw(&raw(f.0.to_string())), Ok(f));
            let json = serde_json::to_string(&Fens { amount: f, refund: None }).unwrap();
            assert_eq!(serde_json::from_str::<Fens>(&json).unwrap().amount, f);
        }
    }
    // Whole bodies with amount fields, as the channels' replies have them.
    if let Ok(y) = serde_json::from_str::<Yuan>(text) {
        assert!(y.amount >= Fen::ZERO && y.refund.is_none_or(|r| r >= Fen::ZERO));
    }
    if let Ok(f) = serde_json::from_str::<Fens>(text) {
        assert!(f.amount >= Fen::ZERO && f.refund.is_none_or(|r| r >= Fen::ZERO));
    }
});
