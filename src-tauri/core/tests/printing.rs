//! Receipts on virtual printers: a loopback TCP 9100 listener and a pseudo-terminal for a serial
//! printer, each capturing the bytes and answering `DLE EOT` as its behaviour says. The captures
//! are read back by `print::decode` (GB text, styles, QR, cut, drawer) and asserted whole. The
//! payments are real (sandbox over loopback HTTP, a real SQLite file), and a printer's fault
//! never touches them.

mod common;

use common::rig_with;
use paydesk_core::config::{DrawerConfig, PrinterConfig};
use paydesk_core::ledger::{AuditFilter, State};
use paydesk_core::people::Action;
use paydesk_core::print::decode::{decode, Decoded, Printed};
use paydesk_core::print::encode::cells;
use paydesk_core::print::{JobKind, PrintError, PrintJobView, Printing};
use serialport::{SerialPort, TTYPort};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Ready,
    /// Answers "paper out" before anything is printed.
    PaperOut,
    /// Takes every byte and never answers a status request.
    Silent,
    /// Takes this many bytes of a slip, then hangs up.
    HangUpAfter(usize),
    /// Ready, then answers "paper out" once a slip has come.
    PaperRunsOut,
}

/// What one virtual printer received (status requests left out), one entry a connection.
#[derive(Clone, Default)]
struct Capture {
    slips: Arc<Mutex<Vec<Vec<u8>>>>,
    behaviour: Arc<Mutex<Option<Behaviour>>>,
}

impl Capture {
    fn set(&self, b: Behaviour) {
        *self.behaviour.lock().unwrap() = Some(b);
    }
    fn behaviour(&self) -> Behaviour {
        self.behaviour.lock().unwrap().unwrap_or(Behaviour::Ready)
    }
    /// The non-empty slips received so far.
    fn slips(&self) -> Vec<Vec<u8>> {
        self.slips.lock().unwrap().iter().filter(|s| !s.is_empty()).cloned().collect()
    }

    /// Every byte received, one connection after another (a serial line is one long connection).
    fn all(&self) -> Vec<u8> {
        self.slips.lock().unwrap().concat()
    }

    /// Serves one connection as the printer would, until the other side hangs up.
    fn serve(&self, conn: &mut (impl Read + Write)) {
        let slot = {
            let mut slips = self.slips.lock().unwrap();
            slips.push(Vec::new());
            slips.len() - 1
        };
        let mut pending: Vec<u8> = Vec::new();
        let mut buf = [0u8; 4096];
        let mut idle_since = Instant::now();
        loop {
            let n = match conn.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => n,
                Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {
                    // A pty's master has no end of file: a line quiet this long is over.
                    if idle_since.elapsed() > Duration::from_secs(5) {
                        return;
                    }
                    continue;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            idle_since = Instant::now();
            pending.extend_from_slice(&buf[..n]);
            let mut i = 0;
            while i < pending.len() {
                if pending[i] == 0x10 && i + 2 < pending.len() && pending[i + 1] == 0x04 {
                    let n = pending[i + 2];
                    i += 3;
                    let got_slip = !self.slips.lock().unwrap()[slot].is_empty();
                    let answer = match (self.behaviour(), n) {
                        (Behaviour::Silent, _) => None,
                        (Behaviour::PaperOut, 1) => Some(0x1A),
                        (Behaviour::PaperOut, 2) => Some(0x32),
                        (Behaviour::PaperOut, _) => Some(0x72),
                        (Behaviour::PaperRunsOut, 1) if got_slip => Some(0x1A),
                        (Behaviour::PaperRunsOut, 2) if got_slip => Some(0x32),
                        (Behaviour::PaperRunsOut, 4) if got_slip => Some(0x72),
                        _ => Some(0x12),
                    };
                    if let Some(a) = answer {
                        if conn.write_all(&[a]).and_then(|_| conn.flush()).is_err() {
                            return;
                        }
                    }
                    continue;
                }
                if pending[i] == 0x10 && i + 2 >= pending.len() {
                    break; // a request cut in two: wait for the rest
                }
                let mut slips = self.slips.lock().unwrap();
                slips[slot].push(pending[i]);
                if let Behaviour::HangUpAfter(limit) = self.behaviour() {
                    if slips[slot].len() >= limit {
                        return;
                    }
                }
                i += 1;
            }
            pending.drain(..i);
        }
    }
}

/// A network printer on loopback; its address for `[printer] address`.
fn network_printer(capture: &Capture) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let capture = capture.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let _ = conn.set_read_timeout(Some(Duration::from_millis(100)));
            let capture = capture.clone();
            std::thread::spawn(move || capture.serve(&mut conn));
        }
    });
    format!("tcp://{addr}")
}

