//! Chain-wide figures, read from the server: totals by store, till, channel, wallet or business
//! day; every till's unresolved payments and refunds; each till's upload state.
//!
//! The money is counted as each till counts its own day and range reports (ledger `reports`): a
//! sale at the channel's time of payment (`paid_at`), a refund when the ledger settled it
//! succeeded. Business days are cut at the
//! config's `cutoff_hour`, local time, by bounds computed here ([`DayRange`]) and passed to the
//! server, so a chain's report and a till's report of the same day agree to the fen.

use super::HqError;
use crate::ledger::{DayRange, Flow, Payment, Refund, RefundState, State};
use crate::money::Fen;
use chrono::NaiveDate;
use serde::Serialize;
use tokio_postgres::GenericClient;

/// What a report's rows are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum By {
    Store,
    Till,
    Channel,
    Wallet,
    Day,
}

impl By {
    pub fn parse(s: &str) -> Option<By> {
        Some(match s {
            "store" => By::Store,
            "till" => By::Till,
            "channel" => By::Channel,
            "wallet" => By::Wallet,
            "day" => By::Day,
            _ => return None,
        })
    }

    /// The SQL of the group key: `payment` names the payments row (a refund's is joined),
    /// `at` the time that places the row in a day.
    fn key_sql(self, payment: &str, at: &str) -> String {
        match self {
            By::Store => format!("split_part({payment}.till_id, '/', 1)"),
            By::Till => format!("{payment}.till_id"),
            By::Channel => format!("{payment}.channel"),
            By::Wallet => format!("coalesce({payment}.wallet, '')"),
            By::Day => format!("width_bucket({at}, $3::bigint[])::text"),
        }
    }
}

/// One group's money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainRow {
    pub key: String,
    pub paid_count: i64,
    #[serde(rename = "paid_fen")]
    pub paid: Fen,
    pub refund_count: i64,
    #[serde(rename = "refunded_fen")]
    pub refunded: Fen,
    #[serde(rename = "net_fen")]
    pub net: Fen,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChainReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub by: By,
    pub rows: Vec<ChainRow>,
    pub total: ChainRow,
}

/// The business days `from` to `to` (inclusive) grouped `by`, every till of the chain.
pub async fn totals(
    client: &impl GenericClient,
    from: NaiveDate,
    to: NaiveDate,
    cutoff_hour: u32,
    by: By,
) -> Result<ChainReport, HqError> {
    let days: Vec<DayRange> = from.iter_days().take_while(|d| *d <= to).map(|d| DayRange::of(d, cutoff_hour)).collect();
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Err(HqError::Setup(format!("{from} – {to}: the range has no day")));
    };
    let (start, end) = (first.from_ms, last.to_ms);
    // Day i of the range is bucket i + 1 of these bounds.
    let bounds: Vec<i64> = days.iter().map(|d| d.from_ms).collect();
    let sql = format!(
        "WITH paid AS (\
             SELECT {paid_key} AS k, count(*) AS n, sum(t.amount_fen)::bigint AS fen \
             FROM paydesk.payments t \
             WHERE t.state = 'paid' AND t.paid_at >= $1 AND t.paid_at < $2 GROUP BY 1), \
         refunded AS (\
             SELECT {refund_key} AS k, count(*) AS n, sum(t.amount_fen)::bigint AS fen \
             FROM paydesk.refunds t JOIN paydesk.payments p ON p.till_id = t.till_id AND p.id = t.payment_id \
             WHERE t.state = 'succeeded' AND t.settled_at >= $1 AND t.settled_at < $2 GROUP BY 1) \
         SELECT coalesce(paid.k, refunded.k), coalesce(paid.n, 0), coalesce(paid.fen, 0), \
                coalesce(refunded.n, 0), coalesce(refunded.fen, 0) \
         FROM paid FULL JOIN refunded ON paid.k = refunded.k ORDER BY 1",
        paid_key = by.key_sql("t", "t.paid_at"),
        refund_key = by.key_sql("p", "t.settled_at"),
    );
    let rows = if by == By::Day {
        client.query(&sql, &[&start, &end, &bounds]).await?
    } else {
        // $3 is not in the statement: pass only what it names.
        client.query(&sql, &[&start, &end]).await?
    };
    let mut out: Vec<ChainRow> = rows
        .iter()
        .map(|r| {
            let (paid, refunded) = (Fen(r.get(2)), Fen(r.get(4)));
            ChainRow {
                key: r.get::<_, Option<String>>(0).unwrap_or_default(),
                paid_count: r.get(1),
                paid,
                refund_count: r.get(3),
                refunded,
                net: Fen(paid.0 - refunded.0),
            }
        })
        .collect();
    if by == By::Day {
        // Bucket numbers become dates; every day of the range is listed, empty ones as zero.
        let mut by_day = Vec::with_capacity(days.len());
        for (i, d) in days.iter().enumerate() {
            let bucket = (i + 1).to_string();
            let row = out.iter().find(|r| r.key == bucket).cloned();
            by_day.push(ChainRow { key: d.day.to_string(), ..row.unwrap_or_else(|| zero(String::new())) });
        }
        out = by_day;
    }
    let total = out.iter().fold(zero("total".into()), |mut t, r| {
        t.paid_count += r.paid_count;
        t.paid = Fen(t.paid.0 + r.paid.0);
        t.refund_count += r.refund_count;
        t.refunded = Fen(t.refunded.0 + r.refunded.0);
        t.net = Fen(t.net.0 + r.net.0);
        t
    });
    Ok(ChainReport { from, to, by, rows: out, total })
}

