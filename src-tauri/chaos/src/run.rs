//! The harness: a sandbox in this process (it is the world, so it outlives every cashier), and
//! one or more tills ("lanes": each its own terminal code, config and ledger, as in a store with
//! several counters). Each till is a child process fed its share of the plan's payments,
//! SIGKILLed at the planned moments and restarted each time; then a last restart whose recovery
//! must finish everything. Each ledger is then reconciled with the sandbox's truth for its
//! terminal's orders. Lanes only add throughput: a payment spends most of its life waiting.

use crate::cashier::{self, MANAGER, MANAGER_PIN};
use crate::plan::{FaultPhase, Job, Kill, Pay, Plan};
use chrono::NaiveDate;
use paydesk_core::config::{Config, DemoKeys, SyncConfig, Timing};
use paydesk_core::engine::recon::{day_of, ReconError, StatementSource};
use paydesk_core::ledger::{ChannelCharge, ChannelRefund, Ledger, Mismatch};
use paydesk_core::money::Fen;
use paydesk_sandbox::{Faults, Injected, Sandbox, SandboxOptions, Truth};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

pub struct Options {
    pub seed: u64,
    pub payments: usize,
    pub kills: usize,
    /// Tills taking payments at the same time.
    pub lanes: usize,
    /// Where truth.json and each lane's config, ledger and cashier log go (`lane-N/`).
    pub dir: PathBuf,
    /// Print a line per job.
    pub verbose: bool,
    /// The tills also upload to a chain's real PostgreSQL, stopped and started during the run.
    pub sync: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub seed: u64,
    pub lanes: usize,
    pub payments: usize,
    pub barcode: usize,
    pub qr: usize,
    pub cancels_asked: usize,
    pub refunds_asked: usize,
    pub kills: usize,
    pub kills_by_kind: BTreeMap<String, usize>,
    pub restarts: usize,
    pub faults_injected: u64,
    pub faults: Injected,
    /// Jobs whose payment code picks a fault scenario (93–96: dropped, hung, 500, garbled).
    pub scenario_faults: usize,
    /// QR jobs whose create the channel refuses with a code no seed lists.
    pub declined_creates: usize,
    /// QR jobs on a channel that cannot close, paid by the customer after the page lapsed.
    pub paid_after_lapse: usize,
    /// Tills that reach Lakala through the seeds' merchant backend.
    pub lakala_backend_lanes: usize,
    pub customer_paid_qr: u64,
    pub ledger_payments: BTreeMap<String, usize>,
    /// Paid after the clerk gave up or the page lapsed (flagged late, alerted).
    pub ledger_paid_late: usize,
    pub ledger_refunds: BTreeMap<String, usize>,
    pub sandbox_charges: usize,
    pub sandbox_refunds: usize,
    pub settle_sweeps: usize,
    /// Refunds left `unknown` on a channel that cannot be asked again, decided by the manager
    /// from the channel's records in the last restart.
    pub refunds_decided_by_manager: usize,
    /// Cashier processes that died on their own (a panic or an error exit): defects.
    pub crashes: Vec<String>,
    /// Jobs that did not finish within a minute: defects.
    pub hung: Vec<usize>,
    pub unsettled: Option<String>,
    pub mismatches: Vec<String>,
    /// Reconciliation runs (each till × channel × business day, against the sandbox's bills or
    /// by query sweeps), the statement rows they read, and what they found to act on.
    pub recon_runs: usize,
    pub recon_rows: usize,
    pub recon_differences: Vec<String>,
    /// With `--sync`: how often the chain's server was stopped mid-run, the rows compared at the
    /// end, and every row where a till's ledger and the server's copy differ.
    pub sync_outages: usize,
    pub sync_rows: usize,
    pub sync_differences: Vec<String>,
    pub seconds: f64,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.crashes.is_empty()
            && self.hung.is_empty()
            && self.unsettled.is_none()
            && self.mismatches.is_empty()
            && self.recon_differences.is_empty()
            && self.sync_differences.is_empty()
    }
}

