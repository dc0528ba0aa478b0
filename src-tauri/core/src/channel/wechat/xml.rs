//! WeChat Pay v2 messages: a flat `<xml>` of fields, and the v2 signature over them
//! (官方《签名算法》): every non-empty field but `sign`, sorted by name (ASCII), `k=v` joined with
//! `&`, then `&key=<API key>`; `MD5` → uppercase hex MD5, `HMAC-SHA256` → uppercase hex
//! HMAC-SHA256 keyed with the API key over the same text. Fields we do not know are signed too
//! (WeChat adds fields over time).

use crate::config::WechatSignType;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use quick_xml::events::Event;
use sha2::Sha256;
use std::collections::BTreeMap;

/// The fields of one message, by name.
pub type Fields = BTreeMap<String, String>;

/// The message is at most a few KiB; a field's value is at most this long.
const MAX_FIELDS: usize = 200;

/// The v2 signature of `fields` (the `sign` field itself is skipped).
pub fn sign(fields: &Fields, key: &str, sign_type: WechatSignType) -> String {
    let mut text: String = fields
        .iter()
        .filter(|(k, v)| k.as_str() != "sign" && !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    text.push_str("&key=");
    text.push_str(key);
    match sign_type {
        WechatSignType::Md5 => hex::encode_upper(Md5::digest(text.as_bytes())),
        WechatSignType::HmacSha256 => {
            // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.as_bytes()) else { return String::new() };
            mac.update(text.as_bytes());
            hex::encode_upper(mac.finalize().into_bytes())
        }
    }
}

/// Whether `fields` carry a `sign` that is right for `key`, compared in constant time.
pub fn verify(fields: &Fields, key: &str, sign_type: WechatSignType) -> Result<(), String> {
    let given = fields.get("sign").map(|s| s.trim()).filter(|s| !s.is_empty()).ok_or("the message is not signed")?;
    if let Some(named) = fields.get("sign_type").filter(|t| !t.is_empty()) {
        let ours = match sign_type {
            WechatSignType::Md5 => "MD5",
            WechatSignType::HmacSha256 => "HMAC-SHA256",
        };
        if named != ours {
            return Err(format!("the message is signed with {named}, not {ours}"));
        }
    }
    let expected = sign(fields, key, sign_type);
    let same = expected.len() == given.len()
        && expected.bytes().zip(given.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b.to_ascii_uppercase())) == 0;
    if same {
        Ok(())
    } else {
        Err("the sign does not verify with the API key".into())
    }
}

/// `<xml><k><![CDATA[v]]></k>…</xml>`, fields in name order.
pub fn write(fields: &Fields) -> String {
    let mut out = String::from("<xml>");
    for (k, v) in fields {
        // `]]>` cannot sit inside one CDATA section: it is split across two.
        let v = v.replace("]]>", "]]]]><![CDATA[>");
        out.push_str(&format!("<{k}><![CDATA[{v}]]></{k}>"));
    }
    out.push_str("</xml>");
    out
}

