//! The simulated world, common to every channel: orders, charges, refunds, the
//! scenario rules, time, and persistence.
//!
//! Channel modules (`abc`, `lakala`, `cashdesk`, `paysvc`) turn their wire requests
//! into [`Order`]s and read them back into their own wire replies; everything that
//! decides what happens to money lives here. Every time an order becomes paid, the
//! store hands a copy to the notifier (`notify.rs`), whatever made it paid.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc::UnboundedSender;

use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------- time

/// Milliseconds since the Unix epoch that never go backwards: the wall clock read
/// once at start, advanced by a monotonic (tokio) clock.
#[derive(Debug)]
pub struct Clock {
    wall0_ms: i64,
    start: tokio::time::Instant,
}

impl Clock {
    pub fn new() -> Clock {
        let wall0_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(0))
            .unwrap_or(0);
        Clock { wall0_ms, start: tokio::time::Instant::now() }
    }

    pub fn now_ms(&self) -> i64 {
        self.wall0_ms.saturating_add(ms(self.start.elapsed()))
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

/// A duration in whole milliseconds, saturating.
pub fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The services the sandbox stands in for are Chinese: their wall-clock times are Beijing time
/// (UTC+8, no daylight saving), whatever zone the machine running them is set to.
pub fn beijing() -> chrono::FixedOffset {
    BEIJING
}

const BEIJING: chrono::FixedOffset = match chrono::FixedOffset::east_opt(8 * 3600) {
    Some(zone) => zone,
    None => panic!("UTC+8 is a valid offset"),
};

/// Formats epoch milliseconds as Beijing wall-clock time with a chrono format string.
pub fn channel_stamp(at_ms: i64, fmt: &str) -> String {
    use chrono::TimeZone;
    beijing().timestamp_millis_opt(at_ms).single().map(|t| t.format(fmt).to_string()).unwrap_or_default()
}

// ---------------------------------------------------------------- records

/// One charge the sandbox made to a customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Charge {
    pub channel: String,
    pub order_no: String,
    pub amount_fen: i64,
    pub trade_no: String,
    pub at_ms: i64,
}

/// One refund the sandbox paid back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundRecord {
    pub channel: String,
    pub order_no: String,
    pub refund_no: String,
    pub amount_fen: i64,
    pub at_ms: i64,
}

/// Everything the sandbox charged and refunded, in order (`GET /admin/truth`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Truth {
    pub charges: Vec<Charge>,
    pub refunds: Vec<RefundRecord>,
}

// ---------------------------------------------------------------- orders

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Pending,
    Paid,
    Failed,
    Closed,
}

/// Why an order failed, channel-neutral; each channel maps it to its own codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailReason {
    InsufficientFunds,
    InvalidCode,
    UserCancelled,
}

/// What a barcode (payment-code) payment does, chosen by the last two digits of
/// the payment code (the table in CHANNELS.md, "Sandbox scenarios").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Scenario {
    /// `00`–`79` (and `98`, `99`, which the table leaves open): paid at once.
    PayNow,
    /// `8N`: "user paying"; the next `N + 1` queries answer pending, the one after is paid.
    PayingThenPaid { pending_queries: u32 },
    /// `90`: "user paying" until the wallet closes the trade.
    PayingForever,
    /// `91`: insufficient funds.
    InsufficientFunds,
    /// `92`: invalid or expired payment code.
    InvalidCode,
    /// `93`: charged, then the connection drops before the reply.
    DropAfterCharge,
    /// `94`: the call hangs; nothing is charged and no order exists.
    Hang,
    /// `95`: charged, but the reply is an HTTP 500.
    ServerErrorAfterCharge,
    /// `96`: charged, but the reply body is garbled.
    GarbleAfterCharge,
    /// `97`: "user paying", one pending query, then the customer cancels.
    PayingThenCancelled,
}

/// A payment code the demo offers the clerk, with the scenario it runs and what that does.
#[derive(Clone, Copy, Debug)]
pub struct SampleCode {
    pub code: &'static str,
    pub scenario: Scenario,
    pub zh: &'static str,
    pub en: &'static str,
}

/// The demo's sample payment codes: Alipay codes (28…), and a few WeChat codes (13…), which the
/// cashier sends to the WeChat Pay channel whatever channel is selected.
pub const SAMPLE_CODES: &[SampleCode] = &[
    sample("280000000000000010", Scenario::PayNow, "立即成功", "paid at once"),
    sample(
        "280000000000000082",
        Scenario::PayingThenPaid { pending_queries: 3 },
        "顾客确认后成功",
        "customer confirms, then paid",
    ),
    sample("280000000000000090", Scenario::PayingForever, "顾客一直未确认", "customer never confirms"),
    sample("280000000000000091", Scenario::InsufficientFunds, "余额不足", "insufficient funds"),
    sample("280000000000000092", Scenario::InvalidCode, "付款码无效", "invalid payment code"),
    sample("280000000000000093", Scenario::DropAfterCharge, "扣款后断线", "charged, connection dropped"),
    sample("280000000000000095", Scenario::ServerErrorAfterCharge, "扣款后渠道出错", "charged, channel error 500"),
    sample("280000000000000096", Scenario::GarbleAfterCharge, "回复乱码", "garbled reply, charged"),
    sample("280000000000000097", Scenario::PayingThenCancelled, "顾客取消", "customer cancels in the wallet"),
    sample("130000000000000010", Scenario::PayNow, "微信·立即成功", "WeChat · paid at once"),
    sample(
        "130000000000000083",
        Scenario::PayingThenPaid { pending_queries: 4 },
        "微信·输入密码后成功",
        "WeChat · password, then paid",
    ),
    sample("130000000000000091", Scenario::InsufficientFunds, "微信·余额不足", "WeChat · insufficient funds"),
];

