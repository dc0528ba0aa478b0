//! The scan stream in front of a real cashier (sandbox over loopback HTTP, SQLite ledger): a scan
//! pays only the payment the clerk armed, once; scans with nothing armed are shown, not used;
//! a code that cannot pay leaves the payment waiting. Sources: a serial scanner on a real pty,
//! and the camera pipeline replaying image files.

mod common;
#[path = "support/scan_images.rs"]
mod scan_images;

use common::{alipay_code, rig};
use paydesk_core::config::{CameraSettings, Scanners, SerialSettings};
use paydesk_core::ledger::State;
use paydesk_core::scan::service::ScannerService;
use paydesk_core::scan::{Scan, ScanHub, ScanOutcome, ScanSource};
use serialport::{SerialPort, TTYPort};
use std::io::Write;
use std::time::Duration;

fn payments(rig: &common::Rig) -> usize {
    rig.cashier.ledger().payments_created_between(0, i64::MAX, 1_000).unwrap().len()
}

/// Where the payment's code came from, as its audit trail recorded it.
fn source_of(rig: &common::Rig, id: &str) -> String {
    let events = rig.cashier.ledger().events(id).unwrap();
    events.iter().find_map(|e| e.detail.get("source").and_then(|s| s.as_str()).map(String::from)).unwrap_or_default()
}

#[tokio::test]
async fn a_scan_pays_only_the_armed_payment_and_only_once() {
    let rig = rig().await;
    let hub = ScanHub::new(rig.cashier.clone());
    let code = alipay_code("10");

    // Nothing armed: shown, not used.
    let e = hub.submit(Scan::now(&code, ScanSource::Wedge));
    assert!(matches!(e.outcome, ScanOutcome::NotWaiting), "{e:?}");
    assert!(e.message.contains("没有等待收款"), "{}", e.message);
    assert_eq!(e.code_shown, "2800**********0010", "payment codes are shown masked");
    assert_eq!(payments(&rig), 0);

    // Armed, but the same code again within the window: still the one it was.
    hub.arm("abc", "12.34", None).unwrap();
    let e = hub.submit(Scan::now(&code, ScanSource::Serial));
    assert!(matches!(e.outcome, ScanOutcome::Duplicate));
    assert!(hub.armed().is_some(), "a duplicate does not use the armed payment");

    // A fresh code pays it; the hub is disarmed.
    let fresh = alipay_code("55");
    let e = hub.submit(Scan::now(&fresh, ScanSource::Serial));
    let ScanOutcome::Charging { payment } = e.outcome else { panic!("{e:?}") };
    assert_eq!(payment.amount_text, "12.34");
    assert!(hub.armed().is_none());
    let settled = rig.cashier.wait_settled(&payment.id).await.unwrap().payment;
    assert_eq!(settled.state, State::Paid);
    assert_eq!(source_of(&rig, &settled.id), "serial");

    // The scanner fires twice: the second read is a duplicate, and nothing else is armed anyway.
    let e = hub.submit(Scan::now(&fresh, ScanSource::Serial));
    assert!(matches!(e.outcome, ScanOutcome::Duplicate));
    assert_eq!(payments(&rig), 1);
    rig.assert_matches_truth();
}

#[tokio::test]
async fn a_code_that_cannot_pay_leaves_the_payment_waiting() {
    let rig = rig().await;
    let hub = ScanHub::new(rig.cashier.clone());
    hub.arm("abc", "5.00", None).unwrap();
    for (bad, says) in [("6901234567892", "商品条码"), ("HELLO-WORLD", "只含数字"), ("123456", "不是付款码")]
    {
        let e = hub.submit(Scan::now(bad, ScanSource::Camera));
        match &e.outcome {
            ScanOutcome::Rejected { code } => assert_eq!(code, "payment_code", "{bad}"),
            other => panic!("{bad}: {other:?}"),
        }
        assert!(e.message.contains(says), "{bad}: {}", e.message);
        assert!(hub.armed().is_some(), "{bad}: still waiting for a payment code");
    }
    assert_eq!(payments(&rig), 0);
    let e = hub.submit(Scan::now(alipay_code("10"), ScanSource::Manual));
    assert!(matches!(e.outcome, ScanOutcome::Charging { .. }), "{e:?}");
}

