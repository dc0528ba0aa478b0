//! Tills sending their ledgers to a chain's real PostgreSQL (Debian's, started per test on
//! loopback with TLS and password logins; see `paydesk_sandbox::postgres`). After every fault,
//! the server's rows are compared with each till's ledger row by row: no loss, no duplicate.

mod common;

use common::ledger_gen::{generate, Writer};
use common::{config_for, write_config, CLI};
use paydesk_core::config::{Config, SyncConfig, SyncTls};
use paydesk_core::engine::export::ExportKind;
use paydesk_core::engine::Cashier;
use paydesk_core::hq::report::{self, By};
use paydesk_core::hq::status::Phase;
use paydesk_core::hq::upload::{compare, Uploader};
use paydesk_core::hq::{schema, HqError, Server};
use paydesk_core::i18n::{Lang, Localized};
use paydesk_core::ledger::sync::OutboxReader;
use paydesk_core::ledger::{Change, Flow, Ledger, NewPayment, State};
use paydesk_core::money::Fen;
use paydesk_sandbox::postgres::{Postgres, OWNER};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const TILL_USER: &str = "till_login";
const TILL_PASSWORD: &str = "till-secret-4711";

/// A chain's server: a PostgreSQL cluster, the `chain` database migrated, a till login.
struct Chain {
    pg: Postgres,
    dir: tempfile::TempDir,
}

impl Chain {
    async fn start() -> Chain {
        let pg = Postgres::start().expect("PostgreSQL starts (apt-get install postgresql)");
        pg.create_database("chain").unwrap();
        let dir = tempfile::tempdir().unwrap();
        pg.write_password_file(&dir.path().join("owner.pass"), pg.owner_password()).unwrap();
        pg.write_password_file(&dir.path().join("till.pass"), TILL_PASSWORD).unwrap();
        let chain = Chain { pg, dir };
        let mut owner = chain.owner().connect().await.expect("the owner connects over TLS");
        assert_eq!(schema::migrate(&mut owner).await.unwrap(), vec![1]);
        assert_eq!(schema::migrate(&mut owner).await.unwrap(), Vec::<i32>::new(), "migrating again does nothing");
        // Tills log in with the role the migration grants: no DDL, no DELETE.
        chain
            .pg
            .psql("chain", &format!("CREATE ROLE {TILL_USER} LOGIN PASSWORD '{TILL_PASSWORD}' IN ROLE paydesk_till"))
            .unwrap();
        chain
    }

    fn owner(&self) -> Server {
        Server {
            url: self.pg.url(OWNER, "chain"),
            password_file: Some(self.dir.path().join("owner.pass")),
            tls: SyncTls::Verify,
            ca_file: Some(self.pg.ca_file()),
        }
    }

    fn sync(&self, store: &str) -> SyncConfig {
        SyncConfig {
            url: self.pg.url(TILL_USER, "chain"),
            store: store.into(),
            password_file: Some(self.dir.path().join("till.pass")),
            tls: SyncTls::Verify,
            ca_file: Some(self.pg.ca_file()),
            interval_ms: 100,
            batch: 500,
            chain_reports: true,
        }
    }

    async fn count(&self, table: &str, till: &str) -> i64 {
        let client = self.owner().connect().await.unwrap();
        let sql = format!("SELECT count(*) FROM paydesk.{table} WHERE till_id = $1");
        client.query_one(&sql, &[&till]).await.unwrap().get(0)
    }

    /// Every mirrored table of the till's ledger equals the server's rows of that till.
    async fn assert_same(&self, till: &TillDir) {
        let client = self.owner().connect().await.unwrap();
        let reader = OutboxReader::open(&till.ledger).unwrap();
        for t in compare(&client, &till.till_id(), &reader).await.unwrap() {
            assert!(t.equal(), "{}: {t:?}", till.till_id());
            assert_eq!(t.local, t.server, "{}", t.table);
        }
    }
}

