//! The `paysvc` channel over real HTTP on loopback: create with the seed's validations and
//! messages, the form to the gateway, the gateway leading to the customer page, status.

mod common;

use std::time::Duration;

use common::{charged, client, get, post_raw, start, start_default};
use paydesk_sandbox::{Faults, Sandbox, SandboxOptions};
use serde_json::Value;

const CREATE: &str = "/api/pay/create";

fn body(order_no: &str, amount: &str) -> String {
    format!(r#"{{"orderId":2601151230450001,"orderNo":"{order_no}","amount":{amount},"subject":"测试商品"}}"#)
}

async fn status(sb: &Sandbox, no: &str) -> Value {
    let r = get(sb, &format!("/api/pay/status/{no}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.field("code"), 200, "{}", r.text);
    assert_eq!(r.str("message"), "success");
    r.field("data")
}

/// The form's action and its hidden `biz_content`, read the way the cashier reads them.
fn read_form(html: &str) -> (String, Value) {
    let attr = |after: &str, name: &str| -> String {
        let start = html.find(after).unwrap_or_else(|| panic!("{after} in {html}"));
        let rest = &html[start..];
        let at = rest.find(&format!("{name}='")).unwrap_or_else(|| panic!("{name} in {rest}")) + name.len() + 2;
        let end = rest[at..].find('\'').unwrap_or(0);
        rest[at..at + end].to_owned()
    };
    let action = attr("<form", "action");
    let value = attr("name='biz_content'", "value");
    let unescaped = value
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    (action, serde_json::from_str(&unescaped).unwrap_or_else(|e| panic!("{e}: {unescaped}")))
}

#[tokio::test]
async fn create_gives_a_form_that_leads_to_the_customer_page() {
    let sb = start_default().await;
    let r = post_raw(&sb, CREATE, &body("PS1", "99.90")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.field("code"), 200, "{}", r.text);
    assert_eq!(r.str("message"), "success");
    let data = r.field("data");
    assert!(data["paymentId"].is_string());
    let html = data["formHtml"].as_str().unwrap_or_default().to_owned();
    assert!(html.starts_with("<form name='punchout_form' method='post' action='"), "{html}");
    assert!(html.ends_with("</form><script>document.forms[0].submit();</script>"), "{html}");
    let (action, biz) = read_form(&html);
    assert_eq!(action, format!("{}/alipay/gateway.do", sb.base_url()));
    assert_eq!(biz["out_trade_no"], "PS1");
    assert_eq!(biz["total_amount"], "99.90");
    assert_eq!(biz["subject"], "测试商品");

    let st = status(&sb, "PS1").await;
    assert_eq!(st["orderNo"], "PS1");
    assert_eq!(st["status"], "PENDING");
    assert!(st["paidAt"].is_null() && st["tradeNo"].is_null());

    // posting the form (form-encoded, as a browser does) shows the customer page
    let no_redirects =
        reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let biz_text = biz.to_string();
    let posted = no_redirects.post(&action).form(&[("biz_content", biz_text.as_str())]).send().await.expect("post");
    assert_eq!(posted.status().as_u16(), 303);
    let location = posted.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(location, format!("{}/pay/PS1", sb.base_url()));
    let followed = client().post(&action).form(&[("biz_content", biz_text.as_str())]).send().await.expect("post");
    let page = followed.text().await.expect("html");
    assert!(page.contains("¥99.90") && page.contains(r#"id="pay""#), "{page}");
    // nothing is paid by looking
    assert!(sb.truth().charges.is_empty());

    client().post(format!("{}/pay/PS1", sb.base_url())).send().await.expect("pay");
    let st = status(&sb, "PS1").await;
    assert_eq!(st["status"], "PAID");
    let paid_at = st["paidAt"].as_str().unwrap_or_default();
    assert!(chrono::NaiveDateTime::parse_from_str(paid_at, "%Y-%m-%dT%H:%M:%S").is_ok(), "{paid_at}");
    assert!(st["tradeNo"].as_str().is_some_and(|t| t.len() == 28));
    assert_eq!(charged(&sb, "PS1"), vec![9990]);
    assert_eq!(sb.truth().charges[0].channel, "paysvc");

    // the gateway refuses what it cannot read
    let bad = no_redirects.post(&action).form(&[("biz_content", "{not json")]).send().await.expect("post");
    assert_eq!(bad.status().as_u16(), 400);
    let bad = no_redirects.post(&action).form(&[("biz_content", r#"{"out_trade_no":"NOSUCH"}"#)]).send().await;
    assert_eq!(bad.expect("post").status().as_u16(), 404);
    sb.shutdown().await;
}

#[tokio::test]
async fn validations_with_the_seeds_messages() {
    let sb = start_default().await;
    let cases = [
        (r#"{"orderId":1,"amount":1.00,"subject":"x"}"#, "订单号不能为空"),
        (r#"{"orderId":1,"orderNo":"","amount":1.00,"subject":"x"}"#, "订单号不能为空"),
        (r#"{"orderId":1,"orderNo":"V1","subject":"x"}"#, "支付金额不能为空"),
        (r#"{"orderId":1,"orderNo":"V1","amount":null,"subject":"x"}"#, "支付金额不能为空"),
        (r#"{"orderId":1,"orderNo":"V1","amount":0,"subject":"x"}"#, "支付金额必须大于0"),
        (r#"{"orderId":1,"orderNo":"V1","amount":0.00,"subject":"x"}"#, "支付金额必须大于0"),
        (r#"{"orderId":1,"orderNo":"V1","amount":-5.00,"subject":"x"}"#, "支付金额必须大于0"),
        (r#"{"orderId":1,"orderNo":"V1","amount":1.00}"#, "订单标题不能为空"),
        (r#"{"orderId":1,"orderNo":"V1","amount":1.00,"subject":"  "}"#, "订单标题不能为空"),
    ];
    for (body, message) in cases {
        let r = post_raw(&sb, CREATE, body).await;
        assert_eq!(r.status, 200, "{body}");
        assert_eq!(r.field("code"), 500, "{body}: {}", r.text);
        assert_eq!(r.str("message"), message, "{body}");
        assert!(r.field("data").is_null());
    }
    // everything else is "创建支付订单失败: …"
    for body in [
        r#"{"orderId":1,"orderNo":"V2","amount":1.005,"subject":"x"}"#.to_owned(),
        r#"{"orderId":1,"orderNo":"V2","amount":1.5,"subject":"x"}"#.to_owned(),
        r#"{"orderId":1,"orderNo":"V2","amount":"1.00","subject":"x"}"#.to_owned(),
        r#"{"orderNo":"V2","amount":1.00,"subject":"x"}"#.to_owned(),
        r#"{"orderId":"1","orderNo":"V2","amount":1.00,"subject":"x"}"#.to_owned(),
        r#"{"orderId":1,"orderNo":"V/2","amount":1.00,"subject":"x"}"#.to_owned(),
        "not json".to_owned(),
    ] {
        let r = post_raw(&sb, CREATE, &body).await;
        assert_eq!(r.field("code"), 500, "{body}");
        assert!(r.str("message").starts_with("创建支付订单失败: "), "{body}: {}", r.text);
    }
    // a repeated order number
    assert_eq!(post_raw(&sb, CREATE, &body("V3", "1.00")).await.field("code"), 200);
    let r = post_raw(&sb, CREATE, &body("V3", "1.00")).await;
    assert_eq!(r.field("code"), 500);
    assert!(r.str("message").starts_with("创建支付订单失败: "));
    // an unknown order
    let r = get(&sb, "/api/pay/status/NOSUCH").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.field("code"), 500);
    assert_eq!(r.str("message"), "订单不存在: NOSUCH");
    assert!(r.field("data").is_null());
    sb.shutdown().await;
}

#[tokio::test]
async fn an_unpaid_order_reads_pending_until_paid_however_late() {
    let sb = start(SandboxOptions { minute: Duration::from_millis(5), ..SandboxOptions::default() }).await;
    post_raw(&sb, CREATE, &body("PX1", "5.00")).await;
    assert_eq!(status(&sb, "PX1").await["status"], "PENDING");
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(status(&sb, "PX1").await["status"], "PENDING");
    sb.customer_pay("PX1").expect("a late customer still pays");
    assert_eq!(status(&sb, "PX1").await["status"], "PAID");
    sb.shutdown().await;
}

#[tokio::test]
async fn auto_pay_and_faults() {
    let sb =
        start(SandboxOptions { auto_pay_after: Some(Duration::from_millis(100)), ..SandboxOptions::default() }).await;
    post_raw(&sb, CREATE, &body("PA1", "3.00")).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(charged(&sb, "PA1"), vec![300]);
    assert_eq!(status(&sb, "PA1").await["status"], "PAID");
    sb.set_faults(Faults { fail_before_percent: 100, ..Faults::default() });
    assert_eq!(post_raw(&sb, CREATE, &body("PA2", "3.00")).await.status, 503);
    assert_eq!(get(&sb, "/api/pay/status/PA1").await.status, 503);
    sb.shutdown().await;
}
