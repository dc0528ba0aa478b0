//! Alipay OpenAPI signatures (RSA2: SHA256withRSA, PKCS#1 v1.5, Base64), as the official SDKs
//! compute them (`AlipaySignature.getSignContent` / `rsaCheckV1`, `AntCertificationUtil.getCertSN`):
//!
//! - a request is signed over every parameter but `sign` (so `sign_type` is in), empty values
//!   dropped, sorted by name, `k=v` joined with `&`, raw values (URL-encoding comes after);
//! - a reply is verified over the exact text of its `…_response` object, as received;
//! - a notify is verified like a request, but without `sign` *and* `sign_type`;
//! - in certificate mode a certificate is named by its SN: MD5 of the issuer's name (most specific
//!   part first, `CN=…,OU=…,O=…,C=…`) followed by the serial number in decimal; the root bundle's SN
//!   joins those of its RSA-signed certificates with `_`.
//!
//! Keys are read from PEM files with the config's permission checks; nothing here logs key material.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use md5::{Digest, Md5};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer as _, Verifier as _};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;
use std::path::Path;
use x509_cert::der::{Decode, Encode};

/// The text a request or notify is signed over: `params` without `skip` and without empty
/// values, sorted by name, `k=v` joined with `&`.
pub fn sign_content<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>, skip: &[&str]) -> String {
    let mut pairs: Vec<(&str, &str)> =
        params.into_iter().filter(|(k, v)| !skip.contains(k) && !v.trim().is_empty()).collect();
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// Signs requests with the app's private key.
pub struct AppSigner {
    key: SigningKey<Sha256>,
}

impl AppSigner {
    pub fn from_pem_file(path: &Path) -> Result<AppSigner, String> {
        crate::private_file::refuse_if_shared(path)?;
        let pem = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the app private key {}: {e}", path.display()))?;
        Self::from_pem(&pem).map_err(|why| format!("{}: {why}", path.display()))
    }

    /// PKCS#8 (`BEGIN PRIVATE KEY`, Alipay's key tool for Java) or PKCS#1 (`BEGIN RSA PRIVATE
    /// KEY`, the tool's other output). A bare Base64 key as the key tool prints it is taken too.
    pub fn from_pem(text: &str) -> Result<AppSigner, String> {
        let key = RsaPrivateKey::from_pkcs8_pem(text)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(text))
            .or_else(|_| {
                let der = bare_base64(text).ok_or(())?;
                RsaPrivateKey::from_pkcs8_der(&der).or_else(|_| RsaPrivateKey::from_pkcs1_der(&der)).map_err(|_| ())
            })
            .map_err(|_| "not an RSA private key (PEM PKCS#8 or PKCS#1, or Base64)".to_string())?;
        Ok(AppSigner { key: SigningKey::<Sha256>::new(key) })
    }

    pub fn sign(&self, content: &str) -> String {
        BASE64.encode(self.key.sign(content.as_bytes()).to_bytes())
    }
}

/// A key file's Base64 body without PEM armour (how Alipay's key tool shows keys).
fn bare_base64(text: &str) -> Option<Vec<u8>> {
    let joined: String = text.split_whitespace().collect();
    if joined.is_empty() || joined.contains("-----") {
        return None;
    }
    BASE64.decode(joined).ok()
}

/// Verifies what Alipay signs: replies and notifies.
#[derive(Clone)]
pub struct AlipayVerifier {
    key: VerifyingKey<Sha256>,
}

impl std::fmt::Debug for AlipayVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AlipayVerifier")
    }
}

impl AlipayVerifier {
    /// Alipay's public key: PEM (SubjectPublicKeyInfo or PKCS#1), Base64 as the open platform
    /// shows it, or an X.509 certificate (certificate mode: `alipayCertPublicKey_RSA2.crt`).
    pub fn from_text(text: &str) -> Result<AlipayVerifier, String> {
        if let Ok(cert) = first_certificate(text) {
            let spki = cert.tbs_certificate.subject_public_key_info.to_der().map_err(|e| e.to_string())?;
            let key = RsaPublicKey::from_public_key_der(&spki).map_err(|_| "the certificate's key is not RSA")?;
            return Ok(AlipayVerifier { key: VerifyingKey::new(key) });
        }
        let key = RsaPublicKey::from_public_key_pem(text)
            .or_else(|_| RsaPublicKey::from_pkcs1_pem(text))
            .or_else(|_| {
                let der = bare_base64(text).ok_or(())?;
                RsaPublicKey::from_public_key_der(&der).or_else(|_| RsaPublicKey::from_pkcs1_der(&der)).map_err(|_| ())
            })
            .map_err(|_| "not an RSA public key or certificate (PEM or Base64)".to_string())?;
        Ok(AlipayVerifier { key: VerifyingKey::new(key) })
    }

