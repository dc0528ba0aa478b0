//! `paydesk-cli` as scripts use it: exit status, JSON output, messages, the same config and
//! ledger as the app.

mod common;

use common::{alipay_code, cli, cli_env, config_for, fast_sandbox, write_config};
use paydesk_sandbox::Sandbox;
use std::path::Path;

fn stdout_json(out: &std::process::Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

async fn setup() -> (Sandbox, tempfile::TempDir, std::path::PathBuf) {
    let sandbox = Sandbox::start(fast_sandbox()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &config_for(&sandbox.base_url()));
    (sandbox, dir, config)
}

#[tokio::test]
async fn charge_exit_status_follows_the_outcome() {
    let (sandbox, dir, config) = setup().await;
    let paid =
        cli(&config, &["--json", "charge", "--channel", "abc", "--amount", "12.34", "--code", &alipay_code("10")])
            .await;
    assert_eq!(paid.status.code(), Some(0), "{}", String::from_utf8_lossy(&paid.stderr));
    let json = stdout_json(&paid);
    assert_eq!(json["state"], "paid");
    assert_eq!(json["amount_fen"], 1234);
    assert_eq!(json["code_masked"], "2800**********0010");
    let id = json["id"].as_str().unwrap().to_string();

    let failed = cli(&config, &["charge", "--channel", "abc", "--amount", "1", "--code", &alipay_code("91")]).await;
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stdout).contains("余额不足"));

    let bad_amount =
        cli(&config, &["charge", "--channel", "abc", "--amount", "12.345", "--code", &alipay_code("10")]).await;
    assert_eq!(bad_amount.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_amount.stderr).contains("金额最多两位小数"));
    let english =
        cli(&config, &["--lang", "en", "charge", "--channel", "abc", "--amount", "1", "--code", "6901234567892"]).await;
    assert_eq!(english.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&english.stderr).contains("product barcode"));

    // query, refund and list on the same ledger.
    let query = cli(&config, &["--json", "query", &id]).await;
    assert_eq!(query.status.code(), Some(0));
    assert_eq!(stdout_json(&query)["state"], "paid");
    // Refunds need a manager: none yet, then one made from the command line.
    let refund_args = ["--json", "refund", id.as_str(), "--amount", "2.34", "--reason", "退货"];
    let refused = cli(&config, &refund_args).await;
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("需要店长授权"));
    let added =
        cli_env(&config, &["user", "add", "--name", "王店长", "--role", "manager"], &[("PAYDESK_NEW_PIN", "864213")]);
    assert_eq!(added.await.status.code(), Some(0));
    let as_manager = ["--user", "王店长"];
    let wrong = cli_env(&config, &[&as_manager[..], &refund_args[..]].concat(), &[("PAYDESK_PIN", "1111")]).await;
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("还可再试 4 次"));
    let refund = cli_env(&config, &[&as_manager[..], &refund_args[..]].concat(), &[("PAYDESK_PIN", "864213")]).await;
    assert_eq!(refund.status.code(), Some(0), "{}", String::from_utf8_lossy(&refund.stderr));
    assert_eq!(stdout_json(&refund)["state"], "succeeded");
    let over = ["--user", "王店长", "refund", id.as_str(), "--amount", "10.01", "--reason", "x"];
    let over = cli_env(&config, &over, &[("PAYDESK_PIN", "864213")]).await;
    assert_eq!(over.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&over.stderr).contains("可退金额 ¥10.00"));
    // With a user, charging needs someone signed in.
    let anonymous = cli(&config, &["charge", "--channel", "abc", "--amount", "1", "--code", &alipay_code("10")]).await;
    assert_eq!(anonymous.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&anonymous.stderr).contains("请先登录"));
    let list = cli(&config, &["--json", "list"]).await;
    let list = stdout_json(&list);
    assert_eq!(list["totals"]["paid_count"], 1);
    assert_eq!(list["totals"]["paid_fen"], 1234);
    assert_eq!(list["totals"]["refunded_fen"], 234);
    assert_eq!(list["payments"].as_array().unwrap().len(), 2);
    assert!(dir.path().join("ledger.db").exists());
    assert_eq!(sandbox.truth().charges.len(), 1);

    // Reports and exports for scripting.
    let day = stdout_json(&cli(&config, &["--json", "report", "day"]).await);
    assert_eq!((day["totals"]["count"].as_i64(), day["totals"]["net"]["fen"].as_i64()), (Some(1), Some(1000)));
    assert_eq!(day["totals"]["byChannel"][0]["name"], "农行收银台·支付宝");
    let date = day["date"].as_str().unwrap().to_string();
    let x = cli(&config, &["report", "x"]).await;
    assert!(String::from_utf8_lossy(&x.stdout).contains("净收入 ¥10.00"), "{}", String::from_utf8_lossy(&x.stdout));
    for (kind, rows) in [("payments", 2), ("refunds", 1)] {
        let out = dir.path().join(format!("{kind}.csv"));
        let args = ["--json", "export", "--from", &date, "--to", &date, "--kind", kind, "--out", out.to_str().unwrap()];
        let done = stdout_json(&cli(&config, &args).await);
        assert_eq!(done["rows"], rows);
        let bytes = std::fs::read(&out).unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 with BOM");
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(text.lines().count(), rows + 1);
        if kind == "payments" {
            // The refund shows: amount, refunded, net and the status that says so.
            assert!(text.lines().next().unwrap().contains("已退款（元）,净额（元）,状态"), "{text}");
            assert!(text.contains(",12.34,2.34,10.00,部分退款,"), "{text}");
            // Long numbers (channel trade numbers) stay text in Excel and WPS: a tab after them.
            for field in text.lines().skip(1).flat_map(|l| l.split(',')) {
                let digits = field.trim_end_matches('\t');
                if digits.len() >= 12 && digits.bytes().all(|b| b.is_ascii_digit()) {
                    assert!(field.ends_with('\t'), "{field:?} would show as 1.23E+21");
                }
            }
        }
    }
    // A folder (a USB stick the manager picked): the file gets its usual name there.
    let stick = dir.path().join("usb");
    std::fs::create_dir(&stick).unwrap();
    let args = ["--json", "export", "--from", &date, "--to", &date, "--out", stick.to_str().unwrap()];
    let done = stdout_json(&cli(&config, &args).await);
    let file = stick.join(format!("payments_{date}_{date}.csv"));
    assert_eq!(done["path"].as_str(), Some(file.to_str().unwrap()));
    assert!(file.exists());
    let bad = cli(&config, &["export", "--from", "2026-13-01", "--to", &date]).await;
    assert_eq!(bad.status.code(), Some(2));
}