/// A serial printer on a pseudo-terminal; its address for `[printer] address`.
fn serial_printer(capture: &Capture) -> (String, TTYPort) {
    let (mut master, slave) = TTYPort::pair().expect("a pseudo-terminal pair");
    let name = slave.name().expect("the pty slave has a path");
    master.set_timeout(Duration::from_millis(100)).expect("timeout");
    let capture = capture.clone();
    std::thread::spawn(move || loop {
        capture.serve(&mut master);
    });
    (format!("serial:{name}"), slave)
}

fn printer(address: &str) -> PrinterConfig {
    PrinterConfig {
        paper_mm: 58,
        auto_print: true,
        timeout_ms: 3000,
        header: "测试便利店".into(),
        footer: "谢谢惠顾".into(),
        drawer: Some(DrawerConfig { pin: 2, on_ms: 120, off_ms: 480, on_refund: true }),
        ..PrinterConfig::new(address.into())
    }
}

/// Waits for job `id` to end (printed or failed).
async fn ended(printing: &Printing, id: i64) -> PrintJobView {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let job = printing.job(id).expect("read").expect("job exists");
        if job.state == "printed" || job.state == "failed" {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} still {}", job.state);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn text_lines(d: &Decoded) -> Vec<String> {
    d.texts().iter().map(|t| t.to_string()).collect()
}

/// Each line fits the paper: `columns` cells, a double-width line half as many.
fn assert_fits(d: &Decoded, columns: usize) {
    for p in &d.printed {
        if let Printed::Text { text, width, .. } = p {
            assert!(cells(text) * usize::from(*width) <= columns, "too wide for {columns}: {text:?}");
            assert!(!text.contains('\u{FFFD}'), "garbled: {text:?}");
        }
    }
}

