//! What a person sees of a payment: its phase and one line of text in their language. The window
//! and the command line show the same words.

use super::decide::{NOT_FOUND_AT_CHANNEL, NOT_SENT};
use crate::channel::Display;
use crate::i18n::Lang;
use crate::ledger::{Flow, Payment, State, Status};
use crate::money::Fen;
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
    /// The wallets a QR or page takes (`alipay`, `wechat`, `unionpay`), so the customer is told
    /// which app to open; empty when the page offers whatever it offers.
    pub wallets: Vec<String>,
    pub deadline_at_ms: Option<i64>,
    pub message: String,
    /// The same news for the customer (the kiosk, the customer display): no channel codes, no
    /// instructions meant for the clerk.
    pub customer_message: String,
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
            wallets: qr_wallets(p),
            deadline_at_ms: counting.then_some(p.deadline_at),
            message: message(p, phase, lang, display),
            customer_message: customer_message(p, phase, lang, display),
            failure_code: p.failure_code.clone(),
            created_at_ms: p.created_at,
            time_text: local_time(p.created_at, "%H:%M:%S"),
        }
    }
}

pub use crate::text::local_time;

/// The wallets a QR payment can be paid with: the tender the clerk picked, else what the channel
/// serves (abc's cashier and the page-pay service are Alipay's). A desk page lists its own.
pub fn qr_wallets(p: &Payment) -> Vec<String> {
    if p.flow != Flow::Qr {
        return Vec::new();
    }
    let of_method = |m: &str| match m {
        "ALIPAY" => Some("alipay"),
        "WECHAT" => Some("wechat"),
        "UNION" | "UNION_CC" | "UQRCODEPAY" => Some("unionpay"),
        _ => None,
    };
    match (p.wallet.as_deref().and_then(of_method), p.channel.as_str()) {
        (Some(w), _) => vec![w.to_string()],
        (None, "abc" | "paysvc" | "alipay") => vec!["alipay".to_string()],
        (None, "wechat") => vec!["wechat".to_string()],
        _ => Vec::new(),
    }
}

/// One line for the customer: what happened, in their words. A channel's reason is kept only when
/// it is plain Chinese (余额不足), never a code (BALANCE_NOT_ENOUGH).
pub fn customer_message(p: &Payment, phase: Phase, lang: Lang, display: Display) -> String {
    let not_collected = match p.state {
        State::Failed => {
            let said = p.failure_message.as_deref().unwrap_or("").trim();
            let plain_chinese = !said.is_empty()
                && said.chars().count() <= 30
                && said.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
                && !said.chars().any(|c| c.is_ascii_alphabetic());
            return match (p.failure_code.as_deref(), lang) {
                (Some(NOT_SENT), _) => lang
                    .pick("网络异常，未扣款。请稍后再试。", "A network problem; nothing was charged. Please try again.")
                    .into(),
                (Some("AUTHCODE_INVALID"), _) => lang
                    .pick(
                        "付款码无效或已过期，未扣款。请刷新付款码后再试。",
                        "The payment code is invalid or expired; nothing was charged. Refresh it and try again.",
                    )
                    .into(),
                (_, Lang::Zh) if plain_chinese => format!("支付未成功：{said}。未扣款，请换一种付款方式或咨询店员。"),
                _ => lang
                    .pick(
                        "支付未成功，未扣款。请换一种付款方式或咨询店员。",
                        "Payment not completed; nothing was charged. Try another way to pay, or ask the staff.",
                    )
                    .into(),
            };
        }
        State::Closed | State::Lapsed => lang.pick("订单已关闭，未扣款。", "The order is closed; nothing was charged."),
        State::Reversed => lang.pick("已撤销，未扣款或已原路退回。", "Cancelled: not charged, or refunded in full."),
        _ => return message(p, phase, lang, display),
    };
    not_collected.into()
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
        // The same wallets the screen marks (`qr_wallets`).
        Phase::Waiting if qr => match qr_wallets(p).as_slice() {
            [w] if w == "alipay" => {
                lang.pick("请顾客用支付宝扫描二维码付款", "Ask the customer to scan the QR code with Alipay")
            }
            [w] if w == "wechat" => {
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
        "created" => match (source_label(&s("source"), lang), lang) {
            (Some(from), Lang::Zh) => format!("创建订单（来源：{from}）"),
            (Some(from), Lang::En) => format!("Created (from {from})"),
            (None, _) => lang.pick("创建订单", "Created").into(),
        },
        "transition" => {
            let mut line = format!("{} → {}", state(e.from_state.as_ref()), state(e.to_state.as_ref()));
            if d.get("decided_by").is_some() {
                line += &match lang {
                    Lang::Zh => format!("（{} 确认：{}）", s("decided_by"), s("reason")),
                    Lang::En => format!(" (decided by {}: {})", s("decided_by"), s("reason")),
                };
            } else if let Some(note) = d.get("note").and_then(|n| n.as_str()).and_then(|n| our_words(n, lang)) {
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
                return match (our_words(why, lang), lang) {
                    (Some(why), Lang::Zh) => format!("停止等待：{why}"),
                    (Some(why), Lang::En) => format!("Stopped waiting: {why}"),
                    (None, _) => lang.pick("停止等待", "Stopped waiting").into(),
                };
            }
            if d.get("alert").is_some() {
                return lang.pick("迟到的付款提醒已确认", "Late payment alert acknowledged").into();
            }
            if d.get("refund_resent").is_some() {
                return match lang {
                    Lang::Zh => format!("重发退款 {}", s("refund_resent")),
                    Lang::En => format!("Refund {} sent again", s("refund_resent")),
                };
            }
            if d.get("conflict").is_some() {
                return lang
                    .pick(
                        "渠道报告已支付，与账本不符（已提醒店长）",
                        "The channel reports paid, unlike the ledger (alerted)",
                    )
                    .into();
            }
            if d.get("reply").is_some() {
                return lang.pick("收到渠道回复（已存档）", "Channel reply kept").into();
            }
            // Anything else is for support: its words stay in the ledger, not on a clerk's screen.
            lang.pick("其他记录", "Other record").into()
        }
    }
}

/// Where a payment code came from, for a person (`None`: not one we name).
fn source_label(source: &str, lang: Lang) -> Option<&'static str> {
    Some(match source {
        "wedge" => lang.pick("扫码枪", "barcode scanner"),
        "serial" => lang.pick("串口扫码器", "serial scanner"),
        "camera" => lang.pick("摄像头", "camera"),
        "manual" => lang.pick("手动输入", "typed by hand"),
        _ => return None,
    })
}

