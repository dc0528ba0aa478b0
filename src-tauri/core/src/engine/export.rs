//! Exports for the books: payments and refunds of a date range as CSV (UTF-8 with a BOM, so
//! spreadsheet programs read the Chinese right), and a Z/X report as a printable HTML page.

use super::errors::ManageError;
use super::reports::{instant_text, ShiftReport};
use super::view::local_time;
use super::Cashier;
use crate::i18n::Lang;
use crate::ledger::{DayRange, LedgerError, Payment, Refund, State, Status};
use crate::money::Fen;
use chrono::NaiveDate;
use html_escape::encode_text as esc;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    Payments,
    Refunds,
}

impl ExportKind {
    pub fn parse(s: &str) -> Option<ExportKind> {
        match s {
            "payments" => Some(ExportKind::Payments),
            "refunds" => Some(ExportKind::Refunds),
            _ => None,
        }
    }

    pub(super) fn as_str(self) -> &'static str {
        match self {
            ExportKind::Payments => "payments",
            ExportKind::Refunds => "refunds",
        }
    }
}

pub(super) const PAGE: usize = 2000;
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR at the start) is
/// written with a leading apostrophe: subjects and reasons are typed by people.
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// A long number that is an identifier (a channel's trade number, often 20+ digits) with a tab
/// after it, as Alipay's own bills write them: Excel and WPS then keep it as text instead of
/// showing 2.02612E+21 and losing its last digits.
fn long_number(text: &str) -> String {
    if text.len() >= 12 && text.bytes().all(|b| b.is_ascii_digit()) {
        format!("{text}\t")
    } else {
        text.to_string()
    }
}

/// A local date and time for a spreadsheet cell; empty when there is none.
fn stamp(ms: Option<i64>) -> String {
    ms.map(|t| local_time(t, "%Y-%m-%d %H:%M:%S")).unwrap_or_default()
}

/// Walks a range page by page (the ledger is held only while a page is read), calling `each`
/// for every row; `key` is a row's `(created_at, id)`, where the next page starts after.
fn walk<T>(
    page: impl Fn(Option<(i64, &str)>) -> Result<Vec<T>, LedgerError>,
    key: impl Fn(&T) -> (i64, String),
    mut each: impl FnMut(&T) -> Result<(), ManageError>,
) -> Result<usize, ManageError> {
    let mut rows = 0;
    let mut after: Option<(i64, String)> = None;
    loop {
        let rows_of_page = page(after.as_ref().map(|(t, i)| (*t, i.as_str())))?;
        for row in &rows_of_page {
            each(row)?;
        }
        rows += rows_of_page.len();
        match rows_of_page.last() {
            Some(last) if rows_of_page.len() == PAGE => after = Some(key(last)),
            _ => return Ok(rows),
        }
    }
}

fn io(e: impl std::fmt::Display) -> ManageError {
    ManageError::Ledger(LedgerError::Sqlite(format!("writing the export: {e}")))
}

/// A CSV being written: beside its target under a `.partial` name, renamed when complete, so a
/// half-written export never has the real name.
pub(super) struct CsvFile {
    w: csv::Writer<std::io::BufWriter<std::fs::File>>,
    partial: PathBuf,
    path: PathBuf,
}

impl CsvFile {
    pub(super) fn create(path: PathBuf) -> Result<CsvFile, ManageError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::private_file::create_dir(dir).map_err(io)?;
        }
        let partial = path.with_extension("csv.partial");
        let mut file = std::io::BufWriter::new(std::fs::File::create(&partial).map_err(io)?);
        file.write_all(BOM).map_err(io)?;
        Ok(CsvFile { w: csv::Writer::from_writer(file), partial, path })
    }

    pub(super) fn row<I: AsRef<[u8]>>(&mut self, record: impl IntoIterator<Item = I>) -> Result<(), ManageError> {
        self.w.write_record(record).map_err(io)
    }

    pub(super) fn finish(self) -> Result<PathBuf, ManageError> {
        let file = self.w.into_inner().map_err(io)?;
        file.into_inner().map_err(io)?.sync_all().map_err(io)?;
        std::fs::rename(&self.partial, &self.path).map_err(io)?;
        Ok(self.path)
    }
}

