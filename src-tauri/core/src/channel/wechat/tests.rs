//! The reply mapping as pure logic, on replies signed as WeChat Pay signs them; the wire itself
//! is tested against the sandbox, and the signatures against a WeChat Pay client library.
use super::*;
use crate::ledger::Flow;

const KEY: &str = "paydesksandboxwechatv2apikey0032";

const BJ: ChannelZone = ChannelZone(match chrono::FixedOffset::east_opt(8 * 3600) {
    Some(z) => z,
    None => panic!("+08:00"),
});

const ORDER: Order<'static> = Order {
    id: "T0126112210300001",
    amount: Fen(8888),
    subject: "x",
    merchant: "1900000109",
    method: None,
    flow: Flow::Barcode,
};

fn check() -> Check {
    Check {
        key: KEY.into(),
        sign_type: WechatSignType::HmacSha256,
        appid: "wxd930ea5d5a258f4f".into(),
        mch_id: "1900000109".into(),
    }
}

/// A reply as WeChat writes it: `return_code` SUCCESS, our ids, signed.
fn signed(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut f: Fields =
        [("return_code", "SUCCESS"), ("appid", "wxd930ea5d5a258f4f"), ("mch_id", "1900000109"), ("nonce_str", "n")]
            .iter()
            .chain(pairs)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    let sign = xml::sign(&f, KEY, WechatSignType::HmacSha256);
    f.insert("sign".into(), sign);
    xml::write(&f).into_bytes()
}

fn r(pairs: &[(&str, &str)]) -> Read {
    read_body(&signed(pairs), &check())
}

fn failures() -> Vec<String> {
    crate::config::WECHAT_PAY_FAILURES.iter().map(|c| c.to_string()).collect()
}

const PAID: &[(&str, &str)] = &[
    ("result_code", "SUCCESS"),
    ("openid", "o1"),
    ("trade_type", "MICROPAY"),
    ("total_fee", "8888"),
    ("cash_fee", "8888"),
    ("transaction_id", "4200001"),
    ("out_trade_no", "T0126112210300001"),
    ("time_end", "20260115160000"),
];

#[test]
fn replies_must_be_signed_and_ours() {
    assert!(matches!(r(PAID), Read::Reply(_)));
    let tampered = String::from_utf8(signed(PAID)).unwrap().replace("8888", "1");
    assert!(matches!(read_body(tampered.as_bytes(), &check()), Read::Unknown(_)));
    let other_key = Check { key: "x".repeat(32), ..check() };
    assert!(matches!(read_body(&signed(PAID), &other_key), Read::Unknown(_)));
    let other_mch = Check { mch_id: "1".into(), ..check() };
    assert!(matches!(read_body(&signed(PAID), &other_mch), Read::Unknown(why) if why.contains("mch_id")));
    let unsigned = b"<xml><return_code>SUCCESS</return_code><result_code>SUCCESS</result_code></xml>";
    assert!(matches!(read_body(unsigned, &check()), Read::Unknown(_)));
    let fail = "<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[签名错误]]></return_msg></xml>";
    assert!(matches!(read_body(fail.as_bytes(), &check()), Read::NotTaken(m) if m == "签名错误"));
    assert!(matches!(read_body(b"<html>502</html>", &check()), Read::Unknown(_)));
    assert!(matches!(read_body(b"<xml><a>", &check()), Read::Unknown(_)));
}

#[test]
fn micropay_replies() {
    let pay = |pairs: &[(&str, &str)]| pay_outcome(r(pairs), &ORDER, BJ, &failures());
    assert_eq!(pay(PAID), PayOutcome::Paid { trade_no: Some("4200001".into()), paid_at: Some(1_768_464_000_000) });
    let fail = |code: &str| pay(&[("result_code", "FAIL"), ("err_code", code), ("err_code_des", "说明")]);
    assert_eq!(fail("USERPAYING"), PayOutcome::Waiting);
    assert_eq!(fail("NOTENOUGH"), PayOutcome::Failed(Failure { code: "NOTENOUGH".into(), message: "说明".into() }));
    assert!(matches!(fail("AUTH_CODE_INVALID"), PayOutcome::Failed(_)));
    for code in ["SYSTEMERROR", "BANKERROR", "ORDERPAID", "ORDERCLOSED", "OUT_TRADE_NO_USED", "SOMETHING_NEW", ""] {
        assert!(matches!(fail(code), PayOutcome::Unknown(_)), "{code}");
    }
    // Paid is said only with our order and amount.
    let mut other_amount = PAID.to_vec();
    other_amount[3] = ("total_fee", "1");
    assert!(matches!(pay(&other_amount), PayOutcome::Unknown(_)));
    assert!(matches!(pay(&[("result_code", "SUCCESS")]), PayOutcome::Unknown(_)));
    // A return_code FAIL is never a failed payment.
    let not_taken = read_body(b"<xml><return_code>FAIL</return_code><return_msg>x</return_msg></xml>", &check());
    assert!(matches!(pay_outcome(not_taken, &ORDER, BJ, &failures()), PayOutcome::Unknown(_)));
}

