//! Statements (对账单) over real HTTP on loopback: orders paid and refunded through the sandbox's
//! own channel calls, then both wallets' bills downloaded (signed calls, written here
//! independently of the sandbox's code), unzipped, GBK-decoded and read here, and checked
//! against the truth; each bill fault; the download URL's lifetime; T+1; signatures.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::time::Duration;

use base64::Engine as _;
use common::{barcode, client, code, get, post_raw, start};
use paydesk_sandbox::{
    demo_keys, AmountOverride, BillFaults, ExtraCharge, FeeRates, Sandbox, SandboxOptions, ALIPAY_APP_ID,
    ALIPAY_SELLER_ID, WECHAT_API_KEY, WECHAT_APPID, WECHAT_MCH_ID,
};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use sha2::Sha256;

const BILL_URL: &str = "alipay.data.dataservice.bill.downloadurl.query";
const DAY_MS: i64 = 86_400_000;

// ---------------------------------------------------------------- days

/// A Beijing date `offset` days from today, in `fmt`.
fn day(offset: i64, fmt: &str) -> String {
    paydesk_sandbox::channel_stamp(chrono::Utc::now().timestamp_millis() + offset * DAY_MS, fmt)
}

fn ali_day(offset: i64) -> String {
    day(offset, "%Y-%m-%d")
}

fn wx_day(offset: i64) -> String {
    day(offset, "%Y%m%d")
}

/// Fee of a payment at `bp` basis points, half up (the test's own arithmetic).
fn fee(fen: i64, bp: i64) -> i64 {
    (fen * bp * 2 + 10_000) / 20_000
}

fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", fen.abs() / 100, fen.abs() % 100)
}

fn ready_today() -> SandboxOptions {
    SandboxOptions { bills_ready_same_day: true, ..SandboxOptions::default() }
}

// ---------------------------------------------------------------- Alipay: the store's client

fn app_key() -> SigningKey<Sha256> {
    SigningKey::new(RsaPrivateKey::from_pkcs8_pem(demo_keys::ALIPAY_APP_PRIVATE_PEM).expect("app key"))
}

fn alipay_verifies(message: &[u8], sign_b64: &str) -> bool {
    let key = RsaPublicKey::from_public_key_pem(demo_keys::ALIPAY_PUBLIC_PEM).expect("alipay public key");
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(sign_b64) else { return false };
    let Ok(sig) = Signature::try_from(bytes.as_slice()) else { return false };
    VerifyingKey::<Sha256>::new(key).verify(message, &sig).is_ok()
}

fn alipay_params(method: &str, biz: &Value) -> BTreeMap<String, String> {
    let mut p: BTreeMap<String, String> = [
        ("app_id", ALIPAY_APP_ID),
        ("method", method),
        ("format", "JSON"),
        ("charset", "utf-8"),
        ("sign_type", "RSA2"),
        ("version", "1.0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    p.insert("timestamp".into(), day(0, "%Y-%m-%d %H:%M:%S"));
    p.insert("biz_content".into(), biz.to_string());
    p
}

fn alipay_sign(p: &mut BTreeMap<String, String>) {
    let content: Vec<String> =
        p.iter().filter(|(k, v)| k.as_str() != "sign" && !v.is_empty()).map(|(k, v)| format!("{k}={v}")).collect();
    let sig: Signature = app_key().sign(content.join("&").as_bytes());
    p.insert("sign".into(), base64::engine::general_purpose::STANDARD.encode(sig.to_bytes()));
}

/// A gateway reply: the method's object, and whether its `sign` verifies over its exact bytes.
struct AliReply {
    inner: Value,
    signed: bool,
    text: String,
}

async fn alipay_send(sb: &Sandbox, p: &BTreeMap<String, String>) -> AliReply {
    let resp = client().post(format!("{}/gateway.do", sb.base_url())).form(p).send().await.expect("gateway");
    assert_eq!(resp.status().as_u16(), 200);
    let text = resp.text().await.expect("body");
    let members: BTreeMap<String, Box<RawValue>> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    let key = format!("{}_response", p.get("method").map_or("", String::as_str).replace('.', "_"));
    let raw = members.get(&key).or_else(|| members.get("error_response")).unwrap_or_else(|| panic!("{text}"));
    let signed = members
        .get("sign")
        .and_then(|s| serde_json::from_str::<String>(s.get()).ok())
        .is_some_and(|s| alipay_verifies(raw.get().as_bytes(), &s));
    AliReply { inner: serde_json::from_str(raw.get()).expect("inner"), signed, text }
}

async fn alipay_call(sb: &Sandbox, method: &str, biz: Value) -> AliReply {
    let mut p = alipay_params(method, &biz);
    alipay_sign(&mut p);
    let r = alipay_send(sb, &p).await;
    assert!(r.signed, "{method}: the reply's sign does not verify: {}", r.text);
    r
}

async fn ali_pay(sb: &Sandbox, no: &str, yuan: &str) {
    let biz = json!({"out_trade_no": no, "scene": "bar_code", "auth_code": code("00"), "subject": "咖啡",
        "total_amount": yuan});
    let r = alipay_call(sb, "alipay.trade.pay", biz).await;
    assert_eq!(r.inner["code"], "10000", "{}", r.text);
}

async fn ali_refund(sb: &Sandbox, no: &str, yuan: &str, request_no: Option<&str>) {
    let mut biz = json!({"out_trade_no": no, "refund_amount": yuan});
    if let Some(r) = request_no {
        biz["out_request_no"] = json!(r);
    }
    let r = alipay_call(sb, "alipay.trade.refund", biz).await;
    assert_eq!(r.inner["fund_change"], "Y", "{}", r.text);
}

/// The bill-URL query's reply.
async fn ali_bill_query(sb: &Sandbox, date: &str) -> AliReply {
    alipay_call(sb, BILL_URL, json!({"bill_type": "trade", "bill_date": date})).await
}

/// The day's bill URL (a `10000` answer).
async fn ali_bill_url(sb: &Sandbox, date: &str) -> String {
    let r = ali_bill_query(sb, date).await;
    assert_eq!(r.inner["code"], "10000", "{}", r.text);
    let url = r.inner["bill_download_url"].as_str().unwrap_or_default().to_owned();
    assert!(url.starts_with(&format!("{}/bills/alipay/", sb.base_url())), "{url}");
    url
}

/// The two files of an Alipay bill zip, by name, GBK-decoded.
fn unzip_gbk(bytes: &[u8]) -> BTreeMap<String, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    let mut files = BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).expect("entry");
        assert_eq!(file.compression(), zip::CompressionMethod::Deflated);
        let mut raw = Vec::new();
        file.read_to_end(&mut raw).expect("inflate");
        let (text, _, had_errors) = encoding_rs::GBK.decode(&raw);
        assert!(!had_errors, "GBK");
        assert!(std::str::from_utf8(&raw).is_err(), "not UTF-8: GBK");
        // names are GBK too, not flagged UTF-8, as Alipay's
        let name_raw = file.name_raw().to_vec();
        assert!(std::str::from_utf8(&name_raw).is_err(), "a GBK name");
        let (name, _, had_errors) = encoding_rs::GBK.decode(&name_raw);
        assert!(!had_errors, "GBK name");
        files.insert(name.into_owned(), text.into_owned());
    }
    files
}

