//! `paydesk-cli`: the cashier core without a window, on the same config and ledger as the app.
//! For scripting, support and tests.
//!
//! Exit status: 0 paid (or done), 1 failed, closed or reversed, 2 bad input or config,
//! 3 unknown (not final yet).

mod hq;

use clap::{Parser, Subcommand};
use paydesk_core::channel::paysvc::HostedForm;
use paydesk_core::channel::Display;
use paydesk_core::config::{self, Config};
use paydesk_core::engine::export::ExportKind;
use paydesk_core::engine::recon::ReconError;
use paydesk_core::engine::{BarcodeRequest, Cashier, Update};
use paydesk_core::i18n::{Lang, Localized};
use paydesk_core::ledger::{DayRange, Payment, RefundState, Role, State};
use paydesk_core::people::{Action, Approval, PeopleError};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "paydesk-cli", version, about = "paydesk cashier from the command line")]
struct Cli {
    /// Config file (default: $PAYDESK_HOME/config.toml, or ~/.local/share/paydesk/config.toml).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Ledger file (default: the config's, or ledger.db beside the config).
    #[arg(long, global = true)]
    ledger: Option<PathBuf>,
    /// Print the result as JSON on stdout.
    #[arg(long, global = true)]
    json: bool,
    /// Language of messages: zh or en (default: the config's).
    #[arg(long, global = true)]
    lang: Option<String>,
    /// Who acts (a user's name): signs in to charge, approves a refund or a new user. The PIN
    /// comes from $PAYDESK_PIN, else one line of standard input (never an argument).
    #[arg(long, global = true)]
    user: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Take a payment: with the customer's payment code, or by showing a QR code.
    Charge {
        #[arg(long)]
        channel: String,
        /// Yuan, like 12.34.
        #[arg(long, required_unless_present = "for_charge", conflicts_with = "for_charge")]
        amount: Option<String>,
        /// Collect this open charge (pushed through the terminal API) instead: its amount and
        /// subject.
        #[arg(long)]
        for_charge: Option<String>,
        /// The customer's payment code (付款码); `-` reads it from standard input, which keeps it
        /// out of the process list and the shell history.
        #[arg(long, conflicts_with = "qr", required_unless_present = "qr")]
        code: Option<String>,
        /// Show a QR code in the terminal and wait for it to be paid.
        #[arg(long)]
        qr: bool,
        #[arg(long)]
        subject: Option<String>,
        /// For --qr: the tender (ALIPAY, WECHAT, …) where the channel offers a choice.
        #[arg(long, requires = "qr")]
        method: Option<String>,
    },
    /// Ask the channel about a payment now and record the answer.
    Query { id: String },
    /// Refund part or all of a paid payment (a manager's --user and PIN).
    Refund {
        id: String,
        #[arg(long)]
        amount: String,
        #[arg(long)]
        reason: String,
    },
    /// Reports: a business day, a range of days, or a shift's X/Z.
    Report {
        #[command(subcommand)]
        which: ReportCommand,
    },
    /// Write payments or refunds of business days FROM to TO as CSV (UTF-8 with BOM).
    Export {
        /// YYYY-MM-DD
        #[arg(long)]
        from: String,
        /// YYYY-MM-DD (inclusive)
        #[arg(long)]
        to: String,
        /// payments or refunds
        #[arg(long, default_value = "payments")]
        kind: String,
        /// File to write, or a folder to write the usual file name into (default: exports/ beside
        /// the ledger).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Users: list them, or add one (the first is a manager; later ones need a manager's --user).
    User {
        #[command(subcommand)]
        which: UserCommand,
    },
    /// Payments of a business day (default: today).
    List {
        /// YYYY-MM-DD
        #[arg(long)]
        day: Option<String>,
    },
    /// Resolve every unfinished payment now.
    Recover,
    /// Reconciliation: a business day checked against the channel's own record (its bill, or a
    /// sweep of queries where it publishes none), or against a statement file.
    Reconcile {
        #[command(subcommand)]
        which: ReconCommand,
    },
    /// Run as a headless till service until stopped (Ctrl-C or SIGTERM): the recovery sweeps, the morning reconciliation, and
    /// the config's notify receiver and terminal API. For an integration PC or a back office; not
    /// beside the app on the same config (both would listen on the same ports).
    Serve,
    /// The chain's server (`[sync]`): push this till's ledger, check it, and the chain's reports.
    Hq {
        #[command(subcommand)]
        which: hq::HqCommand,
    },
}

#[derive(Subcommand)]
enum ReconCommand {
    /// Reconcile DAY (default: yesterday, Beijing time) for one channel or every configured one.
    /// Exit status: 0 nothing to act on, 1 differences found, 2 bad input, 3 a statement could
    /// not be had (not ready yet, or the channel did not answer).
    Run {
        /// YYYY-MM-DD
        #[arg(long)]
        day: Option<String>,
        /// One channel id (default: every configured channel).
        #[arg(long)]
        channel: Option<String>,
        /// A statement file to check instead of asking the channel (needs --channel): Alipay's
        /// bill zip or CSV, WeChat Pay's bill, or paydesk's CSV.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Runs of business days FROM to TO (default: the last 31 days).
    List {
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
    },
    /// One run and its differences.
    Show { id: i64 },
    /// Act on a difference, with a reason (a manager's --user and PIN): a charge the ledger does
    /// not have paid becomes paid (late); otherwise it is marked for follow-up.
    Resolve {
        id: i64,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
enum ReportCommand {
    /// A business day (default: the current one).
    Day {
        /// YYYY-MM-DD
        date: Option<String>,
    },
    /// Business days FROM to TO, inclusive.
    Range { from: String, to: String },
    /// A shift's report by its number: the Z as it was printed, or the X of the open shift.
    Shift { id: i64 },
    /// The open shift so far (X report).
    X,
}

#[derive(Subcommand)]
enum UserCommand {
    List,
    /// The new user's PIN comes from $PAYDESK_NEW_PIN, else a line of standard input.
    Add {
        #[arg(long)]
        name: String,
        /// clerk or manager
        #[arg(long, default_value = "clerk")]
        role: String,
    },
}

const PAID: u8 = 0;
const NOT_PAID: u8 = 1;
const BAD_INPUT: u8 = 2;
const UNKNOWN: u8 = 3;

fn exit_for(state: State) -> u8 {
    match state {
        State::Paid => PAID,
        // Lapsed: unpaid when its page expired; still watched, and a late payment is alerted.
        State::Failed | State::Closed | State::Reversed | State::Lapsed => NOT_PAID,
        State::Created | State::Pending | State::Unknown => UNKNOWN,
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PAYDESK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start: {e}");
            return ExitCode::from(BAD_INPUT);
        }
    };
    ExitCode::from(runtime.block_on(run(cli)))
}

async fn run(cli: Cli) -> u8 {
    let config_path = cli.config.clone().unwrap_or_else(config::default_config_path);
    if let Command::Hq { which } = cli.command {
        let lang = match cli.lang.as_deref().map(Lang::parse) {
            None => None,
            Some(Some(l)) => Some(l),
            Some(None) => {
                eprintln!("--lang must be zh or en");
                return BAD_INPUT;
            }
        };
        let ctx = hq::Context { config_path: &config_path, ledger: cli.ledger.as_deref(), lang, json: cli.json };
        return hq::run(ctx, which).await;
    }
    let config = match Config::load(&config_path) {
        Ok(c) => c,
        Err(e) => {
            let lang = cli.lang.as_deref().and_then(Lang::parse).unwrap_or_default();
            eprintln!("{}", e.message(lang));
            return BAD_INPUT;
        }
    };
    let lang = match cli.lang.as_deref() {
        None => config.language,
        Some(l) => match Lang::parse(l) {
            Some(l) => l,
            None => {
                eprintln!("--lang must be zh or en");
                return BAD_INPUT;
            }
        },
    };
    let cashier = match Cashier::open(config, &config_path, cli.ledger.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}", e.message(lang));
            return BAD_INPUT;
        }
    };
    cashier.set_lang(lang);
    let out = Output { json: cli.json, lang };
    let who = Who { name: cli.user.as_deref() };
    match cli.command {
        Command::Charge { channel, amount, for_charge, code, qr: _, subject, method } => {
            let code = match code.as_deref() {
                Some("-") => {
                    let mut line = String::new();
                    if std::io::stdin().read_line(&mut line).is_err() {
                        return out.error("payment_code", "cannot read the payment code from standard input");
                    }
                    Some(line.trim_end_matches(['\r', '\n']).to_string())
                }
                other => other.map(str::to_string),
            };
            let tender = Tender {
                channel: &channel,
                amount: amount.as_deref().unwrap_or(""),
                subject: subject.as_deref(),
                method: method.as_deref(),
                charge: for_charge.as_deref(),
            };
            if who.name.is_some() || cashier.people().sign_in_required().unwrap_or(true) {
                if let Err(e) = who.sign_in(&cashier) {
                    return out.error(e.code(), &e.message(lang));
                }
            }
            charge(&cashier, &out, &tender, code.as_deref()).await
        }
        Command::Query { id } => match cashier.query_now(&id).await {
            Ok(p) => out.payment(&cashier, &p),
            Err(e) => out.error(e.code(), &e.message(lang)),
        },
        Command::Refund { id, amount, reason } => match who.approve(&cashier, Action::Refund) {
            Err(e) => out.error(e.code(), &e.message(lang)),
            Ok(approval) => match cashier.refund(&approval, &id, &amount, &reason).await {
                Ok(r) => {
                    if out.json {
                        println!("{}", serde_json::to_string(&r).unwrap_or_default());
                    } else {
                        let state = r.state.label(lang);
                        println!("{} ¥{} {} {}", r.id, r.amount, state, r.failure_message.unwrap_or_default());
                    }
                    match r.state {
                        RefundState::Succeeded => PAID,
                        RefundState::Failed => NOT_PAID,
                        _ => UNKNOWN,
                    }
                }
                Err(e) => out.error(e.code(), &e.message(lang)),
            },
        },
        Command::Report { which } => report(&cashier, &out, which),
        Command::Export { from, to, kind, out: file } => {
            let Some(kind) = ExportKind::parse(&kind) else {
                return out.error("kind", "--kind is payments or refunds");
            };
            match cashier.export_csv(kind, &from, &to, file.as_deref()) {
                Ok((path, rows)) => {
                    if out.json {
                        println!("{}", serde_json::json!({ "path": path, "rows": rows }));
                    } else {
                        println!("{rows} → {}", path.display());
                    }
                    PAID
                }
                Err(e) => out.error(e.code(), &e.message(lang)),
            }
        }
        Command::User { which } => user(&cashier, &out, &who, which),
        Command::Reconcile { which } => reconcile(&cashier, &out, &who, which).await,
        Command::List { day } => list(&cashier, &out, day.as_deref()),
        Command::Serve => serve(&cashier, &out).await,
        Command::Hq { .. } => BAD_INPUT, // handled above: it needs no cashier
        Command::Recover => {
            let s = cashier.recover().await;
            if out.json {
                println!(
                    "{}",
                    serde_json::json!({"examined": s.examined, "resolved": s.resolved, "still_open": s.still_open, "rechecked_lapsed": s.rechecked})
                );
            } else {
                println!(
                    "examined {} resolved {} still open {} lapsed rechecked {}",
                    s.examined, s.resolved, s.still_open, s.rechecked
                );
            }
            if s.still_open == 0 {
                PAID
            } else {
                UNKNOWN
            }
        }
    }
}

/// Starts what the app starts besides its window, then waits for a stop signal. A listener that
/// cannot start is fatal here (exit 2): without a window, nothing else would show it.
async fn serve(cashier: &Cashier, out: &Output) -> u8 {
    let lang = out.lang;
    let notify = match cashier.config().notify.clone() {
        None => None,
        Some(n) => match paydesk_core::notify::serve(cashier.clone(), &n.listen).await {
            Ok((addr, _task)) => Some(addr),
            Err(e) => {
                let message = match lang {
                    Lang::Zh => format!("通知接收无法监听 {}：{e}", n.listen),
                    Lang::En => format!("The notify receiver cannot listen on {}: {e}", n.listen),
                };
                return out.error("notify_listen", &message);
            }
        },
    };
    let api = match cashier.config().terminal_api.clone() {
        None => None,
        Some(settings) => match paydesk_core::terminal_api::serve(cashier.clone(), &settings).await {
            Ok((addr, _task)) => Some(addr),
            Err(e) => return out.error("terminal_api", &e.message(lang)),
        },
    };
    let _recovery = cashier.spawn_recovery();
    let _reconciliation = cashier.spawn_reconcile_schedule();
    let _upload =
        paydesk_core::hq::upload::Uploader::from_config(cashier.config(), cashier.ledger().path()).map(|u| u.spawn());
    let every_s = cashier.config().timing.recovery_interval_ms as f64 / 1000.0;
    if out.json {
        let addr = |a: Option<std::net::SocketAddr>| a.map(|a| a.to_string());
        println!(
            "{}",
            serde_json::json!({ "notify": addr(notify), "terminal_api": addr(api), "recovery_every_s": every_s })
        );
    } else {
        let none = match lang {
            Lang::Zh => "未配置".to_string(),
            Lang::En => "not configured".to_string(),
        };
        let shown = |a: Option<std::net::SocketAddr>| a.map(|a| a.to_string()).unwrap_or_else(|| none.clone());
        match lang {
            Lang::Zh => println!(
                "通知接收：{}；终端接口：{}；每 {every_s} 秒核对未完成的付款。按 Ctrl-C 停止。",
                shown(notify),
                shown(api)
            ),
            Lang::En => println!(
                "notify receiver: {}; terminal API: {}; unfinished payments checked every {every_s} s. Ctrl-C stops.",
                shown(notify),
                shown(api)
            ),
        }
    }
    // Scripts read the line above to find the ports (a listen port of 0 picks a free one).
    use std::io::Write;
    let _ = std::io::stdout().flush();
    stop_signal().await;
    tracing::info!("stopping: no payment is left half-written (each step is one ledger transaction)");
    PAID
}

/// Ctrl-C or SIGTERM (what systemd and `kill` send).
async fn stop_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch SIGTERM; Ctrl-C still stops");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

struct Output {
    json: bool,
    lang: Lang,
}

impl Output {
    fn payment(&self, cashier: &Cashier, p: &Payment) -> u8 {
        let view = cashier.view(p);
        if self.json {
            let mut value = serde_json::to_value(p).unwrap_or_default();
            value["message"] = serde_json::Value::String(view.message.clone());
            println!("{value}");
        } else {
            println!("{} ¥{} {} — {}", p.id, p.amount, view.status_text, view.message);
        }
        exit_for(p.state)
    }