fn has_line(d: &Decoded, want: &str) -> bool {
    d.texts().iter().any(|t| t.contains(want))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_refund_slips_and_reports_print_whole_on_a_network_printer() {
    let capture = Capture::default();
    let address = network_printer(&capture);
    let rig = rig_with(common::fast_sandbox(), |c| c.printer = Some(printer(&address))).await;
    let printing = Printing::start(rig.cashier.clone());

    // A paid payment prints its receipt by itself, once.
    let paid = rig.barcode("12.34", "10").await.payment;
    assert_eq!(paid.state, State::Paid);
    let deadline = Instant::now() + Duration::from_secs(15);
    while capture.slips().is_empty() {
        assert!(Instant::now() < deadline, "no receipt came: {:?}", printing.jobs());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let bytes = capture.slips().remove(0);
    // Chinese mode on; the yuan sign as GB A3A4, never GB18030's four bytes.
    assert!(bytes.windows(2).any(|w| w == [0x1C, 0x26]));
    assert!(bytes.windows(2).any(|w| w == [0xA3, 0xA4]));
    assert!(!bytes.windows(4).any(|w| w == [0x81, 0x30, 0x84, 0x36]));
    let d = decode(&bytes);
    assert!(d.unknown.is_empty(), "{:?}", d.unknown);
    assert_fits(&d, 32);
    let detail = rig.cashier.payment_detail(&paid.id).expect("detail");
    let lines = text_lines(&d);
    assert_eq!(lines[0].trim(), "测试便利店");
    assert_eq!(lines[1].trim(), "收款小票");
    for want in [
        format!("订单号 {:>25}", paid.id),
        "付款方式".to_string(),
        detail.wallet_name.clone().expect("wallet"),
        paid.code_masked.clone().expect("masked code"),
        "收款通道".into(),
        "收银台".into(),
        "谢谢惠顾".into(),
    ] {
        assert!(has_line(&d, &want), "{want:?} not in {lines:#?}");
    }
    // The amount big and bold, centred.
    assert!(d.printed.contains(&Printed::Text {
        text: "￥12.34".into(),
        align: "center",
        bold: true,
        width: 2,
        height: 2
    }));
    assert_eq!(d.qr_codes(), vec![paid.id.as_str()]);
    assert_eq!(d.printed.last(), Some(&Printed::Cut));
    assert!(!d.printed.iter().any(|p| matches!(p, Printed::Drawer { .. })), "a receipt opens no drawer");
    // The full code never reaches paper.
    assert!(!lines.iter().any(|l| l.contains(&common::alipay_code("10"))));
    // Once only, whatever updates follow.
    assert!(printing.queue(JobKind::Receipt, Some(&paid.id), None).expect("queue").is_none());

    // A copy from the payment's detail.
    let copy = printing.print_receipt(&paid.id).expect("queue").expect("job");
    assert_eq!(ended(&printing, copy).await.state, "printed");
    let filter = AuditFilter { action: Some("receipt_reprinted".into()), limit: 5, ..Default::default() };
    let logged = rig.cashier.ledger().audit_log(&filter).expect("audit");
    assert_eq!(logged.len(), 1, "a copy of a receipt is in the audit log");
    assert_eq!(logged[0].target.as_deref(), Some(paid.id.as_str()));
    let d = decode(&capture.slips()[1]);
    assert!(has_line(&d, "（补打）"), "{:#?}", d.texts());
    // The preview is the same bytes read back: it is what the printer got.
    let preview = printing.preview(JobKind::Reprint, Some(&paid.id)).expect("preview");
    assert_eq!(preview.columns, 32);
    assert_eq!(preview.decoded, d);
    // The window asks for the receipt's preview: with a receipt printed, it shows the copy that
    // printing it would give.
    assert_eq!(printing.preview(JobKind::Receipt, Some(&paid.id)).expect("preview").decoded, d);

    // A refund: its slip opens the drawer (the full five-byte pulse) and says what went back.
    let refund = rig.cashier.refund(&rig.approve(Action::Refund), &paid.id, "2.34", "顾客退货").await.expect("refund");
    // Receipts print by themselves here, so the refund's slip does too.
    let slip = printing.refunded(&refund).expect("a refund slip");
    assert_eq!(ended(&printing, slip).await.state, "printed");
    let bytes = capture.slips()[2].clone();
    assert!(bytes.windows(5).any(|w| w == [0x1B, 0x70, 0, 60, 240]), "drawer kick with its timing");
    let d = decode(&bytes);
    assert!(d.unknown.is_empty(), "{:?}", d.unknown);
    assert_fits(&d, 32);
    assert_eq!(
        d.printed.iter().filter(|p| matches!(p, Printed::Drawer { pin: 2, on_ms: 120, off_ms: 480 })).count(),
        1
    );
    for want in ["退款凭证", &refund.id, "顾客退货", "测试店长", "顾客签字"] {
        assert!(has_line(&d, want), "{want:?} not in {:#?}", d.texts());
    }
    assert!(d.printed.iter().any(|p| matches!(p, Printed::Text { text, width: 2, .. } if text == "￥2.34")));

    // The X report: the shift so far, its totals as the screen has them.
    rig.cashier.open_shift(None).expect("shift");
    let x = printing.queue(JobKind::X, None, Some("测试店长")).expect("queue").expect("job");
    assert_eq!(ended(&printing, x).await.state, "printed");
    let d = decode(&capture.slips()[3]);
    assert_fits(&d, 32);
    assert!(has_line(&d, "X 报表"), "{:#?}", d.texts());
    assert!(has_line(&d, "收款笔数"));

    rig.assert_matches_truth();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_printer_never_touches_the_payment_and_retry_prints_it() {
    let capture = Capture::default();
    let address = network_printer(&capture);
    let rig = rig_with(common::fast_sandbox(), |c| {
        c.printer = Some(PrinterConfig { auto_print: false, ..printer(&address) })
    })
    .await;
    let printing = Printing::start(rig.cashier.clone());
    let paid = rig.barcode("20.00", "10").await.payment;
    let print_once = |behaviour: Behaviour| {
        capture.set(behaviour);
        printing.queue(JobKind::Reprint, Some(&paid.id), None).expect("queue").expect("job")
    };

    for (behaviour, code, text) in [
        (Behaviour::PaperOut, "paper_out", "缺纸"),
        (Behaviour::Silent, "no_answer", "没有应答"),
        (Behaviour::HangUpAfter(120), "disconnected", "可能不完整"),
        (Behaviour::PaperRunsOut, "paper_out_while_printing", "打印中缺纸"),
    ] {
        let before = capture.slips().len();
        let job = ended(&printing, print_once(behaviour)).await;
        assert_eq!((job.state.as_str(), job.error.as_deref()), ("failed", Some(code)), "{behaviour:?}");
        assert!(job.error_text.as_deref().is_some_and(|t| t.contains(text)), "{behaviour:?}: {:?}", job.error_text);
        if behaviour == Behaviour::PaperOut || behaviour == Behaviour::Silent {
            assert_eq!(capture.slips().len(), before, "{behaviour:?}: nothing is sent to a printer that cannot print");
        }
        // Listed until printed or dismissed, and the payment is as it was.
        assert!(printing.jobs().expect("jobs").iter().any(|j| j.id == job.id));
        assert_eq!(rig.cashier.ledger().payment(&paid.id).expect("payment").state, State::Paid);

        // The printer is fixed: Retry prints the whole slip.
        capture.set(Behaviour::Ready);
        assert!(printing.retry(job.id).expect("retry"));
        let again = ended(&printing, job.id).await;
        assert_eq!((again.state.as_str(), again.attempts), ("printed", 2), "{behaviour:?}");
        let d = decode(capture.slips().last().expect("a slip"));
        assert_eq!(d.qr_codes(), vec![paid.id.as_str()]);
        assert_eq!(d.printed.last(), Some(&Printed::Cut));
    }

    // Dismissed: off the list, never printed.
    capture.set(Behaviour::PaperOut);
    let job = ended(&printing, print_once(Behaviour::PaperOut)).await;
    assert!(printing.dismiss(job.id).expect("dismiss"));
    assert!(printing.jobs().expect("jobs").is_empty());

    // A printer nobody listens for.
    let gone = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    printing.apply(Some(PrinterConfig { auto_print: false, ..printer(&format!("tcp://{gone}")) }));
    let job = ended(&printing, printing.queue(JobKind::Test, None, None).expect("queue").expect("job")).await;
    assert_eq!(job.error.as_deref(), Some("unreachable"));
    // Payments go on meanwhile.
    assert_eq!(rig.barcode("3.00", "10").await.payment.state, State::Paid);
    rig.assert_matches_truth();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serial_printer_prints_the_test_page_and_opens_the_drawer() {
    let capture = Capture::default();
    let (address, _slave) = serial_printer(&capture);
    let rig = rig_with(common::fast_sandbox(), |c| {
        c.printer = Some(PrinterConfig { paper_mm: 80, baud: 19200, ..printer(&address) })
    })
    .await;
    let printing = Printing::start(rig.cashier.clone());
    let state = printing.check().await.expect("status").expect("a serial printer answers");
    assert!(!state.paper_out && !state.offline);

    let test = printing.queue(JobKind::Test, None, None).expect("queue").expect("job");
    assert_eq!(ended(&printing, test).await.state, "printed");
    let test_bytes = capture.all();
    let d = decode(&test_bytes);
    assert!(d.unknown.is_empty(), "{:?}", d.unknown);
    assert_fits(&d, 48);
    let ruler = "1234567890".repeat(5)[..48].to_string();
    assert!(d.texts().contains(&ruler.as_str()), "{:#?}", d.texts());
    assert!(has_line(&d, "中文打印正常"));
    assert!(has_line(&d, "￥12.34"));
    assert_eq!(d.qr_codes(), vec!["paydesk"]);

    // Opening the drawer without a sale needs a manager's approval for that, and is logged.
    assert_eq!(printing.open_drawer(&rig.approve(Action::Refund)), Err(PrintError::Forbidden));
    let drawer = printing.open_drawer(&rig.approve(Action::OpenDrawer)).expect("queue").expect("job");
    assert_eq!(ended(&printing, drawer).await.state, "printed");
    let d = decode(&capture.all()[test_bytes.len()..]);
    assert_eq!(d.printed, vec![Printed::Drawer { pin: 2, on_ms: 120, off_ms: 480 }]);
    let filter = AuditFilter { action: Some("drawer_opened".into()), limit: 5, ..Default::default() };
    assert_eq!(rig.cashier.ledger().audit_log(&filter).expect("audit").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_cannot_print_is_refused_at_once_and_a_crash_mid_print_is_listed() {
    let capture = Capture::default();
    let address = network_printer(&capture);
    let rig = rig_with(common::fast_sandbox(), |c| {
        c.printer = Some(PrinterConfig { auto_print: false, ..printer(&address) })
    })
    .await;
    // A job the previous run was printing when it died.
    let ledger = rig.cashier.ledger();
    let id = ledger.add_print_job("test", None, None).expect("add").expect("id");
    assert_eq!(ledger.claim_print_job().expect("claim").map(|j| j.id), Some(id));
    let printing = Printing::start(rig.cashier.clone());
    let job = ended(&printing, id).await;
    assert_eq!((job.state.as_str(), job.error.as_deref()), ("failed", Some("interrupted")));
    assert!(job.error_text.as_deref().is_some_and(|t| t.contains("重试")));

    // An unpaid payment has no receipt; an unknown one neither; nothing is queued.
    let failed = rig.barcode("5.00", "91").await.payment;
    assert_ne!(failed.state, State::Paid);
    for target in [failed.id.as_str(), "NOPE"] {
        let e = printing.queue(JobKind::Reprint, Some(target), None).expect_err(target);
        assert_eq!(e.code(), "slip");
    }
    assert_eq!(printing.jobs().expect("jobs").len(), 1);
    assert!(capture.slips().is_empty());
}