#[tokio::test]
async fn arming_checks_the_amount_and_the_channel_first() {
    let rig = rig().await;
    let hub = ScanHub::new(rig.cashier.clone());
    assert!(hub.arm("abc", "12.345", None).is_err());
    assert!(hub.arm("abc", "-1", None).is_err());
    assert!(hub.arm("paysvc", "1.00", None).unwrap_err().contains("paysvc"), "paysvc takes no payment codes");
    assert!(hub.armed().is_none());
    hub.arm("abc", "1.00", None).unwrap();
    hub.disarm();
    let e = hub.submit(Scan::now(alipay_code("10"), ScanSource::Wedge));
    assert!(matches!(e.outcome, ScanOutcome::NotWaiting));
}

#[tokio::test]
async fn a_serial_scanner_pays_through_the_service() {
    let rig = rig().await;
    let (mut master, slave) = TTYPort::pair().unwrap();
    let port = slave.name().unwrap();
    let settings =
        Scanners { serial: SerialSettings { enabled: true, port, ..SerialSettings::default() }, ..Scanners::default() };
    let service = ScannerService::start(ScanHub::new(rig.cashier.clone()), settings, rig.dir.path().into());
    let mut events = service.hub().subscribe();
    let mut states = service.states();
    tokio::time::timeout(
        Duration::from_secs(5),
        states.wait_for(|s| matches!(s.serial, paydesk_core::scan::serial::SerialState::Connected { .. })),
    )
    .await
    .expect("connects")
    .unwrap();
    service.hub().arm("abc", "8.88", None).unwrap();
    master.write_all(format!("{}\r", alipay_code("82")).as_bytes()).unwrap();
    let e = tokio::time::timeout(Duration::from_secs(5), events.recv()).await.expect("a scan event").unwrap();
    assert_eq!(e.source, ScanSource::Serial);
    let ScanOutcome::Charging { payment } = e.outcome else { panic!("{e:?}") };
    let p = rig.cashier.wait_settled(&payment.id).await.unwrap().payment;
    assert_eq!((p.state, p.amount.0), (State::Paid, 888));
    rig.assert_matches_truth();
}

#[tokio::test]
async fn the_camera_reads_a_payment_code_while_armed_and_is_off_otherwise() {
    let rig = rig().await;
    let frames = rig.dir.path().join("frames");
    std::fs::create_dir_all(&frames).unwrap();
    let code = alipay_code("10");
    // An empty frame, then the customer's phone.
    image::GrayImage::from_pixel(640, 480, image::Luma([90])).save(frames.join("0.png")).unwrap();
    let phone = scan_images::on_counter(&scan_images::qr(&code, 6, 0, 255), 640, 480, scan_images::SCREEN);
    phone.save(frames.join("1.png")).unwrap();
    let settings = Scanners {
        camera: CameraSettings { enabled: true, device: "files:frames".into(), fps: 20, ..CameraSettings::default() },
        ..Scanners::default()
    };
    let service = ScannerService::start(ScanHub::new(rig.cashier.clone()), settings, rig.dir.path().into());
    let mut events = service.hub().subscribe();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        matches!(service.states().borrow().camera, paydesk_core::scan::camera::CameraState::Off),
        "off until armed"
    );

    service.hub().arm("abc", "3.21", None).unwrap();
    let e = tokio::time::timeout(Duration::from_secs(10), events.recv()).await.expect("the camera reads it").unwrap();
    assert_eq!(e.source, ScanSource::Camera);
    let ScanOutcome::Charging { payment } = e.outcome else { panic!("{e:?}") };
    assert!(service.previews().borrow().is_some(), "a preview was published");
    let p = rig.cashier.wait_settled(&payment.id).await.unwrap().payment;
    assert_eq!((p.state, source_of(&rig, &p.id).as_str()), (State::Paid, "camera"));
    // Disarmed by the payment: the camera stops.
    let mut states = service.states();
    tokio::time::timeout(
        Duration::from_secs(5),
        states.wait_for(|s| matches!(s.camera, paydesk_core::scan::camera::CameraState::Off)),
    )
    .await
    .expect("camera stops")
    .unwrap();
    assert_eq!(payments(&rig), 1, "the code held in view paid once");
}