    pub fn verify(&self, content: &[u8], sign_b64: &str) -> Result<(), String> {
        let raw = BASE64.decode(sign_b64.trim()).map_err(|_| "the sign is not Base64")?;
        let signature = Signature::try_from(raw.as_slice()).map_err(|_| "the sign is malformed")?;
        self.key.verify(content, &signature).map_err(|_| "the sign does not verify with Alipay's key".to_string())
    }

    /// A notify's form fields (decoded): `sign` over the rest but `sign` and `sign_type`.
    pub fn verify_notify(&self, fields: &[(String, String)]) -> Result<(), String> {
        if let Some((_, t)) = fields.iter().find(|(k, _)| k == "sign_type") {
            if t != "RSA2" {
                return Err(format!("notify sign_type {t} is not RSA2"));
            }
        }
        let sign = fields.iter().find(|(k, _)| k == "sign").map(|(_, v)| v.as_str()).ok_or("the notify has no sign")?;
        let content = sign_content(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())), &["sign", "sign_type"]);
        self.verify(content.as_bytes(), sign)
    }
}

fn first_certificate(text: &str) -> Result<x509_cert::Certificate, String> {
    certificates(text)?.into_iter().next().ok_or_else(|| "no certificate".to_string())
}

/// Every certificate of a PEM bundle, in order.
fn certificates(text: &str) -> Result<Vec<x509_cert::Certificate>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let after = &rest[start..];
        let end_marker = "-----END CERTIFICATE-----";
        let end = after.find(end_marker).ok_or("a certificate without its END line")? + end_marker.len();
        let block = &after[..end];
        let body: String = block.lines().filter(|l| !l.starts_with("-----")).collect::<Vec<_>>().join("");
        let der = BASE64.decode(body.trim()).map_err(|_| "a certificate that is not Base64")?;
        out.push(x509_cert::Certificate::from_der(&der).map_err(|e| format!("not an X.509 certificate: {e}"))?);
        rest = &after[end..];
    }
    if out.is_empty() {
        return Err("no PEM certificate".into());
    }
    Ok(out)
}

/// The SN of a certificate (`app_cert_sn`, `alipay_cert_sn`): the PEM's first certificate.
pub fn cert_sn(pem: &str) -> Result<String, String> {
    Ok(sn_of(&first_certificate(pem)?))
}

/// The SN of Alipay's root bundle (`alipay_root_cert_sn`): its RSA-signed certificates' SNs,
/// joined with `_` (the bundle also holds certificates of other algorithms, which are skipped).
pub fn root_cert_sn(pem: &str) -> Result<String, String> {
    const RSA_SIGNATURES: &str = "1.2.840.113549.1.1";
    let sns: Vec<String> = certificates(pem)?
        .iter()
        .filter(|c| c.signature_algorithm.oid.to_string().starts_with(RSA_SIGNATURES))
        .map(sn_of)
        .collect();
    if sns.is_empty() {
        return Err("the root bundle has no RSA certificate".into());
    }
    Ok(sns.join("_"))
}

fn sn_of(cert: &x509_cert::Certificate) -> String {
    let tbs = &cert.tbs_certificate;
    let issuer = issuer_name(&tbs.issuer);
    let serial = rsa::BigUint::from_bytes_be(tbs.serial_number.as_bytes()).to_str_radix(10);
    hex::encode(Md5::digest(format!("{issuer}{serial}").as_bytes()))
}

