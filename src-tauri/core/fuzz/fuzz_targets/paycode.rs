//! Scanned codes: `paycode::classify`, `payment_code` with the default wallet rules, and `mask`,
//! which must never give a payment code away (logs, audit, debug output).
#![no_main]

use libfuzzer_sys::fuzz_target;
use paydesk_core::paycode::{classify, default_rules, mask, payment_code, ScannedCode};

fuzz_target!(|data: &[u8]| {
    let code = String::from_utf8_lossy(data);
    let code = code.as_ref();
    let rules = default_rules();

    match classify(code, &rules) {
        Ok(ScannedCode::Payment { code: c, wallet }) => {
            assert_eq!(c, code);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
            let rule = rules.iter().find(|r| r.wallet == wallet).expect("a wallet of the rules");
            assert!((rule.min_len..=rule.max_len).contains(&code.len()));
            assert!(rule.prefixes.iter().any(|p| code.starts_with(p.as_str())));
        }
        Ok(ScannedCode::Product { code: c, .. }) => {
            assert_eq!(c, code);
            assert!([8, 12, 13].contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit()));
        }
        Err(_) => {}
    }
    let all: Vec<String> = rules.iter().map(|r| r.wallet.clone()).collect();
    for accepted in [&all[..], &all[..1], &[]] {
        if let Ok((c, wallet)) = payment_code(code, &rules, accepted) {
            assert_eq!(c, code);
            assert!(accepted.contains(&wallet));
        }
    }

    let masked = mask(code);
    let chars: Vec<char> = code.chars().collect();
    let out: Vec<char> = masked.chars().collect();
    assert_eq!(out.len(), chars.len(), "{code:?} -> {masked:?}");
    // At most the first four and last four characters show; short codes show nothing.
    let shown = out.iter().zip(&chars).enumerate().filter(|(_, (m, c))| m != &&'*' && m == c).count();
    assert!(shown <= 8, "{shown} characters shown");
    if chars.len() <= 8 {
        assert!(out.iter().all(|c| *c == '*'), "{masked:?}");
    } else {
        assert!(out[4..chars.len() - 4].iter().all(|c| *c == '*'));
    }
    // A code of more than a few digits never comes back whole.
    if chars.len() > 4 && code.bytes().all(|b| b.is_ascii_digit()) {
        assert_ne!(masked, code);
        assert!(!masked.contains(code));
    }
});
