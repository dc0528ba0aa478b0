//! Statements (对账单): each wallet's daily trade bill, written from the sandbox's own record of
//! charges and refunds (the truth, and the orders they belong to), in the formats of
//! `docs/wire-formats.md` (Statement), with the faults a real statement has ([`BillFaults`]).
//!
//! A business day is a Beijing date: a charge belongs to the day of its payment, a refund to the
//! day it was made. Bills are T+1: a day is ready once it is over (or, with
//! `SandboxOptions::bills_ready_same_day`, any day at once: what it holds so far).
//!
//! The fee is a rate in basis points per channel (default 60 = 0.6 %), charged on each payment
//! (rounded half up to the fen) and given back pro rata on its refunds: after refunds totalling
//! R of a payment A whose fee was F, round_half_up(F × R / A) has been given back, so a payment
//! refunded in full gives back exactly its fee, however many refunds it took.
//!
//! Readings where the notes are silent (and the real samples they come from):
//! - Alipay's `#账号` is the PID followed by `0156`, as the notes' sample (and gxitsky.com's
//!   2020 sample, `208…156`) show the account number.
//! - Alipay rows: every field but the last (备注, empty) is followed by a tab, fields joined by
//!   commas, as the notes' sample; a 退款 row's 创建时间 is the trade's, its 完成时间 the refund's;
//!   订单金额 and 商家实收 are the refund's amount, negative; the discount columns are `0.00`.
//!   A refund made without `out_request_no` is listed under the trade's number (what Alipay
//!   records as its request number); a cancel's refund (a reversal) has an empty 退款批次号/请求号.
//! - Alipay's `业务明细(汇总).csv`: the layout dromara/dax-pay (`AlipayReconcileService.parseTotal`)
//!   and other public readers parse: `#支付宝业务汇总查询`, the account and dates, `#…业务汇总列表…`,
//!   the header `门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,
//!   支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）`, one line
//!   per store (the sandbox has one, unnamed, written only when there are rows), a `合计` line,
//!   `#…业务汇总列表结束…`, `#导出时间`. Amounts are net (refunds negative); 实收净额 = 商家实收 +
//!   服务费 + 分润.
//! - The zip's entries are named in GBK, without the UTF-8 flag, as real Alipay archives are
//!   (dromara/dax-pay opens them with `ZipArchiveInputStream(…, "GBK")`, other public readers
//!   unzip them as GBK): a reader that takes the names as UTF-8 (or, as the zip format says for
//!   unflagged names, CP437) does not find `业务明细.csv`. Entries are deflated, dated with the
//!   export time (Beijing).
//! - WeChat's text starts with a UTF-8 BOM, as real downloads do (gxitsky.com's 2020 sample notes
//!   "a special character" before the first header), and every line ends `\r\n`.
//! - WeChat rows: a SUCCESS row has 微信退款单号 and 商户退款单号 `0` and zero refund columns; a
//!   REFUND row has 应结订单金额 and 订单金额 `0.00`, 退款类型 `ORIGINAL`, 退款状态 `SUCCESS`. A payment
//!   reversed on its own day in full is one REVOKED row with 应结订单金额, 订单金额, 退款金额 and
//!   申请退款金额 all the payment's amount, refund numbers `0`, 手续费 the net fee (`0.00000`); so
//!   the summary's totals are the column sums whether a reader counts the REVOKED row as a payment,
//!   a refund or both. A reversal on a later day than its payment (the payment's day was already
//!   billed) is a REFUND row with empty refund numbers. 交易类型 is the order's (`MICROPAY`,
//!   `NATIVE`).
//! - Only refunds that returned money are listed (a refund the wallet gave up is not in the
//!   truth). An order that was never paid is not listed.
//! - Text fields (商品名称) lose what would break a row: `,` becomes `，`, backticks, tabs and line
//!   breaks are dropped. GBK cannot write every character: encoding_rs writes those as `&#N;`.
//! - A fault names an order number, whatever its channel. `dropOrders` and `nextDayOrders` move
//!   the charge's row only (its refunds stay where they are; a REVOKED row is the charge's row);
//!   a moved charge keeps its own time. `amountOverrides` changes the charge's amount in the bill
//!   and the fee follows it. `dropRefunds` removes a refund's row (by our refund number), and
//!   `refundAmountOverrides` changes its amount (the fee given back does not follow). `extraCharges` are paid at 12:00:00 Beijing time on their `day`
//!   (a second later for each following one), with a trade number of their own.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Path, State as AxumState};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{Datelike, NaiveDate, TimeZone, Timelike};
use serde::{Deserialize, Serialize};