/// The day's Alipay bill: its file name and files.
async fn ali_bill(sb: &Sandbox, date: &str) -> (String, BTreeMap<String, String>) {
    let resp = client().get(ali_bill_url(sb, date).await).send().await.expect("download");
    assert_eq!(resp.status().as_u16(), 200);
    let disposition = resp.headers().get("content-disposition").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let name = disposition.split("filename=\"").nth(1).unwrap_or_default().trim_end_matches('"').to_owned();
    let bytes = resp.bytes().await.expect("zip bytes");
    (name, unzip_gbk(&bytes))
}

/// A CSV read the way the notes say: `#` lines around, a header, rows of trimmed fields.
struct AliCsv {
    head: Vec<String>,
    rows: Vec<BTreeMap<String, String>>,
    foot: Vec<String>,
}

fn read_alipay_csv(text: &str, list: &str) -> AliCsv {
    assert!(text.ends_with("\r\n") && !text.replace("\r\n", "").contains('\n'), "CRLF lines");
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    let start = lines.iter().position(|l| l.starts_with('#') && l.contains(list)).expect("list marker");
    let header: Vec<&str> = lines[start + 1].split(',').map(str::trim).collect();
    let mut rows = Vec::new();
    let mut i = start + 2;
    while i < lines.len() && !lines[i].starts_with('#') {
        let fields: Vec<&str> = lines[i].split(',').collect();
        assert_eq!(fields.len(), header.len(), "{}", lines[i]);
        rows.push(header.iter().zip(&fields).map(|(h, f)| (h.to_string(), f.trim().to_owned())).collect());
        i += 1;
    }
    AliCsv {
        head: lines[..start].iter().map(|l| l.to_string()).collect(),
        rows,
        foot: lines[i..].iter().map(|l| l.to_string()).collect(),
    }
}

/// The detail file's rows (and the whole read file).
fn alipay_detail(files: &BTreeMap<String, String>, date8: &str) -> AliCsv {
    let text = files.get(&format!("{ALIPAY_SELLER_ID}_{date8}_业务明细.csv")).expect("业务明细.csv");
    read_alipay_csv(text, "业务明细列表")
}

fn row_of<'a>(rows: &'a [BTreeMap<String, String>], kind: &str, no: &str) -> Vec<&'a BTreeMap<String, String>> {
    rows.iter().filter(|r| r["业务类型"] == kind && r["商户订单号"] == no).collect()
}

// ---------------------------------------------------------------- WeChat: the merchant's client

fn wx_sign(fields: &BTreeMap<String, String>, key: &str) -> String {
    common::wechat_sign(fields, "MD5", key)
}

fn wx_request(fields: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut f: BTreeMap<String, String> = [("appid", WECHAT_APPID), ("mch_id", WECHAT_MCH_ID)]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    f.insert("nonce_str".into(), (0..24).map(|_| fastrand::alphanumeric()).collect());
    f.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let s = wx_sign(&f, WECHAT_API_KEY);
    f.insert("sign".into(), s);
    f
}

fn wx_xml(fields: &BTreeMap<String, String>) -> String {
    let inner: String = fields.iter().map(|(k, v)| format!("<{k}><![CDATA[{v}]]></{k}>")).collect();
    format!("<xml>{inner}</xml>")
}

/// `<name>` of an XML reply (CDATA or text).
fn xml_field(text: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let Some(start) = text.find(&open).map(|i| i + open.len()) else { return String::new() };
    let end = text[start..].find(&format!("</{name}>")).map_or(text.len(), |e| start + e);
    text[start..end].trim_start_matches("<![CDATA[").trim_end_matches("]]>").to_owned()
}

/// A WeChat reply: status, `Content-Type`, body.
async fn wx_post(sb: &Sandbox, path: &str, body: String) -> (u16, String, String) {
    let resp = client().post(format!("{}{path}", sb.base_url())).body(body).send().await.expect(path);
    let ctype = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (resp.status().as_u16(), ctype, resp.text().await.expect("body"))
}

