//! The serial (or USB-serial) scanner: a reader thread that opens the configured port, cuts the
//! byte stream into codes at the terminator, and reconnects with backoff when the port goes away.
//!
//! Only printable ASCII lines up to [`MAX_LINE`] bytes are passed on; noise, over-long lines,
//! control and non-ASCII bytes are dropped with a log line (never their content: it may be a
//! payment code).

use super::{sleep_unless_stopped, Scan, ScanSource};
use crate::config::{Parity, SerialSettings, Terminator};
use crate::ledger::now_ms;
use serde::Serialize;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Longest code accepted (payment codes are 16–24 digits; product codes 8–14).
pub const MAX_LINE: usize = 128;

/// Why bytes were dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dropped {
    /// More than [`MAX_LINE`] bytes without a terminator.
    TooLong,
    /// A byte outside printable ASCII (control, 8-bit, line noise).
    NotAscii { len: usize },
    /// An unfinished line went quiet for longer than `stale_after`: noise, or half a code.
    Stale { len: usize },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framed {
    Code(String),
    Dropped(Dropped),
}

/// Cuts a serial byte stream into lines (pure; the reader thread feeds it).
pub struct LineFramer {
    terminator: Terminator,
    stale_after: Duration,
    line: Vec<u8>,
    /// The current line passed MAX_LINE: discard up to its terminator.
    overflowed: bool,
    last_byte: Option<Instant>,
}

impl LineFramer {
    pub fn new(terminator: Terminator, stale_after: Duration) -> LineFramer {
        LineFramer { terminator, stale_after, line: Vec::new(), overflowed: false, last_byte: None }
    }

    /// Feeds bytes read at `now`; returns the codes and drops they complete, in order.
    pub fn push(&mut self, bytes: &[u8], now: Instant) -> Vec<Framed> {
        let mut out = Vec::new();
        if let Some(stale) = self.expire(now) {
            out.push(stale);
        }
        if !bytes.is_empty() {
            self.last_byte = Some(now);
        }
        let end = *self.terminator.bytes().last().unwrap_or(&b'\r');
        for &b in bytes {
            if b == end && (self.terminator != Terminator::Crlf || self.line.last() == Some(&b'\r')) {
                if self.terminator == Terminator::Crlf {
                    self.line.pop();
                }
                out.extend(self.finish_line());
                continue;
            }
            if !self.overflowed {
                self.line.push(b);
                if self.line.len() > MAX_LINE + 1 {
                    // (+1: with CRLF the CR of the terminator may sit at the end of a full line.)
                    self.overflowed = true;
                    out.push(Framed::Dropped(Dropped::TooLong));
                }
            }
            if self.overflowed {
                // Discarding up to the terminator. A CR is kept: it may be the first half of a
                // CRLF, and without it the LF would not end the line (nor the codes after it).
                self.line.clear();
                if b == b'\r' {
                    self.line.push(b);
                }
            }
        }
        out
    }

    /// Called when the port is quiet: drops an unfinished line older than `stale_after`.
    pub fn expire(&mut self, now: Instant) -> Option<Framed> {
        let last = self.last_byte?;
        if (self.line.is_empty() && !self.overflowed) || now.duration_since(last) < self.stale_after {
            return None;
        }
        let len = self.line.len();
        let was_overflow = self.overflowed;
        self.line.clear();
        self.overflowed = false;
        (!was_overflow).then_some(Framed::Dropped(Dropped::Stale { len }))
    }

    fn finish_line(&mut self) -> Option<Framed> {
        let line = std::mem::take(&mut self.line);
        if std::mem::replace(&mut self.overflowed, false) {
            return None; // already reported
        }
        // CR, LF or blanks around a code are the scanner's line ending, whichever is configured.
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() {
            return None;
        }
        if trimmed.len() > MAX_LINE {
            return Some(Framed::Dropped(Dropped::TooLong));
        }
        if !trimmed.iter().all(|b| (0x20..=0x7e).contains(b)) {
            return Some(Framed::Dropped(Dropped::NotAscii { len: trimmed.len() }));
        }
        // Printable ASCII is valid UTF-8.
        Some(Framed::Code(String::from_utf8_lossy(trimmed).into_owned()))
    }
}

/// The reader's state, for the settings screen and the status line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SerialState {
    Off,
    Connecting {
        port: String,
    },
    Connected {
        port: String,
    },
    /// Lost or never opened; the reader tries again in `retry_in_ms`.
    Disconnected {
        port: String,
        reason: String,
        retry_in_ms: u64,
    },
}

