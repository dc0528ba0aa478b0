//! Fault injection for the crash tests: with `PAYDESK_FAILPOINT=<name>` in the environment, the
//! process stops at that point of a payment, says so on stderr, and waits to be killed. Without
//! the variable this is one cached lookup.
//!
//! Points: `before_send` (the `created` row is committed, nothing sent), `after_send` (the
//! channel answered, nothing recorded yet), `while_polling` (waiting for the customer).

use std::sync::OnceLock;

pub(super) fn failpoint(name: &str) {
    static ARMED: OnceLock<Option<String>> = OnceLock::new();
    let armed = ARMED.get_or_init(|| std::env::var("PAYDESK_FAILPOINT").ok().filter(|v| !v.is_empty()));
    if armed.as_deref() == Some(name) {
        eprintln!("failpoint {name} reached");
        loop {
            std::thread::park();
        }
    }
}