    fn error(&self, code: &str, message: &str) -> u8 {
        if self.json {
            println!("{}", serde_json::json!({ "error": code, "message": message }));
        }
        eprintln!("{message}");
        BAD_INPUT
    }
}

/// What the clerk asked for.
struct Tender<'a> {
    channel: &'a str,
    amount: &'a str,
    subject: Option<&'a str>,
    method: Option<&'a str>,
    /// An open charge whose amount and subject this payment collects.
    charge: Option<&'a str>,
}

/// With `code`, a barcode payment; without, a QR (or customer page) payment.
async fn charge(cashier: &Cashier, out: &Output, t: &Tender<'_>, code: Option<&str>) -> u8 {
    let mut updates = cashier.subscribe();
    let (channel, amount_text, subject) = (t.channel, t.amount, t.subject);
    let started = match (code, t.charge) {
        (Some(code), charge) => {
            cashier.start_barcode(&BarcodeRequest { channel, amount_text, code, source: "cli", subject, charge })
        }
        (None, Some(charge)) => cashier.start_qr_for_charge(charge, channel, t.method).await,
        (None, None) => cashier.start_qr(channel, amount_text, subject, t.method).await,
    };
    let payment = match started {
        Ok(p) => p,
        Err(e) => return out.error(e.code(), &e.message(out.lang)),
    };
    if let (None, Some(payload)) = (code, &payment.qr_payload) {
        show_to_customer(cashier, &payment.id, channel, payload);
    }
    // Progress on stderr while the engine works; the result on stdout.
    let id = payment.id.clone();
    let progress = tokio::spawn({
        let cashier = cashier.clone();
        async move {
            while let Ok(update) = updates.recv().await {
                if let Update::Payment { payment, .. } = update {
                    if payment.id == id {
                        eprintln!("{} {}", payment.state.as_str(), cashier.view(&payment).message);
                    }
                }
            }
        }
    });
    let settled = cashier.wait_settled(&payment.id).await;
    progress.abort();
    match settled {
        Ok(s) => out.payment(cashier, &s.payment),
        Err(e) => out.error("ledger", &e.message(out.lang)),
    }
}

