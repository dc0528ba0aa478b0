//! `[scanners]`: how payment codes reach the cashier (serial port, keyboard wedge, camera), and
//! saving that section back into the operator's config file without touching anything else.

use super::{invalid, Config, ConfigError};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Scanners {
    /// The same code read again within this window (any source) counts once.
    pub dedupe_window_ms: u64,
    pub serial: SerialSettings,
    pub wedge: WedgeSettings,
    pub camera: CameraSettings,
}

impl Default for Scanners {
    fn default() -> Self {
        Scanners {
            dedupe_window_ms: 2_000,
            serial: SerialSettings::default(),
            wedge: WedgeSettings::default(),
            camera: CameraSettings::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Parity {
    None,
    Odd,
    Even,
}

/// What ends one code on the serial line. Most scanners send CR by default.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Terminator {
    Cr,
    Lf,
    Crlf,
}

impl Terminator {
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Terminator::Cr => b"\r",
            Terminator::Lf => b"\n",
            Terminator::Crlf => b"\r\n",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SerialSettings {
    pub enabled: bool,
    /// e.g. `/dev/ttyUSB0`, or better a stable `/dev/serial/by-id/…` link; `COM3` on Windows.
    pub port: String,
    pub baud: u32,
    pub data_bits: u8,
    pub parity: Parity,
    pub stop_bits: u8,
    pub terminator: Terminator,
    /// Bytes of an unfinished line older than this are noise and dropped (a scanner sends a code
    /// in one burst).
    pub stale_after_ms: u64,
}

impl Default for SerialSettings {
    fn default() -> Self {
        SerialSettings {
            enabled: false,
            port: String::new(),
            baud: 9_600,
            data_bits: 8,
            parity: Parity::None,
            stop_bits: 1,
            terminator: Terminator::Cr,
            stale_after_ms: 500,
        }
    }
}

/// The keyboard-wedge detector's thresholds (the detector itself runs in the window).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WedgeSettings {
    pub enabled: bool,
    /// Fewest characters that make a scan.
    pub min_length: u32,
    /// Every gap between two keys of a scan (and before its Enter) is under this.
    pub max_gap_ms: u32,
}

impl Default for WedgeSettings {
    fn default() -> Self {
        WedgeSettings { enabled: true, min_length: 8, max_gap_ms: 50 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CameraSettings {
    pub enabled: bool,
    /// A camera index (`"0"`), a device path (`/dev/video0`), or `files:<dir>` to replay image
    /// files as frames (tests, demos, checking a decoder on saved pictures). Empty: the first camera.
    pub device: String,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Beep when a code is read.
    pub beep: bool,
}

impl Default for CameraSettings {
    fn default() -> Self {
        CameraSettings { enabled: false, device: String::new(), width: 1280, height: 720, fps: 30, beep: true }
    }
}

impl Scanners {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.dedupe_window_ms > 60_000 {
            return Err(invalid("scanners.dedupe_window_ms", "0–60000"));
        }
        let s = &self.serial;
        if s.enabled && s.port.trim().is_empty() {
            return Err(invalid("scanners.serial.port", "name the serial port / 请填写串口"));
        }
        if !(50..=4_000_000).contains(&s.baud) {
            return Err(invalid("scanners.serial.baud", "50–4000000, usually 9600 or 115200"));
        }
        if !(5..=8).contains(&s.data_bits) {
            return Err(invalid("scanners.serial.data_bits", "5, 6, 7 or 8"));
        }
        if !(1..=2).contains(&s.stop_bits) {
            return Err(invalid("scanners.serial.stop_bits", "1 or 2"));
        }
        if !(20..=10_000).contains(&s.stale_after_ms) {
            return Err(invalid("scanners.serial.stale_after_ms", "20–10000"));
        }
        let w = &self.wedge;
        if !(4..=64).contains(&w.min_length) {
            return Err(invalid("scanners.wedge.min_length", "4–64"));
        }
        if !(5..=500).contains(&w.max_gap_ms) {
            return Err(invalid("scanners.wedge.max_gap_ms", "5–500"));
        }
        let c = &self.camera;
        if !(160..=3840).contains(&c.width) || !(120..=2160).contains(&c.height) {
            return Err(invalid("scanners.camera.width/height", "160×120 to 3840×2160"));
        }
        if !(1..=60).contains(&c.fps) {
            return Err(invalid("scanners.camera.fps", "1–60"));
        }
        Ok(())
    }
}

impl Config {
    /// Replaces the `[scanners]` section of the config file at `path` (comments and every other
    /// key stay as the operator wrote them), after checking the whole result still loads.
    pub fn save_scanners(path: &Path, scanners: &Scanners) -> Result<Config, ConfigError> {
        scanners.validate()?;
        let value = toml::Value::try_from(scanners).map_err(|e| invalid("scanners", e.to_string()))?;
        Config::save_section(path, "scanners", Some(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_key() {
        assert!(Scanners::default().validate().is_ok());
        let mut s = Scanners::default();
        s.serial.enabled = true;
        assert!(matches!(s.validate(), Err(ConfigError::Invalid { key, .. }) if key == "scanners.serial.port"));
        let mut s = Scanners::default();
        s.wedge.max_gap_ms = 0;
        assert!(matches!(s.validate(), Err(ConfigError::Invalid { key, .. }) if key == "scanners.wedge.max_gap_ms"));
        let mut s = Scanners::default();
        s.serial.data_bits = 9;
        assert!(s.validate().is_err());
    }

    #[test]
    fn saving_keeps_comments_and_other_sections() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("paydesk.toml");
        let mut text = Config::demo(9).to_toml().unwrap();
        text.insert_str(0, "# the store's own note\n");
        std::fs::write(&path, &text).unwrap();
        let mut s = Scanners {
            serial: SerialSettings { enabled: true, port: "/dev/ttyUSB0".into(), baud: 115_200, ..Default::default() },
            ..Default::default()
        };
        let saved = Config::save_scanners(&path, &s).unwrap();
        assert_eq!(saved.scanners, s);
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(written.starts_with("# the store's own note\n"), "{written}");
        assert_eq!(Config::load(&path).unwrap().scanners, s);
        assert_eq!(Config::load(&path).unwrap().terminal.code, "DEMO01");
        // An invalid section is refused and the file is left as it was.
        s.serial.port.clear();
        assert!(Config::save_scanners(&path, &s).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), written);
    }
}