/// The business days `from` to `to` (inclusive) as dates and as `[start, end)` in ms.
pub(super) fn export_range(
    from: &str,
    to: &str,
    cutoff: u32,
) -> Result<(NaiveDate, NaiveDate, (i64, i64)), ManageError> {
    let (first, last) = crate::days::parse_span(from, to)?;
    Ok((first, last, (DayRange::of(first, cutoff).from_ms, DayRange::of(last, cutoff).to_ms)))
}

pub(super) fn payment_head(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::Zh => &[
            "订单号",
            "创建时间",
            "支付时间",
            "终端",
            "收银员",
            "渠道",
            "付款方式",
            "金额（元）",
            "已退款（元）",
            "净额（元）",
            "状态",
            "渠道交易号",
            "付款码（掩码）",
            "商品",
            "失败原因",
        ],
        Lang::En => &[
            "order",
            "created",
            "paid",
            "terminal",
            "clerk",
            "channel",
            "wallet",
            "amount (yuan)",
            "refunded (yuan)",
            "net (yuan)",
            "status",
            "channel trade no",
            "payment code (masked)",
            "subject",
            "failure",
        ],
    }
}

pub(super) fn refund_head(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::Zh => &[
            "退款单号",
            "原订单号",
            "申请时间",
            "完成时间",
            "退款金额（元）",
            "状态",
            "原因",
            "批准人",
            "渠道退款号",
            "失败原因",
        ],
        Lang::En => &[
            "refund",
            "order",
            "asked",
            "settled",
            "amount (yuan)",
            "state",
            "reason",
            "approved by",
            "channel refund no",
            "failure",
        ],
    }
}

pub(super) fn refund_record(r: &Refund, lang: Lang) -> [String; 10] {
    [
        long_number(&r.id),
        long_number(&r.payment_id),
        stamp(Some(r.created_at)),
        stamp(r.settled_at),
        r.amount.yuan_text(),
        r.state.label(lang).to_string(),
        cell(&r.reason),
        cell(r.approved_by.as_deref().unwrap_or("")),
        long_number(r.channel_refund_no.as_deref().unwrap_or_default()),
        cell(r.failure_message.as_deref().unwrap_or("")),
    ]
}

impl Cashier {
    /// Where exports go by default: `exports/` beside the ledger.
    pub fn exports_dir(&self) -> PathBuf {
        self.ledger().path().parent().unwrap_or(Path::new(".")).join("exports")
    }

    /// Where an export named `name` is written: `out` (a file, or a folder to write the usual
    /// name into, such as a USB stick the manager picked), else the exports folder.
    pub(super) fn export_path(&self, name: &str, out: Option<&Path>) -> PathBuf {
        match out {
            Some(p) if p.is_dir() => p.join(name),
            Some(p) => p.to_path_buf(),
            None => self.exports_dir().join(name),
        }
    }

    /// Writes the `kind` rows started in business days `from` to `to` (inclusive) to `out` (a
    /// file, or a folder to write the usual file name into; default: the exports folder);
    /// returns the file and the number of rows.
    pub fn export_csv(
        &self,
        kind: ExportKind,
        from: &str,
        to: &str,
        out: Option<&Path>,
    ) -> Result<(PathBuf, usize), ManageError> {
        let (first, last, (start, end)) = export_range(from, to, self.config().business_day.cutoff_hour)?;
        let mut file = CsvFile::create(self.export_path(&format!("{}_{first}_{last}.csv", kind.as_str()), out))?;
        let rows = match kind {
            ExportKind::Payments => self.write_payments(&mut file, start, end)?,
            ExportKind::Refunds => self.write_refunds(&mut file, start, end)?,
        };
        Ok((file.finish()?, rows))
    }