/// A QR in the terminal, or, for a page only a browser can open, our page in a file.
fn show_to_customer(cashier: &Cashier, id: &str, channel: &str, payload: &str) {
    if cashier.display_of(channel) == Display::CustomerWindow {
        let page = serde_json::from_str::<HostedForm>(payload).map(|f| f.to_html(id));
        // Beside the config: the folder this till already writes to.
        let path = cashier.config().dir.join(format!("customer-page-{id}.html"));
        match page.map_err(|e| e.to_string()).and_then(|html| std::fs::write(&path, html).map_err(|e| e.to_string())) {
            Ok(()) => eprintln!("open {} in a browser for the customer", path.display()),
            Err(e) => eprintln!("cannot write the customer page: {e}"),
        }
        return;
    }
    if let Some(art) = paydesk_core::qr::terminal(payload) {
        eprintln!("{art}");
    }
    eprintln!("{payload}");
}

async fn reconcile(cashier: &Cashier, out: &Output, who: &Who<'_>, which: ReconCommand) -> u8 {
    use paydesk_core::engine::recon::{day_of, ReconReport, StatementSource};
    let lang = out.lang;
    let day_arg = |text: Option<&str>, default: chrono::NaiveDate| match text {
        None => Ok(default),
        Some(d) => paydesk_core::days::parse_day(d).ok_or_else(|| d.to_string()),
    };
    let today = day_of(paydesk_core::ledger::now_ms());
    let print = |r: &ReconReport| {
        if out.json {
            println!("{}", serde_json::to_string(r).unwrap_or_default());
            return;
        }
        let run = &r.run;
        println!(
            "#{} {} {} {}: {} rows, {} matched ¥{}, refunds {} ¥{}, fee ¥{}, {} differences ({} to act on, {} awaiting the next bill)",
            run.id,
            run.day,
            run.channel,
            run.source,
            run.rows,
            run.matched,
            run.matched_fen,
            run.refunds_matched,
            run.refunds_matched_fen,
            run.fee_fen,
            run.differences,
            run.unresolved,
            run.waiting
        );
        for d in &r.differences {
            let amount = |f: Option<paydesk_core::money::Fen>| f.map_or("-".to_string(), |f| format!("¥{f}"));
            let done =
                d.resolution.as_ref().map_or(String::new(), |s| format!(" [{} by {}: {}]", s.action, s.by, s.reason));
            println!(
                "  {} {} {} {} ledger {} channel {}{}",
                d.id,
                d.kind,
                d.order_no,
                d.refund_no.as_deref().unwrap_or(""),
                amount(d.ledger),
                amount(d.channel),
                done
            );
        }
    };
    match which {
        ReconCommand::Run { day, channel, file } => {
            let day = match day_arg(day.as_deref(), today - chrono::Duration::days(1)) {
                Ok(d) => d,
                Err(d) => return out.error("day", &format!("--day {d}: YYYY-MM-DD")),
            };
            let channels: Vec<String> = match &channel {
                Some(c) => vec![c.clone()],
                None => cashier.channels().keys().map(|k| k.to_string()).collect(),
            };
            let source = match (&file, &channel) {
                (None, _) => StatementSource::Channel,
                (Some(_), None) => return out.error("channel", "--file needs --channel"),
                (Some(path), Some(_)) => match StatementSource::from_file(path) {
                    Ok(source) => source,
                    Err(e) => return out.error(e.code(), &e.message(lang)),
                },
            };
            let mut status = PAID;
            for ch in &channels {
                match cashier.reconcile(ch, day, source.clone(), "cli").await {
                    Ok(report) => {
                        print(&report);
                        if report.run.unresolved > 0 && status == PAID {
                            status = NOT_PAID;
                        }
                    }
                    Err(e) => {
                        let message = format!("{ch} {day}: {}", e.message(lang));
                        if out.json {
                            println!("{}", serde_json::json!({ "channel": ch, "error": e.code(), "message": message }));
                        }
                        eprintln!("{message}");
                        status = match e {
                            ReconError::NotReady(_) | ReconError::Channel(_) => UNKNOWN,
                            _ => BAD_INPUT,
                        }
                        .max(status);
                    }
                }
            }
            status
        }
        ReconCommand::List { from, to } => {
            let to = match day_arg(to.as_deref(), today) {
                Ok(d) => d,
                Err(d) => return out.error("day", &format!("--to {d}: YYYY-MM-DD")),
            };
            let from = match day_arg(from.as_deref(), to - chrono::Duration::days(30)) {
                Ok(d) => d,
                Err(d) => return out.error("day", &format!("--from {d}: YYYY-MM-DD")),
            };
            match cashier.recon_runs(from, to) {
                Ok(runs) if out.json => {
                    println!("{}", serde_json::to_string(&runs).unwrap_or_default());
                    PAID
                }
                Ok(runs) => {
                    for r in runs {
                        println!(
                            "#{} {} {} {} rows {} matched {} ¥{} differences {} to act on {}",
                            r.id,
                            r.day,
                            r.channel,
                            r.source,
                            r.rows,
                            r.matched,
                            r.matched_fen,
                            r.differences,
                            r.unresolved
                        );
                    }
                    PAID
                }
                Err(e) => out.error("ledger", &e.message(lang)),
            }
        }
        ReconCommand::Show { id } => match cashier.recon_report(id) {
            Ok(r) => {
                print(&r);
                PAID
            }
            Err(e) => out.error("not_found", &e.message(lang)),
        },
        ReconCommand::Resolve { id, reason } => match who.approve(cashier, Action::ResolveDifference) {
            Err(e) => out.error(e.code(), &e.message(lang)),
            Ok(approval) => match cashier.resolve_difference(&approval, id, &reason) {
                Ok(d) => {
                    if out.json {
                        println!("{}", serde_json::to_string(&d).unwrap_or_default());
                    } else {
                        let action = d.resolution.as_ref().map_or("", |r| r.action.as_str());
                        println!("{} {} {} → {action}", d.id, d.kind, d.order_no);
                    }
                    PAID
                }
                Err(e) => out.error(e.code(), &e.message(lang)),
            },
        },
    }
}

