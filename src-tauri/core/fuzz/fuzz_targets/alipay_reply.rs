//! alipay (Alipay OpenAPI gateway): one reply, read as the answer to every call (pay, precreate,
//! query, cancel, close, refund, refund query). With the `sign` flag the body is one inner object,
//! which the target puts under each method's key and signs as Alipay would, so the mapping behind
//! the signature check is reached; without it, the body is the whole reply as received.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use paydesk_core::channel::{CancelOutcome, CreateOutcome, Order, PayOutcome, RefundOutcome};
use paydesk_core::fuzzing::{alipay_reply, AlipayKeys};
use paydesk_core::ledger::Flow;
use paydesk_core::money::Fen;
use std::sync::LazyLock;

const ORDER: Order<'static> = Order {
    id: "T0126112210300001",
    amount: Fen(8888),
    subject: "x",
    merchant: "2021000000000001",
    method: None,
    flow: Flow::Barcode,
};

static KEYS: LazyLock<AlipayKeys> = LazyLock::new(common::alipay_keys);

fuzz_target!(|data: &[u8]| {
    let input = common::reply_input(data, false);
    let (status, body, sign) = (input.status, input.body, input.sign);
    // One signature serves every method: it covers the inner object only.
    let signature = sign.then(|| common::alipay_sign(body));
    let body_for = |method: &str| match &signature {
        Some(s) => common::alipay_signed_reply(method, body, s),
        None => body.to_vec(),
    };
    let out = alipay_reply(&KEYS, status, body_for, &ORDER, Fen(1000));

    let is_2xx = (200..300).contains(&status);
    // Nothing is believed unsigned, and nothing is believed from a non-2xx reply.
    if !sign || !is_2xx {
        assert!(matches!(out.pay, PayOutcome::Unknown(_)), "{:?}", out.pay);
        assert!(matches!(out.query_barcode, PayOutcome::Unknown(_)));
        assert!(matches!(out.cancel, CancelOutcome::Unknown(_)));
        assert!(matches!(out.close, PayOutcome::Unknown(_)));
        assert!(matches!(out.create, CreateOutcome::Unknown(_)));
        assert!(out.refund.is_err());
        assert!(matches!(out.refund_query, RefundOutcome::Unknown(_)));
    }
    let names_order = common::json_names(body, ORDER.id);
    for pay in [&out.pay, &out.query_barcode, &out.query_qr] {
        if let PayOutcome::Paid { .. } = pay {
            assert!(sign && is_2xx && names_order, "paid without a signed reply naming our order");
        }
    }
    if let CreateOutcome::Created { payload } = &out.create {
        assert!(!payload.trim().is_empty());
    }
    // A QR order is never "not found": an unscanned precreate is unpaid.
    assert!(!matches!(out.query_qr, PayOutcome::NotFound) && !matches!(out.close, PayOutcome::NotFound));
    assert!(!matches!(out.pay, PayOutcome::NotSent(_)) && !matches!(out.refund_query, RefundOutcome::NotSent(_)));
});