/// `paydesk-cli --config CONFIG ARGS…` left running, its output piped.
fn spawn_cli(config: &Path, args: &[&str]) -> tokio::process::Child {
    tokio::process::Command::new(common::CLI)
        .arg("--config")
        .arg(config)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// What a `charge --qr` draws on stderr, up to the link the customer scans: (link, all of it).
async fn qr_drawn(child: &mut tokio::process::Child) -> (String, String) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    loop {
        let line = tokio::time::timeout(std::time::Duration::from_secs(10), stderr.next_line())
            .await
            .expect("the CLI prints the QR in time")
            .unwrap()
            .expect("stderr open");
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("/pay/") {
            return (line.trim().to_string(), seen);
        }
    }
}

#[tokio::test]
async fn charge_qr_prints_the_code_and_waits_for_payment() {
    use tokio::io::AsyncReadExt;
    let (sandbox, _dir, config) = setup().await;
    let mut child = spawn_cli(&config, &["--json", "charge", "--channel", "abc", "--amount", "6.60", "--qr"]);
    // The customer scans what the terminal shows: read the link from stderr and pay it.
    let (link, seen) = qr_drawn(&mut child).await;
    assert!(seen.contains('█') || seen.contains('▀') || seen.contains('▄'), "a QR drawn in the terminal: {seen}");
    let order_no = link.rsplit('/').next().unwrap();
    sandbox.customer_pay(order_no).unwrap();
    let status = tokio::time::timeout(std::time::Duration::from_secs(10), child.wait()).await.unwrap().unwrap();
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).await.unwrap();
    assert_eq!(status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(json["state"], "paid");
    assert_eq!(json["id"], order_no);
}