fn list(cashier: &Cashier, out: &Output, day: Option<&str>) -> u8 {
    let cutoff = cashier.config().business_day.cutoff_hour;
    let range = match day {
        None => DayRange::containing(paydesk_core::ledger::now_ms(), cutoff),
        Some(d) => match paydesk_core::days::parse_day(d) {
            Some(day) => DayRange::of(day, cutoff),
            None => return out.error("day", "--day must be YYYY-MM-DD"),
        },
    };
    match cashier.day(range, 1000) {
        Ok((payments, totals)) => {
            if out.json {
                println!(
                    "{}",
                    serde_json::json!({ "day": range.day.to_string(), "payments": payments, "totals": totals })
                );
            } else {
                for p in &payments {
                    let v = cashier.view(p);
                    let late = if p.late { " LATE" } else { "" };
                    println!(
                        "{} {} ¥{:>10} {:<8} {}{}",
                        v.time_text,
                        p.id,
                        p.amount.yuan_text(),
                        v.status_text,
                        p.code_masked.as_deref().unwrap_or("-"),
                        late
                    );
                }
                println!(
                    "{}: {} payments, {} paid ¥{}, refunded ¥{}, net ¥{}",
                    range.day, totals.count, totals.paid_count, totals.paid, totals.refunded, totals.net
                );
            }
            PAID
        }
        Err(e) => out.error("ledger", &e.message(out.lang)),
    }
}