const fn sample(code: &'static str, scenario: Scenario, zh: &'static str, en: &'static str) -> SampleCode {
    SampleCode { code, scenario, zh, en }
}

impl Scenario {
    /// The scenario of a payment code (by its last two digits).
    pub fn from_code(code: &str) -> Scenario {
        let digits: Vec<u8> = code.bytes().rev().take(2).collect();
        let [units, tens] = digits[..] else {
            return Scenario::PayNow;
        };
        if !units.is_ascii_digit() || !tens.is_ascii_digit() {
            return Scenario::PayNow;
        }
        let ending = (tens - b'0') * 10 + (units - b'0');
        match ending {
            80..=89 => Scenario::PayingThenPaid { pending_queries: u32::from(ending - 80) + 1 },
            90 => Scenario::PayingForever,
            91 => Scenario::InsufficientFunds,
            92 => Scenario::InvalidCode,
            93 => Scenario::DropAfterCharge,
            94 => Scenario::Hang,
            95 => Scenario::ServerErrorAfterCharge,
            96 => Scenario::GarbleAfterCharge,
            97 => Scenario::PayingThenCancelled,
            _ => Scenario::PayNow,
        }
    }

    /// How the reply to the pay call is delivered.
    pub fn delivery(self) -> Delivery {
        match self {
            Scenario::DropAfterCharge => Delivery::DropConnection,
            Scenario::ServerErrorAfterCharge => Delivery::ServerError,
            Scenario::GarbleAfterCharge => Delivery::Garbled,
            _ => Delivery::Normal,
        }
    }
}

/// Why a pending order was closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// Its time ran out (page orders), or the wallet gave up (barcode `90`).
    Expired,
    /// The merchant closed it.
    Closed,
    /// The merchant revoked (撤销) it before it was paid.
    Revoked,
}

/// How a reply reaches (or fails to reach) the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    Normal,
    DropConnection,
    ServerError,
    Garbled,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum OrderKind {
    /// The merchant scanned the customer's payment code.
    Barcode { scenario: Scenario },
    /// The customer pays on a page (QR code, WAP, PC, APP): `page` names the call.
    Page { page: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub channel: String,
    pub order_no: String,
    pub merchant_id: String,
    pub goods_name: String,
    pub amount_fen: i64,
    pub kind: OrderKind,
    pub status: OrderStatus,
    /// The service's own number for the order.
    pub transaction_id: String,
    /// The wallet's trade number, assigned at creation, shown once paid.
    pub trade_no: String,
    pub created_ms: i64,
    /// Page orders: when an unpaid order closes.
    pub expires_ms: Option<i64>,
    pub paid_ms: Option<i64>,
    pub closed_ms: Option<i64>,
    pub fail: Option<FailReason>,
    /// Queries answered so far (drives the barcode scenarios).
    pub queries: u32,
    pub refunded_fen: i64,
    pub return_url: Option<String>,
    /// Which call family of the channel created it (`labs`, `ccss`, …); empty for `abc`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api: String,
    /// Where the channel notifies the merchant once the order is paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    /// The wallet or tender (`ALIPAY`, `WECHAT`, `ali-pay`, …) when the channel names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Channel-specific numbers and echoes (tokens, log numbers, times as sent).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_reason: Option<CloseReason>,
}

impl Order {
    /// A new pending order; the channel fills in what it knows.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        channel: &str,
        order_no: &str,
        merchant_id: &str,
        goods_name: &str,
        amount_fen: i64,
        kind: OrderKind,
        transaction_id: String,
        trade_no: String,
        now_ms: i64,
    ) -> Order {
        Order {
            channel: channel.to_owned(),
            order_no: order_no.to_owned(),
            merchant_id: merchant_id.to_owned(),
            goods_name: goods_name.to_owned(),
            amount_fen,
            kind,
            status: OrderStatus::Pending,
            transaction_id,
            trade_no,
            created_ms: now_ms,
            expires_ms: None,
            paid_ms: None,
            closed_ms: None,
            fail: None,
            queries: 0,
            refunded_fen: 0,
            return_url: None,
            api: String::new(),
            notify_url: None,
            method: None,
            extra: BTreeMap::new(),
            close_reason: None,
        }
    }

    /// An extra value, or "".
    pub fn extra(&self, name: &str) -> &str {
        self.extra.get(name).map_or("", String::as_str)
    }

    /// Paid and every fen of it refunded since.
    pub fn fully_refunded(&self) -> bool {
        self.status == OrderStatus::Paid && self.refunded_fen >= self.amount_fen
    }

    /// Paid and part of it refunded since.
    pub fn partly_refunded(&self) -> bool {
        self.status == OrderStatus::Paid && self.refunded_fen > 0 && self.refunded_fen < self.amount_fen
    }

    pub fn is_page(&self) -> bool {
        matches!(self.kind, OrderKind::Page { .. })
    }

    /// Whether the customer has opened the order's page (scanned its QR code).
    pub fn page_opened(&self) -> bool {
        self.extra.contains_key(PAGE_OPENED)
    }

    /// Whether the customer page (or auto-pay) may pay this order now.
    pub fn payable(&self) -> Result<(), PayRefusal> {
        if !self.is_page() {
            return Err(PayRefusal::NotAPageOrder);
        }
        match self.status {
            OrderStatus::Paid => Err(PayRefusal::AlreadyPaid),
            OrderStatus::Closed => Err(PayRefusal::Closed),
            OrderStatus::Failed => Err(PayRefusal::Failed),
            OrderStatus::Pending if never_paid_amount(self.amount_fen) => Err(PayRefusal::NeverPays),
            OrderStatus::Pending => Ok(()),
        }
    }
}

