//! What a scanned code is: a wallet's payment code (付款码), a product barcode, or neither.
//!
//! The rules are a table in config; the defaults follow the wallets' public rules. Only ASCII
//! digits count: anything else is not a payment code and never reaches a channel.

use crate::i18n::{Lang, Localized};
use serde::{Deserialize, Serialize};

/// One wallet's payment-code shape: a digit count range and two-digit prefixes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeRule {
    pub wallet: String,
    pub min_len: usize,
    pub max_len: usize,
    pub prefixes: Vec<String>,
}

impl CodeRule {
    fn new(wallet: &str, min_len: usize, max_len: usize, prefixes: &[&str]) -> CodeRule {
        CodeRule { wallet: wallet.into(), min_len, max_len, prefixes: prefixes.iter().map(|p| p.to_string()).collect() }
    }

    fn matches(&self, digits: &str) -> bool {
        (self.min_len..=self.max_len).contains(&digits.len())
            && self.prefixes.iter().any(|p| digits.starts_with(p.as_str()))
    }
}

/// WeChat 18 digits starting 10–15; Alipay 16–24 digits starting 25–30; UnionPay 19 digits
/// starting 62; e-CNY 19 digits starting 01.
pub fn default_rules() -> Vec<CodeRule> {
    vec![
        CodeRule::new("wechat", 18, 18, &["10", "11", "12", "13", "14", "15"]),
        CodeRule::new("alipay", 16, 24, &["25", "26", "27", "28", "29", "30"]),
        CodeRule::new("unionpay", 19, 19, &["62"]),
        CodeRule::new("ecny", 19, 19, &["01"]),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProductCode {
    Ean13,
    Ean8,
    UpcA,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannedCode {
    /// A wallet payment code; `wallet` is the rule's name.
    Payment { code: String, wallet: String },
    /// A product barcode with a valid check digit (for the catalogue, never for payment).
    Product { code: String, kind: ProductCode },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("the scanned code is empty")]
    Empty,
    #[error("the scanned code has characters other than ASCII digits")]
    NotDigits,
    #[error("the scanned code is not a payment code")]
    NotPaymentCode,
    #[error("the scanned code is a product barcode, not a payment code")]
    ProductCode,
    #[error("this channel does not take {wallet} payment codes")]
    WalletNotAccepted { wallet: String },
}

impl Localized for CodeError {
    fn message(&self, lang: Lang) -> String {
        match self {
            CodeError::Empty => lang.pick("没有读到付款码", "No code was read").into(),
            CodeError::NotDigits => lang
                .pick(
                    "这不是付款码（付款码只含数字），请让顾客打开付款码重新扫描",
                    "Not a payment code (payment codes are digits only); ask the customer to open the payment code and scan again",
                )
                .into(),
            CodeError::NotPaymentCode => lang
                .pick(
                    "这不是付款码，请让顾客打开微信/支付宝付款码重新扫描",
                    "Not a payment code; ask the customer to open the WeChat/Alipay payment code and scan again",
                )
                .into(),
            CodeError::ProductCode => lang
                .pick(
                    "扫到的是商品条码，不是付款码",
                    "That is a product barcode, not a payment code",
                )
                .into(),
            CodeError::WalletNotAccepted { wallet } => match lang {
                Lang::Zh => format!("本收款渠道不支持{}付款码，请换用其他付款方式", wallet_name(wallet, Lang::Zh)),
                Lang::En => format!("This channel does not take {wallet} payment codes; use another way to pay"),
            },
        }
    }
}

/// A wallet's name for a person; an id it does not know is shown as it is.
pub fn wallet_name(wallet: &str, lang: Lang) -> &str {
    match wallet {
        "wechat" => lang.pick("微信", "WeChat Pay"),
        "alipay" => lang.pick("支付宝", "Alipay"),
        "unionpay" => lang.pick("银联", "UnionPay"),
        "ecny" => lang.pick("数字人民币", "e-CNY"),
        other => other,
    }
}

/// Classifies a scanned code against the rules.
pub fn classify(code: &str, rules: &[CodeRule]) -> Result<ScannedCode, CodeError> {
    if code.is_empty() {
        return Err(CodeError::Empty);
    }
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CodeError::NotDigits);
    }
    if let Some(rule) = rules.iter().find(|r| r.matches(code)) {
        return Ok(ScannedCode::Payment { code: code.into(), wallet: rule.wallet.clone() });
    }
    let kind = match code.len() {
        13 => Some(ProductCode::Ean13),
        12 => Some(ProductCode::UpcA),
        8 => Some(ProductCode::Ean8),
        _ => None,
    };
    match kind {
        Some(kind) if gtin_check_digit_ok(code) => Ok(ScannedCode::Product { code: code.into(), kind }),
        _ => Err(CodeError::NotPaymentCode),
    }
}