async fn wx_call(sb: &Sandbox, path: &str, fields: &[(&str, &str)]) -> String {
    let (status, _, text) = wx_post(sb, path, wx_xml(&wx_request(fields))).await;
    assert_eq!(status, 200);
    assert_eq!(xml_field(&text, "result_code"), "SUCCESS", "{path}: {text}");
    text
}

async fn wx_micropay(sb: &Sandbox, no: &str, fen: &str) {
    let code = "134567890123456700";
    let f = [
        ("body", "咖啡"),
        ("out_trade_no", no),
        ("total_fee", fen),
        ("spbill_create_ip", "127.0.0.1"),
        ("auth_code", code),
    ];
    wx_call(sb, "/pay/micropay", &f).await;
}

async fn wx_refund(sb: &Sandbox, no: &str, refund_no: &str, total: &str, fee: &str) -> String {
    let f = [("out_trade_no", no), ("out_refund_no", refund_no), ("total_fee", total), ("refund_fee", fee)];
    let text = wx_call(sb, "/secapi/pay/refund", &f).await;
    xml_field(&text, "refund_id")
}

/// The day's WeChat bill: `Content-Type` and text, or `return_msg` of a `return_code FAIL`.
async fn wx_bill(sb: &Sandbox, date: &str) -> Result<(String, String), String> {
    let (status, ctype, text) =
        wx_post(sb, "/pay/downloadbill", wx_xml(&wx_request(&[("bill_date", date), ("bill_type", "ALL")]))).await;
    assert_eq!(status, 200);
    if text.starts_with("<xml>") {
        assert_eq!(xml_field(&text, "return_code"), "FAIL", "{text}");
        assert!(!text.contains("<sign>"), "unsigned: {text}");
        return Err(xml_field(&text, "return_msg"));
    }
    Ok((ctype, text))
}

/// A WeChat bill read the way the notes say: BOM, header, backticked rows, summary header, summary.
struct WxBill {
    rows: Vec<BTreeMap<String, String>>,
    summary: BTreeMap<String, String>,
}

fn read_wechat(text: &str) -> WxBill {
    let text = text.strip_prefix('\u{feff}').expect("starts with a BOM");
    assert!(text.ends_with("\r\n") && !text.replace("\r\n", "").contains('\n'), "CRLF lines");
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    let fields = |line: &str| -> Vec<String> {
        line.split(',')
            .map(|f| f.strip_prefix('`').unwrap_or_else(|| panic!("a backtick before every field: {line}")).to_owned())
            .collect()
    };
    let header: Vec<&str> = lines[0].split(',').collect();
    let summary_at = lines.iter().position(|l| l.starts_with("总交易单数")).expect("summary header");
    let rows = lines[1..summary_at]
        .iter()
        .map(|l| {
            let f = fields(l);
            assert_eq!(f.len(), header.len(), "{l}");
            header.iter().map(|h| h.to_string()).zip(f).collect()
        })
        .collect();
    assert_eq!(lines.len(), summary_at + 2, "the summary is the last line");
    let summary = lines[summary_at].split(',').map(str::to_owned).zip(fields(lines[summary_at + 1])).collect();
    WxBill { rows, summary }
}

fn wx_rows<'a>(bill: &'a WxBill, status: &str, no: &str) -> Vec<&'a BTreeMap<String, String>> {
    bill.rows.iter().filter(|r| r["交易状态"] == status && r["商户订单号"] == no).collect()
}

/// Fen of a yuan text with up to 5 decimals whose last three are zeros (`0.53000`).
fn fen_of(text: &str) -> i64 {
    let negative = text.starts_with('-');
    let (int, frac) = text.trim_start_matches('-').split_once('.').unwrap_or((text, "0"));
    let frac = format!("{frac:0<2}");
    assert!(frac[2..].chars().all(|c| c == '0'), "{text}");
    let fen = int.parse::<i64>().expect("yuan") * 100 + frac[..2].parse::<i64>().expect("fen");
    if negative {
        -fen
    } else {
        fen
    }
}

/// Every summary total agrees with its column, and the row count.
fn check_wechat_summary(bill: &WxBill) {
    assert_eq!(bill.summary["总交易单数"], bill.rows.len().to_string());
    for (total, column) in [
        ("应结订单总金额", "应结订单金额"),
        ("退款总金额", "退款金额"),
        ("手续费总金额", "手续费"),
        ("订单总金额", "订单金额"),
        ("申请退款总金额", "申请退款金额"),
        ("充值券退款总金额", "充值券退款金额"),
    ] {
        let sum: i64 = bill.rows.iter().map(|r| fen_of(&r[column])).sum();
        assert_eq!(fen_of(&bill.summary[total]), sum, "{total}");
    }
}

// ---------------------------------------------------------------- the bills

