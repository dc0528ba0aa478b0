//! What the reply and notify targets share: the text format of their inputs, the sandbox's test
//! keys, and signing as Lakala and the cash desk would (so parsing behind a signature is reached).
//!
//! A reply input is HTTP-like text, so the seed corpora stay readable:
//!
//! ```text
//! 200 sign                       <- status, then flags (`sign`: the target signs the body)
//! Lklapi-Nonce: abc              <- header lines (lakala_reply only), up to an empty line
//!
//! {"code":"BBS00000",...}        <- the body, byte for byte
//! ```
#![allow(dead_code)] // each target uses a part

use base64::Engine as _;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{Keypair, SignatureEncoding, Signer, Verifier};
use rsa::RsaPrivateKey;
use serde_json::Value;
use sha2::Sha256;
use std::sync::LazyLock;

/// The store's key (the sandbox's): the direct channel needs one, the targets never sign with it.
pub const MERCHANT_PRIVATE_PEM: &str = include_str!("../../../../sandbox/keys/merchant_private.pem");
/// A 512-bit stand-in for Lakala's platform key (`keys/README.md`): signing with the sandbox's
/// 2048-bit key takes 40 ms in an instrumented build, which would starve the fuzzer.
pub const LAKALA_PRIVATE_PEM: &str = include_str!("../../keys/lakala_fuzz_private.pem");
pub const LAKALA_CERT_PEM: &str = include_str!("../../keys/lakala_fuzz_cert.pem");
/// The serial of `lakala_fuzz_cert.pem` (the sandbox's Lakala serial), as `Lklapi-Serial`.
pub const LAKALA_SERIAL: &str = "0B1C2D3E4F50617283";
pub const LAKALA_APPID: &str = "OP00000003";

pub fn keys() -> paydesk_core::fuzzing::TestKeys<'static> {
    paydesk_core::fuzzing::TestKeys { merchant_private_pem: MERCHANT_PRIVATE_PEM, lakala_cert_pem: LAKALA_CERT_PEM }
}

pub struct ReplyInput<'a> {
    pub status: u16,
    pub sign: bool,
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
}

/// Splits an input into status line, headers (when `with_headers`) and body. A first line that
/// is not a status is read as 200 and kept as part of the body.
pub fn reply_input(data: &[u8], with_headers: bool) -> ReplyInput<'_> {
    let (first, mut rest) = split_line(data);
    let first_text = String::from_utf8_lossy(first);
    let mut words = first_text.split_ascii_whitespace();
    let Some(status) = words.next().and_then(|w| w.parse::<u16>().ok()) else {
        return ReplyInput { status: 200, sign: false, headers: Vec::new(), body: data };
    };
    let sign = words.any(|w| w == "sign");
    let mut headers = Vec::new();
    if with_headers {
        loop {
            let (line, after) = split_line(rest);
            if line.is_empty() || after.len() == rest.len() {
                rest = after;
                break;
            }
            let text = String::from_utf8_lossy(line);
            if let Some((name, value)) = text.split_once(':') {
                headers.push((name.trim().to_string(), value.trim_start().to_string()));
            }
            rest = after;
        }
    }
    ReplyInput { status, sign, headers, body: rest }
}

/// The first line (without its `\n`, or `\r\n`) and what follows it.
pub fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => {
            let line = &data[..i];
            (line.strip_suffix(b"\r").unwrap_or(line), &data[i + 1..])
        }
        None => (data, &data[data.len()..]),
    }
}

static LAKALA_KEY: LazyLock<SigningKey<Sha256>> = LazyLock::new(|| {
    SigningKey::new(RsaPrivateKey::from_pkcs8_pem(LAKALA_PRIVATE_PEM).expect("the sandbox's Lakala key"))
});
static LAKALA_PUBLIC: LazyLock<VerifyingKey<Sha256>> = LazyLock::new(|| LAKALA_KEY.verifying_key());

/// SHA256withRSA with the sandbox's platform key, Base64: what Lakala signs with.
pub fn lakala_sign(message: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(LAKALA_KEY.sign(message).to_bytes())
}

/// Whether `signature_b64` is Lakala's signature of `message` (checked here, apart from the core).
pub fn lakala_verifies(message: &[u8], signature_b64: &str) -> bool {
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(signature_b64.trim()) else { return false };
    let Ok(sig) = Signature::try_from(raw.as_slice()) else { return false };
    LAKALA_PUBLIC.verify(message, &sig).is_ok()
}

/// The `Lklapi-*` headers Lakala puts on a reply with this body.
pub fn lakala_reply_headers(body: &[u8]) -> Vec<(String, String)> {
    let (ts, nonce) = ("1700000000", "fuzzNonce0123456789");
    let mut message = format!("{LAKALA_APPID}\n{LAKALA_SERIAL}\n{ts}\n{nonce}\n").into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    vec![
        ("Lklapi-Appid".into(), LAKALA_APPID.into()),
        ("Lklapi-Serial".into(), LAKALA_SERIAL.into()),
        ("Lklapi-Timestamp".into(), ts.into()),
        ("Lklapi-Nonce".into(), nonce.into()),
        ("Lklapi-Signature".into(), lakala_sign(&message)),
    ]
}