/// The user named by `--user`, with the PIN from the environment or standard input.
struct Who<'a> {
    name: Option<&'a str>,
}

impl Who<'_> {
    fn find(&self, cashier: &Cashier) -> Result<i64, PeopleError> {
        let name = self.name.ok_or(PeopleError::SignedOut)?;
        let users = cashier.people().users()?;
        users.iter().find(|u| u.name == name).map(|u| u.id).ok_or(PeopleError::UnknownUser)
    }

    fn pin(var: &str) -> String {
        if let Ok(pin) = std::env::var(var) {
            return pin;
        }
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        line.trim_end_matches(['\r', '\n']).to_string()
    }

    fn sign_in(&self, cashier: &Cashier) -> Result<(), PeopleError> {
        let id = self.find(cashier)?;
        cashier.people().sign_in(id, &Self::pin("PAYDESK_PIN")).map(|_| ())
    }

    fn approve(&self, cashier: &Cashier, action: Action) -> Result<Approval, PeopleError> {
        let id =
            self.find(cashier).map_err(|e| if e == PeopleError::SignedOut { PeopleError::Forbidden } else { e })?;
        cashier.people().approve(id, &Self::pin("PAYDESK_PIN"), action)
    }
}

fn report(cashier: &Cashier, out: &Output, which: ReportCommand) -> u8 {
    let lang = out.lang;
    let shown = match which {
        ReportCommand::Day { date } => cashier.day_report(date.as_deref()).map(|r| {
            let text = format!(
                "{} ({} {:02}:00)\n{}",
                r.date,
                lang.pick("营业日起点", "business day from"),
                r.cutoff_hour,
                totals_text(&r.totals, lang)
            );
            (serde_json::to_value(&r), text)
        }),
        ReportCommand::Range { from, to } => cashier.range_report(&from, &to).map(|r| {
            let mut text = format!("{} – {}\n{}", r.from, r.to, totals_text(&r.totals, lang));
            for d in &r.daily {
                text += &format!(
                    "\n{} {:>6} ¥{:>12} ¥{:>10} ¥{:>12}",
                    d.date, d.count, d.gross.text, d.refunds.text, d.net.text
                );
            }
            (serde_json::to_value(&r), text)
        }),
        ReportCommand::Shift { id } => cashier.shift_report(id).map(|f| {
            let r = cashier.shift_view(&f);
            let text = shift_text(&r, lang);
            (serde_json::to_value(&r), text)
        }),
        ReportCommand::X => cashier.x_report().map(|(_, f)| {
            let r = cashier.shift_view(&f);
            let text = shift_text(&r, lang);
            (serde_json::to_value(&r), text)
        }),
    };
    match shown {
        Ok((json, text)) => {
            if out.json {
                println!("{}", json.unwrap_or_default());
            } else {
                println!("{text}");
            }
            PAID
        }
        Err(e) => out.error(e.code(), &e.message(lang)),
    }
}