#[test]
fn orderquery_replies() {
    let q = |pairs: &[(&str, &str)]| query_outcome(r(pairs), &ORDER, BJ);
    let state = |s: &str| {
        let mut v = PAID.to_vec();
        v.push(("trade_state", s));
        v.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>()
    };
    let q_state = |s: &str| {
        let owned = state(s);
        let pairs: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        q(&pairs)
    };
    assert!(matches!(q_state("SUCCESS"), PayOutcome::Paid { .. }));
    assert!(matches!(q_state("REFUND"), PayOutcome::Paid { .. }));
    for waiting in ["NOTPAY", "USERPAYING", "ACCEPT"] {
        assert_eq!(q_state(waiting), PayOutcome::Waiting);
    }
    assert_eq!(q_state("CLOSED"), PayOutcome::Closed);
    assert!(matches!(q_state("REVOKED"), PayOutcome::Reversed { .. }), "a reversal, not a close: a charge went back");
    assert!(matches!(q_state("PAYERROR"), PayOutcome::Unknown(_)));
    assert!(matches!(q_state("NEWSTATE"), PayOutcome::Unknown(_)));
    assert_eq!(q(&[("result_code", "FAIL"), ("err_code", "ORDERNOTEXIST")]), PayOutcome::NotFound);
    assert!(matches!(q(&[("result_code", "FAIL"), ("err_code", "SYSTEMERROR")]), PayOutcome::Unknown(_)));
    assert!(matches!(q(&[("result_code", "SUCCESS"), ("trade_state", "SUCCESS")]), PayOutcome::Unknown(_)));
}

#[test]
fn reverse_and_close_replies() {
    assert_eq!(
        reverse_outcome(r(&[("result_code", "SUCCESS"), ("recall", "N")])),
        CancelOutcome::Reversed { was_paid: None }
    );
    assert_eq!(
        reverse_outcome(r(&[("result_code", "FAIL"), ("err_code", "SYSTEMERROR"), ("recall", "Y")])),
        CancelOutcome::Retry
    );
    assert_eq!(reverse_outcome(r(&[("result_code", "SUCCESS"), ("recall", "Y")])), CancelOutcome::Retry);
    assert_eq!(reverse_outcome(r(&[("result_code", "FAIL"), ("err_code", "USERPAYING")])), CancelOutcome::Retry);
    assert!(matches!(
        reverse_outcome(r(&[("result_code", "FAIL"), ("err_code", "TRADE_OVERDUE")])),
        CancelOutcome::Failed(_)
    ));
    assert!(matches!(
        reverse_outcome(read_body(b"<xml><return_code>FAIL</return_code></xml>", &check())),
        CancelOutcome::Unknown(_)
    ));

    assert_eq!(close_outcome(r(&[("result_code", "SUCCESS")])), PayOutcome::Closed);
    assert_eq!(close_outcome(r(&[("result_code", "FAIL"), ("err_code", "ORDERCLOSED")])), PayOutcome::Closed);
    assert_eq!(close_outcome(r(&[("result_code", "FAIL"), ("err_code", "ORDERNOTEXIST")])), PayOutcome::NotFound);
    assert!(matches!(close_outcome(r(&[("result_code", "FAIL"), ("err_code", "ORDERPAID")])), PayOutcome::Failed(_)));
    assert!(matches!(
        close_outcome(r(&[("result_code", "FAIL"), ("err_code", "SYSTEMERROR")])),
        PayOutcome::Unknown(_)
    ));
}

