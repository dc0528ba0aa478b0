//! What a person sees of a payment: its phase and one line of text in their language. The window
//! and the command line show the same words.

use super::decide::{NOT_FOUND_AT_CHANNEL, NOT_SENT};
use crate::channel::Display;
use crate::i18n::Lang;
use crate::ledger::{Flow, Payment, State, Status};
use crate::money::Fen;
use chrono::{Local, TimeZone};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Sending,
    Waiting,
    Checking,
    Cancelling,
    NotConfirmed,
    Done,
}

impl Phase {
    /// What the counter shows while a payment runs (one name each, as [`Status`] is for states).
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Phase::Sending => lang.pick("正在发送", "Sending"),
            Phase::Waiting => lang.pick("等待顾客付款", "Waiting for the customer"),
            Phase::Checking => lang.pick("正在查询结果", "Checking the result"),
            Phase::Cancelling => lang.pick("正在取消", "Cancelling"),
            Phase::NotConfirmed => Status::Unknown.label(lang),
            Phase::Done => lang.pick("已结束", "Done"),
        }
    }

    pub fn of(p: &Payment, cancelling: bool) -> Phase {
        // Lapsed is over for the person too (unpaid; only watched in the background).
        if !p.state.is_open() {
            Phase::Done
        } else if p.abandoned_at.is_some() {
            Phase::NotConfirmed
        } else if cancelling {
            Phase::Cancelling
        } else {
            match p.state {
                State::Created => Phase::Sending,
                State::Pending => Phase::Waiting,
                _ => Phase::Checking,
            }
        }
    }
}

/// The payment as the UI contract (docs/ui-contract.md) describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentView {
    pub id: String,
    pub channel: String,
    pub flow: Flow,
    pub amount_fen: i64,
    pub amount_text: String,
    pub state: State,
    /// The state's one name, with refunds (`partly_refunded`, `refunded`).
    pub status: Status,
    pub status_text: String,
    /// What succeeded refunds gave back, as yuan text ("0.00" when none).
    pub refunded_text: String,
    pub phase: Phase,
    pub phase_text: String,
    #[serde(rename = "final")]
    pub is_final: bool,
    pub late: bool,
    pub wallet: Option<String>,
    pub code_masked: Option<String>,
    pub qr_svg: Option<String>,
    /// The QR text or page URL; for `customer_window` display, the page form (JSON).
    pub qr_payload: Option<String>,
    /// Where the customer sees a QR payment: as a QR code, or in the customer window.
    pub display: Display,
    pub deadline_at_ms: Option<i64>,
    pub message: String,
    pub failure_code: Option<String>,
    pub created_at_ms: i64,
    pub time_text: String,
}

impl PaymentView {
    /// `refunded`: what succeeded refunds of it gave back.
    pub fn of(p: &Payment, phase: Phase, lang: Lang, display: Display, refunded: Fen) -> PaymentView {
        let status = Status::of_payment(p, refunded);
        let showing_qr = p.flow == Flow::Qr && matches!(phase, Phase::Waiting | Phase::Checking);
        let qr_svg = match display {
            Display::Qr if showing_qr => p.qr_payload.as_deref().and_then(crate::qr::svg),
            _ => None,
        };
        let counting = matches!(phase, Phase::Sending | Phase::Waiting | Phase::Checking);
        PaymentView {
            id: p.id.clone(),
            channel: p.channel.clone(),
            flow: p.flow,
            amount_fen: p.amount.0,
            amount_text: p.amount.yuan_text(),
            state: p.state,
            status,
            status_text: status.label(lang).into(),
            refunded_text: refunded.yuan_text(),
            phase,
            phase_text: phase.label(lang).into(),
            // Over for the clerk and the customer: final, or lapsed (a late payment still turns
            // it paid, which is final too).
            is_final: !p.state.is_open(),
            late: p.late,
            wallet: p.wallet.clone(),
            code_masked: p.code_masked.clone(),
            qr_svg,
            qr_payload: if showing_qr { p.qr_payload.clone() } else { None },
            display,
            deadline_at_ms: counting.then_some(p.deadline_at),
            message: message(p, phase, lang, display),
            failure_code: p.failure_code.clone(),
            created_at_ms: p.created_at,
            time_text: local_time(p.created_at, "%H:%M:%S"),
        }
    }
}

