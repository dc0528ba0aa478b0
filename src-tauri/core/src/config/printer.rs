//! `[printer]`: the till's receipt printer (ESC/POS), its paper, what it prints by itself, and the
//! cash drawer behind it. See `print`.

use super::{invalid, ConfigError};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PrinterConfig {
    /// Where the printer is: `tcp://192.168.1.80:9100` (a network printer's raw port),
    /// `serial:/dev/ttyUSB0` (with `baud`), or a device file such as `/dev/usb/lp0` (a USB
    /// printer through the kernel's printer class driver).
    pub address: String,
    /// Serial lines only: the printer's speed (its self-test page says it; 9600 or 19200 mostly).
    #[serde(default = "default_baud")]
    pub baud: u32,
    /// Paper width in millimetres: 58 (32 characters a line) or 80 (48).
    #[serde(default = "default_paper")]
    pub paper_mm: u32,
    /// Print the receipt by itself when a payment at this counter is paid.
    #[serde(default)]
    pub auto_print: bool,
    /// Ask the printer for its state (DLE EOT) before and after each slip: paper out, cover open,
    /// offline. Network and serial printers answer; switch it off for one that does not (a
    /// printer that never answers is then only found out when it stops taking bytes).
    #[serde(default = "default_true")]
    pub status: bool,
    /// How long a connection, a write or a status answer may take.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// The receipt's first line; the terminal's name when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub header: String,
    /// A closing line ("谢谢惠顾"), printed above the receipt's QR code.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub footer: String,
    /// The cash drawer plugged into the printer; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drawer: Option<DrawerConfig>,
}

/// The drawer kick: `ESC p m t1 t2`, a pulse on pin 2 or 5, on for `on_ms` then off for `off_ms`
/// (both in steps of 2 ms, as the command counts them). Drawers differ: the defaults open most,
/// and a clone that does not open wants a longer pulse (up to 510 ms).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DrawerConfig {
    #[serde(default = "default_pin")]
    pub pin: u8,
    #[serde(default = "default_on_ms")]
    pub on_ms: u32,
    /// At least 4× `on_ms`, as drawer makers ask.
    #[serde(default = "default_off_ms")]
    pub off_ms: u32,
    /// Open it with each refund slip (a cash drawer kept for change and refunds).
    #[serde(default)]
    pub on_refund: bool,
}

/// Where the bytes go, read from `address`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterAddress {
    Tcp(String),
    Serial { path: PathBuf, baud: u32 },
    Device(PathBuf),
}

fn default_baud() -> u32 {
    9600
}
fn default_paper() -> u32 {
    80
}
fn default_true() -> bool {
    true
}
fn default_timeout_ms() -> u64 {
    3000
}
fn default_pin() -> u8 {
    2
}
fn default_on_ms() -> u32 {
    100
}
fn default_off_ms() -> u32 {
    500
}

const BAUDS: [u32; 8] = [2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400];