/// The demo profile pointed at the sandbox, with test timings and 1 s request timeouts; Lakala
/// through the merchant backend of seeds 000/001 instead of direct when `lakala_backend`.
fn write_config(
    dir: &Path,
    port: u16,
    terminal: &str,
    lakala_backend: bool,
    sync: Option<&SyncConfig>,
) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let path = dir.join("config.toml");
    let mut c = Config::demo(port);
    c.demo = None;
    c.terminal_api = None;
    c.terminal.code = terminal.into();
    c.timing = Timing::quick();
    c.sync = sync.cloned();
    let ch = &mut c.channels;
    if let Some(abc) = ch.abc.as_mut() {
        (abc.request_timeout_ms, abc.connect_timeout_ms) = (1_000, 500);
    }
    if let Some(lakala) = ch.lakala.as_mut() {
        (lakala.request_timeout_ms, lakala.connect_timeout_ms) = (1_000, 500);
        if lakala_backend {
            lakala.mode = paydesk_core::config::LakalaMode::Backend;
            lakala.token = Some(paydesk_core::config::Secret::new(paydesk_sandbox::LAKALA_TOKEN));
            lakala.methods = vec!["ALIPAY".into(), "WECHAT".into()];
        }
    }
    if let Some(desk) = ch.cashdesk.as_mut() {
        (desk.request_timeout_ms, desk.connect_timeout_ms, desk.page_lifetime_ms) = (1_000, 500, 2_000);
    }
    if let Some(paysvc) = ch.paysvc.as_mut() {
        (paysvc.request_timeout_ms, paysvc.connect_timeout_ms, paysvc.page_lifetime_ms) = (1_000, 500, 2_000);
    }
    if let Some(alipay) = ch.alipay.as_mut() {
        (alipay.request_timeout_ms, alipay.connect_timeout_ms) = (1_000, 500);
    }
    if let Some(wechat) = ch.wechat.as_mut() {
        (wechat.request_timeout_ms, wechat.connect_timeout_ms) = (1_000, 500);
        // The sandbox takes any time_expire: a QR create whose answer was lost is followed for a
        // minute, not WeChat's five, so the run's end does not wait on it.
        wechat.min_qr_expiry_ms = 60_000;
    }
    c.save(&path).map_err(|e| e.to_string())?;
    DemoKeys { files: paydesk_sandbox::demo_keys::CASHIER_FILES }.write(&path).map_err(|e| e.to_string())?;
    Ok(path)
}

fn faults_of(p: &FaultPhase) -> Faults {
    Faults {
        latency_ms: p.latency_ms,
        fail_before_percent: p.fail_before,
        fail_after_percent: p.fail_after,
        drop_after_percent: p.drop_after,
        garble_percent: p.garble,
        bad_signature_percent: p.bad_signature,
        only_path: None,
    }
}

/// The customers paying shown QR codes, whatever becomes of the cashier.
#[derive(Default)]
struct Customers {
    paid: AtomicU64,
    /// Paying later (some after their page lapsed); the last restart waits for them.
    on_the_way: AtomicU64,
}

/// What the cashier process said or did.
#[derive(Debug)]
enum Event {
    Line(serde_json::Value),
    Failpoint,
    Closed,
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    events: mpsc::UnboundedReceiver<Event>,
}

