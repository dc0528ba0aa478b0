//! What a slip says, as lines, before it becomes printer bytes: the payment receipt, the refund
//! slip, the X and Z reports and the test page. Pure: built from the views the screens show, so a
//! slip never says other than the window.

use crate::engine::reports::ShiftReport;
use crate::engine::view::{PaymentDetail, RefundView};
use crate::i18n::Lang;
use crate::text::local_time;

/// One line (or block) of a slip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// Centred, bold, double width and height: the store's name, the amount.
    Big(String),
    /// Centred.
    Center(String),
    /// Left, wrapped at the paper's width.
    Text(String),
    /// A label on the left, its value on the right.
    Pair(String, String),
    /// A dashed rule across the paper.
    Rule,
    /// A QR code, centred.
    Qr(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slip {
    pub lines: Vec<Line>,
}

/// Who prints: the slip's first line and the till.
#[derive(Debug, Clone)]
pub struct Head {
    /// `[printer] header`, else the terminal's name.
    pub title: String,
    /// The till as people know it: "E2E01 E2E 收银台", or the chain's `SH001/T01`.
    pub till: String,
    /// `[printer] footer`.
    pub footer: String,
}

/// Why a slip cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlipError {
    /// A receipt is for a paid payment only.
    NotPaid,
}

/// Yuan text as a receipt prints it. `￥` (GB A3A4), never `¥` (U+00A5 has no GBK code and
/// GB18030's four bytes print as "0 6").
pub fn yuan(text: &str) -> String {
    format!("￥{text}")
}

/// The payment receipt (小票): store, till, clerk, time, amount, wallet, masked code, order number
/// and a QR code of the order number, which opens the payment again when scanned (`reprint`
/// marks a copy printed later).
pub fn receipt(head: &Head, d: &PaymentDetail, reprint: bool, lang: Lang) -> Result<Slip, SlipError> {
    let p = &d.payment;
    if p.state != crate::ledger::State::Paid {
        return Err(SlipError::NotPaid);
    }
    let t = |zh: &'static str, en: &'static str| lang.pick(zh, en).to_string();
    let mut lines = vec![Line::Big(head.title.clone()), Line::Center(t("收款小票", "Payment receipt"))];
    if reprint {
        lines.push(Line::Center(t("（补打）", "(copy)")));
    }
    lines.push(Line::Rule);
    lines.push(Line::Pair(t("收银台", "Till"), head.till.clone()));
    lines.push(Line::Pair(t("收银员", "Clerk"), d.clerk.clone().unwrap_or_else(|| "—".into())));
    let paid_at =
        d.paid_at_ms.map(|ms| local_time(ms, "%Y-%m-%d %H:%M:%S")).unwrap_or_else(|| d.date_time_text.clone());
    lines.push(Line::Pair(t("时间", "Time"), paid_at));
    lines.push(Line::Pair(t("订单号", "Order"), p.id.clone()));
    lines.push(Line::Pair(t("付款方式", "Paid with"), d.wallet_name.clone().unwrap_or_else(|| d.channel_name.clone())));
    if let Some(code) = &p.code_masked {
        lines.push(Line::Pair(t("付款码", "Payment code"), code.clone()));
    }
    lines.push(Line::Pair(t("收款通道", "Channel"), d.channel_name.clone()));
    lines.push(Line::Rule);
    lines.push(Line::Center(t("实收金额", "Amount paid")));
    lines.push(Line::Big(yuan(&p.amount_text)));
    if p.refunded_text != "0.00" {
        lines.push(Line::Pair(t("已退款", "Refunded"), yuan(&p.refunded_text)));
    }
    lines.push(Line::Rule);
    if !head.footer.is_empty() {
        lines.push(Line::Center(head.footer.clone()));
    }
    lines.push(Line::Qr(p.id.clone()));
    lines.push(Line::Center(t("凭此码办理退款", "Show this code for a refund")));
    Ok(Slip { lines })
}

/// The refund slip: which payment, how much back, its state, who approved it, and a line for the
/// customer's signature.
pub fn refund_slip(head: &Head, d: &PaymentDetail, r: &RefundView, lang: Lang) -> Slip {
    let t = |zh: &'static str, en: &'static str| lang.pick(zh, en).to_string();
    let p = &d.payment;
    let mut lines = vec![Line::Big(head.title.clone()), Line::Center(t("退款凭证", "Refund slip")), Line::Rule];
    lines.push(Line::Pair(t("收银台", "Till"), head.till.clone()));
    lines.push(Line::Pair(t("时间", "Time"), local_time(r.created_at_ms, "%Y-%m-%d %H:%M:%S")));
    lines.push(Line::Pair(t("退款单号", "Refund"), r.id.clone()));
    lines.push(Line::Pair(t("原订单号", "Order"), p.id.clone()));
    lines.push(Line::Pair(t("原收款", "Paid"), yuan(&p.amount_text)));
    lines.push(Line::Pair(t("付款方式", "Paid with"), d.wallet_name.clone().unwrap_or_else(|| d.channel_name.clone())));
    if let Some(by) = &r.approved_by {
        lines.push(Line::Pair(t("批准人", "Approved by"), by.clone()));
    }
    if !r.reason.is_empty() {
        lines.push(Line::Pair(t("原因", "Reason"), r.reason.clone()));
    }
    lines.push(Line::Pair(t("状态", "State"), r.state_text.clone()));
    lines.push(Line::Rule);
    lines.push(Line::Center(t("退款金额", "Refunded")));
    lines.push(Line::Big(yuan(&r.amount_text)));
    lines.push(Line::Rule);
    lines.push(Line::Text(t("顾客签字：", "Customer's signature:")));
    lines.push(Line::Text(String::new()));
    lines.push(Line::Rule);
    lines.push(Line::Qr(p.id.clone()));
    Slip { lines }
}