fn zero(key: String) -> ChainRow {
    ChainRow { key, paid_count: 0, paid: Fen::ZERO, refund_count: 0, refunded: Fen::ZERO, net: Fen::ZERO }
}

/// A payment or refund some till has not resolved yet.
#[derive(Debug, Clone, Serialize)]
pub struct Unresolved {
    pub till_id: String,
    /// `payment` or `refund`.
    pub kind: &'static str,
    pub id: String,
    pub payment_id: String,
    pub channel: String,
    #[serde(rename = "amount_fen")]
    pub amount: Fen,
    pub state: String,
    pub created_at: i64,
}

/// Every till's unresolved payments (open or lapsed) and refunds, oldest first.
pub async fn unresolved(client: &impl GenericClient, limit: i64) -> Result<Vec<Unresolved>, HqError> {
    let rows = client
        .query(
            "(SELECT till_id, 'payment', id, id, channel, amount_fen, state, created_at FROM paydesk.payments \
               WHERE state IN ('created', 'pending', 'unknown', 'lapsed') ORDER BY created_at LIMIT $1) \
             UNION ALL \
             (SELECT r.till_id, 'refund', r.id, r.payment_id, p.channel, r.amount_fen, r.state, r.created_at \
               FROM paydesk.refunds r JOIN paydesk.payments p ON p.till_id = r.till_id AND p.id = r.payment_id \
               WHERE r.state IN ('created', 'pending', 'unknown') ORDER BY r.created_at LIMIT $1) \
             ORDER BY 8 LIMIT $1",
            &[&limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Unresolved {
            till_id: r.get(0),
            kind: if r.get::<_, &str>(1) == "refund" { "refund" } else { "payment" },
            id: r.get(2),
            payment_id: r.get(3),
            channel: r.get(4),
            amount: Fen(r.get(5)),
            state: r.get(6),
            created_at: r.get(7),
        })
        .collect())
}

/// A till as the server knows it.
#[derive(Debug, Clone, Serialize)]
pub struct TillRow {
    pub till_id: String,
    pub store: String,
    pub terminal: String,
    /// Everything the till recorded by then is on the server (the till's clock).
    pub synced_to: Option<i64>,
    /// Seconds since its last upload (by the server's clock).
    pub last_upload_s_ago: Option<i64>,
}

pub async fn tills(client: &impl GenericClient) -> Result<Vec<TillRow>, HqError> {
    let rows = client
        .query(
            "SELECT till_id, store, terminal, synced_to, \
                    extract(epoch FROM now() - last_upload_at)::bigint \
             FROM paydesk.tills ORDER BY till_id",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| TillRow {
            till_id: r.get(0),
            store: r.get(1),
            terminal: r.get(2),
            synced_to: r.get(3),
            last_upload_s_ago: r.get(4),
        })
        .collect())
}

