//! The `paysvc` channel: the Alipay payment service of seed 003. `create` answers an
//! auto-submitting form to the (sandbox's) Alipay page-pay gateway; posting it leads
//! to the customer page. `status` reads the order. Replies
//! `{"code":200,"message":"success","data":…}`; errors `{"code":500,"message":…,"data":null}`
//! in an HTTP 200 body, with the seed's messages.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use crate::customer::esc;
use crate::money::{format_yuan, not_positive, parse_yuan_two_decimals};
use crate::state::{channel_stamp, Order, OrderKind, OrderStatus};
use crate::wire::valid_order_no;
use crate::{json_response, App};

pub const CHANNEL: &str = "paysvc";

pub fn router() -> Router<Arc<App>> {
    Router::new().route("/api/pay/create", post(create)).route("/api/pay/status/{order_no}", get(status))
}

/// The customer-facing gateway (no faults): what the form posts to.
pub fn page_router() -> Router<Arc<App>> {
    Router::new().route("/alipay/gateway.do", post(gateway))
}

fn success(data: Value) -> Response {
    json_response(StatusCode::OK, &json!({"code": 200, "message": "success", "data": data}))
}

fn failure(message: &str) -> Response {
    json_response(StatusCode::OK, &json!({"code": 500, "message": message, "data": null}))
}

fn failed_to_create(detail: &str) -> Response {
    failure(&format!("创建支付订单失败: {detail}"))
}

/// The form the service answers: an auto-submitting post of `biz_content` to the gateway.
pub fn form_html(app: &App, order: &Order) -> String {
    let biz = json!({
        "out_trade_no": order.order_no,
        "total_amount": format_yuan(order.amount_fen),
        "subject": order.goods_name,
        "product_code": "FAST_INSTANT_TRADE_PAY",
    })
    .to_string();
    format!(
        "<form name='punchout_form' method='post' action='{}/alipay/gateway.do'>\
         <input type='hidden' name='biz_content' value='{}'>\
         <input type='submit' value='立即支付' style='display:none'>\
         </form><script>document.forms[0].submit();</script>",
        app.base_url,
        esc(&biz)
    )
}

async fn create(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let fields: BTreeMap<String, Box<RawValue>> = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(_) => return failed_to_create("请求体必须是JSON对象"),
    };
    let raw = |name: &str| fields.get(name).map(|r| r.get().trim()).filter(|t| *t != "null");
    let string = |name: &str| raw(name).and_then(|t| serde_json::from_str::<String>(t).ok());
    // The seed's checks, in the seed's order.
    let Some(order_no) = string("orderNo").filter(|s| !s.trim().is_empty()) else {
        return failure("订单号不能为空");
    };
    let Some(amount_raw) = raw("amount") else {
        return failure("支付金额不能为空");
    };
    if not_positive(amount_raw) {
        return failure("支付金额必须大于0");
    }
    let Some(subject) = string("subject").filter(|s| !s.trim().is_empty()) else {
        return failure("订单标题不能为空");
    };
    let Some(amount_fen) = parse_yuan_two_decimals(amount_raw) else {
        return failed_to_create("支付金额格式错误（元，两位小数）");
    };
    if !valid_order_no(&order_no) {
        return failed_to_create("订单号格式错误");
    }
    let order_id = raw("orderId").and_then(|t| t.parse::<i64>().ok()).filter(|id| *id > 0);
    let Some(order_id) = order_id else {
        return failed_to_create("orderId必须是正整数");
    };
    if crate::state::declined_amount(amount_fen) {
        return failed_to_create(crate::state::DECLINED_MSG);
    }
    let created = app.store.with(|st, now| {
        st.create_page_order(CHANNEL, &order_no, |seq| {
            let mut order = Order::new(
                CHANNEL,
                &order_no,
                "支付服务",
                &subject,
                amount_fen,
                OrderKind::Page { page: "page-pay".to_owned() },
                seq.to_string(),
                format!("{}2200{seq:016}", channel_stamp(now, "%Y%m%d")),
                now,
            );
            order.api = "page-pay".to_owned();
            order.method = Some("ALIPAY".to_owned());
            // Seed 003 names no expiry and no close: the order reads PENDING until the customer pays,
            // however late.
            order.extra.insert("orderId".to_owned(), order_id.to_string());
            order
        })
    });
    let Some(order) = created else {
        return failed_to_create("订单号已存在");
    };
    tracing::info!(order_no = %order.order_no, amount = %format_yuan(order.amount_fen), "paysvc: order created");
    success(json!({"paymentId": order.transaction_id, "formHtml": form_html(&app, &order)}))
}

async fn status(State(app): State<Arc<App>>, Path(order_no): Path<String>) -> Response {
    let Some(order) = app.store.with(|st, now| st.query(CHANNEL, &order_no, now)) else {
        return failure(&format!("订单不存在: {order_no}"));
    };
    let word = match order.status {
        OrderStatus::Pending => "PENDING",
        OrderStatus::Paid => "PAID",
        OrderStatus::Failed | OrderStatus::Closed => "FAILED",
    };
    let paid = order.status == OrderStatus::Paid;
    success(json!({
        "orderNo": order.order_no,
        "status": word,
        "paidAt": order.paid_ms.map(|t| channel_stamp(t, "%Y-%m-%dT%H:%M:%S")),
        "tradeNo": paid.then(|| order.trade_no.clone()),
    }))
}

/// The sandbox's Alipay gateway: reads `biz_content` and sends the browser to the
/// customer page of the order.
async fn gateway(State(app): State<Arc<App>>, form: Result<Form<HashMap<String, String>>, FormRejection>) -> Response {
    let out_trade_no = form
        .ok()
        .and_then(|Form(f)| f.get("biz_content").cloned())
        .and_then(|biz| serde_json::from_str::<Value>(&biz).ok())
        .and_then(|v| v.get("out_trade_no").and_then(Value::as_str).map(str::to_owned));
    let Some(no) = out_trade_no else {
        return crate::customer::error_page(StatusCode::BAD_REQUEST, "缺少biz_content", "Missing biz_content");
    };
    if app.store.with(|st, _| st.exists(CHANNEL, &no)) {
        (StatusCode::SEE_OTHER, [(header::LOCATION, app.page_url(&no))], "").into_response()
    } else {
        crate::customer::not_found_page("订单不存在", "Order not found")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esc_keeps_single_quoted_attributes_closed() {
        let biz = r#"{"subject":"it's <b>"}"#;
        let e = esc(biz);
        assert!(!e.contains('\''));
        assert!(!e.contains('"'));
        assert!(!e.contains('<'));
    }
}