/// The X (shift so far) or Z (shift closed) report, as the printable page says it.
pub fn report_slip(head: &Head, r: &ShiftReport, lang: Lang) -> Slip {
    let t = |zh: &'static str, en: &'static str| lang.pick(zh, en).to_string();
    let title = match (&r.shift, r.kind) {
        (Some(s), "z") => format!("{} #{}", t("Z 报表", "Z report"), s.z_no.unwrap_or_default()),
        _ => t("X 报表", "X report"),
    };
    let mut lines = vec![Line::Big(head.title.clone()), Line::Center(title), Line::Rule];
    lines.push(Line::Pair(t("收银台", "Till"), head.till.clone()));
    lines.push(Line::Pair(t("期间", "Period"), r.period_text.clone()));
    if let Some(s) = &r.shift {
        lines.push(Line::Pair(t("开班", "Opened by"), s.opened_by.clone()));
        if let Some(cash) = &s.opening_cash {
            lines.push(Line::Pair(t("备用金", "Opening cash"), yuan(&cash.text)));
        }
        if let Some(by) = &s.closed_by {
            lines.push(Line::Pair(t("交班", "Closed by"), by.clone()));
        }
    }
    lines.push(Line::Rule);
    let b = &r.totals;
    lines.push(Line::Pair(t("收款笔数", "Sales"), b.count.to_string()));
    lines.push(Line::Pair(t("收款金额", "Gross"), yuan(&b.gross.text)));
    lines.push(Line::Pair(t("退款", "Refunds"), format!("{} / {}", b.refund_count, yuan(&b.refunds.text))));
    lines.push(Line::Pair(t("净收入", "Net"), yuan(&b.net.text)));
    lines.push(Line::Pair(t("客单价", "Average ticket"), yuan(&b.average_ticket.text)));
    for (label, groups) in crate::engine::reports::shift_groups(b, lang) {
        if groups.is_empty() {
            continue;
        }
        lines.push(Line::Rule);
        lines.push(Line::Text(label.to_string()));
        for g in groups {
            lines.push(Line::Pair(
                g.name.clone(),
                format!("{} {} {}", g.count, lang.pick("笔", "×"), yuan(&g.net.text)),
            ));
        }
    }
    if !r.unresolved.is_empty() {
        lines.push(Line::Rule);
        lines.push(Line::Text(t("未确定结果", "Unresolved")));
        for u in &r.unresolved {
            lines.push(Line::Pair(u.id.clone(), yuan(&u.amount.text)));
            lines.push(Line::Pair(u.time_text.clone(), u.state_text.clone()));
        }
    }
    if let Some(reason) = &r.close_reason {
        lines.push(Line::Rule);
        lines.push(Line::Pair(t("交班说明", "Close note"), reason.clone()));
    }
    lines.push(Line::Rule);
    lines.push(Line::Pair(t("打印时间", "Printed"), local_time(r.printed_at_ms, "%Y-%m-%d %H:%M:%S")));
    Slip { lines }
}

/// The test page: the paper's width, Chinese, the yuan sign and a QR code, so a store sees at once
/// whether the printer, its width and its Chinese mode are right.
pub fn test_slip(head: &Head, columns: usize, lang: Lang) -> Slip {
    let t = |zh: &'static str, en: &'static str| lang.pick(zh, en).to_string();
    let ruler: String = (0..columns).map(|i| char::from(b'0' + ((i + 1) % 10) as u8)).collect();
    Slip {
        lines: vec![
            Line::Big(head.title.clone()),
            Line::Center(t("打印测试", "Test print")),
            Line::Rule,
            Line::Pair(t("收银台", "Till"), head.till.clone()),
            Line::Pair(t("纸宽", "Paper"), format!("{} {}", columns, t("字符", "characters"))),
            Line::Text(ruler),
            Line::Text("中文打印正常：收款、退款、交班。".into()),
            Line::Pair(t("金额", "Amount"), yuan("12.34")),
            Line::Rule,
            Line::Qr("paydesk".into()),
        ],
    }
}
