//! The ledger's disk failing: full, read-only, damaged. A payment that cannot be recorded is
//! refused before anything is sent to the channel, with a clear message; a damaged ledger is
//! reported at start and left as it is.
//!
//! The full and read-only cases use a real small filesystem (tmpfs) and a read-only bind mount,
//! so they run as root (the README's test command runs as root, as CI does).

mod common;

use common::{alipay_code, cli, config_for, fast_sandbox, write_config};
use paydesk_core::engine::{BarcodeRequest, Cashier, CheckoutError};
use paydesk_core::i18n::{Lang, Localized};
use paydesk_core::ledger::{Ledger, LedgerError, State};
use paydesk_sandbox::Sandbox;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// A mount that is undone when dropped (lazily, so an open file cannot keep it).
struct Mounted(PathBuf);

impl Mounted {
    fn run(args: &[&str]) {
        let out = Command::new("mount").args(args).output().expect("mount runs");
        assert!(
            out.status.success(),
            "mount {args:?}: {} (these tests need root, as the README's test command has)",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn tmpfs(at: &Path, size: &str) -> Mounted {
        std::fs::create_dir_all(at).unwrap();
        Mounted::run(&["-t", "tmpfs", "-o", &format!("size={size}"), "paydesk-test", at.to_str().unwrap()]);
        Mounted(at.to_path_buf())
    }

    fn read_only_view(of: &Path, at: &Path) -> Mounted {
        std::fs::create_dir_all(at).unwrap();
        Mounted::run(&["--bind", of.to_str().unwrap(), at.to_str().unwrap()]);
        let view = Mounted(at.to_path_buf());
        Mounted::run(&["-o", "remount,bind,ro", at.to_str().unwrap()]);
        view
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes until the filesystem says it is full.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let block = vec![0x55u8; 64 * 1024];
    loop {
        match f.write_all(&block).and_then(|_| f.sync_all()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
            Err(e) => panic!("filling: {e}"),
        }
    }
    // The last partial block may have left a few bytes: take them too.
    let _ = f.write_all(&[0; 4096]);
    path
}

fn pay(cashier: &Cashier, amount: &str, ending: &str) -> Result<String, CheckoutError> {
    let code = alipay_code(ending);
    cashier
        .start_barcode(&BarcodeRequest {
            channel: "abc",
            amount_text: amount,
            code: &code,
            source: "test",
            subject: None,
            charge: None,
        })
        .map(|p| p.id)
}

#[tokio::test]
async fn a_full_disk_refuses_the_payment_before_anything_is_sent_and_a_freed_disk_takes_it() {
    let sandbox = Sandbox::start(fast_sandbox()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("disk");
    let _mounted = Mounted::tmpfs(&disk, "4m");
    let ledger = Arc::new(Ledger::open(&disk.join("ledger.db")).unwrap());
    let config = config_for(&sandbox.base_url());
    let channels = paydesk_core::channel::from_config(&config).unwrap();
    let cashier = Cashier::new(config, ledger.clone(), channels);

    let first = pay(&cashier, "12.00", "00").unwrap();
    assert_eq!(cashier.wait_settled(&first).await.unwrap().payment.state, State::Paid);

    let filler = fill(&disk);
    let err = pay(&cashier, "34.00", "00").expect_err("no room to record it");
    assert!(matches!(err, CheckoutError::Ledger(LedgerError::DiskFull)), "{err:?}");
    assert!(err.message(Lang::Zh).contains("磁盘已满"), "{}", err.message(Lang::Zh));
    assert!(err.message(Lang::En).contains("disk is full"), "{}", err.message(Lang::En));
    let err = cashier.start_qr("abc", "56.00", None, None).await.expect_err("no room for a QR payment either");
    assert!(matches!(err, CheckoutError::Ledger(LedgerError::DiskFull)), "{err:?}");
    // Nothing reached the channel: one charge, and the ledger holds only the first payment.
    assert_eq!(sandbox.truth().charges.len(), 1);
    assert_eq!(ledger.payments_created_between(0, i64::MAX, 10).unwrap().len(), 1);
    assert!(cashier.on_counter().is_none(), "the counter is free for the next try");

    // Space freed: the same cashier, without a restart, takes the payment.
    std::fs::remove_file(filler).unwrap();
    let again = pay(&cashier, "34.00", "00").unwrap();
    assert_eq!(cashier.wait_settled(&again).await.unwrap().payment.state, State::Paid);
    assert_eq!(sandbox.truth().charges.len(), 2);
    common::assert_ledger_matches(&ledger, &sandbox.truth());
}

#[tokio::test]
async fn a_read_only_ledger_refuses_the_payment_before_anything_is_sent() {
    let sandbox = Sandbox::start(fast_sandbox()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &config_for(&sandbox.base_url()));
    let out = cli(&config, &["charge", "--channel", "abc", "--amount", "8.00", "--code", &alipay_code("00")]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let before = std::fs::read(dir.path().join("ledger.db")).unwrap();

    // The ledger seen through a read-only mount: the cashier cannot record, so it must not pay.
    let view = dir.path().join("ro");
    let _mounted = Mounted::read_only_view(dir.path(), &view);
    let ro_ledger = view.join("ledger.db");
    for lang in ["zh", "en"] {
        let out = cli(
            &config,
            &[
                "--ledger",
                ro_ledger.to_str().unwrap(),
                "--lang",
                lang,
                "charge",
                "--channel",
                "abc",
                "--amount",
                "9.00",
                "--code",
                &alipay_code("00"),
            ],
        )
        .await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        let expected = if lang == "zh" { "只读" } else { "read-only" };
        assert!(stderr.contains(expected), "{stderr}");
    }
    assert_eq!(sandbox.truth().charges.len(), 1, "nothing was sent");
    assert_eq!(std::fs::read(dir.path().join("ledger.db")).unwrap(), before, "the ledger is as it was");
}

#[tokio::test]
async fn a_damaged_ledger_is_reported_at_start_and_left_as_it_is() {
    let sandbox = Sandbox::start(fast_sandbox()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &config_for(&sandbox.base_url()));
    for ending in ["00", "01", "02"] {
        let out =
            cli(&config, &["charge", "--channel", "abc", "--amount", "8.00", "--code", &alipay_code(ending)]).await;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    // Damage the pages holding the payments (the file is whole: the last process checkpointed
    // the log into it when it closed).
    let path = dir.path().join("ledger.db");
    assert!(
        !dir.path().join("ledger.db-wal").exists()
            || std::fs::metadata(dir.path().join("ledger.db-wal")).unwrap().len() == 0
    );
    let mut bytes = std::fs::read(&path).unwrap();
    let page = 4096;
    assert!(bytes.len() >= 8 * page, "{}", bytes.len());
    let end = bytes.len() - page;
    for b in &mut bytes[2 * page + 16..end] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();

    for (lang, expected) in [("zh", "账本文件已损坏"), ("en", "damaged")] {
        let out = cli(&config, &["--lang", lang, "list"]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
    }
    let out = cli(&config, &["charge", "--channel", "abc", "--amount", "9.00", "--code", &alipay_code("03")]).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(sandbox.truth().charges.len(), 3, "nothing was sent");
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "never recreated or repaired behind the operator's back");
}

fn barcode<'a>(amount: &'a str, code: &'a str) -> BarcodeRequest<'a> {
    BarcodeRequest { channel: "abc", amount_text: amount, code, source: "test", subject: None, charge: None }
}

/// The window's start: the ledger opens unchecked and the check runs beside it. Until it has
/// passed no payment is recorded or sent; an intact ledger then takes payments, and a damaged one
/// is refused for good, never written to (not even by the recovery sweep).
#[tokio::test]
async fn the_check_beside_the_window_holds_payments_until_it_passes() {
    let sandbox = Sandbox::start(fast_sandbox()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(&sandbox.base_url());
    let config_path = dir.path().join("config.toml");

    let cashier = Cashier::open_unchecked(config.clone(), &config_path, None).expect("opens");
    assert_eq!(cashier.ledger_check().as_str(), "checking");
    let e = cashier.start_barcode(&barcode("8.00", &alipay_code("00"))).expect_err("held while checking");
    assert!(matches!(e, CheckoutError::Ledger(LedgerError::Checking)), "{e:?}");
    assert!(e.message(Lang::Zh).contains("正在检查账本"), "{}", e.message(Lang::Zh));
    assert!(sandbox.truth().charges.is_empty(), "nothing was sent");
    assert_eq!(cashier.check_ledger().await.as_str(), "intact");
    let p = cashier.start_barcode(&barcode("8.00", &alipay_code("00"))).expect("taken once checked");
    assert_eq!(cashier.wait_settled(&p.id).await.expect("settles").payment.state, State::Paid);
    drop(cashier);

    // Damage the payments table's page (opening the file reads the schema and the profile, not
    // the payments), then start as the window does.
    let path = dir.path().join("ledger.db");
    let root: i64 = {
        Ledger::open(&path).unwrap().checkpoint().unwrap();
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.query_row("SELECT rootpage FROM sqlite_master WHERE name = 'payments'", [], |r| r.get(0)).unwrap()
    };
    let _ = std::fs::remove_file(dir.path().join("ledger.db-wal"));
    let mut bytes = std::fs::read(&path).unwrap();
    let page = 4096;
    let root = root as usize;
    for b in &mut bytes[(root - 1) * page + 8..root * page] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let cashier = Cashier::open_unchecked(config, &config_path, None).expect("opens: the damage is further in");
    let _recovery = cashier.spawn_recovery();
    assert_eq!(cashier.check_ledger().await.as_str(), "damaged");
    let e = cashier.start_barcode(&barcode("9.00", &alipay_code("03"))).expect_err("refused");
    assert!(matches!(e, CheckoutError::Ledger(LedgerError::Corrupt(_))), "{e:?}");
    assert!(e.message(Lang::Zh).contains("账本文件已损坏"), "{}", e.message(Lang::Zh));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(sandbox.truth().charges.len(), 1, "nothing more was sent");
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "never written, repaired or recreated");
}
