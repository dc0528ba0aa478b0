//! The demo and a store never mix: a demo profile is wholly demo (its channels on the bundled
//! sandbox, checked by the config), a ledger is settled as a demo's or a store's by the first
//! config that opens it, and the demo's users (public PINs) never enter a store's ledger.

mod common;

use common::{config_for, write_config};
use paydesk_core::config::{Config, Demo};
use paydesk_core::engine::{Cashier, CheckoutError};
use paydesk_core::i18n::{Lang, Localized};
use paydesk_core::ledger::{LedgerError, LedgerProfile};

/// The sandbox-pointed test config, as a demo (its `[demo]` on the same port) or as a store.
fn config(port: u16, demo: bool) -> Config {
    let mut c = config_for(&format!("http://127.0.0.1:{port}"));
    c.demo = demo.then_some(Demo { sandbox_port: port, auto_pay_ms: 0 });
    c
}

fn open(dir: &std::path::Path, config: Config) -> Result<Cashier, CheckoutError> {
    let path = write_config(dir, &config);
    Cashier::open(Config::load(&path).expect("config loads"), &path, None)
}

#[test]
fn a_stores_ledger_never_gets_the_demo_users_nor_opens_as_a_demo() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), config(41001, false)).unwrap();
    assert_eq!(store.ledger().profile().unwrap(), Some(LedgerProfile::Store));
    store.people().add_demo_users().unwrap();
    assert_eq!(store.ledger().user_count().unwrap(), 0, "no public PIN in a store's ledger");
    drop(store);

    // Someone adds [demo] to the store's config: refused before anything runs, the message names
    // the ledger and the fix.
    let Err(err) = open(dir.path(), config(41001, true)) else { panic!("a demo opened a store's ledger") };
    assert!(matches!(err, CheckoutError::Ledger(LedgerError::ProfileMismatch { ledger: LedgerProfile::Store, .. })));
    let zh = err.message(Lang::Zh);
    assert!(zh.contains("ledger.db") && zh.contains("[demo]"), "{zh}");
    assert!(err.message(Lang::En).contains("real store's books"));
}

#[test]
fn a_demos_ledger_gets_its_users_once_and_never_opens_as_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let demo = open(dir.path(), config(41002, true)).unwrap();
    assert_eq!(demo.ledger().profile().unwrap(), Some(LedgerProfile::Demo));
    demo.people().add_demo_users().unwrap();
    demo.people().add_demo_users().unwrap();
    assert_eq!(demo.ledger().user_count().unwrap(), paydesk_core::config::DEMO_USERS.len() as i64);
    drop(demo);

    // The store's real config replaces the demo's: the demo's ledger (sandbox payments, public
    // PINs) is refused, and the message says to start a new one.
    let Err(err) = open(dir.path(), config(41002, false)) else { panic!("a store opened the demo's ledger") };
    assert!(matches!(err, CheckoutError::Ledger(LedgerError::ProfileMismatch { ledger: LedgerProfile::Demo, .. })));
    assert!(err.message(Lang::Zh).contains("演示账本"), "{}", err.message(Lang::Zh));
    assert!(err.message(Lang::En).contains("move that file"));
}
