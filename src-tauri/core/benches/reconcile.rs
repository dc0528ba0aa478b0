//! Reconciliation of a busy day: a ledger with 100,000 paid payments on each wallet that day (real
//! SQLite file), and the wallets' bills of that day with a row each: Alipay's zip of a GBK CSV and
//! WeChat Pay's backtick text. Times the whole run as a manager's import makes it (read the file,
//! keep it, load the ledger's day, match, write the run) and, apart, reading the file alone.
//!
//! `cargo bench -p paydesk-core --bench reconcile [-- ROWS]` (default 100000; goal ≤ 2 s a run).

#[path = "support.rs"]
mod support;

use chrono::NaiveDate;
use paydesk_core::engine::recon::{day_bounds, StatementSource};
use paydesk_core::engine::Cashier;
use paydesk_core::ledger::Ledger;
use paydesk_core::recon::bills::read_statement;
use rusqlite::params;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

const RUNS: usize = 5;

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

fn beijing(ms: i64) -> String {
    let zone = chrono::FixedOffset::east_opt(8 * 3600).expect("+08:00");
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&zone)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The day's payments through the day: (order number, amount, paid at). `prefix` is the till's
/// code and 10 digits: the numbers are in the till's own format (another till's are not matched).
fn payments(start: i64, n: usize, prefix: &str) -> Vec<(String, i64, i64)> {
    let mut rng = fastrand::Rng::with_seed(18);
    let step = 86_400_000 / n as i64;
    (0..n).map(|i| (format!("{prefix}{i:06}"), 100 + rng.i64(0..50_000), start + i as i64 * step)).collect()
}

fn alipay_zip(rows: &[(String, i64, i64)]) -> Vec<u8> {
    let mut csv = String::from("#支付宝业务明细查询\r\n#账号：[20880000000000010156]\r\n#起始日期：[2026年01月15日 00:00:00]   终止日期：[2026年01月16日 00:00:00]\r\n#-----------------------------------------业务明细列表----------------------------------------\r\n");
    csv += "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注\r\n";
    for (i, (order, fen, at)) in rows.iter().enumerate() {
        let t = beijing(*at);
        let fee = (fen * 60 + 5_000) / 10_000;
        csv += &format!(
            "20260115220014{i:08}\t,{order}\t,交易\t,商品\t,{t}\t,{t}\t,\t,\t,\t,\t,159****5620\t,{a}\t,{a}\t,0.00\t,0.00\t,0.00\t,0.00\t,0.00\t,\t,0.00\t,0.00\t,\t,-{f}\t,0.00\t,\r\n",
            a = yuan(*fen),
            f = yuan(fee)
        );
    }
    csv += "#-----------------------------------------业务明细列表结束------------------------------------\r\n";
    csv += &format!("#交易合计：{}笔，退款合计：0笔\r\n#导出时间：[2026年01月16日 09:00:00]\r\n", rows.len());
    let (gbk, _, _) = encoding_rs::GBK.encode(&csv);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("20880000000000010156_20260115_业务明细.csv", options).expect("zip entry");
    zip.write_all(&gbk).expect("zip write");
    zip.finish().expect("zip").into_inner()
}

fn wechat_text(rows: &[(String, i64, i64)]) -> Vec<u8> {
    let mut text = String::from("\u{feff}交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n");
    let (mut total, mut fees) = (0i64, 0i64);
    for (i, (order, fen, at)) in rows.iter().enumerate() {
        let fee = (fen * 60 + 5_000) / 10_000;
        total += fen;
        fees += fee;
        text += &format!(
            "`{},`wxd930ea5d5a258f4f,`1900000109,`0,`,`42000012342026011500{i:08},`{order},`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`MICROPAY,`SUCCESS,`OTHERS,`CNY,`{a},`0.00,`0,`0,`0.00,`0.00,`,`,`商品,`,`{f}000,`0.60%,`{a},`0.00,`\r\n",
            beijing(*at),
            a = yuan(*fen),
            f = yuan(fee)
        );
    }
    text += "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n";
    text += &format!("`{},`{},`0.00,`0.00,`{}000,`{},`0.00\r\n", rows.len(), yuan(total), yuan(fees), yuan(total));
    text.into_bytes()
}

fn main() {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger.db");
    drop(Ledger::open(&path).expect("schema"));
    let day = NaiveDate::from_ymd_opt(2026, 1, 15).expect("day");
    let (start, _) = day_bounds(day);
    let terminal = "T01";
    let alipay = payments(start, n, "T012601151200");
    let wechat = payments(start, n, "T012601151300");
    {
        let mut conn = rusqlite::Connection::open(&path).expect("ledger file");
        conn.pragma_update(None, "synchronous", "OFF").expect("pragma");
        let tx = conn.transaction().expect("tx");
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO payments (id, terminal, channel, flow, amount_fen, subject, merchant, wallet, state, \
                     created_at, updated_at, paid_at, settled_at, deadline_at, horizon_at) \
                     VALUES (?1, ?2, ?3, 'barcode', ?4, '', 'M', ?3, 'paid', ?5, ?5, ?5, ?5, ?5, ?5)",
                )
                .expect("insert");
            for (channel, rows) in [("alipay", &alipay), ("wechat", &wechat)] {
                for (order, fen, at) in rows.iter() {
                    insert.execute(params![order, terminal, channel, fen, at]).expect("payment");
                }
            }
        }
        tx.commit().expect("commit");
    }
    let ledger = Arc::new(Ledger::open(&path).expect("ledger"));
    let mut config = support::demo_config(1, dir.path());
    config.terminal.code = terminal.into();
    let channels = paydesk_core::channel::from_config(&config).expect("channels");
    let cashier = Cashier::new(config, ledger, channels);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");

    for (channel, bytes) in [("alipay", alipay_zip(&alipay)), ("wechat", wechat_text(&wechat))] {
        let mut read = Vec::new();
        let mut whole = Vec::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            let (_, rows) = read_statement(&bytes, None).expect("a bill");
            read.push(t.elapsed());
            assert_eq!(rows.len(), n);
            let t = Instant::now();
            let report = rt
                .block_on(cashier.reconcile(channel, day, StatementSource::Import(bytes.clone()), "bench"))
                .expect("reconciled");
            whole.push(t.elapsed());
            assert_eq!((report.run.matched, report.run.differences), (n as i64, 0), "{channel}");
        }
        println!("{channel}: a bill of {n} rows, {} KiB", bytes.len() / 1024);
        support::report(&format!("{channel} read the file"), read);
        support::report(&format!("{channel} whole run (read, keep, match, write)"), whole);
    }
}