use crate::money::format_yuan;
use crate::state::{beijing, channel_stamp, State};
use crate::{alipay, wechat, App, SandboxOptions};

/// The fee rate every channel charges unless told otherwise: 60 bp = 0.6 %.
pub const DEFAULT_FEE_RATE_BP: u32 = 60;
/// The highest rate taken: 100 %.
const MAX_FEE_RATE_BP: u32 = 10_000;
/// How long an Alipay download URL lives: 30 s (scaled by `minute`, like every sandbox delay).
const URL_LIFETIME: std::time::Duration = std::time::Duration::from_secs(30);

// ---------------------------------------------------------------- faults

/// What the statements get wrong (`GET`/`POST /admin/bill-faults`); the truth is untouched.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct BillFaults {
    /// Charges missing from the bill (by order number).
    pub drop_orders: Vec<String>,
    /// Refunds missing from the bill (by our refund number, `out_request_no` / `out_refund_no`).
    pub drop_refunds: Vec<String>,
    /// Charges listed in the following day's bill instead of their own day's.
    pub next_day_orders: Vec<String>,
    /// The fee rate of each channel, in basis points.
    pub fee_rate_bp: FeeRates,
    /// Charges the bill lists that the sandbox never made through its API.
    pub extra_charges: Vec<ExtraCharge>,
    /// Charges the bill lists with another amount.
    pub amount_overrides: Vec<AmountOverride>,
    /// Refunds the bill lists with another amount (by our refund number).
    pub refund_amount_overrides: Vec<RefundAmountOverride>,
}

/// Fee rates in basis points (60 = 0.6 %).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeeRates {
    pub alipay: u32,
    pub wechat: u32,
}

impl Default for FeeRates {
    fn default() -> Self {
        FeeRates { alipay: DEFAULT_FEE_RATE_BP, wechat: DEFAULT_FEE_RATE_BP }
    }
}

impl FeeRates {
    fn of(&self, channel: &str) -> u32 {
        let bp = if channel == alipay::CHANNEL { self.alipay } else { self.wechat };
        bp.min(MAX_FEE_RATE_BP)
    }
}

/// A charge only the bill knows: e.g. paid at the wallet's own terminal for one of our numbers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExtraCharge {
    /// `alipay` or `wechat`.
    pub channel: String,
    pub order_no: String,
    pub amount_fen: i64,
    /// The business day, `yyyy-MM-dd` (Beijing).
    pub day: String,
}

/// The bill says another amount for a charge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AmountOverride {
    pub order_no: String,
    pub amount_fen: i64,
}

/// The bill says another amount for a refund.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefundAmountOverride {
    pub refund_no: String,
    pub amount_fen: i64,
}

impl BillFaults {
    /// What the admin endpoint refuses: a rate above 100 %, an extra charge of no known channel,
    /// of a bad day or of no positive amount, an override of no positive amount.
    pub fn validate(&self) -> Result<(), String> {
        for (name, bp) in [("feeRateBp.alipay", self.fee_rate_bp.alipay), ("feeRateBp.wechat", self.fee_rate_bp.wechat)]
        {
            if bp > MAX_FEE_RATE_BP {
                return Err(format!("{name} must be 0..={MAX_FEE_RATE_BP}, not {bp}"));
            }
        }
        for extra in &self.extra_charges {
            if extra.channel != alipay::CHANNEL && extra.channel != wechat::CHANNEL {
                return Err(format!("extraCharges: channel must be alipay or wechat, not {:?}", extra.channel));
            }
            if extra.order_no.is_empty() {
                return Err("extraCharges: orderNo is empty".to_owned());
            }
            if extra.amount_fen <= 0 {
                return Err(format!("extraCharges: amountFen must be positive, not {}", extra.amount_fen));
            }
            if parse_day(&extra.day, "%Y-%m-%d").is_none() {
                return Err(format!("extraCharges: day must be yyyy-MM-dd, not {:?}", extra.day));
            }
        }
        for o in &self.amount_overrides {
            if o.amount_fen <= 0 {
                return Err(format!("amountOverrides: amountFen must be positive, not {}", o.amount_fen));
            }
        }
        for o in &self.refund_amount_overrides {
            if o.amount_fen <= 0 {
                return Err(format!("refundAmountOverrides: amountFen must be positive, not {}", o.amount_fen));
            }
        }
        Ok(())
    }
}

/// A date written exactly in `fmt` (`2026-01-15`, `20260115`), zero-padded.
pub fn parse_day(text: &str, fmt: &str) -> Option<NaiveDate> {
    let day = NaiveDate::parse_from_str(text, fmt).ok()?;
    (day.format(fmt).to_string() == text).then_some(day)
}