/// Reads a flat `<xml>` message. A DOCTYPE (and so any entity but the five predefined ones) is
/// refused: a reply or notify is never allowed to pull in other text.
pub fn read(body: &[u8]) -> Result<Fields, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the message is not UTF-8")?;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut fields = Fields::new();
    let mut path: Vec<String> = Vec::new();
    let mut value = String::new();
    let mut seen_root = false;
    loop {
        let event = reader.read_event().map_err(|e| format!("malformed XML: {e}"))?;
        match event {
            Event::DocType(_) => return Err("a DOCTYPE in the message: refused".into()),
            Event::Start(e) => {
                let name = e.name().as_ref().to_string();
                match path.len() {
                    0 if name == "xml" && !seen_root => seen_root = true,
                    0 => return Err(format!("the message's root is <{name}>, not <xml>")),
                    1 => value.clear(),
                    _ => return Err(format!("a nested element <{name}> in a flat message")),
                }
                path.push(name);
            }
            Event::Empty(e) if path.len() == 1 => {
                let name = e.name().as_ref().to_string();
                fields.insert(name, String::new());
            }
            Event::Empty(_) => return Err("an element outside <xml>".into()),
            Event::End(_) => {
                let Some(name) = path.pop() else { return Err("an end tag without its start".into()) };
                if path.len() == 1 {
                    if fields.insert(name.clone(), std::mem::take(&mut value)).is_some() {
                        return Err(format!("the field {name} is given twice"));
                    }
                    if fields.len() > MAX_FIELDS {
                        return Err("too many fields".into());
                    }
                }
            }
            Event::Text(t) if path.len() == 2 => value.push_str(&t.xml10_content()),
            Event::CData(t) if path.len() == 2 => value.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if path.len() == 2 => match r.resolve_char_ref() {
                Ok(Some(c)) => value.push(c),
                _ => value.push_str(match r.xml10_content().as_ref() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    other => return Err(format!("an unknown entity &{other};")),
                }),
            },
            Event::Text(t) if t.xml10_content().trim().is_empty() => {}
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                return Err("text outside the message's fields".into());
            }
            Event::Eof if path.is_empty() && seen_root => return Ok(fields),
            Event::Eof => return Err("the message is cut off".into()),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// The signature example of WeChat Pay's v2 documentation (签名算法), both algorithms.
    #[test]
    fn the_documentations_signature_example() {
        let f = fields(&[
            ("appid", "wxd930ea5d5a258f4f"),
            ("mch_id", "10000100"),
            ("device_info", "1000"),
            ("body", "test"),
            ("nonce_str", "ibuaiVcKdpRxkhJA"),
        ]);
        let key = "192006250b4c09247ec02edce69f6a2d";
        assert_eq!(sign(&f, key, WechatSignType::Md5), "9A0A8659F005D6984697E2CA0A9CF3B7");
        assert_eq!(
            sign(&f, key, WechatSignType::HmacSha256),
            "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"
        );
        let mut signed = f.clone();
        signed.insert("sign".into(), "9a0a8659f005d6984697e2ca0a9cf3b7".into());
        verify(&signed, key, WechatSignType::Md5).unwrap();
        // Empty fields and `sign` are not signed; a changed field is caught.
        signed.insert("attach".into(), String::new());
        verify(&signed, key, WechatSignType::Md5).unwrap();
        signed.insert("body".into(), "tesT".into());
        assert!(verify(&signed, key, WechatSignType::Md5).is_err());
        assert!(verify(&f, key, WechatSignType::Md5).is_err(), "unsigned");
        let mut wrong_type = f.clone();
        wrong_type.insert("sign_type".into(), "MD5".into());
        wrong_type.insert("sign".into(), sign(&wrong_type, key, WechatSignType::HmacSha256));
        assert!(verify(&wrong_type, key, WechatSignType::HmacSha256).is_err());
    }

    #[test]
    fn messages_round_trip_through_cdata_and_entities() {
        let f = fields(&[("body", "咖啡 <大杯> & ]]> 糖"), ("total_fee", "1"), ("empty", "")]);
        assert_eq!(read(write(&f).as_bytes()).unwrap(), f);
        let plain = "<?xml version=\"1.0\"?>\n<xml>\n  <return_code>SUCCESS</return_code>\n  <a>x &amp; &#x4e2d;</a><b/>\n</xml>";
        let read_back = read(plain.as_bytes()).unwrap();
        assert_eq!(read_back["return_code"], "SUCCESS");
        assert_eq!(read_back["a"], "x & 中");
        assert_eq!(read_back["b"], "");
    }

    #[test]
    fn hostile_or_broken_messages_are_refused() {
        for bad in [
            "<!DOCTYPE xml [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><xml><a>&x;</a></xml>",
            "<xml><a>&x;</a></xml>",
            "<xml><a><b>1</b></a></xml>",
            "<xml><a>1</a><a>2</a></xml>",
            "<other><a>1</a></other>",
            "<xml><a>1</a>",
            "<xml>loose text<a>1</a></xml>",
            "<xml></xml><xml></xml>",
            "",
            "not xml",
        ] {
            assert!(read(bad.as_bytes()).is_err(), "{bad}");
        }
        assert!(read(b"<xml><a>\xff</a></xml>").is_err());
    }
}