/// The sandbox rule for page orders: an amount whose fen part is 99 is never paid.
pub fn never_paid_amount(amount_fen: i64) -> bool {
    amount_fen % 100 == 99
}

/// The sandbox rule for QR and page creates: an amount whose fen part is 98 is refused, with a
/// code no list of the integrator's names (how a live service says no in words nobody documented),
/// and no order is made.
pub fn declined_amount(amount_fen: i64) -> bool {
    amount_fen % 100 == 98
}

/// What each channel says for a [`declined_amount`] (codes that appear in no seed).
pub const DECLINED_MSG: &str = "商户交易权限未开通";

/// Why the customer page could not pay an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayRefusal {
    NotFound,
    NotAPageOrder,
    AlreadyPaid,
    Closed,
    Failed,
    NeverPays,
}

impl PayRefusal {
    pub fn zh(self) -> &'static str {
        match self {
            PayRefusal::NotFound => "订单不存在",
            PayRefusal::NotAPageOrder => "付款码订单，无需在此付款",
            PayRefusal::AlreadyPaid => "订单已支付",
            PayRefusal::Closed => "订单已关闭",
            PayRefusal::Failed => "订单支付失败",
            PayRefusal::NeverPays => "此订单不可支付（沙箱规则：金额分位为 99）",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            PayRefusal::NotFound => "Order not found",
            PayRefusal::NotAPageOrder => "A payment-code order; nothing to pay here",
            PayRefusal::AlreadyPaid => "Already paid",
            PayRefusal::Closed => "Order closed",
            PayRefusal::Failed => "Payment failed",
            PayRefusal::NeverPays => "This amount is never paid (sandbox rule: fen part 99)",
        }
    }
}

impl std::fmt::Display for PayRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.zh(), self.en())
    }
}

/// Why a refund was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundRefusal {
    NotFound,
    NotPaid,
    Exceeds {
        refundable_fen: i64,
    },
    /// The refund number was used before for another order or amount.
    NumberReused,
}

/// Where a merchant's refund number must be unique.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundScope {
    /// Across the channel (Lakala's refund `out_trade_no`, WeChat's `out_refund_no`).
    Channel,
    /// Within one order (Alipay's `out_request_no`).
    Order,
}

/// What became of a refund the channel accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundFate {
    /// The money went back to the customer.
    Returned,
    /// The wallet gave it up: nothing went back, and the order is refundable again.
    Failed,
}

/// Why a close was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseRefusal {
    NotFound,
    AlreadyPaid,
}

/// What the pay call of a barcode payment did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BarcodeOutcome {
    /// The call hangs; no order was created.
    Hang,
    /// The order as it stands after the call, and how the reply is delivered.
    Done { order: Box<Order>, delivery: Delivery },
}

/// The knobs that decide when things happen.
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    pub minute: Duration,
    pub barcode_close_after: Duration,
    pub auto_pay_after: Option<Duration>,
}

// ---------------------------------------------------------------- state

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    #[serde(default)]
    orders: BTreeMap<String, Order>,
    #[serde(default)]
    charges: Vec<Charge>,
    #[serde(default)]
    refunds: Vec<RefundRecord>,
    /// Refunds accepted and then given up by the wallet (not in the truth: no money moved).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    failed_refunds: Vec<RefundRecord>,
    #[serde(default)]
    seq: u64,
    #[serde(skip)]
    dirty: bool,
    /// Orders that became paid since the store last handed them to the notifier.
    #[serde(skip)]
    newly_paid: Vec<Order>,
}

/// The extra value that records when the customer first opened an order's page.
const PAGE_OPENED: &str = "page_opened_ms";