// ---------------------------------------------------------------- the desk

/// A statement published for download (Alipay's URL).
#[derive(Debug)]
struct Link {
    name: String,
    bytes: Vec<u8>,
    expires_ms: i64,
}

/// The statements' settings, faults and published downloads.
#[derive(Debug)]
pub struct Desk {
    ready_same_day: bool,
    faults: Mutex<BillFaults>,
    links: Mutex<HashMap<String, Link>>,
}

impl Desk {
    pub fn new(opts: &SandboxOptions) -> Desk {
        Desk { ready_same_day: opts.bills_ready_same_day, faults: Mutex::default(), links: Mutex::default() }
    }

    pub fn faults(&self) -> BillFaults {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub fn set_faults(&self, faults: BillFaults) {
        *self.faults.lock().unwrap_or_else(PoisonError::into_inner) = faults;
    }

    /// Whether the bill of `day` exists at `now`: T+1, or, when switched, any day at once (what
    /// it holds so far: tests reconcile today and tomorrow without waiting).
    fn ready(&self, day: NaiveDate, now_ms: i64) -> bool {
        let Some(today) = beijing_date(now_ms) else { return false };
        day < today || self.ready_same_day
    }

    /// Keeps a file for download until `expires_ms`; its token.
    fn publish(&self, name: String, bytes: Vec<u8>, now_ms: i64, expires_ms: i64) -> String {
        let token = format!("{:032x}", fastrand::u128(..));
        let mut links = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        links.retain(|_, link| link.expires_ms > now_ms);
        links.insert(token.clone(), Link { name, bytes, expires_ms });
        token
    }

    /// The file behind a token still valid at `now_ms`.
    fn fetch(&self, token: &str, now_ms: i64) -> Option<(String, Vec<u8>)> {
        let links = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        links.get(token).filter(|link| link.expires_ms > now_ms).map(|link| (link.name.clone(), link.bytes.clone()))
    }
}

fn beijing_date(at_ms: i64) -> Option<NaiveDate> {
    beijing().timestamp_millis_opt(at_ms).single().map(|t| t.date_naive())
}

/// Epoch milliseconds of a Beijing wall-clock time on `day`.
fn beijing_ms(day: NaiveDate, h: u32, m: u32, s: u32) -> Option<i64> {
    let local = day.and_hms_opt(h, m, s)?;
    beijing().from_local_datetime(&local).single().map(|t| t.timestamp_millis())
}

pub fn router() -> Router<Arc<App>> {
    Router::new().route("/bills/alipay/{token}", get(download_alipay))
}

/// `GET /bills/alipay/{token}`: the zip, while its URL is valid; 404 after.
async fn download_alipay(AxumState(app): AxumState<Arc<App>>, Path(token): Path<String>) -> Response {
    let Some((name, bytes)) = app.bills.fetch(&token, app.now_ms()) else {
        return (StatusCode::NOT_FOUND, "账单下载地址不存在或已过期\n").into_response();
    };
    let mut resp = (StatusCode::OK, bytes).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    resp
}

/// `alipay.data.dataservice.bill.downloadurl.query`: the URL of `day`'s trade bill, or `None`
/// while it does not exist. `Err` if the zip cannot be written.
pub fn alipay_download_url(app: &App, day: NaiveDate) -> Result<Option<String>, String> {
    let now = app.now_ms();
    if !app.bills.ready(day, now) {
        return Ok(None);
    }
    let faults = app.bills.faults();
    let statement = app.store.with(|st, _| Statement::build(st, alipay::CHANNEL, day, &faults));
    let pid = &app.alipay.seller_id;
    let (name, bytes) = alipay_zip(pid, &statement, now)?;
    let expires = now.saturating_add(crate::state::ms(app.scaled(URL_LIFETIME)));
    let token = app.bills.publish(name, bytes, now, expires);
    tracing::info!(day = %day, rows = statement.rows.len(), "alipay bill published");
    Ok(Some(format!("{}/bills/alipay/{token}", app.base_url)))
}

/// `/pay/downloadbill` (`ALL`): `day`'s bill text, or `None` while it does not exist or when the
/// day had no trade.
pub fn wechat_bill(app: &App, day: NaiveDate) -> Option<String> {
    if !app.bills.ready(day, app.now_ms()) {
        return None;
    }
    let faults = app.bills.faults();
    let statement = app.store.with(|st, _| Statement::build(st, wechat::CHANNEL, day, &faults));
    if statement.rows.is_empty() {
        return None;
    }
    tracing::info!(day = %day, rows = statement.rows.len(), "wechat bill downloaded");
    Some(wechat_text(&app.wechat.appid, &app.wechat.mch_id, &statement))
}

// ---------------------------------------------------------------- the rows

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Pay,
    /// A payment reversed in full on its own day (WeChat's REVOKED): a payment and its refund.
    Revoked,
    Refund,
}