/// The `Authorization` header Lakala puts on a notify with this body: signed now, with a nonce
/// never used before (the channel refuses old notifies and replays).
pub fn lakala_notify_authorization(body: &[u8]) -> String {
    static NONCES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (ts, nonce) = (now.to_string(), format!("fuzz{}", NONCES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
    let mut message = format!("{ts}\n{nonce}\n").into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    format!("LKLAPI-SHA256withRSA timestamp=\"{ts}\",nonce_str=\"{nonce}\",signature=\"{}\"", lakala_sign(&message))
}

/// Whether any string in the JSON `body` equals `wanted` (a reply that "names our order").
pub fn json_names(body: &[u8], wanted: &str) -> bool {
    fn walk(v: &Value, wanted: &str) -> bool {
        match v {
            Value::String(s) => s == wanted,
            Value::Array(a) => a.iter().any(|v| walk(v, wanted)),
            Value::Object(o) => o.values().any(|v| walk(v, wanted)),
            _ => false,
        }
    }
    // Lossy: serde_json skips unknown fields without checking their UTF-8, and so do the channels.
    serde_json::from_str::<Value>(&String::from_utf8_lossy(body)).is_ok_and(|v| walk(&v, wanted))
}

/// A 512-bit stand-in for Alipay's key pair (`keys/README.md`).
pub const ALIPAY_PRIVATE_PEM: &str = include_str!("../../keys/alipay_fuzz_private.pem");
pub const ALIPAY_PUBLIC_PEM: &str = include_str!("../../keys/alipay_fuzz_public.pem");
pub const ALIPAY_APP_ID: &str = "2021000000000001";
pub const ALIPAY_SELLER_ID: &str = "2088000000000001";

static ALIPAY_SIGNER: LazyLock<paydesk_core::channel::alipay::sign::AppSigner> = LazyLock::new(|| {
    paydesk_core::channel::alipay::sign::AppSigner::from_pem(ALIPAY_PRIVATE_PEM).expect("the fuzz Alipay key")
});

pub fn alipay_keys() -> paydesk_core::fuzzing::AlipayKeys {
    paydesk_core::fuzzing::AlipayKeys::public_key(ALIPAY_PUBLIC_PEM).expect("the fuzz Alipay public key")
}

/// Alipay's signature of an inner reply object (its exact text).
pub fn alipay_sign(inner: &[u8]) -> String {
    ALIPAY_SIGNER.sign(&String::from_utf8_lossy(inner))
}

/// `inner` as Alipay answers `method`: under the method's key, with `sign` ([`alipay_sign`]).
pub fn alipay_signed_reply(method: &str, inner: &[u8], sign: &str) -> Vec<u8> {
    let mut out = format!("{{\"{}_response\":", method.replace('.', "_")).into_bytes();
    out.extend_from_slice(inner);
    out.extend_from_slice(format!(",\"sign\":\"{sign}\"}}").as_bytes());
    out
}

/// A form body signed as Alipay signs notifies (over the fields but `sign` and `sign_type`);
/// `None` when the body is not a form with at least one field.
pub fn alipay_signed_notify(body: &[u8]) -> Option<Vec<u8>> {
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .into_owned()
        .filter(|(k, _)| k != "sign" && k != "sign_type")
        .collect();
    if fields.is_empty() {
        return None;
    }
    let content = paydesk_core::channel::alipay::sign::sign_content(
        fields.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &["sign", "sign_type"],
    );
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.extend_pairs(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    form.append_pair("sign_type", "RSA2");
    form.append_pair("sign", &ALIPAY_SIGNER.sign(&content));
    Some(form.finish().into_bytes())
}

pub const WECHAT_KEY: &str = "paydesksandboxwechatv2apikey0032";
pub const WECHAT_APPID: &str = "wxd930ea5d5a258f4f";
pub const WECHAT_MCH_ID: &str = "1900000109";

pub fn wechat_check() -> paydesk_core::fuzzing::WechatCheck {
    paydesk_core::fuzzing::WechatCheck::new(
        WECHAT_KEY,
        paydesk_core::config::WechatSignType::HmacSha256,
        WECHAT_APPID,
        WECHAT_MCH_ID,
    )
}

/// The XML message `body` signed with the API key (HMAC-SHA256); `None` when it is not a flat
/// `<xml>` message.
pub fn wechat_signed(body: &[u8]) -> Option<Vec<u8>> {
    use paydesk_core::channel::wechat::xml;
    let mut fields = xml::read(body).ok()?;
    fields.remove("sign");
    let sign = xml::sign(&fields, WECHAT_KEY, paydesk_core::config::WechatSignType::HmacSha256);
    fields.insert("sign".into(), sign);
    Some(xml::write(&fields).into_bytes())
}