/// The keypad arms as the clerk types; a scan the window read pays what its keypad shows, whatever
/// an earlier keystroke armed, and a refused amount leaves nothing armed.
#[tokio::test]
async fn a_scan_read_by_the_window_pays_the_amount_on_its_keypad() {
    let rig = rig().await;
    let hub = ScanHub::new(rig.cashier.clone());
    // A wedge typed its digits into the keypad before the window undid them: "12" + "28" armed.
    hub.arm("abc", "1228", None).unwrap();
    let e = hub.submit_for(Scan::now(alipay_code("10"), ScanSource::Wedge), "abc", "12", None);
    let ScanOutcome::Charging { payment } = e.outcome else { panic!("{e:?}") };
    assert_eq!(payment.amount_text, "12.00");
    assert!(hub.armed().is_none(), "the payment took the hub's arming with it");
    assert_eq!(rig.cashier.wait_settled(&payment.id).await.unwrap().payment.state, State::Paid);

    // An amount the keypad cannot pay: the scan says why and nothing is sent.
    let e = hub.submit_for(Scan::now(alipay_code("11"), ScanSource::Wedge), "abc", "0", None);
    assert!(matches!(e.outcome, ScanOutcome::Rejected { .. }), "{e:?}");
    assert!(e.message.contains("金额"), "{}", e.message);
    // A product barcode is named as one, whatever the amount.
    let e = hub.submit_for(Scan::now("6901234567892", ScanSource::Wedge), "abc", "0", None);
    assert!(e.message.contains("商品条码"), "{}", e.message);
    assert_eq!(payments(&rig), 1);

    // Typing on: "5" armed, then "5." refused by the core: nothing is left armed.
    hub.arm("abc", "5", None).unwrap();
    assert!(hub.arm("abc", "5.001", None).is_err());
    assert!(hub.armed().is_none(), "a refused amount never leaves an earlier one armed");
    let e = hub.submit(Scan::now(alipay_code("12"), ScanSource::Serial));
    assert!(matches!(e.outcome, ScanOutcome::NotWaiting), "{e:?}");
    assert_eq!(payments(&rig), 1);
}

/// A receipt's QR (the bare order number) from any scanner names its payment and touches
/// nothing armed; an order number this till does not have, or one dressed as a payment code, is
/// no receipt.
#[tokio::test]
async fn a_scanned_receipt_names_its_payment_and_leaves_the_armed_one_alone() {
    let rig = rig().await;
    let paid = rig.barcode("12.34", "10").await.payment;
    let hub = ScanHub::new(rig.cashier.clone());
    hub.arm("abc", "5.00", None).unwrap();
    for source in [ScanSource::Camera, ScanSource::Serial] {
        // Each source once, past the dedupe window of the same code.
        hub.set_dedupe_window(0);
        let e = hub.submit(Scan::now(format!("{}\r\n", paid.id).trim(), source));
        match &e.outcome {
            ScanOutcome::Receipt { payment_id } => assert_eq!(payment_id, &paid.id),
            other => panic!("{source:?}: {other:?}"),
        }
        assert_eq!(e.code_shown, paid.id, "an order number is no secret: shown whole");
        assert!(e.message.contains(&paid.id), "{}", e.message);
        assert_eq!(hub.armed().map(|a| a.amount_text).as_deref(), Some("5.00"), "the waiting payment still waits");
    }
    let json = serde_json::to_value(hub.submit(Scan::now(&paid.id, ScanSource::Wedge)).outcome).unwrap();
    assert_eq!(json, serde_json::json!({ "kind": "receipt", "paymentId": paid.id }));
    for not_a_receipt in ["T0999999999999999999", "280000000000000010x", "T01'; DROP TABLE payments;--"] {
        let e = hub.submit(Scan::now(not_a_receipt, ScanSource::Wedge));
        assert!(!matches!(e.outcome, ScanOutcome::Receipt { .. }), "{not_a_receipt}: {e:?}");
    }
    assert_eq!(payments(&rig), 1);
}