/// One row of a statement, channel-neutral.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Row {
    kind: Kind,
    trade_no: String,
    order_no: String,
    goods: String,
    created_ms: i64,
    at_ms: i64,
    /// Positive: the payment's, the refund's, or the reversed payment's amount.
    amount_fen: i64,
    /// Pay: the fee charged; Refund: the fee given back; Revoked: charged less given back.
    fee_fen: i64,
    /// The merchant's refund number; `None` on a payment and on a reversal's refund.
    refund_no: Option<String>,
    /// WeChat's own refund number (微信退款单号).
    refund_id: String,
    /// WeChat's 交易类型.
    trade_type: &'static str,
}

/// One channel's statement of one day.
#[derive(Clone, Debug)]
struct Statement {
    day: NaiveDate,
    rate_bp: u32,
    rows: Vec<Row>,
}

/// `a × b / c` rounded half up (all non-negative, `c` > 0).
fn mul_div_half_up(a: i64, b: i64, c: i64) -> i64 {
    if c <= 0 {
        return 0;
    }
    let (a, b, c) = (i128::from(a.max(0)), i128::from(b.max(0)), i128::from(c));
    i64::try_from((2 * a * b + c) / (2 * c)).unwrap_or(i64::MAX)
}

/// The fee of a payment: `amount × bp / 10 000`, rounded half up to the fen.
fn fee_of(amount_fen: i64, bp: u32) -> i64 {
    mul_div_half_up(amount_fen, i64::from(bp), 10_000)
}

/// What a charge is in the bill: its amount, fee and day there.
struct Billed {
    amount_fen: i64,
    true_amount_fen: i64,
    fee_fen: i64,
    day: Option<NaiveDate>,
    row: Row,
}

