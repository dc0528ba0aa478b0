//! The sandbox's own signature code, deliberately independent of paydesk-core so a
//! shared mistake cannot hide in the contract tests.
//!
//! - Lakala v3: SHA256withRSA (PKCS#1 v1.5), Base64, over lines that each end in `\n`;
//!   the `Authorization: LKLAPI-SHA256withRSA k="v",…` header.
//! - cashdesk: the canonical string (`name=value` sorted by name, joined by `&`, then
//!   `&key=<appKey>`) digested with MD5 or SM3, lowercase hex.
//! - Alipay OpenAPI: SHA256withRSA over the sorted `k=v&…` of the parameters; the cert-mode SNs.
//! - WeChat Pay v2: the same canonical string as the cash desk's, with the API key, digested with
//!   MD5 or keyed HMAC-SHA256, uppercase hex.

use std::collections::BTreeMap;

use base64::Engine as _;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::Sha256;
use x509_cert::der::{DecodePem, Encode};
use x509_cert::Certificate;

/// The sandbox's test keys (NOT SECRET, NEVER USE FOR REAL MONEY), embedded so the app's demo
/// profile and the core's tests can write them to files. See `keys/README.md`.
pub mod demo_keys {
    /// The store's private key (PKCS#8 PEM): the cashier signs Lakala v3 requests with it.
    pub const MERCHANT_PRIVATE_PEM: &str = include_str!("../keys/merchant_private.pem");
    /// The store's certificate: the sandbox verifies request signatures with its public key.
    pub const MERCHANT_CERT_PEM: &str = include_str!("../keys/merchant_cert.pem");
    /// The serial of [`MERCHANT_CERT_PEM`] in hex, as `serial_no` of the `Authorization` header.
    pub const MERCHANT_SERIAL: &str = "A1B2C3D4E5F60718";
    /// The "platform" private key: the sandbox signs replies and notifies with it.
    pub const LAKALA_PRIVATE_PEM: &str = include_str!("../keys/lakala_private.pem");
    /// The platform certificate: the cashier verifies replies and notifies with it.
    pub const LAKALA_CERT_PEM: &str = include_str!("../keys/lakala_cert.pem");
    /// The serial of [`LAKALA_CERT_PEM`] in hex, as the sandbox sends it in `Lklapi-Serial`.
    pub const LAKALA_SERIAL: &str = "0B1C2D3E4F50617283";

    /// The store's Alipay app private key (PKCS#8): the cashier signs gateway requests with it.
    pub const ALIPAY_APP_PRIVATE_PEM: &str = include_str!("../keys/alipay_app_private.pem");
    /// The app public key: the sandbox verifies requests with it (public-key mode).
    pub const ALIPAY_APP_PUBLIC_PEM: &str = include_str!("../keys/alipay_app_public.pem");
    /// "Alipay's" private key: the sandbox signs replies and notifies with it.
    pub const ALIPAY_PRIVATE_PEM: &str = include_str!("../keys/alipay_private.pem");
    /// Alipay's public key: the cashier verifies replies and notifies with it (public-key mode).
    pub const ALIPAY_PUBLIC_PEM: &str = include_str!("../keys/alipay_public.pem");
    /// Cert mode: the app's certificate (the app public key's), issued by the root below.
    pub const ALIPAY_APP_CERT_PEM: &str = include_str!("../keys/alipay_app_cert.pem");
    /// Cert mode: Alipay's certificate (Alipay's public key's), issued by the root below.
    pub const ALIPAY_CERT_PEM: &str = include_str!("../keys/alipay_cert.pem");
    /// Cert mode: the root bundle, an EC certificate first (its SN is skipped), then the RSA root.
    pub const ALIPAY_ROOT_CERT_PEM: &str = include_str!("../keys/alipay_root_cert.pem");
    /// `app_cert_sn` of [`ALIPAY_APP_CERT_PEM`].
    pub const ALIPAY_APP_CERT_SN: &str = "7ed9d283cc9da9bd4f06413b718cc23b";
    /// `alipay_cert_sn` of [`ALIPAY_CERT_PEM`].
    pub const ALIPAY_CERT_SN: &str = "08acdd0f270eabd1bc4ffcab2933531b";
    /// `alipay_root_cert_sn` of [`ALIPAY_ROOT_CERT_PEM`].
    pub const ALIPAY_ROOT_CERT_SN: &str = "a3fe398bb344d393ffe066dba2bd133c";