#[tokio::test]
async fn alipay_bill_lists_the_days_trades_and_refunds() {
    let sb = start(ready_today()).await;
    ali_pay(&sb, "A1", "88.88").await;
    ali_refund(&sb, "A1", "10.00", Some("A1R1")).await;
    ali_refund(&sb, "A1", "78.88", Some("A1R2")).await;
    ali_pay(&sb, "A2", "12.30").await;
    let r = alipay_call(&sb, "alipay.trade.cancel", json!({"out_trade_no": "A2"})).await;
    assert_eq!(r.inner["action"], "refund");
    let r = alipay_call(
        &sb,
        "alipay.trade.precreate",
        json!({"out_trade_no": "A3", "total_amount": "20.00", "subject": "扫码"}),
    )
    .await;
    assert_eq!(r.inner["code"], "10000");
    sb.customer_pay("A3").expect("paid on the page");
    ali_pay(&sb, "A4", "5.00").await;
    ali_refund(&sb, "A4", "5.00", None).await;
    let biz = json!({"out_trade_no": "A5", "scene": "bar_code", "auth_code": code("91"), "subject": "x", "total_amount": "1.00"});
    assert_eq!(alipay_call(&sb, "alipay.trade.pay", biz).await.inner["sub_code"], "ACQ.BUYER_BALANCE_NOT_ENOUGH");
    ali_pay(&sb, "A6", "8.00").await;
    alipay_call(
        &sb,
        "alipay.trade.refund",
        json!({"out_trade_no": "A6", "refund_amount": "3.00", "out_request_no": "A6R"}),
    )
    .await;
    // another channel's orders are not on this bill
    assert_eq!(barcode(&sb, "B1", "3.00", &code("00")).await.status, 200);
    wx_micropay(&sb, "W1", "700").await;

    let date8 = wx_day(0);
    let (name, files) = ali_bill(&sb, &ali_day(0)).await;
    assert_eq!(name, format!("{ALIPAY_SELLER_ID}_{date8}.csv.zip"));
    assert_eq!(
        files.keys().cloned().collect::<Vec<_>>(),
        vec![
            format!("{ALIPAY_SELLER_ID}_{date8}_业务明细(汇总).csv"),
            format!("{ALIPAY_SELLER_ID}_{date8}_业务明细.csv")
        ]
    );
    let detail = alipay_detail(&files, &date8);
    let raw = &files[&format!("{ALIPAY_SELLER_ID}_{date8}_业务明细.csv")];
    assert!(raw.contains("\t,"), "fields are tab-padded");
    assert_eq!(detail.head[0], "#支付宝业务明细查询");
    assert_eq!(detail.head[1], format!("#账号：[{ALIPAY_SELLER_ID}0156]"));
    let tomorrow = day(1, "%Y年%m月%d日");
    assert_eq!(
        detail.head[2],
        format!("#起始日期：[{} 00:00:00]   终止日期：[{tomorrow} 00:00:00]", day(0, "%Y年%m月%d日"))
    );
    assert_eq!(detail.head.len(), 3);
    let list = format!("#{}业务明细列表{}\r\n", "-".repeat(41), "-".repeat(40));
    assert!(raw.contains(&list), "the list marker");

    // every Alipay charge and refund of the truth, and nothing else
    let truth = sb.truth();
    let charges: Vec<_> = truth.charges.iter().filter(|c| c.channel == "alipay").collect();
    let refunds: Vec<_> = truth.refunds.iter().filter(|r| r.channel == "alipay").collect();
    assert_eq!(detail.rows.len(), charges.len() + refunds.len());
    for c in &charges {
        let rows = row_of(&detail.rows, "交易", &c.order_no);
        assert_eq!(rows.len(), 1, "{}", c.order_no);
        let r = rows[0];
        assert_eq!(r["支付宝交易号"], c.trade_no);
        assert_eq!(
            (r["订单金额（元）"].as_str(), r["商家实收（元）"].as_str()),
            (yuan(c.amount_fen).as_str(), yuan(c.amount_fen).as_str())
        );
        assert_eq!(r["服务费（元）"], yuan(-fee(c.amount_fen, 60)), "{}", c.order_no);
        assert_eq!(r["完成时间"], paydesk_sandbox::channel_stamp(c.at_ms, "%Y-%m-%d %H:%M:%S"));
        assert_eq!(r["退款批次号/请求号"], "");
    }
    for f in &refunds {
        let rows: Vec<_> = row_of(&detail.rows, "退款", &f.order_no)
            .into_iter()
            .filter(|r| r["订单金额（元）"] == yuan(-f.amount_fen))
            .collect();
        assert_eq!(rows.len(), 1, "{f:?}");
        assert_eq!(rows[0]["商家实收（元）"], yuan(-f.amount_fen));
        assert_eq!(rows[0]["完成时间"], paydesk_sandbox::channel_stamp(f.at_ms, "%Y-%m-%d %H:%M:%S"));
    }
    // refund numbers: ours, the trade's own without one, none for a cancel (a reversal)
    let numbers = |no: &str| -> Vec<String> {
        row_of(&detail.rows, "退款", no).iter().map(|r| r["退款批次号/请求号"].clone()).collect()
    };
    assert_eq!(numbers("A1"), vec!["A1R1", "A1R2"]);
    assert_eq!(numbers("A2"), vec![""]);
    assert_eq!(numbers("A4"), vec!["A4"]);
    // the fee goes back pro rata, and in full once the trade is refunded in full
    let fees = |no: &str| -> Vec<String> {
        row_of(&detail.rows, "退款", no).iter().map(|r| r["服务费（元）"].clone()).collect()
    };
    assert_eq!(row_of(&detail.rows, "交易", "A1")[0]["服务费（元）"], "-0.53");
    assert_eq!(fees("A1"), vec!["0.06", "0.47"]);
    assert_eq!(fees("A2"), vec!["0.07"]);
    assert_eq!(fees("A6"), vec!["0.02"]); // 0.05 × 3/8 = 0.01875
    assert!(row_of(&detail.rows, "交易", "A5").is_empty(), "a failed payment is not listed");
    assert!(detail.rows.iter().all(|r| r["商户订单号"].starts_with('A')), "only Alipay's orders");
    assert!(detail.rows.iter().all(|r| r["商品名称"] == "咖啡" || r["商品名称"] == "扫码"));
    assert!(detail.rows.iter().all(|r| r["对方账户"].contains('*')));
    assert_eq!(detail.foot[0].matches('-').count(), 77);
    assert!(detail.foot[0].contains("业务明细列表结束"));
    assert_eq!(detail.foot[1], format!("#交易合计：{}笔，退款合计：{}笔", charges.len(), refunds.len()));
    assert!(detail.foot[2].starts_with("#导出时间：["));

    // the summary file's totals
    let summary = read_alipay_csv(&files[&format!("{ALIPAY_SELLER_ID}_{date8}_业务明细(汇总).csv")], "业务汇总列表");
    assert_eq!(summary.head[0], "#支付宝业务汇总查询");
    let total = summary.rows.iter().find(|r| r["门店编号"] == "合计").expect("合计");
    let net: i64 = detail.rows.iter().map(|r| fen_of(&r["订单金额（元）"])).sum();
    let fees_net: i64 = detail.rows.iter().map(|r| fen_of(&r["服务费（元）"])).sum();
    assert_eq!(total["交易订单总笔数"], charges.len().to_string());
    assert_eq!(total["退款订单总笔数"], refunds.len().to_string());
    assert_eq!(total["订单金额（元）"], yuan(net));
    assert_eq!(total["服务费（元）"], yuan(fees_net));
    assert_eq!(total["实收净额（元）"], yuan(net + fees_net));
    assert!(summary.foot[0].contains("业务汇总列表结束"));
    sb.shutdown().await;
}