impl Statement {
    fn build(st: &State, channel: &str, day: NaiveDate, faults: &BillFaults) -> Statement {
        let rate_bp = faults.fee_rate_bp.of(channel);
        let truth = st.truth();
        let listed = |list: &[String], no: &str| list.iter().any(|n| n == no);
        let overridden =
            |no: &str| faults.amount_overrides.iter().rev().find(|o| o.order_no == no).map(|o| o.amount_fen);
        let trade_type = |api: &str| if api == wechat::API_NATIVE { "NATIVE" } else { "MICROPAY" };

        // Every charge of the channel, as billed (keyed by order: one charge per order).
        let mut charges: BTreeMap<String, Billed> = BTreeMap::new();
        for c in truth.charges.iter().filter(|c| c.channel == channel) {
            let order = st.order(channel, &c.order_no);
            let amount_fen = overridden(&c.order_no).unwrap_or(c.amount_fen);
            let fee_fen = fee_of(amount_fen, rate_bp);
            let mut billed_day = beijing_date(c.at_ms);
            if listed(&faults.next_day_orders, &c.order_no) {
                billed_day = billed_day.and_then(|d| d.succ_opt());
            }
            if listed(&faults.drop_orders, &c.order_no) {
                billed_day = None;
            }
            let row = Row {
                kind: Kind::Pay,
                trade_no: c.trade_no.clone(),
                order_no: c.order_no.clone(),
                goods: order.map(|o| o.goods_name.clone()).unwrap_or_default(),
                created_ms: order.map_or(c.at_ms, |o| o.created_ms),
                at_ms: c.at_ms,
                amount_fen,
                fee_fen,
                refund_no: None,
                refund_id: String::new(),
                trade_type: trade_type(order.map_or("", |o| o.api.as_str())),
            };
            charges.insert(
                c.order_no.clone(),
                Billed { amount_fen, true_amount_fen: c.amount_fen, fee_fen, day: billed_day, row },
            );
        }

        let mut rows: Vec<Row> = Vec::new();
        // The charges whose row is in this bill, by order, and where.
        let mut pay_rows: BTreeMap<String, usize> = BTreeMap::new();
        for (no, billed) in &charges {
            if billed.day == Some(day) {
                pay_rows.insert(no.clone(), rows.len());
                rows.push(billed.row.clone());
            }
        }

        // Refunds, in the order they were made: the fee goes back pro rata.
        let mut refunded: BTreeMap<&str, i64> = BTreeMap::new();
        let mut revoked: Vec<(usize, Row)> = Vec::new();
        for r in truth.refunds.iter().filter(|r| r.channel == channel) {
            let Some(billed) = charges.get(&r.order_no) else { continue };
            let before = refunded.get(r.order_no.as_str()).copied().unwrap_or(0);
            let after = before.saturating_add(r.amount_fen);
            refunded.insert(&r.order_no, after);
            let a = billed.amount_fen;
            let fee_back =
                mul_div_half_up(billed.fee_fen, after.min(a), a) - mul_div_half_up(billed.fee_fen, before.min(a), a);
            if beijing_date(r.at_ms) != Some(day) || listed(&faults.drop_refunds, &r.refund_no) {
                continue;
            }
            let reversal = if channel == alipay::CHANNEL {
                r.refund_no == alipay::cancel_no(&r.order_no)
            } else {
                r.refund_no == wechat::reverse_no(&r.order_no)
            };
            let order = st.order(channel, &r.order_no);
            let refund_id = match order {
                Some(o) if channel == wechat::CHANNEL => o.extra(&wechat::refund_id_key(&r.refund_no)).to_owned(),
                _ => String::new(),
            };
            let listed_amount = faults
                .refund_amount_overrides
                .iter()
                .rev()
                .find(|o| o.refund_no == r.refund_no)
                .map_or(r.amount_fen, |o| o.amount_fen);
            let row = Row {
                kind: Kind::Refund,
                at_ms: r.at_ms,
                amount_fen: listed_amount,
                fee_fen: fee_back,
                refund_no: (!reversal).then(|| r.refund_no.clone()),
                refund_id,
                ..billed.row.clone()
            };
            // WeChat: a payment reversed in full on its own day is one REVOKED row.
            let whole = before == 0 && r.amount_fen == billed.true_amount_fen;
            match pay_rows.get(&r.order_no) {
                Some(&at) if channel == wechat::CHANNEL && reversal && whole => {
                    let pay = &billed.row;
                    let merged = Row { kind: Kind::Revoked, fee_fen: pay.fee_fen - fee_back, ..pay.clone() };
                    revoked.push((at, merged));
                }
                _ => rows.push(row),
            }
        }
        for (at, merged) in revoked {
            if let Some(slot) = rows.get_mut(at) {
                *slot = merged;
            }
        }

        // Charges only the bill knows.
        let extras = faults.extra_charges.iter().filter(|e| e.channel == channel);
        for (i, extra) in extras.enumerate() {
            let Some(extra_day) = parse_day(&extra.day, "%Y-%m-%d") else { continue };
            let seconds = u32::try_from(i % 3600).unwrap_or(0);
            let Some(at_ms) = beijing_ms(extra_day, 12, seconds / 60, seconds % 60) else { continue };
            let stamp = extra_day.format("%Y%m%d");
            let trade_no = if channel == alipay::CHANNEL {
                format!("{stamp}2299{:016}", i + 1)
            } else {
                format!("4200{stamp}99{:014}", i + 1)
            };
            let amount_fen = overridden(&extra.order_no).unwrap_or(extra.amount_fen);
            let mut billed_day = Some(extra_day);
            if listed(&faults.next_day_orders, &extra.order_no) {
                billed_day = extra_day.succ_opt();
            }
            if listed(&faults.drop_orders, &extra.order_no) || billed_day != Some(day) {
                continue;
            }
            rows.push(Row {
                kind: Kind::Pay,
                trade_no,
                order_no: extra.order_no.clone(),
                goods: "商品".to_owned(),
                created_ms: at_ms,
                at_ms,
                amount_fen,
                fee_fen: fee_of(amount_fen, rate_bp),
                refund_no: None,
                refund_id: String::new(),
                trade_type: "MICROPAY",
            });
        }

        rows.sort_by_key(|r| (r.at_ms, r.kind));
        Statement { day, rate_bp, rows }
    }
}

/// A text field made safe for a comma-separated row.
fn clean(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            ',' => Some('，'),
            '`' | '\t' | '\r' | '\n' => None,
            c => Some(c),
        })
        .collect()
}

fn stamp(at_ms: i64) -> String {
    channel_stamp(at_ms, "%Y-%m-%d %H:%M:%S")
}

// ---------------------------------------------------------------- Alipay

