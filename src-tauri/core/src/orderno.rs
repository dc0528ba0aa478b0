//! Merchant order numbers: terminal code + `yyMMddHHmmss` + a 4-digit sequence, made on the
//! device before any network call. At most 8 + 12 + 4 = 24 letters and digits (channels take 32).
//! Uniqueness across processes and restarts comes from the ledger's primary key: a collision is
//! retried with the next sequence number.

use chrono::Local;
use std::sync::atomic::{AtomicU32, Ordering};

pub struct OrderNumbers {
    terminal: String,
    seq: AtomicU32,
}

impl OrderNumbers {
    pub fn new(terminal: &str) -> OrderNumbers {
        // Start where another process on the same terminal is unlikely to be.
        let start = (chrono::Utc::now().timestamp_subsec_nanos() / 1000) % 10_000;
        OrderNumbers { terminal: terminal.to_ascii_uppercase(), seq: AtomicU32::new(start) }
    }

    /// A payment number; `kind` is inserted after the terminal code (`""` for payments, `"R"`
    /// for refunds) so the two never collide.
    pub fn next(&self, kind: &str) -> String {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) % 10_000;
        format!("{}{}{}{:04}", self.terminal, kind, Local::now().format("%y%m%d%H%M%S"), seq)
    }
}

/// The terminal code of a payment number this module made (`T01` of `T01` + `yyMMddHHmmss` + 4 digits),
/// or none for any other text (an order made outside paydesk, or a refund number).
pub fn terminal_of(order_no: &str) -> Option<&str> {
    const DIGITS: usize = 12 + 4;
    let split = order_no.len().checked_sub(DIGITS)?;
    let (code, digits) = (order_no.get(..split)?, order_no.get(split..)?);
    let code_ok = (1..=8).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric());
    (code_ok && digits.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payment_number_names_its_terminal() {
        let n = OrderNumbers::new("k2");
        assert_eq!(terminal_of(&n.next("")), Some("K2"));
        assert_eq!(terminal_of("T012611221030000001"), Some("T01"));
        assert_eq!(terminal_of("T01R2611221030000001"), Some("T01R"), "a refund number reads as its own code");
        assert_eq!(terminal_of("T0126112210300001"), Some("T"), "only the 16 digits are fixed");
        for other in ["NOT-OURS-1", "2026112210300001", "", "T01261122103000x1", "ABCDEFGHI2611221030000001"] {
            assert_eq!(terminal_of(other), None, "{other}");
        }
    }

    #[test]
    fn numbers_are_short_alphanumeric_and_distinct() {
        let n = OrderNumbers::new("t01");
        let a = n.next("");
        let b = n.next("");
        assert_ne!(a, b);
        assert!(a.starts_with("T01"));
        assert_eq!(a.len(), 3 + 12 + 4);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        let long = OrderNumbers::new("ABCDEFGH").next("R");
        assert!(long.len() <= 32, "{long}");
    }

    #[test]
    fn ten_thousand_in_a_row_do_not_repeat_within_a_second() {
        let n = OrderNumbers::new("T");
        let ids: std::collections::HashSet<_> = (0..10_000).map(|_| n.next("")[13..].to_string()).collect();
        assert_eq!(ids.len(), 10_000);
    }
}
