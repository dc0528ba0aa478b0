//! What a run does, decided up front from its seed: the payments (channel, amount, scenario,
//! cancel, refunds), when the cashier is killed and how, and the channel faults in force. The
//! same seed and size give the same plan.

use serde::{Deserialize, Serialize};

/// One payment the cashier is asked to take, as the worker reads it (a JSON line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub n: usize,
    pub channel: String,
    pub amount_fen: i64,
    pub pay: Pay,
    /// The clerk presses Cancel this long after the start.
    pub cancel_after_ms: Option<u64>,
    /// Refunds (fen) a manager makes once it is paid; their sum never exceeds the amount.
    pub refunds: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pay {
    /// The customer's payment code; its last two digits pick the sandbox scenario.
    Code(String),
    /// A QR or hosted page; the customer pays this long after it is shown, or never.
    Qr { method: Option<String>, customer_after_ms: Option<u64> },
}

/// How the cashier process dies during a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kill {
    /// SIGKILL this long after the job was handed over, wherever the process is by then.
    Timer { after_ms: u64 },
    /// SIGKILL when the process reaches this failpoint (see the core's `engine/failpoint.rs`).
    At(&'static str),
}

impl Kill {
    pub fn label(self) -> &'static str {
        match self {
            Kill::Timer { .. } => "timer",
            Kill::At(point) => point,
        }
    }
}

/// The channel faults switched on from a job on (the sandbox's `Faults`, in percent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultPhase {
    pub from_job: usize,
    pub latency_ms: u64,
    pub fail_before: u8,
    pub fail_after: u8,
    pub drop_after: u8,
    pub garble: u8,
    pub bad_signature: u8,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub jobs: Vec<Job>,
    /// Job index → how the cashier dies while taking it.
    pub kills: std::collections::BTreeMap<usize, Kill>,
    pub faults: Vec<FaultPhase>,
}

/// Channels that read payment codes, and those that show a QR or page.
const CODE_CHANNELS: &[&str] = &["abc", "lakala", "alipay", "wechat"];
const QR_CHANNELS: &[(&str, Option<&str>)] = &[
    ("abc", None),
    ("lakala", Some("ALIPAY")),
    ("lakala", Some("WECHAT")),
    ("cashdesk", None),
    ("paysvc", None),
    ("alipay", None),
    ("wechat", None),
];

/// Payment-code endings (CHANNELS.md, "Sandbox scenarios") with their weights: mostly paid at
/// once, a fair share of "user paying" and every fault scenario.
const ENDINGS: &[(&str, u32)] = &[
    ("00", 40),
    ("37", 10),
    ("80", 6),
    ("82", 6),
    ("85", 4),
    ("90", 3),
    ("91", 3),
    ("92", 3),
    ("93", 3),
    ("94", 1),
    ("95", 3),
    ("96", 3),
    ("97", 3),
];

impl Plan {
    pub fn new(seed: u64, payments: usize, kills: usize) -> Plan {
        let mut rng = fastrand::Rng::with_seed(seed);
        let jobs: Vec<Job> = (0..payments).map(|n| job(&mut rng, n)).collect();
        let mut kill_at = std::collections::BTreeMap::new();
        // Distinct jobs where possible; with more kills than jobs some jobs die twice over
        // (the extra kills land on the restarted process's recovery instead).
        let mut slots: Vec<usize> = (0..payments).collect();
        rng.shuffle(&mut slots);
        for &n in slots.iter().take(kills.min(payments)) {
            kill_at.insert(n, kill_for(&mut rng, &jobs[n]));
        }
        let mut faults = Vec::new();
        let mut from = 0;
        while from < payments {
            faults.push(fault_phase(&mut rng, from));
            from += rng.usize(10..40);
        }
        Plan { jobs, kills: kill_at, faults }
    }

    /// The fault phase in force at job `n`.
    pub fn faults_at(&self, n: usize) -> Option<&FaultPhase> {
        self.faults.iter().find(|f| f.from_job == n)
    }
}