const ALIPAY_COLUMNS: [&str; 25] = [
    "支付宝交易号",
    "商户订单号",
    "业务类型",
    "商品名称",
    "创建时间",
    "完成时间",
    "门店编号",
    "门店名称",
    "操作员",
    "终端号",
    "对方账户",
    "订单金额（元）",
    "商家实收（元）",
    "支付宝红包（元）",
    "集分宝（元）",
    "支付宝优惠（元）",
    "商家优惠（元）",
    "券核销金额（元）",
    "券名称",
    "商家红包消费金额（元）",
    "卡消费金额（元）",
    "退款批次号/请求号",
    "服务费（元）",
    "分润（元）",
    "备注",
];

const ALIPAY_SUMMARY_COLUMNS: [&str; 12] = [
    "门店编号",
    "门店名称",
    "交易订单总笔数",
    "退款订单总笔数",
    "订单金额（元）",
    "商家实收（元）",
    "支付宝优惠（元）",
    "商家优惠（元）",
    "卡消费金额（元）",
    "服务费（元）",
    "分润（元）",
    "实收净额（元）",
];

/// `#---…{title}---…` as Alipay draws its markers.
fn marker(before: usize, title: &str, after: usize) -> String {
    format!("#{}{title}{}", "-".repeat(before), "-".repeat(after))
}

/// A row of Alipay's CSV: every field but the last followed by a tab, joined by commas.
fn alipay_line(fields: &[String]) -> String {
    let last = fields.len().saturating_sub(1);
    let padded: Vec<String> =
        fields.iter().enumerate().map(|(i, f)| if i < last { format!("{f}\t") } else { f.clone() }).collect();
    padded.join(",")
}

/// The lines every Alipay file opens with.
fn alipay_head(title: &str, pid: &str, day: NaiveDate) -> Vec<String> {
    let end = day.succ_opt().unwrap_or(day);
    vec![
        format!("#{title}"),
        format!("#账号：[{pid}0156]"),
        format!(
            "#起始日期：[{}]   终止日期：[{}]",
            day.format("%Y年%m月%d日 00:00:00"),
            end.format("%Y年%m月%d日 00:00:00")
        ),
    ]
}

fn exported(now_ms: i64) -> String {
    format!("#导出时间：[{}]", channel_stamp(now_ms, "%Y年%m月%d日 %H:%M:%S"))
}

/// `{pid}_{yyyymmdd}_业务明细.csv`, as text.
fn alipay_detail(pid: &str, s: &Statement, now_ms: i64) -> String {
    let mut lines = alipay_head("支付宝业务明细查询", pid, s.day);
    lines.push(marker(41, "业务明细列表", 40));
    lines.push(ALIPAY_COLUMNS.join(","));
    let zero = || "0.00".to_owned();
    for row in &s.rows {
        let refund = row.kind == Kind::Refund;
        let amount = format_yuan(if refund { -row.amount_fen } else { row.amount_fen });
        let fee = format_yuan(if refund { row.fee_fen } else { -row.fee_fen });
        lines.push(alipay_line(&[
            row.trade_no.clone(),
            row.order_no.clone(),
            if refund { "退款" } else { "交易" }.to_owned(),
            clean(&row.goods),
            stamp(row.created_ms),
            stamp(row.at_ms),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            alipay::BUYER_LOGON_ID.to_owned(),
            amount.clone(),
            amount,
            zero(),
            zero(),
            zero(),
            zero(),
            zero(),
            String::new(),
            zero(),
            zero(),
            row.refund_no.clone().unwrap_or_default(),
            fee,
            zero(),
            String::new(),
        ]));
    }
    lines.push(marker(41, "业务明细列表结束", 36));
    let pays = s.rows.iter().filter(|r| r.kind != Kind::Refund).count();
    let refunds = s.rows.len() - pays;
    lines.push(format!("#交易合计：{pays}笔，退款合计：{refunds}笔"));
    lines.push(exported(now_ms));
    crlf(&lines)
}

/// `{pid}_{yyyymmdd}_业务明细(汇总).csv`, as text.
fn alipay_summary(pid: &str, s: &Statement, now_ms: i64) -> String {
    let mut lines = alipay_head("支付宝业务汇总查询", pid, s.day);
    lines.push(marker(41, "业务汇总列表", 40));
    lines.push(ALIPAY_SUMMARY_COLUMNS.join(","));
    let pays = s.rows.iter().filter(|r| r.kind != Kind::Refund).count();
    let refunds = s.rows.len() - pays;
    let amount: i64 = s.rows.iter().map(|r| if r.kind == Kind::Refund { -r.amount_fen } else { r.amount_fen }).sum();
    let fee: i64 = s.rows.iter().map(|r| if r.kind == Kind::Refund { r.fee_fen } else { -r.fee_fen }).sum();
    let totals = |store: &str| {
        alipay_line(&[
            store.to_owned(),
            String::new(),
            pays.to_string(),
            refunds.to_string(),
            format_yuan(amount),
            format_yuan(amount),
            format_yuan(0),
            format_yuan(0),
            format_yuan(0),
            format_yuan(fee),
            format_yuan(0),
            format_yuan(amount + fee),
        ])
    };
    if !s.rows.is_empty() {
        lines.push(totals(""));
    }
    lines.push(totals("合计"));
    lines.push(marker(40, "业务汇总列表结束", 37));
    lines.push(exported(now_ms));
    crlf(&lines)
}