fn key(channel: &str, order_no: &str) -> String {
    format!("{channel}/{order_no}")
}

fn pay(order: &mut Order, charges: &mut Vec<Charge>, newly_paid: &mut Vec<Order>, now: i64) {
    order.status = OrderStatus::Paid;
    order.paid_ms = Some(now);
    charges.push(Charge {
        channel: order.channel.clone(),
        order_no: order.order_no.clone(),
        amount_fen: order.amount_fen,
        trade_no: order.trade_no.clone(),
        at_ms: now,
    });
    newly_paid.push(order.clone());
}

fn close(order: &mut Order, now: i64, reason: CloseReason) {
    order.status = OrderStatus::Closed;
    order.closed_ms = Some(now);
    order.close_reason = Some(reason);
}

impl State {
    /// A number unique within this sandbox's lifetime (and across restarts with a state file).
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.dirty = true;
        self.seq
    }

    pub fn order(&self, channel: &str, order_no: &str) -> Option<&Order> {
        self.orders.get(&key(channel, order_no))
    }

    pub fn exists(&self, channel: &str, order_no: &str) -> bool {
        self.orders.contains_key(&key(channel, order_no))
    }

    /// The most recent order with this number, on any channel (the customer page).
    pub fn find_by_no(&self, order_no: &str) -> Option<&Order> {
        self.orders.values().filter(|o| o.order_no == order_no).max_by_key(|o| o.created_ms)
    }

    /// The order of a channel whose extra value `name` is `value` (a token, a payment id).
    pub fn find_by_extra(&self, channel: &str, name: &str, value: &str) -> Option<&Order> {
        self.orders.values().find(|o| o.channel == channel && o.extra.get(name).is_some_and(|v| v == value))
    }

    /// Sets an extra value of an order (what a later call told about it).
    pub fn set_extra(&mut self, channel: &str, order_no: &str, name: &str, value: &str) {
        if let Some(order) = self.orders.get_mut(&key(channel, order_no)) {
            order.extra.insert(name.to_owned(), value.to_owned());
            self.dirty = true;
        }
    }

    /// Sets a flag of an order (an extra value `1`; [`State::take_flag`] reads and clears a
    /// one-shot one).
    pub fn set_flag(&mut self, channel: &str, order_no: &str, name: &str) {
        self.set_extra(channel, order_no, name, "1");
    }

    /// Whether an order's one-shot flag was set; clears it.
    pub fn take_flag(&mut self, channel: &str, order_no: &str, name: &str) -> bool {
        let set = self.order(channel, order_no).is_some_and(|o| o.extra(name) == "1");
        if set {
            self.set_extra(channel, order_no, name, "0");
        }
        set
    }

    /// The customer opened the page of the most recent order with this number (scanned its QR
    /// code): remembered once, for channels where an order exists only from then on.
    pub fn open_page(&mut self, order_no: &str, now: i64) {
        let scannable = |o: &&Order| o.is_page() && o.status == OrderStatus::Pending && !o.page_opened();
        let Some(order) = self.find_by_no(order_no).filter(scannable) else {
            return;
        };
        let (channel, no) = (order.channel.clone(), order.order_no.clone());
        self.set_extra(&channel, &no, PAGE_OPENED, &now.to_string());
    }

    /// Records a new page order (pending).
    pub fn insert_page_order(&mut self, order: Order) {
        self.dirty = true;
        self.orders.insert(key(&order.channel, &order.order_no), order);
    }

    /// A new order numbered `order_no` on `channel`, made by `make` from the next sequence number;
    /// `None` when the channel already has an order of that number (the number is not used up).
    fn new_order(&mut self, channel: &str, order_no: &str, make: impl FnOnce(u64) -> Order) -> Option<Order> {
        if self.exists(channel, order_no) {
            return None;
        }
        let seq = self.next_seq();
        Some(make(seq))
    }

    /// Records a new page order (see [`State::new_order`]) and returns it; `None`: a duplicate.
    pub fn create_page_order(
        &mut self,
        channel: &str,
        order_no: &str,
        make: impl FnOnce(u64) -> Order,
    ) -> Option<Order> {
        let order = self.new_order(channel, order_no, make)?;
        self.insert_page_order(order.clone());
        Some(order)
    }

    /// Starts a new barcode payment (see [`State::new_order`]); `None`: a duplicate.
    pub fn create_barcode_order(
        &mut self,
        channel: &str,
        order_no: &str,
        now: i64,
        make: impl FnOnce(u64) -> Order,
    ) -> Option<BarcodeOutcome> {
        let order = self.new_order(channel, order_no, make)?;
        Some(self.start_barcode(order, now))
    }

    /// Closes a pending order (the merchant's close call). A paid order is refused;
    /// one already closed or failed is answered as it stands.
    pub fn close_order(
        &mut self,
        channel: &str,
        order_no: &str,
        now: i64,
        reason: CloseReason,
    ) -> Result<Order, CloseRefusal> {
        let order = self.orders.get_mut(&key(channel, order_no)).ok_or(CloseRefusal::NotFound)?;
        match order.status {
            OrderStatus::Paid => return Err(CloseRefusal::AlreadyPaid),
            OrderStatus::Pending => {
                close(order, now, reason);
                self.dirty = true;
            }
            OrderStatus::Failed | OrderStatus::Closed => {}
        }
        Ok(order.clone())
    }

    /// Revokes (撤销) an order: a paid one is refunded in full (what is left of it),
    /// recorded under `revoke_no`; a pending one is closed. Returns the order as it
    /// stands and the refund made now, if any.
    pub fn revoke(
        &mut self,
        channel: &str,
        order_no: &str,
        revoke_no: &str,
        now: i64,
    ) -> Option<(Order, Option<RefundRecord>)> {
        let k = key(channel, order_no);
        let order = self.orders.get_mut(&k)?;
        match order.status {
            OrderStatus::Pending => {
                close(order, now, CloseReason::Revoked);
                self.dirty = true;
                Some((order.clone(), None))
            }
            OrderStatus::Failed | OrderStatus::Closed => Some((order.clone(), None)),
            OrderStatus::Paid => {
                let left = order.amount_fen - order.refunded_fen;
                if left <= 0 {
                    return Some((order.clone(), None));
                }
                order.refunded_fen += left;
                let record = RefundRecord {
                    channel: channel.to_owned(),
                    order_no: order_no.to_owned(),
                    refund_no: revoke_no.to_owned(),
                    amount_fen: left,
                    at_ms: now,
                };
                let order = order.clone();
                self.refunds.push(record.clone());
                self.dirty = true;
                Some((order, Some(record)))
            }
        }
    }

    /// Refunds under the merchant's own refund number, idempotently: the same number
    /// for the same order and amount answers the first refund again (`false`: not new),
    /// whatever became of it.
    pub fn refund_numbered(
        &mut self,
        scope: RefundScope,
        channel: &str,
        order_no: &str,
        refund_no: &str,
        amount_fen: i64,
        now: i64,
    ) -> Result<(RefundRecord, bool), RefundRefusal> {
        let scoped = match scope {
            RefundScope::Channel => None,
            RefundScope::Order => Some(order_no),
        };
        if let Some((done, _)) = self.find_refund(channel, scoped, refund_no) {
            return if done.order_no == order_no && done.amount_fen == amount_fen {
                Ok((done.clone(), false))
            } else {
                Err(RefundRefusal::NumberReused)
            };
        }
        let no = refund_no.to_owned();
        self.refund(channel, order_no, amount_fen, now, |_, _| no).map(|r| (r, true))
    }

    /// A refund of a channel by its number (within one order when `order_no` is given), and
    /// what became of it.
    pub fn find_refund(
        &self,
        channel: &str,
        order_no: Option<&str>,
        refund_no: &str,
    ) -> Option<(&RefundRecord, RefundFate)> {
        let matches = |r: &&RefundRecord| {
            r.channel == channel && r.refund_no == refund_no && order_no.is_none_or(|no| r.order_no == no)
        };
        let returned = self.refunds.iter().find(matches).map(|r| (r, RefundFate::Returned));
        returned.or_else(|| self.failed_refunds.iter().find(matches).map(|r| (r, RefundFate::Failed)))
    }

    /// The wallet gives up a refund it accepted: it leaves the truth, the order is refundable
    /// again, and the refund is kept (for queries and repeats) as failed.
    pub fn fail_refund(&mut self, channel: &str, order_no: &str, refund_no: &str) {
        let found = self
            .refunds
            .iter()
            .position(|r| r.channel == channel && r.order_no == order_no && r.refund_no == refund_no);
        let Some(i) = found else { return };
        let record = self.refunds.remove(i);
        if let Some(order) = self.orders.get_mut(&key(channel, order_no)) {
            order.refunded_fen -= record.amount_fen;
        }
        self.failed_refunds.push(record);
        self.dirty = true;
    }

    /// Runs the pay call of a barcode payment according to the order's scenario.
    pub fn start_barcode(&mut self, mut order: Order, now: i64) -> BarcodeOutcome {
        let OrderKind::Barcode { scenario } = order.kind else {
            self.insert_page_order(order.clone());
            return BarcodeOutcome::Done { order: Box::new(order), delivery: Delivery::Normal };
        };
        match scenario {
            Scenario::Hang => return BarcodeOutcome::Hang,
            Scenario::PayNow
            | Scenario::DropAfterCharge
            | Scenario::ServerErrorAfterCharge
            | Scenario::GarbleAfterCharge => pay(&mut order, &mut self.charges, &mut self.newly_paid, now),
            Scenario::PayingThenPaid { .. } | Scenario::PayingForever | Scenario::PayingThenCancelled => {}
            Scenario::InsufficientFunds => {
                order.status = OrderStatus::Failed;
                order.fail = Some(FailReason::InsufficientFunds);
            }
            Scenario::InvalidCode => {
                order.status = OrderStatus::Failed;
                order.fail = Some(FailReason::InvalidCode);
            }
        }
        self.dirty = true;
        self.orders.insert(key(&order.channel, &order.order_no), order.clone());
        BarcodeOutcome::Done { order: Box::new(order), delivery: scenario.delivery() }
    }

    /// Answers a status query: counts it and applies the query-driven scenario steps.
    pub fn query(&mut self, channel: &str, order_no: &str, now: i64) -> Option<Order> {
        let order = self.orders.get_mut(&key(channel, order_no))?;
        if order.status == OrderStatus::Pending {
            if let OrderKind::Barcode { scenario } = order.kind {
                order.queries = order.queries.saturating_add(1);
                self.dirty = true;
                match scenario {
                    Scenario::PayingThenPaid { pending_queries } if order.queries > pending_queries => {
                        pay(order, &mut self.charges, &mut self.newly_paid, now);
                    }
                    Scenario::PayingThenCancelled if order.queries > 1 => {
                        order.status = OrderStatus::Failed;
                        order.fail = Some(FailReason::UserCancelled);
                    }
                    _ => {}
                }
            }
        }
        Some(order.clone())
    }

    /// What the customer page's Pay button does.
    pub fn pay_page(&mut self, order_no: &str, now: i64) -> Result<Order, PayRefusal> {
        let k = self.find_by_no(order_no).map(|o| key(&o.channel, &o.order_no)).ok_or(PayRefusal::NotFound)?;
        let order = self.orders.get_mut(&k).ok_or(PayRefusal::NotFound)?;
        order.payable()?;
        pay(order, &mut self.charges, &mut self.newly_paid, now);
        self.dirty = true;
        Ok(order.clone())
    }

    /// Refunds part or all of a paid order. `make_no` builds the channel's refund
    /// number from the time and a fresh sequence number.
    pub fn refund(
        &mut self,
        channel: &str,
        order_no: &str,
        amount_fen: i64,
        now: i64,
        make_no: impl FnOnce(i64, u64) -> String,
    ) -> Result<RefundRecord, RefundRefusal> {
        let k = key(channel, order_no);
        let order = self.orders.get(&k).ok_or(RefundRefusal::NotFound)?;
        if order.status != OrderStatus::Paid {
            return Err(RefundRefusal::NotPaid);
        }
        let refundable_fen = order.amount_fen - order.refunded_fen;
        if amount_fen <= 0 || amount_fen > refundable_fen {
            return Err(RefundRefusal::Exceeds { refundable_fen });
        }
        let refund_no = make_no(now, self.next_seq());
        let order = self.orders.get_mut(&k).ok_or(RefundRefusal::NotFound)?;
        order.refunded_fen += amount_fen;
        let record = RefundRecord {
            channel: channel.to_owned(),
            order_no: order_no.to_owned(),
            refund_no,
            amount_fen,
            at_ms: now,
        };
        self.refunds.push(record.clone());
        self.dirty = true;
        Ok(record)
    }

    /// Applies whatever time has made happen: page orders auto-paid (demo mode) or
    /// expired, "paying forever" barcode orders closed by the wallet.
    pub fn advance(&mut self, now: i64, rules: &Rules) {
        let close_after = ms(rules.barcode_close_after);
        let auto_pay = rules.auto_pay_after.map(ms);
        for order in self.orders.values_mut() {
            if order.status != OrderStatus::Pending {
                continue;
            }
            match order.kind {
                OrderKind::Page { .. } => {
                    let expires = order.expires_ms.unwrap_or(i64::MAX);
                    let auto_at = auto_pay
                        .filter(|_| !never_paid_amount(order.amount_fen))
                        .map(|d| order.created_ms.saturating_add(d));
                    match auto_at {
                        Some(at) if at <= now && at < expires => {
                            pay(order, &mut self.charges, &mut self.newly_paid, now);
                            self.dirty = true;
                        }
                        _ if now >= expires => {
                            close(order, now, CloseReason::Expired);
                            self.dirty = true;
                        }
                        _ => {}
                    }
                }
                OrderKind::Barcode { scenario: Scenario::PayingForever } => {
                    if now >= order.created_ms.saturating_add(close_after) {
                        close(order, now, CloseReason::Expired);
                        self.dirty = true;
                    }
                }
                OrderKind::Barcode { .. } => {}
            }
        }
    }

    pub fn truth(&self) -> Truth {
        Truth { charges: self.charges.clone(), refunds: self.refunds.clone() }
    }
}