/// Backoff between reconnect attempts: doubles from the first to the last.
const BACKOFF_FIRST: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How often the reader wakes up to look at the stop flag and stale lines.
const READ_TICK: Duration = Duration::from_millis(50);

/// A running serial scanner. Dropping it stops the reader thread.
pub struct SerialScanner {
    state: watch::Receiver<SerialState>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SerialScanner {
    /// Starts reading `settings.port`; every code read goes to `sink`.
    pub fn start(settings: SerialSettings, sink: impl Fn(Scan) + Send + 'static) -> SerialScanner {
        let (tx, state) = watch::channel(SerialState::Connecting { port: settings.port.clone() });
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("serial-scanner".into())
            .spawn(move || run(&settings, &sink, &tx, &stop_flag))
            .map_err(|e| tracing::error!(error = %e, "cannot start the serial scanner thread"))
            .ok();
        SerialScanner { state, stop, thread }
    }

    pub fn state(&self) -> watch::Receiver<SerialState> {
        self.state.clone()
    }

    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SerialScanner {
    fn drop(&mut self) {
        self.halt();
    }
}

fn open(s: &SerialSettings) -> Result<Box<dyn serialport::SerialPort>, serialport::Error> {
    let data_bits = match s.data_bits {
        5 => serialport::DataBits::Five,
        6 => serialport::DataBits::Six,
        7 => serialport::DataBits::Seven,
        _ => serialport::DataBits::Eight,
    };
    let parity = match s.parity {
        Parity::None => serialport::Parity::None,
        Parity::Odd => serialport::Parity::Odd,
        Parity::Even => serialport::Parity::Even,
    };
    let stop_bits = if s.stop_bits == 2 { serialport::StopBits::Two } else { serialport::StopBits::One };
    serialport::new(&s.port, s.baud)
        .data_bits(data_bits)
        .parity(parity)
        .stop_bits(stop_bits)
        .flow_control(serialport::FlowControl::None)
        .timeout(READ_TICK)
        .open()
}

fn run(s: &SerialSettings, sink: &dyn Fn(Scan), state: &watch::Sender<SerialState>, stop: &AtomicBool) {
    let port_name = s.port.clone();
    let mut backoff = BACKOFF_FIRST;
    while !stop.load(Ordering::Relaxed) {
        state.send_replace(SerialState::Connecting { port: port_name.clone() });
        let reason = match open(s) {
            Ok(port) => {
                tracing::info!(port = %port_name, baud = s.baud, "serial scanner connected");
                state.send_replace(SerialState::Connected { port: port_name.clone() });
                backoff = BACKOFF_FIRST;
                match read_lines(port, s, sink, stop) {
                    None => break, // stopped
                    Some(reason) => reason,
                }
            }
            Err(e) => e.to_string(),
        };
        tracing::warn!(port = %port_name, %reason, retry_in_ms = backoff.as_millis() as u64, "serial scanner disconnected");
        state.send_replace(SerialState::Disconnected {
            port: port_name.clone(),
            reason,
            retry_in_ms: backoff.as_millis() as u64,
        });
        if sleep_unless_stopped(backoff, stop) {
            break;
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
    state.send_replace(SerialState::Off);
}

/// Reads until the port fails (returns why) or the reader is stopped (returns None).
fn read_lines(
    mut port: Box<dyn serialport::SerialPort>,
    s: &SerialSettings,
    sink: &dyn Fn(Scan),
    stop: &AtomicBool,
) -> Option<String> {
    let mut framer = LineFramer::new(s.terminator, Duration::from_millis(s.stale_after_ms));
    let mut buf = [0u8; 256];
    while !stop.load(Ordering::Relaxed) {
        let framed = match port.read(&mut buf) {
            Ok(0) => return Some("the port closed (end of file)".into()),
            Ok(n) => framer.push(&buf[..n], Instant::now()),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut || e.kind() == std::io::ErrorKind::Interrupted => {
                framer.expire(Instant::now()).into_iter().collect()
            }
            Err(e) => return Some(e.to_string()),
        };
        for f in framed {
            match f {
                Framed::Code(code) => sink(Scan { code, source: ScanSource::Serial, at_ms: now_ms() }),
                Framed::Dropped(why) => tracing::warn!(port = %s.port, ?why, "serial scanner: bytes dropped"),
            }
        }
    }
    None
}

/// The serial ports this machine has, for the settings screen.
pub fn list_ports() -> Vec<PortInfo> {
    serialport::available_ports()
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let description = match p.port_type {
                serialport::SerialPortType::UsbPort(u) => {
                    let product = u.product.unwrap_or_default();
                    format!("USB {:04x}:{:04x} {}", u.vid, u.pid, product).trim().to_owned()
                }
                serialport::SerialPortType::PciPort => "PCI".into(),
                serialport::SerialPortType::BluetoothPort => "Bluetooth".into(),
                serialport::SerialPortType::Unknown => String::new(),
            };
            PortInfo { name: p.port_name, description }
        })
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct PortInfo {
    pub name: String,
    pub description: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(framed: &[Framed]) -> Vec<&str> {
        framed
            .iter()
            .filter_map(|f| match f {
                Framed::Code(c) => Some(c.as_str()),
                Framed::Dropped(_) => None,
            })
            .collect()
    }

    fn framer(t: Terminator) -> (LineFramer, Instant) {
        (LineFramer::new(t, Duration::from_millis(500)), Instant::now())
    }

    #[test]
    fn each_terminator_ends_a_code() {
        for (t, wire) in [
            (Terminator::Cr, &b"123456789\r"[..]),
            (Terminator::Lf, b"123456789\n"),
            (Terminator::Crlf, b"123456789\r\n"),
        ] {
            let (mut f, t0) = framer(t);
            assert_eq!(codes(&f.push(wire, t0)), ["123456789"], "{t:?}");
        }
    }

    #[test]
    fn split_writes_and_two_codes_in_one_write() {
        let (mut f, t0) = framer(Terminator::Crlf);
        assert!(f.push(b"1234", t0).is_empty());
        assert!(f.push(b"5678\r", t0).is_empty(), "CR alone does not end a CRLF line");
        assert_eq!(codes(&f.push(b"\nAB12345678\r\n99887766\r\n", t0)), ["12345678", "AB12345678", "99887766"]);
    }

    #[test]
    fn a_crlf_scanner_on_a_cr_setting_still_reads_clean_codes() {
        let (mut f, t0) = framer(Terminator::Cr);
        assert_eq!(codes(&f.push(b"11111111\r\n22222222\r\n", t0)), ["11111111", "22222222"]);
    }

    #[test]
    fn noise_and_non_ascii_lines_are_dropped() {
        let (mut f, t0) = framer(Terminator::Cr);
        let out = f.push(b"12\x00\xff34\r\xe4\xbd\xa0\r\r\r28000000000000001\r", t0);
        assert_eq!(codes(&out), ["28000000000000001"]);
        assert_eq!(out.iter().filter(|f| matches!(f, Framed::Dropped(Dropped::NotAscii { .. }))).count(), 2);
    }

    #[test]
    fn an_over_long_line_is_dropped_up_to_its_terminator() {
        let (mut f, t0) = framer(Terminator::Lf);
        let long = vec![b'7'; 300];
        let mut out = f.push(&long, t0);
        out.extend(f.push(b"\n12345678\n", t0));
        assert_eq!(codes(&out), ["12345678"]);
        assert_eq!(out.iter().filter(|f| **f == Framed::Dropped(Dropped::TooLong)).count(), 1);
        // Exactly MAX_LINE is still a code.
        let exact = [b'5'; MAX_LINE];
        assert_eq!(codes(&f.push(&[&exact[..], b"\n"].concat(), t0)).len(), 1);
    }

    #[test]
    fn a_crlf_terminator_still_ends_an_over_long_line() {
        // Found by fuzzing (serial_lines): once a CRLF line overflowed, its CR was dropped, so the
        // LF was never a terminator and every code after it was lost until the line went stale.
        for long in [MAX_LINE + 1, 300] {
            let (mut f, t0) = framer(Terminator::Crlf);
            let mut out = f.push(&vec![b'5'; long], t0);
            out.extend(f.push(b"\r", t0));
            out.extend(f.push(b"\n28012345678901234\r\n", t0));
            assert_eq!(codes(&out), ["28012345678901234"], "{long} bytes");
            assert_eq!(out.iter().filter(|f| **f == Framed::Dropped(Dropped::TooLong)).count(), 1);
        }
    }

    #[test]
    fn a_quiet_half_line_is_noise_not_the_start_of_the_next_code() {
        let (mut f, t0) = framer(Terminator::Cr);
        assert!(f.push(b"%%12", t0).is_empty());
        assert_eq!(f.expire(t0 + Duration::from_millis(100)), None, "not stale yet");
        let later = t0 + Duration::from_millis(800);
        let out = f.push(b"12345678\r", later);
        assert_eq!(out[0], Framed::Dropped(Dropped::Stale { len: 4 }));
        assert_eq!(codes(&out), ["12345678"]);
    }
}
