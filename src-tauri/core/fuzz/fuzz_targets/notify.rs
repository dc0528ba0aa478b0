//! Inbound payment notifications: the body (and `Authorization` header) each channel's
//! `read_notify` parses and verifies; the HTTP listener itself is not fuzzed.
//!
//! Input: the first line is the `Authorization` header (empty: none); the rest is the body. A
//! first line of exactly `@sign` makes the target sign the body as Lakala (header), the cash desk
//! (`signature` field), Alipay (form `sign`) and WeChat Pay (XML `sign`) would, so the reading
//! behind the signature check is reached.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use paydesk_core::channel::abc::AbcChannel;
use paydesk_core::channel::cashdesk::{scalar_fields, CashdeskChannel, DeskSigner};
use paydesk_core::channel::lakala::sign::parse_authorization;
use paydesk_core::channel::paysvc::PaysvcChannel;
use paydesk_core::channel::{Channel, Notice};
use paydesk_core::config::{Config, Secret, SignScheme};
use paydesk_core::fuzzing::{
    alipay_notify, cashdesk_channel, paysvc_channel, wechat_notify, AlipayKeys, Lakala, WechatCheck,
};
use serde_json::Value;
use std::sync::LazyLock;

struct Channels {
    lakala: Lakala,
    desks: [(SignScheme, CashdeskChannel); 2],
    abc: AbcChannel,
    paysvc: PaysvcChannel,
    alipay: AlipayKeys,
    wechat: WechatCheck,
}

static CHANNELS: LazyLock<Channels> = LazyLock::new(|| Channels {
    lakala: Lakala::new(common::keys()).expect("lakala"),
    desks: [SignScheme::Md5, SignScheme::Sm3].map(|s| (s, cashdesk_channel(s).expect("cashdesk"))),
    abc: AbcChannel::new(Config::demo(9).channels.abc.as_ref().expect("abc")).expect("abc"),
    paysvc: paysvc_channel(&["127.0.0.1"]).expect("paysvc"),
    alipay: common::alipay_keys(),
    wechat: common::wechat_check(),
});

/// The body with a top-level `signature` the cash desk would have made.
fn desk_signed(body: &[u8], scheme: SignScheme) -> Option<Vec<u8>> {
    let mut v: Value = serde_json::from_slice(body).ok()?;
    let object = v.as_object_mut()?;
    let signature = DeskSigner::new("123456", &Secret::new("000000"), scheme).sign(&scalar_fields(object));
    object.insert("signature".into(), Value::String(signature));
    serde_json::to_vec(&v).ok()
}

fuzz_target!(|data: &[u8]| {
    let (first, body) = common::split_line(data);
    let sign = first == b"@sign";
    let header = String::from_utf8_lossy(first).into_owned();
    let lakala_auth =
        if sign { Some(common::lakala_notify_authorization(body)) } else { (!first.is_empty()).then_some(header) };
    let ch = &*CHANNELS;

    let _ = parse_authorization(lakala_auth.as_deref().unwrap_or(""));

    // Direct: only a notify Lakala signed is read at all.
    let direct = ch.lakala.direct.read_notify(lakala_auth.as_deref(), body);
    if !sign {
        assert!(matches!(direct, Notice::Refused(_)), "an unsigned notify was taken: {direct:?}");
    }
    if let Notice::Paid { order_id, .. } | Notice::QueryNow { order_id } = &direct {
        assert!(!order_id.is_empty());
    }
    // Backend: unsigned, so never more than a reason to query.
    let backend = ch.lakala.backend.read_notify(lakala_auth.as_deref(), body);
    assert!(!matches!(backend, Notice::Paid { .. }), "{backend:?}");

    for (scheme, desk) in &ch.desks {
        let signed = if sign { desk_signed(body, *scheme) } else { None };
        let notice = desk.read_notify(None, signed.as_deref().unwrap_or(body));
        match notice {
            Notice::Paid { .. } => panic!("a cash desk notify is only a reason to query"),
            Notice::QueryNow { order_id } => {
                assert!(sign, "an unsigned cash desk notify was taken");
                assert!(!order_id.is_empty());
            }
            Notice::Refused(_) => {}
        }
    }

    // Channels that send no notifies refuse every one.
    assert!(matches!(ch.abc.read_notify(lakala_auth.as_deref(), body), Notice::Refused(_)));
    assert!(matches!(ch.paysvc.read_notify(lakala_auth.as_deref(), body), Notice::Refused(_)));

    // Alipay: news of a payment only from a form Alipay signed, for our app and seller.
    let alipay_signed = if sign { common::alipay_signed_notify(body) } else { None };
    let alipay = alipay_notify(
        &ch.alipay,
        alipay_signed.as_deref().unwrap_or(body),
        common::ALIPAY_APP_ID,
        Some(common::ALIPAY_SELLER_ID),
    );
    if let Notice::Paid { order_id, amount, .. } = &alipay {
        assert!(alipay_signed.is_some(), "an unsigned Alipay notify was taken as paid");
        assert!(!order_id.is_empty() && amount.0 >= 0);
    }
    // WeChat Pay: the same, for a message signed with the API key.
    let wechat_signed = if sign { common::wechat_signed(body) } else { None };
    let wechat = wechat_notify(&ch.wechat, wechat_signed.as_deref().unwrap_or(body));
    if let Notice::Paid { order_id, .. } = &wechat {
        assert!(wechat_signed.is_some(), "an unsigned WeChat Pay notify was taken as paid");
        assert!(!order_id.is_empty());
    }
});