    /// The store's WeChat Pay client certificate (mutual TLS for `/secapi/*`).
    pub const WECHAT_APICLIENT_CERT_PEM: &str = include_str!("../keys/wechat_apiclient_cert.pem");
    /// The client certificate's private key (PKCS#8).
    pub const WECHAT_APICLIENT_KEY_PEM: &str = include_str!("../keys/wechat_apiclient_key.pem");
    /// The CA that issued the client and server certificates: the TLS listener trusts client
    /// certificates chained to it, and a client trusts the listener through it.
    pub const WECHAT_CA_CERT_PEM: &str = include_str!("../keys/wechat_ca_cert.pem");
    /// The TLS listener's certificate (CN localhost, SAN 127.0.0.1).
    pub const WECHAT_SERVER_CERT_PEM: &str = include_str!("../keys/wechat_server_cert.pem");
    /// The TLS listener's private key.
    pub const WECHAT_SERVER_KEY_PEM: &str = include_str!("../keys/wechat_server_key.pem");

    /// Every key file above as (file name in `keys/`, text), for writing them all to a folder.
    pub const FILES: &[(&str, &str)] = &[
        ("merchant_private.pem", MERCHANT_PRIVATE_PEM),
        ("merchant_cert.pem", MERCHANT_CERT_PEM),
        ("lakala_private.pem", LAKALA_PRIVATE_PEM),
        ("lakala_cert.pem", LAKALA_CERT_PEM),
        ("alipay_app_private.pem", ALIPAY_APP_PRIVATE_PEM),
        ("alipay_app_public.pem", ALIPAY_APP_PUBLIC_PEM),
        ("alipay_private.pem", ALIPAY_PRIVATE_PEM),
        ("alipay_public.pem", ALIPAY_PUBLIC_PEM),
        ("alipay_app_cert.pem", ALIPAY_APP_CERT_PEM),
        ("alipay_cert.pem", ALIPAY_CERT_PEM),
        ("alipay_root_cert.pem", ALIPAY_ROOT_CERT_PEM),
        ("wechat_apiclient_cert.pem", WECHAT_APICLIENT_CERT_PEM),
        ("wechat_apiclient_key.pem", WECHAT_APICLIENT_KEY_PEM),
        ("wechat_ca_cert.pem", WECHAT_CA_CERT_PEM),
        ("wechat_server_cert.pem", WECHAT_SERVER_CERT_PEM),
        ("wechat_server_key.pem", WECHAT_SERVER_KEY_PEM),
    ];

    /// The files a cashier on the demo profile needs (its own keys and the channels' public
    /// certificates; never a key the sandbox signs with), as (file name in `keys/`, text): what
    /// `paydesk_core::config::DemoKeys` writes beside the demo config.
    pub const CASHIER_FILES: &[(&str, &str)] = &[
        ("merchant_private.pem", MERCHANT_PRIVATE_PEM),
        ("merchant_cert.pem", MERCHANT_CERT_PEM),
        ("lakala_cert.pem", LAKALA_CERT_PEM),
        ("alipay_app_private.pem", ALIPAY_APP_PRIVATE_PEM),
        ("alipay_public.pem", ALIPAY_PUBLIC_PEM),
        ("alipay_app_cert.pem", ALIPAY_APP_CERT_PEM),
        ("alipay_cert.pem", ALIPAY_CERT_PEM),
        ("alipay_root_cert.pem", ALIPAY_ROOT_CERT_PEM),
        ("wechat_apiclient_cert.pem", WECHAT_APICLIENT_CERT_PEM),
        ("wechat_apiclient_key.pem", WECHAT_APICLIENT_KEY_PEM),
        ("wechat_ca_cert.pem", WECHAT_CA_CERT_PEM),
    ];
}

/// The scheme of the `Authorization` header of Lakala v3 requests and notifies.
pub const LKLAPI_SCHEME: &str = "LKLAPI-SHA256withRSA";