#[tokio::test]
async fn a_broken_config_is_reported_by_key_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "[terminal]\ncode = \"T01\"\n\n[channels.abc]\nbase_url = \"https://x.example\"\n").unwrap();
    let out = cli(&path, &["list"]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("merchant_id") && err.contains("配置文件"), "{err}");
    assert!(!dir.path().join("ledger.db").exists(), "no ledger created from a broken config");
    let missing = cli(Path::new("/nonexistent/paydesk.toml"), &["list"]).await;
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("无法读取配置文件"));
}

#[tokio::test]
async fn charge_works_on_every_new_channel() {
    let sandbox = Sandbox::start(paydesk_sandbox::SandboxOptions {
        auto_pay_after: Some(std::time::Duration::from_millis(300)),
        ..fast_sandbox()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &config_for(&sandbox.base_url()));
    let run = |args: Vec<&'static str>| {
        let config = config.clone();
        async move { cli(&config, &args).await }
    };
    let barcode =
        cli(&config, &["--json", "charge", "--channel", "lakala", "--amount", "3.00", "--code", &alipay_code("10")])
            .await;
    assert_eq!(barcode.status.code(), Some(0), "{}", String::from_utf8_lossy(&barcode.stderr));
    assert_eq!(stdout_json(&barcode)["channel"], "lakala");
    for (args, channel) in [
        (vec!["--json", "charge", "--channel", "lakala", "--amount", "4.00", "--qr", "--method", "WECHAT"], "lakala"),
        (vec!["--json", "charge", "--channel", "cashdesk", "--amount", "5.00", "--qr"], "cashdesk"),
        (vec!["--json", "charge", "--channel", "paysvc", "--amount", "6.00", "--qr"], "paysvc"),
    ] {
        let out = run(args).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{channel}: {stderr}");
        let json = stdout_json(&out);
        assert_eq!((json["channel"].as_str(), json["state"].as_str()), (Some(channel), Some("paid")));
        if channel == "paysvc" {
            assert!(stderr.contains("customer-page-"), "the page is written for a browser: {stderr}");
        }
    }
    let refused =
        cli(&config, &["charge", "--channel", "cashdesk", "--amount", "1", "--code", &alipay_code("10")]).await;
    assert_eq!(refused.status.code(), Some(2), "the desk takes no payment codes");
}

/// Forty wrong PINs at once, from forty processes on one ledger: exactly `max_wrong_pins` of them
/// are checked (each logged), the user is locked, and the right PIN is refused after them.
#[tokio::test]
async fn parallel_wrong_pins_from_many_processes_lock_after_exactly_the_limit() {
    let (_sandbox, dir, config) = setup().await;
    let added =
        cli_env(&config, &["user", "add", "--name", "王店长", "--role", "manager"], &[("PAYDESK_NEW_PIN", "864213")]);
    assert_eq!(added.await.status.code(), Some(0));
    let code: &'static str = alipay_code("10").leak();
    let args = ["--user", "王店长", "charge", "--channel", "abc", "--amount", "1", "--code", code];
    let guesses: Vec<_> = (0..40)
        .map(|n| {
            let pin = format!("{:06}", 100_000 + n);
            let config = config.clone();
            tokio::spawn(async move { cli_env(&config, &args, &[("PAYDESK_PIN", pin.as_str())]).await })
        })
        .collect();
    let mut refused = 0;
    for g in guesses {
        let out = g.await.unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
        refused += 1;
    }
    assert_eq!(refused, 40);
    let ledger = paydesk_core::ledger::Ledger::open(&dir.path().join("ledger.db")).unwrap();
    let filter = paydesk_core::ledger::AuditFilter {
        from_ms: None,
        to_ms: None,
        action: Some("pin_failed".into()),
        user: None,
        before_seq: None,
        limit: 1_000,
    };
    let checked = ledger.audit_log(&filter).unwrap().len();
    assert_eq!(checked, 5, "exactly max_wrong_pins guesses were checked");
    let right = cli_env(&config, &args, &[("PAYDESK_PIN", "864213")]).await;
    assert_eq!(right.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&right.stderr).contains("锁定"), "{}", String::from_utf8_lossy(&right.stderr));
}