/// A till's folder: its config (with `[sync]`) and its ledger.
struct TillDir {
    _dir: tempfile::TempDir,
    config_path: PathBuf,
    ledger: PathBuf,
    config: Config,
}

impl TillDir {
    fn new(chain: &Chain, store: &str, terminal: &str) -> TillDir {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config_for("http://127.0.0.1:9");
        config.terminal.code = terminal.into();
        config.sync = Some(chain.sync(store));
        let config_path = write_config(dir.path(), &config);
        let config = Config::load(&config_path).expect("the config with [sync] loads");
        let ledger = dir.path().join("ledger.db");
        drop(Ledger::open(&ledger).unwrap());
        TillDir { _dir: dir, config_path, ledger, config }
    }

    fn till_id(&self) -> String {
        let sync = self.config.sync.as_ref().unwrap();
        sync.till_id(&self.config.terminal.code)
    }

    /// `count` generated payments (with their events, refunds and an audit entry each 100).
    fn fill(&self, seed: u64, start_ms: i64, count: usize) {
        let w = Writer::open(&self.ledger);
        generate(
            seed,
            start_ms,
            20_000,
            count,
            |p| {
                w.payment(p);
                w.events(p);
            },
            |r| w.refund(r),
        );
        w.commit();
        let conn = rusqlite::Connection::open(&self.ledger).unwrap();
        for i in 0..count / 100 {
            conn.execute(
                "INSERT INTO audit_log (at, user_name, role, action, target, reason, detail) \
                 VALUES (?1, '王店长', 'manager', 'refund', ?2, '退货', '{}')",
                rusqlite::params![start_ms + i as i64, format!("G{seed:02}{i:09}")],
            )
            .unwrap();
        }
    }

    fn uploader(&self) -> Uploader {
        Uploader::from_config(&self.config, &self.ledger).unwrap()
    }

    fn cli(&self, args: &[&str]) -> std::process::Command {
        let mut c = std::process::Command::new(CLI);
        c.arg("--config").arg(&self.config_path).args(args);
        c
    }
}

const DAY0: i64 = 1_767_196_800_000; // 2026-01-01 00:00 +08:00

