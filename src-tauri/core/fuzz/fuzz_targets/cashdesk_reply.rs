//! cashdesk: one reply, read as the answer to the unified order (token, signed echo, channel
//! list) and to the pay-result query. With the `sign` flag the target signs `data.signature` as
//! the desk would, so the reading behind the signature check is reached.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use paydesk_core::channel::cashdesk::{scalar_fields, CashdeskChannel, DeskSigner};
use paydesk_core::channel::{CreateOutcome, Order, PayOutcome};
use paydesk_core::config::{Secret, SignScheme};
use paydesk_core::fuzzing::{cashdesk_channel, cashdesk_reply};
use paydesk_core::ledger::Flow;
use paydesk_core::money::Fen;
use serde_json::Value;
use std::sync::LazyLock;

const ORDER: Order<'static> = Order {
    id: "DEMO012611221030000001",
    amount: Fen(100),
    subject: "",
    merchant: "123456",
    method: None,
    flow: Flow::Qr,
};

static DESKS: LazyLock<[(SignScheme, CashdeskChannel); 2]> =
    LazyLock::new(|| [SignScheme::Md5, SignScheme::Sm3].map(|s| (s, cashdesk_channel(s).expect("cashdesk channel"))));

/// The body with `data.signature.signature` set to the desk's signature of the other fields.
fn signed(body: &[u8], scheme: SignScheme) -> Option<Vec<u8>> {
    let mut v: Value = serde_json::from_slice(body).ok()?;
    let sig = v.get_mut("data")?.get_mut("signature")?.as_object_mut()?;
    let signer = DeskSigner::new("123456", &Secret::new("000000"), scheme);
    let signature = signer.sign(&scalar_fields(sig));
    sig.insert("signature".into(), Value::String(signature));
    serde_json::to_vec(&v).ok()
}

fuzz_target!(|data: &[u8]| {
    let input = common::reply_input(data, false);
    let status = input.status;
    let is_2xx = (200..300).contains(&status);
    for (scheme, desk) in DESKS.iter() {
        let body = if input.sign { signed(input.body, *scheme) } else { None };
        let body = body.as_deref().unwrap_or(input.body);
        let out = cashdesk_reply(desk, status, body, &ORDER);
        if !is_2xx {
            assert!(matches!(out.create, CreateOutcome::Unknown(_)) && matches!(out.query, PayOutcome::Unknown(_)));
        }
        match &out.create {
            CreateOutcome::Created { payload } => {
                assert!(payload.contains("/cashier-desk-web/payment?token="), "{payload}");
                // Only a reply signed for our order is believed.
                let v: Value = serde_json::from_slice(body).expect("a created reply is JSON");
                let echo = &v["data"]["signature"]["outTradeNo"];
                assert_eq!(echo.as_str(), Some(ORDER.id), "created for {echo}");
            }
            // A refusal carries the desk's own code (any but success); no page or no channel is ours.
            CreateOutcome::Failed(f) => assert!(
                ["NO_CHANNEL", "NO_PAGE"].contains(&f.code.as_str()) || f.code.parse::<i64>().is_ok_and(|c| c != 1000),
                "{f:?}"
            ),
            _ => {}
        }
        if let Some(kept) = &out.channels_kept {
            assert!(kept.is_array(), "{kept}");
        }
    }
});