// ---------------------------------------------------------------- RSA

/// A certificate's public key and its serial number (uppercase hex, no leading zero bytes).
pub fn read_cert(pem: &str) -> Result<(RsaPublicKey, String), String> {
    let cert = Certificate::from_pem(pem.as_bytes()).map_err(|e| format!("not a PEM certificate: {e}"))?;
    let tbs = &cert.tbs_certificate;
    let spki = tbs.subject_public_key_info.to_der().map_err(|e| format!("certificate public key: {e}"))?;
    let key = RsaPublicKey::from_public_key_der(&spki).map_err(|e| format!("not an RSA certificate: {e}"))?;
    let bytes = tbs.serial_number.as_bytes();
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len().saturating_sub(1));
    let serial = hex::encode_upper(bytes.get(first..).unwrap_or_default());
    Ok((key, serial))
}

/// An RSA private key in PEM, PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`).
pub fn read_private_key(pem: &str) -> Result<RsaPrivateKey, String> {
    RsaPrivateKey::from_pkcs8_pem(pem)
        .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
        .map_err(|e| format!("not an RSA private key in PEM: {e}"))
}

/// An RSA public key in PEM: SPKI (`BEGIN PUBLIC KEY`), PKCS#1 (`BEGIN RSA PUBLIC KEY`), or a
/// certificate's.
pub fn read_public_key(pem: &str) -> Result<RsaPublicKey, String> {
    if pem.contains("BEGIN CERTIFICATE") {
        return read_cert(pem).map(|(key, _)| key);
    }
    RsaPublicKey::from_public_key_pem(pem)
        .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
        .map_err(|e| format!("not an RSA public key in PEM: {e}"))
}

/// Whether a private key belongs to a public key.
pub fn same_key(private: &RsaPrivateKey, public: &RsaPublicKey) -> bool {
    let a = private.to_public_key().to_public_key_der();
    let b = public.to_public_key_der();
    matches!((a, b), (Ok(a), Ok(b)) if a.as_bytes() == b.as_bytes())
}

/// SHA256withRSA (PKCS#1 v1.5) of `message`, Base64.
pub fn rsa_sign(key: &SigningKey<Sha256>, message: &[u8]) -> String {
    let sig: Signature = key.sign(message);
    base64::engine::general_purpose::STANDARD.encode(sig.to_bytes())
}

/// Whether `signature_b64` is a valid SHA256withRSA signature of `message`.
pub fn rsa_verify(key: &VerifyingKey<Sha256>, message: &[u8], signature_b64: &str) -> bool {
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(signature_b64.trim()) else {
        return false;
    };
    let Ok(sig) = Signature::try_from(bytes.as_slice()) else {
        return false;
    };
    key.verify(message, &sig).is_ok()
}

/// A signature of the same length that does not verify: one bit of the middle byte flipped.
pub fn corrupt_signature(signature_b64: &str) -> String {
    let engine = base64::engine::general_purpose::STANDARD;
    match engine.decode(signature_b64) {
        Ok(mut bytes) if !bytes.is_empty() => {
            let mid = bytes.len() / 2;
            if let Some(b) = bytes.get_mut(mid) {
                *b ^= 0x01;
            }
            engine.encode(bytes)
        }
        _ => "AAAA".to_owned(),
    }
}

/// The same hex digest with its first digit changed (a digest signature that does not verify).
pub fn spoil_hex(hex: &str) -> String {
    let mut chars: Vec<char> = hex.chars().collect();
    if let Some(c) = chars.first_mut() {
        *c = if *c == '0' { '1' } else { '0' };
    }
    chars.into_iter().collect()
}

/// The Lakala v3 signed message: every part followed by `\n`.
pub fn lakala_message(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for p in parts {
        out.extend_from_slice(p);
        out.push(b'\n');
    }
    out
}

