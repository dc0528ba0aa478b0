//! `paydesk-cli hq …`: the chain's server. On a till (its config's `[sync]`): push, status,
//! verify. In the chain's office (`--url`, no till config needed): migrate, report, unresolved,
//! tills.

use super::{Output, BAD_INPUT, NOT_PAID as FAILED, PAID};
use clap::{Args, Subcommand};
use paydesk_core::config::{Config, SyncTls};
use paydesk_core::days::{self, SpanError};
use paydesk_core::hq::report::{self, By};
use paydesk_core::hq::upload::{compare, same_history, Till, Uploader};
use paydesk_core::hq::{schema, HqError, Server};
use paydesk_core::i18n::{Lang, Localized};
use paydesk_core::ledger::sync::{OutboxReader, AUDIT_LOG, PAYMENT_EVENTS};
use paydesk_core::ledger::Ledger;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum HqCommand {
    /// Create or update the chain's schema (the chain's office, with the owner's login).
    Migrate(ServerArgs),
    /// Send everything this till has waiting, then stop.
    Push,
    /// This till's upload: the server's cursor and what is waiting.
    Status,
    /// Compare this till's ledger with its copy on the server, row by row (exit 1 on a difference).
    Verify,
    /// The chain's totals of business days FROM to TO (default: FROM alone), by store, till,
    /// channel, wallet or day.
    Report {
        from: String,
        to: Option<String>,
        #[arg(long, default_value = "store")]
        by: String,
        /// The hour business days start (default: the till config's business_day.cutoff_hour, else 0).
        #[arg(long)]
        cutoff_hour: Option<u32>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Every till's unresolved payments and refunds, oldest first.
    Unresolved {
        #[arg(long, default_value_t = 200)]
        limit: i64,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Every till and how far its copy on the server reaches.
    Tills(ServerArgs),
}

/// The server, when not the till config's `[sync]`.
#[derive(Args, Clone)]
pub struct ServerArgs {
    /// postgresql://user@host:port/database
    #[arg(long)]
    url: Option<String>,
    /// A file holding the password (chmod 600).
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// The chain's CA certificate (PEM) to verify the server with.
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// Plain TCP (a server on this machine or a private link only).
    #[arg(long)]
    no_tls: bool,
}

pub struct Context<'a> {
    pub config_path: &'a Path,
    pub ledger: Option<&'a Path>,
    pub lang: Option<Lang>,
    pub json: bool,
}

pub async fn run(ctx: Context<'_>, which: HqCommand) -> u8 {
    let lang = ctx.lang.unwrap_or_default();
    let office = |args: &ServerArgs| -> Option<Server> {
        args.url.as_ref().map(|url| Server {
            url: url.clone(),
            password_file: args.password_file.clone(),
            tls: if args.no_tls { SyncTls::Off } else { SyncTls::Verify },
            ca_file: args.ca_file.clone(),
        })
    };
    let explicit = match &which {
        HqCommand::Migrate(a) | HqCommand::Tills(a) => office(a),
        HqCommand::Report { server, .. } | HqCommand::Unresolved { server, .. } => office(server),
        _ => None,
    };
    // A till's config is needed unless the office named the server (reports still take its
    // business-day cut-off when there is one).
    let config = match Config::load(ctx.config_path) {
        Ok(c) => Some(c),
        Err(e) if explicit.is_none() => {
            eprintln!("{}", e.message(lang));
            return BAD_INPUT;
        }
        Err(_) => None,
    };
    let lang = ctx.lang.or(config.as_ref().map(|c| c.language)).unwrap_or_default();
    let out = Output { json: ctx.json, lang };
    let server = match (explicit, &config) {
        (Some(s), _) => s,
        (None, Some(c)) => match &c.sync {
            Some(sync) => Server::from_config(sync, |p| c.resolve(p)),
            None => {
                return out.error(
                    "sync",
                    lang.pick(
                        "配置中没有 [sync]：请填写总部数据库，或用 --url 指定",
                        "The config has no [sync] section: configure the chain's server, or give --url",
                    ),
                )
            }
        },
        (None, None) => return BAD_INPUT,
    };
    let failed = |e: HqError| {
        out.error("hq", &e.message(lang));
        FAILED
    };
    let cutoff = config.as_ref().map_or(0, |c| c.business_day.cutoff_hour);
    match which {
        HqCommand::Migrate(_) => {
            let mut client = match server.connect().await {
                Ok(c) => c,
                Err(e) => return failed(e),
            };
            match schema::migrate(&mut client).await {
                Ok(applied) => {
                    if out.json {
                        println!("{}", serde_json::json!({ "applied": applied, "version": schema::needed() }));
                    } else {
                        println!(
                            "{} {}: {applied:?} / {} {}",
                            lang.pick("已应用迁移", "applied migrations"),
                            server.display(),
                            lang.pick("结构版本", "schema version"),
                            schema::needed()
                        );
                    }
                    PAID
                }
                Err(e) => failed(e),
            }
        }
        HqCommand::Push | HqCommand::Status | HqCommand::Verify => {
            let Some(config) = config else { return BAD_INPUT };
            let path = ctx.ledger.map(Path::to_path_buf).unwrap_or_else(|| config.ledger_path(ctx.config_path));
            // Opening migrates an older ledger (the outbox arrives with migration 9).
            if let Err(e) = Ledger::open(&path).and_then(|l| l.check_integrity()) {
                return out.error("ledger", &e.message(lang));
            }
            let Some(uploader) = Uploader::from_config(&config, &path) else { return BAD_INPUT };
            till_command(&out, &config, &path, &uploader, which).await
        }
        HqCommand::Report { from, to, by, cutoff_hour, .. } => {
            let cutoff = cutoff_hour.unwrap_or(cutoff);
            if cutoff > 23 {
                return out.error("cutoff_hour", "--cutoff-hour 0–23");
            }
            let (first, last) = match days::parse_span(&from, to.as_deref().unwrap_or(&from)) {
                Ok(span) => span,
                Err(SpanError::NotADay(_)) => {
                    return out.error("day", lang.pick("日期格式应为 YYYY-MM-DD", "dates are YYYY-MM-DD"))
                }
                Err(SpanError::OutOfRange) => {
                    return out.error("range", lang.pick("日期范围应为 1 到 366 天", "the range is 1 to 366 days"))
                }
            };
            let Some(by) = By::parse(&by) else {
                return out.error("by", "--by store | till | channel | wallet | day");
            };
            let client = match server.connect().await {
                Ok(c) => c,
                Err(e) => return failed(e),
            };
            match report::totals(&client, first, last, cutoff, by).await {
                Ok(r) => {
                    if out.json {
                        println!("{}", serde_json::to_value(&r).unwrap_or_default());
                    } else {
                        println!("{} – {}", r.from, r.to);
                        for row in r.rows.iter().chain([&r.total]) {
                            println!(
                                "{:<16} {:>7} ¥{:>13} {:>5} ¥{:>11} ¥{:>13}",
                                row.key,
                                row.paid_count,
                                row.paid.yuan_text(),
                                row.refund_count,
                                row.refunded.yuan_text(),
                                row.net.yuan_text()
                            );
                        }
                    }
                    PAID
                }
                Err(e) => failed(e),
            }
        }
        HqCommand::Unresolved { limit, .. } => {
            let client = match server.connect().await {
                Ok(c) => c,
                Err(e) => return failed(e),
            };
            match report::unresolved(&client, limit.clamp(1, 10_000)).await {
                Ok(rows) => {
                    if out.json {
                        println!("{}", serde_json::to_value(&rows).unwrap_or_default());
                    } else {
                        for u in &rows {
                            println!(
                                "{:<14} {:<7} {:<26} ¥{:>10} {:<8} {}",
                                u.till_id,
                                u.kind,
                                u.id,
                                u.amount.yuan_text(),
                                u.state,
                                paydesk_core::text::local_time(u.created_at, "%Y-%m-%d %H:%M:%S")
                            );
                        }
                    }
                    PAID
                }
                Err(e) => failed(e),
            }
        }
        HqCommand::Tills(_) => {
            let client = match server.connect().await {
                Ok(c) => c,
                Err(e) => return failed(e),
            };
            match report::tills(&client).await {
                Ok(rows) => {
                    if out.json {
                        println!("{}", serde_json::to_value(&rows).unwrap_or_default());
                    } else {
                        for t in &rows {
                            let synced = t
                                .synced_to
                                .map(|s| paydesk_core::text::local_time(s, "%Y-%m-%d %H:%M:%S"))
                                .unwrap_or_else(|| "-".into());
                            println!("{:<16} {} {synced}", t.till_id, lang.pick("已同步至", "synced to"));
                        }
                    }
                    PAID
                }
                Err(e) => failed(e),
            }
        }
    }
}

async fn till_command(out: &Output, config: &Config, path: &Path, uploader: &Uploader, which: HqCommand) -> u8 {
    let lang = out.lang;
    let failed = |e: HqError| {
        out.error("hq", &e.message(lang));
        FAILED
    };
    match which {
        HqCommand::Push => match uploader.push_until_caught_up().await {
            Ok(()) => {
                let s = uploader.status();
                let s = s.lock().unwrap_or_else(|p| p.into_inner()).clone();
                if out.json {
                    println!(
                        "{}",
                        serde_json::json!({ "till": s.till_id, "sent_rows": s.sent_rows, "synced_to": s.synced_to })
                    );
                } else {
                    println!(
                        "{} {}: {} {}",
                        s.till_id,
                        lang.pick("已上传", "sent"),
                        s.sent_rows,
                        lang.pick("行", "rows")
                    );
                }
                PAID
            }
            Err(e) => failed(e),
        },
        HqCommand::Status | HqCommand::Verify => {
            let reader = match OutboxReader::open(path) {
                Ok(r) => r,
                Err(e) => return out.error("ledger", &e.message(lang)),
            };
            let Some(sync) = &config.sync else { return BAD_INPUT };
            let till = match Till::read(&sync.store, &config.terminal.code, &reader) {
                Ok(t) => t,
                Err(e) => return failed(e),
            };
            let mut client = match uploader.server().connect().await {
                Ok(c) => c,
                Err(e) => return failed(e),
            };
            if let HqCommand::Status = which {
                let end = match reader.end() {
                    Ok(e) => e,
                    Err(e) => return out.error("ledger", &e.message(lang)),
                };
                // Registering is idempotent and checks this machine is this till.
                let cursor = match paydesk_core::hq::upload::register(&mut client, &till, end).await {
                    Ok(c) => c,
                    Err(e) => return failed(e),
                };
                let (event, audit) =
                    (reader.row_at(&PAYMENT_EVENTS, cursor.events), reader.row_at(&AUDIT_LOG, cursor.audit));
                let (Ok(event), Ok(audit)) = (event, audit) else { return out.error("ledger", "ledger") };
                if let Err(e) = same_history(&client, &till, cursor, event, audit).await {
                    return failed(e);
                }
                let waiting = reader.backlog(cursor).map(|b| b.total()).unwrap_or(-1);
                if out.json {
                    println!(
                        "{}",
                        serde_json::json!({ "till": till.till_id, "install_id": till.install_id,
                            "server": uploader.server().display(), "waiting_rows": waiting,
                            "server_cursor": { "outbox": cursor.outbox, "events": cursor.events, "audit": cursor.audit } })
                    );
                } else {
                    println!(
                        "{} → {}: {} {waiting}",
                        till.till_id,
                        uploader.server().display(),
                        lang.pick("待上传", "waiting")
                    );
                }
                return PAID;
            }
            match compare(&client, &till.till_id, &reader).await {
                Ok(tables) => {
                    let equal = tables.iter().all(|t| t.equal());
                    if out.json {
                        println!("{}", serde_json::json!({ "till": till.till_id, "equal": equal, "tables": tables }));
                    } else {
                        for t in &tables {
                            println!(
                                "{:<15} {} {:>8} / {} {:>8}  {} {} {} {} {} {}",
                                t.table,
                                lang.pick("本机", "till"),
                                t.local,
                                lang.pick("总部", "server"),
                                t.server,
                                lang.pick("缺", "missing"),
                                t.missing.len(),
                                lang.pick("多", "extra"),
                                t.extra.len(),
                                lang.pick("不同", "differ"),
                                t.differ.len()
                            );
                        }
                    }
                    if equal {
                        PAID
                    } else {
                        FAILED
                    }
                }
                Err(e) => failed(e),
            }
        }
        _ => BAD_INPUT,
    }
}
