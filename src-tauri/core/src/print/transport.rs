//! Bytes to the printer: a network printer's raw port (TCP 9100), a serial line, or a USB
//! printer's device file. Blocking, with a deadline on every step; run it off the runtime's
//! threads. Status is asked where the line carries answers back (TCP and serial); the USB printer
//! class device is written only.

use super::status::{self, PrinterState};
use super::PrintError;
use crate::config::PrinterAddress;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// What the printer said after taking a slip, when it was asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    pub after: Option<PrinterState>,
}

enum Conn {
    Tcp(TcpStream),
    Serial(Box<dyn serialport::SerialPort>),
    Device(std::fs::File),
}

/// Sends `bytes`. With `ask`, the printer's state is read first (a slip is not sent to a printer
/// without paper, with its cover open or offline) and again after (paper that ran out, or a
/// printer that went away, while it printed).
pub fn deliver(addr: &PrinterAddress, bytes: &[u8], timeout: Duration, ask: bool) -> Result<Delivered, PrintError> {
    let mut conn = open(addr, timeout)?;
    let ask = ask && conn.answers();
    if ask {
        if let Some(stop) = conn.state(timeout)?.blocking() {
            return Err(stop);
        }
    }
    conn.write_all(bytes)?;
    if !ask {
        return Ok(Delivered::default());
    }
    let after = conn.state(timeout).map_err(|e| match e {
        // It took the bytes, then stopped answering: whether it printed them is not known.
        PrintError::NoAnswer => PrintError::Disconnected("no status after the slip".into()),
        e => e,
    })?;
    if after.paper_out {
        return Err(PrintError::PaperOutWhilePrinting);
    }
    Ok(Delivered { after: Some(after) })
}

/// The printer's state alone (the settings' "check the printer").
pub fn ask_state(addr: &PrinterAddress, timeout: Duration) -> Result<Option<PrinterState>, PrintError> {
    let mut conn = open(addr, timeout)?;
    if !conn.answers() {
        return Ok(None);
    }
    conn.state(timeout).map(Some)
}

fn open(addr: &PrinterAddress, timeout: Duration) -> Result<Conn, PrintError> {
    match addr {
        PrinterAddress::Tcp(host_port) => {
            let addrs: Vec<_> = host_port
                .to_socket_addrs()
                .map_err(|e| PrintError::Unreachable(format!("{host_port}: {e}")))?
                .collect();
            let mut last = format!("{host_port}: no address");
            for a in addrs {
                match TcpStream::connect_timeout(&a, timeout) {
                    Ok(s) => {
                        let _ = s.set_nodelay(true);
                        s.set_read_timeout(Some(timeout)).map_err(|e| PrintError::Unreachable(e.to_string()))?;
                        s.set_write_timeout(Some(timeout)).map_err(|e| PrintError::Unreachable(e.to_string()))?;
                        return Ok(Conn::Tcp(s));
                    }
                    Err(e) => last = format!("{a}: {e}"),
                }
            }
            Err(PrintError::Unreachable(last))
        }
        PrinterAddress::Serial { path, baud } => serialport::new(path.to_string_lossy(), *baud)
            .timeout(timeout)
            .open()
            .map(Conn::Serial)
            .map_err(|e| PrintError::Unreachable(format!("{}: {e}", path.display()))),
        PrinterAddress::Device(path) => std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map(Conn::Device)
            .map_err(|e| PrintError::Unreachable(format!("{}: {e}", path.display()))),
    }
}

impl Conn {
    fn answers(&self) -> bool {
        !matches!(self, Conn::Device(_))
    }

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), PrintError> {
        let w = self.writer();
        for chunk in bytes.chunks(1024) {
            w.write_all(chunk).map_err(write_error)?;
        }
        w.flush().map_err(write_error)
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Conn::Tcp(s) => s,
            Conn::Serial(p) => p,
            Conn::Device(f) => f,
        }
    }

    fn reader(&mut self) -> &mut dyn Read {
        match self {
            Conn::Tcp(s) => s,
            Conn::Serial(p) => p,
            Conn::Device(f) => f,
        }
    }

    /// One status byte for `DLE EOT n`, skipping anything else the printer sends meanwhile.
    fn ask(&mut self, n: u8, timeout: Duration) -> Result<u8, PrintError> {
        self.writer().write_all(&status::request(n)).map_err(write_error)?;
        let _ = self.writer().flush();
        let deadline = Instant::now() + timeout;
        let mut byte = [0u8; 1];
        while Instant::now() < deadline {
            match self.reader().read(&mut byte) {
                Ok(0) => return Err(PrintError::Disconnected("the printer closed the connection".into())),
                Ok(_) if status::is_status(byte[0]) => return Ok(byte[0]),
                Ok(_) => continue,
                Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(PrintError::Disconnected(e.to_string())),
            }
        }
        Err(PrintError::NoAnswer)
    }

    fn state(&mut self, timeout: Duration) -> Result<PrinterState, PrintError> {
        let printer = self.ask(status::PRINTER, timeout)?;
        let cause = self.ask(status::OFFLINE_CAUSE, timeout)?;
        let paper = self.ask(status::PAPER, timeout)?;
        Ok(PrinterState::from_answers(Some(printer), Some(cause), Some(paper)))
    }
}

fn write_error(e: std::io::Error) -> PrintError {
    match e.kind() {
        ErrorKind::TimedOut | ErrorKind::WouldBlock => PrintError::Timeout,
        _ => PrintError::Disconnected(e.to_string()),
    }
}

/// The USB printers the kernel's printer class driver offers (`/dev/usb/lp0`…), for the settings.
pub fn usb_printers() -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir("/dev/usb")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("lp"))
                .map(|e| e.path().display().to_string())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}