    /// A payment's CSV row; `terminal` is the till's own code, or the chain-wide till id.
    pub(super) fn payment_record(&self, p: &Payment, refunded: Fen, terminal: &str) -> [String; 15] {
        let lang = self.lang();
        let paid = p.state == State::Paid;
        let refunded = if paid { refunded } else { Fen::ZERO };
        let net = if paid { Fen(p.amount.0 - refunded.0) } else { Fen::ZERO };
        [
            long_number(&p.id),
            stamp(Some(p.created_at)),
            stamp(p.paid_at.filter(|_| paid)),
            long_number(terminal),
            cell(p.clerk.as_deref().unwrap_or("")),
            self.channel(&p.channel).map_or(p.channel.clone(), |c| c.name(lang).to_string()),
            p.wallet.clone().unwrap_or_default(),
            p.amount.yuan_text(),
            refunded.yuan_text(),
            net.yuan_text(),
            Status::of_payment(p, refunded).label(lang).to_string(),
            long_number(p.channel_trade_no.as_deref().unwrap_or_default()),
            p.code_masked.clone().unwrap_or_default(),
            cell(&p.subject),
            cell(p.failure_message.as_deref().unwrap_or("")),
        ]
    }

    fn write_payments(&self, file: &mut CsvFile, start: i64, end: i64) -> Result<usize, ManageError> {
        file.row(payment_head(self.lang()))?;
        let page = |after: Option<(i64, &str)>| self.ledger().payments_page(start, end, after, PAGE);
        walk(
            page,
            |p| (p.created_at, p.id.clone()),
            |p| {
                let refunded = if p.state == State::Paid { self.ledger().refunded(&p.id)? } else { Fen::ZERO };
                file.row(self.payment_record(p, refunded, &p.terminal))
            },
        )
    }

    fn write_refunds(&self, file: &mut CsvFile, start: i64, end: i64) -> Result<usize, ManageError> {
        let lang = self.lang();
        file.row(refund_head(lang))?;
        let page = |after: Option<(i64, &str)>| self.ledger().refunds_page(start, end, after, PAGE);
        walk(page, |r| (r.created_at, r.id.clone()), |r| file.row(refund_record(r, lang)))
    }