impl PrinterConfig {
    /// A printer at `address` with every other setting at its default.
    pub fn new(address: String) -> PrinterConfig {
        PrinterConfig {
            address,
            baud: default_baud(),
            paper_mm: default_paper(),
            auto_print: false,
            status: true,
            timeout_ms: default_timeout_ms(),
            header: String::new(),
            footer: String::new(),
            drawer: None,
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.parsed_address()?;
        if !BAUDS.contains(&self.baud) {
            return Err(invalid("printer.baud", "2400, 4800, 9600, 19200, 38400, 57600, 115200 or 230400"));
        }
        if self.paper_mm != 58 && self.paper_mm != 80 {
            return Err(invalid("printer.paper_mm", "58 or 80 / 58 或 80"));
        }
        if !(200..=60_000).contains(&self.timeout_ms) {
            return Err(invalid("printer.timeout_ms", "200–60000"));
        }
        for (key, text) in [("printer.header", &self.header), ("printer.footer", &self.footer)] {
            if text.chars().count() > 64 || !crate::text::visible(text) {
                return Err(invalid(key, "up to 64 visible characters, one line / 最多 64 个可见字符，一行"));
            }
        }
        if let Some(d) = &self.drawer {
            if d.pin != 2 && d.pin != 5 {
                return Err(invalid("printer.drawer.pin", "2 or 5 / 2 或 5"));
            }
            if !(2..=510).contains(&d.on_ms) || !(2..=510).contains(&d.off_ms) {
                return Err(invalid("printer.drawer.on_ms", "on_ms and off_ms: 2–510 / 2 到 510 毫秒"));
            }
            if d.off_ms < d.on_ms * 4 {
                return Err(invalid("printer.drawer.off_ms", "at least 4 × on_ms / 至少为 on_ms 的 4 倍"));
            }
        }
        Ok(())
    }

    pub fn parsed_address(&self) -> Result<PrinterAddress, ConfigError> {
        parse_address(&self.address, self.baud).ok_or_else(|| {
            invalid(
                "printer.address",
                "tcp://host:9100, serial:/dev/ttyUSB0 or /dev/usb/lp0 / 应为 tcp://主机:9100、serial:/dev/ttyUSB0 或 /dev/usb/lp0",
            )
        })
    }

    /// Characters of the standard font on one line (a Chinese character takes two).
    pub fn columns(&self) -> usize {
        if self.paper_mm == 58 {
            32
        } else {
            48
        }
    }
}

impl super::Config {
    /// Saves `[printer]` (or removes it: no printer) into the config file at `path`.
    pub fn save_printer(path: &std::path::Path, printer: Option<&PrinterConfig>) -> Result<super::Config, ConfigError> {
        let value = match printer {
            Some(p) => {
                p.validate()?;
                Some(toml::Value::try_from(p).map_err(|e| invalid("printer", e.to_string()))?)
            }
            None => None,
        };
        super::Config::save_section(path, "printer", value)
    }
}

fn parse_address(text: &str, baud: u32) -> Option<PrinterAddress> {
    let text = text.trim();
    if text.is_empty() || !crate::text::visible(text) {
        return None;
    }
    if let Some(rest) = text.strip_prefix("tcp://") {
        let (host, port) = rest.rsplit_once(':')?;
        let port: u16 = port.parse().ok()?;
        if host.is_empty() || port == 0 || host.contains('/') {
            return None;
        }
        return Some(PrinterAddress::Tcp(format!("{host}:{port}")));
    }
    if let Some(path) = text.strip_prefix("serial:") {
        return path.starts_with('/').then(|| PrinterAddress::Serial { path: PathBuf::from(path), baud });
    }
    text.starts_with('/').then(|| PrinterAddress::Device(PathBuf::from(text)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn config(address: &str) -> PrinterConfig {
        let parsed: PrinterConfig = toml::from_str(&format!("address = {address:?}")).expect("parse");
        assert_eq!(parsed, PrinterConfig::new(address.into()));
        parsed
    }

    #[test]
    fn addresses_read_as_their_transport_and_bad_ones_name_the_key() {
        assert_eq!(
            config("tcp://192.168.1.80:9100").parsed_address().ok(),
            Some(PrinterAddress::Tcp("192.168.1.80:9100".into()))
        );
        assert_eq!(
            config("serial:/dev/ttyUSB0").parsed_address().ok(),
            Some(PrinterAddress::Serial { path: "/dev/ttyUSB0".into(), baud: 9600 })
        );
        assert_eq!(config("/dev/usb/lp0").parsed_address().ok(), Some(PrinterAddress::Device("/dev/usb/lp0".into())));
        for bad in
            ["", "tcp://host", "tcp://:9100", "tcp://h:0", "tcp://h:99999", "serial:ttyUSB0", "lp0", "http://x:80"]
        {
            let e = config(bad).validate().expect_err(bad);
            assert!(e.to_string().contains("printer.address"), "{bad}: {e}");
        }
    }

    #[test]
    fn saving_the_printer_keeps_the_rest_of_the_file_and_refuses_a_bad_one() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("config.toml");
        let text = Config::demo(9).to_toml().expect("demo");
        std::fs::write(&path, format!("# the store's own note\n{text}")).expect("write");
        let mut p = PrinterConfig::new("tcp://127.0.0.1:9100".into());
        p.footer = "谢谢惠顾".into();
        p.drawer = Some(DrawerConfig { pin: 2, on_ms: 100, off_ms: 400, on_refund: true });
        let saved = Config::save_printer(&path, Some(&p)).expect("save");
        assert_eq!(saved.printer.as_ref(), Some(&p));
        let written = std::fs::read_to_string(&path).expect("read");
        assert!(written.starts_with("# the store's own note\n"), "{written}");
        p.paper_mm = 76;
        assert!(Config::save_printer(&path, Some(&p)).is_err());
        assert_eq!(std::fs::read_to_string(&path).expect("read"), written, "a bad one changes nothing");
        let removed = Config::save_printer(&path, None).expect("remove");
        assert_eq!(removed.printer, None);
        assert!(!std::fs::read_to_string(&path).expect("read").contains("[printer"));
    }

    #[test]
    fn defaults_are_valid_and_each_bad_value_names_its_key() {
        let ok = config("tcp://127.0.0.1:9100");
        ok.validate().expect("defaults");
        assert_eq!((ok.paper_mm, ok.columns(), ok.status, ok.auto_print), (80, 48, true, false));
        type Spoil = fn(&mut PrinterConfig);
        let cases: [(&str, Spoil); 6] = [
            ("printer.paper_mm", |c| c.paper_mm = 76),
            ("printer.baud", |c| c.baud = 12345),
            ("printer.timeout_ms", |c| c.timeout_ms = 10),
            ("printer.header", |c| c.header = "a\u{202E}b".into()),
            ("printer.drawer.pin", |c| {
                c.drawer = Some(DrawerConfig { pin: 3, on_ms: 100, off_ms: 500, on_refund: false })
            }),
            ("printer.drawer.off_ms", |c| {
                c.drawer = Some(DrawerConfig { pin: 2, on_ms: 100, off_ms: 200, on_refund: false })
            }),
        ];
        for (key, spoil) in cases {
            let mut c = ok.clone();
            spoil(&mut c);
            let e = c.validate().expect_err(key);
            assert!(e.to_string().contains(key), "{key}: {e}");
        }
    }
}