#[tokio::test]
async fn wechat_bill_lists_successes_refunds_and_revocations() {
    let sb = start(ready_today()).await;
    wx_micropay(&sb, "W1", "8888").await;
    let refund_id = wx_refund(&sb, "W1", "W1R1", "8888", "1000").await;
    wx_micropay(&sb, "W2", "1230").await;
    wx_call(&sb, "/secapi/pay/reverse", &[("out_trade_no", "W2")]).await;
    let f = [
        ("body", "扫码"),
        ("out_trade_no", "W3"),
        ("total_fee", "2000"),
        ("spbill_create_ip", "127.0.0.1"),
        ("notify_url", "http://127.0.0.1:9/notify"),
        ("trade_type", "NATIVE"),
        ("product_id", "P1"),
    ];
    wx_call(&sb, "/pay/unifiedorder", &f).await;
    sb.customer_pay("W3").expect("paid on the page");
    wx_micropay(&sb, "W4", "5095").await;
    wx_refund(&sb, "W4", "W4R", "5095", "5095").await; // given up by the wallet: no money back
    ali_pay(&sb, "A1", "1.00").await;

    let (ctype, text) = wx_bill(&sb, &wx_day(0)).await.expect("a bill");
    assert_eq!(ctype, "text/plain;charset=utf-8");
    let bill = read_wechat(&text);
    check_wechat_summary(&bill);
    assert_eq!(bill.rows.len(), 5, "{text}");

    let w1 = wx_rows(&bill, "SUCCESS", "W1");
    assert_eq!(w1.len(), 1);
    let truth = sb.truth();
    let charge = truth.charges.iter().find(|c| c.order_no == "W1").expect("W1 charged");
    assert_eq!(w1[0]["微信订单号"], charge.trade_no);
    assert_eq!(w1[0]["交易时间"], paydesk_sandbox::channel_stamp(charge.at_ms, "%Y-%m-%d %H:%M:%S"));
    for (column, value) in [
        ("公众账号ID", WECHAT_APPID),
        ("商户号", WECHAT_MCH_ID),
        ("交易类型", "MICROPAY"),
        ("应结订单金额", "88.88"),
        ("订单金额", "88.88"),
        ("退款金额", "0.00"),
        ("手续费", "0.53000"),
        ("费率", "0.60%"),
        ("商品名称", "咖啡"),
    ] {
        assert_eq!(w1[0][column], value, "{column}");
    }
    let r1 = wx_rows(&bill, "REFUND", "W1");
    assert_eq!(r1.len(), 1);
    for (column, value) in [
        ("微信订单号", charge.trade_no.as_str()),
        ("商户退款单号", "W1R1"),
        ("微信退款单号", refund_id.as_str()),
        ("退款金额", "10.00"),
        ("申请退款金额", "10.00"),
        ("应结订单金额", "0.00"),
        ("退款状态", "SUCCESS"),
        ("手续费", "-0.06000"),
    ] {
        assert_eq!(r1[0][column], value, "{column}");
    }
    // a payment reversed after it was paid: one REVOKED row, the payment's amount, no fee kept
    let w2 = wx_rows(&bill, "REVOKED", "W2");
    assert_eq!(w2.len(), 1, "{text}");
    assert!(wx_rows(&bill, "SUCCESS", "W2").is_empty() && wx_rows(&bill, "REFUND", "W2").is_empty());
    assert_eq!((w2[0]["应结订单金额"].as_str(), w2[0]["手续费"].as_str()), ("12.30", "0.00000"));
    assert_eq!(truth.refunds.iter().filter(|r| r.order_no == "W2").map(|r| r.amount_fen).sum::<i64>(), 1230);
    let w3 = wx_rows(&bill, "SUCCESS", "W3");
    assert_eq!((w3.len(), w3[0]["交易类型"].as_str(), w3[0]["商品名称"].as_str()), (1, "NATIVE", "扫码"));
    assert_eq!(wx_rows(&bill, "SUCCESS", "W4").len(), 1);
    assert!(wx_rows(&bill, "REFUND", "W4").is_empty(), "a refund the wallet gave up is not listed");
    assert!(bill.rows.iter().all(|r| r["商户订单号"].starts_with('W')), "only WeChat's orders");
    assert_eq!(bill.summary["手续费总金额"], format!("{}000", yuan(53 - 6 + 12 + 31)));
    sb.shutdown().await;
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn bill_faults_change_the_statements_not_the_truth() {
    let sb = start(ready_today()).await;
    for (no, amount) in [("A1", "10.00"), ("A2", "20.00"), ("A3", "30.00")] {
        ali_pay(&sb, no, amount).await;
    }
    ali_refund(&sb, "A1", "4.00", Some("A1R")).await;
    for no in ["W1", "W2"] {
        wx_micropay(&sb, no, "5000").await;
    }
    let before = get(&sb, "/admin/truth").await.text;
    let faults = json!({
        "dropOrders": ["A1", "W1"],
        "dropRefunds": [],
        "nextDayOrders": ["A2"],
        "feeRateBp": {"alipay": 100, "wechat": 38},
        "extraCharges": [
            {"channel": "alipay", "orderNo": "X1", "amountFen": 1234, "day": ali_day(0)},
            {"channel": "wechat", "orderNo": "X2", "amountFen": 555, "day": ali_day(0)},
            {"channel": "alipay", "orderNo": "X3", "amountFen": 100, "day": ali_day(-1)},
        ],
        "amountOverrides": [{"orderNo": "A3", "amountFen": 9999}],
        "refundAmountOverrides": [],
    });
    let set = post_raw(&sb, "/admin/bill-faults", &faults.to_string()).await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(get(&sb, "/admin/bill-faults").await.json(), faults);
    let typed = sb.bill_faults();
    assert_eq!(typed.fee_rate_bp, FeeRates { alipay: 100, wechat: 38 });
    assert_eq!(typed.amount_overrides, vec![AmountOverride { order_no: "A3".into(), amount_fen: 9999 }]);

    let (_, files) = ali_bill(&sb, &ali_day(0)).await;
    let detail = alipay_detail(&files, &wx_day(0));
    assert!(row_of(&detail.rows, "交易", "A1").is_empty(), "dropped");
    assert_eq!(row_of(&detail.rows, "退款", "A1").len(), 1, "its refund stays");
    assert_eq!(row_of(&detail.rows, "退款", "A1")[0]["服务费（元）"], "0.04"); // 1 % of 10.00 = 0.10, 4/10 back
    assert!(row_of(&detail.rows, "交易", "A2").is_empty(), "listed tomorrow");
    let a3 = row_of(&detail.rows, "交易", "A3");
    assert_eq!((a3[0]["订单金额（元）"].as_str(), a3[0]["服务费（元）"].as_str()), ("99.99", "-1.00"));
    let x1 = row_of(&detail.rows, "交易", "X1");
    assert_eq!((x1[0]["订单金额（元）"].as_str(), x1[0]["服务费（元）"].as_str()), ("12.34", "-0.12"));
    assert!(!x1[0]["支付宝交易号"].is_empty());
    assert!(row_of(&detail.rows, "交易", "X3").is_empty(), "yesterday's");
    assert_eq!(detail.rows.len(), 3);

    // yesterday's bill has the extra charge of yesterday, and only that
    let (_, files) = ali_bill(&sb, &ali_day(-1)).await;
    let yesterday = alipay_detail(&files, &wx_day(-1));
    assert_eq!(yesterday.rows.len(), 1);
    assert_eq!(
        (yesterday.rows[0]["商户订单号"].as_str(), yesterday.rows[0]["订单金额（元）"].as_str()),
        ("X3", "1.00")
    );
    // noon of its day, a second later per Alipay extra charge listed before it
    assert_eq!(yesterday.rows[0]["完成时间"], format!("{} 12:00:01", ali_day(-1)));

    let bill = read_wechat(&wx_bill(&sb, &wx_day(0)).await.expect("a bill").1);
    check_wechat_summary(&bill);
    assert!(wx_rows(&bill, "SUCCESS", "W1").is_empty(), "dropped");
    let w2 = wx_rows(&bill, "SUCCESS", "W2");
    assert_eq!((w2[0]["费率"].as_str(), w2[0]["手续费"].as_str()), ("0.38%", "0.19000"));
    let x2 = wx_rows(&bill, "SUCCESS", "X2");
    assert_eq!((x2[0]["应结订单金额"].as_str(), x2[0]["手续费"].as_str()), ("5.55", "0.02000"));
    assert_eq!(bill.rows.len(), 2);

    // the truth never changes
    assert_eq!(get(&sb, "/admin/truth").await.text, before);
    // cleared: the bill is the truth again
    sb.set_bill_faults(BillFaults::default());
    let (_, files) = ali_bill(&sb, &ali_day(0)).await;
    assert_eq!(alipay_detail(&files, &wx_day(0)).rows.len(), 4);
    sb.shutdown().await;
}

#[tokio::test]
async fn bad_bill_faults_are_refused() {
    let sb = start(ready_today()).await;
    for bad in [
        "not json",
        r#"{"dropOrder":["A1"]}"#,
        r#"{"feeRateBp":{"alipay":10001}}"#,
        r#"{"extraCharges":[{"channel":"lakala","orderNo":"X","amountFen":1,"day":"2026-01-15"}]}"#,
        r#"{"extraCharges":[{"channel":"alipay","orderNo":"X","amountFen":1,"day":"20260115"}]}"#,
        r#"{"amountOverrides":[{"orderNo":"X","amountFen":0}]}"#,
    ] {
        let r = post_raw(&sb, "/admin/bill-faults", bad).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
    }
    assert_eq!(sb.bill_faults(), BillFaults::default());
    assert_eq!(sb.bill_faults().fee_rate_bp, FeeRates { alipay: 60, wechat: 60 });
    sb.set_bill_faults(BillFaults {
        extra_charges: vec![ExtraCharge {
            channel: "alipay".into(),
            order_no: "E".into(),
            amount_fen: 1,
            day: ali_day(0),
        }],
        ..BillFaults::default()
    });
    assert_eq!(get(&sb, "/admin/bill-faults").await.json()["extraCharges"][0]["orderNo"], "E");
    sb.shutdown().await;
}

/// Yesterday's charges, made by moving a state file's times back a day (the sandbox's own record).
#[tokio::test]
async fn a_charge_listed_the_next_day() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("state.json");
    let opts = SandboxOptions { state_file: Some(file.clone()), ..ready_today() };
    let sb = start(opts.clone()).await;
    ali_pay(&sb, "N1", "10.00").await;
    ali_pay(&sb, "N2", "20.00").await;
    wx_micropay(&sb, "NW1", "3000").await;
    sb.shutdown().await;
    let mut state: Value = serde_json::from_str(&std::fs::read_to_string(&file).expect("state")).expect("json");
    let back = |v: &mut Value| {
        if let Some(ms) = v.as_i64() {
            *v = json!(ms - DAY_MS);
        }
    };
    for charge in state["charges"].as_array_mut().expect("charges") {
        back(&mut charge["atMs"]);
    }
    for order in state["orders"].as_object_mut().expect("orders").values_mut() {
        back(&mut order["createdMs"]);
        back(&mut order["paidMs"]);
    }
    std::fs::write(&file, state.to_string()).expect("write state");

    let sb = start(opts).await;
    let (_, files) = ali_bill(&sb, &ali_day(-1)).await;
    assert_eq!(alipay_detail(&files, &wx_day(-1)).rows.len(), 2);
    assert_eq!(read_wechat(&wx_bill(&sb, &wx_day(-1)).await.expect("a bill").1).rows.len(), 1);
    assert_eq!(wx_bill(&sb, &wx_day(0)).await.err().as_deref(), Some("No Bill Exist"), "no trade today");

    sb.set_bill_faults(BillFaults { next_day_orders: vec!["N1".into(), "NW1".into()], ..BillFaults::default() });
    let (_, files) = ali_bill(&sb, &ali_day(-1)).await;
    let yesterday = alipay_detail(&files, &wx_day(-1));
    assert_eq!(yesterday.rows.iter().map(|r| r["商户订单号"].as_str()).collect::<Vec<_>>(), vec!["N2"]);
    assert_eq!(yesterday.foot[1], "#交易合计：1笔，退款合计：0笔");
    let (_, files) = ali_bill(&sb, &ali_day(0)).await;
    let today = alipay_detail(&files, &wx_day(0));
    assert_eq!(today.rows.len(), 1);
    let n1 = &today.rows[0];
    assert_eq!(n1["商户订单号"], "N1");
    assert!(n1["完成时间"].starts_with(&ali_day(-1)), "it keeps its own time: {}", n1["完成时间"]);
    assert_eq!(wx_bill(&sb, &wx_day(-1)).await.err().as_deref(), Some("No Bill Exist"), "its only trade moved");
    let bill = read_wechat(&wx_bill(&sb, &wx_day(0)).await.expect("a bill").1);
    assert_eq!(wx_rows(&bill, "SUCCESS", "NW1").len(), 1);
    check_wechat_summary(&bill);
    sb.shutdown().await;
}