impl Worker {
    async fn start(config: &Path, log: &Path, failpoint: Option<&str>) -> Result<Worker, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(exe);
        cmd.arg("cashier").arg("--config").arg(config);
        cmd.env("PAYDESK_LOG", "warn").env_remove("PAYDESK_FAILPOINT");
        if let Some(point) = failpoint {
            cmd.env("PAYDESK_FAILPOINT", point);
        }
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| format!("cashier: {e}"))?;
        let (tx, events) = mpsc::unbounded_channel();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let out_tx = tx.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(v) = serde_json::from_str(&line) {
                    let _ = out_tx.send(Event::Line(v));
                }
            }
            let _ = out_tx.send(Event::Closed);
        });
        let mut log =
            tokio::fs::OpenOptions::new().create(true).append(true).open(log).await.map_err(|e| format!("log: {e}"))?;
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = log.write_all(format!("{line}\n").as_bytes()).await;
                if line.starts_with("failpoint ") && line.ends_with(" reached") {
                    let _ = tx.send(Event::Failpoint);
                }
            }
        });
        let mut w = Worker { child, stdin, events };
        match tokio::time::timeout(Duration::from_secs(30), w.next()).await {
            Ok(Event::Line(v)) if v["event"] == "ready" => Ok(w),
            other => Err(format!("the cashier did not start: {other:?}")),
        }
    }

    async fn next(&mut self) -> Event {
        self.events.recv().await.unwrap_or(Event::Closed)
    }

    async fn send(&mut self, job: &Job) -> Result<(), String> {
        let line = serde_json::to_string(job).map_err(|e| e.to_string())?;
        self.stdin.write_all(format!("{line}\n").as_bytes()).await.map_err(|e| e.to_string())
    }

    async fn kill(mut self) {
        let _ = self.child.start_kill(); // SIGKILL on unix
        let _ = self.child.wait().await;
    }

    /// Closes its input, as a clerk closing the app: it finishes the job in hand and exits.
    async fn stop(mut self) -> Result<(), String> {
        drop(self.stdin);
        match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => Err(format!("the cashier exited with {status}")),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => {
                let _ = self.child.start_kill();
                Err("the cashier did not exit when its input closed".into())
            }
        }
    }
}

enum JobEnd {
    Done,
    Killed(&'static str),
    Crashed(String),
    Hung,
}

/// One till: its terminal code (every order number starts with it) and its files.
struct Lane {
    terminal: String,
    dir: PathBuf,
    config: PathBuf,
}

impl Lane {
    /// Odd tills reach Lakala through the seeds' merchant backend (payment codes by its legacy
    /// micropay), even ones directly.
    fn new(root: &Path, k: usize, port: u16, sync: Option<&SyncConfig>) -> Result<Lane, String> {
        let terminal = format!("K{k:02}");
        let dir = root.join(format!("lane-{k}"));
        let config = write_config(&dir, port, &terminal, k % 2 == 1, sync)?;
        let loaded = Config::load(&config).map_err(|e| e.to_string())?;
        let cashier = paydesk_core::engine::Cashier::open(loaded, &config, None).map_err(|e| e.to_string())?;
        if cashier.people().first_run().map_err(|e| e.to_string())? {
            cashier.people().create_first_manager(MANAGER, MANAGER_PIN).map_err(|e| e.to_string())?;
        }
        Ok(Lane { terminal, dir, config })
    }