    /// A shift report as a complete printable page (A4 or an 80 mm receipt printer).
    pub fn shift_report_html(&self, r: &ShiftReport) -> String {
        let lang = self.lang();
        let t = |zh: &'static str, en: &'static str| lang.pick(zh, en);
        let title = match (&r.shift, r.kind) {
            (Some(s), "z") => {
                format!("{} #{}", t("Z 报表（交班）", "Z report (shift close)"), s.z_no.unwrap_or_default())
            }
            _ => t("X 报表（当班）", "X report (shift so far)").to_string(),
        };
        let mut h = String::new();
        h.push_str("<!doctype html><html><head><meta charset=\"utf-8\"><title>");
        h.push_str(&esc(&title));
        h.push_str(
            "</title><style>body{font:14px/1.45 system-ui,'Noto Sans CJK SC',sans-serif;margin:16px;color:#111}\
             h1{font-size:20px;margin:0 0 4px}table{border-collapse:collapse;width:100%;margin:8px 0 14px}\
             th,td{border-bottom:1px solid #ccc;padding:3px 6px;text-align:left}td.n,th.n{text-align:right;\
             font-variant-numeric:tabular-nums}.big td{font-size:16px;font-weight:600}.muted{color:#555}\
             @media print{body{margin:0}@page{margin:10mm}}@media print and (max-width:90mm){body{font-size:11px}}\
             </style></head><body>",
        );
        h.push_str(&format!("<h1>{}</h1>", esc(&title)));
        h.push_str(&format!(
            "<p class=\"muted\">{} {} · {}: {}</p>",
            esc(&self.config().terminal.code),
            esc(&self.config().terminal.name),
            t("期间", "Period"),
            esc(&r.period_text)
        ));
        if let Some(s) = &r.shift {
            h.push_str(&format!(
                "<p class=\"muted\">{}: {} {}",
                t("开班", "Opened by"),
                esc(&s.opened_by),
                esc(&instant_text(s.opened_at_ms))
            ));
            if let Some(cash) = &s.opening_cash {
                h.push_str(&format!(" · {}: ¥{}", t("备用金", "Opening cash"), cash.text));
            }
            if let (Some(by), Some(at)) = (&s.closed_by, s.closed_at_ms) {
                h.push_str(&format!(" · {}: {} {}", t("交班", "Closed by"), esc(by), esc(&instant_text(at))));
            }
            h.push_str("</p>");
        }
        let b = &r.totals;
        h.push_str("<table class=\"big\">");
        for (label, value) in [
            (t("收款笔数", "Sales"), b.count.to_string()),
            (t("收款金额", "Gross"), format!("¥{}", b.gross.text)),
            (t("退款", "Refunds"), format!("{} / ¥{}", b.refund_count, b.refunds.text)),
            (t("净收入", "Net"), format!("¥{}", b.net.text)),
            (t("客单价", "Average ticket"), format!("¥{}", b.average_ticket.text)),
        ] {
            h.push_str(&format!("<tr><td>{label}</td><td class=\"n\">{}</td></tr>", esc(&value)));
        }
        h.push_str("</table>");
        for (label, groups) in super::reports::shift_groups(b, lang) {
            if groups.is_empty() {
                continue;
            }
            h.push_str(&format!(
                "<table><tr><th>{label}</th><th class=\"n\">{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th>\
                 <th class=\"n\">{}</th></tr>",
                t("笔数", "Count"),
                t("收款", "Gross"),
                t("退款", "Refunds"),
                t("净额", "Net")
            ));
            for g in groups {
                h.push_str(&format!(
                    "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                     <td class=\"n\">{}</td></tr>",
                    esc(&g.name),
                    g.count,
                    g.gross.text,
                    g.refunds.text,
                    g.net.text
                ));
            }
            h.push_str("</table>");
        }
        if !r.unresolved.is_empty() {
            h.push_str(&format!("<h2>{}</h2><table>", t("未确定结果", "Unresolved")));
            for u in &r.unresolved {
                h.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">¥{}</td></tr>",
                    esc(&u.time_text),
                    esc(&u.id),
                    esc(&u.state),
                    u.amount.text
                ));
            }
            h.push_str("</table>");
        }
        if let Some(reason) = &r.close_reason {
            h.push_str(&format!("<p>{}: {}</p>", t("交班说明", "Close note"), esc(reason)));
        }
        h.push_str(&format!(
            "<p class=\"muted\">{} {}</p></body></html>",
            t("打印时间", "Printed"),
            esc(&local_time(r.printed_at_ms, "%Y-%m-%d %H:%M:%S"))
        ));
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walking_pages_visits_every_row_once_in_order() {
        let rows: Vec<(i64, String)> = (0..2 * PAGE as i64 + 1).map(|i| (i / 3, format!("P{i:06}"))).collect();
        let page = |after: Option<(i64, &str)>| {
            let start = after.map_or(0, |(t, id)| rows.iter().position(|r| (r.0, r.1.as_str()) > (t, id)).unwrap());
            Ok(rows[start..].iter().take(PAGE).cloned().collect())
        };
        let mut seen = Vec::new();
        let n = walk(
            page,
            |r: &(i64, String)| r.clone(),
            |r| {
                seen.push(r.1.clone());
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(n, rows.len());
        assert_eq!(seen, rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>());
    }

    #[test]
    fn formula_cells_are_written_as_text() {
        assert_eq!(cell("=1+1"), "'=1+1");
        assert_eq!(cell("-5"), "'-5");
        assert_eq!(cell("顾客退货"), "顾客退货");
    }
}