/// The `k="v"` pairs of an `Authorization: LKLAPI-SHA256withRSA …` header, in any order.
/// Refuses another scheme, a pair without quotes, a repeated name, or trailing garbage.
pub fn parse_lklapi_auth(value: &str) -> Result<BTreeMap<String, String>, String> {
    let rest = value
        .strip_prefix(LKLAPI_SCHEME)
        .filter(|r| r.starts_with(' '))
        .ok_or_else(|| format!("not a {LKLAPI_SCHEME} header"))?;
    let mut pairs = BTreeMap::new();
    let mut s = rest.trim_start_matches(' ');
    while !s.is_empty() {
        let eq = s.find('=').ok_or("a pair without '='")?;
        let name = s.get(..eq).unwrap_or_default().trim();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!("bad pair name {name:?}"));
        }
        let after = s.get(eq + 1..).unwrap_or_default();
        let quoted = after.strip_prefix('"').ok_or_else(|| format!("{name}: value not quoted"))?;
        let end = quoted.find('"').ok_or_else(|| format!("{name}: unterminated value"))?;
        let value = quoted.get(..end).unwrap_or_default();
        if pairs.insert(name.to_owned(), value.to_owned()).is_some() {
            return Err(format!("{name} given twice"));
        }
        s = quoted.get(end + 1..).unwrap_or_default().trim_start_matches(' ');
        if let Some(next) = s.strip_prefix(',') {
            s = next.trim_start_matches(' ');
            if s.is_empty() {
                return Err("trailing ','".to_owned());
            }
        } else if !s.is_empty() {
            return Err("pairs must be separated by ','".to_owned());
        }
    }
    Ok(pairs)
}

/// 12–32 ASCII letters or digits.
pub fn valid_nonce(s: &str) -> bool {
    (12..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A fresh nonce of 32 letters and digits.
pub fn new_nonce(rng: &mut fastrand::Rng) -> String {
    (0..32).map(|_| rng.alphanumeric()).collect()
}

// ---------------------------------------------------------------- cashdesk digests

/// The cashdesk signature scheme (`sign_scheme` in the cashier's config).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignScheme {
    /// MD5, 32 lowercase hex digits (matches the seed's sample).
    #[default]
    Md5,
    /// SM3 (GM/T 0004), 64 lowercase hex digits.
    Sm3,
}

impl SignScheme {
    pub fn name(self) -> &'static str {
        match self {
            SignScheme::Md5 => "md5",
            SignScheme::Sm3 => "sm3",
        }
    }

    /// Lowercase hex digest of `text`.
    pub fn digest_hex(self, text: &str) -> String {
        use md5::Digest as _;
        match self {
            SignScheme::Md5 => hex::encode(md5::Md5::digest(text.as_bytes())),
            SignScheme::Sm3 => hex::encode(sm3::Sm3::digest(text.as_bytes())),
        }
    }
}

impl std::str::FromStr for SignScheme {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "md5" => Ok(SignScheme::Md5),
            "sm3" => Ok(SignScheme::Sm3),
            other => Err(format!("unknown sign scheme {other:?} (md5 or sm3)")),
        }
    }
}

/// The text a JSON value contributes to the canonical string: a string's content,
/// a number's or boolean's JSON text; `None` for null, objects, arrays and "".
pub fn canonical_value(raw: &RawValue) -> Option<String> {
    let text = raw.get().trim();
    match text.as_bytes().first() {
        None | Some(b'{') | Some(b'[') => None,
        Some(b'"') => serde_json::from_str::<String>(text).ok().filter(|s| !s.is_empty()),
        Some(_) if text == "null" => None,
        Some(_) => Some(text.to_owned()),
    }
}

/// `a=1&b=2…` over the pairs, sorted by name (byte order), empty values left out, values as they
/// are (no URL-encoding).
pub fn join_sorted<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut sorted: Vec<(&str, &str)> = pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    sorted.sort();
    let joined: Vec<String> = sorted.iter().map(|(name, value)| format!("{name}={value}")).collect();
    joined.join("&")
}

/// `a=1&b=2&…&key=<app_key>` over the pairs (sorted by name here; empty values left out).
pub fn canonical_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>, app_key: &str) -> String {
    let joined = join_sorted(pairs);
    let sep = if joined.is_empty() { "" } else { "&" };
    format!("{joined}{sep}key={app_key}")
}