fn totals_text(b: &paydesk_core::engine::reports::BreakdownView, lang: Lang) -> String {
    let mut s = match lang {
        Lang::Zh => format!(
            "收款 {} 笔 ¥{} · 退款 {} 笔 ¥{} · 净收入 ¥{} · 客单价 ¥{}",
            b.count, b.gross.text, b.refund_count, b.refunds.text, b.net.text, b.average_ticket.text
        ),
        Lang::En => format!(
            "sales {} ¥{} · refunds {} ¥{} · net ¥{} · average ¥{}",
            b.count, b.gross.text, b.refund_count, b.refunds.text, b.net.text, b.average_ticket.text
        ),
    };
    for (title, groups) in [
        (lang.pick("渠道", "channel"), &b.by_channel),
        (lang.pick("付款方式", "wallet"), &b.by_wallet),
        (lang.pick("收银员", "clerk"), &b.by_clerk),
        (lang.pick("终端", "terminal"), &b.by_terminal),
    ] {
        for g in groups {
            s += &format!(
                "\n  {title} {:<16} {:>6} ¥{:>12} -¥{:>10} = ¥{:>12}",
                g.name, g.count, g.gross.text, g.refunds.text, g.net.text
            );
        }
    }
    s
}

fn shift_text(r: &paydesk_core::engine::reports::ShiftReport, lang: Lang) -> String {
    let head = match (&r.shift, r.kind) {
        (Some(s), "z") => format!("Z #{} ({} {})", s.z_no.unwrap_or_default(), lang.pick("班次", "shift"), s.id),
        (Some(s), _) => format!("X ({} {})", lang.pick("班次", "shift"), s.id),
        (None, _) => format!("X ({})", lang.pick("未开班", "no shift open")),
    };
    let mut s = format!("{head}  {}\n{}", r.period_text, totals_text(&r.totals, lang));
    for u in &r.unresolved {
        s += &format!("\n  {} {} {} ¥{}", lang.pick("未确定", "unresolved"), u.id, u.state, u.amount.text);
    }
    if let Some(reason) = &r.close_reason {
        s += &format!("\n{}: {reason}", lang.pick("交班说明", "close note"));
    }
    s
}