fn crlf(lines: &[String]) -> String {
    let mut text = lines.join("\r\n");
    text.push_str("\r\n");
    text
}

fn gbk(text: &str) -> Vec<u8> {
    let (bytes, _, _) = encoding_rs::GBK.encode(text);
    bytes.into_owned()
}

/// The zip `{pid}_{yyyymmdd}.csv.zip` and its name.
fn alipay_zip(pid: &str, s: &Statement, now_ms: i64) -> Result<(String, Vec<u8>), String> {
    use zip::write::SimpleFileOptions;
    let base = format!("{pid}_{}", s.day.format("%Y%m%d"));
    let mut options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    if let Some(t) = beijing().timestamp_millis_opt(now_ms).single() {
        let (y, mo, d) = (u16::try_from(t.year()).unwrap_or(1980), t.month() as u8, t.day() as u8);
        if let Ok(when) =
            zip::DateTime::from_date_and_time(y, mo, d, t.hour() as u8, t.minute() as u8, t.second() as u8)
        {
            options = options.last_modified_time(when);
        }
    }
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let files = [
        (format!("{base}_业务明细.csv"), alipay_detail(pid, s, now_ms)),
        (format!("{base}_业务明细(汇总).csv"), alipay_summary(pid, s, now_ms)),
    ];
    for (name, text) in files {
        let name = gbk(&name);
        zip.start_file_with_options(options.name(&name)).map_err(|e| format!("zip: {e}"))?;
        zip.write_all(&gbk(&text)).map_err(|e| format!("zip: {e}"))?;
    }
    let bytes = zip.finish().map_err(|e| format!("zip: {e}"))?.into_inner();
    Ok((format!("{base}.csv.zip"), bytes))
}

// ---------------------------------------------------------------- WeChat

const WECHAT_COLUMNS: [&str; 27] = [
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "申请退款金额",
    "费率备注",
];

const WECHAT_SUMMARY_COLUMNS: [&str; 7] =
    ["总交易单数", "应结订单总金额", "退款总金额", "充值券退款总金额", "手续费总金额", "订单总金额", "申请退款总金额"];

/// Every field after a backtick, joined by commas.
fn backticked(fields: &[String]) -> String {
    fields.iter().map(|f| format!("`{f}")).collect::<Vec<_>>().join(",")
}

/// A fee in yuan with five decimals (`0.53000`, `-0.06000`).
fn fee5(fen: i64) -> String {
    format!("{}000", format_yuan(fen))
}