/// The canonical string of a JSON object's fields, all but `signature`. With `numbers_as_read`, a number is the text a reader that parses it prints back (`12.30` →
/// `12.3`, `12.00` → `12`), as a desk keeping numbers as numbers signs; without, as written.
pub fn canonical_of_object(fields: &BTreeMap<String, Box<RawValue>>, app_key: &str, numbers_as_read: bool) -> String {
    let values: Vec<(&str, String)> = fields
        .iter()
        .filter(|(name, _)| name.as_str() != "signature")
        .filter_map(|(name, raw)| {
            let text = canonical_value(raw)?;
            let number = !raw.get().trim_start().starts_with('"');
            Some((name.as_str(), if numbers_as_read && number { number_as_read(&text) } else { text }))
        })
        .collect();
    canonical_string(values.iter().map(|(n, v)| (*n, v.as_str())), app_key)
}

/// A decimal number's shortest text: trailing zeros of its fraction dropped, and the point with
/// them (`12.30` → `12.3`, `12.00` → `12`); anything else as it is.
pub fn number_as_read(text: &str) -> String {
    if text.contains('.') && !text.contains(['e', 'E']) {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text.to_owned()
    }
}

// ---------------------------------------------------------------- Alipay cert mode

/// All the certificates of a PEM text, in order. (Not x509-cert's `load_pem_chain`, which
/// panics on an empty text.)
fn read_certs(pem: &str) -> Result<Vec<Certificate>, String> {
    use rustls::pki_types::pem::PemObject;
    use x509_cert::der::Decode;
    let certs = rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
        .map(|der| {
            let der = der.map_err(|e| format!("not PEM certificates: {e}"))?;
            Certificate::from_der(&der).map_err(|e| format!("not a certificate: {e}"))
        })
        .collect::<Result<Vec<_>, String>>()?;
    if certs.is_empty() {
        return Err("no certificate in the PEM text".to_owned());
    }
    Ok(certs)
}

/// Alipay's SN of one certificate: lowercase hex MD5 of the issuer's DN (RFC 4514: its RDNs most
/// specific first, short names, `CN=…,OU=…,O=…,C=…`) followed by the serial number in decimal.
fn cert_sn(cert: &Certificate) -> String {
    use md5::Digest as _;
    let tbs = &cert.tbs_certificate;
    let serial = rsa::BigUint::from_bytes_be(tbs.serial_number.as_bytes());
    hex::encode(md5::Md5::digest(format!("{}{serial}", tbs.issuer).as_bytes()))
}

/// The Alipay cert-mode SN (`app_cert_sn`, `alipay_cert_sn`) of a certificate in PEM (its first
/// certificate).
pub fn alipay_cert_sn(pem: &str) -> Result<String, String> {
    read_certs(pem).map(|certs| certs.first().map(cert_sn).unwrap_or_default())
}

/// The Alipay cert-mode SN of a root bundle in PEM (`alipay_root_cert_sn`): the SNs of its
/// RSA-signed certificates (signature algorithm OID starting `1.2.840.113549.1.1`, compared as
/// text as Alipay's SDK does), joined by `_`; the others (EC) are skipped.
pub fn alipay_root_cert_sn(pem: &str) -> Result<String, String> {
    let sns: Vec<String> = read_certs(pem)?
        .iter()
        .filter(|c| c.signature_algorithm.oid.to_string().starts_with("1.2.840.113549.1.1"))
        .map(cert_sn)
        .collect();
    if sns.is_empty() {
        return Err("no RSA-signed certificate in the root bundle".to_owned());
    }
    Ok(sns.join("_"))
}

// ---------------------------------------------------------------- WeChat Pay v2

/// A WeChat Pay v2 signature type (`sign_type`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WechatSignType {
    /// `MD5`, the default when `sign_type` is absent.
    #[default]
    Md5,
    /// `HMAC-SHA256`, keyed with the API key.
    HmacSha256,
}

