//! abc (ABC integrated cashier): one reply body, read as the answer to every call (create QR /
//! page / app, barcode pay, query, refund), plus the audit record kept of it.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use paydesk_core::channel::{CreateOutcome, Order, PayOutcome, RefundOutcome};
use paydesk_core::fuzzing::abc_reply;
use paydesk_core::ledger::Flow;
use paydesk_core::money::Fen;

const ORDER: Order<'static> = Order {
    id: "T0126112210300001",
    amount: Fen(6800),
    subject: "x",
    merchant: "103881636900016",
    method: None,
    flow: Flow::Barcode,
};
const CODE: &str = "280123456789012345";

fuzz_target!(|data: &[u8]| {
    let input = common::reply_input(data, false);
    let (status, body) = (input.status, input.body);
    let out = abc_reply(status, body, &ORDER, Fen(5000));

    let audit = paydesk_core::fuzzing::audit_reply("barcode", Some(CODE), status, body, CODE);
    assert!(!audit.to_string().contains(CODE), "the audit record keeps the payment code");

    let is_2xx = (200..300).contains(&status);
    let names_order = common::json_names(body, ORDER.id);
    for pay in [&out.pay, &out.query] {
        if let PayOutcome::Paid { .. } = pay {
            assert!(is_2xx, "paid from HTTP {status}");
            assert!(names_order, "paid without our order number");
        }
    }
    for created in [&out.qr, &out.page, &out.app] {
        if let CreateOutcome::Created { payload } = created {
            assert!(is_2xx && !payload.trim().is_empty());
        }
    }
    if status >= 500 {
        assert!(matches!(out.pay, PayOutcome::Unknown(_)) && matches!(out.query, PayOutcome::Unknown(_)));
        assert!(matches!(out.refund, RefundOutcome::Unknown(_)));
        assert!(matches!(out.qr, CreateOutcome::Unknown(_)));
    }
    if !is_2xx {
        assert!(matches!(out.pay, PayOutcome::Failed(_) | PayOutcome::Unknown(_)), "{status}: {:?}", out.pay);
        assert!(matches!(out.query, PayOutcome::NotFound | PayOutcome::Unknown(_)), "{status}: {:?}", out.query);
        assert!(matches!(out.refund, RefundOutcome::Failed(_) | RefundOutcome::Unknown(_)));
    }
    // Nothing here was sent: a reply is never "not sent".
    assert!(!matches!(out.pay, PayOutcome::NotSent(_)) && !matches!(out.refund, RefundOutcome::NotSent(_)));
});
