//! The print queue and its worker. A job is a row in the ledger (`print_jobs`) before anything is
//! sent; the worker takes the oldest, makes its slip from the books, sends it, and records how it
//! ended. A failed job waits for a person's Retry or Dismiss; a job the app was printing when it
//! stopped is failed as interrupted at the next start (nobody knows whether it came out).
//!
//! Automatic receipts: a payment this till takes that turns paid (not late: the customer has
//! gone by then) gets one receipt job, once, however many updates say so.

use super::decode::{decode, Decoded};
use super::encode::{drawer_only, encode};
use super::slip::{self, Head, Slip, SlipError};
use super::status::PrinterState;
use super::transport::{ask_state, deliver};
use super::PrintError;
use crate::config::PrinterConfig;
use crate::engine::{Cashier, Update};
use crate::i18n::{Lang, Localized};
use crate::ledger::{AuditNote, PrintJob, Refund, RefundState, State};
use crate::people::{Action, Approval};
use serde::Serialize;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{broadcast, watch, Notify};

/// What a job prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// A paid payment's receipt (the automatic one, once per payment).
    Receipt,
    /// A copy of a receipt, asked for from the payment's detail.
    Reprint,
    Refund,
    /// The shift so far.
    X,
    /// A closed shift's report.
    Z,
    Test,
    /// Only the drawer kick.
    Drawer,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Receipt => "receipt",
            JobKind::Reprint => "reprint",
            JobKind::Refund => "refund",
            JobKind::X => "x",
            JobKind::Z => "z",
            JobKind::Test => "test",
            JobKind::Drawer => "drawer",
        }
    }

    pub fn parse(s: &str) -> Option<JobKind> {
        Some(match s {
            "receipt" => JobKind::Receipt,
            "reprint" => JobKind::Reprint,
            "refund" => JobKind::Refund,
            "x" => JobKind::X,
            "z" => JobKind::Z,
            "test" => JobKind::Test,
            "drawer" => JobKind::Drawer,
            _ => return None,
        })
    }

    fn label(self, lang: Lang) -> &'static str {
        match self {
            JobKind::Receipt => lang.pick("收款小票", "Receipt"),
            JobKind::Reprint => lang.pick("补打小票", "Receipt copy"),
            JobKind::Refund => lang.pick("退款凭证", "Refund slip"),
            JobKind::X => lang.pick("X 报表", "X report"),
            JobKind::Z => lang.pick("Z 报表", "Z report"),
            JobKind::Test => lang.pick("打印测试", "Test print"),
            JobKind::Drawer => lang.pick("打开钱箱", "Open the drawer"),
        }
    }

    /// Whether it needs a target (a payment, refund or shift).
    fn needs_target(self) -> bool {
        matches!(self, JobKind::Receipt | JobKind::Reprint | JobKind::Refund | JobKind::Z)
    }
}

/// A job as the window lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrintJobView {
    pub id: i64,
    pub kind: String,
    pub kind_text: String,
    pub target: Option<String>,
    /// `pending`, `printing`, `printed`, `failed` or `dismissed`.
    pub state: String,
    pub state_text: String,
    pub error: Option<String>,
    /// The failure in the reader's language, with what to do.
    pub error_text: Option<String>,
    pub attempts: i64,
    pub time_text: String,
}

/// A slip as the printer would print it, from the bytes that would be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    /// Characters a line.
    pub columns: usize,
    pub paper_mm: u32,
    #[serde(flatten)]
    pub decoded: Decoded,
    /// Each QR code of `decoded`, in order, drawn as SVG for the screen.
    pub qr_svgs: Vec<String>,
    pub bytes: usize,
}

/// The printer's state as the settings show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrinterCheck {
    pub ready: bool,
    pub text: String,
}

#[derive(Clone)]
pub struct Printing {
    inner: Arc<Inner>,
}

struct Inner {
    cashier: Cashier,
    config: RwLock<Option<PrinterConfig>>,
    wake: Notify,
    /// Counts changes to the queue, for the window to read it again.
    changed: watch::Sender<u64>,
}

impl Printing {
    /// Starts the worker and the automatic receipts on the current runtime; once the ledger has
    /// passed its check, jobs a previous run was printing are failed as interrupted first.
    pub fn start(cashier: Cashier) -> Printing {
        let config = cashier.config().printer.clone();
        let (changed, _) = watch::channel(0);
        let printing =
            Printing { inner: Arc::new(Inner { cashier, config: RwLock::new(config), wake: Notify::new(), changed }) };
        tokio::spawn(printing.clone().work());
        tokio::spawn(printing.clone().auto_receipts(printing.inner.cashier.subscribe()));
        printing
    }