/// The ALL trade bill: header, rows, summary header, summary.
fn wechat_text(appid: &str, mch_id: &str, s: &Statement) -> String {
    let rate = format!("{}.{:02}%", s.rate_bp / 100, s.rate_bp % 100);
    let mut lines = vec![WECHAT_COLUMNS.join(",")];
    let (mut settled, mut refunds, mut fees, mut ordered, mut asked) = (0i64, 0i64, 0i64, 0i64, 0i64);
    for row in &s.rows {
        // (status, 应结订单金额, 退款金额, 订单金额, 申请退款金额, 手续费, refund numbers, refund fields)
        let (status, settle, refund, order, ask, fee) = match row.kind {
            Kind::Pay => ("SUCCESS", row.amount_fen, 0, row.amount_fen, 0, row.fee_fen),
            Kind::Refund => ("REFUND", 0, row.amount_fen, 0, row.amount_fen, -row.fee_fen),
            Kind::Revoked => ("REVOKED", row.amount_fen, row.amount_fen, row.amount_fen, row.amount_fen, row.fee_fen),
        };
        let (refund_id, refund_no, refund_type, refund_status) = match row.kind {
            Kind::Pay | Kind::Revoked => ("0".to_owned(), "0".to_owned(), "", ""),
            Kind::Refund => (row.refund_id.clone(), row.refund_no.clone().unwrap_or_default(), "ORIGINAL", "SUCCESS"),
        };
        settled += settle;
        refunds += refund;
        fees += fee;
        ordered += order;
        asked += ask;
        lines.push(backticked(&[
            stamp(row.at_ms),
            appid.to_owned(),
            mch_id.to_owned(),
            "0".to_owned(),
            String::new(),
            row.trade_no.clone(),
            row.order_no.clone(),
            wechat::OPENID.to_owned(),
            row.trade_type.to_owned(),
            status.to_owned(),
            "OTHERS".to_owned(),
            "CNY".to_owned(),
            format_yuan(settle),
            format_yuan(0),
            refund_id,
            refund_no,
            format_yuan(refund),
            format_yuan(0),
            refund_type.to_owned(),
            refund_status.to_owned(),
            clean(&row.goods),
            String::new(),
            fee5(fee),
            rate.clone(),
            format_yuan(order),
            format_yuan(ask),
            String::new(),
        ]));
    }
    lines.push(WECHAT_SUMMARY_COLUMNS.join(","));
    lines.push(backticked(&[
        s.rows.len().to_string(),
        format_yuan(settled),
        format_yuan(refunds),
        format_yuan(0),
        fee5(fees),
        format_yuan(ordered),
        format_yuan(asked),
    ]));
    format!("\u{feff}{}", crlf(&lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_round_half_up_and_go_back_pro_rata() {
        assert_eq!(fee_of(8888, 60), 53); // 53.328
        assert_eq!(fee_of(1000, 60), 6);
        assert_eq!(fee_of(25, 60), 0); // 0.15
        assert_eq!(fee_of(84, 60), 1); // 0.504
        assert_eq!(fee_of(250, 60), 2); // 1.5 → 2
        assert_eq!(fee_of(1, 10_000), 1);
        // 0.01 charged on 1.00; two refunds of 0.50 give back 0.01 in all, not 0.02
        let (fee, a) = (fee_of(100, 60), 100);
        let first = mul_div_half_up(fee, 50, a);
        let second = mul_div_half_up(fee, 100, a) - first;
        assert_eq!((fee, first, second), (1, 1, 0));
        assert_eq!(mul_div_half_up(53, 1000, 8888), 6);
    }

    #[test]
    fn days_parse_exactly() {
        assert_eq!(parse_day("2026-01-15", "%Y-%m-%d"), NaiveDate::from_ymd_opt(2026, 1, 15));
        assert_eq!(parse_day("20260115", "%Y%m%d"), NaiveDate::from_ymd_opt(2026, 1, 15));
        for bad in ["2026-1-15", "2026-02-30", "20260115", " 2026-01-15", "2026-01"] {
            assert_eq!(parse_day(bad, "%Y-%m-%d"), None, "{bad}");
        }
        assert_eq!(parse_day("2026-01-15", "%Y%m%d"), None);
    }

    #[test]
    fn alipay_rows_pad_every_field_but_the_last() {
        let line = alipay_line(&["a".into(), String::new(), "b".into(), String::new()]);
        assert_eq!(line, "a\t,\t,b\t,");
        assert_eq!(marker(41, "业务明细列表", 40).chars().filter(|c| *c == '-').count(), 81);
        assert_eq!(clean("a,b`c\r\nd\te"), "a，bcde");
        assert_eq!(fee5(-6), "-0.06000");
        assert_eq!(fee5(53), "0.53000");
    }

    #[test]
    fn faults_validate_and_default() {
        let f: BillFaults = serde_json::from_str(r#"{"feeRateBp":{"alipay":30}}"#).unwrap_or_default();
        assert_eq!(f.fee_rate_bp, FeeRates { alipay: 30, wechat: 60 });
        assert!(f.validate().is_ok());
        assert!(serde_json::from_str::<BillFaults>(r#"{"dropOrder":["X"]}"#).is_err(), "typos are refused");
        let bad = |json: &str| serde_json::from_str::<BillFaults>(json).map(|f| f.validate().is_err()).unwrap_or(true);
        assert!(bad(r#"{"feeRateBp":{"wechat":10001}}"#));
        assert!(bad(r#"{"extraCharges":[{"channel":"abc","orderNo":"X","amountFen":1,"day":"2026-01-15"}]}"#));
        assert!(bad(r#"{"extraCharges":[{"channel":"alipay","orderNo":"X","amountFen":0,"day":"2026-01-15"}]}"#));
        assert!(bad(r#"{"extraCharges":[{"channel":"alipay","orderNo":"X","amountFen":1,"day":"20260115"}]}"#));
        assert!(bad(r#"{"amountOverrides":[{"orderNo":"X","amountFen":-1}]}"#));
        assert!(!bad(r#"{"extraCharges":[{"channel":"wechat","orderNo":"X","amountFen":1,"day":"2026-01-15"}]}"#));
    }
}
