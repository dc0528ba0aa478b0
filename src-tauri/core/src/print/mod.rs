//! Receipts and slips on the till's ESC/POS printer.
//!
//! - `slip` says what a slip says (lines), from the views the screens show; pure.
//! - `encode` turns a slip into ESC/POS bytes (the `escpos` crate, GB mode); pure.
//! - `decode` reads bytes back as a printer prints them: the window's preview and the tests.
//! - `transport` sends bytes over TCP 9100, a serial line or a USB printer's device file, and reads
//!   the printer's status (`status`).
//! - `service` keeps the queue in the ledger and prints it in the background.
//!
//! Invariants: printing never blocks, fails or undoes a payment (a job is queued after the
//! payment is recorded, and printed by its own task); a failed job stays listed until printed or
//! dismissed; the printer never receives a byte of outside text as a command.

pub mod decode;
pub mod encode;
pub mod service;
pub mod slip;
pub mod status;
pub mod transport;

pub use service::{JobKind, Preview, PrintJobView, PrinterCheck, Printing};
pub use transport::usb_printers;

use crate::i18n::{Lang, Localized};

/// Why a slip did not print.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrintError {
    #[error("no printer is set up")]
    NotSetUp,
    #[error("no cash drawer is set up")]
    NoDrawer,
    #[error("the printer cannot be reached: {0}")]
    Unreachable(String),
    #[error("the printer does not answer")]
    NoAnswer,
    #[error("the printer is offline")]
    Offline,
    #[error("out of paper")]
    PaperOut,
    #[error("the cover is open")]
    CoverOpen,
    #[error("the printer reports an error")]
    PrinterError,
    #[error("the printer went away while printing: {0}")]
    Disconnected(String),
    #[error("the printer stopped taking the slip")]
    Timeout,
    #[error("the paper ran out while printing")]
    PaperOutWhilePrinting,
    #[error("the slip cannot be made: {0}")]
    Slip(String),
    #[error("the app stopped while this slip was printing")]
    Interrupted,
    #[error("print queue: {0}")]
    Ledger(String),
    #[error("this needs a manager's approval for it")]
    Forbidden,
    #[error("the printing task failed: {0}")]
    Task(String),
}

impl PrintError {
    /// The code the ledger keeps (the message is made in the reader's language when shown).
    pub fn code(&self) -> &'static str {
        match self {
            PrintError::NotSetUp => "not_set_up",
            PrintError::NoDrawer => "no_drawer",
            PrintError::Unreachable(_) => "unreachable",
            PrintError::NoAnswer => "no_answer",
            PrintError::Offline => "offline",
            PrintError::PaperOut => "paper_out",
            PrintError::CoverOpen => "cover_open",
            PrintError::PrinterError => "printer_error",
            PrintError::Disconnected(_) => "disconnected",
            PrintError::Timeout => "timeout",
            PrintError::PaperOutWhilePrinting => "paper_out_while_printing",
            PrintError::Slip(_) => "slip",
            PrintError::Interrupted => "interrupted",
            PrintError::Ledger(_) => "ledger",
            PrintError::Forbidden => "forbidden",
            PrintError::Task(_) => "task",
        }
    }

    /// What the transport or the books said, for support (none for a printer's plain state).
    pub fn detail(&self) -> String {
        match self {
            PrintError::Unreachable(d)
            | PrintError::Disconnected(d)
            | PrintError::Slip(d)
            | PrintError::Ledger(d)
            | PrintError::Task(d) => d.clone(),
            _ => String::new(),
        }
    }

    /// Back from a stored code and detail.
    pub fn from_code(code: &str, detail: &str) -> PrintError {
        let d = detail.to_string();
        match code {
            "not_set_up" => PrintError::NotSetUp,
            "no_drawer" => PrintError::NoDrawer,
            "unreachable" => PrintError::Unreachable(d),
            "no_answer" => PrintError::NoAnswer,
            "offline" => PrintError::Offline,
            "paper_out" => PrintError::PaperOut,
            "cover_open" => PrintError::CoverOpen,
            "printer_error" => PrintError::PrinterError,
            "disconnected" => PrintError::Disconnected(d),
            "timeout" => PrintError::Timeout,
            "paper_out_while_printing" => PrintError::PaperOutWhilePrinting,
            "interrupted" => PrintError::Interrupted,
            "slip" => PrintError::Slip(d),
            "forbidden" => PrintError::Forbidden,
            "task" => PrintError::Task(d),
            _ => PrintError::Ledger(d),
        }
    }
}