// ---------------------------------------------------------------- store

/// The state behind its lock, with the rules, the clock and the state file.
#[derive(Debug)]
pub struct Store {
    state: Mutex<State>,
    pub rules: Rules,
    pub clock: Clock,
    file: Option<PathBuf>,
    /// Where newly paid orders go (the notifier).
    paid: Option<UnboundedSender<Order>>,
}

impl Store {
    /// Loads the state file if there is one (a missing file is an empty state).
    /// Orders that become paid are sent to `paid`.
    pub fn open(rules: Rules, file: Option<PathBuf>, paid: Option<UnboundedSender<Order>>) -> io::Result<Store> {
        let state = match &file {
            Some(path) => load(path)?,
            None => State::default(),
        };
        Ok(Store { state: Mutex::new(state), rules, clock: Clock::new(), file, paid })
    }

    /// Runs `f` on the state brought up to date with the clock; saves afterwards
    /// if anything changed.
    pub fn with<R>(&self, f: impl FnOnce(&mut State, i64) -> R) -> R {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = self.clock.now_ms();
        state.advance(now, &self.rules);
        let result = f(&mut state, now);
        for order in state.newly_paid.drain(..) {
            if let Some(tx) = &self.paid {
                // The notifier is gone only while the sandbox stops.
                let _ = tx.send(order);
            }
        }
        if state.dirty {
            state.dirty = false;
            if let Some(path) = &self.file {
                if let Err(e) = save(path, &state) {
                    tracing::error!("cannot save sandbox state to {}: {e}", path.display());
                }
            }
        }
        result
    }