/// Our own notes, kept in English in the ledger for support, as a person reads them. A channel's
/// own technical words (a timeout, an HTTP status) are not shown in Chinese: the state change
/// says what matters, and the ledger keeps them.
fn our_words(note: &str, lang: Lang) -> Option<String> {
    let zh = match note {
        "QR no longer shown" => "二维码已停止显示",
        "barcode deadline or cancel" => "付款码等待超时或收银员取消",
        "cancel not confirmed" | "cancel/close not confirmed" => "取消未得到渠道确认",
        "no QR payload" => "渠道未给出二维码",
        "found unfinished by recovery" => "重启后发现未完成，继续查询",
        "pay reply said order not found" => "渠道回复订单不存在",
        "the channel acknowledged this order but now says it has none" => "渠道曾确认此订单，现在却说没有",
        "paid, then refunded in full at the channel (a reversal whose reply was lost)" => "已支付，后在渠道全额退回",
        "paid, then refunded by the cancel" => "已支付，撤销时已退回",
        "cancelled before payment" => "付款前已撤销",
        _ if lang == Lang::Zh || note.is_empty() => return None,
        _ => return Some(note.to_string()),
    };
    Some(lang.pick(zh, note).to_string())
}

/// An audit entry's target for a person ("shift 3 / Z 2" is the ledger's: 第 3 班 · Z 2 号).
pub fn audit_target(target: &str, lang: Lang) -> String {
    // a settings change names its config section
    match target {
        "scanners" => return lang.pick("扫码设置", "scanner settings").into(),
        "printer" => return lang.pick("打印机设置", "printer settings").into(),
        _ => {}
    }
    let numbers: Vec<&str> = target.split(|c: char| !c.is_ascii_digit()).filter(|n| !n.is_empty()).collect();
    match (target.starts_with("shift "), numbers.as_slice(), lang) {
        (true, [shift, z], Lang::Zh) => format!("第 {shift} 班 · Z 报表 {z} 号"),
        (true, [shift, z], Lang::En) => format!("shift {shift} · Z {z}"),
        (true, [shift], Lang::Zh) => format!("第 {shift} 班"),
        _ => target.to_string(),
    }
}

/// Who started a reconciliation run when it was not a person: the morning schedule or the
/// command line, in words. None: a person's name, shown as it is.
pub fn run_by_text(by: &str, lang: Lang) -> Option<&'static str> {
    match by {
        "schedule" => Some(lang.pick("每日自动对账", "morning schedule")),
        "cli" => Some(lang.pick("命令行", "command line")),
        _ => None,
    }
}