impl WechatSignType {
    /// The type a message names in `sign_type` (absent or empty: MD5); `None` for another name.
    pub fn named(sign_type: Option<&str>) -> Option<WechatSignType> {
        match sign_type.unwrap_or_default() {
            "" | "MD5" => Some(WechatSignType::Md5),
            "HMAC-SHA256" => Some(WechatSignType::HmacSha256),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            WechatSignType::Md5 => "MD5",
            WechatSignType::HmacSha256 => "HMAC-SHA256",
        }
    }

    /// The `sign` of the fields (all but `sign`, empty ones left out): the canonical string with
    /// `&key=<api key>`, then uppercase hex MD5 or HMAC-SHA256 keyed with the API key.
    pub fn sign<'a>(self, fields: impl IntoIterator<Item = (&'a str, &'a str)>, api_key: &str) -> String {
        let text = canonical_string(fields.into_iter().filter(|(name, _)| *name != "sign"), api_key);
        match self {
            WechatSignType::Md5 => {
                use md5::Digest as _;
                hex::encode_upper(md5::Md5::digest(text.as_bytes()))
            }
            WechatSignType::HmacSha256 => {
                use hmac::Mac as _;
                match hmac::Hmac::<Sha256>::new_from_slice(api_key.as_bytes()) {
                    Ok(mut mac) => {
                        mac.update(text.as_bytes());
                        hex::encode_upper(mac.finalize().into_bytes())
                    }
                    // HMAC takes a key of any length; kept total all the same.
                    Err(_) => String::new(),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform_signer() -> SigningKey<Sha256> {
        let key = read_private_key(demo_keys::LAKALA_PRIVATE_PEM).unwrap_or_else(|e| panic!("{e}"));
        SigningKey::new(key)
    }

    #[test]
    fn certificates_give_their_serials_and_match_their_keys() {
        let (merchant, serial) = read_cert(demo_keys::MERCHANT_CERT_PEM).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(serial, demo_keys::MERCHANT_SERIAL);
        let (platform, serial) = read_cert(demo_keys::LAKALA_CERT_PEM).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(serial, demo_keys::LAKALA_SERIAL);
        let mp = read_private_key(demo_keys::MERCHANT_PRIVATE_PEM).unwrap_or_else(|e| panic!("{e}"));
        let lp = read_private_key(demo_keys::LAKALA_PRIVATE_PEM).unwrap_or_else(|e| panic!("{e}"));
        assert!(same_key(&mp, &merchant));
        assert!(same_key(&lp, &platform));
        assert!(!same_key(&mp, &platform));
        assert!(read_cert("nope").is_err());
        assert!(read_private_key(demo_keys::LAKALA_CERT_PEM).is_err());
    }

    /// PKCS#1 v1.5 is deterministic: this vector was made with
    /// `printf 'a\nb\n' | openssl dgst -sha256 -sign keys/lakala_private.pem | base64 -w0`.
    #[test]
    fn rsa_signature_matches_openssl() {
        let sig = rsa_sign(&platform_signer(), &lakala_message(&[b"a", b"b"]));
        assert_eq!(sig, OPENSSL_VECTOR);
        let (public, _) = read_cert(demo_keys::LAKALA_CERT_PEM).unwrap_or_else(|e| panic!("{e}"));
        let verifier = VerifyingKey::<Sha256>::new(public);
        assert!(rsa_verify(&verifier, b"a\nb\n", &sig));
        assert!(!rsa_verify(&verifier, b"a\nb", &sig));
        assert!(!rsa_verify(&verifier, b"a\nb\n", &corrupt_signature(&sig)));
        assert_eq!(corrupt_signature(&sig).len(), sig.len());
        assert_eq!(spoil_hex("0abc"), "1abc");
        assert_eq!(spoil_hex("fabc"), "0abc");
        assert_eq!(spoil_hex(""), "");
        assert!(!rsa_verify(&verifier, b"a\nb\n", "not base64!"));
        assert!(!rsa_verify(&verifier, b"a\nb\n", ""));
    }

    const OPENSSL_VECTOR: &str = "jGLX5SsH6wOzSn4nT558lCnlIgHJZZKiBVh4+UoFv6LhxCAOu90vn+/mzjXmnNnU3tkiTv4RZiXOtSw1WMafLDsRurStuMSsMDY/7OpvJ/zJCMuczbCrvN7vgQm14Io5vdqY8prVhKb04EJ2/JkeWXh2AvATYHr4nTkIXsqqmcK1pLfdaR4570LFCdyU9zYdt+WvQ6H8398kHsBYY7Yv7yWyLxgXC8O5oEeMynkkGyAd03pWrzsJYICKcecu2Hye8GS7SXse1YdDdHljmxYRWJTTwR74zmpgq8xVgtmfm4j4nrB26OOyRcavR6qxxFz0h1kbQoVw3RnS1a+fhE5chA==";

    #[test]
    fn auth_header_pairs_in_any_order() {
        let h = r#"LKLAPI-SHA256withRSA appid="OP1",serial_no="AB", timestamp="17",nonce_str="n1",signature="s+/="#;
        let pairs = parse_lklapi_auth(&format!("{h}\"")).unwrap_or_default();
        assert_eq!(pairs.get("appid").map(String::as_str), Some("OP1"));
        assert_eq!(pairs.get("timestamp").map(String::as_str), Some("17"));
        assert_eq!(pairs.get("signature").map(String::as_str), Some("s+/="));
        let swapped = r#"LKLAPI-SHA256withRSA signature="x",appid="OP1""#;
        assert_eq!(parse_lklapi_auth(swapped).unwrap_or_default().len(), 2);
        for bad in [
            r#"Bearer appid="x""#,
            r#"LKLAPI-SHA256withRSAappid="x""#,
            r#"lklapi-sha256withrsa appid="x""#,
            r#"LKLAPI-SHA256withRSA appid=x"#,
            r#"LKLAPI-SHA256withRSA appid="x"#,
            r#"LKLAPI-SHA256withRSA appid="x",appid="y""#,
            r#"LKLAPI-SHA256withRSA appid="x" serial_no="y""#,
            r#"LKLAPI-SHA256withRSA appid="x","#,
            r#"LKLAPI-SHA256withRSA ="x""#,
        ] {
            assert!(parse_lklapi_auth(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nonces() {
        assert!(valid_nonce("abcdef123456"));
        assert!(valid_nonce(&"a".repeat(32)));
        assert!(!valid_nonce(&"a".repeat(33)));
        assert!(!valid_nonce("abcdef12345"));
        assert!(!valid_nonce("abcdef-123456"));
        let mut rng = fastrand::Rng::with_seed(1);
        let n = new_nonce(&mut rng);
        assert!(valid_nonce(&n), "{n}");
    }

    #[test]
    fn digests_match_known_vectors() {
        assert_eq!(SignScheme::Md5.digest_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            SignScheme::Sm3.digest_hex("abc"),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        assert_eq!("SM3".parse::<SignScheme>(), Ok(SignScheme::Sm3));
        assert!("sha1".parse::<SignScheme>().is_err());
    }

    #[test]
    fn every_key_file_is_listed_once() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/keys");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .map(|entries| entries.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
            .unwrap_or_default();
        on_disk.retain(|name| name.ends_with(".pem"));
        on_disk.sort();
        let mut listed: Vec<String> = demo_keys::FILES.iter().map(|(name, _)| (*name).to_owned()).collect();
        listed.sort();
        assert_eq!(listed, on_disk);
        for (name, text) in demo_keys::FILES {
            assert_eq!(std::fs::read_to_string(format!("{dir}/{name}")).ok().as_deref(), Some(*text), "{name}");
        }
    }

    #[test]
    fn alipay_keys_and_sns() {
        assert_eq!(alipay_cert_sn(demo_keys::ALIPAY_APP_CERT_PEM), Ok(demo_keys::ALIPAY_APP_CERT_SN.to_owned()));
        assert_eq!(alipay_cert_sn(demo_keys::ALIPAY_CERT_PEM), Ok(demo_keys::ALIPAY_CERT_SN.to_owned()));
        // The bundle's EC root comes first and is skipped.
        assert_eq!(alipay_root_cert_sn(demo_keys::ALIPAY_ROOT_CERT_PEM), Ok(demo_keys::ALIPAY_ROOT_CERT_SN.to_owned()));
        assert!(alipay_cert_sn("").is_err());
        assert!(alipay_cert_sn("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").is_err());
        // A bundle of one RSA root is its own SN; of an EC root only, none.
        let (ec, rsa_root) = demo_keys::ALIPAY_ROOT_CERT_PEM
            .split_at(demo_keys::ALIPAY_ROOT_CERT_PEM.rfind("-----BEGIN").unwrap_or_default());
        assert_eq!(alipay_root_cert_sn(rsa_root), Ok(demo_keys::ALIPAY_ROOT_CERT_SN.to_owned()));
        assert!(alipay_root_cert_sn(ec).is_err());

        let app_public = read_public_key(demo_keys::ALIPAY_APP_PUBLIC_PEM).unwrap_or_else(|e| panic!("{e}"));
        let app_private = read_private_key(demo_keys::ALIPAY_APP_PRIVATE_PEM).unwrap_or_else(|e| panic!("{e}"));
        let alipay_public = read_public_key(demo_keys::ALIPAY_PUBLIC_PEM).unwrap_or_else(|e| panic!("{e}"));
        let alipay_private = read_private_key(demo_keys::ALIPAY_PRIVATE_PEM).unwrap_or_else(|e| panic!("{e}"));
        assert!(same_key(&app_private, &app_public));
        assert!(same_key(&alipay_private, &alipay_public));
        assert!(!same_key(&app_private, &alipay_public));
        let app_cert = read_public_key(demo_keys::ALIPAY_APP_CERT_PEM).unwrap_or_else(|e| panic!("{e}"));
        let alipay_cert = read_public_key(demo_keys::ALIPAY_CERT_PEM).unwrap_or_else(|e| panic!("{e}"));
        assert!(same_key(&app_private, &app_cert));
        assert!(same_key(&alipay_private, &alipay_cert));
        assert!(read_public_key("nope").is_err());
    }

    /// The research file's vector (§2.2), recomputed there with both algorithms.
    #[test]
    fn wechat_signatures_match_the_published_vector() {
        let fields = [
            ("appid", "wxd930ea5d5a258f4f"),
            ("mch_id", "10000100"),
            ("device_info", "1000"),
            ("body", "test"),
            ("nonce_str", "ibuaiVcKdpRxkhJA"),
        ];
        let key = "192006250b4c09247ec02edce69f6a2d";
        assert_eq!(WechatSignType::Md5.sign(fields, key), "9A0A8659F005D6984697E2CA0A9CF3B7");
        assert_eq!(
            WechatSignType::HmacSha256.sign(fields, key),
            "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"
        );
        // `sign` itself and empty fields are left out.
        let more = fields.iter().copied().chain([("sign", "X"), ("attach", "")]);
        assert_eq!(WechatSignType::Md5.sign(more, key), "9A0A8659F005D6984697E2CA0A9CF3B7");
        assert_eq!(WechatSignType::named(None), Some(WechatSignType::Md5));
        assert_eq!(WechatSignType::named(Some("HMAC-SHA256")), Some(WechatSignType::HmacSha256));
        assert_eq!(WechatSignType::named(Some("md5")), None);
    }

    #[test]
    fn canonical_strings() {
        let body = r#"{"outTradeNo":"A1","amount":1.00,"goodsDesc":"","appId":"123456","nonce":"1617095820812",
            "timestamp":1617096420811,"signature":"zz","obj":{"a":1},"arr":[1],"n":null,"t":true,"u":"\u4e2d"}"#;
        let fields: BTreeMap<String, Box<RawValue>> = serde_json::from_str(body).unwrap_or_default();
        assert_eq!(
            canonical_of_object(&fields, "000000", false),
            "amount=1.00&appId=123456&nonce=1617095820812&outTradeNo=A1&t=true&timestamp=1617096420811&u=中\
             &key=000000"
        );
        assert_eq!(canonical_string([("b", "2"), ("a", "1"), ("c", "")], "k"), "a=1&b=2&key=k");
        assert_eq!(canonical_string([("c", "")], "k"), "key=k");
        assert_eq!(join_sorted([("b", "2"), ("a", "x=1&y"), ("C", "3")]), "C=3&a=x=1&y&b=2");
    }
}