/// The issuer as the SDKs write it: most specific part first, `short=value` joined by `,`, no
/// escaping (Java's `getName()` on Alipay's certificates gives the same text).
fn issuer_name(name: &x509_cert::name::Name) -> String {
    let mut parts = Vec::new();
    for rdn in name.0.iter().rev() {
        for atv in rdn.0.iter() {
            let oid = atv.oid.to_string();
            let short = match oid.as_str() {
                "2.5.4.3" => "CN",
                "2.5.4.11" => "OU",
                "2.5.4.10" => "O",
                "2.5.4.6" => "C",
                "2.5.4.7" => "L",
                "2.5.4.8" => "ST",
                "2.5.4.9" => "STREET",
                "1.2.840.113549.1.9.1" => "E",
                _ => oid.as_str(),
            }
            .to_string();
            let value = String::from_utf8_lossy(atv.value.value()).into_owned();
            parts.push(format!("{short}={value}"));
        }
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP_KEY: &str = include_str!("../../../../sandbox/keys/alipay_app_private.pem");
    const APP_PUBLIC: &str = include_str!("../../../../sandbox/keys/alipay_app_public.pem");
    const APP_CERT: &str = include_str!("../../../../sandbox/keys/alipay_app_cert.pem");
    const ALIPAY_PUBLIC: &str = include_str!("../../../../sandbox/keys/alipay_public.pem");
    const ROOT: &str = include_str!("../../../../sandbox/keys/alipay_root_cert.pem");

    #[test]
    fn the_sign_content_drops_sign_and_empty_values_and_sorts_by_name() {
        // The documented example's shape (git.aopcloud.com copy of the signing page).
        let params = [
            ("method", "alipay.trade.pay"),
            ("app_id", "2014072300007148"),
            ("sign", "xxx"),
            ("charset", "GBK"),
            ("sign_type", "RSA2"),
            ("timestamp", "2014-07-24 03:07:50"),
            ("version", "1.0"),
            ("notify_url", ""),
            ("biz_content", r#"{"out_trade_no":"1"}"#),
        ];
        assert_eq!(
            sign_content(params, &["sign"]),
            r#"app_id=2014072300007148&biz_content={"out_trade_no":"1"}&charset=GBK&method=alipay.trade.pay&sign_type=RSA2&timestamp=2014-07-24 03:07:50&version=1.0"#
        );
        assert!(!sign_content(params, &["sign", "sign_type"]).contains("sign_type"));
    }

    #[test]
    fn an_app_signature_verifies_with_the_app_public_key_and_its_certificate_not_after_tampering() {
        let signer = AppSigner::from_pem(APP_KEY).unwrap();
        let sign = signer.sign("a=1&b=2");
        for public in [APP_PUBLIC, APP_CERT] {
            let v = AlipayVerifier::from_text(public).unwrap();
            v.verify(b"a=1&b=2", &sign).unwrap();
            assert!(v.verify(b"a=1&b=3", &sign).is_err());
        }
        // Alipay's key is another key.
        assert!(AlipayVerifier::from_text(ALIPAY_PUBLIC).unwrap().verify(b"a=1&b=2", &sign).is_err());
        assert!(AlipayVerifier::from_text("nonsense").is_err());
        assert!(AlipayVerifier::from_text(ALIPAY_PUBLIC).unwrap().verify(b"x", "%%").is_err());
    }

    #[test]
    fn keys_are_read_as_the_key_tool_writes_them_pem_or_bare_base64() {
        let bare: String = APP_PUBLIC.lines().filter(|l| !l.starts_with("-----")).collect();
        assert!(AlipayVerifier::from_text(&bare).is_ok());
        let bare_private: String = APP_KEY.lines().filter(|l| !l.starts_with("-----")).collect();
        assert!(AppSigner::from_pem(&bare_private).is_ok());
        assert!(AppSigner::from_pem(APP_PUBLIC).is_err());
    }

    #[test]
    fn a_notify_is_verified_without_sign_and_sign_type() {
        let fields = |sign: &str, amount: &str| -> Vec<(String, String)> {
            [("out_trade_no", "T1"), ("total_amount", amount), ("sign_type", "RSA2"), ("sign", sign)]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let signer = AppSigner::from_pem(APP_KEY).unwrap();
        let sign = signer.sign("out_trade_no=T1&total_amount=1.00");
        let v = AlipayVerifier::from_text(APP_PUBLIC).unwrap();
        v.verify_notify(&fields(&sign, "1.00")).unwrap();
        assert!(v.verify_notify(&fields(&sign, "100.00")).is_err());
        let mut rsa1 = fields(&sign, "1.00");
        rsa1[2].1 = "RSA".into();
        assert!(v.verify_notify(&rsa1).is_err());
    }

    /// The expected SNs are what Alipay's own Node SDK computes for the sandbox's certificates
    /// (`alipay-sdk` 4.14.0, `antcertutil.getSN`); `scripts/wallet-sdks` checks it again live.
    #[test]
    fn certificate_sns_are_the_ones_alipays_sdk_computes() {
        const ALIPAY_CERT: &str = include_str!("../../../../sandbox/keys/alipay_cert.pem");
        assert_eq!(cert_sn(APP_CERT).unwrap(), "7ed9d283cc9da9bd4f06413b718cc23b");
        assert_eq!(cert_sn(ALIPAY_CERT).unwrap(), "08acdd0f270eabd1bc4ffcab2933531b");
        // The bundle's first certificate is EC-signed and is skipped.
        assert_eq!(root_cert_sn(ROOT).unwrap(), "a3fe398bb344d393ffe066dba2bd133c");
        assert!(root_cert_sn("").is_err());
        assert!(cert_sn("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").is_err());
    }
}