/// An audit entry's detail for a person: the known fields in words, amounts as yuan; never the
/// raw JSON (the ledger keeps it).
pub fn audit_detail(action: &str, detail: &serde_json::Value, lang: Lang) -> String {
    if action == "settings_change" {
        let printer = detail.get("section").and_then(|s| s.as_str()) == Some("printer");
        return if printer {
            lang.pick("打印机设置已修改（已写入配置文件）", "Printer settings changed (saved to the config file)")
        } else {
            lang.pick("扫码设置已修改（已写入配置文件）", "Scanner settings changed (saved to the config file)")
        }
        .into();
    }
    let Some(fields) = detail.as_object() else { return String::new() };
    let mut parts = Vec::new();
    for (key, value) in fields {
        let text = value.as_str().map(str::to_string);
        let part = match key.as_str() {
            "amount_fen" | "opening_cash_fen" => value.as_i64().map(|f| {
                let label =
                    if key == "amount_fen" { lang.pick("金额", "amount") } else { lang.pick("备用金", "float") };
                format!("{label} ¥{}", Fen(f).yuan_text())
            }),
            "refund" => text.map(|r| format!("{} {r}", lang.pick("退款单", "refund"))),
            "outcome" => text.map(|o| {
                let named = State::parse(&o)
                    .map(|s| s.label(lang))
                    .or_else(|| crate::ledger::RefundState::parse(&o).map(|r| r.label(lang)))
                    .unwrap_or(o.as_str())
                    .to_string();
                format!("{} {named}", lang.pick("结果", "outcome"))
            }),
            "role" => text.map(|r| match (r.as_str(), lang) {
                ("manager", Lang::Zh) => "角色 店长".to_string(),
                ("clerk", Lang::Zh) => "角色 收银员".to_string(),
                (r, _) => format!("role {r}"),
            }),
            "unresolved" => value.as_array().filter(|a| !a.is_empty()).map(|a| match lang {
                Lang::Zh => format!("{} 笔未完成", a.len()),
                Lang::En => format!("{} unfinished", a.len()),
            }),
            "for" => text.map(|f| format!("{} {}", lang.pick("用于", "for"), crate::people::action_text(&f, lang))),
            // Reconciliation runs and resolutions.
            "day" => text.map(|d| format!("{} {d}", lang.pick("营业日", "day"))),
            "differences" => value.as_u64().map(|n| match lang {
                Lang::Zh => format!("差异 {n} 条"),
                Lang::En => format!("{n} differences"),
            }),
            "by" => text.and_then(|b| run_by_text(&b, lang)).map(str::to_string),
            _ => None,
        };
        parts.extend(part);
    }
    parts.join(" · ")
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
    /// The same for the customer (the kiosk): no channel codes.
    pub last_failure_customer: Option<String>,
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
        let failed = match (c.state, current) {
            (S::Open, Some(p)) if !p.state.is_open() => Some(p),
            _ => None,
        };
        let last_failure = failed.map(|p| message(p, Phase::Done, lang, display_of(&p.channel)));
        let last_failure_customer = failed.map(|p| customer_message(p, Phase::Done, lang, display_of(&p.channel)));
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
            last_failure_customer,
            created_at_ms: c.created_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Event;
    use serde_json::json;

    fn event(kind: &str, from: Option<&str>, to: Option<&str>, detail: serde_json::Value) -> Event {
        Event {
            seq: 1,
            payment_id: "T1".into(),
            at: 0,
            kind: kind.into(),
            from_state: from.map(Into::into),
            to_state: to.map(Into::into),
            detail,
        }
    }

    /// Latin letters a Chinese screen may show: none but codes, amounts and names.
    fn latin_words(text: &str) -> Vec<String> {
        text.split(|c: char| !c.is_ascii_alphabetic()).filter(|w| w.len() > 1).map(str::to_string).collect()
    }

    #[test]
    fn a_payment_s_history_reads_in_chinese_without_english_or_json() {
        let lines = [
            event("created", None, None, json!({ "source": "wedge" })),
            event("transition", Some("created"), Some("pending"), json!({ "note": null })),
            event("note", None, None, json!({ "abandoned": "barcode deadline or cancel" })),
            event("note", None, None, json!({ "abandoned": "QR no longer shown" })),
            event("transition", Some("pending"), Some("unknown"), json!({ "note": "HTTP 503 from gateway" })),
            event(
                "transition",
                Some("pending"),
                Some("reversed"),
                json!({ "note": "paid, then refunded by the cancel" }),
            ),
            event("note", None, None, json!({ "reply": { "status": 200, "body": "{\"code\":\"x\"}" } })),
            event("note", None, None, json!({ "something": "new" })),
        ];
        for e in &lines {
            let zh = event_text(e, Lang::Zh);
            assert!(latin_words(&zh).is_empty(), "English in {zh:?}");
            assert!(!zh.contains('{'), "JSON in {zh:?}");
        }
        assert_eq!(event_text(&lines[0], Lang::Zh), "创建订单（来源：扫码枪）");
        assert_eq!(event_text(&lines[2], Lang::Zh), "停止等待：付款码等待超时或收银员取消");
        // English keeps the channel's own words for support.
        assert!(event_text(&lines[4], Lang::En).contains("HTTP 503"));
    }

    #[test]
    fn the_customer_never_reads_a_channel_code() {
        use crate::ledger::test_support::{new_payment, temp_ledger};
        use crate::ledger::Change;
        let (_d, l) = temp_ledger();
        let failed = |id: &str, code: &str, said: &str| {
            l.insert_payment(&new_payment(id)).unwrap();
            let why = Change { failure: Some((code.into(), said.into())), ..Change::default() };
            l.transition(id, State::Failed, &why).unwrap().unwrap()
        };
        let p = failed("F1", "BALANCE_NOT_ENOUGH", "余额不足");
        let clerk = message(&p, Phase::Done, Lang::Zh, Display::Qr);
        let customer = customer_message(&p, Phase::Done, Lang::Zh, Display::Qr);
        assert!(clerk.contains("BALANCE_NOT_ENOUGH"), "the clerk sees the code: {clerk}");
        assert_eq!(customer, "支付未成功：余额不足。未扣款，请换一种付款方式或咨询店员。");
        // A reason in English or with a code in it is not passed on.
        let p = failed("F2", "ACQ.SYSTEM_ERROR", "System error, retry");
        let customer = customer_message(&p, Phase::Done, Lang::Zh, Display::Qr);
        assert!(latin_words(&customer).is_empty(), "{customer}");
        let customer = customer_message(&p, Phase::Done, Lang::En, Display::Qr);
        assert!(!customer.contains("ACQ"), "{customer}");
    }

    #[test]
    fn a_qr_says_which_wallets_take_it() {
        use crate::ledger::test_support::{new_payment, temp_ledger};
        let (_d, l) = temp_ledger();
        let mut p = l.insert_payment(&new_payment("Q1")).unwrap();
        p.flow = Flow::Qr;
        let of = |p: &Payment| qr_wallets(p);
        (p.channel, p.wallet) = ("abc".into(), None);
        assert_eq!(of(&p), ["alipay"]);
        (p.channel, p.wallet) = ("lakala".into(), Some("WECHAT".into()));
        assert_eq!(of(&p), ["wechat"]);
        (p.channel, p.wallet) = ("lakala".into(), Some("UQRCODEPAY".into()));
        assert_eq!(of(&p), ["unionpay"]);
        // A page that offers what it offers: no claim.
        (p.channel, p.wallet) = ("cashdesk".into(), None);
        assert!(of(&p).is_empty());
        p.flow = Flow::Barcode;
        assert!(of(&p).is_empty(), "a payment code names its own wallet");
    }

    #[test]
    fn the_audit_log_reads_as_words_not_json() {
        let detail = audit_detail("refund", &json!({ "refund": "R1", "amount_fen": 1234 }), Lang::Zh);
        assert_eq!(detail, "金额 ¥12.34 · 退款单 R1");
        assert_eq!(audit_detail("force_outcome", &json!({ "outcome": "paid" }), Lang::Zh), "结果 已支付");
        assert!(!audit_detail("settings_change", &json!({ "wedge": { "min_length": 8 } }), Lang::Zh).contains('{'));
        assert!(audit_detail("settings_change", &json!({ "section": "printer" }), Lang::Zh).starts_with("打印机"));
        assert_eq!(audit_target("shift 3 / Z 2", Lang::Zh), "第 3 班 · Z 报表 2 号");
        assert_eq!(audit_target("shift 4", Lang::Zh), "第 4 班");
        assert_eq!(audit_target("王店长", Lang::Zh), "王店长");
        assert_eq!(audit_target("printer", Lang::Zh), "打印机设置", "no config key in the Chinese log");
        assert_eq!(audit_target("scanners", Lang::Zh), "扫码设置");
    }
}