/// Classifies and insists on a payment code a channel accepts.
pub fn payment_code(code: &str, rules: &[CodeRule], accepted: &[String]) -> Result<(String, String), CodeError> {
    match classify(code, rules)? {
        ScannedCode::Payment { code, wallet } => {
            if accepted.contains(&wallet) {
                Ok((code, wallet))
            } else {
                Err(CodeError::WalletNotAccepted { wallet })
            }
        }
        ScannedCode::Product { .. } => Err(CodeError::ProductCode),
    }
}

/// GS1 mod-10 check: weights 3 and 1 from the right, excluding the check digit.
fn gtin_check_digit_ok(digits: &str) -> bool {
    let bytes = digits.as_bytes();
    let Some((&check, body)) = bytes.split_last() else { return false };
    let sum: u32 =
        body.iter().rev().enumerate().map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 }).sum();
    (10 - sum % 10) % 10 == u32::from(check - b'0')
}

/// Keeps the first 4 and last 4 digits: `280123456789012345` → `2801**********2345`.
pub fn mask(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wallet_of(code: &str) -> Result<String, CodeError> {
        match classify(code, &default_rules())? {
            ScannedCode::Payment { wallet, .. } => Ok(wallet),
            ScannedCode::Product { kind, .. } => Ok(format!("product:{kind:?}")),
        }
    }

    #[test]
    fn recognises_each_wallet() {
        assert_eq!(wallet_of("134567890123456789").unwrap(), "wechat");
        assert_eq!(wallet_of("104567890123456789").unwrap(), "wechat");
        assert_eq!(wallet_of("280123456789012345").unwrap(), "alipay");
        assert_eq!(wallet_of("2501234567890123").unwrap(), "alipay"); // 16 digits
        assert_eq!(wallet_of("300123456789012345678901").unwrap(), "alipay"); // 24 digits
        assert_eq!(wallet_of("6212345678901234567").unwrap(), "unionpay");
        assert_eq!(wallet_of("0112345678901234567").unwrap(), "ecny");
    }

    #[test]
    fn rejects_near_misses() {
        // WeChat prefix, wrong length.
        assert_eq!(wallet_of("1345678901234567"), Err(CodeError::NotPaymentCode));
        // Alipay prefix 31 is outside 25–30; 25 digits is too long.
        assert_eq!(wallet_of("310123456789012345"), Err(CodeError::NotPaymentCode));
        assert_eq!(wallet_of("2801234567890123456789012"), Err(CodeError::NotPaymentCode));
        // 16 is not a WeChat prefix.
        assert_eq!(wallet_of("164567890123456789"), Err(CodeError::NotPaymentCode));
        assert_eq!(wallet_of("6312345678901234567"), Err(CodeError::NotPaymentCode));
    }

    #[test]
    fn only_ascii_digits_count() {
        assert_eq!(wallet_of(""), Err(CodeError::Empty));
        assert_eq!(wallet_of("28012345678901234X"), Err(CodeError::NotDigits));
        assert_eq!(wallet_of("２８0123456789012345"), Err(CodeError::NotDigits));
        assert_eq!(wallet_of(" 280123456789012345"), Err(CodeError::NotDigits));
        assert_eq!(wallet_of("https://qr.alipay.com/x"), Err(CodeError::NotDigits));
    }

    #[test]
    fn product_codes_need_a_valid_check_digit() {
        assert_eq!(wallet_of("6901234567892").unwrap(), "product:Ean13");
        assert_eq!(wallet_of("6901234567893"), Err(CodeError::NotPaymentCode));
        assert_eq!(wallet_of("96385074").unwrap(), "product:Ean8");
        assert_eq!(wallet_of("036000291452").unwrap(), "product:UpcA");
    }

    #[test]
    fn channel_accepts_only_its_wallets() {
        let alipay_only = vec!["alipay".to_string()];
        let rules = default_rules();
        assert!(payment_code("280123456789012345", &rules, &alipay_only).is_ok());
        assert_eq!(
            payment_code("134567890123456789", &rules, &alipay_only),
            Err(CodeError::WalletNotAccepted { wallet: "wechat".into() })
        );
        assert_eq!(payment_code("6901234567892", &rules, &alipay_only), Err(CodeError::ProductCode));
    }

    #[test]
    fn rules_come_from_config() {
        let rules = vec![CodeRule::new("store-card", 10, 10, &["99"])];
        assert_eq!(
            classify("9912345678", &rules),
            Ok(ScannedCode::Payment { code: "9912345678".into(), wallet: "store-card".into() })
        );
        assert_eq!(classify("280123456789012345", &rules), Err(CodeError::NotPaymentCode));
    }

    #[test]
    fn masks_all_but_four_and_four() {
        assert_eq!(mask("280123456789012345"), "2801**********2345");
        assert_eq!(mask("12345678"), "********");
        assert_eq!(mask("123456789"), "1234*6789");
    }
}