    /// The lanes of a kept run, by their directories.
    fn found(root: &Path) -> Vec<(String, PathBuf)> {
        (0..)
            .map(|k| (format!("K{k:02}"), root.join(format!("lane-{k}"))))
            .take_while(|(_, dir)| dir.join("ledger.db").exists())
            .collect()
    }
}

/// What one lane saw.
#[derive(Default)]
struct LaneReport {
    kills: usize,
    kills_by_kind: BTreeMap<String, usize>,
    restarts: usize,
    crashes: Vec<String>,
    hung: Vec<usize>,
}

impl LaneReport {
    fn killed(&mut self, kind: impl Into<String>) {
        *self.kills_by_kind.entry(kind.into()).or_default() += 1;
        self.kills += 1;
    }
}

pub async fn run(opts: &Options) -> Result<Report, String> {
    let clock = Instant::now();
    let first_day = day_of(paydesk_core::ledger::now_ms());
    std::fs::create_dir_all(&opts.dir).map_err(|e| e.to_string())?;
    let sandbox = Arc::new(
        Sandbox::start(SandboxOptions {
            minute: Duration::from_millis(2_000),
            barcode_close_after: Duration::from_millis(2_200),
            hang: Duration::from_millis(2_500),
            seed: opts.seed,
            // The run ends by reconciling today's (and tomorrow's) bills at once.
            bills_ready_same_day: true,
            ..SandboxOptions::default()
        })
        .await
        .map_err(|e| format!("sandbox: {e}"))?,
    );
    let lanes_n = opts.lanes.max(1);
    let chain = if opts.sync { Some(Arc::new(ChainServer::start(&opts.dir).await?)) } else { None };
    let sync = chain.as_ref().map(|c| c.sync.clone());
    let lanes: Vec<Lane> = (0..lanes_n)
        .map(|k| Lane::new(&opts.dir, k, sandbox.addr().port(), sync.as_ref()))
        .collect::<Result<_, _>>()?;
    let outages = chain.clone().map(|c| c.outages_while_running());
    let plan = Arc::new(Plan::new(opts.seed, opts.payments, opts.kills));
    let mut report = Report {
        seed: opts.seed,
        lanes: lanes_n,
        payments: opts.payments,
        lakala_backend_lanes: lanes_n / 2,
        ..Report::default()
    };
    for job in &plan.jobs {
        count_job(&mut report, job);
    }
    let customers = Arc::new(Customers::default());
    let mut tasks = Vec::new();
    for (k, lane) in lanes.iter().enumerate() {
        let (plan, sandbox, paid, verbose) = (plan.clone(), sandbox.clone(), customers.clone(), opts.verbose);
        let (config, log) = (lane.config.clone(), lane.dir.join("cashier.log"));
        tasks.push(tokio::spawn(async move {
            let jobs = plan.jobs.iter().filter(|j| j.n % lanes_n == k);
            run_lane(&config, &log, jobs, &plan, &sandbox, &paid, verbose).await
        }));
    }
    for task in tasks {
        let lane = task.await.map_err(|e| e.to_string())??;
        report.kills += lane.kills;
        for (kind, n) in lane.kills_by_kind {
            *report.kills_by_kind.entry(kind).or_default() += n;
        }
        report.restarts += lane.restarts;
        report.crashes.extend(lane.crashes);
        report.hung.extend(lane.hung);
    }
    if let Some((stop, task)) = outages {
        stop.store(true, Ordering::SeqCst);
        report.sync_outages = task.await.map_err(|e| e.to_string())??;
    }

    // Customers still on their way pay first (some long after their page lapsed).
    let waited = Instant::now();
    while customers.on_the_way.load(Ordering::SeqCst) > 0 && waited.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The last restart of every till, with the channels healthy again: recovery must finish
    // everything, and sweep long enough that every lapsed payment is queried after the last
    // customer paid (its longest pause between queries, twice).
    sandbox.set_faults(Faults::default());
    let watch = Duration::from_millis(Timing::quick().lapsed_recheck_max_ms * 2);
    let made_refunds = || {
        let mut given: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for r in sandbox.truth().refunds {
            given.entry(r.order_no).or_default().push(r.amount_fen);
        }
        given
    };
    for lane in &lanes {
        match cashier::settle(&lane.config, Duration::from_secs(120), watch, made_refunds).await {
            Ok(s) => {
                report.settle_sweeps += s.sweeps;
                report.refunds_decided_by_manager += s.refunds_decided;
            }
            Err(e) => report.unsettled = Some(format!("{}: {e}", lane.terminal)),
        }
    }
    let truth = sandbox.truth();
    std::fs::write(opts.dir.join("truth.json"), serde_json::to_vec(&truth).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    report.mismatches = verify_lanes(&opts.dir, &truth)?;
    reconcile_lanes(&lanes, first_day, &mut report).await?;
    for lane in &lanes {
        let ledger = Ledger::open(&lane.dir.join("ledger.db")).map_err(|e| e.to_string())?;
        tally(&ledger, &mut report)?;
    }
    if let Some(chain) = &chain {
        chain.compare_lanes(&lanes, &mut report).await?;
    }
    report.sandbox_charges = truth.charges.len();
    report.sandbox_refunds = truth.refunds.len();
    let injected = sandbox.faults_injected();
    report.faults_injected = injected.total();
    report.faults = injected;
    report.customer_paid_qr = customers.paid.load(Ordering::Relaxed);
    report.seconds = clock.elapsed().as_secs_f64();
    Ok(report)
}

/// Every till reconciles every channel's business days of the run through the product's own
/// reconciliation (the wallets' bills, query sweeps for the rest), and the day after the last
/// (where a payment near midnight lands): nothing may be left to act on, and nothing may await
/// a bill after that.
async fn reconcile_lanes(lanes: &[Lane], first_day: NaiveDate, report: &mut Report) -> Result<(), String> {
    let last_day = day_of(paydesk_core::ledger::now_ms()) + chrono::Duration::days(1);
    for lane in lanes {
        let config = Config::load(&lane.config).map_err(|e| e.to_string())?;
        let cashier = paydesk_core::engine::Cashier::open(config, &lane.config, None).map_err(|e| e.to_string())?;
        let channels: Vec<String> = cashier.channels().keys().map(|c| c.to_string()).collect();
        for channel in &channels {
            let mut day = first_day;
            while day <= last_day {
                let run = match cashier.reconcile(channel, day, StatementSource::Channel, "chaos").await {
                    Ok(r) => r,
                    // A wallet with no trade that day (WeChat says no bill): nothing to compare.
                    Err(ReconError::NotReady(_)) => {
                        day += chrono::Duration::days(1);
                        continue;
                    }
                    Err(e) => return Err(format!("{} {channel} {day}: {e}", lane.terminal)),
                };
                report.recon_runs += 1;
                report.recon_rows += usize::try_from(run.run.rows).unwrap_or(0);
                for d in &run.differences {
                    if !d.waiting || day == last_day {
                        report.recon_differences.push(format!(
                            "{} {channel} {day}: {} {} {}",
                            lane.terminal,
                            d.kind,
                            d.order_no,
                            d.refund_no.as_deref().unwrap_or("")
                        ));
                    }
                }
                day += chrono::Duration::days(1);
            }
        }
    }
    Ok(())
}

/// Each lane's ledger against the truth of its terminal's orders; a charge for an order of no
/// lane is a mismatch too.
pub fn verify_lanes(root: &Path, truth: &Truth) -> Result<Vec<String>, String> {
    let lanes = Lane::found(root);
    if lanes.is_empty() {
        return Err(format!("no lane-N/ledger.db under {}", root.display()));
    }
    let mut out = Vec::new();
    for (terminal, dir) in &lanes {
        let ledger = Ledger::open(&dir.join("ledger.db")).map_err(|e| e.to_string())?;
        out.extend(compare(&ledger, truth, terminal)?.iter().map(|m| format!("{terminal}: {m}")));
    }
    for c in &truth.charges {
        if !lanes.iter().any(|(t, _)| c.order_no.starts_with(t.as_str())) {
            out.push(format!("{}: charged, but no till took it", c.order_no));
        }
    }
    Ok(out)
}

/// One till's share of the plan, in order.
async fn run_lane(
    config: &Path,
    log: &Path,
    jobs: impl Iterator<Item = &Job>,
    plan: &Plan,
    sandbox: &Arc<Sandbox>,
    customers: &Arc<Customers>,
    verbose: bool,
) -> Result<LaneReport, String> {
    let mut report = LaneReport::default();
    let mut worker: Option<Worker> = None;
    for job in jobs {
        if let Some(phase) = plan.faults_at(job.n) {
            sandbox.set_faults(faults_of(phase));
        }
        let kill = plan.kills.get(&job.n).copied();
        if let Some(Kill::At(point)) = kill {
            // A fresh process with the failpoint armed (its first pass there stops it).
            if let Some(w) = worker.take() {
                if let Err(e) = w.stop().await {
                    report.crashes.push(format!("before job {}: {e}", job.n));
                }
            }
            worker = Some(Worker::start(config, log, Some(point)).await?);
            report.restarts += 1;
        }
        if worker.is_none() {
            worker = Some(Worker::start(config, log, None).await?);
            report.restarts += 1;
        }
        let Some(w) = worker.as_mut() else { continue };
        w.send(job).await?;
        let handed_over = tokio::time::Instant::now();
        match drive(w, job, kill, sandbox, customers, verbose).await {
            JobEnd::Done => match kill {
                // The job never passed its point: the process dies now, between payments, while
                // its background work (recovery, late queries) goes on.
                Some(Kill::At(point)) => {
                    if let Some(w) = worker.take() {
                        w.kill().await;
                    }
                    report.killed(format!("idle ({point} not reached)"));
                }
                Some(Kill::Timer { after_ms }) => {
                    // The payment ended first; the process dies at its time all the same, in
                    // the middle of whatever it does between customers.
                    tokio::time::sleep_until(handed_over + Duration::from_millis(after_ms)).await;
                    if let Some(w) = worker.take() {
                        w.kill().await;
                    }
                    report.killed("timer (between payments)");
                }
                None => {}
            },
            JobEnd::Killed(kind) => {
                if let Some(w) = worker.take() {
                    w.kill().await;
                }
                report.killed(kind);
            }
            JobEnd::Crashed(why) => {
                worker = None;
                report.crashes.push(format!("job {}: {why}", job.n));
            }
            JobEnd::Hung => {
                if let Some(w) = worker.take() {
                    w.kill().await;
                }
                report.hung.push(job.n);
            }
        }
    }
    if let Some(w) = worker.take() {
        if let Err(e) = w.stop().await {
            report.crashes.push(format!("at the end: {e}"));
        }
    }
    Ok(report)
}

fn count_job(report: &mut Report, job: &Job) {
    match &job.pay {
        Pay::Code(code) => {
            report.barcode += 1;
            if ["93", "94", "95", "96"].iter().any(|e| code.ends_with(e)) {
                report.scenario_faults += 1;
            }
        }
        Pay::Qr { customer_after_ms, .. } => {
            report.qr += 1;
            report.declined_creates += usize::from(crate::plan::declined(job.amount_fen));
            report.paid_after_lapse +=
                usize::from(customer_after_ms.is_some_and(|after| crate::plan::LATE_AFTER_LAPSE_MS.contains(&after)));
        }
    }
    report.cancels_asked += usize::from(job.cancel_after_ms.is_some());
    report.refunds_asked += job.refunds.len();
}

/// Feeds one job's life: pays QR codes as the customer, kills when the plan says.
async fn drive(
    w: &mut Worker,
    job: &Job,
    kill: Option<Kill>,
    sandbox: &Arc<Sandbox>,
    customers: &Arc<Customers>,
    verbose: bool,
) -> JobEnd {
    let now = tokio::time::Instant::now();
    let limit = now + Duration::from_secs(60);
    let timer = match kill {
        Some(Kill::Timer { after_ms }) => now + Duration::from_millis(after_ms),
        _ => now + Duration::from_secs(3_600),
    };
    loop {
        tokio::select! {
            event = w.next() => match event {
                Event::Line(v) => {
                    if verbose {
                        println!("{v}");
                    }
                    match v["event"].as_str() {
                        Some("started") => {
                            if let (Pay::Qr { customer_after_ms: Some(after), .. }, Some(order)) = (&job.pay, v["order"].as_str()) {
                                // The customer scans and pays, whatever becomes of the cashier.
                                let (sandbox, order, customers, after) = (sandbox.clone(), order.to_owned(), customers.clone(), *after);
                                customers.on_the_way.fetch_add(1, Ordering::SeqCst);
                                tokio::spawn(async move {
                                    tokio::time::sleep(Duration::from_millis(after)).await;
                                    if sandbox.customer_pay(&order).is_ok() {
                                        customers.paid.fetch_add(1, Ordering::Relaxed);
                                    }
                                    customers.on_the_way.fetch_sub(1, Ordering::SeqCst);
                                });
                            }
                        }
                        Some("done") => return JobEnd::Done,
                        Some("error") => return JobEnd::Crashed(v.to_string()),
                        _ => {}
                    }
                }
                Event::Failpoint => return JobEnd::Killed(kill.map_or("failpoint", Kill::label)),
                Event::Closed => {
                    let status = w.child.wait().await.map(|s| s.to_string()).unwrap_or_default();
                    return JobEnd::Crashed(format!("the cashier exited by itself ({status})"));
                }
            },
            _ = tokio::time::sleep_until(timer) => return JobEnd::Killed("timer"),
            _ = tokio::time::sleep_until(limit) => return JobEnd::Hung,
        }
    }
}

/// A till's ledger against the sandbox's record of that till's orders (order numbers start
/// with the terminal code).
pub fn compare(ledger: &Ledger, truth: &Truth, terminal: &str) -> Result<Vec<Mismatch>, String> {
    let ours = |order: &str| order.starts_with(terminal);
    let charges: Vec<ChannelCharge> = truth
        .charges
        .iter()
        .filter(|c| ours(&c.order_no))
        .map(|c| ChannelCharge { order_no: c.order_no.clone(), amount: Fen(c.amount_fen) })
        .collect();
    let refunds: Vec<ChannelRefund> = truth
        .refunds
        .iter()
        .filter(|r| ours(&r.order_no))
        .map(|r| ChannelRefund { order_no: r.order_no.clone(), amount: Fen(r.amount_fen) })
        .collect();
    ledger.reconcile(&charges, &refunds).map_err(|e| e.to_string())
}

fn tally(ledger: &Ledger, report: &mut Report) -> Result<(), String> {
    for p in ledger.payments_created_between(0, i64::MAX, usize::MAX >> 1).map_err(|e| e.to_string())? {
        *report.ledger_payments.entry(p.state.as_str().into()).or_default() += 1;
        report.ledger_paid_late += usize::from(p.state == paydesk_core::ledger::State::Paid && p.late);
        if p.state == paydesk_core::ledger::State::Paid {
            for r in ledger.refunds_of(&p.id).map_err(|e| e.to_string())? {
                *report.ledger_refunds.entry(r.state.as_str().into()).or_default() += 1;
            }
        }
    }
    Ok(())
}

/// The report for people.
pub fn summary(r: &Report) -> String {
    let mut s = String::new();
    let kinds: Vec<String> = r.kills_by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
    let states = |m: &BTreeMap<String, usize>| m.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", ");
    s += &format!(
        "chaos seed {}, {} till(s): {} payments ({} by payment code, {} by QR or page), {} cancels and {} refunds asked, in {:.0} s\n",
        r.seed, r.lanes, r.payments, r.barcode, r.qr, r.cancels_asked, r.refunds_asked, r.seconds
    );
    s += &format!("kills: {} ({}); cashier starts: {}\n", r.kills, kinds.join(", "), r.restarts + 1);
    let f = &r.faults;
    s += &format!(
        "channel faults injected: {} (delayed {}, 503 before {}, 500 after {}, dropped after {}, garbled {}, bad signature {}); fault scenarios: {}\n",
        r.faults_injected, f.delayed, f.fail_before, f.fail_after, f.drop_after, f.garble, f.bad_signature, r.scenario_faults
    );
    s += &format!(
        "QR codes paid by the customer: {} ({} planned after the page lapsed); creates refused with unlisted codes: {}; tills on the Lakala backend: {}\n",
        r.customer_paid_qr, r.paid_after_lapse, r.declined_creates, r.lakala_backend_lanes
    );
    s += &format!(
        "ledger: payments {} ({} paid late); refunds {}\n",
        states(&r.ledger_payments),
        r.ledger_paid_late,
        states(&r.ledger_refunds)
    );
    s += &format!("sandbox: {} charges, {} refunds and reversals\n", r.sandbox_charges, r.sandbox_refunds);
    s += &format!(
        "final recovery: {} sweeps, {} refunds decided by the manager from the channel's records{}\n",
        r.settle_sweeps,
        r.refunds_decided_by_manager,
        r.unsettled.as_deref().map(|u| format!("; {u}")).unwrap_or_default()
    );
    for c in &r.crashes {
        s += &format!("CRASH: {c}\n");
    }
    if !r.hung.is_empty() {
        s += &format!("HUNG jobs: {:?}\n", r.hung);
    }
    s += &format!(
        "reconciliation: {} runs over {} statement rows, {} differences to act on\n",
        r.recon_runs,
        r.recon_rows,
        r.recon_differences.len()
    );
    for d in &r.recon_differences {
        s += &format!("  {d}\n");
    }
    if r.sync_rows > 0 || !r.sync_differences.is_empty() {
        s += &format!(
            "chain server: {} outages; every till's ledger against the server: {} rows compared, {} differences\n",
            r.sync_outages,
            r.sync_rows,
            r.sync_differences.len()
        );
        for d in &r.sync_differences {
            s += &format!("  {d}\n");
        }
    }
    s += &format!("mismatches: {}\n", r.mismatches.len());
    for m in &r.mismatches {
        s += &format!("  {m}\n");
    }
    s
}

/// The chain's server of a `--sync` run: a real PostgreSQL (Debian's), the tills uploading to it
/// from their cashier processes, SIGKILLed with them.
struct ChainServer {
    pg: paydesk_sandbox::postgres::Postgres,
    owner: paydesk_core::hq::Server,
    sync: SyncConfig,
}

impl ChainServer {
    async fn start(dir: &Path) -> Result<ChainServer, String> {
        use paydesk_sandbox::postgres::{Postgres, OWNER};
        let pg = tokio::task::spawn_blocking(Postgres::start)
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("PostgreSQL: {e}"))?;
        pg.create_database("chain").map_err(|e| e.to_string())?;
        let pass = dir.join("chain-owner.pass");
        pg.write_password_file(&pass, pg.owner_password()).map_err(|e| e.to_string())?;
        let owner = paydesk_core::hq::Server {
            url: pg.url(OWNER, "chain"),
            password_file: Some(pass.clone()),
            tls: paydesk_core::config::SyncTls::Verify,
            ca_file: Some(pg.ca_file()),
        };
        let mut client = owner.connect().await.map_err(|e| e.to_string())?;
        paydesk_core::hq::schema::migrate(&mut client).await.map_err(|e| e.to_string())?;
        let sync = SyncConfig {
            url: owner.url.clone(),
            store: "CHAOS".into(),
            password_file: Some(pass),
            tls: paydesk_core::config::SyncTls::Verify,
            ca_file: Some(pg.ca_file()),
            interval_ms: 200,
            batch: 300,
            chain_reports: false,
        };
        Ok(ChainServer { pg, owner, sync })
    }

