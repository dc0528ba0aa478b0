//! The customer's "phone": the page a QR code or payment URL leads to, with a Pay
//! button. Chinese first, English under it; inline CSS, no external resources.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::money::format_yuan;
use crate::state::{channel_stamp, Order, PayRefusal};
use crate::App;

pub fn router() -> Router<Arc<App>> {
    Router::new().route("/pay/{order_no}", get(show).post(pay)).route("/return", get(returned))
}

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;font-family:-apple-system,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;\
background:#f2f4f7;color:#1f2329;display:flex;justify-content:center}\
main{width:100%;max-width:420px;margin:24px 16px;background:#fff;border-radius:16px;\
box-shadow:0 4px 24px rgba(0,0,0,.08);padding:28px 24px;text-align:center}\
h1{font-size:18px;margin:0 0 4px;color:#1677ff}\
.en{color:#86909c;font-size:13px;margin:2px 0 0}\
.amount{font-size:44px;font-weight:700;margin:20px 0 4px;letter-spacing:.5px}\
dl{text-align:left;margin:20px 0;font-size:14px}\
dt{color:#86909c;margin-top:10px}dd{margin:2px 0 0;word-break:break-all}\
button{width:100%;border:0;border-radius:12px;background:#1677ff;color:#fff;font-size:20px;\
font-weight:600;padding:16px;cursor:pointer}\
button:active{background:#0e5fd8}\
.state{font-size:22px;font-weight:600;margin:24px 0 4px}\
.ok{color:#00a870}.bad{color:#e34d59}\
.note{color:#86909c;font-size:12px;margin-top:24px}\
a{color:#1677ff}";

pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>\
         <h1>支付宝 · 沙箱收银台</h1><p class=\"en\">Alipay sandbox checkout</p>\
         {body}\
         <p class=\"note\">模拟支付，不会产生真实扣款。<br>A simulated payment; no real money moves.</p>\
         </main></body></html>",
        esc(title)
    )
}

pub(crate) fn html(status: StatusCode, text: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], text).into_response()
}

/// A page that only says what went wrong (Chinese, then English).
pub fn error_page(status: StatusCode, zh: &str, en: &str) -> Response {
    let body = format!("<p class=\"state bad\" id=\"state\">{}</p><p class=\"en\">{}</p>", esc(zh), esc(en));
    html(status, page(zh, &body))
}

/// HTTP 404 with [`error_page`].
pub fn not_found_page(zh: &str, en: &str) -> Response {
    error_page(StatusCode::NOT_FOUND, zh, en)
}

fn details(order: &Order) -> String {
    let mut out = format!(
        "<div class=\"amount\">¥{}</div>\
         <dl><dt>商户 Merchant</dt><dd>{}</dd>\
         <dt>商品 Goods</dt><dd>{}</dd>\
         <dt>订单号 Order</dt><dd>{}</dd>",
        format_yuan(order.amount_fen),
        esc(&order.merchant_id),
        esc(&order.goods_name),
        esc(&order.order_no),
    );
    if let Some(expires) = order.expires_ms {
        out.push_str(&format!("<dt>有效期至 Valid until</dt><dd>{}</dd>", channel_stamp(expires, "%Y-%m-%d %H:%M:%S")));
    }
    out.push_str("</dl>");
    out
}

/// A link back to the merchant's `returnUrl`, only for http(s) addresses.
fn return_link(order: &Order) -> String {
    match order.return_url.as_deref() {
        Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
            format!("<p><a href=\"{}\">返回商户</a><br><span class=\"en\">Return to merchant</span></p>", esc(url))
        }
        _ => String::new(),
    }
}

fn refusal_status(r: PayRefusal) -> StatusCode {
    match r {
        PayRefusal::NotFound => StatusCode::NOT_FOUND,
        _ => StatusCode::CONFLICT,
    }
}

async fn show(State(app): State<Arc<App>>, Path(order_no): Path<String>) -> Response {
    // Opening the page is the customer's scan (an Alipay QR becomes a trade only then).
    let order = app.store.with(|st, now| {
        st.open_page(&order_no, now);
        st.find_by_no(&order_no).cloned()
    });
    let Some(order) = order else {
        let r = PayRefusal::NotFound;
        let body = format!("<p class=\"state bad\" id=\"state\">{}</p><p class=\"en\">{}</p>", r.zh(), r.en());
        return html(refusal_status(r), page(r.zh(), &body));
    };
    let body = match order.payable() {
        Ok(()) => format!(
            "{}<form method=\"post\" action=\"/pay/{}\">\
             <button id=\"pay\" type=\"submit\">确认付款 Pay</button></form>",
            details(&order),
            esc(&order.order_no)
        ),
        Err(r) => {
            let class = if r == PayRefusal::AlreadyPaid { "ok" } else { "bad" };
            format!(
                "{}<p class=\"state {class}\" id=\"state\">{}</p><p class=\"en\">{}</p>{}",
                details(&order),
                r.zh(),
                r.en(),
                if r == PayRefusal::AlreadyPaid { return_link(&order) } else { String::new() }
            )
        }
    };
    html(StatusCode::OK, page("确认付款 Pay", &body))
}

async fn pay(State(app): State<Arc<App>>, Path(order_no): Path<String>) -> Response {
    match app.customer_pay(&order_no) {
        Ok(order) => {
            let body = format!(
                "{}<p class=\"state ok\" id=\"result\">支付成功</p><p class=\"en\">Payment successful</p>{}",
                details(&order),
                return_link(&order)
            );
            html(StatusCode::OK, page("支付成功", &body))
        }
        Err(r) => {
            let body = format!("<p class=\"state bad\" id=\"result\">{}</p><p class=\"en\">{}</p>", r.zh(), r.en());
            html(refusal_status(r), page(r.zh(), &body))
        }
    }
}

async fn returned() -> Response {
    html(
        StatusCode::OK,
        page(
            "返回商户",
            "<p class=\"state\" id=\"state\">返回商户</p><p class=\"en\">Back to the merchant</p>\
             <p>支付流程已结束，请回到收银台查看结果。<br>\
             <span class=\"en\">The payment flow is over; check the result at the till.</span></p>",
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_html() {
        assert_eq!(esc(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }
}
