//! The serial scanner through a real pseudo-terminal (`TTYPort::pair`): the reader opens the
//! pty's slave by path as it would `/dev/ttyUSB0`; the test writes to the master as the scanner
//! would. Terminators, split writes, two codes in one write, noise, over-long lines, and a port
//! that disappears and comes back (a `/dev/serial/by-id`-style link re-pointed at a new pty).

use paydesk_core::config::{SerialSettings, Terminator};
use paydesk_core::scan::serial::{SerialScanner, SerialState};
use paydesk_core::scan::{Scan, ScanSource};
use serialport::{SerialPort, TTYPort};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A pty pair standing in for a plugged-in scanner, reachable through the link `path`.
struct FakeScanner {
    master: TTYPort,
    _slave: TTYPort,
}

fn plug(link: &Path) -> FakeScanner {
    let (master, slave) = TTYPort::pair().expect("a pseudo-terminal pair");
    let name = slave.name().expect("the pty slave has a path");
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(&name, link).expect("link to the pty");
    FakeScanner { master, _slave: slave }
}

impl FakeScanner {
    fn send(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).expect("write to the scanner line");
        self.master.flush().expect("flush");
    }
}

fn settings(port: &Path, terminator: Terminator) -> SerialSettings {
    SerialSettings { enabled: true, port: port.display().to_string(), terminator, ..SerialSettings::default() }
}

struct Reader {
    scanner: SerialScanner,
    scans: mpsc::Receiver<Scan>,
}

fn start(settings: SerialSettings) -> Reader {
    let (tx, scans) = mpsc::channel();
    let scanner = SerialScanner::start(settings, move |scan| {
        let _ = tx.send(scan);
    });
    Reader { scanner, scans }
}

impl Reader {
    fn wait_state(&self, want: impl Fn(&SerialState) -> bool, what: &str) -> SerialState {
        let state = self.scanner.state();
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let now = state.borrow().clone();
            if want(&now) {
                return now;
            }
            assert!(Instant::now() < until, "serial reader never {what}; last state {now:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn connected(&self) {
        self.wait_state(|s| matches!(s, SerialState::Connected { .. }), "connected");
    }

    fn next(&self) -> Scan {
        self.scans.recv_timeout(Duration::from_secs(5)).expect("a scan arrives")
    }

    fn codes(&self, n: usize) -> Vec<String> {
        (0..n).map(|_| self.next().code).collect()
    }

    fn nothing_more(&self) {
        if let Ok(s) = self.scans.recv_timeout(Duration::from_millis(300)) {
            panic!("unexpected scan {s:?}");
        }
    }
}

fn link_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("usb-Scanner_0001-if00")
}

#[test]
fn each_terminator_ends_a_code() {
    for (terminator, ending) in [(Terminator::Cr, "\r"), (Terminator::Lf, "\n"), (Terminator::Crlf, "\r\n")] {
        let dir = tempfile::tempdir().unwrap();
        let mut scanner = plug(&link_in(&dir));
        let reader = start(settings(&link_in(&dir), terminator));
        reader.connected();
        scanner.send(format!("280000000000000010{ending}").as_bytes());
        let scan = reader.next();
        assert_eq!((scan.code.as_str(), scan.source), ("280000000000000010", ScanSource::Serial), "{terminator:?}");
        reader.nothing_more();
    }
}

#[test]
fn split_writes_and_two_codes_in_one_write() {
    let dir = tempfile::tempdir().unwrap();
    let mut scanner = plug(&link_in(&dir));
    let reader = start(settings(&link_in(&dir), Terminator::Crlf));
    reader.connected();
    scanner.send(b"2800000");
    std::thread::sleep(Duration::from_millis(60));
    scanner.send(b"00000000010\r");
    std::thread::sleep(Duration::from_millis(60));
    scanner.send(b"\n");
    assert_eq!(reader.codes(1), ["280000000000000010"]);
    scanner.send(b"134567890123456789\r\n6901234567892\r\n");
    assert_eq!(reader.codes(2), ["134567890123456789", "6901234567892"]);
    reader.nothing_more();
}

#[test]
fn noise_and_over_long_lines_never_pass() {
    let dir = tempfile::tempdir().unwrap();
    let mut scanner = plug(&link_in(&dir));
    let reader = start(SerialSettings { stale_after_ms: 200, ..settings(&link_in(&dir), Terminator::Cr) });
    reader.connected();
    scanner.send(b"\x00\x13\xff\xfe28000\r"); // line noise, then its end
    scanner.send("付款码\r".as_bytes()); // non-ASCII
    scanner.send(&[b'9'; 400]); // a stuck scanner
    scanner.send(b"\r");
    scanner.send(b"@@1"); // half a line that never ends …
    std::thread::sleep(Duration::from_millis(400)); // … goes stale
    scanner.send(b"280000000000000082\r");
    assert_eq!(reader.codes(1), ["280000000000000082"], "only the good code passes, unprefixed");
    reader.nothing_more();
}

#[test]
fn a_port_that_disappears_and_comes_back_is_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let link = link_in(&dir);
    let mut scanner = plug(&link);
    let reader = start(settings(&link, Terminator::Cr));
    reader.connected();
    scanner.send(b"280000000000000010\r");
    assert_eq!(reader.codes(1), ["280000000000000010"]);

    // Unplugged: the pty goes away and so does its by-id link.
    drop(scanner);
    std::fs::remove_file(&link).unwrap();
    let lost = reader.wait_state(|s| matches!(s, SerialState::Disconnected { .. }), "noticed the unplug");
    let SerialState::Disconnected { reason, .. } = lost else { unreachable!() };
    assert!(!reason.is_empty());
    // Reopening fails while it is away, and keeps being retried.
    std::thread::sleep(Duration::from_millis(700));
    assert!(matches!(
        *reader.scanner.state().borrow(),
        SerialState::Disconnected { .. } | SerialState::Connecting { .. }
    ));

    // Plugged back in (a new pty behind the same link).
    let mut scanner = plug(&link);
    reader.connected();
    scanner.send(b"280000000000000082\r");
    assert_eq!(reader.codes(1), ["280000000000000082"]);
    reader.nothing_more();
}

#[test]
fn a_port_that_does_not_exist_is_retried_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let link = link_in(&dir);
    let reader = start(settings(&link, Terminator::Cr));
    reader.wait_state(|s| matches!(s, SerialState::Disconnected { .. }), "reported the missing port");
    let mut scanner = plug(&link);
    reader.connected();
    scanner.send(b"280000000000000010\r");
    assert_eq!(reader.codes(1), ["280000000000000010"]);
    reader.scanner.stop();
}