fn weighted<'a>(rng: &mut fastrand::Rng, table: &[(&'a str, u32)]) -> &'a str {
    let total: u32 = table.iter().map(|(_, w)| w).sum();
    let mut pick = rng.u32(0..total);
    for (item, w) in table {
        if pick < *w {
            return item;
        }
        pick -= w;
    }
    table[0].0
}

/// Channels that can neither close an order nor say it closed: an unpaid page lapses there.
pub const LAPSING_CHANNELS: &[&str] = &["cashdesk", "paysvc"];

/// How late a customer pays a lapsing page after it was shown (ms): past its lapse with the
/// harness's timing (page lifetime 2 s plus a 3 s horizon).
pub const LATE_AFTER_LAPSE_MS: std::ops::Range<u64> = 5_500..9_000;

/// The sandbox's rules by the amount's fen part: 99 is never paid, 98 is refused at creation with
/// a code no seed lists.
pub fn declined(amount_fen: i64) -> bool {
    amount_fen % 100 == 98
}

fn job(rng: &mut fastrand::Rng, n: usize) -> Job {
    // ¥0.01 to ¥500.00; a fen part of 99 or 98 only where the plan means it (above).
    let mut amount_fen = rng.i64(3..=50_000);
    if matches!(amount_fen % 100, 98 | 99) {
        amount_fen -= 2;
    }
    let (channel, pay) = if rng.u8(0..100) < 70 {
        let ending = weighted(rng, ENDINGS);
        let channel = CODE_CHANNELS[rng.usize(0..CODE_CHANNELS.len())];
        // A WeChat code for the WeChat channel (18 digits from 13), an Alipay code for the rest.
        let prefix = if channel == "wechat" { "13" } else { "28" };
        let code = format!("{prefix}{:014}{ending}", rng.u64(0..100_000_000_000_000));
        (channel, Pay::Code(code))
    } else {
        let (channel, method) = QR_CHANNELS[rng.usize(0..QR_CHANNELS.len())];
        let roll = rng.u8(0..100);
        let customer_after_ms = match roll {
            // The channel refuses the create in words nobody listed: no page, nobody pays.
            0..5 => {
                amount_fen = amount_fen / 100 * 100 + 98;
                None
            }
            // The customer pays after the page lapsed (on a channel that cannot close it).
            5..20 if LAPSING_CHANNELS.contains(&channel) => Some(rng.u64(LATE_AFTER_LAPSE_MS)),
            5..80 => Some(rng.u64(0..400)),
            _ => None,
        };
        (channel, Pay::Qr { method: method.map(str::to_owned), customer_after_ms })
    };
    let cancel_after_ms = (rng.u8(0..100) < 8).then(|| rng.u64(0..600));
    let mut refunds = Vec::new();
    // Only the channels that refund (the cashdesk and paysvc seeds have no refund call).
    if CODE_CHANNELS.contains(&channel) && rng.u8(0..100) < 15 {
        let first = if rng.bool() { amount_fen } else { rng.i64(1..=amount_fen) };
        refunds.push(first);
        if first < amount_fen && rng.bool() {
            refunds.push(rng.i64(1..=amount_fen - first));
        }
    }
    // The WeChat sandbox gives up refunds of x.95 and x.96 on purpose (REFUNDCLOSE, CHANGE: for a
    // person); the chaos run's refunds are ones that can end.
    if channel == "wechat" {
        for r in &mut refunds {
            if matches!(*r % 100, 95 | 96) {
                *r -= 2;
            }
        }
        refunds.retain(|r| *r > 0);
    }
    Job { n, channel: channel.into(), amount_fen, pay, cancel_after_ms, refunds }
}