    /// Stops the server for 3 s every 20 s until told to stop; returns how many times.
    fn outages_while_running(
        self: Arc<Self>,
    ) -> (Arc<std::sync::atomic::AtomicBool>, tokio::task::JoinHandle<Result<usize, String>>) {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let mut outages = 0;
            loop {
                for _ in 0..200 {
                    if flag.load(Ordering::SeqCst) {
                        return Ok(outages);
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                let chain = self.clone();
                tokio::task::spawn_blocking(move || chain.pg.stop())
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())?;
                outages += 1;
                tokio::time::sleep(Duration::from_secs(3)).await;
                let chain = self.clone();
                tokio::task::spawn_blocking(move || chain.pg.start_again())
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())?;
            }
        });
        (stop, task)
    }

    /// Every till sends what is left (as its next start would), then its ledger is compared
    /// with the server's rows of that till, row by row.
    async fn compare_lanes(&self, lanes: &[Lane], report: &mut Report) -> Result<(), String> {
        let client = self.owner.connect().await.map_err(|e| e.to_string())?;
        for lane in lanes {
            let config = Config::load(&lane.config).map_err(|e| e.to_string())?;
            let ledger = lane.dir.join("ledger.db");
            let up = paydesk_core::hq::upload::Uploader::from_config(&config, &ledger).ok_or("no [sync]")?;
            up.push_until_caught_up().await.map_err(|e| format!("{}: push: {e}", lane.terminal))?;
            let reader = paydesk_core::ledger::sync::OutboxReader::open(&ledger).map_err(|e| e.to_string())?;
            let till = self.sync.till_id(&lane.terminal);
            for t in paydesk_core::hq::upload::compare(&client, &till, &reader).await.map_err(|e| e.to_string())? {
                report.sync_rows += t.local;
                if !t.equal() {
                    report.sync_differences.push(format!(
                        "{till} {}: {} local, {} on the server; missing {:?}, extra {:?}, differ {:?}",
                        t.table,
                        t.local,
                        t.server,
                        t.missing.iter().take(5).collect::<Vec<_>>(),
                        t.extra.iter().take(5).collect::<Vec<_>>(),
                        t.differ.iter().take(5).collect::<Vec<_>>()
                    ));
                }
            }
        }
        Ok(())
    }
}