/// An instant as local wall-clock text in a chrono `format`.
pub fn local_time(ms: i64, format: &str) -> String {
    Local.timestamp_millis_opt(ms).earliest().map(|t| t.format(format).to_string()).unwrap_or_default()
}

/// One line for the clerk: what happened and what to do next.
pub fn message(p: &Payment, phase: Phase, lang: Lang, display: Display) -> String {
    let qr = p.flow == Flow::Qr;
    match phase {
        Phase::Sending => lang.pick("正在发送到收款渠道…", "Sending to the payment channel…").into(),
        Phase::Waiting if qr && display == Display::CustomerWindow => lang
            .pick(
                "支付页面已在顾客屏上打开，请顾客按页面提示付款",
                "The payment page is open on the customer screen; ask the customer to follow it",
            )
            .into(),
        Phase::Waiting if qr => match (p.channel.as_str(), p.wallet.as_deref()) {
            ("abc", _) | (_, Some("ALIPAY")) => {
                lang.pick("请顾客用支付宝扫描二维码付款", "Ask the customer to scan the QR code with Alipay")
            }
            (_, Some("WECHAT")) => {
                lang.pick("请顾客用微信扫描二维码付款", "Ask the customer to scan the QR code with WeChat")
            }
            _ => lang.pick("请顾客用手机扫描二维码付款", "Ask the customer to scan the QR code with their phone"),
        }
        .into(),
        Phase::Waiting => lang
            .pick("请顾客在手机上确认付款（输入密码）", "Ask the customer to confirm on their phone")
            .into(),
        Phase::Checking if qr && p.qr_payload.is_none() => lang
            .pick(
                "未能取得收款码，渠道未答复。系统会继续查询此单，请重新收款。",
                "No QR code: the channel did not answer. paydesk keeps checking this order; start a new payment.",
            )
            .into(),
        Phase::Checking => lang
            .pick("渠道未及时答复，正在查询结果，请稍候…", "The channel did not answer clearly; checking the result…")
            .into(),
        Phase::Cancelling => lang.pick("正在撤销…", "Cancelling…").into(),
        // Nothing was ever shown: nobody can pay it; the order is followed to be sure.
        Phase::NotConfirmed if qr && p.qr_payload.is_none() => lang
            .pick(
                "未能取得收款码，顾客未看到二维码，无法付款。系统会继续核实此单，请重新收款。",
                "No QR code was obtained, so the customer saw none and cannot pay. paydesk keeps checking this order; start a new payment.",
            )
            .into(),
        Phase::NotConfirmed if qr => lang
            .pick(
                "二维码已停止显示。渠道关闭订单前顾客仍可能付款，系统会继续查询，到账会提醒。",
                "The QR code is no longer shown. The customer could still pay until the channel closes the order; paydesk keeps checking and will alert you.",
            )
            .into(),
        Phase::NotConfirmed => lang
            .pick(
                "未确认到账：请勿重复收款。系统会继续查询，如果到账会提醒您。",
                "Not confirmed: do not charge again. paydesk keeps checking and will alert you if the money arrives.",
            )
            .into(),
        Phase::Done => final_message(p, lang),
    }
}

/// A lapsed payment: unpaid when its page lapsed, on a channel that cannot close it; watched.
fn lapsed_message(p: &Payment, lang: Lang) -> String {
    let until = p.watch_until.map(|t| local_time(t, "%m-%d %H:%M"));
    let qr = p.flow == Flow::Qr;
    match (lang, until) {
        (Lang::Zh, Some(t)) if qr => {
            format!("二维码已过期，顾客未付款。渠道无法关闭此单，系统会继续查询到 {t}，如之后到账会提醒。")
        }
        (Lang::Zh, Some(t)) => format!("顾客未确认付款。渠道无法撤销此单，系统会继续查询到 {t}，如之后到账会提醒。"),
        (Lang::Zh, None) => "未付款（已过期）。如之后到账会提醒。".into(),
        (Lang::En, Some(t)) if qr => format!(
            "The QR code expired unpaid. The channel cannot close the order; paydesk keeps checking until {t} and will alert you if the money arrives."
        ),
        (Lang::En, Some(t)) => format!(
            "The customer did not confirm. The channel cannot cancel the order; paydesk keeps checking until {t} and will alert you if the money arrives."
        ),
        (Lang::En, None) => "Unpaid (expired). You will be alerted if the money arrives later.".into(),
    }
}