// ---------------------------------------------------------------- T+1, the URL, signatures

#[tokio::test]
async fn bills_are_t_plus_1_and_a_quiet_day_has_an_empty_alipay_file() {
    let sb = start(SandboxOptions::default()).await;
    ali_pay(&sb, "T1", "1.00").await;
    wx_micropay(&sb, "T2", "100").await;
    for date in [ali_day(0), ali_day(1), ali_day(30)] {
        let r = ali_bill_query(&sb, &date).await;
        assert_eq!(
            (r.inner["code"].as_str(), r.inner["sub_code"].as_str(), r.inner["sub_msg"].as_str()),
            (Some("40004"), Some("ACQ.BILL_NOT_EXIST"), Some("账单不存在")),
            "{date}"
        );
        assert!(r.inner.get("bill_download_url").is_none());
    }
    assert_eq!(wx_bill(&sb, &wx_day(0)).await.err().as_deref(), Some("No Bill Exist"));
    // yesterday: Alipay has a file with no rows; WeChat has no bill for a day without trade
    let (_, files) = ali_bill(&sb, &ali_day(-1)).await;
    let detail = alipay_detail(&files, &wx_day(-1));
    assert!(detail.rows.is_empty());
    assert_eq!(detail.foot[1], "#交易合计：0笔，退款合计：0笔");
    let summary =
        read_alipay_csv(&files[&format!("{ALIPAY_SELLER_ID}_{}_业务明细(汇总).csv", wx_day(-1))], "业务汇总列表");
    assert_eq!(summary.rows.len(), 1);
    assert_eq!((summary.rows[0]["门店编号"].as_str(), summary.rows[0]["交易订单总笔数"].as_str()), ("合计", "0"));
    assert_eq!(wx_bill(&sb, &wx_day(-1)).await.err().as_deref(), Some("No Bill Exist"));
    sb.shutdown().await;

    // switched: today is billed, and tomorrow with what it holds so far (nothing: Alipay's file
    // has no rows, WeChat has no bill of a day without trade)
    let sb = start(ready_today()).await;
    assert_eq!(ali_bill_query(&sb, &ali_day(1)).await.inner["code"], "10000");
    assert_eq!(wx_bill(&sb, &wx_day(1)).await.err().as_deref(), Some("No Bill Exist"));
    assert_eq!(ali_bill_query(&sb, &ali_day(0)).await.inner["code"], "10000");
    // malformed requests
    for biz in [
        json!({"bill_type": "trade", "bill_date": day(0, "%Y/%m/%d")}),
        json!({"bill_type": "trade", "bill_date": wx_day(0)}),
        json!({"bill_type": "trade", "bill_date": day(0, "%Y-%m")}),
        json!({"bill_type": "signcustomer", "bill_date": ali_day(-1)}),
        json!({"bill_date": ali_day(-1)}),
    ] {
        let r = alipay_call(&sb, BILL_URL, biz.clone()).await;
        assert_eq!(r.inner["sub_code"], "ACQ.INVALID_PARAMETER", "{biz}: {}", r.text);
    }
    for (fields, msg) in [
        (vec![("bill_date", ali_day(-1)), ("bill_type", "ALL".to_owned())], "invalid bill_date"),
        (vec![("bill_date", wx_day(-1)), ("bill_type", "SUCCESS".to_owned())], "invalid bill_type"),
        (vec![("bill_date", wx_day(-1)), ("tar_type", "GZIP".to_owned())], "invalid tar_type"),
    ] {
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (_, _, text) = wx_post(&sb, "/pay/downloadbill", wx_xml(&wx_request(&pairs))).await;
        assert_eq!((xml_field(&text, "return_code").as_str(), xml_field(&text, "return_msg").as_str()), ("FAIL", msg));
    }
    // without bill_type: ALL
    wx_micropay(&sb, "T3", "100").await;
    let (_, _, text) = wx_post(&sb, "/pay/downloadbill", wx_xml(&wx_request(&[("bill_date", &wx_day(0))]))).await;
    assert_eq!(read_wechat(&text).rows.len(), 1);
    sb.shutdown().await;
}

