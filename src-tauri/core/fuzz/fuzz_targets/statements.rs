//! Reconciliation statements: the bytes of a bill as the channel or a manager hands it over.
//! The first byte picks the reader: Alipay's trade-bill CSV (GBK, `#` lines), the same inside a
//! zip, WeChat Pay's trade bill (with its own SHA-1, so the reader behind the hash is reached, or
//! with a wrong one) and our documented CSV.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paydesk_core::fuzzing::{alipay_detail_csv, alipay_zip_of, sha1_hex};
use paydesk_core::recon::bills::{alipay_trade_bill, generic_csv, wechat_trade_bill};
use paydesk_core::recon::statement::{StatementError, StatementRow};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let ours = pick % 5 == 4;
    let read: Result<Vec<StatementRow>, StatementError> = match pick % 5 {
        0 => alipay_detail_csv(body),
        1 => match alipay_zip_of(body) {
            Ok(zip) => {
                // The zip adds nothing the CSV reader would not say.
                let direct = alipay_detail_csv(body);
                let zipped = alipay_trade_bill(&zip);
                assert_eq!(direct.is_ok(), zipped.is_ok(), "{direct:?} vs {zipped:?}");
                zipped
            }
            Err(_) => return,
        },
        2 => wechat_trade_bill(body, Some(&sha1_hex(body))),
        3 => {
            // A hash that does not fit: nothing of the file is read.
            let wrong = sha1_hex(&[body, b"x"].concat());
            let out = wechat_trade_bill(body, Some(&wrong));
            assert!(matches!(out, Err(StatementError::Hash(_))), "{out:?}");
            out
        }
        _ => generic_csv(body),
    };
    if let Ok(rows) = read {
        for row in rows {
            // A row moves a positive amount (a refund's too) and names the wallet's trade (our
            // CSV: our order, which it is matched by).
            assert!(row.amount.0 > 0, "{row:?}");
            assert!(if ours { !row.order_no.is_empty() } else { !row.trade_no.is_empty() }, "{row:?}");
        }
    }
});