    /// Saves unconditionally (on shutdown).
    pub fn save_now(&self) -> io::Result<()> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match &self.file {
            Some(path) => save(path, &state),
            None => Ok(()),
        }
    }
}

fn load(path: &Path) -> io::Result<State> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidData, format!("sandbox state file {}: {e}", path.display()))
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent)?;
            }
            Ok(State::default())
        }
        Err(e) => Err(e),
    }
}

/// Writes a temporary file beside the target, then renames it over the target.
fn save(path: &Path, state: &State) -> io::Result<()> {
    let bytes = serde_json::to_vec_pretty(state)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
    }
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_sample_code_runs_the_scenario_it_names() {
        for s in SAMPLE_CODES {
            assert_eq!(Scenario::from_code(s.code), s.scenario, "{}", s.code);
            assert!(s.code.len() == 18 && s.code.bytes().all(|b| b.is_ascii_digit()), "{}", s.code);
            let wechat = s.code.starts_with("13");
            assert_eq!(wechat, s.zh.starts_with("微信"), "{}: wallet and label disagree", s.code);
            assert!(wechat || s.code.starts_with("28"), "{}: neither Alipay nor WeChat", s.code);
        }
    }

    #[test]
    fn scenarios_follow_the_table() {
        let code = |ending: &str| format!("2801234567890123{ending}");
        assert_eq!(Scenario::from_code(&code("00")), Scenario::PayNow);
        assert_eq!(Scenario::from_code(&code("79")), Scenario::PayNow);
        assert_eq!(Scenario::from_code(&code("80")), Scenario::PayingThenPaid { pending_queries: 1 });
        assert_eq!(Scenario::from_code(&code("89")), Scenario::PayingThenPaid { pending_queries: 10 });
        assert_eq!(Scenario::from_code(&code("90")), Scenario::PayingForever);
        assert_eq!(Scenario::from_code(&code("91")), Scenario::InsufficientFunds);
        assert_eq!(Scenario::from_code(&code("92")), Scenario::InvalidCode);
        assert_eq!(Scenario::from_code(&code("93")), Scenario::DropAfterCharge);
        assert_eq!(Scenario::from_code(&code("94")), Scenario::Hang);
        assert_eq!(Scenario::from_code(&code("95")), Scenario::ServerErrorAfterCharge);
        assert_eq!(Scenario::from_code(&code("96")), Scenario::GarbleAfterCharge);
        assert_eq!(Scenario::from_code(&code("97")), Scenario::PayingThenCancelled);
        assert_eq!(Scenario::from_code(&code("98")), Scenario::PayNow);
        assert_eq!(Scenario::from_code("9"), Scenario::PayNow);
        assert_eq!(Scenario::from_code(""), Scenario::PayNow);
    }

    fn page(no: &str, amount: i64) -> Order {
        Order::new("ch", no, "M", "G", amount, OrderKind::Page { page: "qr".into() }, "T".into(), "W".into(), 0)
    }

    #[test]
    fn close_revoke_and_numbered_refunds() {
        let mut st = State::default();
        st.insert_page_order(page("P1", 1000));
        st.insert_page_order(page("P2", 500));
        st.insert_page_order(page("P3", 300));
        assert!(st.pay_page("P1", 5).is_ok());
        assert_eq!(st.newly_paid.len(), 1);

        // close: pending closes, paid refuses, unknown refuses, closed answers as it stands
        assert_eq!(st.close_order("ch", "P1", 6, CloseReason::Closed), Err(CloseRefusal::AlreadyPaid));
        let closed = st.close_order("ch", "P2", 6, CloseReason::Closed);
        assert_eq!(closed.map(|o| (o.status, o.close_reason)), Ok((OrderStatus::Closed, Some(CloseReason::Closed))));
        assert!(st.close_order("ch", "P2", 7, CloseReason::Closed).is_ok());
        assert_eq!(st.close_order("ch", "NO", 6, CloseReason::Closed), Err(CloseRefusal::NotFound));

        // numbered refunds are idempotent per number
        let (r1, new) =
            st.refund_numbered(RefundScope::Channel, "ch", "P1", "R1", 400, 8).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(new);
        assert_eq!(r1.refund_no, "R1");
        let (again, new) =
            st.refund_numbered(RefundScope::Channel, "ch", "P1", "R1", 400, 9).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(!new);
        assert_eq!(again, r1);
        assert_eq!(
            st.refund_numbered(RefundScope::Channel, "ch", "P1", "R1", 300, 9),
            Err(RefundRefusal::NumberReused)
        );
        assert_eq!(
            st.refund_numbered(RefundScope::Channel, "ch", "P1", "R2", 700, 9),
            Err(RefundRefusal::Exceeds { refundable_fen: 600 })
        );
        assert!(st.order("ch", "P1").is_some_and(Order::partly_refunded));

        // revoke of a paid order refunds what is left, once
        let (o, r) = st.revoke("ch", "P1", "P1C", 10).unwrap_or_else(|| panic!("found"));
        assert!(o.fully_refunded());
        assert_eq!(r.map(|r| (r.refund_no, r.amount_fen)), Some(("P1C".to_owned(), 600)));
        let (_, r) = st.revoke("ch", "P1", "P1C", 11).unwrap_or_else(|| panic!("found"));
        assert!(r.is_none());
        // revoke of a pending one closes it; nothing is refunded
        let (o, r) = st.revoke("ch", "P3", "P3C", 12).unwrap_or_else(|| panic!("found"));
        assert_eq!((o.status, o.close_reason, r), (OrderStatus::Closed, Some(CloseReason::Revoked), None));
        assert!(st.revoke("ch", "NO", "NOC", 12).is_none());
        let truth = st.truth();
        assert_eq!(truth.charges.len(), 1);
        assert_eq!(truth.refunds.iter().map(|r| r.amount_fen).sum::<i64>(), 1000);
    }

    #[test]
    fn refund_scopes_failed_refunds_pages_and_flags() {
        let mut st = State::default();
        st.insert_page_order(page("P1", 1000));
        st.insert_page_order(page("P2", 1000));
        assert!(st.pay_page("P1", 1).is_ok() && st.pay_page("P2", 1).is_ok());
        // per order, one number may serve two orders; per channel, not
        assert!(st.refund_numbered(RefundScope::Order, "ch", "P1", "R1", 100, 2).is_ok());
        assert!(st.refund_numbered(RefundScope::Order, "ch", "P2", "R1", 100, 2).is_ok());
        assert_eq!(
            st.refund_numbered(RefundScope::Channel, "ch", "P2", "R1", 100, 2),
            Err(RefundRefusal::NumberReused)
        );
        assert_eq!(
            st.find_refund("ch", Some("P2"), "R1").map(|(r, f)| (r.order_no.as_str(), f)),
            Some(("P2", RefundFate::Returned))
        );

        // a refund the wallet gives up leaves the truth and frees the amount, and still answers repeats
        assert!(st.refund_numbered(RefundScope::Channel, "ch", "P1", "R9", 900, 3).is_ok());
        st.fail_refund("ch", "P1", "R9");
        assert_eq!(st.find_refund("ch", None, "R9").map(|(_, f)| f), Some(RefundFate::Failed));
        assert_eq!(st.order("ch", "P1").map(|o| o.refunded_fen), Some(100));
        assert!(!st.truth().refunds.iter().any(|r| r.refund_no == "R9"));
        let (again, new) =
            st.refund_numbered(RefundScope::Channel, "ch", "P1", "R9", 900, 4).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((again.amount_fen, new), (900, false));
        assert_eq!(st.order("ch", "P1").map(|o| o.refunded_fen), Some(100), "a repeat refunds nothing");

        // a page is opened once, only while its order waits
        st.insert_page_order(page("P3", 500));
        st.open_page("P3", 7);
        st.open_page("P3", 8);
        assert_eq!(
            st.order("ch", "P3").map(|o| (o.page_opened(), o.extra(PAGE_OPENED).to_owned())),
            Some((true, "7".to_owned()))
        );
        st.open_page("P1", 9);
        assert!(st.order("ch", "P1").is_some_and(|o| !o.page_opened()), "paid already");

        // one-shot flags
        st.set_flag("ch", "P3", "retry");
        assert!(st.take_flag("ch", "P3", "retry"));
        assert!(!st.take_flag("ch", "P3", "retry"));
        assert!(!st.take_flag("ch", "NO", "retry"));
    }

    #[test]
    fn state_round_trips_through_json() {
        let mut st = State::default();
        let seq = st.next_seq();
        let order = Order::new(
            "abc",
            "A1",
            "M",
            "G",
            1234,
            OrderKind::Barcode { scenario: Scenario::PayingThenPaid { pending_queries: 2 } },
            format!("T{seq}"),
            format!("N{seq}"),
            1000,
        );
        st.start_barcode(order, 1000);
        let text = serde_json::to_string(&st).unwrap_or_default();
        let back: State = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(back.seq, 1);
        assert_eq!(back.order("abc", "A1").map(|o| o.amount_fen), Some(1234));
    }
}