fn user(cashier: &Cashier, out: &Output, who: &Who<'_>, which: UserCommand) -> u8 {
    let lang = out.lang;
    let people = cashier.people();
    let done = match which {
        UserCommand::List => people.users().map(|_| ()),
        UserCommand::Add { name, role } => {
            let Some(role) = Role::parse(&role) else {
                return out.error("role", "--role is clerk or manager");
            };
            match people.first_run() {
                Ok(true) if role == Role::Manager => {
                    people.create_first_manager(&name, &Who::pin("PAYDESK_NEW_PIN")).map(|_| ())
                }
                Ok(true) => Err(PeopleError::Forbidden),
                Ok(false) => who
                    .approve(cashier, Action::AddUser)
                    .and_then(|a| people.add_user(&a, &name, role, &Who::pin("PAYDESK_NEW_PIN")).map(|_| ())),
                Err(e) => Err(e),
            }
        }
    };
    if let Err(e) = done {
        return out.error(e.code(), &e.message(lang));
    }
    match people.users() {
        Ok(users) => {
            for u in &users {
                let locked = if u.locked_until > paydesk_core::ledger::now_ms() { " locked" } else { "" };
                if out.json {
                    println!(
                        "{}",
                        serde_json::json!({ "id": u.id, "name": u.name, "role": u.role, "locked": !locked.is_empty() })
                    );
                } else {
                    println!("{:>4} {:<8} {}{locked}", u.id, u.role.as_str(), u.name);
                }
            }
            PAID
        }
        Err(e) => out.error(e.code(), &e.message(lang)),
    }
}