#[tokio::test]
async fn the_download_url_lapses_after_30_sandbox_seconds() {
    // a sandbox minute of 1 s: the URL lives 0.5 s
    let sb = start(SandboxOptions { minute: Duration::from_millis(1000), ..ready_today() }).await;
    ali_pay(&sb, "U1", "2.00").await;
    let url = ali_bill_url(&sb, &ali_day(0)).await;
    let resp = client().get(&url).send().await.expect("download");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/zip"));
    let files = unzip_gbk(&resp.bytes().await.expect("bytes"));
    assert_eq!(alipay_detail(&files, &wx_day(0)).rows.len(), 1);
    assert_eq!(client().get(&url).send().await.expect("again").status().as_u16(), 200, "valid more than once");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(client().get(&url).send().await.expect("late").status().as_u16(), 404);
    let forged = format!("{}/bills/alipay/{}", sb.base_url(), "0".repeat(32));
    assert_eq!(client().get(forged).send().await.expect("forged").status().as_u16(), 404);
    // a fresh query gives a fresh URL
    let again = ali_bill_url(&sb, &ali_day(0)).await;
    assert_ne!(again, url);
    assert_eq!(client().get(&again).send().await.expect("fresh").status().as_u16(), 200);
    sb.shutdown().await;
}

#[tokio::test]
async fn both_downloads_require_a_signature() {
    let sb = start(ready_today()).await;
    ali_pay(&sb, "S1", "1.00").await;
    wx_micropay(&sb, "S2", "100").await;
    let biz = json!({"bill_type": "trade", "bill_date": ali_day(0)});

    // Alipay: a signature over other content, or none, is refused unsigned
    let mut p = alipay_params(BILL_URL, &biz);
    alipay_sign(&mut p);
    p.insert("biz_content".into(), json!({"bill_type": "trade", "bill_date": ali_day(-1)}).to_string());
    let r = alipay_send(&sb, &p).await;
    assert!(!r.signed && !r.text.contains(r#""sign":"#), "{}", r.text);
    assert_eq!(
        (r.inner["code"].as_str(), r.inner["sub_code"].as_str()),
        (Some("40002"), Some("isv.invalid-signature"))
    );
    p.remove("sign");
    let r = alipay_send(&sb, &p).await;
    assert_eq!(
        (r.inner["code"].as_str(), r.inner["sub_code"].as_str()),
        (Some("40001"), Some("isv.missing-signature"))
    );
    assert!(r.inner.get("bill_download_url").is_none());

    // WeChat: a wrong key or no signature: return_code FAIL, no bill
    let mut f = wx_request(&[("bill_date", &wx_day(0)), ("bill_type", "ALL")]);
    let s = wx_sign(&f, "wrongwrongwrongwrongwrongwrong32");
    f.insert("sign".into(), s);
    let (_, _, text) = wx_post(&sb, "/pay/downloadbill", wx_xml(&f)).await;
    assert_eq!(
        (xml_field(&text, "return_code").as_str(), xml_field(&text, "return_msg").as_str()),
        ("FAIL", "签名错误")
    );
    f.remove("sign");
    let (_, _, text) = wx_post(&sb, "/pay/downloadbill", wx_xml(&f)).await;
    assert_eq!(xml_field(&text, "return_code"), "FAIL", "{text}");
    assert!(!text.contains("S2"));
    // and signed right: the bill
    assert_eq!(read_wechat(&wx_bill(&sb, &wx_day(0)).await.expect("a bill").1).rows.len(), 1);
    sb.shutdown().await;
}