/// A page of the chain's payments started in `[start, end)`, with each one's refunded sum, for
/// the chain's CSV export; the next page starts after `after`'s `(created_at, till_id, id)`.
/// The columns a till does not send (leases, QR payloads, re-query plans) read as empty: the
/// export does not show them.
pub async fn payments_page(
    client: &impl GenericClient,
    (start, end): (i64, i64),
    after: Option<&(i64, String, String)>,
    limit: i64,
) -> Result<Vec<(String, Payment, Fen)>, HqError> {
    let (at, till, id) = after.cloned().unwrap_or((i64::MIN, String::new(), String::new()));
    let rows = client
        .query(
            "SELECT p.till_id, p.id, p.terminal, p.channel, p.flow, p.amount_fen, p.subject, p.merchant, p.wallet, \
                    p.code_masked, p.state, p.late, p.alert_ack_at, p.abandoned_at, p.channel_trade_no, \
                    p.failure_code, p.failure_message, p.clerk, p.charge_id, p.created_at, p.updated_at, p.paid_at, \
                    coalesce((SELECT sum(r.amount_fen) FROM paydesk.refunds r WHERE r.till_id = p.till_id \
                              AND r.payment_id = p.id AND r.state = 'succeeded'), 0)::bigint \
             FROM paydesk.payments p \
             WHERE p.created_at >= $1 AND p.created_at < $2 AND (p.created_at, p.till_id, p.id) > ($3, $4, $5) \
             ORDER BY p.created_at, p.till_id, p.id LIMIT $6",
            &[&start, &end, &at, &till, &id, &limit],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let state: String = r.get(10);
            let flow: String = r.get(4);
            let payment = Payment {
                id: r.get(1),
                terminal: r.get(2),
                channel: r.get(3),
                flow: Flow::parse(&flow).ok_or_else(|| HqError::Server(format!("payment flow {flow}")))?,
                amount: Fen(r.get(5)),
                subject: r.get(6),
                merchant: r.get(7),
                wallet: r.get(8),
                code_masked: r.get(9),
                state: State::parse(&state).ok_or_else(|| HqError::Server(format!("payment state {state}")))?,
                late: r.get::<_, i64>(11) != 0,
                alert_ack_at: r.get(12),
                abandoned_at: r.get(13),
                acknowledged: false,
                lease_until: 0,
                channel_trade_no: r.get(14),
                qr_payload: None,
                failure_code: r.get(15),
                failure_message: r.get(16),
                created_at: r.get(19),
                updated_at: r.get(20),
                paid_at: r.get(21),
                deadline_at: 0,
                horizon_at: 0,
                clerk: r.get(17),
                charge_id: r.get(18),
                recheck_at: None,
                recheck_every_ms: None,
                watch_until: None,
            };
            Ok((r.get(0), payment, Fen(r.get(22))))
        })
        .collect()
}

/// A page of the chain's refunds asked in `[start, end)`, as [`payments_page`].
pub async fn refunds_page(
    client: &impl GenericClient,
    (start, end): (i64, i64),
    after: Option<&(i64, String, String)>,
    limit: i64,
) -> Result<Vec<(String, Refund)>, HqError> {
    let (at, till, id) = after.cloned().unwrap_or((i64::MIN, String::new(), String::new()));
    let rows = client
        .query(
            "SELECT till_id, id, payment_id, amount_fen, reason, state, channel_refund_no, failure_code, \
                    failure_message, approved_by, created_at, updated_at, settled_at \
             FROM paydesk.refunds \
             WHERE created_at >= $1 AND created_at < $2 AND (created_at, till_id, id) > ($3, $4, $5) \
             ORDER BY created_at, till_id, id LIMIT $6",
            &[&start, &end, &at, &till, &id, &limit],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let state: String = r.get(5);
            let refund = Refund {
                id: r.get(1),
                payment_id: r.get(2),
                amount: Fen(r.get(3)),
                reason: r.get(4),
                state: RefundState::parse(&state).ok_or_else(|| HqError::Server(format!("refund state {state}")))?,
                channel_refund_no: r.get(6),
                failure_code: r.get(7),
                failure_message: r.get(8),
                approved_by: r.get(9),
                created_at: r.get(10),
                updated_at: r.get(11),
                settled_at: r.get(12),
                lease_until: 0,
            };
            Ok((r.get(0), refund))
        })
        .collect()
}