/// `paydesk-cli serve` started: the line that says where it listens.
async fn start_serve(config: &Path) -> (tokio::process::Child, serde_json::Value) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = spawn_cli(config, &["--json", "serve"]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(std::time::Duration::from_secs(10), stdout.next_line())
        .await
        .expect("serve says where it listens in time")
        .unwrap()
        .expect("a line on stdout");
    (child, serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
}

#[tokio::test]
async fn serve_runs_recovery_the_notify_receiver_and_the_terminal_api_without_a_window() {
    let sandbox = Sandbox::start(fast_sandbox()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("api.token");
    let mut c = config_for(&sandbox.base_url());
    c.notify = Some(paydesk_core::config::NotifyConfig { listen: "127.0.0.1:0".into() });
    c.terminal_api = Some(paydesk_core::config::TerminalApi {
        listen: "127.0.0.1:0".into(),
        token_file: token_file.display().to_string(),
        ..Default::default()
    });
    let config = write_config(dir.path(), &c);

    // A QR charge whose process dies while the customer pays: left open in the ledger.
    let mut qr = spawn_cli(&config, &["charge", "--channel", "abc", "--amount", "8.80", "--qr"]);
    let (link, _) = qr_drawn(&mut qr).await;
    qr.kill().await.unwrap();
    let order_no = link.rsplit('/').next().unwrap().to_string();
    sandbox.customer_pay(&order_no).unwrap();
    let paid_count = || async {
        stdout_json(&cli(&config, &["--json", "list"]).await)["totals"]["paid_count"].as_i64().unwrap_or(-1)
    };
    assert_eq!(paid_count().await, 0, "nobody has asked the channel yet");

    let (mut serve, listening) = start_serve(&config).await;
    // Its recovery sweep finds the payment paid.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while paid_count().await != 1 {
        assert!(std::time::Instant::now() < deadline, "serve's recovery settles the dead charge");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // The terminal API takes a charge with the token serve made (this user's only).
    let api = listening["terminal_api"].as_str().expect("the API's address");
    let token = std::fs::read_to_string(&token_file).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777, 0o600);
    let http = reqwest::Client::new();
    let created = http
        .post(format!("http://{api}/v1/charges"))
        .bearer_auth(token.trim())
        .json(&serde_json::json!({ "amount_fen": 1200, "external_order_id": "ERP-1", "subject": "套餐" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let charge_id = created.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    // A clerk (here the CLI) collects it on the same ledger; the API sees it paid.
    let collected =
        cli(&config, &["charge", "--channel", "abc", "--for-charge", &charge_id, "--code", &alipay_code("10")]).await;
    assert_eq!(collected.status.code(), Some(0), "{}", String::from_utf8_lossy(&collected.stderr));
    let status = http
        .get(format!("http://{api}/v1/charges/{charge_id}?wait=5"))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(status["state"], "paid", "{status}");
    // The notify receiver answers: an unsigned notify is refused and changes nothing.
    let notify = listening["notify"].as_str().expect("the receiver's address");
    let refused = http.post(format!("http://{notify}/notify/abc")).body("{}").send().await.unwrap();
    assert_eq!(refused.status(), 400);
    assert_eq!(paid_count().await, 2);

    // SIGTERM (systemd's stop) ends it cleanly.
    let pid = serve.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let exit = tokio::time::timeout(std::time::Duration::from_secs(5), serve.wait()).await.unwrap().unwrap();
    assert_eq!(exit.code(), Some(0));
}

#[tokio::test]
async fn serve_that_cannot_listen_says_so_and_stops() {
    let (_sandbox, dir, _) = setup().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut c = config_for(&_sandbox.base_url());
    c.notify = Some(paydesk_core::config::NotifyConfig { listen: taken.local_addr().unwrap().to_string() });
    let config = write_config(dir.path(), &c);
    let out = tokio::time::timeout(std::time::Duration::from_secs(10), cli(&config, &["serve"])).await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("通知接收无法监听") && stderr.contains(&taken.local_addr().unwrap().to_string()),
        "{stderr}"
    );
}

/// `reconcile` from the command line: an imported statement in paydesk's CSV, for a channel that
/// publishes none. Exit status 1 while a difference waits for a person, 0 once resolved; bad input
/// is 2 and records nothing.
#[tokio::test]
async fn reconcile_imports_a_statement_and_resolves_from_the_command_line() {
    let (_sandbox, dir, config) = setup().await;
    let paid =
        cli(&config, &["--json", "charge", "--channel", "abc", "--amount", "12.34", "--code", &alipay_code("10")])
            .await;
    let id = stdout_json(&paid)["id"].as_str().unwrap().to_string();
    let day = paydesk_core::engine::recon::day_of(paydesk_core::ledger::now_ms()).to_string();
    // The statement lists our payment at another amount.
    let file = dir.path().join("statement.csv");
    std::fs::write(&file, format!("trade_no,order_no,type,amount,fee,time,refund_no\nT1,{id},pay,12.35,,,\n")).unwrap();
    let file = file.to_string_lossy().to_string();
    let run = cli(&config, &["--json", "reconcile", "run", "--channel", "abc", "--day", &day, "--file", &file]).await;
    assert_eq!(run.status.code(), Some(1), "{}", String::from_utf8_lossy(&run.stderr));
    let report = stdout_json(&run);
    assert_eq!(report["run"]["source"], "import");
    let difference = &report["differences"][0];
    assert_eq!(
        (difference["kind"].as_str(), difference["order_no"].as_str()),
        (Some("amount_differs"), Some(id.as_str()))
    );
    let difference_id = difference["id"].as_i64().unwrap().to_string();

    let shown = cli(&config, &["reconcile", "list"]).await;
    assert_eq!(shown.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&shown.stdout).contains(&day));
    // Resolving takes a manager's PIN, and a reason.
    let added =
        cli_env(&config, &["user", "add", "--name", "王店长", "--role", "manager"], &[("PAYDESK_NEW_PIN", "864213")]);
    assert_eq!(added.await.status.code(), Some(0));
    let resolve = ["--user", "王店长", "reconcile", "resolve", difference_id.as_str(), "--reason", "渠道已核实"];
    let done = cli_env(&config, &resolve, &[("PAYDESK_PIN", "864213")]).await;
    assert_eq!(done.status.code(), Some(0), "{}", String::from_utf8_lossy(&done.stderr));
    assert!(String::from_utf8_lossy(&done.stdout).contains("follow_up"));
    let again = cli_env(&config, &resolve, &[("PAYDESK_PIN", "864213")]).await;
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("已经处理过"));

    // Not a statement, or a day that is not one: refused, nothing recorded.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "hello\n").unwrap();
    let bad = bad.to_string_lossy().to_string();
    let refused = cli(&config, &["reconcile", "run", "--channel", "abc", "--day", &day, "--file", &bad]).await;
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("对账单无法读取"));
    let bad_day = cli(&config, &["reconcile", "run", "--day", "2026-13-01"]).await;
    assert_eq!(bad_day.status.code(), Some(2));
    let runs = cli(&config, &["--json", "reconcile", "list", "--from", &day, "--to", &day]).await;
    assert_eq!(stdout_json(&runs).as_array().map(Vec::len), Some(1), "only the good run was recorded");
}