impl Localized for PrintError {
    fn message(&self, lang: Lang) -> String {
        let (zh, en) = match self {
            PrintError::NotSetUp => (
                "未设置打印机：请在「管理」的「打印机」页填写打印机地址",
                "No printer is set up: enter its address on the Printer tab of the Manager area",
            ),
            PrintError::NoDrawer => ("未设置钱箱", "No cash drawer is set up"),
            PrintError::Unreachable(_) => (
                "连不上打印机：请检查电源、网线或数据线和地址",
                "Cannot reach the printer: check its power, cable and address",
            ),
            PrintError::NoAnswer => (
                "打印机没有应答：请检查它是否开机、是否连着这台收银机",
                "The printer does not answer: check that it is on and connected to this till",
            ),
            PrintError::Offline => ("打印机离线：请检查打印机", "The printer is offline: check it"),
            PrintError::PaperOut => {
                ("打印机缺纸：装纸后点“重试”", "The printer is out of paper: load paper, then Retry")
            }
            PrintError::CoverOpen => {
                ("打印机盖未合上：合上后点“重试”", "The printer's cover is open: close it, then Retry")
            }
            PrintError::PrinterError => (
                "打印机报告故障（如切刀卡纸）：排除后点“重试”",
                "The printer reports a fault (a cutter jam, say): clear it, then Retry",
            ),
            PrintError::Disconnected(_) => (
                "打印中与打印机断开：小票可能不完整，请点“重试”重打",
                "The printer went away while printing: the slip may be incomplete, Retry to print it again",
            ),
            PrintError::Timeout => {
                ("打印机不再接收数据：请检查打印机后点“重试”", "The printer stopped taking data: check it, then Retry")
            }
            PrintError::PaperOutWhilePrinting => (
                "打印中缺纸：小票可能不完整，装纸后点“重试”重打",
                "The paper ran out while printing: the slip may be incomplete; load paper, then Retry",
            ),
            PrintError::Slip(_) => ("无法生成这张单据", "This slip cannot be made"),
            PrintError::Interrupted => (
                "打印时程序关闭了：不确定是否已打出，如没有请点“重试”",
                "The app closed while this printed: if it did not come out, Retry",
            ),
            PrintError::Ledger(_) => ("打印队列读写失败", "The print queue could not be read or written"),
            PrintError::Forbidden => ("需要店长授权", "This needs a manager's approval"),
            PrintError::Task(_) => (
                "打印程序出错：不确定是否已打出，如没有请点“重试”",
                "The printing task failed: if the slip did not come out, Retry",
            ),
        };
        let text = lang.pick(zh, en).to_string();
        match self {
            PrintError::Slip(d) if !d.is_empty() => format!("{text}{}{d}", lang.pick("：", ": ")),
            _ => text,
        }
    }
}

impl From<crate::ledger::LedgerError> for PrintError {
    fn from(e: crate::ledger::LedgerError) -> Self {
        PrintError::Ledger(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_comes_back_from_its_code_with_a_message_in_both_languages() {
        let all = [
            PrintError::NotSetUp,
            PrintError::NoDrawer,
            PrintError::Unreachable("x".into()),
            PrintError::NoAnswer,
            PrintError::Offline,
            PrintError::PaperOut,
            PrintError::CoverOpen,
            PrintError::PrinterError,
            PrintError::Disconnected("x".into()),
            PrintError::Timeout,
            PrintError::PaperOutWhilePrinting,
            PrintError::Slip("x".into()),
            PrintError::Interrupted,
            PrintError::Ledger("x".into()),
            PrintError::Forbidden,
            PrintError::Task("x".into()),
        ];
        for e in all {
            assert_eq!(PrintError::from_code(e.code(), &e.detail()), e);
            assert!(!e.message(Lang::Zh).is_empty() && !e.message(Lang::En).is_empty());
        }
    }
}