/// A kill that the job can reach: its failpoints only where the job passes them.
fn kill_for(rng: &mut fastrand::Rng, job: &Job) -> Kill {
    let mut points = vec!["before_send", "after_send"];
    match &job.pay {
        Pay::Code(code) if code.ends_with("80") || code.ends_with("82") || code.ends_with("85") => {
            points.push("while_polling")
        }
        Pay::Code(code) if code.ends_with("90") => points.push("after_cancel"),
        Pay::Qr { customer_after_ms: None, .. } => points.push("after_cancel"),
        _ => {}
    }
    if !job.refunds.is_empty() {
        points.push("refund_after_send");
    }
    if rng.bool() {
        Kill::Timer { after_ms: rng.u64(0..700) }
    } else {
        Kill::At(points[rng.usize(0..points.len())])
    }
}

fn fault_phase(rng: &mut fastrand::Rng, from_job: usize) -> FaultPhase {
    if rng.u8(0..100) < 40 {
        return FaultPhase { from_job, ..FaultPhase::default() };
    }
    let mut pct = |max: u8| if rng.bool() { rng.u8(0..=max) } else { 0 };
    FaultPhase {
        from_job,
        fail_before: pct(20),
        fail_after: pct(15),
        drop_after: pct(15),
        garble: pct(15),
        bad_signature: pct(15),
        latency_ms: if rng.bool() { rng.u64(0..200) } else { 0 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_the_same_plan_and_another_seed_another() {
        let a = Plan::new(7, 200, 20);
        let b = Plan::new(7, 200, 20);
        assert_eq!(a.jobs, b.jobs);
        assert_eq!(a.kills, b.kills);
        assert_ne!(Plan::new(8, 200, 20).jobs, a.jobs);
        assert_eq!(a.kills.len(), 20);
        assert_eq!(a.faults[0].from_job, 0);
    }

    #[test]
    fn refunds_never_exceed_the_amount_and_amounts_are_payable() {
        let plan = Plan::new(1, 2_000, 0);
        let (mut declined_qr, mut late) = (0, 0);
        for j in &plan.jobs {
            assert!((1..=50_000).contains(&j.amount_fen), "{j:?}");
            assert_ne!(j.amount_fen % 100, 99);
            match &j.pay {
                Pay::Qr { customer_after_ms, .. } if declined(j.amount_fen) => {
                    assert!(customer_after_ms.is_none());
                    declined_qr += 1;
                }
                Pay::Qr { customer_after_ms: Some(after), .. } if LATE_AFTER_LAPSE_MS.contains(after) => {
                    assert!(LAPSING_CHANNELS.contains(&j.channel.as_str()), "{j:?}");
                    late += 1;
                }
                _ => assert!(!declined(j.amount_fen), "{j:?}"),
            }
            assert!(j.refunds.iter().sum::<i64>() <= j.amount_fen, "{j:?}");
            assert!(j.refunds.iter().all(|r| *r > 0));
            if let Pay::Code(code) = &j.pay {
                assert_eq!(code.len(), 18, "{code}");
                assert_eq!(code.starts_with("13"), j.channel == "wechat", "{j:?}");
            }
        }
        let qr = plan.jobs.iter().filter(|j| matches!(j.pay, Pay::Qr { .. })).count();
        assert!((400..800).contains(&qr), "about 30 % QR: {qr}");
        assert!(
            declined_qr >= 10 && late >= 10,
            "the mix has declined creates ({declined_qr}) and late payers ({late})"
        );
    }

    #[test]
    fn a_failpoint_kill_is_one_the_job_passes() {
        let plan = Plan::new(3, 3_000, 3_000);
        for (n, kill) in &plan.kills {
            let job = &plan.jobs[*n];
            match kill {
                Kill::At("refund_after_send") => assert!(!job.refunds.is_empty()),
                Kill::At("while_polling") => assert!(
                    matches!(&job.pay, Pay::Code(c) if c.ends_with('0') || c.ends_with('2') || c.ends_with('5'))
                ),
                _ => {}
            }
        }
    }
}
