//! Lakala open platform v3 signatures: `LKLAPI-SHA256withRSA`.
//!
//! Requests are signed with the store's private key over
//! `appid\nserial_no\ntimestamp\nnonce_str\nbody\n`; replies are verified with Lakala's platform
//! certificate over `appid\nserial\ntimestamp\nnonce\nbody\n` from the `Lklapi-*` headers, and
//! notifies over `timestamp\nnonce_str\nbody\n` from their `Authorization` header.
//! Keys are read from PEM files; nothing here ever logs or returns key material.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use reqwest::header::HeaderMap;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer as _, Verifier as _};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::path::Path;

pub const SCHEME: &str = "LKLAPI-SHA256withRSA";

/// Signs requests as the store.
pub struct RequestSigner {
    appid: String,
    serial_no: String,
    key: SigningKey<Sha256>,
}

impl RequestSigner {
    pub fn from_pem_file(appid: &str, serial_no: &str, path: &Path) -> Result<RequestSigner, String> {
        crate::private_file::refuse_if_shared(path)?;
        let pem = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the private key {}: {e}", path.display()))?;
        let key = RsaPrivateKey::from_pkcs8_pem(&pem)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(&pem))
            .map_err(|_| format!("{} is not an RSA private key in PEM (PKCS#8 or PKCS#1)", path.display()))?;
        Ok(RequestSigner { appid: appid.into(), serial_no: serial_no.into(), key: SigningKey::<Sha256>::new(key) })
    }

    /// The `Authorization` header for `body`, with a fresh timestamp and nonce.
    pub fn authorization(&self, body: &str) -> String {
        self.authorization_at(body, chrono::Utc::now().timestamp(), &crate::channel::nonce())
    }

    pub fn authorization_at(&self, body: &str, timestamp: i64, nonce: &str) -> String {
        let message = format!("{}\n{}\n{timestamp}\n{nonce}\n{body}\n", self.appid, self.serial_no);
        let signature = BASE64.encode(self.key.sign(message.as_bytes()).to_bytes());
        format!(
            "{SCHEME} appid=\"{}\",serial_no=\"{}\",timestamp=\"{timestamp}\",nonce_str=\"{nonce}\",signature=\"{signature}\"",
            self.appid, self.serial_no
        )
    }
}

/// Verifies what Lakala signs: replies and notifies.
pub struct PlatformVerifier {
    key: VerifyingKey<Sha256>,
    /// The platform certificate's serial (hex, lower case), when the key came from a certificate.
    serial: Option<String>,
}

impl PlatformVerifier {
    /// Reads an X.509 certificate (PEM) or a bare public key (PEM, SubjectPublicKeyInfo).
    pub fn from_pem_file(path: &Path) -> Result<PlatformVerifier, String> {
        let pem = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the Lakala certificate {}: {e}", path.display()))?;
        Self::from_pem(&pem).map_err(|why| format!("{}: {why}", path.display()))
    }

    pub fn from_pem(pem: &str) -> Result<PlatformVerifier, String> {
        use x509_cert::der::{DecodePem, Encode};
        if let Ok(cert) = x509_cert::Certificate::from_pem(pem) {
            let spki = cert.tbs_certificate.subject_public_key_info.to_der().map_err(|e| e.to_string())?;
            let key = RsaPublicKey::from_public_key_der(&spki).map_err(|_| "the certificate's key is not RSA")?;
            let serial = hex::encode(cert.tbs_certificate.serial_number.as_bytes());
            return Ok(PlatformVerifier { key: VerifyingKey::new(key), serial: Some(serial) });
        }
        let key = RsaPublicKey::from_public_key_pem(pem).map_err(|_| "not a PEM certificate or RSA public key")?;
        Ok(PlatformVerifier { key: VerifyingKey::new(key), serial: None })
    }

    fn verify(&self, message: &str, signature_b64: &str) -> Result<(), String> {
        let raw = BASE64.decode(signature_b64.trim()).map_err(|_| "the signature is not Base64")?;
        let signature = Signature::try_from(raw.as_slice()).map_err(|_| "the signature is malformed")?;
        self.key.verify(message.as_bytes(), &signature).map_err(|_| "the signature does not verify".to_string())
    }

    /// A reply: `Lklapi-*` headers over the exact body bytes.
    pub fn verify_reply(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
        let header = |name: &str| -> Result<&str, String> {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("reply has no {name} header"))
        };
        let appid = header("Lklapi-Appid")?;
        let serial = header("Lklapi-Serial")?;
        let timestamp = header("Lklapi-Timestamp")?;
        let nonce = header("Lklapi-Nonce")?;
        let signature = header("Lklapi-Signature")?;
        self.check_serial(serial)?;
        let body = std::str::from_utf8(body).map_err(|_| "the reply body is not UTF-8")?;
        self.verify(&format!("{appid}\n{serial}\n{timestamp}\n{nonce}\n{body}\n"), signature)
    }

    /// A notify: its `Authorization` header over the exact body bytes. Returns what it was
    /// signed with: its time (Unix seconds) and nonce, for the caller's age and replay checks.
    pub fn verify_notify(&self, authorization: &str, body: &[u8]) -> Result<NotifyStamp, String> {
        let params = parse_authorization(authorization)?;
        let get = |k: &str| params.get(k).map(String::as_str).ok_or_else(|| format!("notify has no {k}"));
        let body = std::str::from_utf8(body).map_err(|_| "the notify body is not UTF-8")?;
        let (timestamp, nonce) = (get("timestamp")?, get("nonce_str")?);
        self.verify(&format!("{timestamp}\n{nonce}\n{body}\n"), get("signature")?)?;
        let timestamp = timestamp.parse().map_err(|_| "the notify's timestamp is not a number")?;
        Ok(NotifyStamp { timestamp, nonce: nonce.to_string() })
    }

    fn check_serial(&self, serial: &str) -> Result<(), String> {
        match &self.serial {
            Some(ours) if !ours.trim_start_matches('0').eq_ignore_ascii_case(serial.trim_start_matches('0')) => {
                Err(format!("reply is signed by certificate {serial}, not Lakala's {ours}"))
            }
            _ => Ok(()),
        }
    }
}