fn final_message(p: &Payment, lang: Lang) -> String {
    match p.state {
        State::Paid if p.late => lang
            .pick(
                "迟到付款：顾客已付款，但当时已放弃等待。请经理核实，必要时退款。",
                "Late payment: the customer paid after the wait was given up. A manager should check it and refund if needed.",
            )
            .into(),
        State::Paid => lang.pick("支付成功", "Paid").into(),
        State::Failed => {
            let code = p.failure_code.as_deref().unwrap_or("");
            let channel_said = p.failure_message.as_deref().unwrap_or("").trim();
            if let Some(words) = crate::channel::explain(&p.channel, code, lang) {
                return words.into();
            }
            match code {
                NOT_SENT => lang
                    .pick(
                        "无法连接收款渠道，未扣款。请检查网络后重新收款。",
                        "Cannot reach the payment channel; nothing was charged. Check the network and try again.",
                    )
                    .into(),
                NOT_FOUND_AT_CHANNEL => lang
                    .pick("渠道没有此订单，未扣款。", "The channel has no such order; nothing was charged.")
                    .into(),
                "AUTHCODE_INVALID" => lang
                    .pick(
                        "付款码无效或已过期，未扣款。请顾客刷新付款码后重新扫描。",
                        "The payment code is invalid or expired; nothing was charged. Ask the customer to refresh it and scan again.",
                    )
                    .into(),
                _ => match lang {
                    Lang::Zh if channel_said.is_empty() => format!("支付失败（{code}），未扣款。"),
                    Lang::Zh => format!("支付失败：{channel_said}（{code}），未扣款。"),
                    Lang::En if channel_said.is_empty() => format!("Payment failed ({code}); nothing was charged."),
                    Lang::En => format!("Payment failed: {channel_said} ({code}); nothing was charged."),
                },
            }
        }
        State::Closed => lang.pick("订单已关闭，未扣款。", "The order is closed; nothing was charged.").into(),
        State::Reversed => lang.pick("已撤销，未扣款或已原路退回。", "Reversed: not charged, or refunded in full.").into(),
        State::Lapsed => lapsed_message(p, lang),
        // Not reached: open states have other phases.
        State::Created | State::Pending | State::Unknown => p.state.label(lang).into(),
    }
}

/// A refund as the payment detail shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundView {
    pub id: String,
    pub payment_id: String,
    pub amount_fen: i64,
    pub amount_text: String,
    pub reason: String,
    pub state: crate::ledger::RefundState,
    pub state_text: String,
    pub approved_by: Option<String>,
    pub failure_message: Option<String>,
    pub created_at_ms: i64,
    pub time_text: String,
    /// A manager may record its outcome.
    pub can_resolve: bool,
}

/// One line of a payment's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    pub seq: i64,
    pub at_ms: i64,
    pub time_text: String,
    pub kind: String,
    pub text: String,
}

/// Everything the payment detail screen shows, and what may be done there.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentDetail {
    pub payment: PaymentView,
    pub clerk: Option<String>,
    pub terminal: String,
    pub channel_name: String,
    pub wallet_name: Option<String>,
    pub paid_at_ms: Option<i64>,
    pub date_time_text: String,
    pub events: Vec<EventView>,
    pub refunds: Vec<RefundView>,
    pub refundable_fen: i64,
    pub refundable_text: String,
    pub can_refund: bool,
    pub can_force: bool,
}

