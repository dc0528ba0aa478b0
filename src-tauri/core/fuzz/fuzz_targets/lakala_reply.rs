//! lakala: one reply (status, headers, body), read by the backend channel, by the direct channel
//! (signature headers verified first) and by the direct channel's rules without the signature,
//! as the answer to every call (micropay, labs/counter query, preorder/counter create, close,
//! revoke, refund). With the `sign` flag the target signs the body as Lakala would.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use paydesk_core::channel::{CancelOutcome, CreateOutcome, Order, PayOutcome, RefundOutcome};
use paydesk_core::fuzzing::{Lakala, LakalaOutcomes};
use paydesk_core::ledger::Flow;
use paydesk_core::money::Fen;
use std::sync::LazyLock;

const ORDER: Order<'static> = Order {
    id: "T1261122000000001",
    amount: Fen(100),
    subject: "",
    merchant: "8222900701106PZ",
    method: None,
    flow: Flow::Qr,
};
const REFUND_ID: &str = "R1261122000000001";

static LAKALA: LazyLock<Lakala> = LazyLock::new(|| Lakala::new(common::keys()).expect("lakala channels"));

fn all_unknown(o: &LakalaOutcomes) -> bool {
    [&o.pay, &o.labs_query, &o.counter_query, &o.labs_close, &o.counter_close]
        .iter()
        .all(|p| matches!(p, PayOutcome::Unknown(_)))
        && matches!(o.labs_create, CreateOutcome::Unknown(_))
        && matches!(o.counter_create, CreateOutcome::Unknown(_))
        && matches!(o.cancel, CancelOutcome::Unknown(_))
        && matches!(o.refund, RefundOutcome::Unknown(_))
}

fn check(o: &LakalaOutcomes, status: u16, body: &[u8]) {
    let is_2xx = (200..300).contains(&status);
    if status >= 500 {
        assert!(all_unknown(o), "HTTP {status} read as {o:?}");
    }
    let names_order = common::json_names(body, ORDER.id);
    for p in [&o.pay, &o.labs_query, &o.counter_query] {
        if matches!(p, PayOutcome::Paid { .. }) {
            assert!(is_2xx && names_order, "paid from HTTP {status} or without our order: {p:?}");
        }
        if matches!(p, PayOutcome::Waiting) {
            assert!(is_2xx, "waiting from HTTP {status}");
        }
    }
    for c in [&o.labs_create, &o.counter_create] {
        if let CreateOutcome::Created { payload } = c {
            assert!(is_2xx && !payload.trim().is_empty() && payload.len() <= 2048, "{c:?}");
        }
    }
    if matches!(o.cancel, CancelOutcome::Reversed { .. } | CancelOutcome::Retry) {
        assert!(is_2xx);
    }
    if matches!(o.refund, RefundOutcome::Succeeded { .. } | RefundOutcome::Processing { .. }) {
        assert!(is_2xx);
    }
}

fuzz_target!(|data: &[u8]| {
    let input = common::reply_input(data, true);
    let mut headers = Vec::new();
    if input.sign {
        headers = common::lakala_reply_headers(input.body);
    }
    headers.extend(input.headers.iter().cloned());
    let [backend, direct, direct_unsigned] = LAKALA.reply(input.status, &headers, input.body, &ORDER, REFUND_ID);
    for o in [&backend, &direct, &direct_unsigned] {
        check(o, input.status, input.body);
    }
    if input.sign && std::str::from_utf8(input.body).is_ok() {
        // A reply Lakala signed reads exactly as the same reply without the check.
        assert_eq!(format!("{direct:?}"), format!("{direct_unsigned:?}"));
    } else {
        // Nothing in the corpus carries a valid signature: an unsigned reply never counts (nor
        // does a body that is not UTF-8: the signature is over text).
        assert!(all_unknown(&direct), "an unsigned reply changed something: {direct:?}");
    }
});
