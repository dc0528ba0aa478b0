//! Fault injection for the crash tests and the chaos harness: with
//! `PAYDESK_FAILPOINT=<name>` (or `<name>:<n>`, the n-th time that point is reached) in the
//! environment, the process stops there, says so on stderr, and waits to be killed. Without the
//! variable this is one cached lookup.
//!
//! Points: `before_send` (the `created` row is committed, nothing sent), `after_send` (the
//! channel answered, nothing recorded yet), `while_polling` (waiting for the customer),
//! `after_cancel` (a cancel, close or reversal answered, nothing recorded), `refund_after_send`
//! (a refund answered, nothing recorded).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The armed point and on which hit it stops (1 = the first).
fn armed() -> Option<&'static (String, u64)> {
    static ARMED: OnceLock<Option<(String, u64)>> = OnceLock::new();
    ARMED.get_or_init(|| parse(&std::env::var("PAYDESK_FAILPOINT").ok()?)).as_ref()
}

fn parse(value: &str) -> Option<(String, u64)> {
    let (name, nth) = match value.split_once(':') {
        Some((name, n)) => (name, n.trim().parse().ok().filter(|n| *n > 0)?),
        None => (value, 1),
    };
    let name = name.trim();
    (!name.is_empty()).then(|| (name.to_owned(), nth))
}

pub(super) fn failpoint(name: &str) {
    static HITS: AtomicU64 = AtomicU64::new(0);
    let Some((armed, nth)) = armed() else { return };
    if armed == name && HITS.fetch_add(1, Ordering::SeqCst) + 1 == *nth {
        eprintln!("failpoint {name} reached");
        loop {
            std::thread::park();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn a_point_and_its_hit() {
        assert_eq!(parse("after_send"), Some(("after_send".into(), 1)));
        assert_eq!(parse("after_send:7"), Some(("after_send".into(), 7)));
        assert_eq!(parse("after_send:0"), None);
        assert_eq!(parse("after_send:x"), None);
        assert_eq!(parse(""), None);
    }
}