#[test]
fn refunds_end_by_the_refund_query() {
    let accepted = [
        ("result_code", "SUCCESS"),
        ("out_trade_no", "T0126112210300001"),
        ("out_refund_no", "R1"),
        ("refund_id", "50001"),
        ("refund_fee", "1000"),
        ("total_fee", "8888"),
    ];
    assert_eq!(refund_outcome(r(&accepted), &ORDER, Fen(1000)), Ok(None));
    assert!(refund_outcome(r(&accepted), &ORDER, Fen(999)).is_err());
    assert!(matches!(
        refund_outcome(
            r(&[("result_code", "FAIL"), ("err_code", "ERROR"), ("err_code_des", "申请退款金额超过订单可退金额")]),
            &ORDER,
            Fen(1)
        ),
        Ok(Some(RefundOutcome::Failed(_)))
    ));
    assert!(refund_outcome(r(&[("result_code", "FAIL"), ("err_code", "SYSTEMERROR")]), &ORDER, Fen(1)).is_err());

    let listed = |status: &str| {
        r(&[
            ("result_code", "SUCCESS"),
            ("out_trade_no", "T0126112210300001"),
            ("refund_count", "2"),
            ("out_refund_no_0", "R0"),
            ("refund_fee_0", "5"),
            ("refund_status_0", "SUCCESS"),
            ("out_refund_no_1", "R1"),
            ("refund_id_1", "50001"),
            ("refund_fee_1", "1000"),
            ("refund_status_1", status),
        ])
    };
    assert_eq!(
        refund_query_outcome(listed("SUCCESS"), "R1", Fen(1000)),
        RefundOutcome::Succeeded { refund_no: Some("50001".into()) }
    );
    assert_eq!(
        refund_query_outcome(listed("PROCESSING"), "R1", Fen(1000)),
        RefundOutcome::Processing { refund_no: Some("50001".into()) }
    );
    assert!(
        matches!(refund_query_outcome(listed("REFUNDCLOSE"), "R1", Fen(1000)), RefundOutcome::Failed(f) if f.code == "REFUNDCLOSE")
    );
    assert!(
        matches!(refund_query_outcome(listed("CHANGE"), "R1", Fen(1000)), RefundOutcome::Unknown(why) if why.contains("CHANGE"))
    );
    assert!(matches!(refund_query_outcome(listed("SUCCESS"), "R1", Fen(999)), RefundOutcome::Unknown(_)));
    assert!(matches!(refund_query_outcome(listed("SUCCESS"), "R9", Fen(1000)), RefundOutcome::Unknown(_)));
    assert!(matches!(
        refund_query_outcome(r(&[("result_code", "FAIL"), ("err_code", "REFUNDNOTEXIST")]), "R1", Fen(1)),
        RefundOutcome::Unknown(_)
    ));
}

#[test]
fn notifies_are_believed_only_signed_and_ours() {
    let paid = [
        ("result_code", "SUCCESS"),
        ("out_trade_no", "T0126112210300001"),
        ("total_fee", "8888"),
        ("transaction_id", "4200001"),
        ("time_end", "20260115160000"),
        ("trade_type", "NATIVE"),
    ];
    assert_eq!(
        read_notify(&signed(&paid), &check(), BJ),
        Notice::Paid {
            order_id: "T0126112210300001".into(),
            amount: Fen(8888),
            merchant: Some("1900000109".into()),
            trade_no: Some("4200001".into()),
            paid_at: Some(1_768_464_000_000),
        }
    );
    // WeChat signs notifies MD5 unless told otherwise: both are taken.
    let mut md5: Fields = paid
        .iter()
        .chain(&[("return_code", "SUCCESS"), ("appid", "wxd930ea5d5a258f4f"), ("mch_id", "1900000109")])
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    md5.insert("sign".into(), xml::sign(&md5, KEY, WechatSignType::Md5));
    assert!(matches!(read_notify(xml::write(&md5).as_bytes(), &check(), BJ), Notice::Paid { .. }));
    let forged = String::from_utf8(signed(&paid)).unwrap().replace("8888", "1");
    assert_eq!(read_notify(forged.as_bytes(), &check(), BJ), Notice::QueryNow { order_id: "T0126112210300001".into() });
    let not_ours = Check { appid: "wxother".into(), ..check() };
    assert!(matches!(read_notify(&signed(&paid), &not_ours, BJ), Notice::Refused(_)));
    assert!(matches!(read_notify(b"<xml><total_fee>1</total_fee></xml>", &check(), BJ), Notice::Refused(_)));
    assert!(matches!(read_notify(b"<!DOCTYPE x><xml/>", &check(), BJ), Notice::Refused(_)));
}