#[tokio::test]
async fn a_till_ledger_reaches_the_server_whole_once_and_moves_forward() {
    let chain = Chain::start().await;
    let till = TillDir::new(&chain, "SH001", "T01");
    till.fill(1, DAY0, 2_000);
    let up = till.uploader();
    up.push_until_caught_up().await.expect("pushed");
    chain.assert_same(&till).await;
    let sent = up.status().lock().unwrap().sent_rows;
    assert!(sent > 4_000, "payments, events, refunds, audit: {sent}");

    // Again: nothing is waiting, nothing is sent, nothing changes.
    let again = till.uploader();
    again.push_until_caught_up().await.unwrap();
    assert_eq!(again.status().lock().unwrap().sent_rows, 0);
    assert_eq!(again.status().lock().unwrap().phase, Phase::Synced);

    // A payment the till resolves later moves forward on the server too.
    let ledger = Ledger::open(&till.ledger).unwrap();
    let open = ledger.open_payments().unwrap();
    let pending = open.iter().find(|p| p.state == State::Pending).expect("the generator leaves pending payments");
    ledger.transition(&pending.id, State::Paid, &Change::default()).unwrap();
    till.uploader().push_until_caught_up().await.unwrap();
    chain.assert_same(&till).await;
    let client = chain.owner().connect().await.unwrap();
    let state: String = client
        .query_one("SELECT state FROM paydesk.payments WHERE till_id = 'SH001/T01' AND id = $1", &[&pending.id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(state, "paid");

    // A new (or restored) server lacks rows the till already pruned from its outbox: it gets them all.
    chain.pg.create_database("rebuilt").unwrap();
    let rebuilt = Server { url: chain.pg.url(OWNER, "rebuilt"), ..chain.owner() };
    schema::migrate(&mut rebuilt.connect().await.unwrap()).await.unwrap();
    let mut moved = till.config.clone();
    moved.sync.as_mut().unwrap().url = chain.pg.url(OWNER, "rebuilt");
    moved.sync.as_mut().unwrap().password_file = Some(chain.dir.path().join("owner.pass"));
    Uploader::from_config(&moved, &till.ledger).unwrap().push_until_caught_up().await.unwrap();
    let reader = OutboxReader::open(&till.ledger).unwrap();
    for t in compare(&rebuilt.connect().await.unwrap(), &till.till_id(), &reader).await.unwrap() {
        assert!(t.equal(), "{t:?}");
    }

    // The server keeps a till's record: events never change, nothing is deleted.
    assert!(chain.pg.psql("chain", "UPDATE paydesk.payment_events SET kind = 'x'").is_err());
    assert!(chain.pg.psql("chain", "DELETE FROM paydesk.payments").is_err());
    // The till's login cannot change the schema.
    let tills = Server { url: chain.pg.url(TILL_USER, "chain"), ..chain.sync_server() };
    let c = tills.connect().await.unwrap();
    assert!(c.batch_execute("DROP TABLE paydesk.audit_log").await.is_err());
}

impl Chain {
    fn sync_server(&self) -> Server {
        Server::from_config(&self.sync("X"), |p| p.to_path_buf())
    }
}

#[tokio::test]
async fn a_till_killed_mid_batch_loses_and_doubles_nothing() {
    let chain = Chain::start().await;
    let till = TillDir::new(&chain, "SH001", "T01");
    till.fill(2, DAY0, 12_000);
    let total: i64 = 12_000;
    let mut partial = Vec::new();
    for delay_ms in [400, 700, 1_000] {
        let mut child = till.cli(&["hq", "push"]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        partial.push(chain.count("payments", "SH001/T01").await);
    }
    assert!(partial.iter().any(|n| *n > 0 && *n < total), "a kill landed mid-upload: {partial:?}");
    let out = till.cli(&["hq", "push"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    chain.assert_same(&till).await;
    assert_eq!(chain.count("payments", "SH001/T01").await, total);
    let verify = till.cli(&["--json", "hq", "verify"]).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
    let json: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!(json["equal"], true);
}

#[tokio::test]
async fn the_server_stopped_mid_upload_and_through_many_payments() {
    let chain = Chain::start().await;
    let till = TillDir::new(&chain, "SH002", "T01");
    till.fill(3, DAY0, 8_000);
    let mut config = till.config.clone();
    config.sync.as_mut().unwrap().batch = 200;
    let up = Uploader::from_config(&config, &till.ledger).unwrap();
    let status = up.status();
    let task = up.spawn();
    // Mid-upload: some rows are there, not all.
    let t0 = Instant::now();
    while chain.count("payments", "SH002/T01").await == 0 {
        assert!(t0.elapsed() < Duration::from_secs(30), "the upload started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    chain.pg.stop().unwrap();
    // While the server is away the till goes on taking payments.
    let ledger = Ledger::open(&till.ledger).unwrap();
    for i in 0..150 {
        let p = new_payment(&format!("T01OFF{i:04}"));
        ledger.insert_payment(&p).unwrap();
        ledger.transition(&p.id, State::Paid, &Change::default()).unwrap();
    }
    let t0 = Instant::now();
    loop {
        let s = status.lock().unwrap().clone();
        if s.phase == Phase::Offline {
            assert!(s.label(Lang::Zh, paydesk_core::ledger::now_ms() + 3_600_000).starts_with("离线 1 小时"));
            assert!(s.view(Lang::Zh, 0).problem.unwrap().contains("收款照常"));
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "offline is shown: {s:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    chain.pg.start_again().unwrap();
    let t0 = Instant::now();
    loop {
        let s = status.lock().unwrap().clone();
        if s.phase == Phase::Synced && s.synced_to.is_some_and(|t| t > paydesk_core::ledger::now_ms() - 5_000) {
            assert!(s.label(Lang::Zh, paydesk_core::ledger::now_ms()).starts_with("已同步至 "));
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(90), "caught up after the server came back: {s:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    task.abort();
    chain.assert_same(&till).await;
    assert_eq!(chain.count("payments", "SH002/T01").await, 8_150);
}

#[tokio::test]
async fn two_tills_upload_at_once_each_under_its_own_name() {
    let chain = Chain::start().await;
    let a = TillDir::new(&chain, "SH001", "T01");
    let b = TillDir::new(&chain, "SH001", "T02");
    // The same order numbers on both: a till's keys are its own.
    a.fill(4, DAY0, 4_000);
    b.fill(4, DAY0, 4_000);
    let (ua, ub) = (a.uploader(), b.uploader());
    let (ra, rb) = tokio::join!(ua.push_until_caught_up(), ub.push_until_caught_up());
    ra.unwrap();
    rb.unwrap();
    chain.assert_same(&a).await;
    chain.assert_same(&b).await;
    let client = chain.owner().connect().await.unwrap();
    let n: i64 = client.query_one("SELECT count(*) FROM paydesk.payments", &[]).await.unwrap().get(0);
    assert_eq!(n, 8_000);
}

#[tokio::test]
async fn a_copied_config_a_renamed_till_and_a_restored_ledger_are_refused() {
    let chain = Chain::start().await;
    let a = TillDir::new(&chain, "SH001", "T01");
    a.fill(5, DAY0, 300);
    let backup = a.ledger.with_extension("backup");
    std::fs::copy(&a.ledger, &backup).unwrap();
    a.uploader().push_until_caught_up().await.unwrap();

    // A second machine with a copy of T01's config (and its own fresh ledger).
    let copy = TillDir::new(&chain, "SH001", "T01");
    copy.fill(6, DAY0, 10);
    let err = copy.uploader().push_until_caught_up().await.unwrap_err();
    assert!(matches!(err, HqError::TakenTill { .. }), "{err:?}");
    let out = copy.cli(&["hq", "push"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("已被另一台收银机使用"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    chain.assert_same(&a).await;

    // T01's ledger under another terminal code would count its payments twice.
    let mut renamed = a.config.clone();
    renamed.terminal.code = "T09".into();
    let err = Uploader::from_config(&renamed, &a.ledger).unwrap().push_until_caught_up().await.unwrap_err();
    assert!(matches!(err, HqError::Renamed { ref registered, .. } if registered == "SH001/T01"), "{err:?}");
    assert!(err.message(Lang::Zh).contains("SH001/T01"));

    // T01 goes on, then its ledger is restored from the older copy.
    {
        let w = Writer::open(&a.ledger);
        generate(
            7,
            DAY0 + 86_400_000,
            20_000,
            50,
            |p| {
                w.payment(p);
                w.events(p);
            },
            |r| w.refund(r),
        );
        w.commit();
    }
    a.uploader().push_until_caught_up().await.unwrap();
    std::fs::copy(&backup, &a.ledger).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", a.ledger.display()));
    }
    let err = a.uploader().push_until_caught_up().await.unwrap_err();
    assert!(matches!(err, HqError::Diverged { .. }), "behind the server: {err:?}");
    // Even once it has written past the server's numbers, its rows are not the server's.
    {
        let w = Writer::open(&a.ledger);
        generate(
            8,
            DAY0 + 2 * 86_400_000,
            20_000,
            120,
            |p| {
                w.payment(p);
                w.events(p);
            },
            |r| w.refund(r),
        );
        w.commit();
    }
    let err = a.uploader().push_until_caught_up().await.unwrap_err();
    assert!(matches!(err, HqError::Diverged { .. }), "other rows under the same numbers: {err:?}");
    assert!(err.message(Lang::Zh).contains("旧备份"));
}

#[tokio::test]
async fn chain_reports_agree_with_each_tills_own_reports() {
    let chain = Chain::start().await;
    let a = TillDir::new(&chain, "SH001", "T01");
    let b = TillDir::new(&chain, "SH002", "T01");
    a.fill(9, DAY0, 3_000);
    b.fill(10, DAY0, 3_000);
    a.uploader().push_until_caught_up().await.unwrap();
    b.uploader().push_until_caught_up().await.unwrap();
    let client = chain.owner().connect().await.unwrap();
    let first = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let last = chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap();
    let cutoff = a.config.business_day.cutoff_hour;

    let by_store = report::totals(&client, first, last, cutoff, By::Store).await.unwrap();
    assert_eq!(by_store.rows.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(), ["SH001", "SH002"]);
    let by_day = report::totals(&client, first, last, cutoff, By::Day).await.unwrap();
    assert_eq!(by_day.rows.len(), 2);
    assert_eq!(by_day.total, by_store.total, "the same money however it is grouped");
    for by in [By::Till, By::Channel, By::Wallet] {
        assert_eq!(report::totals(&client, first, last, cutoff, by).await.unwrap().total, by_store.total, "{by:?}");
    }
    // Each store's day equals its till's own day report.
    for (till, store) in [(&a, "SH001"), (&b, "SH002")] {
        let ledger = Ledger::open(&till.ledger).unwrap();
        for day in [first, last] {
            let own = ledger.totals(&paydesk_core::ledger::DayRange::of(day, cutoff)).unwrap();
            let chain_day = report::totals(&client, day, day, cutoff, By::Store).await.unwrap();
            let row = chain_day.rows.iter().find(|r| r.key == store).unwrap();
            assert_eq!(
                (row.paid_count, row.paid, row.refunded, row.net),
                (own.paid_count, own.paid, own.refunded, own.net),
                "{store} {day}"
            );
        }
    }
    let open = report::unresolved(&client, 10_000).await.unwrap();
    let local_open: usize =
        [&a, &b].iter().map(|t| Ledger::open(&t.ledger).unwrap().open_payments().unwrap().len()).sum();
    assert_eq!(open.iter().filter(|u| u.kind == "payment").count(), local_open);
    let tills = report::tills(&client).await.unwrap();
    assert_eq!(tills.iter().map(|t| t.till_id.as_str()).collect::<Vec<_>>(), ["SH001/T01", "SH002/T01"]);
    assert!(tills.iter().all(|t| t.synced_to.is_some()));

    // The manager's window on till A: the same money, named; every till's unresolved rows; the
    // chain's CSV holds both tills' payments, each under its till id.
    let cashier = Cashier::open(a.config.clone(), &a.config_path, Some(&a.ledger)).unwrap();
    let view = cashier.chain_view("2026-01-01", "2026-01-02").await.unwrap();
    assert_eq!((view.totals.count, view.totals.net.fen), (by_store.total.paid_count, by_store.total.net.0));
    assert_eq!(view.totals.by_store.len(), 2);
    assert_eq!(view.totals.by_till.iter().map(|g| g.net.fen).sum::<i64>(), view.totals.net.fen);
    assert_eq!(view.daily.iter().map(|d| d.date.as_str()).collect::<Vec<_>>(), ["2026-01-01", "2026-01-02"]);
    assert!(view.totals.by_channel.iter().all(|g| !g.name.is_empty()));
    assert_eq!(view.unresolved.iter().filter(|u| u.what == "payment").count(), local_open.min(200));
    assert_eq!(view.tills.len(), 2);
    assert!(view.tills.iter().all(|t| t.synced_text.starts_with("已同步至") && !t.quiet), "{:?}", view.tills);
    let out = tempfile::tempdir().unwrap();
    let (file, rows) =
        cashier.export_chain_csv(ExportKind::Payments, "2026-01-01", "2026-01-02", Some(out.path())).await.unwrap();
    let local_rows: usize = [&a, &b]
        .iter()
        .map(|t| {
            let (_, n) = Cashier::open(t.config.clone(), &t.config_path, Some(&t.ledger))
                .unwrap()
                .export_csv(ExportKind::Payments, "2026-01-01", "2026-01-02", Some(out.path().join("x.csv").as_path()))
                .unwrap();
            n
        })
        .sum();
    assert_eq!(rows, local_rows, "every till's payments of the range, once");
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), rows + 1, "a heading and one line per payment");
    assert!(text.contains("SH002/T01") && text.contains("SH001/T01"));
    let (_, refunds) =
        cashier.export_chain_csv(ExportKind::Refunds, "2026-01-01", "2026-01-02", Some(out.path())).await.unwrap();
    assert!(refunds > 0);
    // A till whose chain reports are off shows none.
    let mut off = b.config.clone();
    off.sync.as_mut().unwrap().chain_reports = false;
    let plain = Cashier::open(off, &b.config_path, Some(&b.ledger)).unwrap();
    let err = plain.chain_view("2026-01-01", "2026-01-01").await.unwrap_err();
    assert_eq!(err.code(), "chain_off");

    // The same from the command line, as the chain's office runs it (no till config).
    let out = std::process::Command::new(CLI)
        .args([
            "--config",
            "/nonexistent/config.toml",
            "--json",
            "hq",
            "report",
            "2026-01-01",
            "2026-01-02",
            "--by",
            "store",
        ])
        .args(["--cutoff-hour", &cutoff.to_string()])
        .args(["--url", &chain.pg.url(OWNER, "chain"), "--password-file"])
        .arg(chain.dir.path().join("owner.pass"))
        .arg("--ca-file")
        .arg(chain.pg.ca_file())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["total"]["net_fen"], by_store.total.net.0);
}

#[tokio::test]
async fn a_server_whose_certificate_is_not_the_chains_is_refused() {
    let chain = Chain::start().await;
    let till = TillDir::new(&chain, "SH001", "T01");
    let mut config = till.config.clone();
    let other = tempfile::tempdir().unwrap();
    let stranger = Postgres::start().unwrap();
    std::fs::copy(stranger.ca_file(), other.path().join("ca.pem")).unwrap();
    config.sync.as_mut().unwrap().ca_file = Some(other.path().join("ca.pem"));
    let err = Uploader::from_config(&config, &till.ledger).unwrap().push_until_caught_up().await.unwrap_err();
    assert!(err.to_string().to_lowercase().contains("certificate"), "{err}");
    assert_eq!(chain.count("tills", "SH001/T01").await, 0, "nothing registered");
    // A password file others can read is refused before anything is sent.
    let loose = other.path().join("loose.pass");
    std::fs::write(&loose, TILL_PASSWORD).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut config = till.config.clone();
    config.sync.as_mut().unwrap().password_file = Some(loose);
    let err = Uploader::from_config(&config, &till.ledger).unwrap().push_until_caught_up().await.unwrap_err();
    assert!(matches!(err, HqError::Setup(ref why) if why.contains("chmod 600")), "{err:?}");
}

fn new_payment(id: &str) -> NewPayment {
    let now = paydesk_core::ledger::now_ms();
    NewPayment {
        id: id.into(),
        terminal: "T01".into(),
        channel: "abc".into(),
        flow: Flow::Barcode,
        amount: Fen(1234),
        subject: "商品".into(),
        merchant: "103881636900016".into(),
        wallet: Some("alipay".into()),
        code_masked: Some("2801**********2345".into()),
        created_at: now,
        deadline_at: now + 60_000,
        horizon_at: now + 180_000,
        lease_until: 0,
        source: "test".into(),
        clerk: None,
        charge: None,
    }
}