    pub fn config(&self) -> Option<PrinterConfig> {
        self.inner.config.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// New settings take effect for the next job.
    pub fn apply(&self, config: Option<PrinterConfig>) {
        *self.inner.config.write().unwrap_or_else(|p| p.into_inner()) = config;
        self.inner.wake.notify_one();
    }

    pub fn changes(&self) -> watch::Receiver<u64> {
        self.inner.changed.subscribe()
    }

    /// Queues a slip; the job's id, or none for an automatic receipt already queued. The slip is
    /// made once here too, so what cannot be printed (an unpaid payment's receipt) is refused now.
    pub fn queue(&self, kind: JobKind, target: Option<&str>, by: Option<&str>) -> Result<Option<i64>, PrintError> {
        let Some(config) = self.config() else {
            return Err(PrintError::NotSetUp);
        };
        self.inner.cashier.ledger_check().writable()?;
        if kind.needs_target() != target.is_some() {
            return Err(PrintError::Slip(format!("{}: target", kind.as_str())));
        }
        self.bytes(&config, kind, target)?;
        let id = self.inner.cashier.ledger().add_print_job(kind.as_str(), target, by)?;
        self.touched();
        Ok(id)
    }

    /// A paid payment's receipt asked for from its detail, by whoever is signed in: the
    /// receipt, when none was queued yet; otherwise a copy, written to the audit log, since a
    /// second receipt is a money document.
    pub fn print_receipt(&self, payment_id: &str) -> Result<Option<i64>, PrintError> {
        let people = self.inner.cashier.people();
        let user = people.clerk().map_err(|_| PrintError::Forbidden)?.unwrap_or_else(|| "-".into());
        if let Some(id) = self.queue(JobKind::Receipt, Some(payment_id), Some(&user))? {
            return Ok(Some(id));
        }
        let id = self.queue(JobKind::Reprint, Some(payment_id), Some(&user))?;
        let role = people.session().map(|s| s.role);
        let note = AuditNote {
            target: Some(payment_id.to_string()),
            ..AuditNote::by(&user, role, "receipt_reprinted", serde_json::json!({ "job": id }))
        };
        self.inner.cashier.ledger().audit(&note)?;
        Ok(id)
    }

    /// Opens the cash drawer with no sale: a manager's approval, and a line in the audit log.
    pub fn open_drawer(&self, approval: &Approval) -> Result<Option<i64>, PrintError> {
        approval.check(Action::OpenDrawer).map_err(|_| PrintError::Forbidden)?;
        let id = self.queue(JobKind::Drawer, None, Some(approval.by()))?;
        self.inner.cashier.ledger().audit(&approval.note(
            "drawer_opened",
            None,
            None,
            serde_json::json!({ "job": id }),
        ))?;
        Ok(id)
    }

    /// After a refund at this till: its slip, when receipts print by themselves and the money
    /// went back (a refund still waiting prints from the payment's detail once it is decided).
    /// The job's id, if one was queued.
    pub fn refunded(&self, refund: &Refund) -> Option<i64> {
        let wanted = self.config().is_some_and(|c| c.auto_print);
        if !wanted || refund.state != RefundState::Succeeded {
            return None;
        }
        self.queue(JobKind::Refund, Some(&refund.id), None)
            .inspect_err(|e| tracing::warn!(refund = %refund.id, error = %e, "refund slip not queued"))
            .ok()
            .flatten()
    }

    pub fn retry(&self, id: i64) -> Result<bool, PrintError> {
        let done = self.inner.cashier.ledger().retry_print_job(id)?;
        self.touched();
        Ok(done)
    }

    pub fn dismiss(&self, id: i64) -> Result<bool, PrintError> {
        let done = self.inner.cashier.ledger().dismiss_print_job(id)?;
        self.touched();
        Ok(done)
    }

    /// Jobs not over yet, oldest first, in the reader's language.
    pub fn jobs(&self) -> Result<Vec<PrintJobView>, PrintError> {
        let lang = self.inner.cashier.lang();
        Ok(self.inner.cashier.ledger().open_print_jobs()?.iter().map(|j| job_view(j, lang)).collect())
    }

    pub fn job(&self, id: i64) -> Result<Option<PrintJobView>, PrintError> {
        let lang = self.inner.cashier.lang();
        Ok(self.inner.cashier.ledger().print_job(id)?.map(|j| job_view(&j, lang)))
    }

    /// The slip as it would print now, read back from its bytes. Without a printer, as an 80 mm
    /// one would print it. A receipt already queued once previews as the copy `print_receipt`
    /// would print next.
    pub fn preview(&self, kind: JobKind, target: Option<&str>) -> Result<Preview, PrintError> {
        let config = self.config().unwrap_or_else(|| PrinterConfig::new(String::new()));
        let kind = match (kind, target) {
            (JobKind::Receipt, Some(payment)) if self.inner.cashier.ledger().has_receipt_job(payment)? => {
                JobKind::Reprint
            }
            _ => kind,
        };
        let bytes = self.bytes(&config, kind, target)?;
        let decoded = decode(&bytes);
        let qr_svgs = decoded.qr_codes().into_iter().map(|d| crate::qr::svg(d).unwrap_or_default()).collect();
        Ok(Preview { columns: config.columns(), paper_mm: config.paper_mm, decoded, qr_svgs, bytes: bytes.len() })
    }

    /// The printer's state now (paper, cover, online); none for a printer that cannot say.
    pub async fn check(&self) -> Result<Option<PrinterState>, PrintError> {
        let config = self.config().ok_or(PrintError::NotSetUp)?;
        let addr = config.parsed_address().map_err(|e| PrintError::Unreachable(e.to_string()))?;
        let timeout = Duration::from_millis(config.timeout_ms);
        tokio::task::spawn_blocking(move || ask_state(&addr, timeout))
            .await
            .map_err(|e| PrintError::Task(e.to_string()))?
    }

    /// The printer's state in the reader's language, for the settings' "check" button.
    pub async fn check_view(&self) -> PrinterCheck {
        let lang = self.inner.cashier.lang();
        match self.check().await {
            Ok(Some(state)) => match state.blocking() {
                Some(e) => PrinterCheck { ready: false, text: e.message(lang) },
                None if state.paper_near_end => PrinterCheck {
                    ready: true,
                    text: lang.pick("打印机就绪，纸快用完了", "The printer is ready; its paper is running low").into(),
                },
                None => PrinterCheck { ready: true, text: lang.pick("打印机就绪", "The printer is ready").into() },
            },
            Ok(None) => PrinterCheck {
                ready: true,
                text: lang
                    .pick(
                        "此连接方式读不到打印机状态：请打印测试页确认",
                        "This connection cannot read the printer's state: print a test page to be sure",
                    )
                    .into(),
            },
            Err(e) => PrinterCheck { ready: false, text: e.message(lang) },
        }
    }

    fn touched(&self) {
        self.inner.changed.send_modify(|n| *n += 1);
        self.inner.wake.notify_one();
    }

    /// The bytes of a job's slip, made from the books now.
    fn bytes(&self, config: &PrinterConfig, kind: JobKind, target: Option<&str>) -> Result<Vec<u8>, PrintError> {
        let cashier = &self.inner.cashier;
        let lang = cashier.lang();
        let columns = config.columns();
        let slip_error = |e: crate::engine::ManageError| PrintError::Slip(e.message(lang));
        let head = head(cashier, config);
        let target = target.unwrap_or_default();
        let (slip, drawer): (Slip, bool) = match kind {
            JobKind::Receipt | JobKind::Reprint => {
                let detail = cashier.payment_detail(target).map_err(slip_error)?;
                let slip = slip::receipt(&head, &detail, kind == JobKind::Reprint, lang).map_err(|e| match e {
                    SlipError::NotPaid => PrintError::Slip(
                        lang.pick("只有已收款的订单才有小票", "Only a paid payment has a receipt").into(),
                    ),
                })?;
                (slip, false)
            }
            JobKind::Refund => {
                let refund = cashier.ledger().refund(target).map_err(|e| slip_error(e.into()))?;
                let detail = cashier.payment_detail(&refund.payment_id).map_err(slip_error)?;
                let view = detail
                    .refunds
                    .iter()
                    .find(|r| r.id == target)
                    .ok_or_else(|| PrintError::Slip(target.to_string()))?;
                let on_refund = config.drawer.as_ref().is_some_and(|d| d.on_refund);
                (slip::refund_slip(&head, &detail, view, lang), on_refund)
            }
            JobKind::X => {
                let (_, figures) = cashier.x_report().map_err(slip_error)?;
                (slip::report_slip(&head, &cashier.shift_view(&figures), lang), false)
            }
            JobKind::Z => {
                let id: i64 = target.parse().map_err(|_| PrintError::Slip(target.to_string()))?;
                let figures = cashier.shift_report(id).map_err(slip_error)?;
                (slip::report_slip(&head, &cashier.shift_view(&figures), lang), false)
            }
            JobKind::Test => (slip::test_slip(&head, columns, lang), false),
            JobKind::Drawer => {
                let d = config.drawer.as_ref().ok_or(PrintError::NoDrawer)?;
                return Ok(drawer_only(d));
            }
        };
        encode(&slip, columns, config.drawer.as_ref().filter(|_| drawer)).map_err(PrintError::Slip)
    }

    async fn work(self) {
        // The queue lives in the ledger: nothing is printed (nor a job marked) before it passed
        // its start-up check.
        if !self.inner.cashier.ledger_checked().await {
            return;
        }
        if let Err(e) = self.inner.cashier.ledger().interrupt_print_jobs(PrintError::Interrupted.code()) {
            tracing::error!(error = %e, "print queue: could not mark interrupted jobs");
        }
        self.touched();
        loop {
            let job = match self.inner.cashier.ledger().claim_print_job() {
                Ok(job) => job,
                Err(e) => {
                    tracing::error!(error = %e, "print queue: could not take a job");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let Some(job) = job else {
                // A safety net only: every change to the queue wakes the worker.
                let _ = tokio::time::timeout(Duration::from_secs(30), self.inner.wake.notified()).await;
                continue;
            };
            self.inner.changed.send_modify(|n| *n += 1);
            let outcome = self.print(&job).await;
            let error = outcome.as_ref().err().map(|e| (e.code(), e.detail()));
            match &outcome {
                Ok(()) => tracing::info!(job = job.id, kind = %job.kind, "printed"),
                Err(e) => tracing::warn!(job = job.id, kind = %job.kind, error = %e, "print failed"),
            }
            if let Err(e) =
                self.inner.cashier.ledger().finish_print_job(job.id, error.as_ref().map(|(c, d)| (*c, d.as_str())))
            {
                tracing::error!(job = job.id, error = %e, "print queue: could not record the outcome");
            }
            self.inner.changed.send_modify(|n| *n += 1);
        }
    }

    async fn print(&self, job: &PrintJob) -> Result<(), PrintError> {
        let config = self.config().ok_or(PrintError::NotSetUp)?;
        let kind = JobKind::parse(&job.kind).ok_or_else(|| PrintError::Slip(job.kind.clone()))?;
        let bytes = self.bytes(&config, kind, job.target.as_deref())?;
        let addr = config.parsed_address().map_err(|e| PrintError::Unreachable(e.to_string()))?;
        let timeout = Duration::from_millis(config.timeout_ms);
        let ask = config.status;
        let sending = tokio::task::spawn_blocking(move || deliver(&addr, &bytes, timeout, ask));
        // Each step has its deadline; this one covers a device write the kernel never returns from.
        match tokio::time::timeout(timeout * 8, sending).await {
            Ok(Ok(result)) => result.map(|_| ()),
            Ok(Err(e)) => Err(PrintError::Task(e.to_string())),
            Err(_) => Err(PrintError::Timeout),
        }
    }

    async fn auto_receipts(self, mut updates: broadcast::Receiver<Update>) {
        loop {
            match updates.recv().await {
                Ok(Update::Payment { payment, .. }) => {
                    let wanted = self.config().is_some_and(|c| c.auto_print);
                    if wanted && payment.state == State::Paid && !payment.late {
                        match self.queue(JobKind::Receipt, Some(&payment.id), None) {
                            Ok(Some(id)) => tracing::info!(job = id, payment = %payment.id, "receipt queued"),
                            Ok(None) => {}
                            Err(e) => tracing::warn!(payment = %payment.id, error = %e, "receipt not queued"),
                        }
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(
                        missed = n,
                        "automatic receipts: updates were missed; print those from the payments list"
                    )
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

/// The slip's head from the config: `[printer] header` or the terminal's name, and the till as
/// the chain knows it (`SH001/T01`) or by its code and name.
fn head(cashier: &Cashier, config: &PrinterConfig) -> Head {
    let t = &cashier.config().terminal;
    let title = [&config.header, &t.name, &t.code].into_iter().find(|s| !s.is_empty()).cloned().unwrap_or_default();
    let till = match &cashier.config().sync {
        Some(sync) => format!("{}/{}", sync.store, t.code),
        None => format!("{} {}", t.code, t.name).trim().to_string(),
    };
    Head { title, till, footer: config.footer.clone() }
}

fn job_view(j: &PrintJob, lang: Lang) -> PrintJobView {
    let kind_text = JobKind::parse(&j.kind).map(|k| k.label(lang).to_string()).unwrap_or_else(|| j.kind.clone());
    let state_text = match j.state.as_str() {
        "pending" => lang.pick("等待打印", "Waiting"),
        "printing" => lang.pick("正在打印", "Printing"),
        "printed" => lang.pick("已打印", "Printed"),
        "failed" => lang.pick("打印失败", "Failed"),
        _ => lang.pick("已忽略", "Dismissed"),
    };
    let error_text = j
        .error
        .as_deref()
        .map(|code| PrintError::from_code(code, j.detail.as_deref().unwrap_or_default()).message(lang));
    PrintJobView {
        id: j.id,
        kind: j.kind.clone(),
        kind_text,
        target: j.target.clone(),
        state: j.state.clone(),
        state_text: state_text.into(),
        error: j.error.clone(),
        error_text,
        attempts: j.attempts,
        time_text: crate::text::local_time(j.created_at, "%H:%M:%S"),
    }
}