/// A history line in the reader's language. Replies stay in the ledger (and the CSV of events
/// is for support); a person reads what changed and who decided.
pub fn event_text(e: &crate::ledger::Event, lang: Lang) -> String {
    let d = &e.detail;
    let s = |k: &str| d.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let state = |k: Option<&String>| {
        k.and_then(|s| State::parse(s)).map_or_else(|| "?".to_string(), |s| s.label(lang).to_string())
    };
    match e.kind.as_str() {
        "created" => match lang {
            Lang::Zh => format!("创建订单（来源：{}）", s("source")),
            Lang::En => format!("Created (from {})", s("source")),
        },
        "transition" => {
            let mut line = format!("{} → {}", state(e.from_state.as_ref()), state(e.to_state.as_ref()));
            if d.get("decided_by").is_some() {
                line += &match lang {
                    Lang::Zh => format!("（{} 确认：{}）", s("decided_by"), s("reason")),
                    Lang::En => format!(" (decided by {}: {})", s("decided_by"), s("reason")),
                };
            } else if let Some(note) = d.get("note").and_then(|n| n.as_str()).filter(|n| !n.is_empty()) {
                line += &format!(" · {note}");
            }
            line
        }
        "refund" if d.get("state").and_then(|v| v.as_str()) == Some("created") => {
            let amount = crate::money::Fen(d.get("amount_fen").and_then(|v| v.as_i64()).unwrap_or(0));
            match lang {
                Lang::Zh => {
                    format!("退款申请 {} ¥{}：{}（批准：{}）", s("refund"), amount, s("reason"), s("approved_by"))
                }
                Lang::En => {
                    format!(
                        "Refund {} of ¥{} asked: {} (approved by {})",
                        s("refund"),
                        amount,
                        s("reason"),
                        s("approved_by")
                    )
                }
            }
        }
        "refund" => {
            let to = d.get("to").and_then(|v| v.as_str()).and_then(crate::ledger::RefundState::parse);
            let label = to.map_or("?", |t| t.label(lang));
            match lang {
                Lang::Zh => format!("退款 {}：{}", s("refund"), label),
                Lang::En => format!("Refund {}: {}", s("refund"), label),
            }
        }
        _ => {
            if let Some(why) = d.get("abandoned").and_then(|v| v.as_str()) {
                return match lang {
                    Lang::Zh => format!("停止等待：{why}"),
                    Lang::En => format!("Stopped waiting: {why}"),
                };
            }
            if d.get("alert").is_some() {
                return lang.pick("迟到的付款提醒已确认", "Late payment alert acknowledged").into();
            }
            let mut brief = d.clone();
            if let Some(o) = brief.as_object_mut() {
                o.remove("reply");
            }
            format!("{} {}", lang.pick("备注", "Note"), brief)
        }
    }
}

/// A charge as the UI contract (docs/ui-contract.md, "Charges") describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargeView {
    pub id: String,
    pub external_order_id: Option<String>,
    pub origin: crate::ledger::Origin,
    pub amount_fen: i64,
    pub amount_text: String,
    pub subject: String,
    pub tender: Option<crate::ledger::Tender>,
    pub channel: Option<String>,
    pub state: crate::ledger::ChargeState,
    pub state_text: String,
    #[serde(rename = "final")]
    pub is_final: bool,
    /// The attempt under way, or the paid one.
    pub payment_id: Option<String>,
    /// Why the last attempt did not pay, while the charge is open for another try.
    pub last_failure: Option<String>,
    pub created_at_ms: i64,
}

impl ChargeView {
    /// `display_of` names each channel's display (for the failed attempt's message).
    pub fn of(r: &crate::ledger::ChargeRecord, lang: Lang, display_of: impl Fn(&str) -> Display) -> ChargeView {
        use crate::ledger::ChargeState as S;
        let c = &r.charge;
        let current = r.current();
        let payment_id = match c.state {
            S::Paying | S::Paid | S::Cancelling => current.map(|p| p.id.clone()),
            S::Open | S::Cancelled => None,
        };
        let last_failure = match (c.state, current) {
            (S::Open, Some(p)) if !p.state.is_open() => Some(message(p, Phase::Done, lang, display_of(&p.channel))),
            _ => None,
        };
        ChargeView {
            id: c.id.clone(),
            external_order_id: c.external_id.clone(),
            origin: c.origin,
            amount_fen: c.amount.0,
            amount_text: c.amount.yuan_text(),
            subject: c.subject.clone(),
            tender: c.tender,
            channel: c.channel.clone(),
            state: c.state,
            state_text: c.state.label(lang).into(),
            is_final: c.state.is_final(),
            payment_id,
            last_failure,
            created_at_ms: c.created_at,
        }
    }
}
