//! wechat (WeChat Pay v2): one XML reply, read as the answer to every call (micropay,
//! unifiedorder, orderquery, reverse, closeorder, refund, refundquery). With the `sign` flag the
//! target signs the message with the API key first (when it is a flat `<xml>`), so the mapping
//! behind the signature check is reached.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use paydesk_core::channel::{CancelOutcome, CreateOutcome, Order, PayOutcome, RefundOutcome};
use paydesk_core::fuzzing::{wechat_reply, WechatCheck};
use paydesk_core::ledger::Flow;
use paydesk_core::money::Fen;
use std::sync::LazyLock;

const ORDER: Order<'static> =
    Order { id: "T0126112210300001", amount: Fen(8888), subject: "x", merchant: "1900000109", method: None, flow: Flow::Barcode };

static CHECK: LazyLock<WechatCheck> = LazyLock::new(common::wechat_check);

fuzz_target!(|data: &[u8]| {
    let input = common::reply_input(data, false);
    let signed = if input.sign { common::wechat_signed(input.body) } else { None };
    let body = signed.as_deref().unwrap_or(input.body);
    let status = input.status;
    let out = wechat_reply(&CHECK, status, body, &ORDER, Fen(1000));

    let is_2xx = (200..300).contains(&status);
    if !is_2xx || signed.is_none() {
        // Unsigned text never settles a payment either way.
        assert!(matches!(out.pay, PayOutcome::Unknown(_)), "{:?}", out.pay);
        assert!(matches!(out.query, PayOutcome::Unknown(_)));
        assert!(matches!(out.reverse, CancelOutcome::Unknown(_)));
        assert!(matches!(out.close, PayOutcome::Unknown(_)));
        assert!(out.refund.is_err());
        assert!(matches!(out.refund_query, RefundOutcome::Unknown(_)));
        assert!(!matches!(out.create, CreateOutcome::Created { .. }));
    }
    for pay in [&out.pay, &out.query] {
        if let PayOutcome::Paid { .. } = pay {
            let text = String::from_utf8_lossy(body);
            assert!(signed.is_some() && text.contains(ORDER.id) && text.contains("8888"));
        }
    }
    assert!(!matches!(out.pay, PayOutcome::NotSent(_)));
});