/// What a verified notify was signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyStamp {
    /// Unix seconds.
    pub timestamp: i64,
    pub nonce: String,
}

/// `LKLAPI-SHA256withRSA k="v",k="v"` into its pairs, in whatever order they come.
pub fn parse_authorization(header: &str) -> Result<BTreeMap<String, String>, String> {
    let rest = header.trim().strip_prefix(SCHEME).ok_or_else(|| format!("not a {SCHEME} header"))?;
    let mut out = BTreeMap::new();
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=').ok_or("malformed Authorization pair")?;
        let v = v.trim().strip_prefix('"').and_then(|v| v.strip_suffix('"')).ok_or("unquoted Authorization value")?;
        out.insert(k.trim().to_string(), v.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MERCHANT_KEY: &str = include_str!("../../../../sandbox/keys/merchant_private.pem");
    const MERCHANT_CERT: &str = include_str!("../../../../sandbox/keys/merchant_cert.pem");
    const LAKALA_CERT: &str = include_str!("../../../../sandbox/keys/lakala_cert.pem");

    fn signer() -> RequestSigner {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        crate::private_file::create_new(&path, MERCHANT_KEY.as_bytes()).unwrap();
        RequestSigner::from_pem_file("OP00000003", "A1B2C3D4E5F60718", &path).unwrap()
    }

    /// A private key others can read is refused by name, as ssh refuses one.
    #[cfg(unix)]
    #[test]
    fn a_private_key_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("merchant.pem");
        std::fs::write(&path, MERCHANT_KEY).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let Err(why) = RequestSigner::from_pem_file("OP00000003", "A1B2C3D4E5F60718", &path) else {
            panic!("a shared key was accepted")
        };
        assert!(why.contains("merchant.pem") && why.contains("0644"), "{why}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(RequestSigner::from_pem_file("OP00000003", "A1B2C3D4E5F60718", &path).is_ok());
    }

    #[test]
    fn a_signed_request_verifies_with_the_merchant_certificate_and_not_after_tampering() {
        let body = r#"{"req_time":"20261122101010","version":"3.0","req_data":{"total_amount":"100"}}"#;
        let header = signer().authorization_at(body, 1_700_000_000, "abc123");
        let p = parse_authorization(&header).unwrap();
        assert_eq!(p["appid"], "OP00000003");
        assert_eq!(p["serial_no"], "A1B2C3D4E5F60718");
        let verifier = PlatformVerifier::from_pem(MERCHANT_CERT).unwrap();
        let message = |b: &str| format!("OP00000003\nA1B2C3D4E5F60718\n1700000000\nabc123\n{b}\n");
        verifier.verify(&message(body), &p["signature"]).unwrap();
        let tampered = body.replace("\"100\"", "\"1\"");
        assert!(verifier.verify(&message(&tampered), &p["signature"]).is_err());
        // Lakala's certificate is another key: the store's signature does not verify with it.
        let other = PlatformVerifier::from_pem(LAKALA_CERT).unwrap();
        assert!(other.verify(&message(body), &p["signature"]).is_err());
    }

    #[test]
    fn authorization_pairs_are_read_in_any_order_and_malformed_headers_refused() {
        let p = parse_authorization(r#"LKLAPI-SHA256withRSA signature="c2ln",timestamp="1", nonce_str="n""#).unwrap();
        assert_eq!((p["timestamp"].as_str(), p["nonce_str"].as_str(), p["signature"].as_str()), ("1", "n", "c2ln"));
        for bad in ["Bearer x", "LKLAPI-SHA256withRSA timestamp=1", "LKLAPI-SHA256withRSA nope", ""] {
            assert!(parse_authorization(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_certificate_serial_is_read_and_checked() {
        let v = PlatformVerifier::from_pem(LAKALA_CERT).unwrap();
        assert_eq!(v.serial.as_deref(), Some("0b1c2d3e4f50617283"));
        assert!(v.check_serial("0B1C2D3E4F50617283").is_ok());
        assert!(v.check_serial("B1C2D3E4F50617283").is_ok());
        assert!(v.check_serial("A1B2C3D4E5F60718").is_err());
        assert!(PlatformVerifier::from_pem("-----BEGIN NONSENSE-----\n").is_err());
    }

    #[test]
    fn a_reply_without_its_headers_or_with_a_bad_signature_does_not_verify() {
        let v = PlatformVerifier::from_pem(LAKALA_CERT).unwrap();
        let mut headers = HeaderMap::new();
        assert!(v.verify_reply(&headers, b"{}").unwrap_err().contains("Lklapi-Appid"));
        for (k, val) in [
            ("Lklapi-Appid", "OP00000003"),
            ("Lklapi-Serial", "0B1C2D3E4F50617283"),
            ("Lklapi-Timestamp", "1"),
            ("Lklapi-Nonce", "n"),
            ("Lklapi-Signature", "AAAA"),
        ] {
            headers.insert(k, val.parse().unwrap());
        }
        assert!(v.verify_reply(&headers, b"{}").is_err());
        assert!(v
            .verify_notify("LKLAPI-SHA256withRSA timestamp=\"1\",nonce_str=\"n\",signature=\"AAAA\"", b"{}")
            .is_err());
    }
}
