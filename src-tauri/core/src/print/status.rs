//! The printer's real-time status (`DLE EOT n`, Epson ESC/POS): one byte an answer, bits 1 and 4
//! always set and bits 0 and 7 always clear, which tells an answer from stray bytes.

/// `DLE EOT n`.
pub fn request(n: u8) -> [u8; 3] {
    [0x10, 0x04, n]
}

/// n = 1, printer status.
pub const PRINTER: u8 = 1;
/// n = 2, offline cause.
pub const OFFLINE_CAUSE: u8 = 2;
/// n = 4, roll paper sensor.
pub const PAPER: u8 = 4;

/// Whether `b` has the fixed bits of a status byte.
pub fn is_status(b: u8) -> bool {
    b & 0x93 == 0x12
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrinterState {
    pub offline: bool,
    pub cover_open: bool,
    /// Printing stopped at the paper's end (offline cause), or the paper end sensor sees none.
    pub paper_out: bool,
    pub paper_near_end: bool,
    /// An error the printer reports (cutter jam, head too hot…).
    pub error: bool,
}

impl PrinterState {
    /// Reads the answers to n = 1, 2 and 4 (any missing one reads as all clear).
    pub fn from_answers(printer: Option<u8>, offline_cause: Option<u8>, paper: Option<u8>) -> PrinterState {
        let printer = printer.unwrap_or(0x12);
        let cause = offline_cause.unwrap_or(0x12);
        let paper = paper.unwrap_or(0x12);
        PrinterState {
            offline: printer & 0x08 != 0,
            cover_open: cause & 0x04 != 0,
            paper_out: cause & 0x20 != 0 || paper & 0x60 != 0,
            paper_near_end: paper & 0x0C != 0,
            error: cause & 0x40 != 0,
        }
    }

    /// What stops a slip, if anything (the near end only warns).
    pub fn blocking(&self) -> Option<super::PrintError> {
        use super::PrintError;
        if self.paper_out {
            Some(PrintError::PaperOut)
        } else if self.cover_open {
            Some(PrintError::CoverOpen)
        } else if self.error {
            Some(PrintError::PrinterError)
        } else if self.offline {
            Some(PrintError::Offline)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_read_as_the_printer_means_them() {
        assert!(is_status(0x12) && is_status(0x16) && is_status(0x72) && !is_status(0x00) && !is_status(0x93));
        let ok = PrinterState::from_answers(Some(0x12), Some(0x12), Some(0x12));
        assert_eq!(ok, PrinterState::default());
        assert_eq!(ok.blocking(), None);
        // Offline because the paper ended; the sensor agrees (bits 5 and 6).
        let out = PrinterState::from_answers(Some(0x1A), Some(0x32), Some(0x7E));
        assert!(out.paper_out && out.offline && out.paper_near_end);
        assert_eq!(out.blocking(), Some(super::super::PrintError::PaperOut));
        let cover = PrinterState::from_answers(Some(0x1A), Some(0x16), Some(0x12));
        assert_eq!(cover.blocking(), Some(super::super::PrintError::CoverOpen));
        let near = PrinterState::from_answers(Some(0x12), None, Some(0x1E));
        assert!(near.paper_near_end && near.blocking().is_none());
    }
}
